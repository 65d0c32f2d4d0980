// Package httpbound gives the action's HTTP clients (the AWS SDK's, the
// OIDC token request's, the registry transports') bounds in time and size,
// so an endpoint that misbehaves cannot hold a job until the workflow's own
// timeout or run the process out of memory:
//
//   - a connect timeout (TCP connect and TLS handshake),
//   - a response-header timeout (from the request written to the status line),
//   - a stall timeout: no byte of the request body taken, or of the response
//     body received, for that long ends the request with a *StallError,
//     which callers' retry rules treat like a connection reset,
//   - a bound on the response body's size (per request), read through a
//     counting reader: past it, the read fails with a *TooLargeError.
package httpbound

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// Limits are the bounds of one transport.
type Limits struct {
	// Connect bounds the TCP connect and the TLS handshake.
	Connect time.Duration
	// ResponseHeader bounds the wait for the response's headers once the
	// request is written.
	ResponseHeader time.Duration
	// Stall ends a request when no byte of its body was sent, or of the
	// response body received, for this long.
	Stall time.Duration
	// MaxBody returns the most bytes of response body accepted for req;
	// 0 means no bound (the reader bounds it, as registry blobs are by
	// their descriptor's size).
	MaxBody func(req *http.Request) int64
}

// The defaults, documented in the README's Reliability section.
const (
	DefaultConnect        = 10 * time.Second
	DefaultResponseHeader = 60 * time.Second
	DefaultStall          = 60 * time.Second
)

// Environment variables that override the defaults (Go durations, e.g. 30s).
const (
	EnvConnect        = "ECR_ACTION_CONNECT_TIMEOUT"
	EnvResponseHeader = "ECR_ACTION_RESPONSE_TIMEOUT"
	EnvStall          = "ECR_ACTION_STALL_TIMEOUT"
)

// FromEnv returns the default limits with the environment's overrides.
func FromEnv(getenv func(string) string) (Limits, error) {
	l := Limits{Connect: DefaultConnect, ResponseHeader: DefaultResponseHeader, Stall: DefaultStall}
	for _, v := range []struct {
		name string
		d    *time.Duration
	}{{EnvConnect, &l.Connect}, {EnvResponseHeader, &l.ResponseHeader}, {EnvStall, &l.Stall}} {
		s := getenv(v.name)
		if s == "" {
			continue
		}
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 || d > time.Hour {
			return Limits{}, fmt.Errorf("%s=%q is not a duration from 1ms to 1h (for example 30s)", v.name, s)
		}
		*v.d = d
	}
	return l, nil
}

// WithMaxBody returns l bounding every response body to n bytes.
func (l Limits) WithMaxBody(n int64) Limits {
	l.MaxBody = func(*http.Request) int64 { return n }
	return l
}

// Configure returns a function that sets l's timeouts on an HTTP transport:
// the dialer's and the TLS handshake's (Connect), the response headers'
// (ResponseHeader), and each write to the connection (Stall, stallConn).
// It suits the AWS SDK's BuildableClient.WithTransportOptions.
func Configure(l Limits) func(*http.Transport) {
	return func(tr *http.Transport) {
		dialer := &net.Dialer{Timeout: l.Connect, KeepAlive: 30 * time.Second}
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil || l.Stall <= 0 {
				return c, err
			}
			return &stallConn{Conn: c, stall: l.Stall, addr: addr}, nil
		}
		tr.TLSHandshakeTimeout = l.Connect
		tr.ResponseHeaderTimeout = l.ResponseHeader
	}
}

// NewTransport returns an HTTP transport with l's bounds: a clone of
// http.DefaultTransport (proxy settings from the environment, HTTP/2) with
// the timeouts set, wrapped in the stall and size checks of responses.
func NewTransport(l Limits) http.RoundTripper {
	base := http.DefaultTransport.(*http.Transport).Clone()
	Configure(l)(base)
	return Wrap(base, l)
}

// Doer is an HTTP client (the AWS SDK's aws.HTTPClient).
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// WrapDoer adds l's response stall and size checks to a client whose
// transport has l's timeouts (Configure).
func WrapDoer(inner Doer, l Limits) Doer {
	return &doer{inner: inner, l: l}
}

type doer struct {
	inner Doer
	l     Limits
}

func (d *doer) Do(req *http.Request) (*http.Response, error) {
	return bound(req, d.l, d.inner.Do)
}

// stallConn bounds each write to the connection (a request and its body) by
// the stall timeout: a peer that stops taking bytes fails the request. It
// keeps io.ReaderFrom, so a file body still goes out by sendfile, in chunks
// that each get the stall timeout.
type stallConn struct {
	net.Conn
	stall time.Duration
	addr  string
}

// sendChunk is how much of a body one write deadline covers: at the
// default stall timeout, a peer slower than about 70 KB/s fails.
const sendChunk = 4 << 20

func (c *stallConn) Write(p []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.stall))
	n, err := c.Conn.Write(p)
	return n, c.explain(err)
}

func (c *stallConn) ReadFrom(r io.Reader) (int64, error) {
	rf, ok := c.Conn.(io.ReaderFrom)
	if !ok || !isFile(r) {
		// Each Write gets the timeout; time spent reading r (a body
		// streamed from elsewhere) is not the peer's.
		return io.Copy(struct{ io.Writer }{c}, r)
	}
	var total int64
	for {
		c.Conn.SetWriteDeadline(time.Now().Add(c.stall))
		n, err := rf.ReadFrom(io.LimitReader(r, sendChunk))
		total += n
		if err != nil {
			return total, c.explain(err)
		}
		if n < sendChunk {
			return total, nil
		}
	}
}

