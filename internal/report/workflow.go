// Package report is the only package that talks to the GitHub Actions runner:
// log lines, groups, annotations, masks, step outputs and the job summary.
//
// It is built on go-githubactions but never lets that library panic or exit:
// file-command variables are checked before use and write errors on the log
// stream are remembered (see Err) instead of panicking.
//
// The runner's rules it follows (actions/runner ActionCommand.cs,
// ActionCommandManager.cs, FileCommandManager.cs):
//   - the runner reads stdout and stderr line by line, where CR, LF and CRLF
//     all end a line;
//   - a line is a command when, after leading white space is trimmed, it starts
//     with "::" and has a second "::" ("::name props::data"), or when it
//     contains "##[name props]data" anywhere; names are case-insensitive;
//   - "::stop-commands::TOKEN" makes the runner ignore every command until a
//     line "::TOKEN::" arrives;
//   - data escapes %, CR and LF; properties also escape ':' and ',';
//   - the output file is parsed line by line (LF), "name<<DELIM" starts a value
//     that ends at the first line equal to DELIM.
//
// Secrets: a Workflow masks the secrets the environment hands the step before
// it writes anything else, and everything it writes afterwards (log lines,
// debug lines, annotations, group titles, outputs, the summary) has every
// value given to Mask replaced by "***", also URL- and JSON-escaped forms of
// it. The runner's masking hides values in the log only; this keeps them out
// of the files and out of the raw stream as well, whatever an error message
// from an SDK or a registry repeats.
package report

import (
	"cmp"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/sethvargo/go-githubactions"
)

// Limits the runner applies (see the package documentation).
const (
	// SummaryLimit is the largest step summary file the runner accepts; a
	// larger one is dropped whole.
	SummaryLimit = 1 << 20
	// AnnotationLimit is how many annotations of one type the runner keeps
	// per step. Further warnings and errors are written as plain log lines.
	AnnotationLimit = 10
)

// Workflow writes workflow commands to one stream (the step log) and file
// commands to the files the runner names in the environment. It is safe for
// concurrent use; each call writes whole lines.
type Workflow struct {
	getenv func(string) string
	out    *stickyWriter
	gha    *githubactions.Action

	mu          sync.Mutex
	annotations map[string]int
	masked      map[string]bool // every line given to Mask
	redactions  []string        // the masked values and their escaped forms, longest first
}

// secretEnvVars returns the variables that hold secrets the runner or an
// earlier step hands the step: the AWS credentials a credentials step leaves
// (both spellings the SDK reads, and the legacy session token name) and the
// runner's tokens.
func secretEnvVars() []string {
	return []string{
		"AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN", "ACTIONS_RUNTIME_TOKEN",
	}
}

// minRedacted is the shortest masked value redact rewrites. A shorter one is
// still masked, so the runner hides it in the log, but rewriting every "abc"
// in outputs and the summary would corrupt them; real secrets (AWS keys,
// session and OIDC tokens, registry passwords) are far longer.
const minRedacted = 8

// New returns a Workflow that writes log lines and commands to out and finds
// the file-command files through getenv (os.Getenv when nil). Before
// returning it masks the secrets in the environment (AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN, ACTIONS_ID_TOKEN_REQUEST_TOKEN and the like), so that
// their ::add-mask:: lines are the first lines of the step.
func New(out io.Writer, getenv func(string) string) *Workflow {
	if getenv == nil {
		getenv = os.Getenv
	}
	sw := &stickyWriter{w: out}
	w := &Workflow{
		getenv: getenv,
		out:    sw,
		gha: githubactions.New(
			githubactions.WithWriter(sw),
			githubactions.WithGetenv(githubactions.GetenvFunc(getenv)),
		),
		annotations: map[string]int{},
		masked:      map[string]bool{},
	}
	for _, name := range secretEnvVars() {
		w.Mask(getenv(name))
	}
	return w
}

// Err returns the first error met while writing to the log stream, if any.
// Logging methods have no error result so that a broken stdout cannot stop
// the action half-way; main may report Err at the end.
func (w *Workflow) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.err
}

// Group starts a collapsible group in the log. Call the returned function to
// end it; calling it more than once ends the group once.
func (w *Workflow) Group(title string) (end func()) {
	w.mu.Lock()
	w.gha.Group(w.redact(title))
	w.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			w.mu.Lock()
			w.gha.EndGroup()
			w.mu.Unlock()
		})
	}
}

