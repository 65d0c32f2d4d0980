package report

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// stepFiles creates empty GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files as the
// runner does and returns an environment naming them.
func stepFiles(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{
		OutputVar:  filepath.Join(dir, "set_output_1"),
		SummaryVar: filepath.Join(dir, "step_summary_1"),
	}
	for _, p := range env {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return env
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var heredoc = regexp.MustCompile(`^repository_url<<(ghadelimiter_[A-Z2-7]{26})\n123456789012.dkr.ecr.eu-west-1.amazonaws.com/app\n(ghadelimiter_[A-Z2-7]{26})\n$`)

func TestSetOutputBytes(t *testing.T) {
	env := stepFiles(t)
	w, log := newTestWorkflow(env)
	if err := w.SetOutput("repository_url", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app"); err != nil {
		t.Fatalf("SetOutput: %v", err)
	}
	got := readFile(t, env[OutputVar])
	m := heredoc.FindStringSubmatch(got)
	if m == nil || m[1] != m[2] {
		t.Fatalf("output file = %q, want name<<DELIM, value, DELIM lines with one random delimiter", got)
	}
	if log.Len() != 0 {
		t.Errorf("SetOutput wrote %q to the log, want nothing", log.String())
	}
}

func TestSetOutputRoundTrip(t *testing.T) {
	values := map[string]string{
		"plain":       "arn:aws:ecr:eu-west-1:012345678901:repository/app",
		"empty":       "",
		"multi_line":  "line 1\nline 2\r\nline 3\n",
		"fixed_delim": "a\n_GitHubActionsFileCommandDelimeter_\nEOF\nb",
		"fake_entry":  "x\nother<<EOF\ny\nEOF\nz=1",
		"equals":      "k=v",
		"ghadelim":    "ghadelimiter_AAAAAAAAAAAAAAAAAAAAAAAAAA",
	}
	env := stepFiles(t)
	w, _ := newTestWorkflow(env)
	for name, v := range values {
		if err := w.SetOutput(name, v); err != nil {
			t.Fatalf("SetOutput(%q): %v", name, err)
		}
	}
	got := runnerOutputs(t, readFile(t, env[OutputVar]))
	if diff := cmp.Diff(values, got); diff != "" {
		t.Errorf("outputs the runner reads back (-want +got):\n%s", diff)
	}
}

func TestSetOutputErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		env     map[string]string
		output  string
		wantVar string
		check   func(t *testing.T, err error)
	}{
		{
			name:   "GITHUB_OUTPUT unset",
			env:    map[string]string{},
			output: "repository_url",
			check: func(t *testing.T, err error) {
				var fe *FileCommandError
				if !errors.As(err, &fe) || fe.Variable != OutputVar || !errors.Is(err, ErrNotSet) {
					t.Errorf("got %v, want a *FileCommandError for %s wrapping ErrNotSet", err, OutputVar)
				}
				if !strings.Contains(err.Error(), "GITHUB_OUTPUT is not set") {
					t.Errorf("message %q does not say GITHUB_OUTPUT is not set", err)
				}
			},
		},
		{
			name:   "GITHUB_OUTPUT in a missing directory",
			env:    map[string]string{OutputVar: filepath.Join(dir, "no", "such", "file")},
			output: "repository_url",
			check: func(t *testing.T, err error) {
				var fe *FileCommandError
				if !errors.As(err, &fe) || fe.Path == "" || !errors.Is(err, os.ErrNotExist) {
					t.Errorf("got %v, want a *FileCommandError with the path, wrapping not-exist", err)
				}
			},
		},
		{
			name:   "GITHUB_OUTPUT is a directory",
			env:    map[string]string{OutputVar: dir},
			output: "repository_url",
			check: func(t *testing.T, err error) {
				var fe *FileCommandError
				if !errors.As(err, &fe) {
					t.Errorf("got %v, want a *FileCommandError", err)
				}
			},
		},
		{
			name:   "name with equals",
			env:    map[string]string{OutputVar: filepath.Join(dir, "out")},
			output: "a=b",
			check: func(t *testing.T, err error) {
				var ne *OutputNameError
				if !errors.As(err, &ne) || ne.Name != "a=b" {
					t.Errorf("got %v, want *OutputNameError for %q", err, "a=b")
				}
			},
		},
		{
			name:   "name with heredoc marker",
			env:    map[string]string{OutputVar: filepath.Join(dir, "out")},
			output: "a<<b",
			check: func(t *testing.T, err error) {
				var ne *OutputNameError
				if !errors.As(err, &ne) {
					t.Errorf("got %v, want *OutputNameError", err)
				}
			},
		},
		{
			name:   "empty name",
			env:    map[string]string{OutputVar: filepath.Join(dir, "out")},
			output: "",
			check: func(t *testing.T, err error) {
				var ne *OutputNameError
				if !errors.As(err, &ne) {
					t.Errorf("got %v, want *OutputNameError", err)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, _ := newTestWorkflow(tc.env)
			err := w.SetOutput(tc.output, "v")
			if err == nil {
				t.Fatal("SetOutput returned nil, want an error")
			}
			tc.check(t, err)
		})
	}
	if b, err := os.ReadFile(filepath.Join(dir, "out")); err == nil && len(b) > 0 {
		t.Errorf("an invalid name still wrote %q", b)
	}
}

func TestAppendSummary(t *testing.T) {
	env := stepFiles(t)
	w, _ := newTestWorkflow(env)
	for _, md := range []string{"## One\n", "## Two"} {
		if err := w.AppendSummary(md); err != nil {
			t.Fatalf("AppendSummary: %v", err)
		}
	}
	if got, want := readFile(t, env[SummaryVar]), "## One\n\n## Two\n"; got != want {
		t.Errorf("summary file = %q, want %q", got, want)
	}
}

func TestAppendSummaryLimit(t *testing.T) {
	env := stepFiles(t)
	w, _ := newTestWorkflow(env)
	big := strings.Repeat("x", SummaryLimit-11) // plus the line break: 10 bytes left
	if err := w.AppendSummary(big); err != nil {
		t.Fatalf("AppendSummary at the limit: %v", err)
	}
	if err := w.AppendSummary("123456789"); err != nil {
		t.Fatalf("AppendSummary filling the limit exactly: %v", err)
	}
	err := w.AppendSummary("x")
	var te *SummaryTooLargeError
	if !errors.As(err, &te) {
		t.Fatalf("got %v, want *SummaryTooLargeError", err)
	}
	if te.Existing != SummaryLimit || te.Adding != 2 {
		t.Errorf("got existing %d adding %d, want %d and 2", te.Existing, te.Adding, SummaryLimit)
	}
	if fi, _ := os.Stat(env[SummaryVar]); fi.Size() != SummaryLimit {
		t.Errorf("summary size %d, want %d (nothing added past the limit)", fi.Size(), SummaryLimit)
	}
}

func TestAppendSummaryUnset(t *testing.T) {
	w, _ := newTestWorkflow(map[string]string{})
	err := w.AppendSummary("## x")
	var fe *FileCommandError
	if !errors.As(err, &fe) || fe.Variable != SummaryVar || !errors.Is(err, ErrNotSet) {
		t.Errorf("got %v, want *FileCommandError for %s wrapping ErrNotSet", err, SummaryVar)
	}
}
