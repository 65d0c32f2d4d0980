package main

import (
	"context"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/org/ecr-action/internal/testing/ecrlocal"
	"github.com/org/ecr-action/internal/testing/runner"
)

// The signing and replication gates (issue 17), run through the built
// binary against ecrlocal's managed signing and replication.

const gateProfile = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/deploy"

// startGates starts ecrlocal with opts; with deny, the action reaches it
// through the IAM middleware with every ecr: action allowed but those.
// e.client always talks to ecrlocal directly, for the test's own set-up.
func startGates(t *testing.T, opts ecrlocal.Options, deny ...string) *env {
	t.Helper()
	direct := startECR(t, opts)
	e := &env{srv: direct.Server, url: direct.URL, client: direct.Client}
	if len(deny) > 0 {
		p := ecrlocal.Policy{Statements: []ecrlocal.Statement{
			{Actions: []string{"ecr:*"}, Resources: []string{"*"}},
			{Deny: true, Actions: deny, Resources: []string{"*"}},
		}}
		e.iam = ecrlocal.NewIAM(direct.Server, p, ecrlocal.IAMOptions{})
		hs := httptest.NewServer(e.iam)
		t.Cleanup(hs.Close)
		e.url = hs.URL
	}
	return e
}

func (e *env) putSigning(t *testing.T, filters ...string) {
	t.Helper()
	rule := types.SigningRule{SigningProfileArn: aws.String(gateProfile)}
	for _, f := range filters {
		rule.RepositoryFilters = append(rule.RepositoryFilters, types.SigningRepositoryFilter{Filter: aws.String(f), FilterType: types.SigningRepositoryFilterTypeWildcardMatch})
	}
	if _, err := e.client.PutSigningConfiguration(context.Background(), &ecr.PutSigningConfigurationInput{SigningConfiguration: &types.SigningConfiguration{Rules: []types.SigningRule{rule}}}); err != nil {
		t.Fatal(err)
	}
	e.srv.ResetCalls() // the run's calls are counted, not the set-up's
}

// Replication destinations of the tests.
const westAccount, euAccount = "123456789012", "210987654321"

func (e *env) putReplication(t *testing.T, prefix string) {
	t.Helper()
	rule := types.ReplicationRule{Destinations: []types.ReplicationDestination{
		{Region: aws.String("us-west-2"), RegistryId: aws.String(westAccount)},
		{Region: aws.String("eu-west-1"), RegistryId: aws.String(euAccount)},
	}}
	if prefix != "" {
		rule.RepositoryFilters = []types.RepositoryFilter{{Filter: aws.String(prefix), FilterType: types.RepositoryFilterTypePrefixMatch}}
	}
	if _, err := e.client.PutReplicationConfiguration(context.Background(), &ecr.PutReplicationConfigurationInput{ReplicationConfiguration: &types.ReplicationConfiguration{Rules: []types.ReplicationRule{rule}}}); err != nil {
		t.Fatal(err)
	}
	e.srv.ResetCalls() // the run's calls are counted, not the set-up's
}

// gateJob builds a small image from a workspace file, without the scan
// wait (its gate has tests of its own).
func gateJob(t *testing.T, e *env, extra ...string) *runner.Outcome {
	t.Helper()
	j, inputs := gateInputs(t, extra...)
	return e.runJob(t, j, inputs)
}

