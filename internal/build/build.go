// Package build assembles images without a Docker daemon: a base image (or
// nothing) plus one layer per files line, with the config changes a short
// Dockerfile would make (ENTRYPOINT, CMD, ENV, WORKDIR, LABEL), for one or
// several platforms. The same Spec always gives the same digest: every
// timestamp is Spec.Epoch and file metadata is normalized.
package build

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// File is one files line: Src relative to Spec.Workspace, which may hold
// ${TARGETOS}, ${TARGETARCH} and ${TARGETVARIANT}; Dest absolute in the
// image (a trailing '/' puts a file under its own name in that directory).
type File struct{ Src, Dest string }

// Base is the base image: exactly one of Index and Image, or neither for
// scratch (an empty image).
type Base struct {
	Index v1.ImageIndex
	Image v1.Image
}

// Spec is what to build.
type Spec struct {
	Base       Base
	Workspace  string // absolute; expanded sources must stay inside it
	Files      []File
	Entrypoint []string // nil keeps the base's
	Cmd        []string // nil keeps the base's, unless Entrypoint is set (as in a Dockerfile)
	Env        []string // KEY=VALUE; replaces the base's variable of the same key
	Workdir    string
	Labels     map[string]string // win over the OCI labels below
	Platforms  []string          // "os/arch[/variant]"; empty = the default
	Epoch      time.Time         // every timestamp in the layers and the config, in whole seconds; zero is the Unix epoch

	// OCI labels from the git context; empty ones are not set.
	Source, Revision, Version string

	TempDir string // where layer files are written; the caller removes it
}

// Result is the built image: Image for one platform, Index for several.
type Result struct {
	Image     v1.Image
	Index     v1.ImageIndex
	Platforms []string // sorted "os/arch[/variant]"
	// Files are the digests of what the files lines copied in, one per
	// distinct (source, digest) over every platform, sorted by Path then
	// Digest: at most one per files line and platform.
	Files []FileDigest
}

// FileDigest is the digest of one files source, hashed as the layer was
// written (no second read of the workspace).
//
// For a regular file, Digest is the sha256 of its content, what
// `sha256sum <Path>` prints in the workspace. For a directory (Dir), it is
// the layer's diff ID: the sha256 of the uncompressed tar the directory
// became at its destination, with every entry's metadata normalized (owner
// root, mode 0644 or 0755, the build's epoch as time, names sorted). The
// image config's rootfs.diff_ids lists the same digest, and rebuilding the
// same files line at the same destination gives it again.
type FileDigest struct {
	Path   string // the source relative to the workspace, platform variables expanded, slash-separated
	Dir    bool
	Digest v1.Hash
}

// defaultPlatform is what a scratch build targets when none is given.
var defaultPlatform = v1.Platform{OS: "linux", Architecture: "amd64"}

// Build assembles the image.
func Build(ctx context.Context, spec Spec) (*Result, error) {
	spec.Epoch = epochOf(spec.Epoch)
	if len(spec.Files) > 0 && spec.TempDir == "" {
		return nil, errors.New("no directory to write layers to")
	}
	bases, err := basePlatforms(spec.Base)
	if err != nil {
		return nil, err
	}
	ws, err := newWorkspace(spec.Workspace)
	if err != nil {
		return nil, err
	}
	chosen, err := choosePlatforms(spec, bases, ws)
	if err != nil {
		return nil, err
	}
	lb := &layerBuilder{ctx: ctx, ws: ws, dir: spec.TempDir, epoch: spec.Epoch, cache: map[layerKey]*fileLayer{}, files: map[FileDigest]bool{}}

	type built struct {
		platform v1.Platform
		img      v1.Image
	}
	var images []built
	for _, p := range chosen {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		base, err := bases.image(p)
		if err != nil {
			return nil, err
		}
		img, err := buildOne(ctx, spec, base, p, bases.scratch, lb)
		if err != nil {
			return nil, fmt.Errorf("building %s: %w", platformString(p), err)
		}
		images = append(images, built{p, img})
	}
	res := &Result{Files: lb.fileDigests()}
	for _, b := range images {
		res.Platforms = append(res.Platforms, platformString(b.platform))
	}
	if len(images) == 1 {
		res.Image = images[0].img
		return res, nil
	}
	idx := mutate.IndexMediaType(empty.Index, bases.indexType)
	for _, b := range images {
		p := b.platform
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: b.img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	res.Index = idx
	return res, nil
}

// epochOf is the time written everywhere: whole seconds (what the config's
// timestamps and the created label hold), UTC, and the Unix epoch when unset.
func epochOf(t time.Time) time.Time {
	if t.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return t.UTC().Truncate(time.Second)
}

// layerType is the gzip layer media type that goes with a manifest's.
func layerType(manifest types.MediaType) (types.MediaType, error) {
	switch manifest {
	case types.OCIManifestSchema1:
		return types.OCILayer, nil
	case types.DockerManifestSchema2:
		return types.DockerLayer, nil
	}
	return "", fmt.Errorf("base manifest media type %q is not supported", manifest)
}

// buildOne appends the layers to base and applies the config changes.
func buildOne(ctx context.Context, spec Spec, base v1.Image, p v1.Platform, scratch bool, lb *layerBuilder) (v1.Image, error) {
	mt, err := base.MediaType()
	if err != nil {
		return nil, fmt.Errorf("reading the base manifest media type: %w", err)
	}
	// Layers follow this platform's base manifest: an index may mix Docker
	// and OCI manifests.
	lt, err := layerType(mt)
	if err != nil {
		return nil, err
	}
	var adds []mutate.Addendum
	for _, f := range spec.Files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		l, err := lb.layer(f, p, lt)
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.Addendum{
			Layer:     l,
			MediaType: lt,
			History: v1.History{
				Created:   v1.Time{Time: lb.epoch},
				CreatedBy: "ecr-action files: " + f.Src + ":" + f.Dest,
				Comment:   "ecr-action",
			},
		})
	}
	img, err := mutate.Append(base, adds...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the config: %w", err)
	}
	cf = cf.DeepCopy()
	if scratch {
		// The empty image names no platform; a base's config keeps its own.
		cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	}
	applyConfig(cf, spec)
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	return freeze(img)
}

