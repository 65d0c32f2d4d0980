package ecrlocal

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/authn"
)

// env is a running ecrlocal with a real SDK client pointed at it.
type env struct {
	srv    *Server
	http   *httptest.Server
	client *ecr.Client
	host   string // host:port of the server
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	srv, err := New(opts)
	if err != nil {
		t.Fatalf("New(%+v): %v", opts, err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &env{srv: srv, http: hs, client: newClient(hs.URL), host: strings.TrimPrefix(hs.URL, "http://")}
}

// newClient is the real ECR client with static credentials and the endpoint
// set the way AWS_ENDPOINT_URL_ECR sets it.
func newClient(url string, optFns ...func(*ecr.Options)) *ecr.Client {
	return ecr.New(ecr.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	}, optFns...)
}

func (e *env) createRepo(t *testing.T, in *ecr.CreateRepositoryInput) *types.Repository {
	t.Helper()
	out, err := e.client.CreateRepository(context.Background(), in)
	if err != nil {
		t.Fatalf("CreateRepository(%q): %v", aws.ToString(in.RepositoryName), err)
	}
	return out.Repository
}

// auth gets a registry login from GetAuthorizationToken, as a client of real
// ECR does.
func (e *env) auth(t *testing.T) authn.Authenticator {
	t.Helper()
	out, err := e.client.GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatalf("GetAuthorizationToken: %v", err)
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(out.AuthorizationData[0].AuthorizationToken))
	if err != nil {
		t.Fatalf("decoding the token: %v", err)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		t.Fatalf("token %q is not user:password", raw)
	}
	return &authn.Basic{Username: user, Password: pass}
}

// enableBlobMounting turns on the BLOB_MOUNTING account setting, without
// which ECR mounts nothing.
func (e *env) enableBlobMounting(t *testing.T) {
	t.Helper()
	if _, err := e.client.PutAccountSetting(context.Background(), &ecr.PutAccountSettingInput{Name: aws.String("BLOB_MOUNTING"), Value: aws.String("ENABLED")}); err != nil {
		t.Fatalf("PutAccountSetting BLOB_MOUNTING ENABLED: %v", err)
	}
}

// wantAPIError checks that err is the SDK's typed exception T.
func wantAPIError[T error](t *testing.T, err error) {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("got error %v (%T), want %T", err, err, target)
	}
}
