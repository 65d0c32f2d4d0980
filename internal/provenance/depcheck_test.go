package provenance

import (
	"testing"

	"github.com/org/ecr-action/internal/testing/depcheck"
)

// forbidden are the modules package provenance must not depend on: it turns the GitHub context into a statement and never talks to AWS or a registry.
var forbidden = []string{
	"github.com/aws/",
	"github.com/google/go-containerregistry",
}

// TestDependenciesNoSDK fences what the package pulls in through any
// import.
func TestDependenciesNoSDK(t *testing.T) {
	for _, p := range depcheck.Deps(t) {
		if depcheck.HasPrefix(p, forbidden...) {
			t.Errorf("package provenance depends on %s", p)
		}
	}
}
