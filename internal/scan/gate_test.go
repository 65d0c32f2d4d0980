package scan

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// now is the date every gate test evaluates on.
var now = time.Date(2026, 6, 15, 13, 45, 0, 0, time.UTC)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// matrixFindings holds one finding of each severity. The HIGH one has no
// fix, so ignore_unfixed takes it out (with enhanced scanning); the MEDIUM
// one has a partial fix and the LOW one an unknown one, which it keeps.
func matrixFindings() []Finding {
	return []Finding{
		{ID: "CVE-2024-0001", Severity: Critical, Package: "openssl", InstalledVersion: "3.0.2", FixedVersion: "3.0.13", Fix: FixYes},
		{ID: "CVE-2024-0002", Severity: High, Package: "zlib", InstalledVersion: "1.2.11", Fix: FixNo},
		{ID: "CVE-2024-0003", Severity: Medium, Package: "curl", InstalledVersion: "7.81.0", Fix: FixPartial},
		{ID: "CVE-2024-0004", Severity: Low, Package: "bash", InstalledVersion: "5.1"},
		{ID: "CVE-2024-0005", Severity: Informational, Package: "tar", InstalledVersion: "1.34", Fix: FixYes, FixedVersion: "1.35"},
		{ID: "CVE-2024-0006", Severity: Undefined, Package: "gzip", InstalledVersion: "1.10", Fix: FixNo},
	}
}

func singleResult(mode Mode, status string, fs []Finding) *Result {
	return &Result{
		Mode: mode, Repository: "app", Digest: "sha256:aa",
		Platforms: []PlatformResult{{Platform: "linux/amd64", Digest: "sha256:aa", Status: status, Findings: fs}},
	}
}

func counts(pairs ...any) map[Severity]int {
	m := zeroCounts()
	for i := 0; i < len(pairs); i += 2 {
		m[pairs[i].(Severity)] = pairs[i+1].(int)
	}
	return m
}

// ignoreCase is one column of the gate matrix: the ignore_vulnerabilities
// entries, which finding IDs they take out and what they warn about.
type ignoreCase struct {
	name     string
	rules    []IgnoreRule
	ignored  map[string]string // ID → reason
	warnings []string
}

func ignoreCases() []ignoreCase {
	const critical = "CVE-2024-0001"
	return []ignoreCase{
		{name: "no ignore rules"},
		{
			name:    "ignored forever",
			rules:   []IgnoreRule{{ID: critical}},
			ignored: map[string]string{critical: "ignore_vulnerabilities: CVE-2024-0001"},
		},
		{
			name:    "ignored until a future date",
			rules:   []IgnoreRule{{ID: critical, Until: day("2026-07-01")}},
			ignored: map[string]string{critical: "ignore_vulnerabilities: CVE-2024-0001 until 2026-07-01"},
		},
		{
			name:    "ignored until today",
			rules:   []IgnoreRule{{ID: critical, Until: day("2026-06-15")}},
			ignored: map[string]string{critical: "ignore_vulnerabilities: CVE-2024-0001 until 2026-06-15"},
		},
		{
			name:     "ignore entry expired yesterday",
			rules:    []IgnoreRule{{ID: critical, Until: day("2026-06-14")}},
			warnings: []string{"ignore_vulnerabilities: CVE-2024-0001 until 2026-06-14 has expired, so CVE-2024-0001 counts again; remove the entry or move its date"},
		},
		{
			name:    "ID matched in any case",
			rules:   []IgnoreRule{{ID: "cve-2024-0001"}},
			ignored: map[string]string{critical: "ignore_vulnerabilities: cve-2024-0001"},
		},
		{
			name:     "unused entry",
			rules:    []IgnoreRule{{ID: "CVE-2099-9999"}},
			warnings: []string{"ignore_vulnerabilities: CVE-2099-9999 matched no finding; remove it once it is no longer needed"},
		},
	}
}

const basicUnfixedWarning = "ignore_unfixed has no effect with basic scanning, which does not say whether a fix exists; every finding counts"

