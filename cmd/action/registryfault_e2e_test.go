package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/org/ecr-action/internal/testing/ecrlocal"
	"github.com/org/ecr-action/internal/testing/runner"
)

// These tests push through registry faults: blob uploads that break half
// way (connection reset, 500, 503) and registry tokens that expire in the
// middle of a push. The action must end with a whole image under its tag,
// or, when the registry never recovers, with a clear error and no tag.

// runChecked runs the action against url and checks that no credential,
// and no registry password in passwords, reached the log, summary or
// outputs.
func runChecked(t *testing.T, url string, j *job, inputs map[string]string, passwords func() []string) *runner.Outcome {
	t.Helper()
	out, err := runner.Run(context.Background(), runner.Job{Binary: actionBinary, Root: j.root, Inputs: inputs, Env: map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDLOCAL", "AWS_SECRET_ACCESS_KEY": "local-secret-key",
		"AWS_SESSION_TOKEN": "test-session-token", "AWS_REGION": "us-east-1",
		"AWS_ENDPOINT_URL_ECR": url,
	}})
	if err != nil {
		t.Fatalf("running the action: %v", err)
	}
	secrets := []string{"local-secret-key", "test-session-token"}
	if passwords != nil {
		secrets = append(secrets, passwords()...)
	}
	for _, secret := range secrets {
		for where, text := range map[string]string{"log": out.Log, "summary": out.Summary, "outputs": strings.Join(values(out.Outputs), "\n")} {
			if strings.Contains(text, secret) {
				t.Errorf("a secret reached the %s", where)
			}
		}
	}
	return out
}

// faultImage is an image of random layers of size bytes each.
func faultImage(t *testing.T, layers int, size int64) v1.Image {
	t.Helper()
	img, err := random.Image(size, int64(layers))
	if err != nil {
		t.Fatal(err)
	}
	return linuxImage(t, img, nil)
}

// checkPushedImage reads the tag back from the registry at host, checks it
// names want and validates every blob of the image.
func checkPushedImage(t *testing.T, host string, client *ecr.Client, want v1.Image) {
	t.Helper()
	e := &env{url: "http://" + host, client: client}
	ref := e.ref(t, repoName+":"+shortSHA)
	desc, err := remote.Get(ref, e.keychain(t))
	if err != nil {
		t.Fatalf("reading %s back: %v", ref, err)
	}
	if d := mustDigest(t, want); desc.Digest.String() != d {
		t.Errorf("tag %s names %s, want %s", shortSHA, desc.Digest, d)
	}
	img, err := desc.Image()
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Errorf("the pushed image does not validate: %v", err)
	}
}

func TestPushSurvivesBlobUploadFaults(t *testing.T) {
	sharedTest(t)
	for _, kind := range []ecrlocal.RegistryFaultKind{ecrlocal.Fault503, ecrlocal.Fault500, ecrlocal.FaultReset} {
		t.Run(string(kind), func(t *testing.T) {
			e := start(t)
			if err := e.srv.InjectRegistry(ecrlocal.RegistryBlobUpload, ecrlocal.RegistryFault{Count: 2, Kind: kind}); err != nil {
				t.Fatal(err)
			}
			j := newJob(t)
			img := faultImage(t, 3, 256<<10)
			writeOCI(t, j.workspace("out"), img)
			out := runChecked(t, e.url, j, seedInputs("source", "oci:out"), e.srv.RegistryPasswords)
			if out.ExitCode != 0 {
				t.Fatalf("exit %d through 2 %s faults\n%s", out.ExitCode, kind, out.Log)
			}
			if got := e.srv.RegistryFaultsStruck()[ecrlocal.RegistryBlobUpload]; got != 2 {
				t.Errorf("%d faults struck, want 2", got)
			}
			if !strings.Contains(out.Log, "failed request(s) retried") {
				t.Errorf("the log does not say requests were retried:\n%s", out.Log)
			}
			if out.Outputs["image_digest"] != mustDigest(t, img) {
				t.Errorf("image_digest %q, want %s", out.Outputs["image_digest"], mustDigest(t, img))
			}
			checkPushedImage(t, strings.TrimPrefix(e.url, "http://"), e.client, img)
			calls := e.srv.RegistryCalls()
			t.Logf("%s x2: exit 0; upload.start %d, upload.patch %d, upload.put %d; log: %s", kind,
				calls["upload.start"], calls["upload.patch"], calls["upload.put"], recoveryLine(out.Log))
		})
	}
}

// recoveryLine is the action's log line about retries and renewals.
func recoveryLine(log string) string {
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "failed request(s) retried") {
			return strings.TrimSpace(l)
		}
	}
	return "(none)"
}

