package ecrlocal

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ecrlocal's rulebook: the constraints ECR applies to what it is sent,
// written from the ECR API model (aws-sdk-go-v2 service/ecr v1.67.6 and the
// AWS CLI's botocore model, shapes named below) and the ECR User Guide,
// never taken from the action's own validation (package policy). The
// action and the oracle must be able to disagree, or a wrong rule passes on
// both sides; the dependency fence (depcheck_test.go) keeps it so.

// Repository names, from the model's RepositoryName shape: 2 to 256
// characters, components of lower-case letters and digits joined by '.',
// '_', '__' or runs of '-', components separated by '/'.
const (
	minRepositoryName = 2
	maxRepositoryName = 256
)

var repositoryNameRule = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)

func checkRepositoryName(name string) error {
	if n := len(name); n < minRepositoryName || n > maxRepositoryName {
		return fmt.Errorf("must be %d to %d characters long, got %d", minRepositoryName, maxRepositoryName, n)
	}
	if !repositoryNameRule.MatchString(name) {
		return fmt.Errorf("must satisfy regular expression pattern: %s", repositoryNameRule.String())
	}
	return nil
}

// Tag mutability (ImageTagMutability enum; ImageTagMutabilityExclusionFilters:
// 1 to 5 filters; ImageTagMutabilityExclusionFilterValue pattern).
const (
	mutMutable                = "MUTABLE"
	mutImmutable              = "IMMUTABLE"
	mutImmutableWithExclusion = "IMMUTABLE_WITH_EXCLUSION"
	mutMutableWithExclusion   = "MUTABLE_WITH_EXCLUSION"
	maxExclusionFilters       = 5
)

var exclusionFilterRule = regexp.MustCompile(`^[0-9a-zA-Z._*-]{1,128}$`)

func checkMutabilityRules(mode string, filters []string) error {
	switch mode {
	case mutMutable, mutImmutable:
		if len(filters) > 0 {
			return fmt.Errorf("imageTagMutabilityExclusionFilters can only be given with %s_WITH_EXCLUSION", mode)
		}
		return nil
	case mutImmutableWithExclusion, mutMutableWithExclusion:
		if len(filters) < 1 || len(filters) > maxExclusionFilters {
			return fmt.Errorf("%s needs 1 to %d imageTagMutabilityExclusionFilters, got %d", mode, maxExclusionFilters, len(filters))
		}
		for _, f := range filters {
			if !exclusionFilterRule.MatchString(f) {
				return fmt.Errorf("filter %q must satisfy regular expression pattern: %s", f, exclusionFilterRule.String())
			}
		}
		return nil
	default:
		return fmt.Errorf("%q is not one of %s, %s, %s, %s", mode, mutMutable, mutImmutable, mutImmutableWithExclusion, mutMutableWithExclusion)
	}
}

// tagImmutable reports whether an existing tag may not move to another
// image: IMMUTABLE always; IMMUTABLE_WITH_EXCLUSION unless a filter matches;
// MUTABLE_WITH_EXCLUSION when a filter matches.
func tagImmutable(mode string, filters []string, tag string) bool {
	matched := false
	for _, f := range filters {
		if wildcardMatch(f, tag) {
			matched = true
			break
		}
	}
	switch mode {
	case mutImmutable:
		return true
	case mutImmutableWithExclusion:
		return !matched
	case mutMutableWithExclusion:
		return matched
	}
	return false
}

// wildcardMatch matches name against a WILDCARD filter (mutability
// exclusions, registry scanning rules): '*' stands for any run of
// characters, '/' included; every other character for itself.
func wildcardMatch(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(name, p)
		if i < 0 {
			return false
		}
		name = name[i+len(p):]
	}
	return strings.HasSuffix(name, last)
}

// Resource tags ("Tagging your resources", AWS General Reference: keys 1 to
// 128 and values 0 to 256 Unicode characters, at most 50 tags per resource,
// the aws: prefix reserved).
const (
	maxTagsPerResource = 50
	maxTagKey          = 128
	maxTagValue        = 256
)

func checkResourceTag(key, value string) error {
	switch {
	case key == "":
		return fmt.Errorf("tag key must not be empty")
	case utf8.RuneCountInString(key) > maxTagKey:
		return fmt.Errorf("tag key %q is longer than %d characters", key, maxTagKey)
	case utf8.RuneCountInString(value) > maxTagValue:
		return fmt.Errorf("value of tag %q is longer than %d characters", key, maxTagValue)
	case strings.HasPrefix(strings.ToLower(key), "aws:"):
		return fmt.Errorf("tag key %q uses the reserved prefix \"aws:\"", key)
	case !utf8.ValidString(key + value):
		return fmt.Errorf("tag %q is not valid UTF-8", key)
	case strings.IndexFunc(key+value, unicode.IsControl) >= 0:
		return fmt.Errorf("tag %q contains a control character", key)
	}
	return nil
}

// Encryption types (EncryptionType enum).
const (
	encAES256  = "AES256"
	encKMS     = "KMS"
	encKMSDSSE = "KMS_DSSE"
)
