// Package stslocal is a local stand-in for the two services role_to_assume
// talks to: the GitHub runner's OIDC token service (the URL in
// ACTIONS_ID_TOKEN_REQUEST_URL, answering GET with a bearer request token)
// and AWS STS AssumeRoleWithWebIdentity (query protocol, for
// AWS_ENDPOINT_URL_STS). One Server answers both on one address.
//
// Every secret it hands out is a fresh random value, so a test can search
// everything the action wrote for it and a hit is unambiguous.
package stslocal

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// TokenPath is the path of the OIDC token service; the runner's request URL
// carries an api-version query, which Start's TokenURL keeps.
const TokenPath = "/_oidc/token"

// Secrets are the values a Server issues or expects. None of them may ever
// appear in what the action writes, except in its own ::add-mask:: line.
type Secrets struct {
	RequestToken    string // ACTIONS_ID_TOKEN_REQUEST_TOKEN: the bearer the token service accepts
	IDToken         string // the OIDC JWT the token service returns
	AccessKeyID     string // the assumed role's access key ID (masked, though not secret)
	SecretAccessKey string // the assumed role's secret key
	SessionToken    string // the assumed role's session token
}

// List returns the secret values (AccessKeyID excluded: it identifies the
// key and is not a secret, though the action masks it too).
func (s Secrets) List() []string {
	return []string{s.RequestToken, s.IDToken, s.SecretAccessKey, s.SessionToken}
}

// Server answers the OIDC token service at TokenPath and STS at any other
// path. The zero value is not usable: call New.
type Server struct {
	secrets Secrets

	mu          sync.Mutex
	deny        string // non-empty: STS answers AccessDenied with this message
	expect      Expected
	tokenStatus int    // non-zero: the token service answers with this status...
	tokenBody   string // ...and this body instead of a token
	calls       map[string]int
	problems    []string
}

// Expected is what a test expects the action to send, beyond what every
// request from the runner's client or the SDK carries. An empty field is
// not checked.
type Expected struct {
	Audience        string // the audience query of the token request
	RoleARN         string // RoleArn of AssumeRoleWithWebIdentity
	RoleSessionName string // RoleSessionName of AssumeRoleWithWebIdentity
}

// New returns a Server with fresh random secrets.
func New() *Server {
	return &Server{
		secrets: Secrets{
			RequestToken:    randomString(40, alnum),
			IDToken:         randomJWT(),
			AccessKeyID:     "ASIA" + randomString(16, upperAlnum),
			SecretAccessKey: randomString(40, base64Chars),
			SessionToken:    "IQoJb3JpZ2luX2Vj" + randomString(300, base64Chars) + "==",
		},
		calls: map[string]int{},
	}
}

// Secrets returns what the server issues and expects.
func (s *Server) Secrets() Secrets { return s.secrets }

// Deny makes STS refuse every later AssumeRoleWithWebIdentity with an
// AccessDenied error carrying message. A message that repeats a secret is
// how a test checks that refusals are redacted.
func (s *Server) Deny(message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deny = message
}

// Expect makes the server report through Problems every later request
// that differs from e.
func (s *Server) Expect(e Expected) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expect = e
}

// AnswerToken makes the token service answer every later request that
// carries the request token with status and body instead of a token, as a
// failing or misbehaving runner service would. A body that repeats a
// secret is how a test checks that such failures are redacted.
func (s *Server) AnswerToken(status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenStatus, s.tokenBody = status, body
}

// Calls returns how many requests each service answered ("oidc", "sts").
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// Problems lists requests that did not look like the runner's or the SDK's
// (wrong bearer, runner's api-version query dropped, signed STS call, wrong
// token) or differed from what Expect set; a test reports them, since
// an httptest handler must not call t.Fatal.
func (s *Server) Problems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.problems...)
}

func (s *Server) problem(format string, args ...any) {
	s.problems = append(s.problems, fmt.Sprintf(format, args...))
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.URL.Path == TokenPath {
		s.serveToken(w, r)
		return
	}
	s.serveSTS(w, r)
}

