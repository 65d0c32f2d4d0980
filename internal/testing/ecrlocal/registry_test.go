package ecrlocal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	ggcrtypes "github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

func (e *env) ref(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(e.host + "/" + s)
	if err != nil {
		t.Fatalf("parsing %q: %v", s, err)
	}
	return r
}

func randomImage(t *testing.T) v1.Image {
	t.Helper()
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// putTestImage pushes a random image through the registry API.
func (e *env) putTestImage(t *testing.T, repo, tag string) v1.Image {
	t.Helper()
	img := randomImage(t)
	if err := remote.Write(e.ref(t, repo+":"+tag), img, remote.WithAuth(e.auth(t))); err != nil {
		t.Fatalf("pushing %s:%s: %v", repo, tag, err)
	}
	return img
}

// wantRegistryError checks that err is a registry error with this code.
func wantRegistryError(t *testing.T, err error, code transport.ErrorCode) {
	t.Helper()
	var te *transport.Error
	if !errors.As(err, &te) {
		t.Fatalf("got %v (%T), want a registry error %s", err, err, code)
	}
	for _, d := range te.Errors {
		if d.Code == code {
			return
		}
	}
	t.Fatalf("got registry error %v, want code %s", te, code)
}

func TestPushPullAndDescribe(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("team/app")})
	auth := e.auth(t)

	oci := mutate.ConfigMediaType(mutate.MediaType(randomImage(t), ggcrtypes.OCIManifestSchema1), ggcrtypes.OCIConfigJSON)
	for _, tc := range []struct {
		name string
		img  v1.Image
		tag  string
	}{
		{"docker schema 2", randomImage(t), "docker"},
		{"OCI", oci, "oci"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := remote.Write(e.ref(t, "team/app:"+tc.tag), tc.img, remote.WithAuth(auth)); err != nil {
				t.Fatalf("remote.Write: %v", err)
			}
			digest, _ := tc.img.Digest()
			mt, _ := tc.img.MediaType()
			var size int64
			layers, _ := tc.img.Layers()
			for _, l := range layers {
				n, _ := l.Size()
				size += n
			}
			out, err := e.client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("team/app"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String(tc.tag)}}})
			if err != nil {
				t.Fatalf("DescribeImages: %v", err)
			}
			d := out.ImageDetails[0]
			type detail struct {
				Digest, MediaType, Registry string
				Tags                        []string
				Size                        int64
			}
			want := detail{digest.String(), string(mt), "123456789012", []string{tc.tag}, size}
			got := detail{aws.ToString(d.ImageDigest), aws.ToString(d.ImageManifestMediaType), aws.ToString(d.RegistryId), d.ImageTags, aws.ToInt64(d.ImageSizeInBytes)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("DescribeImages (-want +got):\n%s", diff)
			}
			if d.ImagePushedAt == nil || d.ImagePushedAt.IsZero() {
				t.Errorf("imagePushedAt is not set")
			}

			pulled, err := remote.Image(e.ref(t, "team/app:"+tc.tag), remote.WithAuth(auth))
			if err != nil {
				t.Fatalf("remote.Image: %v", err)
			}
			if err := validate.Image(pulled); err != nil {
				t.Errorf("validate.Image of the pulled image: %v", err)
			}
			if got, _ := pulled.Digest(); got != digest {
				t.Errorf("pulled digest %s, want %s", got, digest)
			}
		})
	}

	tags, err := remote.List(e.ref(t, "team/app").Context(), remote.WithAuth(auth))
	if err != nil {
		t.Fatalf("remote.List: %v", err)
	}
	if diff := cmp.Diff([]string{"docker", "oci"}, tags); diff != "" {
		t.Errorf("tags/list (-want +got):\n%s", diff)
	}
	li, err := e.client.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: aws.String("team/app")})
	if err != nil {
		t.Fatalf("ListImages: %v", err)
	}
	if len(li.ImageIds) != 2 {
		t.Errorf("ListImages returned %d IDs, want 2", len(li.ImageIds))
	}
}

