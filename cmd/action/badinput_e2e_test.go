package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/org/ecr-action/internal/config"
	"github.com/org/ecr-action/internal/testing/badinputs"
	"github.com/org/ecr-action/internal/testing/ecrlocal/ecrlocaltest"
	"github.com/org/ecr-action/internal/testing/runner"
)

// These tests run every case of testdata/bad-inputs through the built action
// as the runner starts it, and read the raw log the way the runner does: the
// only workflow commands may be the ones the action means to write, with the
// data it means, whatever the value holds.

func badInputCatalogue(t *testing.T) []badinputs.Case {
	t.Helper()
	path, err := badinputs.FindModuleFile(badinputs.File)
	if err != nil {
		t.Fatal(err)
	}
	cases, err := badinputs.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

func TestBadInputCatalogueNamesDeclaredInputs(t *testing.T) {
	path, err := badinputs.FindModuleFile("action.yml")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var action struct {
		Inputs map[string]any `yaml:"inputs"`
	}
	if err := yaml.Unmarshal(data, &action); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	cases := badInputCatalogue(t)
	if len(cases) < 40 {
		t.Errorf("the catalogue has %d cases, want at least 40", len(cases))
	}
	named := map[string]bool{}
	for _, c := range cases {
		if _, ok := action.Inputs[c.Input]; !ok {
			t.Errorf("case %q names input %q, which action.yml does not declare", c.Name, c.Input)
		}
		for _, k := range c.InputNames() {
			if _, ok := action.Inputs[k]; !ok {
				t.Errorf("case %q sets input %q, which action.yml does not declare", c.Name, k)
			}
		}
		if strings.TrimSpace(c.Why) == "" {
			t.Errorf("case %q does not say why the value is bad", c.Name)
		}
		named[c.Input] = true
	}
	for name := range action.Inputs {
		if !named[name] {
			t.Errorf("no case names input %s of action.yml", name)
		}
	}
}

func TestBadInputsEndToEnd(t *testing.T) {
	sharedTest(t)
	e := start(t)
	// One server for all cases, so they run one after the other: ResetCalls
	// and Calls must see one case's calls only.
	for _, c := range badInputCatalogue(t) {
		t.Run(c.Name, func(t *testing.T) {
			root := t.TempDir()
			ws := filepath.Join(root, runner.Workspace)
			if err := os.MkdirAll(ws, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := c.Prepare(ws); err != nil {
				t.Fatal(err)
			}
			env := e.awsEnv()
			for k, v := range c.EnvIn(ws) {
				env[k] = v
			}
			e.srv.ResetCalls()
			// A hostile file must not hold the run: a bounded time, and
			// no Go stack trace in the log.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			started := time.Now()
			out, err := runner.Run(ctx, runner.Job{Binary: actionBinary, Root: root, Inputs: c.With(), Env: env})
			if took := time.Since(started); took > 20*time.Second {
				t.Errorf("the run took %v; a bad input must be refused in seconds", took.Round(time.Millisecond))
			}
			if c.NotInEnvironment != "" {
				// The value cannot be passed to a process at all, so neither
				// can the runner pass it.
				if err == nil {
					t.Fatalf("the value reached the process (exit %d), though %s", out.ExitCode, c.NotInEnvironment)
				}
				return
			}
			if err != nil {
				t.Fatalf("running the action: %v", err)
			}
			if out.ExitCode == 0 {
				t.Fatalf("exit 0 for %s; log:\n%s", c.Why, out.Log)
			}
			if calls, regCalls := e.srv.Calls(), e.srv.RegistryCalls(); len(calls) != 0 || len(regCalls) != 0 || e.srv.WriteCalls() != 0 {
				t.Errorf("a bad input reached ECR: API calls %v, registry calls %v", calls, regCalls)
			}
			for _, secret := range []string{ecrlocaltest.SecretAccessKey, "test-session-token"} {
				if strings.Contains(out.Summary, secret) {
					t.Errorf("a secret reached the summary")
				}
			}
			if len(out.Outputs) != 0 || len(out.Env) != 0 {
				t.Errorf("a failed run set outputs %q or environment %q", out.Outputs, out.Env)
			}
			if strings.Contains(out.Log, "goroutine ") || strings.Contains(out.Log, "panic:") || strings.Contains(out.Log, "fatal error:") {
				t.Errorf("the log holds a Go stack trace:\n%.3000s", out.Log)
			}
			if !strings.Contains(out.Log, "::error title=Invalid input "+c.Input+"::") {
				t.Errorf("no error annotation titled Invalid input %s:\n%.3000s", c.Input, out.Log)
			}
			if !strings.Contains(out.Summary, "input "+c.Input) || !strings.Contains(out.Summary, "Nothing was changed in AWS") {
				t.Errorf("the summary does not name input %s or say nothing changed:\n%.3000s", c.Input, out.Summary)
			}

			got, plain := runnerReads(out.RawLog)
			for _, line := range plain {
				t.Errorf("the raw log has a line that is not a command the action writes (a value broke out of its line?): %.300q", line)
			}
			want := wantInvalidInputCommands(t, root, c.With(), c.EnvIn(ws))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("commands the runner executes (-want +got):\n%s\nraw log: %.2000q", diff, out.RawLog)
			}
		})
	}
}

// awsEnv is the job environment (env.run's) that points the action at
// ecrlocal with static credentials.
func (e *env) awsEnv() map[string]string {
	return map[string]string{
		"AWS_ACCESS_KEY_ID": ecrlocaltest.AccessKeyID, "AWS_SECRET_ACCESS_KEY": ecrlocaltest.SecretAccessKey,
		"AWS_SESSION_TOKEN": "test-session-token", "AWS_REGION": ecrlocaltest.Region,
		"AWS_ENDPOINT_URL_ECR": e.url,
	}
}

// wantInvalidInputCommands returns the commands the action means to write
// when inputs are invalid: the masks of the job's secrets, the Inputs group,
// then one error annotation per
// invalid input (main.go: at most 10), computed by config.Load in process
// with the environment runner.Run gives the binary under root.
func wantInvalidInputCommands(t *testing.T, root string, inputs, env map[string]string) []workflowCommand {
	t.Helper()
	vars := map[string]string{
		"GITHUB_WORKSPACE":  filepath.Join(root, runner.Workspace),
		"RUNNER_TEMP":       filepath.Join(root, runner.RunnerTemp),
		"GITHUB_EVENT_PATH": filepath.Join(root, runner.Workflow, "event.json"),
		"GITHUB_EVENT_NAME": "push", "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
		"GITHUB_REF": "refs/heads/main", "GITHUB_REF_NAME": "main", "GITHUB_REF_TYPE": "branch",
		"GITHUB_REPOSITORY": "org/app", "GITHUB_SERVER_URL": "https://github.com",
	}
	for _, d := range config.Definitions() {
		vars[config.EnvName(d.Name)] = d.Default
	}
	for k, v := range inputs {
		vars[config.EnvName(k)] = v
	}
	for k, v := range env {
		vars[k] = v
	}
	_, err := config.Load(func(k string) string { return vars[k] })
	var fe config.Errors
	if !errors.As(err, &fe) {
		t.Fatalf("config.Load in process: %v, want config.Errors", err)
	}
	// The job's secrets are masked before anything else (report.New).
	want := []workflowCommand{
		{Name: "add-mask", Data: ecrlocaltest.SecretAccessKey}, {Name: "add-mask", Data: "test-session-token"},
		{Name: "group", Data: "Inputs"}, {Name: "endgroup"},
	}
	for i, f := range fe {
		if i == 9 && len(fe) > 10 {
			want = append(want, workflowCommand{Name: "error", Title: "Invalid inputs", Data: fmt.Sprintf("%d more invalid inputs: see the job summary", len(fe)-9)})
			break
		}
		want = append(want, workflowCommand{Name: "error", Title: "Invalid input " + f.Input, Data: f.Error()})
	}
	return want
}

// workflowCommand is a command as the runner executes it: properties and
// data unescaped.
type workflowCommand struct {
	Name  string
	Title string // the title property
	Props string // other properties, as written
	Data  string
}

// runnerCommandNames are the commands actions/runner registers
// (ActionCommandManager); names are matched without regard to case.
var runnerCommandNames = map[string]bool{
	"stop-commands": true, "set-env": true, "set-output": true, "save-state": true, "add-mask": true, "add-path": true,
	"add-matcher": true, "remove-matcher": true, "warning": true, "error": true, "notice": true, "debug": true,
	"group": true, "endgroup": true, "echo": true,
}

// runnerReads reads a raw log as actions/runner does (ActionCommandManager.
// TryProcessCommand, ActionCommand.TryParseV2 and TryParse): lines end at
// CR, LF or CRLF; a line is a command when, after leading white space, it
// starts "::name props::data" with a registered name, or when it holds
// "##[name props]data" anywhere; "::stop-commands::TOKEN" suspends commands
// until a line "::TOKEN::". It returns the commands executed and the lines
// that are not commands (outside a stop-commands block, where the action
// writes plain text on purpose).
func runnerReads(raw string) (cmds []workflowCommand, plain []string) {
	raw = strings.ReplaceAll(raw, "\r\n", "\n")
	raw = strings.ReplaceAll(raw, "\r", "\n")
	lines := strings.Split(raw, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	stopToken := ""
	for _, line := range lines {
		cmd, ok := parseCommandV2(line)
		if !ok {
			cmd, ok = parseCommandV1(line)
		}
		switch {
		case stopToken != "":
			// The runner registers the token as a command name: "::TOKEN::".
			if strings.HasPrefix(strings.ToLower(strings.TrimLeftFunc(line, isRunnerSpace)), "::"+stopToken+"::") {
				stopToken = ""
			}
		case !ok:
			plain = append(plain, line)
		case cmd.Name == "stop-commands":
			stopToken = strings.ToLower(cmd.Data)
		default:
			cmds = append(cmds, cmd)
		}
	}
	if stopToken != "" {
		plain = append(plain, "(commands stopped with token "+stopToken+" and never resumed)")
	}
	return cmds, plain
}

// isRunnerSpace is a superset of .NET's char.IsWhiteSpace, which the
// runner's TrimStart uses: it includes U+2028 and U+2029.
func isRunnerSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) || r == 0xfeff
}

