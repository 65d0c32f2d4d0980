package ecrlocal

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/authn"
)

// registryDo sends one registry request with the API's credentials and
// returns the response with its body read.
func (e *env) registryDo(t *testing.T, method, path string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	auth := e.auth(t).(*authn.Basic)
	u := path
	if len(u) > 0 && u[0] == '/' {
		u = e.http.URL + path
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(auth.Username, auth.Password)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, b
}

const emptyJSONType = "application/vnd.oci.empty.v1+json"

// pushArtifact pushes an OCI artifact manifest (empty config and layer) with
// the given artifact type, subject and annotations by digest, and returns
// the response and the manifest's digest.
func (e *env) pushArtifact(t *testing.T, repo, artifactType, subject string, annotations map[string]string) (*http.Response, string) {
	t.Helper()
	empty := []byte("{}")
	emptyDigest := sha256Digest(empty)
	if resp, _ := e.registryDo(t, http.MethodPost, "/v2/"+repo+"/blobs/uploads/?digest="+emptyDigest, empty, nil); resp.StatusCode != http.StatusCreated {
		t.Fatalf("pushing the empty blob: %d", resp.StatusCode)
	}
	desc := map[string]any{"mediaType": emptyJSONType, "digest": emptyDigest, "size": 2}
	m := map[string]any{
		"schemaVersion": 2,
		"mediaType":     mediaOCIManifest,
		"artifactType":  artifactType,
		"config":        desc,
		"layers":        []any{desc},
		"subject":       map[string]any{"mediaType": mediaOCIManifest, "digest": subject, "size": 123},
	}
	if annotations != nil {
		m["annotations"] = annotations
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256Digest(raw)
	resp, body := e.registryDo(t, http.MethodPut, "/v2/"+repo+"/manifests/"+digest, raw, map[string]string{"Content-Type": mediaOCIManifest})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT artifact %s = %d %s, want 201", artifactType, resp.StatusCode, body)
	}
	return resp, digest
}

type referrersIndex struct {
	SchemaVersion int    `json:"schemaVersion"`
	MediaType     string `json:"mediaType"`
	Manifests     []struct {
		MediaType    string            `json:"mediaType"`
		Digest       string            `json:"digest"`
		Size         int64             `json:"size"`
		ArtifactType string            `json:"artifactType"`
		Annotations  map[string]string `json:"annotations"`
	} `json:"manifests"`
}

func (e *env) referrers(t *testing.T, repo, digest, query string) (*http.Response, referrersIndex) {
	t.Helper()
	resp, body := e.registryDo(t, http.MethodGet, "/v2/"+repo+"/referrers/"+digest+query, nil, nil)
	var idx referrersIndex
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &idx); err != nil {
			t.Fatalf("referrers body %s: %v", body, err)
		}
	}
	return resp, idx
}

