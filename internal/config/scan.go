package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/org/ecr-action/internal/invalid"
	"github.com/org/ecr-action/internal/scan"
)

// Scan is how the run waits for the image's vulnerability scan, gates the
// deploy on it and reports it.
type Scan struct {
	// Wait is wait_for_scan: WaitAuto waits when the repository scans on
	// push and the run has an image; WaitTrue also starts a scan when it
	// does not; WaitFalse never waits.
	Wait          string
	Timeout       time.Duration
	Threshold     scan.Severity // fail_on_severity; scan.None reports only
	Ignore        []scan.IgnoreRule
	IgnoreUnfixed bool
	// SARIFFile is sarif_file as given, relative to the workspace ("" =
	// none): the runner's next steps see the workspace elsewhere, so the
	// output names this relative path. SARIFPath is where to write it.
	SARIFFile string
	SARIFPath string
	// LogGroup is scan_log_group ("" = no CloudWatch event);
	// LogRetentionDays is 0 for "never expire".
	LogGroup         string
	LogRetentionDays int
}

// The wait_for_scan values.
const (
	WaitAuto  = "auto"
	WaitTrue  = "true"
	WaitFalse = "false"
)

// Limits of the waits' timeouts (scan_timeout, signature_timeout,
// replication_timeout): a scan, a signature or a replication takes seconds
// to minutes; a GitHub job runs at most 6 hours.
const (
	MinWaitTimeout = 10 * time.Second
	MaxWaitTimeout = 6 * time.Hour
)

// LogRetentionValues are the retention periods, in days, that CloudWatch
// Logs accepts (PutRetentionPolicy); 0 means never expire.
var LogRetentionValues = []int{0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

var (
	// vulnIDPattern accepts advisory IDs such as CVE-2024-1234,
	// GHSA-xxxx-xxxx-xxxx, ALAS2-2023-1234, DSA-5678-1, RHSA-2023:1234.
	vulnIDPattern  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{1,15}(-[A-Za-z0-9._:]+){1,5}$`)
	logGroupRegexp = regexp.MustCompile(`^[.\-_/#A-Za-z0-9]{1,512}$`)
)

const maxIgnoreEntries = 1000

// loadScan validates the scan inputs. hasImage says whether the run pushes
// or retags an image.
func loadScan(in, withDefault func(string) string, boolean func(string) bool, bad func(input, value, format string, args ...any), warn func(string), workspace string, hasImage bool) Scan {
	var s Scan
	s.Wait = strings.ToLower(withDefault("wait_for_scan"))
	switch s.Wait {
	case WaitAuto, WaitFalse:
	case WaitTrue:
		if !hasImage {
			bad("wait_for_scan", s.Wait, "is true but the run pushes no image; set source, base_image or retag_from, or remove wait_for_scan")
		}
	default:
		bad("wait_for_scan", s.Wait, "must be auto (wait when the repository scans on push), true (also start a scan when it does not) or false")
	}

	s.Timeout = waitTimeout(withDefault, bad, "scan_timeout")

	sev := strings.ToUpper(withDefault("fail_on_severity"))
	if t, ok := scan.ParseSeverity(sev); ok && sev != "UNTRIAGED" {
		s.Threshold = t
	} else if sev == string(scan.None) {
		s.Threshold = scan.None
	} else {
		bad("fail_on_severity", sev, "must be one of CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, UNDEFINED, or NONE to report without failing")
	}

	s.Ignore = parseIgnores(in("ignore_vulnerabilities"), bad)
	s.IgnoreUnfixed = boolean("ignore_unfixed")

	if p := in("sarif_file"); p != "" {
		abs, err := sarifPath(p, workspace)
		if err != nil {
			bad("sarif_file", p, "%v", err)
		} else {
			s.SARIFFile, s.SARIFPath = p, abs
		}
	}

	s.LogGroup = in("scan_log_group")
	if s.LogGroup != "" && !logGroupRegexp.MatchString(s.LogGroup) {
		bad("scan_log_group", s.LogGroup, "must be 1 to 512 characters of letters, digits and . - _ / # (a CloudWatch Logs group name), for example /ecr-action/scans")
	}
	days := withDefault("scan_log_retention_days")
	n, err := strconv.Atoi(days)
	if err != nil || !slices.Contains(LogRetentionValues, n) {
		bad("scan_log_retention_days", days, "must be a retention CloudWatch Logs accepts: %s, or 0 to never expire", joinInts(LogRetentionValues[1:]))
	} else {
		s.LogRetentionDays = n
	}

	if !hasImage {
		for _, name := range []string{"sarif_file", "scan_log_group", "ignore_vulnerabilities"} {
			if in(name) != "" {
				warn(name + " is ignored because the run pushes no image (set source, base_image or retag_from)")
			}
		}
	}
	return s
}

// parseIgnores reads ignore_vulnerabilities: one ID per line, optionally
// followed by "until YYYY-MM-DD"; "#" starts a comment.
func parseIgnores(v string, bad func(input, value, format string, args ...any)) []scan.IgnoreRule {
	var out []scan.IgnoreRule
	seen := map[string]bool{}
	for _, line := range strings.Split(v, "\n") {
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		var r scan.IgnoreRule
		switch {
		case len(fields) == 1:
		case len(fields) == 3 && strings.EqualFold(fields[1], "until"):
			until, err := time.Parse(time.DateOnly, fields[2])
			if err != nil {
				bad("ignore_vulnerabilities", strings.TrimSpace(line), "the date after until must be YYYY-MM-DD, for example %s until 2027-01-31", invalid.Quote(fields[0]))
				continue
			}
			r.Until = until
		default:
			bad("ignore_vulnerabilities", strings.TrimSpace(line), "each line must be an ID, optionally followed by until YYYY-MM-DD (for example CVE-2024-1234 until 2027-01-31); put reasons after #")
			continue
		}
		r.ID = fields[0]
		if !vulnIDPattern.MatchString(r.ID) {
			bad("ignore_vulnerabilities", r.ID, "is not a vulnerability ID such as CVE-2024-1234, GHSA-xxxx-xxxx-xxxx or ALAS-2024-1234")
			continue
		}
		key := strings.ToUpper(r.ID)
		if seen[key] {
			bad("ignore_vulnerabilities", r.ID, "is listed twice; keep one line per ID")
			continue
		}
		seen[key] = true
		out = append(out, r)
	}
	if len(out) > maxIgnoreEntries {
		bad("ignore_vulnerabilities", "", "lists %d IDs; at most %d are accepted", len(out), maxIgnoreEntries)
	}
	return out
}

// sarifPath checks that the SARIF report goes inside the workspace, where
// the next steps (github/codeql-action/upload-sarif) find it.
func sarifPath(p, workspace string) (string, error) {
	if filepath.IsAbs(p) {
		return "", fmt.Errorf("must be relative to the workspace (for example ecr-scan.sarif): the steps after this one see the workspace at another path")
	}
	if strings.HasSuffix(p, "/") {
		return "", fmt.Errorf("names a directory; give a file name such as %s", invalid.Quote(p+"ecr-scan.sarif"))
	}
	resolved, inside, err := within(workspace, p)
	if err != nil {
		return "", err
	}
	if !inside {
		return "", fmt.Errorf("path %s leaves the workspace; the report must be written inside it", invalid.Quote(p))
	}
	if isDir(resolved) {
		return "", fmt.Errorf("names a directory; give a file name such as %s", invalid.Quote(strings.TrimSuffix(p, "/")+"/ecr-scan.sarif"))
	}
	return resolved, nil
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
