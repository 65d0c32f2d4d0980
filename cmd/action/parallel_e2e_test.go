package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/org/ecr-action/internal/policy"
	"github.com/org/ecr-action/internal/testing/runner"
)

// These tests run the action as a matrix build does: parallelJobs processes
// released at the same moment against one ecrlocal, all ensuring the same
// repository, which does not exist yet, and pushing images that share a base
// layer.

const (
	parallelJobs = 20
	// baseLayerSize is the shared base layer's content, incompressible, so
	// its uploads stand out in the registry's uploaded bytes.
	baseLayerSize = 4 << 20
	// matrixTimeout bounds one run. It is far above what a run needs (a
	// few seconds) so a loaded 2-core machine under -race does not fail
	// the test; a run that hangs still ends.
	matrixTimeout = 5 * time.Minute
	apiPrefix     = "AmazonEC2ContainerRegistry_V20150921."
)

// Write operations one run may make on a repository another job creates at
// the same moment, each at most once: the creation (which carries scan on
// push, mutability, encryption and the resource tags), the lifecycle policy
// and the repository policy. ECR cannot set the two policies at creation, so
// a job that finds the repository before its creator wrote them writes the
// same text once; anything else (a second write of one setting, a tag or
// mutability rewrite, a delete) would be jobs fighting.
var raceWrites = []string{"CreateRepository", "PutLifecyclePolicy", "SetRepositoryPolicy"}

// apiCounter counts the ECR API operations of one run.
type apiCounter struct {
	mu  sync.Mutex
	ops map[string]int
	// notFound counts the calls answered RepositoryNotFoundException: with
	// ecrlocal's create delay, a run retries the calls after a create
	// until the new repository shows, and those calls changed nothing.
	notFound map[string]int
}

// counts are the run's API calls by operation, less those answered
// RepositoryNotFoundException.
func (c *apiCounter) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := maps.Clone(c.ops)
	for op, n := range c.notFound {
		if out[op] -= n; out[op] == 0 {
			delete(out, op)
		}
	}
	return out
}

// notFoundCalls is how many calls were answered RepositoryNotFoundException.
func (c *apiCounter) notFoundCalls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.notFound {
		n += v
	}
	return n
}

// countingEndpoint is an ECR endpoint for one run: a loopback proxy to
// ecrlocal that counts the run's API operations. Without a gate it forwards
// with ecrlocal's own Host, so GetAuthorizationToken names ecrlocal's
// registry and the registry traffic goes there directly. With a gate it
// keeps its own Host, so the run's registry traffic comes through the proxy
// too and the gate sees it.
func (e *env) countingEndpoint(t *testing.T, c *apiCounter, gate *tagGate) string {
	t.Helper()
	target, err := url.Parse(e.url)
	if err != nil {
		t.Fatal(err)
	}
	c.ops, c.notFound = map[string]int{}, map[string]int{}
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		if gate != nil {
			pr.Out.Host = pr.In.Host
		}
	}, ModifyResponse: func(resp *http.Response) error {
		op, ok := strings.CutPrefix(resp.Request.Header.Get("X-Amz-Target"), apiPrefix)
		if !ok || resp.StatusCode != http.StatusBadRequest {
			return nil
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if bytes.Contains(body, []byte("RepositoryNotFoundException")) {
			c.mu.Lock()
			c.notFound[op]++
			c.mu.Unlock()
		}
		return err
	}}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), apiPrefix); ok {
			c.mu.Lock()
			c.ops[op]++
			c.mu.Unlock()
		}
		if gate != nil && gate.serve(w, r, proxy, e.url) {
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts.URL
}

