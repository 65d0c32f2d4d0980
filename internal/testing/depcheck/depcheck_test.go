package depcheck

import (
	"slices"
	"testing"
)

func TestStandard(t *testing.T) {
	for p, want := range map[string]bool{"os": true, "net/http": true, "github.com/aws/smithy-go": false, "golang.org/x/sync": false} {
		if Standard(p) != want {
			t.Errorf("Standard(%q) = %v", p, !want)
		}
	}
}

func TestHasPrefix(t *testing.T) {
	for _, c := range []struct {
		p        string
		prefixes []string
		want     bool
	}{
		{"github.com/aws/aws-sdk-go-v2/service/ecr", []string{"github.com/aws/"}, true},
		{"github.com/awsome/x", []string{"github.com/aws/"}, false},
		{"m/internal/policy", []string{"m/internal/policy"}, true},
		{"m/internal/policy/sub", []string{"m/internal/policy"}, true},
		{"m/internal/policyx", []string{"m/internal/policy"}, false},
	} {
		if got := HasPrefix(c.p, c.prefixes...); got != c.want {
			t.Errorf("HasPrefix(%q, %q) = %v", c.p, c.prefixes, got)
		}
	}
}

func TestDepsAndImports(t *testing.T) {
	deps := Deps(t)
	if !slices.Contains(deps, "go/parser") || !slices.Contains(deps, "github.com/org/ecr-action/internal/testing/depcheck") {
		t.Errorf("go list -deps . = %v; want go/parser and the package itself", deps)
	}
	imps := FileImports(t, false)
	if !slices.Contains(imps["depcheck.go"], "os/exec") || imps["depcheck_test.go"] != nil {
		t.Errorf("FileImports(false) = %v", imps)
	}
	if !slices.Contains(FileImports(t, true)["depcheck_test.go"], "slices") {
		t.Error("FileImports(true) left out the test file")
	}
}
