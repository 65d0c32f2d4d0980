// Package enginetest is a fake Docker engine for tests: it listens on a unix
// socket in a temporary directory and answers /_ping and `docker save`
// (GET /images/get) for the images it was given, with tarballs in the format
// the engine writes (manifest.json, the config, uncompressed layers).
package enginetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Versions of the engine API the fake speaks unless SetAPIVersion changes
// the highest.
const (
	APIVersion    = "1.47"
	MinAPIVersion = "1.24"
)

// maxSocketPath keeps socket paths under the unix limit (104 bytes on
// macOS, 108 on Linux).
const maxSocketPath = 100

// Engine is a running fake engine. Socket and Host address it.
type Engine struct {
	Socket string // path of the unix socket
	Host   string // "unix://" + Socket, as DOCKER_HOST takes it

	images map[string]v1.Image // by resolved name (index.docker.io/library/app:v1)
	srv    *http.Server

	mu         sync.Mutex
	requests   []string
	apiVersion string // "" = send no Api-Version header, accept any version
	failAfter  int64
	failMsg    string // "" = exports do not fail
}

// Start serves a fake engine holding images until the test ends. Keys are
// references as `docker save` takes them ("app:v1", "ghcr.io/o/app:v1",
// "app" meaning app:latest); they resolve as the engine resolves them, so
// "docker.io/library/app:v1" finds "app:v1".
func Start(t testing.TB, images map[string]v1.Image) *Engine {
	t.Helper()
	e := &Engine{images: map[string]v1.Image{}, apiVersion: APIVersion}
	converted := map[v1.Image]v1.Image{} // one tarball image per distinct image
	for ref, img := range images {
		key, err := resolve(ref)
		if err != nil {
			t.Fatalf("enginetest: image key %q: %v", ref, err)
		}
		if c, ok := converted[img]; ok {
			e.images[key] = c
			continue
		}
		c, err := asSaved(img)
		if err != nil {
			t.Fatalf("enginetest: preparing image %q: %v", ref, err)
		}
		converted[img] = c
		e.images[key] = c
	}

	dir := t.TempDir()
	if len(filepath.Join(dir, "docker.sock")) > maxSocketPath {
		d, err := os.MkdirTemp("", "de")
		if err != nil {
			t.Fatalf("enginetest: creating a socket directory: %v", err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(d) })
		dir = d
	}
	e.Socket = filepath.Join(dir, "docker.sock")
	e.Host = "unix://" + e.Socket
	ln, err := net.Listen("unix", e.Socket)
	if err != nil {
		t.Fatalf("enginetest: listening on %s: %v", e.Socket, err)
	}
	e.srv = &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = e.srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = e.srv.Close()
		<-done
	})
	return e
}

// Requests returns the requests served so far, in order, as "METHOD URI"
// (e.g. "GET /v1.44/images/get?names=app%3Av1").
func (e *Engine) Requests() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.requests...)
}

// SetAPIVersion sets the highest API version the engine speaks and reports
// in its Api-Version header (default APIVersion); "" sends no header and
// accepts every version.
func (e *Engine) SetAPIVersion(v string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.apiVersion = v
}

// FailExports makes later exports fail with message after afterBytes bytes
// of the tarball, as an engine failing partway does: the answer is already
// 200, so the error is appended to the stream as a JSON message. With
// afterBytes <= 0 the engine answers 500 {"message": message} instead.
// An empty message stops failing.
func (e *Engine) FailExports(afterBytes int64, message string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failAfter, e.failMsg = afterBytes, message
}

var versionedPath = regexp.MustCompile(`^/v([0-9]+\.[0-9]+)(/.*)$`)

// ServeHTTP answers the engine API; Start serves it on the socket, and a
// test may serve it on tcp too.
func (e *Engine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	e.requests = append(e.requests, r.Method+" "+r.URL.RequestURI())
	maxVersion, failAfter, failMsg := e.apiVersion, e.failAfter, e.failMsg
	e.mu.Unlock()

	if maxVersion != "" {
		w.Header().Set("Api-Version", maxVersion)
	}
	w.Header().Set("Ostype", "linux")
	w.Header().Set("Server", "Docker/enginetest (linux)")

	p := r.URL.Path
	if m := versionedPath.FindStringSubmatch(p); m != nil {
		if maxVersion != "" && versionLess(maxVersion, m[1]) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("client version %s is too new. Maximum supported API version is %s", m[1], maxVersion))
			return
		}
		if versionLess(m[1], MinAPIVersion) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version", m[1], MinAPIVersion))
			return
		}
		p = m[2]
	}
	switch {
	case p == "/_ping" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache, no-store, must-revalidate")
		_, _ = io.WriteString(w, "OK")
	case p == "/images/get" && r.Method == http.MethodGet:
		e.save(w, r.URL.Query()["names"], failAfter, failMsg)
	default:
		writeError(w, http.StatusNotFound, "page not found")
	}
}

