package ecrlocal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// rawUpload is a blob upload made request by request, so a test sees what
// each request got.
type rawUpload struct {
	e    *env
	auth *authn.Basic
}

func (u rawUpload) do(method, path string, body []byte) (*http.Response, []byte, error) {
	url := path
	if !strings.HasPrefix(url, "http") {
		url = u.e.http.URL + path
	}
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	req.SetBasicAuth(u.auth.Username, u.auth.Password)
	// A fresh connection per request: a reset must not spoil the next one.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b, nil
}

func TestRegistryFaultStrikesMidUpload(t *testing.T) {
	data := bytes.Repeat([]byte("layer bytes "), 100_000) // 1.2 MB
	sum := sha256.Sum256(data)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	for _, tc := range []struct {
		kind   RegistryFaultKind
		status int    // 0: the connection is reset
		code   string // the registry error code
	}{
		{FaultReset, 0, ""},
		{Fault500, http.StatusInternalServerError, "UNKNOWN"},
		{Fault503, http.StatusServiceUnavailable, "UNAVAILABLE"},
	} {
		for _, method := range []string{http.MethodPatch, http.MethodPut} {
			t.Run(string(tc.kind)+" "+method, func(t *testing.T) {
				e := newEnv(t, Options{})
				e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app")})
				u := rawUpload{e, e.auth(t).(*authn.Basic)}
				if err := e.srv.InjectRegistry(RegistryBlobUpload, RegistryFault{Count: 1, Kind: tc.kind}); err != nil {
					t.Fatal(err)
				}
				resp, _, err := u.do(http.MethodPost, "/v2/app/blobs/uploads/", nil)
				if err != nil || resp.StatusCode != http.StatusAccepted {
					t.Fatalf("POST upload: %v %v", resp, err)
				}
				loc := resp.Header.Get("Location")
				target := loc
				if method == http.MethodPut {
					target += "?digest=" + digest
				}
				resp, body, err := u.do(method, target, data)
				switch {
				case tc.status == 0 && err == nil:
					t.Fatalf("%s with a reset fault answered %d, want the connection reset", method, resp.StatusCode)
				case tc.status != 0 && err != nil:
					t.Fatalf("%s with a %s fault: %v, want an answer", method, tc.kind, err)
				case tc.status != 0:
					var eb struct {
						Errors []struct{ Code string } `json:"errors"`
					}
					_ = json.Unmarshal(body, &eb)
					if resp.StatusCode != tc.status || len(eb.Errors) != 1 || eb.Errors[0].Code != tc.code {
						t.Fatalf("%s = %d %s, want %d with error %s", method, resp.StatusCode, body, tc.status, tc.code)
					}
				}
				if got := e.srv.UploadedBytes(); got <= 0 || got >= int64(len(data)) {
					t.Errorf("the server read %d bytes before the fault, want part of %d", got, len(data))
				}
				if got := e.srv.RegistryFaultsStruck(); got[RegistryBlobUpload] != 1 {
					t.Errorf("faults struck %v, want 1 blob-upload", got)
				}
				// The partial upload is gone and never became a blob. (A
				// small body: the 404 comes before the server reads it.)
				resp, _, err = u.do(http.MethodPatch, loc, []byte("x"))
				if err != nil || resp.StatusCode != http.StatusNotFound {
					t.Errorf("PATCH to the faulted upload: %v %v, want 404 BLOB_UPLOAD_UNKNOWN", resp, err)
				}
				resp, _, err = u.do(http.MethodHead, "/v2/app/blobs/"+digest, nil)
				if err != nil || resp.StatusCode != http.StatusNotFound {
					t.Errorf("HEAD of the blob after the fault: %v %v, want 404", resp, err)
				}
				// The fault is spent: the next upload goes through whole.
				resp, _, err = u.do(http.MethodPost, "/v2/app/blobs/uploads/?digest="+digest, data)
				if err != nil || resp.StatusCode != http.StatusCreated {
					t.Fatalf("upload after the fault: %v %v, want 201", resp, err)
				}
			})
		}
	}
}

func TestRegistryFaultPushRecovers(t *testing.T) {
	// go-containerregistry restarts a failed blob upload; the image it ends
	// with is whole.
	for _, kind := range []RegistryFaultKind{FaultReset, Fault500, Fault503} {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnv(t, Options{})
			e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app")})
			if err := e.srv.InjectRegistry(RegistryBlobUpload, RegistryFault{Count: 2, Kind: kind}); err != nil {
				t.Fatal(err)
			}
			img := randomImage(t)
			auth := remote.WithAuth(e.auth(t))
			backoff := remote.WithRetryBackoff(remote.Backoff{Duration: 10 * time.Millisecond, Factor: 1, Steps: 4})
			if err := remote.Write(e.ref(t, "app:v1"), img, auth, backoff, remote.WithJobs(1)); err != nil {
				t.Fatalf("push through 2 %s faults: %v", kind, err)
			}
			if got := e.srv.RegistryFaultsStruck()[RegistryBlobUpload]; got != 2 {
				t.Errorf("faults struck %d, want 2", got)
			}
			got, err := remote.Image(e.ref(t, "app:v1"), auth)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Image(got); err != nil {
				t.Errorf("the pushed image does not validate: %v", err)
			}
		})
	}
}

func TestInjectRegistryRefusesBadFaults(t *testing.T) {
	e := newEnv(t, Options{})
	for _, tc := range []struct {
		op   string
		f    RegistryFault
		want string
	}{
		{"manifest-put", RegistryFault{Count: 1, Kind: FaultReset}, "manifest-put"},
		{RegistryBlobUpload, RegistryFault{Count: 1, Kind: "404"}, `"404"`},
		{RegistryBlobUpload, RegistryFault{Count: 0, Kind: Fault503}, "count 0"},
	} {
		if err := e.srv.InjectRegistry(tc.op, tc.f); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("InjectRegistry(%q, %+v) = %v, want an error naming %s", tc.op, tc.f, err, tc.want)
		}
	}
	if got := e.srv.RegistryFaultsStruck(); len(got) != 0 {
		t.Errorf("faults struck %v after refused injections", got)
	}
}

