package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/org/ecr-action/internal/safefile"
)

// refNameAnnotation names an image in an OCI layout's index.json.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// OpenOCI opens an image or index in the OCI image layout at dir. ref picks
// the manifest whose org.opencontainers.image.ref.name annotation equals it;
// without ref the layout must hold exactly one manifest. Every file read
// must lie inside dir; OpenOCIIn allows other directories.
func OpenOCI(dir, ref string) (*Artifact, error) {
	return OpenOCIIn(context.Background(), dir, ref, []string{dir})
}

// OpenOCIIn is OpenOCI where every path read (index.json, oci-layout, the
// blobs directories, each blob), symbolic links resolved, must lie inside one
// of roots (the workspace and RUNNER_TEMP). Before go-containerregistry reads
// anything, index.json is checked (a regular file of at most
// MaxManifestBytes) and the picked image is verified whole: every blob it
// reaches is present, a regular file, of its descriptor's size and digest,
// and no index is nested more than 8 deep. A bad layout thus fails here,
// before the first write to the registry. ctx ends the verification.
func OpenOCIIn(ctx context.Context, dir, ref string, roots []string) (*Artifact, error) {
	source := "oci:" + dir
	if ref != "" {
		source += ":" + ref
	}
	fail := func(format string, args ...any) (*Artifact, error) {
		return nil, fmt.Errorf("source %s: "+format, append([]any{source}, args...)...)
	}
	if _, err := os.Lstat(filepath.Join(dir, "index.json")); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fail("%s is not an OCI image layout (no index.json): write one with `docker buildx build --output type=oci,dest=out.tar` and untar it, or `crane pull --format=oci`", dir)
		}
		return fail("%w", err)
	}
	if _, err := safefile.Dir(dir, roots); err != nil {
		return fail("the layout directory %v", err)
	}
	raw, err := safefile.ReadFile(filepath.Join(dir, "index.json"), roots, MaxManifestBytes)
	if err != nil {
		return fail("the layout's index.json %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "oci-layout")); err == nil {
		if _, err := safefile.ReadFile(filepath.Join(dir, "oci-layout"), roots, 64<<10); err != nil {
			return fail("the layout's oci-layout file %v", err)
		}
	}
	for _, sub := range []string{"blobs", filepath.Join("blobs", "sha256")} {
		if _, err := os.Lstat(filepath.Join(dir, sub)); err == nil {
			if _, err := safefile.Dir(filepath.Join(dir, sub), roots); err != nil {
				return fail("the layout's %s directory %v", sub, err)
			}
		}
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return fail("reading index.json: %w", err)
	}
	var picked []v1.Descriptor
	var names []string
	for _, d := range im.Manifests {
		n := d.Annotations[refNameAnnotation]
		if n != "" {
			names = append(names, n)
		}
		if ref == "" || n == ref {
			picked = append(picked, d)
		}
	}
	switch {
	case len(picked) == 0 && ref != "":
		return fail("no manifest in %s is named %q (names found: %s)", dir, ref, listOrNone(names))
	case len(picked) == 0:
		return fail("the OCI layout at %s holds no manifest", dir)
	case len(picked) > 1:
		return fail("the OCI layout at %s holds %d manifests; name one with oci:%s:<name> (names found: %s)", dir, len(picked), dir, listOrNone(names))
	}
	d := picked[0]
	if !d.MediaType.IsIndex() && !d.MediaType.IsImage() {
		return fail("manifest %s has media type %q, which is not an image or an index", d.Digest, d.MediaType)
	}
	check := &layoutCheck{ctx: ctx, dir: dir, roots: roots, source: source, seen: map[v1.Hash]bool{}}
	if err := check.verify(d, "the manifest named in index.json", 0); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return fail("%v", err)
	}

	// Verified: go-containerregistry reads the same files again, now
	// known to be bounded and intact.
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return fail("reading the OCI layout: %w", err)
	}
	if d.MediaType.IsIndex() {
		child, err := idx.ImageIndex(d.Digest)
		if err != nil {
			return fail("reading index %s: %w", d.Digest, err)
		}
		return newIndexArtifact(source, child)
	}
	img, err := idx.Image(d.Digest)
	if err != nil {
		return fail("reading image %s: %w", d.Digest, err)
	}
	return newImageArtifact(source, img)
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// OpenRemote opens ref in a registry through puller (which carries the
// credentials). Layers are read lazily while pushing; when the source is in
// the target's registry they are mounted instead of copied.
func OpenRemote(ctx context.Context, puller *remote.Puller, ref string) (*Artifact, error) {
	source := "docker://" + ref
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", source, err)
	}
	desc, err := puller.Get(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", source, err)
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", source, err)
		}
		return newIndexArtifact(source, idx)
	}
	img, err := desc.Image()
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", source, err)
	}
	return newImageArtifact(source, img)
}

// Saver exports an image from a Docker engine in `docker save` format.
type Saver interface {
	Save(ctx context.Context, ref string, w io.Writer) (int64, error)
}

// OpenDaemon exports ref from the Docker engine into a file in tmpDir and
// opens it as a docker-archive source.
func OpenDaemon(ctx context.Context, engine Saver, ref, tmpDir string, opts ArchiveOptions) (*Artifact, error) {
	source := "docker-daemon:" + ref
	f, err := os.CreateTemp(tmpDir, "docker-save-*.tar")
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", source, err)
	}
	defer f.Close()
	if _, err := engine.Save(ctx, ref, f); err != nil {
		return nil, fmt.Errorf("source %s: %w", source, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("source %s: writing the exported image: %w", source, err)
	}
	return openArchive(ctx, source, f.Name(), opts)
}
