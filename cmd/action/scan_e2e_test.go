package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-cmp/cmp"

	"github.com/org/ecr-action/internal/testing/ecrlocal"
	"github.com/org/ecr-action/internal/testing/logslocal"
	"github.com/org/ecr-action/internal/testing/logslocal/logslocaltest"
)

// The scan tests build images whose package databases are in
// testdata/scan, and let ecrlocal scan them against testdata/scan/vulndb.json
// (see testdata/scan/README.md for what each image holds).

func startScanning(t *testing.T, delay time.Duration) *env {
	t.Helper()
	db, err := ecrlocal.LoadVulnDB(filepath.Join("..", "..", "testdata", "scan", "vulndb.json"))
	if err != nil {
		t.Fatal(err)
	}
	e := startECR(t, ecrlocal.Options{VulnDB: db, ScanDelay: delay})
	return &env{srv: e.Server, url: e.URL, client: e.Client}
}

// vulnerableJob is a job whose workspace holds the Debian and Alpine
// package databases of testdata/scan.
func vulnerableJob(t *testing.T) *job {
	t.Helper()
	j := newJob(t)
	for _, d := range []string{"debian", "alpine"} {
		if err := os.CopyFS(j.workspace(d), os.DirFS(filepath.Join("..", "..", "testdata", "scan", d))); err != nil {
			t.Fatal(err)
		}
	}
	return j
}

// debianBuild builds a scratch image holding the Debian status file.
func debianBuild(extra ...string) map[string]string {
	return seedInputs(append([]string{"base_image", "scratch", "files", "debian/var:/var"}, extra...)...)
}

func errorAnnotations(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.HasPrefix(l, "::error") {
			out = append(out, l)
		}
	}
	return out
}

