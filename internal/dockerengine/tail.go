package dockerengine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// tailSize is how much of the end of the stream tailWriter keeps: the tar
// end-of-archive marker, or an error the engine appended.
const tailSize = 16 << 10

// tarEnd is tar's end-of-archive marker: two zero blocks. Every tarball the
// engine writes (Go's archive/tar) ends with it.
var tarEnd = make([]byte, 1024)

// tailWriter passes writes to w and keeps the last tailSize bytes.
type tailWriter struct {
	w    io.Writer
	werr error // the error w returned, if any
	tail []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if err != nil {
		t.werr = err
	}
	t.keep(p[:n])
	return n, err
}

func (t *tailWriter) keep(p []byte) {
	if len(p) >= tailSize {
		t.tail = append(t.tail[:0], p[len(p)-tailSize:]...)
		return
	}
	t.tail = append(t.tail, p...)
	if len(t.tail) > 2*tailSize {
		t.tail = append(t.tail[:0], t.tail[len(t.tail)-tailSize:]...)
	}
}

// check tells whether the stream was a whole tarball. Once the engine has
// started answering 200 it cannot change the status, so it reports a later
// failure by appending a JSON message ({"errorDetail":{"message":"..."},
// "error":"..."}) to what it sent.
func (t *tailWriter) check() error {
	if bytes.HasSuffix(t.tail, tarEnd) {
		return nil
	}
	trimmed := bytes.TrimRight(t.tail, "\r\n ")
	if i := bytes.LastIndex(trimmed, []byte(`{"error`)); i >= 0 {
		var m struct {
			Detail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
			Error string `json:"error"`
		}
		if json.Unmarshal(trimmed[i:], &m) == nil {
			msg := m.Detail.Message
			if msg == "" {
				msg = m.Error
			}
			if msg != "" {
				return fmt.Errorf("the engine failed partway through the tarball, which is incomplete: %s", msg)
			}
		}
	}
	if len(t.tail) == 0 {
		return errors.New("the engine answered with an empty body instead of a tarball")
	}
	return errors.New("the tarball does not end with tar's end-of-archive marker, so it is incomplete")
}
