package image

import (
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
)

// refNameAnnotation names an image in an OCI layout's index.json.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// OpenOCI opens an image or index in the OCI image layout at dir. ref picks
// the manifest whose org.opencontainers.image.ref.name annotation equals it;
// without ref the layout must hold exactly one manifest.
func OpenOCI(dir, ref string) (*Artifact, error) {
	source := "oci:" + dir
	if ref != "" {
		source += ":" + ref
	}
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("source %s: %s is not an OCI image layout (no index.json): write one with `docker buildx build --output type=oci,dest=out.tar` and untar it, or `crane pull --format=oci`", source, dir)
		}
		return nil, fmt.Errorf("source %s: %w", source, err)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("source %s: reading the OCI layout: %w", source, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("source %s: reading index.json: %w", source, err)
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
		return nil, fmt.Errorf("source %s: no manifest in %s is named %q (names found: %s)", source, dir, ref, listOrNone(names))
	case len(picked) == 0:
		return nil, fmt.Errorf("source %s: the OCI layout at %s holds no manifest", source, dir)
	case len(picked) > 1:
		return nil, fmt.Errorf("source %s: the OCI layout at %s holds %d manifests; name one with oci:%s:<name> (names found: %s)", source, dir, len(picked), dir, listOrNone(names))
	}
	d := picked[0]
	switch {
	case d.MediaType.IsIndex():
		child, err := idx.ImageIndex(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("source %s: reading index %s: %w", source, d.Digest, err)
		}
		return newIndexArtifact(source, child)
	case d.MediaType.IsImage():
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("source %s: reading image %s: %w", source, d.Digest, err)
		}
		return newImageArtifact(source, img)
	default:
		return nil, fmt.Errorf("source %s: manifest %s has media type %q, which is not an image or an index", source, d.Digest, d.MediaType)
	}
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
