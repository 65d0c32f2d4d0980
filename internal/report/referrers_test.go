package report

import (
	"strings"
	"testing"
)

func TestRenderReferrers(t *testing.T) {
	if got := RenderReferrers(nil, ""); got != "" {
		t.Errorf("nothing to render gave %q", got)
	}
	got := RenderReferrers([]Referrer{
		{Kind: "SBOM", Platform: "linux/amd64", Subject: "sha256:aa", Digest: "sha256:bb", Detail: "6 OS package(s) | <b>"},
		{Kind: "Provenance", Subject: "sha256:cc", Digest: "sha256:dd", Existing: true},
	}, "They are unsigned.")
	for _, want := range []string{
		"## SBOM and provenance\n",
		"| SBOM | linux/amd64 | `sha256:bb` | attached | 6 OS package(s) \\| &lt;b&gt; |\n",
		"| Provenance | all | `sha256:dd` | already attached | _(none)_ |\n",
		"\nThey are unsigned.\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
}
