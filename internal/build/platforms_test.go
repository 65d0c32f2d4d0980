package build

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// platformImage is a random image whose config names p, with manifest type mt.
func platformImage(t *testing.T, p v1.Platform, mt types.MediaType) v1.Image {
	t.Helper()
	img := baseImage(t, p.Architecture, mt)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Variant = p.OS, p.Variant
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// indexOf is an index of type indexType with one image of type manifestType
// per platform, then an attestation manifest (unknown/unknown).
func indexOf(t *testing.T, indexType, manifestType types.MediaType, ps ...v1.Platform) v1.ImageIndex {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, indexType)
	for _, p := range ps {
		p := p
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        platformImage(t, p, manifestType),
			Descriptor: v1.Descriptor{Platform: &p},
		})
	}
	att, err := random.Image(100, 1)
	if err != nil {
		t.Fatal(err)
	}
	return mutate.AppendManifests(idx, mutate.IndexAddendum{
		Add:        mutate.MediaType(att, manifestType),
		Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"}},
	})
}

func plat(s string) v1.Platform {
	p, err := parsePlatform(s)
	if err != nil {
		panic(err)
	}
	return p
}

func TestPlatforms(t *testing.T) {
	base := indexOf(t, types.OCIImageIndex, types.OCIManifestSchema1,
		plat("linux/amd64"), plat("linux/arm64/v8"), plat("linux/arm/v6"), plat("linux/arm/v7"))
	// Artefacts for amd64, arm64 and arm/v7, none for arm/v6.
	dir := ws(t, map[string]string{
		"dist/linux-amd64/app":   "amd64",
		"dist/linux-arm64v8/app": "arm64",
		"dist/linux-armv7/app":   "armv7",
	})
	perPlatform := []File{{"dist/${TARGETOS}-${TARGETARCH}${TARGETVARIANT}/app", "/app"}}

	cases := []struct {
		name      string
		platforms []string
		files     []File
		want      []string
		wantErr   []string // substrings of the error
	}{{
		name:  "default skips platforms lacking files and the attestation",
		files: perPlatform,
		want:  []string{"linux/amd64", "linux/arm/v7", "linux/arm64/v8"},
	}, {
		name:  "default without files is every platform",
		files: nil,
		want:  []string{"linux/amd64", "linux/arm/v6", "linux/arm/v7", "linux/arm64/v8"},
	}, {
		name:    "default with no platform covered",
		files:   []File{{"dist/${TARGETOS}-${TARGETARCH}/nope", "/app"}},
		wantErr: []string{"no platform of the base image has every file", "linux/amd64", "dist/linux-amd64/nope"},
	}, {
		name:  "default fails at once on a source leaving the workspace",
		files: []File{{"../${TARGETARCH}", "/app"}},
		// Reported as such, not as a platform lacking its files.
		wantErr: []string{"platform linux/amd64: files line ../${TARGETARCH}:/app", "leaves the workspace"},
	}, {
		name:      "explicit, sorted",
		platforms: []string{"linux/arm/v7", "linux/amd64"},
		files:     perPlatform,
		want:      []string{"linux/amd64", "linux/arm/v7"},
	}, {
		name:      "arm64 without variant is arm64/v8",
		platforms: []string{"linux/arm64"},
		files:     perPlatform,
		want:      []string{"linux/arm64/v8"},
	}, {
		name:      "the same platform twice is built once",
		platforms: []string{"linux/amd64", "linux/amd64"},
		files:     perPlatform,
		want:      []string{"linux/amd64"},
	}, {
		name:      "explicit platform not in the base",
		platforms: []string{"linux/amd64", "linux/s390x"},
		wantErr:   []string{"linux/s390x is not in the base image", "linux/amd64, linux/arm/v6, linux/arm/v7, linux/arm64/v8"},
	}, {
		name:      "explicit platform without its file",
		platforms: []string{"linux/arm/v6"},
		files:     perPlatform,
		wantErr:   []string{"platform linux/arm/v6", "files line dist/${TARGETOS}-${TARGETARCH}${TARGETVARIANT}/app:/app", "dist/linux-armv6/app", "does not exist"},
	}, {
		name:      "a variant is needed to choose",
		platforms: []string{"linux/arm"},
		wantErr:   []string{"linux/arm matches linux/arm/v6, linux/arm/v7", "name the variant"},
	}, {
		name:      "not os/arch",
		platforms: []string{"linux"},
		wantErr:   []string{`platform "linux" is not os/arch[/variant]`},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := Build(context.Background(), Spec{
				Base: Base{Index: base}, Workspace: dir, TempDir: t.TempDir(), Epoch: epoch,
				Files: c.files, Platforms: c.platforms,
			})
			if c.wantErr != nil {
				if err == nil {
					t.Fatalf("built %v, want an error", res.Platforms)
				}
				for _, w := range c.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, res.Platforms); diff != "" {
				t.Errorf("platforms (-want +got):\n%s", diff)
			}
			if len(c.want) == 1 {
				if res.Image == nil || res.Index != nil {
					t.Fatal("one platform: want an image and no index")
				}
				if err := validate.Image(res.Image); err != nil {
					t.Errorf("validate: %v", err)
				}
				return
			}
			if res.Index == nil || res.Image != nil {
				t.Fatal("several platforms: want an index and no image")
			}
			if err := validate.Index(res.Index); err != nil {
				t.Errorf("validate: %v", err)
			}
			im, err := res.Index.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range im.Manifests {
				got = append(got, platformString(*d.Platform))
				img, err := res.Index.Image(d.Digest)
				if err != nil {
					t.Fatal(err)
				}
				cf, err := img.ConfigFile()
				if err != nil {
					t.Fatal(err)
				}
				if cf.Architecture != d.Platform.Architecture || cf.Variant != d.Platform.Variant {
					t.Errorf("%s: config says %s/%s", platformString(*d.Platform), cf.Architecture, cf.Variant)
				}
				if len(c.files) > 0 {
					es := lastLayer(t, img)
					if got, want := es[len(es)-1].Content, strings.TrimSuffix(d.Platform.Architecture+d.Platform.Variant, "v8"); got != want {
						t.Errorf("%s: /app holds %q, want %q", platformString(*d.Platform), got, want)
					}
				}
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("index descriptors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScratchPlatforms(t *testing.T) {
	dir := ws(t, map[string]string{"bin/app-amd64*": "a", "bin/app-arm64*": "b"})
	res, err := Build(context.Background(), Spec{
		Workspace: dir, TempDir: t.TempDir(), Epoch: epoch,
		Files:     []File{{"bin/app-${TARGETARCH}", "/app"}},
		Platforms: []string{"linux/arm64", "linux/amd64"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Index == nil {
		t.Fatal("want an index")
	}
	if err := validate.Index(res.Index); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if mt, _ := res.Index.MediaType(); mt != types.OCIImageIndex {
		t.Errorf("scratch index media type %s, want OCI", mt)
	}
	im, _ := res.Index.IndexManifest()
	var got []string
	for _, d := range im.Manifests {
		img, err := res.Index.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, _ := img.ConfigFile()
		got = append(got, platformString(*d.Platform)+" config "+cf.OS+"/"+cf.Architecture)
	}
	if diff := cmp.Diff([]string{"linux/amd64 config linux/amd64", "linux/arm64 config linux/arm64"}, got); diff != "" {
		t.Errorf("manifests (-want +got):\n%s", diff)
	}
}

func TestSingleImageBasePlatform(t *testing.T) {
	base := platformImage(t, plat("linux/arm/v7"), types.DockerManifestSchema2)
	cases := []struct {
		name      string
		platforms []string
		want      string
		wantErr   string
	}{
		{name: "default is the config's", want: "linux/arm/v7"},
		{name: "explicit, same", platforms: []string{"linux/arm/v7"}, want: "linux/arm/v7"},
		{name: "explicit, other", platforms: []string{"linux/amd64"}, wantErr: "linux/amd64 is not in the base image, which has linux/arm/v7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := Build(context.Background(), Spec{Base: Base{Image: base}, Workspace: t.TempDir(), TempDir: t.TempDir(), Epoch: epoch, Platforms: c.platforms})
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{c.want}, res.Platforms); diff != "" {
				t.Errorf("platforms (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMediaTypes checks that the index follows the base index's type and
// each image's added layer follows that image's base manifest.
func TestMediaTypes(t *testing.T) {
	two := []v1.Platform{plat("linux/amd64"), plat("linux/arm64")}
	cases := []struct {
		name      string
		base      Base
		platforms []string
		wantIndex types.MediaType // "" for a single image
		wantImage types.MediaType
		wantLayer types.MediaType
	}{
		{"OCI index", Base{Index: indexOf(t, types.OCIImageIndex, types.OCIManifestSchema1, two...)}, nil, types.OCIImageIndex, types.OCIManifestSchema1, types.OCILayer},
		{"Docker manifest list", Base{Index: indexOf(t, types.DockerManifestList, types.DockerManifestSchema2, two...)}, nil, types.DockerManifestList, types.DockerManifestSchema2, types.DockerLayer},
		{"OCI index of Docker manifests", Base{Index: indexOf(t, types.OCIImageIndex, types.DockerManifestSchema2, two...)}, nil, types.OCIImageIndex, types.DockerManifestSchema2, types.DockerLayer},
		{"one platform of a Docker manifest list", Base{Index: indexOf(t, types.DockerManifestList, types.DockerManifestSchema2, two...)}, []string{"linux/arm64"}, "", types.DockerManifestSchema2, types.DockerLayer},
		{"Docker image", Base{Image: platformImage(t, plat("linux/amd64"), types.DockerManifestSchema2)}, nil, "", types.DockerManifestSchema2, types.DockerLayer},
		{"OCI image", Base{Image: platformImage(t, plat("linux/amd64"), types.OCIManifestSchema1)}, nil, "", types.OCIManifestSchema1, types.OCILayer},
		{"scratch", Base{}, nil, "", types.OCIManifestSchema1, types.OCILayer},
	}
	dir := ws(t, map[string]string{"f": "x"})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := Build(context.Background(), Spec{Base: c.base, Workspace: dir, TempDir: t.TempDir(), Epoch: epoch, Files: []File{{"f", "/f"}}, Platforms: c.platforms})
			if err != nil {
				t.Fatal(err)
			}
			images := []v1.Image{res.Image}
			if c.wantIndex != "" {
				if res.Index == nil {
					t.Fatal("want an index")
				}
				if mt, _ := res.Index.MediaType(); mt != c.wantIndex {
					t.Errorf("index media type %s, want %s", mt, c.wantIndex)
				}
				if err := validate.Index(res.Index); err != nil {
					t.Errorf("validate: %v", err)
				}
				im, _ := res.Index.IndexManifest()
				images = nil
				for _, d := range im.Manifests {
					if d.MediaType != c.wantImage {
						t.Errorf("descriptor media type %s, want %s", d.MediaType, c.wantImage)
					}
					img, err := res.Index.Image(d.Digest)
					if err != nil {
						t.Fatal(err)
					}
					images = append(images, img)
				}
			} else if res.Image == nil {
				t.Fatal("want an image")
			}
			for _, img := range images {
				if mt, _ := img.MediaType(); mt != c.wantImage {
					t.Errorf("manifest media type %s, want %s", mt, c.wantImage)
				}
				m, err := img.Manifest()
				if err != nil {
					t.Fatal(err)
				}
				if got := m.Layers[len(m.Layers)-1].MediaType; got != c.wantLayer {
					t.Errorf("added layer media type %s, want %s", got, c.wantLayer)
				}
				if err := validate.Image(img); err != nil {
					t.Errorf("validate: %v", err)
				}
			}
		})
	}
}