func TestRegistryAuth(t *testing.T) {
	e := newEnv(t, Options{})
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app")})
	tests := []struct {
		name string
		auth authn.Authenticator
	}{
		{"anonymous", authn.Anonymous},
		{"wrong password", &authn.Basic{Username: "AWS", Password: "guess"}},
		{"wrong user", &authn.Basic{Username: "admin", Password: "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := remote.Write(e.ref(t, "app:v1"), randomImage(t), remote.WithAuth(tc.auth))
			var te *transport.Error
			if !errors.As(err, &te) || te.StatusCode != http.StatusUnauthorized {
				t.Fatalf("push got %v, want HTTP 401", err)
			}
		})
	}
	t.Run("challenge", func(t *testing.T) {
		resp, err := http.Get(e.http.URL + "/v2/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != 401 || !strings.HasPrefix(got, "Basic realm=") {
			t.Errorf("GET /v2/ = %d with WWW-Authenticate %q, want 401 and a Basic challenge", resp.StatusCode, got)
		}
	})
	t.Run("expired token", func(t *testing.T) {
		auth := e.auth(t)
		e.srv.mu.Lock()
		for p := range e.srv.tokens {
			e.srv.tokens[p] = e.srv.now().Add(-1)
		}
		e.srv.mu.Unlock()
		err := remote.Write(e.ref(t, "app:v1"), randomImage(t), remote.WithAuth(auth))
		var te *transport.Error
		if !errors.As(err, &te) || te.StatusCode != http.StatusForbidden {
			t.Fatalf("push with an expired token got %v, want HTTP 403 DENIED", err)
		}
	})
}

func TestPushToMissingRepository(t *testing.T) {
	e := newEnv(t, Options{})
	err := remote.Write(e.ref(t, "nope:v1"), randomImage(t), remote.WithAuth(e.auth(t)))
	wantRegistryError(t, err, transport.NameUnknownErrorCode)
	if _, err := e.client.DescribeRepositories(context.Background(), &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"nope"}}); err == nil {
		t.Errorf("a push created the repository; ECR does not create repositories on push")
	}
}

func TestTagMutability(t *testing.T) {
	filter := func(f string) []types.ImageTagMutabilityExclusionFilter {
		return []types.ImageTagMutabilityExclusionFilter{{FilterType: types.ImageTagMutabilityExclusionFilterTypeWildcard, Filter: aws.String(f)}}
	}
	tests := []struct {
		name      string
		mode      types.ImageTagMutability
		filters   []types.ImageTagMutabilityExclusionFilter
		tag       string
		wantMoves bool
	}{
		{"MUTABLE moves", types.ImageTagMutabilityMutable, nil, "v1", true},
		{"IMMUTABLE holds", types.ImageTagMutabilityImmutable, nil, "v1", false},
		{"IMMUTABLE_WITH_EXCLUSION excluded tag moves", types.ImageTagMutabilityImmutableWithExclusion, filter("latest*"), "latest-main", true},
		{"IMMUTABLE_WITH_EXCLUSION other tag holds", types.ImageTagMutabilityImmutableWithExclusion, filter("latest*"), "v1", false},
		{"MUTABLE_WITH_EXCLUSION excluded tag holds", types.ImageTagMutabilityMutableWithExclusion, filter("v*"), "v1.2", false},
		{"MUTABLE_WITH_EXCLUSION other tag moves", types.ImageTagMutabilityMutableWithExclusion, filter("v*"), "dev", true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			ctx := context.Background()
			repo := fmt.Sprintf("m%d", i)
			e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String(repo), ImageTagMutability: tc.mode, ImageTagMutabilityExclusionFilters: tc.filters})
			auth := remote.WithAuth(e.auth(t))
			first := randomImage(t)
			if err := remote.Write(e.ref(t, repo+":"+tc.tag), first, auth); err != nil {
				t.Fatalf("first push: %v", err)
			}
			if err := remote.Write(e.ref(t, repo+":"+tc.tag), first, auth); err != nil {
				t.Errorf("pushing the same digest again: %v; it is not a change", err)
			}
			second := randomImage(t)
			err := remote.Write(e.ref(t, repo+":"+tc.tag), second, auth)
			if tc.wantMoves {
				if err != nil {
					t.Fatalf("moving a mutable tag: %v", err)
				}
			} else {
				wantRegistryError(t, err, transport.TagInvalidErrorCode)
			}
			// The API side follows the same rule.
			raw, _ := first.RawManifest()
			mt, _ := first.MediaType()
			_, err = e.client.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String(repo), ImageTag: aws.String(tc.tag), ImageManifest: aws.String(string(raw)), ImageManifestMediaType: aws.String(string(mt))})
			if tc.wantMoves {
				if err != nil {
					t.Errorf("PutImage moving the tag back: %v", err)
				}
			} else {
				// ECR refuses an existing immutable tag whatever the digest.
				wantAPIError[*types.ImageTagAlreadyExistsException](t, err)
				// So does the registry: a PUT of the same manifest under the tag.
				code, body := e.putManifest(t, repo, tc.tag, raw, string(mt))
				if code != http.StatusBadRequest || !strings.Contains(body, `"TAG_INVALID"`) || !strings.Contains(body, "cannot be overwritten because the tag is immutable") {
					t.Errorf("registry PUT of the same digest under immutable tag %s = %d %s, want 400 TAG_INVALID", tc.tag, code, body)
				}
				raw2, _ := second.RawManifest()
				// second's layers were uploaded before its manifest was refused.
				_, err = e.client.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String(repo), ImageTag: aws.String(tc.tag), ImageManifest: aws.String(string(raw2))})
				wantAPIError[*types.ImageTagAlreadyExistsException](t, err)
			}
		})
	}
}

