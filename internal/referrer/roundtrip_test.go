package referrer

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/org/ecr-action/internal/provenance"
	"github.com/org/ecr-action/internal/sbom"
)

// TestSBOMAndProvenanceAsReferrers is the path the push will take: an
// image is pushed by digest, its SBOM and provenance are generated and
// pushed as referrers, and a second run with the same inputs gives the
// same SBOM digest (so it pushes nothing new).
func TestSBOMAndProvenanceAsReferrers(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	repo, err := name.NewRepository(strings.TrimPrefix(srv.URL, "http://") + "/shop")
	if err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	status := "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u9\nArchitecture: amd64\n"
	if err := tw.WriteHeader(&tar.Header{Name: "var/lib/dpkg/status", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(status))}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte(status))
	tw.Close()
	layerBytes := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerBytes)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(repo.Digest(digest.String()), img); err != nil {
		t.Fatal(err)
	}
	subject, err := partial.Descriptor(img)
	if err != nil {
		t.Fatal(err)
	}

	platform := v1.Platform{OS: "linux", Architecture: "amd64"}
	created := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	run := func() (v1.Hash, v1.Hash) {
		doc, _, err := sbom.Generate(context.Background(), img, platform, sbom.Options{Created: created, Tool: "ecr-action-v1.4.0", Repository: repo.String()})
		if err != nil {
			t.Fatal(err)
		}
		st, err := provenance.New(provenance.Input{
			GitHub: provenance.GitHub{ServerURL: "https://github.com", Repository: "acme/shop", Ref: "refs/heads/main",
				SHA: strings.Repeat("1", 40), WorkflowRef: "acme/shop/.github/workflows/deploy.yml@refs/heads/main", RunID: "42", RunAttempt: "1"},
			Action:    provenance.Action{Repository: "org/ecr-action", Version: "v1.4.0"},
			Subjects:  []provenance.Subject{{Name: repo.String(), Digest: digest.String()}},
			StartedOn: created, FinishedOn: created.Add(time.Minute),
		})
		if err != nil {
			t.Fatal(err)
		}
		prov, err := st.Encode()
		if err != nil {
			t.Fatal(err)
		}
		var out []v1.Hash
		for _, a := range []struct {
			typ, title string
			doc        []byte
		}{{sbom.MediaType, "sbom.spdx.json", doc}, {provenance.MediaType, "provenance.intoto.json", prov}} {
			art, err := New(*subject, a.typ, a.doc, Options{Title: a.title})
			if err != nil {
				t.Fatal(err)
			}
			d, err := art.Digest()
			if err != nil {
				t.Fatal(err)
			}
			if err := remote.Write(repo.Digest(d.String()), art); err != nil {
				t.Fatalf("pushing %s: %v", a.typ, err)
			}
			out = append(out, d)
		}
		return out[0], out[1]
	}
	sbom1, prov1 := run()
	sbom2, prov2 := run()
	if sbom1 != sbom2 || prov1 != prov2 {
		t.Errorf("a re-run with the same inputs gave new digests: sbom %s then %s, provenance %s then %s", sbom1, sbom2, prov1, prov2)
	}

	idx, err := remote.Referrers(repo.Digest(digest.String()))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 2 {
		t.Fatalf("%d referrers listed, want 2 (SBOM and provenance): %+v", len(im.Manifests), im.Manifests)
	}
	desc, err := remote.Get(repo.Digest(sbom1.String()))
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
	var d sbom.Document
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range d.Packages {
		names = append(names, p.Name)
	}
	if len(names) != 2 || names[1] != "libc6" || d.Packages[0].VersionInfo != digest.String() {
		t.Errorf("SBOM read back lists %v for %s, want the image and libc6", names, d.Packages[0].VersionInfo)
	}
}
