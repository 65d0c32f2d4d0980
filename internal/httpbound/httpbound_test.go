package httpbound

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var short = Limits{Connect: time.Second, ResponseHeader: 300 * time.Millisecond, Stall: 300 * time.Millisecond}

// timeoutErr reports err as the retry rules see it: a net.Error timing out.
func timeoutErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestSlowHeadersTimeOut(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release // slow loris: the status line never comes
	}))
	defer srv.Close()
	defer close(release)
	start := time.Now()
	_, err := newClient(short).Get(srv.URL)
	if err == nil || !timeoutErr(err) {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %v", took)
	}
}

func TestStalledBodyFailsAsRetryable(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000000")
		w.Write(bytes.Repeat([]byte("x"), 1000))
		w.(http.Flusher).Flush()
		<-release // the blob never finishes
	}))
	defer srv.Close()
	defer close(release)
	resp, err := newClient(short).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	start := time.Now()
	_, err = io.Copy(io.Discard, resp.Body)
	var se *StallError
	if !errors.As(err, &se) || !timeoutErr(err) || !strings.Contains(err.Error(), "receiving the response body") {
		t.Fatalf("err = %v, want a StallError that is a timeout", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %v", took)
	}
}

func TestSlowButMovingBodyIsNotAStall(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for range 24 {
			w.Write([]byte("chunk"))
			w.(http.Flusher).Flush()
			time.Sleep(50 * time.Millisecond) // each gap far shorter than the stall timeout, all together longer
		}
	}))
	defer srv.Close()
	// A stall limit 20 times each gap: a loaded machine may stretch a
	// 50 ms sleep, not by a second.
	l := short
	l.Stall = time.Second
	resp, err := newClient(l).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || len(b) != 24*5 {
		t.Fatalf("read %d bytes, %v", len(b), err)
	}
}

func TestEndlessBodyIsBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte(" "), 64<<10)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	resp, err := newClient(short.WithMaxBody(1 << 20)).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	var tl *TooLargeError
	if !errors.As(err, &tl) || n > 1<<20 {
		t.Fatalf("read %d bytes, err %v; want a TooLargeError at 1 MiB", n, err)
	}
	// A declared length over the bound fails before the body is read.
	srv2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "5000000")
		w.Write(make([]byte, 5000000))
	}))
	defer srv2.Close()
	if _, err := newClient(short.WithMaxBody(1 << 20)).Get(srv2.URL); !errors.As(err, &tl) {
		t.Errorf("a 5 MB Content-Length: err %v, want a TooLargeError", err)
	}
}

func TestPeerThatStopsReadingFailsTheUpload(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release // never reads the body
	}))
	defer srv.Close()
	defer close(release)
	start := time.Now()
	_, err := newClient(short).Post(srv.URL, "application/octet-stream", bytes.NewReader(make([]byte, 256<<20)))
	if err == nil || !timeoutErr(err) {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %v", took)
	}
}

func TestFromEnv(t *testing.T) {
	l, err := FromEnv(func(k string) string { return map[string]string{EnvStall: "2s"}[k] })
	if err != nil || l.Stall != 2*time.Second || l.Connect != DefaultConnect || l.ResponseHeader != DefaultResponseHeader {
		t.Errorf("FromEnv = %+v, %v", l, err)
	}
	if _, err := FromEnv(func(k string) string { return map[string]string{EnvConnect: "soon"}[k] }); err == nil || !strings.Contains(err.Error(), EnvConnect) {
		t.Errorf("a bad duration: %v", err)
	}
}

// newClient is an *http.Client over NewTransport(l), without an overall
// timeout (a long transfer is fine while it moves).
func newClient(l Limits) *http.Client {
	return &http.Client{Transport: NewTransport(l)}
}