// tagGate holds every manifest PUT of one tag until want runs have looked
// the tag up, so that all of them find it free and then race to write it:
// the window between a run's look-up and its write, which timing alone
// opens only sometimes, is open for every run.
//
// With realECR it also answers a PUT to the tag, once the tag exists, with
// 400 TAG_INVALID whatever the digest, as ECR does for an immutable tag
// (ECR refuses to re-push an immutable tag even at the same digest:
// aws/containers-roadmap#2179; ecrlocal now refuses it too, and the gate
// keeps its own check so this case does not rest on ecrlocal alone). The
// check and the forwarded PUT are one step.
type tagGate struct {
	tag     string
	want    int
	realECR bool
	open    chan struct{}

	mu       sync.Mutex
	lookups  int
	rejected int // PUTs answered TAG_INVALID
	held     bool

	putMu sync.Mutex
}

// gateHold bounds how long a PUT waits for the others' look-ups: a run that
// failed before its look-up must not hang the test, it fails it.
const gateHold = 2 * time.Minute

func newTagGate(tag string, want int, realECR bool) *tagGate {
	return &tagGate{tag: tag, want: want, realECR: realECR, open: make(chan struct{})}
}

// serve handles the request when it is about the gated tag's manifest. A
// look-up is a registry HEAD or GET of the tag, or a BatchGetImage call
// naming it (how the action plans its tags).
func (g *tagGate) serve(w http.ResponseWriter, r *http.Request, proxy http.Handler, upstream string) bool {
	if r.Header.Get("X-Amz-Target") == apiPrefix+"BatchGetImage" {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return true
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		// Counted once answered: a tag write let through earlier could
		// land before the look-up reads the repository.
		proxy.ServeHTTP(w, r)
		if bytes.Contains(body, []byte(`"imageTag":"`+g.tag+`"`)) {
			g.mu.Lock()
			if g.lookups++; g.lookups == g.want {
				close(g.open)
			}
			g.mu.Unlock()
		}
		return true
	}
	name, ref, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/manifests/")
	if !ok || !strings.HasPrefix(r.URL.Path, "/v2/") || ref != g.tag {
		return false
	}
	switch r.Method {
	case http.MethodHead, http.MethodGet:
		g.mu.Lock()
		if g.lookups++; g.lookups == g.want {
			close(g.open)
		}
		g.mu.Unlock()
		return false
	case http.MethodPut:
	default:
		return false
	}
	select {
	case <-g.open:
	case <-time.After(gateHold):
		g.mu.Lock()
		g.held = true
		g.mu.Unlock()
	case <-r.Context().Done():
		return true
	}
	if !g.realECR {
		proxy.ServeHTTP(w, r)
		return true
	}
	g.putMu.Lock()
	defer g.putMu.Unlock()
	head, err := http.NewRequestWithContext(r.Context(), http.MethodHead, upstream+r.URL.Path, nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return true
	}
	head.Header.Set("Authorization", r.Header.Get("Authorization"))
	resp, err := http.DefaultClient.Do(head)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return true
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		g.mu.Lock()
		g.rejected++
		g.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		msg := fmt.Sprintf("The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the tag is immutable.", g.tag, name)
		_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": "TAG_INVALID", "message": msg}}})
		return true
	}
	proxy.ServeHTTP(w, r)
	return true
}

// report returns how many look-ups the gate saw, how many PUTs it refused,
// and whether it ever gave up waiting.
func (g *tagGate) report() (lookups, rejected int, held bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.lookups, g.rejected, g.held
}

// matrixRun is one job of the matrix and what came of it.
type matrixRun struct {
	job    *job
	inputs map[string]string
	digest string // the image the job pushes

	out *runner.Outcome
	err error
	api *apiCounter
}

