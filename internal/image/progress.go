package image

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/org/ecr-action/internal/units"
)

// progress follows the layer uploads of one push. The Actions log is not a
// terminal, so it prints a line every interval while bytes move, not a bar.
type progress struct {
	mu     sync.Mutex
	layers map[v1.Hash]*layerProgress
	order  []v1.Hash
	// pushed is every layer the push handed to the registry client, with
	// the repository it came from when it is a registry's layer (ECR can
	// mount it when that is another repository of the target's registry).
	pushed map[v1.Hash]*name.Repository
}

type layerProgress struct {
	digest v1.Hash
	size   int64
	sent   atomic.Int64
	// file is the open layer file when the upload reads one directly: the
	// kernel copies it (sendfile), so the bytes sent are its offset.
	fileMu sync.Mutex
	file   *os.File
}

func newProgress() *progress {
	return &progress{layers: map[v1.Hash]*layerProgress{}, pushed: map[v1.Hash]*name.Repository{}}
}

// saw records a layer of the push and where it could be mounted from.
func (p *progress) saw(l v1.Layer, from *name.Repository) {
	h, err := l.Digest()
	if err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if cur, ok := p.pushed[h]; !ok || cur == nil {
		p.pushed[h] = from
	}
}

// layerCounts sorts the push's layers: uploaded (bytes sent), mounted (the
// registry answered a mount with 201), or already in the repository.
// unmounted counts uploaded layers that could have been mounted from
// another repository of the registry, and from lists those repositories.
func (p *progress) layerCounts(target name.Repository, mounted func(v1.Hash) bool) (up, mnt, existing, unmounted int, from []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := map[string]bool{}
	for h, src := range p.pushed {
		_, sent := p.layers[h]
		switch {
		case sent:
			up++
			if src != nil && src.RegistryStr() == target.RegistryStr() && src.RepositoryStr() != target.RepositoryStr() {
				unmounted++
				if !seen[src.RepositoryStr()] {
					seen[src.RepositoryStr()] = true
					from = append(from, src.RepositoryStr())
				}
			}
		case mounted(h):
			mnt++
		default:
			existing++
		}
	}
	slices.Sort(from)
	return up, mnt, existing, unmounted, from
}

// started registers an upload of a layer (again, on a retry).
func (p *progress) started(h v1.Hash, size int64) *layerProgress {
	p.mu.Lock()
	defer p.mu.Unlock()
	lp, ok := p.layers[h]
	if !ok {
		lp = &layerProgress{digest: h, size: size}
		p.layers[h] = lp
		p.order = append(p.order, h)
	}
	lp.sent.Store(0)
	return lp
}

// poll brings file-backed counters up to date.
func (p *progress) poll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, lp := range p.layers {
		lp.fileMu.Lock()
		if lp.file != nil {
			if off, err := lp.file.Seek(0, io.SeekCurrent); err == nil {
				lp.sent.Store(off)
			} else {
				// Closed: the HTTP client is done with it.
				lp.sent.Store(lp.size)
				lp.file = nil
			}
		}
		lp.fileMu.Unlock()
	}
}

// uploaded returns how many layers were uploaded and their bytes.
func (p *progress) uploaded() (int, int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var n int64
	for _, lp := range p.layers {
		n += lp.size
	}
	return len(p.layers), n
}

// line describes the uploads in progress and the total.
func (p *progress) line(elapsed time.Duration, prevSent int64, every time.Duration) (string, int64) {
	p.poll()
	p.mu.Lock()
	defer p.mu.Unlock()
	var sent, total int64
	var active []string
	for _, h := range p.order {
		lp := p.layers[h]
		s := min(lp.sent.Load(), lp.size)
		sent += s
		total += lp.size
		if s < lp.size {
			active = append(active, fmt.Sprintf("%s %s/%s", shortDigest(h), units.Bytes(s), units.Bytes(lp.size)))
		}
	}
	rate := float64(sent-prevSent) / every.Seconds()
	msg := fmt.Sprintf("uploading: %s of %s in %d layer(s) started, %s/s, %s elapsed", units.Bytes(sent), units.Bytes(total), len(p.order), units.Bytes(int64(rate)), elapsed.Round(time.Second))
	if len(active) > 0 {
		msg += "; in flight: " + strings.Join(active, ", ")
	}
	return msg, sent
}