func TestReferrers(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app")})
	img := e.putTestImage(t, "app", "v1")
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	subject := d.String()

	// No referrers yet: 200 and an empty index, not 404.
	resp, idx := e.referrers(t, "app", subject, "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != mediaOCIIndex || idx.MediaType != mediaOCIIndex || idx.SchemaVersion != 2 || len(idx.Manifests) != 0 {
		t.Fatalf("referrers of an image without any = %d %q %+v, want 200 and an empty OCI index", resp.StatusCode, resp.Header.Get("Content-Type"), idx)
	}

	putResp, sbom := e.pushArtifact(t, "app", "application/vnd.example.sbom", subject, nil)
	if got := putResp.Header.Get("OCI-Subject"); got != subject {
		t.Errorf("PUT with a subject answered OCI-Subject %q, want %s", got, subject)
	}
	_, sig := e.pushArtifact(t, "app", "application/vnd.example.sig", subject, map[string]string{"org.example.signer": "ci"})

	resp, idx = e.referrers(t, "app", subject, "")
	if resp.StatusCode != http.StatusOK || len(idx.Manifests) != 2 {
		t.Fatalf("referrers = %d %+v, want both artifacts", resp.StatusCode, idx)
	}
	if m := idx.Manifests[1]; m.Digest != sig || m.ArtifactType != "application/vnd.example.sig" || m.MediaType != mediaOCIManifest || m.Annotations["org.example.signer"] != "ci" || m.Size <= 0 {
		t.Errorf("second referrer = %+v, want %s with its artifact type, media type, size and annotations", m, sig)
	}
	if resp.Header.Get("OCI-Filters-Applied") != "" {
		t.Errorf("unfiltered referrers answered OCI-Filters-Applied %q", resp.Header.Get("OCI-Filters-Applied"))
	}

	resp, idx = e.referrers(t, "app", subject, "?artifactType=application/vnd.example.sbom")
	if resp.Header.Get("OCI-Filters-Applied") != "artifactType" || len(idx.Manifests) != 1 || idx.Manifests[0].Digest != sbom {
		t.Errorf("filtered referrers = %q %+v, want OCI-Filters-Applied artifactType and only %s", resp.Header.Get("OCI-Filters-Applied"), idx, sbom)
	}

	// A subject that is not in the repository is accepted (the spec says MUST).
	absent := sha256Digest([]byte("not pushed"))
	putResp, orphan := e.pushArtifact(t, "app", "application/vnd.example.sbom", absent, nil)
	if putResp.Header.Get("OCI-Subject") != absent {
		t.Errorf("PUT with an absent subject answered OCI-Subject %q, want %s", putResp.Header.Get("OCI-Subject"), absent)
	}
	if _, idx = e.referrers(t, "app", absent, ""); len(idx.Manifests) != 1 || idx.Manifests[0].Digest != orphan {
		t.Errorf("referrers of an absent subject = %+v, want %s", idx, orphan)
	}

	if resp, body := e.registryDo(t, http.MethodGet, "/v2/app/referrers/sha512:abc", nil, nil); resp.StatusCode != http.StatusBadRequest || !bytes.Contains(body, []byte("DIGEST_INVALID")) {
		t.Errorf("referrers of a non-sha256 digest = %d %s, want 400 DIGEST_INVALID", resp.StatusCode, body)
	}
	if resp, body := e.registryDo(t, http.MethodGet, "/v2/nope/referrers/"+subject, nil, nil); resp.StatusCode != http.StatusNotFound || !bytes.Contains(body, []byte("NAME_UNKNOWN")) {
		t.Errorf("referrers in a missing repository = %d %s, want 404 NAME_UNKNOWN", resp.StatusCode, body)
	}

	// DescribeImages names the subject.
	out, err := e.client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("app"), ImageIds: []types.ImageIdentifier{{ImageDigest: aws.String(sig)}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.ImageDetails[0].SubjectManifestDigest); got != subject {
		t.Errorf("DescribeImages subjectManifestDigest = %q, want %s", got, subject)
	}

	// ListImageReferrers: the API view of the same.
	lr, err := e.client.ListImageReferrers(ctx, &ecr.ListImageReferrersInput{RepositoryName: aws.String("app"), SubjectId: &types.SubjectIdentifier{ImageDigest: aws.String(subject)}})
	if err != nil {
		t.Fatalf("ListImageReferrers: %v", err)
	}
	if len(lr.Referrers) != 2 || aws.ToString(lr.Referrers[0].Digest) != sbom || lr.Referrers[0].ArtifactStatus != types.ArtifactStatusActive || aws.ToString(lr.Referrers[1].ArtifactType) != "application/vnd.example.sig" || lr.Referrers[1].Annotations["org.example.signer"] != "ci" || aws.ToInt64(lr.Referrers[1].Size) <= 0 {
		t.Errorf("ListImageReferrers = %s, want the sbom then the sig, ACTIVE", dump(lr.Referrers))
	}
	page1, err := e.client.ListImageReferrers(ctx, &ecr.ListImageReferrersInput{RepositoryName: aws.String("app"), SubjectId: &types.SubjectIdentifier{ImageDigest: aws.String(subject)}, MaxResults: aws.Int32(1)})
	if err != nil || len(page1.Referrers) != 1 || page1.NextToken == nil {
		t.Fatalf("ListImageReferrers maxResults 1 = %v %v, want one referrer and a nextToken", page1, err)
	}
	page2, err := e.client.ListImageReferrers(ctx, &ecr.ListImageReferrersInput{RepositoryName: aws.String("app"), SubjectId: &types.SubjectIdentifier{ImageDigest: aws.String(subject)}, MaxResults: aws.Int32(1), NextToken: page1.NextToken})
	if err != nil || len(page2.Referrers) != 1 || aws.ToString(page2.Referrers[0].Digest) != sig || page2.NextToken != nil {
		t.Errorf("ListImageReferrers page 2 = %v %v, want the sig and no nextToken", page2, err)
	}
	filtered, err := e.client.ListImageReferrers(ctx, &ecr.ListImageReferrersInput{RepositoryName: aws.String("app"), SubjectId: &types.SubjectIdentifier{ImageDigest: aws.String(subject)}, Filter: &types.ListImageReferrersFilter{ArtifactTypes: []string{"application/vnd.example.sig"}}})
	if err != nil || len(filtered.Referrers) != 1 || aws.ToString(filtered.Referrers[0].Digest) != sig {
		t.Errorf("ListImageReferrers filtered by artifact type = %v %v, want only the sig", filtered, err)
	}
	_, err = e.client.ListImageReferrers(ctx, &ecr.ListImageReferrersInput{RepositoryName: aws.String("app"), SubjectId: &types.SubjectIdentifier{ImageDigest: aws.String(subject)}, MaxResults: aws.Int32(51)})
	wantAPIError[*types.InvalidParameterException](t, err)
	_, err = e.client.ListImageReferrers(ctx, &ecr.ListImageReferrersInput{RepositoryName: aws.String("nope"), SubjectId: &types.SubjectIdentifier{ImageDigest: aws.String(subject)}})
	wantAPIError[*types.RepositoryNotFoundException](t, err)

	// An archived referrer drops out of both views unless asked for.
	if _, err := e.client.UpdateImageStorageClass(ctx, &ecr.UpdateImageStorageClassInput{RepositoryName: aws.String("app"), ImageId: &types.ImageIdentifier{ImageDigest: aws.String(sig)}, TargetStorageClass: types.TargetStorageClassArchive}); err != nil {
		t.Fatal(err)
	}
	if _, idx = e.referrers(t, "app", subject, ""); len(idx.Manifests) != 1 || idx.Manifests[0].Digest != sbom {
		t.Errorf("referrers with the sig archived = %+v, want only the sbom", idx)
	}
	anyStatus, err := e.client.ListImageReferrers(ctx, &ecr.ListImageReferrersInput{RepositoryName: aws.String("app"), SubjectId: &types.SubjectIdentifier{ImageDigest: aws.String(subject)}, Filter: &types.ListImageReferrersFilter{ArtifactStatus: types.ArtifactStatusFilterArchived}})
	if err != nil || len(anyStatus.Referrers) != 1 || anyStatus.Referrers[0].ArtifactStatus != types.ArtifactStatusArchived {
		t.Errorf("ListImageReferrers ARCHIVED = %v %v, want the sig, ARCHIVED", anyStatus, err)
	}
}

func dump(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
