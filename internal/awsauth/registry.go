package awsauth

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/org/ecr-action/internal/clock"
)

// TokenAPI is the ECR operation registry credentials come from.
type TokenAPI interface {
	GetAuthorizationToken(context.Context, *ecr.GetAuthorizationTokenInput, ...func(*ecr.Options)) (*ecr.GetAuthorizationTokenOutput, error)
}

// RegistryLogin is a registry host and the credentials ECR issued for it.
type RegistryLogin struct {
	Host      string // e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com
	Username  string
	Password  string
	ExpiresAt time.Time
}

// Login calls GetAuthorizationToken and masks the token and the password
// before returning them.
func Login(ctx context.Context, api TokenAPI, mask func(string)) (*RegistryLogin, error) {
	out, err := api.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return nil, err
	}
	if len(out.AuthorizationData) == 0 || out.AuthorizationData[0].AuthorizationToken == nil {
		return nil, errors.New("GetAuthorizationToken returned no token")
	}
	d := out.AuthorizationData[0]
	token := *d.AuthorizationToken
	if mask != nil {
		mask(token)
	}
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return nil, errors.New("GetAuthorizationToken returned a token that is not base64")
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || pass == "" {
		return nil, errors.New("GetAuthorizationToken returned a token that is not user:password")
	}
	if mask != nil {
		mask(pass)
	}
	l := &RegistryLogin{Username: user, Password: pass}
	if d.ExpiresAt != nil {
		l.ExpiresAt = *d.ExpiresAt
	}
	if d.ProxyEndpoint != nil {
		u, err := url.Parse(*d.ProxyEndpoint)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("GetAuthorizationToken returned proxy endpoint %q, which is not a URL", *d.ProxyEndpoint)
		}
		l.Host = u.Host
	}
	return l, nil
}

// Renewal defaults: a token is renewed when less than a quarter of its
// lifetime is left, and at most maxRefreshMargin before it expires (ECR's
// tokens last 12 hours).
const maxRefreshMargin = 5 * time.Minute

// Keychain gives go-containerregistry the credentials of each registry: the
// target's from the login the run already made, any other ECR registry's from
// GetAuthorizationToken in its region (same AWS credentials), and everything
// else from the fallback (the Docker config, else anonymous). An ECR token
// that cannot be had is an error, never a silent anonymous attempt.
//
// ECR tokens are renewed: the Authenticator it returns logs in again when
// the token is close to its expiresAt, and Transport renews a token the
// registry refuses as expired. Renewals of one registry are single-flight:
// however many blobs upload at once, one GetAuthorizationToken call renews
// a token.
type Keychain struct {
	regionAPI func(region string) TokenAPI
	mask      func(string)
	fallback  authn.Keychain
	now       func() time.Time
	margin    time.Duration // < 0: the default (see maxRefreshMargin); tests set 0

	mu       sync.Mutex
	sessions map[string]*session
	renewals int
	resent   int
}

// session is one ECR registry's login and how to renew it.
type session struct {
	host string
	api  TokenAPI // nil: the login cannot be renewed

	mu     sync.Mutex // held while renewing: one renewal at a time
	login  *RegistryLogin
	issued time.Time // when login was obtained, by the local clock
}

// KeychainOption configures a Keychain.
type KeychainOption func(*Keychain)

// WithPrimaryAPI is the API that issued the primary login, so that the
// Keychain can renew it. Without it the primary login is used as it is.
func WithPrimaryAPI(api TokenAPI) KeychainOption {
	return func(k *Keychain) {
		if s := k.sessions[k.primaryHost()]; s != nil {
			s.api = api
		}
	}
}

// WithClock sets the clock that dates logins and decides when a token is
// near its expiresAt; the default is clock.System. The tokens' expiresAt
// must come from the same clock's world: a fake clock goes with a fake
// token service.
func WithClock(c clock.Clock) KeychainOption {
	return func(k *Keychain) { k.now = c.Now }
}

// NewKeychain returns a Keychain that knows primary already. regionAPI makes
// an ECR client for another region; fallback may be nil (anonymous).
func NewKeychain(primary *RegistryLogin, regionAPI func(region string) TokenAPI, mask func(string), fallback authn.Keychain, opts ...KeychainOption) *Keychain {
	k := &Keychain{regionAPI: regionAPI, mask: mask, fallback: fallback, now: clock.System.Now, margin: -1, sessions: map[string]*session{}}
	if primary != nil {
		k.sessions[primary.Host] = &session{host: primary.Host, login: primary}
	}
	for _, o := range opts {
		o(k)
	}
	if s := k.sessions[k.primaryHost()]; s != nil {
		s.issued = k.now() // the login was made just before
	}
	return k
}

// primaryHost is the host of the login NewKeychain was given, if any. It is
// the only session before the first Resolve.
func (k *Keychain) primaryHost() string {
	for h := range k.sessions {
		return h
	}
	return ""
}

// Renewals is how many times a registry token was renewed (a
// GetAuthorizationToken call each).
func (k *Keychain) Renewals() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.renewals
}

// Resolve implements authn.Keychain.
func (k *Keychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), r)
}

// ResolveContext implements authn.ContextKeychain.
func (k *Keychain) ResolveContext(ctx context.Context, r authn.Resource) (authn.Authenticator, error) {
	host := r.RegistryStr()
	k.mu.Lock()
	defer k.mu.Unlock()
	if s, ok := k.sessions[host]; ok {
		return &ecrAuthenticator{k: k, s: s}, nil
	}
	if h, ok := ParseRegistryHost(host); ok && k.regionAPI != nil {
		api := k.regionAPI(h.Region)
		issued := k.now()
		l, err := Login(ctx, api, k.mask)
		if err != nil {
			return nil, fmt.Errorf("getting an ECR token for %s (region %s): %w", host, h.Region, err)
		}
		s := &session{host: host, api: api, login: l, issued: issued}
		k.sessions[host] = s
		return &ecrAuthenticator{k: k, s: s}, nil
	}
	if k.fallback == nil {
		return authn.Anonymous, nil
	}
	return authn.Resolve(ctx, k.fallback, r)
}

