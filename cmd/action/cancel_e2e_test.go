package main

import (
	"context"
	"crypto/rand"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/org/ecr-action/internal/testing/slowupload"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/org/ecr-action/internal/testing/ecrlocal"
	"github.com/org/ecr-action/internal/testing/runner"
)

// runCancelled runs the action as the runner does and sends it sig (with
// the runner's escalation) once when returns true; when returns false
// when its context ends first. It returns the outcome and how long after
// the signal the action exited, and fails the test when the run ended
// before it was cancelled.
func runCancelled(t *testing.T, j *job, inputs, environ map[string]string, sig syscall.Signal, when func(context.Context) bool) (*runner.Outcome, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cancelledAt := make(chan time.Time, 1)
	go func() {
		if when(ctx) {
			cancelledAt <- time.Now()
			cancel()
		}
	}()
	out, err := runner.Run(ctx, runner.Job{Binary: actionBinary, Root: j.root, Inputs: inputs, Env: environ, Cancel: sig})
	exited := time.Now()
	if err != nil {
		t.Fatalf("running the action: %v", err)
	}
	checkNoSecrets(t, out, []string{environ["AWS_SECRET_ACCESS_KEY"], environ["AWS_SESSION_TOKEN"]})
	select {
	case at := <-cancelledAt:
		if at.Before(exited) {
			return out, exited.Sub(at)
		}
	default:
	}
	t.Fatalf("the run ended (exit %d) before it was cancelled\n%s", out.ExitCode, out.Log)
	return nil, 0
}

// afterCall is a runCancelled trigger: ecrlocal has answered op at least once.
func afterCall(e *env, op string) func(context.Context) bool {
	return func(ctx context.Context) bool {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				if e.srv.Calls()[op] > 0 {
					return true
				}
			case <-ctx.Done():
				return false
			}
		}
	}
}

// localCredentials is the environment of a run against ecrlocal at url.
func localCredentials(url string) map[string]string {
	return map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDLOCAL", "AWS_SECRET_ACCESS_KEY": "local-secret-key",
		"AWS_SESSION_TOKEN": "test-session-token", "AWS_REGION": "us-east-1",
		"AWS_ENDPOINT_URL_ECR": url,
	}
}

