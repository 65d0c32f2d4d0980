package sbom

import (
	"fmt"
	"io"
	"strings"
)

var dpkgKeep = map[string]bool{"package": true, "version": true, "architecture": true, "status": true, "source": true}

// parseDpkg reads a dpkg status file (or one file of status.d) and returns
// its installed packages. A stanza without a Status field counts as
// installed (status.d files carry none); with one, only "install ok
// installed" (the third word "installed") counts. A stanza missing Package
// or Version is an error: the file is not a dpkg database.
func parseDpkg(r io.Reader, db string) ([]Package, error) {
	var pkgs []Package
	n := 0
	err := readStanzas(r, deb822Field, dpkgKeep, func(f map[string]string) error {
		n++
		if st, ok := f["status"]; ok {
			words := strings.Fields(st)
			if len(words) != 3 || words[2] != "installed" {
				return nil
			}
		}
		if f["package"] == "" || f["version"] == "" {
			return fmt.Errorf("stanza %d has no Package or no Version field", n)
		}
		p := Package{
			Type:     TypeDeb,
			Name:     f["package"],
			Version:  f["version"],
			Arch:     f["architecture"],
			Database: db,
		}
		// "Source: name" or "Source: name (version)" when the source
		// version differs from the binary's.
		if src := f["source"]; src != "" {
			name, ver, _ := strings.Cut(src, " ")
			p.Source = name
			p.SourceVersion = strings.Trim(strings.TrimSpace(ver), "()")
		}
		pkgs = append(pkgs, p)
		return nil
	})
	return pkgs, err
}
