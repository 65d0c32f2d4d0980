package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/org/ecr-action/internal/invalid"
	"github.com/org/ecr-action/internal/safefile"
	"github.com/org/ecr-action/internal/tags"
)

// Image is what the run pushes; nil when no source, base_image or
// retag_from is given.
type Image struct {
	Source    *Source      // nil unless source is given
	Build     *Build       // nil unless base_image is given
	RetagFrom string       // "" unless retag_from is given: a tag or sha256:<64 hex>
	Tags      []string     // computed, validated, de-duplicated
	Git       tags.Context // the git context the tags came from
}

// Source is an image to push as it is, in skopeo's transport syntax.
type Source struct {
	Raw       string // as given
	Transport string // "oci", "docker-archive", "docker-daemon" or "docker"
	Path      string // oci and docker-archive: the absolute, cleaned path (symbolic links resolved)
	Ref       string // oci: the optional :<ref> after the dir; docker-daemon and docker: the image reference
}

// The transports of Source.Transport.
const (
	TransportOCI           = "oci"
	TransportDockerArchive = "docker-archive"
	TransportDockerDaemon  = "docker-daemon"
	TransportDocker        = "docker"
)

// Build is an image the action assembles from a base image and files.
type Build struct {
	BaseImage  string   // reference, or "scratch"
	Files      []File   // in input order
	Entrypoint []string // nil = keep the base's; empty (from []) = clear it
	Cmd        []string // nil = keep the base's; empty (from []) = clear it
	Env        []string // KEY=VALUE, input order
	Workdir    string
	Labels     map[string]string
	Platforms  []string  // "os/arch[/variant]"; empty = the build's default
	Epoch      time.Time // Git.CommitTime, or Unix 0 when unknown: layer and config timestamps
}

// File is one file or directory copied into a built image. Src is as given
// (it may hold ${TARGETOS}, ${TARGETARCH} and ${TARGETVARIANT}) and relative
// to the workspace; config checked that it stays inside the workspace with
// the variables unexpanded, and the build must check the expanded path again
// (it is the build that reads it). Dest is an absolute path in the image.
type File struct{ Src, Dest string }

// Scratch is the base_image value for an image built from nothing.
const Scratch = "scratch"

// MaxFilesLines bounds the files input: each line is a layer, and registries
// and runtimes handle images of a few hundred layers at most.
const MaxFilesLines = 1000

// buildInputs are the inputs that only apply to a built image (base_image).
var buildInputs = []string{"files", "entrypoint", "cmd", "env", "workdir", "labels", "platforms"}

// fileVariables are the variables files may use in a source path, expanded
// per platform by the build.
var fileVariables = []string{"TARGETOS", "TARGETARCH", "TARGETVARIANT"}

// imageInputs is what loadImage needs from Load.
type imageInputs struct {
	in          func(string) string // the trimmed input value
	withDefault func(string) string
	boolean     func(string) bool
	bad         func(input, value, format string, args ...any)
	getenv      func(string) string
	readFile    func(string) ([]byte, error)
	workspace   string
	runnerTemp  string
}

// loadImage validates the image inputs and returns the image to push, or
// nil when none of source, base_image and retag_from is given.
func loadImage(p imageInputs, warn func(string)) *Image {
	in, bad := p.in, p.bad

	var given []string
	for _, name := range []string{"source", "base_image", "retag_from"} {
		if in(name) != "" {
			given = append(given, name)
		}
	}
	if len(given) > 1 {
		bad(given[0], "", "%s are exclusive: give only one of source (push an image from a file, directory or daemon), base_image (build one) or retag_from (tag one already in the repository)", joinAnd(given))
	}

	var img *Image
	if len(given) > 0 {
		img = &Image{}
	}
	if v := in("source"); v != "" {
		s, err := parseSource(v, p.workspace, p.runnerTemp)
		if err != nil {
			bad("source", v, "%v", err)
		}
		img.Source = s
	}
	if v := in("base_image"); v != "" {
		img.Build = loadBuild(p, v)
	} else {
		for _, name := range buildInputs {
			if in(name) != "" {
				bad(name, "", "needs base_image: it sets up an image the action builds; set base_image (an image reference, or scratch) or remove %s", name)
			}
		}
	}
	if v := in("retag_from"); v != "" {
		if err := checkRetagFrom(v); err != nil {
			bad("retag_from", v, "%v", err)
		}
		img.RetagFrom = v
	}

	// Tag options are checked whether or not an image is pushed.
	opts := loadTagOptions(p)

	if img == nil {
		if len(opts.Extra) > 0 || opts.SHA != defaultOf("tag_sha") || opts.semverValue != defaultOf("tag_semver") || opts.Latest != defaultOf("tag_latest") {
			warn("image_tags, tag_sha, tag_semver and tag_latest are ignored because none of source, base_image or retag_from is set")
		}
		return nil
	}

	git, err := tags.ContextFromEnv(p.getenv, p.readFile)
	if err != nil {
		bad(given[0], "", "reading the git context the image tags come from: %v", err)
		return img
	}
	img.Git = git
	if img.Build != nil {
		img.Build.Epoch = time.Unix(0, 0).UTC()
		if !git.CommitTime.IsZero() {
			img.Build.Epoch = git.CommitTime
		}
	}
	if !opts.ok {
		return img
	}
	computed, err := tags.Compute(git, opts.Options)
	if err != nil {
		reportTagErrors(err, bad)
		return img
	}
	if len(computed) == 0 {
		ref := git.Ref
		if ref == "" {
			ref = "unknown"
		}
		bad("image_tags", "", "no tags to push: tag_sha is false, tag_semver and tag_latest give none on this run (event %s, ref %s) and image_tags is empty; set image_tags (for example image_tags: dev)", invalid.Quote(git.EventName), invalid.Quote(ref))
	}
	img.Tags = computed
	return img
}

