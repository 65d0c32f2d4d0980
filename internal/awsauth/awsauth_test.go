package awsauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-cmp/cmp"

	"github.com/org/ecr-action/internal/invalid"
	"github.com/org/ecr-action/internal/testing/stslocal"
	"github.com/org/ecr-action/internal/testing/stslocal/stslocaltest"
)

// Secrets of tests that reach no token service (those that do use the
// random ones stslocal issues); no error may contain them.
const (
	requestToken = "request-token-SECRET-1"
	envSecret    = "env-secret-key-SECRET-5"
	envSession   = "env-session-token-SECRET-6"
)

var allSecrets = []string{requestToken, envSecret, envSession}

// isolate clears every variable the SDK reads so that the developer's own
// AWS setup cannot leak into a test, and stops the SDK from calling IMDS.
func isolate(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for _, k := range []string{
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY", "AWS_SECRET_KEY",
		"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ECR", "AWS_ENDPOINT_URL_STS", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
	} {
		t.Setenv(k, "")
		os.Unsetenv(k) // unset, not empty: the SDK tells the two apart for endpoints
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// recorder keeps what Mask received.
type recorder struct {
	mu     sync.Mutex
	masked []string
}

func (r *recorder) Mask(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.masked = append(r.masked, s)
}

func (r *recorder) has(s string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.masked {
		if m == s {
			return true
		}
	}
	return false
}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// assertNoSecret fails if err contains one of allSecrets or of more.
func assertNoSecret(t *testing.T, err error, more ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range slices.Concat(allSecrets, more) {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error contains secret %q: %v", s, err)
		}
	}
}

const role = "arn:aws:iam::012345678901:role/deploy"

// startSTS serves stslocal (OIDC token service and STS) for the test,
// expecting want, and points the SDK's STS endpoint at it.
func startSTS(t *testing.T, want stslocal.Expected) *stslocaltest.Env {
	t.Helper()
	e := stslocaltest.Start(t)
	e.Server.Expect(want)
	t.Setenv("AWS_ENDPOINT_URL_STS", e.URL)
	return e
}

func TestAssumeRoleWithWebIdentity(t *testing.T) {
	isolate(t)
	// Static credentials in the environment must not win over the role.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAENVKEY")
	t.Setenv("AWS_SECRET_ACCESS_KEY", envSecret)

	e := startSTS(t, stslocal.Expected{Audience: "sts.amazonaws.com", RoleARN: role, RoleSessionName: "ecr-action"})
	sec := e.Server.Secrets()

	rec := &recorder{}
	cfg, err := Load(context.Background(), Options{
		Region:       "eu-west-1",
		RoleToAssume: role,
		Getenv:       envOf(e.Env()),
		Mask:         rec.Mask,
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	got, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	want := aws.Credentials{AccessKeyID: sec.AccessKeyID, SecretAccessKey: sec.SecretAccessKey, SessionToken: sec.SessionToken}
	got = aws.Credentials{AccessKeyID: got.AccessKeyID, SecretAccessKey: got.SecretAccessKey, SessionToken: got.SessionToken}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("credentials (-want +got):\n%s", diff)
	}
	if cfg.Region != "eu-west-1" {
		t.Errorf("region = %q, want eu-west-1", cfg.Region)
	}
	if c := e.Server.Calls(); c["oidc"] != 1 || c["sts"] != 1 {
		t.Errorf("OIDC calls %d, STS calls %d, want 1 each (credentials cached)", c["oidc"], c["sts"])
	}
	for _, s := range []string{sec.RequestToken, sec.IDToken, sec.AccessKeyID, sec.SecretAccessKey, sec.SessionToken} {
		if !rec.has(s) {
			t.Errorf("Mask was not called with %.8s…", s)
		}
	}
}

func TestAssumeRoleCustomAudienceAndSession(t *testing.T) {
	isolate(t)
	want := stslocal.Expected{
		Audience:        "https://example.com/a b&c",
		RoleARN:         "arn:aws-us-gov:iam::012345678901:role/path/deploy",
		RoleSessionName: "run-42",
	}
	e := startSTS(t, want)

	_, err := Load(context.Background(), Options{
		Region:          "us-gov-west-1",
		RoleToAssume:    want.RoleARN,
		RoleSessionName: want.RoleSessionName,
		Audience:        want.Audience,
		Getenv:          envOf(e.Env()),
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
}

func TestAssumeRoleDenied(t *testing.T) {
	isolate(t)
	e := startSTS(t, stslocal.Expected{Audience: DefaultAudience, RoleARN: role, RoleSessionName: "ecr-action"})
	sec := e.Server.Secrets()
	e.Server.Deny("Not authorized to perform sts:AssumeRoleWithWebIdentity with token " + sec.IDToken)

	rec := &recorder{}
	_, err := Load(context.Background(), Options{
		Region: "eu-west-1", RoleToAssume: role, Mask: rec.Mask,
		Getenv: envOf(e.Env()),
	})
	if err == nil {
		t.Fatal("Load succeeded, want the STS refusal")
	}
	for _, want := range []string{role, "AccessDenied", "trust policy"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	assertNoSecret(t, err, sec.List()...)
}

func TestTokenRequestFailures(t *testing.T) {
	const wrongBearer = "OIDC token request without the request token as bearer"
	tests := []struct {
		name         string
		stale        bool   // give the action a request token the service does not accept
		status       int    // if set, the service answers the right token with status and body
		body         string // $REQUEST_TOKEN stands for the request token
		wantIn       string
		wantStatus   int
		wantProblems []string
	}{
		{
			name:         "wrong request token",
			stale:        true,
			wantIn:       "401",
			wantStatus:   http.StatusUnauthorized,
			wantProblems: []string{wrongBearer},
		},
		{
			name:       "server error echoing the token",
			status:     http.StatusInternalServerError,
			body:       "boom for $REQUEST_TOKEN",
			wantIn:     "boom for ***",
			wantStatus: http.StatusInternalServerError,
		},
		{
			name:       "not JSON",
			status:     http.StatusOK,
			body:       "<html>",
			wantIn:     "not JSON",
			wantStatus: http.StatusOK,
		},
		{
			name:       "no value",
			status:     http.StatusOK,
			body:       `{"value":""}`,
			wantIn:     "no token",
			wantStatus: http.StatusOK,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			// Not stslocaltest.Start: a wrong bearer is a problem this
			// test expects, so it checks Problems itself.
			srv := stslocal.New()
			srv.Expect(stslocal.Expected{Audience: DefaultAudience})
			sec := srv.Secrets()
			if tc.status != 0 {
				srv.AnswerToken(tc.status, strings.ReplaceAll(tc.body, "$REQUEST_TOKEN", sec.RequestToken))
			}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			t.Setenv("AWS_ENDPOINT_URL_STS", ts.URL)
			token := sec.RequestToken
			if tc.stale {
				token = "stale-" + token
			}

			rec := &recorder{}
			_, err := Load(context.Background(), Options{
				Region: "eu-west-1", RoleToAssume: role, Mask: rec.Mask,
				Getenv: envOf(map[string]string{
					TokenRequestURLVar:   ts.URL + stslocal.TokenPath + "?api-version=2.0",
					TokenRequestTokenVar: token,
				}),
			})
			var te *TokenRequestError
			if !errors.As(err, &te) {
				t.Fatalf("got %v, want a *TokenRequestError", err)
			}
			if te.StatusCode != tc.wantStatus {
				t.Errorf("status = %d, want %d", te.StatusCode, tc.wantStatus)
			}
			if !strings.Contains(err.Error(), tc.wantIn) {
				t.Errorf("error %q does not contain %q", err, tc.wantIn)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("error %q contains the request token", err)
			}
			if !rec.has(token) {
				t.Errorf("the request token was not masked")
			}
			assertNoSecret(t, err, sec.List()...)
			if n := srv.Calls()["sts"]; n != 0 {
				t.Errorf("STS called %d times after the token request failed, want 0", n)
			}
			if diff := cmp.Diff(tc.wantProblems, srv.Problems()); diff != "" {
				t.Errorf("token service problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTokenServiceUnreachable(t *testing.T) {
	isolate(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	_, err := Load(context.Background(), Options{
		Region: "eu-west-1", RoleToAssume: role,
		Getenv: envOf(map[string]string{
			TokenRequestURLVar:   addr + "/token?api-version=2.0&sig=" + url.QueryEscape(requestToken),
			TokenRequestTokenVar: requestToken,
		}),
	})
	var te *TokenRequestError
	if !errors.As(err, &te) || te.StatusCode != 0 {
		t.Fatalf("got %v, want a *TokenRequestError without status", err)
	}
	if strings.Contains(err.Error(), "sig=") {
		t.Errorf("error %q repeats the request URL", err)
	}
	assertNoSecret(t, err)
}

func TestOIDCVariablesMissing(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		wantMissing []string
	}{
		{name: "both", env: map[string]string{}, wantMissing: []string{TokenRequestURLVar, TokenRequestTokenVar}},
		{name: "token", env: map[string]string{TokenRequestURLVar: "https://token.example/x?a=1"}, wantMissing: []string{TokenRequestTokenVar}},
		{name: "url", env: map[string]string{TokenRequestTokenVar: requestToken}, wantMissing: []string{TokenRequestURLVar}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			_, err := Load(context.Background(), Options{Region: "eu-west-1", RoleToAssume: role, Getenv: envOf(tc.env)})
			var oe *OIDCUnavailableError
			if !errors.As(err, &oe) {
				t.Fatalf("got %v, want *OIDCUnavailableError", err)
			}
			if diff := cmp.Diff(tc.wantMissing, oe.Missing); diff != "" {
				t.Errorf("missing (-want +got):\n%s", diff)
			}
			for _, want := range []string{"role_to_assume", "permissions: id-token: write"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			assertNoSecret(t, err)
		})
	}
}

func TestInputValidation(t *testing.T) {
	tests := []struct {
		name      string
		opts      Options
		wantInput string
	}{
		{name: "not an ARN", opts: Options{Region: "eu-west-1", RoleToAssume: "deploy"}, wantInput: "role_to_assume"},
		{name: "user not role", opts: Options{Region: "eu-west-1", RoleToAssume: "arn:aws:iam::012345678901:user/deploy"}, wantInput: "role_to_assume"},
		{name: "short account", opts: Options{Region: "eu-west-1", RoleToAssume: "arn:aws:iam::12345:role/deploy"}, wantInput: "role_to_assume"},
		{name: "other service", opts: Options{Region: "eu-west-1", RoleToAssume: "arn:aws:sts::012345678901:role/deploy"}, wantInput: "role_to_assume"},
		{name: "empty role name", opts: Options{Region: "eu-west-1", RoleToAssume: "arn:aws:iam::012345678901:role/"}, wantInput: "role_to_assume"},
		{name: "bad session name", opts: Options{Region: "eu-west-1", RoleToAssume: role, RoleSessionName: "has space"}, wantInput: "role_session_name"},
		{name: "no region", opts: Options{RoleToAssume: role}, wantInput: "aws_region"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			tc.opts.Getenv = envOf(map[string]string{TokenRequestURLVar: "https://x.example/?a=1", TokenRequestTokenVar: requestToken})
			_, err := Load(context.Background(), tc.opts)
			var ie invalid.Input
			if !errors.As(err, &ie) {
				t.Fatalf("got %v, want invalid.Input", err)
			}
			if ie.Input != tc.wantInput {
				t.Errorf("input = %q, want %q", ie.Input, tc.wantInput)
			}
			if !strings.Contains(err.Error(), tc.wantInput) {
				t.Errorf("message %q does not name %s", err, tc.wantInput)
			}
		})
	}
}

func TestNoRegionMessage(t *testing.T) {
	isolate(t)
	_, err := Load(context.Background(), Options{Getenv: envOf(nil)})
	if err == nil {
		t.Fatal("Load succeeded without a region")
	}
	for _, want := range []string{"aws_region", "AWS_REGION", "AWS_DEFAULT_REGION"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestRegionPrecedence(t *testing.T) {
	tests := []struct {
		name  string
		input string
		env   map[string]string
		want  string
	}{
		{name: "input wins", input: "eu-west-1", env: map[string]string{"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-west-2"}, want: "eu-west-1"},
		{name: "AWS_REGION next", env: map[string]string{"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-west-2"}, want: "us-east-1"},
		{name: "AWS_DEFAULT_REGION last", env: map[string]string{"AWS_DEFAULT_REGION": "us-west-2"}, want: "us-west-2"},
		{name: "blank input ignored", input: "  ", env: map[string]string{"AWS_DEFAULT_REGION": "us-west-2"}, want: "us-west-2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			t.Setenv("AWS_ACCESS_KEY_ID", "AKIAENVKEY")
			t.Setenv("AWS_SECRET_ACCESS_KEY", envSecret)
			// The OS environment disagrees on purpose: Load reads Getenv.
			t.Setenv("AWS_REGION", "ap-south-1")
			cfg, err := Load(context.Background(), Options{Region: tc.input, Getenv: envOf(tc.env)})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if cfg.Region != tc.want {
				t.Errorf("region = %q, want %q", cfg.Region, tc.want)
			}
		})
	}
}

func TestEnvironmentCredentials(t *testing.T) {
	isolate(t)
	// What aws-actions/configure-aws-credentials exports.
	t.Setenv("AWS_ACCESS_KEY_ID", "ASIAENVKEY")
	t.Setenv("AWS_SECRET_ACCESS_KEY", envSecret)
	t.Setenv("AWS_SESSION_TOKEN", envSession)
	rec := &recorder{}
	cfg, err := Load(context.Background(), Options{Region: "eu-west-1", Getenv: envOf(nil), Mask: rec.Mask})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	got, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	if got.AccessKeyID != "ASIAENVKEY" || got.SecretAccessKey != envSecret || got.SessionToken != envSession {
		t.Errorf("credentials = %q/%q/%q, want the environment's", got.AccessKeyID, got.SecretAccessKey, got.SessionToken)
	}
	// Their source masked them already; masking again would only put them
	// on an ::add-mask:: line.
	if len(rec.masked) != 0 {
		t.Errorf("Mask called with %q, want no calls for environment credentials", rec.masked)
	}
}

func TestNoCredentials(t *testing.T) {
	isolate(t)
	_, err := Load(context.Background(), Options{Region: "eu-west-1", Getenv: envOf(nil)})
	if err == nil {
		t.Fatal("Load succeeded without credentials")
	}
	for _, want := range []string{"configure-aws-credentials", "role_to_assume"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// TestECREndpointFromEnvironment checks that the SDK's own
// AWS_ENDPOINT_URL_ECR reaches ECR clients built from the loaded config.
func TestECREndpointFromEnvironment(t *testing.T) {
	isolate(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAENVKEY")
	t.Setenv("AWS_SECRET_ACCESS_KEY", envSecret)

	var (
		mu     sync.Mutex
		target string
		auth   string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		target, auth = r.Header.Get("X-Amz-Target"), r.Header.Get("Authorization")
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		fmt.Fprint(w, `{"repositories":[{"repositoryName":"app","repositoryUri":"127.0.0.1/app"}]}`)
	}))
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL_ECR", srv.URL)

	cfg, err := Load(context.Background(), Options{Region: "eu-west-1", Getenv: envOf(nil)})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	out, err := ecr.NewFromConfig(cfg).DescribeRepositories(context.Background(), &ecr.DescribeRepositoriesInput{})
	if err != nil {
		t.Fatalf("DescribeRepositories against AWS_ENDPOINT_URL_ECR: %v", err)
	}
	if len(out.Repositories) != 1 || aws.ToString(out.Repositories[0].RepositoryUri) != "127.0.0.1/app" {
		t.Errorf("repositories = %+v, want the fake's answer", out.Repositories)
	}
	mu.Lock()
	defer mu.Unlock()
	if target != "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories" {
		t.Errorf("X-Amz-Target = %q, want the ECR DescribeRepositories operation", target)
	}
	if !strings.Contains(auth, "Credential=AKIAENVKEY/") || !strings.Contains(auth, "/eu-west-1/ecr/") {
		t.Errorf("Authorization = %q, want a SigV4 signature with the environment key for eu-west-1/ecr", auth)
	}
}

func TestRedactKeepsChain(t *testing.T) {
	s := &secretSet{mask: func(string) {}}
	s.add("tok-123")
	base := &TokenRequestError{StatusCode: 500, Err: errors.New("echo tok-123")}
	err := s.redact(fmt.Errorf("wrapped: %w", base))
	if got, want := err.Error(), "wrapped: requesting the GitHub OIDC token: HTTP status 500: echo ***"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	var te *TokenRequestError
	if !errors.As(err, &te) || te != base {
		t.Errorf("errors.As lost the original *TokenRequestError")
	}
}
