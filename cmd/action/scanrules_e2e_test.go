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
)

// putScanRules sets the registry scanning configuration, as an
// administrator of the account would.
func (e *env) putScanRules(t *testing.T, scanType types.ScanType, rules ...types.RegistryScanningRule) {
	t.Helper()
	if _, err := e.client.PutRegistryScanningConfiguration(context.Background(), &ecr.PutRegistryScanningConfigurationInput{ScanType: scanType, Rules: rules}); err != nil {
		t.Fatal(err)
	}
}

func wildcardRule(freq types.ScanFrequency, filters ...string) types.RegistryScanningRule {
	r := types.RegistryScanningRule{ScanFrequency: freq}
	for _, f := range filters {
		r.RepositoryFilters = append(r.RepositoryFilters, types.ScanningRepositoryFilter{Filter: aws.String(f), FilterType: types.ScanningRepositoryFilterTypeWildcard})
	}
	return r
}

func warningAnnotations(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.HasPrefix(l, "::warning") {
			out = append(out, l)
		}
	}
	return out
}

// TestScanRegistryRulesDecide runs the action against registry scanning
// rules that leave the repository MANUAL whatever its own scan on push
// (ECR's precedence, read with BatchGetRepositoryScanningConfiguration).
// No run may wait for scan_timeout (set to 6h here: reaching it would time
// the test out).
func TestScanRegistryRulesDecide(t *testing.T) {
	sharedTest(t)
	const timeout = "6h"
	// Basic: prod-* scans on push, everything else is MANUAL. The run asks
	// for scan on push, which the rules override: it starts a basic scan,
	// gates on it (the Debian image fails the default gate), and reports
	// the override as drift.
	t.Run("basic MANUAL rule: starts a scan and gates on it", func(t *testing.T) {
		e := startScanning(t, 0)
		e.putScanRules(t, types.ScanTypeBasic, wildcardRule(types.ScanFrequencyScanOnPush, "prod-*"), wildcardRule(types.ScanFrequencyManual, "*"))
		start := time.Now()
		out := e.runJob(t, vulnerableJob(t), debianBuild("scan_timeout", timeout))
		took := time.Since(start)
		if out.ExitCode != 1 || out.Outputs["scan_gate"] != "failed" || out.Outputs["critical_count"] != "2" {
			t.Fatalf("exit %d, gate %s, critical %s; want the gate to fail on the scan it started\n%s", out.ExitCode, out.Outputs["scan_gate"], out.Outputs["critical_count"], out.Log)
		}
		calls := e.srv.Calls()
		if calls["StartImageScan"] != 1 || calls["BatchGetRepositoryScanningConfiguration"] != 1 {
			t.Errorf("calls %v: want one StartImageScan and one BatchGetRepositoryScanningConfiguration", calls)
		}
		for _, s := range []string{"rule MANUAL with filter * matches it", "add a SCAN_ON_PUSH filter that matches canvas-ta-production-app", "StartImageScan"} {
			if !strings.Contains(out.Log, s) {
				t.Errorf("the log does not say %q\n%s", s, out.Log)
			}
		}
		warns := warningAnnotations(out.RawLog)
		if len(warns) != 1 || !strings.Contains(warns[0], "enable_image_scanning is true but cannot take effect (drift)") {
			t.Errorf("warnings %q, want one saying enable_image_scanning is overridden (drift)", warns)
		}
		if !strings.Contains(out.Summary, "drift") {
			t.Errorf("the summary does not report the drift:\n%s", out.Summary)
		}
		t.Logf("basic, MANUAL by rule: exit %d in %v; calls %v", out.ExitCode, took.Round(time.Millisecond), calls)
	})
	t.Run("basic SCAN_ON_PUSH rule covers a repository without the flag", func(t *testing.T) {
		e := startScanning(t, 0)
		e.putScanRules(t, types.ScanTypeBasic, wildcardRule(types.ScanFrequencyScanOnPush, "canvas-*"))
		out := e.runJob(t, vulnerableJob(t), debianBuild("enable_image_scanning", "false", "fail_on_severity", "NONE", "scan_timeout", timeout))
		if out.ExitCode != 0 || out.Outputs["scan_status"] != "COMPLETE" || e.srv.Calls()["StartImageScan"] != 0 {
			t.Fatalf("exit %d, status %s, %d StartImageScan; want the scan on push waited for\n%s", out.ExitCode, out.Outputs["scan_status"], e.srv.Calls()["StartImageScan"], out.Log)
		}
	})
	// Enhanced with no rule for the repository: nothing will scan it, and
	// StartImageScan cannot. wait_for_scan: true fails at once naming the
	// rules; auto skips the gate with a warning.
	for _, wait := range []string{"true", "auto"} {
		t.Run("enhanced, no matching rule, wait_for_scan "+wait, func(t *testing.T) {
			e := startScanning(t, 0)
			e.putScanRules(t, types.ScanTypeEnhanced, wildcardRule(types.ScanFrequencyContinuousScan, "prod-*"))
			start := time.Now()
			out := e.runJob(t, vulnerableJob(t), debianBuild("wait_for_scan", wait, "scan_timeout", timeout))
			took := time.Since(start)
			want := "no enhanced scanning rule matches it (rules: CONTINUOUS_SCAN prod-*)"
			if c := e.srv.Calls(); c["DescribeImageScanFindings"]+c["StartImageScan"] != 0 {
				t.Errorf("calls %v: nothing should wait for or start a scan", c)
			}
			if wait == "true" {
				errs := errorAnnotations(out.RawLog)
				if out.ExitCode != 1 || len(errs) != 1 || !strings.Contains(errs[0], want) || !strings.Contains(errs[0], "CONTINUOUS_SCAN filter that matches canvas-ta-production-app") {
					t.Fatalf("exit %d, errors %q; want one failure naming the rules and the fix\n%s", out.ExitCode, errs, out.Log)
				}
				if out.Outputs["image_tags"] != "" {
					t.Errorf("tags %q written though the gate could not decide", out.Outputs["image_tags"])
				}
			} else {
				warns := warningAnnotations(out.RawLog)
				if out.ExitCode != 0 || out.Outputs["scan_gate"] != "skipped" || len(warns) != 1 || !strings.Contains(warns[0], want) {
					t.Fatalf("exit %d, gate %s, warnings %q; want a skipped gate with one warning naming the rules\n%s", out.ExitCode, out.Outputs["scan_gate"], warns, out.Log)
				}
			}
			t.Logf("enhanced, no rule, wait_for_scan %s: exit %d in %v", wait, out.ExitCode, took.Round(time.Millisecond))
		})
	}
	// Without ecr:BatchGetRepositoryScanningConfiguration the action works
	// the precedence out from the rules itself, and says so.
	t.Run("BatchGet denied: derived, and said", func(t *testing.T) {
		e := startScanning(t, 0)
		e.putScanRules(t, types.ScanTypeBasic, wildcardRule(types.ScanFrequencyScanOnPush, "prod-*"), wildcardRule(types.ScanFrequencyManual, "*"))
		e.srv.Inject("BatchGetRepositoryScanningConfiguration", ecrlocal.Fault{Count: 100, Error: "AccessDeniedException"})
		out := e.runJob(t, vulnerableJob(t), debianBuild("fail_on_severity", "NONE", "scan_timeout", timeout))
		if out.ExitCode != 0 || out.Outputs["scan_status"] != "COMPLETE" || e.srv.Calls()["StartImageScan"] != 1 ||
			!strings.Contains(out.Log, "BatchGetRepositoryScanningConfiguration was denied") {
			t.Fatalf("exit %d, status %s, %d StartImageScan; want the fallback said and a scan started\n%s", out.ExitCode, out.Outputs["scan_status"], e.srv.Calls()["StartImageScan"], out.Log)
		}
	})
}
