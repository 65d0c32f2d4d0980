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
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-cmp/cmp"
)

// Secrets the fakes hand out; no error may contain them.
const (
	requestToken = "request-token-SECRET-1"
	oidcToken    = "eyJhbGciOiJSUzI1NiJ9.oidc-SECRET-2.sig"
	stsKeyID     = "ASIASTSFAKEKEYID0001"
	stsSecret    = "sts-secret-key-SECRET-3"
	stsSession   = "sts-session-token-SECRET-4"
	envSecret    = "env-secret-key-SECRET-5"
	envSession   = "env-session-token-SECRET-6"
)

var allSecrets = []string{requestToken, oidcToken, stsSecret, stsSession, envSecret, envSession}

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

// oidcFake is the runner's token service. It answers only a GET with the
// right bearer and audience and records problems for the test to report.
type oidcFake struct {
	audience string
	status   int    // answer status; 0 means 200
	body     string // answer body when status is set

	mu       sync.Mutex
	problems []string
	calls    int
}

func (f *oidcFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if got, want := r.Header.Get("Authorization"), "bearer "+requestToken; got != want {
		f.problems = append(f.problems, fmt.Sprintf("Authorization = %q, want %q", got, want))
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	q := r.URL.Query()
	if got := q.Get("audience"); got != f.audience {
		f.problems = append(f.problems, fmt.Sprintf("audience = %q, want %q", got, f.audience))
	}
	if got := q.Get("api-version"); got != "2.0" {
		f.problems = append(f.problems, fmt.Sprintf("api-version = %q, want the runner's query kept", got))
	}
	if f.status != 0 {
		w.WriteHeader(f.status)
		fmt.Fprint(w, f.body)
		return
	}
	fmt.Fprintf(w, `{"count":1,"value":%q}`, oidcToken)
}

func (f *oidcFake) check(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.problems {
		t.Errorf("OIDC request: %s", p)
	}
}

// stsFake answers AssumeRoleWithWebIdentity in the STS query protocol.
type stsFake struct {
	wantRole, wantSession string
	deny                  bool // answer AccessDenied, echoing the token back

	mu       sync.Mutex
	problems []string
	calls    int
}

func (f *stsFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if err := r.ParseForm(); err != nil {
		f.problems = append(f.problems, "parsing form: "+err.Error())
	}
	want := map[string]string{
		"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15",
		"RoleArn": f.wantRole, "RoleSessionName": f.wantSession, "WebIdentityToken": oidcToken,
	}
	for k, v := range want {
		if got := r.PostForm.Get(k); got != v {
			f.problems = append(f.problems, fmt.Sprintf("%s = %q, want %q", k, got, v))
		}
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		f.problems = append(f.problems, "AssumeRoleWithWebIdentity must be unsigned, got Authorization "+auth)
	}
	w.Header().Set("Content-Type", "text/xml")
	if f.deny {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not authorized to perform sts:AssumeRoleWithWebIdentity with token %s</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`, r.PostForm.Get("WebIdentityToken"))
		return
	}
	fmt.Fprintf(w, `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials>
      <AccessKeyId>%s</AccessKeyId>
      <SecretAccessKey>%s</SecretAccessKey>
      <SessionToken>%s</SessionToken>
      <Expiration>2099-01-01T00:00:00Z</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::012345678901:assumed-role/deploy/%s</Arn>
      <AssumedRoleId>AROAFAKE:%s</AssumedRoleId>
    </AssumedRoleUser>
    <SubjectFromWebIdentityToken>repo:org/app:ref:refs/heads/main</SubjectFromWebIdentityToken>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`, stsKeyID, stsSecret, stsSession, f.wantSession, f.wantSession)
}

func (f *stsFake) check(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.problems {
		t.Errorf("STS request: %s", p)
	}
}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func assertNoSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range allSecrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error contains secret %q: %v", s, err)
		}
	}
}

const role = "arn:aws:iam::012345678901:role/deploy"

func TestAssumeRoleWithWebIdentity(t *testing.T) {
	isolate(t)
	// Static credentials in the environment must not win over the role.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAENVKEY")
	t.Setenv("AWS_SECRET_ACCESS_KEY", envSecret)

	oidc := &oidcFake{audience: "sts.amazonaws.com"}
	oidcSrv := httptest.NewServer(oidc)
	defer oidcSrv.Close()
	stsF := &stsFake{wantRole: role, wantSession: "ecr-action"}
	stsSrv := httptest.NewServer(stsF)
	defer stsSrv.Close()
	t.Setenv("AWS_ENDPOINT_URL_STS", stsSrv.URL)

	rec := &recorder{}
	cfg, err := Load(context.Background(), Options{
		Region:       "eu-west-1",
		RoleToAssume: role,
		Getenv: envOf(map[string]string{
			TokenRequestURLVar:   oidcSrv.URL + "/token?api-version=2.0",
			TokenRequestTokenVar: requestToken,
		}),
		Mask: rec.Mask,
	})
	oidc.check(t)
	stsF.check(t)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	got, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	want := aws.Credentials{AccessKeyID: stsKeyID, SecretAccessKey: stsSecret, SessionToken: stsSession}
	got = aws.Credentials{AccessKeyID: got.AccessKeyID, SecretAccessKey: got.SecretAccessKey, SessionToken: got.SessionToken}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("credentials (-want +got):\n%s", diff)
	}
	if cfg.Region != "eu-west-1" {
		t.Errorf("region = %q, want eu-west-1", cfg.Region)
	}
	if oidc.calls != 1 || stsF.calls != 1 {
		t.Errorf("OIDC calls %d, STS calls %d, want 1 each (credentials cached)", oidc.calls, stsF.calls)
	}
	for _, s := range []string{requestToken, oidcToken, stsKeyID, stsSecret, stsSession} {
		if !rec.has(s) {
			t.Errorf("Mask was not called with %q", s)
		}
	}
}

func TestAssumeRoleCustomAudienceAndSession(t *testing.T) {
	isolate(t)
	oidc := &oidcFake{audience: "https://example.com/a b&c"}
	oidcSrv := httptest.NewServer(oidc)
	defer oidcSrv.Close()
	stsF := &stsFake{wantRole: "arn:aws-us-gov:iam::012345678901:role/path/deploy", wantSession: "run-42"}
	stsSrv := httptest.NewServer(stsF)
	defer stsSrv.Close()
	t.Setenv("AWS_ENDPOINT_URL_STS", stsSrv.URL)

	_, err := Load(context.Background(), Options{
		Region:          "us-gov-west-1",
		RoleToAssume:    stsF.wantRole,
		RoleSessionName: "run-42",
		Audience:        oidc.audience,
		Getenv: envOf(map[string]string{
			TokenRequestURLVar:   oidcSrv.URL + "/token?api-version=2.0",
			TokenRequestTokenVar: requestToken,
		}),
	})
	oidc.check(t)
	stsF.check(t)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
}

func TestAssumeRoleDenied(t *testing.T) {
	isolate(t)
	oidcSrv := httptest.NewServer(&oidcFake{audience: DefaultAudience})
	defer oidcSrv.Close()
	stsSrv := httptest.NewServer(&stsFake{wantRole: role, wantSession: "ecr-action", deny: true})
	defer stsSrv.Close()
	t.Setenv("AWS_ENDPOINT_URL_STS", stsSrv.URL)

	rec := &recorder{}
	_, err := Load(context.Background(), Options{
		Region: "eu-west-1", RoleToAssume: role, Mask: rec.Mask,
		Getenv: envOf(map[string]string{
			TokenRequestURLVar:   oidcSrv.URL + "/token?api-version=2.0",
			TokenRequestTokenVar: requestToken,
		}),
	})
	if err == nil {
		t.Fatal("Load succeeded, want the STS refusal")
	}
	for _, want := range []string{role, "AccessDenied", "trust policy"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	assertNoSecret(t, err)
}

func TestTokenRequestFailures(t *testing.T) {
	tests := []struct {
		name   string
		fake   *oidcFake
		token  string // request token given to the action
		wantIn string
		status int
	}{
		{
			name:   "wrong request token",
			fake:   &oidcFake{audience: DefaultAudience},
			token:  "stale-" + requestToken,
			wantIn: "401",
			status: http.StatusUnauthorized,
		},
		{
			name:   "server error echoing the token",
			fake:   &oidcFake{audience: DefaultAudience, status: http.StatusInternalServerError, body: "boom for " + requestToken},
			token:  requestToken,
			wantIn: "boom for ***",
			status: http.StatusInternalServerError,
		},
		{
			name:   "not JSON",
			fake:   &oidcFake{audience: DefaultAudience, status: http.StatusOK, body: "<html>"},
			token:  requestToken,
			wantIn: "not JSON",
			status: http.StatusOK,
		},
		{
			name:   "no value",
			fake:   &oidcFake{audience: DefaultAudience, status: http.StatusOK, body: `{"value":""}`},
			token:  requestToken,
			wantIn: "no token",
			status: http.StatusOK,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			srv := httptest.NewServer(tc.fake)
			defer srv.Close()
			stsF := &stsFake{}
			stsSrv := httptest.NewServer(stsF)
			defer stsSrv.Close()
			t.Setenv("AWS_ENDPOINT_URL_STS", stsSrv.URL)

			rec := &recorder{}
			_, err := Load(context.Background(), Options{
				Region: "eu-west-1", RoleToAssume: role, Mask: rec.Mask,
				Getenv: envOf(map[string]string{
					TokenRequestURLVar:   srv.URL + "/token?api-version=2.0",
					TokenRequestTokenVar: tc.token,
				}),
			})
			var te *TokenRequestError
			if !errors.As(err, &te) {
				t.Fatalf("got %v, want a *TokenRequestError", err)
			}
			if te.StatusCode != tc.status {
				t.Errorf("status = %d, want %d", te.StatusCode, tc.status)
			}
			if !strings.Contains(err.Error(), tc.wantIn) {
				t.Errorf("error %q does not contain %q", err, tc.wantIn)
			}
			if strings.Contains(err.Error(), tc.token) {
				t.Errorf("error %q contains the request token", err)
			}
			if !rec.has(tc.token) {
				t.Errorf("the request token was not masked")
			}
			assertNoSecret(t, err)
			if stsF.calls != 0 {
				t.Errorf("STS called %d times after the token request failed, want 0", stsF.calls)
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
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("got %v, want *InputError", err)
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
