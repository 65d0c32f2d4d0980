// Package sbom reads an image's layers once and writes an SPDX 2.3 JSON
// document of what they hold.
//
// What is read, in the image's merged file system (layers applied bottom to
// top, honouring whiteouts `.wh.NAME` and opaque directories
// `.wh..wh..opq`, so a database or binary deleted or replaced in an upper
// layer is not reported):
//
//   - Debian packages: var/lib/dpkg/status (stanzas whose Status is
//     "install ok installed") and every file in var/lib/dpkg/status.d/ (one
//     stanza set per file, as distroless images ship them; *.md5sums files
//     are skipped).
//   - Alpine packages: lib/apk/db/installed.
//   - Go executables: the module list in the build information of every
//     regular ELF file (Go 1.18 or newer: the inline format).
//   - etc/os-release or usr/lib/os-release, for the purl's namespace and
//     distro qualifier.
//
// What is not read, and so not in the document: rpm databases (Red Hat,
// Fedora, Amazon Linux, SUSE), other package managers' manifests (npm, pip,
// gem, jar, cargo, composer, nuget), files that no package database lists,
// Go executables that are not ELF, built before Go 1.18, or stripped of
// their build information, hard links (their content is read at the
// link's target), and symbolic links (never followed). Licences are not
// concluded: every package says NOASSERTION.
//
// Memory is bounded: layers are streamed, never buffered; a package
// database file larger than Limits.MaxDatabaseSize (64 MiB by default) is
// not read; Go build information is found by a forward scan with a
// fixed-size window. A database or Go build information that cannot be
// read (too large, malformed) is an error naming the layer and the file,
// unless an upper layer deletes or replaces it. A cancelled context stops
// the scan at the next read of a layer.
//
// The output is deterministic: packages, relationships and SPDX IDs are
// ordered and derived from content, the creation time is injected, and the
// document namespace is derived from the image digest and the tool, so
// the same image and options give the same bytes.
package sbom
