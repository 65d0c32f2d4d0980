package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/org/ecr-action/internal/scan"
)

func TestLoadScan(t *testing.T) {
	day := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	tests := []struct {
		name   string
		inputs map[string]string
		want   Scan
	}{
		{"defaults", nil, Scan{Wait: WaitAuto, Timeout: 10 * time.Minute, Threshold: scan.Critical, LogRetentionDays: 30}},
		{"everything set", map[string]string{
			"wait_for_scan": "TRUE", "scan_timeout": "90s", "fail_on_severity": "high",
			"ignore_vulnerabilities": "# accepted risks\nCVE-2024-1234\nGHSA-abcd-efgh-ijkl until 2027-01-31  # no fix yet\n\nALAS2-2023-2001 UNTIL 2026-12-01\nDSA-5678-1\nRHSA-2023:1234",
			"ignore_unfixed":         "true", "sarif_file": "reports/ecr.sarif", "scan_log_group": "/ecr-action/scans", "scan_log_retention_days": "0",
		}, Scan{
			Wait: WaitTrue, Timeout: 90 * time.Second, Threshold: scan.High,
			Ignore: []scan.IgnoreRule{
				{ID: "CVE-2024-1234"}, {ID: "GHSA-abcd-efgh-ijkl", Until: day("2027-01-31")},
				{ID: "ALAS2-2023-2001", Until: day("2026-12-01")}, {ID: "DSA-5678-1"}, {ID: "RHSA-2023:1234"},
			},
			IgnoreUnfixed: true, SARIFFile: "reports/ecr.sarif", LogGroup: "/ecr-action/scans", LogRetentionDays: 0,
		}},
		{"report only", map[string]string{"fail_on_severity": "NONE", "wait_for_scan": "false", "scan_timeout": "6h"},
			Scan{Wait: WaitFalse, Timeout: 6 * time.Hour, Threshold: scan.None, LogRetentionDays: 30}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newImageSetup(t)
			inputs := map[string]string{"source": "oci:out"}
			for k, v := range tt.inputs {
				inputs[k] = v
			}
			c, err := Load(s.getenv(t, pushMain, inputs))
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want.SARIFFile != "" {
				want.SARIFPath = filepath.Join(realPath(t, s.ws), want.SARIFFile)
			}
			if diff := cmp.Diff(want, c.Scan); diff != "" {
				t.Errorf("Scan (-want +got):\n%s", diff)
			}
		})
	}
}

func realPath(t *testing.T, p string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestLoadScanInvalid(t *testing.T) {
	tests := []struct {
		name, input, value string
		want               string // in the message
	}{
		{"wait enum", "wait_for_scan", "yes", "must be auto"},
		{"timeout without unit", "scan_timeout", "600", "write 600s"},
		{"timeout garbage", "scan_timeout", "ten minutes", "duration such as 10m"},
		{"timeout too short", "scan_timeout", "1s", "from 10s to 6h"},
		{"timeout too long", "scan_timeout", "7h", "from 10s to 6h"},
		{"negative timeout", "scan_timeout", "-5m", "from 10s to 6h"},
		{"severity enum", "fail_on_severity", "SEVERE", "CRITICAL, HIGH"},
		{"untriaged is not a threshold", "fail_on_severity", "UNTRIAGED", "CRITICAL, HIGH"},
		{"ignore bad id", "ignore_vulnerabilities", "not an id at all", "must be an ID"},
		{"ignore id shape", "ignore_vulnerabilities", "12345", "is not a vulnerability ID"},
		{"ignore bad date", "ignore_vulnerabilities", "CVE-2024-1234 until 31/01/2027", "YYYY-MM-DD"},
		{"ignore twice", "ignore_vulnerabilities", "CVE-2024-1234\ncve-2024-1234", "listed twice"},
		{"ignore injection", "ignore_vulnerabilities", "::set-output name=scan_gate::passed", "must be an ID"},
		{"ignore_unfixed bool", "ignore_unfixed", "maybe", "true or false"},
		{"sarif absolute", "sarif_file", "/tmp/x.sarif", "relative to the workspace"},
		{"sarif escapes", "sarif_file", "../x.sarif", "leaves the workspace"},
		{"sarif directory", "sarif_file", "reports/", "names a directory"},
		{"log group chars", "scan_log_group", "scans:prod", "CloudWatch Logs group name"},
		{"log group long", "scan_log_group", strings.Repeat("a", 513), "1 to 512"},
		{"retention not accepted", "scan_log_retention_days", "31", "retention CloudWatch Logs accepts"},
		{"retention negative", "scan_log_retention_days", "-1", "retention CloudWatch Logs accepts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newImageSetup(t)
			_, err := Load(s.getenv(t, pushMain, map[string]string{"source": "oci:out", tt.input: tt.value}))
			var fe Errors
			if !errors.As(err, &fe) || len(fe) != 1 {
				t.Fatalf("Load: %v; want exactly one invalid input", err)
			}
			if fe[0].Input != tt.input || !strings.Contains(fe[0].Error(), tt.want) {
				t.Errorf("error = %v; want input %s and %q", fe[0], tt.input, tt.want)
			}
			if strings.ContainsAny(fe[0].Error(), "\n\r") {
				t.Errorf("error %q holds a line break: the value could start a workflow command", fe[0].Error())
			}
		})
	}
}

func TestLoadScanDirectoryTarget(t *testing.T) {
	s := newImageSetup(t)
	if err := os.Mkdir(filepath.Join(s.ws, "out.sarif"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Load(s.getenv(t, pushMain, map[string]string{"source": "oci:out", "sarif_file": "out.sarif"}))
	if err == nil || !strings.Contains(err.Error(), "names a directory") {
		t.Errorf("Load: %v; want a directory error", err)
	}
}

func TestLoadScanWithoutImage(t *testing.T) {
	// wait_for_scan true with nothing to scan is a mistake; reports asked
	// for without an image are ignored with a warning.
	_, err := Load(env(with(seed(), "wait_for_scan", "true")))
	if err == nil || !strings.Contains(err.Error(), "pushes no image") {
		t.Errorf("wait_for_scan true without an image: %v", err)
	}
	c, err := Load(env(with(seed(), "sarif_file", "x.sarif", "scan_log_group", "/scans")))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 2 {
		t.Errorf("warnings = %q; want one for sarif_file and one for scan_log_group", c.Warnings)
	}
}