// Infof writes a plain log line (or several, when the text has line breaks).
// Text that the runner would read as a workflow command is not executed: it
// is written between a stop-commands marker and its random resume token.
func (w *Workflow) Infof(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.plain(w.redact(fmt.Sprintf(format, args...)))
}

// Warning writes a warning annotation. After AnnotationLimit warnings the
// runner would drop further ones, so they become plain log lines instead.
func (w *Workflow) Warning(title, message string) {
	w.annotate("warning", title, message)
}

// Error writes an error annotation. After AnnotationLimit errors the runner
// would drop further ones, so they become plain log lines instead.
func (w *Workflow) Error(title, message string) {
	w.annotate("error", title, message)
}

func (w *Workflow) annotate(kind, title, message string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	title, message = w.redact(title), w.redact(message)
	w.annotations[kind]++
	if w.annotations[kind] > AnnotationLimit {
		label := strings.ToUpper(kind[:1]) + kind[1:]
		if title != "" {
			w.plain(fmt.Sprintf("%s: %s: %s", label, title, message))
		} else {
			w.plain(fmt.Sprintf("%s: %s", label, message))
		}
		return
	}
	cmd := &githubactions.Command{Name: kind, Message: message}
	if title != "" {
		cmd.Properties = githubactions.CommandProperties{"title": title}
	}
	w.gha.IssueCommand(cmd)
}

// Mask asks the runner to hide secret in every later log line, and removes
// it from everything the Workflow writes later (see the package
// documentation). The runner masks line by line, so each line of a
// multi-line secret is masked on its own. Empty and blank lines are skipped
// (the runner rejects them), and so is a line masked before.
func (w *Workflow) Mask(secret string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	added := false
	for _, line := range splitLines(secret) {
		if strings.TrimSpace(line) == "" || w.masked[line] {
			continue
		}
		w.masked[line] = true
		w.gha.AddMask(line)
		if len(line) < minRedacted {
			continue
		}
		js, _ := json.Marshal(line) // a string always marshals
		for _, form := range []string{line, url.QueryEscape(line), url.PathEscape(line), string(js[1 : len(js)-1])} {
			if !slices.Contains(w.redactions, form) {
				w.redactions = append(w.redactions, form)
				added = true
			}
		}
	}
	if added {
		// Longest first, so that a value containing another is replaced whole.
		slices.SortStableFunc(w.redactions, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	}
}

// redact returns s with every masked value, and its URL- and JSON-escaped
// forms, replaced by "***". The caller holds w.mu.
func (w *Workflow) redact(s string) string {
	for _, v := range w.redactions {
		s = strings.ReplaceAll(s, v, "***")
	}
	return s
}

// plain writes text as log lines; the caller holds w.mu.
func (w *Workflow) plain(text string) {
	if !looksLikeCommand(text) {
		w.gha.Infof("%s", text)
		return
	}
	token := randomToken(text)
	w.gha.Infof("::stop-commands::%s", token)
	w.gha.Infof("%s", text)
	w.gha.Infof("::%s::", token)
}

// looksLikeCommand reports whether any line of text could be parsed by the
// runner as a command (ActionCommand.TryParseV2 and TryParse). It errs on the
// side of yes: a false yes only costs two marker lines in the log.
func looksLikeCommand(text string) bool {
	for _, line := range splitLines(text) {
		if strings.HasPrefix(strings.TrimLeftFunc(line, isDotNetSpace), "::") ||
			strings.Contains(line, "##[") {
			return true
		}
	}
	return false
}

// isDotNetSpace is a superset of .NET's char.IsWhiteSpace, which the runner's
// TrimStart uses.
func isDotNetSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) || r == 0xfeff
}

// splitLines splits s where the runner's line reader would: CRLF, CR, LF.
func splitLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Split(s, "\n")
}

// randomToken returns a random token that does not occur in text. crypto/rand
// never fails (Go 1.24+); 128 random bits are found in text only by design,
// so the loop ends at once in practice.
func randomToken(text string) string {
	for {
		token := "ecr-action-" + rand.Text()
		if !strings.Contains(text, token) {
			return token
		}
	}
}

// stickyWriter never fails: it remembers the first write error and drops
// later writes, so that go-githubactions (which panics on a failed write)
// cannot panic.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return len(p), nil
	}
	if _, err := s.w.Write(p); err != nil {
		s.err = fmt.Errorf("writing to the step log: %w", err)
	}
	return len(p), nil
}
