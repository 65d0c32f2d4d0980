// Package dockerengine reads images from a Docker engine through its HTTP API
// (the engine API, as `docker save` does), over a unix socket or plain tcp.
// It speaks the API with net/http and needs no Docker client library.
package dockerengine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultHost is the engine address used when New gets "".
const DefaultHost = "unix:///var/run/docker.sock"

// MaxAPIVersion is the highest engine API version the client asks for. It
// is also the lowest version Docker Engine 29 accepts, and /images/get has
// not changed in the versions around it.
const MaxAPIVersion = "1.44"

// Defaults of the options.
const (
	DefaultDialTimeout   = 10 * time.Second
	DefaultHeaderTimeout = 5 * time.Minute
	// pingTimeout bounds a whole /_ping exchange (smaller when the header
	// timeout is).
	pingTimeout = 30 * time.Second
)

var (
	// ErrNoEngine means no engine answers at the address: no socket, or
	// nothing listening on it.
	ErrNoEngine = errors.New("no Docker engine")
	// ErrNotFound means the engine answered 404, e.g. for an image it does
	// not hold. *EngineError matches it with errors.Is.
	ErrNotFound = errors.New("not found")
)

// noEngineError is a message that says what to do, matching ErrNoEngine.
type noEngineError struct{ msg string }

func (e *noEngineError) Error() string        { return e.msg }
func (e *noEngineError) Is(target error) bool { return target == ErrNoEngine }

// EngineError is an engine answer with an error status and the message from
// its JSON body ({"message": "..."}).
type EngineError struct {
	Method     string
	Path       string // without the version prefix, e.g. /images/get
	StatusCode int
	Message    string
}

func (e *EngineError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	return fmt.Sprintf("engine answered %s %s with %d: %s", e.Method, e.Path, e.StatusCode, msg)
}

// Is matches ErrNotFound for a 404 answer.
func (e *EngineError) Is(target error) bool {
	return target == ErrNotFound && e.StatusCode == http.StatusNotFound
}

// Client talks to a Docker engine API over a unix socket (or tcp:// without
// TLS). It is safe for concurrent use.
type Client struct {
	host          string // as given, for messages
	socket        string // unix socket path; "" for tcp
	base          string // scheme and authority of request URLs
	hc            *http.Client
	dialTimeout   time.Duration
	headerTimeout time.Duration // also caps the ping

	mu         sync.Mutex
	negotiated bool
	prefix     string // "/v1.44", or "" when the engine sent no Api-Version
}

// New returns a Client for host, given as DOCKER_HOST is:
// "unix:///var/run/docker.sock" (the default, for ""), or "tcp://HOST:PORT"
// (port 2375 when left out) for an engine that listens without TLS. It does
// not connect. Connecting waits at most DefaultDialTimeout, and the
// response headers at most DefaultHeaderTimeout.
func New(host string) (*Client, error) {
	if host == "" {
		host = DefaultHost
	}
	c := &Client{host: host, dialTimeout: DefaultDialTimeout, headerTimeout: DefaultHeaderTimeout}
	dialer := &net.Dialer{Timeout: c.dialTimeout}
	var dial func(ctx context.Context, network, addr string) (net.Conn, error)

	scheme, rest, ok := strings.Cut(host, "://")
	if !ok {
		return nil, fmt.Errorf("engine host %q has no scheme: use unix:///path/to/docker.sock or tcp://HOST:PORT", host)
	}
	switch scheme {
	case "unix":
		if rest == "" {
			return nil, fmt.Errorf("engine host %q names no socket: use unix:///var/run/docker.sock", host)
		}
		c.socket = rest
		c.base = "http://docker"
		dial = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", c.socket)
		}
	case "tcp":
		u, err := url.Parse("tcp://" + rest)
		if err != nil {
			return nil, fmt.Errorf("parsing engine host %q: %w", host, err)
		}
		if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return nil, fmt.Errorf("engine host %q must be tcp://HOST:PORT, without a path, query or user", host)
		}
		addr := u.Host
		if u.Port() == "" {
			addr = net.JoinHostPort(u.Hostname(), "2375")
		}
		c.base = "http://" + addr
		dial = dialer.DialContext
	case "ssh":
		return nil, fmt.Errorf("engine host %q: ssh:// is not supported; forward the engine's socket (ssh -L /tmp/docker.sock:/var/run/docker.sock HOST) and use unix:///tmp/docker.sock", host)
	case "npipe":
		return nil, fmt.Errorf("engine host %q: Windows named pipes are not supported; the action runs on Linux runners", host)
	case "http", "https":
		return nil, fmt.Errorf("engine host %q: use tcp://HOST:PORT for an engine without TLS; TLS (DOCKER_TLS_VERIFY, https) is not supported", host)
	default:
		return nil, fmt.Errorf("engine host %q: scheme %q is not supported; use unix:///path/to/docker.sock or tcp://HOST:PORT", host, scheme)
	}
	c.hc = &http.Client{Transport: &http.Transport{
		Proxy:                 nil, // the engine is local; proxy variables are not for it
		DialContext:           dial,
		ResponseHeaderTimeout: c.headerTimeout,
		MaxIdleConns:          4,
		IdleConnTimeout:       30 * time.Second,
		DisableCompression:    true, // the tarball streams as the engine writes it
	}}
	return c, nil
}

