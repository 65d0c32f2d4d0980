package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseFileCommand(t *testing.T) {
	p := filepath.Join(t.TempDir(), "out")
	content := "a=1\nmulti<<EOF_x\nline one\nline=two\nEOF_x\nempty=\n"
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := parseFileCommand(p)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "1", "multi": "line one\nline=two", "empty": ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for name, bad := range map[string]string{"unclosed": "k<<END\nv\n", "no separator": "justtext\n"} {
		if err := os.WriteFile(p, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := parseFileCommand(p); err == nil {
			t.Errorf("%s: accepted %q", name, bad)
		}
	}
}

func TestApplyMasks(t *testing.T) {
	raw := "start\n::add-mask::s3cr%25t\nthe token is s3cr%t here\n  ::add-mask::other\nother and s3cr%t\n"
	log, masks := applyMasks(raw)
	if diff := cmp.Diff([]string{"s3cr%t", "other"}, masks); diff != "" {
		t.Errorf("masks (-want +got):\n%s", diff)
	}
	if want := "start\nthe token is *** here\n*** and ***\n"; log != want {
		t.Errorf("log = %q, want %q", log, want)
	}
}

// TestFilesKeepWhatTheStepWrote: every file-command file is read back raw,
// GITHUB_STATE and GITHUB_PATH included, so a test can search all of it.
func TestFilesKeepWhatTheStepWrote(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "step.sh")
	body := "#!/bin/sh\necho 'st=1' >> \"$GITHUB_STATE\"\necho /opt/bin >> \"$GITHUB_PATH\"\necho 'k=v' >> \"$GITHUB_OUTPUT\"\necho '# hi' >> \"$GITHUB_STEP_SUMMARY\"\necho logged\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := Run(context.Background(), Job{Binary: script, Root: filepath.Join(dir, "root")})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"GITHUB_STATE": "st=1\n", "GITHUB_PATH": "/opt/bin\n", "GITHUB_OUTPUT": "k=v\n",
		"GITHUB_STEP_SUMMARY": "# hi\n", "GITHUB_ENV": "",
	}
	if diff := cmp.Diff(want, out.Files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if out.RawLog != "logged\n" || out.Outputs["k"] != "v" {
		t.Errorf("log %q, outputs %v", out.RawLog, out.Outputs)
	}
}

// TestCancelSignals: with Job.Cancel, the end of Run's context reaches the
// process as that signal, as the runner's cancel does, and what the process
// writes while stopping is read back.
func TestCancelSignals(t *testing.T) {
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	script := filepath.Join(dir, "step.sh")
	body := "#!/bin/sh\ntrap 'echo stopped=TERM >> \"$GITHUB_OUTPUT\"; exit 3' TERM\n: > " + ready + "\nwhile :; do sleep 0.05; done\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if _, err := os.Stat(ready); err == nil {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	start := time.Now()
	out, err := Run(ctx, Job{Binary: script, Root: filepath.Join(dir, "root"), Cancel: syscall.SIGTERM})
	if err != nil {
		t.Fatal(err)
	}
	if out.ExitCode != 3 || out.Outputs["stopped"] != "TERM" {
		t.Errorf("exit %d, outputs %v; want 3 and stopped=TERM from the trap", out.ExitCode, out.Outputs)
	}
	if d := time.Since(start); d >= CancelGrace {
		t.Errorf("took %s: the process was killed, not signalled", d)
	}
}

// TestContainerCommand runs a stand-in docker CLI that records how it was
// called: the runner's docker run, with the runner's mounts, the variables
// passed by name only, the container's /github paths, and no --user.
func TestContainerCommand(t *testing.T) {
	dir := t.TempDir()
	record := filepath.Join(dir, "record")
	fake := filepath.Join(dir, "docker")
	script := "#!/bin/sh\n{ for a in \"$@\"; do echo \"arg $a\"; done; env | sed 's/^/env /'; } > " + record + "\nexit 3\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "job")
	out, err := Run(context.Background(), Job{
		Root: root, Inputs: map[string]string{"project_name": "p"}, Env: map[string]string{"AWS_SECRET_ACCESS_KEY": "s3cret"},
		Container: &Container{Image: "img@sha256:abc", Docker: fake, Host: "unix:///run/test-docker.sock"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.ExitCode != 3 {
		t.Errorf("exit code %d, want the docker CLI's 3", out.ExitCode)
	}
	data, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	env := map[string]string{}
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSuffix(line, "\n")
		if a, ok := strings.CutPrefix(line, "arg "); ok {
			args = append(args, a)
		} else if kv, ok := strings.CutPrefix(line, "env "); ok {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	}
	joined := strings.Join(args, " ")
	for _, want := range []string{
		"run --name ecr-action-", "--workdir /github/workspace --rm --network host",
		"-v /run/test-docker.sock:/var/run/docker.sock",
		"-v " + filepath.Join(root, "runner_temp") + ":/github/runner_temp",
		"-v " + filepath.Join(root, "home") + ":/github/home",
		"-v " + filepath.Join(root, "workflow") + ":/github/workflow",
		"-v " + filepath.Join(root, "file_commands") + ":/github/file_commands",
		"-v " + filepath.Join(root, "workspace") + ":/github/workspace img@sha256:abc",
		"-e INPUT_PROJECT_NAME ", "-e AWS_SECRET_ACCESS_KEY ", "-e GITHUB_OUTPUT ",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("docker %s\nlacks %q", joined, want)
		}
	}
	if strings.Contains(joined, "--user") || strings.Contains(joined, "s3cret") || args[len(args)-1] != "img@sha256:abc" {
		t.Errorf("docker %s: want no --user, no value on the command line, the image last", joined)
	}
	for k, want := range map[string]string{
		"DOCKER_HOST": "unix:///run/test-docker.sock", "HOME": "/github/home", "GITHUB_WORKSPACE": "/github/workspace",
		"GITHUB_EVENT_PATH": "/github/workflow/event.json", "RUNNER_TEMP": "/github/runner_temp",
		"INPUT_PROJECT_NAME": "p", "AWS_SECRET_ACCESS_KEY": "s3cret",
	} {
		if env[k] != want {
			t.Errorf("%s=%q in the docker CLI's environment, want %q", k, env[k], want)
		}
	}
	if !strings.HasPrefix(env["GITHUB_OUTPUT"], "/github/file_commands/github_output_") {
		t.Errorf("GITHUB_OUTPUT=%q, want a file under /github/file_commands", env["GITHUB_OUTPUT"])
	}
	if _, err := Run(context.Background(), Job{Root: root, Container: &Container{Image: "x", Docker: fake, Host: "tcp://127.0.0.1:2375"}}); err == nil {
		t.Error("a tcp:// engine host was accepted: its socket cannot be mounted")
	}
}