// tagOptions are the tag inputs as given, and whether all are valid.
type tagOptions struct {
	tags.Options
	semverValue string // tag_semver as given, lowercased
	ok          bool
}

// loadTagOptions reads tag_sha, tag_semver, tag_latest and image_tags.
func loadTagOptions(p imageInputs) tagOptions {
	in, bad := p.in, p.bad
	optionsOK := true
	shaValue := p.withDefault("tag_sha")
	shaMode := strings.ToLower(shaValue)
	if !contains(tags.SHAModes(), shaMode) {
		bad("tag_sha", shaValue, "must be one of %s", strings.Join(tags.SHAModes(), ", "))
		optionsOK = false
	}
	semverValue := strings.ToLower(p.withDefault("tag_semver"))
	semver := p.boolean("tag_semver")
	if semverValue != "true" && semverValue != "false" {
		optionsOK = false
	}
	latestValue := p.withDefault("tag_latest")
	latest := strings.ToLower(latestValue)
	if !contains(tags.LatestModes(), latest) {
		bad("tag_latest", latestValue, "must be one of %s", strings.Join(tags.LatestModes(), ", "))
		optionsOK = false
	}
	extra := List(in("image_tags"))
	for _, t := range extra {
		if err := tags.Valid(t); err != nil {
			bad("image_tags", t, "%v", err)
			optionsOK = false
		}
	}
	return tagOptions{
		Options:     tags.Options{SHA: shaMode, Semver: semver, Latest: latest, Extra: extra},
		semverValue: semverValue,
		ok:          optionsOK,
	}
}

// reportTagErrors turns tags.Compute's errors into input errors.
func reportTagErrors(err error, bad func(input, value, format string, args ...any)) {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var te *tags.Error
		if !errors.As(e, &te) {
			bad("tag_sha", "", "computing the image tags: %v", e)
			continue
		}
		switch te.Option {
		case "SHA":
			bad("tag_sha", "", "%v; set tag_sha: false to push without a commit tag", te)
		case "Semver":
			bad("tag_semver", "", "the version tag %v; set tag_semver: false and name the tags in image_tags", te)
		case "Latest":
			bad("tag_latest", te.Value, "%s", te.Problem)
		default:
			bad("image_tags", te.Value, "%s", te.Problem)
		}
	}
}

// sourceForms lists the accepted source syntaxes for error messages.
const sourceForms = "oci:<dir>[:<ref>], docker-archive:<file>, docker-daemon:<image> or docker://<reference>"

