package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/org/ecr-action/internal/safefile"
)

// Bounds on what is read whole from a source, checked against the size a
// descriptor or the file system gives before the read starts.
const (
	// MaxManifestBytes is ECR's limit for a manifest or an index
	// (PutImage): a larger one could never be pushed.
	MaxManifestBytes = 4 << 20
	// MaxConfigBytes bounds an image config, which is read and parsed
	// whole; real ones are a few KiB.
	MaxConfigBytes = 8 << 20
	// maxGraphDepth bounds the nesting of indexes (an index of indexes is
	// 2); real images have at most 2.
	maxGraphDepth = 8
	// maxGraphNodes bounds the distinct manifests and blobs of one image.
	maxGraphNodes = 100_000
)

var sha256Hex = regexp.MustCompile(`^[a-f0-9]{64}$`)

// layoutCheck verifies, before anything is pushed, the part of an OCI
// layout that will be: every manifest, config and layer the picked
// descriptor reaches is a regular file inside the allowed roots, of the size
// its descriptor gives and with the digest it gives (hashed while it is read,
// in a stream), and the graph of indexes is finite.
type layoutCheck struct {
	ctx    context.Context
	dir    string
	roots  []string
	source string
	seen   map[v1.Hash]bool
}

// verify checks d, reached as what (e.g. "layer 2 of image sha256:…").
func (c *layoutCheck) verify(d v1.Descriptor, what string, depth int) error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	if c.seen[d.Digest] {
		return nil
	}
	if depth > maxGraphDepth {
		return fmt.Errorf("%s is nested %d indexes deep, more than %d: does an index list itself or its parent?", blob(what, d), depth, maxGraphDepth)
	}
	if len(c.seen) >= maxGraphNodes {
		return fmt.Errorf("the image is made of more than %d manifests and blobs", maxGraphNodes)
	}
	if d.Digest.Algorithm != "sha256" || !sha256Hex.MatchString(d.Digest.Hex) {
		return fmt.Errorf("%s has the digest %q; want sha256: and 64 lower-case hex digits", what, d.Digest.String())
	}
	if d.Size < 0 {
		return fmt.Errorf("%s has the negative size %d", blob(what, d), d.Size)
	}
	isManifest := d.MediaType.IsIndex() || d.MediaType.IsImage()
	if isManifest && d.Size > MaxManifestBytes {
		return fmt.Errorf("%s is %d bytes, more than ECR's manifest limit of %d", blob(what, d), d.Size, MaxManifestBytes)
	}
	// Layers that live elsewhere (foreign, non-distributable) are not in
	// the layout and are not pushed.
	if len(d.URLs) > 0 && (d.MediaType == types.DockerForeignLayer || d.MediaType == types.OCIRestrictedLayer || d.MediaType == types.OCIUncompressedRestrictedLayer) {
		return nil
	}
	path := filepath.Join(c.dir, "blobs", "sha256", d.Digest.Hex)
	f, fi, err := safefile.Open(path, c.roots)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s is missing from the layout: no file blobs/sha256/%s", blob(what, d), d.Digest.Hex)
		}
		return fmt.Errorf("%s: %v", blob(what, d), err)
	}
	defer f.Close()
	if fi.Size() != d.Size {
		return fmt.Errorf("%s is %d bytes in the layout, but its descriptor says %d: the layout is corrupt", blob(what, d), fi.Size(), d.Size)
	}
	var content *sliceWriter
	var w io.Writer = io.Discard
	if isManifest {
		content = &sliceWriter{b: make([]byte, 0, d.Size)}
		w = content
	}
	if err := c.hash(f, d, what, w); err != nil {
		return err
	}
	c.seen[d.Digest] = true
	if !isManifest {
		return nil
	}
	if d.MediaType.IsIndex() {
		im, err := v1.ParseIndexManifest(bytes.NewReader(content.b))
		if err != nil {
			return fmt.Errorf("%s is not an image index: %v", blob(what, d), err)
		}
		for i, child := range im.Manifests {
			if err := c.verify(child, fmt.Sprintf("manifest %d of index %s", i+1, d.Digest), depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	m, err := v1.ParseManifest(bytes.NewReader(content.b))
	if err != nil {
		return fmt.Errorf("%s is not an image manifest: %v", blob(what, d), err)
	}
	if m.Config.Size > MaxConfigBytes {
		return fmt.Errorf("the config %s of image %s is %d bytes, more than the %d accepted", m.Config.Digest, d.Digest, m.Config.Size, MaxConfigBytes)
	}
	if err := c.verify(m.Config, "the config of image "+d.Digest.String(), depth+1); err != nil {
		return err
	}
	for i, l := range m.Layers {
		if err := c.verify(l, fmt.Sprintf("layer %d of image %s", i+1, d.Digest), depth+1); err != nil {
			return err
		}
	}
	return nil
}

// hash reads f whole (d.Size bytes, no more), writing it to w, and compares
// its digest with d's.
func (c *layoutCheck) hash(f *os.File, d v1.Descriptor, what string, w io.Writer) error {
	h := sha256.New()
	bp := copyBuf.Get().(*[]byte)
	defer copyBuf.Put(bp)
	n, err := io.CopyBuffer(io.MultiWriter(h, w), &ctxReader{ctx: c.ctx, r: io.LimitReader(f, d.Size+1)}, *bp)
	if err != nil {
		if c.ctx.Err() != nil {
			return c.ctx.Err()
		}
		return fmt.Errorf("%s: reading blobs/sha256/%s: %v", blob(what, d), d.Digest.Hex, err)
	}
	if n != d.Size {
		return fmt.Errorf("%s: %d bytes were read from blobs/sha256/%s, but its descriptor says %d (the file changed while it was read)", blob(what, d), n, d.Digest.Hex, d.Size)
	}
	if got := fmt.Sprintf("%x", h.Sum(nil)); got != d.Digest.Hex {
		return fmt.Errorf("%s: the content of blobs/sha256/%s hashes to sha256:%s, not to its name: the layout is corrupt", blob(what, d), d.Digest.Hex, got)
	}
	return nil
}

type sliceWriter struct{ b []byte }

func (s *sliceWriter) Write(p []byte) (int, error) { s.b = append(s.b, p...); return len(p), nil }

// blob names a blob for an error: what it is, then its digest.
func blob(what string, d v1.Descriptor) string {
	return what + " (" + d.Digest.String() + ")"
}
