package scan

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSeverity(t *testing.T) {
	tests := []struct {
		in   string
		want Severity
		ok   bool
	}{
		{"CRITICAL", Critical, true},
		{"high", High, true},
		{" Medium ", Medium, true},
		{"LOW", Low, true},
		{"informational", Informational, true},
		{"UNDEFINED", Undefined, true},
		{"UNTRIAGED", Undefined, true},
		{"untriaged", Undefined, true},
		{"NONE", None, false},
		{"", "", false},
		{"SEVERE", "SEVERE", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := ParseSeverity(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("ParseSeverity(%q) = %q, %t; want %q, %t", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestSeverityOrder(t *testing.T) {
	sev := Severities()
	if len(sev) != 6 || sev[0] != Critical || sev[5] != Undefined {
		t.Fatalf("Severities() = %v", sev)
	}
	for i := 1; i < len(sev); i++ {
		if sev[i-1].Rank() <= sev[i].Rank() {
			t.Errorf("%s (rank %d) does not rank above %s (rank %d)", sev[i-1], sev[i-1].Rank(), sev[i], sev[i].Rank())
		}
	}
	for _, s := range []Severity{None, "", "SEVERE"} {
		if s.Rank() != 0 {
			t.Errorf("%q ranks %d, want 0", s, s.Rank())
		}
	}
}

func TestHasFindings(t *testing.T) {
	for status, want := range map[string]bool{
		StatusComplete: true, StatusActive: true,
		StatusFailed: false, StatusUnsupportedImage: false, StatusFindingsUnavailable: false,
		StatusEligibilityExpired: false, StatusLimitExceeded: false, StatusPending: false,
		StatusInProgress: false, StatusNotFound: false, "": false,
	} {
		if got := HasFindings(status); got != want {
			t.Errorf("HasFindings(%q) = %t, want %t", status, got, want)
		}
	}
}

func TestResultStatus(t *testing.T) {
	tests := []struct {
		name     string
		statuses []string
		want     string
	}{
		{"none", nil, ""},
		{"one", []string{StatusActive}, StatusActive},
		{"active before complete", []string{StatusComplete, StatusActive}, StatusActive},
		{"pending before active", []string{StatusActive, StatusPending}, StatusPending},
		{"failed before all", []string{StatusLimitExceeded, StatusFailed, StatusUnsupportedImage}, StatusFailed},
		{"unsupported before findings unavailable", []string{StatusFindingsUnavailable, StatusUnsupportedImage}, StatusUnsupportedImage},
		{"unknown counts as a failure", []string{StatusComplete, "NEW_STATUS"}, "NEW_STATUS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &Result{}
			for _, s := range tc.statuses {
				r.Platforms = append(r.Platforms, PlatformResult{Status: s})
			}
			if got := r.Status(); got != tc.want {
				t.Errorf("Status() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestResultFindings(t *testing.T) {
	amd := []Finding{
		{ID: "CVE-2024-0003", Severity: Medium, Package: "curl", InstalledVersion: "7.81.0", Score: 5.3, Platforms: []string{"linux/amd64"}},
		{ID: "CVE-2024-0001", Severity: High, Package: "openssl", InstalledVersion: "3.0.2", Score: 7.5, Platforms: []string{"linux/amd64"}},
		{ID: "CVE-2024-0002", Severity: High, Package: "openssl", InstalledVersion: "3.0.2", Score: 8.1, Platforms: []string{"linux/amd64"}},
	}
	arm := []Finding{
		// The same vulnerability, rated worse on this platform.
		{ID: "CVE-2024-0003", Severity: High, Package: "curl", InstalledVersion: "7.81.0", Score: 5.3, Platforms: []string{"linux/arm64"}},
		{ID: "CVE-2024-0001", Severity: High, Package: "openssl", InstalledVersion: "3.0.2", Score: 7.5, Platforms: []string{"linux/arm64"}},
		// Another installed version is another finding.
		{ID: "CVE-2024-0001", Severity: High, Package: "openssl", InstalledVersion: "3.0.3", Score: 7.5, Platforms: []string{"linux/arm64"}},
	}
	r := &Result{Platforms: []PlatformResult{
		{Platform: "linux/amd64", Status: StatusComplete, Findings: amd},
		{Platform: "linux/arm64", Status: StatusComplete, Findings: arm},
		{Platform: "", Digest: "sha256:cc", Status: StatusComplete, Findings: amd[:1]},
	}}
	got := r.Findings()
	want := []Finding{
		{ID: "CVE-2024-0002", Severity: High, Package: "openssl", InstalledVersion: "3.0.2", Score: 8.1, Platforms: []string{"linux/amd64"}},
		{ID: "CVE-2024-0001", Severity: High, Package: "openssl", InstalledVersion: "3.0.2", Score: 7.5, Platforms: []string{"linux/amd64", "linux/arm64"}},
		{ID: "CVE-2024-0001", Severity: High, Package: "openssl", InstalledVersion: "3.0.3", Score: 7.5, Platforms: []string{"linux/arm64"}},
		{ID: "CVE-2024-0003", Severity: High, Package: "curl", InstalledVersion: "7.81.0", Score: 5.3, Platforms: []string{"linux/amd64", "linux/arm64"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Findings mismatch (-want +got):\n%s", diff)
	}
	// The platforms' own findings are left alone.
	if diff := cmp.Diff([]string{"linux/amd64"}, amd[0].Platforms); diff != "" {
		t.Errorf("merging changed the input (-want +got):\n%s", diff)
	}
}

func TestSortFindings(t *testing.T) {
	fs := []Finding{
		{ID: "B", Severity: Low},
		{ID: "A", Severity: Low, Package: "z"},
		{ID: "A", Severity: Low, Package: "a"},
		{ID: "C", Severity: Critical, Score: 9.1},
		{ID: "D", Severity: Critical, Score: 9.8},
		{ID: "E", Severity: Undefined},
	}
	SortFindings(fs)
	var got []string
	for _, f := range fs {
		got = append(got, f.ID+f.Package)
	}
	want := []string{"D", "C", "Aa", "Az", "B", "E"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}
