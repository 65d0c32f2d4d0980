package report

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/org/ecr-action/internal/testing/goldenfile"

	"github.com/org/ecr-action/internal/scan"
)

const (
	scanRepo   = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app"
	scanDigest = "sha256:6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b"
)

var scanNow = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

func scanDay(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func passedBasic() ScanSummary {
	res := &scan.Result{
		Mode: scan.Basic, Repository: "app", Digest: scanDigest, Waited: 35*time.Second + 200*time.Millisecond,
		Platforms: []scan.PlatformResult{{Platform: "linux/amd64", Digest: scanDigest, Status: scan.StatusComplete, Findings: []scan.Finding{
			{ID: "CVE-2023-5678", Severity: scan.Medium, Package: "openssl", InstalledVersion: "3.1.4-r0", URI: "https://security.alpinelinux.org/vuln/CVE-2023-5678"},
			{ID: "CVE-2023-6129", Severity: scan.Low, Package: "openssl", InstalledVersion: "3.1.4-r0", URI: "https://security.alpinelinux.org/vuln/CVE-2023-6129"},
			{ID: "CVE-2024-0727", Severity: scan.Undefined, Package: "openssl", InstalledVersion: "3.1.4-r0"},
		}}},
	}
	v := scan.Evaluate(res, scan.Rules{Threshold: scan.High, Now: scanNow})
	return NewScanSummary(v, res, scanRepo)
}

func failedEnhancedMultiArch() ScanSummary {
	shared := []scan.Finding{
		{ID: "CVE-2024-6387", Severity: scan.Critical, Package: "openssh-server", InstalledVersion: "1:8.9p1-3ubuntu0.6", FixedVersion: "1:8.9p1-3ubuntu0.10", Fix: scan.FixYes, Score: 8.1, URI: "https://nvd.nist.gov/vuln/detail/CVE-2024-6387"},
		{ID: "CVE-2023-4911", Severity: scan.High, Package: "libc6", InstalledVersion: "2.35-0ubuntu3.1", FixedVersion: "2.35-0ubuntu3.4", Fix: scan.FixYes, URI: "https://ubuntu.com/security/CVE-2023-4911"},
		{ID: "CVE-2023-4911", Severity: scan.High, Package: "libc-bin", InstalledVersion: "2.35-0ubuntu3.1", FixedVersion: "2.35-0ubuntu3.4", Fix: scan.FixYes, URI: "https://ubuntu.com/security/CVE-2023-4911"},
		{ID: "CVE-2022-3715", Severity: scan.Medium, Package: "bash", InstalledVersion: "5.1-6ubuntu1", Fix: scan.FixNo, URI: "https://ubuntu.com/security/CVE-2022-3715"},
		{ID: "CVE-2016-2781", Severity: scan.Low, Package: "coreutils", InstalledVersion: "8.32-4.1ubuntu1", Fix: scan.FixNo},
	}
	armOnly := scan.Finding{ID: "CVE-2024-2961", Severity: scan.High, Package: "libc6", InstalledVersion: "2.35-0ubuntu3.1", Fix: scan.FixPartial, URI: "https://ubuntu.com/security/CVE-2024-2961"}
	res := &scan.Result{
		Mode: scan.Enhanced, Repository: "app", Digest: "sha256:1111111111111111111111111111111111111111111111111111111111111111", Waited: 2*time.Minute + 14*time.Second,
		Platforms: []scan.PlatformResult{
			{Platform: "linux/amd64", Digest: "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Status: scan.StatusActive, Findings: shared},
			{Platform: "linux/arm64", Digest: "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", Status: scan.StatusActive, Findings: append(shared[:len(shared):len(shared)], armOnly)},
		},
	}
	v := scan.Evaluate(res, scan.Rules{
		Threshold: scan.High,
		Ignore: []scan.IgnoreRule{
			{ID: "CVE-2023-4911", Until: scanDay("2026-12-31")},
			{ID: "CVE-2016-2781"},
			{ID: "CVE-2021-3999", Until: scanDay("2026-01-31")},
		},
		Now: scanNow,
	})
	return NewScanSummary(v, res, scanRepo)
}

func timedOut() ScanSummary {
	res := &scan.Result{
		Mode: scan.Basic, Repository: "app", Digest: scanDigest, TimedOut: true, Waited: 10*time.Minute + 300*time.Millisecond,
		Platforms: []scan.PlatformResult{{Platform: "linux/amd64", Digest: scanDigest, Status: scan.StatusInProgress}},
	}
	v := scan.Evaluate(res, scan.Rules{Threshold: scan.Critical, Now: scanNow})
	return NewScanSummary(v, res, scanRepo)
}

func TestRenderScan(t *testing.T) {
	tests := []struct {
		name string
		in   ScanSummary
	}{
		{"scan_passed_basic.md", passedBasic()},
		{"scan_failed_enhanced_multiarch.md", failedEnhancedMultiArch()},
		{"scan_timeout.md", timedOut()},
		{"scan_skipped.md", NewScanSummary(scan.Skipped("the repository does not scan on push (enable_image_scanning is false); set wait_for_scan: true to scan anyway."), nil, scanRepo)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := RenderScan(tc.in)
			goldenfile.Check(t, tc.name, got)
			checkTables(t, got)
		})
	}
}

// checkTables checks that every table row has as many unescaped pipes as
// its header, so no value broke out of its cell.
func checkTables(t *testing.T, md string) {
	t.Helper()
	want := -1
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			want = -1
			continue
		}
		n := strings.Count(line, "|") - strings.Count(line, `\|`)
		if want < 0 {
			want = n
		} else if n != want {
			t.Errorf("row has %d cell separators, its header %d: %q", n, want, line)
		}
	}
}

