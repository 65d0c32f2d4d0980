package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/org/ecr-action/internal/testing/ecrlocal"
	"github.com/org/ecr-action/internal/testing/ecrlocal/ecrlocaltest"
)

// Archived images (issue 14, item 5): ecrlocal answers 404 for an archived
// image on the registry and ImageNotFound in BatchGetImage, as ECR does; the
// action tells it from a missing image and says how to restore it.

func (e *env) archive(t *testing.T, digest string) {
	t.Helper()
	_, err := e.client.UpdateImageStorageClass(context.Background(), &ecr.UpdateImageStorageClassInput{
		RepositoryName: aws.String(repoName), ImageId: &types.ImageIdentifier{ImageDigest: aws.String(digest)},
		TargetStorageClass: types.TargetStorageClassArchive,
	})
	if err != nil {
		t.Fatalf("archiving %s: %v", digest, err)
	}
}

// wantArchivedError checks a run that must end at once, before any write,
// with an "Archived image" error naming the digest and the restore command.
func wantArchivedError(t *testing.T, what, log, digest string) {
	t.Helper()
	for _, s := range []string{"::error title=Archived image::", digest, "is archived", "aws ecr update-image-storage-class --repository-name " + repoName + " --image-id imageDigest=" + digest + " --target-storage-class STANDARD"} {
		if !strings.Contains(log, s) {
			t.Errorf("%s: the log lacks %q\n%s", what, s, log)
		}
	}
	if strings.Contains(log, "no such image") {
		t.Errorf("%s: the log says \"no such image\" for an archived one\n%s", what, log)
	}
}

func TestArchivedImageRetagAndImmutableTag(t *testing.T) {
	sharedTest(t)
	e := start(t)
	j := newJob(t)
	writeOCI(t, j.workspace("out"), testImage(t, 2))
	in := seedInputs("image_tag_mutability", "IMMUTABLE", "source", "oci:out")
	if out := e.runJob(t, j, in); out.ExitCode != 0 {
		t.Fatalf("push: exit %d\n%s", out.ExitCode, out.Log)
	}
	digest := e.digestOf(t, repoName+":"+shortSHA)
	e.archive(t, digest)

	// retag_from an archived image.
	e.srv.ResetCalls()
	out := e.runJob(t, j, seedInputs("image_tag_mutability", "IMMUTABLE", "retag_from", shortSHA, "tag_sha", "false", "tag_latest", "false", "image_tags", "v1.0.0"))
	if out.ExitCode == 0 {
		t.Fatalf("retag_from an archived image succeeded\n%s", out.Log)
	}
	wantArchivedError(t, "retag_from", out.Log, digest)
	if !strings.Contains(out.Log, `retag_from \"`+shortSHA+`\"`) && !strings.Contains(out.Log, `retag_from "`+shortSHA+`"`) {
		t.Errorf("retag_from: the error does not name the input's value\n%s", out.Log)
	}
	if w := e.srv.WriteCalls(); w != 0 {
		t.Errorf("retag_from: %d ECR write calls", w)
	}
	if n := e.srv.RegistryCalls()["manifest.put"]; n != 0 {
		t.Errorf("retag_from: %d manifest PUTs", n)
	}

	// The same image pushed again under its immutable tags, which still
	// name it in the archive: the tag lookup finds nothing, but the tags
	// cannot be written. Caught before anything is uploaded.
	e.srv.ResetCalls()
	out = e.runJob(t, j, in)
	if out.ExitCode == 0 {
		t.Fatalf("pushing under immutable tags of an archived image succeeded\n%s", out.Log)
	}
	wantArchivedError(t, "immutable tag", out.Log, digest)
	if !strings.Contains(out.Log, "Nothing was pushed") {
		t.Errorf("immutable tag: the log does not say nothing was pushed\n%s", out.Log)
	}
	calls := e.srv.RegistryCalls()
	for _, op := range []string{"upload.start", "upload.patch", "upload.put", "upload.mount", "manifest.put"} {
		if calls[op] != 0 {
			t.Errorf("immutable tag: %d %s requests (registry calls %v)", calls[op], op, calls)
		}
	}
	if w := e.srv.WriteCalls(); w != 0 {
		t.Errorf("immutable tag: %d ECR write calls", w)
	}

	// A tag that names nothing, archived or not, is still "no such image".
	out = e.runJob(t, j, seedInputs("image_tag_mutability", "IMMUTABLE", "retag_from", "v9.9.9", "tag_sha", "false", "tag_latest", "false", "image_tags", "x"))
	if out.ExitCode == 0 || !strings.Contains(out.Log, "no such image") || strings.Contains(out.Log, "is archived") {
		t.Errorf("retag_from a missing tag: exit %d\n%s", out.ExitCode, out.Log)
	}
}

