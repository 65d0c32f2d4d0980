package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"runtime"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"golang.org/x/sync/errgroup"

	"github.com/org/ecr-action/internal/safefile"
	"github.com/org/ecr-action/internal/units"
)

// ArchiveOptions tune how a docker save tarball is prepared.
type ArchiveOptions struct {
	// TempDir receives the compressed layers; the caller removes it.
	TempDir string
	// Jobs is how many layers are compressed at once; 0 means GOMAXPROCS.
	Jobs int
	// Logf, when set, receives a line per compressed layer, from one
	// goroutine at a time.
	Logf func(format string, args ...any)
}

// OpenArchive opens a `docker save` tarball (both the classic layout and the
// OCI-layout one Docker 25+ writes). Its layers are uncompressed tar streams:
// each is gzip-compressed exactly once, layers in parallel, into
// opts.TempDir, and both digests come out of that single pass, so the push
// reads the compressed files as they are.
func OpenArchive(ctx context.Context, file string, opts ArchiveOptions) (*Artifact, error) {
	return openArchive(ctx, "docker-archive:"+file, file, opts)
}

// archiveManifest is one entry of a docker save tarball's manifest.json.
type archiveManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

func openArchive(ctx context.Context, source, file string, opts ArchiveOptions) (*Artifact, error) {
	fail := func(format string, args ...any) (*Artifact, error) {
		return nil, fmt.Errorf("source %s: "+format, append([]any{source}, args...)...)
	}
	// Checked to be a regular file before it is opened: a named pipe
	// would block open(2).
	f, _, err := safefile.Open(file, nil)
	if err != nil {
		return fail("%w", err)
	}
	// The layers read f through ReadAt while pushing: it stays open for the
	// life of the process, which ends after the push.
	img, err := archiveImageOf(ctx, f, opts)
	if err != nil {
		f.Close()
		return fail("%w", err)
	}
	return newImageArtifact(source, img)
}

// archiveImageOf reads a `docker save` tarball's one image: its manifest
// and config, then each layer, compressed in parallel.
func archiveImageOf(ctx context.Context, f *os.File, opts ArchiveOptions) (v1.Image, error) {
	entries, err := indexTar(f)
	if err != nil {
		return nil, fmt.Errorf("reading the tarball: %w (is it a `docker save` tarball?)", err)
	}
	raw, err := entries.read(f, "manifest.json")
	if err != nil {
		return nil, fmt.Errorf("%w: not a `docker save` tarball", err)
	}
	var ms []archiveManifest
	if err := json.Unmarshal(raw, &ms); err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	if len(ms) != 1 {
		var names []string
		for _, m := range ms {
			names = append(names, m.RepoTags...)
		}
		return nil, fmt.Errorf("the tarball holds %d images (%s); save one image per tarball", len(ms), listOrNone(names))
	}
	m := ms[0]
	configBytes, err := entries.read(f, m.Config)
	if err != nil {
		return nil, err
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(configBytes))
	if err != nil {
		return nil, fmt.Errorf("image config %s: %w", m.Config, err)
	}
	if len(cf.RootFS.DiffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("the image config lists %d layers but manifest.json %d", len(cf.RootFS.DiffIDs), len(m.Layers))
	}
	byName, err := archiveLayers(ctx, f, entries, m.Layers, cf.RootFS.DiffIDs, opts)
	if err != nil {
		return nil, err
	}

	core := &archiveImage{config: configBytes, layers: map[v1.Hash]*fileLayer{}}
	mf := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.DockerManifestSchema2,
		Config: v1.Descriptor{
			MediaType: types.DockerConfigJSON,
			Size:      int64(len(configBytes)),
			Digest:    v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sha256.Sum256(configBytes))},
		},
	}
	for _, name := range m.Layers {
		l := byName[name]
		core.layers[l.digest] = l
		mf.Layers = append(mf.Layers, v1.Descriptor{MediaType: types.DockerLayer, Size: l.size, Digest: l.digest})
	}
	if core.manifest, err = json.Marshal(mf); err != nil {
		return nil, err
	}
	return partial.CompressedToImage(core)
}

