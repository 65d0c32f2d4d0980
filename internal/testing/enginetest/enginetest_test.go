package enginetest

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// get sends one request to the engine over its socket.
func get(t *testing.T, e *Engine, method, uri string) (int, http.Header, string) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", e.Socket)
	}}}
	req, err := http.NewRequest(method, "http://docker"+uri, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, uri, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func message(t *testing.T, body string) string {
	t.Helper()
	var m struct{ Message string }
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("error body %q is not JSON: %v", body, err)
	}
	return m.Message
}

func TestEngineAnswers(t *testing.T) {
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	e := Start(t, map[string]v1.Image{"app:v1": img})
	for _, tc := range []struct {
		name, method, uri string
		wantStatus        int
		wantMessage       string // of a JSON error body
	}{
		{"ping", "GET", "/_ping", 200, ""},
		{"versioned ping", "HEAD", "/v1.44/_ping", 200, ""},
		{"save", "GET", "/v1.44/images/get?names=app%3Av1", 200, ""},
		{"unknown image", "GET", "/v1.44/images/get?names=app%3Av2", 404, "reference does not exist"},
		{"no names", "GET", "/v1.44/images/get", 400, "no image names given"},
		{"version too new", "GET", "/v1.48/images/get?names=app%3Av1", 400, "client version 1.48 is too new. Maximum supported API version is 1.47"},
		{"version too old", "GET", "/v1.12/_ping", 400, "client version 1.12 is too old"},
		{"unknown path", "GET", "/v1.44/containers/json", 404, "page not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, body := get(t, e, tc.method, tc.uri)
			if status != tc.wantStatus {
				t.Errorf("status = %d, want %d (body %q)", status, tc.wantStatus, body)
			}
			if got := hdr.Get("Api-Version"); got != APIVersion {
				t.Errorf("Api-Version = %q, want %q", got, APIVersion)
			}
			if tc.wantMessage != "" && !strings.HasPrefix(message(t, body), tc.wantMessage) {
				t.Errorf("message = %q, want it to start with %q", message(t, body), tc.wantMessage)
			}
		})
	}
	if got := len(e.Requests()); got != 8 {
		t.Errorf("Requests() has %d entries, want 8: %q", got, e.Requests())
	}
}

func TestSetAPIVersionEmptySendsNoHeader(t *testing.T) {
	e := Start(t, nil)
	e.SetAPIVersion("")
	status, hdr, _ := get(t, e, "GET", "/v1.99/_ping")
	if status != 200 || hdr.Get("Api-Version") != "" {
		t.Errorf("GET /v1.99/_ping = %d with Api-Version %q, want 200 and no header", status, hdr.Get("Api-Version"))
	}
}

// The test name is long on purpose: t.TempDir() is then too long for a
// socket path and Start must fall back to a short directory.
func TestStartKeepsTheSocketPathShortEvenWhenTheTestNameIsVeryLongIndeedLongerThanAnySocketPathAllows(t *testing.T) {
	e := Start(t, nil)
	if len(e.Socket) > maxSocketPath {
		t.Errorf("socket path %q has %d bytes, want at most %d", e.Socket, len(e.Socket), maxSocketPath)
	}
	if e.Host != "unix://"+e.Socket {
		t.Errorf("Host = %q, want unix://%s", e.Host, e.Socket)
	}
	if status, _, _ := get(t, e, "GET", "/_ping"); status != 200 {
		t.Errorf("ping = %d, want 200", status)
	}
	if diff := cmp.Diff([]string{"GET /_ping"}, e.Requests()); diff != "" {
		t.Errorf("Requests (-want +got):\n%s", diff)
	}
}
