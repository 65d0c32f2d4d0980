package report

import (
	"strings"
	"testing"
	"unicode"
)

// This file models, for tests, how actions/runner reads a step's log stream
// (ActionCommandManager.TryProcessCommand, ActionCommand.TryParseV2 and
// TryParse) and its output file (FileCommandManager, heredoc form), so that
// tests can check what the runner would execute rather than what the text
// looks like.

// runnerCommand is a command the runner would execute.
type runnerCommand struct {
	Name  string
	Props map[string]string
	Data  string
}

// registeredCommands are the command names the runner knows.
var registeredCommandNames = []string{
	"stop-commands", "set-env", "set-output", "save-state", "add-mask", "add-path",
	"add-matcher", "remove-matcher", "warning", "error", "notice", "debug",
	"group", "endgroup", "echo",
}

// runnerExecute returns the commands the runner would execute for log text.
// stop-commands and its resume token are handled as the runner does and are
// not returned.
func runnerExecute(t *testing.T, log string) []runnerCommand {
	t.Helper()
	registered := map[string]bool{}
	for _, n := range registeredCommandNames {
		registered[n] = true
	}
	var (
		got       []runnerCommand
		stopToken string
	)
	for _, line := range runnerLines(log) {
		cmd, ok := tryParseV2(line, registered)
		if !ok {
			cmd, ok = tryParseV1(line, registered)
		}
		if !ok {
			continue
		}
		switch {
		case stopToken != "":
			if strings.EqualFold(cmd.Name, stopToken) {
				delete(registered, strings.ToLower(stopToken))
				stopToken = ""
			}
		case cmd.Name == "stop-commands":
			stopToken = cmd.Data
			registered[strings.ToLower(stopToken)] = true
		default:
			got = append(got, cmd)
		}
	}
	if stopToken != "" {
		t.Errorf("log leaves commands stopped (token %q never resumed)", stopToken)
	}
	return got
}

// runnerLines splits like .NET's StreamReader.ReadLine: CRLF, CR or LF.
func runnerLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func tryParseV2(line string, registered map[string]bool) (runnerCommand, bool) {
	msg := strings.TrimLeftFunc(line, unicode.IsSpace)
	if !strings.HasPrefix(msg, "::") {
		return runnerCommand{}, false
	}
	end := strings.Index(msg[2:], "::")
	if end < 0 {
		return runnerCommand{}, false
	}
	end += 2
	info := msg[2:end]
	name, props, _ := strings.Cut(info, " ")
	if !registered[strings.ToLower(name)] {
		return runnerCommand{}, false
	}
	cmd := runnerCommand{Name: strings.ToLower(name), Props: map[string]string{}}
	for _, p := range strings.Split(strings.TrimSpace(props), ",") {
		k, v, ok := strings.Cut(p, "=")
		if ok && k != "" && v != "" {
			cmd.Props[k] = unescape(v, true)
		}
	}
	cmd.Data = unescape(msg[end+2:], false)
	return cmd, true
}

func tryParseV1(line string, registered map[string]bool) (runnerCommand, bool) {
	i := strings.Index(line, "##[")
	if i < 0 {
		return runnerCommand{}, false
	}
	rb := strings.Index(line[i:], "]")
	if rb < 0 {
		return runnerCommand{}, false
	}
	rb += i
	info := line[i+3 : rb]
	name, _, _ := strings.Cut(info, " ")
	if !registered[strings.ToLower(name)] {
		return runnerCommand{}, false
	}
	return runnerCommand{Name: strings.ToLower(name), Props: map[string]string{}, Data: line[rb+1:]}, true
}

func unescape(v string, property bool) string {
	v = strings.ReplaceAll(v, "%0D", "\r")
	v = strings.ReplaceAll(v, "%0A", "\n")
	if property {
		v = strings.ReplaceAll(v, "%3A", ":")
		v = strings.ReplaceAll(v, "%2C", ",")
	}
	return strings.ReplaceAll(v, "%25", "%")
}

// runnerOutputs parses an output file as the runner does on Linux: lines end
// at LF; "name=value" or "name<<DELIM" up to the first line equal to DELIM.
func runnerOutputs(t *testing.T, text string) map[string]string {
	t.Helper()
	out := map[string]string{}
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" {
			continue
		}
		eq := strings.Index(line, "=")
		hd := strings.Index(line, "<<")
		switch {
		case eq >= 0 && (hd < 0 || eq < hd):
			out[line[:eq]] = line[eq+1:]
		case hd >= 0:
			name, delim := line[:hd], line[hd+2:]
			var value []string
			for i++; ; i++ {
				if i >= len(lines) {
					t.Fatalf("output file: delimiter %q not found", delim)
				}
				if lines[i] == delim {
					break
				}
				value = append(value, lines[i])
			}
			out[name] = strings.Join(value, "\n")
		default:
			t.Fatalf("output file: invalid line %q", line)
		}
	}
	return out
}

func TestRunnerModel(t *testing.T) {
	// The model must itself see commands, or tests built on it prove nothing.
	log := "plain\n  ::set-output name=a::b\r::add-mask::x\nsome ##[error]boom\n::stop-commands::T\n::error::hidden\n::T::\n::warning title=t%3A1::w%0Ax\n"
	got := runnerExecute(t, log)
	want := []string{"set-output", "add-mask", "error", "warning"}
	if len(got) != len(want) {
		t.Fatalf("got %d commands %+v, want %v", len(got), got, want)
	}
	for i, w := range want {
		if got[i].Name != w {
			t.Errorf("command %d: got %q, want %q", i, got[i].Name, w)
		}
	}
	if got[3].Props["title"] != "t:1" || got[3].Data != "w\nx" {
		t.Errorf("warning: got title %q data %q, want %q %q", got[3].Props["title"], got[3].Data, "t:1", "w\nx")
	}
}