// archiveLayers prepares each distinct layer file of the tarball (names,
// with diffIDs from the image config), opts.Jobs at a time, and returns
// them by file name.
func archiveLayers(ctx context.Context, f *os.File, entries tarIndex, names []string, diffIDs []v1.Hash, opts ArchiveOptions) (map[string]*fileLayer, error) {
	// One job per distinct layer file.
	type job struct {
		name   string
		diffID v1.Hash
		index  int
		layer  *fileLayer
	}
	byName := map[string]*job{}
	var jobs []*job
	for i, name := range names {
		if j, ok := byName[name]; ok {
			if j.diffID != diffIDs[i] {
				return nil, fmt.Errorf("layer %s appears twice with different diff IDs", name)
			}
			continue
		}
		j := &job{name: name, diffID: diffIDs[i], index: len(jobs) + 1}
		byName[name] = j
		jobs = append(jobs, j)
	}
	limit := opts.Jobs
	if limit <= 0 {
		limit = runtime.GOMAXPROCS(0)
	}
	var logMu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	for _, j := range jobs {
		g.Go(func() error {
			sec, err := entries.section(f, j.name)
			if err != nil {
				return err
			}
			l, err := prepareLayer(gctx, sec, f, opts.TempDir)
			if err != nil {
				return fmt.Errorf("layer %s: %w", j.name, err)
			}
			if l.diffID != j.diffID {
				return fmt.Errorf("layer %s: its content hashes to %s but the image config says %s: the tarball is corrupt", j.name, l.diffID, j.diffID)
			}
			j.layer = l
			if opts.Logf != nil {
				verb := "compressed"
				if l.path == "" {
					verb = "already compressed"
				}
				logMu.Lock()
				opts.Logf("layer %d/%d %s: %s, %s", j.index, len(jobs), verb, units.Bytes(l.size), l.digest)
				logMu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	layers := map[string]*fileLayer{}
	for name, j := range byName {
		layers[name] = j.layer
	}
	return layers, nil
}

// tarEntry is where a regular file's content sits in the tarball.
type tarEntry struct {
	offset, size int64
	link         string // for symbolic and hard links: the target entry
}

type tarIndex map[string]tarEntry

// maxTarEntries bounds the index of a tarball's entries.
const maxTarEntries = 100_000

// indexTar reads the headers of the tarball in f once, seeking over the
// content, and records where each file's content is.
func indexTar(f *os.File) (tarIndex, error) {
	idx := tarIndex{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return idx, nil
		}
		if err != nil {
			return nil, err
		}
		if len(idx) >= maxTarEntries {
			return nil, fmt.Errorf("more than %d entries; a `docker save` tarball has a few per layer", maxTarEntries)
		}
		name := path.Clean(h.Name)
		switch h.Typeflag {
		case tar.TypeReg: // archive/tar reads the old TypeRegA as TypeReg
			// archive/tar reads whole 512-byte blocks and no further, so
			// the file position is where the content starts.
			off, err := f.Seek(0, io.SeekCurrent)
			if err != nil {
				return nil, err
			}
			idx[name] = tarEntry{offset: off, size: h.Size}
		case tar.TypeSymlink:
			idx[name] = tarEntry{link: path.Join(path.Dir(name), h.Linkname)}
		case tar.TypeLink:
			idx[name] = tarEntry{link: path.Clean(h.Linkname)}
		}
	}
}

// lookup follows links (docker save links repeated layers) to the content.
func (t tarIndex) lookup(name string) (tarEntry, error) {
	name = path.Clean(name)
	for range 16 {
		e, ok := t[name]
		if !ok {
			return tarEntry{}, fmt.Errorf("%s is missing from the tarball", name)
		}
		if e.link == "" {
			return e, nil
		}
		name = e.link
	}
	return tarEntry{}, fmt.Errorf("%s: too many links", name)
}

func (t tarIndex) section(f *os.File, name string) (*io.SectionReader, error) {
	e, err := t.lookup(name)
	if err != nil {
		return nil, err
	}
	return io.NewSectionReader(f, e.offset, e.size), nil
}

// maxSmallFile bounds manifest.json and the config, which are read whole.
const maxSmallFile = 8 << 20

func (t tarIndex) read(f *os.File, name string) ([]byte, error) {
	sec, err := t.section(f, name)
	if err != nil {
		return nil, err
	}
	if sec.Size() > maxSmallFile {
		return nil, fmt.Errorf("%s is %d bytes, larger than expected", name, sec.Size())
	}
	return io.ReadAll(sec)
}

// fileLayer is a compressed layer: a file of its own, or a section of the
// tarball when the tarball already held it compressed.
type fileLayer struct {
	path    string            // compressed file, or "" to read sec
	sec     *io.SectionReader // when path is ""
	archive *os.File
	digest  v1.Hash
	diffID  v1.Hash
	size    int64
}

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *fileLayer) Size() (int64, error)                { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return types.DockerLayer, nil }

// Compressed returns the file itself when there is one, so that the HTTP
// client can hand it to the kernel (sendfile) instead of copying it.
func (l *fileLayer) Compressed() (io.ReadCloser, error) {
	if l.path != "" {
		return os.Open(l.path)
	}
	return io.NopCloser(io.NewSectionReader(l.sec, 0, l.sec.Size())), nil
}

// copyBuf pools the buffers the compression jobs read through.
var copyBuf = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// prepareLayer compresses sec into a new file in dir, hashing the
// uncompressed stream (the diff ID) and the compressed one (the digest) in
// the same pass. A layer that is already gzip-compressed is hashed in place.
func prepareLayer(ctx context.Context, sec *io.SectionReader, archive *os.File, dir string) (*fileLayer, error) {
	var magic [4]byte
	n, _ := sec.ReadAt(magic[:], 0)
	switch {
	case n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		return hashCompressed(ctx, sec, archive)
	case n == 4 && magic == [4]byte{0x28, 0xb5, 0x2f, 0xfd}:
		return nil, errors.New("zstd-compressed layers are not supported; save the image with gzip or uncompressed layers")
	}
	out, err := os.CreateTemp(dir, "layer-*.tar.gz")
	if err != nil {
		return nil, err
	}
	defer out.Close()
	diffHash, digestHash := sha256.New(), sha256.New()
	counter := &countWriter{}
	bw := bufio.NewWriterSize(io.MultiWriter(out, digestHash, counter), 1<<20)
	zw, err := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	bp := copyBuf.Get().(*[]byte)
	defer copyBuf.Put(bp)
	src := io.TeeReader(&ctxReader{ctx: ctx, r: io.NewSectionReader(sec, 0, sec.Size())}, diffHash)
	if _, err := io.CopyBuffer(zw, src, *bp); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	if err := out.Close(); err != nil {
		return nil, err
	}
	return &fileLayer{
		path:   out.Name(),
		digest: sum(digestHash),
		diffID: sum(diffHash),
		size:   counter.n,
	}, nil
}

// hashCompressed computes the digest and diff ID of a layer the tarball
// already holds gzip-compressed.
func hashCompressed(ctx context.Context, sec *io.SectionReader, archive *os.File) (*fileLayer, error) {
	digestHash, diffHash := sha256.New(), sha256.New()
	zr, err := gzip.NewReader(io.TeeReader(&ctxReader{ctx: ctx, r: io.NewSectionReader(sec, 0, sec.Size())}, digestHash))
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(diffHash, zr); err != nil {
		return nil, err
	}
	// Hash any bytes after the gzip stream too: they are part of the blob.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return nil, err
	}
	return &fileLayer{sec: sec, archive: archive, digest: sum(digestHash), diffID: sum(diffHash), size: sec.Size()}, nil
}

func sum(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// ctxReader stops a long copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// archiveImage is the partial.CompressedImageCore of an opened tarball: the
// original config bytes (so the image ID is unchanged) and a Docker v2
// manifest naming the compressed layers.
type archiveImage struct {
	config   []byte
	manifest []byte
	layers   map[v1.Hash]*fileLayer
}

func (a *archiveImage) RawConfigFile() ([]byte, error) { return a.config, nil }
func (a *archiveImage) MediaType() (types.MediaType, error) {
	return types.DockerManifestSchema2, nil
}
func (a *archiveImage) RawManifest() ([]byte, error) { return a.manifest, nil }
func (a *archiveImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if l, ok := a.layers[h]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("blob %s is not a layer of this image", h)
}
