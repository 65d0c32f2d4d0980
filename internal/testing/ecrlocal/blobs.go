package ecrlocal

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sync"
)

// copyBufferSize is the buffer for streaming blob bodies to disk: large enough
// to keep syscalls few, small enough that 20 parallel uploads stay far below
// the memory target.
const copyBufferSize = 256 << 10

var digestPattern = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)

// blobStore keeps blobs as content-addressed files: <dir>/blobs/sha256/<hex>.
// Uploads in progress live in <dir>/uploads until their digest is verified.
type blobStore struct {
	dir       string
	temporary bool
	bufs      sync.Pool
}

func newBlobStore(dir string) (*blobStore, error) {
	temporary := dir == ""
	if temporary {
		d, err := os.MkdirTemp("", "ecrlocal-")
		if err != nil {
			return nil, fmt.Errorf("creating a temporary blob directory: %w", err)
		}
		dir = d
	}
	for _, sub := range []string{"blobs/sha256", "uploads"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("creating blob directory %q: %w", dir, err)
		}
	}
	bs := &blobStore{dir: dir, temporary: temporary}
	bs.bufs.New = func() any { b := make([]byte, copyBufferSize); return &b }
	return bs, nil
}

func (b *blobStore) close() error {
	if !b.temporary {
		return nil
	}
	if err := os.RemoveAll(b.dir); err != nil {
		return fmt.Errorf("removing temporary blob directory %q: %w", b.dir, err)
	}
	return nil
}

// path returns the file of a verified blob. digest must match digestPattern.
func (b *blobStore) path(digest string) string {
	return filepath.Join(b.dir, "blobs", "sha256", digest[len("sha256:"):])
}

// open opens a stored blob.
func (b *blobStore) open(digest string) (*os.File, error) {
	return os.Open(b.path(digest))
}

// upload is one blob upload in progress: a temporary file and the running
// sha256 of everything written to it, so the content is hashed exactly once.
type upload struct {
	id   string
	repo string

	mu     sync.Mutex // serializes chunks of one upload
	file   *os.File
	hash   hash.Hash
	offset int64
}

func (b *blobStore) newUpload(repo string) (*upload, error) {
	id, err := randomID()
	if err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(b.dir, "uploads", id))
	if err != nil {
		return nil, fmt.Errorf("creating upload file: %w", err)
	}
	return &upload{id: id, repo: repo, file: f, hash: sha256.New()}, nil
}

// write streams r into the upload and the hash. The caller holds u.mu.
func (b *blobStore) write(u *upload, r io.Reader) (int64, error) {
	bufp := b.bufs.Get().(*[]byte)
	defer b.bufs.Put(bufp)
	n, err := io.CopyBuffer(io.MultiWriter(u.file, u.hash), struct{ io.Reader }{r}, *bufp)
	u.offset += n
	return n, err
}

// errDigestMismatch means the uploaded bytes do not hash to the digest the
// client named.
var errDigestMismatch = errors.New("digest does not match the uploaded content")

// commit verifies the upload against digest and moves it into the store. The
// caller holds u.mu. The upload is finished either way.
func (b *blobStore) commit(u *upload, digest string) (int64, error) {
	got := "sha256:" + hex.EncodeToString(u.hash.Sum(nil))
	name := u.file.Name()
	if err := u.file.Close(); err != nil {
		_ = os.Remove(name)
		return 0, fmt.Errorf("closing upload %s: %w", u.id, err)
	}
	if got != digest {
		_ = os.Remove(name)
		return 0, fmt.Errorf("%w: uploaded content is %s, client said %s", errDigestMismatch, got, digest)
	}
	if err := os.Rename(name, b.path(digest)); err != nil {
		_ = os.Remove(name)
		return 0, fmt.Errorf("storing blob %s: %w", digest, err)
	}
	return u.offset, nil
}

// discard drops an unfinished upload.
func (u *upload) discard() {
	name := u.file.Name()
	_ = u.file.Close()
	_ = os.Remove(name)
}

func randomID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generating an ID: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