// report logs a progress line every interval until ctx is done, but only
// while bytes are moving.
func (p *progress) report(ctx context.Context, every time.Duration, logf func(string, ...any)) {
	if logf == nil || every <= 0 {
		return
	}
	start := time.Now()
	t := time.NewTicker(every)
	defer t.Stop()
	var prev int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			msg, sent := p.line(time.Since(start), prev, every)
			if sent != prev {
				logf("%s", msg)
			}
			prev = sent
		}
	}
}

func shortDigest(h v1.Hash) string {
	if len(h.Hex) > 12 {
		return h.Algorithm + ":" + h.Hex[:12]
	}
	return h.String()
}

// countingLayer reports the bytes read from a layer while it is uploaded.
type countingLayer struct {
	v1.Layer
	p *progress
}

func (l *countingLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	h, err := l.Layer.Digest()
	if err != nil {
		return rc, nil
	}
	size, _ := l.Layer.Size()
	lp := l.p.started(h, size)
	if f, ok := rc.(*os.File); ok {
		// Hand the file itself to the HTTP client so it can use sendfile;
		// progress reads the file offset instead.
		lp.fileMu.Lock()
		lp.file = f
		lp.fileMu.Unlock()
		return f, nil
	}
	return &countingReader{rc: rc, lp: lp}, nil
}

type countingReader struct {
	rc io.ReadCloser
	lp *layerProgress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.rc.Read(b)
	c.lp.sent.Add(int64(n))
	return n, err
}

func (c *countingReader) Close() error { return c.rc.Close() }

// wrapLayer counts l's uploads and keeps it mountable when it was.
func (p *progress) wrapLayer(l v1.Layer) v1.Layer {
	if ml, ok := l.(*remote.MountableLayer); ok {
		repo := ml.Reference.Context()
		p.saw(ml.Layer, &repo)
		return &remote.MountableLayer{Layer: &countingLayer{Layer: ml.Layer, p: p}, Reference: ml.Reference}
	}
	p.saw(l, nil)
	return &countingLayer{Layer: l, p: p}
}

// progressImage is img with counted layers.
type progressImage struct {
	v1.Image
	p *progress
}

func (i *progressImage) Layers() ([]v1.Layer, error) {
	ls, err := i.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for k, l := range ls {
		out[k] = i.p.wrapLayer(l)
	}
	return out, nil
}

func (i *progressImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	l, err := i.Image.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	return i.p.wrapLayer(l), nil
}

// ConfigLayer keeps the config blob mountable when the image's was (a
// remote image's config is a layer of its repository).
func (i *progressImage) ConfigLayer() (v1.Layer, error) { return partial.ConfigLayer(i.Image) }

// progressIndex is idx whose images have counted layers. (v1.ImageIndex
// has a method named ImageIndex, so it cannot be embedded.)
type progressIndex struct {
	idx v1.ImageIndex
	p   *progress
}

func (i *progressIndex) MediaType() (types.MediaType, error)       { return i.idx.MediaType() }
func (i *progressIndex) Digest() (v1.Hash, error)                  { return i.idx.Digest() }
func (i *progressIndex) Size() (int64, error)                      { return i.idx.Size() }
func (i *progressIndex) IndexManifest() (*v1.IndexManifest, error) { return i.idx.IndexManifest() }
func (i *progressIndex) RawManifest() ([]byte, error)              { return i.idx.RawManifest() }

func (i *progressIndex) Image(h v1.Hash) (v1.Image, error) {
	img, err := i.idx.Image(h)
	if err != nil {
		return nil, err
	}
	return &progressImage{Image: img, p: i.p}, nil
}

func (i *progressIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	idx, err := i.idx.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	return &progressIndex{idx: idx, p: i.p}, nil
}

// counted returns the artifact's taggable with counted layers.
func (p *progress) counted(a *Artifact) remote.Taggable {
	if a.Index != nil {
		return &progressIndex{idx: a.Index, p: p}
	}
	return &progressImage{Image: a.Image, p: p}
}
