package awsauth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
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

// ecrHost matches ECR registry hosts and captures the region.
var ecrHost = regexp.MustCompile(`^[0-9]{12}\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$`)

// Keychain gives go-containerregistry the credentials of each registry: the
// target's from the login the run already made, any other ECR registry's from
// GetAuthorizationToken in its region (same AWS credentials), and everything
// else from the fallback (the Docker config, else anonymous). An ECR token
// that cannot be had is an error, never a silent anonymous attempt.
type Keychain struct {
	regionAPI func(region string) TokenAPI
	mask      func(string)
	fallback  authn.Keychain

	mu     sync.Mutex
	logins map[string]*RegistryLogin
}

// NewKeychain returns a Keychain that knows primary already. regionAPI makes
// an ECR client for another region; fallback may be nil (anonymous).
func NewKeychain(primary *RegistryLogin, regionAPI func(region string) TokenAPI, mask func(string), fallback authn.Keychain) *Keychain {
	k := &Keychain{regionAPI: regionAPI, mask: mask, fallback: fallback, logins: map[string]*RegistryLogin{}}
	if primary != nil {
		k.logins[primary.Host] = primary
	}
	return k
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
	if l, ok := k.logins[host]; ok {
		return &authn.Basic{Username: l.Username, Password: l.Password}, nil
	}
	if m := ecrHost.FindStringSubmatch(host); m != nil && k.regionAPI != nil {
		l, err := Login(ctx, k.regionAPI(m[1]), k.mask)
		if err != nil {
			return nil, fmt.Errorf("getting an ECR token for %s (region %s): %w", host, m[1], err)
		}
		k.logins[host] = l
		return &authn.Basic{Username: l.Username, Password: l.Password}, nil
	}
	if k.fallback == nil {
		return authn.Anonymous, nil
	}
	return authn.Resolve(ctx, k.fallback, r)
}
