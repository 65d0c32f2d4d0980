package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/org/ecr-action/internal/config"
	"github.com/org/ecr-action/internal/httpbound"
	"github.com/org/ecr-action/internal/testing/ecrlocal/ecrlocaltest"
	"github.com/org/ecr-action/internal/testing/imagetest"
	"github.com/org/ecr-action/internal/testing/runner"
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

// maxRSS is issue 12's memory target for every hostile case.
const maxRSS = 256 << 20

// checkRefused checks what every refused hostile case must show.
func checkRefused(t *testing.T, out *runner.Outcome, took, limit time.Duration, want ...string) {
	t.Helper()
	if out.ExitCode != 1 {
		t.Errorf("exit code %d, want 1", out.ExitCode)
	}
	if took > limit {
		t.Errorf("the run took %v, more than %v", took.Round(time.Millisecond), limit)
	}
	t.Logf("exit %d in %v, max RSS at most %.1f MiB", out.ExitCode, took.Round(time.Millisecond), float64(out.MaxRSS)/(1<<20))
	if i := strings.LastIndex(out.Log, "MAXRSS_KB="); i >= 0 {
		t.Logf("measured by ECR_ACTION_E2E_WRAP: %s", strings.TrimSpace(out.Log[i:]))
	}
	// out.MaxRSS is the larger of the action's peak and this process's
	// peak before the start (runner.Outcome.MaxRSS): above this process's
	// peak, it is the action's own.
	var self syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &self); err == nil && out.MaxRSS > self.Maxrss<<10 && out.MaxRSS > maxRSS {
		t.Errorf("max RSS %d MiB, more than %d MiB", out.MaxRSS>>20, maxRSS>>20)
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
	sharedTest(t)
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

// hostileEnv is the job environment for a misbehaving endpoint: short
// timeouts (the defaults are a minute), so a case ends in seconds while
// still going through every retry.
func hostileEnv(ecrURL string) map[string]string {
	return map[string]string{
		"AWS_ACCESS_KEY_ID": ecrlocaltest.AccessKeyID, "AWS_SECRET_ACCESS_KEY": ecrlocaltest.SecretAccessKey,
		"AWS_SESSION_TOKEN": "test-session-token", "AWS_REGION": ecrlocaltest.Region,
		"AWS_ENDPOINT_URL_ECR": ecrURL,
		httpbound.EnvConnect:   "2s", httpbound.EnvResponseHeader: "1s", httpbound.EnvStall: "1s",
	}
}

// runHostile runs the action and returns its outcome and how long it took.
func runHostile(t *testing.T, root string, inputs, env map[string]string) (*runner.Outcome, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	started := time.Now()
	out, err := runner.Run(ctx, runner.Job{Binary: actionBinary, Root: root, Inputs: inputs, Env: env})
	if err != nil {
		t.Fatalf("running the action: %v", err)
	}
	return out, time.Since(started)
}

// TestHostileECREndpoints points the ECR client at servers that misbehave:
// the run ends in seconds with one error that names the endpoint.
func TestHostileECREndpoints(t *testing.T) {
	t.Parallel()
	// Handlers that hold a request wait for the request's end or the
	// test's: the server notices a client gone only while it reads.
	done := make(chan struct{})
	t.Cleanup(func() { close(done) }) // after the parallel subtests
	hold := func(r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}
	cases := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"slow-loris headers", func(w http.ResponseWriter, r *http.Request) {
			hold(r) // the status line never comes
		}, "timeout awaiting response headers"},
		{"endless body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			io.WriteString(w, `{"repositories":[`)
			chunk := []byte(strings.Repeat(`{"repositoryName":"x"},`, 4096))
			for r.Context().Err() == nil {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, "longer than the 33554432 bytes accepted"},
		{"body that stalls", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.Header().Set("Content-Length", "100000")
			io.WriteString(w, `{"repositories":[`)
			w.(http.Flusher).Flush()
			hold(r)
		}, "stall timeout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sharedTest(t)
			srv := httptest.NewServer(c.handler)
			// Not srv.Close: it waits for the held handlers, which end
			// with the test.
			defer srv.CloseClientConnections()
			j := newJob(t)
			out, took := runHostile(t, j.root, seedInputs(), hostileEnv(srv.URL))
			checkRefused(t, out, took, 40*time.Second, strings.TrimPrefix(srv.URL, "http://"), c.want)
		})
	}
}