func TestRenderScanVerdictWord(t *testing.T) {
	for _, tc := range []struct {
		in   ScanSummary
		want string
	}{
		{passedBasic(), "**Passed**: "},
		{failedEnhancedMultiArch(), "**Failed**: "},
		{timedOut(), "**Failed**: the scan did not finish within scan\\_timeout (waited 10m0s; last status IN\\_PROGRESS)."},
		{NewScanSummary(scan.Skipped("wait_for_scan is false."), nil, ""), "**Skipped**: wait\\_for\\_scan is false."},
	} {
		got := RenderScan(tc.in)
		if !strings.HasPrefix(got, "## Scan\n\n"+tc.want) {
			t.Errorf("section does not open with %q:\n%s", tc.want, got)
		}
	}
}

func TestRenderScanSinglePlatformHasNoPlatformColumn(t *testing.T) {
	got := RenderScan(passedBasic())
	if strings.Contains(got, "Platforms |") || strings.Contains(got, "| Platform |") {
		t.Errorf("a single-platform scan shows platforms:\n%s", got)
	}
	if got := RenderScan(failedEnhancedMultiArch()); !strings.Contains(got, "| linux/arm64 | `sha256:bbbb") || !strings.Contains(got, "Platforms |") {
		t.Errorf("a multi-platform scan lacks its platform table or column:\n%s", got)
	}
}

func TestRenderScanRowCaps(t *testing.T) {
	var counted []scan.Finding
	var ignored []scan.Ignored
	for i := range 120 {
		counted = append(counted, scan.Finding{ID: fmt.Sprintf("CVE-2024-%04d", i), Severity: scan.High, Package: "p", InstalledVersion: "1"})
		ignored = append(ignored, scan.Ignored{
			Finding: scan.Finding{ID: fmt.Sprintf("CVE-2023-%04d", i), Severity: scan.Low, Package: "q", InstalledVersion: "1"},
			Reason:  fmt.Sprintf("ignore_vulnerabilities: CVE-2023-%04d", i),
		})
	}
	for i := range 30 {
		ignored = append(ignored, scan.Ignored{
			Finding: scan.Finding{ID: fmt.Sprintf("CVE-2022-%04d", i), Severity: scan.Low, Package: "r", InstalledVersion: "1", Fix: scan.FixNo},
			Reason:  "ignore_unfixed: no fix available",
		})
	}
	v := scan.Verdict{Gate: scan.GateFailed, Reason: "120 findings at or above HIGH (fail_on_severity) remain after the ignore rules.",
		Status: scan.StatusActive, Threshold: scan.High, Counted: counted, Ignored: ignored, Blocking: 120,
		Found: map[scan.Severity]int{scan.High: 120, scan.Low: 150}, Counts: map[scan.Severity]int{scan.High: 120}}
	got := RenderScan(ScanSummary{Verdict: v, Mode: scan.Enhanced, RepositoryURL: scanRepo})
	if n := strings.Count(got, "| [CVE-2024-") + strings.Count(got, "| CVE-2024-"); n != maxScanRows {
		t.Errorf("%d finding rows, want %d", n, maxScanRows)
	}
	if !strings.Contains(got, "\n70 more findings are not listed here.\n") {
		t.Errorf("no line about the 70 findings left out:\n%s", got)
	}
	if n := strings.Count(got, "\n- ignore"); n != maxScanRows {
		t.Errorf("%d ignored lines, want %d", n, maxScanRows)
	}
	if !strings.Contains(got, "**Ignored: 150**") || !strings.Contains(got, "- … and 71 more ignore rules not listed here.") {
		t.Errorf("ignored header or trailer missing:\n%s", got)
	}
	checkTables(t, got)
}

