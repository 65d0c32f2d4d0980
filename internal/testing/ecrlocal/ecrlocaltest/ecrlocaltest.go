// Package ecrlocaltest starts an ecrlocal server for a test, on loopback,
// with a real ECR SDK client pointed at it.
package ecrlocaltest

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/org/ecr-action/internal/testing/ecrlocal"
)

// Credentials any ecrlocal accepts; tests check they never reach a log.
const (
	AccessKeyID     = "AKIDTEST"
	SecretAccessKey = "test-secret-key"
	Region          = "us-east-1"
)

// Env is a running ecrlocal.
type Env struct {
	Server *ecrlocal.Server
	URL    string      // http://127.0.0.1:PORT, for AWS_ENDPOINT_URL_ECR
	Client *ecr.Client // retries throttling with millisecond backoff
}

// Start serves a fresh ecrlocal until the test ends.
func Start(t testing.TB) *Env {
	t.Helper()
	return StartWith(t, ecrlocal.Options{})
}

// StartWith serves a fresh ecrlocal with these options (for example a
// VulnDB and a ScanDelay) until the test ends. An empty DataDir is a
// directory of the test's.
func StartWith(t testing.TB, opts ecrlocal.Options) *Env {
	t.Helper()
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	srv, err := ecrlocal.New(opts)
	if err != nil {
		t.Fatalf("starting ecrlocal: %v", err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("closing ecrlocal: %v", err)
		}
	})
	return &Env{Server: srv, URL: ts.URL, Client: ecr.New(ecr.Options{
		Region:       Region,
		BaseEndpoint: aws.String(ts.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 5
			o.MaxBackoff = 10 * time.Millisecond
		}),
	})}
}
