// Package runner runs the action's binary the way the GitHub runner starts a
// container action (GitHub docs, "Creating a Docker container action" and
// "Workflow commands for GitHub Actions"): a clean
// environment with the runner's variables, every declared input as
// INPUT_<NAME> (omitted ones as their default), fresh file-command files,
// event.json, and the workspace as the working directory. The demo and the
// end-to-end tests use it; the paths the runner mounts under /github are
// directories under Job.Root here.
package runner

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/org/ecr-action/internal/config"
)

// Job is one step run.
type Job struct {
	Binary string            // the action's executable
	Root   string            // a directory for workspace, home, workflow, file commands, runner temp
	Inputs map[string]string // the step's with: block, by input name
	Env    map[string]string // job and step env: (AWS_* from a credentials step, ...)
	Event  map[string]any    // the event payload written to event.json; nil = a push to main
	// Cancel is the signal sent when Run's ctx ends, as the runner cancels
	// a step (SIGINT, or SIGTERM); the process is killed if it still runs
	// CancelGrace later. nil = kill at once.
	Cancel os.Signal
	// Container, when set, runs the action as a container from an image
	// on a Docker engine, exactly as the runner starts a container action,
	// instead of running Binary.
	Container *Container
}

// Container is how Run starts a container action: `docker run --rm
// --workdir /github/workspace`, the runner's five mounts and the Docker
// socket, every variable passed by name with -e (values stay off the
// command line), no --user (the image's USER applies), no TTY, no stdin,
// and --network host, so that servers on 127.0.0.1 (ecrlocal) are reached
// as on a runner. Paths in the environment are the container's (/github/…).
type Container struct {
	Image  string // a reference the engine can run
	Docker string // the docker CLI; "" = "docker" on PATH
	// Host is the engine's DOCKER_HOST, unix:///path; its socket is
	// mounted as /var/run/docker.sock, as the runner mounts its own.
	Host string
}

// The container's paths for the runner's mounts.
const (
	containerWorkspace    = "/github/workspace"
	containerHome         = "/github/home"
	containerWorkflow     = "/github/workflow"
	containerFileCommands = "/github/file_commands"
	containerRunnerTemp   = "/github/runner_temp"
	containerDockerSocket = "/var/run/docker.sock"
)

// CancelGrace is how long the runner waits after a cancel signal before the
// next, harsher one (SIGINT, SIGTERM 7.5 s later, then a kill).
const CancelGrace = 7500 * time.Millisecond

// Outcome is what the runner reads back after the container exits.
type Outcome struct {
	ExitCode int
	Log      string            // stdout and stderr as the runner shows them: add-mask lines hidden, masked values as ***
	RawLog   string            // stdout and stderr as the process wrote them
	Masks    []string          // values the process masked with ::add-mask::
	Outputs  map[string]string // parsed from GITHUB_OUTPUT
	Summary  string            // GITHUB_STEP_SUMMARY
	Env      map[string]string // parsed from GITHUB_ENV
	// MaxRSS bounds the process's peak resident memory in bytes from
	// above: Linux's ru_maxrss of a child started with vfork (as os/exec
	// does) also counts the parent's resident pages until the exec, so it
	// is at least the test process's own peak. For the action's own
	// figure run the binary under /usr/bin/time -v.
	MaxRSS int64
	// Files holds the raw content of every file-command file the step was
	// given (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_STATE, GITHUB_PATH,
	// GITHUB_STEP_SUMMARY), by variable name, as the process left it.
	Files map[string]string
}

// Paths inside Root, mirroring the runner's mounts.
const (
	Workspace    = "workspace"
	Home         = "home"
	Workflow     = "workflow"
	FileCommands = "file_commands"
	RunnerTemp   = "runner_temp"
)

