package ecrlocal

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

// ecrlocal is the oracle the action is tested against: its rules are its own
// code, written from the AWS documents. If it used the action's validation
// (package policy) or any other product package, a wrong rule there would
// pass on both sides. Of this module it may use only the other local AWS
// stand-ins' shared plumbing.
const module = "github.com/org/ecr-action/"

var allowedInModule = []string{
	module + "internal/awsjson",   // the awsJson1_1 protocol the stand-ins share
	module + "internal/logslocal", // the CloudWatch Logs stand-in cmd/ecrlocal serves too
	module + "internal/ecrlocal",  // itself and its sub-packages
	module + "cmd/ecrlocal",       // its command
}

func allowedDep(p string) bool {
	if !strings.HasPrefix(p, module) {
		return true
	}
	for _, a := range allowedInModule {
		if p == a || strings.HasPrefix(p, a+"/") {
			return true
		}
	}
	return false
}

func TestAllowedDepRefusesProductPackages(t *testing.T) {
	for _, p := range []string{"internal/policy", "internal/config", "internal/reconcile", "internal/scan", "internal/report", "cmd/ecr-action"} {
		if allowedDep(module + p) {
			t.Errorf("the fence lets ecrlocal import %s", p)
		}
	}
	for _, p := range []string{"internal/awsjson", "internal/ecrlocal/ecrlocaltest"} {
		if !allowedDep(module + p) {
			t.Errorf("the fence refuses %s", p)
		}
	}
}

// TestImportsNoProductPackage fences the package's own imports, test files
// included: a test that checked ecrlocal with the product's rules would make
// the two agree by construction.
func TestImportsNoProductPackage(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
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
			if !allowedDep(p) {
				t.Errorf("%s imports %q; ecrlocal's rules must be its own code (see rules.go), not the product's", f, p)
			}
		}
	}
}

// TestDependenciesNoProductPackage fences what ecrlocal and its command pull
// in through any import, with go list (offline: it reads the module cache).
func TestDependenciesNoProductPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	cmd := exec.Command(gobin, "list", "-deps", ".", "./ecrlocaltest", "../../cmd/ecrlocal")
	cmd.Env = append(os.Environ(), "GOPROXY=off")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, stderr.String())
	}
	for _, p := range strings.Fields(string(out)) {
		if !allowedDep(p) {
			t.Errorf("ecrlocal depends on %s, a product package", p)
		}
	}
}