func TestManifestMissingBlobs(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app")})
	img := randomImage(t)
	// remote.Put sends only the manifest: its blobs were never uploaded.
	err := remote.Put(e.ref(t, "app:v1"), img, remote.WithAuth(e.auth(t)))
	wantRegistryError(t, err, transport.ManifestBlobUnknownErrorCode)

	raw, _ := img.RawManifest()
	_, err = e.client.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("app"), ImageTag: aws.String("v1"), ImageManifest: aws.String(string(raw))})
	wantAPIError[*types.LayersNotFoundException](t, err)

	out, err := e.client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ImageDetails) != 0 {
		t.Errorf("a refused manifest left %d images", len(out.ImageDetails))
	}
}

func TestBlobsAreRepositoryScoped(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("aa")})
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("bb")})
	img := e.putTestImage(t, "aa", "v1")
	layers, _ := img.Layers()
	ld, _ := layers[0].Digest()

	out, err := e.client.BatchCheckLayerAvailability(ctx, &ecr.BatchCheckLayerAvailabilityInput{RepositoryName: aws.String("aa"), LayerDigests: []string{ld.String(), "sha256:" + strings.Repeat("0", 64)}})
	if err != nil {
		t.Fatalf("BatchCheckLayerAvailability: %v", err)
	}
	if len(out.Layers) != 1 || out.Layers[0].LayerAvailability != types.LayerAvailabilityAvailable || len(out.Failures) != 1 {
		t.Errorf("BatchCheckLayerAvailability = %d layers %+v, %d failures; want the pushed layer available and the other a failure", len(out.Layers), out.Layers, len(out.Failures))
	}
	size, _ := layers[0].Size()
	if got := aws.ToInt64(out.Layers[0].LayerSize); got != size {
		t.Errorf("layerSize = %d, want %d", got, size)
	}
	// The file exists on disk, but repository b never received the blob.
	raw, _ := img.RawManifest()
	_, err = e.client.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("bb"), ImageTag: aws.String("v1"), ImageManifest: aws.String(string(raw))})
	wantAPIError[*types.LayersNotFoundException](t, err)
}

// countingHandler records the status of cross-repository mount requests.
type countingHandler struct {
	h       http.Handler
	mu      sync.Mutex
	mounts  int
	uploads int
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }

