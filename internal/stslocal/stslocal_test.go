package stslocal_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/org/ecr-action/internal/awsauth"
	"github.com/org/ecr-action/internal/stslocal/stslocaltest"
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
