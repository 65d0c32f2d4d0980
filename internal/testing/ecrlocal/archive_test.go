package ecrlocal

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestArchiveStorageClass(t *testing.T) {
	srv, err := New(Options{RestoreDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	clk := &manualClock{t: time.Date(2099, 1, 2, 3, 4, 5, 0, time.UTC)}
	srv.now = clk.now // before the server serves anything
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); _ = srv.Close() })
	e := &env{srv: srv, http: hs, client: newClient(hs.URL, func(o *ecr.Options) { o.RetryMaxAttempts = 1 }), host: strings.TrimPrefix(hs.URL, "http://")}
	ctx := context.Background()
	e.createRepo(t, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app"), ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: true}})
	img := e.putTestImage(t, "app", "v1")
	d, _ := img.Digest()
	digest := d.String()
	id := &types.ImageIdentifier{ImageDigest: aws.String(digest)}

	// Let scan on push finish, so the archived image has a scan to report on.
	for deadline := time.Now().Add(15 * time.Second); ; {
		out, err := e.client.DescribeImageScanFindings(ctx, &ecr.DescribeImageScanFindingsInput{RepositoryName: aws.String("app"), ImageId: id})
		if err == nil && out.ImageScanStatus.Status == types.ScanStatusComplete {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("scan on push did not complete: %v %v", out, err)
		}
		time.Sleep(10 * time.Millisecond)
	}

	archive := func(class types.TargetStorageClass) (*ecr.UpdateImageStorageClassOutput, error) {
		return e.client.UpdateImageStorageClass(ctx, &ecr.UpdateImageStorageClassInput{RepositoryName: aws.String("app"), ImageId: &types.ImageIdentifier{ImageTag: aws.String("v1")}, TargetStorageClass: class})
	}
	_, err = archive(types.TargetStorageClassStandard)
	wantAPIError[*types.ImageStorageClassUpdateNotSupportedException](t, err) // already standard
	out, err := archive(types.TargetStorageClassArchive)
	if err != nil || out.ImageStatus != types.ImageStatusArchived || aws.ToString(out.ImageId.ImageDigest) != digest {
		t.Fatalf("archiving app:v1 = %v %v, want ARCHIVED", out, err)
	}
	_, err = archive(types.TargetStorageClassArchive)
	wantAPIError[*types.ImageStorageClassUpdateNotSupportedException](t, err)

	pull := func() int {
		t.Helper()
		resp, _ := e.registryDo(t, http.MethodGet, "/v2/app/manifests/v1", nil, map[string]string{"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
		return resp.StatusCode
	}
	if code := pull(); code != http.StatusNotFound {
		t.Errorf("pulling an archived image = %d, want 404", code)
	}
	if resp, _ := e.registryDo(t, http.MethodHead, "/v2/app/manifests/"+digest, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("HEAD of an archived image by digest = %d, want 404", resp.StatusCode)
	}
	if _, err := remote.Image(e.ref(t, "app:v1"), remote.WithAuth(e.auth(t))); err == nil {
		t.Errorf("go-containerregistry pulled an archived image")
	}
	bg, err := e.client.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: aws.String("app"), ImageIds: []types.ImageIdentifier{*id}})
	if err != nil || len(bg.Images) != 0 || len(bg.Failures) != 1 || bg.Failures[0].FailureCode != types.ImageFailureCodeImageNotFound {
		t.Errorf("BatchGetImage of an archived image = %v %v, want one ImageNotFound failure", bg, err)
	}

	// Described and listed only when the imageStatus filter asks for it.
	di, err := e.client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("app")})
	if err != nil || len(di.ImageDetails) != 0 {
		t.Errorf("DescribeImages without a filter = %v %v, want no images (ACTIVE only)", di, err)
	}
	di, err = e.client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("app"), Filter: &types.DescribeImagesFilter{ImageStatus: types.ImageStatusFilterArchived}})
	if err != nil || len(di.ImageDetails) != 1 || di.ImageDetails[0].ImageStatus != types.ImageStatusArchived || !aws.ToTime(di.ImageDetails[0].LastArchivedAt).Equal(clk.now()) {
		t.Fatalf("DescribeImages ARCHIVED = %s %v, want app:v1 ARCHIVED at %v", dump(di), err, clk.now())
	}
	li, err := e.client.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: aws.String("app")})
	if err != nil || len(li.ImageIds) != 0 {
		t.Errorf("ListImages without a filter = %v %v, want none", li, err)
	}
	li, err = e.client.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: aws.String("app"), Filter: &types.ListImagesFilter{ImageStatus: types.ImageStatusFilterAny}})
	if err != nil || len(li.ImageIds) != 1 {
		t.Errorf("ListImages ANY = %v %v, want app:v1", li, err)
	}
	_, err = e.client.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: aws.String("app"), Filter: &types.ListImagesFilter{ImageStatus: "FROZEN"}})
	wantAPIError[*types.InvalidParameterException](t, err)

	sf, err := e.client.DescribeImageScanFindings(ctx, &ecr.DescribeImageScanFindingsInput{RepositoryName: aws.String("app"), ImageId: id})
	if err != nil || sf.ImageScanStatus.Status != types.ScanStatusImageArchived || sf.ImageScanFindings != nil {
		t.Errorf("DescribeImageScanFindings of an archived image = %s %v, want IMAGE_ARCHIVED and no findings", dump(sf), err)
	}

	// Restore: ACTIVATING (still not pullable) for the restore delay, then ACTIVE.
	out, err = archive(types.TargetStorageClassStandard)
	if err != nil || out.ImageStatus != types.ImageStatusActivating {
		t.Fatalf("restoring = %v %v, want ACTIVATING", out, err)
	}
	if code := pull(); code != http.StatusNotFound {
		t.Errorf("pulling an ACTIVATING image = %d, want 404", code)
	}
	_, err = archive(types.TargetStorageClassArchive)
	wantAPIError[*types.ImageStorageClassUpdateNotSupportedException](t, err) // mid-restore
	clk.advance(time.Hour)
	if code := pull(); code != http.StatusOK {
		t.Errorf("pulling a restored image = %d, want 200", code)
	}
	di, err = e.client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("app")})
	if err != nil || len(di.ImageDetails) != 1 || di.ImageDetails[0].ImageStatus != types.ImageStatusActive || di.ImageDetails[0].LastActivatedAt == nil {
		t.Errorf("DescribeImages after the restore = %s %v, want app:v1 ACTIVE with lastActivatedAt", dump(di), err)
	}

	// Pushing an archived image again restores it, as ECR documents.
	if _, err := archive(types.TargetStorageClassArchive); err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(e.ref(t, "app:again"), img, remote.WithAuth(e.auth(t))); err != nil {
		t.Fatalf("pushing the archived image again: %v", err)
	}
	clk.advance(time.Hour)
	if code := pull(); code != http.StatusOK {
		t.Errorf("pulling an image restored by a push = %d, want 200", code)
	}

	_, err = e.client.UpdateImageStorageClass(ctx, &ecr.UpdateImageStorageClassInput{RepositoryName: aws.String("app"), ImageId: &types.ImageIdentifier{ImageTag: aws.String("missing")}, TargetStorageClass: types.TargetStorageClassArchive})
	wantAPIError[*types.ImageNotFoundException](t, err)
	_, err = e.client.UpdateImageStorageClass(ctx, &ecr.UpdateImageStorageClassInput{RepositoryName: aws.String("nope"), ImageId: id, TargetStorageClass: types.TargetStorageClassArchive})
	wantAPIError[*types.RepositoryNotFoundException](t, err)
}
