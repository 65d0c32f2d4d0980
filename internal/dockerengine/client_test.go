package dockerengine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/org/ecr-action/internal/testing/enginetest"
)

func randomImage(t *testing.T, size int64, layers int) v1.Image {
	t.Helper()
	img, err := random.Image(size, int64(layers))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func newClient(t *testing.T, host string) *Client {
	t.Helper()
	c, err := New(host)
	if err != nil {
		t.Fatalf("New(%q): %v", host, err)
	}
	return c
}

// shortDir is a temporary directory short enough for a socket path.
func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "de")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		name, host string
		wantBase   string // "" when New must fail
		wantSocket string
		wantErr    string
	}{
		{name: "default", host: "", wantBase: "http://docker", wantSocket: "/var/run/docker.sock"},
		{name: "unix socket", host: "unix:///run/user/1000/docker.sock", wantBase: "http://docker", wantSocket: "/run/user/1000/docker.sock"},
		{name: "tcp", host: "tcp://127.0.0.1:2375", wantBase: "http://127.0.0.1:2375"},
		{name: "tcp without a port", host: "tcp://10.0.0.5", wantBase: "http://10.0.0.5:2375"},
		{name: "tcp ipv6", host: "tcp://[::1]:2375", wantBase: "http://[::1]:2375"},
		{name: "tcp with a path", host: "tcp://127.0.0.1:2375/api", wantErr: "without a path"},
		{name: "unix without a path", host: "unix://", wantErr: "names no socket"},
		{name: "ssh", host: "ssh://me@build-host", wantErr: "ssh:// is not supported"},
		{name: "named pipe", host: "npipe:////./pipe/docker_engine", wantErr: "named pipes are not supported"},
		{name: "https", host: "https://127.0.0.1:2376", wantErr: "TLS"},
		{name: "no scheme", host: "/var/run/docker.sock", wantErr: "has no scheme"},
		{name: "unknown scheme", host: "fd://", wantErr: `scheme "fd" is not supported`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.host)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("New(%q) = %v, want an error containing %q", tc.host, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New(%q): %v", tc.host, err)
			}
			if c.base != tc.wantBase || c.socket != tc.wantSocket {
				t.Errorf("New(%q): base %q socket %q, want %q %q", tc.host, c.base, c.socket, tc.wantBase, tc.wantSocket)
			}
		})
	}
}

