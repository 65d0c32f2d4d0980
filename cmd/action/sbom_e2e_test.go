package main

// End-to-end tests of the SBOM and provenance referrers: the built binary
// pushes an image to ecrlocal, and the tests read back what the registry's
// referrers API lists, the documents themselves, and what a re-run does.

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/org/ecr-action/internal/referrer"
	"github.com/org/ecr-action/internal/testing/ecrlocal"
)

// rootLayer is a layer holding files (path without a leading slash → body).
func rootLayer(t *testing.T, files map[string][]byte) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(files[n])), ModTime: time.Unix(0, 0)}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(files[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// osImage is a linux image of the host's architecture (the Go program is
// built for it) made of layers, created at a fixed time.
func osImage(t *testing.T, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Created = v1.Time{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// testdataFile reads a file of the repository's testdata.
func testdataFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", p))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// installedDebs are "name version" of the installed packages in a dpkg
// status file, read here independently of internal/sbom.
func installedDebs(status []byte) []string {
	var out []string
	for _, stanza := range strings.Split(string(status), "\n\n") {
		var name, version, state string
		sc := bufio.NewScanner(strings.NewReader(stanza))
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), ":")
			switch k {
			case "Package":
				name = strings.TrimSpace(v)
			case "Version":
				version = strings.TrimSpace(v)
			case "Status":
				state = strings.TrimSpace(v)
			}
		}
		if name != "" && state == "install ok installed" {
			out = append(out, name+" "+version)
		}
	}
	sort.Strings(out)
	return out
}

// installedApks are "name version" of an apk installed database.
func installedApks(db []byte) []string {
	var out []string
	for _, stanza := range strings.Split(string(db), "\n\n") {
		var name, version string
		for _, line := range strings.Split(stanza, "\n") {
			if v, ok := strings.CutPrefix(line, "P:"); ok {
				name = v
			}
			if v, ok := strings.CutPrefix(line, "V:"); ok {
				version = v
			}
		}
		if name != "" {
			out = append(out, name+" "+version)
		}
	}
	sort.Strings(out)
	return out
}

type spdxDoc struct {
	SPDXVersion string `json:"spdxVersion"`
	Packages    []struct {
		Name         string `json:"name"`
		VersionInfo  string `json:"versionInfo"`
		ExternalRefs []struct {
			ReferenceType    string `json:"referenceType"`
			ReferenceLocator string `json:"referenceLocator"`
		} `json:"externalRefs"`
	} `json:"packages"`
}

// packagesOfType are "name version" of the document's packages whose purl
// is of type (deb, apk, golang).
func (d *spdxDoc) packagesOfType(typ string) []string {
	var out []string
	for _, p := range d.Packages {
		for _, r := range p.ExternalRefs {
			if r.ReferenceType == "purl" && strings.HasPrefix(r.ReferenceLocator, "pkg:"+typ+"/") {
				out = append(out, p.Name+" "+p.VersionInfo)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// referrersOf lists what the registry's referrers API returns for digest.
func (e *env) referrersOf(t *testing.T, digest string) []v1.Descriptor {
	t.Helper()
	nd, err := name.NewDigest(strings.TrimPrefix(e.url, "http://") + "/" + repoName + "@" + digest)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Referrers(nd, e.keychain(t))
	if err != nil {
		t.Fatalf("referrers of %s: %v", digest, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	return m.Manifests
}

// document fetches a referrer and returns the document it carries.
func (e *env) document(t *testing.T, digest string) []byte {
	t.Helper()
	img, err := remote.Image(e.ref(t, repoName+"@"+digest), e.keychain(t))
	if err != nil {
		t.Fatalf("pulling referrer %s: %v", digest, err)
	}
	b, err := referrer.Document(img)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// byType maps artifactType to digest, failing on a type listed twice.
func byType(t *testing.T, ds []v1.Descriptor) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, d := range ds {
		if _, dup := m[d.ArtifactType]; dup {
			t.Errorf("two referrers of type %s: %v", d.ArtifactType, ds)
		}
		m[d.ArtifactType] = d.Digest.String()
	}
	return m
}

var (
	schemaOnce sync.Once
	spdxSch    *jsonschema.Schema
	slsaSch    *jsonschema.Schema
	schemaErr  error
)

// schemas compiles the SPDX 2.3 schema vendored in internal/sbom and the
// in-toto statement + SLSA v1 schema vendored in internal/provenance,
// offline.
func schemas(t *testing.T) (spdx, slsa *jsonschema.Schema) {
	t.Helper()
	schemaOnce.Do(func() {
		compile := func(file, id string) (*jsonschema.Schema, error) {
			f, err := os.Open(file)
			if err != nil {
				return nil, err
			}
			defer f.Close()
			doc, err := jsonschema.UnmarshalJSON(f)
			if err != nil {
				return nil, err
			}
			c := jsonschema.NewCompiler()
			c.UseLoader(offline{})
			c.AssertFormat()
			if err := c.AddResource(id, doc); err != nil {
				return nil, err
			}
			return c.Compile(id)
		}
		spdxSch, schemaErr = compile(filepath.Join("..", "..", "internal", "sbom", "testdata", "schema", "spdx-schema-2.3.json"), "http://spdx.org/rdf/terms/2.3")
		if schemaErr == nil {
			slsaSch, schemaErr = compile(filepath.Join("..", "..", "internal", "provenance", "testdata", "slsa-provenance-v1.schema.json"), "https://ecr-action.test/schema/in-toto-statement-v1-slsa-provenance-v1.json")
		}
	})
	if schemaErr != nil {
		t.Fatalf("compiling the schemas: %v", schemaErr)
	}
	return spdxSch, slsaSch
}

type offline struct{}

func (offline) Load(url string) (any, error) {
	return nil, errors.New("schemas are loaded offline only; not loading " + url)
}

func validateJSON(t *testing.T, s *jsonschema.Schema, b []byte) error {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	return s.Validate(doc)
}

// goProgram builds a small Go program for linux on the host's
// architecture, offline, with one dependency from the module cache
// (go-cmp, which this module requires) and one replaced by a directory.
func goProgram(t *testing.T) []byte {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err) // the harness builds the action with it
	}
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":               "module example.com/hello\n\ngo 1.22\n\nrequire (\n\texample.com/greeting v1.2.3\n\tgithub.com/google/go-cmp v0.7.0\n)\n\nreplace example.com/greeting v1.2.3 => ./greeting\n",
		"main.go":              "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/greeting\"\n\t\"github.com/google/go-cmp/cmp\"\n)\n\nfunc main() { fmt.Println(greeting.Hello(), cmp.Equal(1, 1)) }\n",
		"greeting/go.mod":      "module example.com/greeting\n\ngo 1.22\n",
		"greeting/greeting.go": "package greeting\n\nfunc Hello() string { return \"hello\" }\n",
	}
	for n, body := range files {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(gobin, "build", "-o", "hello", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0",
		"GOPROXY=off", "GOFLAGS=-mod=mod", "GOWORK=off", "GOSUMDB=off", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the test Go program: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "hello"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const debianOSRelease = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n"
const alpineOSRelease = "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME=\"Alpine Linux v3.20\"\n"

// checkAttached checks one pushed image: the outputs name the SBOM and
// provenance referrers, the referrers API lists exactly them under the
// image's digest, both validate against their schemas, and the SBOM's
// packages of typ are want. It returns the SBOM.
func (e *env) checkAttached(t *testing.T, outputs map[string]string, digest, typ string, want []string) *spdxDoc {
	t.Helper()
	types := byType(t, e.referrersOf(t, digest))
	if len(types) != 2 || types[referrer.SPDXJSON] == "" || types[referrer.InTotoJSON] == "" {
		t.Fatalf("referrers of %s by type: %v; want one SPDX and one in-toto", digest, types)
	}
	if outputs["sbom_digest"] != types[referrer.SPDXJSON] || outputs["provenance_digest"] != types[referrer.InTotoJSON] {
		t.Errorf("outputs sbom_digest %q, provenance_digest %q; the referrers API lists %v", outputs["sbom_digest"], outputs["provenance_digest"], types)
	}
	spdxS, slsaS := schemas(t)
	sb := e.document(t, types[referrer.SPDXJSON])
	if err := validateJSON(t, spdxS, sb); err != nil {
		t.Errorf("the SBOM does not validate against SPDX 2.3: %v", err)
	}
	var doc spdxDoc
	if err := json.Unmarshal(sb, &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.packagesOfType(typ); !slices.Equal(got, want) {
		t.Errorf("SBOM %s packages:\n got %q\nwant %q", typ, got, want)
	}
	pv := e.document(t, types[referrer.InTotoJSON])
	if err := validateJSON(t, slsaS, pv); err != nil {
		t.Errorf("the provenance does not validate against the in-toto statement and SLSA v1 schemas: %v", err)
	}
	var st struct {
		Subject []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
		Predicate struct {
			BuildDefinition struct {
				ResolvedDependencies []struct {
					Digest map[string]string `json:"digest"`
				} `json:"resolvedDependencies"`
			} `json:"buildDefinition"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(pv, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Subject) != 1 || "sha256:"+st.Subject[0].Digest["sha256"] != digest {
		t.Errorf("provenance subject %+v; want %s", st.Subject, digest)
	}
	if deps := st.Predicate.BuildDefinition.ResolvedDependencies; len(deps) == 0 || deps[0].Digest["gitCommit"] != "0123456789abcdef0123456789abcdef01234567" {
		t.Errorf("provenance dependencies %+v; want the commit first", deps)
	}
	return &doc
}

func TestSBOMAndProvenanceDebianWithGoBinary(t *testing.T) {
	sharedTest(t)
	e := start(t)
	j := newJob(t)
	status := testdataFile(t, "scan/debian/var/lib/dpkg/status")
	img := osImage(t,
		rootLayer(t, map[string][]byte{"var/lib/dpkg/status": status, "etc/os-release": []byte(debianOSRelease)}),
		rootLayer(t, map[string][]byte{"usr/local/bin/hello": goProgram(t)}))
	writeOCI(t, j.workspace("out"), img)
	digest := mustDigest(t, img)

	out := e.runJob(t, j, seedInputs("source", "oci:out"))
	if out.ExitCode != 0 {
		t.Fatalf("exit %d\n%s", out.ExitCode, out.Log)
	}
	want := installedDebs(status)
	if len(want) != 6 {
		t.Fatalf("the test's dpkg reading found %d installed packages, want 6: %q", len(want), want)
	}
	doc := e.checkAttached(t, out.Outputs, digest, "deb", want)
	gomods := doc.packagesOfType("golang")
	for _, m := range []string{"github.com/google/go-cmp v0.7.0", "example.com/hello "} {
		if !slices.ContainsFunc(gomods, func(s string) bool { return strings.HasPrefix(s, m) }) {
			t.Errorf("SBOM Go modules %q lack %q", gomods, m)
		}
	}
	for _, s := range []string{"## SBOM and provenance", out.Outputs["sbom_digest"], out.Outputs["provenance_digest"], "6 OS package(s)", "unsigned"} {
		if !strings.Contains(out.Summary, s) {
			t.Errorf("summary lacks %q:\n%s", s, out.Summary)
		}
	}
	// The referrers went on before the tags.
	log := out.Log
	if a, tg := strings.Index(log, "attached as"), strings.Index(log, "tag(s) written"); a < 0 || tg < 0 || a > tg {
		t.Errorf("referrers attached at %d, tags written at %d in the log; want referrers first\n%s", a, tg, log)
	}

	// A re-run with the same inputs (a new run id, so a different
	// provenance) pushes no manifest and reports the same digests.
	e.srv.ResetCalls()
	j.env["GITHUB_RUN_ID"] = "2"
	again := e.runJob(t, j, seedInputs("source", "oci:out"))
	if again.ExitCode != 0 {
		t.Fatalf("re-run exit %d\n%s", again.ExitCode, again.Log)
	}
	if n := e.srv.RegistryCalls()["manifest.put"]; n != 0 {
		t.Errorf("re-run put %d manifests; want none", n)
	}
	for _, o := range []string{"sbom_digest", "provenance_digest"} {
		if again.Outputs[o] != out.Outputs[o] {
			t.Errorf("re-run output %s = %q, want %q", o, again.Outputs[o], out.Outputs[o])
		}
	}
	if got := len(e.referrersOf(t, digest)); got != 2 {
		t.Errorf("after the re-run the image has %d referrers, want 2", got)
	}
	if !strings.Contains(again.Summary, "already attached") {
		t.Errorf("re-run summary does not say already attached:\n%s", again.Summary)
	}
}

func TestSBOMAndProvenanceAlpineImmutable(t *testing.T) {
	sharedTest(t)
	e := start(t)
	j := newJob(t)
	db := testdataFile(t, "scan/alpine/lib/apk/db/installed")
	img := osImage(t, rootLayer(t, map[string][]byte{"lib/apk/db/installed": db, "etc/os-release": []byte(alpineOSRelease)}))
	writeOCI(t, j.workspace("out"), img)
	digest := mustDigest(t, img)

	inputs := seedInputs("source", "oci:out", "image_tag_mutability", "IMMUTABLE", "tag_latest", "false")
	out := e.runJob(t, j, inputs)
	if out.ExitCode != 0 {
		t.Fatalf("exit %d\n%s", out.ExitCode, out.Log)
	}
	want := installedApks(db)
	if len(want) != 4 {
		t.Fatalf("the test's apk reading found %d packages, want 4: %q", len(want), want)
	}
	e.checkAttached(t, out.Outputs, digest, "apk", want)
	if got := e.digestOf(t, repoName+":"+shortSHA); got != digest {
		t.Errorf("tag %s names %s, want %s", shortSHA, got, digest)
	}
	again := e.runJob(t, j, inputs)
	if again.ExitCode != 0 {
		t.Fatalf("re-run in the immutable repository: exit %d\n%s", again.ExitCode, again.Log)
	}
	if got := len(e.referrersOf(t, digest)); got != 2 {
		t.Errorf("after the re-run the image has %d referrers, want 2", got)
	}
}

func TestSBOMPerPlatformOfAnIndex(t *testing.T) {
	sharedTest(t)
	e := start(t)
	j := newJob(t)
	if err := os.WriteFile(j.workspace("hello.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := e.runJob(t, j, seedInputs("base_image", "scratch", "files", "hello.txt:/srv/", "platforms", "linux/amd64,linux/arm64"))
	if out.ExitCode != 0 {
		t.Fatalf("exit %d\n%s", out.ExitCode, out.Log)
	}
	idx, err := remote.Index(e.ref(t, repoName+"@"+out.Outputs["image_digest"]), e.keychain(t))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, m := range im.Manifests {
		types := byType(t, e.referrersOf(t, m.Digest.String()))
		if len(types) != 1 || types[referrer.SPDXJSON] == "" {
			t.Errorf("referrers of %s (%s): %v; want one SPDX", m.Digest, m.Platform, types)
		}
		want = append(want, m.Platform.OS+"/"+m.Platform.Architecture+"="+types[referrer.SPDXJSON])
	}
	sort.Strings(want)
	if got := strings.Split(out.Outputs["sbom_digest"], "\n"); !slices.Equal(got, want) {
		t.Errorf("sbom_digest = %q, want %q", got, want)
	}
	types := byType(t, e.referrersOf(t, out.Outputs["image_digest"]))
	if len(types) != 1 || types[referrer.InTotoJSON] != out.Outputs["provenance_digest"] {
		t.Errorf("referrers of the index: %v; want the provenance %s", types, out.Outputs["provenance_digest"])
	}
	// The provenance lists the file the build copied in, with its digest
	// (sha256 of "hello"), after the commit.
	var st struct {
		Predicate struct {
			BuildDefinition struct {
				ResolvedDependencies []struct {
					URI    string            `json:"uri"`
					Digest map[string]string `json:"digest"`
				} `json:"resolvedDependencies"`
			} `json:"buildDefinition"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(e.document(t, out.Outputs["provenance_digest"]), &st); err != nil {
		t.Fatal(err)
	}
	deps := st.Predicate.BuildDefinition.ResolvedDependencies
	if len(deps) != 2 || deps[1].URI != "file:hello.txt" || deps[1].Digest["sha256"] != "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" {
		t.Errorf("provenance dependencies %+v; want the commit and file:hello.txt at sha256:2cf24dba…", deps)
	}
}

func TestSBOMAndProvenanceOff(t *testing.T) {
	sharedTest(t)
	e := start(t)
	j := newJob(t)
	img := testImage(t, 1)
	writeOCI(t, j.workspace("out"), img)
	out := e.runJob(t, j, seedInputs("source", "oci:out", "sbom", "false", "provenance", "false"))
	if out.ExitCode != 0 {
		t.Fatalf("exit %d\n%s", out.ExitCode, out.Log)
	}
	if n := len(e.referrersOf(t, mustDigest(t, img))); n != 0 {
		t.Errorf("%d referrers with sbom and provenance false", n)
	}
	if out.Outputs["sbom_digest"] != "" || out.Outputs["provenance_digest"] != "" || strings.Contains(out.Summary, "## SBOM") {
		t.Errorf("outputs %v / summary mention referrers that were not pushed:\n%s", out.Outputs, out.Summary)
	}
}

// Outside a GitHub Actions run (no workflow ref), provenance true fails
// before any write, naming what is missing and the way out.
func TestProvenanceWithoutGitHubContextChangesNothing(t *testing.T) {
	sharedTest(t)
	e := start(t)
	j := newJob(t)
	writeOCI(t, j.workspace("out"), testImage(t, 1))
	j.env["GITHUB_WORKFLOW_REF"] = ""
	out := e.runJob(t, j, seedInputs("source", "oci:out"))
	if out.ExitCode == 0 {
		t.Fatalf("exit 0 without GITHUB_WORKFLOW_REF\n%s", out.Log)
	}
	for _, s := range []string{"GitHub.WorkflowRef", "provenance: false", "Nothing was changed in AWS"} {
		if !strings.Contains(out.Log, s) {
			t.Errorf("log lacks %q:\n%s", s, out.Log)
		}
	}
	if w := e.srv.WriteCalls(); w != 0 {
		t.Errorf("%d ECR write calls", w)
	}
}

// A referrer that cannot be pushed fails the step before any tag: the
// image is pushed first without them, then a re-run that attaches them
// meets a registry that fails every blob upload.
func TestReferrerPushFailureWritesNoTag(t *testing.T) {
	sharedTest(t)
	e := start(t)
	j := newJob(t)
	img := testImage(t, 1)
	writeOCI(t, j.workspace("out"), img)
	out := e.runJob(t, j, seedInputs("source", "oci:out", "sbom", "false", "provenance", "false"))
	if out.ExitCode != 0 {
		t.Fatalf("exit %d\n%s", out.ExitCode, out.Log)
	}
	if err := e.srv.InjectRegistry(ecrlocal.RegistryBlobUpload, ecrlocal.RegistryFault{Count: 1_000_000, Kind: ecrlocal.Fault503}); err != nil {
		t.Fatal(err)
	}
	out = e.runJob(t, j, seedInputs("source", "oci:out", "image_tags", "next"))
	if out.ExitCode == 0 {
		t.Fatalf("exit 0 with every blob upload failing\n%s", out.Log)
	}
	for _, s := range []string{"referrer of " + mustDigest(t, img), "no tag was written"} {
		if !strings.Contains(out.Log, s) {
			t.Errorf("log lacks %q:\n%s", s, out.Log)
		}
	}
	if _, err := remote.Head(e.ref(t, repoName+":next"), e.keychain(t)); err == nil {
		t.Errorf("tag next was written though the referrers failed")
	}
}

// withoutReferrers drops the artifacts that have a subject (an image's SBOM
// and provenance) from a DescribeImages answer.
func withoutReferrers(ds []ecrtypes.ImageDetail) []ecrtypes.ImageDetail {
	return slices.DeleteFunc(ds, func(d ecrtypes.ImageDetail) bool { return d.SubjectManifestDigest != nil })
}