func TestRenderScanIgnoredGroups(t *testing.T) {
	got := RenderScan(failedEnhancedMultiArch())
	for _, want := range []string{
		"**Ignored: 3**",
		"- ignore\\_vulnerabilities: CVE-2023-4911 until 2026-12-31: 2 findings (CVE-2023-4911 in `libc-bin`, CVE-2023-4911 in `libc6`)",
		"- ignore\\_vulnerabilities: CVE-2016-2781: 1 finding (CVE-2016-2781 in `coreutils`)",
		"> - ignore\\_vulnerabilities: CVE-2021-3999 until 2026-01-31 has expired",
		"| `bash` | `5.1-6ubuntu1` | no fix |",
		"| [CVE-2024-2961](https://ubuntu.com/security/CVE-2024-2961) | HIGH | `libc6` | `2.35-0ubuntu3.1` | — | linux/arm64 |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
}

// TestRenderScanHostileValues: IDs, packages, versions, links and reasons
// come from the registry; none may break a table, open HTML or a link, or
// start a workflow command.
func TestRenderScanHostileValues(t *testing.T) {
	hostile := scan.Finding{
		ID: "CVE-1|<script>alert(1)</script>`x`\n::error::pwned", Severity: scan.Critical,
		Package: "pkg|`a`<img src=x>\r\n## heading", InstalledVersion: "1|2\n3", FixedVersion: "4`|`5",
		URI: "https://example.com/a)|[x](javascript:alert(1)", Platforms: []string{"linux/amd64", "linux/arm64|x"},
	}
	bad := scan.Finding{ID: "CVE-2", Severity: scan.High, Package: "p", InstalledVersion: "1", URI: "javascript:alert(1)"}
	v := scan.Verdict{
		Gate: scan.GateFailed, Reason: "the scan ended with status FAILED (<b>desc</b>|x\n::warning::y)", Status: scan.StatusFailed, Threshold: scan.High,
		Counted: []scan.Finding{hostile, bad}, Blocking: 2,
		Ignored: []scan.Ignored{{Finding: hostile, Reason: "ignore_vulnerabilities: <i>x</i>|y\n::debug::z"}},
		Found:   map[scan.Severity]int{scan.Critical: 2, scan.High: 1}, Counts: map[scan.Severity]int{scan.Critical: 1, scan.High: 1},
	}
	got := RenderScan(ScanSummary{
		Verdict: v, Mode: scan.Enhanced, RepositoryURL: scanRepo, Digest: "sha256:`|x",
		Platforms: []ScanPlatform{
			{Platform: "linux/amd64", Digest: "sha256:aa", Status: scan.StatusComplete},
			{Platform: "linux/arm64<b>|", Digest: "sha256:bb|`", Status: scan.StatusFailed, Description: "<script>x</script>|\n::error::z"},
		},
	})
	checkTables(t, got)
	for _, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(line, "::") || strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "## Scan") && !strings.HasPrefix(line, "### Findings") {
			t.Errorf("a registry value starts a line: %q", line)
		}
	}
	// HTML inside a code span shows as text; outside one it must be escaped.
	text := withoutCodeSpans(got)
	for _, bad := range []string{"<script", "<img", "<b>", "<i>", "](javascript", "](https://example.com/a)"} {
		if strings.Contains(text, bad) {
			t.Errorf("summary contains %q outside code spans:\n%s", bad, got)
		}
	}
	if !strings.Contains(got, "](https://example.com/a%29%7C%5Bx%5D%28javascript:alert%281%29)") && strings.Contains(got, "example.com") {
		t.Errorf("the link is not percent-encoded:\n%s", got)
	}
	if !strings.Contains(got, "| CVE-2 | HIGH |") {
		t.Errorf("a finding with a non-http link should show its ID without a link:\n%s", got)
	}
}