// applyConfig makes the Dockerfile-like changes to cf.
func applyConfig(cf *v1.ConfigFile, spec Spec) {
	epoch := spec.Epoch
	cf.Created = v1.Time{Time: epoch}
	c := &cf.Config
	for _, kv := range spec.Env {
		key, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, old := range c.Env {
			if k, _, _ := strings.Cut(old, "="); k == key {
				c.Env[i] = kv
				replaced = true
				break
			}
		}
		if !replaced {
			c.Env = append(c.Env, kv)
		}
	}
	// An empty (not nil) Entrypoint or Cmd clears the base's. The copy is
	// nil then, as the config reads back from its JSON (which omits empty
	// lists): an empty list would give an image whose ConfigFile and
	// RawConfigFile disagree.
	if spec.Entrypoint != nil {
		c.Entrypoint = slices.Clone(spec.Entrypoint)
		if len(c.Entrypoint) == 0 {
			c.Entrypoint = nil
		}
		if spec.Cmd == nil {
			c.Cmd = nil // as a Dockerfile's ENTRYPOINT resets the base's CMD
		}
	}
	if spec.Cmd != nil {
		c.Cmd = slices.Clone(spec.Cmd)
		if len(c.Cmd) == 0 {
			c.Cmd = nil
		}
	}
	if spec.Workdir != "" {
		c.WorkingDir = spec.Workdir
	}
	labels := map[string]string{}
	for k, v := range c.Labels {
		labels[k] = v
	}
	labels["org.opencontainers.image.created"] = epoch.Format(time.RFC3339)
	for k, v := range map[string]string{
		"org.opencontainers.image.source":   spec.Source,
		"org.opencontainers.image.revision": spec.Revision,
		"org.opencontainers.image.version":  spec.Version,
	} {
		if v != "" {
			labels[k] = v
		}
	}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	c.Labels = labels
}

// platforms of the base, and how to get the base image of each.
type baseSet struct {
	scratch   bool
	list      []v1.Platform
	index     v1.ImageIndex
	digests   map[string]v1.Hash // platform string -> manifest in index
	single    v1.Image
	indexType types.MediaType // of a result with several platforms
}

func basePlatforms(b Base) (*baseSet, error) {
	switch {
	case b.Index != nil && b.Image != nil:
		return nil, fmt.Errorf("base: give an index or an image, not both")
	case b.Index != nil:
		mt, err := b.Index.MediaType()
		if err != nil {
			return nil, fmt.Errorf("reading the base index media type: %w", err)
		}
		im, err := b.Index.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("reading the base index: %w", err)
		}
		s := &baseSet{index: b.Index, digests: map[string]v1.Hash{}, indexType: types.OCIImageIndex}
		if mt == types.DockerManifestList {
			s.indexType = types.DockerManifestList
		}
		for _, d := range im.Manifests {
			if !d.MediaType.IsImage() || d.Platform == nil || d.Platform.OS == "unknown" || d.Platform.OS == "" {
				continue // attestations and other artefacts
			}
			p := v1.Platform{OS: d.Platform.OS, Architecture: d.Platform.Architecture, Variant: d.Platform.Variant}
			key := platformString(p)
			if _, dup := s.digests[key]; dup {
				continue
			}
			s.digests[key] = d.Digest
			s.list = append(s.list, p)
		}
		if len(s.list) == 0 {
			return nil, fmt.Errorf("the base index lists no platform image")
		}
		return s, nil
	case b.Image != nil:
		if err := checkBaseConfig(b.Image); err != nil {
			return nil, err
		}
		cf, err := b.Image.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("reading the base config: %w", err)
		}
		p := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
		if p.OS == "" || p.Architecture == "" {
			p = defaultPlatform
		}
		return &baseSet{single: b.Image, list: []v1.Platform{p}, indexType: types.OCIImageIndex}, nil
	default:
		return &baseSet{scratch: true, indexType: types.OCIImageIndex}, nil
	}
}