// TestHostileSourceRegistry pushes from a docker:// registry whose layer
// never finishes: the stall timeout ends each attempt, the attempts are
// retried like a reset, and the push fails in seconds naming the registry.
func TestHostileSourceRegistry(t *testing.T) {
	sharedTest(t)
	e := start(t)
	img := testImage(t, 2)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	stuck, err := layers[1].Digest()
	if err != nil {
		t.Fatal(err)
	}
	stuckSize, err := layers[1].Size()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	var stalled atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+stuck.String()) {
			stalled.Add(1)
			w.Header().Set("Content-Length", strconv.FormatInt(stuckSize, 10))
			w.Write([]byte{0x1f})
			w.(http.Flusher).Flush()
			select { // the blob never finishes
			case <-r.Context().Done():
			case <-done:
			}
			return
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	defer close(done)
	host := strings.TrimPrefix(srv.URL, "http://")
	ref, err := name.ParseReference(host + "/src:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	j := newJob(t)
	env := hostileEnv(e.url)
	out, took := runHostile(t, j.root, seedInputs("source", "docker://"+host+"/src:v1"), env)
	checkRefused(t, out, took, 45*time.Second, host, "stall timeout")
	if n := stalled.Load(); n < 2 {
		t.Errorf("the stalled blob was asked for %d times; a stall must be retried like a reset", n)
	}
	if e.registryManifestPuts() != 0 {
		t.Errorf("a manifest was written though a layer never arrived")
	}
}

func (e *env) registryManifestPuts() int { return e.srv.RegistryCalls()["manifest.put"] }

// TestSIGTERMDuringABuildOfManyFiles: a build of the most files lines
// accepted ends within 2 s of the runner's SIGTERM, with one Cancelled error
// and nothing written.
func TestSIGTERMDuringABuildOfManyFiles(t *testing.T) {
	exclusiveTest(t)
	if os.Getenv("ECR_ACTION_E2E_WRAP") != "" {
		t.Skip("the signal would reach the ECR_ACTION_E2E_WRAP command, not the action")
	}
	e := start(t)
	j := newJob(t)
	var lines []string
	chunk := make([]byte, 192<<10) // 192 MiB in all: seconds of compression even on a fast machine
	for i := range config.MaxFilesLines {
		name := fmt.Sprintf("f%04d", i)
		rand.Read(chunk)
		if err := os.WriteFile(j.workspace(name), chunk, 0o644); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, name+":/data/"+name)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cancelledAt := make(chan time.Time, 1)
	e.srv.ResetCalls()
	go func() {
		// The registry login comes right before the build: a fixed delay
		// from the start instead would land after the build on a fast
		// machine (the repository's create delay varies the start).
		for deadline := time.Now().Add(60 * time.Second); e.srv.Calls()["GetAuthorizationToken"] == 0; {
			if time.Now().After(deadline) || ctx.Err() != nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond) // the build is under way
		cancelledAt <- time.Now()
		cancel()
	}()
	out, err := runner.Run(ctx, runner.Job{Binary: actionBinary, Root: j.root, Inputs: seedInputs("base_image", "scratch", "files", strings.Join(lines, "\n")), Env: e.awsEnv(), Cancel: syscall.SIGTERM})
	exited := time.Now()
	if err != nil {
		t.Fatalf("running the action: %v", err)
	}
	var at time.Time
	select {
	case at = <-cancelledAt:
	default:
		if out.ExitCode != 0 {
			t.Fatalf("the run failed (exit %d) before it could be cancelled:\n%.3000s", out.ExitCode, out.Log)
		}
		t.Skipf("the build of 192 MiB ended before the cancel: the machine is faster than this test assumes")
	}
	stop := exited.Sub(at)
	t.Logf("exit %d %.2fs after SIGTERM, max RSS %d MiB", out.ExitCode, stop.Seconds(), out.MaxRSS>>20)
	if stop > 2*time.Second {
		t.Errorf("took %v to stop after SIGTERM, more than 2 s", stop.Round(time.Millisecond))
	}
	if out.ExitCode != 1 || !strings.Contains(out.Log, "::error title=Cancelled::") {
		t.Errorf("exit %d, want 1 with a Cancelled error:\n%.3000s", out.ExitCode, out.Log)
	}
	if w := e.srv.WriteCalls() + e.registryWrites(); w != 0 {
		t.Errorf("a build cancelled before its push wrote %d times", w)
	}
}
