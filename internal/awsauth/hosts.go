package awsauth

import (
	"fmt"
	"regexp"
	"strings"
)

// RegistryHost is an Amazon ECR private registry's address, taken apart.
//
// ECR's registry hosts (ECR User Guide, "Making requests": IPv4 and
// dual-stack endpoints; and the host patterns amazon-ecr-credential-helper
// recognises):
//
//	<account>.dkr.ecr.<region>.amazonaws.com          IPv4, commercial and GovCloud
//	<account>.dkr.ecr-fips.<region>.amazonaws.com     IPv4, FIPS
//	<account>.dkr.ecr.<region>.amazonaws.com.cn       China
//	<account>.dkr.ecr.<region>.c2s.ic.gov             ISO
//	<account>.dkr.ecr.<region>.sc2s.sgov.gov          ISO-B
//	<account>.dkr-ecr.<region>.on.aws                 dual-stack (IPv4 and IPv6)
//	<account>.dkr-ecr-fips.<region>.on.aws            dual-stack, FIPS
type RegistryHost struct {
	Account   string
	Region    string
	FIPS      bool
	DualStack bool
	// Suffix is the DNS suffix after the region: "amazonaws.com",
	// "amazonaws.com.cn", "c2s.ic.gov", "sc2s.sgov.gov" or "on.aws".
	Suffix string
}

var (
	ipv4Host = regexp.MustCompile(`^([0-9]{12})\.dkr\.ecr(-fips)?\.([a-z]{2}(?:-[a-z]+)+-[0-9]+)\.(amazonaws\.com|amazonaws\.com\.cn|c2s\.ic\.gov|sc2s\.sgov\.gov)$`)
	dualHost = regexp.MustCompile(`^([0-9]{12})\.dkr-ecr(-fips)?\.([a-z]{2}(?:-[a-z]+)+-[0-9]+)\.on\.aws$`)
)

// ParseRegistryHost recognises every ECR private registry host form; ok is
// false for any other host (a port, upper case or a path make it another
// host).
func ParseRegistryHost(host string) (RegistryHost, bool) {
	if m := ipv4Host.FindStringSubmatch(host); m != nil {
		return RegistryHost{Account: m[1], FIPS: m[2] != "", Region: m[3], Suffix: m[4]}, true
	}
	if m := dualHost.FindStringSubmatch(host); m != nil {
		return RegistryHost{Account: m[1], FIPS: m[2] != "", Region: m[3], DualStack: true, Suffix: "on.aws"}, true
	}
	return RegistryHost{}, false
}

// RegistryIn is the standard registry host of account in region, with the
// domain of the region's partition: amazonaws.com.cn in China (cn-),
// c2s.ic.gov in ISO (us-iso-), sc2s.sgov.gov in ISOB (us-isob-),
// amazonaws.com elsewhere.
func RegistryIn(account, region string) RegistryHost {
	suffix := "amazonaws.com"
	switch {
	case strings.HasPrefix(region, "cn-"):
		suffix = "amazonaws.com.cn"
	case strings.HasPrefix(region, "us-isob-"):
		suffix = "sc2s.sgov.gov"
	case strings.HasPrefix(region, "us-iso-"):
		suffix = "c2s.ic.gov"
	}
	return RegistryHost{Account: account, Region: region, Suffix: suffix}
}

// String is the host name.
func (h RegistryHost) String() string {
	var b strings.Builder
	b.WriteString(h.Account)
	if h.DualStack {
		b.WriteString(".dkr-ecr")
	} else {
		b.WriteString(".dkr.ecr")
	}
	if h.FIPS {
		b.WriteString("-fips")
	}
	b.WriteString("." + h.Region + "." + h.Suffix)
	return b.String()
}

// Endpoints is how the AWS SDK is asked to reach AWS: its
// AWS_USE_DUALSTACK_ENDPOINT and AWS_USE_FIPS_ENDPOINT settings.
type Endpoints struct {
	DualStack, FIPS bool
}

// EndpointsFromEnv reads AWS_USE_DUALSTACK_ENDPOINT and AWS_USE_FIPS_ENDPOINT
// as the SDK does: empty or "false" is off, "true" is on (any case), and any
// other value is an error naming the variable.
func EndpointsFromEnv(getenv func(string) string) (Endpoints, error) {
	var e Endpoints
	for _, v := range []struct {
		name string
		dst  *bool
	}{{"AWS_USE_DUALSTACK_ENDPOINT", &e.DualStack}, {"AWS_USE_FIPS_ENDPOINT", &e.FIPS}} {
		switch val := getenv(v.name); {
		case val == "" || strings.EqualFold(val, "false"):
		case strings.EqualFold(val, "true"):
			*v.dst = true
		default:
			return Endpoints{}, fmt.Errorf("the environment variable %s is %q; set it to true or false (or leave it unset)", v.name, truncate(val, 40))
		}
	}
	return e, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// RegistryFor is the registry host to push to for the one ECR reported
// (GetAuthorizationToken's proxyEndpoint, always the IPv4 form), following
// the SDK's endpoint settings: the dual-stack host when dual-stack is on,
// the FIPS host when FIPS is on. A host that is not an ECR host (a local
// ECR in tests, a proxy) is kept as it is. The second result says whether
// the host changed. Dual-stack registry hosts exist under on.aws only, so
// for China and the ISO partitions the host is kept and the caller should
// say so.
func RegistryFor(host string, e Endpoints) (string, bool) {
	h, ok := ParseRegistryHost(host)
	if !ok {
		return host, false
	}
	want := h
	if e.FIPS {
		want.FIPS = true
	}
	if e.DualStack && (h.Suffix == "amazonaws.com" || h.Suffix == "on.aws") {
		want.DualStack, want.Suffix = true, "on.aws"
	}
	if want == h {
		return host, false
	}
	return want.String(), true
}