// TestRenderScanSizeBound: whatever the registry returns, the section stays
// under MaxScanSection, far below the runner's 1 MiB summary limit.
func TestRenderScanSizeBound(t *testing.T) {
	const n = 100_000
	desc := strings.Repeat("d", 5000)
	longID := "CVE-" + strings.Repeat("<|&`é😀", 100)
	counted := make([]scan.Finding, n)
	ignored := make([]scan.Ignored, n)
	platforms := make([]ScanPlatform, 200)
	for i := range platforms {
		platforms[i] = ScanPlatform{Platform: fmt.Sprintf("linux/arch%d", i) + strings.Repeat("<", 300), Digest: "sha256:" + strings.Repeat("&", 500), Status: scan.StatusFailed, Description: desc}
	}
	pkg, installed, fixed := strings.Repeat("&", 3000), strings.Repeat("<", 3000), strings.Repeat(">", 3000)
	uri := "https://example.com/" + strings.Repeat("(", 400)
	archs := []string{strings.Repeat("|", 1000), strings.Repeat("&", 1000)}
	for i := range n {
		f := scan.Finding{
			ID: fmt.Sprintf("%s-%d", longID, i), Severity: scan.Critical, Package: pkg, InstalledVersion: installed,
			FixedVersion: fixed, URI: uri, Description: desc, Platforms: archs,
		}
		counted[i] = f
		ignored[i] = scan.Ignored{Finding: f, Reason: fmt.Sprintf("ignore_vulnerabilities: %s-%d", longID, i)}
	}
	var warnings []string
	for range 1000 {
		warnings = append(warnings, strings.Repeat("&", 5000))
	}
	v := scan.Verdict{
		Gate: scan.GateFailed, Reason: strings.Repeat("<&>", 10_000), Status: scan.StatusFailed, Threshold: scan.High,
		Found: map[scan.Severity]int{scan.Critical: 2 * n}, Counts: map[scan.Severity]int{scan.Critical: n},
		Counted: counted, Blocking: n, Ignored: ignored, Warnings: warnings,
	}
	start := time.Now()
	got := RenderScan(ScanSummary{Verdict: v, Mode: scan.Enhanced, RepositoryURL: strings.Repeat("r", 10_000), Digest: "sha256:x", Platforms: platforms})
	if len(got) >= MaxScanSection {
		t.Errorf("section is %d bytes, want under %d", len(got), MaxScanSection)
	}
	if len(got) >= SummaryLimit/8 {
		t.Errorf("section is %d bytes, not well under the %d-byte summary limit", len(got), SummaryLimit)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("rendering took %s", d)
	}
	checkTables(t, got)
	for _, want := range []string{"more findings are not listed here.", "**Ignored: 100000**", "not listed here.", "more platforms are not listed."} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	t.Logf("section: %d bytes", len(got))
}

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly ten", 11, "exactly ten"},
		{"a  b\n c", 10, "a b c"},
		{"abcdefghijk", 5, "abcd…"},
		{strings.Repeat("é", 100), 3, "éé…"},
		{strings.Repeat("😀", 1000), 2, "😀…"},
		{"", 5, ""},
	} {
		if got := clip(tc.in, tc.n); got != tc.want {
			t.Errorf("clip(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

// withoutCodeSpans drops the code spans of a markdown text: a run of n
// backticks up to the next run of exactly n.
func withoutCodeSpans(md string) string {
	var b strings.Builder
	for i := 0; i < len(md); {
		if md[i] != '`' {
			b.WriteByte(md[i])
			i++
			continue
		}
		n := 0
		for i+n < len(md) && md[i+n] == '`' {
			n++
		}
		end := -1
		for j := i + n; j < len(md); {
			if md[j] != '`' {
				j++
				continue
			}
			m := 0
			for j+m < len(md) && md[j+m] == '`' {
				m++
			}
			if m == n {
				end = j + m
				break
			}
			j += m
		}
		if end < 0 {
			b.WriteString(md[i : i+n])
			i += n
			continue
		}
		b.WriteString("CODE")
		i = end
	}
	return b.String()
}
