package policy

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits and patterns from the Amazon ECR API Reference (CreateRepository,
// ImageTagMutabilityExclusionFilter, PutImageTagMutability, TagResource):
// https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html
const (
	MinRepositoryNameLength = 2
	MaxRepositoryNameLength = 256
	MaxMutabilityFilters    = 5
	MaxMutabilityFilterLen  = 128
	MaxResourceTags         = 50
	MaxTagKeyLength         = 128
	MaxTagValueLength       = 256
)

var (
	// The API model's RepositoryName pattern: components are joined by '.',
	// '_', '__' or a run of '-'.
	repositoryNamePattern   = regexp.MustCompile(`^(?:[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*/)*[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$`)
	mutabilityFilterPattern = regexp.MustCompile(`^[0-9a-zA-Z._*-]{1,128}$`)
	accountIDPattern        = regexp.MustCompile(`^[0-9]{12}$`)
	// KMS key ARN: arn:<partition>:kms:<region>:<account>:key/<id> or alias/<name>.
	kmsKeyARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key/[A-Za-z0-9-]+|alias/[A-Za-z0-9/_-]+)$`)
	// IAM role ARN in any partition: arn:<partition>:iam::<account>:role/<path/><name>
	// (IAM User Guide, "IAM identifiers"; role names use [\w+=,.@-]).
	roleARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$`)
)

// MaxRoleARNLength is the longest IAM role ARN STS takes (AssumeRole RoleArn).
const MaxRoleARNLength = 2048

// Mutability modes ECR accepts (PutImageTagMutability).
const (
	Mutable                = "MUTABLE"
	Immutable              = "IMMUTABLE"
	ImmutableWithExclusion = "IMMUTABLE_WITH_EXCLUSION"
	MutableWithExclusion   = "MUTABLE_WITH_EXCLUSION"
)

// Encryption types ECR accepts (EncryptionConfiguration).
const (
	EncryptionAES256  = "AES256"
	EncryptionKMS     = "KMS"
	EncryptionKMSDSSE = "KMS_DSSE"
)

// MutabilityModes lists the accepted tag mutability values.
func MutabilityModes() []string {
	return []string{Mutable, Immutable, ImmutableWithExclusion, MutableWithExclusion}
}

// EncryptionTypes lists the accepted encryption types.
func EncryptionTypes() []string {
	return []string{EncryptionAES256, EncryptionKMS, EncryptionKMSDSSE}
}

// ValidateRepositoryName applies ECR's repository name rules: 2 to 256
// characters of lower-case letters, digits and the separators . _ - /, each
// path component starting and ending with a letter or digit.
func ValidateRepositoryName(name string) error {
	if n := len(name); n < MinRepositoryNameLength || n > MaxRepositoryNameLength {
		return fmt.Errorf("must be %d to %d characters long, got %d", MinRepositoryNameLength, MaxRepositoryNameLength, n)
	}
	if !repositoryNamePattern.MatchString(name) {
		if strings.ToLower(name) != name {
			return fmt.Errorf("must be lower case (ECR accepts only a-z, 0-9, '.', '_', '-' and '/'): try %q", strings.ToLower(name))
		}
		return fmt.Errorf("must match %s: lower-case letters and digits, separated by '.', '_', '__', '-' (or a run of them) or '/'", repositoryNamePattern.String())
	}
	return nil
}

// ValidateRepositoryNamePart checks a part of a repository name that is
// joined with '-' to others (project_name, environment, repository_name):
// the name grammar without the length limit, which only the whole name has.
// Parts that pass always join into a name that matches the grammar.
func ValidateRepositoryNamePart(part string) error {
	if repositoryNamePattern.MatchString(part) {
		return nil
	}
	if lower := strings.ToLower(part); lower != part && repositoryNamePattern.MatchString(lower) {
		return fmt.Errorf("must be lower case (ECR accepts only a-z, 0-9, '.', '_', '-' and '/'): try %q", lower)
	}
	return fmt.Errorf("must be lower-case letters and digits, separated by '.', '_', '__', '-' (or a run of them) or '/' (ECR's repository name grammar)")
}

// ValidateMutabilityFilter checks one WILDCARD exclusion filter.
func ValidateMutabilityFilter(pattern string) error {
	if !mutabilityFilterPattern.MatchString(pattern) {
		return fmt.Errorf("filter %q must be 1 to %d characters of letters, digits, '.', '_', '-' and '*'", pattern, MaxMutabilityFilterLen)
	}
	return nil
}