// TestEvaluateMatrix runs every threshold against every ignore column, in
// both scan modes, with and without ignore_unfixed, and checks the whole
// verdict.
func TestEvaluateMatrix(t *testing.T) {
	thresholds := append(Severities(), None)
	for _, mode := range []Mode{Basic, Enhanced} {
		for _, unfixed := range []bool{false, true} {
			for _, ic := range ignoreCases() {
				for _, th := range thresholds {
					name := fmt.Sprintf("%s/ignore_unfixed=%t/%s/%s", mode, unfixed, ic.name, th)
					t.Run(name, func(t *testing.T) {
						res := singleResult(mode, StatusComplete, matrixFindings())
						got := Evaluate(res, Rules{Threshold: th, Ignore: ic.rules, IgnoreUnfixed: unfixed, Now: now})

						want := Verdict{Status: StatusComplete, Threshold: th, Found: zeroCounts(), Counts: zeroCounts()}
						var expired []string
						for _, w := range ic.warnings {
							if strings.Contains(w, "has expired") {
								expired = append(expired, w)
							}
						}
						want.Warnings = append(want.Warnings, expired...)
						if unfixed && mode == Basic {
							want.Warnings = append(want.Warnings, basicUnfixedWarning)
						}
						for _, w := range ic.warnings {
							if !strings.Contains(w, "has expired") {
								want.Warnings = append(want.Warnings, w)
							}
						}
						for _, f := range matrixFindings() {
							f.Platforms = []string{"linux/amd64"}
							want.Found[f.Severity]++
							if reason, ok := ic.ignored[f.ID]; ok {
								want.Ignored = append(want.Ignored, Ignored{f, reason})
								continue
							}
							if unfixed && mode == Enhanced && f.Fix == FixNo {
								want.Ignored = append(want.Ignored, Ignored{f, "ignore_unfixed: no fix available"})
								continue
							}
							want.Counts[f.Severity]++
							want.Counted = append(want.Counted, f)
							if th != None && f.Severity.Rank() >= th.Rank() {
								want.Blocking++
							}
						}
						want.Gate = GatePassed
						if want.Blocking > 0 {
							want.Gate = GateFailed
						}
						if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Verdict{}, "Reason"), cmpopts.EquateEmpty()); diff != "" {
							t.Errorf("verdict mismatch (-want +got):\n%s", diff)
						}
						var reason string
						switch {
						case th == None:
							reason = fmt.Sprintf("fail_on_severity is NONE: %s reported, none gate the deploy.", countText(len(want.Counted), "finding"))
						case want.Blocking > 0:
							reason = fmt.Sprintf("%s at or above %s (fail_on_severity) remain after the ignore rules.", countText(want.Blocking, "finding"), th)
						default:
							reason = fmt.Sprintf("no finding at or above %s (fail_on_severity) remains after the ignore rules.", th)
						}
						if got.Reason != reason {
							t.Errorf("reason = %q, want %q", got.Reason, reason)
						}
					})
				}
			}
		}
	}
}

