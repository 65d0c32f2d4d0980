package sbom

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Package types, the purl types they map to.
const (
	TypeDeb = "deb"
	TypeApk = "apk"
)

// Package is one OS package found in a package database.
type Package struct {
	Type          string // TypeDeb or TypeApk
	Name          string
	Version       string
	Arch          string
	Source        string // source package (dpkg Source, apk origin), when it differs or is given
	SourceVersion string // dpkg only, when the source version differs
	License       string // as the database declares it (apk), not an SPDX expression
	Database      string // the file it was read from, without a leading slash
}

// Inventory is what Scan found in the image's merged file system.
type Inventory struct {
	OS         OSRelease
	Packages   []Package  // sorted by type, name, version, arch, database
	GoBinaries []GoBinary // sorted by path
}

// Limits bound what Scan reads.
type Limits struct {
	// MaxDatabaseSize bounds one package database file (dpkg status, a
	// status.d file, apk installed). Zero means DefaultMaxDatabaseSize.
	MaxDatabaseSize int64
}

// DefaultMaxDatabaseSize is 64 MiB: a Debian image with every package of a
// desktop installed has a status file of a few MiB.
const DefaultMaxDatabaseSize = 64 << 20

const (
	dpkgStatus    = "var/lib/dpkg/status"
	dpkgStatusDir = "var/lib/dpkg/status.d/"
	apkInstalled  = "lib/apk/db/installed"
	osReleaseEtc  = "etc/os-release"
	osReleaseUsr  = "usr/lib/os-release"

	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
)

// found is what one path of the merged file system contributed. err is
// set when the file is one Scan reads but could not: it fails the scan
// only if no upper layer deletes or replaces the file.
type found struct {
	pkgs []Package
	bin  *GoBinary
	os   *OSRelease
	err  error
}

// Scan reads each layer once, bottom to top, and returns what the merged
// file system holds. Whiteouts and opaque directories of a layer remove
// what lower layers contributed; an entry of a layer that is not a
// directory replaces whatever lower layers had at that path and beneath
// it. Only what was found is kept in memory, never the file list.
func Scan(ctx context.Context, layers []v1.Layer, lim Limits) (*Inventory, error) {
	if lim.MaxDatabaseSize <= 0 {
		lim.MaxDatabaseSize = DefaultMaxDatabaseSize
	}
	state := map[string]found{}
	for i, l := range layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		d, err := l.Digest()
		if err != nil {
			return nil, fmt.Errorf("reading layer %d's digest: %w", i+1, err)
		}
		added, err := scanLayer(ctx, l, state, lim)
		if err != nil {
			return nil, fmt.Errorf("reading layer %d (%s): %w", i+1, d, err)
		}
		for p, f := range added {
			if f.err != nil {
				f.err = fmt.Errorf("layer %d (%s): %s: %w", i+1, d, p, f.err)
			}
			state[p] = f
		}
	}
	var errs []error
	for _, p := range slices.Sorted(maps.Keys(state)) {
		if err := state[p].err; err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return inventory(state), nil
}

// scanLayer reads one layer. It removes from lower (what the layers below
// contributed) what this layer deletes or replaces, and returns what this
// layer adds.
func scanLayer(ctx context.Context, l v1.Layer, lower map[string]found, lim Limits) (map[string]found, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	tr := tar.NewReader(ctxReader{ctx, rc})
	added := map[string]found{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return added, nil
		}
		if err != nil {
			return nil, err
		}
		p := cleanPath(hdr.Name)
		if p == "" {
			continue
		}
		dir, base := path.Split(p)
		if base == opaqueMarker {
			removeUnder(lower, strings.TrimSuffix(dir, "/"), false)
			continue
		}
		if strings.HasPrefix(base, whiteoutPrefix) {
			removeUnder(lower, dir+strings.TrimPrefix(base, whiteoutPrefix), true)
			continue
		}
		if hdr.Typeflag == tar.TypeDir {
			continue // directories merge
		}
		removeUnder(lower, p, true)
		delete(added, p)                 // a later entry for the same path wins
		if hdr.Typeflag != tar.TypeReg { // archive/tar reads the old TypeRegA as TypeReg
			continue
		}
		f, ok, err := readEntry(p, hdr, tr, lim)
		if err != nil {
			// The layer's stream failed, not the file's content.
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if ok {
			added[p] = f
		}
	}
}

