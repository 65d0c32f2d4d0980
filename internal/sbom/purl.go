package sbom

import (
	"fmt"
	"sort"
	"strings"
)

// purl builds a package URL (github.com/package-url/purl-spec):
// pkg:type/namespace/name@version?qualifiers, each part percent-encoded,
// qualifiers sorted by key and empty ones left out.
func purl(typ, namespace, name, version string, qualifiers map[string]string) string {
	var b strings.Builder
	b.WriteString("pkg:" + typ + "/")
	if namespace != "" {
		segs := strings.Split(namespace, "/")
		for i, s := range segs {
			segs[i] = purlEscape(s)
		}
		b.WriteString(strings.Join(segs, "/") + "/")
	}
	b.WriteString(purlEscape(name))
	if version != "" {
		b.WriteString("@" + purlEscape(version))
	}
	keys := make([]string, 0, len(qualifiers))
	for k, v := range qualifiers {
		if v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(k + "=" + purlEscape(qualifiers[k]))
	}
	return b.String()
}

// purlEscape percent-encodes everything but unreserved characters
// (RFC 3986: ALPHA DIGIT - . _ ~).
func purlEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// osPurl is pkg:deb/<distro>/name@version?arch=..&distro=<id>-<version>
// (and upstream= for the source package), or pkg:apk/... the same way.
// The namespace is the os-release ID; without one, "debian" for dpkg and
// "alpine" for apk.
func osPurl(p Package, os OSRelease) string {
	ns := os.ID
	if ns == "" {
		if p.Type == TypeDeb {
			ns = "debian"
		} else {
			ns = "alpine"
		}
	}
	q := map[string]string{"arch": p.Arch}
	if os.ID != "" && os.VersionID != "" {
		q["distro"] = os.ID + "-" + os.VersionID
	}
	if p.Source != "" && p.Source != p.Name {
		up := p.Source
		if p.SourceVersion != "" {
			up += "@" + p.SourceVersion
		}
		q["upstream"] = up
	}
	return purl(p.Type, ns, p.Name, p.Version, q)
}

// golangPurl is pkg:golang/<module path>@<version>; the path's last
// element is the name, the rest the namespace.
func golangPurl(modPath, version string) string {
	ns, name := "", modPath
	if i := strings.LastIndexByte(modPath, '/'); i >= 0 {
		ns, name = modPath[:i], modPath[i+1:]
	}
	return purl("golang", ns, name, version, nil)
}

// ociPurl is pkg:oci/<name>@sha256:<hex>?arch=..&repository_url=..
func ociPurl(img Image, name string) string {
	short := name
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		short = name[i+1:]
	}
	q := map[string]string{"arch": img.Platform.Architecture, "os": img.Platform.OS, "variant": img.Platform.Variant}
	if img.Repository != "" {
		q["repository_url"] = img.Repository
	}
	return purl("oci", "", short, img.Digest.String(), q)
}
