package tags

import (
	"testing"

	"github.com/org/ecr-action/internal/testing/depcheck"
)

// TestImportsOnlyTheStandardLibrary keeps tags pure: config, which every run
// loads first, depends on it.
func TestImportsOnlyTheStandardLibrary(t *testing.T) {
	for _, dep := range depcheck.Deps(t) {
		if !depcheck.Standard(dep) && dep != "github.com/org/ecr-action/internal/tags" {
			t.Errorf("tags imports %s; it must use the standard library only", dep)
		}
	}
}
