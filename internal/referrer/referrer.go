// Package referrer packs a document (an SBOM, a provenance statement) as an
// OCI 1.1 artifact whose subject is an image, so a registry with the
// referrers API lists it under the image's digest.
//
// The artifact is an image manifest with artifactType set, the OCI empty
// descriptor as its config and the document as its one layer
// (image-spec v1.1, "Guidelines for Artifact Usage"). New returns it as a
// go-containerregistry v1.Image: remote.Write(repo.Digest(d.String()),
// artifact) uploads the config and the document and puts the manifest.
// Pushing is the caller's; this package does no I/O.
package referrer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Artifact types of the documents this action attaches.
const (
	SPDXJSON   = "application/spdx+json"
	InTotoJSON = "application/vnd.in-toto+json"
)

// emptyJSON is the OCI empty descriptor's content, "{}"; emptyDigest its
// sha256.
const (
	emptyJSON   = "{}"
	emptyDigest = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
)

// EmptyDescriptor returns the OCI empty descriptor (image-spec v1.1): the
// config of an artifact that has none, its content "{}" inline.
func EmptyDescriptor() v1.Descriptor {
	return v1.Descriptor{
		MediaType: types.OCIEmptyJSON,
		Size:      int64(len(emptyJSON)),
		Digest:    v1.Hash{Algorithm: "sha256", Hex: emptyDigest},
		Data:      []byte(emptyJSON),
	}
}

// MaxDocumentSize bounds a document: registries limit what they accept
// (ECR's layer part limits are far above it); an SBOM of a large image is
// a few MiB.
const MaxDocumentSize = 64 << 20

// Options add to the artifact.
type Options struct {
	// Title names the document's file ("sbom.spdx.json"), as the layer's
	// org.opencontainers.image.title annotation, which oras uses when it
	// pulls. Optional.
	Title string
}

// manifest is written by hand rather than as a v1.Manifest so that the
// field order and the config's data field are under this package's
// control.
type manifest struct {
	SchemaVersion int64             `json:"schemaVersion"`
	MediaType     types.MediaType   `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        v1.Descriptor     `json:"config"`
	Layers        []v1.Descriptor   `json:"layers"`
	Subject       *v1.Descriptor    `json:"subject"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// New packs doc as an artifact of artifactType whose subject is the image
// (or index) described by subject. The same inputs give the same manifest
// bytes, so the same digest.
func New(subject v1.Descriptor, artifactType string, doc []byte, opts Options) (v1.Image, error) {
	if subject.Digest.Algorithm != "sha256" || len(subject.Digest.Hex) != 64 {
		return nil, fmt.Errorf("subject digest %q is not a sha256 digest", subject.Digest)
	}
	if subject.Size <= 0 || subject.MediaType == "" {
		return nil, errors.New("subject descriptor needs the manifest's media type and size")
	}
	if !subject.MediaType.IsImage() && !subject.MediaType.IsIndex() {
		return nil, fmt.Errorf("subject media type %q is not an image manifest or index", subject.MediaType)
	}
	if artifactType == "" {
		return nil, errors.New("artifact type is empty")
	}
	if len(doc) == 0 {
		return nil, errors.New("document is empty")
	}
	if len(doc) > MaxDocumentSize {
		return nil, fmt.Errorf("document is %d bytes, over the %d-byte limit", len(doc), MaxDocumentSize)
	}
	layer := static.NewLayer(doc, types.MediaType(artifactType))
	ld, err := partial.Descriptor(layer)
	if err != nil {
		return nil, err
	}
	ld.Platform, ld.URLs, ld.ArtifactType, ld.Data = nil, nil, "", nil
	if opts.Title != "" {
		ld.Annotations = map[string]string{"org.opencontainers.image.title": opts.Title}
	}
	sub := v1.Descriptor{MediaType: subject.MediaType, Size: subject.Size, Digest: subject.Digest}
	m := manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  artifactType,
		Config:        EmptyDescriptor(),
		Layers:        []v1.Descriptor{*ld},
		Subject:       &sub,
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return partial.CompressedToImage(&artifact{raw: raw, layer: layer, digest: ld.Digest, artifactType: artifactType})
}

// artifact is the partial.CompressedImageCore behind New's image.
type artifact struct {
	raw          []byte
	layer        v1.Layer
	digest       v1.Hash
	artifactType string
}

func (a *artifact) RawConfigFile() ([]byte, error)      { return []byte(emptyJSON), nil }
func (a *artifact) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
func (a *artifact) RawManifest() ([]byte, error)        { return a.raw, nil }
func (a *artifact) ArtifactType() (string, error)       { return a.artifactType, nil }

func (a *artifact) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	switch h {
	case a.digest:
		return a.layer, nil
	case EmptyDescriptor().Digest:
		return static.NewLayer([]byte(emptyJSON), types.OCIEmptyJSON), nil
	}
	return nil, fmt.Errorf("artifact has no blob %s", h)
}

// Document reads back the document an artifact carries, bounded by
// MaxDocumentSize.
func Document(img v1.Image) ([]byte, error) {
	ls, err := img.Layers()
	if err != nil {
		return nil, err
	}
	if len(ls) != 1 {
		return nil, fmt.Errorf("artifact has %d layers, want 1", len(ls))
	}
	rc, err := ls[0].Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var b bytes.Buffer
	if _, err := io.Copy(&b, io.LimitReader(rc, MaxDocumentSize+1)); err != nil {
		return nil, err
	}
	if b.Len() > MaxDocumentSize {
		return nil, fmt.Errorf("document is over the %d-byte limit", MaxDocumentSize)
	}
	return b.Bytes(), nil
}
