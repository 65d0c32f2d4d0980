package ecrlocal

import (
	"strings"
	"testing"

	"github.com/org/ecr-action/internal/testing/depcheck"
)

// ecrlocal is the oracle the action is tested against: its rules are its own
// code, written from the AWS documents. If it used the action's validation
// (package policy) or any other product package, a wrong rule there would
// pass on both sides. Of this module it may use only the other local AWS
// stand-ins' shared plumbing.
const module = "github.com/org/ecr-action/"

var allowedInModule = []string{
	module + "internal/testing/awsjson",   // the awsJson1_1 protocol the stand-ins share
	module + "internal/testing/logslocal", // the CloudWatch Logs stand-in cmd/ecrlocal serves too
	module + "internal/testing/ecrlocal",  // itself and its sub-packages
	module + "cmd/ecrlocal",               // its command
	module + "internal/testing",           // test infrastructure (fakes, this fence's helper), never the product
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
	for _, p := range []string{"internal/policy", "internal/config", "internal/reconcile", "internal/scan", "internal/report", "cmd/action"} {
		if allowedDep(module + p) {
			t.Errorf("the fence lets ecrlocal import %s", p)
		}
	}
	for _, p := range []string{"internal/testing/awsjson", "internal/testing/ecrlocal/ecrlocaltest"} {
		if !allowedDep(module + p) {
			t.Errorf("the fence refuses %s", p)
		}
	}
}

// TestImportsNoProductPackage fences the package's own imports, test files
// included: a test that checked ecrlocal with the product's rules would make
// the two agree by construction.
func TestImportsNoProductPackage(t *testing.T) {
	for f, imps := range depcheck.FileImports(t, true) {
		for _, p := range imps {
			if !allowedDep(p) {
				t.Errorf("%s imports %q; ecrlocal's rules must be its own code (see rules.go), not the product's", f, p)
			}
		}
	}
}

// TestDependenciesNoProductPackage fences what ecrlocal and its command pull
// in through any import.
func TestDependenciesNoProductPackage(t *testing.T) {
	for _, p := range depcheck.Deps(t, ".", "./ecrlocaltest", "../../../cmd/ecrlocal") {
		if !allowedDep(p) {
			t.Errorf("ecrlocal depends on %s, a product package", p)
		}
	}
}
