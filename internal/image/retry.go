package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// DefaultRetryBackoff is how registry requests and blob uploads are retried
// unless Options.RetryBackoff says otherwise: 5 attempts, waiting 250 ms,
// 500 ms, 1 s and 2 s between them, each wait up to half as long again at
// random (jitter, so parallel jobs do not retry in step). A failure that
// lasts past about 6 s fails the push.
func DefaultRetryBackoff() remote.Backoff {
	return remote.Backoff{Duration: 250 * time.Millisecond, Factor: 2, Jitter: 0.5, Steps: 5}
}

// retryStatusCodes are the answers retried: request timeout, rate limit and
// the server and gateway failures of a registry behind a load balancer.
var retryStatusCodes = []int{
	http.StatusRequestTimeout,
	http.StatusTooManyRequests,
	http.StatusInternalServerError,
	http.StatusBadGateway,
	http.StatusServiceUnavailable,
	http.StatusGatewayTimeout,
}

// retries decides which failures are retried and counts them.
type retries struct {
	attempts int // the backoff's Steps: attempts per request or blob upload
	logf     func(string, ...any)

	mu sync.Mutex
	n  int
}

// retryable is go-containerregistry's retry predicate: it is asked about
// each failed attempt, of single requests and of whole blob uploads (a blob
// upload restarts from its first request, so a partial upload never counts).
func (r *retries) retryable(err error) bool {
	if !isTransient(err) {
		return false
	}
	r.mu.Lock()
	r.n++
	r.mu.Unlock()
	if r.logf != nil {
		r.logf("registry: %s failed, retrying: %v", registryOperation(err), err)
	}
	return true
}

func (r *retries) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// isTransient reports a failure that another attempt may not meet: a
// retried status, a registry error the distribution spec calls temporary,
// a token that expired (the Keychain's transport renewed it), or a
// connection that broke.
func isTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var te *transport.Error
	if errors.As(err, &te) {
		if te.Temporary() {
			return true
		}
		for _, c := range retryStatusCodes {
			if te.StatusCode == c {
				return true
			}
		}
		return isExpiredToken(te)
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isExpiredToken reports ECR's answer to an expired registry token: 403
// DENIED "Your authorization token has expired. Reauthenticate and try
// again." (ECR User Guide, troubleshooting Docker commands).
func isExpiredToken(te *transport.Error) bool {
	if te.StatusCode != http.StatusForbidden && te.StatusCode != http.StatusUnauthorized {
		return false
	}
	for _, d := range te.Errors {
		m := strings.ToLower(d.Message)
		if strings.Contains(m, "token") && strings.Contains(m, "expired") {
			return true
		}
	}
	return false
}

// registryOperation names the registry request a failure came from, e.g.
// "blob upload (PATCH /v2/app/blobs/uploads/…)".
func registryOperation(err error) string {
	var method string
	var u *url.URL
	var te *transport.Error
	var ue *url.Error
	switch {
	case errors.As(err, &te) && te.Request != nil:
		method, u = te.Request.Method, te.Request.URL
	case errors.As(err, &ue):
		method = strings.ToUpper(ue.Op)
		u, _ = url.Parse(ue.URL)
	}
	if u == nil {
		return "registry request"
	}
	p := u.Path
	var what string
	switch {
	case strings.Contains(p, "/blobs/uploads/"):
		what = "blob upload"
	case strings.Contains(p, "/blobs/"):
		what = "blob check"
	case strings.Contains(p, "/manifests/") && (method == http.MethodPut || method == http.MethodPost):
		what = "manifest upload"
	case strings.Contains(p, "/manifests/"):
		what = "manifest lookup"
	default:
		what = "registry request"
	}
	if i := strings.Index(p, "/blobs/uploads/"); i >= 0 && len(p) > i+len("/blobs/uploads/") {
		p = p[:i+len("/blobs/uploads/")] + "…" // the upload ID says nothing to a reader
	}
	return fmt.Sprintf("%s (%s %s)", what, method, p)
}

// RetriesExhaustedError is a registry failure that lasted through every
// attempt.
type RetriesExhaustedError struct {
	Operation string // e.g. "blob upload (PATCH /v2/app/blobs/uploads/…)"
	Attempts  int
	Status    int // the last answer's HTTP status; 0 for a broken connection
	Err       error
}

func (e *RetriesExhaustedError) Error() string {
	last := "a broken connection"
	if e.Status != 0 {
		last = fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("the registry's %s failed %d times in a row, the last time with %s: %v", e.Operation, e.Attempts, last, e.Err)
}

func (e *RetriesExhaustedError) Unwrap() error { return e.Err }

// gaveUp wraps a transient failure the retries could not get past.
func (r *retries) gaveUp(err error) error {
	if !isTransient(err) {
		return err
	}
	re := &RetriesExhaustedError{Operation: registryOperation(err), Attempts: r.attempts, Err: err}
	var te *transport.Error
	if errors.As(err, &te) {
		re.Status = te.StatusCode
	}
	return re
}

// Retries is how many failed registry requests or blob uploads were retried
// so far.
func (r *Client) Retries() int { return r.retries.count() }

// retryOptions are the remote options that make r's requests retried.
func retryOptions(b remote.Backoff, r *retries) []remote.Option {
	return []remote.Option{
		remote.WithRetryBackoff(b),
		remote.WithRetryPredicate(r.retryable),
		remote.WithRetryStatusCodes(retryStatusCodes...),
	}
}