// readEntry reads a regular file if it is one Scan looks at. A file it
// cannot make sense of is returned with found.err set; the error return is
// for a failing stream.
func readEntry(p string, hdr *tar.Header, r io.Reader, lim Limits) (found, bool, error) {
	dbParse := func(parse func(io.Reader, string) ([]Package, error)) (found, bool, error) {
		if hdr.Size > lim.MaxDatabaseSize {
			return found{err: fmt.Errorf("the package database is %d bytes, over the %d-byte limit", hdr.Size, lim.MaxDatabaseSize)}, true, nil
		}
		cr := &streamReader{r: io.LimitReader(r, lim.MaxDatabaseSize)}
		pkgs, err := parse(cr, p)
		if err != nil {
			if cr.err != nil {
				return found{}, false, cr.err
			}
			return found{err: err}, true, nil
		}
		return found{pkgs: pkgs}, true, nil
	}
	switch {
	case p == dpkgStatus:
		return dbParse(parseDpkg)
	case strings.HasPrefix(p, dpkgStatusDir) && !strings.Contains(p[len(dpkgStatusDir):], "/") && !strings.HasSuffix(p, ".md5sums"):
		return dbParse(parseDpkg)
	case p == apkInstalled:
		return dbParse(parseApk)
	case p == osReleaseEtc || p == osReleaseUsr:
		o := parseOSRelease(r)
		return found{os: &o}, true, nil
	}
	if hdr.Size < buildInfoHeaderSize {
		return found{}, false, nil
	}
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return found{}, false, err
	}
	if !isELF(head[:]) {
		return found{}, false, nil
	}
	cr := &streamReader{r: r}
	bi, err := readGoBuildInfo(cr)
	if errors.Is(err, errNoBuildInfo) {
		return found{}, false, cr.err
	}
	if err != nil {
		if cr.err != nil {
			return found{}, false, cr.err
		}
		return found{err: fmt.Errorf("reading Go build information: %w", err)}, true, nil
	}
	g := goBinary(p, bi)
	return found{bin: &g}, true, nil
}

// removeUnder deletes what lower layers contributed at p (when self) and
// beneath it. p "" is the root.
func removeUnder(m map[string]found, p string, self bool) {
	if self {
		delete(m, p)
	}
	prefix := p + "/"
	if p == "" {
		prefix = ""
	}
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			delete(m, k)
		}
	}
}

// cleanPath makes a tar entry name a path relative to the root, without
// "./" or a leading or trailing slash; "" for the root itself or a name
// that climbs out of it.
func cleanPath(name string) string {
	p := path.Clean("/" + name)
	if p == "/" {
		return ""
	}
	return p[1:]
}

func inventory(state map[string]found) *Inventory {
	inv := &Inventory{}
	if f, ok := state[osReleaseEtc]; ok {
		inv.OS = *f.os
	} else if f, ok := state[osReleaseUsr]; ok {
		inv.OS = *f.os
	}
	for _, f := range state {
		inv.Packages = append(inv.Packages, f.pkgs...)
		if f.bin != nil {
			inv.GoBinaries = append(inv.GoBinaries, *f.bin)
		}
	}
	sort.Slice(inv.Packages, func(i, j int) bool {
		a, b := inv.Packages[i], inv.Packages[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		if a.Arch != b.Arch {
			return a.Arch < b.Arch
		}
		return a.Database < b.Database
	})
	sort.Slice(inv.GoBinaries, func(i, j int) bool { return inv.GoBinaries[i].Path < inv.GoBinaries[j].Path })
	return inv
}

// streamReader remembers the error of the stream under a parser, so a
// failing layer is told apart from a file the parser rejects.
type streamReader struct {
	r   io.Reader
	err error
}

func (c *streamReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// ctxReader ends a read of a layer when the context is done, so a cancel
// stops even a long file within one read.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
