package ecrlocal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// blobBytes is the sum of the sizes of an image's config and layer blobs.
func blobBytes(t *testing.T, img v1.Image) int64 {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	n := m.Config.Size
	for _, l := range m.Layers {
		n += l.Size
	}
	return n
}

// TestRegistryCallsPerRequest sends one registry request per step and checks
// the operation it was counted as, and the uploaded bytes it added.
func TestRegistryCallsPerRequest(t *testing.T) {
	e := newEnv(t, Options{})
	for _, n := range []string{"app", "other"} {
		e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String(n)})
	}
	img := e.putTestImage(t, "app", "v1")
	rawManifest, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	mt, err := img.MediaType()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	layer, err := layers[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	e.enableBlobMounting(t)
	auth := e.auth(t).(*authn.Basic)
	e.srv.ResetCalls()

	data := bytes.Repeat([]byte("ecrlocal"), 1000)
	digest := sha256Digest(data)
	chunked := []byte("a chunked blob")
	var location string // of the chunked upload in progress

	type request struct {
		method, path string
		body         []byte
		anonymous    bool
		header       map[string]string
	}
	for _, step := range []struct {
		name      string
		req       func() request
		wantCode  int
		wantOp    string
		wantBytes int64
		after     func(*http.Response)
	}{
		{name: "ping without credentials", req: func() request { return request{method: "GET", path: "/v2/", anonymous: true} }, wantCode: 401, wantOp: "ping"},
		{name: "ping", req: func() request { return request{method: "GET", path: "/v2/"} }, wantCode: 200, wantOp: "ping"},
		{name: "head a missing blob", req: func() request { return request{method: "HEAD", path: "/v2/app/blobs/" + digest} }, wantCode: 404, wantOp: "blob.head"},
		{name: "monolithic upload", req: func() request {
			return request{method: "POST", path: "/v2/app/blobs/uploads/?digest=" + digest, body: data}
		}, wantCode: 201, wantOp: "upload.start", wantBytes: int64(len(data))},
		{name: "head the blob", req: func() request { return request{method: "HEAD", path: "/v2/app/blobs/" + digest} }, wantCode: 200, wantOp: "blob.head"},
		{name: "get the blob", req: func() request { return request{method: "GET", path: "/v2/app/blobs/" + digest} }, wantCode: 200, wantOp: "blob.get"},
		{name: "mount of a blob no manifest references starts an upload", req: func() request {
			return request{method: "POST", path: "/v2/other/blobs/uploads/?mount=" + digest + "&from=app"}
		}, wantCode: 202, wantOp: "upload.start"},
		{name: "mount of a layer of app:v1 into another repository", req: func() request {
			return request{method: "POST", path: "/v2/other/blobs/uploads/?mount=" + layer.String() + "&from=app"}
		}, wantCode: 201, wantOp: "upload.mount"},
		{name: "mount of a blob the source lacks starts an upload", req: func() request {
			return request{method: "POST", path: "/v2/other/blobs/uploads/?mount=" + sha256Digest(chunked) + "&from=app"}
		}, wantCode: 202, wantOp: "upload.start", after: func(r *http.Response) { location = r.Header.Get("Location") }},
		{name: "patch a chunk", req: func() request {
			return request{method: "PATCH", path: location, body: chunked, header: map[string]string{"Content-Range": "0-13"}}
		}, wantCode: 202, wantOp: "upload.patch", wantBytes: int64(len(chunked))},
		{name: "upload status", req: func() request { return request{method: "GET", path: location} }, wantCode: 204, wantOp: "upload.get"},
		{name: "finish the upload", req: func() request {
			return request{method: "PUT", path: location + "?digest=" + sha256Digest(chunked)}
		}, wantCode: 201, wantOp: "upload.put"},
		{name: "start an upload to cancel", req: func() request { return request{method: "POST", path: "/v2/other/blobs/uploads/"} },
			wantCode: 202, wantOp: "upload.start", after: func(r *http.Response) { location = r.Header.Get("Location") }},
		{name: "cancel the upload", req: func() request { return request{method: "DELETE", path: location} }, wantCode: 204, wantOp: "upload.delete"},
		{name: "upload with the wrong digest counts its bytes", req: func() request {
			return request{method: "POST", path: "/v2/other/blobs/uploads/?digest=" + digest, body: chunked}
		}, wantCode: 400, wantOp: "upload.start", wantBytes: int64(len(chunked))},
		{name: "head a manifest", req: func() request { return request{method: "HEAD", path: "/v2/app/manifests/v1"} }, wantCode: 200, wantOp: "manifest.head"},
		{name: "get a manifest", req: func() request { return request{method: "GET", path: "/v2/app/manifests/v1"} }, wantCode: 200, wantOp: "manifest.get"},
		{name: "put a manifest", req: func() request {
			return request{method: "PUT", path: "/v2/app/manifests/v2", body: rawManifest, header: map[string]string{"Content-Type": string(mt)}}
		}, wantCode: 201, wantOp: "manifest.put"},
		{name: "list tags", req: func() request { return request{method: "GET", path: "/v2/app/tags/list"} }, wantCode: 200, wantOp: "tags.list"},
		{name: "list referrers", req: func() request { return request{method: "GET", path: "/v2/app/referrers/" + digest} }, wantCode: 200, wantOp: "referrers.get"},
		{name: "delete a tag", req: func() request { return request{method: "DELETE", path: "/v2/app/manifests/v2"} }, wantCode: 202, wantOp: "manifest.delete"},
		{name: "blob delete is refused", req: func() request { return request{method: "DELETE", path: "/v2/app/blobs/" + digest} }, wantCode: 405, wantOp: "other"},
		{name: "unknown path", req: func() request { return request{method: "GET", path: "/v2/app/nothing"} }, wantCode: 404, wantOp: "other"},
	} {
		t.Run(step.name, func(t *testing.T) {
			before, beforeBytes := e.srv.RegistryCalls(), e.srv.UploadedBytes()
			rq := step.req()
			req, err := http.NewRequest(rq.method, e.http.URL+rq.path, bytes.NewReader(rq.body))
			if err != nil {
				t.Fatal(err)
			}
			if !rq.anonymous {
				req.SetBasicAuth(auth.Username, auth.Password)
			}
			for k, v := range rq.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != step.wantCode {
				t.Errorf("%s %s = %d, want %d", rq.method, rq.path, resp.StatusCode, step.wantCode)
			}
			if step.after != nil {
				step.after(resp)
			}
			want := maps.Clone(before)
			want[step.wantOp]++
			if diff := cmp.Diff(want, e.srv.RegistryCalls()); diff != "" {
				t.Errorf("RegistryCalls after %s %s (-want +got):\n%s", rq.method, rq.path, diff)
			}
			if got := e.srv.UploadedBytes() - beforeBytes; got != step.wantBytes {
				t.Errorf("UploadedBytes grew by %d, want %d", got, step.wantBytes)
			}
		})
	}
}

