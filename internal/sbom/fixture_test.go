package sbom

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// entry is one tar entry of a test layer.
type entry struct {
	name string
	typ  byte
	body []byte
	link string
}

func file(name string, body []byte) entry { return entry{name: name, typ: tar.TypeReg, body: body} }
func dir(name string) entry               { return entry{name: name, typ: tar.TypeDir} }
func symlink(name, target string) entry {
	return entry{name: name, typ: tar.TypeSymlink, link: target}
}

// whiteout deletes name (a path) from the layers below.
func whiteout(name string) entry {
	d, b := filepath.Split(name)
	return file(d+".wh."+b, nil)
}

// opaque hides what the layers below have in directory d.
func opaque(d string) entry { return file(d+"/.wh..wh..opq", nil) }

func layerOf(t testing.TB, entries ...entry) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Linkname: e.link, Size: int64(len(e.body))}
		if e.typ == tar.TypeDir {
			h.Mode = 0o755
		}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(h2b(e)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func h2b(e entry) []byte {
	if e.typ != tar.TypeReg {
		return nil
	}
	return e.body
}

func imageOf(t testing.TB, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const debianOSRelease = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
`

const alpineOSRelease = `NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.20.3
PRETTY_NAME="Alpine Linux v3.20"
`

// The Go program the tests build: a main module with one dependency from
// the module cache (go-cmp, which this package's tests import, so it is
// there) and one replaced by a local directory.
var (
	goBinOnce sync.Once
	goBinPath string
	goBinErr  error
)

const helloMain = `package main

import (
	"fmt"

	"example.com/greeting"
	"github.com/google/go-cmp/cmp"
)

func main() { fmt.Println(greeting.Hello(), cmp.Equal(1, 1)) }
`

const helloGoMod = `module example.com/hello

go 1.22

require (
	example.com/greeting v1.2.3
	github.com/google/go-cmp v0.7.0
)

replace example.com/greeting v1.2.3 => ./greeting
`

// testGoProgram builds the test program for Linux once per test run and
// returns its path. Offline: GOPROXY=off, modules from the cache.
func testGoProgram(t testing.TB) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	goBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sbom-gobin-")
		if err != nil {
			goBinErr = err
			return
		}
		files := map[string]string{
			"go.mod":               helloGoMod,
			"main.go":              helloMain,
			"greeting/go.mod":      "module example.com/greeting\n\ngo 1.22\n",
			"greeting/greeting.go": "package greeting\n\nfunc Hello() string { return \"hello\" }\n",
		}
		for name, body := range files {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				goBinErr = err
				return
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				goBinErr = err
				return
			}
		}
		goBinPath = filepath.Join(dir, "hello")
		// The host's architecture and no -trimpath, so the standard
		// library comes from the build cache the tests themselves filled.
		cmd := exec.Command(gobin, "build", "-o", goBinPath, ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0",
			"GOPROXY=off", "GOFLAGS=-mod=mod", "GOWORK=off", "GONOSUMDB=*", "GONOSUMCHECK=1", "GOSUMDB=off", "GOTOOLCHAIN=local")
		if out, err := cmd.CombinedOutput(); err != nil {
			goBinErr = err
			goBinPath = string(out)
		}
	})
	if goBinErr != nil {
		t.Fatalf("building the test Go program: %v\n%s", goBinErr, goBinPath)
	}
	return goBinPath
}
