// Package safefile opens the files the action reads from a workspace it does
// not trust (a pull request's files): each path is resolved through its
// symbolic links without opening anything, must land inside one of the
// allowed roots (GITHUB_WORKSPACE, RUNNER_TEMP), and must be a regular file
// (or a directory where one is expected) before it is opened. A named pipe,
// a device or a socket is never opened, so it can neither block the process
// in open(2) nor feed it an endless stream; reads are bounded in size.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Error is a path the action refuses to read, and why.
type Error struct {
	Path    string // as given
	Problem string // e.g. "is a named pipe (FIFO), not a regular file"
	Err     error  // the underlying error, if any
}

func (e *Error) Error() string { return strconv.Quote(e.Path) + " " + e.Problem }
func (e *Error) Unwrap() error { return e.Err }

// TooLargeError is a file larger than the bound its reader sets.
type TooLargeError struct {
	Path      string
	Size, Max int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%q is %d bytes, more than the %d bytes accepted", e.Path, e.Size, e.Max)
}

// Resolve returns path with every symbolic link resolved (filepath.EvalSymlinks
// reads links with lstat and readlink and opens nothing), and refuses it when
// the result is outside every root. With no roots, any place is accepted.
func Resolve(path string, roots []string) (string, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", &Error{Path: path, Problem: "does not exist", Err: err}
		}
		return "", &Error{Path: path, Problem: "cannot be resolved: " + describeErr(err), Err: err}
	}
	if len(roots) == 0 {
		return real, nil
	}
	if Within(roots, real) {
		return real, nil
	}
	if real != filepath.Clean(path) {
		return "", &Error{Path: path, Problem: fmt.Sprintf("resolves through a symbolic link to %s, outside %s", strconv.Quote(real), rootsText(roots))}
	}
	return "", &Error{Path: path, Problem: "is outside " + rootsText(roots)}
}

// Within reports whether the resolved path p lies in one of roots (each
// resolved through its symbolic links first).
func Within(roots []string, p string) bool {
	for _, r := range roots {
		if r == "" {
			continue
		}
		if rr, err := filepath.EvalSymlinks(r); err == nil {
			r = rr
		}
		rel, err := filepath.Rel(r, p)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel) {
			return true
		}
	}
	return false
}

func rootsText(roots []string) string {
	var names []string
	for _, r := range roots {
		if r != "" {
			names = append(names, strconv.Quote(r))
		}
	}
	if len(names) == 1 {
		return "the allowed directory " + names[0]
	}
	return "the allowed directories " + strings.Join(names, " and ")
}

// Kind names a file mode for an error message.
func Kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "not a regular file"
}

// Stat resolves path inside roots and returns the resolved path and its
// file information, without opening it.
func Stat(path string, roots []string) (string, fs.FileInfo, error) {
	real, err := Resolve(path, roots)
	if err != nil {
		return "", nil, err
	}
	fi, err := os.Lstat(real)
	if err != nil {
		return "", nil, &Error{Path: path, Problem: "cannot be read: " + describeErr(err), Err: err}
	}
	return real, fi, nil
}

// Dir checks that path is a directory inside roots and returns it resolved.
func Dir(path string, roots []string) (string, error) {
	real, fi, err := Stat(path, roots)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", &Error{Path: path, Problem: "is " + Kind(fi.Mode()) + ", not a directory"}
	}
	return real, nil
}

// Regular checks that path is a regular file inside roots, without opening
// it, and returns it resolved with its information.
func Regular(path string, roots []string) (string, fs.FileInfo, error) {
	real, fi, err := Stat(path, roots)
	if err != nil {
		return "", nil, err
	}
	if !fi.Mode().IsRegular() {
		return "", nil, &Error{Path: path, Problem: "is " + Kind(fi.Mode()) + ", not a regular file"}
	}
	return real, fi, nil
}

// Open opens a regular file inside roots. The checks come before open(2);
// the file is then opened without following a link in its last component
// and without blocking (in case something other than a regular file took
// its place in between), and checked again through the open descriptor.
func Open(path string, roots []string) (*os.File, fs.FileInfo, error) {
	real, before, err := Regular(path, roots)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(real, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, &Error{Path: path, Problem: "cannot be opened: " + describeErr(err), Err: err}
	}
	after, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, &Error{Path: path, Problem: "cannot be read: " + describeErr(err), Err: err}
	}
	if !after.Mode().IsRegular() || !os.SameFile(before, after) {
		f.Close()
		return nil, nil, &Error{Path: path, Problem: "was replaced while it was being opened"}
	}
	return f, after, nil
}

// ReadFile reads a regular file inside roots of at most max bytes. The size
// is checked before reading, and the read goes through a limit too (a file
// may grow, or report no size, as /proc files do).
func ReadFile(path string, roots []string, max int64) ([]byte, error) {
	f, fi, err := Open(path, roots)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi.Size() > max {
		return nil, &TooLargeError{Path: path, Size: fi.Size(), Max: max}
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, &Error{Path: path, Problem: "cannot be read: " + describeErr(err), Err: err}
	}
	if int64(len(data)) > max {
		return nil, &TooLargeError{Path: path, Size: int64(len(data)), Max: max}
	}
	return data, nil
}

// describeErr is err without the path an *fs.PathError repeats.
func describeErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err.Error()
	}
	return err.Error()
}
