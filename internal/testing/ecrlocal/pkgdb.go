package ecrlocal

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// The OS package databases the scanner reads from an image's file system.
const (
	dpkgStatus    = "var/lib/dpkg/status"
	dpkgStatusDir = "var/lib/dpkg/status.d" // one file per package (distroless)
	apkInstalled  = "lib/apk/db/installed"
)

// maxDBFile bounds how much of one package database file is kept in memory.
const maxDBFile = 64 << 20

// pkg is one installed OS package.
type pkg struct {
	name, version string
	manager       string // "OS" for dpkg and apk, as Inspector reports OS packages
}

// wanted reports whether a normalized path is a package database file.
func wanted(p string) bool {
	if p == dpkgStatus || p == apkInstalled {
		return true
	}
	dir, file := path.Split(p)
	return dir == dpkgStatusDir+"/" && file != "" && !strings.HasSuffix(file, ".md5sums")
}

// cleanPath turns a tar entry name into a path relative to the root:
// "./var/lib/x", "/var/lib/x" and "var/lib/x/" are all "var/lib/x".
func cleanPath(name string) string {
	p := path.Clean("/" + name)
	return strings.TrimPrefix(p, "/")
}

// within reports whether p is dir or below it ("" is the root, which holds
// everything).
func within(p, dir string) bool {
	return dir == "" || p == dir || strings.HasPrefix(p, dir+"/")
}

// fileSystem is the part of an image's file system the scanner cares about:
// package database files by path, after applying the layers in order.
type fileSystem map[string][]byte

// applyLayer applies one layer (a tar stream, possibly compressed) on top of
// fs, honouring AUFS/OCI whiteouts: ".wh.<name>" removes <name> from the
// layers below, ".wh..wh..opq" empties its directory of what the layers
// below put there. Entries of the layer itself are never hidden by its own
// whiteouts.
func (fs fileSystem) applyLayer(r io.Reader) error {
	tr, closeFn, err := openLayer(r)
	if err != nil {
		return err
	}
	defer closeFn()
	added := map[string][]byte{}
	var removed, opaque []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading the layer's tar: %w", err)
		}
		p := cleanPath(h.Name)
		dir, base := path.Split(p)
		dir = strings.TrimSuffix(dir, "/")
		switch {
		case base == ".wh..wh..opq":
			opaque = append(opaque, dir)
			continue
		case strings.HasPrefix(base, ".wh."):
			removed = append(removed, path.Join(dir, strings.TrimPrefix(base, ".wh.")))
			continue
		}
		switch h.Typeflag {
		case tar.TypeDir:
			continue
		case tar.TypeReg, '\x00': // '\x00' is the pre-POSIX regular file flag
		default:
			// A link or device over a database path hides what was there.
			if wanted(p) {
				removed = append(removed, p)
			}
			continue
		}
		if !wanted(p) {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, maxDBFile+1))
		if err != nil {
			return fmt.Errorf("reading %s from the layer: %w", p, err)
		}
		if len(data) > maxDBFile {
			return fmt.Errorf("%s in the layer is larger than %d bytes", p, maxDBFile)
		}
		added[p] = data
	}
	for p := range fs {
		for _, d := range opaque {
			if p != d && within(p, d) {
				delete(fs, p)
			}
		}
		for _, d := range removed {
			if within(p, d) {
				delete(fs, p)
			}
		}
	}
	for p, data := range added {
		fs[p] = data
	}
	return nil
}

// openLayer detects the layer's compression by its magic bytes: gzip
// (1f 8b), zstd (28 b5 2f fd), or else an uncompressed tar.
func openLayer(r io.Reader) (*tar.Reader, func(), error) {
	br := bufio.NewReader(r)
	magic, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("reading the layer: %w", err)
	}
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("opening the gzip layer: %w", err)
		}
		return tar.NewReader(zr), func() { _ = zr.Close() }, nil
	case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, nil, fmt.Errorf("opening the zstd layer: %w", err)
		}
		return tar.NewReader(zr), zr.Close, nil
	default:
		return tar.NewReader(br), func() {}, nil
	}
}

// packages lists the installed packages the databases in fs record, sorted
// by name and version.
func (fs fileSystem) packages() []pkg {
	var out []pkg
	paths := make([]string, 0, len(fs))
	for p := range fs {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		if p == apkInstalled {
			out = append(out, parseAPK(fs[p])...)
		} else {
			out = append(out, parseDpkg(fs[p])...)
		}
	}
	slices.SortFunc(out, func(a, b pkg) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return strings.Compare(a.version, b.version)
	})
	return slices.CompactFunc(out, func(a, b pkg) bool { return a.name == b.name && a.version == b.version })
}

// parseDpkg reads dpkg status paragraphs: Package and Version, and when a
// Status field is present, its last word must be "installed" (so
// "deinstall ok config-files" and "install ok half-installed" do not count).
// Files under status.d/ usually have no Status and count as installed.
func parseDpkg(data []byte) []pkg {
	var out []pkg
	var name, ver, status string
	var hasStatus bool
	flush := func() {
		installed := !hasStatus
		if hasStatus {
			f := strings.Fields(status)
			installed = len(f) > 0 && f[len(f)-1] == "installed"
		}
		if name != "" && ver != "" && installed {
			out = append(out, pkg{name: name, version: ver, manager: "OS"})
		}
		name, ver, status, hasStatus = "", "", "", false
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue // continuation of a multi-line field
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Package":
			name = v
		case "Version":
			ver = v
		case "Status":
			status, hasStatus = v, true
		}
	}
	flush()
	return out
}

// parseAPK reads apk's installed database: blank-line separated records with
// "P:" (name) and "V:" (version) lines.
func parseAPK(data []byte) []pkg {
	var out []pkg
	var name, ver string
	flush := func() {
		if name != "" && ver != "" {
			out = append(out, pkg{name: name, version: ver, manager: "OS"})
		}
		name, ver = "", ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case strings.HasPrefix(line, "P:"):
			name = strings.TrimSpace(line[2:])
		case strings.HasPrefix(line, "V:"):
			ver = strings.TrimSpace(line[2:])
		}
	}
	flush()
	return out
}