// An image archived and pushed again is restored, which takes time
// (ecrlocal's RestoreDelay): until then its scan status is IMAGE_ARCHIVED.
// The gate ends at once with the fix instead of waiting for scan_timeout.
func TestArchivedImageScanEndsAtOnce(t *testing.T) {
	sharedTest(t)
	le := ecrlocaltest.StartWith(t, ecrlocal.Options{RestoreDelay: time.Hour})
	e := &env{srv: le.Server, url: le.URL, client: le.Client}
	j := newJob(t)
	writeOCI(t, j.workspace("out"), testImage(t, 1))
	in := seedInputs("source", "oci:out", "wait_for_scan", "true", "scan_timeout", "300s")
	if out := e.runJob(t, j, in); out.ExitCode != 0 {
		t.Fatalf("push: exit %d\n%s", out.ExitCode, out.Log)
	}
	digest := e.digestOf(t, repoName+":"+shortSHA)
	e.archive(t, digest)

	begin := time.Now()
	out := e.runJob(t, j, in)
	took := time.Since(begin)
	if out.ExitCode == 0 {
		t.Fatalf("the gate passed on an archived image\n%s", out.Log)
	}
	for _, s := range []string{"IMAGE_ARCHIVED", digest, "update-image-storage-class --repository-name " + repoName + " --image-id imageDigest=" + digest + " --target-storage-class STANDARD"} {
		if !strings.Contains(out.Log, s) {
			t.Errorf("the log lacks %q\n%s", s, out.Log)
		}
	}
	if strings.Contains(out.Log, "did not finish within scan_timeout") {
		t.Errorf("the run waited for scan_timeout\n%s", out.Log)
	}
	// Far below scan_timeout (300 s): the status is final at the first read.
	if took > 60*time.Second {
		t.Errorf("the run took %s", took)
	}
	t.Logf("ended in %s", took.Round(100*time.Millisecond))
}

// lifecycle_archive_days: the generated policy archives instead of expiring,
// and ecrlocal's PutLifecyclePolicy (its own reading of ECR's rules for
// transition and archive) takes it. A second run writes nothing.
func TestLifecycleArchiveDays(t *testing.T) {
	sharedTest(t)
	e := start(t)
	in := seedInputs("lifecycle_archive_days", "60", "lifecycle_protected_tags", "v*")
	if out := e.run(t, in); out.ExitCode != 0 {
		t.Fatalf("exit %d\n%s", out.ExitCode, out.Log)
	}
	got, err := e.client.GetLifecyclePolicy(context.Background(), &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(repoName)})
	if err != nil {
		t.Fatal(err)
	}
	text := aws.ToString(got.LifecyclePolicyText)
	for _, s := range []string{`"sinceImagePulled"`, `"countNumber":60`, `"type":"transition"`, `"targetStorageClass":"archive"`, `"tagPatternList":["v*"]`} {
		if !strings.Contains(text, s) {
			t.Errorf("the policy lacks %s:\n%s", s, text)
		}
	}
	if strings.Contains(text, "keep the last") {
		t.Errorf("the policy still has the keep-last rule:\n%s", text)
	}
	e.srv.ResetCalls()
	if out := e.run(t, in); out.ExitCode != 0 || e.srv.WriteCalls() != 0 {
		t.Errorf("second run: exit %d, %d writes\n%s", out.ExitCode, e.srv.WriteCalls(), out.Log)
	}
	// Off again: the keep-last rule comes back.
	delete(in, "lifecycle_archive_days")
	if out := e.run(t, in); out.ExitCode != 0 {
		t.Fatalf("without lifecycle_archive_days: exit %d\n%s", out.ExitCode, out.Log)
	}
	got, err = e.client.GetLifecyclePolicy(context.Background(), &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(repoName)})
	if err != nil || strings.Contains(aws.ToString(got.LifecyclePolicyText), "transition") || !strings.Contains(aws.ToString(got.LifecyclePolicyText), "keep the last") {
		t.Errorf("the archive rule stayed, or the keep-last rule did not come back: %v\n%s", err, aws.ToString(got.LifecyclePolicyText))
	}
}
