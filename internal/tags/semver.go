package tags

import "strings"

// version is a parsed semantic version 2.0.0 (https://semver.org), with an
// optional "v" prefix as git tags often have.
type version struct {
	Prefix              string // "v" or ""
	Major, Minor, Patch string // decimal, no leading zeros
	Pre                 string // pre-release identifiers after '-', "" if none
	Build               string // build metadata after '+', "" if none
}

// parseSemver parses s as [v]MAJOR.MINOR.PATCH[-PRE][+BUILD] following the
// semver 2.0.0 grammar: numbers without leading zeros, dot-separated
// identifiers of [0-9A-Za-z-], and numeric pre-release identifiers without
// leading zeros.
func parseSemver(s string) (version, bool) {
	var v version
	if rest, ok := strings.CutPrefix(s, "v"); ok {
		v.Prefix, s = "v", rest
	}
	if i := strings.IndexByte(s, '+'); i >= 0 {
		v.Build, s = s[i+1:], s[:i]
		if !identifiers(v.Build, false) {
			return version{}, false
		}
	}
	if i := strings.IndexByte(s, '-'); i >= 0 {
		v.Pre, s = s[i+1:], s[:i]
		if !identifiers(v.Pre, true) {
			return version{}, false
		}
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return version{}, false
	}
	for _, p := range parts {
		if !number(p) {
			return version{}, false
		}
	}
	v.Major, v.Minor, v.Patch = parts[0], parts[1], parts[2]
	return v, true
}

// identifiers checks a dot-separated list of non-empty [0-9A-Za-z-]
// identifiers; in a pre-release, numeric ones have no leading zeros.
func identifiers(s string, pre bool) bool {
	for _, id := range strings.Split(s, ".") {
		if id == "" {
			return false
		}
		numeric := true
		for i := 0; i < len(id); i++ {
			c := id[i]
			switch {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-':
				numeric = false
			default:
				return false
			}
		}
		if pre && numeric && !number(id) {
			return false
		}
	}
	return true
}

// number checks a decimal number without leading zeros.
func number(s string) bool {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
