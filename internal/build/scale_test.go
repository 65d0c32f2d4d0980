package build

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/org/ecr-action/internal/image"
)

// scaleSpec is a scratch build of n one-line files.
func scaleSpec(tb testing.TB, n int) Spec {
	tb.Helper()
	ws := tb.TempDir()
	var files []File
	for i := range n {
		name := fmt.Sprintf("f%05d", i)
		if err := os.WriteFile(filepath.Join(ws, name), []byte(name), 0o644); err != nil {
			tb.Fatal(err)
		}
		files = append(files, File{Src: name, Dest: "/data/" + name})
	}
	return Spec{Workspace: ws, Files: files, TempDir: tb.TempDir()}
}

// BenchmarkBuildFiles builds and describes images of n files and asks each
// layer of the image as the push does: the time per file must not grow with
// n (it did, through the config marshalled on every call: see frozenImage).
func BenchmarkBuildFiles(b *testing.B) {
	for _, n := range []int{250, 500, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			spec := scaleSpec(b, n)
			for b.Loop() {
				res, err := Build(context.Background(), spec)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := image.FromImage("build", res.Image); err != nil {
					b.Fatal(err)
				}
				// What the push asks of the image, once per layer.
				m, err := res.Image.Manifest()
				if err != nil {
					b.Fatal(err)
				}
				for _, l := range m.Layers {
					if _, err := res.Image.LayerByDigest(l.Digest); err != nil {
						b.Fatal(err)
					}
					if _, err := res.Image.Digest(); err != nil {
						b.Fatal(err)
					}
					if _, err := res.Image.RawConfigFile(); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(n), "µs/file")
		})
	}
}

// TestBuildCancelledPromptly: a cancel during a build of many files ends it
// within the second.
func TestBuildCancelledPromptly(t *testing.T) {
	spec := scaleSpec(t, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	start := time.Now()
	_, err := Build(ctx, spec)
	if err == nil {
		t.Skip("the build finished before the cancel")
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("the cancelled build took %v", took)
	}
}

// BenchmarkPushLookups is the per-layer lookups alone, on a built image.
func BenchmarkPushLookups(b *testing.B) {
	for _, n := range []int{250, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			res, err := Build(context.Background(), scaleSpec(b, n))
			if err != nil {
				b.Fatal(err)
			}
			m, err := res.Image.Manifest()
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				for _, l := range m.Layers {
					if _, err := res.Image.LayerByDigest(l.Digest); err != nil {
						b.Fatal(err)
					}
					if _, err := res.Image.Digest(); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/layer")
		})
	}
}

// TestFrozenImageIsTheBuiltImage: freezing changes no byte.
func TestFrozenImageIsTheBuiltImage(t *testing.T) {
	spec := scaleSpec(t, 3)
	res, err := Build(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(res.Image); err != nil {
		t.Errorf("the frozen image does not validate: %v", err)
	}
}

// hugeConfigImage names a config of 100 MiB in its manifest.
type hugeConfigImage struct{ v1.Image }

func (h hugeConfigImage) Manifest() (*v1.Manifest, error) {
	m, err := h.Image.Manifest()
	if err != nil {
		return nil, err
	}
	m = m.DeepCopy()
	m.Config.Size = 100 << 20
	return m, nil
}

func (h hugeConfigImage) ConfigFile() (*v1.ConfigFile, error) {
	panic("the config was read")
}

// TestBaseConfigBoundedBeforeItIsRead: a base image naming a 100 MiB config
// is refused by its manifest.
func TestBaseConfigBoundedBeforeItIsRead(t *testing.T) {
	base, err := random.Image(100, 1)
	if err != nil {
		t.Fatal(err)
	}
	spec := scaleSpec(t, 1)
	spec.Base = Base{Image: hugeConfigImage{base}}
	_, err = Build(context.Background(), spec)
	if err == nil || !strings.Contains(err.Error(), "more than the 8388608 accepted") {
		t.Errorf("Build = %v, want the config refused by its size", err)
	}
}