func parseCommandV2(line string) (workflowCommand, bool) {
	msg := strings.TrimLeftFunc(line, isRunnerSpace)
	if !strings.HasPrefix(msg, "::") {
		return workflowCommand{}, false
	}
	end := strings.Index(msg[2:], "::")
	if end < 0 {
		return workflowCommand{}, false
	}
	info := msg[2 : end+2]
	name, props, _ := strings.Cut(info, " ")
	name = strings.ToLower(name)
	if !runnerCommandNames[name] {
		return workflowCommand{}, false
	}
	cmd := workflowCommand{Name: name, Data: unescapeData(msg[end+4:])}
	var other []string
	for _, p := range strings.Split(strings.TrimSpace(props), ",") {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" || v == "" {
			continue
		}
		if k == "title" {
			cmd.Title = unescapeProperty(v)
		} else {
			other = append(other, k+"="+v)
		}
	}
	cmd.Props = strings.Join(other, ",")
	return cmd, true
}

func parseCommandV1(line string) (workflowCommand, bool) {
	i := strings.Index(line, "##[")
	if i < 0 {
		return workflowCommand{}, false
	}
	rb := strings.Index(line[i:], "]")
	if rb < 0 {
		return workflowCommand{}, false
	}
	name, props, _ := strings.Cut(line[i+3:i+rb], " ")
	name = strings.ToLower(name)
	if !runnerCommandNames[name] {
		return workflowCommand{}, false
	}
	return workflowCommand{Name: name, Props: "v1:" + props, Data: line[i+rb+1:]}, true
}

