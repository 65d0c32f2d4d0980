package awsauth

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRegistryHost(t *testing.T) {
	tests := []struct {
		host string
		want RegistryHost
		ok   bool
	}{
		{"123456789012.dkr.ecr.eu-west-1.amazonaws.com", RegistryHost{Account: "123456789012", Region: "eu-west-1", Suffix: "amazonaws.com"}, true},
		{"123456789012.dkr.ecr-fips.us-east-1.amazonaws.com", RegistryHost{Account: "123456789012", Region: "us-east-1", FIPS: true, Suffix: "amazonaws.com"}, true},
		{"123456789012.dkr.ecr.us-gov-west-1.amazonaws.com", RegistryHost{Account: "123456789012", Region: "us-gov-west-1", Suffix: "amazonaws.com"}, true},
		{"123456789012.dkr.ecr-fips.us-gov-east-1.amazonaws.com", RegistryHost{Account: "123456789012", Region: "us-gov-east-1", FIPS: true, Suffix: "amazonaws.com"}, true},
		{"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", RegistryHost{Account: "123456789012", Region: "cn-north-1", Suffix: "amazonaws.com.cn"}, true},
		{"123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov", RegistryHost{Account: "123456789012", Region: "us-iso-east-1", Suffix: "c2s.ic.gov"}, true},
		{"123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov", RegistryHost{Account: "123456789012", Region: "us-isob-east-1", Suffix: "sc2s.sgov.gov"}, true},
		{"012345678901.dkr-ecr.ap-southeast-2.on.aws", RegistryHost{Account: "012345678901", Region: "ap-southeast-2", DualStack: true, Suffix: "on.aws"}, true},
		{"012345678901.dkr-ecr-fips.us-east-2.on.aws", RegistryHost{Account: "012345678901", Region: "us-east-2", FIPS: true, DualStack: true, Suffix: "on.aws"}, true},
		// Not ECR private registries.
		{"public.ecr.aws", RegistryHost{}, false},
		{"123456789012.dkr.ecr.eu-west-1.amazonaws.com:443", RegistryHost{}, false},
		{"12345678901.dkr.ecr.eu-west-1.amazonaws.com", RegistryHost{}, false},
		{"123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.example", RegistryHost{}, false},
		{"123456789012.DKR.ECR.eu-west-1.amazonaws.com", RegistryHost{}, false},
		{"123456789012.dkr-ecr.eu-west-1.amazonaws.com", RegistryHost{}, false},
		{"127.0.0.1:5000", RegistryHost{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			got, ok := ParseRegistryHost(tt.host)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if ok && got.String() != tt.host {
				t.Errorf("String() = %q, want the host back", got.String())
			}
		})
	}
}

func TestRegistryFor(t *testing.T) {
	const v4 = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
	tests := []struct {
		name, host string
		e          Endpoints
		want       string
		changed    bool
	}{
		{"default", v4, Endpoints{}, v4, false},
		{"dual-stack", v4, Endpoints{DualStack: true}, "123456789012.dkr-ecr.eu-west-1.on.aws", true},
		{"FIPS", "123456789012.dkr.ecr.us-east-1.amazonaws.com", Endpoints{FIPS: true}, "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com", true},
		{"both", "123456789012.dkr.ecr.us-east-1.amazonaws.com", Endpoints{DualStack: true, FIPS: true}, "123456789012.dkr-ecr-fips.us-east-1.on.aws", true},
		{"GovCloud dual-stack", "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com", Endpoints{DualStack: true}, "123456789012.dkr-ecr.us-gov-west-1.on.aws", true},
		{"China has no on.aws host", "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", Endpoints{DualStack: true}, "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", false},
		{"a local ECR is kept", "127.0.0.1:5000", Endpoints{DualStack: true, FIPS: true}, "127.0.0.1:5000", false},
		{"already dual-stack", "123456789012.dkr-ecr.eu-west-1.on.aws", Endpoints{DualStack: true}, "123456789012.dkr-ecr.eu-west-1.on.aws", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := RegistryFor(tt.host, tt.e)
			if got != tt.want || changed != tt.changed {
				t.Errorf("RegistryFor(%q, %+v) = %q, %v; want %q, %v", tt.host, tt.e, got, changed, tt.want, tt.changed)
			}
		})
	}
}

func TestEndpointsFromEnv(t *testing.T) {
	for _, tt := range []struct {
		dual, fips string
		want       Endpoints
		err        string
	}{
		{"", "", Endpoints{}, ""},
		{"TRUE", "false", Endpoints{DualStack: true}, ""},
		{"false", "true", Endpoints{FIPS: true}, ""},
		{"true", "1", Endpoints{}, "AWS_USE_FIPS_ENDPOINT"},
		{"yes", "", Endpoints{}, "AWS_USE_DUALSTACK_ENDPOINT"},
	} {
		env := map[string]string{"AWS_USE_DUALSTACK_ENDPOINT": tt.dual, "AWS_USE_FIPS_ENDPOINT": tt.fips}
		got, err := EndpointsFromEnv(func(k string) string { return env[k] })
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%+v: err = %v, want one naming %s", env, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%+v: %+v, %v; want %+v", env, got, err, tt.want)
		}
	}
}

func FuzzParseRegistryHost(f *testing.F) {
	f.Add("123456789012.dkr.ecr.eu-west-1.amazonaws.com")
	f.Add("012345678901.dkr-ecr-fips.us-east-2.on.aws")
	f.Add("public.ecr.aws")
	f.Fuzz(func(t *testing.T, host string) {
		h, ok := ParseRegistryHost(host)
		if !ok {
			return
		}
		if h.String() != host {
			t.Fatalf("%q parsed to %+v, which prints as %q", host, h, h.String())
		}
		again, ok := ParseRegistryHost(h.String())
		if !ok || again != h {
			t.Fatalf("round trip of %q: %+v, %v", host, again, ok)
		}
	})
}

// TestRegistryIn: the standard host of each partition parses back to
// itself.
func TestRegistryIn(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1":      "123456789012.dkr.ecr.us-east-1.amazonaws.com",
		"cn-north-1":     "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
		"us-iso-east-1":  "123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov",
		"us-isob-east-1": "123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov",
		"us-gov-west-1":  "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com",
	} {
		got := RegistryIn("123456789012", region)
		if got.String() != want {
			t.Errorf("RegistryIn(%s) = %s, want %s", region, got, want)
		}
		if back, ok := ParseRegistryHost(want); !ok || back != got {
			t.Errorf("%s parses as %+v, %v; want %+v", want, back, ok, got)
		}
	}
}