func (k *Keychain) session(host string) *session {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.sessions[host]
}

// refreshMargin is how long before its expiry s's token is renewed.
func (k *Keychain) refreshMargin(s *session) time.Duration {
	if k.margin >= 0 {
		return k.margin
	}
	return min(maxRefreshMargin, s.login.ExpiresAt.Sub(s.issued)/4)
}

// renewLocked replaces s's login with a new one. The caller holds s.mu.
func (k *Keychain) renewLocked(ctx context.Context, s *session) error {
	issued := k.now()
	l, err := Login(ctx, s.api, k.mask)
	if err != nil {
		return fmt.Errorf("renewing the ECR token for %s (ecr:GetAuthorizationToken): %w", s.host, err)
	}
	if l.Host == "" {
		l.Host = s.host
	}
	s.login, s.issued = l, issued
	k.mu.Lock()
	k.renewals++
	k.mu.Unlock()
	return nil
}

// current returns s's login, renewed first when it is within the margin of
// its expiry. A failed renewal of a token that has not expired yet keeps
// the token: the registry will say when it is no longer good.
func (k *Keychain) current(ctx context.Context, s *session) (*RegistryLogin, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.login
	if s.api == nil || l.ExpiresAt.IsZero() || k.now().Before(l.ExpiresAt.Add(-k.refreshMargin(s))) {
		return l, nil
	}
	if err := k.renewLocked(ctx, s); err != nil {
		if k.now().Before(l.ExpiresAt) {
			return l, nil
		}
		return nil, err
	}
	return s.login, nil
}

// refused renews s's token after the registry refused password, unless
// another request renewed it already. It returns the login to retry with,
// or nil when there is nothing better to retry with.
func (k *Keychain) refused(ctx context.Context, s *session, password string) *RegistryLogin {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.login.Password != password {
		return s.login // renewed since the request was sent
	}
	if s.api == nil || k.renewLocked(ctx, s) != nil {
		return nil
	}
	return s.login
}

// ecrAuthenticator is an ECR registry's credentials, renewed as they near
// their expiry.
type ecrAuthenticator struct {
	k *Keychain
	s *session
}

// Authorization implements authn.Authenticator.
func (a *ecrAuthenticator) Authorization() (*authn.AuthConfig, error) {
	return a.AuthorizationContext(context.Background())
}

// AuthorizationContext implements authn.ContextAuthenticator.
func (a *ecrAuthenticator) AuthorizationContext(ctx context.Context) (*authn.AuthConfig, error) {
	l, err := a.k.current(ctx, a.s)
	if err != nil {
		return nil, err
	}
	return &authn.AuthConfig{Username: l.Username, Password: l.Password}, nil
}

// Transport wraps inner (nil: http.DefaultTransport) for go-containerregistry
// (remote.WithTransport): when an ECR registry this Keychain logs in to
// refuses a request's token as expired (403 DENIED "Your authorization token
// has expired", or 401), it renews the token once and sends the request
// again with it. A request whose body cannot be read again goes back to the
// caller with the refusal; its retry finds the renewed token.
func (k *Keychain) Transport(inner http.RoundTripper) http.RoundTripper {
	if inner == nil {
		inner = http.DefaultTransport
	}
	return &renewingTransport{k: k, inner: inner}
}

type renewingTransport struct {
	k     *Keychain
	inner http.RoundTripper
}

// maxErrorBody bounds how much of a refusal is read to see why.
const maxErrorBody = 64 << 10

func (t *renewingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.inner.RoundTrip(req)
	if err != nil || (resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden) {
		return resp, err
	}
	_, password, ok := req.BasicAuth()
	s := t.k.session(req.URL.Host)
	if !ok || s == nil {
		return resp, nil
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil || !tokenRefused(resp.StatusCode, body) {
		return resp, nil
	}
	l := t.k.refused(req.Context(), s, password)
	if l == nil {
		return resp, nil
	}
	retry := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			return resp, nil
		}
		b, err := req.GetBody()
		if err != nil {
			return resp, nil
		}
		retry.Body = b
	}
	retry.SetBasicAuth(l.Username, l.Password)
	t.k.mu.Lock()
	t.k.resent++
	t.k.mu.Unlock()
	return t.inner.RoundTrip(retry)
}

// tokenRefused reports whether a 401 or 403 answer may mean the token is no
// good any more. ECR answers an expired token with 403 DENIED "Your
// authorization token has expired. Reauthenticate and try again." (ECR User
// Guide, troubleshooting Docker commands, HTTP 403); a 403 that says
// something else is a permission denial, which a new token does not cure. A
// HEAD answer has no body to tell: its 403 counts as a possible expiry (the
// local clock may disagree with the registry's), so it costs one renewal
// and one more request before it stands.
func tokenRefused(status int, body []byte) bool {
	if status == http.StatusUnauthorized {
		return true
	}
	if len(bytes.TrimSpace(body)) > 0 {
		return IsExpiredTokenMessage(string(body))
	}
	return true
}

// Resent is how many registry requests Transport sent again with a renewed
// token after the registry refused theirs.
func (k *Keychain) Resent() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.resent
}

// IsExpiredTokenMessage reports whether a registry error message says the
// authorization token has expired.
func IsExpiredTokenMessage(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "token") && strings.Contains(m, "expired")
}
