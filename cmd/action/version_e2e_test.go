package main

import (
	"os/exec"
	"strings"
	"testing"
)

// testVersion is the version TestMain stamps into the test binary with
// -ldflags -X, as the release does.
const testVersion = "v0.0.0-e2e"

// TestVersionStamped checks that -ldflags -X main.version reaches
// `--version`, which .ci/image runs inside the image.
func TestVersionStamped(t *testing.T) {
	out, err := exec.Command(actionBinary, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("ecr-action --version: %v\n%s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), "ecr-action "+testVersion; got != want {
		t.Errorf("ecr-action --version printed %q, want %q", got, want)
	}
}
