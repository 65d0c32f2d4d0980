package safefile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRefusesWhatIsNotARegularFileInside(t *testing.T) {
	ws, outside := t.TempDir(), t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(syscall.Mkfifo(filepath.Join(ws, "fifo"), 0o644))
	must(os.WriteFile(filepath.Join(ws, "ok"), []byte("hello"), 0o644))
	must(os.WriteFile(filepath.Join(outside, "secret"), []byte("x"), 0o644))
	must(os.Symlink("/dev/zero", filepath.Join(ws, "zero")))
	must(os.Symlink(filepath.Join(outside, "secret"), filepath.Join(ws, "escape")))
	must(os.Symlink(outside, filepath.Join(ws, "dirlink")))
	must(os.Mkdir(filepath.Join(ws, "dir"), 0o755))
	must(os.WriteFile(filepath.Join(ws, "big"), nil, 0o644))
	must(os.Truncate(filepath.Join(ws, "big"), 1<<30))
	roots := []string{ws}

	for _, c := range []struct{ path, want string }{
		{"fifo", "named pipe (FIFO), not a regular file"},
		{"zero", `symbolic link to "/dev/zero", outside`},
		{"escape", "outside the allowed directory"},
		{"dirlink/secret", "outside the allowed directory"},
		{"dir", "is a directory, not a regular file"},
		{"missing", "does not exist"},
		{"big", "1073741824 bytes, more than the 16 bytes accepted"},
	} {
		done := make(chan error, 1)
		go func() {
			_, err := ReadFile(filepath.Join(ws, c.path), roots, 16)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("ReadFile(%s) = %v, want an error with %q", c.path, err, c.want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("ReadFile(%s) blocked", c.path)
		}
	}
	if _, err := ReadFile(filepath.Join(ws, "missing"), roots, 16); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file's error %v does not match fs.ErrNotExist", err)
	}
	if data, err := ReadFile(filepath.Join(ws, "ok"), roots, 16); err != nil || string(data) != "hello" {
		t.Errorf("ReadFile(ok) = %q, %v", data, err)
	}
	if _, err := ReadFile("/dev/zero", nil, 16); err == nil || !strings.Contains(err.Error(), "character device") {
		t.Errorf("ReadFile(/dev/zero) without roots = %v, want a character device error", err)
	}
	if _, err := Dir(filepath.Join(ws, "dirlink"), roots); err == nil {
		t.Errorf("Dir accepted a link to a directory outside the roots")
	}
	if _, err := Dir(filepath.Join(ws, "dir"), roots); err != nil {
		t.Errorf("Dir(dir) = %v", err)
	}
}
