package sbom

import (
	"bytes"
	"debug/buildinfo"
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReadGoBuildInfoStream checks the forward scan against
// debug/buildinfo wherever the blob falls relative to the scan window,
// after a decoy copy of the magic, and that files without build
// information give errNoBuildInfo.
func TestReadGoBuildInfoStream(t *testing.T) {
	path := testGoProgram(t)
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	decoy := append([]byte(buildInfoMagic), 8, 2, 5, 'h', 'e', 'l', 'l', 'o')
	for _, pad := range []int{0, 1, 13, scanWindow - 20, scanWindow - 7, scanWindow + 3} {
		for _, withDecoy := range []bool{false, true} {
			in := bytes.Repeat([]byte{0x90}, pad)
			if withDecoy {
				in = append(decoy, in...)
			}
			in = append(in, body...)
			got, err := readGoBuildInfo(bytes.NewReader(in))
			if err != nil {
				t.Fatalf("pad %d decoy %v: %v", pad, withDecoy, err)
			}
			if d := cmp.Diff(want.String(), got.String()); d != "" {
				t.Errorf("pad %d decoy %v: build info (-debug/buildinfo +scan):\n%s", pad, withDecoy, d)
			}
		}
	}
	for name, in := range map[string][]byte{
		"empty":            nil,
		"magic only":       []byte(buildInfoMagic),
		"header only":      append([]byte(buildInfoMagic), make([]byte, 18)...),
		"pre-1.18 pointer": append(append([]byte(buildInfoMagic), 8, 0), make([]byte, 64)...),
		"not go":           bytes.Repeat([]byte("\x7fELF not a go program "), 50000),
	} {
		if _, err := readGoBuildInfo(bytes.NewReader(in)); !errors.Is(err, errNoBuildInfo) {
			t.Errorf("%s: err = %v, want errNoBuildInfo", name, err)
		}
	}
}

func FuzzReadGoBuildInfo(f *testing.F) {
	f.Add([]byte(buildInfoMagic + "\x08\x02" + string(make([]byte, 16)) + "\x08go1.26.8\x00"))
	f.Add(append([]byte(buildInfoMagic), 4, 2))
	f.Fuzz(func(t *testing.T, b []byte) {
		bi, err := readGoBuildInfo(bytes.NewReader(b))
		if err == nil && bi == nil {
			t.Fatal("nil build info without an error")
		}
	})
}

func FuzzParseDpkg(f *testing.F) {
	f.Add([]byte("Package: a\nVersion: 1\n\nPackage: b\nStatus: install ok installed\nVersion: 2\nSource: c (3)\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pkgs, err := parseDpkg(bytes.NewReader(b), "db")
		if err != nil {
			return
		}
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" {
				t.Fatalf("package without name or version: %+v", p)
			}
		}
	})
}

func FuzzParseApk(f *testing.F) {
	f.Add([]byte("P:a\nV:1\nA:x86_64\n\nP:b\nV:2\no:c\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pkgs, err := parseApk(bytes.NewReader(b), "db")
		if err != nil {
			return
		}
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" {
				t.Fatalf("package without name or version: %+v", p)
			}
		}
	})
}

func TestPurlEscape(t *testing.T) {
	for in, want := range map[string]string{
		"1:1.2.13.dfsg-1":      "1%3A1.2.13.dfsg-1",
		"libstdc++6":           "libstdc%2B%2B6",
		"3.0.15-1~deb12u1":     "3.0.15-1~deb12u1",
		"(devel)":              "%28devel%29",
		"a b/c?d#e@f&g=h%":     "a%20b%2Fc%3Fd%23e%40f%26g%3Dh%25",
		"v0.0.0-2024_ok.Azx-9": "v0.0.0-2024_ok.Azx-9",
	} {
		if got := purlEscape(in); got != want {
			t.Errorf("purlEscape(%q) = %q, want %q", in, got, want)
		}
	}
	if got, want := golangPurl("github.com/google/go-cmp", "v0.7.0"), "pkg:golang/github.com/google/go-cmp@v0.7.0"; got != want {
		t.Errorf("golangPurl = %q, want %q", got, want)
	}
	if got, want := golangPurl("std", ""), "pkg:golang/std"; got != want {
		t.Errorf("golangPurl = %q, want %q", got, want)
	}
}
