package build

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"

	"github.com/org/ecr-action/internal/safefile"
)

// workspace resolves files' sources and keeps them inside the workspace.
type workspace struct {
	root string // symbolic links resolved
}

func newWorkspace(dir string) (*workspace, error) {
	if dir == "" {
		return nil, errors.New("no workspace directory")
	}
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("workspace %s: %w", dir, err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	return &workspace{root: abs}, nil
}

// expand substitutes the platform variables in src.
func expand(src string, p v1.Platform) string {
	return strings.NewReplacer(
		"${TARGETOS}", p.OS,
		"${TARGETARCH}", p.Architecture,
		"${TARGETVARIANT}", p.Variant,
	).Replace(src)
}

func (w *workspace) inside(p string) bool {
	rel, err := filepath.Rel(w.root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// resolve returns the real path of src for platform p, checking it exists
// and stays in the workspace.
func (w *workspace) resolve(src string, p v1.Platform) (string, error) {
	rel := expand(src, p)
	if filepath.IsAbs(rel) {
		return "", fmt.Errorf("files source %q must be relative to the workspace", rel)
	}
	joined := filepath.Join(w.root, rel)
	if !w.inside(joined) {
		return "", fmt.Errorf("files source %q leaves the workspace", rel)
	}
	real, err := filepath.EvalSymlinks(joined)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", &missingSource{rel: rel, path: joined}
		}
		return "", fmt.Errorf("files source %q: %w", rel, err)
	}
	if !w.inside(real) {
		return "", fmt.Errorf("files source %q is a link to %s, outside the workspace", rel, real)
	}
	return real, nil
}

// checkLink rejects a link target (joined to the link's directory) that
// leaves the workspace, by its name or through links it passes on the way.
// A target that does not exist is judged by its name alone.
func (w *workspace) checkLink(target string) error {
	if !w.inside(target) {
		return errors.New("outside the workspace")
	}
	real, err := filepath.EvalSymlinks(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case !w.inside(real):
		return fmt.Errorf("which resolves to %s, outside the workspace", real)
	}
	return nil
}

// missingSource is a files source that does not exist; it matches
// fs.ErrNotExist, which is what drops a platform from the default ones.
type missingSource struct{ rel, path string }

func (e *missingSource) Error() string {
	return fmt.Sprintf("files source %q does not exist (%s)", e.rel, e.path)
}

func (e *missingSource) Unwrap() error { return fs.ErrNotExist }

// check tells whether every files line has its source for p.
func (w *workspace) check(files []File, p v1.Platform) error {
	for _, f := range files {
		if _, err := w.resolve(f.Src, p); err != nil {
			return fmt.Errorf("files line %s:%s: %w", f.Src, f.Dest, err)
		}
	}
	return nil
}

// layerBuilder writes one compressed layer per distinct (source, dest,
// media type), shared by the platforms whose source is the same.
type layerBuilder struct {
	// ctx ends a build between entries and during copies: a files line
	// may copy a large tree, and a cancel must end it in seconds.
	ctx   context.Context
	ws    *workspace
	dir   string
	epoch time.Time
	cache map[layerKey]*fileLayer
	files map[FileDigest]bool // the sources' digests, for the provenance
}

type layerKey struct {
	src, dest string // src expanded, relative to the workspace
	mediaType types.MediaType
}

func (lb *layerBuilder) layer(f File, p v1.Platform, mt types.MediaType) (v1.Layer, error) {
	src, err := lb.ws.resolve(f.Src, p)
	if err != nil {
		return nil, fmt.Errorf("files line %s:%s: %w", f.Src, f.Dest, err)
	}
	key := layerKey{src: expand(f.Src, p), dest: f.Dest, mediaType: mt}
	l, ok := lb.cache[key]
	if !ok {
		if l, err = lb.write(src, path.Base(filepath.ToSlash(key.src)), f.Dest, mt); err != nil {
			return nil, fmt.Errorf("files line %s:%s: %w", f.Src, f.Dest, err)
		}
		lb.cache[key] = l
	}
	fd := FileDigest{Path: path.Clean(filepath.ToSlash(key.src)), Digest: l.content}
	if l.content == (v1.Hash{}) {
		fd.Dir, fd.Digest = true, l.diffID
	}
	lb.files[fd] = true
	return l, nil
}

// fileDigests lists the sources' digests, sorted.
func (lb *layerBuilder) fileDigests() []FileDigest {
	out := make([]FileDigest, 0, len(lb.files))
	for fd := range lb.files {
		out = append(out, fd)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Digest.String() < out[j].Digest.String()
	})
	return out
}

