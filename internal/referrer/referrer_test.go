package referrer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const sbomDoc = `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT"}` + "\n"

func TestEmptyDescriptor(t *testing.T) {
	e := EmptyDescriptor()
	sum := sha256.Sum256(e.Data)
	if e.Digest.Hex != hex.EncodeToString(sum[:]) || e.Size != int64(len(e.Data)) || string(e.Data) != "{}" {
		t.Errorf("empty descriptor %+v does not describe {}", e)
	}
}

func TestManifestShape(t *testing.T) {
	subject := v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: 1234, Digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)},
		Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}, Annotations: map[string]string{"dropped": "yes"}}
	img, err := New(subject, SPDXJSON, []byte(sbomDoc), Options{Title: "sbom.spdx.json"})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	docSum := sha256.Sum256([]byte(sbomDoc))
	want := map[string]any{
		"schemaVersion": float64(2),
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"artifactType":  "application/spdx+json",
		"config": map[string]any{
			"mediaType": "application/vnd.oci.empty.v1+json",
			"size":      float64(2),
			"digest":    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
			"data":      "e30=",
		},
		"layers": []any{map[string]any{
			"mediaType":   "application/spdx+json",
			"size":        float64(len(sbomDoc)),
			"digest":      "sha256:" + hex.EncodeToString(docSum[:]),
			"annotations": map[string]any{"org.opencontainers.image.title": "sbom.spdx.json"},
		}},
		"subject": map[string]any{
			"mediaType": "application/vnd.oci.image.manifest.v1+json",
			"size":      float64(1234),
			"digest":    "sha256:" + strings.Repeat("ab", 32),
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("manifest (-want +got):\n%s", d)
	}
	// Deterministic: the same inputs give the same bytes and digest.
	again, err := New(subject, SPDXJSON, []byte(sbomDoc), Options{Title: "sbom.spdx.json"})
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	sum := sha256.Sum256(raw)
	if d1 != d2 || d1.Hex != hex.EncodeToString(sum[:]) {
		t.Errorf("digests %s and %s, want both sha256 of the manifest %x", d1, d2, sum)
	}
	if at, err := partial.ArtifactType(img); err != nil || at != SPDXJSON {
		t.Errorf("ArtifactType = %q, %v", at, err)
	}
	doc, err := Document(img)
	if err != nil || string(doc) != sbomDoc {
		t.Errorf("Document = %q, %v", doc, err)
	}
}

func TestNewRejects(t *testing.T) {
	good := v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: 10, Digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}}
	tests := map[string]struct {
		sub  v1.Descriptor
		typ  string
		doc  []byte
		want string
	}{
		"no digest":        {v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: 10}, SPDXJSON, []byte("x"), "not a sha256 digest"},
		"no size":          {v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: good.Digest}, SPDXJSON, []byte("x"), "size"},
		"layer as subject": {v1.Descriptor{MediaType: types.OCILayer, Size: 10, Digest: good.Digest}, SPDXJSON, []byte("x"), "not an image manifest or index"},
		"no type":          {good, "", []byte("x"), "artifact type is empty"},
		"no document":      {good, SPDXJSON, nil, "document is empty"},
		"too large":        {good, SPDXJSON, make([]byte, MaxDocumentSize+1), "over the"},
	}
	for name, tt := range tests {
		if _, err := New(tt.sub, tt.typ, tt.doc, Options{}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want one saying %q", name, err, tt.want)
		}
	}
}

// TestPushToRegistry pushes an image and its SBOM and provenance
// artifacts to go-containerregistry's in-memory registry with the
// referrers API on, and checks the registry accepts them and lists them
// under the image's digest.
func TestPushToRegistry(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	repo, err := name.NewRepository(strings.TrimPrefix(srv.URL, "http://") + "/app")
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(repo.Tag("v1"), img); err != nil {
		t.Fatal(err)
	}
	subject, err := partial.Descriptor(img)
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{SPDXJSON: sbomDoc, InTotoJSON: `{"_type":"https://in-toto.io/Statement/v1"}` + "\n"}
	pushed := map[string]v1.Hash{}
	for typ, doc := range docs {
		a, err := New(*subject, typ, []byte(doc), Options{})
		if err != nil {
			t.Fatal(err)
		}
		d, err := a.Digest()
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(repo.Digest(d.String()), a); err != nil {
			t.Fatalf("pushing the %s artifact: %v", typ, err)
		}
		pushed[typ] = d
		// Pushing the same artifact again is a no-op with the same digest.
		if err := remote.Write(repo.Digest(d.String()), a); err != nil {
			t.Fatalf("pushing the %s artifact again: %v", typ, err)
		}
	}

	idx, err := remote.Referrers(repo.Digest(subject.Digest.String()))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	// go-containerregistry's in-memory registry lists a referrer's
	// artifactType as its config media type, not the manifest's
	// artifactType as the distribution spec says; so the listing is
	// matched by digest here, and the artifactType read from the
	// manifest below.
	var listed, want []string
	for _, m := range im.Manifests {
		listed = append(listed, m.Digest.String())
	}
	for _, d := range pushed {
		want = append(want, d.String())
	}
	sort.Strings(listed)
	sort.Strings(want)
	if d := cmp.Diff(want, listed); d != "" {
		t.Errorf("referrers of %s (-pushed +listed):\n%s", subject.Digest, d)
	}

	// Read back: the manifest is the one built, the document intact.
	for typ, d := range pushed {
		desc, err := remote.Get(repo.Digest(d.String()))
		if err != nil {
			t.Fatal(err)
		}
		back, err := desc.Image()
		if err != nil {
			t.Fatal(err)
		}
		doc, err := Document(back)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(doc, []byte(docs[typ])) {
			t.Errorf("%s document read back = %q", typ, doc)
		}
		if at, err := partial.ArtifactType(back); err != nil || at != typ {
			t.Errorf("artifactType read back = %q, %v; want %q", at, err, typ)
		}
		cfg, err := back.RawConfigFile()
		if err != nil || string(cfg) != "{}" {
			t.Errorf("%s config = %q, %v; want {}", typ, cfg, err)
		}
	}
}