// ValidateMutability checks a mutability mode together with its exclusion
// filters: the *_WITH_EXCLUSION modes need 1 to 5 filters, the plain modes take none.
func ValidateMutability(mode string, filters []string) error {
	switch mode {
	case Mutable, Immutable:
		if len(filters) > 0 {
			return fmt.Errorf("%s takes no exclusion filters; use %s_WITH_EXCLUSION to exempt tags", mode, mode)
		}
		return nil
	case ImmutableWithExclusion, MutableWithExclusion:
		if len(filters) == 0 {
			return fmt.Errorf("%s needs at least one exclusion filter", mode)
		}
		if len(filters) > MaxMutabilityFilters {
			return fmt.Errorf("at most %d exclusion filters are accepted, got %d", MaxMutabilityFilters, len(filters))
		}
		var errs []string
		for _, f := range filters {
			if err := ValidateMutabilityFilter(f); err != nil {
				errs = append(errs, err.Error())
			}
		}
		if len(errs) > 0 {
			return fmt.Errorf("%s", strings.Join(errs, "; "))
		}
		return nil
	default:
		return fmt.Errorf("unknown mutability %q: accepted values are %s", mode, strings.Join(MutabilityModes(), ", "))
	}
}

// TagImmutable reports whether an existing image tag may not be moved to
// another image under a repository's mutability mode and exclusion filters:
// for IMMUTABLE_WITH_EXCLUSION the tags matching a filter stay mutable, for
// MUTABLE_WITH_EXCLUSION the matching tags are immutable. Filters are WILDCARD
// patterns where '*' stands for any run of characters.
func TagImmutable(mode string, filters []string, tag string) bool {
	switch mode {
	case Immutable:
		return true
	case ImmutableWithExclusion:
		return !matchesAnyFilter(filters, tag)
	case MutableWithExclusion:
		return matchesAnyFilter(filters, tag)
	default:
		return false
	}
}

// matchesAnyFilter reports whether tag matches one of the filters.
func matchesAnyFilter(filters []string, tag string) bool {
	for _, f := range filters {
		if WildcardMatch(f, tag) {
			return true
		}
	}
	return false
}

// WildcardMatch matches name against one of ECR's WILDCARD filters (tag
// mutability exclusions, registry scanning rules), where '*' stands for any
// run of characters, '/' included, and every other character for itself.
func WildcardMatch(pattern, name string) bool {
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

// ValidateResourceTag checks one resource tag against ECR's limits.
func ValidateResourceTag(key, value string) error {
	switch {
	case key == "":
		return fmt.Errorf("tag key must not be empty")
	case utf8.RuneCountInString(key) > MaxTagKeyLength:
		return fmt.Errorf("tag key %q is longer than %d characters", key, MaxTagKeyLength)
	case utf8.RuneCountInString(value) > MaxTagValueLength:
		return fmt.Errorf("value of tag %q is longer than %d characters", key, MaxTagValueLength)
	case strings.HasPrefix(strings.ToLower(key), "aws:"):
		return fmt.Errorf("tag key %q uses the reserved prefix \"aws:\"", key)
	case !utf8.ValidString(key + value):
		return fmt.Errorf("tag %q is not valid UTF-8", key)
	case strings.IndexFunc(key+value, isControl) >= 0:
		return fmt.Errorf("tag %q contains a control character", key)
	}
	return nil
}

// isControl reports control characters, including the Unicode line and
// paragraph separators, which no tag, name or label should hold.
func isControl(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}

// ValidateAccountID checks a 12-digit AWS account ID (a string: it may start with 0).
func ValidateAccountID(id string) error {
	if !accountIDPattern.MatchString(id) {
		return fmt.Errorf("%q is not a 12-digit AWS account ID (keep leading zeros, e.g. 012345678901)", id)
	}
	return nil
}

// ValidateRoleARN checks the shape of an IAM role ARN (role_to_assume).
func ValidateRoleARN(arn string) error {
	if len(arn) > MaxRoleARNLength || !roleARNPattern.MatchString(arn) {
		return fmt.Errorf("is not an IAM role ARN: expected arn:aws:iam::<12-digit account>:role/<name> (or another partition such as arn:aws-us-gov)")
	}
	return nil
}

var (
	// KMS key IDs: a UUID, or mrk-<32 hex> for a multi-Region key; aliases:
	// alias/ and letters, digits, '/', '_', '-' (KMS CreateAlias).
	kmsKeyIDPattern = regexp.MustCompile(`^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
	kmsAliasPattern = regexp.MustCompile(`^alias/[A-Za-z0-9/_-]{1,250}$`)
)

// ValidateKMSKey checks a KMS key named any way CreateRepository accepts
// ("the alias, key ID, or full ARN of the KMS key"): a key ARN, an alias
// ARN, alias/NAME or a key ID.
func ValidateKMSKey(key string) error {
	if len(key) > 2048 {
		return fmt.Errorf("is longer than ECR's 2048 characters")
	}
	if kmsKeyARNPattern.MatchString(key) || kmsKeyIDPattern.MatchString(key) || kmsAliasPattern.MatchString(key) {
		return nil
	}
	return fmt.Errorf("%q is not a KMS key: give a key ARN (arn:aws:kms:<region>:<account>:key/<key-id>), a key ID, alias/<name> or an alias ARN", key)
}