// serveToken answers like the runner's token service: JSON {"count":1,"value":JWT}.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	s.calls["oidc"]++
	if r.Method != http.MethodGet {
		s.problem("OIDC token request with method %s, want GET", r.Method)
		http.Error(w, "use GET", http.StatusMethodNotAllowed)
		return
	}
	// The scheme is case-insensitive (RFC 9110), the token is not.
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "bearer") || token != s.secrets.RequestToken {
		s.problem("OIDC token request without the request token as bearer")
		http.Error(w, `{"message":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	q := r.URL.Query()
	if got := q.Get("audience"); got == "" {
		s.problem("OIDC token request without an audience")
	} else if want := s.expect.Audience; want != "" && got != want {
		s.problem("OIDC token request for audience %q, want %q", got, want)
	}
	if got := q.Get("api-version"); got != "2.0" {
		s.problem("OIDC token request with api-version %q, want the runner's query (2.0) kept", got)
	}
	if s.tokenStatus != 0 {
		w.WriteHeader(s.tokenStatus)
		fmt.Fprint(w, s.tokenBody)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"count":1,"value":%q}`, s.secrets.IDToken)
}

// serveSTS answers AssumeRoleWithWebIdentity in the STS query protocol.
func (s *Server) serveSTS(w http.ResponseWriter, r *http.Request) {
	s.calls["sts"]++
	if err := r.ParseForm(); err != nil {
		s.problem("STS request: %v", err)
	}
	if a := r.PostForm.Get("Action"); a != "AssumeRoleWithWebIdentity" {
		s.problem("STS action %q, want AssumeRoleWithWebIdentity", a)
	}
	if v := r.PostForm.Get("Version"); v != "2011-06-15" {
		s.problem("STS API version %q, want 2011-06-15", v)
	}
	for _, f := range []struct{ name, want string }{
		{"RoleArn", s.expect.RoleARN},
		{"RoleSessionName", s.expect.RoleSessionName},
	} {
		if got := r.PostForm.Get(f.name); f.want != "" && got != f.want {
			s.problem("STS %s %q, want %q", f.name, got, f.want)
		}
	}
	if r.PostForm.Get("WebIdentityToken") != s.secrets.IDToken {
		s.problem("STS request without the OIDC token the token service issued")
	}
	if r.Header.Get("Authorization") != "" {
		s.problem("AssumeRoleWithWebIdentity must be unsigned")
	}
	session := r.PostForm.Get("RoleSessionName")
	w.Header().Set("Content-Type", "text/xml")
	if s.deny != "" {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>%s</Message></Error><RequestId>stslocal-1</RequestId></ErrorResponse>`, escape(s.deny))
		return
	}
	// STS credentials last DurationSeconds (default 3600) from the
	// service's own clock, never a fixed date that will one day pass.
	lifetime := time.Hour
	if d, err := strconv.Atoi(r.PostForm.Get("DurationSeconds")); err == nil && d > 0 {
		lifetime = time.Duration(d) * time.Second
	}
	expiration := time.Now().UTC().Add(lifetime).Format(time.RFC3339)
	fmt.Fprintf(w, `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials>
      <AccessKeyId>%s</AccessKeyId>
      <SecretAccessKey>%s</SecretAccessKey>
      <SessionToken>%s</SessionToken>
      <Expiration>%s</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/deploy/%s</Arn>
      <AssumedRoleId>AROASTSLOCAL:%s</AssumedRoleId>
    </AssumedRoleUser>
    <SubjectFromWebIdentityToken>repo:org/app:ref:refs/heads/main</SubjectFromWebIdentityToken>
    <Audience>sts.amazonaws.com</Audience>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>stslocal-1</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`, s.secrets.AccessKeyID, s.secrets.SecretAccessKey, escape(s.secrets.SessionToken), expiration, escape(session), escape(session))
}

func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

const (
	alnum       = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	upperAlnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	base64Chars = alnum + "+/"
)

// randomString returns n characters drawn from alphabet (at most 256
// characters long). crypto/rand never fails (Go 1.24+).
func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// randomJWT returns a token shaped like the runner's: header.claims.signature,
// each base64url, with random claims and signature.
func randomJWT() string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT","kid":"stslocal"}`))
	claims := enc.EncodeToString([]byte(`{"iss":"https://token.actions.githubusercontent.com","aud":"sts.amazonaws.com","sub":"repo:org/app:ref:refs/heads/main","jti":"` + randomString(32, alnum) + `"}`))
	sig := make([]byte, 64)
	_, _ = rand.Read(sig)
	return header + "." + claims + "." + enc.EncodeToString(sig)
}
