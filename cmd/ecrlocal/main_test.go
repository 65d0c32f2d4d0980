package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
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
		{"-create-delay", "-1s"},
		{"-token-ttl", "0s"},
		{"-restore-delay", "-1s"},
		{"-token-ttl", "-1m"},
		{"-fault", "blob-upload=404:1"},
		{"-fault", "PushImage=throttle:1"},
		{"-fault", "PutImage=throttle:0"},
		{"-fault", "PutImage"},
		{"-signing-delay", "-1s"},
		{"-replication", "us-west-2"},
		{"-replication", "us-west-2=soon"},
		{"-replication", "us-west-2=-1s"},
		{"-replication", "=1s"},
	} {
		// A cancelled context: a flag that slipped through ends the run at
		// once instead of serving; the error must name the flag.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := run(ctx, args, io.Discard, io.Discard)
		named := err != nil && slices.ContainsFunc(args, func(a string) bool { return strings.Contains(err.Error(), strings.TrimPrefix(a, "-")) })
		if !named {
			t.Errorf("run(%q) = %v, want an error naming what is wrong", args, err)
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
		"-fault", "=throttle:N", "blob-upload=reset:N", "blob-upload=500:N", "blob-upload=503:N",
		"ExceptionName:N", "-token-ttl", "403 DENIED", "faults_struck",
		"-create-delay", "RepositoryNotFoundException", "NAME_UNKNOWN",
		"-signing-delay", "-signing-failure", "-replication DEST=DELAY[:FAILURE]", "DescribeImageSigningStatus", "DescribeImageReplicationStatus",
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

// startRun runs the command with args until the test ends and returns its URL.
func startRun(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("run did not return after its context was cancelled")
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the first line: %v", err)
	}
	go io.Copy(io.Discard, pr)
	return strings.TrimPrefix(strings.TrimSpace(line), "ecrlocal listening on ")
}

func TestRunAppliesFaultsAndTokenTTL(t *testing.T) {
	url := startRun(t, "-fault", "GetAuthorizationToken=throttle:1", "-fault", "CreateRepository=ServerException:1",
		"-fault", "blob-upload=503:1", "-token-ttl", "90s")
	call := func(op, body string) (int, map[string]any) { t.Helper(); return callAPI(t, url, op, body) }
	if code, out := call("GetAuthorizationToken", "{}"); code != 400 || out["__type"] != "ThrottlingException" {
		t.Errorf("first GetAuthorizationToken = %d %v, want 400 ThrottlingException", code, out)
	}
	if code, out := call("CreateRepository", `{"repositoryName":"app"}`); code != 500 || out["__type"] != "ServerException" {
		t.Errorf("first CreateRepository = %d %v, want 500 ServerException", code, out)
	}
	if code, out := call("CreateRepository", `{"repositoryName":"app"}`); code != 200 {
		t.Fatalf("second CreateRepository = %d %v, want 200", code, out)
	}
	before := time.Now()
	code, out := call("GetAuthorizationToken", "{}")
	if code != 200 {
		t.Fatalf("second GetAuthorizationToken = %d %v", code, out)
	}
	d := out["authorizationData"].([]any)[0].(map[string]any)
	expires := time.Unix(int64(d["expiresAt"].(float64)), 0)
	if ttl := expires.Sub(before); ttl < 85*time.Second || ttl > 95*time.Second {
		t.Errorf("token valid for %v, want about 90s (-token-ttl)", ttl)
	}
	raw, _ := base64.StdEncoding.DecodeString(d["authorizationToken"].(string))
	_, password, _ := strings.Cut(string(raw), ":")
	do := func(method, u string, body []byte) *http.Response {
		t.Helper()
		if !strings.HasPrefix(u, "http") {
			u = url + u
		}
		req, _ := http.NewRequest(method, u, bytes.NewReader(body))
		req.SetBasicAuth("AWS", password)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	resp := do(http.MethodPost, "/v2/app/blobs/uploads/", nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST upload = %d", resp.StatusCode)
	}
	if resp = do(http.MethodPatch, resp.Header.Get("Location"), bytes.Repeat([]byte("x"), 100_000)); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("PATCH with -fault blob-upload=503:1 = %d, want 503", resp.StatusCode)
	}
	resp2, err := http.Get(url + "/_ecrlocal/registry-calls")
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	var rep struct {
		FaultsStruck map[string]int `json:"faults_struck"`
	}
	if err := json.NewDecoder(resp2.Body).Decode(&rep); err != nil || rep.FaultsStruck["blob-upload"] != 1 {
		t.Errorf("registry-calls faults_struck = %v (%v), want blob-upload 1", rep.FaultsStruck, err)
	}
}

// TestRunCreateDelay checks -create-delay end to end on the real clock: the
// repository answers RepositoryNotFoundException, then is there.
func TestRunCreateDelay(t *testing.T) {
	const delay = 300 * time.Millisecond
	url := startRun(t, "-create-delay", delay.String())
	created := time.Now()
	if code, out := callAPI(t, url, "CreateRepository", `{"repositoryName":"app"}`); code != 200 {
		t.Fatalf("CreateRepository = %d %v", code, out)
	}
	if code, out := callAPI(t, url, "DescribeRepositories", `{"repositoryNames":["app"]}`); time.Since(created) < delay && (code != 400 || out["__type"] != "RepositoryNotFoundException") {
		t.Errorf("DescribeRepositories right after the create = %d %v, want 400 RepositoryNotFoundException", code, out)
	}
	time.Sleep(delay)
	if code, out := callAPI(t, url, "DescribeRepositories", `{"repositoryNames":["app"]}`); code != 200 {
		t.Errorf("DescribeRepositories after -create-delay = %d %v, want 200", code, out)
	}
}

func TestRunEnforcesTheIAMPolicy(t *testing.T) {
	policy := filepath.Join(t.TempDir(), "policy.json")
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:DescribeRepositories"],"Resource":"*"}]}`
	if err := os.WriteFile(policy, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	url := startRun(t, "-iam-policy", policy)
	call := func(op string) (int, map[string]any) {
		t.Helper()
		return callAPI(t, url, op, `{"repositoryName":"app"}`)
	}
	if code, out := call("CreateRepository"); code != 400 || out["__type"] != "AccessDeniedException" ||
		!strings.Contains(fmt.Sprint(out["message"]), "ecr:CreateRepository") {
		t.Errorf("CreateRepository = %d %v, want AccessDeniedException naming ecr:CreateRepository", code, out)
	}
	// Allowed: the call reaches ecrlocal, which lists no repository (the
	// denied create made none).
	if code, out := call("DescribeRepositories"); code != 200 || len(out["repositories"].([]any)) != 0 {
		t.Errorf("DescribeRepositories = %d %v, want 200 with no repository", code, out)
	}
}

func TestRunRejectsBadIAMPolicies(t *testing.T) {
	dir := t.TempDir()
	withCondition := filepath.Join(dir, "condition.json")
	doc := `{"Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`
	if err := os.WriteFile(withCondition, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-iam-policy", filepath.Join(dir, "missing.json")},
		{"-iam-policy", withCondition},
	} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded, want an error", args)
		}
	}
}

