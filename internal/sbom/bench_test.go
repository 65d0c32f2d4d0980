package sbom

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
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
// test Go program. It reports throughput, the peak heap in use while
// scanning and what the scan added to the heap. The layers are
// uncompressed tar: this is the SBOM's cost when it reads the stream the
// push already has uncompressed (a built image). BenchmarkSBOMGzipLayers
// adds gzip decompression.
//
//	SBOM_BENCH_MIB=1024 go test ./internal/sbom -run '^$' -bench BenchmarkSBOM -benchmem -benchtime 3x
func BenchmarkSBOMLargeImage(b *testing.B) {
	benchSBOM(b, randomBlock(256), func(li int, perLayer int64, block []byte, extra map[string][]byte) v1.Layer {
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return genLayer(li, perLayer, benchFileSize, block, extra), nil
		})
		if err != nil {
			b.Fatal(err)
		}
		return l
	})
}

// BenchmarkSBOMGzipLayers is BenchmarkSBOMLargeImage with gzip layers,
// as a pulled source image has them: the SBOM pays for decompressing.
// The file data is made compressible to about 47% (8 byte values at
// random, literal-heavy: near the slowest case for inflate); the
// compressed layers are built once, in memory, before the timer starts.
func BenchmarkSBOMGzipLayers(b *testing.B) {
	benchSBOM(b, randomBlock(8), func(li int, perLayer int64, block []byte, extra map[string][]byte) v1.Layer {
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		if err != nil {
			b.Fatal(err)
		}
		rc := genLayer(li, perLayer, benchFileSize, block, extra)
		if _, err := io.Copy(zw, rc); err != nil {
			b.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			b.Fatal(err)
		}
		z := buf.Bytes()
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(z)), nil
		})
		if err != nil {
			b.Fatal(err)
		}
		return l
	})
}

const (
	benchLayers   = 4
	benchFileSize = 4 << 20
)

// randomBlock is 1 MiB of bytes drawn from the first n byte values.
func randomBlock(n int) []byte {
	block := make([]byte, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range block {
		block[i] = byte(r.IntN(n))
	}
	return block
}

func benchSBOM(b *testing.B, block []byte, mkLayer func(li int, perLayer int64, block []byte, extra map[string][]byte) v1.Layer) {
	mib := 256
	if s := os.Getenv("SBOM_BENCH_MIB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 4*benchLayers {
			b.Fatalf("SBOM_BENCH_MIB=%q: want a number of MiB, %d or more", s, 4*benchLayers)
		}
		mib = n
	}
	goProg, err := os.ReadFile(testGoProgram(b))
	if err != nil {
		b.Fatal(err)
	}
	status := readTestdata(b, "dpkg-status")
	perLayer := int64(mib) << 20 / benchLayers

	// tarball.LayerFromOpener computes the layers' digests (gzip of each)
	// when it is called, before the timer starts: that is the push's work.
	var ls []v1.Layer
	for li := 0; li < benchLayers; li++ {
		extra := map[string][]byte{}
		if li == 0 {
			extra["var/lib/dpkg/status"] = status
		}
		if li == benchLayers-1 {
			extra["usr/local/bin/app"] = goProg
		}
		ls = append(ls, mkLayer(li, perLayer, block, extra))
	}
	img := imageOf(b, ls...)
	if _, err := img.Digest(); err != nil {
		b.Fatal(err)
	}

	b.SetBytes(int64(mib) << 20)
	b.ResetTimer()
	var peak, added float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		var top atomic.Uint64
		top.Store(base.HeapInuse)
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
					if m.HeapInuse > top.Load() {
						top.Store(m.HeapInuse)
					}
				}
			}
		}()
		b.StartTimer()
		start := time.Now()
		out, _, err := Generate(context.Background(), img, amd64, opts)
		elapsed := time.Since(start)
		b.StopTimer()
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
		p := float64(top.Load()) / (1 << 20)
		a := p - float64(base.HeapInuse)/(1<<20)
		peak, added = max(peak, p), max(added, a)
		if i == 0 {
			b.Logf("%d MiB of layers: %v, %.0f MiB/s, peak heap in use %.1f MiB, %.1f MiB above the heap before the scan, document %d bytes",
				mib, elapsed.Round(time.Millisecond), float64(mib)/elapsed.Seconds(), p, a, len(out))
		}
		b.StartTimer()
	}
	b.ReportMetric(peak, "peak-heap-MiB")
	b.ReportMetric(added, "added-heap-MiB")
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
