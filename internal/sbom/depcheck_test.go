package sbom

import (
	"testing"

	"github.com/org/ecr-action/internal/testing/depcheck"
)

// forbidden are the modules package sbom must not depend on: it turns an image into a document and never talks to AWS.
var forbidden = []string{
	"github.com/aws/",
}

// TestDependenciesNoSDK fences what the package pulls in through any
// import.
func TestDependenciesNoSDK(t *testing.T) {
	for _, p := range depcheck.Deps(t) {
		if depcheck.HasPrefix(p, forbidden...) {
			t.Errorf("package sbom depends on %s", p)
		}
	}
}
