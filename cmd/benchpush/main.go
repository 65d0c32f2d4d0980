// Command benchpush is the client of .ci/bench-ecrlocal: it writes a large
// random image as an OCI layout, and pushes a layout to a registry with
// go-containerregistry, printing the wall time.
//
//	benchpush gen  -dir DIR [-size 1073741824] [-layers 8] [-gzip]
//	benchpush push -dir DIR -ref HOST/REPO:TAG [-ecr URL]
//
// With -ecr, the repository is created through the ECR API at URL and the
// registry login comes from its GetAuthorizationToken, as against real ECR;
// without it the push is anonymous.
//
// With -gzip, gen writes gzip layers of compressible bytes (4 random bits
// in each, so they compress to about half) instead of uncompressed random
// ones: the layers a registry source or a build has, which the SBOM must
// inflate to read.
package main

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/klauspost/compress/gzip"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchpush:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: benchpush gen|push [flags]")
	}
	fs := flag.NewFlagSet("benchpush "+args[0], flag.ContinueOnError)
	dir := fs.String("dir", "", "OCI layout directory")
	switch args[0] {
	case "gen":
		size := fs.Int64("size", 1<<30, "total bytes of layer content")
		layers := fs.Int("layers", 8, "number of layers")
		gz := fs.Bool("gzip", false, "gzip layers of compressible bytes (uncompressed random ones without)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *dir == "" || *layers < 1 || *size < int64(*layers) {
			return errors.New("gen needs -dir, -layers >= 1 and -size >= layers")
		}
		return generate(*dir, *size, *layers, *gz)
	case "push":
		ref := fs.String("ref", "", "destination HOST/REPO:TAG")
		endpoint := fs.String("ecr", "", "ECR API endpoint URL: create the repository and log in through it")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *dir == "" || *ref == "" {
			return errors.New("push needs -dir and -ref")
		}
		d, err := push(ctx, *dir, *ref, *endpoint)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%.3f\n", d.Seconds())
		return nil
	default:
		return fmt.Errorf("unknown subcommand %q: use gen or push", args[0])
	}
}

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

// generate writes an OCI layout of one image with uncompressed tar layers of
// random bytes (or gzip layers of compressible ones), streamed to disk
// (never held in memory).
func generate(dir string, size int64, n int, gz bool) error {
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", blobs, err)
	}
	seed := uint64(time.Now().UnixNano())
	var layers []descriptor
	var diffIDs []string
	for i := range n {
		var src io.Reader = rand.NewChaCha8([32]byte{byte(i), byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)})
		if gz {
			src = nibbles{src}
		}
		d, diffID, err := writeLayer(blobs, size/int64(n), src, gz)
		if err != nil {
			return err
		}
		layers = append(layers, d)
		diffIDs = append(diffIDs, diffID)
	}
	config, err := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
		"config": map[string]any{},
	})
	if err != nil {
		return err
	}
	cd, err := writeBlob(blobs, "application/vnd.oci.image.config.v1+json", config)
	if err != nil {
		return err
	}
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": cd, "layers": layers,
	})
	if err != nil {
		return err
	}
	md, err := writeBlob(blobs, "application/vnd.oci.image.manifest.v1+json", manifest)
	if err != nil {
		return err
	}
	index, err := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []descriptor{md}})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), index, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
}

func writeBlob(blobs, mediaType string, b []byte) (descriptor, error) {
	sum := sha256.Sum256(b)
	h := hex.EncodeToString(sum[:])
	if err := os.WriteFile(filepath.Join(blobs, h), b, 0o644); err != nil {
		return descriptor{}, fmt.Errorf("writing blob: %w", err)
	}
	return descriptor{MediaType: mediaType, Digest: "sha256:" + h, Size: int64(len(b))}, nil
}

// nibbles keeps 4 random bits of each byte: data gzip compresses to about
// half, mostly as literals (inflate's slow case, as in BenchmarkSBOM).
type nibbles struct{ r io.Reader }

func (n nibbles) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	for i := range p[:k] {
		p[i] = 'a' + p[i]&0x0f
	}
	return k, err
}

// writeLayer streams a tar holding one file of size bytes from src into
// the blob directory, gzip-compressed with gz, hashing it on the way. It
// returns the layer's descriptor and its diff ID.
func writeLayer(blobs string, size int64, src io.Reader, gz bool) (descriptor, string, error) {
	tmp, err := os.CreateTemp(blobs, "layer-")
	if err != nil {
		return descriptor{}, "", err
	}
	defer os.Remove(tmp.Name())
	h, diffID := sha256.New(), sha256.New()
	cw := &countWriter{w: io.MultiWriter(tmp, h)}
	var out io.Writer = cw
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(cw)
		out = zw
	}
	tw := tar.NewWriter(io.MultiWriter(out, diffID))
	if err := tw.WriteHeader(&tar.Header{Name: "data.bin", Mode: 0o644, Size: size, ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}); err != nil {
		return descriptor{}, "", err
	}
	if _, err := io.CopyN(tw, src, size); err != nil {
		return descriptor{}, "", fmt.Errorf("writing layer content: %w", err)
	}
	if err := tw.Close(); err != nil {
		return descriptor{}, "", err
	}
	mediaType := "application/vnd.oci.image.layer.v1.tar"
	if zw != nil {
		if err := zw.Close(); err != nil {
			return descriptor{}, "", err
		}
		mediaType += "+gzip"
	}
	if err := tmp.Close(); err != nil {
		return descriptor{}, "", err
	}
	d := hex.EncodeToString(h.Sum(nil))
	if err := os.Rename(tmp.Name(), filepath.Join(blobs, d)); err != nil {
		return descriptor{}, "", err
	}
	return descriptor{MediaType: mediaType, Digest: "sha256:" + d, Size: cw.n}, "sha256:" + hex.EncodeToString(diffID.Sum(nil)), nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// push writes the layout's image to ref and returns the wall time of the
// registry push alone.
func push(ctx context.Context, dir, ref, endpoint string) (time.Duration, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return 0, fmt.Errorf("reading layout %s: %w", dir, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return 0, err
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		return 0, err
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return 0, fmt.Errorf("parsing -ref %q: %w", ref, err)
	}
	auth := authn.Anonymous
	if endpoint != "" {
		if auth, err = ecrLogin(ctx, endpoint, r.Context().RepositoryStr()); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	if err := remote.Write(r, img, remote.WithAuth(auth), remote.WithContext(ctx)); err != nil {
		return 0, fmt.Errorf("pushing to %s: %w", ref, err)
	}
	return time.Since(start), nil
}

// ecrLogin creates the repository (if missing) and returns the registry login
// from GetAuthorizationToken.
func ecrLogin(ctx context.Context, endpoint, repo string) (authn.Authenticator, error) {
	client := ecr.New(ecr.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "dummy", ""),
	})
	_, err := client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(repo)})
	var exists *types.RepositoryAlreadyExistsException
	if err != nil && !errors.As(err, &exists) {
		return nil, fmt.Errorf("creating repository %q: %w", repo, err)
	}
	out, err := client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return nil, fmt.Errorf("getting the registry login: %w", err)
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(out.AuthorizationData[0].AuthorizationToken))
	if err != nil {
		return nil, fmt.Errorf("decoding the authorization token: %w", err)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return nil, errors.New("the authorization token is not user:password")
	}
	return &authn.Basic{Username: user, Password: pass}, nil
}
