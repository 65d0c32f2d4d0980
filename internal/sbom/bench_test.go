package sbom

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// BenchmarkSBOMLargeImage generates the SBOM of a synthetic image whose
// layers are generated on the fly (never stored): SBOM_BENCH_MIB MiB of
// layer data (default 256; set 1024 for the 1 GiB push) in 4
// layers of 4 MiB files, half of the bytes in ELF files (which the Go
// build information scan reads through), plus a dpkg status file and the
// test Go program. It reports throughput and the peak heap in use while
// scanning. Layers are uncompressed tar: decompressing gzip layers is the
// push's cost when the SBOM reads the stream the push already decompresses.
//
//	go test ./internal/sbom -run '^$' -bench BenchmarkSBOMLargeImage -benchmem
func BenchmarkSBOMLargeImage(b *testing.B) {
	mib := 256
	if s := os.Getenv("SBOM_BENCH_MIB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 4 {
			b.Fatalf("SBOM_BENCH_MIB=%q: want a number of MiB, 4 or more", s)
		}
		mib = n
	}
	goProg, err := os.ReadFile(testGoProgram(b))
	if err != nil {
		b.Fatal(err)
	}
	status := readTestdata(b, "dpkg-status")
	const layers, fileSize = 4, 4 << 20
	perLayer := int64(mib) << 20 / layers

	block := make([]byte, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range block {
		block[i] = byte(r.Uint32())
	}
	var ls []v1.Layer
	for li := 0; li < layers; li++ {
		extra := map[string][]byte{}
		if li == 0 {
			extra["var/lib/dpkg/status"] = status
		}
		if li == layers-1 {
			extra["usr/local/bin/app"] = goProg
		}
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return genLayer(li, perLayer, fileSize, block, extra), nil
		})
		if err != nil {
			b.Fatal(err)
		}
		ls = append(ls, l)
	}
	img := imageOf(b, ls...)
	// tarball.LayerFromOpener computes the layers' digests (gzip of each)
	// when it is called, before the timer starts: that is the push's work.
	t0 := time.Now()
	if _, err := img.Digest(); err != nil {
		b.Fatal(err)
	}
	b.Logf("computing the layer digests (not timed): %v", time.Since(t0).Round(time.Millisecond))

	b.SetBytes(int64(mib) << 20)
	b.ResetTimer()
	var peak atomic.Uint64
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(5 * time.Millisecond)
			defer t.Stop()
			var m runtime.MemStats
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					runtime.ReadMemStats(&m)
					for {
						old := peak.Load()
						if m.HeapInuse <= old || peak.CompareAndSwap(old, m.HeapInuse) {
							break
						}
					}
				}
			}
		}()
		start := time.Now()
		out, err := Generate(context.Background(), img, amd64, opts)
		elapsed := time.Since(start)
		close(stop)
		wg.Wait()
		if err != nil {
			b.Fatal(err)
		}
		// The Go program and the dpkg packages are the last entries of
		// their layers: finding them shows every layer was read through.
		for _, want := range []string{"pkg:golang/github.com/google/go-cmp@v0.7.0", "pkg:deb/debian/zlib1g@"} {
			if !strings.Contains(string(out), want) {
				b.Fatalf("document lacks %s", want)
			}
		}
		if i == 0 {
			b.Logf("%d MiB of layers: %v, %.0f MiB/s, peak heap in use %.1f MiB (%.1f MiB before), document %d bytes",
				mib, elapsed.Round(time.Millisecond), float64(mib)/elapsed.Seconds(), float64(peak.Load())/(1<<20), float64(base.HeapInuse)/(1<<20), len(out))
		}
	}
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}

// genLayer streams a tar layer of about size bytes: fileSize files,
// alternately ELF (not Go) and plain data, plus the extra files.
func genLayer(li int, size, fileSize int64, block []byte, extra map[string][]byte) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		write := func(name string, n int64, elf bool) error {
			if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o755, Size: n}); err != nil {
				return err
			}
			left := n
			if elf {
				hdr := []byte("\x7fELF\x02\x01\x01")
				if _, err := tw.Write(hdr); err != nil {
					return err
				}
				left -= int64(len(hdr))
			}
			for left > 0 {
				c := min(left, int64(len(block)))
				if _, err := tw.Write(block[:c]); err != nil {
					return err
				}
				left -= c
			}
			return nil
		}
		var err error
		for i := int64(0); err == nil && (i+1)*fileSize <= size; i++ {
			err = write(fmt.Sprintf("data/l%d/f%05d", li, i), fileSize, i%2 == 0)
		}
		for name, body := range extra {
			if err != nil {
				break
			}
			if err = tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(body))}); err == nil {
				_, err = tw.Write(body)
			}
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr
}
