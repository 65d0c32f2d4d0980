package report

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEnvironmentSecretsMaskedFirst: the secrets a credentials step and the
// runner leave in the environment are masked by New, before any other line.
func TestEnvironmentSecretsMaskedFirst(t *testing.T) {
	env := map[string]string{
		"AWS_SECRET_ACCESS_KEY":          "env-secret-key-0123456789",
		"AWS_SESSION_TOKEN":              "env-session-token-0123456789",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token-0123456789",
		"AWS_ACCESS_KEY_ID":              "AKIAPUBLICKEYID",
		"AWS_REGION":                     "eu-west-1",
	}
	w, buf := newTestWorkflow(env)
	w.Infof("region %s", env["AWS_REGION"])
	want := "::add-mask::env-secret-key-0123456789\n::add-mask::env-session-token-0123456789\n::add-mask::request-token-0123456789\nregion eu-west-1\n"
	if got := buf.String(); got != want {
		t.Errorf("log:\n%s\nwant:\n%s", got, want)
	}
}

// TestMaskedValuesNeverWritten: after Mask, no line, annotation, group
// title, output or summary the Workflow writes holds the value, raw or
// escaped as a URL or JSON would carry it.
func TestMaskedValuesNeverWritten(t *testing.T) {
	dir := t.TempDir()
	out, sum := filepath.Join(dir, "out"), filepath.Join(dir, "sum")
	for _, p := range []string{out, sum} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w, buf := newTestWorkflow(map[string]string{OutputVar: out, SummaryVar: sum})
	const secret = "s3cr+t/VALUE=with%chars"
	js, _ := json.Marshal(secret)
	escaped := []string{url.QueryEscape(secret), url.PathEscape(secret), string(js[1 : len(js)-1])}
	w.Mask(secret)
	w.Mask(secret) // once is enough: no second add-mask line
	all := secret + " | " + strings.Join(escaped, " | ")
	w.Infof("info %s", all)
	w.Infof("::looks like a command %s", all)
	w.Warning("title "+secret, "warning "+all)
	w.Error("title "+secret, "error "+all)
	w.Group("group " + secret)()
	if err := w.SetOutput("o", "output "+all); err != nil {
		t.Fatal(err)
	}
	if err := w.AppendSummary("summary " + all); err != nil {
		t.Fatal(err)
	}
	log := buf.String()
	mask, rest, _ := strings.Cut(log, "\n")
	if mask != "::add-mask::s3cr+t/VALUE=with%25chars" {
		t.Errorf("first line %q, want the mask", mask)
	}
	files := map[string]string{"log": rest}
	for name, p := range map[string]string{"outputs": out, "summary": sum} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = string(data)
	}
	for name, text := range files {
		// Every form holds "VALUE" (none escapes letters).
		if strings.Contains(text, "VALUE") {
			t.Errorf("%s holds the secret:\n%s", name, text)
		}
		if !strings.Contains(text, "***") {
			t.Errorf("%s lacks the *** that replaced the secret:\n%s", name, text)
		}
	}
}

// TestShortMaskedValuesAreNotRewritten: a value too short to be a real
// secret is masked for the runner but does not corrupt outputs.
func TestShortMaskedValuesAreNotRewritten(t *testing.T) {
	w, buf := newTestWorkflow(nil)
	w.Mask("east")
	w.Infof("us-east-1")
	if got, want := buf.String(), "::add-mask::east\nus-east-1\n"; got != want {
		t.Errorf("log %q, want %q", got, want)
	}
}
