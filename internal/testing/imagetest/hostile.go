package imagetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// HostileLayout is an OCI layout that is broken on purpose, and what the
// error refusing it must say.
type HostileLayout struct {
	Name string
	// Make writes the layout into dir (an empty directory in the
	// workspace); outside is a directory outside the workspace and
	// RUNNER_TEMP, for links that escape.
	Make func(dir, outside string) error
	// Want is a part of the error message (besides the blob's digest).
	Want string
}

// HostileLayouts are the OCI layouts the action must refuse before any write:
// a manifest naming a missing blob, a blob whose bytes or size do not match
// its descriptor, blobs that are named pipes or links out of the workspace,
// manifests and configs larger than the limits, an index that lists itself,
// indexes nested without end.
func HostileLayouts() []HostileLayout {
	layer := func(dir string, i int) (string, error) {
		m, err := readManifest(dir)
		if err != nil {
			return "", err
		}
		return filepath.Join(dir, "blobs", "sha256", m.Layers[i].Digest.Hex), nil
	}
	return []HostileLayout{
		{"missing layer blob", func(dir, _ string) error {
			if err := writeImage(dir); err != nil {
				return err
			}
			p, err := layer(dir, 1)
			if err != nil {
				return err
			}
			return os.Remove(p)
		}, "is missing from the layout"},
		{"layer bytes changed", func(dir, _ string) error {
			if err := writeImage(dir); err != nil {
				return err
			}
			p, err := layer(dir, 0)
			if err != nil {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b[len(b)/2] ^= 0xff
			return os.WriteFile(p, b, 0o644)
		}, "hashes to"},
		{"32 MiB layer with its last byte changed", func(dir, _ string) error {
			// Read whole, in a stream: memory stays small.
			img, err := random.Image(32<<20, 1)
			if err != nil {
				return err
			}
			p, err := layout.Write(dir, empty.Index)
			if err != nil {
				return err
			}
			if err := p.AppendImage(img); err != nil {
				return err
			}
			lp, err := layer(dir, 0)
			if err != nil {
				return err
			}
			f, err := os.OpenFile(lp, os.O_RDWR, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				return err
			}
			b := []byte{0}
			if _, err := f.ReadAt(b, fi.Size()-1); err != nil {
				return err
			}
			b[0] ^= 0xff
			_, err = f.WriteAt(b, fi.Size()-1)
			return err
		}, "hashes to"},
		{"layer one byte short", func(dir, _ string) error {
			if err := writeImage(dir); err != nil {
				return err
			}
			p, err := layer(dir, 0)
			if err != nil {
				return err
			}
			fi, err := os.Stat(p)
			if err != nil {
				return err
			}
			return os.Truncate(p, fi.Size()-1)
		}, "but its descriptor says"},
		{"layer blob a named pipe", func(dir, _ string) error {
			if err := writeImage(dir); err != nil {
				return err
			}
			p, err := layer(dir, 0)
			if err != nil {
				return err
			}
			if err := os.Remove(p); err != nil {
				return err
			}
			return syscall.Mkfifo(p, 0o644)
		}, "named pipe (FIFO)"},
		{"layer blob linked out of the workspace", func(dir, outside string) error {
			if err := writeImage(dir); err != nil {
				return err
			}
			p, err := layer(dir, 0)
			if err != nil {
				return err
			}
			target := filepath.Join(outside, filepath.Base(p))
			if err := os.Rename(p, target); err != nil {
				return err
			}
			return os.Symlink(target, p)
		}, "outside the allowed"},
		{"blobs/sha256 linked out of the workspace", func(dir, outside string) error {
			if err := writeImage(dir); err != nil {
				return err
			}
			sha := filepath.Join(dir, "blobs", "sha256")
			target := filepath.Join(outside, "sha256")
			if err := os.Rename(sha, target); err != nil {
				return err
			}
			return os.Symlink(target, sha)
		}, "outside the allowed"},
		{"manifest of 100 MiB", func(dir, _ string) error {
			// A sparse 100 MiB manifest the index names with its size:
			// refused by the size, never read.
			if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
				return err
			}
			hex := fmt.Sprintf("%064x", 1)
			p := filepath.Join(dir, "blobs", "sha256", hex)
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				return err
			}
			if err := os.Truncate(p, 100<<20); err != nil {
				return err
			}
			return writeIndexJSON(dir, v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: 100 << 20, Digest: v1.Hash{Algorithm: "sha256", Hex: hex}})
		}, "more than ECR's manifest limit"},
		{"config of 100 MiB", func(dir, _ string) error {
			if err := writeImage(dir); err != nil {
				return err
			}
			m, err := readManifest(dir)
			if err != nil {
				return err
			}
			m.Config.Size = 100 << 20
			return replaceManifest(dir, m)
		}, "more than the 8388608 accepted"},
		{"index listing itself", func(dir, _ string) error {
			// An index whose one entry is its own name: the file cannot
			// hash to the name it lists, but a reader that does not
			// check digests would walk it for ever.
			if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
				return err
			}
			self := v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%064x", 2)}
			body, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex,
				Manifests: []v1.Descriptor{{MediaType: types.OCIImageIndex, Digest: self, Size: 0}}})
			if err != nil {
				return err
			}
			// The size of the body must be in the body: settle it.
			for range 3 {
				var im v1.IndexManifest
				_ = json.Unmarshal(body, &im)
				im.Manifests[0].Size = int64(len(body))
				if body, err = json.Marshal(im); err != nil {
					return err
				}
			}
			if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", self.Hex), body, 0o644); err != nil {
				return err
			}
			return writeIndexJSON(dir, v1.Descriptor{MediaType: types.OCIImageIndex, Digest: self, Size: int64(len(body))})
		}, "hashes to"},
		{"indexes nested 12 deep", func(dir, _ string) error {
			if err := writeImage(dir); err != nil {
				return err
			}
			raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
			if err != nil {
				return err
			}
			var top v1.IndexManifest
			if err := json.Unmarshal(raw, &top); err != nil {
				return err
			}
			d := top.Manifests[0]
			for range 12 {
				body, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{d}})
				if err != nil {
					return err
				}
				h := v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sha256.Sum256(body))}
				if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", h.Hex), body, 0o644); err != nil {
					return err
				}
				d = v1.Descriptor{MediaType: types.OCIImageIndex, Digest: h, Size: int64(len(body))}
			}
			return writeIndexJSON(dir, d)
		}, "indexes deep"},
	}
}

// writeImage writes a valid two-layer image as the layout's one manifest.
func writeImage(dir string) error {
	img, err := random.Image(2048, 2)
	if err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendImage(img)
}

func readIndexJSON(dir string) (*v1.IndexManifest, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return nil, err
	}
	return v1.ParseIndexManifest(bytes.NewReader(raw))
}

func readManifest(dir string) (*v1.Manifest, error) {
	im, err := readIndexJSON(dir)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", im.Manifests[0].Digest.Hex))
	if err != nil {
		return nil, err
	}
	return v1.ParseManifest(bytes.NewReader(raw))
}

// replaceManifest writes m as a blob and points index.json at it.
func replaceManifest(dir string, m *v1.Manifest) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	h := v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sha256.Sum256(body))}
	if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", h.Hex), body, 0o644); err != nil {
		return err
	}
	mt := m.MediaType
	if mt == "" {
		mt = types.OCIManifestSchema1
	}
	return writeIndexJSON(dir, v1.Descriptor{MediaType: mt, Digest: h, Size: int64(len(body))})
}

func writeIndexJSON(dir string, d v1.Descriptor) error {
	body, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{d}})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "index.json"), body, 0o644)
}