func (c *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: 200}
	c.h.ServeHTTP(rec, r)
	if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/blobs/uploads/") {
		c.mu.Lock()
		if r.URL.Query().Get("mount") != "" && rec.status == http.StatusCreated {
			c.mounts++
		} else {
			c.uploads++
		}
		c.mu.Unlock()
	}
}

func TestCrossRepositoryMount(t *testing.T) {
	srv, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	ch := &countingHandler{h: srv}
	hs := httptest.NewServer(ch)
	t.Cleanup(func() { hs.Close(); _ = srv.Close() })
	e := &env{srv: srv, http: hs, client: newClient(hs.URL), host: strings.TrimPrefix(hs.URL, "http://")}
	for _, n := range []string{"src", "dst"} {
		e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String(n)})
	}
	e.enableBlobMounting(t)
	auth := remote.WithAuth(e.auth(t))
	e.putTestImage(t, "src", "v1")
	ch.mu.Lock()
	ch.mounts, ch.uploads = 0, 0
	ch.mu.Unlock()

	pulled, err := remote.Image(e.ref(t, "src:v1"), auth)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(e.ref(t, "dst:v1"), pulled, auth); err != nil {
		t.Fatalf("copying src:v1 to dst:v1: %v", err)
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	// 2 layers and the config: all mounted, none uploaded.
	if ch.mounts != 3 || ch.uploads != 0 {
		t.Errorf("copy made %d mounts and %d uploads, want 3 mounts and 0 uploads", ch.mounts, ch.uploads)
	}
}

func TestIndex(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("multi")})
	auth := remote.WithAuth(e.auth(t))
	idx, err := random.Index(512, 1, 3)
	if err != nil {
		t.Fatal(err)
	}

	raw, _ := idx.RawManifest()
	_, err = e.client.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("multi"), ImageTag: aws.String("all"), ImageManifest: aws.String(string(raw))})
	wantAPIError[*types.ReferencedImagesNotFoundException](t, err)
	err = remote.Put(e.ref(t, "multi:all"), idx, auth)
	wantRegistryError(t, err, transport.ManifestBlobUnknownErrorCode)

	if err := remote.WriteIndex(e.ref(t, "multi:all"), idx, auth); err != nil {
		t.Fatalf("remote.WriteIndex: %v", err)
	}
	pulled, err := remote.Index(e.ref(t, "multi:all"), auth)
	if err != nil {
		t.Fatalf("remote.Index: %v", err)
	}
	if err := validate.Index(pulled); err != nil {
		t.Errorf("validate.Index: %v", err)
	}
	digest, _ := idx.Digest()
	out, err := e.client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("multi"), ImageIds: []types.ImageIdentifier{{ImageDigest: aws.String(digest.String())}}})
	if err != nil {
		t.Fatalf("DescribeImages: %v", err)
	}
	var maxSize int64
	im, _ := idx.IndexManifest()
	for _, d := range im.Manifests {
		child, _ := idx.Image(d.Digest)
		ls, _ := child.Layers()
		var n int64
		for _, l := range ls {
			s, _ := l.Size()
			n += s
		}
		maxSize = max(maxSize, n)
	}
	if got := aws.ToInt64(out.ImageDetails[0].ImageSizeInBytes); got != maxSize {
		t.Errorf("index imageSizeInBytes = %d, want the largest child's %d", got, maxSize)
	}
	untagged, err := e.client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("multi"), Filter: &types.DescribeImagesFilter{TagStatus: types.TagStatusUntagged}})
	if err != nil {
		t.Fatal(err)
	}
	if len(untagged.ImageDetails) != 3 {
		t.Errorf("untagged images = %d, want the 3 children", len(untagged.ImageDetails))
	}
}