// gateInputs makes gateJob's job and inputs.
func gateInputs(t *testing.T, extra ...string) (*job, map[string]string) {
	t.Helper()
	j := newJob(t)
	if err := os.MkdirAll(j.workspace("app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(j.workspace("app/hello.txt"), []byte("hello from "+t.Name()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return j, seedInputs(append([]string{"base_image", "scratch", "files", "app/hello.txt:/hello.txt", "wait_for_scan", "false"}, extra...)...)
}

// taggedImages lists the repository's tags.
func (e *env) tags(t *testing.T) []string {
	t.Helper()
	out, err := e.client.ListImages(context.Background(), &ecr.ListImagesInput{RepositoryName: aws.String(repoName), Filter: &types.ListImagesFilter{TagStatus: types.TagStatusTagged}})
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, id := range out.ImageIds {
		tags = append(tags, aws.ToString(id.ImageTag))
	}
	slices.Sort(tags)
	return tags
}

func wantError(t *testing.T, out *runner.Outcome, parts ...string) {
	t.Helper()
	errs := strings.Join(errorAnnotations(out.Log), "\n")
	for _, p := range parts {
		if !strings.Contains(errs, p) {
			t.Errorf("no ::error says %q:\n%s", p, errs)
		}
	}
}

func TestSigningGateEndToEnd(t *testing.T) {
	t.Parallel()
	t.Run("success", func(t *testing.T) {
		sharedTest(t)
		e := startGates(t, ecrlocal.Options{SigningDelay: 4 * time.Second})
		e.putSigning(t, "canvas-ta-*")
		out := gateJob(t, e, "require_signature", "true", "signature_timeout", "30s")
		if out.ExitCode != 0 {
			t.Fatalf("exit %d\n%s", out.ExitCode, out.Log)
		}
		if out.Outputs["signature_status"] != "signed" || out.Outputs["image_tags"] != shortSHA+",latest" {
			t.Errorf("outputs %v", out.Outputs)
		}
		if got := e.tags(t); !slices.Equal(got, []string{shortSHA, "latest"}) {
			t.Errorf("tags %v", got)
		}
		// It waited: the signature was IN_PROGRESS for 4 s after the push.
		if n := e.srv.Calls()["DescribeImageSigningStatus"]; n < 2 {
			t.Errorf("DescribeImageSigningStatus called %d times; the signature took 4 s", n)
		}
		for _, s := range []string{"## Signature", "signed", gateProfile, "COMPLETE"} {
			if !strings.Contains(out.Summary, s) {
				t.Errorf("summary lacks %q:\n%s", s, out.Summary)
			}
		}
		if out.Outputs["replication_status"] != "skipped" || out.Outputs["replicated_image_uris"] != "" {
			t.Errorf("replication outputs without wait_for_replication: %v", out.Outputs)
		}
	})
	t.Run("timeout writes no tag", func(t *testing.T) {
		sharedTest(t)
		e := startGates(t, ecrlocal.Options{SigningDelay: time.Hour})
		e.putSigning(t)
		began := time.Now()
		out := gateJob(t, e, "require_signature", "true", "signature_timeout", "10s")
		if out.ExitCode != 1 {
			t.Fatalf("exit %d, want 1\n%s", out.ExitCode, out.Log)
		}
		if d := time.Since(began); d > 40*time.Second {
			t.Errorf("took %s; the wait must end at signature_timeout (10s)", d)
		}
		wantError(t, out, "Signature timed out", "signature_timeout (10s)", "IN_PROGRESS", "no tag was written")
		if out.Outputs["signature_status"] != "timed_out" || out.Outputs["image_tags"] != "" || out.Outputs["image_digest"] == "" {
			t.Errorf("outputs %v", out.Outputs)
		}
		if got := e.tags(t); len(got) != 0 {
			t.Errorf("tags %v written though the signing gate did not pass", got)
		}
	})
	t.Run("failure writes no tag", func(t *testing.T) {
		sharedTest(t)
		e := startGates(t, ecrlocal.Options{SigningDelay: 300 * time.Millisecond, SigningFailure: "SIGNING_PROFILE_REVOKED"})
		e.putSigning(t)
		out := gateJob(t, e, "require_signature", "true")
		if out.ExitCode != 1 {
			t.Fatalf("exit %d, want 1\n%s", out.ExitCode, out.Log)
		}
		wantError(t, out, "Signature failed", "SIGNING_PROFILE_REVOKED", gateProfile)
		if out.Outputs["signature_status"] != "failed" || out.Outputs["image_tags"] != "" {
			t.Errorf("outputs %v", out.Outputs)
		}
		if got := e.tags(t); len(got) != 0 {
			t.Errorf("tags %v written though signing failed", got)
		}
		if !strings.Contains(out.Summary, "FAILED") {
			t.Errorf("summary:\n%s", out.Summary)
		}
	})
	t.Run("access denied", func(t *testing.T) {
		sharedTest(t)
		e := startGates(t, ecrlocal.Options{}, "ecr:DescribeImageSigningStatus")
		e.putSigning(t)
		out := gateJob(t, e, "require_signature", "true")
		if out.ExitCode != 1 {
			t.Fatalf("exit %d, want 1\n%s", out.ExitCode, out.Log)
		}
		wantError(t, out, "lack ecr:DescribeImageSigningStatus", "no tag was written")
		// A denied read ends the wait: one call, no retry.
		if n := denials(e, "ecr:DescribeImageSigningStatus"); n != 1 {
			t.Errorf("ecr:DescribeImageSigningStatus was denied %d times; want 1 (a denial is not read again)", n)
		}
		if got := e.tags(t); len(got) != 0 {
			t.Errorf("tags %v written without the signature", got)
		}
		if out.Outputs["signature_status"] != "failed" {
			t.Errorf("outputs %v", out.Outputs)
		}
	})
	t.Run("no signing configuration changes nothing", func(t *testing.T) {
		sharedTest(t)
		e := startGates(t, ecrlocal.Options{})
		out := gateJob(t, e, "require_signature", "true")
		if out.ExitCode != 1 {
			t.Fatalf("exit %d, want 1\n%s", out.ExitCode, out.Log)
		}
		wantError(t, out, "no signing configuration", "Nothing was changed in AWS")
		if w := e.srv.WriteCalls(); w != 0 {
			t.Errorf("%d write calls: %v", w, e.srv.Calls())
		}
	})
	t.Run("no rule for the repository changes nothing", func(t *testing.T) {
		sharedTest(t)
		e := startGates(t, ecrlocal.Options{})
		e.putSigning(t, "other/*")
		out := gateJob(t, e, "require_signature", "true")
		if out.ExitCode != 1 {
			t.Fatalf("exit %d, want 1\n%s", out.ExitCode, out.Log)
		}
		wantError(t, out, "no rule of the registry's signing configuration covers the repository "+repoName, "Nothing was changed in AWS")
		if w := e.srv.WriteCalls(); w != 0 {
			t.Errorf("%d write calls: %v", w, e.srv.Calls())
		}
	})
}

func TestReplicationGateEndToEnd(t *testing.T) {
	t.Parallel()
	uri := func(out *runner.Outcome, account, region string) string {
		return account + ".dkr.ecr." + region + ".amazonaws.com/" + repoName + "@" + out.Outputs["image_digest"]
	}
	t.Run("success", func(t *testing.T) {
		sharedTest(t)
		e := startGates(t, ecrlocal.Options{Replication: map[string]ecrlocal.ReplicationBehavior{
			"us-west-2":              {Delay: 300 * time.Millisecond},
			euAccount + "/eu-west-1": {Delay: 4 * time.Second},
		}})
		e.putReplication(t, "canvas-ta")
		out := gateJob(t, e, "wait_for_replication", "true", "replication_timeout", "30s")
		if out.ExitCode != 0 {
			t.Fatalf("exit %d\n%s", out.ExitCode, out.Log)
		}
		want := uri(out, westAccount, "us-west-2") + "\n" + uri(out, euAccount, "eu-west-1")
		if out.Outputs["replication_status"] != "complete" || out.Outputs["replicated_image_uris"] != want {
			t.Errorf("outputs %v, want replicated_image_uris\n%s", out.Outputs, want)
		}
		if n := e.srv.Calls()["DescribeImageReplicationStatus"]; n < 2 {
			t.Errorf("DescribeImageReplicationStatus called %d times; eu-west-1 took 4 s", n)
		}
		for _, s := range []string{"## Replication", "us-west-2", "eu-west-1", "COMPLETE", uri(out, euAccount, "eu-west-1")} {
			if !strings.Contains(out.Summary, s) {
				t.Errorf("summary lacks %q:\n%s", s, out.Summary)
			}
		}
		if out.Outputs["signature_status"] != "skipped" {
			t.Errorf("signature_status without require_signature: %v", out.Outputs)
		}
	})
	t.Run("timeout keeps the tags and the outputs", func(t *testing.T) {
		sharedTest(t)
		e := startGates(t, ecrlocal.Options{Replication: map[string]ecrlocal.ReplicationBehavior{"eu-west-1": {Delay: time.Hour}}})
		e.putReplication(t, "")
		out := gateJob(t, e, "wait_for_replication", "true", "replication_timeout", "10s")
		if out.ExitCode != 1 {
			t.Fatalf("exit %d, want 1\n%s", out.ExitCode, out.Log)
		}
		wantError(t, out, "Replication timed out", euAccount+" in eu-west-1 (IN_PROGRESS)", "replication_timeout (10s)")
		if out.Outputs["replication_status"] != "timed_out" || out.Outputs["replicated_image_uris"] != uri(out, westAccount, "us-west-2") || out.Outputs["image_tags"] != shortSHA+",latest" {
			t.Errorf("outputs %v", out.Outputs)
		}
		if got := e.tags(t); !slices.Equal(got, []string{shortSHA, "latest"}) {
			t.Errorf("tags %v; the tags are written before replication is waited for", got)
		}
	})
	t.Run("failure keeps the tags and the outputs", func(t *testing.T) {
		sharedTest(t)
		e := startGates(t, ecrlocal.Options{Replication: map[string]ecrlocal.ReplicationBehavior{
			"us-west-2": {Delay: 200 * time.Millisecond, Failure: "REPLICATION_DENIED"},
			"eu-west-1": {Delay: 600 * time.Millisecond},
		}})
		e.putReplication(t, "")
		out := gateJob(t, e, "wait_for_replication", "true")
		if out.ExitCode != 1 {
			t.Fatalf("exit %d, want 1\n%s", out.ExitCode, out.Log)
		}
		wantError(t, out, "Replication failed", westAccount+" in us-west-2 (FAILED REPLICATION_DENIED)")
		if out.Outputs["replication_status"] != "failed" || out.Outputs["replicated_image_uris"] != uri(out, euAccount, "eu-west-1") {
			t.Errorf("outputs %v", out.Outputs)
		}
		if !strings.Contains(out.Summary, `FAILED (REPLICATION\_DENIED)`) {
			t.Errorf("summary:\n%s", out.Summary)
		}
		if got := e.tags(t); len(got) != 2 {
			t.Errorf("tags %v", got)
		}
	})
	t.Run("access denied", func(t *testing.T) {
		sharedTest(t)
		e := startGates(t, ecrlocal.Options{}, "ecr:DescribeImageReplicationStatus")
		e.putReplication(t, "")
		out := gateJob(t, e, "wait_for_replication", "true")
		if out.ExitCode != 1 {
			t.Fatalf("exit %d, want 1\n%s", out.ExitCode, out.Log)
		}
		wantError(t, out, "lack ecr:DescribeImageReplicationStatus")
		if n := denials(e, "ecr:DescribeImageReplicationStatus"); n != 1 {
			t.Errorf("ecr:DescribeImageReplicationStatus was denied %d times; want 1 (a denial is not read again)", n)
		}
		if out.Outputs["replication_status"] != "failed" || out.Outputs["replicated_image_uris"] != "" || out.Outputs["image_digest"] == "" {
			t.Errorf("outputs %v", out.Outputs)
		}
	})
	t.Run("denied DescribeRegistry changes nothing", func(t *testing.T) {
		sharedTest(t)
		e := startGates(t, ecrlocal.Options{}, "ecr:DescribeRegistry")
		e.putReplication(t, "")
		out := gateJob(t, e, "wait_for_replication", "true")
		if out.ExitCode != 1 {
			t.Fatalf("exit %d, want 1\n%s", out.ExitCode, out.Log)
		}
		wantError(t, out, "lack ecr:DescribeRegistry", "Nothing was changed in AWS")
		if w := e.srv.WriteCalls(); w != 0 {
			t.Errorf("%d write calls: %v", w, e.srv.Calls())
		}
	})
	t.Run("no rule for the repository changes nothing", func(t *testing.T) {
		sharedTest(t)
		e := startGates(t, ecrlocal.Options{})
		e.putReplication(t, "other")
		out := gateJob(t, e, "wait_for_replication", "true")
		if out.ExitCode != 1 {
			t.Fatalf("exit %d, want 1\n%s", out.ExitCode, out.Log)
		}
		wantError(t, out, "none of whose repository filters (PREFIX_MATCH) covers "+repoName, "Nothing was changed in AWS")
		if w := e.srv.WriteCalls(); w != 0 {
			t.Errorf("%d write calls: %v", w, e.srv.Calls())
		}
	})
}

// cancelGateJob runs gateJob's image with extra inputs, and cancels the run
// (SIGINT, as the runner does) once ecrlocal has answered call. It returns
// the outcome and how long after the signal the action exited.
func cancelGateJob(t *testing.T, e *env, call string, extra ...string) (*runner.Outcome, time.Duration) {
	t.Helper()
	j, inputs := gateInputs(t, extra...)
	return runCancelled(t, j, inputs, localCredentials(e.url), syscall.SIGINT, afterCall(e, call))
}

// TestCancelDuringTheGates cancels a run while it waits for a signature
// that never comes, and while it waits for a replication that never ends:
// the action stops within seconds with one Cancelled error that says what
// was left, and a cancel before the tags writes none.
func TestCancelDuringTheGates(t *testing.T) {
	t.Parallel()
	t.Run("signing", func(t *testing.T) {
		sharedTest(t) // the bound on stopping (15 s) is far above what a loaded machine adds
		e := startGates(t, ecrlocal.Options{SigningDelay: time.Hour})
		e.putSigning(t)
		out, stop := cancelGateJob(t, e, "DescribeImageSigningStatus", "require_signature", "true", "signature_timeout", "1h")
		errs := errorAnnotations(out.RawLog)
		t.Logf("exit %d %.2fs after SIGINT; %s", out.ExitCode, stop.Seconds(), strings.Join(errs, "\n"))
		if out.ExitCode != 1 || stop > 15*time.Second {
			t.Errorf("exit %d after %s; want 1 within 15 s", out.ExitCode, stop)
		}
		if len(errs) != 1 || !strings.Contains(errs[0], "title=Cancelled") || !strings.Contains(errs[0], "no tag was written") {
			t.Errorf("want one ::error titled Cancelled saying no tag was written, got %q", errs)
		}
		if got := e.tags(t); len(got) != 0 {
			t.Errorf("tags %v written by a run cancelled before its signature", got)
		}
	})
	t.Run("replication", func(t *testing.T) {
		sharedTest(t)
		e := startGates(t, ecrlocal.Options{Replication: map[string]ecrlocal.ReplicationBehavior{
			"us-west-2": {Delay: time.Hour}, "eu-west-1": {Delay: time.Hour},
		}})
		e.putReplication(t, "")
		out, stop := cancelGateJob(t, e, "DescribeImageReplicationStatus", "wait_for_replication", "true", "replication_timeout", "1h")
		errs := errorAnnotations(out.RawLog)
		t.Logf("exit %d %.2fs after SIGINT; %s", out.ExitCode, stop.Seconds(), strings.Join(errs, "\n"))
		if out.ExitCode != 1 || stop > 15*time.Second {
			t.Errorf("exit %d after %s; want 1 within 15 s", out.ExitCode, stop)
		}
		if len(errs) != 1 || !strings.Contains(errs[0], "title=Cancelled") || !strings.Contains(errs[0], "tags are in place") {
			t.Errorf("want one ::error titled Cancelled saying the tags are in place, got %q", errs)
		}
		// Replication is waited for after the tags: they stay.
		if got := e.tags(t); !slices.Equal(got, []string{shortSHA, "latest"}) {
			t.Errorf("tags %v; the tags are written before replication is waited for", got)
		}
	})
}

// denials counts the calls of action the IAM middleware refused.
func denials(e *env, action string) int {
	n := 0
	for _, d := range e.iam.Decisions() {
		if d.Action == action && !d.Allowed {
			n++
		}
	}
	return n
}