// checkTagsComplete checks, through the ECR API and the registry, that
// every tag in the repository names an image whose manifests and blobs are
// all there.
func checkTagsComplete(t *testing.T, e *env) {
	t.Helper()
	var tags []string
	p := ecr.NewDescribeImagesPaginator(e.client, &ecr.DescribeImagesInput{RepositoryName: aws.String(repoName)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.ImageDetails {
			tags = append(tags, d.ImageTags...)
		}
	}
	if len(tags) == 0 {
		t.Fatal("no tag in the repository: the first run's tags are gone")
	}
	for _, tag := range tags {
		ref := e.ref(t, repoName+":"+tag)
		desc, err := remote.Get(ref, e.keychain(t))
		if err != nil {
			t.Errorf("tag %s: manifest: %v", tag, err)
			continue
		}
		if desc.MediaType.IsIndex() {
			idx, err := desc.ImageIndex()
			if err == nil {
				err = validate.Index(idx)
			}
			if err != nil {
				t.Errorf("tag %s names an incomplete index: %v", tag, err)
			}
			continue
		}
		img, err := desc.Image()
		if err == nil {
			err = validate.Image(img)
		}
		if err != nil {
			t.Errorf("tag %s names an incomplete image: %v", tag, err)
		}
	}
	t.Logf("%d tag(s), each naming a complete image: %v", len(tags), tags)
}

// tagFirstImage runs the job once with a small payload.bin, so the
// repository's tags name a complete image before the cancelled run, and
// returns that image's digest.
func tagFirstImage(t *testing.T, e *env, j *job, inputs map[string]string) string {
	t.Helper()
	if err := os.WriteFile(j.workspace("payload.bin"), []byte("first run\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := e.runJob(t, j, inputs)
	if out.ExitCode != 0 {
		t.Fatalf("first run: exit %d\n%s", out.ExitCode, out.Log)
	}
	return out.Outputs["image_digest"]
}

// TestCancelDuringPush cancels the run as the runner does, with SIGTERM or
// SIGINT, while the image's blobs are uploading. The action stops within
// seconds with a "Cancelled" error, writes no tag, and every tag in the
// repository still names a complete image: the one it named before.
func TestCancelDuringPush(t *testing.T) {
	sharedTest(t) // the bound on stopping (15 s) is far above what a loaded machine adds
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			e := start(t)
			j := newJob(t)
			inputs := seedInputs("base_image", "scratch", "files", "payload.bin:/payload.bin")

			// The first run tags a small image.
			before := tagFirstImage(t, e, j, inputs)

			// The second pushes 16 MiB that does not compress, through a
			// registry that reads uploads at about 1.6 MB/s: 10 s of upload.
			payload := make([]byte, 16<<20)
			rand.Read(payload)
			if err := os.WriteFile(j.workspace("payload.bin"), payload, 0o644); err != nil {
				t.Fatal(err)
			}
			slow := slowupload.New(e.srv)
			ts := httptest.NewServer(slow)
			defer ts.Close()
			out, stop := runCancelled(t, j, inputs, localCredentials(ts.URL), sig, func(ctx context.Context) bool {
				select {
				case <-slow.Started:
					time.Sleep(300 * time.Millisecond) // well into the upload
					return true
				case <-ctx.Done():
					return false
				}
			})
			t.Logf("%s: exit %d %.2fs after the signal; %s", sig, out.ExitCode, stop.Seconds(), strings.Join(errorAnnotations(out.RawLog), "\n"))
			if out.ExitCode != 1 {
				t.Errorf("exit %d, want 1 (-1 is a kill after the runner's %s grace)\n%s", out.ExitCode, runner.CancelGrace, out.Log)
			}
			if stop > 15*time.Second {
				t.Errorf("took %s to stop after %s", stop, sig)
			}
			errs := errorAnnotations(out.RawLog)
			if len(errs) != 1 || !strings.Contains(errs[0], "title=Cancelled") || !strings.Contains(errs[0], "cancelled") || !strings.Contains(errs[0], "No tag was written") {
				t.Errorf("want one ::error titled Cancelled saying no tag was written, got %q", errs)
			}
			if !strings.Contains(out.Summary, "Cancelled") {
				t.Errorf("the summary does not say the run was cancelled:\n%s", out.Summary)
			}
			if out.Outputs["image_tags"] != "" || out.Outputs["image_digest"] != "" {
				t.Errorf("a cancelled push set image outputs: %v", out.Outputs)
			}
			for _, tag := range []string{shortSHA, "latest"} {
				if got := e.digestOf(t, repoName+":"+tag); got != before {
					t.Errorf("%s = %s after the cancelled run, want %s (the first run's)", tag, got, before)
				}
			}
			checkTagsComplete(t, e)
		})
	}
}

// TestCancelDuringScanWait cancels the run once the image is pushed and
// the action waits for its scan: the tags the gate would have written are
// not written, and the image stays in the repository by digest.
func TestCancelDuringScanWait(t *testing.T) {
	sharedTest(t) // the bound on stopping (15 s) is far above what a loaded machine adds
	e := start(t)
	j := newJob(t)
	inputs := seedInputs("base_image", "scratch", "files", "payload.bin:/payload.bin")
	before := tagFirstImage(t, e, j, inputs)

	if err := os.WriteFile(j.workspace("payload.bin"), []byte("second run\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.srv.ScanHook("", ecrlocal.ScanHook{Delay: time.Hour})
	e.srv.ResetCalls()
	out, stop := runCancelled(t, j, inputs, localCredentials(e.url), syscall.SIGINT, afterCall(e, "DescribeImageScanFindings"))
	errs := errorAnnotations(out.RawLog)
	t.Logf("exit %d %.2fs after SIGINT; %s", out.ExitCode, stop.Seconds(), strings.Join(errs, "\n"))
	if out.ExitCode != 1 || stop > 15*time.Second {
		t.Errorf("exit %d after %s; want 1 within 15 s", out.ExitCode, stop)
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "title=Cancelled") || !strings.Contains(errs[0], "no tag was written") {
		t.Errorf("want one ::error titled Cancelled saying no tag was written, got %q", errs)
	}
	if !strings.Contains(out.Summary, "Cancelled") {
		t.Errorf("the summary does not say the run was cancelled:\n%s", out.Summary)
	}
	// The image, then its SBOM and provenance referrers, all by digest.
	if n := e.srv.RegistryCalls()["manifest.put"]; n != 3 {
		t.Errorf("%d manifest PUTs; want 3, the image and its two referrers by digest, and no tag", n)
	}
	for _, tag := range []string{shortSHA, "latest"} {
		if got := e.digestOf(t, repoName+":"+tag); got != before {
			t.Errorf("%s = %s after the cancelled run, want %s (the first run's)", tag, got, before)
		}
	}
	checkTagsComplete(t, e)
}
