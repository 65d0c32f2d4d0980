package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/org/ecr-action/internal/image/imagetest"
	"github.com/org/ecr-action/internal/runner"
)

// These tests give the built action hostile files and endpoints (issue 12)
// that the bad-input catalogue cannot: OCI layouts broken inside, which
// only reading the layout finds, and servers that misbehave. Each run must
// end in seconds with exit code 1, one error annotation naming the input or
// endpoint at fault, no Go stack trace, and no write to ECR or the registry.

// registryWrites counts the registry requests that change something.
func (e *env) registryWrites() int {
	n := 0
	for k, v := range e.srv.RegistryCalls() {
		switch k {
		case "upload.start", "upload.mount", "upload.patch", "upload.put", "upload.delete", "manifest.put", "manifest.delete":
			n += v
		}
	}
	return n
}

// checkRefused checks what every refused hostile case must show.
func checkRefused(t *testing.T, out *runner.Outcome, took, limit time.Duration, want ...string) {
	t.Helper()
	if out.ExitCode != 1 {
		t.Errorf("exit code %d, want 1", out.ExitCode)
	}
	if took > limit {
		t.Errorf("the run took %v, more than %v", took.Round(time.Millisecond), limit)
	}
	var errs []string
	for _, line := range strings.Split(out.Log, "\n") {
		if strings.HasPrefix(line, "::error") {
			errs = append(errs, line)
		}
	}
	if len(errs) != 1 {
		t.Errorf("%d error annotations, want 1:\n%s", len(errs), strings.Join(errs, "\n"))
	}
	for _, w := range want {
		if len(errs) == 1 && !strings.Contains(errs[0], w) {
			t.Errorf("the error annotation does not say %q:\n%s", w, errs[0])
		}
	}
	for _, s := range []string{"goroutine ", "panic:", "fatal error:", "runtime."} {
		if strings.Contains(out.Log, s) {
			t.Errorf("the log holds %q, a Go crash:\n%.3000s", s, out.Log)
			break
		}
	}
}

func TestHostileOCILayoutsEndToEnd(t *testing.T) {
	e := start(t)
	for _, c := range imagetest.HostileLayouts() {
		t.Run(c.Name, func(t *testing.T) {
			j := newJob(t)
			dir := j.workspace("img")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := c.Make(dir, t.TempDir()); err != nil {
				t.Fatal(err)
			}
			e.srv.ResetCalls()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			started := time.Now()
			out, err := runner.Run(ctx, runner.Job{Binary: actionBinary, Root: j.root, Inputs: seedInputs("source", "oci:img"), Env: e.awsEnv()})
			if err != nil {
				t.Fatalf("running the action: %v", err)
			}
			checkRefused(t, out, time.Since(started), 20*time.Second, "oci:", c.Want)
			if w, rw := e.srv.WriteCalls(), e.registryWrites(); w != 0 || rw != 0 {
				t.Errorf("a refused layout made %d ECR write calls and %d registry writes: %v %v", w, rw, e.srv.Calls(), e.srv.RegistryCalls())
			}
		})
	}
}