func TestPutImageAPI(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app")})
	img := e.putTestImage(t, "app", "v1")
	auth := remote.WithAuth(e.auth(t))

	got, err := e.client.BatchGetImage(ctx, &ecr.BatchGetImageInput{
		RepositoryName: aws.String("app"),
		ImageIds:       []types.ImageIdentifier{{ImageTag: aws.String("v1")}, {ImageTag: aws.String("missing")}},
	})
	if err != nil {
		t.Fatalf("BatchGetImage: %v", err)
	}
	if len(got.Images) != 1 || len(got.Failures) != 1 || got.Failures[0].FailureCode != types.ImageFailureCodeImageNotFound {
		t.Fatalf("BatchGetImage = %d images, failures %+v; want 1 image and an ImageNotFound failure", len(got.Images), got.Failures)
	}
	manifest := aws.ToString(got.Images[0].ImageManifest)
	want, _ := img.RawManifest()
	if manifest != string(want) {
		t.Errorf("BatchGetImage manifest differs from the pushed bytes")
	}

	t.Run("retag moves no bytes and is pullable", func(t *testing.T) {
		out, err := e.client.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("app"), ImageTag: aws.String("prod"), ImageManifest: aws.String(manifest), ImageManifestMediaType: got.Images[0].ImageManifestMediaType})
		if err != nil {
			t.Fatalf("PutImage: %v", err)
		}
		d, _ := img.Digest()
		if aws.ToString(out.Image.ImageId.ImageDigest) != d.String() {
			t.Errorf("PutImage digest %s, want %s", aws.ToString(out.Image.ImageId.ImageDigest), d)
		}
		desc, err := remote.Head(e.ref(t, "app:prod"), auth)
		if err != nil {
			t.Fatalf("HEAD app:prod: %v", err)
		}
		if desc.Digest != d {
			t.Errorf("app:prod is %s, want %s", desc.Digest, d)
		}
	})
	t.Run("same tag and digest again", func(t *testing.T) {
		_, err := e.client.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("app"), ImageTag: aws.String("v1"), ImageManifest: aws.String(manifest)})
		wantAPIError[*types.ImageAlreadyExistsException](t, err)
	})
	t.Run("digest is the sha256 of the bytes as pushed", func(t *testing.T) {
		reformatted := strings.ReplaceAll(manifest, ",", ", ")
		sum := sha256.Sum256([]byte(reformatted))
		wantDigest := "sha256:" + hex.EncodeToString(sum[:])
		out, err := e.client.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("app"), ImageTag: aws.String("spaced"), ImageManifest: aws.String(reformatted)})
		if err != nil {
			t.Fatalf("PutImage: %v", err)
		}
		if got := aws.ToString(out.Image.ImageId.ImageDigest); got != wantDigest {
			t.Errorf("digest = %s, want %s", got, wantDigest)
		}
		rd, err := remote.Get(e.ref(t, "app:spaced"), auth)
		if err != nil {
			t.Fatalf("GET app:spaced: %v", err)
		}
		if !bytes.Equal(rd.Manifest, []byte(reformatted)) || rd.Digest.String() != wantDigest {
			t.Errorf("registry returned %s with other bytes; want the bytes as pushed", rd.Digest)
		}
	})
	t.Run("wrong digest", func(t *testing.T) {
		_, err := e.client.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("app"), ImageTag: aws.String("x"), ImageManifest: aws.String(manifest), ImageDigest: aws.String("sha256:" + strings.Repeat("1", 64))})
		wantAPIError[*types.ImageDigestDoesNotMatchException](t, err)
	})
	t.Run("not JSON", func(t *testing.T) {
		_, err := e.client.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("app"), ImageTag: aws.String("x"), ImageManifest: aws.String("{")})
		wantAPIError[*types.InvalidParameterException](t, err)
	})
	t.Run("missing repository", func(t *testing.T) {
		_, err := e.client.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("nope"), ImageTag: aws.String("x"), ImageManifest: aws.String(manifest)})
		wantAPIError[*types.RepositoryNotFoundException](t, err)
	})
	t.Run("describe a missing image", func(t *testing.T) {
		_, err := e.client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("app"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("nope")}}})
		wantAPIError[*types.ImageNotFoundException](t, err)
	})
	t.Run("batch delete by tag keeps a still-tagged image", func(t *testing.T) {
		if _, err := e.client.BatchDeleteImage(ctx, &ecr.BatchDeleteImageInput{RepositoryName: aws.String("app"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("prod")}}}); err != nil {
			t.Fatal(err)
		}
		out, err := e.client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("app"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v1")}}})
		if err != nil {
			t.Fatalf("v1 went with prod: %v", err)
		}
		if diff := cmp.Diff([]string{"v1"}, out.ImageDetails[0].ImageTags); diff != "" {
			t.Errorf("tags (-want +got):\n%s", diff)
		}
	})
}

