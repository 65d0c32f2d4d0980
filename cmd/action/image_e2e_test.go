package main

import (
	"context"

	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/org/ecr-action/internal/awsauth"
	"github.com/org/ecr-action/internal/testing/enginetest"
	"github.com/org/ecr-action/internal/testing/imagetest"
	"github.com/org/ecr-action/internal/testing/runner"
)

// The runner's default event is a push to main at this commit, so an image
// run tags <short sha> and latest.
const (
	shortSHA = "0123456"
	repoName = "canvas-ta-production-app"
)

// job is a run of the action with files prepared in its workspace.
type job struct {
	root string
	env  map[string]string
}

func newJob(t *testing.T) *job {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, runner.Workspace), 0o755); err != nil {
		t.Fatal(err)
	}
	return &job{root: root, env: map[string]string{}}
}

func (j *job) workspace(p string) string { return filepath.Join(j.root, runner.Workspace, p) }

func (e *env) runJob(t *testing.T, j *job, inputs map[string]string) *runner.Outcome {
	t.Helper()
	environ := localCredentials(e.url)
	for k, v := range j.env {
		environ[k] = v
	}
	out, err := runner.Run(context.Background(), runner.Job{Binary: actionBinary, Root: j.root, Inputs: inputs, Env: environ})
	if err != nil {
		t.Fatalf("running the action: %v", err)
	}
	checkNoSecrets(t, out, append([]string{environ["AWS_SECRET_ACCESS_KEY"], environ["AWS_SESSION_TOKEN"]}, e.registryPasswords(t)...))
	return out
}

// registryPasswords are every registry password ecrlocal has issued so far
// (each GetAuthorizationToken call issues a new one), the action's included.
func (e *env) registryPasswords(t *testing.T) []string {
	t.Helper()
	return e.srv.RegistryPasswords()
}

// keychain logs in to ecrlocal's registry as the action does.
func (e *env) keychain(t *testing.T) remote.Option {
	t.Helper()
	l, err := awsauth.Login(context.Background(), e.client, nil)
	if err != nil {
		t.Fatal(err)
	}
	return remote.WithAuth(&authn.Basic{Username: l.Username, Password: l.Password})
}