// callAPI calls an ECR API operation on the server at url and returns the
// status and the decoded JSON answer.
func callAPI(t *testing.T, url, op, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(body))
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestRunAppliesRestoreDelay(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // the image's status right after a restore
	}{
		{nil, "ACTIVE"},
		{[]string{"-restore-delay", "1h"}, "ACTIVATING"},
	} {
		url := startRun(t, tc.args...)
		call := func(op, body string) map[string]any {
			t.Helper()
			code, out := callAPI(t, url, op, body)
			if code != 200 {
				t.Fatalf("%s %s = %d %v", op, body, code, out)
			}
			return out
		}
		call("CreateRepository", `{"repositoryName":"app"}`)
		d := call("GetAuthorizationToken", "{}")["authorizationData"].([]any)[0].(map[string]any)
		raw, _ := base64.StdEncoding.DecodeString(d["authorizationToken"].(string))
		_, password, _ := strings.Cut(string(raw), ":")
		const empty = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" // {}
		req, _ := http.NewRequest(http.MethodPost, url+"/v2/app/blobs/uploads/?digest="+empty, strings.NewReader("{}"))
		req.SetBasicAuth("AWS", password)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("pushing a blob: %v %v", resp, err)
		}
		resp.Body.Close()
		desc := `{"mediaType":"application/vnd.oci.empty.v1+json","digest":"` + empty + `","size":2}`
		manifest := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/x","config":` + desc + `,"layers":[` + desc + `]}`
		body, _ := json.Marshal(map[string]string{"repositoryName": "app", "imageTag": "v1", "imageManifest": manifest})
		call("PutImage", string(body))
		update := `{"repositoryName":"app","imageId":{"imageTag":"v1"},"targetStorageClass":"%s"}`
		call("UpdateImageStorageClass", fmt.Sprintf(update, "ARCHIVE"))
		call("UpdateImageStorageClass", fmt.Sprintf(update, "STANDARD"))
		out := call("DescribeImages", `{"repositoryName":"app","filter":{"imageStatus":"ANY"}}`)
		if got := out["imageDetails"].([]any)[0].(map[string]any)["imageStatus"]; got != tc.want {
			t.Errorf("ecrlocal %q: status right after a restore = %v, want %s", tc.args, got, tc.want)
		}
	}
}

