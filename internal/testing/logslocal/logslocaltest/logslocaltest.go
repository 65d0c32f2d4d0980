// Package logslocaltest starts a logslocal server for a test, on loopback,
// with a real CloudWatch Logs SDK client pointed at it.
package logslocaltest

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/org/ecr-action/internal/testing/logslocal"
)

// Credentials any logslocal accepts.
const (
	AccessKeyID     = "AKIDTEST"
	SecretAccessKey = "test-secret-key"
	Region          = "us-east-1"
)

// Env is a running logslocal.
type Env struct {
	Server *logslocal.Server
	URL    string                 // http://127.0.0.1:PORT, for AWS_ENDPOINT_URL_CLOUDWATCH_LOGS
	Client *cloudwatchlogs.Client // retries throttling with millisecond backoff
}

// Start serves a fresh logslocal until the test ends.
func Start(t testing.TB) *Env {
	t.Helper()
	return StartWith(t, logslocal.Options{Region: Region})
}

// StartWith is Start with a server built from opts (an empty Region is
// Region).
func StartWith(t testing.TB, opts logslocal.Options) *Env {
	t.Helper()
	if opts.Region == "" {
		opts.Region = Region
	}
	srv := logslocal.New(opts)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &Env{Server: srv, URL: ts.URL, Client: cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:       opts.Region,
		BaseEndpoint: aws.String(ts.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 5
			o.MaxBackoff = 10 * time.Millisecond
		}),
	})}
}