// runMatrix starts every run at the same moment (the goroutines wait at a
// barrier that opens once all are ready) and waits for all of them. It
// returns the wall time from the release to the last exit.
func (e *env) runMatrix(t *testing.T, runs []*matrixRun, gate *tagGate) time.Duration {
	t.Helper()
	release := make(chan struct{})
	var ready, done sync.WaitGroup
	for _, r := range runs {
		r.api = &apiCounter{}
		endpoint := e.countingEndpoint(t, r.api, gate)
		ready.Add(1)
		done.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), matrixTimeout)
			defer cancel()
			ready.Done()
			<-release
			r.out, r.err = runner.Run(ctx, runner.Job{
				Binary: actionBinary, Root: r.job.root, Inputs: r.inputs,
				Env: map[string]string{
					"AWS_ACCESS_KEY_ID": "AKIDLOCAL", "AWS_SECRET_ACCESS_KEY": "local-secret-key",
					"AWS_SESSION_TOKEN": "test-session-token", "AWS_REGION": "us-east-1",
					"AWS_ENDPOINT_URL_ECR": endpoint,
				},
			})
		})
	}
	ready.Wait()
	begin := time.Now()
	close(release)
	done.Wait()
	wall := time.Since(begin)
	for i, r := range runs {
		if r.err != nil {
			t.Fatalf("job %d: running the action: %v", i, r.err)
		}
	}
	return wall
}

// checkSecrets fails the test when a credential reached a run's log,
// summary or outputs. Call it after the counts are taken: it logs in.
func (e *env) checkSecrets(t *testing.T, runs []*matrixRun) {
	t.Helper()
	secrets := append([]string{"local-secret-key", "test-session-token"}, e.registryPasswords(t)...)
	for i, r := range runs {
		for where, text := range map[string]string{"log": r.out.Log, "summary": r.out.Summary, "outputs": strings.Join(values(r.out.Outputs), "\n")} {
			for _, s := range secrets {
				if strings.Contains(text, s) {
					t.Errorf("job %d: a secret reached the %s", i, where)
				}
			}
		}
	}
}

// gzipLayer is a layer holding one file, compressed once, so its digest is
// the same whichever image holds it.
func gzipLayer(t *testing.T, path string, content []byte) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	hdr := &tar.Header{Name: path, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}
	if err := tw.WriteHeader(hdr); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// baseLayer is the layer every job's image starts from: baseLayerSize
// bytes of seeded noise.
func baseLayer(t *testing.T) v1.Layer {
	t.Helper()
	content := make([]byte, baseLayerSize)
	rng := rand.NewChaCha8([32]byte{'m', 'a', 't', 'r', 'i', 'x'})
	_, _ = rng.Read(content)
	return gzipLayer(t, "opt/base/blob", content)
}

// matrixImage is the base layer plus a layer of the job's own.
func matrixImage(t *testing.T, base v1.Layer, own string) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, base, gzipLayer(t, "app/job.txt", []byte(own+"\n")))
	if err != nil {
		t.Fatal(err)
	}
	return linuxImage(t, img, []string{"cat", "/app/job.txt"})
}

// matrixInputs are one job's inputs: the same repository settings for
// every job (lifecycle, scanning, resource tags, cross-account pull), the
// image in oci:image, and tag as its only tag.
func matrixInputs(tag string, extra ...string) map[string]string {
	return seedInputs(append([]string{
		"enable_cross_account_access", "true", "allowed_account_ids", "012345678901,210987654321",
		"tags", "Team=platform\nCostCenter=42",
		"source", "oci:image", "tag_sha", "false", "tag_latest", "false", "image_tags", tag,
	}, extra...)...)
}

// newMatrix prepares parallelJobs jobs; image(i) is job i's image and
// tag(i) its tag.
func newMatrix(t *testing.T, image func(i int) v1.Image, tag func(i int) string, extra ...string) []*matrixRun {
	t.Helper()
	runs := make([]*matrixRun, parallelJobs)
	for i := range runs {
		j := newJob(t)
		img := image(i)
		writeOCI(t, j.workspace("image"), img)
		runs[i] = &matrixRun{job: j, inputs: matrixInputs(tag(i), extra...), digest: mustDigest(t, img)}
	}
	return runs
}

// apiTable sums the runs' API calls by operation: the total, and the most
// one run made.
type apiRow struct {
	op         string
	total, max int
}

func apiTable(runs []*matrixRun) (rows []apiRow, total, maxRun int) {
	byOp := map[string]*apiRow{}
	for _, r := range runs {
		n := 0
		for op, c := range r.api.counts() {
			row := byOp[op]
			if row == nil {
				row = &apiRow{op: op}
				byOp[op] = row
			}
			row.total += c
			row.max = max(row.max, c)
			n += c
		}
		total += n
		maxRun = max(maxRun, n)
	}
	for _, row := range byOp {
		rows = append(rows, *row)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].op < rows[j].op })
	return rows, total, maxRun
}