func TestRunAppliesSigningAndReplication(t *testing.T) {
	url := startRun(t, "-signing-failure", "SIGNING_FAILED", "-replication", "us-west-2=1h", "-replication", "210987654321/eu-west-1=0s:REPLICATION_FAILED")
	call := func(op, body string) map[string]any {
		t.Helper()
		code, out := callAPI(t, url, op, body)
		if code != 200 {
			t.Fatalf("%s %s = %d %v", op, body, code, out)
		}
		return out
	}
	call("PutSigningConfiguration", `{"signingConfiguration":{"rules":[{"signingProfileArn":"arn:aws:signer:us-east-1:123456789012:/signing-profiles/p1"}]}}`)
	call("PutReplicationConfiguration", `{"replicationConfiguration":{"rules":[{"destinations":[{"region":"us-west-2","registryId":"123456789012"},{"region":"eu-west-1","registryId":"210987654321"}]}]}}`)
	call("CreateRepository", `{"repositoryName":"app"}`)
	d := call("GetAuthorizationToken", "{}")["authorizationData"].([]any)[0].(map[string]any)
	raw, _ := base64.StdEncoding.DecodeString(d["authorizationToken"].(string))
	_, password, _ := strings.Cut(string(raw), ":")
	const empty = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" // {}
	req, _ := http.NewRequest(http.MethodPost, url+"/v2/app/blobs/uploads/?digest="+empty, strings.NewReader("{}"))
	req.SetBasicAuth("AWS", password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("pushing a blob: %v %v", resp, err)
	}
	resp.Body.Close()
	desc := `{"mediaType":"application/vnd.oci.empty.v1+json","digest":"` + empty + `","size":2}`
	manifest := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/x","config":` + desc + `,"layers":[` + desc + `]}`
	body, _ := json.Marshal(map[string]string{"repositoryName": "app", "imageTag": "v1", "imageManifest": manifest})
	call("PutImage", string(body))

	sig := call("DescribeImageSigningStatus", `{"repositoryName":"app","imageId":{"imageTag":"v1"}}`)["signingStatuses"].([]any)
	if len(sig) != 1 || sig[0].(map[string]any)["status"] != "FAILED" || sig[0].(map[string]any)["failureCode"] != "SIGNING_FAILED" {
		t.Errorf("signing statuses %v", sig)
	}
	rep := call("DescribeImageReplicationStatus", `{"repositoryName":"app","imageId":{"imageTag":"v1"}}`)["replicationStatuses"].([]any)
	var got []string
	for _, r := range rep {
		m := r.(map[string]any)
		got = append(got, fmt.Sprint(m["region"], " ", m["status"], " ", m["failureCode"]))
	}
	if want := []string{"us-west-2 IN_PROGRESS <nil>", "eu-west-1 FAILED REPLICATION_FAILED"}; !slices.Equal(got, want) {
		t.Errorf("replication statuses %q, want %q", got, want)
	}
}