// TestRegistryCallsPushAndRetag records what go-containerregistry's push,
// retag and cross-repository copy cost in registry requests.
func TestRegistryCallsPushAndRetag(t *testing.T) {
	e := newEnv(t, Options{})
	for _, n := range []string{"app", "copy"} {
		e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String(n)})
	}
	auth := remote.WithAuth(e.auth(t))
	img := randomImage(t) // 2 layers and a config: 3 blobs
	e.srv.ResetCalls()

	if err := remote.Write(e.ref(t, "app:v1"), img, auth); err != nil {
		t.Fatalf("pushing app:v1: %v", err)
	}
	push := e.srv.RegistryCalls()
	t.Logf("push of 3 blobs: %v, %d bytes uploaded", push, e.srv.UploadedBytes())
	if got, want := e.srv.UploadedBytes(), blobBytes(t, img); got != want {
		t.Errorf("push uploaded %d bytes, want %d (config and layers once each)", got, want)
	}
	for op, want := range map[string]int{"upload.put": 3, "manifest.put": 1, "upload.mount": 0} {
		if push[op] != want {
			t.Errorf("push made %d %s, want %d", push[op], op, want)
		}
	}

	e.srv.ResetCalls()
	desc, err := remote.Get(e.ref(t, "app:v1"), auth)
	if err != nil {
		t.Fatalf("getting app:v1: %v", err)
	}
	if err := remote.Tag(e.ref(t, "app:v2").Context().Tag("v2"), desc, auth); err != nil {
		t.Fatalf("tagging app:v2: %v", err)
	}
	retag := e.srv.RegistryCalls()
	t.Logf("retag: %v, %d bytes uploaded", retag, e.srv.UploadedBytes())
	if got := e.srv.UploadedBytes(); got != 0 {
		t.Errorf("retag uploaded %d bytes, want 0", got)
	}
	for _, op := range []string{"blob.head", "upload.start", "upload.patch", "upload.put", "upload.mount"} {
		if retag[op] != 0 {
			t.Errorf("retag made %d %s, want none", retag[op], op)
		}
	}
	if retag["manifest.put"] != 1 {
		t.Errorf("retag made %d manifest.put, want 1", retag["manifest.put"])
	}

	e.enableBlobMounting(t)
	e.srv.ResetCalls()
	pulled, err := remote.Image(e.ref(t, "app:v1"), auth)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(e.ref(t, "copy:v1"), pulled, auth); err != nil {
		t.Fatalf("copying app:v1 to copy:v1: %v", err)
	}
	cp := e.srv.RegistryCalls()
	t.Logf("cross-repository copy: %v, %d bytes uploaded", cp, e.srv.UploadedBytes())
	if cp["upload.mount"] != 3 || cp["upload.start"] != 0 || e.srv.UploadedBytes() != 0 {
		t.Errorf("copy made %d mounts, %d upload starts, %d bytes uploaded; want 3 mounts, no uploads", cp["upload.mount"], cp["upload.start"], e.srv.UploadedBytes())
	}
}