func logAPITable(t *testing.T, rows []apiRow, runs int) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "ECR API calls of %d runs:\n%-34s %6s %8s %11s\n", runs, "operation", "total", "per run", "max in run")
	for _, r := range rows {
		fmt.Fprintf(&b, "%-34s %6d %8.2f %11d\n", r.op, r.total, float64(r.total)/float64(runs), r.max)
	}
	t.Log(b.String())
}

func TestMatrixSameNewRepository(t *testing.T) {
	exclusiveTest(t)
	e := start(t)
	ctx := context.Background()
	base := baseLayer(t)
	baseSize, err := base.Size()
	if err != nil {
		t.Fatal(err)
	}
	runs := newMatrix(t,
		func(i int) v1.Image { return matrixImage(t, base, fmt.Sprintf("job %d", i)) },
		func(i int) string { return fmt.Sprintf("job-%02d", i) })

	wall := e.runMatrix(t, runs, nil)
	regCalls, uploaded := e.srv.RegistryCalls(), e.srv.UploadedBytes()

	created := 0
	for i, r := range runs {
		if r.out.ExitCode != 0 {
			t.Errorf("job %d: exit %d\n%s", i, r.out.ExitCode, r.out.Log)
			continue
		}
		if strings.Contains(r.out.Summary, "was created by this run") {
			created++
		}
		if strings.Contains(r.out.Log, "::error") {
			t.Errorf("job %d: an error annotation in a run that succeeded:\n%s", i, r.out.Log)
		}
		// A run may create a setting or find it as wanted; one that
		// updated or removed a setting found another job's write
		// different from its own: the jobs fight.
		for _, row := range repositoryRows(r.out.Summary) {
			if row[3] != "created" && row[3] != "unchanged" {
				t.Errorf("job %d: %s was %s (found %s)", i, row[0], row[3], row[2])
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	if rows := repositoryRows(runs[0].out.Summary); len(rows) < 6 {
		t.Errorf("the summary's repository table has %d rows, want one per setting:\n%s", len(rows), runs[0].out.Summary)
	}
	if created != 1 {
		t.Errorf("%d runs say they created the repository, want 1", created)
	}

	// Every job's tag names the image that job pushed, and its outputs say so.
	repoURL := runs[0].out.Outputs["repository_url"]
	for i, r := range runs {
		tag := fmt.Sprintf("job-%02d", i)
		want := map[string]string{
			"repository_url": repoURL,
			"image_digest":   r.digest,
			"image_uri":      repoURL + "@" + r.digest,
			"image_tags":     tag,
			"image_uris":     repoURL + ":" + tag,
			"scan_gate":      "passed",
		}
		for k, v := range want {
			if got := r.out.Outputs[k]; got != v {
				t.Errorf("job %d: output %s = %q, want %q", i, k, got, v)
			}
		}
		if got := e.digestOf(t, repoName+":"+tag); got != r.digest {
			t.Errorf("tag %s names %s, want %s (job %d's image)", tag, got, r.digest, i)
		}
	}
	e.checkRepository(t, ctx)
	imgs, err := e.client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repoName), MaxResults: aws.Int32(100)})
	if err != nil {
		t.Fatal(err)
	}
	// Each image's SBOM and provenance are artifacts with a subject.
	imgs.ImageDetails = slices.DeleteFunc(imgs.ImageDetails, func(d types.ImageDetail) bool { return d.SubjectManifestDigest != nil })
	if len(imgs.ImageDetails) != parallelJobs {
		t.Errorf("%d images in the repository, want %d (one per job)", len(imgs.ImageDetails), parallelJobs)
	}
	for _, d := range imgs.ImageDetails {
		if len(d.ImageTags) != 1 {
			t.Errorf("image %s has tags %v, want exactly its job's tag", aws.ToString(d.ImageDigest), d.ImageTags)
		}
	}

	// The runs did not fight over the repository: each wrote each setting
	// at most once, and only the settings ECR cannot take at creation.
	rows, total, maxRun := apiTable(runs)
	logAPITable(t, rows, len(runs))
	notFound := 0
	for _, r := range runs {
		notFound += r.api.notFoundCalls()
	}
	t.Logf("%d more calls were answered RepositoryNotFoundException while the new repository was not visible yet (ecrlocal create delay %v), and retried", notFound, createDelay)
	writes := 0
	for _, row := range rows {
		if !isWrite(row.op) {
			continue
		}
		writes += row.total
		if !slices.Contains(raceWrites, row.op) {
			t.Errorf("%d %s calls: jobs racing on a new repository should only create it and put its two policies", row.total, row.op)
		}
		if row.max > 1 {
			t.Errorf("one run called %s %d times, want at most once", row.op, row.max)
		}
	}
	if limit := len(raceWrites) * parallelJobs; writes > limit {
		t.Errorf("%d write calls in all, want at most %d", writes, limit)
	}

	// Registry: every job uploads at most its own image once. The shared
	// base layer goes up once for each job that found it missing before
	// another job's upload finished.
	baseUploads := uploaded / baseSize
	if baseUploads < 1 || baseUploads > parallelJobs {
		t.Errorf("the base layer went up %d times (%d bytes uploaded), want 1 to %d", baseUploads, uploaded, parallelJobs)
	}
	if regCalls["manifest.put"] > 4*parallelJobs {
		t.Errorf("%d manifest PUTs, want at most %d (by digest, its SBOM and provenance, then the tag)", regCalls["manifest.put"], 4*parallelJobs)
	}
	t.Logf("registry requests: %v", regCalls)
	t.Logf("matrix of %d: wall %.1fs; ECR API calls %d (%.1f per run, max %d in a run), %d writes (limit %d); registry %d blob uploads started, %d manifest PUTs, %.1f MiB uploaded, base layer (%.1f MiB) uploaded %d times",
		len(runs), wall.Seconds(), total, float64(total)/float64(len(runs)), maxRun, writes, len(raceWrites)*parallelJobs,
		regCalls["upload.start"], regCalls["manifest.put"], float64(uploaded)/(1<<20), float64(baseSize)/(1<<20), baseUploads)

	e.checkSecrets(t, runs)

	// A re-run of any job finds everything as the matrix left it.
	e.srv.ResetCalls()
	again := runs[parallelJobs/2]
	out := e.runJob(t, again.job, again.inputs)
	if out.ExitCode != 0 {
		t.Fatalf("re-run: exit %d\n%s", out.ExitCode, out.Log)
	}
	if w := e.srv.WriteCalls(); w != 0 {
		t.Errorf("re-run after the matrix made %d write calls: %v", w, e.srv.Calls())
	}
	if c := e.srv.RegistryCalls(); c["manifest.put"]+c["upload.start"] != 0 {
		t.Errorf("re-run wrote to the registry: %v", c)
	}
}

