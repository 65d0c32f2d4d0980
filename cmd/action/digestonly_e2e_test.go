package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/org/ecr-action/internal/testing/ecrlocal"
	"github.com/org/ecr-action/internal/testing/ecrlocal/ecrlocaltest"
)

// Issue 14, item 3: the action pushes by digest and tags after the gate, and
// ECR does not document that scan on push fires for a manifest pushed by
// digest alone. Against ecrlocal's stricter mode (NoDigestPushScan, the
// -no-digest-push-scan flag), where it does not, the action starts the scan
// itself 10 s in (ecrscan.NoScanStartAfter) and gates on that scan.
func TestDigestOnlyPushNotScannedStartsScan(t *testing.T) {
	sharedTest(t)
	db, err := ecrlocal.LoadVulnDB(filepath.Join("..", "..", "testdata", "scan", "vulndb.json"))
	if err != nil {
		t.Fatal(err)
	}
	le := ecrlocaltest.StartWith(t, ecrlocal.Options{VulnDB: db, NoDigestPushScan: true})
	e := &env{srv: le.Server, url: le.URL, client: le.Client}
	j := vulnerableJob(t)

	begin := time.Now()
	out := e.runJob(t, j, debianBuild("scan_timeout", "120s"))
	took := time.Since(begin)
	// The Debian image has a CRITICAL finding: the gate fails on the scan
	// the action started, and no tag is written.
	if out.ExitCode == 0 || out.Outputs["scan_gate"] != "failed" {
		t.Fatalf("exit %d, scan_gate %q; want a failed gate\n%s", out.ExitCode, out.Outputs["scan_gate"], out.Log)
	}
	if n := e.srv.Calls()["StartImageScan"]; n != 1 {
		t.Errorf("StartImageScan called %d times, want 1 (calls %v)", n, e.srv.Calls())
	}
	for _, s := range []string{"no scan 10s after the push; starting one (StartImageScan)", "scan started", "CVE-2099-0001"} {
		if !strings.Contains(out.Log, s) {
			t.Errorf("the log lacks %q\n%s", s, out.Log)
		}
	}
	if strings.Contains(out.Log, "did not finish within scan_timeout") {
		t.Errorf("the run waited for scan_timeout\n%s", out.Log)
	}
	if n := e.srv.RegistryCalls()["manifest.put"]; n != 3 {
		t.Errorf("%d manifest PUTs, want 3 (the image, its SBOM and provenance, by digest; the tags are withheld)", n)
	}
	t.Logf("gated on the scan it started in %s", took.Round(100*time.Millisecond))

	// The same image with the finding ignored: the gate passes on that scan
	// (one scan per image per day: the action reuses it) and the tags are
	// written.
	out = e.runJob(t, j, debianBuild("scan_timeout", "120s", "ignore_vulnerabilities", "CVE-2099-0001"))
	if out.ExitCode != 0 || out.Outputs["scan_gate"] != "passed" {
		t.Fatalf("with the finding ignored: exit %d, scan_gate %q\n%s", out.ExitCode, out.Outputs["scan_gate"], out.Log)
	}
	if d := e.digestOf(t, repoName+":"+shortSHA); d != out.Outputs["image_digest"] {
		t.Errorf("tag %s names %s, want %s", shortSHA, d, out.Outputs["image_digest"])
	}
}
