package build

import (
	"archive/tar"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

var epoch = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// ws makes a workspace holding files (path -> content; a trailing * in the
// path makes the file executable).
func ws(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(p, "*") {
			p, mode = strings.TrimSuffix(p, "*"), 0o755
		}
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func baseImage(t *testing.T, arch string, mt types.MediaType) v1.Image {
	t.Helper()
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.MediaType(img, mt)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Config.Env = []string{"PATH=/usr/bin", "LANG=C"}
	cf.Config.Entrypoint = []string{"/bin/sh"}
	cf.Config.Cmd = []string{"-c", "true"}
	cf.Config.Labels = map[string]string{"base": "yes"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// baseIndex has linux/amd64, linux/arm64 and an attestation manifest.
func baseIndex(t *testing.T) v1.ImageIndex {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range []string{"amd64", "arm64"} {
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        baseImage(t, arch, types.OCIManifestSchema1),
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}},
		})
	}
	att, err := random.Image(100, 1)
	if err != nil {
		t.Fatal(err)
	}
	return mutate.AppendManifests(idx, mutate.IndexAddendum{
		Add:        mutate.MediaType(att, types.OCIManifestSchema1),
		Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"}},
	})
}

// lastLayer lists the entries of img's last layer (layerEntries checks
// each one's time and owner).
func lastLayer(t *testing.T, img v1.Image) []tarEntry {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	return layerEntries(t, ls[len(ls)-1])
}