// checkRepository reads the repository back: one, with every setting the
// matrix asked for.
func (e *env) checkRepository(t *testing.T, ctx context.Context) {
	t.Helper()
	d, err := e.client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Repositories) != 1 || aws.ToString(d.Repositories[0].RepositoryName) != repoName {
		var names []string
		for _, r := range d.Repositories {
			names = append(names, aws.ToString(r.RepositoryName))
		}
		t.Fatalf("repositories %v, want just %s", names, repoName)
	}
	r := d.Repositories[0]
	if !r.ImageScanningConfiguration.ScanOnPush || r.EncryptionConfiguration.EncryptionType != types.EncryptionTypeAes256 {
		t.Errorf("scan on push %v, encryption %s", r.ImageScanningConfiguration.ScanOnPush, r.EncryptionConfiguration.EncryptionType)
	}
	if diff := cmp.Diff([]string{"CostCenter=42", "Environment=production", "ManagedBy=ecr-action", "Project=canvas-ta", "Team=platform"}, e.resourceTags(t, r.RepositoryArn)); diff != "" {
		t.Errorf("resource tags (-want +got):\n%s", diff)
	}
	lp, err := e.client.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(repoName)})
	if err != nil {
		t.Fatal(err)
	}
	var p policy.LifecyclePolicy
	if err := json.Unmarshal([]byte(aws.ToString(lp.LifecyclePolicyText)), &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Rules) != 2 || p.Rules[0].Selection.TagStatus != "untagged" || p.Rules[1].Selection.TagStatus != "any" || p.Rules[1].Selection.CountNumber != 30 {
		t.Errorf("lifecycle policy is not the generated one: %s", aws.ToString(lp.LifecyclePolicyText))
	}
	rp, err := e.client.GetRepositoryPolicy(ctx, &ecr.GetRepositoryPolicyInput{RepositoryName: aws.String(repoName)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"012345678901", "210987654321"}, policy.OwnedStatementAccounts(aws.ToString(rp.PolicyText))); diff != "" {
		t.Errorf("cross-account pull accounts (-want +got):\n%s", diff)
	}
	var doc struct{ Statement []json.RawMessage }
	if err := json.Unmarshal([]byte(aws.ToString(rp.PolicyText)), &doc); err != nil || len(doc.Statement) != 1 {
		t.Errorf("repository policy has %d statements, want the one pull statement (err %v): %s", len(doc.Statement), err, aws.ToString(rp.PolicyText))
	}
}