// Run starts the binary and waits for it.
func Run(ctx context.Context, j Job) (*Outcome, error) {
	for _, d := range []string{Workspace, Home, Workflow, FileCommands, RunnerTemp} {
		if err := os.MkdirAll(filepath.Join(j.Root, d), 0o755); err != nil {
			return nil, fmt.Errorf("preparing %s: %w", d, err)
		}
	}
	files := map[string]string{}
	for _, name := range []string{"GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STATE", "GITHUB_STEP_SUMMARY", "GITHUB_PATH"} {
		// Fresh, empty files for each step, as the runner makes them.
		p := filepath.Join(j.Root, FileCommands, strings.ToLower(name)+"_"+randomSuffix())
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			return nil, fmt.Errorf("creating %s: %w", name, err)
		}
		files[name] = p
	}
	event := j.Event
	if event == nil {
		event = map[string]any{"ref": "refs/heads/main", "repository": map[string]any{"default_branch": "main", "full_name": "org/app"}}
	}
	eventJSON, err := json.Marshal(event)
	if err != nil {
		return nil, fmt.Errorf("encoding event.json: %w", err)
	}
	eventPath := filepath.Join(j.Root, Workflow, "event.json")
	if err := os.WriteFile(eventPath, eventJSON, 0o644); err != nil {
		return nil, fmt.Errorf("writing event.json: %w", err)
	}

	// Where the process sees the runner's directories.
	home, workspace, workflow, fileCommands, runnerTemp := filepath.Join(j.Root, Home), filepath.Join(j.Root, Workspace),
		filepath.Join(j.Root, Workflow), filepath.Join(j.Root, FileCommands), filepath.Join(j.Root, RunnerTemp)
	if j.Container != nil {
		home, workspace, workflow, fileCommands, runnerTemp = containerHome, containerWorkspace, containerWorkflow, containerFileCommands, containerRunnerTemp
	}
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "CI": "true",
		"HOME":              home,
		"GITHUB_WORKSPACE":  workspace,
		"GITHUB_EVENT_PATH": workflow + "/event.json",
		"GITHUB_EVENT_NAME": "push", "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
		"GITHUB_REF": "refs/heads/main", "GITHUB_REF_NAME": "main", "GITHUB_REF_TYPE": "branch",
		"GITHUB_REPOSITORY": "org/app", "GITHUB_RUN_ID": "1", "GITHUB_RUN_NUMBER": "1", "GITHUB_RUN_ATTEMPT": "1",
		"GITHUB_SERVER_URL": "https://github.com", "GITHUB_API_URL": "https://api.github.com",
		"GITHUB_WORKFLOW_REF": "org/app/.github/workflows/deploy.yml@refs/heads/main",
		"GITHUB_ACTOR":        "octocat", "GITHUB_JOB": "deploy", "GITHUB_WORKFLOW": "deploy",
		"RUNNER_OS": "Linux", "RUNNER_ARCH": "X64", "RUNNER_TEMP": runnerTemp,
	}
	for k, v := range files {
		env[k] = fileCommands + "/" + filepath.Base(v)
	}
	for k, v := range j.Env {
		env[k] = v
	}
	// Every declared input arrives: the step's value, else the default, else "".
	for _, d := range config.Definitions() {
		env[config.EnvName(d.Name)] = d.Default
	}
	for k, v := range j.Inputs {
		env[config.EnvName(k)] = v
	}

	var cmd *exec.Cmd
	if j.Container != nil {
		if cmd, err = containerCommand(ctx, j, env); err != nil {
			return nil, err
		}
	} else {
		cmd = exec.CommandContext(ctx, j.Binary)
		if j.Cancel != nil {
			cmd.Cancel = func() error { return cmd.Process.Signal(j.Cancel) }
			cmd.WaitDelay = CancelGrace
		}
		cmd.Dir = filepath.Join(j.Root, Workspace)
		cmd.Env = make([]string, 0, len(env))
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	cmd.Stdin = nil
	var log bytes.Buffer
	cmd.Stdout = &log
	cmd.Stderr = &log
	out := &Outcome{}
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		switch {
		case errors.As(err, &exit):
			out.ExitCode = exit.ExitCode()
		case cmd.ProcessState != nil && ctx.Err() != nil:
			out.ExitCode = cmd.ProcessState.ExitCode() // exited 0 after the cancel
		default:
			return nil, fmt.Errorf("starting %s: %w", cmd.Path, err)
		}
	}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			out.MaxRSS = ru.Maxrss << 10 // Linux reports KiB
		}
	}
	out.RawLog = log.String()
	out.Log, out.Masks = applyMasks(out.RawLog)
	out.Files = map[string]string{}
	for name, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			return out, fmt.Errorf("reading %s: %w", name, err)
		}
		out.Files[name] = string(data)
	}
	// The runner reads the file commands after the container exits, also
	// when it failed.
	if out.Outputs, err = parseFileCommand(files["GITHUB_OUTPUT"]); err != nil {
		return out, fmt.Errorf("GITHUB_OUTPUT: %w", err)
	}
	if out.Env, err = parseFileCommand(files["GITHUB_ENV"]); err != nil {
		return out, fmt.Errorf("GITHUB_ENV: %w", err)
	}
	summary, err := os.ReadFile(files["GITHUB_STEP_SUMMARY"])
	if err != nil {
		return out, fmt.Errorf("reading the step summary: %w", err)
	}
	if len(summary) > 1<<20 {
		return out, fmt.Errorf("step summary is %d bytes; the runner drops summaries over 1 MiB", len(summary))
	}
	out.Summary = string(summary)
	return out, nil
}