// MaxBaseConfigBytes bounds a base image's config, which is read and parsed
// whole (as internal/image bounds a source's); real ones are a few KiB.
const MaxBaseConfigBytes = 8 << 20

// checkBaseConfig refuses a base image whose manifest names a config larger
// than MaxBaseConfigBytes, before the config is fetched.
func checkBaseConfig(img v1.Image) error {
	m, err := img.Manifest()
	if err != nil {
		return fmt.Errorf("reading the base manifest: %w", err)
	}
	if m.Config.Size > MaxBaseConfigBytes {
		return fmt.Errorf("the base image's config %s is %d bytes, more than the %d accepted", m.Config.Digest, m.Config.Size, MaxBaseConfigBytes)
	}
	return nil
}

// image returns the base image for p.
func (s *baseSet) image(p v1.Platform) (v1.Image, error) {
	switch {
	case s.scratch:
		img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
		return img, nil
	case s.single != nil:
		return s.single, nil
	default:
		img, err := s.index.Image(s.digests[platformString(p)])
		if err != nil {
			return nil, fmt.Errorf("reading the base image for %s: %w", platformString(p), err)
		}
		if err := checkBaseConfig(img); err != nil {
			return nil, fmt.Errorf("the base image for %s: %w", platformString(p), err)
		}
		return img, nil
	}
}

// choosePlatforms picks what to build: the given platforms, each of which
// the base must have and files must cover, or by default every base platform
// that files covers. Only a missing source drops a platform from the
// default; any other problem with a source fails the build.
func choosePlatforms(spec Spec, bases *baseSet, ws *workspace) ([]v1.Platform, error) {
	available := bases.list
	if bases.scratch {
		available = []v1.Platform{defaultPlatform}
	}
	var chosen []v1.Platform
	seen := map[string]bool{}
	if len(spec.Platforms) > 0 {
		for _, s := range spec.Platforms {
			p, err := parsePlatform(s)
			if err != nil {
				return nil, err
			}
			if !bases.scratch {
				if p, err = pickPlatform(available, p); err != nil {
					return nil, err
				}
			}
			if seen[platformString(p)] {
				continue
			}
			seen[platformString(p)] = true
			if err := ws.check(spec.Files, p); err != nil {
				return nil, fmt.Errorf("platform %s: %w", s, err)
			}
			chosen = append(chosen, p)
		}
	} else {
		var reasons []string
		for _, p := range available {
			err := ws.check(spec.Files, p)
			if errors.Is(err, fs.ErrNotExist) {
				reasons = append(reasons, platformString(p)+": "+err.Error())
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("platform %s: %w", platformString(p), err)
			}
			chosen = append(chosen, p)
		}
		if len(chosen) == 0 {
			return nil, fmt.Errorf("no platform of the base image has every file: %s", strings.Join(reasons, "; "))
		}
	}
	sort.Slice(chosen, func(i, j int) bool { return platformString(chosen[i]) < platformString(chosen[j]) })
	return chosen, nil
}

func parsePlatform(s string) (v1.Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return v1.Platform{}, fmt.Errorf("platform %q is not os/arch[/variant]", s)
	}
	p := v1.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// pickPlatform finds the entry of list that p names: same os and
// architecture, and the same variant when p names one (arm64 without a
// variant is arm64/v8). A p that matches several entries is ambiguous.
func pickPlatform(list []v1.Platform, p v1.Platform) (v1.Platform, error) {
	var found []v1.Platform
	for _, q := range list {
		if q.OS == p.OS && q.Architecture == p.Architecture && (p.Variant == "" || sameVariant(q.Architecture, q.Variant, p.Variant)) {
			found = append(found, q)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return v1.Platform{}, fmt.Errorf("platform %s is not in the base image, which has %s", platformString(p), platformList(list))
	}
	return v1.Platform{}, fmt.Errorf("platform %s matches %s in the base image; name the variant", platformString(p), platformList(found))
}

// sameVariant compares variants; arm64 has only v8, so "" and "v8" agree.
func sameVariant(arch, a, b string) bool {
	if arch == "arm64" {
		if a == "" {
			a = "v8"
		}
		if b == "" {
			b = "v8"
		}
	}
	return a == b
}

func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

func platformList(ps []v1.Platform) string {
	var out []string
	for _, p := range ps {
		out = append(out, platformString(p))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
