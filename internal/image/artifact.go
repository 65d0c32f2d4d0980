// Package image moves images into the target repository: it opens a source
// (an OCI layout, a docker save tarball, the runner's Docker engine, another
// registry), works out what each requested tag needs, and pushes blobs, then
// the manifest by digest, then the tags, through go-containerregistry.
//
// It is silent unless the caller passes a log function, and it never moves a
// tag that the repository makes immutable.
package image

import (
	"fmt"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Artifact is an image or an image index ready to push: its manifest digest is
// known before anything is written.
type Artifact struct {
	// Source says where it came from, for logs and the summary
	// ("oci:/github/workspace/out", "docker://alpine:3.20", ...).
	Source string

	// Exactly one of Image and Index is set.
	Image v1.Image
	Index v1.ImageIndex

	Digest    v1.Hash
	MediaType types.MediaType
	// Platforms are "os/arch[/variant]", sorted; empty when the image's
	// config does not say.
	Platforms []string
	// Size is the bytes of every distinct blob and manifest it is made of.
	Size int64
	// Layers is the number of distinct layers.
	Layers int
}

// Taggable returns what go-containerregistry pushes.
func (a *Artifact) Taggable() remote.Taggable {
	if a.Index != nil {
		return a.Index
	}
	return a.Image
}

// newImageArtifact describes img.
func newImageArtifact(source string, img v1.Image) (*Artifact, error) {
	a := &Artifact{Source: source, Image: img}
	if err := a.describe(); err != nil {
		return nil, err
	}
	return a, nil
}

// newIndexArtifact describes idx.
func newIndexArtifact(source string, idx v1.ImageIndex) (*Artifact, error) {
	a := &Artifact{Source: source, Index: idx}
	if err := a.describe(); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *Artifact) describe() error {
	var d partial.Describable = a.Image
	if a.Index != nil {
		d = a.Index
	}
	var err error
	if a.Digest, err = d.Digest(); err != nil {
		return fmt.Errorf("computing the manifest digest: %w", err)
	}
	if a.MediaType, err = d.MediaType(); err != nil {
		return fmt.Errorf("reading the manifest media type: %w", err)
	}
	s := &sizer{seen: map[v1.Hash]bool{}, platforms: map[string]bool{}}
	if a.Index != nil {
		err = s.index(a.Index, 0)
	} else {
		err = s.image(a.Image, nil)
	}
	if err != nil {
		return err
	}
	a.Size, a.Layers = s.size, s.layers
	for p := range s.platforms {
		a.Platforms = append(a.Platforms, p)
	}
	sort.Strings(a.Platforms)
	return nil
}

// sizer walks an artifact once, adding up distinct blobs.
type sizer struct {
	seen      map[v1.Hash]bool
	platforms map[string]bool
	size      int64
	layers    int
}

func (s *sizer) add(h v1.Hash, n int64) bool {
	if s.seen[h] {
		return false
	}
	s.seen[h] = true
	s.size += n
	return true
}

// index adds up idx, depth indexes deep. An index seen before is not walked
// again, so an index that lists itself (possible where digests are not
// verified) ends; the depth bound ends any other endless chain.
func (s *sizer) index(idx v1.ImageIndex, depth int) error {
	if depth > maxGraphDepth {
		return fmt.Errorf("indexes are nested more than %d deep: does an index list itself?", maxGraphDepth)
	}
	raw, err := idx.RawManifest()
	if err != nil {
		return fmt.Errorf("reading the index manifest: %w", err)
	}
	h, err := idx.Digest()
	if err != nil {
		return err
	}
	if !s.add(h, int64(len(raw))) {
		return nil
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return fmt.Errorf("parsing the index manifest: %w", err)
	}
	for _, d := range im.Manifests {
		if (d.MediaType.IsIndex() || d.MediaType.IsImage()) && d.Size > MaxManifestBytes {
			return fmt.Errorf("manifest %s of index %s is %d bytes, more than ECR's manifest limit of %d", d.Digest, h, d.Size, MaxManifestBytes)
		}
		switch {
		case d.MediaType.IsIndex():
			if s.seen[d.Digest] {
				continue
			}
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return fmt.Errorf("reading index %s: %w", d.Digest, err)
			}
			if err := s.index(child, depth+1); err != nil {
				return err
			}
		case d.MediaType.IsImage():
			child, err := idx.Image(d.Digest)
			if err != nil {
				return fmt.Errorf("reading image %s: %w", d.Digest, err)
			}
			if err := s.image(child, d.Platform); err != nil {
				return err
			}
		default:
			// Artefacts (signatures, SBOMs) are pushed as blobs by
			// go-containerregistry; count their manifest only.
			s.add(d.Digest, d.Size)
		}
	}
	return nil
}

func (s *sizer) image(img v1.Image, p *v1.Platform) error {
	raw, err := img.RawManifest()
	if err != nil {
		return fmt.Errorf("reading the image manifest: %w", err)
	}
	h, err := img.Digest()
	if err != nil {
		return err
	}
	s.add(h, int64(len(raw)))
	m, err := img.Manifest()
	if err != nil {
		return fmt.Errorf("parsing the image manifest: %w", err)
	}
	if m.Config.Size > MaxConfigBytes {
		return fmt.Errorf("the config %s of image %s is %d bytes, more than the %d accepted", m.Config.Digest, h, m.Config.Size, MaxConfigBytes)
	}
	s.add(m.Config.Digest, m.Config.Size)
	for _, l := range m.Layers {
		if s.add(l.Digest, l.Size) {
			s.layers++
		}
	}
	if p == nil {
		cf, err := img.ConfigFile()
		if err != nil {
			return fmt.Errorf("reading the image config: %w", err)
		}
		p = cf.Platform()
	}
	if p != nil && p.OS != "" && p.OS != "unknown" {
		s.platforms[platformString(p)] = true
	}
	return nil
}

func platformString(p *v1.Platform) string {
	parts := []string{p.OS, p.Architecture}
	if p.Variant != "" {
		parts = append(parts, p.Variant)
	}
	return strings.Join(parts, "/")
}

// FromImage describes an image built in memory (or obtained elsewhere) so it
// can be planned and pushed like an opened source.
func FromImage(source string, img v1.Image) (*Artifact, error) {
	return newImageArtifact(source, img)
}

// FromIndex describes an index built in memory.
func FromIndex(source string, idx v1.ImageIndex) (*Artifact, error) {
	return newIndexArtifact(source, idx)
}