func (e *env) ref(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(strings.TrimPrefix(e.url, "http://") + "/" + s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *env) digestOf(t *testing.T, ref string) string {
	t.Helper()
	d, err := remote.Head(e.ref(t, ref), e.keychain(t))
	if err != nil {
		t.Fatalf("HEAD %s: %v", ref, err)
	}
	return d.Digest.String()
}

func testImage(t *testing.T, layers int) v1.Image {
	t.Helper()
	img, err := random.Image(32<<10, int64(layers))
	if err != nil {
		t.Fatal(err)
	}
	return linuxImage(t, img, nil)
}

// linuxImage is img with a linux/amd64 config (the platform the action
// pushes by default) and, when cmd is not nil, that command.
func linuxImage(t *testing.T, img v1.Image, cmd []string) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	if cmd != nil {
		cf.Config.Cmd = cmd
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func writeOCI(t *testing.T, dir string, img v1.Image) {
	t.Helper()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
}

func mustDigest(t *testing.T, img v1.Image) string {
	t.Helper()
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

func TestPushOCILayoutEndToEnd(t *testing.T) {
	sharedTest(t)
	e := start(t)
	j := newJob(t)
	img := testImage(t, 3)
	writeOCI(t, j.workspace("out"), img)
	digest := mustDigest(t, img)

	out := e.runJob(t, j, seedInputs("source", "oci:out"))
	if out.ExitCode != 0 {
		t.Fatalf("exit %d\n%s", out.ExitCode, out.Log)
	}
	repoURL := out.Outputs["repository_url"]
	want := map[string]string{
		"image_digest": digest,
		"image_uri":    repoURL + "@" + digest,
		"image_tags":   shortSHA + ",latest",
		"image_uris":   repoURL + ":" + shortSHA + "\n" + repoURL + ":latest",
	}
	for k, v := range want {
		if out.Outputs[k] != v {
			t.Errorf("output %s = %q, want %q", k, out.Outputs[k], v)
		}
	}
	for _, tag := range []string{shortSHA, "latest"} {
		if got := e.digestOf(t, repoName+":"+tag); got != digest {
			t.Errorf("tag %s names %s, want %s", tag, got, digest)
		}
	}
	pulled, err := remote.Image(e.ref(t, repoName+"@"+digest), e.keychain(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(pulled); err != nil {
		t.Errorf("pushed image does not validate: %v", err)
	}
	for _, s := range []string{"## Image", "oci:", "Pin it as", digest, "| `latest` | pushed |"} {
		if !strings.Contains(out.Summary, s) {
			t.Errorf("summary lacks %q:\n%s", s, out.Summary)
		}
	}

	// The same inputs again: no ECR write, no registry write, no blob check.
	e.srv.ResetCalls()
	out = e.runJob(t, j, seedInputs("source", "oci:out"))
	if out.ExitCode != 0 {
		t.Fatalf("re-run exit %d\n%s", out.ExitCode, out.Log)
	}
	calls := e.srv.RegistryCalls()
	for _, op := range []string{"blob.head", "upload.start", "upload.patch", "upload.put", "upload.mount", "manifest.put"} {
		if calls[op] != 0 {
			t.Errorf("re-run made %d %s requests (registry calls %v)", calls[op], op, calls)
		}
	}
	if w := e.srv.WriteCalls(); w != 0 {
		t.Errorf("re-run made %d ECR write calls", w)
	}
	if !strings.Contains(out.Summary, "nothing was pushed") || !strings.Contains(out.Summary, "| `latest` | unchanged |") {
		t.Errorf("re-run summary does not say unchanged:\n%s", out.Summary)
	}
}

func TestImmutableTagConflictChangesNothing(t *testing.T) {
	sharedTest(t)
	e := start(t)
	j := newJob(t)
	writeOCI(t, j.workspace("one"), testImage(t, 1))
	writeOCI(t, j.workspace("two"), testImage(t, 1))
	in := seedInputs("image_tag_mutability", "IMMUTABLE", "source", "oci:one")
	if out := e.runJob(t, j, in); out.ExitCode != 0 {
		t.Fatalf("first push: exit %d\n%s", out.ExitCode, out.Log)
	}
	before := e.digestOf(t, repoName+":latest")

	e.srv.ResetCalls()
	in["source"] = "oci:two"
	out := e.runJob(t, j, in)
	if out.ExitCode == 0 {
		t.Fatalf("pushing another image under immutable tags succeeded\n%s", out.Log)
	}
	for _, s := range []string{"::error title=Immutable tag::", `tag \"latest\"`, "IMMUTABLE_WITH_EXCLUSION", "Nothing was pushed"} {
		if !strings.Contains(out.Log, s) && !strings.Contains(out.Summary, strings.ReplaceAll(s, `\"`, `"`)) {
			t.Errorf("log and summary lack %q\nlog:\n%s\nsummary:\n%s", s, out.Log, out.Summary)
		}
	}
	if w := e.srv.WriteCalls(); w != 0 {
		t.Errorf("%d ECR write calls after the conflict", w)
	}
	calls := e.srv.RegistryCalls()
	for _, op := range []string{"upload.start", "upload.patch", "upload.put", "upload.mount", "manifest.put"} {
		if calls[op] != 0 {
			t.Errorf("%d %s requests after the conflict (registry calls %v)", calls[op], op, calls)
		}
	}
	if after := e.digestOf(t, repoName+":latest"); after != before {
		t.Errorf("latest moved from %s to %s", before, after)
	}
}

func TestDockerArchiveAndDaemonSources(t *testing.T) {
	sharedTest(t)
	e := start(t)
	img := testImage(t, 2)
	engine := enginetest.Start(t, map[string]v1.Image{"app:ci": img})
	wantConfig, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, source string }{
		{"archive", "docker-archive:app.tar"},
		{"daemon", "docker-daemon:app:ci"},
	} {
		t.Run(c.name, func(t *testing.T) {
			j := newJob(t)
			if err := imagetest.WriteDockerSave(j.workspace("app.tar"), img, "app:ci"); err != nil {
				t.Fatal(err)
			}
			j.env["DOCKER_HOST"] = engine.Host
			repo := "from-" + c.name
			out := e.runJob(t, j, seedInputs("repository", repo, "source", c.source))
			if out.ExitCode != 0 {
				t.Fatalf("exit %d\n%s", out.ExitCode, out.Log)
			}
			pulled, err := remote.Image(e.ref(t, repo+":"+shortSHA), e.keychain(t))
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Image(pulled); err != nil {
				t.Errorf("pushed image does not validate: %v", err)
			}
			if got, _ := pulled.ConfigName(); got != wantConfig {
				t.Errorf("config %s, want %s (the image ID must survive)", got, wantConfig)
			}
			if !strings.Contains(out.Log, "compressed") {
				t.Errorf("log does not show the layers being compressed:\n%s", out.Log)
			}
		})
	}
}

func TestRetagMovesNoLayer(t *testing.T) {
	sharedTest(t)
	e := start(t)
	j := newJob(t)
	writeOCI(t, j.workspace("out"), testImage(t, 4))
	if out := e.runJob(t, j, seedInputs("source", "oci:out")); out.ExitCode != 0 {
		t.Fatalf("push: exit %d\n%s", out.ExitCode, out.Log)
	}
	digest := e.digestOf(t, repoName+":"+shortSHA)

	e.srv.ResetCalls()
	out := e.runJob(t, j, seedInputs("retag_from", shortSHA, "tag_sha", "false", "tag_latest", "false", "image_tags", "v1.2.3,stable"))
	if out.ExitCode != 0 {
		t.Fatalf("retag: exit %d\n%s", out.ExitCode, out.Log)
	}
	calls := e.srv.RegistryCalls()
	for _, op := range []string{"blob.head", "upload.start", "upload.patch", "upload.put", "upload.mount"} {
		if calls[op] != 0 {
			t.Errorf("retag made %d %s requests (%v)", calls[op], op, calls)
		}
	}
	if calls["manifest.put"] != 2 {
		t.Errorf("manifest.put %d, want 2 (one per tag): %v", calls["manifest.put"], calls)
	}
	if e.srv.UploadedBytes() != 0 {
		t.Errorf("retag uploaded %d bytes", e.srv.UploadedBytes())
	}
	for _, tag := range []string{"v1.2.3", "stable"} {
		if got := e.digestOf(t, repoName+":"+tag); got != digest {
			t.Errorf("%s names %s, want %s", tag, got, digest)
		}
	}
	if out.Outputs["image_digest"] != digest || out.Outputs["image_tags"] != "v1.2.3,stable" {
		t.Errorf("outputs %v", out.Outputs)
	}
	if !strings.Contains(out.Summary, "Retagged in place") {
		t.Errorf("summary:\n%s", out.Summary)
	}

	out = e.runJob(t, j, seedInputs("retag_from", "v9.9.9", "tag_sha", "false", "image_tags", "x"))
	if out.ExitCode == 0 || !strings.Contains(out.Log, "retag_from") {
		t.Errorf("retag_from a missing tag: exit %d\n%s", out.ExitCode, out.Log)
	}
}

func TestRemoteSourceInTheSameRegistryIsMounted(t *testing.T) {
	sharedTest(t)
	e := start(t)
	j := newJob(t)
	writeOCI(t, j.workspace("out"), testImage(t, 3))
	if out := e.runJob(t, j, seedInputs("repository", "base", "source", "oci:out")); out.ExitCode != 0 {
		t.Fatalf("push base: exit %d\n%s", out.ExitCode, out.Log)
	}
	host := strings.TrimPrefix(e.url, "http://")
	copyTo := func(repo string) map[string]int {
		t.Helper()
		e.srv.ResetCalls()
		// No SBOM or provenance: their blobs are new, so uploaded, and this
		// test counts the image's blobs alone.
		out := e.runJob(t, j, seedInputs("repository", repo, "source", "docker://"+host+"/base:"+shortSHA, "sbom", "false", "provenance", "false"))
		if out.ExitCode != 0 {
			t.Fatalf("copy to %s: exit %d\n%s", repo, out.ExitCode, out.Log)
		}
		if a, b := e.digestOf(t, "base:"+shortSHA), e.digestOf(t, repo+":"+shortSHA); a != b {
			t.Errorf("copy %s differs from source %s", b, a)
		}
		return e.srv.RegistryCalls()
	}
	// ECR mounts nothing until the account enables BLOB_MOUNTING: the copy
	// uploads the blobs and still succeeds.
	if calls := copyTo("copy-unmounted"); calls["upload.mount"] != 0 || e.srv.UploadedBytes() == 0 {
		t.Errorf("with BLOB_MOUNTING off, want every blob uploaded; registry calls %v, %d bytes", calls, e.srv.UploadedBytes())
	}
	enableBlobMounting(t, e)
	calls := copyTo("copy")
	// Three layers and the config blob.
	if calls["upload.mount"] != 4 || calls["upload.patch"] != 0 || e.srv.UploadedBytes() != 0 {
		t.Errorf("want 4 blobs mounted and nothing uploaded; registry calls %v, %d bytes", calls, e.srv.UploadedBytes())
	}
}

// enableBlobMounting turns on the account setting without which ECR (and
// ecrlocal) mounts no blob across repositories.
func enableBlobMounting(t *testing.T, e *env) {
	t.Helper()
	if _, err := e.client.PutAccountSetting(context.Background(), &ecr.PutAccountSettingInput{Name: aws.String("BLOB_MOUNTING"), Value: aws.String("ENABLED")}); err != nil {
		t.Fatalf("PutAccountSetting BLOB_MOUNTING ENABLED: %v", err)
	}
}

func TestBadSourceChangesNothing(t *testing.T) {
	sharedTest(t)
	e := start(t)
	j := newJob(t)
	for _, c := range []struct{ source, want string }{
		{"oci:missing", "not an OCI image layout"},
		{"docker-archive:missing.tar", "missing.tar"},
		{"docker://" + strings.TrimPrefix(e.url, "http://") + "/nope:1", "nope"},
	} {
		t.Run(c.source, func(t *testing.T) {
			e.srv.ResetCalls()
			out := e.runJob(t, j, seedInputs("source", c.source))
			if out.ExitCode == 0 {
				t.Fatalf("succeeded\n%s", out.Log)
			}
			if !strings.Contains(out.Log, c.want) || !strings.Contains(out.Summary, "Nothing was changed in AWS") {
				t.Errorf("log lacks %q or summary lacks the no-change note\nlog:\n%s\nsummary:\n%s", c.want, out.Log, out.Summary)
			}
			if w := e.srv.WriteCalls(); w != 0 {
				t.Errorf("%d ECR write calls", w)
			}
		})
	}
}

func TestBuildEndToEnd(t *testing.T) {
	sharedTest(t)
	e := start(t)
	// A two-platform base in another repository of the same registry.
	var adds []mutate.IndexAddendum
	for _, arch := range []string{"amd64", "arm64"} {
		img := testImage(t, 1)
		cf, _ := img.ConfigFile()
		cf = cf.DeepCopy()
		cf.Architecture = arch
		img, err := mutate.ConfigFile(img, cf)
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	base := mutate.AppendManifests(empty.Index, adds...)
	createRepository(t, e.client, &ecr.CreateRepositoryInput{RepositoryName: aws.String("base")})
	if err := remote.WriteIndex(e.ref(t, "base:1"), base, e.keychain(t)); err != nil {
		t.Fatal(err)
	}

	j := newJob(t)
	for _, arch := range []string{"amd64", "arm64"} {
		p := j.workspace("dist/" + arch + "/app")
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("binary for "+arch), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	host := strings.TrimPrefix(e.url, "http://")
	in := seedInputs("base_image", host+"/base:1", "files", "dist/${TARGETARCH}/app:/app", "entrypoint", `["/app"]`)
	enableBlobMounting(t, e)
	e.srv.ResetCalls()
	out := e.runJob(t, j, in)
	if out.ExitCode != 0 {
		t.Fatalf("exit %d\n%s", out.ExitCode, out.Log)
	}
	idx, err := remote.Index(e.ref(t, repoName+":"+shortSHA), e.keychain(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(idx); err != nil {
		t.Errorf("pushed index does not validate: %v", err)
	}
	im, _ := idx.IndexManifest()
	if len(im.Manifests) != 2 {
		t.Errorf("%d manifests, want 2", len(im.Manifests))
	}
	if !strings.Contains(out.Summary, "linux/amd64, linux/arm64") {
		t.Errorf("summary lacks the platforms:\n%s", out.Summary)
	}
	// The base layers were mounted from the base repository, not uploaded.
	if calls := e.srv.RegistryCalls(); calls["upload.mount"] < 2 {
		t.Errorf("base layers not mounted: %v", calls)
	}
	cf, err := mustImage(t, idx, im.Manifests[0].Digest).ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.Labels["org.opencontainers.image.revision"] != "0123456789abcdef0123456789abcdef01234567" ||
		cf.Config.Labels["org.opencontainers.image.source"] != "https://github.com/org/app" {
		t.Errorf("OCI labels %v", cf.Config.Labels)
	}

	// Same inputs again: the same digest (reproducible), nothing pushed.
	first := out.Outputs["image_digest"]
	out = e.runJob(t, j, in)
	if out.ExitCode != 0 || out.Outputs["image_digest"] != first {
		t.Errorf("rebuild: exit %d, digest %s, want %s\n%s", out.ExitCode, out.Outputs["image_digest"], first, out.Log)
	}
	if !strings.Contains(out.Summary, "nothing was pushed") {
		t.Errorf("rebuild pushed again:\n%s", out.Summary)
	}

	// The base pinned by digest, with the provenance on (the default): the
	// provenance names the base once, by that digest.
	baseDigest, err := base.Digest()
	if err != nil {
		t.Fatal(err)
	}
	pinned := seedInputs("base_image", host+"/base:1@"+baseDigest.String(), "files", "dist/${TARGETARCH}/app:/app", "entrypoint", `["/app"]`, "image_tags", "pinned", "tag_sha", "false", "tag_latest", "false")
	out = e.runJob(t, j, pinned)
	if out.ExitCode != 0 || out.Outputs["provenance_digest"] == "" {
		t.Fatalf("a base pinned by digest: exit %d, provenance_digest %q\n%s", out.ExitCode, out.Outputs["provenance_digest"], out.Log)
	}
}

func mustImage(t *testing.T, idx v1.ImageIndex, h v1.Hash) v1.Image {
	t.Helper()
	img, err := idx.Image(h)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestBuildFromScratchInTheWorkspace(t *testing.T) {
	sharedTest(t)
	e := start(t)
	j := newJob(t)
	if err := os.WriteFile(j.workspace("hello.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := e.runJob(t, j, seedInputs("base_image", "scratch", "files", "hello.txt:/srv/", "cmd", "cat /srv/hello.txt"))
	if out.ExitCode != 0 {
		t.Fatalf("exit %d\n%s", out.ExitCode, out.Log)
	}
	img, err := remote.Image(e.ref(t, repoName+":latest"), e.keychain(t))
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	if strings.Join(cf.Config.Cmd, " ") != "cat /srv/hello.txt" || cf.Architecture != "amd64" {
		t.Errorf("config %+v", cf)
	}
	out = e.runJob(t, j, seedInputs("base_image", "scratch", "files", "missing.txt:/srv/"))
	if out.ExitCode == 0 || !strings.Contains(out.Log, "missing.txt") {
		t.Errorf("missing file: exit %d\n%s", out.ExitCode, out.Log)
	}
}
