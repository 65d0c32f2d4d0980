package report

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"
)

func newTestWorkflow(env map[string]string) (*Workflow, *bytes.Buffer) {
	var buf bytes.Buffer
	return New(&buf, func(k string) string { return env[k] }), &buf
}

func TestCommandLines(t *testing.T) {
	tests := []struct {
		name string
		do   func(w *Workflow)
		want string
	}{
		{
			name: "group",
			do: func(w *Workflow) {
				end := w.Group("Reconcile repository")
				w.Infof("reading %s", "app")
				end()
				end()
			},
			want: "::group::Reconcile repository\nreading app\n::endgroup::\n",
		},
		{
			name: "info several lines",
			do:   func(w *Workflow) { w.Infof("a\nb %d%%", 5) },
			want: "a\nb 5%\n",
		},
		{
			name: "warning with title",
			do:   func(w *Workflow) { w.Warning("Encryption drift", "wanted KMS, found AES256") },
			want: "::warning title=Encryption drift::wanted KMS, found AES256\n",
		},
		{
			name: "error title escapes colon and comma",
			do:   func(w *Workflow) { w.Error("input: a, b", "bad\r\nvalue 50%") },
			want: "::error title=input%3A a%2C b::bad%0D%0Avalue 50%25\n",
		},
		{
			name: "error without title",
			do:   func(w *Workflow) { w.Error("", "boom") },
			want: "::error::boom\n",
		},
		{
			name: "mask each line of a multi-line secret",
			do:   func(w *Workflow) { w.Mask("line1\r\nline2\n\n  \nline%3") },
			want: "::add-mask::line1\n::add-mask::line2\n::add-mask::line%253\n",
		},
		{
			name: "mask empty secret writes nothing",
			do:   func(w *Workflow) { w.Mask("") },
			want: "",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, buf := newTestWorkflow(nil)
			tc.do(w)
			if diff := cmp.Diff(tc.want, buf.String()); diff != "" {
				t.Errorf("log mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMaskedValuesReachRunner(t *testing.T) {
	w, buf := newTestWorkflow(nil)
	secret := "first%0Aline\nsecond:line,x"
	w.Mask(secret)
	var got []string
	for _, c := range runnerExecute(t, buf.String()) {
		if c.Name != "add-mask" {
			t.Errorf("got command %q, want only add-mask", c.Name)
		}
		got = append(got, c.Data)
	}
	want := []string{"first%0Aline", "second:line,x"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("masks the runner registers (-want +got):\n%s", diff)
	}
}

// hostile values a repository name, tag, policy or error text could carry.
var hostile = []string{
	"x\n::set-output name=repository_url::evil",
	"x\r::add-mask::everything",
	"x\r\n   ::error title=fake::fake error",
	"x\n\t::stop-commands::abc\n::set-env name=A::b\n::abc::",
	"x ##[set-output name=a]b",
	"x\n##[add-mask]y",
	"::warning::at the start",
	"\u00a0::debug::after a no-break space",
	"x\n::ENDGROUP::",
	"%0A::set-output name=a::b",
}

func TestHostileValuesAreNotExecuted(t *testing.T) {
	for i, v := range hostile {
		t.Run(fmt.Sprintf("value %d", i), func(t *testing.T) {
			t.Run("Infof", func(t *testing.T) {
				w, buf := newTestWorkflow(nil)
				w.Infof("repository %s ready", v)
				if got := runnerExecute(t, buf.String()); len(got) != 0 {
					t.Errorf("runner would execute %+v from log:\n%s", got, buf.String())
				}
				if !strings.Contains(buf.String(), v) {
					t.Errorf("log %q does not contain the value %q unchanged", buf.String(), v)
				}
			})
			for _, kind := range []string{"warning", "error"} {
				t.Run(kind, func(t *testing.T) {
					w, buf := newTestWorkflow(nil)
					if kind == "warning" {
						w.Warning(v, v)
					} else {
						w.Error(v, v)
					}
					got := runnerExecute(t, buf.String())
					want := []runnerCommand{{Name: kind, Props: map[string]string{"title": v}, Data: v}}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("runner commands (-want +got):\n%s\nlog:\n%s", diff, buf.String())
					}
				})
			}
			t.Run("Group", func(t *testing.T) {
				w, buf := newTestWorkflow(nil)
				w.Group(v)()
				got := runnerExecute(t, buf.String())
				want := []runnerCommand{
					{Name: "group", Props: map[string]string{}, Data: v},
					{Name: "endgroup", Props: map[string]string{}},
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("runner commands (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestAnnotationLimit(t *testing.T) {
	w, buf := newTestWorkflow(nil)
	for i := range AnnotationLimit + 2 {
		w.Warning("T", fmt.Sprintf("w%d", i))
	}
	w.Error("E", "still an annotation")

	var warnings, errs int
	for _, c := range runnerExecute(t, buf.String()) {
		switch c.Name {
		case "warning":
			warnings++
		case "error":
			errs++
		}
	}
	if warnings != AnnotationLimit || errs != 1 {
		t.Errorf("got %d warnings and %d errors as annotations, want %d and 1", warnings, errs, AnnotationLimit)
	}
	for _, line := range []string{"Warning: T: w10\n", "Warning: T: w11\n"} {
		if !strings.Contains(buf.String(), line) {
			t.Errorf("log lacks the plain line %q for a warning past the limit:\n%s", line, buf.String())
		}
	}
}

type failingWriter struct{ calls int }

func (f *failingWriter) Write(p []byte) (int, error) {
	f.calls++
	return 0, errors.New("broken pipe")
}

func TestBrokenLogStreamDoesNotPanic(t *testing.T) {
	fw := &failingWriter{}
	w := New(fw, func(string) string { return "" })
	w.Infof("hello")
	w.Warning("t", "m")
	w.Mask("s")
	w.Group("g")()
	if err := w.Err(); err == nil || !strings.Contains(err.Error(), "broken pipe") {
		t.Errorf("Err() = %v, want the first write error", err)
	}
	if fw.calls != 1 {
		t.Errorf("writer called %d times, want 1 (later writes dropped)", fw.calls)
	}
}

func FuzzLogNeverExecutes(f *testing.F) {
	for _, v := range hostile {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		w, buf := newTestWorkflow(nil)
		w.Infof("%s", v)
		w.Warning(v, v)
		got := runnerExecute(t, buf.String())
		want := []runnerCommand{{Name: "warning", Props: map[string]string{}, Data: v}}
		// The runner trims the properties text, so a title's trailing white
		// space is lost (and an all-blank title dropped): cosmetic, not a
		// command.
		// CR and LF are escaped before the runner trims, so they stay.
		trimmed := func(r rune) bool { return unicode.IsSpace(r) && r != '\r' && r != '\n' }
		if title := strings.TrimRightFunc(v, trimmed); title != "" {
			want[0].Props["title"] = title
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("runner commands (-want +got):\n%s\nlog:\n%q", diff, buf.String())
		}
	})
}
