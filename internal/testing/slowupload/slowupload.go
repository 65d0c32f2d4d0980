// Package slowupload wraps a registry handler so that blob upload bodies
// arrive slowly: a push then lasts long enough to be cancelled in the
// middle, in the end-to-end tests and the demo's container runs.
package slowupload

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Handler serves Next with blob upload bodies (PATCH and PUT under
// /blobs/uploads/) read at most 32 KiB every 20 ms, about 1.6 MB/s. Started
// is closed when the first upload body byte arrives.
type Handler struct {
	Next    http.Handler
	Started chan struct{}
	once    sync.Once
}

// New returns a Handler for next with a fresh Started channel.
func New(next http.Handler) *Handler {
	return &Handler{Next: next, Started: make(chan struct{})}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.URL.Path, "/blobs/uploads/") && (r.Method == http.MethodPatch || r.Method == http.MethodPut) {
		r.Body = &body{ReadCloser: r.Body, ctx: r.Context(), first: func() { h.once.Do(func() { close(h.Started) }) }}
	}
	h.Next.ServeHTTP(w, r)
}

type body struct {
	io.ReadCloser
	ctx   context.Context
	first func()
}

func (b *body) Read(p []byte) (int, error) {
	if len(p) > 32<<10 {
		p = p[:32<<10]
	}
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.first()
		select {
		case <-time.After(20 * time.Millisecond):
		case <-b.ctx.Done():
		}
	}
	return n, err
}