func (e *Engine) save(w http.ResponseWriter, names []string, failAfter int64, failMsg string) {
	if len(names) == 0 {
		writeError(w, http.StatusBadRequest, "no image names given")
		return
	}
	refs := map[name.Reference]v1.Image{}
	for _, n := range names {
		key, err := resolve(n)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid reference format: %v", err))
			return
		}
		img, ok := e.images[key]
		if !ok {
			writeError(w, http.StatusNotFound, "reference does not exist")
			return
		}
		ref, err := name.ParseReference(n)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid reference format: %v", err))
			return
		}
		if t, ok := ref.(name.Tag); ok && !strings.HasSuffix(n, ":"+t.TagStr()) {
			// A bare name means :latest; RepoTags name the tag, as the engine's do.
			if ref, err = name.NewTag(n + ":" + t.TagStr()); err != nil {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid reference format: %v", err))
				return
			}
		}
		refs[ref] = img
	}
	if failMsg != "" && failAfter <= 0 {
		writeError(w, http.StatusInternalServerError, failMsg)
		return
	}
	w.Header().Set("Content-Type", "application/x-tar")
	var out io.Writer = w
	if failMsg != "" {
		out = &failingWriter{w: w, left: failAfter}
	}
	if err := tarball.MultiRefWrite(refs, out); err != nil {
		msg := err.Error()
		if errors.Is(err, errInjected) {
			msg = failMsg
		}
		// The status is sent: report the error in the stream, as the engine does.
		b, _ := json.Marshal(map[string]any{"errorDetail": map[string]string{"message": msg}, "error": msg})
		_, _ = w.Write(append(b, '\r', '\n'))
	}
}

var errInjected = errors.New("enginetest: injected export failure")

// failingWriter passes on left bytes, then fails.
type failingWriter struct {
	w    io.Writer
	left int64
}

func (f *failingWriter) Write(p []byte) (int, error) {
	if int64(len(p)) <= f.left {
		n, err := f.w.Write(p)
		f.left -= int64(n)
		return n, err
	}
	n, err := f.w.Write(p[:f.left])
	f.left -= int64(n)
	if err != nil {
		return n, err
	}
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, errInjected
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

// resolve names a reference the way the engine's store does: defaults
// filled in, a bare name meaning :latest.
func resolve(ref string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", err
	}
	return r.Name(), nil
}

func versionLess(a, b string) bool {
	var am, an, bm, bn int
	_, _ = fmt.Sscanf(a, "%d.%d", &am, &an)
	_, _ = fmt.Sscanf(b, "%d.%d", &bm, &bn)
	return am < bm || (am == bm && an < bn)
}

// asSaved returns img as the engine holds it: the same config, and layers
// that are the uncompressed tars, so the tarball carries them uncompressed
// as `docker save` does. Layer digests in its manifest are the diffIDs.
func asSaved(img v1.Image) (v1.Image, error) {
	rawCfg, err := img.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the config: %w", err)
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		return nil, fmt.Errorf("hashing the config: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("listing layers: %w", err)
	}
	s := &savedImage{rawConfig: rawCfg, layers: map[v1.Hash]*savedLayer{}}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.DockerManifestSchema2,
		Config:        v1.Descriptor{MediaType: types.DockerConfigJSON, Size: int64(len(rawCfg)), Digest: cfgName},
	}
	for i, l := range layers {
		diffID, err := l.DiffID()
		if err != nil {
			return nil, fmt.Errorf("layer %d: reading its diffID: %w", i, err)
		}
		size, err := uncompressedSize(l)
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		s.layers[diffID] = &savedLayer{layer: l, diffID: diffID, size: size}
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: types.DockerUncompressedLayer, Size: size, Digest: diffID})
	}
	if s.manifest, err = json.Marshal(m); err != nil {
		return nil, fmt.Errorf("encoding the manifest: %w", err)
	}
	return partial.CompressedToImage(s)
}

func uncompressedSize(l v1.Layer) (int64, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return 0, fmt.Errorf("opening the uncompressed layer: %w", err)
	}
	defer rc.Close()
	n, err := io.Copy(io.Discard, rc)
	if err != nil {
		return 0, fmt.Errorf("reading the uncompressed layer: %w", err)
	}
	return n, nil
}

// savedImage is a partial.CompressedImageCore whose blobs are the
// uncompressed layers.
type savedImage struct {
	rawConfig []byte
	manifest  []byte
	layers    map[v1.Hash]*savedLayer
}

func (s *savedImage) RawConfigFile() ([]byte, error) { return s.rawConfig, nil }
func (s *savedImage) MediaType() (types.MediaType, error) {
	return types.DockerManifestSchema2, nil
}
func (s *savedImage) RawManifest() ([]byte, error) { return s.manifest, nil }

func (s *savedImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if l, ok := s.layers[h]; ok {
		return l, nil
	}
	known := make([]string, 0, len(s.layers))
	for d := range s.layers {
		known = append(known, d.String())
	}
	sort.Strings(known)
	return nil, fmt.Errorf("no layer %s (layers: %v)", h, known)
}

// savedLayer is a layer whose blob is its uncompressed tar.
type savedLayer struct {
	layer  v1.Layer
	diffID v1.Hash
	size   int64
}

func (l *savedLayer) Digest() (v1.Hash, error)           { return l.diffID, nil }
func (l *savedLayer) DiffID() (v1.Hash, error)           { return l.diffID, nil }
func (l *savedLayer) Compressed() (io.ReadCloser, error) { return l.layer.Uncompressed() }
func (l *savedLayer) Size() (int64, error)               { return l.size, nil }
func (l *savedLayer) MediaType() (types.MediaType, error) {
	return types.DockerUncompressedLayer, nil
}
