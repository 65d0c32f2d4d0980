package dockerengine

import (
	"testing"

	"github.com/org/ecr-action/internal/testing/depcheck"
)

// TestImportsOnlyTheStandardLibrary fences the client: it speaks the engine
// API with net/http, never through a Docker client library.
func TestImportsOnlyTheStandardLibrary(t *testing.T) {
	for f, imps := range depcheck.FileImports(t, false) {
		for _, p := range imps {
			if !depcheck.Standard(p) {
				t.Errorf("%s imports %q; package dockerengine must use only the standard library", f, p)
			}
		}
	}
}
