package scan

import (
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// forbidden are the modules package scan must not depend on: it is the
// SDK-free vocabulary the ECR waiter, the reports and the outputs share, and
// it is tested as pure functions.
var forbidden = []string{
	"github.com/aws/",
	"github.com/google/go-containerregistry",
}

func isForbidden(p string) bool {
	for _, f := range forbidden {
		if strings.HasPrefix(p, f) {
			return true
		}
	}
	return false
}

// TestImportsNoSDK fences the package's own imports: the standard library
// only.
func TestImportsNoSDK(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(fset, f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatalf("parsing %s: %v", f, err)
		}
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if first, _, _ := strings.Cut(p, "/"); strings.Contains(first, ".") {
				t.Errorf("%s imports %q; package scan must use only the standard library (package ecrscan talks to ECR)", f, p)
			}
		}
	}
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
		if isForbidden(p) {
			t.Errorf("package scan depends on %s", p)
		}
	}
}
