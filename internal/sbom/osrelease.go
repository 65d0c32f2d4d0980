package sbom

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// OSRelease is what the image's os-release file says about its
// distribution.
type OSRelease struct {
	ID         string // "debian", "alpine", "ubuntu", "wolfi"
	VersionID  string // "12", "3.20.3"
	PrettyName string
}

// maxOSRelease bounds the os-release file; real ones are a few hundred bytes.
const maxOSRelease = 64 << 10

func parseOSRelease(r io.Reader) OSRelease {
	var o OSRelease
	sc := bufio.NewScanner(io.LimitReader(r, maxOSRelease))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		} else {
			v = strings.Trim(v, `'"`)
		}
		switch k {
		case "ID":
			o.ID = strings.ToLower(v)
		case "VERSION_ID":
			o.VersionID = v
		case "PRETTY_NAME":
			o.PrettyName = v
		}
	}
	return o
}
