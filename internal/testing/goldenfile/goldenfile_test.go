package goldenfile

import (
	"os"
	"path/filepath"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }
func (r *recorder) Fatal(...any)          { r.failed = true }

func TestCheck(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "x.txt"), []byte("same\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	Check(t, "x.txt", "same\n")
	Check(t, "x.txt", []byte("same\n"))
	r := &recorder{TB: t}
	Check(r, "x.txt", "different\n")
	if !r.failed {
		t.Error("a different output passed")
	}
	r = &recorder{TB: t}
	Check(r, "missing.txt", "x")
	if !r.failed {
		t.Error("a missing golden file passed")
	}
}