func TestChunkedUploadAndErrors(t *testing.T) {
	e := newEnv(t, Options{})
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app")})
	auth := e.auth(t).(*authn.Basic)
	do := func(t *testing.T, method, path string, body []byte, hdr map[string]string) *http.Response {
		t.Helper()
		u := path
		if !strings.HasPrefix(u, "http") {
			u = e.http.URL + path
		}
		req, _ := http.NewRequest(method, u, bytes.NewReader(body))
		req.SetBasicAuth(auth.Username, auth.Password)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	data := bytes.Repeat([]byte("0123456789"), 100_000)
	sum := sha256.Sum256(data)
	digest := "sha256:" + hex.EncodeToString(sum[:])

	resp := do(t, http.MethodPost, "/v2/app/blobs/uploads/", nil, nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST upload = %d, want 202", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	resp = do(t, http.MethodPatch, loc, data[:400_000], map[string]string{"Content-Range": "0-399999"})
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Range") != "0-399999" {
		t.Fatalf("first PATCH = %d Range %q, want 202 0-399999", resp.StatusCode, resp.Header.Get("Range"))
	}
	resp = do(t, http.MethodPatch, loc, data[500_000:], map[string]string{"Content-Range": "500000-999999"})
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("PATCH with a gap = %d, want 416", resp.StatusCode)
	}
	// A final PUT whose chunk does not continue the upload: 416 as for a
	// PATCH (distribution spec), not DIGEST_INVALID, and the upload stays open.
	resp = do(t, http.MethodPut, loc+"?digest="+digest, data[500_000:], map[string]string{"Content-Range": "500000-999999"})
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable || resp.Header.Get("Location") == "" {
		t.Errorf("final PUT with a gap = %d Location %q, want 416 with the upload's Location", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = do(t, http.MethodGet, loc, nil, nil)
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Range") != "0-399999" {
		t.Fatalf("upload status after the refused PUT = %d Range %q, want 204 0-399999", resp.StatusCode, resp.Header.Get("Range"))
	}
	resp = do(t, http.MethodPatch, loc, data[400_000:], map[string]string{"Content-Range": "400000-999999"})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("second PATCH = %d, want 202", resp.StatusCode)
	}
	resp = do(t, http.MethodPut, loc+"?digest="+digest, nil, nil)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Docker-Content-Digest") != digest {
		t.Fatalf("PUT = %d digest %q, want 201 %s", resp.StatusCode, resp.Header.Get("Docker-Content-Digest"), digest)
	}
	resp = do(t, http.MethodHead, "/v2/app/blobs/"+digest, nil, nil)
	if resp.StatusCode != http.StatusOK || resp.ContentLength != int64(len(data)) {
		t.Errorf("HEAD blob = %d length %d, want 200 %d", resp.StatusCode, resp.ContentLength, len(data))
	}
	resp = do(t, http.MethodGet, "/v2/app/blobs/"+digest, nil, map[string]string{"Range": "bytes=10-19"})
	if resp.StatusCode != http.StatusPartialContent {
		t.Errorf("ranged GET = %d, want 206", resp.StatusCode)
	}

	tests := []struct {
		name, method, path string
		body               []byte
		status             int
	}{
		{"monolithic with the wrong digest", http.MethodPost, "/v2/app/blobs/uploads/?digest=sha256:" + strings.Repeat("a", 64), []byte("hello"), http.StatusBadRequest},
		{"monolithic with a malformed digest", http.MethodPost, "/v2/app/blobs/uploads/?digest=md5:abc", []byte("hello"), http.StatusBadRequest},
		{"unknown blob", http.MethodHead, "/v2/app/blobs/sha256:" + strings.Repeat("b", 64), nil, http.StatusNotFound},
		{"unknown upload", http.MethodPatch, "/v2/app/blobs/uploads/nope", []byte("x"), http.StatusNotFound},
		{"blob delete", http.MethodDelete, "/v2/app/blobs/" + digest, nil, http.StatusMethodNotAllowed},
		{"unknown manifest", http.MethodGet, "/v2/app/manifests/nope", nil, http.StatusNotFound},
		{"upload to a missing repository", http.MethodPost, "/v2/nope/blobs/uploads/", nil, http.StatusNotFound},
		{"catalog", http.MethodGet, "/v2/_catalog", nil, http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if resp := do(t, tc.method, tc.path, tc.body, nil); resp.StatusCode != tc.status {
				t.Errorf("%s %s = %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
			}
		})
	}

	monoData := []byte("monolithic blob")
	ms := sha256.Sum256(monoData)
	md := "sha256:" + hex.EncodeToString(ms[:])
	if resp := do(t, http.MethodPost, "/v2/app/blobs/uploads/?digest="+md, monoData, nil); resp.StatusCode != http.StatusCreated {
		t.Errorf("monolithic upload = %d, want 201", resp.StatusCode)
	}
}