// parseSource checks a source in skopeo's transport syntax. oci and
// docker-archive paths are relative to the workspace; absolute ones must lie
// in the workspace or RUNNER_TEMP.
func parseSource(raw, workspace, runnerTemp string) (*Source, error) {
	if ref, ok := strings.CutPrefix(raw, "docker://"); ok {
		if _, err := parseReference(ref); err != nil {
			return nil, fmt.Errorf("the docker:// reference %s %v", invalid.Quote(ref), err)
		}
		return &Source{Raw: raw, Transport: TransportDocker, Ref: ref}, nil
	}
	transport, rest, ok := strings.Cut(raw, ":")
	if !ok {
		return nil, fmt.Errorf("has no transport; want %s (relative paths are in the workspace)", sourceForms)
	}
	s := &Source{Raw: raw, Transport: transport}
	switch transport {
	case TransportOCI:
		dir, ref, hasRef := strings.Cut(rest, ":")
		if hasRef && !ociRefName.MatchString(ref) {
			return nil, fmt.Errorf("the OCI layout image name %s after the directory is not an org.opencontainers.image.ref.name (letters, digits and -._:@+ separators, e.g. oci:build/image:v1)", invalid.Quote(ref))
		}
		p, err := imagePath(dir, workspace, runnerTemp)
		if err != nil {
			return nil, err
		}
		if err := checkOCILayout(p, []string{workspace, runnerTemp}); err != nil {
			return nil, err
		}
		s.Path, s.Ref = p, ref
	case TransportDockerArchive:
		if strings.Contains(rest, ":") {
			return nil, errors.New("docker-archive takes a file path without ':' (the :<reference> suffix is not supported): want docker-archive:<file>, e.g. docker-archive:image.tar")
		}
		p, err := imagePath(rest, workspace, runnerTemp)
		if err != nil {
			return nil, err
		}
		if _, _, err := safefile.Regular(p, []string{workspace, runnerTemp}); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("the docker-archive file %v; give a `docker save` tarball", err)
		}
		s.Path = p
	case TransportDockerDaemon:
		r, err := parseReference(rest)
		if err != nil {
			return nil, fmt.Errorf("the docker-daemon image %s %v", invalid.Quote(rest), err)
		}
		if r.Tag == "" && r.Digest == "" {
			return nil, fmt.Errorf("the docker-daemon image %s has neither a tag nor a digest; name the local image exactly, e.g. docker-daemon:app:dev", invalid.Quote(rest))
		}
		s.Ref = rest
	case TransportDocker:
		return nil, fmt.Errorf("the docker transport is written docker://<reference>, e.g. docker://public.ecr.aws/docker/library/alpine:3.20")
	default:
		return nil, fmt.Errorf("transport %s is not supported; want %s", invalid.Quote(transport), sourceForms)
	}
	return s, nil
}

// imagePath resolves the path of an image on disk: relative to the workspace
// and inside it, or absolute and inside the workspace or RUNNER_TEMP.
func imagePath(p, workspace, runnerTemp string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("has no path after the transport; want %s", sourceForms)
	}
	resolved, inside, err := within(workspace, p)
	if err != nil {
		return "", err
	}
	if inside {
		return resolved, nil
	}
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("path %s leaves the workspace; relative paths are relative to GITHUB_WORKSPACE and must stay inside it", invalid.Quote(p))
	}
	if runnerTemp != "" {
		if resolved, inside, err := within(runnerTemp, p); err == nil && inside {
			return resolved, nil
		}
	}
	return "", fmt.Errorf("path %s is outside the workspace (%s) and RUNNER_TEMP (%s); write the image under one of them", invalid.Quote(p), workspace, orNone(runnerTemp))
}

// MaxOCIIndexBytes bounds an OCI layout's index.json: ECR's limit for a
// manifest, which an image index is too.
const MaxOCIIndexBytes = 4 << 20

// checkOCILayout checks, with lstat and readlink only, the parts of the OCI
// layout at dir (resolved) that are read first: dir is a directory, its
// index.json and oci-layout regular files, its blobs and blobs/sha256
// directories, each inside roots after its symbolic links are resolved. The
// blobs themselves are checked when the layout is read (internal/image). A
// layout that does not exist yet is left to that step too: inputs are read
// before anything is built.
func checkOCILayout(dir string, roots []string) error {
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if _, err := safefile.Dir(dir, roots); err != nil {
		return fmt.Errorf("the OCI layout %v", err)
	}
	index := filepath.Join(dir, "index.json")
	if _, err := os.Lstat(index); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s is not an OCI image layout (no index.json): write one with `docker buildx build --output type=oci,dest=out.tar` and untar it, or `crane pull --format=oci`", invalid.Quote(dir))
	}
	_, fi, err := safefile.Regular(index, roots)
	if err != nil {
		return fmt.Errorf("the OCI layout's index.json %v", err)
	}
	if fi.Size() > MaxOCIIndexBytes {
		return fmt.Errorf("the OCI layout's index.json is %d bytes, more than %d (ECR's manifest limit)", fi.Size(), MaxOCIIndexBytes)
	}
	if _, err := os.Lstat(filepath.Join(dir, "oci-layout")); err == nil {
		if _, _, err := safefile.Regular(filepath.Join(dir, "oci-layout"), roots); err != nil {
			return fmt.Errorf("the OCI layout's oci-layout file %v", err)
		}
	}
	for _, sub := range []string{"blobs", filepath.Join("blobs", "sha256")} {
		if _, err := os.Lstat(filepath.Join(dir, sub)); err == nil {
			if _, err := safefile.Dir(filepath.Join(dir, sub), roots); err != nil {
				return fmt.Errorf("the OCI layout's %s directory %v", sub, err)
			}
		}
	}
	return nil
}

