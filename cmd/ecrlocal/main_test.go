package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRunPrintsURLAndServesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-account", "012345678901"}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the first line: %v", err)
	}
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "ecrlocal listening on ")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("first line = %q, want \"ecrlocal listening on http://127.0.0.1:PORT\"", line)
	}
	go io.Copy(io.Discard, pr)
	resp, err := http.Get(url + "/_ecrlocal/calls")
	if err != nil {
		t.Fatalf("GET %s/_ecrlocal/calls: %v", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /_ecrlocal/calls = %d, want 200", resp.StatusCode)
	}
	resp, err = http.Get(url + "/_ecrlocal/registry-calls")
	if err != nil {
		t.Fatalf("GET %s/_ecrlocal/registry-calls: %v", url, err)
	}
	var rep struct {
		Calls         map[string]int `json:"calls"`
		UploadedBytes *int64         `json:"uploaded_bytes"`
	}
	err = json.NewDecoder(resp.Body).Decode(&rep)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || rep.Calls == nil || rep.UploadedBytes == nil {
		t.Errorf("GET /_ecrlocal/registry-calls = %d %+v (decoding: %v), want 200 with calls and uploaded_bytes", resp.StatusCode, rep, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run returned %v after cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after its context was cancelled")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-account", "12345"},
		{"-addr", "127.0.0.1:0", "extra"},
		{"-nosuchflag"},
		{"-vulndb", "testdata/does-not-exist.json"},
		{"-scan-delay", "-1s"},
		{"-scan-delay", "soon"},
	} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded, want an error", args)
		}
	}
}

func TestUsageDocumentsTheCounters(t *testing.T) {
	var stderr bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, io.Discard, &stderr); err != nil {
		t.Fatalf("run(-h) = %v, want nil", err)
	}
	for _, want := range []string{
		"/_ecrlocal/calls", "/_ecrlocal/registry-calls", `"uploaded_bytes"`,
		"upload.mount", "manifest.put", "-addr", "-data",
		"-vulndb", "-scan-delay", "fixed_version", "DescribeImageScanFindings",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("usage does not mention %q:\n%s", want, stderr.String())
		}
	}
}

func TestRunLoadsTheVulnerabilityDatabase(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`[{"id":"CVE-2099-0001","package":"p","severity":"SEVERE"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"-vulndb", bad}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "SEVERE") {
		t.Errorf("run with a bad database = %v, want an error about its severity", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-vulndb", "../../testdata/scan/vulndb.json", "-scan-delay", "2s"}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ecrlocal listening on ") {
		t.Fatalf("first line = %q (%v), want the URL", line, err)
	}
	go io.Copy(io.Discard, pr)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run with the test database: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after its context was cancelled")
	}
}
