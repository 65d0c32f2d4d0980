package image_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/org/ecr-action/internal/image"
	"github.com/org/ecr-action/internal/testing/imagetest"
)

// TestHostileOCILayoutsRefusedBeforeAnyWrite opens each broken layout: the
// error names the layout and the blob at fault, and comes in seconds, from
// reading only (OpenOCIIn writes nothing; the push would come after it).
func TestHostileOCILayoutsRefusedBeforeAnyWrite(t *testing.T) {
	for _, c := range imagetest.HostileLayouts() {
		t.Run(c.Name, func(t *testing.T) {
			ws, outside := t.TempDir(), t.TempDir()
			dir := filepath.Join(ws, "img")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := c.Make(dir, outside); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			_, err := image.OpenOCIIn(ctx, dir, "", []string{ws})
			if err == nil {
				t.Fatal("the layout was accepted")
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("refusing it took %v", took)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.Want) || !strings.Contains(msg, "oci:"+dir) || !strings.Contains(msg, "sha256") {
				t.Errorf("error %q does not name the layout, a blob and %q", msg, c.Want)
			}
		})
	}
}

// TestOCIVerificationIsCancellable: a cancelled context ends the digest
// check of a layout at once.
func TestOCIVerificationIsCancellable(t *testing.T) {
	dir := writeLayout(t, randomImage(t, 8<<20, 2), "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := image.OpenOCIIn(ctx, dir, "", []string{dir}); !errors.Is(err, context.Canceled) {
		t.Errorf("OpenOCIIn with a cancelled context = %v, want context.Canceled", err)
	}
}

// selfIndex is an index that lists itself, as a registry or a layout that
// does not check digests could serve.
type selfIndex struct{ raw []byte }

var selfDigest = v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%064x", 7)}

func newSelfIndex(t *testing.T) *selfIndex {
	raw, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex,
		Manifests: []v1.Descriptor{{MediaType: types.OCIImageIndex, Digest: selfDigest, Size: 100}}})
	if err != nil {
		t.Fatal(err)
	}
	return &selfIndex{raw: raw}
}

func (s *selfIndex) MediaType() (types.MediaType, error) { return types.OCIImageIndex, nil }
func (s *selfIndex) Digest() (v1.Hash, error)            { return selfDigest, nil }
func (s *selfIndex) Size() (int64, error)                { return int64(len(s.raw)), nil }
func (s *selfIndex) RawManifest() ([]byte, error)        { return s.raw, nil }
func (s *selfIndex) IndexManifest() (*v1.IndexManifest, error) {
	var im v1.IndexManifest
	err := json.Unmarshal(s.raw, &im)
	return &im, err
}
func (s *selfIndex) Image(v1.Hash) (v1.Image, error)           { return nil, errors.New("no image") }
func (s *selfIndex) ImageIndex(v1.Hash) (v1.ImageIndex, error) { return s, nil }

// TestSizeWalkEndsOnAnIndexListingItself: the walk that adds up an
// artifact's size remembers what it has seen.
func TestSizeWalkEndsOnAnIndexListingItself(t *testing.T) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		a, err := image.FromIndex("test", newSelfIndex(t))
		if err != nil {
			t.Errorf("FromIndex: %v", err)
			return
		}
		if a.Size != int64(len(newSelfIndex(t).raw)) {
			t.Errorf("size %d, want the index's own bytes once", a.Size)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the size walk did not end on an index that lists itself")
	}
}

func TestRegistryBodyLimit(t *testing.T) {
	get := func(u string) *http.Request {
		r, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	blob := get("https://r.example/v2/app/blobs/sha256:" + strings.Repeat("a", 64))
	s3 := get("https://bucket.s3.amazonaws.com/layer?X-Amz-Signature=x")
	s3.Response = &http.Response{Request: blob}
	for _, c := range []struct {
		req  *http.Request
		want int64
	}{
		{get("https://r.example/v2/app/manifests/latest"), image.MaxManifestBytes},
		{blob, 0},
		{s3, 0},
		{get("https://r.example/v2/app/tags/list"), 16 << 20},
		{get("https://r.example/v2/app/blobs/uploads/123"), 16 << 20},
	} {
		if got := image.RegistryBodyLimit(c.req); got != c.want {
			t.Errorf("RegistryBodyLimit(%s) = %d, want %d", c.req.URL, got, c.want)
		}
	}
}
