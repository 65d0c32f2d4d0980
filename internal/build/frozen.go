package build

import (
	"bytes"
	"crypto/sha256"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// frozenImage is a built image with its manifest and config serialized
// once. go-containerregistry's mutate images marshal the config (which
// grows by a history entry and a diff ID per layer) on every
// RawConfigFile, ConfigName, LayerByDigest and Digest call, and the push
// asks once per layer: with one layer per files line that made a build's
// cost quadratic in the lines (250 lines: 0.3 s of such calls, 1,000: 5 s,
// 10,000: minutes). Frozen, each call is a map lookup.
type frozenImage struct {
	rawConfig, rawManifest []byte
	configName, digest     v1.Hash
	manifest               *v1.Manifest
	config                 *v1.ConfigFile
	mediaType              types.MediaType
	layers                 []v1.Layer
	byDigest, byDiffID     map[v1.Hash]v1.Layer
}

// freeze serializes img once and indexes its layers.
func freeze(img v1.Image) (v1.Image, error) {
	f := &frozenImage{byDigest: map[v1.Hash]v1.Layer{}, byDiffID: map[v1.Hash]v1.Layer{}}
	var err error
	if f.rawConfig, err = img.RawConfigFile(); err != nil {
		return nil, err
	}
	if f.rawManifest, err = img.RawManifest(); err != nil {
		return nil, err
	}
	if f.mediaType, err = img.MediaType(); err != nil {
		return nil, err
	}
	if f.manifest, err = v1.ParseManifest(bytes.NewReader(f.rawManifest)); err != nil {
		return nil, err
	}
	if f.config, err = v1.ParseConfigFile(bytes.NewReader(f.rawConfig)); err != nil {
		return nil, err
	}
	f.configName = sha256Hash(f.rawConfig)
	f.digest = sha256Hash(f.rawManifest)
	if f.configName != f.manifest.Config.Digest {
		return nil, fmt.Errorf("the built config hashes to %s but the manifest names %s", f.configName, f.manifest.Config.Digest)
	}
	if f.layers, err = img.Layers(); err != nil {
		return nil, err
	}
	for _, l := range f.layers {
		d, err := l.Digest()
		if err != nil {
			return nil, err
		}
		id, err := l.DiffID()
		if err != nil {
			return nil, err
		}
		f.byDigest[d], f.byDiffID[id] = l, l
	}
	return f, nil
}

func sha256Hash(b []byte) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sha256.Sum256(b))}
}

func (f *frozenImage) Layers() ([]v1.Layer, error)         { return append([]v1.Layer(nil), f.layers...), nil }
func (f *frozenImage) MediaType() (types.MediaType, error) { return f.mediaType, nil }
func (f *frozenImage) Size() (int64, error)                { return int64(len(f.rawManifest)), nil }
func (f *frozenImage) ConfigName() (v1.Hash, error)        { return f.configName, nil }
func (f *frozenImage) ConfigFile() (*v1.ConfigFile, error) { return f.config.DeepCopy(), nil }
func (f *frozenImage) RawConfigFile() ([]byte, error)      { return f.rawConfig, nil }
func (f *frozenImage) Digest() (v1.Hash, error)            { return f.digest, nil }
func (f *frozenImage) Manifest() (*v1.Manifest, error)     { return f.manifest.DeepCopy(), nil }
func (f *frozenImage) RawManifest() ([]byte, error)        { return f.rawManifest, nil }
func (f *frozenImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	if l, ok := f.byDiffID[h]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("the image has no layer with diff ID %s", h)
}
func (f *frozenImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	if h == f.configName {
		return partial.ConfigLayer(f)
	}
	if l, ok := f.byDigest[h]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("the image has no blob %s", h)
}
