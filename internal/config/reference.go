package config

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/org/ecr-action/internal/invalid"
)

// The grammar of an image reference, as distribution/reference defines it
// (github.com/distribution/reference, regexp.go), written out here so that
// config needs no registry client:
//
//	reference  := name [ ":" tag ] [ "@" digest ]
//	name       := [domain '/'] path-component ['/' path-component]*
//	domain     := host [':' port]; host is a DNS name or a bracketed IPv6 address
//	path-component := [a-z0-9]+ (separator [a-z0-9]+)*; separator := [_.] | "__" | "-"+
//	tag        := [\w][\w.-]{0,127}
//	digest     := algorithm ":" hex
const (
	refPathComponent   = `[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`
	refDomainComponent = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
	refDomain          = `(?:` + refDomainComponent + `(?:\.` + refDomainComponent + `)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?`
	refName            = `(?:` + refDomain + `/)?` + refPathComponent + `(?:/` + refPathComponent + `)*`
	refTag             = `[\w][\w.-]{0,127}`
	refDigest          = `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`
)

var (
	referencePattern = regexp.MustCompile(`^(` + refName + `)(?::(` + refTag + `))?(?:@(` + refDigest + `))?$`)
	hex64Pattern     = regexp.MustCompile(`^[a-f0-9]{64}$`)
	// ociRefName is the grammar of org.opencontainers.image.ref.name, the
	// name of an image inside an OCI layout (image-spec annotations.md).
	ociRefName = regexp.MustCompile(`^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$`)
)

// maxNameLength is distribution's limit on the name part of a reference;
// maxReferenceLength bounds the whole (name, tag and a sha512 digest).
const (
	maxNameLength      = 255
	maxReferenceLength = maxNameLength + 1 + 128 + 1 + len("sha512:") + 128
)

// imageReference is a reference split into its parts.
type imageReference struct {
	Name, Tag, Digest string
}

// parseReference checks ref against the distribution reference grammar and
// says, when it fails, what is wrong and what the accepted form is.
func parseReference(ref string) (imageReference, error) {
	const form = "want [registry/]repository[:tag][@sha256:<64 hex digits>], e.g. public.ecr.aws/docker/library/alpine:3.20"
	if ref == "" {
		return imageReference{}, fmt.Errorf("is empty; %s", form)
	}
	if len(ref) > maxReferenceLength {
		return imageReference{}, fmt.Errorf("is %d characters long, more than an image reference can be (%d)", len(ref), maxReferenceLength)
	}
	if i := strings.Index(ref, "://"); i >= 0 {
		return imageReference{}, fmt.Errorf("has a URL scheme %s; write the reference without it; %s", invalid.Quote(ref[:i+3]), form)
	}
	m := referencePattern.FindStringSubmatch(ref)
	if m == nil {
		if strings.ToLower(ref) != ref && referencePattern.MatchString(lowerPath(ref)) {
			return imageReference{}, fmt.Errorf("has upper-case letters in the repository path, which must be lower case; %s", form)
		}
		return imageReference{}, fmt.Errorf("is not an image reference; %s", form)
	}
	r := imageReference{Name: m[1], Tag: m[2], Digest: m[3]}
	if len(r.Name) > maxNameLength {
		return imageReference{}, fmt.Errorf("has a name of %d characters; at most %d are allowed", len(r.Name), maxNameLength)
	}
	if hex64Pattern.MatchString(r.Name) {
		return imageReference{}, fmt.Errorf("is 64 hexadecimal digits, which is an image ID, not a repository; write sha256:<id> as a digest after @")
	}
	if r.Digest != "" {
		if err := checkDigest(r.Digest); err != nil {
			return imageReference{}, err
		}
	}
	return r, nil
}

// lowerPath lower-cases the part after the domain, to tell an upper-case
// mistake apart from other errors.
func lowerPath(ref string) string {
	domain, rest, ok := strings.Cut(ref, "/")
	if ok && (strings.ContainsAny(domain, ".:[") || domain == "localhost") {
		return domain + "/" + strings.ToLower(rest)
	}
	return strings.ToLower(ref)
}

// digestHexLength is the hex length of each digest algorithm registries
// accept (OCI image-spec descriptor.md).
var digestHexLength = map[string]int{"sha256": 64, "sha512": 128}

func checkDigest(d string) error {
	alg, hex, _ := strings.Cut(d, ":")
	n, ok := digestHexLength[alg]
	if !ok {
		return fmt.Errorf("has digest algorithm %s; registries accept sha256 (or sha512)", invalid.Quote(alg))
	}
	if len(hex) != n || strings.Trim(hex, "0123456789abcdef") != "" {
		return fmt.Errorf("has a %s digest that is not %d lower-case hex digits", alg, n)
	}
	return nil
}
