package image_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/org/ecr-action/internal/image"
	"github.com/org/ecr-action/internal/testing/imagetest"
)

// counter is an http.RoundTripper that counts requests by kind.
type counter struct {
	mu    sync.Mutex
	kinds map[string]int
	next  http.RoundTripper
}

func newCounter() *counter {
	return &counter{kinds: map[string]int{}, next: http.DefaultTransport}
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	kind := r.Method + " "
	switch p := r.URL.Path; {
	case p == "/v2/":
		kind += "ping"
	case strings.Contains(p, "/blobs/uploads/"):
		kind += "upload"
	case strings.Contains(p, "/blobs/"):
		kind += "blob"
	case strings.Contains(p, "/manifests/"):
		kind += "manifest"
	default:
		kind += p
	}
	c.mu.Lock()
	c.kinds[kind]++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

func (c *counter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.kinds {
		out[k] = v
	}
	return out
}

func (c *counter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.kinds)
}

// writes counts the requests that change the registry.
func (c *counter) writes() int {
	n := 0
	for k, v := range c.snapshot() {
		if !strings.HasPrefix(k, "GET ") && !strings.HasPrefix(k, "HEAD ") {
			n += v
		}
	}
	return n
}

type env struct {
	host string
	reg  *image.Client
	rt   *counter
}

// newEnv starts go-containerregistry's in-memory registry.
func newEnv(t *testing.T) *env {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(nopLogger())))
	t.Cleanup(srv.Close)
	rt := newCounter()
	reg, err := image.New(image.Options{Keychain: authn.NewMultiKeychain(), Transport: rt})
	if err != nil {
		t.Fatal(err)
	}
	return &env{host: strings.TrimPrefix(srv.URL, "http://"), reg: reg, rt: rt}
}

