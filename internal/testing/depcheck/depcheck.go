// Package depcheck is the one helper behind the dependency fences in this
// module's tests: a package that must stay pure (no AWS SDK, the standard
// library only, or none of the product's packages) lists what it depends
// on here and fails on what it must not.
package depcheck

import (
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Deps is every package the patterns (relative to the test's directory, as
// `go list` takes them) depend on through any import, themselves included.
// It runs `go list -deps` offline (the module cache is enough) and skips
// the test with -short or without a go command.
func Deps(t testing.TB, patterns ...string) []string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs go list")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	if len(patterns) == 0 {
		patterns = []string{"."}
	}
	cmd := exec.Command(gobin, append([]string{"list", "-deps"}, patterns...)...)
	cmd.Env = append(os.Environ(), "GOPROXY=off")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", strings.Join(patterns, " "), err, stderr.String())
	}
	return strings.Fields(string(out))
}

// FileImports maps each .go file in the test's directory to the packages it
// imports; test files are included when tests is true.
func FileImports(t testing.TB, tests bool) map[string][]string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	fset := token.NewFileSet()
	out := map[string][]string{}
	for _, f := range files {
		if !tests && strings.HasSuffix(f, "_test.go") {
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
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				t.Fatalf("%s: import %s: %v", f, imp.Path.Value, err)
			}
			out[f] = append(out[f], p)
		}
	}
	return out
}

// Standard reports whether an import path is in the standard library: its
// first element has no dot.
func Standard(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	return !strings.Contains(first, ".")
}

// HasPrefix reports whether p is one of the packages (or under one of the
// module path prefixes) in prefixes: "github.com/aws/" covers every module
// of the AWS SDK, "example.com/m/internal/x" covers x and its sub-packages.
func HasPrefix(p string, prefixes ...string) bool {
	for _, f := range prefixes {
		if p == strings.TrimSuffix(f, "/") || strings.HasPrefix(p, f) && (strings.HasSuffix(f, "/") || strings.HasPrefix(p, f+"/")) {
			return true
		}
	}
	return false
}