func TestRegistryCallsEndpoint(t *testing.T) {
	e := newEnv(t, Options{})
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app")})
	img := e.putTestImage(t, "app", "v1")

	get := func(t *testing.T) RegistryCallsReport {
		t.Helper()
		resp, err := http.Get(e.http.URL + "/_ecrlocal/registry-calls")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("GET /_ecrlocal/registry-calls = %d %q, want 200 application/json", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var rep RegistryCallsReport
		dec := json.NewDecoder(resp.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rep); err != nil {
			t.Fatalf("decoding /_ecrlocal/registry-calls: %v", err)
		}
		return rep
	}
	got := get(t)
	want := RegistryCallsReport{Calls: e.srv.RegistryCalls(), UploadedBytes: blobBytes(t, img)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("/_ecrlocal/registry-calls (-want +got):\n%s", diff)
	}
	if got.Calls["manifest.put"] != 1 {
		t.Errorf("calls = %v, want one manifest.put", got.Calls)
	}

	e.srv.ResetCalls()
	if diff := cmp.Diff(RegistryCallsReport{Calls: map[string]int{}}, get(t)); diff != "" {
		t.Errorf("after ResetCalls (-want +got):\n%s", diff)
	}
	if len(e.srv.RegistryCalls()) != 0 || e.srv.UploadedBytes() != 0 {
		t.Errorf("after ResetCalls: RegistryCalls %v, UploadedBytes %d", e.srv.RegistryCalls(), e.srv.UploadedBytes())
	}

	resp, err := http.Post(e.http.URL+"/_ecrlocal/registry-calls", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /_ecrlocal/registry-calls = %d, want 405", resp.StatusCode)
	}
}

func TestRegistryOperation(t *testing.T) {
	const d = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
	for _, tc := range []struct {
		name, method, path, want string
	}{
		{"ping", "GET", "/v2/", "ping"},
		{"ping without slash", "HEAD", "/v2", "ping"},
		{"blob head in a nested repository", "HEAD", "/v2/team/app/blobs/" + d, "blob.head"},
		{"blob get", "GET", "/v2/app/blobs/" + d, "blob.get"},
		{"upload start", "POST", "/v2/team/app/blobs/uploads/", "upload.start"},
		{"upload start by GET", "GET", "/v2/app/blobs/uploads/", "other"},
		{"upload patch", "PATCH", "/v2/app/blobs/uploads/abc", "upload.patch"},
		{"upload put", "PUT", "/v2/app/blobs/uploads/abc", "upload.put"},
		{"upload status", "GET", "/v2/app/blobs/uploads/abc", "upload.get"},
		{"upload cancel", "DELETE", "/v2/app/blobs/uploads/abc", "upload.delete"},
		{"manifest head", "HEAD", "/v2/app/manifests/v1", "manifest.head"},
		{"manifest get", "GET", "/v2/app/manifests/" + d, "manifest.get"},
		{"manifest put", "PUT", "/v2/app/manifests/v1", "manifest.put"},
		{"manifest delete", "DELETE", "/v2/app/manifests/v1", "manifest.delete"},
		{"manifest post", "POST", "/v2/app/manifests/v1", "other"},
		{"tags list", "GET", "/v2/team/app/tags/list", "tags.list"},
		{"referrers", "GET", "/v2/team/app/referrers/" + d, "referrers.get"},
		{"referrers post", "POST", "/v2/app/referrers/" + d, "other"},
		{"blob delete", "DELETE", "/v2/app/blobs/" + d, "other"},
		{"catalog", "GET", "/v2/_catalog", "other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := routeRegistry(tc.path).operation(tc.method); got != tc.want {
				t.Errorf("operation of %s %s = %q, want %q", tc.method, tc.path, got, tc.want)
			}
		})
	}
}