func TestParseFaultSpec(t *testing.T) {
	good := []struct {
		spec string
		want FaultSpec
	}{
		{"GetAuthorizationToken=throttle:3", FaultSpec{Operation: "GetAuthorizationToken", API: Fault{Count: 3, Throttle: true}}},
		{"PutImage=ServerException:1", FaultSpec{Operation: "PutImage", API: Fault{Count: 1, Error: "ServerException"}}},
		{"blob-upload=reset:2", FaultSpec{Operation: RegistryBlobUpload, Registry: RegistryFault{Count: 2, Kind: FaultReset}}},
		{"blob-upload=500:1", FaultSpec{Operation: RegistryBlobUpload, Registry: RegistryFault{Count: 1, Kind: Fault500}}},
		{"blob-upload=503:1000000", FaultSpec{Operation: RegistryBlobUpload, Registry: RegistryFault{Count: 1000000, Kind: Fault503}}},
	}
	for _, tc := range good {
		got, err := ParseFaultSpec(tc.spec)
		if err != nil {
			t.Errorf("ParseFaultSpec(%q): %v", tc.spec, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseFaultSpec(%q) (-want +got):\n%s", tc.spec, diff)
		}
	}
	bad := []struct{ spec, want string }{
		{"", "OPERATION=KIND:COUNT"},
		{"throttle:3", "OPERATION=KIND:COUNT"},
		{"=throttle:3", "OPERATION=KIND:COUNT"},
		{"PutImage=", "KIND:COUNT"},
		{"PutImage=throttle", "KIND:COUNT"},
		{"PutImage=throttle:0", "count"},
		{"PutImage=throttle:-1", "count"},
		{"PutImage=throttle:many", "count"},
		{"PutImage=throttle:1000001", "count"},
		{"PushImage=throttle:1", `"PushImage"`},
		{"PutImage=slow:1", `"slow"`},
		{"PutImage=serverexception:1", `"serverexception"`},
		{"blob-upload=throttle:1", `"throttle"`},
		{"blob-upload=404:1", `"404"`},
	}
	for _, tc := range bad {
		_, err := ParseFaultSpec(tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.spec) {
			t.Errorf("ParseFaultSpec(%q) = %v, want an error quoting the spec and naming %s", tc.spec, err, tc.want)
		}
	}
}

func FuzzParseFaultSpec(f *testing.F) {
	for _, s := range []string{"GetAuthorizationToken=throttle:3", "blob-upload=reset:2", "PutImage=ServerException:1", "=:", "a=b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		fs, err := ParseFaultSpec(spec)
		if err != nil {
			return
		}
		e := &Server{regFaults: map[string][]RegistryFault{}, faultsStruck: map[string]int{}}
		if err := e.Apply(fs); err != nil {
			t.Errorf("ParseFaultSpec(%q) = %+v, which Apply refuses: %v", spec, fs, err)
		}
	})
}

func TestApplyArrangesAPIFaults(t *testing.T) {
	e := newEnv(t, Options{})
	for _, spec := range []string{"GetAuthorizationToken=throttle:1", "GetAuthorizationToken=AccessDeniedException:1"} {
		fs, err := ParseFaultSpec(spec)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.srv.Apply(fs); err != nil {
			t.Fatal(err)
		}
	}
	client := newClient(e.http.URL, func(o *ecr.Options) { o.RetryMaxAttempts = 1 })
	ctx := context.Background()
	for _, want := range []string{"ThrottlingException", "AccessDeniedException", ""} {
		_, err := client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
		if (err == nil) != (want == "") || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("GetAuthorizationToken = %v, want %q", err, want)
		}
	}
}

func TestTokenTTL(t *testing.T) {
	if _, err := New(Options{TokenTTL: -time.Second}); err == nil {
		t.Error("New with a negative TokenTTL succeeded")
	}
	for _, tc := range []struct {
		ttl, want time.Duration
	}{{0, 12 * time.Hour}, {90 * time.Second, 90 * time.Second}} {
		e := newEnv(t, Options{TokenTTL: tc.ttl})
		e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app")})
		var mu sync.Mutex
		now := time.Now()
		e.srv.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		out, err := e.client.GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
		if err != nil {
			t.Fatal(err)
		}
		if got := out.AuthorizationData[0].ExpiresAt.Sub(now); got < tc.want-time.Second || got > tc.want+time.Second {
			t.Errorf("TokenTTL %v: expiresAt is %v after now, want %v", tc.ttl, got, tc.want)
		}
		auth := e.auth(t)
		if err := remote.Write(e.ref(t, "app:v1"), randomImage(t), remote.WithAuth(auth)); err != nil {
			t.Fatalf("push with a fresh token: %v", err)
		}
		mu.Lock()
		now = now.Add(tc.want)
		mu.Unlock()
		// ECR answers an expired token with 403 DENIED (User Guide,
		// "Troubleshooting Docker commands": HTTP 403 "Your authorization
		// token has expired. Reauthenticate and try again.").
		_, err = remote.Get(e.ref(t, "app:v1"), remote.WithAuth(auth))
		var te *transport.Error
		if !errors.As(err, &te) || te.StatusCode != http.StatusForbidden || !strings.Contains(err.Error(), "expired") {
			t.Errorf("TokenTTL %v: request at expiry got %v, want 403 saying the token has expired", tc.ttl, err)
		}
	}
}