func TestPushGivesUpOnAnEndlessFault(t *testing.T) {
	sharedTest(t)
	e := start(t)
	if err := e.srv.InjectRegistry(ecrlocal.RegistryBlobUpload, ecrlocal.RegistryFault{Count: 1_000_000, Kind: ecrlocal.Fault503}); err != nil {
		t.Fatal(err)
	}
	j := newJob(t)
	const layers = 2
	writeOCI(t, j.workspace("out"), faultImage(t, layers, 64<<10))
	start := time.Now()
	out := runChecked(t, e.url, j, seedInputs("source", "oci:out"), e.srv.RegistryPasswords)
	took := time.Since(start)
	if out.ExitCode == 0 {
		t.Fatalf("exit 0 against a registry whose uploads always fail\n%s", out.Log)
	}
	if !strings.Contains(out.Log, "::error title=Push failed::") {
		t.Errorf("no Push failed annotation:\n%s", out.Log)
	}
	for _, want := range []string{"blob upload (PATCH", "failed 5 times in a row", "HTTP 503", "no tag was written"} {
		if !strings.Contains(out.Log, want) {
			t.Errorf("the error does not say %q:\n%s", want, out.Log)
		}
	}
	// Each blob (the layers and the config) is tried 5 times at most.
	calls := e.srv.RegistryCalls()
	if n := calls["upload.patch"]; n < 5 || n > 5*(layers+1) {
		t.Errorf("%d upload PATCHes, want 5 to %d", n, 5*(layers+1))
	}
	if calls["manifest.put"] != 0 {
		t.Errorf("a manifest or tag was written: %v", calls)
	}
	imgs, err := e.client.ListImages(context.Background(), &ecr.ListImagesInput{RepositoryName: aws.String(repoName)})
	if err != nil || len(imgs.ImageIds) != 0 {
		t.Errorf("images in the repository after the failed push: %v (%v), want none", imgs, err)
	}
	if took > 2*time.Minute {
		t.Errorf("giving up took %v", took)
	}
	t.Logf("gave up after %v with %d upload PATCHes", took.Round(time.Millisecond), calls["upload.patch"])
}

// slowRegistry delays every registry (/v2/) request, so a push lasts long
// enough for a short-lived token to expire in the middle of it.
type slowRegistry struct {
	next  http.Handler
	delay time.Duration
}

func (s slowRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/v2/") && r.URL.Path != "/v2/" {
		time.Sleep(s.delay)
	}
	s.next.ServeHTTP(w, r)
}

func TestPushOutlivesItsRegistryToken(t *testing.T) {
	sharedTest(t)
	const ttl = 1500 * time.Millisecond
	le := startECR(t, ecrlocal.Options{TokenTTL: ttl})
	slow := httptest.NewServer(slowRegistry{next: le.Server, delay: 150 * time.Millisecond})
	t.Cleanup(slow.Close)
	e := &env{srv: le.Server, url: slow.URL, client: le.Client}
	j := newJob(t)
	img := faultImage(t, 12, 512<<10) // 6 MiB of random layers
	writeOCI(t, j.workspace("out"), img)
	start := time.Now()
	out := runChecked(t, e.url, j, seedInputs("source", "oci:out"), e.srv.RegistryPasswords)
	took := time.Since(start)
	if out.ExitCode != 0 {
		t.Fatalf("exit %d for a push that outlives its token\n%s", out.ExitCode, out.Log)
	}
	tokens := e.srv.Calls()["GetAuthorizationToken"]
	if took < 2*ttl {
		t.Fatalf("the run took %v, not long enough to outlive a %v token", took, ttl)
	}
	// One login, then at most one renewal per 3/4 of a lifetime (the
	// margin is a quarter of it), and one spare.
	limit := 2 + int(took/(ttl*3/4))
	if tokens < 2 || tokens > limit {
		t.Errorf("%d GetAuthorizationToken calls in a %v run with %v tokens, want 2 to %d", tokens, took, ttl, limit)
	}
	// Read back without the slow-down, so the check's own token lasts.
	checkPushedImage(t, strings.TrimPrefix(le.URL, "http://"), e.client, img)
	t.Logf("run of %v with %v tokens: %d GetAuthorizationToken calls (bound %d); log: %s",
		took.Round(time.Millisecond), ttl, tokens, limit, recoveryLine(out.Log))
}

func TestEcrlocalCommandReplaysFaults(t *testing.T) {
	sharedTest(t)
	url := startEcrlocalCommand(t, "-fault", "blob-upload=reset:2", "-token-ttl", "10m")
	client := ecr.New(ecr.Options{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local-secret-key", "")})

	j := newJob(t)
	img := faultImage(t, 3, 256<<10)
	writeOCI(t, j.workspace("out"), img)
	out := runChecked(t, url, j, seedInputs("source", "oci:out"), nil)
	if out.ExitCode != 0 {
		t.Fatalf("exit %d against ecrlocal -fault blob-upload=reset:2\n%s", out.ExitCode, out.Log)
	}
	resp, err := http.Get(url + "/_ecrlocal/registry-calls")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep ecrlocal.RegistryCallsReport
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	if rep.FaultsStruck[ecrlocal.RegistryBlobUpload] != 2 {
		t.Errorf("faults struck %v, want 2 blob-upload resets", rep.FaultsStruck)
	}
	tok, err := client.GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(aws.ToTime(tok.AuthorizationData[0].ExpiresAt)); left < 9*time.Minute || left > 11*time.Minute {
		t.Errorf("token valid for %v, want about 10m (-token-ttl 10m)", left)
	}
	checkPushedImage(t, strings.TrimPrefix(url, "http://"), client, img)
	t.Logf("ecrlocal -fault blob-upload=reset:2: exit 0, faults struck %v, upload.patch %d; log: %s",
		rep.FaultsStruck, rep.Calls["upload.patch"], recoveryLine(out.Log))
}