func TestPing(t *testing.T) {
	e := enginetest.Start(t, nil)
	c := newClient(t, e.Host)
	if err := pingEngine(context.Background(), c); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if diff := cmp.Diff([]string{"GET /_ping"}, e.Requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

// TestSaveRoundTrip reads the saved tarball back and compares it with the
// image the engine holds.
func TestSaveRoundTrip(t *testing.T) {
	img := randomImage(t, 64<<10, 3)
	e := enginetest.Start(t, map[string]v1.Image{"app:v1": img})
	c := newClient(t, e.Host)

	path := filepath.Join(t.TempDir(), "app.tar")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.Save(context.Background(), "app:v1", f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("Save: %v", err)
	}
	if st, err := os.Stat(path); err != nil || st.Size() != n {
		t.Fatalf("Save reported %d bytes; the file has %v (%v)", n, st.Size(), err)
	}

	tag, err := name.NewTag("app:v1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := tarball.ImageFromPath(path, &tag)
	if err != nil {
		t.Fatalf("reading the saved tarball: %v", err)
	}
	if err := validate.Image(got); err != nil {
		t.Errorf("saved image does not validate: %v", err)
	}
	wantCfg, _ := img.ConfigName()
	if gotCfg, err := got.ConfigName(); err != nil || gotCfg != wantCfg {
		t.Errorf("config (image ID) = %v (%v), want %v", gotCfg, err, wantCfg)
	}
	wantLayers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	gotLayers, err := got.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(gotLayers) != len(wantLayers) {
		t.Fatalf("saved image has %d layers, want %d", len(gotLayers), len(wantLayers))
	}
	for i := range wantLayers {
		wantDiff, _ := wantLayers[i].DiffID()
		gotDiff, err := gotLayers[i].DiffID()
		if err != nil || gotDiff != wantDiff {
			t.Errorf("layer %d diffID = %v (%v), want %v", i, gotDiff, err, wantDiff)
		}
		// The layer content itself: its sha256 must be the diffID.
		rc, err := gotLayers[i].Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		h, _, err := v1.SHA256(rc)
		rc.Close()
		if err != nil || h != wantDiff {
			t.Errorf("layer %d content hashes to %v (%v), want %v", i, h, err, wantDiff)
		}
		// The saved layer is uncompressed; read back, it is gzipped afresh.
		// random.Image gzips with the same library and settings, so the
		// compressed digest comes out the same as the original's.
		wantDigest, _ := wantLayers[i].Digest()
		if gotDigest, err := gotLayers[i].Digest(); err != nil || gotDigest != wantDigest {
			t.Errorf("layer %d digest = %v (%v), want %v", i, gotDigest, err, wantDigest)
		}
	}

	// docker save writes layers uncompressed.
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil })
	if err != nil {
		t.Fatalf("reading manifest.json: %v", err)
	}
	if len(m) != 1 || !cmp.Equal(m[0].RepoTags, []string{"app:v1"}) {
		t.Errorf("manifest.json = %+v, want one image tagged app:v1", m)
	}
	for _, l := range m[0].Layers {
		if !strings.HasSuffix(l, ".tar") {
			t.Errorf("layer file %q is not an uncompressed .tar", l)
		}
	}
}

func TestSaveNegotiatesTheAPIVersion(t *testing.T) {
	img := randomImage(t, 1024, 1)
	for _, tc := range []struct {
		name          string
		engineVersion string
		wantGet       string
	}{
		{"newer engine gets the client's maximum", "1.47", "GET /v1.44/images/get?names=app%3Av1"},
		{"same version", "1.44", "GET /v1.44/images/get?names=app%3Av1"},
		{"older engine gets its own version", "1.41", "GET /v1.41/images/get?names=app%3Av1"},
		{"a minor version above 9 compares as a number", "1.100", "GET /v1.44/images/get?names=app%3Av1"},
		{"no Api-Version header: no prefix", "", "GET /images/get?names=app%3Av1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := enginetest.Start(t, map[string]v1.Image{"app:v1": img})
			e.SetAPIVersion(tc.engineVersion)
			c := newClient(t, e.Host)
			for range 2 {
				if _, err := c.Save(context.Background(), "app:v1", io.Discard); err != nil {
					t.Fatalf("Save: %v", err)
				}
			}
			// One ping, cached for the second save.
			want := []string{"GET /_ping", tc.wantGet, tc.wantGet}
			if diff := cmp.Diff(want, e.Requests()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSaveErrors(t *testing.T) {
	img := randomImage(t, 32<<10, 2)
	for _, tc := range []struct {
		name       string
		ref        string
		failAfter  int64
		failMsg    string
		wantIn     []string
		wantIs     error
		wantStatus int
	}{
		{
			name: "image not found", ref: "app:v2",
			wantIn:     []string{`"app:v2"`, "reference does not exist", "404", "earlier step"},
			wantIs:     ErrNotFound,
			wantStatus: 404,
		},
		{
			name: "engine fails before answering", ref: "app:v1", failMsg: "write /var/lib/docker/tmp: no space left on device",
			wantIn:     []string{`"app:v1"`, "500", "no space left on device"},
			wantStatus: 500,
		},
		{
			name: "engine fails partway through the tarball", ref: "app:v1", failAfter: 5000, failMsg: "layer does not exist",
			wantIn: []string{`"app:v1"`, "partway", "incomplete", "layer does not exist"},
		},
		{
			name: "invalid reference", ref: "App:v1",
			wantIn:     []string{"400", "invalid reference format"},
			wantStatus: 400,
		},
		{
			name: "empty reference", ref: "",
			wantIn: []string{"reference is empty"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := enginetest.Start(t, map[string]v1.Image{"app:v1": img})
			e.FailExports(tc.failAfter, tc.failMsg)
			c := newClient(t, e.Host)
			var buf bytes.Buffer
			_, err := c.Save(context.Background(), tc.ref, &buf)
			if err == nil {
				t.Fatal("Save succeeded, want an error")
			}
			for _, s := range tc.wantIn {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.wantIs)
			}
			var ee *EngineError
			if got := errors.As(err, &ee); got != (tc.wantStatus != 0) || (got && ee.StatusCode != tc.wantStatus) {
				t.Errorf("errors.As(*EngineError) = %v %+v, want status %d", got, ee, tc.wantStatus)
			}
		})
	}
}

func TestNoEngine(t *testing.T) {
	dir := shortDir(t)
	refused := filepath.Join(dir, "refused.sock")
	ln, err := net.Listen("unix", refused)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close() // the socket file stays; nothing listens on it

	for _, tc := range []struct {
		name, socket string
		want         string
	}{
		{"no socket", filepath.Join(dir, "missing.sock"),
			"no Docker engine socket at " + filepath.Join(dir, "missing.sock") + ": the docker-daemon: source needs the image built by an earlier step on the same runner (docker build), or use source: oci:<dir> / docker-archive:<file>"},
		{"nothing listening", refused, "nothing listens on the Docker engine socket " + refused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, "unix://"+tc.socket)
			for _, call := range []struct {
				name string
				do   func() error
			}{
				{"Ping", func() error { return pingEngine(context.Background(), c) }},
				{"Save", func() error { _, err := c.Save(context.Background(), "app:v1", io.Discard); return err }},
			} {
				err := call.do()
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s = %v, want an error containing %q", call.name, err, tc.want)
				}
				if !errors.Is(err, ErrNoEngine) {
					t.Errorf("%s: errors.Is(%v, ErrNoEngine) = false", call.name, err)
				}
			}
		})
	}
}

func TestSaveOverTCP(t *testing.T) {
	img := randomImage(t, 1024, 1)
	e := enginetest.Start(t, map[string]v1.Image{"ghcr.io/org/app:v1": img})
	ts := httptest.NewServer(e)
	t.Cleanup(ts.Close)
	c := newClient(t, "tcp://"+strings.TrimPrefix(ts.URL, "http://"))
	var buf bytes.Buffer
	if _, err := c.Save(context.Background(), "ghcr.io/org/app:v1", &buf); err != nil {
		t.Fatalf("Save over tcp: %v", err)
	}
	got, err := tarball.Image(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil }, nil)
	if err != nil {
		t.Fatalf("reading the tarball: %v", err)
	}
	want, _ := img.ConfigName()
	if gotCfg, _ := got.ConfigName(); gotCfg != want {
		t.Errorf("config = %v, want %v", gotCfg, want)
	}
}

