package build

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// tarEntry is what a test compares of a layer entry; the fields every entry
// must share (time, owner) are checked by layerEntries itself.
type tarEntry struct {
	Name    string
	Type    byte
	Mode    int64
	Link    string
	Content string
}

// layerEntries validates l and lists its entries, failing t on any entry
// whose time is not the epoch or whose owner is not root without names.
func layerEntries(t *testing.T, l v1.Layer) []tarEntry {
	t.Helper()
	if err := validate.Layer(l); err != nil {
		t.Fatalf("validate: %v", err)
	}
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var out []tarEntry
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(epoch) || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: time %v, owner %d:%d (%q:%q); want the epoch and 0:0 without names", h.Name, h.ModTime, h.Uid, h.Gid, h.Uname, h.Gname)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tarEntry{Name: h.Name, Type: h.Typeflag, Mode: h.Mode, Link: h.Linkname, Content: string(b)})
	}
}

func dirEntry(name string) tarEntry { return tarEntry{Name: name, Type: tar.TypeDir, Mode: 0o755} }
func fileEntry(name, content string, mode int64) tarEntry {
	return tarEntry{Name: name, Type: tar.TypeReg, Mode: mode, Content: content}
}
func linkEntry(name, target string) tarEntry {
	return tarEntry{Name: name, Type: tar.TypeSymlink, Mode: 0o777, Link: target}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func TestLayerEntries(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string // for ws
		setup func(t *testing.T, dir string)
		file  File
		want  []tarEntry
	}{{
		name:  "file with its parent directories",
		files: map[string]string{"bin/app*": "#!app"},
		file:  File{"bin/app", "/usr/local/bin/app"},
		want:  []tarEntry{dirEntry("usr/"), dirEntry("usr/local/"), dirEntry("usr/local/bin/"), fileEntry("usr/local/bin/app", "#!app", 0o755)},
	}, {
		name:  "file into a directory",
		files: map[string]string{"conf/a.yaml": "a: 1"},
		file:  File{"conf/a.yaml", "/etc/app/"},
		want:  []tarEntry{dirEntry("etc/"), dirEntry("etc/app/"), fileEntry("etc/app/a.yaml", "a: 1", 0o644)},
	}, {
		name:  "file into the root",
		files: map[string]string{"a.txt": "a"},
		file:  File{"a.txt", "/"},
		want:  []tarEntry{fileEntry("a.txt", "a", 0o644)},
	}, {
		name:  "any execute bit makes 0755, other bits are dropped",
		files: map[string]string{"x": "x", "y": "y"},
		setup: func(t *testing.T, dir string) {
			os.Chmod(filepath.Join(dir, "x"), 0o701)
		},
		file: File{"x", "/x"},
		want: []tarEntry{fileEntry("x", "x", 0o755)},
	}, {
		name:  "read-only file is 0644",
		files: map[string]string{"ro": "r"},
		setup: func(t *testing.T, dir string) {
			os.Chmod(filepath.Join(dir, "ro"), 0o400)
		},
		file: File{"ro", "/ro"},
		want: []tarEntry{fileEntry("ro", "r", 0o644)},
	}, {
		name:  "a source that is a link keeps the name the files line gives",
		files: map[string]string{"v2/app*": "two"},
		setup: func(t *testing.T, dir string) {
			symlink(t, "v2/app", filepath.Join(dir, "current"))
		},
		file: File{"current", "/opt/"},
		want: []tarEntry{dirEntry("opt/"), fileEntry("opt/current", "two", 0o755)},
	}, {
		name:  "directory, entries sorted, empty directories kept",
		files: map[string]string{"site/index.html": "<h1>", "site/css/a.css": "a{}", "site/run.sh*": "echo", "site/B.txt": "b"},
		setup: func(t *testing.T, dir string) {
			os.Mkdir(filepath.Join(dir, "site", "empty"), 0o700)
		},
		file: File{"site", "/srv/www"},
		want: []tarEntry{
			dirEntry("srv/"), dirEntry("srv/www/"),
			fileEntry("srv/www/B.txt", "b", 0o644),
			dirEntry("srv/www/css/"), fileEntry("srv/www/css/a.css", "a{}", 0o644),
			dirEntry("srv/www/empty/"),
			fileEntry("srv/www/index.html", "<h1>", 0o644),
			fileEntry("srv/www/run.sh", "echo", 0o755),
		},
	}, {
		name:  "directory with a trailing slash is the same directory",
		files: map[string]string{"site/a": "a"},
		file:  File{"site", "/srv/"},
		want:  []tarEntry{dirEntry("srv/"), fileEntry("srv/a", "a", 0o644)},
	}, {
		name:  "directory into the root",
		files: map[string]string{"root/etc/motd": "hi"},
		file:  File{"root", "/"},
		want:  []tarEntry{dirEntry("etc/"), fileEntry("etc/motd", "hi", 0o644)},
	}, {
		name:  "links inside the tree stay links",
		files: map[string]string{"tree/real": "r", "tree/d/f": "f", "other/o": "o"},
		setup: func(t *testing.T, dir string) {
			symlink(t, "real", filepath.Join(dir, "tree", "alias"))
			symlink(t, "d", filepath.Join(dir, "tree", "dlink"))            // not followed
			symlink(t, "../other/o", filepath.Join(dir, "tree", "sibling")) // elsewhere in the workspace
			symlink(t, "later.txt", filepath.Join(dir, "tree", "dangling")) // dangling, but inside
		},
		file: File{"tree", "/t"},
		want: []tarEntry{
			dirEntry("t/"),
			linkEntry("t/alias", "real"),
			dirEntry("t/d/"), fileEntry("t/d/f", "f", 0o644),
			linkEntry("t/dangling", "later.txt"),
			linkEntry("t/dlink", "d"),
			fileEntry("t/real", "r", 0o644),
			linkEntry("t/sibling", "../other/o"),
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := ws(t, c.files)
			if c.setup != nil {
				c.setup(t, dir)
			}
			res, err := Build(context.Background(), Spec{Workspace: dir, TempDir: t.TempDir(), Epoch: epoch, Files: []File{c.file}})
			if err != nil {
				t.Fatal(err)
			}
			ls, err := res.Image.Layers()
			if err != nil {
				t.Fatal(err)
			}
			if len(ls) != 1 {
				t.Fatalf("%d layers, want 1", len(ls))
			}
			if diff := cmp.Diff(c.want, layerEntries(t, ls[0])); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLinksLeavingTheWorkspace(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		setup   func(t *testing.T, dir string)
		file    File
		wantErr string
	}{{
		name: "absolute target",
		setup: func(t *testing.T, dir string) {
			symlink(t, filepath.Join(dir, "tree", "ok"), filepath.Join(dir, "tree", "abs"))
		},
		file:    File{"tree", "/t"},
		wantErr: "absolute path",
	}, {
		name:    "relative target going up",
		setup:   func(t *testing.T, dir string) { symlink(t, "../../secret", filepath.Join(dir, "tree", "up")) },
		file:    File{"tree", "/t"},
		wantErr: "outside the workspace",
	}, {
		name: "target inside by name, outside through another link",
		setup: func(t *testing.T, dir string) {
			symlink(t, outside, filepath.Join(dir, "out"))
			symlink(t, "../out/secret", filepath.Join(dir, "tree", "via"))
		},
		file:    File{"tree", "/t"},
		wantErr: "resolves to " + filepath.Join(outside, "secret"),
	}, {
		name:    "source itself a link out",
		setup:   func(t *testing.T, dir string) { symlink(t, filepath.Join(outside, "secret"), filepath.Join(dir, "s")) },
		file:    File{"s", "/s"},
		wantErr: "outside the workspace",
	}, {
		name:    "source going up",
		file:    File{"../secret", "/s"},
		wantErr: "leaves the workspace",
	}, {
		name:    "absolute source",
		file:    File{filepath.Join(outside, "secret"), "/s"},
		wantErr: "must be relative to the workspace",
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := ws(t, map[string]string{"tree/ok": "ok"})
			if c.setup != nil {
				c.setup(t, dir)
			}
			tmp := t.TempDir()
			_, err := Build(context.Background(), Spec{Workspace: dir, TempDir: tmp, Epoch: epoch, Files: []File{c.file}})
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("error %v, want one saying %q", err, c.wantErr)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("a failed build left %d files in TempDir", len(left))
			}
		})
	}
}

func TestNoTempDir(t *testing.T) {
	_, err := Build(context.Background(), Spec{Workspace: ws(t, map[string]string{"a": "a"}), Epoch: epoch, Files: []File{{"a", "/a"}}})
	if err == nil || !strings.Contains(err.Error(), "no directory to write layers to") {
		t.Errorf("error %v, want one about TempDir", err)
	}
}
