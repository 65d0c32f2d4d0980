package stslocal_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"

	"github.com/org/ecr-action/internal/awsauth"
	"github.com/org/ecr-action/internal/testing/stslocal"
	"github.com/org/ecr-action/internal/testing/stslocal/stslocaltest"
)

// TestRoleAssumedThroughTheSDK: awsauth.Load, the action's own code path,
// gets the role's credentials from the server, and masks each secret.
func TestRoleAssumedThroughTheSDK(t *testing.T) {
	isolate(t)
	e := stslocaltest.Start(t)
	t.Setenv("AWS_ENDPOINT_URL_STS", e.URL)
	env := e.Env()
	var masked []string
	cfg, err := awsauth.Load(context.Background(), awsauth.Options{
		Region:       "us-east-1",
		RoleToAssume: "arn:aws:iam::123456789012:role/deploy",
		Getenv:       func(k string) string { return env[k] },
		Mask:         func(s string) { masked = append(masked, s) },
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s := e.Server.Secrets()
	if creds.AccessKeyID != s.AccessKeyID || creds.SecretAccessKey != s.SecretAccessKey || creds.SessionToken != s.SessionToken {
		t.Errorf("credentials %q/%q/%q are not the ones issued", creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)
	}
	for _, v := range s.List() {
		if len(v) < 40 {
			t.Errorf("secret %q is shorter than 40 characters: a leak of it would be ambiguous", v)
		}
		found := false
		for _, m := range masked {
			found = found || m == v
		}
		if !found {
			t.Errorf("%.8s… was not masked", v)
		}
	}
	if c := e.Server.Calls(); c["oidc"] != 1 || c["sts"] != 1 {
		t.Errorf("calls %v, want one of each", c)
	}
}

func TestDenied(t *testing.T) {
	isolate(t)
	e := stslocaltest.Start(t)
	e.Server.Deny("Not authorized to perform sts:AssumeRoleWithWebIdentity")
	client := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.URL)})
	_, err := client.AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String("arn:aws:iam::123456789012:role/deploy"), RoleSessionName: aws.String("s"),
		WebIdentityToken: aws.String(e.Server.Secrets().IDToken),
	})
	if err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("err = %v, want AccessDenied", err)
	}
}

// TestExpect: requests that match what Expect set raise no problem; each
// field that differs, and a dropped api-version query, raises one.
func TestExpect(t *testing.T) {
	const role = "arn:aws:iam::123456789012:role/deploy"
	tests := []struct {
		name                   string
		query, role, session   string
		wantProblemsMentioning []string
	}{
		{name: "as expected", query: "?api-version=2.0&audience=sts.amazonaws.com", role: role, session: "ecr-action"},
		{
			name: "all different", query: "?audience=other", role: role + "-x", session: "other",
			wantProblemsMentioning: []string{`audience "other"`, "api-version", `RoleArn "` + role + `-x"`, `RoleSessionName "other"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			srv := stslocal.New()
			srv.Expect(stslocal.Expected{Audience: "sts.amazonaws.com", RoleARN: role, RoleSessionName: "ecr-action"})
			ts := httptest.NewServer(srv)
			defer ts.Close()
			if status, body := getToken(t, ts.URL+stslocal.TokenPath+tc.query, srv.Secrets().RequestToken); status != http.StatusOK {
				t.Fatalf("token request: %d %s", status, body)
			}
			client := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.URL)})
			if _, err := client.AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{
				RoleArn: aws.String(tc.role), RoleSessionName: aws.String(tc.session),
				WebIdentityToken: aws.String(srv.Secrets().IDToken),
			}); err != nil {
				t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
			}
			problems := srv.Problems()
			if len(problems) != len(tc.wantProblemsMentioning) {
				t.Errorf("problems %q, want %d", problems, len(tc.wantProblemsMentioning))
			}
			for _, want := range tc.wantProblemsMentioning {
				if !strings.Contains(strings.Join(problems, "\n"), want) {
					t.Errorf("problems %q do not mention %s", problems, want)
				}
			}
		})
	}
}

// TestAnswerToken: the token service answers with the given status and
// body, but still only to the request token; no STS call follows.
func TestAnswerToken(t *testing.T) {
	srv := stslocal.New()
	srv.AnswerToken(http.StatusServiceUnavailable, "down for maintenance")
	ts := httptest.NewServer(srv)
	defer ts.Close()
	tokenURL := ts.URL + stslocal.TokenPath + "?api-version=2.0&audience=sts.amazonaws.com"

	status, body := getToken(t, tokenURL, srv.Secrets().RequestToken)
	if status != http.StatusServiceUnavailable || body != "down for maintenance" {
		t.Errorf("answer %d %q, want 503 %q", status, body, "down for maintenance")
	}
	if status, _ := getToken(t, tokenURL, "stale-"+srv.Secrets().RequestToken); status != http.StatusUnauthorized {
		t.Errorf("answer to a wrong request token %d, want 401", status)
	}
	if diff := cmp.Diff([]string{"OIDC token request without the request token as bearer"}, srv.Problems()); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"oidc": 2}, srv.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

// getToken requests a token the way the action does and returns the answer.
func getToken(t *testing.T, url, requestToken string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "bearer "+requestToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// isolate keeps the developer's AWS setup out of the test.
func isolate(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/credentials")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}
