package sbom

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if goBinPath != "" && goBinErr == nil {
		os.RemoveAll(filepath.Dir(goBinPath))
	}
	os.Exit(code)
}

var (
	amd64   = v1.Platform{OS: "linux", Architecture: "amd64"}
	created = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	opts    = Options{Created: created, Tool: "ecr-action-v0.0.0-test"}
)

func scan(t *testing.T, img v1.Image) *Inventory {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	inv, err := Scan(context.Background(), ls, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// purls lists the purls of the inventory's OS packages.
func purls(inv *Inventory) []string {
	var out []string
	for _, p := range inv.Packages {
		out = append(out, osPurl(p, inv.OS))
	}
	return out
}

func TestDebianPackagesMatchDatabase(t *testing.T) {
	img := imageOf(t,
		layerOf(t, dir("etc"), file("etc/os-release", []byte(debianOSRelease)), dir("var/lib/dpkg"), file("var/lib/dpkg/status", readTestdata(t, "dpkg-status"))),
	)
	inv := scan(t, img)
	want := []Package{
		{Type: "deb", Name: "base-files", Version: "12.4+deb12u8", Arch: "amd64", Database: dpkgStatus},
		{Type: "deb", Name: "libc6", Version: "2.36-9+deb12u9", Arch: "amd64", Source: "glibc", Database: dpkgStatus},
		{Type: "deb", Name: "libssl3", Version: "3.0.15-1~deb12u1", Arch: "amd64", Source: "openssl", Database: dpkgStatus},
		{Type: "deb", Name: "libstdc++6", Version: "12.2.0-14+deb12u1", Arch: "amd64", Source: "gcc-12", SourceVersion: "12.2.0-14+deb12u1", Database: dpkgStatus},
		// tzdata is "deinstall ok config-files": not installed.
		{Type: "deb", Name: "zlib1g", Version: "1:1.2.13.dfsg-1", Arch: "amd64", Source: "zlib", Database: dpkgStatus},
	}
	if d := cmp.Diff(want, inv.Packages); d != "" {
		t.Errorf("packages (-want +got):\n%s", d)
	}
	wantPurls := []string{
		"pkg:deb/debian/base-files@12.4%2Bdeb12u8?arch=amd64&distro=debian-12",
		"pkg:deb/debian/libc6@2.36-9%2Bdeb12u9?arch=amd64&distro=debian-12&upstream=glibc",
		"pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64&distro=debian-12&upstream=openssl",
		"pkg:deb/debian/libstdc%2B%2B6@12.2.0-14%2Bdeb12u1?arch=amd64&distro=debian-12&upstream=gcc-12%4012.2.0-14%2Bdeb12u1",
		"pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12&upstream=zlib",
	}
	if d := cmp.Diff(wantPurls, purls(inv)); d != "" {
		t.Errorf("purls (-want +got):\n%s", d)
	}
	if inv.OS.ID != "debian" || inv.OS.VersionID != "12" {
		t.Errorf("os-release = %+v, want debian 12", inv.OS)
	}
}

func TestDistrolessStatusD(t *testing.T) {
	stanza := func(name, version, source string) []byte {
		s := "Package: " + name + "\nVersion: " + version + "\nArchitecture: arm64\n"
		if source != "" {
			s += "Source: " + source + "\n"
		}
		return []byte(s)
	}
	img := imageOf(t, layerOf(t,
		dir("var/lib/dpkg/status.d"),
		file("var/lib/dpkg/status.d/base-files", stanza("base-files", "12.4+deb12u8", "")),
		file("var/lib/dpkg/status.d/libc6", stanza("libc6", "2.36-9+deb12u9", "glibc")),
		file("var/lib/dpkg/status.d/libc6.md5sums", []byte("0123456789abcdef0123456789abcdef  lib/aarch64-linux-gnu/libc.so.6\n")),
		file("var/lib/dpkg/status.d/nested/ignored", stanza("ignored", "1", "")),
		file("usr/lib/os-release", []byte(debianOSRelease)),
		symlink("etc/os-release", "../usr/lib/os-release"),
	))
	inv := scan(t, img)
	want := []string{
		"pkg:deb/debian/base-files@12.4%2Bdeb12u8?arch=arm64&distro=debian-12",
		"pkg:deb/debian/libc6@2.36-9%2Bdeb12u9?arch=arm64&distro=debian-12&upstream=glibc",
	}
	if d := cmp.Diff(want, purls(inv)); d != "" {
		t.Errorf("purls (-want +got):\n%s", d)
	}
}

func TestAlpinePackagesMatchDatabase(t *testing.T) {
	img := imageOf(t, layerOf(t,
		file("etc/os-release", []byte(alpineOSRelease)),
		file("lib/apk/db/installed", readTestdata(t, "apk-installed")),
	))
	inv := scan(t, img)
	want := []Package{
		{Type: "apk", Name: "alpine-baselayout-data", Version: "3.6.5-r0", Arch: "x86_64", Source: "alpine-baselayout", License: "GPL-2.0-only", Database: apkInstalled},
		{Type: "apk", Name: "busybox", Version: "1.36.1-r29", Arch: "x86_64", Source: "busybox", License: "GPL-2.0-only", Database: apkInstalled},
		{Type: "apk", Name: "libcrypto3", Version: "3.3.2-r0", Arch: "x86_64", Source: "openssl", License: "Apache-2.0", Database: apkInstalled},
		{Type: "apk", Name: "musl", Version: "1.2.5-r0", Arch: "x86_64", Source: "musl", License: "MIT", Database: apkInstalled},
	}
	if d := cmp.Diff(want, inv.Packages); d != "" {
		t.Errorf("packages (-want +got):\n%s", d)
	}
	wantPurls := []string{
		"pkg:apk/alpine/alpine-baselayout-data@3.6.5-r0?arch=x86_64&distro=alpine-3.20.3&upstream=alpine-baselayout",
		"pkg:apk/alpine/busybox@1.36.1-r29?arch=x86_64&distro=alpine-3.20.3",
		"pkg:apk/alpine/libcrypto3@3.3.2-r0?arch=x86_64&distro=alpine-3.20.3&upstream=openssl",
		"pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3",
	}
	if d := cmp.Diff(wantPurls, purls(inv)); d != "" {
		t.Errorf("purls (-want +got):\n%s", d)
	}
}

// TestLayersMerge checks that what an upper layer deletes or replaces is
// not reported.
func TestLayersMerge(t *testing.T) {
	status := func(names ...string) []byte {
		var b strings.Builder
		for _, n := range names {
			b.WriteString("Package: " + n + "\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n\n")
		}
		return []byte(b.String())
	}
	base := func() v1.Layer {
		return layerOf(t, dir("var"), dir("var/lib"), dir("var/lib/dpkg"), file("var/lib/dpkg/status", status("a", "b")),
			file("lib/apk/db/installed", []byte("P:musl\nV:1.2.5-r0\nA:x86_64\n")))
	}
	tests := []struct {
		name  string
		upper []entry
		want  []string // package names
	}{
		{"no upper layer", nil, []string{"a", "b", "musl"}},
		{"whiteout of the status file", []entry{whiteout("var/lib/dpkg/status")}, []string{"musl"}},
		{"whiteout of a parent directory", []entry{whiteout("var/lib")}, []string{"musl"}},
		{"opaque directory with a new status", []entry{opaque("var/lib/dpkg"), file("var/lib/dpkg/status", status("c"))}, []string{"c", "musl"}},
		{"opaque directory, new status listed first", []entry{file("var/lib/dpkg/status", status("c")), opaque("var/lib/dpkg")}, []string{"c", "musl"}},
		{"replaced status file", []entry{file("var/lib/dpkg/status", status("a", "b", "d"))}, []string{"a", "b", "d", "musl"}},
		{"directory replaced by a symlink", []entry{symlink("var/lib/dpkg", "/opt/dpkg")}, []string{"musl"}},
		{"opaque root of apk", []entry{opaque("lib")}, []string{"a", "b"}},
		{"unrelated whiteout", []entry{whiteout("var/lib/dpkg/status-old")}, []string{"a", "b", "musl"}},
		{"whiteout of a sibling with a common prefix", []entry{whiteout("var/li")}, []string{"a", "b", "musl"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			layers := []v1.Layer{base()}
			if tt.upper != nil {
				layers = append(layers, layerOf(t, tt.upper...))
			}
			inv := scan(t, imageOf(t, layers...))
			var got []string
			for _, p := range inv.Packages {
				got = append(got, p.Name)
			}
			sort.Strings(got)
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("packages (-want +got):\n%s", d)
			}
		})
	}
}

func TestGoBinaryModules(t *testing.T) {
	bin := testGoProgram(t)
	body, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	want, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	fakeELF := append([]byte("\x7fELF\x02\x01\x01"), bytes.Repeat([]byte{0}, 4096)...)
	img := imageOf(t,
		layerOf(t, file("usr/local/bin/app", body), file("usr/lib/libfake.so", fakeELF), file("usr/bin/gone", body), file("etc/motd", []byte("hello\n"))),
		layerOf(t, whiteout("usr/bin/gone")),
	)
	inv := scan(t, img)
	if len(inv.GoBinaries) != 1 {
		t.Fatalf("found %d Go binaries, want 1 (usr/local/bin/app): %+v", len(inv.GoBinaries), inv.GoBinaries)
	}
	g := inv.GoBinaries[0]
	if g.Path != "usr/local/bin/app" || g.GoVersion != want.GoVersion || g.Main.Path != want.Main.Path || g.Main.Version != want.Main.Version {
		t.Errorf("binary = %s %s %s@%s, want usr/local/bin/app %s %s@%s", g.Path, g.GoVersion, g.Main.Path, g.Main.Version, want.GoVersion, want.Main.Path, want.Main.Version)
	}
	// The stream scan must agree with debug/buildinfo.Read, module by module.
	if d := cmp.Diff(goBinary(g.Path, want), g); d != "" {
		t.Errorf("modules (-debug/buildinfo +scan):\n%s", d)
	}
	gotPaths := map[string]string{}
	for _, m := range g.Deps {
		gotPaths[m.Path] = m.Version
	}
	if len(gotPaths) != 2 || gotPaths["github.com/google/go-cmp"] != "v0.7.0" || gotPaths["example.com/greeting"] != "v1.2.3" {
		t.Errorf("modules = %v, want go-cmp v0.7.0 and the replaced example.com/greeting v1.2.3", gotPaths)
	}

	out, _, err := Generate(context.Background(), img, amd64, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"pkg:golang/github.com/google/go-cmp@v0.7.0"`, `"pkg:golang/example.com/hello@%28devel%29"`, `"pkg:golang/example.com/greeting@v1.2.3"`} {
		if !bytes.Contains(out, []byte(s)) {
			t.Errorf("document lacks %s", s)
		}
	}
}

func TestErrorsNameTheFile(t *testing.T) {
	tests := []struct {
		name  string
		layer []entry
		lim   Limits
		want  []string
	}{
		{"database over the limit", []entry{file("var/lib/dpkg/status", readTestdata(t, "dpkg-status"))}, Limits{MaxDatabaseSize: 1000}, []string{"layer 1", "var/lib/dpkg/status", "over the 1000-byte limit"}},
		{"dpkg stanza without version", []entry{file("var/lib/dpkg/status", []byte("Package: a\nStatus: install ok installed\n"))}, Limits{}, []string{"var/lib/dpkg/status", "stanza 1 has no Package or no Version"}},
		{"apk stanza without name", []entry{file("lib/apk/db/installed", []byte("P:a\nV:1\n\nV:2\nA:x86_64\n"))}, Limits{}, []string{"lib/apk/db/installed", "stanza 2 has no P:"}},
		{"line too long", []entry{file("lib/apk/db/installed", append([]byte("P:a\nT:"), bytes.Repeat([]byte("x"), maxLine+10)...))}, Limits{}, []string{"lib/apk/db/installed", "line 2 is longer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls, _ := imageOf(t, layerOf(t, tt.layer...)).Layers()
			_, err := Scan(context.Background(), ls, tt.lim)
			if err == nil {
				t.Fatal("Scan succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestDeletedBadDatabaseIsNoError: a database the scan cannot read fails
// it only if it is still in the merged file system.
func TestDeletedBadDatabaseIsNoError(t *testing.T) {
	ls, _ := imageOf(t,
		layerOf(t, file("var/lib/dpkg/status", readTestdata(t, "dpkg-status")), file("lib/apk/db/installed", []byte("V:1.0\nA:x86_64\n"))),
		layerOf(t, whiteout("var/lib/dpkg/status"), whiteout("lib/apk/db/installed")),
	).Layers()
	inv, err := Scan(context.Background(), ls, Limits{MaxDatabaseSize: 1000})
	if err != nil {
		t.Fatalf("Scan = %v, want no error: both files are deleted", err)
	}
	if len(inv.Packages) != 0 {
		t.Errorf("packages = %+v, want none", inv.Packages)
	}
	if _, err := Scan(context.Background(), ls[:1], Limits{MaxDatabaseSize: 1000}); err == nil ||
		!strings.Contains(err.Error(), "var/lib/dpkg/status") || !strings.Contains(err.Error(), "lib/apk/db/installed") {
		t.Errorf("Scan of the lower layer alone = %v, want errors naming both files", err)
	}
}

// TestCancelMidLayer cancels while a large file is being read: the scan
// stops at the next read instead of reading the layer to its end.
func TestCancelMidLayer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const size = 256 << 20
	l := &streamLayer{open: func() io.ReadCloser {
		pr, pw := io.Pipe()
		go func() {
			tw := tar.NewWriter(pw)
			err := tw.WriteHeader(&tar.Header{Name: "big", Typeflag: tar.TypeReg, Mode: 0o644, Size: size})
			block := append([]byte("\x7fELF"), make([]byte, 1<<20-4)...)
			for w := 0; err == nil && w < size; w += len(block) {
				_, err = tw.Write(block)
			}
			if err == nil {
				err = tw.Close()
			}
			pw.CloseWithError(err)
		}()
		return pr
	}}
	l.cancelAt, l.cancel = 8<<20, cancel
	_, err := Scan(ctx, []v1.Layer{l}, Limits{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Scan = %v, want context.Canceled", err)
	}
	if l.read < 8<<20 || l.read > 16<<20 {
		t.Errorf("read %d MiB with a cancel at 8 MiB, want the scan to stop within a read or two", l.read>>20)
	}
}

// streamLayer is a v1.Layer over a stream opened on demand; it counts
// what is read and cancels after cancelAt bytes.
type streamLayer struct {
	open     func() io.ReadCloser
	read     int64
	cancelAt int64
	cancel   context.CancelFunc
}

func (l *streamLayer) Digest() (v1.Hash, error) {
	return v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("0", 64)}, nil
}
func (l *streamLayer) DiffID() (v1.Hash, error)            { return l.Digest() }
func (l *streamLayer) Compressed() (io.ReadCloser, error)  { return l.Uncompressed() }
func (l *streamLayer) Size() (int64, error)                { return -1, nil }
func (l *streamLayer) MediaType() (types.MediaType, error) { return types.OCIUncompressedLayer, nil }
func (l *streamLayer) Uncompressed() (io.ReadCloser, error) {
	rc := l.open()
	return &readCloser{Reader: readerFunc(func(p []byte) (int, error) {
		n, err := rc.Read(p)
		l.read += int64(n)
		if l.cancel != nil && l.read >= l.cancelAt {
			l.cancel()
		}
		return n, err
	}), c: rc}, nil
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

type readCloser struct {
	io.Reader
	c io.Closer
}

func (r *readCloser) Close() error { return r.c.Close() }

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ls, _ := imageOf(t, layerOf(t, file("var/lib/dpkg/status", readTestdata(t, "dpkg-status")))).Layers()
	if _, err := Scan(ctx, ls, Limits{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Scan after cancel = %v, want context.Canceled", err)
	}
}

func TestDeterministic(t *testing.T) {
	mk := func() v1.Image {
		return imageOf(t,
			layerOf(t, file("etc/os-release", []byte(debianOSRelease)), file("var/lib/dpkg/status", readTestdata(t, "dpkg-status"))),
			layerOf(t, file("lib/apk/db/installed", readTestdata(t, "apk-installed"))),
		)
	}
	a, _, err := Generate(context.Background(), mk(), amd64, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := Generate(context.Background(), mk(), amd64, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatalf("two runs differ:\n%s", cmp.Diff(string(a), string(b)))
	}
	var doc Document
	if err := json.Unmarshal(a, &doc); err != nil {
		t.Fatal(err)
	}
	dg, _ := mk().Digest()
	if want := "https://spdx.org/spdxdocs/ecr-action/ecr-action-v0.0.0-test/sha256-" + dg.Hex; doc.DocumentNamespace != want {
		t.Errorf("namespace = %q, want %q", doc.DocumentNamespace, want)
	}
	if doc.CreationInfo.Created != "2026-11-30T12:00:00Z" {
		t.Errorf("created = %q", doc.CreationInfo.Created)
	}
	if doc.Packages[0].VersionInfo != dg.String() || doc.Packages[0].PrimaryPackagePurpose != "CONTAINER" {
		t.Errorf("described package = %+v, want the image %s", doc.Packages[0], dg)
	}
	withRepo := opts
	withRepo.Repository = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app"
	r, _, err := Generate(context.Background(), mk(), v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, withRepo)
	if err != nil {
		t.Fatal(err)
	}
	var rdoc Document
	if err := json.Unmarshal(r, &rdoc); err != nil {
		t.Fatal(err)
	}
	if got, want := rdoc.Packages[0].ExternalRefs[0].ReferenceLocator, "pkg:oci/app@sha256%3A"+dg.Hex+"?arch=arm64&os=linux&repository_url=123456789012.dkr.ecr.eu-west-1.amazonaws.com%2Fteam%2Fapp&variant=v8"; got != want {
		t.Errorf("image purl = %q, want %q", got, want)
	}
	if got, want := rdoc.Name, withRepo.Repository+"@"+dg.String()+" linux/arm64/v8"; got != want {
		t.Errorf("document name = %q, want %q", got, want)
	}
	if !strings.Contains(doc.Packages[0].Comment, "linux/amd64") {
		t.Errorf("described package comment %q lacks the platform", doc.Packages[0].Comment)
	}
	ids := map[string]bool{}
	for _, p := range doc.Packages {
		if ids[p.SPDXID] {
			t.Errorf("SPDXID %s repeats", p.SPDXID)
		}
		ids[p.SPDXID] = true
	}
	for _, r := range doc.Relationships {
		if r.SPDXElementID != "SPDXRef-DOCUMENT" && !ids[r.SPDXElementID] || !ids[r.RelatedSPDXElement] {
			t.Errorf("relationship %+v names an unknown element", r)
		}
	}
	// 1 image + 5 deb + 4 apk packages.
	if len(doc.Packages) != 10 {
		t.Errorf("document has %d packages, want 10", len(doc.Packages))
	}
	// A different platform of the same content is a different document
	// only through the platform; a different time only through created.
	c, _, _ := Generate(context.Background(), mk(), amd64, Options{Created: created.Add(time.Hour), Tool: opts.Tool})
	if bytes.Equal(a, c) {
		t.Error("a different creation time gave the same bytes")
	}
}

func TestBuildRejectsMissingOptions(t *testing.T) {
	dg := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("a", 64)}
	for name, o := range map[string]Options{
		"no created": {Tool: "t"},
		"no tool":    {Created: created},
	} {
		if _, err := Build(&Inventory{}, Image{Digest: dg}, o); err == nil {
			t.Errorf("%s: Build succeeded", name)
		}
	}
	if _, err := Build(&Inventory{}, Image{Digest: v1.Hash{Algorithm: "sha512", Hex: "ab"}}, opts); err == nil {
		t.Error("Build accepted a non-sha256 digest")
	}
}
