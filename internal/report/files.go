package report

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/sethvargo/go-githubactions"
)

// File-command variables the runner sets for a step.
const (
	OutputVar  = "GITHUB_OUTPUT"
	SummaryVar = "GITHUB_STEP_SUMMARY"
)

// ErrNotSet is wrapped by a FileCommandError when the runner did not set the
// variable (the binary runs outside a workflow step, or the runner is too old).
var ErrNotSet = errors.New("variable not set")

// FileCommandError reports that a file command could not be written.
type FileCommandError struct {
	Variable string // GITHUB_OUTPUT or GITHUB_STEP_SUMMARY
	Path     string // the file named by Variable, "" when unset
	Err      error
}

func (e *FileCommandError) Error() string {
	if errors.Is(e.Err, ErrNotSet) {
		return fmt.Sprintf("%s is not set: run the action as a workflow step, or set %s to a writable file", e.Variable, e.Variable)
	}
	return fmt.Sprintf("writing %s file %q: %v", e.Variable, e.Path, e.Err)
}

func (e *FileCommandError) Unwrap() error { return e.Err }

// OutputNameError reports an output name the runner could not parse back.
type OutputNameError struct {
	Name string
}

func (e *OutputNameError) Error() string {
	return fmt.Sprintf("output name %q is not valid: it must be non-empty and contain no '=', '<<', CR or LF", e.Name)
}

// SummaryTooLargeError reports that appending would take the step summary
// past SummaryLimit, after which the runner would drop the whole summary.
// Nothing was written.
type SummaryTooLargeError struct {
	Existing, Adding int64
}

func (e *SummaryTooLargeError) Error() string {
	return fmt.Sprintf("step summary would grow to %d bytes (%d present, %d to add), over the runner's limit of %d bytes: nothing was added",
		e.Existing+e.Adding, e.Existing, e.Adding, SummaryLimit)
}

// SetOutput sets the step output name to value. It uses the runner's
// "name<<DELIM" form with a random delimiter that does not occur in value, so
// any value (several lines, '=' or delimiter-like text) is read back exactly.
func (w *Workflow) SetOutput(name, value string) error {
	if name == "" || strings.ContainsAny(name, "=\r\n") || strings.Contains(name, "<<") {
		return &OutputNameError{Name: name}
	}
	delim := "ghadelimiter_" + rand.Text()
	for strings.Contains(value, delim) || strings.Contains(name, delim) {
		delim = "ghadelimiter_" + rand.Text()
	}
	msg := name + "<<" + delim + githubactions.EOF + value + githubactions.EOF + delim
	if err := w.fileCommand(OutputVar, "output", msg); err != nil {
		return fmt.Errorf("setting output %q: %w", name, err)
	}
	return nil
}

// AppendSummary appends markdown (and a line break) to the job summary. It
// writes nothing and returns a *SummaryTooLargeError when the file would pass
// SummaryLimit.
func (w *Workflow) AppendSummary(markdown string) error {
	path := w.getenv(SummaryVar)
	if path != "" {
		var existing int64
		if fi, err := os.Stat(path); err == nil {
			existing = fi.Size()
		}
		adding := int64(len(markdown) + len(githubactions.EOF))
		if existing+adding > SummaryLimit {
			return &SummaryTooLargeError{Existing: existing, Adding: adding}
		}
	}
	if err := w.fileCommand(SummaryVar, "step-summary", markdown); err != nil {
		return fmt.Errorf("appending to the job summary: %w", err)
	}
	return nil
}

// fileCommand appends msg through go-githubactions after checking that the
// file can be opened the way the library opens it, so the library's panic on
// failure cannot happen. A panic that still slips through (the file vanishing
// between the check and the write) is returned as an error.
func (w *Workflow) fileCommand(variable, name, msg string) (err error) {
	path := w.getenv(variable)
	if path == "" {
		return &FileCommandError{Variable: variable, Err: ErrNotSet}
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return &FileCommandError{Variable: variable, Path: path, Err: err}
	}
	if err := f.Close(); err != nil {
		return &FileCommandError{Variable: variable, Path: path, Err: err}
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	msg = w.redact(msg) // no masked value reaches a file (see Mask)
	defer func() {
		if r := recover(); r != nil {
			cause, ok := r.(error)
			if !ok {
				cause = fmt.Errorf("%v", r)
			}
			err = &FileCommandError{Variable: variable, Path: path, Err: cause}
		}
	}()
	w.gha.IssueFileCommand(&githubactions.Command{Name: name, Message: msg})
	return nil
}
