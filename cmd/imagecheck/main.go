// Command imagecheck checks the action's published image, an index in a
// registry, as .ci/image and the release workflow build it with ko: exactly
// the wanted platforms; in each image the entrypoint, no USER (the runner
// needs root), CA certificates, a writable /tmp and the binary for the
// platform's architecture with the version stamped in. The binary of the
// machine's own platform is run with --version. It prints each image's
// compressed size (config and layers, as a pull downloads them).
//
//	go run ./cmd/imagecheck -ref 127.0.0.1:5000/ecr-action@sha256:… -version v1.2.3
package main

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"debug/elf"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// entrypoint is where ko puts the binary of ./cmd/action (ko names it
// after the main package's folder).
const entrypoint = "/ko-app/action"

func main() {
	ref := flag.String("ref", "", "the image index to check (a tag or a digest reference)")
	version := flag.String("version", "", "the version the binary must be stamped with")
	platforms := flag.String("platforms", "linux/amd64,linux/arm64", "the platforms the index must hold, exactly")
	flag.Parse()
	if *ref == "" || *version == "" {
		fmt.Fprintln(os.Stderr, "imagecheck: -ref and -version are required")
		os.Exit(2)
	}
	if err := check(*ref, *version, strings.Split(*platforms, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "imagecheck:", err)
		os.Exit(1)
	}
}

func check(refStr, version string, want []string) error {
	ref, err := name.ParseReference(refStr)
	if err != nil {
		return fmt.Errorf("-ref %q: %w", refStr, err)
	}
	idx, err := remote.Index(ref, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		return fmt.Errorf("reading the index %s: %w", ref, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	var got []string
	for _, d := range im.Manifests {
		if d.Platform == nil {
			return fmt.Errorf("index entry %s has no platform", d.Digest)
		}
		got = append(got, d.Platform.String())
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		return fmt.Errorf("the index holds platforms %v, want exactly %v", got, want)
	}
	fmt.Printf("platforms: %s\n", strings.Join(got, ", "))
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			return err
		}
		if err := checkImage(img, *d.Platform, version); err != nil {
			return fmt.Errorf("%s: %w", d.Platform, err)
		}
	}
	return nil
}

func checkImage(img v1.Image, p v1.Platform, version string) error {
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	if cf.OS != p.OS || cf.Architecture != p.Architecture {
		return fmt.Errorf("config says %s/%s", cf.OS, cf.Architecture)
	}
	if !slices.Equal(cf.Config.Entrypoint, []string{entrypoint}) {
		return fmt.Errorf("entrypoint %q, want [%q]", cf.Config.Entrypoint, entrypoint)
	}
	if u := cf.Config.User; u != "" && u != "root" && u != "0" && u != "0:0" {
		return fmt.Errorf("USER is %q: the runner starts container actions without --user, and only root can write the file-command files", u)
	}
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	size := m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
	}
	// The files as the container sees them.
	files := map[string][]byte{}
	modes := map[string]int64{}
	tr := tar.NewReader(mutate.Extract(img))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading the layers: %w", err)
		}
		p := "/" + strings.TrimPrefix(filepath.Clean("/"+h.Name), "/")
		modes[p] = h.Mode
		if p == "/etc/ssl/certs/ca-certificates.crt" || p == entrypoint {
			if h.Size > 256<<20 {
				return fmt.Errorf("%s is %d bytes", p, h.Size)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				return err
			}
			files[p] = b
		}
	}
	certs := 0
	for rest := files["/etc/ssl/certs/ca-certificates.crt"]; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if _, err := x509.ParseCertificate(b.Bytes); err == nil {
			certs++
		}
	}
	if certs < 10 {
		return fmt.Errorf("/etc/ssl/certs/ca-certificates.crt holds %d CA certificates: HTTPS to AWS needs the usual bundle", certs)
	}
	if mode, ok := modes["/tmp"]; !ok || mode&0o1777 != 0o1777 {
		return fmt.Errorf("/tmp is missing or not mode 1777 (mode %o)", mode)
	}
	bin := files[entrypoint]
	if bin == nil {
		return fmt.Errorf("no %s in the image", entrypoint)
	}
	ef, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		return fmt.Errorf("%s is not an ELF binary: %w", entrypoint, err)
	}
	wantMachine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[p.Architecture]
	if ef.Machine != wantMachine {
		return fmt.Errorf("%s is built for %s, want %s", entrypoint, ef.Machine, wantMachine)
	}
	if !bytes.Contains(bin, []byte(version)) {
		return fmt.Errorf("%s does not contain the version %q: was it stamped with -ldflags -X main.version?", entrypoint, version)
	}
	ran := "not run (another architecture)"
	if p.OS == runtime.GOOS && p.Architecture == runtime.GOARCH {
		dir, err := os.MkdirTemp("", "imagecheck-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "ecr-action")
		if err := os.WriteFile(path, bin, 0o755); err != nil {
			return err
		}
		out, err := exec.Command(path, "--version").Output()
		if err != nil {
			return fmt.Errorf("%s --version: %w", entrypoint, err)
		}
		if got, want := strings.TrimSpace(string(out)), "ecr-action "+version; got != want {
			return fmt.Errorf("%s --version printed %q, want %q", entrypoint, got, want)
		}
		ran = fmt.Sprintf("--version: %s", strings.TrimSpace(string(out)))
	}
	fmt.Printf("%s: entrypoint %s, user %q, %d CA certificates, /tmp 1777, %s binary stamped %s (%s); compressed bytes: %d\n",
		p, entrypoint, cf.Config.User, certs, ef.Machine, version, ran, size)
	return nil
}
