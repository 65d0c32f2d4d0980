// Package stslocaltest starts an stslocal server for a test, on loopback.
package stslocaltest

import (
	"net/http/httptest"
	"testing"

	"github.com/org/ecr-action/internal/testing/stslocal"
)

// Env is a running stslocal.
type Env struct {
	Server *stslocal.Server
	URL    string // http://127.0.0.1:PORT, for AWS_ENDPOINT_URL_STS
	// TokenURL is for ACTIONS_ID_TOKEN_REQUEST_URL: the token path with the
	// api-version query the runner's URL carries.
	TokenURL string
}

// Env returns the variables a step with `permissions: id-token: write`
// and this server as STS sees: ACTIONS_ID_TOKEN_REQUEST_URL,
// ACTIONS_ID_TOKEN_REQUEST_TOKEN and AWS_ENDPOINT_URL_STS.
func (e *Env) Env() map[string]string {
	return map[string]string{
		"ACTIONS_ID_TOKEN_REQUEST_URL":   e.TokenURL,
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": e.Server.Secrets().RequestToken,
		"AWS_ENDPOINT_URL_STS":           e.URL,
	}
}

// Start serves a fresh stslocal until the test ends, and reports at the
// end any request that did not look like the runner's or the SDK's.
func Start(t testing.TB) *Env {
	t.Helper()
	srv := stslocal.New()
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		for _, p := range srv.Problems() {
			t.Errorf("stslocal: %s", p)
		}
	})
	return &Env{Server: srv, URL: ts.URL, TokenURL: ts.URL + stslocal.TokenPath + "?api-version=2.0"}
}
