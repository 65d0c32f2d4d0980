package ecrlocal

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

func TestAccountSettings(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	get := func(name string) string {
		t.Helper()
		out, err := e.client.GetAccountSetting(ctx, &ecr.GetAccountSettingInput{Name: aws.String(name)})
		if err != nil {
			t.Fatalf("GetAccountSetting(%s): %v", name, err)
		}
		if aws.ToString(out.Name) != name {
			t.Errorf("GetAccountSetting(%s) answered name %q", name, aws.ToString(out.Name))
		}
		return aws.ToString(out.Value)
	}
	if v := get("BLOB_MOUNTING"); v != "DISABLED" {
		t.Errorf("BLOB_MOUNTING of a new registry = %q, want DISABLED", v)
	}
	out, err := e.client.PutAccountSetting(ctx, &ecr.PutAccountSettingInput{Name: aws.String("BLOB_MOUNTING"), Value: aws.String("ENABLED")})
	if err != nil || aws.ToString(out.Name) != "BLOB_MOUNTING" || aws.ToString(out.Value) != "ENABLED" {
		t.Fatalf("PutAccountSetting BLOB_MOUNTING ENABLED = %v %v", out, err)
	}
	if v := get("BLOB_MOUNTING"); v != "ENABLED" {
		t.Errorf("BLOB_MOUNTING after enabling = %q", v)
	}
	if v := get("BASIC_SCAN_TYPE_VERSION"); v != "AWS_NATIVE" {
		t.Errorf("BASIC_SCAN_TYPE_VERSION = %q, want AWS_NATIVE", v)
	}
	for _, in := range []*ecr.PutAccountSettingInput{
		{Name: aws.String("BLOB_MOUNTING"), Value: aws.String("enabled")},
		{Name: aws.String("NO_SUCH_SETTING"), Value: aws.String("ENABLED")},
	} {
		_, err := e.client.PutAccountSetting(ctx, in)
		wantAPIError[*types.InvalidParameterException](t, err)
	}
	_, err = e.client.GetAccountSetting(ctx, &ecr.GetAccountSettingInput{Name: aws.String("NO_SUCH_SETTING")})
	wantAPIError[*types.InvalidParameterException](t, err)
}

// TestBlobMountRules checks ECR's conditions for a cross-repository mount:
// BLOB_MOUNTING enabled, the same encryption type and key on both sides, and
// a blob that a manifest in the source repository references. Otherwise the
// POST opens an upload session (202).
func TestBlobMountRules(t *testing.T) {
	e := newEnv(t, Options{})
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("src")})
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("dst")})
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("kms"), EncryptionConfiguration: &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeKms}})
	img := e.putTestImage(t, "src", "v1")
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	layer, _ := layers[0].Digest()
	loose := []byte("a blob no manifest references")
	looseDigest := sha256Digest(loose)
	if resp, _ := e.registryDo(t, http.MethodPost, "/v2/src/blobs/uploads/?digest="+looseDigest, loose, nil); resp.StatusCode != http.StatusCreated {
		t.Fatalf("pushing a loose blob: %d", resp.StatusCode)
	}
	mount := func(to, digest string) int {
		t.Helper()
		resp, _ := e.registryDo(t, http.MethodPost, "/v2/"+to+"/blobs/uploads/?mount="+digest+"&from=src", nil, nil)
		if resp.StatusCode == http.StatusAccepted && resp.Header.Get("Location") == "" {
			t.Errorf("a refused mount answered 202 without an upload Location")
		}
		return resp.StatusCode
	}
	if code := mount("dst", layer.String()); code != http.StatusAccepted {
		t.Errorf("mount with BLOB_MOUNTING at its default = %d, want 202 (an upload session)", code)
	}
	e.enableBlobMounting(t)
	if code := mount("kms", layer.String()); code != http.StatusAccepted {
		t.Errorf("mount from AES256 into a KMS repository = %d, want 202", code)
	}
	if code := mount("dst", looseDigest); code != http.StatusAccepted {
		t.Errorf("mount of a blob no manifest references = %d, want 202", code)
	}
	if code := mount("dst", layer.String()); code != http.StatusCreated {
		t.Errorf("mount of a referenced layer between AES256 repositories = %d, want 201", code)
	}
	if resp, _ := e.registryDo(t, http.MethodHead, "/v2/dst/blobs/"+layer.String(), nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("HEAD of the mounted layer in dst = %d, want 200", resp.StatusCode)
	}
}