func TestSaveResolvesNamesAsTheEngineDoes(t *testing.T) {
	img := randomImage(t, 1024, 1)
	e := enginetest.Start(t, map[string]v1.Image{"app": img})
	c := newClient(t, e.Host)
	for _, ref := range []string{"app", "app:latest", "docker.io/library/app:latest"} {
		if _, err := c.Save(context.Background(), ref, io.Discard); err != nil {
			t.Errorf("Save(%q): %v", ref, err)
		}
	}
}

// cancellingWriter cancels the context after its first write.
type cancellingWriter struct {
	cancel context.CancelFunc
	n      int
}

func (w *cancellingWriter) Write(p []byte) (int, error) {
	w.n++
	if w.n == 1 {
		w.cancel()
	}
	return len(p), nil
}

func TestSaveHonoursCancellation(t *testing.T) {
	img := randomImage(t, 4<<20, 2) // large enough to arrive in many reads
	e := enginetest.Start(t, map[string]v1.Image{"app:v1": img})
	c := newClient(t, e.Host)
	if err := pingEngine(context.Background(), c); err != nil {
		t.Fatal(err)
	}

	t.Run("cancelled before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := c.Save(ctx, "app:v1", io.Discard); !errors.Is(err, context.Canceled) {
			t.Errorf("Save with a cancelled context = %v, want context.Canceled", err)
		}
	})
	t.Run("cancelled while streaming", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w := &cancellingWriter{cancel: cancel}
		n, err := c.Save(ctx, "app:v1", w)
		if !errors.Is(err, context.Canceled) || n == 0 {
			t.Errorf("Save cancelled midway = %d bytes, %v; want some bytes, then context.Canceled", n, err)
		}
	})
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestSaveReportsWriterErrors(t *testing.T) {
	e := enginetest.Start(t, map[string]v1.Image{"app:v1": randomImage(t, 1024, 1)})
	c := newClient(t, e.Host)
	_, err := c.Save(context.Background(), "app:v1", failWriter{})
	if err == nil || !strings.Contains(err.Error(), "writing the tarball") || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Save into a failing writer = %v, want a writing error with the cause", err)
	}
}