func TestScanGateEndToEnd(t *testing.T) {
	sharedTest(t)
	e := startScanning(t, 300*time.Millisecond)
	j := vulnerableJob(t)

	// The Debian image has 2 CRITICAL findings (CVE-2099-0001 in libssl3
	// and openssl): the default gate fails.
	out := e.runJob(t, j, debianBuild("sarif_file", "reports/ecr.sarif"))
	if out.ExitCode != 1 {
		t.Fatalf("exit %d, want 1 (gate failed)\n%s", out.ExitCode, out.Log)
	}
	want := map[string]string{
		"scan_status": "COMPLETE", "scan_gate": "failed",
		"scan_findings":  `{"CRITICAL":2,"HIGH":1,"INFORMATIONAL":1,"LOW":1,"MEDIUM":1,"UNDEFINED":0}`,
		"critical_count": "2", "high_count": "1", "medium_count": "1", "low_count": "1", "informational_count": "1", "undefined_count": "0",
		"sarif_file": "reports/ecr.sarif",
	}
	for k, v := range want {
		if out.Outputs[k] != v {
			t.Errorf("output %s = %q, want %q", k, out.Outputs[k], v)
		}
	}
	if out.Outputs["image_uri"] == "" || out.Outputs["repository_url"] == "" || out.Outputs["image_tags"] != "" {
		t.Errorf("a failed gate sets the image outputs, with no tag: %v", out.Outputs)
	}
	// The image is there by digest, and no tag names it.
	imgs, err := e.client.DescribeImages(context.Background(), &ecr.DescribeImagesInput{RepositoryName: aws.String(repoName)})
	if err != nil {
		t.Fatal(err)
	}
	// Its SBOM and provenance are there too, untagged artifacts with it as subject.
	for _, d := range imgs.ImageDetails {
		if d.SubjectManifestDigest != nil && (aws.ToString(d.SubjectManifestDigest) != out.Outputs["image_digest"] || len(d.ImageTags) != 0) {
			t.Errorf("referrer %s: subject %s, tags %v; want the image, no tag", aws.ToString(d.ImageDigest), aws.ToString(d.SubjectManifestDigest), d.ImageTags)
		}
	}
	imgs.ImageDetails = slices.DeleteFunc(imgs.ImageDetails, func(d types.ImageDetail) bool { return d.SubjectManifestDigest != nil })
	if len(imgs.ImageDetails) != 1 || aws.ToString(imgs.ImageDetails[0].ImageDigest) != out.Outputs["image_digest"] || len(imgs.ImageDetails[0].ImageTags) != 0 {
		t.Errorf("after a failed gate the repository holds %+v; want the image, untagged", imgs.ImageDetails)
	}
	if !strings.Contains(out.Summary, "withheld (scan gate failed)") {
		t.Errorf("the summary does not say the tags were withheld:\n%s", out.Summary)
	}
	errs := errorAnnotations(out.RawLog)
	if len(errs) != 1 || !strings.Contains(errs[0], "Scan gate failed") || !strings.Contains(errs[0], "CVE-2099-0001") {
		t.Errorf("want one ::error naming the gate and CVE-2099-0001, got %q", errs)
	}
	for _, s := range []string{"## Scan", "CVE-2099-0001", "**Failed**"} {
		if !strings.Contains(out.Summary, s) {
			t.Errorf("summary lacks %q:\n%s", s, out.Summary)
		}
	}
	var sarif struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Version string `json:"version"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID string `json:"ruleId"`
			} `json:"results"`
		} `json:"runs"`
	}
	data, err := os.ReadFile(j.workspace("reports/ecr.sarif"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &sarif); err != nil || sarif.Version != "2.1.0" || len(sarif.Runs) != 1 || len(sarif.Runs[0].Results) != 6 {
		t.Errorf("SARIF: %v, version %q, %d runs; want 2.1.0 with one run of 6 results", err, sarif.Version, len(sarif.Runs))
	} else if v := sarif.Runs[0].Tool.Driver.Version; v != testVersion {
		t.Errorf("SARIF tool.driver.version %q, want the stamped %q", v, testVersion)
	}

	// Accepting the CRITICAL finding until a future date passes the
	// default gate; the same entry with fail_on_severity HIGH still fails
	// on CVE-2099-0002.
	e.srv.ResetCalls()
	until := time.Now().AddDate(0, 1, 0).Format(time.DateOnly)
	out = e.runJob(t, j, debianBuild("ignore_vulnerabilities", "CVE-2099-0001 until "+until+"  # fix ships next sprint"))
	if out.ExitCode != 0 || out.Outputs["scan_gate"] != "passed" || out.Outputs["critical_count"] != "0" {
		t.Fatalf("with the ignore entry: exit %d, gate %s, critical %s\n%s", out.ExitCode, out.Outputs["scan_gate"], out.Outputs["critical_count"], out.Log)
	}
	// Now the gate passes, the withheld tags are written: 2 manifest PUTs
	// and not a blob byte.
	if e.srv.WriteCalls() != 0 || e.srv.RegistryCalls()["manifest.put"] != 2 || e.srv.UploadedBytes() != 0 {
		t.Errorf("the re-run wrote %d ECR writes, %d manifests, %d bytes; want the 2 tags only", e.srv.WriteCalls(), e.srv.RegistryCalls()["manifest.put"], e.srv.UploadedBytes())
	}
	if got := e.digestOf(t, "canvas-ta-production-app:latest"); got != out.Outputs["image_digest"] {
		t.Errorf("latest = %s, want %s", got, out.Outputs["image_digest"])
	}
	if !strings.Contains(out.Summary, "CVE-2099-0001") || !strings.Contains(out.Summary, "until "+until) {
		t.Errorf("the summary does not say what was ignored and why:\n%s", out.Summary)
	}
	out = e.runJob(t, j, debianBuild("ignore_vulnerabilities", "CVE-2099-0001", "fail_on_severity", "HIGH"))
	if out.ExitCode != 1 || !strings.Contains(strings.Join(errorAnnotations(out.RawLog), "\n"), "CVE-2099-0002") {
		t.Errorf("HIGH threshold: exit %d, want 1 naming CVE-2099-0002\n%s", out.ExitCode, out.Log)
	}

	// An expired entry counts again and warns.
	out = e.runJob(t, j, debianBuild("ignore_vulnerabilities", "CVE-2099-0001 until 2020-01-01"))
	if out.ExitCode != 1 || !strings.Contains(out.RawLog, "::warning") || !strings.Contains(out.Log, "has expired") {
		t.Errorf("expired entry: exit %d, want 1 with a warning\n%s", out.ExitCode, out.Log)
	}

	// Report only.
	out = e.runJob(t, j, debianBuild("fail_on_severity", "NONE"))
	if out.ExitCode != 0 || out.Outputs["scan_gate"] != "passed" || out.Outputs["critical_count"] != "2" {
		t.Errorf("NONE: exit %d, gate %s, critical %s", out.ExitCode, out.Outputs["scan_gate"], out.Outputs["critical_count"])
	}
}

func TestScanMultiArchMerges(t *testing.T) {
	sharedTest(t)
	e := startScanning(t, 0)
	j := vulnerableJob(t)
	// Both platforms hold the same Debian database: each finding is
	// reported on both and counted once.
	out := e.runJob(t, j, debianBuild("platforms", "linux/amd64,linux/arm64", "fail_on_severity", "NONE"))
	if out.ExitCode != 0 {
		t.Fatalf("exit %d\n%s", out.ExitCode, out.Log)
	}
	if out.Outputs["critical_count"] != "2" || out.Outputs["scan_status"] != "COMPLETE" {
		t.Errorf("critical %s, status %s; want 2 (merged) and COMPLETE", out.Outputs["critical_count"], out.Outputs["scan_status"])
	}
	for _, s := range []string{"linux/amd64", "linux/arm64"} {
		if !strings.Contains(out.Summary, s) {
			t.Errorf("summary does not name %s:\n%s", s, out.Summary)
		}
	}
	if n := e.srv.Calls()["DescribeImageScanFindings"]; n < 2 {
		t.Errorf("%d DescribeImageScanFindings calls; want at least one per platform", n)
	}
}

func TestScanStatusesEndToEnd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		hook     ecrlocal.ScanHook
		inputs   []string
		wantExit int
		wantGate string
		wantLog  string
	}{
		{"failed scan fails the gate", ecrlocal.ScanHook{Status: "FAILED"}, nil, 1, "failed", "status FAILED"},
		{"failed scan, report only", ecrlocal.ScanHook{Status: "FAILED"}, []string{"fail_on_severity", "NONE"}, 0, "passed", "status FAILED"},
		{"unsupported image", ecrlocal.ScanHook{Status: "UNSUPPORTED_IMAGE"}, nil, 1, "failed", "UNSUPPORTED_IMAGE"},
		{"timeout", ecrlocal.ScanHook{Delay: time.Hour}, []string{"scan_timeout", "10s"}, 1, "failed", "did not finish within scan_timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sharedTest(t)
			e := startScanning(t, 0)
			e.srv.ScanHook("", tt.hook)
			j := vulnerableJob(t)
			start := time.Now()
			out := e.runJob(t, j, debianBuild(tt.inputs...))
			if out.ExitCode != tt.wantExit || out.Outputs["scan_gate"] != tt.wantGate {
				t.Fatalf("exit %d gate %q; want %d %q\n%s", out.ExitCode, out.Outputs["scan_gate"], tt.wantExit, tt.wantGate, out.Log)
			}
			if !strings.Contains(out.Log+out.Summary, tt.wantLog) {
				t.Errorf("log and summary lack %q\n%s", tt.wantLog, out.Log)
			}
			if d := time.Since(start); d > 40*time.Second {
				t.Errorf("took %s; the wait must end at scan_timeout", d)
			}
		})
	}
}

func TestScanCallFaults(t *testing.T) {
	t.Parallel()
	t.Run("AccessDenied is not retried", func(t *testing.T) {
		sharedTest(t)
		e := startScanning(t, 0)
		e.srv.Inject("DescribeImageScanFindings", ecrlocal.Fault{Count: 100, Error: "AccessDeniedException"})
		out := e.runJob(t, vulnerableJob(t), debianBuild())
		if out.ExitCode != 1 || !strings.Contains(out.Log, "ecr:DescribeImageScanFindings") {
			t.Fatalf("exit %d; want 1 naming ecr:DescribeImageScanFindings\n%s", out.ExitCode, out.Log)
		}
		if n := e.srv.Calls()["DescribeImageScanFindings"]; n != 1 {
			t.Errorf("%d DescribeImageScanFindings calls; a denied call must not be retried", n)
		}
		if out.Outputs["image_uri"] == "" {
			t.Error("the image outputs must be set even when the scan cannot be read")
		}
	})
	t.Run("throttling is retried", func(t *testing.T) {
		sharedTest(t)
		e := startScanning(t, 0)
		e.srv.Inject("DescribeImageScanFindings", ecrlocal.Fault{Count: 3, Throttle: true})
		out := e.runJob(t, vulnerableJob(t), debianBuild("fail_on_severity", "NONE"))
		if out.ExitCode != 0 || out.Outputs["scan_status"] != "COMPLETE" {
			t.Fatalf("exit %d status %s\n%s", out.ExitCode, out.Outputs["scan_status"], out.Log)
		}
		if n := e.srv.Calls()["DescribeImageScanFindings"]; n < 4 || n > 10 {
			t.Errorf("%d calls; want the 3 throttled ones retried and few more", n)
		}
	})
	t.Run("registry configuration denied falls back to the repository setting", func(t *testing.T) {
		sharedTest(t)
		e := startScanning(t, 0)
		e.srv.Inject("GetRegistryScanningConfiguration", ecrlocal.Fault{Count: 100, Error: "AccessDeniedException"})
		out := e.runJob(t, vulnerableJob(t), debianBuild("fail_on_severity", "NONE"))
		if out.ExitCode != 0 || out.Outputs["scan_status"] != "COMPLETE" || !strings.Contains(out.Log, "GetRegistryScanningConfiguration was denied") {
			t.Fatalf("exit %d status %s\n%s", out.ExitCode, out.Outputs["scan_status"], out.Log)
		}
		if n := e.srv.Calls()["GetRegistryScanningConfiguration"]; n != 1 {
			t.Errorf("%d GetRegistryScanningConfiguration calls, want 1", n)
		}
	})
}

func TestScanWaitChoices(t *testing.T) {
	t.Parallel()
	t.Run("no scan on push: skipped", func(t *testing.T) {
		sharedTest(t)
		e := startScanning(t, 0)
		out := e.runJob(t, vulnerableJob(t), debianBuild("enable_image_scanning", "false"))
		if out.ExitCode != 0 || out.Outputs["scan_gate"] != "skipped" || e.srv.Calls()["DescribeImageScanFindings"] != 0 {
			t.Fatalf("exit %d gate %s, %d reads\n%s", out.ExitCode, out.Outputs["scan_gate"], e.srv.Calls()["DescribeImageScanFindings"], out.Log)
		}
	})
	t.Run("wait_for_scan true starts a scan, then reuses it", func(t *testing.T) {
		sharedTest(t)
		e := startScanning(t, 0)
		j := vulnerableJob(t)
		in := debianBuild("enable_image_scanning", "false", "wait_for_scan", "true")
		out := e.runJob(t, j, in)
		if out.ExitCode != 1 || out.Outputs["critical_count"] != "2" || e.srv.Calls()["StartImageScan"] != 1 {
			t.Fatalf("exit %d critical %s, %d StartImageScan\n%s", out.ExitCode, out.Outputs["critical_count"], e.srv.Calls()["StartImageScan"], out.Log)
		}
		// A second run the same day: ECR refuses a second scan
		// (LimitExceededException), and the first scan's result is used.
		e.srv.ResetCalls()
		out = e.runJob(t, j, in)
		if out.ExitCode != 1 || out.Outputs["critical_count"] != "2" || e.srv.Calls()["StartImageScan"] != 1 || !strings.Contains(out.Log, "one scan per image per day") {
			t.Fatalf("second run: exit %d critical %s, %d StartImageScan\n%s", out.ExitCode, out.Outputs["critical_count"], e.srv.Calls()["StartImageScan"], out.Log)
		}
	})
	t.Run("wait_for_scan false", func(t *testing.T) {
		sharedTest(t)
		e := startScanning(t, 0)
		out := e.runJob(t, vulnerableJob(t), debianBuild("wait_for_scan", "false"))
		if out.ExitCode != 0 || out.Outputs["scan_gate"] != "skipped" || out.Outputs["critical_count"] != "" {
			t.Fatalf("exit %d gate %s critical %q\n%s", out.ExitCode, out.Outputs["scan_gate"], out.Outputs["critical_count"], out.Log)
		}
	})
}

func TestScanEnhancedEndToEnd(t *testing.T) {
	sharedTest(t)
	e := startScanning(t, 0)
	_, err := e.client.PutRegistryScanningConfiguration(context.Background(), &ecr.PutRegistryScanningConfigurationInput{
		ScanType: types.ScanTypeEnhanced,
		Rules: []types.RegistryScanningRule{{ScanFrequency: types.ScanFrequencyContinuousScan,
			RepositoryFilters: []types.ScanningRepositoryFilter{{Filter: aws.String("canvas-*"), FilterType: types.ScanningRepositoryFilterTypeWildcard}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Alpine: HIGH busybox (fix), MEDIUM libcrypto3 (fix), UNDEFINED musl
	// (no fix). ignore_unfixed takes musl out; fail_on_severity UNDEFINED
	// then sees only the two with fixes.
	j := vulnerableJob(t)
	out := e.runJob(t, j, seedInputs("base_image", "scratch", "files", "alpine/lib:/lib", "ignore_unfixed", "true", "fail_on_severity", "NONE"))
	if out.ExitCode != 0 {
		t.Fatalf("exit %d\n%s", out.ExitCode, out.Log)
	}
	got := map[string]string{}
	for _, k := range []string{"scan_status", "high_count", "medium_count", "undefined_count"} {
		got[k] = out.Outputs[k]
	}
	want := map[string]string{"scan_status": "ACTIVE", "high_count": "1", "medium_count": "1", "undefined_count": "0"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	if !strings.Contains(out.Summary, `ignore\_unfixed: no fix available`) {
		t.Errorf("the summary does not say why musl's finding was ignored:\n%s", out.Summary)
	}
	// Two agreeing reads before trusting an enhanced result.
	if n := e.srv.Calls()["DescribeImageScanFindings"]; n < 2 {
		t.Errorf("%d reads; an enhanced result needs two that agree", n)
	}
}

func TestScanLogEndToEnd(t *testing.T) {
	sharedTest(t)
	e := startScanning(t, 0)
	logs := logslocaltest.Start(t)
	j := vulnerableJob(t)
	j.env["AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"] = logs.URL
	j.env["GITHUB_RUN_ID"] = "4242"
	in := debianBuild("scan_log_group", "/ecr-action/scans", "scan_log_retention_days", "14", "fail_on_severity", "NONE")
	out := e.runJob(t, j, in)
	if out.ExitCode != 0 {
		t.Fatalf("exit %d\n%s", out.ExitCode, out.Log)
	}
	events := logs.Server.Events("/ecr-action/scans", repoName)
	if len(events) != 1 {
		t.Fatalf("%d events, want 1", len(events))
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(events[0].Message), &ev); err != nil {
		t.Fatal(err)
	}
	if ev["repository"] != repoName || ev["gate"] != "passed" || ev["status"] != "COMPLETE" || ev["digest"] != out.Outputs["image_digest"] ||
		!strings.HasSuffix(ev["run_url"].(string), "/actions/runs/4242") {
		t.Errorf("event = %v", ev)
	}
	if w := logs.Server.WriteCalls(); w != 4 {
		t.Errorf("first run: %d CloudWatch writes, want 4 (group, retention, stream, event)", w)
	}
	logs.Server.ResetCalls()
	if out := e.runJob(t, j, in); out.ExitCode != 0 {
		t.Fatalf("second run: exit %d\n%s", out.ExitCode, out.Log)
	}
	if w := logs.Server.WriteCalls(); w != 1 {
		t.Errorf("second run: %d CloudWatch writes, want 1 (the event)", w)
	}

	// A denied CloudWatch call fails the step, names the IAM action, and
	// leaves the outputs set.
	logs.Server.Inject("PutLogEvents", logslocal.Fault{Count: 100, Error: "AccessDeniedException"})
	out = e.runJob(t, j, in)
	if out.ExitCode != 1 || !strings.Contains(out.Log, "logs:PutLogEvents") || out.Outputs["scan_gate"] != "passed" {
		t.Errorf("denied PutLogEvents: exit %d, gate %q\n%s", out.ExitCode, out.Outputs["scan_gate"], out.Log)
	}
}

// TestScanGateBlocksPromotion: retag_from is a promotion, and a promotion
// of an image that fails the gate adds no tag.
func TestScanGateBlocksPromotion(t *testing.T) {
	sharedTest(t)
	e := startScanning(t, 0)
	j := vulnerableJob(t)
	if out := e.runJob(t, j, debianBuild("fail_on_severity", "NONE")); out.ExitCode != 0 {
		t.Fatalf("push: exit %d\n%s", out.ExitCode, out.Log)
	}
	e.srv.ResetCalls()
	out := e.runJob(t, j, seedInputs("retag_from", shortSHA, "tag_sha", "false", "tag_latest", "false", "image_tags", "v1.0.0"))
	if out.ExitCode != 1 || out.Outputs["scan_gate"] != "failed" {
		t.Fatalf("promotion: exit %d gate %q\n%s", out.ExitCode, out.Outputs["scan_gate"], out.Log)
	}
	if n := e.srv.RegistryCalls()["manifest.put"]; n != 0 {
		t.Errorf("%d manifest PUTs; a failed gate writes no tag", n)
	}
	if _, err := e.client.DescribeImages(context.Background(), &ecr.DescribeImagesInput{
		RepositoryName: aws.String(repoName), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v1.0.0")}},
	}); err == nil {
		t.Error("v1.0.0 exists after a failed gate")
	}
}

// TestScanStartsForAnUnscannedOldImage: an image pushed before scan on push
// was turned on has no scan; promoting it starts one instead of waiting for
// a scan that never comes.
func TestScanStartsForAnUnscannedOldImage(t *testing.T) {
	sharedTest(t)
	e := startScanning(t, 0)
	j := vulnerableJob(t)
	if out := e.runJob(t, j, debianBuild("enable_image_scanning", "false")); out.ExitCode != 0 || out.Outputs["scan_gate"] != "skipped" {
		t.Fatalf("push without scanning: exit %d gate %q\n%s", out.ExitCode, out.Outputs["scan_gate"], out.Log)
	}
	e.srv.ResetCalls()
	start := time.Now()
	out := e.runJob(t, j, seedInputs("retag_from", shortSHA, "tag_sha", "false", "tag_latest", "false", "image_tags", "v1.0.0", "fail_on_severity", "NONE"))
	if out.ExitCode != 0 || out.Outputs["scan_status"] != "COMPLETE" || out.Outputs["critical_count"] != "2" {
		t.Fatalf("promotion: exit %d status %q critical %q\n%s", out.ExitCode, out.Outputs["scan_status"], out.Outputs["critical_count"], out.Log)
	}
	if n := e.srv.Calls()["StartImageScan"]; n != 1 {
		t.Errorf("%d StartImageScan calls, want 1", n)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %s; the scan should start at once", d)
	}
}