func TestManifestDelete(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app")})
	img := e.putTestImage(t, "app", "v1")
	d, _ := img.Digest()
	auth := remote.WithAuth(e.auth(t))
	if err := remote.Delete(e.ref(t, "app@"+d.String()), auth); err != nil {
		t.Fatalf("remote.Delete: %v", err)
	}
	out, err := e.client.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ImageIds) != 0 {
		t.Errorf("after DELETE, ListImages shows %v", out.ImageIds)
	}
	err = remote.Delete(e.ref(t, "app@"+d.String()), auth)
	wantRegistryError(t, err, transport.ManifestUnknownErrorCode)
}

// TestConcurrentClients runs 20 clients at once, each creating a repository,
// pushing, and reading back, while all of them also push tags to one shared
// repository. Run with -race.
func TestConcurrentClients(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("shared")})
	auth := remote.WithAuth(e.auth(t))
	const clients = 20
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			repo := fmt.Sprintf("c%02d", i)
			if _, err := e.client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(repo)}); err != nil {
				errs <- fmt.Errorf("create %s: %w", repo, err)
				return
			}
			img, err := random.Image(2048, 2)
			if err != nil {
				errs <- err
				return
			}
			for _, ref := range []string{repo + ":v1", "shared:" + repo} {
				r, _ := name.ParseReference(e.host + "/" + ref)
				if err := remote.Write(r, img, auth); err != nil {
					errs <- fmt.Errorf("push %s: %w", ref, err)
					return
				}
			}
			if _, err := e.client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repo)}); err != nil {
				errs <- fmt.Errorf("describe %s: %w", repo, err)
			}
			// Racing creates of one name: exactly one wins.
			_, err = e.client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("race")})
			var exists *types.RepositoryAlreadyExistsException
			if err != nil && !errors.As(err, &exists) {
				errs <- fmt.Errorf("racing create: %w", err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	out, err := e.client.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: aws.String("shared")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ImageIds) != clients {
		t.Errorf("shared repository has %d image IDs, want %d", len(out.ImageIds), clients)
	}
	if got := e.srv.Calls()["CreateRepository"]; got != 2*clients+1 {
		t.Errorf("CreateRepository calls = %d, want %d", got, 2*clients+1)
	}
}

// putManifest PUTs a manifest to the registry with the API's credentials and
// returns the status and body.
func (e *env) putManifest(t *testing.T, repo, ref string, manifest []byte, mediaType string) (int, string) {
	t.Helper()
	auth := e.auth(t).(*authn.Basic)
	req, err := http.NewRequest(http.MethodPut, e.http.URL+"/v2/"+repo+"/manifests/"+ref, bytes.NewReader(manifest))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(auth.Username, auth.Password)
	req.Header.Set("Content-Type", mediaType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(body)
}
