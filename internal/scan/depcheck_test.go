package scan

import (
	"testing"

	"github.com/org/ecr-action/internal/testing/depcheck"
)

// forbidden are the modules package scan must not depend on: it is the
// SDK-free vocabulary the ECR waiter, the reports and the outputs share, and
// it is tested as pure functions.
var forbidden = []string{
	"github.com/aws/",
	"github.com/google/go-containerregistry",
}

// TestImportsNoSDK fences the package's own imports: the standard library
// and the project's Markdown escaper only.
func TestImportsNoSDK(t *testing.T) {
	for f, imps := range depcheck.FileImports(t, false) {
		for _, p := range imps {
			if !depcheck.Standard(p) && p != "github.com/org/ecr-action/internal/markdown" {
				t.Errorf("%s imports %q; package scan must use only the standard library and internal/markdown (package ecrscan talks to ECR)", f, p)
			}
		}
	}
}

// TestDependenciesNoSDK fences what the package pulls in through any
// import.
func TestDependenciesNoSDK(t *testing.T) {
	for _, p := range depcheck.Deps(t) {
		if depcheck.HasPrefix(p, forbidden...) {
			t.Errorf("package scan depends on %s", p)
		}
	}
}