// repositoryRows returns the cells of the summary's repository table:
// setting, desired, found, action.
func repositoryRows(summary string) [][]string {
	section, _, _ := strings.Cut(summary, "\n## Image")
	var rows [][]string
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if !strings.HasPrefix(line, "| ") || len(cells) != 4 || cells[0] == "Setting" {
			continue
		}
		rows = append(rows, cells)
	}
	return rows
}

func isWrite(op string) bool {
	for _, p := range []string{"Describe", "Get", "List", "BatchGet", "BatchCheck"} {
		if strings.HasPrefix(op, p) {
			return false
		}
	}
	return true
}

func TestMatrixSameImmutableTag(t *testing.T) {
	exclusiveTest(t)
	base := baseLayer(t)
	const tag = "release-1"

	// Every run looks the tag up, finds it free and uploads its image; the
	// gate then lets all of them write the tag at once. ecrlocal keeps the
	// first and refuses the others.
	t.Run("different images", func(t *testing.T) {
		e := start(t)
		runs := newMatrix(t,
			func(i int) v1.Image { return matrixImage(t, base, fmt.Sprintf("job %d", i)) },
			func(int) string { return tag },
			"image_tag_mutability", "IMMUTABLE")
		gate := newTagGate(tag, parallelJobs, false)
		seen := e.watchTag(t, tag)
		wall := e.runMatrix(t, runs, gate)
		moves := seen()
		if lookups, _, held := gate.report(); held || lookups < parallelJobs {
			t.Errorf("the gate saw %d look-ups of %s (want %d) and gave up waiting: %v", lookups, tag, parallelJobs, held)
		}

		var winners []int
		for i, r := range runs {
			if r.out.ExitCode == 0 {
				winners = append(winners, i)
			}
		}
		if len(winners) != 1 {
			t.Fatalf("%d runs succeeded (%v), want exactly 1", len(winners), winners)
		}
		win := runs[winners[0]]
		if got := win.out.Outputs["image_digest"]; got != win.digest {
			t.Errorf("the winner reports %s, want its image %s", got, win.digest)
		}
		if got := e.digestOf(t, repoName+":"+tag); got != win.digest {
			t.Errorf("%s names %s, want the winner's %s", tag, got, win.digest)
		}
		if len(moves) > 1 {
			t.Errorf("%s moved during the matrix: it named %v", tag, moves)
		}
		for i, r := range runs {
			if i == winners[0] {
				continue
			}
			errs := errorAnnotations(r.out.Log)
			if len(errs) != 1 {
				t.Errorf("job %d: %d error annotations, want 1:\n%s", i, len(errs), r.out.Log)
				continue
			}
			for _, s := range []string{"::error title=Immutable tag::", `tag "` + tag + `"`, "already names " + win.digest, "IMMUTABLE", "Another run wrote the tag", r.digest + " was uploaded by digest"} {
				if !strings.Contains(errs[0], s) {
					t.Errorf("job %d: the error lacks %q: %s", i, s, errs[0])
				}
			}
			if len(r.out.Outputs) != 0 {
				t.Errorf("job %d failed but set outputs: %v", i, r.out.Outputs)
			}
		}
		e.checkSecrets(t, runs)
		rows, total, maxRun := apiTable(runs)
		logAPITable(t, rows, len(runs))
		t.Logf("matrix of %d on one immutable tag, different images: wall %.1fs, 1 winner (job %d), %d runs failed naming the tag; ECR API calls %d (%.1f per run, max %d in a run)",
			len(runs), wall.Seconds(), winners[0], len(runs)-1, total, float64(total)/float64(len(runs)), maxRun)
		for i, r := range runs {
			if i != winners[0] {
				t.Logf("a losing job's error: %s", errorAnnotations(r.out.Log)[0])
				break
			}
		}
	})

	identical := func(t *testing.T, realECR bool) {
		e := start(t)
		img := matrixImage(t, base, "the same for every job")
		runs := newMatrix(t,
			func(int) v1.Image { return img },
			func(int) string { return tag },
			"image_tag_mutability", "IMMUTABLE")
		gate := newTagGate(tag, parallelJobs, realECR)
		wall := e.runMatrix(t, runs, gate)
		for i, r := range runs {
			if r.out.ExitCode != 0 {
				t.Errorf("job %d: exit %d\n%s", i, r.out.ExitCode, r.out.Log)
			} else if r.out.Outputs["image_digest"] != r.digest || r.out.Outputs["image_tags"] != tag {
				t.Errorf("job %d: outputs %v", i, r.out.Outputs)
			}
		}
		if got := e.digestOf(t, repoName+":"+tag); got != runs[0].digest {
			t.Errorf("%s names %s, want %s", tag, got, runs[0].digest)
		}
		lookups, rejected, held := gate.report()
		if held || lookups < parallelJobs {
			t.Errorf("the gate saw %d look-ups of %s (want %d) and gave up waiting: %v", lookups, tag, parallelJobs, held)
		}
		if realECR && rejected != parallelJobs-1 {
			t.Errorf("%d tag writes were refused as ECR refuses them, want %d (every run but the first)", rejected, parallelJobs-1)
		}
		e.checkSecrets(t, runs)
		_, total, maxRun := apiTable(runs)
		t.Logf("matrix of %d pushing one image under one immutable tag: wall %.1fs, all succeeded, %d tag writes refused with TAG_INVALID; ECR API calls %d (%.1f per run, max %d in a run)",
			len(runs), wall.Seconds(), rejected, total, float64(total)/float64(len(runs)), maxRun)
	}
	t.Run("identical images", func(t *testing.T) { identical(t, false) })
	// Real ECR refuses a second write of an immutable tag even at the same
	// digest; a run that meets that finds its image under the tag and
	// succeeds.
	t.Run("identical images, TAG_INVALID as ECR answers", func(t *testing.T) { identical(t, true) })
}

// watchTag reads tag's digest every few milliseconds until the returned
// function is called, which returns every digest the tag named, in order.
func (e *env) watchTag(t *testing.T, tag string) func() []string {
	t.Helper()
	ref := e.ref(t, repoName+":"+tag)
	auth := e.keychain(t)
	stop := make(chan struct{})
	var seen []string
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if d, err := remote.Head(ref, auth); err == nil && (len(seen) == 0 || seen[len(seen)-1] != d.Digest.String()) {
				seen = append(seen, d.Digest.String())
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	return func() []string {
		close(stop)
		wg.Wait()
		return seen
	}
}
