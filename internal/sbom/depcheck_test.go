package sbom

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// forbidden are the modules package sbom must not depend on: it turns an image into a document and never talks to AWS.
var forbidden = []string{
	"github.com/aws/",
}

// TestDependenciesNoSDK fences what the package pulls in through any
// import, with go list (offline: it reads the module cache).
func TestDependenciesNoSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	cmd := exec.Command(gobin, "list", "-deps", ".")
	cmd.Env = append(os.Environ(), "GOPROXY=off")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, stderr.String())
	}
	for _, p := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.HasPrefix(p, f) {
				t.Errorf("package sbom depends on %s", p)
			}
		}
	}
}
