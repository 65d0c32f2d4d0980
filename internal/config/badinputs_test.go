package config

import (
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/org/ecr-action/internal/testing/badinputs"
)

// loadCatalogue reads testdata/bad-inputs/cases.json.
func loadCatalogue(tb testing.TB) []badinputs.Case {
	tb.Helper()
	path, err := badinputs.FindModuleFile(badinputs.File)
	if err != nil {
		tb.Fatal(err)
	}
	cases, err := badinputs.Load(path)
	if err != nil {
		tb.Fatal(err)
	}
	return cases
}

// catalogueEnv is the environment the runner gives a case: its inputs on top
// of the base, a workspace with the case's symbolic links, and a push to main.
func catalogueEnv(t *testing.T, c badinputs.Case) func(string) string {
	t.Helper()
	ws, temp := t.TempDir(), t.TempDir()
	if err := c.Prepare(ws); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, d := range Definitions() {
		vars[EnvName(d.Name)] = d.Default
	}
	for k, v := range c.With() {
		vars[EnvName(k)] = v
	}
	for k, v := range map[string]string{
		"GITHUB_WORKSPACE": ws, "RUNNER_TEMP": temp, "GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main",
		"GITHUB_REF_NAME": "main", "GITHUB_REF_TYPE": "branch", "GITHUB_SHA": testSHA,
	} {
		vars[k] = v
	}
	for k, v := range c.EnvIn(ws) {
		vars[k] = v
	}
	return func(k string) string { return vars[k] }
}

// maxErrorBytes bounds one input's error message: a bad value is repeated
// shortened, never in full.
const maxErrorBytes = 2048

// TestBadInputCatalogue runs every case of the catalogue through Load: each
// must fail with an error naming the case's input, and no error may carry a
// line break, a control character or a long value from the input.
func TestBadInputCatalogue(t *testing.T) {
	cases := loadCatalogue(t)
	if len(cases) < 40 {
		t.Errorf("the catalogue has %d cases, want at least 40", len(cases))
	}
	declared := map[string]bool{}
	for _, d := range Definitions() {
		declared[d.Name] = true
	}
	named := map[string]bool{}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if !declared[c.Input] {
				t.Fatalf("the case names input %q, which is not declared", c.Input)
			}
			for _, k := range c.InputNames() {
				if !declared[k] {
					t.Fatalf("the case sets input %q, which is not declared", k)
				}
			}
			named[c.Input] = true
			cfg, err := Load(catalogueEnv(t, c))
			if err == nil {
				t.Fatalf("Load accepted the case: %+v", cfg)
			}
			var fe Errors
			if !errors.As(err, &fe) || len(fe) == 0 {
				t.Fatalf("Load error is not a non-empty config.Errors: %v", err)
			}
			found := false
			for _, f := range fe {
				if !declared[f.Input] {
					t.Errorf("error names undeclared input %q: %v", f.Input, f)
				}
				if f.Input == c.Input {
					found = true
				}
				checkMessage(t, f.Error())
			}
			if !found {
				t.Errorf("no error names %s; got:\n%v", c.Input, err)
			}
		})
	}
	// Every input that can be wrong is in the catalogue at least once.
	for _, d := range Definitions() {
		if !named[d.Name] {
			t.Errorf("no case names input %s", d.Name)
		}
	}
}

// checkMessage fails when an error message could break a log line or
// repeats a long value.
func checkMessage(t *testing.T, msg string) {
	t.Helper()
	if len(msg) > maxErrorBytes {
		t.Errorf("error is %d bytes, more than %d: %.200q…", len(msg), maxErrorBytes, msg)
	}
	for _, r := range msg {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\ufeff' {
			t.Errorf("error carries the raw character %U: %q", r, msg)
			return
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error has a line break: %q", msg)
	}
}