// serveUnix serves h on a new unix socket until the test ends.
func serveUnix(t *testing.T, h http.Handler) string {
	t.Helper()
	sock := filepath.Join(shortDir(t), "e.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	return sock
}

func TestHeaderTimeout(t *testing.T) {
	// An engine that answers /_ping (unless told to stall it) and never
	// answers anything else, until the request goes away.
	stall := func(stallPing bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/_ping" && !stallPing {
				w.Header().Set("Api-Version", "1.47")
				_, _ = io.WriteString(w, "OK")
				return
			}
			<-r.Context().Done()
		}
	}
	for _, tc := range []struct {
		name      string
		stallPing bool
		call      func(context.Context, *Client) error
	}{
		{"ping", true, func(ctx context.Context, c *Client) error { return pingEngine(ctx, c) }},
		{"save", false, func(ctx context.Context, c *Client) error { _, err := c.Save(ctx, "app:v1", io.Discard); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sock := serveUnix(t, stall(tc.stallPing))
			c := newClient(t, "unix://"+sock)
			// The default (5 minutes) made short, as if the engine's
			// answer had taken that long.
			c.headerTimeout = 100 * time.Millisecond
			c.hc.Transport.(*http.Transport).ResponseHeaderTimeout = c.headerTimeout
			start := time.Now()
			err := tc.call(context.Background(), c)
			if err == nil {
				t.Fatal("a silent engine answered")
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %v, want about the 100ms header timeout", took)
			}
			if !strings.Contains(err.Error(), "did not answer in time") && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("got %v, want a timeout error", err)
			}
			t.Logf("error: %v", err)
		})
	}
}

func TestTailCheck(t *testing.T) {
	tarTail := append(bytes.Repeat([]byte("x"), 600), make([]byte, 1024)...)
	for _, tc := range []struct {
		name   string
		chunks [][]byte
		want   string // "" = whole tarball
	}{
		{"whole tarball", [][]byte{tarTail}, ""},
		{"whole tarball in small writes", splitEvery(append(bytes.Repeat([]byte("y"), 40000), make([]byte, 1024)...), 7), ""},
		{"marker after a large write", [][]byte{bytes.Repeat([]byte("z"), 100000), make([]byte, 1024)}, ""},
		{"error appended", [][]byte{bytes.Repeat([]byte("x"), 3000), []byte(`{"errorDetail":{"message":"boom"},"error":"boom"}` + "\r\n")}, "boom"},
		{"truncated", [][]byte{bytes.Repeat([]byte("x"), 3000)}, "end-of-archive"},
		{"empty", nil, "empty body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tw := &tailWriter{w: io.Discard}
			for _, c := range tc.chunks {
				if _, err := tw.Write(c); err != nil {
					t.Fatal(err)
				}
			}
			err := tw.check()
			if tc.want == "" {
				if err != nil {
					t.Errorf("check = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("check = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func splitEvery(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > n {
		out = append(out, b[:n])
		b = b[n:]
	}
	return append(out, b)
}

// pingEngine pings as Save does before its first request.
func pingEngine(ctx context.Context, c *Client) error {
	_, err := c.ping(ctx)
	return err
}
