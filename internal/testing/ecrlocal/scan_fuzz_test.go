package ecrlocal

import (
	"bytes"
	"testing"
)

// FuzzCompareVersions: the order is antisymmetric and every version equals
// itself, whatever the input.
func FuzzCompareVersions(f *testing.F) {
	for _, s := range [][2]string{{"1:1.2.13.dfsg-1", "1.3"}, {"1.0~rc1", "1.0"}, {"1.36.1-r15", "1.36.1-r16"}, {":", "-"}, {"", "0"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if c := compareVersions(a, a); c != 0 {
			t.Fatalf("compareVersions(%q, itself) = %d", a, c)
		}
		if x, y := compareVersions(a, b), compareVersions(b, a); x != -y {
			t.Fatalf("compareVersions(%q, %q) = %d but the reverse is %d", a, b, x, y)
		}
	})
}

// FuzzPackageDatabases: any layer bytes and any database text are read or
// refused without a panic.
func FuzzPackageDatabases(f *testing.F) {
	f.Add([]byte("Package: a\nVersion: 1\nStatus: install ok installed\n\nP:b\nV:2\n"))
	f.Add([]byte{0x1f, 0x8b, 0x08, 0x00})
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = parseDpkg(data)
		_ = parseAPK(data)
		fs := fileSystem{}
		_ = fs.applyLayer(bytes.NewReader(data))
		_ = fs.packages()
	})
}