// Host returns the engine address the client uses.
func (c *Client) Host() string { return c.host }

// ping checks that an engine answers (GET /_ping) and learns the API
// version to use: the engine's own (its Api-Version header) but at most
// MaxAPIVersion, or no version prefix at all when the engine sends no
// version (or one that is not MAJOR.MINOR). Save pings once, through
// versionPrefix.
func (c *Client) ping(ctx context.Context) (string, error) {
	d := min(pingTimeout, c.headerTimeout)
	ctx, cancel := context.WithTimeoutCause(ctx, d,
		fmt.Errorf("the Docker engine at %s did not answer /_ping within %v: %w", c.host, d, context.DeadlineExceeded))
	defer cancel()
	resp, err := c.do(ctx, "/_ping")
	if err != nil {
		return "", fmt.Errorf("pinging the Docker engine: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("pinging the Docker engine at %s: %w", c.host, readEngineError(resp, "/_ping"))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
	prefix := ""
	if v, ok := parseVersion(resp.Header.Get("Api-Version")); ok {
		if maxV, _ := parseVersion(MaxAPIVersion); v.less(maxV) {
			prefix = "/v" + v.String()
		} else {
			prefix = "/v" + maxV.String()
		}
	}
	c.mu.Lock()
	c.prefix, c.negotiated = prefix, true
	c.mu.Unlock()
	return prefix, nil
}

// versionPrefix returns the path prefix, pinging the engine the first time.
func (c *Client) versionPrefix(ctx context.Context) (string, error) {
	c.mu.Lock()
	prefix, ok := c.prefix, c.negotiated
	c.mu.Unlock()
	if ok {
		return prefix, nil
	}
	return c.ping(ctx)
}

// Save streams the `docker save` tarball of ref (GET /images/get?names=ref)
// into w and returns how many bytes it wrote. ref is what `docker save`
// takes: a name with tag or digest, or an image ID. The body is not timed:
// cancel ctx to stop it. When Save fails after writing, what w received is
// incomplete and must be discarded; an error the engine reports halfway
// through the stream (appended to the tarball, as the engine does once it
// has started answering) is detected and returned.
func (c *Client) Save(ctx context.Context, ref string, w io.Writer) (int64, error) {
	if ref == "" {
		return 0, errors.New("exporting an image from the Docker engine: the image reference is empty")
	}
	prefix, err := c.versionPrefix(ctx)
	if err != nil {
		return 0, fmt.Errorf("exporting image %q: %w", ref, err)
	}
	resp, err := c.do(ctx, prefix+"/images/get?names="+url.QueryEscape(ref))
	if err != nil {
		return 0, fmt.Errorf("exporting image %q from the Docker engine: %w", ref, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := readEngineError(resp, "/images/get")
		if errors.Is(err, ErrNotFound) {
			return 0, fmt.Errorf("exporting image %q from the Docker engine at %s: %w; build or pull %q in an earlier step of this job on the same runner (docker image ls lists what the engine holds)", ref, c.host, err, ref)
		}
		return 0, fmt.Errorf("exporting image %q from the Docker engine at %s: %w", ref, c.host, err)
	}
	tw := &tailWriter{w: w}
	n, err := io.CopyBuffer(tw, struct{ io.Reader }{resp.Body}, make([]byte, 256<<10))
	if err != nil {
		if tw.werr != nil {
			return n, fmt.Errorf("writing the tarball of image %q: %w", ref, err)
		}
		return n, fmt.Errorf("reading the tarball of image %q from the Docker engine after %d bytes: %w", ref, n, err)
	}
	if err := tw.check(); err != nil {
		return n, fmt.Errorf("exporting image %q from the Docker engine: %w", ref, err)
	}
	return n, nil
}

// do sends GET path to the engine. The caller closes the body.
func (c *Client) do(ctx context.Context, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, fmt.Errorf("building the request for %s: %w", path, err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.connectError(ctx, err)
	}
	return resp, nil
}

// connectError says what to do about a failed request.
func (c *Client) connectError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		// Cancelled or past its deadline: say so rather than blame the
		// engine, with the cause when one was given (the ping's timeout).
		if cause := context.Cause(ctx); cause != ctx.Err() {
			return cause
		}
		return fmt.Errorf("talking to the Docker engine at %s: %w", c.host, ctx.Err())
	}
	var ne net.Error
	timeout := errors.As(err, &ne) && ne.Timeout()
	if c.socket != "" {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return &noEngineError{fmt.Sprintf("no Docker engine socket at %s: the docker-daemon: source needs the image built by an earlier step on the same runner (docker build), or use source: oci:<dir> / docker-archive:<file>", c.socket)}
		case errors.Is(err, syscall.ECONNREFUSED):
			return &noEngineError{fmt.Sprintf("nothing listens on the Docker engine socket %s: is the engine running? The docker-daemon: source needs the engine that built the image; or use source: oci:<dir> / docker-archive:<file>", c.socket)}
		case errors.Is(err, fs.ErrPermission):
			return fmt.Errorf("no permission to use the Docker engine socket %s: run the action as a user in the socket's group (usually docker) or as root: %w", c.socket, err)
		}
	}
	if timeout {
		return fmt.Errorf("the Docker engine at %s did not answer in time (%v to connect, %v for the response headers): %w", c.host, c.dialTimeout, c.headerTimeout, err)
	}
	return fmt.Errorf("connecting to the Docker engine at %s: %w", c.host, err)
}

// readEngineError reads an error answer: JSON {"message": "..."} or text.
func readEngineError(resp *http.Response, path string) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &EngineError{Method: resp.Request.Method, Path: path, StatusCode: resp.StatusCode}
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &m) == nil && m.Message != "" {
		e.Message = m.Message
	} else {
		e.Message = strings.TrimSpace(string(body))
	}
	return e
}

// apiVersion is an engine API version, MAJOR.MINOR.
type apiVersion struct{ major, minor int }

func parseVersion(s string) (apiVersion, bool) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), ".")
	if !ok {
		return apiVersion{}, false
	}
	major, err1 := strconv.Atoi(a)
	minor, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || major < 0 || minor < 0 {
		return apiVersion{}, false
	}
	return apiVersion{major, minor}, true
}

func (v apiVersion) less(w apiVersion) bool {
	return v.major < w.major || (v.major == w.major && v.minor < w.minor)
}

func (v apiVersion) String() string { return fmt.Sprintf("%d.%d", v.major, v.minor) }