func (e *env) repo(t *testing.T, n string) name.Repository {
	t.Helper()
	r, err := name.NewRepository(e.host + "/" + n)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mutable(repo name.Repository) image.Target {
	return image.Target{Repository: repo, Mutability: "MUTABLE"}
}

func push(t *testing.T, e *env, a *image.Artifact, target image.Target, tags ...string) *image.Result {
	t.Helper()
	ctx := context.Background()
	plan, err := e.reg.Plan(ctx, a, target, tags, false)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	res, err := e.reg.Upload(ctx, plan)
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	if err := e.reg.Tag(ctx, plan); err != nil {
		t.Fatalf("Tag: %v", err)
	}
	return res
}

func randomImage(t *testing.T, size int64, layers int) v1.Image {
	t.Helper()
	img, err := random.Image(size, int64(layers))
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{OS: "linux", Architecture: "amd64", RootFS: mustConfig(t, img).RootFS})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func mustConfig(t *testing.T, img v1.Image) *v1.ConfigFile {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cf
}

func writeLayout(t *testing.T, a any, refName string) string {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	var opts []layout.Option
	if refName != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": refName}))
	}
	switch v := a.(type) {
	case v1.Image:
		err = p.AppendImage(v, opts...)
	case v1.ImageIndex:
		err = p.AppendIndex(v, opts...)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func digestOf(t *testing.T, d interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func remoteDigest(t *testing.T, ref string) v1.Hash {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(r)
	if err != nil {
		t.Fatalf("HEAD %s: %v", ref, err)
	}
	return d.Digest
}

func TestOCILayoutPushThenRepushIsANoOp(t *testing.T) {
	e := newEnv(t)
	img := randomImage(t, 4096, 3)
	dir := writeLayout(t, img, "")
	a, err := image.OpenOCI(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if a.Digest != digestOf(t, img) {
		t.Fatalf("artifact digest %s, want %s", a.Digest, digestOf(t, img))
	}
	if got, want := strings.Join(a.Platforms, ","), "linux/amd64"; got != want {
		t.Errorf("platforms %q, want %q", got, want)
	}
	if a.Layers != 3 {
		t.Errorf("layers %d, want 3", a.Layers)
	}
	repo := e.repo(t, "app")
	res := push(t, e, a, mutable(repo), "abc1234", "latest")
	if res.UploadedLayers != 3 {
		t.Errorf("uploaded %d layers, want 3", res.UploadedLayers)
	}
	for _, tp := range res.Tags {
		if tp.Action != image.TagPushed {
			t.Errorf("tag %s: %s, want pushed", tp.Tag, tp.Action)
		}
		if got := remoteDigest(t, repo.Tag(tp.Tag).String()); got != a.Digest {
			t.Errorf("tag %s names %s, want %s", tp.Tag, got, a.Digest)
		}
	}
	pulled, err := remote.Image(repo.Digest(a.Digest.String()))
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(pulled); err != nil {
		t.Errorf("pushed image does not validate: %v", err)
	}

	// The same image again: two tag lookups, no write, no blob request.
	e.rt.reset()
	a2, err := image.OpenOCI(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	res = push(t, e, a2, mutable(repo), "abc1234", "latest")
	for _, tp := range res.Tags {
		if tp.Action != image.TagUnchanged {
			t.Errorf("re-push: tag %s %s, want unchanged", tp.Tag, tp.Action)
		}
	}
	got := e.rt.snapshot()
	if w := e.rt.writes(); w != 0 || got["HEAD blob"] != 0 || res.UploadedLayers != 0 {
		t.Errorf("re-push made %d writes, %d blob HEADs, uploaded %d layers (requests %v); want none", w, got["HEAD blob"], res.UploadedLayers, got)
	}
}

func TestOCILayoutPicksNamedManifest(t *testing.T) {
	one, two := randomImage(t, 100, 1), randomImage(t, 100, 1)
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	for n, img := range map[string]v1.Image{"one": one, "two": two} {
		if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": n})); err != nil {
			t.Fatal(err)
		}
	}
	a, err := image.OpenOCI(dir, "two")
	if err != nil {
		t.Fatal(err)
	}
	if a.Digest != digestOf(t, two) {
		t.Errorf("oci:dir:two gave %s, want %s", a.Digest, digestOf(t, two))
	}
	_, err = image.OpenOCI(dir, "")
	if err == nil || !strings.Contains(err.Error(), "holds 2 manifests") || !strings.Contains(err.Error(), "one") {
		t.Errorf("no ref with two manifests: err %v, want one that lists the names", err)
	}
	_, err = image.OpenOCI(dir, "three")
	if err == nil || !strings.Contains(err.Error(), `named "three"`) {
		t.Errorf("unknown ref: err %v", err)
	}
	_, err = image.OpenOCI(t.TempDir(), "")
	if err == nil || !strings.Contains(err.Error(), "not an OCI image layout") {
		t.Errorf("empty dir: err %v", err)
	}
}

func multiPlatformIndex(t *testing.T) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, arch := range []string{"amd64", "arm64"} {
		img := randomImage(t, 2048, 2)
		cf := mustConfig(t, img).DeepCopy()
		cf.Architecture = arch
		img, err := mutate.ConfigFile(img, cf)
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	return idx
}

func TestIndexPushedWhole(t *testing.T) {
	e := newEnv(t)
	idx := multiPlatformIndex(t)
	a, err := image.OpenOCI(writeLayout(t, idx, ""), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(a.Platforms, ","); got != "linux/amd64,linux/arm64" {
		t.Errorf("platforms %q", got)
	}
	repo := e.repo(t, "multi")
	res := push(t, e, a, mutable(repo), "v1.0.0")
	if res.UploadedLayers != 4 {
		t.Errorf("uploaded %d layers, want 4", res.UploadedLayers)
	}
	pulled, err := remote.Index(repo.Tag("v1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(pulled); err != nil {
		t.Errorf("pushed index does not validate: %v", err)
	}
	if got := digestOf(t, pulled); got != a.Digest {
		t.Errorf("tag names %s, want %s", got, a.Digest)
	}
}

func TestDockerArchiveCompressesEachLayerOnce(t *testing.T) {
	e := newEnv(t)
	img := randomImage(t, 64<<10, 4)
	file := filepath.Join(t.TempDir(), "save.tar")
	if err := imagetest.WriteDockerSave(file, img, "app:dev"); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	var logged []string
	a, err := image.OpenArchive(context.Background(), file, image.ArchiveOptions{TempDir: tmp, Jobs: 2, Logf: func(f string, args ...any) {
		logged = append(logged, fmt.Sprintf(f, args...))
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(logged) != 4 {
		t.Errorf("logged %d layer lines, want 4: %q", len(logged), logged)
	}
	files, _ := os.ReadDir(tmp)
	if len(files) != 4 {
		t.Errorf("%d compressed layer files, want 4", len(files))
	}
	repo := e.repo(t, "archive")
	push(t, e, a, mutable(repo), "dev")
	pulled, err := remote.Image(repo.Tag("dev"))
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(pulled); err != nil {
		t.Fatalf("pushed image does not validate: %v", err)
	}
	// Same config (image ID) and the same layer contents as the source.
	if got, want := mustName(t, pulled), mustName(t, img); got != want {
		t.Errorf("config digest %s, want %s", got, want)
	}
	want, _ := img.Layers()
	got, _ := pulled.Layers()
	for i := range want {
		if digestOfDiff(t, got[i]) != digestOfDiff(t, want[i]) {
			t.Errorf("layer %d diff ID differs", i)
		}
		mt, _ := got[i].MediaType()
		if mt != types.DockerLayer {
			t.Errorf("layer %d media type %s, want %s", i, mt, types.DockerLayer)
		}
	}
}

func mustName(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	h, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func digestOfDiff(t *testing.T, l v1.Layer) v1.Hash {
	t.Helper()
	h, err := l.DiffID()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestDockerArchiveWithCompressedLayersAndRepeats(t *testing.T) {
	// go-containerregistry's tarball.Write keeps layers compressed; the
	// archive source takes them as they are.
	img := randomImage(t, 1024, 2)
	file := filepath.Join(t.TempDir(), "ggcr.tar")
	ref, _ := name.ParseReference("example.com/app:1")
	if err := tarball.WriteToFile(file, ref, img); err != nil {
		t.Fatal(err)
	}
	a, err := image.OpenArchive(context.Background(), file, image.ArchiveOptions{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(a.Image); err != nil {
		t.Errorf("validate: %v", err)
	}
	// A docker save tarball repeating a layer links to it.
	l, _ := img.Layers()
	rep, err := mutate.AppendLayers(img, l[0])
	if err != nil {
		t.Fatal(err)
	}
	file2 := filepath.Join(t.TempDir(), "repeat.tar")
	if err := imagetest.WriteDockerSave(file2, rep, ""); err != nil {
		t.Fatal(err)
	}
	a2, err := image.OpenArchive(context.Background(), file2, image.ArchiveOptions{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if a2.Layers != 2 {
		t.Errorf("distinct layers %d, want 2", a2.Layers)
	}
	if err := validate.Image(a2.Image); err != nil {
		t.Errorf("validate: %v", err)
	}
}

func TestDockerArchiveErrors(t *testing.T) {
	dir := t.TempDir()
	notTar := filepath.Join(dir, "x.tar")
	os.WriteFile(notTar, []byte("hello"), 0o644)
	_, err := image.OpenArchive(context.Background(), notTar, image.ArchiveOptions{TempDir: dir})
	if err == nil || !strings.Contains(err.Error(), "docker-archive:"+notTar) {
		t.Errorf("not a tarball: err %v, want one naming the source", err)
	}
	_, err = image.OpenArchive(context.Background(), filepath.Join(dir, "missing.tar"), image.ArchiveOptions{TempDir: dir})
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err %v", err)
	}
}

type fakeEngine struct{ file string }

func (f fakeEngine) Save(ctx context.Context, ref string, w io.Writer) (int64, error) {
	if ref != "app:dev" {
		return 0, fmt.Errorf("no such image: %s", ref)
	}
	r, err := os.Open(f.file)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	return io.Copy(w, r)
}

func TestDockerDaemonSource(t *testing.T) {
	img := randomImage(t, 2048, 2)
	file := filepath.Join(t.TempDir(), "save.tar")
	if err := imagetest.WriteDockerSave(file, img, "app:dev"); err != nil {
		t.Fatal(err)
	}
	a, err := image.OpenDaemon(context.Background(), fakeEngine{file}, "app:dev", t.TempDir(), image.ArchiveOptions{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if a.Source != "docker-daemon:app:dev" {
		t.Errorf("source %q", a.Source)
	}
	if got, want := mustName(t, a.Image), mustName(t, img); got != want {
		t.Errorf("config %s, want %s", got, want)
	}
	_, err = image.OpenDaemon(context.Background(), fakeEngine{file}, "other", t.TempDir(), image.ArchiveOptions{TempDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "docker-daemon:other") {
		t.Errorf("unknown image: err %v", err)
	}
}

func TestRemoteSourceAcrossRegistries(t *testing.T) {
	src, dst := newEnv(t), newEnv(t)
	img := randomImage(t, 2048, 2)
	srcRef := src.repo(t, "upstream").Tag("1.0")
	if err := remote.Write(srcRef, img); err != nil {
		t.Fatal(err)
	}
	a, err := image.OpenRemote(context.Background(), dst.reg.Puller(), srcRef.String())
	if err != nil {
		t.Fatal(err)
	}
	repo := dst.repo(t, "copy")
	res := push(t, dst, a, mutable(repo), "1.0")
	if res.UploadedLayers != 2 {
		t.Errorf("uploaded %d layers, want 2", res.UploadedLayers)
	}
	if got := remoteDigest(t, repo.Tag("1.0").String()); got != digestOf(t, img) {
		t.Errorf("copied digest %s, want %s", got, digestOf(t, img))
	}
	_, err = image.OpenRemote(context.Background(), dst.reg.Puller(), src.host+"/upstream:nope")
	if err == nil || !strings.Contains(err.Error(), "docker://"+src.host+"/upstream:nope") {
		t.Errorf("missing source: err %v", err)
	}
}

func TestImmutableTagConflictFailsBeforeAnyWrite(t *testing.T) {
	e := newEnv(t)
	repo := e.repo(t, "prod")
	first := randomImage(t, 512, 1)
	a1, err := image.OpenOCI(writeLayout(t, first, ""), "")
	if err != nil {
		t.Fatal(err)
	}
	push(t, e, a1, mutable(repo), "v1.2.3", "latest", "v1")

	second := randomImage(t, 512, 1)
	a2, err := image.OpenOCI(writeLayout(t, second, ""), "")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		target    image.Target
		conflicts []string
		fix       string
	}{
		{"immutable", image.Target{Repository: repo, Mutability: "IMMUTABLE"}, []string{"v1.2.3", "latest", "v1"}, "IMMUTABLE_WITH_EXCLUSION with image_tag_mutability_exclusion_filters: latest,v1"},
		{"latest excluded", image.Target{Repository: repo, Mutability: "IMMUTABLE_WITH_EXCLUSION", Filters: []string{"latest", "v1"}}, []string{"v1.2.3"}, "tag that does not exist yet"},
		{"releases locked", image.Target{Repository: repo, Mutability: "MUTABLE_WITH_EXCLUSION", Filters: []string{"v*.*.*"}}, []string{"v1.2.3"}, "match image_tag_mutability_exclusion_filters (v*.*.*)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.rt.reset()
			_, err := e.reg.Plan(context.Background(), a2, c.target, []string{"sha-new", "v1.2.3", "latest", "v1"}, false)
			var ite *image.ImmutableTagError
			if !errors.As(err, &ite) {
				t.Fatalf("err %v, want *ImmutableTagError", err)
			}
			var got []string
			for _, cf := range ite.Conflicts {
				got = append(got, cf.Tag)
			}
			if strings.Join(got, ",") != strings.Join(c.conflicts, ",") {
				t.Errorf("conflicts %v, want %v", got, c.conflicts)
			}
			if !strings.Contains(err.Error(), c.fix) || !strings.Contains(err.Error(), "Nothing was pushed") {
				t.Errorf("message lacks %q:\n%s", c.fix, err)
			}
			if w := e.rt.writes(); w != 0 {
				t.Errorf("%d write requests before the conflict was found; want 0", w)
			}
		})
	}

	// Mutable: the tags move and the plan says from where.
	plan, err := e.reg.Plan(context.Background(), a2, mutable(repo), []string{"latest"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Tags[0].Action != image.TagMoved || plan.Tags[0].Previous != a1.Digest.String() {
		t.Errorf("mutable plan %+v, want moved from %s", plan.Tags[0], a1.Digest)
	}
}

func TestRetagMovesNoLayerBytes(t *testing.T) {
	for _, size := range []int64{1 << 10, 1 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			e := newEnv(t)
			repo := e.repo(t, "promote")
			img := randomImage(t, size, 5)
			a, err := image.OpenOCI(writeLayout(t, img, ""), "")
			if err != nil {
				t.Fatal(err)
			}
			push(t, e, a, mutable(repo), "abc1234")

			for _, tags := range [][]string{{"v1.0.0"}, {"v1.0.1", "v1.0", "v1", "stable"}} {
				e.rt.reset()
				for _, from := range []string{"abc1234", a.Digest.String()} {
					src, err := e.reg.Resolve(context.Background(), repo, from)
					if err != nil {
						t.Fatal(err)
					}
					if src.Digest != a.Digest {
						t.Fatalf("resolved %s, want %s", src.Digest, a.Digest)
					}
					plan, err := e.reg.Plan(context.Background(), src, mutable(repo), tags, true)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := uploadAndTag(e.reg, plan); err != nil {
						t.Fatal(err)
					}
				}
				got := e.rt.snapshot()
				// One GET per resolve: the config blob, to read the
				// platform. No layer is read, checked or uploaded.
				if got["GET blob"] != 2 || got["HEAD blob"]+got["POST upload"]+got["PATCH upload"]+got["PUT upload"] > 0 {
					t.Errorf("retag touched blobs: %v", got)
				}
				// The first resolve tags (one PUT per tag); the second finds
				// every tag unchanged.
				if got["PUT manifest"] != len(tags) {
					t.Errorf("PUT manifest %d, want %d (%v)", got["PUT manifest"], len(tags), got)
				}
				if got["HEAD manifest"] != 2*len(tags) {
					t.Errorf("HEAD manifest %d, want %d (%v)", got["HEAD manifest"], 2*len(tags), got)
				}
				for _, tag := range tags {
					if d := remoteDigest(t, repo.Tag(tag).String()); d != a.Digest {
						t.Errorf("tag %s names %s", tag, d)
					}
				}
			}
		})
	}
	e := newEnv(t)
	_, err := e.reg.Resolve(context.Background(), e.repo(t, "none"), "v9")
	if err == nil || !strings.Contains(err.Error(), `retag_from "v9": no such image`) {
		t.Errorf("missing retag_from: %v", err)
	}
}

func TestProgressLines(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var lines []string
	reg, err := image.New(image.Options{
		Keychain: authn.NewMultiKeychain(), Transport: slowTransport{e.rt}, ProgressEvery: 20 * time.Millisecond,
		Logf: func(f string, args ...any) { mu.Lock(); lines = append(lines, fmt.Sprintf(f, args...)); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := image.OpenOCI(writeLayout(t, randomImage(t, 512<<10, 2), ""), "")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := reg.Plan(context.Background(), a, mutable(e.repo(t, "slow")), []string{"x"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := uploadAndTag(reg, plan); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lines) == 0 {
		t.Fatal("no progress line for a slow push")
	}
	t.Logf("first progress line: %s", lines[0])
	if !strings.Contains(lines[0], "uploading: ") || !strings.Contains(lines[0], "/s") {
		t.Errorf("progress line %q lacks bytes and rate", lines[0])
	}
}

// slowTransport reads blob uploads slowly so that progress lines are due.
type slowTransport struct{ next http.RoundTripper }

func (s slowTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPatch && r.Body != nil {
		r.Body = &slowBody{r.Body}
	}
	return s.next.RoundTrip(r)
}

type slowBody struct{ io.ReadCloser }

func (b *slowBody) Read(p []byte) (int, error) {
	time.Sleep(5 * time.Millisecond)
	return b.ReadCloser.Read(p[:min(len(p), 16<<10)])
}

func nopLogger() *log.Logger { return log.New(io.Discard, "", 0) }

// TestUploadWritesNoTag: Upload leaves the image reachable by digest only,
// so the scan gate can decide before Tag lets any tag name it.
func TestUploadWritesNoTag(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, err := image.FromImage("test", randomImage(t, 1024, 2))
	if err != nil {
		t.Fatal(err)
	}
	repo := e.repo(t, "app")
	plan, err := e.reg.Plan(ctx, a, mutable(repo), []string{"v1", "latest"}, false)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.reg.Upload(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Head(repo.Digest(res.Digest)); err != nil {
		t.Errorf("the image is not there by digest after Upload: %v", err)
	}
	for _, tag := range []string{"v1", "latest"} {
		if _, err := remote.Head(repo.Tag(tag)); err == nil {
			t.Errorf("tag %s exists after Upload; only Tag may write it", tag)
		}
	}
	if err := e.reg.Tag(ctx, plan); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"v1", "latest"} {
		d, err := remote.Head(repo.Tag(tag))
		if err != nil || d.Digest.String() != res.Digest {
			t.Errorf("tag %s after Tag: %v, %v; want %s", tag, d, err, res.Digest)
		}
	}
}

// uploadAndTag writes a plan as the action does when nothing gates it:
// Upload, then Tag.
func uploadAndTag(reg *image.Client, plan *image.Plan) (*image.Result, error) {
	ctx := context.Background()
	res, err := reg.Upload(ctx, plan)
	if err != nil {
		return nil, err
	}
	return res, reg.Tag(ctx, plan)
}
