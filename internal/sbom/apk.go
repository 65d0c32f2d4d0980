package sbom

import (
	"fmt"
	"io"
)

var apkKeep = map[string]bool{"P": true, "V": true, "A": true, "o": true, "L": true}

// parseApk reads lib/apk/db/installed: one stanza per installed package,
// P: name, V: version, A: architecture, o: origin (source package),
// L: licence as the package declares it. A stanza with other fields (file
// lists, checksums) but no P or V is an error.
func parseApk(r io.Reader, db string) ([]Package, error) {
	var pkgs []Package
	n := 0
	err := readStanzas(r, apkField, apkKeep, func(f map[string]string) error {
		n++
		if f["P"] == "" || f["V"] == "" {
			return fmt.Errorf("stanza %d has no P: (name) or no V: (version) line", n)
		}
		pkgs = append(pkgs, Package{
			Type:     TypeApk,
			Name:     f["P"],
			Version:  f["V"],
			Arch:     f["A"],
			Source:   f["o"],
			License:  f["L"],
			Database: db,
		})
		return nil
	})
	return pkgs, err
}