func orNone(v string) string {
	if v == "" {
		return "unset"
	}
	return v
}

func checkRetagFrom(v string) error {
	if hex, ok := strings.CutPrefix(v, "sha256:"); ok {
		if !hex64Pattern.MatchString(hex) {
			return errors.New("a digest must be sha256: and 64 lower-case hex digits")
		}
		return nil
	}
	if err := tags.Valid(v); err != nil {
		return fmt.Errorf("must be a tag of an image in the target repository or sha256:<64 hex digits>: %v", err)
	}
	return nil
}

// loadBuild validates base_image and the build-only inputs.
func loadBuild(p imageInputs, base string) *Build {
	in, bad := p.in, p.bad
	b := &Build{BaseImage: base}
	if base != Scratch {
		if _, err := parseReference(base); err != nil {
			bad("base_image", base, "%v; or scratch for an empty base", err)
		}
	}

	dests := map[string]bool{}
	fileLines := lines(in("files"))
	if len(fileLines) > MaxFilesLines {
		bad("files", "", "has %d lines; at most %d are accepted (each line is one layer of the image): copy a directory with one line instead of its files one by one", len(fileLines), MaxFilesLines)
		fileLines = nil
	}
	for _, line := range fileLines {
		f, err := parseFile(line, p.workspace)
		switch {
		case err != nil:
			bad("files", line, "%v", err)
		case dests[path.Clean(f.Dest)]:
			bad("files", line, "destination %s is given twice; each line copies to its own destination", invalid.Quote(f.Dest))
		default:
			dests[path.Clean(f.Dest)] = true
			b.Files = append(b.Files, f)
		}
	}

	for _, name := range []string{"entrypoint", "cmd"} {
		argv, err := parseCommand(in(name))
		if err != nil {
			bad(name, in(name), "%v", err)
		}
		if name == "entrypoint" {
			b.Entrypoint = argv
		} else {
			b.Cmd = argv
		}
	}

	envKeys := map[string]bool{}
	for _, line := range lines(in("env")) {
		k, v, ok := strings.Cut(line, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case !ok || !envKeyPattern.MatchString(k):
			bad("env", line, "each line must be KEY=VALUE with KEY of letters, digits and '_', not starting with a digit (e.g. GIN_MODE=release)")
		case envKeys[k]:
			bad("env", line, "variable %s is given twice", k)
		default:
			envKeys[k] = true
			b.Env = append(b.Env, k+"="+v)
		}
	}

	if w := in("workdir"); w != "" {
		if !path.IsAbs(w) {
			bad("workdir", w, "must be an absolute path in the image, e.g. /app")
		}
		b.Workdir = w
	}

	for _, line := range lines(in("labels")) {
		k, v, ok := strings.Cut(line, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case !ok || !labelKeyPattern.MatchString(k):
			bad("labels", line, "each line must be key=value with a key of letters, digits and ._/- (e.g. org.opencontainers.image.source=https://github.com/org/app)")
		case hasKey(b.Labels, k):
			bad("labels", line, "label %s is given twice", k)
		default:
			if b.Labels == nil {
				b.Labels = map[string]string{}
			}
			b.Labels[k] = v
		}
	}

	for _, pl := range List(in("platforms")) {
		if err := checkPlatform(pl); err != nil {
			bad("platforms", pl, "%v", err)
			continue
		}
		if !contains(b.Platforms, pl) {
			b.Platforms = append(b.Platforms, pl)
		}
	}
	return b
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

var (
	envKeyPattern   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	labelKeyPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]*$`)
	platformPattern = regexp.MustCompile(`^([a-z0-9]+)/([a-z0-9_-]+)(?:/([a-z0-9.]+))?$`)
	// fileVarPattern finds ${...} and $NAME in a files source path.
	fileVarPattern = regexp.MustCompile(`\$\{[^}]*\}?|\$[A-Za-z_][A-Za-z0-9_]*`)
)

// lines splits a multi-line input into trimmed, non-empty lines.
func lines(v string) []string {
	var out []string
	for _, l := range strings.Split(v, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// parseFile checks one files line, src:dest.
func parseFile(line, workspace string) (File, error) {
	src, dest, ok := strings.Cut(line, ":")
	src, dest = strings.TrimSpace(src), strings.TrimSpace(dest)
	if !ok || src == "" || dest == "" {
		return File{}, errors.New("each line must be src:dest, a workspace path and an absolute path in the image (e.g. dist/${TARGETARCH}/app:/app)")
	}
	if !path.IsAbs(dest) {
		return File{}, fmt.Errorf("destination %s must be an absolute path in the image, e.g. /app", invalid.Quote(dest))
	}
	if strings.Contains(dest, "$") {
		return File{}, fmt.Errorf("destination %s has a variable; ${TARGETOS}, ${TARGETARCH} and ${TARGETVARIANT} are expanded only in the source path", invalid.Quote(dest))
	}
	for _, m := range fileVarPattern.FindAllString(src, -1) {
		name, braced := strings.CutPrefix(m, "${")
		name, closed := strings.CutSuffix(name, "}")
		switch {
		case braced && !closed:
			return File{}, fmt.Errorf("source %s has an unclosed ${", invalid.Quote(src))
		case !braced && contains(fileVariables, strings.TrimPrefix(m, "$")):
			return File{}, fmt.Errorf("source %s uses %s; write ${%s}", invalid.Quote(src), m, strings.TrimPrefix(m, "$")) // m is $TARGETOS, $TARGETARCH or $TARGETVARIANT
		case braced && !contains(fileVariables, name):
			return File{}, fmt.Errorf("source %s uses %s; only ${TARGETOS}, ${TARGETARCH} and ${TARGETVARIANT} are expanded", invalid.Quote(src), m)
		}
	}
	if filepath.IsAbs(src) {
		return File{}, fmt.Errorf("source %s must be relative to the workspace (GITHUB_WORKSPACE)", invalid.Quote(src))
	}
	resolved, inside, err := within(workspace, src)
	if err != nil {
		return File{}, err
	} else if !inside {
		return File{}, fmt.Errorf("source %s leaves the workspace; files are copied from inside GITHUB_WORKSPACE only", invalid.Quote(src))
	}
	// A source that exists already (without platform variables) must be
	// a file or a directory: a named pipe or a device is never read.
	if !strings.Contains(src, "$") {
		if fi, err := os.Stat(resolved); err == nil && !fi.Mode().IsRegular() && !fi.IsDir() {
			return File{}, fmt.Errorf("source %s is %s; files copies regular files and directories", invalid.Quote(src), safefile.Kind(fi.Mode()))
		}
	}
	return File{Src: src, Dest: dest}, nil
}

// parseCommand reads entrypoint or cmd: a JSON array of strings (exec form)
// or a plain command line split on whitespace. "" gives nil (keep the base
// image's); "[]" gives an empty, non-nil slice (clear it).
func parseCommand(v string) ([]string, error) {
	if v == "" {
		return nil, nil
	}
	if strings.HasPrefix(v, "[") {
		var argv []string
		if err := json.Unmarshal([]byte(v), &argv); err != nil {
			return nil, fmt.Errorf("is not a JSON array of strings (%v); write e.g. [\"/app\", \"serve\"], or a plain command line without quotes", err)
		}
		if argv == nil {
			argv = []string{}
		}
		return argv, nil
	}
	if strings.ContainsAny(v, "\"'\\") {
		return nil, errors.New("has quotes or backslashes, which a plain command line does not parse (it is split on whitespace only); write it as a JSON array, e.g. [\"sh\", \"-c\", \"echo hi\"]")
	}
	return strings.Fields(v), nil
}

// knownArchitectures are the OCI platform architectures (GOARCH values);
// archAliases maps common other spellings to them for the error message.
var (
	knownArchitectures = []string{"amd64", "arm64", "arm", "386", "ppc64le", "ppc64", "s390x", "riscv64", "loong64", "mips64le", "mips64", "mipsle", "mips", "wasm"}
	archAliases        = map[string]string{"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm/v7", "armv7": "arm/v7", "armv7l": "arm/v7", "armv6": "arm/v6", "i386": "386", "i686": "386", "x86": "386"}
)

func checkPlatform(p string) error {
	m := platformPattern.FindStringSubmatch(p)
	if m == nil {
		return errors.New("must be os/arch or os/arch/variant in lower case, e.g. linux/amd64 or linux/arm/v7")
	}
	if arch := m[2]; !contains(knownArchitectures, arch) {
		if alias, ok := archAliases[arch]; ok {
			return fmt.Errorf("architecture %s is written %s/%s in OCI platforms", arch, m[1], alias)
		}
		return fmt.Errorf("architecture %s is not one of %s", invalid.Quote(arch), strings.Join(knownArchitectures, ", "))
	}
	return nil
}

// joinAnd joins names as "a, b and c".
func joinAnd(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