// TestEvaluateNamedCases spells out a few cells of the matrix in full, so a
// mistake shared by the matrix's expectations and the gate shows up here.
func TestEvaluateNamedCases(t *testing.T) {
	withPlatform := func(f Finding) Finding { f.Platforms = []string{"linux/amd64"}; return f }
	all := matrixFindings()
	tests := []struct {
		name  string
		mode  Mode
		rules Rules
		want  Verdict
	}{
		{
			name:  "CRITICAL threshold fails on the critical finding",
			mode:  Basic,
			rules: Rules{Threshold: Critical, Now: now},
			want: Verdict{
				Gate: GateFailed, Reason: "1 finding at or above CRITICAL (fail_on_severity) remain after the ignore rules.",
				Status: StatusComplete, Threshold: Critical,
				Found:   counts(Critical, 1, High, 1, Medium, 1, Low, 1, Informational, 1, Undefined, 1),
				Counts:  counts(Critical, 1, High, 1, Medium, 1, Low, 1, Informational, 1, Undefined, 1),
				Counted: []Finding{withPlatform(all[0]), withPlatform(all[1]), withPlatform(all[2]), withPlatform(all[3]), withPlatform(all[4]), withPlatform(all[5])}, Blocking: 1,
			},
		},
		{
			name:  "ignoring the critical one and the unfixed ones passes HIGH in enhanced mode",
			mode:  Enhanced,
			rules: Rules{Threshold: High, Ignore: []IgnoreRule{{ID: "CVE-2024-0001", Until: day("2027-01-31")}}, IgnoreUnfixed: true, Now: now},
			want: Verdict{
				Gate: GatePassed, Reason: "no finding at or above HIGH (fail_on_severity) remains after the ignore rules.",
				Status: StatusComplete, Threshold: High,
				Found:   counts(Critical, 1, High, 1, Medium, 1, Low, 1, Informational, 1, Undefined, 1),
				Counts:  counts(Medium, 1, Low, 1, Informational, 1),
				Counted: []Finding{withPlatform(all[2]), withPlatform(all[3]), withPlatform(all[4])},
				Ignored: []Ignored{
					{withPlatform(all[0]), "ignore_vulnerabilities: CVE-2024-0001 until 2027-01-31"},
					{withPlatform(all[1]), "ignore_unfixed: no fix available"},
					{withPlatform(all[5]), "ignore_unfixed: no fix available"},
				},
			},
		},
		{
			name:  "ignore_unfixed in basic mode warns and takes nothing out",
			mode:  Basic,
			rules: Rules{Threshold: High, Ignore: []IgnoreRule{{ID: "CVE-2024-0001"}}, IgnoreUnfixed: true, Now: now},
			want: Verdict{
				Gate: GateFailed, Reason: "1 finding at or above HIGH (fail_on_severity) remain after the ignore rules.",
				Status: StatusComplete, Threshold: High,
				Found:    counts(Critical, 1, High, 1, Medium, 1, Low, 1, Informational, 1, Undefined, 1),
				Counts:   counts(High, 1, Medium, 1, Low, 1, Informational, 1, Undefined, 1),
				Counted:  []Finding{withPlatform(all[1]), withPlatform(all[2]), withPlatform(all[3]), withPlatform(all[4]), withPlatform(all[5])},
				Blocking: 1,
				Ignored:  []Ignored{{withPlatform(all[0]), "ignore_vulnerabilities: CVE-2024-0001"}},
				Warnings: []string{basicUnfixedWarning},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Evaluate(singleResult(tc.mode, StatusComplete, matrixFindings()), tc.rules)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("verdict mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEvaluateStatuses: ACTIVE and COMPLETE carry findings; every other
// final status leaves them unknown and fails the gate unless the threshold
// is NONE, with a reason naming the status.
func TestEvaluateStatuses(t *testing.T) {
	high := []Finding{{ID: "CVE-2024-0002", Severity: High, Package: "zlib", InstalledVersion: "1.2.11"}}
	tests := []struct {
		status   string
		findings []Finding
		th       Severity
		gate     Gate
		reason   string
	}{
		{StatusComplete, nil, High, GatePassed, "no finding at or above HIGH (fail_on_severity) remains after the ignore rules."},
		{StatusComplete, high, High, GateFailed, "1 finding at or above HIGH (fail_on_severity) remain after the ignore rules."},
		{StatusComplete, high, Critical, GatePassed, "no finding at or above CRITICAL (fail_on_severity) remains after the ignore rules."},
		{StatusActive, nil, High, GatePassed, "no finding at or above HIGH (fail_on_severity) remains after the ignore rules."},
		{StatusActive, high, High, GateFailed, "1 finding at or above HIGH (fail_on_severity) remain after the ignore rules."},
		{StatusActive, high, None, GatePassed, "fail_on_severity is NONE: 1 finding reported, none gate the deploy."},
	}
	for _, st := range []string{StatusFailed, StatusUnsupportedImage, StatusFindingsUnavailable, StatusEligibilityExpired, StatusLimitExceeded, StatusPending, StatusInProgress, StatusNotFound, "SOMETHING_NEW"} {
		unknown := fmt.Sprintf("the scan ended with status %s, so the image's findings are unknown.", st)
		for _, th := range append(Severities(), None) {
			tc := struct {
				status   string
				findings []Finding
				th       Severity
				gate     Gate
				reason   string
			}{st, nil, th, GateFailed, unknown}
			if th == None {
				tc.gate = GatePassed
				tc.reason = unknown + " fail_on_severity is NONE, so the gate does not fail."
			}
			tests = append(tests, tc)
		}
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%d findings/%s", tc.status, len(tc.findings), tc.th), func(t *testing.T) {
			got := Evaluate(singleResult(Enhanced, tc.status, tc.findings), Rules{Threshold: tc.th, Ignore: []IgnoreRule{{ID: "CVE-2099-0001"}}, Now: now})
			if got.Gate != tc.gate || got.Reason != tc.reason || got.Status != tc.status {
				t.Errorf("got gate %s, status %s, reason %q; want %s, %s, %q", got.Gate, got.Status, got.Reason, tc.gate, tc.status, tc.reason)
			}
			// An entry can only be called unused when the findings are known.
			unused := slices.ContainsFunc(got.Warnings, func(w string) bool { return strings.Contains(w, "matched no finding") })
			if unused != HasFindings(tc.status) {
				t.Errorf("unused-entry warning present = %t, want %t: %q", unused, HasFindings(tc.status), got.Warnings)
			}
		})
	}
}

func TestEvaluateStatusDescription(t *testing.T) {
	res := singleResult(Basic, StatusFailed, nil)
	res.Platforms[0].Description = "UnsupportedImageError: The operating system 'scratch' is not supported."
	got := Evaluate(res, Rules{Threshold: High, Now: now})
	want := "the scan ended with status FAILED (UnsupportedImageError: The operating system 'scratch' is not supported), so the image's findings are unknown."
	if got.Gate != GateFailed || got.Reason != want {
		t.Errorf("got %s %q, want failed %q", got.Gate, got.Reason, want)
	}
}

func TestEvaluateArchivedImage(t *testing.T) {
	res := singleResult(Basic, StatusImageArchived, nil)
	got := Evaluate(res, Rules{Threshold: High, Now: now})
	want := "`aws ecr update-image-storage-class --repository-name app --image-id imageDigest=sha256:aa --target-storage-class STANDARD`"
	if got.Gate != GateFailed || !strings.Contains(got.Reason, "status IMAGE_ARCHIVED") || !strings.Contains(got.Reason, want) {
		t.Errorf("got %s %q, want failed naming IMAGE_ARCHIVED and %s", got.Gate, got.Reason, want)
	}
	// With fail_on_severity NONE the gate does not fail, and still says how
	// to restore the image.
	if got := Evaluate(res, Rules{Threshold: None, Now: now}); got.Gate != GatePassed || !strings.Contains(got.Reason, want) {
		t.Errorf("NONE: got %s %q", got.Gate, got.Reason)
	}
	if got := repoName("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app"); got != "team/app" {
		t.Errorf("repoName of a URI = %q", got)
	}
	if got := repoName("team/app"); got != "team/app" {
		t.Errorf("repoName of a name = %q", got)
	}
}

func TestEvaluateTimeout(t *testing.T) {
	for _, tc := range []struct {
		th     Severity
		gate   Gate
		suffix string
	}{
		{High, GateFailed, ""},
		{Critical, GateFailed, ""},
		{None, GatePassed, " fail_on_severity is NONE, so the gate does not fail."},
	} {
		t.Run(string(tc.th), func(t *testing.T) {
			res := &Result{
				Mode: Enhanced, Repository: "app", Digest: "sha256:ii", TimedOut: true, Waited: 10*time.Minute + 400*time.Millisecond,
				Platforms: []PlatformResult{
					{Platform: "linux/amd64", Digest: "sha256:aa", Status: StatusActive},
					{Platform: "linux/arm64", Digest: "sha256:bb", Status: StatusPending},
				},
			}
			got := Evaluate(res, Rules{Threshold: tc.th, Ignore: []IgnoreRule{{ID: "CVE-2099-0001"}}, Now: now})
			want := "the scan did not finish within scan_timeout (waited 10m0s; last status PENDING)." + tc.suffix
			if got.Gate != tc.gate || got.Reason != want || got.Status != StatusPending {
				t.Errorf("got %s %s %q, want %s PENDING %q", got.Gate, got.Status, got.Reason, tc.gate, want)
			}
			if len(got.Warnings) != 0 {
				t.Errorf("a timed-out scan cannot tell an unused ignore entry: warnings %q", got.Warnings)
			}
		})
	}
}

func TestEvaluateNoPlatforms(t *testing.T) {
	for _, th := range []Severity{High, None} {
		got := Evaluate(&Result{Mode: Basic, Repository: "app"}, Rules{Threshold: th, Now: now})
		want := GateFailed
		if th == None {
			want = GatePassed
		}
		if got.Gate != want || !strings.Contains(got.Reason, "names no scanned manifest") {
			t.Errorf("%s: an empty result gave %s %q, want %s and a reason", th, got.Gate, got.Reason, want)
		}
	}
}

// TestEvaluateMultiArch: a finding reported on two platforms is one
// finding listing both, counted once; the merged status is the worst one.
func TestEvaluateMultiArch(t *testing.T) {
	shared := Finding{ID: "CVE-2024-0001", Severity: Critical, Package: "openssl", InstalledVersion: "3.0.2", FixedVersion: "3.0.13", Fix: FixYes, Platforms: []string{"linux/amd64"}}
	armOnly := Finding{ID: "CVE-2024-0009", Severity: Medium, Package: "glibc", InstalledVersion: "2.35", Fix: FixNo, Platforms: []string{"linux/arm64"}}
	armShared := shared
	armShared.Platforms = []string{"linux/arm64"}
	build := func(amd, arm string) *Result {
		return &Result{
			Mode: Enhanced, Repository: "app", Digest: "sha256:ii",
			Platforms: []PlatformResult{
				{Platform: "linux/amd64", Digest: "sha256:aa", Status: amd, Findings: []Finding{shared}},
				{Platform: "linux/arm64", Digest: "sha256:bb", Status: arm, Findings: []Finding{armShared, armOnly}},
			},
		}
	}

	t.Run("merged", func(t *testing.T) {
		got := Evaluate(build(StatusActive, StatusComplete), Rules{Threshold: High, Now: now})
		merged := shared
		merged.Platforms = []string{"linux/amd64", "linux/arm64"}
		want := Verdict{
			Gate: GateFailed, Reason: "1 finding at or above HIGH (fail_on_severity) remain after the ignore rules.",
			Status: StatusActive, Threshold: High,
			Found:    counts(Critical, 1, Medium, 1),
			Counts:   counts(Critical, 1, Medium, 1),
			Counted:  []Finding{merged, armOnly},
			Blocking: 1,
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("verdict mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("ignored once for both platforms", func(t *testing.T) {
		got := Evaluate(build(StatusActive, StatusActive), Rules{Threshold: Low, Ignore: []IgnoreRule{{ID: "CVE-2024-0001"}}, IgnoreUnfixed: true, Now: now})
		if got.Gate != GatePassed || len(got.Ignored) != 2 || got.Counts[Critical] != 0 || got.Found[Critical] != 1 {
			t.Errorf("got %s, %d ignored, counts %v, found %v", got.Gate, len(got.Ignored), got.Counts, got.Found)
		}
		if diff := cmp.Diff([]string{"linux/amd64", "linux/arm64"}, got.Ignored[0].Platforms); diff != "" {
			t.Errorf("ignored finding's platforms (-want +got):\n%s", diff)
		}
	})

	t.Run("one failed platform fails the gate and is named", func(t *testing.T) {
		got := Evaluate(build(StatusComplete, StatusFailed), Rules{Threshold: Critical, Ignore: []IgnoreRule{{ID: "CVE-2024-0001"}}, Now: now})
		want := "the scan ended with status FAILED on linux/arm64, so the image's findings are unknown."
		if got.Gate != GateFailed || got.Status != StatusFailed || got.Reason != want {
			t.Errorf("got %s %s %q, want failed FAILED %q", got.Gate, got.Status, got.Reason, want)
		}
	})

	t.Run("worst status wins whatever the platform order", func(t *testing.T) {
		for _, pair := range [][2]string{
			{StatusFailed, StatusPending}, {StatusPending, StatusFailed},
			{StatusUnsupportedImage, StatusComplete}, {StatusComplete, StatusUnsupportedImage},
			{StatusActive, StatusComplete}, {StatusComplete, StatusActive},
		} {
			want := pair[0]
			if slices.Index(statusOrder, pair[1]) < slices.Index(statusOrder, pair[0]) {
				want = pair[1]
			}
			if got := build(pair[0], pair[1]).Status(); got != want {
				t.Errorf("Status of %v = %s, want %s", pair, got, want)
			}
		}
	})

	t.Run("platforms with different statuses are each named", func(t *testing.T) {
		got := Evaluate(build(StatusPending, StatusFailed), Rules{Threshold: High, Now: now})
		want := "the scan ended with status FAILED on linux/amd64 (PENDING), linux/arm64 (FAILED), so the image's findings are unknown."
		if got.Reason != want {
			t.Errorf("reason = %q, want %q", got.Reason, want)
		}
	})
}

func TestEvaluateUnknownSeverityCountsAsUndefined(t *testing.T) {
	res := singleResult(Basic, StatusComplete, []Finding{
		{ID: "CVE-2024-0100", Severity: "", Package: "a", InstalledVersion: "1"},
		{ID: "CVE-2024-0101", Severity: "SEVERE", Package: "b", InstalledVersion: "1"},
	})
	got := Evaluate(res, Rules{Threshold: Undefined, Now: now})
	if got.Gate != GateFailed || got.Blocking != 2 {
		t.Errorf("got %s with %d blocking, want failed with 2", got.Gate, got.Blocking)
	}
	if diff := cmp.Diff(counts(Undefined, 2), got.Counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}

func TestSkipped(t *testing.T) {
	got := Skipped("wait_for_scan is false.")
	want := Verdict{Gate: GateSkipped, Reason: "wait_for_scan is false.", Found: zeroCounts(), Counts: zeroCounts()}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Skipped mismatch (-want +got):\n%s", diff)
	}
	if len(got.Counts) != len(Severities()) {
		t.Errorf("Counts holds %d severities, want %d", len(got.Counts), len(Severities()))
	}
}

func TestIgnoreRuleExpired(t *testing.T) {
	tests := []struct {
		name  string
		until time.Time
		now   time.Time
		want  bool
	}{
		{"no end", time.Time{}, now, false},
		{"future", day("2026-06-16"), now, false},
		{"last day, morning", day("2026-06-15"), time.Date(2026, 6, 15, 0, 0, 1, 0, time.UTC), false},
		{"last day, evening", day("2026-06-15"), time.Date(2026, 6, 15, 23, 59, 59, 0, time.UTC), false},
		{"the day after", day("2026-06-15"), time.Date(2026, 6, 16, 0, 0, 0, 0, time.UTC), true},
		{"the day after in UTC, still the last day in New York", day("2026-06-15"), time.Date(2026, 6, 15, 21, 0, 0, 0, time.FixedZone("EDT", -4*3600)), true},
		{"long past", day("2020-01-01"), now, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := IgnoreRule{ID: "CVE-1", Until: tc.until}
			if got := r.Expired(tc.now); got != tc.want {
				t.Errorf("Expired(%s) with until %s = %t, want %t", tc.now, tc.until, got, tc.want)
			}
		})
	}
	if got := (IgnoreRule{ID: "CVE-1", Until: day("2027-01-31")}).String(); got != "CVE-1 until 2027-01-31" {
		t.Errorf("String = %q", got)
	}
}
