package ecrlocal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Vuln is one entry of the vulnerability database the scanner matches
// installed OS packages against.
type Vuln struct {
	ID           string `json:"id"`            // e.g. CVE-2099-0001; the finding's name
	Package      string `json:"package"`       // binary package name as dpkg or apk records it
	FixedVersion string `json:"fixed_version"` // versions strictly below are affected; "" = no fix, every version is affected
	Severity     string `json:"severity"`      // CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL or UNDEFINED
	Description  string `json:"description"`
	URI          string `json:"uri"`
}

// Severities are the finding severities of ECR, worst first.
var severities = []string{"CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED"}

// severityRank orders severities worst first; unknown ones sort last.
func severityRank(s string) int {
	for i, v := range severities {
		if v == s {
			return i
		}
	}
	return len(severities)
}

// affects reports whether installed version v of the vulnerability's package
// is affected.
func (v Vuln) affects(version string) bool {
	return v.FixedVersion == "" || compareVersions(version, v.FixedVersion) < 0
}

// validateVulnDB checks every entry: an id and a package, a known severity, a
// fixed version that parses, and no (id, package) pair twice.
func validateVulnDB(db []Vuln) error {
	seen := map[[2]string]bool{}
	for i, v := range db {
		where := fmt.Sprintf("entry %d", i)
		if v.ID != "" {
			where += fmt.Sprintf(" (%s)", v.ID)
		}
		switch {
		case strings.TrimSpace(v.ID) == "":
			return fmt.Errorf("%s: id is empty", where)
		case strings.TrimSpace(v.Package) == "":
			return fmt.Errorf("%s: package is empty", where)
		case severityRank(v.Severity) == len(severities):
			return fmt.Errorf("%s: severity %q is not one of %s", where, v.Severity, strings.Join(severities, ", "))
		}
		if v.FixedVersion != "" {
			if _, err := parseVersion(v.FixedVersion); err != nil {
				return fmt.Errorf("%s: fixed_version: %w", where, err)
			}
		}
		k := [2]string{v.ID, v.Package}
		if seen[k] {
			return fmt.Errorf("%s: package %q is listed twice for this id", where, v.Package)
		}
		seen[k] = true
	}
	return nil
}

// LoadVulnDB reads a vulnerability database: a JSON array of objects with the
// members id, package, fixed_version, severity, description and uri (see
// Vuln). Unknown members are refused, so a misspelt fixed_version does not
// silently mean "no fix".
func LoadVulnDB(path string) ([]Vuln, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading vulnerability database: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var db []Vuln
	if err := dec.Decode(&db); err != nil {
		return nil, fmt.Errorf("vulnerability database %s: not a JSON array of {id, package, fixed_version, severity, description, uri}: %w", path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("vulnerability database %s: trailing data after the JSON array", path)
	}
	if db == nil {
		return nil, fmt.Errorf("vulnerability database %s: want a JSON array, got null", path)
	}
	if err := validateVulnDB(db); err != nil {
		return nil, fmt.Errorf("vulnerability database %s: %w", path, err)
	}
	return db, nil
}

// version is a Debian package version: [epoch:]upstream[-revision].
type version struct {
	epoch    int
	upstream string
	revision string
}

// parseVersion splits a Debian version. The epoch is the digits before the
// first colon; the revision is what follows the last hyphen.
func parseVersion(s string) (version, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return version{}, errors.New("version is empty")
	}
	var v version
	if e, rest, ok := strings.Cut(s, ":"); ok {
		if e == "" || len(e) > 9 || strings.Trim(e, "0123456789") != "" {
			return version{}, fmt.Errorf("version %q: epoch %q is not a number", s, e)
		}
		for _, c := range e {
			v.epoch = v.epoch*10 + int(c-'0')
		}
		s = rest
	}
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		v.upstream, v.revision = s[:i], s[i+1:]
	} else {
		v.upstream = s
	}
	if v.upstream == "" {
		return version{}, fmt.Errorf("version %q has no upstream part", s)
	}
	return v, nil
}

// compareVersions orders two package versions with dpkg's algorithm
// (deb-version(7)): epochs numerically, then upstream and revision by
// verrevcmp, where "~" sorts before everything (even the end of the string),
// runs of digits compare numerically, and letters sort before other
// characters. It returns -1, 0 or +1. apk versions (1.36.1-r5) are compared
// the same way: that orders the usual x.y.z-rN versions correctly, but not
// apk's own suffixes (_alpha, _rc, _p), which apk ranks differently. A version
// that does not parse compares as its raw string does.
func compareVersions(a, b string) int {
	va, errA := parseVersion(a)
	vb, errB := parseVersion(b)
	if errA != nil || errB != nil {
		return sign(verrevcmp(a, b))
	}
	switch {
	case va.epoch < vb.epoch:
		return -1
	case va.epoch > vb.epoch:
		return 1
	}
	if c := verrevcmp(va.upstream, vb.upstream); c != 0 {
		return sign(c)
	}
	return sign(verrevcmp(va.revision, vb.revision))
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// order is dpkg's character weight: '~' below the end of the string (0),
// letters by their code, other characters after all letters.
func order(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	c := s[i]
	switch {
	case isDigit(c):
		return 0
	case isAlpha(c):
		return int(c)
	case c == '~':
		return -1
	default:
		return int(c) + 256
	}
}

// verrevcmp is dpkg's comparison of one version part.
func verrevcmp(a, b string) int {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			ac, bc := order(a, i), order(b, j)
			if ac != bc {
				return ac - bc
			}
			i++
			j++
		}
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		firstDiff := 0
		for i < len(a) && isDigit(a[i]) && j < len(b) && isDigit(b[j]) {
			if firstDiff == 0 {
				firstDiff = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if i < len(a) && isDigit(a[i]) {
			return 1
		}
		if j < len(b) && isDigit(b[j]) {
			return -1
		}
		if firstDiff != 0 {
			return firstDiff
		}
	}
	return 0
}