func digest(t *testing.T, d interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestScratchSinglePlatform(t *testing.T) {
	dir := ws(t, map[string]string{"bin/app*": "#!app", "conf/a.yaml": "a: 1"})
	res, err := Build(context.Background(), Spec{
		Workspace: dir, TempDir: t.TempDir(), Epoch: epoch,
		Files:      []File{{"bin/app", "/usr/local/bin/app"}, {"conf/a.yaml", "/etc/app/"}},
		Entrypoint: []string{"/usr/local/bin/app"},
		Env:        []string{"MODE=prod"},
		Workdir:    "/srv",
		Labels:     map[string]string{"team": "platform", "org.opencontainers.image.version": "custom"},
		Source:     "https://github.com/org/app", Revision: "0123456789abcdef0123456789abcdef01234567", Version: "v1.2.3",
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Index != nil || res.Image == nil {
		t.Fatalf("want a single image, got %+v", res)
	}
	if err := validate.Image(res.Image); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if diff := cmp.Diff([]string{"linux/amd64"}, res.Platforms); diff != "" {
		t.Errorf("platforms (-want +got):\n%s", diff)
	}
	mt, _ := res.Image.MediaType()
	if mt != types.OCIManifestSchema1 {
		t.Errorf("media type %s, want OCI", mt)
	}
	cf, _ := res.Image.ConfigFile()
	if cf.OS != "linux" || cf.Architecture != "amd64" || !cf.Created.Time.Equal(epoch) {
		t.Errorf("config os/arch/created: %s/%s %v", cf.OS, cf.Architecture, cf.Created)
	}
	wantLabels := map[string]string{
		"team":                              "platform",
		"org.opencontainers.image.version":  "custom", // the user's label wins
		"org.opencontainers.image.source":   "https://github.com/org/app",
		"org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567",
		"org.opencontainers.image.created":  "2026-11-01T12:00:00Z",
	}
	if diff := cmp.Diff(wantLabels, cf.Config.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if cf.Config.WorkingDir != "/srv" || strings.Join(cf.Config.Env, " ") != "MODE=prod" || strings.Join(cf.Config.Entrypoint, " ") != "/usr/local/bin/app" {
		t.Errorf("config %+v", cf.Config)
	}
	if len(cf.History) != 2 || cf.History[0].CreatedBy != "ecr-action files: bin/app:/usr/local/bin/app" || !cf.History[1].Created.Time.Equal(epoch) {
		t.Errorf("history %+v", cf.History)
	}
	ls, _ := res.Image.Layers()
	if len(ls) != 2 {
		t.Fatalf("%d layers, want one per files line", len(ls))
	}
	img0, err := mutate.AppendLayers(empty.Image, ls[0])
	if err != nil {
		t.Fatal(err)
	}
	want := []tarEntry{
		{Name: "usr/", Mode: 0o755, Type: tar.TypeDir},
		{Name: "usr/local/", Mode: 0o755, Type: tar.TypeDir},
		{Name: "usr/local/bin/", Mode: 0o755, Type: tar.TypeDir},
		{Name: "usr/local/bin/app", Mode: 0o755, Type: tar.TypeReg, Content: "#!app"},
	}
	if diff := cmp.Diff(want, lastLayer(t, img0)); diff != "" {
		t.Errorf("first layer (-want +got):\n%s", diff)
	}
	want = []tarEntry{
		{Name: "etc/", Mode: 0o755, Type: tar.TypeDir},
		{Name: "etc/app/", Mode: 0o755, Type: tar.TypeDir},
		{Name: "etc/app/a.yaml", Mode: 0o644, Type: tar.TypeReg, Content: "a: 1"},
	}
	if diff := cmp.Diff(want, lastLayer(t, res.Image)); diff != "" {
		t.Errorf("second layer, dest with a trailing slash (-want +got):\n%s", diff)
	}
}

func TestReproducibleDigest(t *testing.T) {
	dir := ws(t, map[string]string{"site/index.html": "<h1>hi</h1>", "site/css/a.css": "a{}", "site/run.sh*": "echo"})
	spec := func(e time.Time) Spec {
		return Spec{Workspace: dir, TempDir: t.TempDir(), Epoch: e, Files: []File{{"site", "/srv/www"}}}
	}
	a, err := Build(context.Background(), spec(epoch))
	if err != nil {
		t.Fatal(err)
	}
	// Touch the files: their own times must not matter.
	later := time.Now().Add(time.Hour)
	filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Chtimes(p, later, later) })
	b, err := Build(context.Background(), spec(epoch))
	if err != nil {
		t.Fatal(err)
	}
	if digest(t, a.Image) != digest(t, b.Image) {
		t.Errorf("same spec, different digests: %s, %s", digest(t, a.Image), digest(t, b.Image))
	}
	c, err := Build(context.Background(), spec(epoch.Add(time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	if digest(t, a.Image) == digest(t, c.Image) {
		t.Error("a different epoch gave the same digest")
	}
	var names []string
	for _, e := range lastLayer(t, a.Image) {
		names = append(names, e.Name)
	}
	want := []string{"srv/", "srv/www/", "srv/www/css/", "srv/www/css/a.css", "srv/www/index.html", "srv/www/run.sh"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("directory entries (-want +got):\n%s", diff)
	}
}

func TestMultiPlatformFromRegistryBase(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	ref, err := name.ParseReference(strings.TrimPrefix(srv.URL, "http://") + "/base:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, baseIndex(t)); err != nil {
		t.Fatal(err)
	}
	base, err := remote.Index(ref)
	if err != nil {
		t.Fatal(err)
	}
	dir := ws(t, map[string]string{"dist/amd64/app*": "amd64 binary", "dist/arm64/app*": "arm64 binary"})
	res, err := Build(context.Background(), Spec{
		Base: Base{Index: base}, Workspace: dir, TempDir: t.TempDir(), Epoch: epoch,
		Files: []File{{"dist/${TARGETARCH}/app", "/app"}}, Cmd: []string{"serve"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Index == nil {
		t.Fatal("want an index for two platforms")
	}
	if diff := cmp.Diff([]string{"linux/amd64", "linux/arm64"}, res.Platforms); diff != "" {
		t.Errorf("platforms (-want +got):\n%s", diff)
	}
	if err := validate.Index(res.Index); err != nil {
		t.Fatalf("validate: %v", err)
	}
	im, _ := res.Index.IndexManifest()
	if mt, _ := res.Index.MediaType(); mt != types.OCIImageIndex {
		t.Errorf("index media type %s", mt)
	}
	for _, d := range im.Manifests {
		img, err := res.Index.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		entries := lastLayer(t, img)
		if got, want := entries[len(entries)-1].Content, d.Platform.Architecture+" binary"; got != want {
			t.Errorf("%s: /app holds %q, want %q", d.Platform.Architecture, got, want)
		}
		cf, _ := img.ConfigFile()
		// Cmd set alone keeps the base's entrypoint; base env and labels stay.
		if strings.Join(cf.Config.Entrypoint, " ") != "/bin/sh" || strings.Join(cf.Config.Cmd, " ") != "serve" || cf.Config.Labels["base"] != "yes" || len(cf.Config.Env) != 2 {
			t.Errorf("%s config %+v", d.Platform.Architecture, cf.Config)
		}
		ls, _ := img.Layers()
		if len(ls) != 2 {
			t.Errorf("%s: %d layers, want base + 1", d.Platform.Architecture, len(ls))
		}
	}
	// The result pushes.
	out, _ := name.ParseReference(strings.TrimPrefix(srv.URL, "http://") + "/app:1")
	if err := remote.WriteIndex(out, res.Index); err != nil {
		t.Fatalf("pushing the built index: %v", err)
	}

	// Only amd64 artefacts: the default drops arm64; asking for it fails.
	dir2 := ws(t, map[string]string{"dist/amd64/app": "x"})
	res, err = Build(context.Background(), Spec{Base: Base{Index: base}, Workspace: dir2, TempDir: t.TempDir(), Epoch: epoch, Files: []File{{"dist/${TARGETARCH}/app", "/app"}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Image == nil || strings.Join(res.Platforms, ",") != "linux/amd64" {
		t.Errorf("default platforms %v, want linux/amd64 only as a single image", res.Platforms)
	}
	_, err = Build(context.Background(), Spec{Base: Base{Index: base}, Workspace: dir2, TempDir: t.TempDir(), Epoch: epoch, Files: []File{{"dist/${TARGETARCH}/app", "/app"}}, Platforms: []string{"linux/arm64"}})
	if err == nil || !strings.Contains(err.Error(), "dist/arm64/app") || !strings.Contains(err.Error(), "linux/arm64") {
		t.Errorf("missing artefact: err %v", err)
	}
	_, err = Build(context.Background(), Spec{Base: Base{Index: base}, Workspace: dir2, TempDir: t.TempDir(), Epoch: epoch, Platforms: []string{"linux/s390x"}})
	if err == nil || !strings.Contains(err.Error(), "linux/amd64, linux/arm64") {
		t.Errorf("platform not in base: err %v", err)
	}
}

func TestEntrypointClearsBaseCmd(t *testing.T) {
	base := baseImage(t, "arm64", types.DockerManifestSchema2)
	res, err := Build(context.Background(), Spec{Base: Base{Image: base}, Workspace: t.TempDir(), TempDir: t.TempDir(), Epoch: epoch, Entrypoint: []string{"/app"}, Env: []string{"LANG=C.UTF-8"}})
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := res.Image.ConfigFile()
	if cf.Config.Cmd != nil || strings.Join(cf.Config.Entrypoint, " ") != "/app" {
		t.Errorf("entrypoint %v cmd %v", cf.Config.Entrypoint, cf.Config.Cmd)
	}
	if diff := cmp.Diff([]string{"PATH=/usr/bin", "LANG=C.UTF-8"}, cf.Config.Env); diff != "" {
		t.Errorf("env replaces in place (-want +got):\n%s", diff)
	}
	if mt, _ := res.Image.MediaType(); mt != types.DockerManifestSchema2 {
		t.Errorf("media type %s, want the base's", mt)
	}
	if cf.Architecture != "arm64" || strings.Join(res.Platforms, "") != "linux/arm64" {
		t.Errorf("platform %s", res.Platforms)
	}
}

func TestSourcesStayInTheWorkspace(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o644)
	dir := ws(t, map[string]string{"tree/ok": "ok"})
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "escape"))
	os.Symlink("../../"+filepath.Base(outside), filepath.Join(dir, "tree", "up"))
	cases := []struct {
		name string
		file File
		want string
	}{
		{"link out", File{"escape", "/x"}, "outside the workspace"},
		{"dot dot", File{"../x", "/x"}, "leaves the workspace"},
		{"link in tree", File{"tree", "/t"}, "outside the workspace"},
		{"missing", File{"nope", "/x"}, "does not exist"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Build(context.Background(), Spec{Workspace: dir, TempDir: t.TempDir(), Epoch: epoch, Files: []File{c.file}})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want %q", err, c.want)
			}
		})
	}
	// A relative link inside the tree is kept as a link.
	dir2 := ws(t, map[string]string{"tree/real": "r"})
	os.Symlink("real", filepath.Join(dir2, "tree", "alias"))
	res, err := Build(context.Background(), Spec{Workspace: dir2, TempDir: t.TempDir(), Epoch: epoch, Files: []File{{"tree", "/t"}}})
	if err != nil {
		t.Fatal(err)
	}
	var links []string
	for _, e := range lastLayer(t, res.Image) {
		if e.Type == tar.TypeSymlink {
			links = append(links, e.Name+"->"+e.Link)
		}
	}
	sort.Strings(links)
	if strings.Join(links, ",") != "t/alias->real" {
		t.Errorf("links %v", links)
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Build(ctx, Spec{Workspace: ws(t, map[string]string{"a": "a"}), TempDir: t.TempDir(), Epoch: epoch, Files: []File{{"a", "/a"}}})
	if err == nil {
		t.Error("a cancelled build succeeded")
	}
}