// isFile reports a reader the kernel can send from (sendfile): reading it
// does not stall.
func isFile(r io.Reader) bool {
	if lr, ok := r.(*io.LimitedReader); ok {
		r = lr.R
	}
	_, ok := r.(*os.File)
	return ok
}

func (c *stallConn) explain(err error) error {
	var ne net.Error
	if err != nil && errors.As(err, &ne) && ne.Timeout() {
		return &StallError{Method: "write to", Host: c.addr, After: c.stall, Phase: "sending the request", Err: err}
	}
	return err
}

// Wrap adds l's stall and size checks to inner; its timeouts are inner's.
func Wrap(inner http.RoundTripper, l Limits) http.RoundTripper {
	return &transport{inner: inner, l: l}
}

type transport struct {
	inner http.RoundTripper
	l     Limits
}

// StallError is a request that moved no byte for the stall timeout. It is a
// net.Error whose Timeout and Temporary are true, and a connection error to
// the AWS SDK's retryer: it is retried like a reset connection.
type StallError struct {
	Method, Host string
	After        time.Duration
	Phase        string // "sending the request" or "receiving the response body"
	Err          error  // the underlying error, if any
}

func (e *StallError) Error() string {
	return fmt.Sprintf("%s %s: no byte moved for %v while %s (stall timeout, %s)", e.Method, e.Host, e.After, e.Phase, EnvStall)
}
func (e *StallError) Unwrap() error         { return e.Err }
func (e *StallError) Timeout() bool         { return true }
func (e *StallError) Temporary() bool       { return true }
func (e *StallError) ConnectionError() bool { return true }

// TooLargeError is a response body longer than its bound.
type TooLargeError struct {
	Method, Host, Path string
	Max                int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s %s%s: the response body is longer than the %d bytes accepted", e.Method, e.Host, e.Path, e.Max)
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	return bound(req, t.l, t.inner.RoundTrip)
}

// bound sends req through send and watches the response body: a stall
// cancels the request, and the body is counted against l.MaxBody.
func bound(req *http.Request, l Limits, send func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	w := &watchdog{cancel: cancel, stall: l.Stall, method: req.Method, host: req.URL.Host}
	req = req.WithContext(ctx)
	resp, err := send(req)
	if err != nil {
		cancel(nil)
		return nil, err
	}
	var max int64
	if l.MaxBody != nil {
		max = l.MaxBody(req)
	}
	if resp.ContentLength > 0 && max > 0 && resp.ContentLength > max {
		resp.Body.Close()
		cancel(nil)
		return nil, &TooLargeError{Method: req.Method, Host: req.URL.Host, Path: req.URL.Path, Max: max}
	}
	if w.stall > 0 {
		w.start("receiving the response body")
	}
	resp.Body = &recvBody{body: resp.Body, w: w, ctx: ctx, cancel: cancel, max: max, req: req}
	return resp, nil
}

// watchdog cancels the request when it is not fed for stall.
type watchdog struct {
	cancel       context.CancelCauseFunc
	stall        time.Duration
	method, host string

	mu    sync.Mutex
	timer *time.Timer
	phase string
}

func (w *watchdog) start(phase string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.phase = phase
	if w.timer == nil {
		w.timer = time.AfterFunc(w.stall, w.fire)
		return
	}
	w.timer.Reset(w.stall)
}

func (w *watchdog) fire() {
	w.mu.Lock()
	phase := w.phase
	w.mu.Unlock()
	w.cancel(&StallError{Method: w.method, Host: w.host, After: w.stall, Phase: phase})
}

// feed records progress.
func (w *watchdog) feed() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Reset(w.stall)
	}
}

func (w *watchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
	}
}

// recvBody feeds the watchdog as the response body arrives, and counts it.
type recvBody struct {
	body   io.ReadCloser
	w      *watchdog
	ctx    context.Context
	cancel context.CancelCauseFunc
	max    int64
	n      int64
	req    *http.Request
	once   sync.Once
}

func (b *recvBody) Read(p []byte) (int, error) {
	if b.max > 0 && int64(len(p)) > b.max-b.n+1 {
		p = p[:b.max-b.n+1]
	}
	n, err := b.body.Read(p)
	if n > 0 {
		b.w.feed()
		b.n += int64(n)
		if b.max > 0 && b.n > b.max {
			b.finish()
			return 0, &TooLargeError{Method: b.req.Method, Host: b.req.URL.Host, Path: b.req.URL.Path, Max: b.max}
		}
	}
	if err != nil {
		var se *StallError
		if cause := context.Cause(b.ctx); errors.As(cause, &se) {
			err = se
		}
		if err == io.EOF {
			b.w.stop()
		}
	}
	return n, err
}

func (b *recvBody) finish() {
	b.once.Do(func() {
		b.w.stop()
		b.body.Close()
		b.cancel(nil)
	})
}

func (b *recvBody) Close() error {
	b.w.stop()
	err := b.body.Close()
	b.once.Do(func() { b.cancel(nil) })
	return err
}