// unescapeData and unescapeProperty undo the escapes one after the other,
// in the runner's order (ActionCommand.Unescape*), "%25" last.
func unescapeData(v string) string {
	for _, m := range [][2]string{{"%0D", "\r"}, {"%0A", "\n"}, {"%25", "%"}} {
		v = strings.ReplaceAll(v, m[0], m[1])
	}
	return v
}

func unescapeProperty(v string) string {
	for _, m := range [][2]string{{"%0D", "\r"}, {"%0A", "\n"}, {"%3A", ":"}, {"%2C", ","}, {"%25", "%"}} {
		v = strings.ReplaceAll(v, m[0], m[1])
	}
	return v
}

// TestRunnerReadsSeesInjectedCommands keeps the log reader honest: it must
// itself see the commands a value could inject, or the tests built on it
// prove nothing.
func TestRunnerReadsSeesInjectedCommands(t *testing.T) {
	raw := "::error title=a%3A b::x%0Ay\n" +
		"::set-output name=a::b\r::ADD-MASK::m\r\n" +
		"  \u2028::warning::w\n" +
		"text ##[set-env name=A]b\n" +
		"::stop-commands::T1\n::error::hidden\nplain but stopped\n::t1::\n" +
		"::not-a-command::z\n" +
		"plain\n"
	got, plain := runnerReads(raw)
	want := []workflowCommand{
		{Name: "error", Title: "a: b", Data: "x\ny"},
		{Name: "set-output", Props: "name=a", Data: "b"},
		{Name: "add-mask", Data: "m"},
		{Name: "warning", Data: "w"},
		{Name: "set-env", Props: "v1:name=A", Data: "b"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"::not-a-command::z", "plain"}, plain); diff != "" {
		t.Errorf("plain lines (-want +got):\n%s", diff)
	}
	if _, plain := runnerReads("::stop-commands::T\n::error::x\n"); len(plain) != 1 {
		t.Errorf("a stop-commands block never resumed is not reported: %q", plain)
	}
}
