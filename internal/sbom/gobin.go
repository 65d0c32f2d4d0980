package sbom

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// The Go linker writes a build information blob into every executable
// (cmd/link, read back by debug/buildinfo): a 32-byte header starting with
// buildInfoMagic, then, since Go 1.18 (flags&flagsVersionInl), the Go
// version and the module information as two varint-length-prefixed
// strings. debug/buildinfo.Read finds it through the ELF section headers,
// which sit at the end of the file and so need random access; here the
// blob is found by scanning the stream forward, so an executable is never
// buffered or spooled. Each candidate is checked (pointer size, inline
// flag, a version string that names a Go release, module information with
// its framing) before it is consumed, so a stray copy of the magic in
// read-only data (any program that links debug/buildinfo has one) is
// skipped. The tests compare the result with debug/buildinfo.Read.
const (
	buildInfoMagic      = "\xff Go buildinf:"
	buildInfoHeaderSize = 32
	flagsVersionInl     = 0x2
	// maxGoVersion bounds the version string ("go1.26.8 X:boringcrypto").
	maxGoVersion = 1 << 10
	// maxModInfo bounds the module information; a binary with a thousand
	// dependencies has under 200 KiB of it.
	maxModInfo = 8 << 20
	// scanWindow is the read buffer of the forward scan.
	scanWindow = 256 << 10
)

var errNoBuildInfo = errors.New("no Go build information")

// GoBinary is one Go executable found in the image.
type GoBinary struct {
	Path      string // in the image, without a leading slash
	GoVersion string
	Main      Module
	Deps      []Module
}

// Module is a Go module as the build information records it. When the
// module was replaced by another module, Path and Version are what was
// built (the replacement) and Replaced names the original requirement;
// when it was replaced by a directory, Path and Version stay the
// requirement's and Replaced names the directory.
type Module struct {
	Path     string
	Version  string
	Sum      string
	Replaced string // "path@version" of the requirement that was replaced
}

// isELF reports whether the first bytes are an ELF header's magic.
func isELF(b []byte) bool { return bytes.HasPrefix(b, []byte("\x7fELF")) }

// readGoBuildInfo scans r (a whole executable) for its Go build
// information. It returns errNoBuildInfo when there is none (not a Go
// program, a stripped one, or one built before Go 1.18).
func readGoBuildInfo(r io.Reader) (*debug.BuildInfo, error) {
	br := bufio.NewReaderSize(r, scanWindow)
	magic := []byte(buildInfoMagic)
	for {
		buf, err := br.Peek(scanWindow)
		if len(buf) < len(magic) {
			if err == nil || errors.Is(err, bufio.ErrBufferFull) || errors.Is(err, io.EOF) {
				return nil, errNoBuildInfo
			}
			return nil, err
		}
		i := bytes.Index(buf, magic)
		if i < 0 {
			// Keep the last len(magic)-1 bytes: the magic may straddle.
			if _, err := br.Discard(len(buf) - len(magic) + 1); err != nil {
				return nil, err
			}
			continue
		}
		if _, err := br.Discard(i); err != nil {
			return nil, err
		}
		vers, ok := peekVersion(br)
		if !ok {
			// Not the blob: step past this copy of the magic.
			if _, err := br.Discard(1); err != nil {
				return nil, err
			}
			continue
		}
		return readBlob(br, vers)
	}
}

// peekVersion checks, without consuming anything, that the reader is at a
// build information blob in the inline format, and returns its version.
func peekVersion(br *bufio.Reader) (string, bool) {
	buf, _ := br.Peek(buildInfoHeaderSize + binary.MaxVarintLen64 + maxGoVersion)
	if len(buf) < buildInfoHeaderSize+1 {
		return "", false
	}
	ptrSize, flags := buf[14], buf[15]
	if (ptrSize != 4 && ptrSize != 8) || flags&flagsVersionInl == 0 {
		return "", false
	}
	n, w := binary.Uvarint(buf[buildInfoHeaderSize:])
	if w <= 0 || n == 0 || n > maxGoVersion || buildInfoHeaderSize+w+int(n) > len(buf) {
		return "", false
	}
	vers := string(buf[buildInfoHeaderSize+w : buildInfoHeaderSize+w+int(n)])
	if !strings.HasPrefix(vers, "go1") && !strings.HasPrefix(vers, "devel") {
		return "", false
	}
	for _, c := range vers {
		if c < 0x20 || c > 0x7e {
			return "", false
		}
	}
	return vers, true
}

// readBlob consumes the blob peekVersion accepted and parses its module
// information.
func readBlob(br *bufio.Reader, vers string) (*debug.BuildInfo, error) {
	if _, err := br.Discard(buildInfoHeaderSize); err != nil {
		return nil, err
	}
	if _, err := readVarString(br, maxGoVersion); err != nil {
		return nil, fmt.Errorf("reading the Go version: %w", err)
	}
	mod, err := readVarString(br, maxModInfo)
	if err != nil {
		return nil, fmt.Errorf("reading the module information: %w", err)
	}
	// The module information is framed by two 16-byte sentinels
	// (cmd/go/internal/modload.infoStart and infoEnd); without the framing
	// the program was built without module information.
	if len(mod) >= 33 && mod[len(mod)-17] == '\n' {
		mod = mod[16 : len(mod)-16]
	} else {
		mod = ""
	}
	bi, err := debug.ParseBuildInfo(mod)
	if err != nil {
		return nil, fmt.Errorf("parsing the module information: %w", err)
	}
	bi.GoVersion = vers
	return bi, nil
}

func readVarString(br *bufio.Reader, limit uint64) (string, error) {
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return "", err
	}
	if n > limit {
		return "", fmt.Errorf("length %d is over the %d-byte limit", n, limit)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(br, b); err != nil {
		return "", err
	}
	return string(b), nil
}

// isLocalPath reports whether a replacement is a directory rather than a
// module (cmd/go: a path starting with ./, ../ or /, or a Windows volume).
func isLocalPath(p string) bool {
	return strings.HasPrefix(p, "./") || strings.HasPrefix(p, "../") || strings.HasPrefix(p, "/") ||
		p == "." || p == ".." || (len(p) > 1 && p[1] == ':') || strings.HasPrefix(p, ".\\") || strings.HasPrefix(p, "..\\")
}

// goBinary turns build information into the modules the document lists.
func goBinary(path string, bi *debug.BuildInfo) GoBinary {
	g := GoBinary{Path: path, GoVersion: bi.GoVersion, Main: Module{Path: bi.Main.Path, Version: bi.Main.Version, Sum: bi.Main.Sum}}
	if g.Main.Path == "" {
		g.Main.Path = bi.Path
	}
	for _, d := range bi.Deps {
		m := Module{Path: d.Path, Version: d.Version, Sum: d.Sum}
		if r := d.Replace; r != nil {
			if isLocalPath(r.Path) {
				// Replaced by a directory: the requirement's path and
				// version are the best the binary says about what was
				// built.
				m.Replaced = "by the directory " + r.Path
			} else {
				m.Replaced = d.Path + "@" + d.Version
				m.Path, m.Version, m.Sum = r.Path, r.Version, r.Sum
			}
		}
		g.Deps = append(g.Deps, m)
	}
	return g
}