// containerCommand is the `docker run` the runner makes for a container
// action. A cancel is `docker stop` (SIGTERM, a kill 10 s later), and the
// docker CLI, attached to the container, returns its exit code.
func containerCommand(ctx context.Context, j Job, env map[string]string) (*exec.Cmd, error) {
	c := j.Container
	docker := c.Docker
	if docker == "" {
		docker = "docker"
	}
	socket, ok := strings.CutPrefix(c.Host, "unix://")
	if !ok || !filepath.IsAbs(socket) {
		return nil, fmt.Errorf("container engine host %q: want unix:///path/to/docker.sock", c.Host)
	}
	name := "ecr-action-" + randomSuffix()
	args := []string{"run", "--name", name, "--label", "ecr-action-runner", "--workdir", containerWorkspace, "--rm", "--network", "host"}
	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		args = append(args, "-e", k)
	}
	for _, m := range [][2]string{
		{socket, containerDockerSocket},
		{filepath.Join(j.Root, RunnerTemp), containerRunnerTemp},
		{filepath.Join(j.Root, Home), containerHome},
		{filepath.Join(j.Root, Workflow), containerWorkflow},
		{filepath.Join(j.Root, FileCommands), containerFileCommands},
		{filepath.Join(j.Root, Workspace), containerWorkspace},
	} {
		abs, err := filepath.Abs(m[0])
		if err != nil {
			return nil, err
		}
		args = append(args, "-v", abs+":"+m[1])
	}
	args = append(args, c.Image)
	cmd := exec.CommandContext(ctx, docker, args...)
	cmd.Env = []string{"DOCKER_HOST=" + c.Host, "PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for _, k := range names {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	cmd.Cancel = func() error {
		stop := exec.Command(docker, "stop", name)
		stop.Env = []string{"DOCKER_HOST=" + c.Host, "PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
		if out, err := stop.CombinedOutput(); err != nil {
			return fmt.Errorf("docker stop %s: %v: %s", name, err, out)
		}
		return nil
	}
	// docker stop waits 10 s before its kill; the CLI then returns.
	cmd.WaitDelay = 30 * time.Second
	return cmd, nil
}

// parseFileCommand reads `k=v` and `k<<DELIM ... DELIM` entries, as the
// runner does for GITHUB_OUTPUT and GITHUB_ENV.
func parseFileCommand(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	vals := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 2<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		eq := strings.Index(line, "=")
		heredoc := strings.Index(line, "<<")
		if heredoc > 0 && (eq < 0 || heredoc < eq) {
			key, delim := line[:heredoc], line[heredoc+2:]
			if delim == "" {
				return nil, fmt.Errorf("empty delimiter for %q", key)
			}
			var body []string
			closed := false
			for sc.Scan() {
				if sc.Text() == delim {
					closed = true
					break
				}
				body = append(body, sc.Text())
			}
			if !closed {
				return nil, fmt.Errorf("value of %q has no closing delimiter", key)
			}
			vals[key] = strings.Join(body, "\n")
			continue
		}
		if eq <= 0 {
			return nil, fmt.Errorf("line %q is neither k=v nor k<<DELIM", line)
		}
		vals[line[:eq]] = line[eq+1:]
	}
	return vals, sc.Err()
}

func randomSuffix() string { return strings.ToLower(rand.Text()[:12]) }

// applyMasks does what the runner does with ::add-mask:: commands: the
// command line is not shown, and the value is replaced by *** wherever it
// appears in the log.
func applyMasks(raw string) (string, []string) {
	lines := strings.Split(raw, "\n")
	shown := lines[:0:0]
	var masks []string
	for _, line := range lines {
		trimmed := strings.TrimLeft(line, " \t")
		if v, ok := strings.CutPrefix(trimmed, "::add-mask::"); ok {
			v = strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%").Replace(strings.TrimRight(v, "\r"))
			if v != "" {
				masks = append(masks, v)
			}
			continue
		}
		shown = append(shown, line)
	}
	text := strings.Join(shown, "\n")
	for _, m := range masks {
		text = strings.ReplaceAll(text, m, "***")
	}
	return text, masks
}
