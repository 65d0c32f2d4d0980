package build

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func sha(s string) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sha256.Sum256([]byte(s)))}
}

// The build reports each files source's digest: a file's content sha256 (as
// sha256sum prints it), a directory's layer diff ID (which the image config
// lists), once per distinct source over the platforms, sorted.
func TestFileDigests(t *testing.T) {
	dir := ws(t, map[string]string{
		"bin/amd64/app*":  "amd64 program",
		"bin/arm64/app*":  "arm64 program",
		"conf/app.toml":   "[app]\n",
		"conf/sub/x.json": "{}",
		"README":          "readme",
	})
	spec := Spec{
		Workspace: dir,
		Files: []File{
			{Src: "bin/${TARGETARCH}/app", Dest: "/usr/bin/app"},
			{Src: "./conf", Dest: "/etc/app"},
			{Src: "README", Dest: "/doc/"},
			{Src: "README", Dest: "/doc/README.again"}, // same content: one entry
		},
		Platforms: []string{"linux/arm64", "linux/amd64"},
		Epoch:     epoch,
		TempDir:   t.TempDir(),
	}
	res, err := Build(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if res.Index == nil {
		t.Fatal("two platforms built no index")
	}
	im, err := res.Index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	// The directory's digest is its layer's diff ID in every platform image
	// (its second files layer: scratch has none of its own).
	var confDiffID v1.Hash
	for _, m := range im.Manifests {
		img, err := res.Index.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if len(cf.RootFS.DiffIDs) != 4 {
			t.Fatalf("%s: %d diff IDs, want 4", m.Platform, len(cf.RootFS.DiffIDs))
		}
		if confDiffID != (v1.Hash{}) && cf.RootFS.DiffIDs[1] != confDiffID {
			t.Errorf("the conf layer differs between platforms: %s, %s", confDiffID, cf.RootFS.DiffIDs[1])
		}
		confDiffID = cf.RootFS.DiffIDs[1]
	}
	want := []FileDigest{
		{Path: "README", Digest: sha("readme")},
		{Path: "bin/amd64/app", Digest: sha("amd64 program")},
		{Path: "bin/arm64/app", Digest: sha("arm64 program")},
		{Path: "conf", Dir: true, Digest: confDiffID},
	}
	if d := cmp.Diff(want, res.Files); d != "" {
		t.Errorf("file digests (-want +got):\n%s", d)
	}

	// The same spec again gives the same list; no files, none.
	again, err := Build(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again.Files, res.Files) {
		t.Errorf("a rebuild reported %v, the first build %v", again.Files, res.Files)
	}
	spec.Files, spec.Platforms = nil, nil
	none, err := Build(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(none.Files) != 0 {
		t.Errorf("a build without files reported %v", none.Files)
	}
}
