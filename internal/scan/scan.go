// Package scan holds what the action knows about an image's vulnerability
// scan, independent of where it came from: severities, findings, the merged
// result of every platform of an image, the deploy gate and the SARIF report.
// It imports no SDK; package ecrscan fills a Result from Amazon ECR.
package scan

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Severity is a finding's severity as ECR reports it.
type Severity string

// The severities ECR reports, worst first, and None, the fail_on_severity
// value that gates nothing.
const (
	Critical      Severity = "CRITICAL"
	High          Severity = "HIGH"
	Medium        Severity = "MEDIUM"
	Low           Severity = "LOW"
	Informational Severity = "INFORMATIONAL"
	Undefined     Severity = "UNDEFINED"
	None          Severity = "NONE"
)

// Severities lists the reported severities, worst first.
func Severities() []Severity {
	return []Severity{Critical, High, Medium, Low, Informational, Undefined}
}

// Rank orders severities: CRITICAL 6 down to UNDEFINED 1. None and anything
// unknown rank 0.
func (s Severity) Rank() int {
	switch s {
	case Critical:
		return 6
	case High:
		return 5
	case Medium:
		return 4
	case Low:
		return 3
	case Informational:
		return 2
	case Undefined:
		return 1
	}
	return 0
}

// ParseSeverity reads a severity as ECR or Inspector spells it, in any case.
// Inspector's UNTRIAGED reads as UNDEFINED. ok is false for anything else.
func ParseSeverity(s string) (Severity, bool) {
	v := Severity(strings.ToUpper(strings.TrimSpace(s)))
	if v == "UNTRIAGED" {
		return Undefined, true
	}
	return v, v.Rank() > 0
}

// Fix says whether a fixed version of the package exists. Basic scanning does
// not say: FixUnknown.
type Fix string

const (
	FixUnknown Fix = ""
	FixYes     Fix = "YES"
	FixNo      Fix = "NO"
	FixPartial Fix = "PARTIAL" // some of the affected packages have a fix
)

// Finding is one vulnerability in one package.
type Finding struct {
	ID               string // CVE-2024-1234, GHSA-…, ALAS-…
	Severity         Severity
	Package          string
	InstalledVersion string
	FixedVersion     string // "" when unknown or none
	Fix              Fix
	URI              string // advisory link; "" when none
	Description      string
	Score            float64 // CVSS or Inspector score; 0 when none
	// Platforms are the image's platforms the finding was reported on
	// ("linux/amd64"); empty for a single image whose platform is unknown.
	Platforms []string
}

// key identifies a finding across platforms.
func (f Finding) key() string {
	return f.ID + "\x00" + f.Package + "\x00" + f.InstalledVersion
}

// Mode is the registry's scan type.
type Mode string

const (
	Basic    Mode = "BASIC"
	Enhanced Mode = "ENHANCED"
)

// Scan statuses ECR reports (basic and enhanced).
const (
	StatusInProgress          = "IN_PROGRESS"
	StatusComplete            = "COMPLETE"
	StatusFailed              = "FAILED"
	StatusUnsupportedImage    = "UNSUPPORTED_IMAGE"
	StatusActive              = "ACTIVE"
	StatusPending             = "PENDING"
	StatusEligibilityExpired  = "SCAN_ELIGIBILITY_EXPIRED"
	StatusFindingsUnavailable = "FINDINGS_UNAVAILABLE"
	StatusLimitExceeded       = "LIMIT_EXCEEDED"
	// StatusImageArchived: the image is in the archive storage class; its
	// scan cannot be read until it is restored (UpdateImageStorageClass).
	StatusImageArchived = "IMAGE_ARCHIVED"
	// StatusNotFound is the action's name for "no scan yet"
	// (ScanNotFoundException).
	StatusNotFound = "SCAN_NOT_FOUND"
)

// HasFindings reports whether a final status carries a complete list of
// findings (COMPLETE for basic scanning, ACTIVE or COMPLETE for enhanced).
func HasFindings(status string) bool {
	return status == StatusComplete || status == StatusActive
}

// PlatformResult is the scan of one image manifest.
type PlatformResult struct {
	Platform    string // "linux/amd64"; "" when unknown
	Digest      string // the manifest scanned
	Status      string // the last status seen
	Description string // ECR's imageScanStatus.description
	Findings    []Finding
}

// Result is the scan of what the run pushed: one PlatformResult for an
// image, one per platform manifest for an image index.
type Result struct {
	Mode       Mode
	Repository string
	Digest     string // the image or index digest the run pushed
	Platforms  []PlatformResult
	// TimedOut is set when scan_timeout passed before every platform
	// reached a final status; Waited is how long the action waited.
	TimedOut bool
	Waited   time.Duration
}

// statusOrder ranks statuses for merging: the worst one wins.
var statusOrder = []string{
	StatusFailed, StatusUnsupportedImage, StatusImageArchived, StatusFindingsUnavailable, StatusEligibilityExpired,
	StatusLimitExceeded, StatusNotFound, StatusPending, StatusInProgress, StatusActive, StatusComplete,
}

// Status is the merged status: the worst of the platforms' statuses
// (FAILED before UNSUPPORTED_IMAGE before … before ACTIVE and COMPLETE).
func (r *Result) Status() string {
	best := -1
	status := ""
	for _, p := range r.Platforms {
		i := slices.Index(statusOrder, p.Status)
		if i < 0 {
			i = 0 // an unknown status counts as a failure
		}
		if best < 0 || i < best {
			best, status = i, p.Status
		}
	}
	return status
}

// Findings merges the platforms' findings: one Finding per ID, package and
// installed version, listing every platform it was reported on, worst
// first, then by ID and package. A severity the action does not know (""
// or a new ECR value) reads as UNDEFINED, so every finding is counted under
// one of Severities and a threshold of UNDEFINED gates it.
func (r *Result) Findings() []Finding {
	byKey := map[string]int{}
	var out []Finding
	for _, p := range r.Platforms {
		for _, f := range p.Findings {
			if f.Severity.Rank() == 0 {
				f.Severity = Undefined
			}
			k := f.key()
			i, seen := byKey[k]
			if !seen {
				f.Platforms = nil
				byKey[k] = len(out)
				out = append(out, f)
				i = len(out) - 1
			}
			if p.Platform != "" && !slices.Contains(out[i].Platforms, p.Platform) {
				out[i].Platforms = append(out[i].Platforms, p.Platform)
			}
			if seen && f.Severity.Rank() > out[i].Severity.Rank() {
				out[i].Severity = f.Severity
			}
		}
	}
	SortFindings(out)
	return out
}

// SortFindings orders findings worst first, then by score (highest first),
// ID and package.
func SortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(b.Severity.Rank(), a.Severity.Rank()),
			cmp.Compare(b.Score, a.Score),
			strings.Compare(a.ID, b.ID),
			strings.Compare(a.Package, b.Package),
			strings.Compare(a.InstalledVersion, b.InstalledVersion),
		)
	})
}

// RestoreCommand is the AWS CLI command that restores an archived image
// (ECR's UpdateImageStorageClass to STANDARD), for the fix in a message.
func RestoreCommand(repository, digest string) string {
	return fmt.Sprintf("aws ecr update-image-storage-class --repository-name %s --image-id imageDigest=%s --target-storage-class STANDARD", repository, digest)
}
