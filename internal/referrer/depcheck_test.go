package referrer

import (
	"testing"

	"github.com/org/ecr-action/internal/testing/depcheck"
)

// forbidden are the modules package referrer must not depend on: it packs a document as an OCI artifact; pushing is the caller's.
var forbidden = []string{
	"github.com/aws/",
}

// TestDependenciesNoSDK fences what the package pulls in through any
// import.
func TestDependenciesNoSDK(t *testing.T) {
	for _, p := range depcheck.Deps(t) {
		if depcheck.HasPrefix(p, forbidden...) {
			t.Errorf("package referrer depends on %s", p)
		}
	}
}