// write tars src (the real path of the source named name) at dest into a
// gzip file in lb.dir, hashing the tar stream (diff ID) and the compressed
// stream (digest) in the same pass.
func (lb *layerBuilder) write(src, name, dest string, mt types.MediaType) (_ *fileLayer, err error) {
	out, err := os.CreateTemp(lb.dir, "build-layer-*.tar.gz")
	if err != nil {
		return nil, fmt.Errorf("creating the layer file: %w", err)
	}
	defer func() {
		out.Close()
		if err != nil {
			os.Remove(out.Name())
		}
	}()
	digest, diffID := sha256.New(), sha256.New()
	size := &counter{}
	bw := bufio.NewWriterSize(io.MultiWriter(out, digest, size), 256<<10)
	zw, err := gzip.NewWriterLevel(bw, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(io.MultiWriter(zw, diffID))
	content, err := lb.addTree(tw, src, name, dest)
	if err != nil {
		return nil, err
	}
	for _, c := range []io.Closer{tw, zw} {
		if err := c.Close(); err != nil {
			return nil, err
		}
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	if err := out.Close(); err != nil {
		return nil, err
	}
	l := &fileLayer{path: out.Name(), digest: hashOf(digest), diffID: hashOf(diffID), size: size.n, mediaType: mt}
	if content != nil {
		l.content = hashOf(content)
	}
	return l, nil
}

// addTree writes the parent directories of the destination, then src. A
// file copied into a directory (dest ending in '/') keeps the name the
// files line gave it, even when src is a link to another name. For a
// regular file src it returns the sha256 of its content, hashed as it is
// copied; nil for a directory.
func (lb *layerBuilder) addTree(tw *tar.Writer, src, name, dest string) (hash.Hash, error) {
	info, err := os.Stat(src)
	if err != nil {
		return nil, err
	}
	isDir := strings.HasSuffix(dest, "/")
	dest = path.Clean("/" + dest)
	if info.Mode().IsRegular() && isDir {
		dest = path.Join(dest, name)
	}
	// Parent directories, outermost first.
	var parents []string
	for d := path.Dir(dest); d != "/" && d != "."; d = path.Dir(d) {
		parents = append([]string{d}, parents...)
	}
	for _, d := range parents {
		if err := tw.WriteHeader(lb.header(d+"/", tar.TypeDir, 0o755, 0, "")); err != nil {
			return nil, err
		}
	}
	if info.Mode().IsRegular() {
		h := sha256.New()
		return h, lb.addFile(tw, src, dest, info, h)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("%s is neither a file nor a directory", src)
	}
	if dest != "/" {
		if err := tw.WriteHeader(lb.header(dest+"/", tar.TypeDir, 0o755, 0, "")); err != nil {
			return nil, err
		}
	}
	return nil, lb.addDir(tw, src, dest)
}

// addDir copies a directory tree in lexical order; links stay links.
func (lb *layerBuilder) addDir(tw *tar.Writer, dir, dest string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		if err := lb.ctx.Err(); err != nil {
			return err
		}
		full := filepath.Join(dir, e.Name())
		target := path.Join(dest, e.Name())
		info, err := os.Lstat(full)
		if err != nil {
			return err
		}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(full)
			if err != nil {
				return err
			}
			if filepath.IsAbs(link) {
				return fmt.Errorf("%s is a link to the absolute path %s; use a relative link inside the workspace", full, link)
			}
			if err := lb.ws.checkLink(filepath.Join(dir, link)); err != nil {
				return fmt.Errorf("%s is a link to %s, %w", full, link, err)
			}
			if err := tw.WriteHeader(lb.header(target, tar.TypeSymlink, 0o777, 0, link)); err != nil {
				return err
			}
		case info.IsDir():
			if err := tw.WriteHeader(lb.header(target+"/", tar.TypeDir, 0o755, 0, "")); err != nil {
				return err
			}
			if err := lb.addDir(tw, full, target); err != nil {
				return err
			}
		case info.Mode().IsRegular():
			if err := lb.addFile(tw, full, target, info, nil); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s is not a regular file, a directory or a link", full)
		}
	}
	return nil
}

// addFile copies one regular file; content, when not nil, also gets every
// byte copied.
func (lb *layerBuilder) addFile(tw *tar.Writer, src, dest string, info fs.FileInfo, content hash.Hash) error {
	mode := int64(0o644)
	if info.Mode()&0o111 != 0 {
		mode = 0o755
	}
	// A regular file, checked again as it is opened (never a named pipe
	// put in its place), inside the workspace.
	r, _, err := safefile.Open(src, []string{lb.ws.root})
	if err != nil {
		return err
	}
	defer r.Close()
	if err := tw.WriteHeader(lb.header(dest, tar.TypeReg, mode, info.Size(), "")); err != nil {
		return err
	}
	var w io.Writer = tw
	if content != nil {
		w = io.MultiWriter(tw, content)
	}
	n, err := io.Copy(w, ctxReader{lb.ctx, r})
	if err != nil {
		return err
	}
	if n != info.Size() {
		return fmt.Errorf("%s changed size while it was read", src)
	}
	return nil
}

// ctxReader ends a copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// header is a normalized entry: owner root, no names, the epoch as time.
func (lb *layerBuilder) header(name string, typ byte, mode, size int64, link string) *tar.Header {
	return &tar.Header{
		Name:     strings.TrimPrefix(name, "/"),
		Typeflag: typ,
		Mode:     mode,
		Size:     size,
		Linkname: link,
		ModTime:  lb.epoch,
		Format:   tar.FormatPAX,
	}
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func hashOf(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}
}

// fileLayer is a built layer, compressed in a file, with both digests known.
type fileLayer struct {
	path           string
	digest, diffID v1.Hash
	content        v1.Hash // of the source file; zero for a directory
	size           int64
	mediaType      types.MediaType
}

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *fileLayer) Size() (int64, error)                { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }

func (l *fileLayer) Uncompressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &readCloser{Reader: zr, close: func() error { zr.Close(); return f.Close() }}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r *readCloser) Close() error { return r.close() }
