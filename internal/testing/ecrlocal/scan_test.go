package ecrlocal_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	ggcrtypes "github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"

	"github.com/org/ecr-action/internal/testing/ecrlocal"
	"github.com/org/ecr-action/internal/testing/ecrlocal/ecrlocaltest"
)

// scanData is the repository's testdata/scan directory.
const scanData = "../../../testdata/scan"

func readScanData(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(scanData, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func vulnDB(t *testing.T) []ecrlocal.Vuln {
	t.Helper()
	db, err := ecrlocal.LoadVulnDB(filepath.Join(scanData, "vulndb.json"))
	if err != nil {
		t.Fatalf("LoadVulnDB: %v", err)
	}
	return db
}

// entry is one tar entry of a test layer; an empty body with dir set is a
// directory.
type entry struct {
	name string
	body []byte
	dir  bool
}

func file(name string, body []byte) entry { return entry{name: name, body: body} }

// compression of a test layer.
type compression int

const (
	plain compression = iota
	gzipped
	zstded
)

// layer builds a layer blob from entries.
func layer(t *testing.T, c compression, entries ...entry) v1.Layer {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: tar.TypeReg}
		if e.dir {
			h = &tar.Header{Name: e.name, Mode: 0o755, Typeflag: tar.TypeDir}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	switch c {
	case gzipped:
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(tb.Bytes())
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return static.NewLayer(b.Bytes(), ggcrtypes.OCILayer)
	case zstded:
		var b bytes.Buffer
		zw, err := zstd.NewWriter(&b)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = zw.Write(tb.Bytes())
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return static.NewLayer(b.Bytes(), ggcrtypes.OCILayerZStd)
	default:
		return static.NewLayer(tb.Bytes(), ggcrtypes.OCIUncompressedLayer)
	}
}

// imageOf is an OCI image of these layers, bottom first.
func imageOf(t *testing.T, layers ...v1.Layer) v1.Image {
	t.Helper()
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, ggcrtypes.OCIManifestSchema1), ggcrtypes.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func debianImage(t *testing.T) v1.Image {
	return imageOf(t, layer(t, gzipped, file("var/lib/dpkg/status", readScanData(t, "debian/var/lib/dpkg/status"))))
}

func alpineImage(t *testing.T) v1.Image {
	return imageOf(t, layer(t, gzipped, file("lib/apk/db/installed", readScanData(t, "alpine/lib/apk/db/installed"))))
}

// scanEnv is an ecrlocal with the test vulnerability database and a way to
// push to it.
type scanEnv struct {
	*ecrlocaltest.Env
	auth authn.Authenticator
}

func startScan(t *testing.T, opts ecrlocal.Options) *scanEnv {
	t.Helper()
	if opts.VulnDB == nil {
		opts.VulnDB = vulnDB(t)
	}
	e := &scanEnv{Env: ecrlocaltest.StartWith(t, opts)}
	out, err := e.Client.GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatalf("GetAuthorizationToken: %v", err)
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(out.AuthorizationData[0].AuthorizationToken))
	if err != nil {
		t.Fatal(err)
	}
	user, pass, _ := strings.Cut(string(raw), ":")
	e.auth = &authn.Basic{Username: user, Password: pass}
	return e
}

func (e *scanEnv) repo(t *testing.T, name string, scanOnPush bool) {
	t.Helper()
	_, err := e.Client.CreateRepository(context.Background(), &ecr.CreateRepositoryInput{
		RepositoryName:             aws.String(name),
		ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: scanOnPush},
	})
	if err != nil {
		t.Fatalf("CreateRepository(%s): %v", name, err)
	}
}

func (e *scanEnv) ref(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(strings.TrimPrefix(e.URL, "http://") + "/" + s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// push writes img as repo:tag and returns its digest.
func (e *scanEnv) push(t *testing.T, repo, tag string, img v1.Image) string {
	t.Helper()
	if err := remote.Write(e.ref(t, repo+":"+tag), img, remote.WithAuth(e.auth)); err != nil {
		t.Fatalf("pushing %s:%s: %v", repo, tag, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func (e *scanEnv) findings(ctx context.Context, repo, digest string, mutate ...func(*ecr.DescribeImageScanFindingsInput)) (*ecr.DescribeImageScanFindingsOutput, error) {
	in := &ecr.DescribeImageScanFindingsInput{RepositoryName: aws.String(repo), ImageId: &types.ImageIdentifier{ImageDigest: aws.String(digest)}}
	for _, m := range mutate {
		m(in)
	}
	return e.Client.DescribeImageScanFindings(ctx, in)
}

// wait polls until the scan of digest leaves IN_PROGRESS / PENDING.
func (e *scanEnv) wait(t *testing.T, repo, digest string) *ecr.DescribeImageScanFindingsOutput {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, err := e.findings(context.Background(), repo, digest)
		if err != nil {
			t.Fatalf("DescribeImageScanFindings(%s@%s): %v", repo, digest, err)
		}
		switch out.ImageScanStatus.Status {
		case types.ScanStatusInProgress, types.ScanStatusPending:
		default:
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("scan of %s@%s still %s after 15s", repo, digest, out.ImageScanStatus.Status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// basic lists basic findings as "ID package version SEVERITY".
func basic(fs []types.ImageScanFinding) []string {
	var out []string
	for _, f := range fs {
		attrs := map[string]string{}
		for _, a := range f.Attributes {
			attrs[aws.ToString(a.Key)] = aws.ToString(a.Value)
		}
		out = append(out, fmt.Sprintf("%s %s %s %s", aws.ToString(f.Name), attrs["package_name"], attrs["package_version"], f.Severity))
	}
	return out
}

var (
	debianFindings = []string{
		"CVE-2099-0001 libssl3 3.0.11-1~deb12u2 CRITICAL",
		"CVE-2099-0001 openssl 3.0.11-1~deb12u2 CRITICAL",
		"CVE-2099-0002 zlib1g 1:1.2.13.dfsg-1 HIGH",
		"CVE-2099-0003 libc6 2.36-9+deb12u3 MEDIUM",
		"CVE-2099-0005 libc6 2.36-9+deb12u3 LOW",
		"CVE-2099-0006 tzdata 2024a-0+deb12u1 INFORMATIONAL",
	}
	debianCounts   = map[string]int32{"CRITICAL": 2, "HIGH": 1, "MEDIUM": 1, "LOW": 1, "INFORMATIONAL": 1}
	alpineFindings = []string{
		"CVE-2099-0008 busybox 1.36.1-r15 HIGH",
		"ALAS-2099-0001 libcrypto3 3.1.4-r5 MEDIUM",
		"CVE-2099-0009 musl 1.2.4-r2 UNDEFINED",
	}
	alpineCounts = map[string]int32{"HIGH": 1, "MEDIUM": 1, "UNDEFINED": 1}
)

func TestScanOnPushFindsDpkgAndApkPackages(t *testing.T) {
	e := startScan(t, ecrlocal.Options{})
	ctx := context.Background()
	e.repo(t, "app", true)
	for _, tc := range []struct {
		name   string
		img    v1.Image
		want   []string
		counts map[string]int32
	}{
		{"debian", debianImage(t), debianFindings, debianCounts},
		{"alpine", alpineImage(t), alpineFindings, alpineCounts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			digest := e.push(t, "app", tc.name, tc.img)
			out := e.wait(t, "app", digest)
			if out.ImageScanStatus.Status != types.ScanStatusComplete || aws.ToString(out.ImageScanStatus.Description) != "The scan was completed successfully." {
				t.Fatalf("status = %s %q, want COMPLETE", out.ImageScanStatus.Status, aws.ToString(out.ImageScanStatus.Description))
			}
			if aws.ToString(out.ImageId.ImageDigest) != digest || aws.ToString(out.RepositoryName) != "app" || aws.ToString(out.RegistryId) != ecrlocal.DefaultAccount {
				t.Errorf("identity = %s %s %s", aws.ToString(out.ImageId.ImageDigest), aws.ToString(out.RepositoryName), aws.ToString(out.RegistryId))
			}
			f := out.ImageScanFindings
			if diff := cmp.Diff(tc.want, basic(f.Findings)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.counts, f.FindingSeverityCounts); diff != "" {
				t.Errorf("findingSeverityCounts (-want +got):\n%s", diff)
			}
			if f.ImageScanCompletedAt == nil || f.VulnerabilitySourceUpdatedAt == nil || len(f.EnhancedFindings) != 0 {
				t.Errorf("imageScanCompletedAt %v, vulnerabilitySourceUpdatedAt %v, %d enhanced findings", f.ImageScanCompletedAt, f.VulnerabilitySourceUpdatedAt, len(f.EnhancedFindings))
			}
			for _, x := range f.Findings {
				id := aws.ToString(x.Name)
				if aws.ToString(x.Uri) != "https://ecrlocal.invalid/vulndb/"+id || !strings.HasPrefix(aws.ToString(x.Description), "Test data:") {
					t.Errorf("finding %s: uri %q description %q", id, aws.ToString(x.Uri), aws.ToString(x.Description))
				}
			}

			d, err := e.Client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("app"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String(tc.name)}}})
			if err != nil {
				t.Fatalf("DescribeImages: %v", err)
			}
			// AWS-native basic scanning leaves both out of DescribeImages.
			if det := d.ImageDetails[0]; det.ImageScanStatus != nil || det.ImageScanFindingsSummary != nil {
				t.Errorf("DescribeImages of a basic scan: imageScanStatus %+v, imageScanFindingsSummary %+v, want neither", det.ImageScanStatus, det.ImageScanFindingsSummary)
			}
		})
	}
}

func TestScanSkipsDeinstalledPackages(t *testing.T) {
	e := startScan(t, ecrlocal.Options{})
	e.repo(t, "app", true)
	out := e.wait(t, "app", e.push(t, "app", "v1", debianImage(t)))
	for _, f := range basic(out.ImageScanFindings.Findings) {
		if strings.Contains(f, "curl") {
			t.Errorf("finding %q: curl is only config-files and is not installed", f)
		}
	}
}

func TestScanReadsLayersInOrder(t *testing.T) {
	status := readScanData(t, "debian/var/lib/dpkg/status")
	apk := readScanData(t, "alpine/lib/apk/db/installed")
	distroless := []byte("Package: libssl3\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\n")
	tests := []struct {
		name   string
		layers func(t *testing.T) []v1.Layer
		want   []string
	}{
		{"no package database", func(t *testing.T) []v1.Layer {
			return []v1.Layer{layer(t, gzipped, file("etc/hostname", []byte("x\n")))}
		}, nil},
		{"whiteout removes the status file", func(t *testing.T) []v1.Layer {
			return []v1.Layer{
				layer(t, gzipped, file("var/lib/dpkg/status", status)),
				layer(t, gzipped, file("var/lib/dpkg/.wh.status", nil)),
			}
		}, nil},
		{"whiteout of the directory", func(t *testing.T) []v1.Layer {
			return []v1.Layer{
				layer(t, gzipped, file("var/lib/dpkg/status", status)),
				layer(t, plain, file("var/lib/.wh.dpkg", nil)),
			}
		}, nil},
		{"opaque directory hides lower layers but not its own", func(t *testing.T) []v1.Layer {
			return []v1.Layer{
				layer(t, gzipped, file("lib/apk/db/installed", apk), file("var/lib/dpkg/status", status)),
				layer(t, gzipped, file("var/lib/dpkg/status.d/libssl3", distroless), file("var/lib/dpkg/.wh..wh..opq", nil)),
			}
		}, append(append([]string{}, alpineFindings...), "CVE-2099-0001 libssl3 3.0.11-1~deb12u2 CRITICAL")},
		{"an upper layer re-adds the file", func(t *testing.T) []v1.Layer {
			return []v1.Layer{
				layer(t, gzipped, file("var/lib/dpkg/status", status)),
				layer(t, gzipped, file("var/lib/dpkg/.wh.status", nil)),
				layer(t, gzipped, file("var/lib/dpkg/status", status)),
			}
		}, debianFindings},
		{"zstd, gzip and uncompressed layers with ./ and / paths", func(t *testing.T) []v1.Layer {
			return []v1.Layer{
				layer(t, plain, entry{name: "./var/", dir: true}, file("./var/lib/dpkg/status", status)),
				layer(t, zstded, file("/lib/apk/db/installed", apk)),
				layer(t, gzipped, file("etc/motd", []byte("hello\n"))),
			}
		}, append(append([]string{}, debianFindings...), alpineFindings...)},
		{"distroless status.d, md5sums ignored", func(t *testing.T) []v1.Layer {
			return []v1.Layer{layer(t, zstded,
				file("var/lib/dpkg/status.d/libssl3", distroless),
				file("var/lib/dpkg/status.d/libssl3.md5sums", []byte("0123  usr/lib/libssl.so.3\n")),
			)}
		}, []string{"CVE-2099-0001 libssl3 3.0.11-1~deb12u2 CRITICAL"}},
	}
	e := startScan(t, ecrlocal.Options{})
	e.repo(t, "layers", true)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := e.wait(t, "layers", e.push(t, "layers", fmt.Sprintf("t%d", i), imageOf(t, tc.layers(t)...)))
			if out.ImageScanStatus.Status != types.ScanStatusComplete {
				t.Fatalf("status = %s (%s), want COMPLETE", out.ImageScanStatus.Status, aws.ToString(out.ImageScanStatus.Description))
			}
			got := basic(out.ImageScanFindings.Findings)
			// The order is by severity, then ID: compare as sets.
			if diff := cmp.Diff(tc.want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b }), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScanOfUnreadableLayerFails(t *testing.T) {
	e := startScan(t, ecrlocal.Options{})
	e.repo(t, "broken", true)
	bad := static.NewLayer([]byte{0x1f, 0x8b, 0x08, 0x00, 'n', 'o', 't', ' ', 'g', 'z', 'i', 'p'}, ggcrtypes.OCILayer)
	out := e.wait(t, "broken", e.push(t, "broken", "v1", imageOf(t, bad)))
	if out.ImageScanStatus.Status != types.ScanStatusFailed || !strings.Contains(aws.ToString(out.ImageScanStatus.Description), "could not be read") {
		t.Errorf("status = %s %q, want FAILED saying the layer could not be read", out.ImageScanStatus.Status, aws.ToString(out.ImageScanStatus.Description))
	}
	if out.ImageScanFindings != nil {
		t.Errorf("a failed scan has findings: %+v", out.ImageScanFindings)
	}
}

func TestScanFindingsPages(t *testing.T) {
	e := startScan(t, ecrlocal.Options{})
	ctx := context.Background()
	e.repo(t, "app", true)
	digest := e.push(t, "app", "v1", debianImage(t))
	e.wait(t, "app", digest)
	var got []string
	var token *string
	pages := 0
	for {
		out, err := e.findings(ctx, "app", digest, func(in *ecr.DescribeImageScanFindingsInput) {
			in.MaxResults = aws.Int32(2)
			in.NextToken = token
		})
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		pages++
		if n := len(out.ImageScanFindings.Findings); n > 2 {
			t.Fatalf("page %d has %d findings, want at most 2", pages, n)
		}
		if !cmp.Equal(out.ImageScanFindings.FindingSeverityCounts, debianCounts) {
			t.Errorf("page %d counts %v, want the totals %v", pages, out.ImageScanFindings.FindingSeverityCounts, debianCounts)
		}
		got = append(got, basic(out.ImageScanFindings.Findings)...)
		token = out.NextToken
		if token == nil {
			break
		}
	}
	if pages != 3 {
		t.Errorf("%d pages, want 3", pages)
	}
	if diff := cmp.Diff(debianFindings, got); diff != "" {
		t.Errorf("findings over the pages (-want +got):\n%s", diff)
	}
	// The paginator of the SDK reads the same.
	p := ecr.NewDescribeImageScanFindingsPaginator(e.Client, &ecr.DescribeImageScanFindingsInput{RepositoryName: aws.String("app"), ImageId: &types.ImageIdentifier{ImageTag: aws.String("v1")}, MaxResults: aws.Int32(4)})
	var all []string
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, basic(out.ImageScanFindings.Findings)...)
	}
	if !cmp.Equal(all, debianFindings) {
		t.Errorf("paginator read %v", all)
	}
	for _, bad := range []int32{0, 1001} {
		_, err := e.findings(ctx, "app", digest, func(in *ecr.DescribeImageScanFindingsInput) { in.MaxResults = aws.Int32(bad) })
		wantAPIError[*types.InvalidParameterException](t, err)
	}
}

func TestScanNotFoundAndStartImageScan(t *testing.T) {
	e := startScan(t, ecrlocal.Options{})
	ctx := context.Background()
	e.repo(t, "manual", false)
	digest := e.push(t, "manual", "v1", alpineImage(t))

	_, err := e.findings(ctx, "manual", digest)
	wantAPIError[*types.ScanNotFoundException](t, err)
	_, err = e.Client.DescribeImageScanFindings(ctx, &ecr.DescribeImageScanFindingsInput{RepositoryName: aws.String("manual"), ImageId: &types.ImageIdentifier{ImageTag: aws.String("nope")}})
	wantAPIError[*types.ImageNotFoundException](t, err)
	_, err = e.findings(ctx, "nope", digest)
	wantAPIError[*types.RepositoryNotFoundException](t, err)
	d, err := e.Client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("manual")})
	if err != nil || d.ImageDetails[0].ImageScanStatus != nil || d.ImageDetails[0].ImageScanFindingsSummary != nil {
		t.Fatalf("DescribeImages before a scan: %v, %+v", err, d)
	}

	st, err := e.Client.StartImageScan(ctx, &ecr.StartImageScanInput{RepositoryName: aws.String("manual"), ImageId: &types.ImageIdentifier{ImageTag: aws.String("v1")}})
	if err != nil {
		t.Fatalf("StartImageScan: %v", err)
	}
	if st.ImageScanStatus.Status != types.ScanStatusInProgress || aws.ToString(st.ImageId.ImageDigest) != digest || aws.ToString(st.ImageId.ImageTag) != "v1" || aws.ToString(st.RepositoryName) != "manual" {
		t.Errorf("StartImageScan = %+v %+v, want IN_PROGRESS for %s", st.ImageScanStatus, st.ImageId, digest)
	}
	out := e.wait(t, "manual", digest)
	if diff := cmp.Diff(alpineFindings, basic(out.ImageScanFindings.Findings)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	_, err = e.Client.StartImageScan(ctx, &ecr.StartImageScanInput{RepositoryName: aws.String("manual"), ImageId: &types.ImageIdentifier{ImageDigest: aws.String(digest)}})
	wantAPIError[*types.LimitExceededException](t, err)
	_, err = e.Client.StartImageScan(ctx, &ecr.StartImageScanInput{RepositoryName: aws.String("manual"), ImageId: &types.ImageIdentifier{ImageTag: aws.String("nope")}})
	wantAPIError[*types.ImageNotFoundException](t, err)
}

func TestScanOfIndex(t *testing.T) {
	e := startScan(t, ecrlocal.Options{})
	ctx := context.Background()
	e.repo(t, "multi", true)
	amd, arm := debianImage(t), alpineImage(t)
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, ggcrtypes.OCIImageIndex),
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
	)
	if err := remote.WriteIndex(e.ref(t, "multi:v1"), idx, remote.WithAuth(e.auth)); err != nil {
		t.Fatalf("WriteIndex: %v", err)
	}
	idxDigest, _ := idx.Digest()
	out := e.wait(t, "multi", idxDigest.String())
	if out.ImageScanStatus.Status != types.ScanStatusUnsupportedImage || aws.ToString(out.ImageScanStatus.Description) != "The operation is not supported for this image." || out.ImageScanFindings != nil {
		t.Errorf("index scan = %s %q %+v, want UNSUPPORTED_IMAGE without findings", out.ImageScanStatus.Status, aws.ToString(out.ImageScanStatus.Description), out.ImageScanFindings)
	}
	for _, tc := range []struct {
		img  v1.Image
		want []string
	}{{amd, debianFindings}, {arm, alpineFindings}} {
		d, _ := tc.img.Digest()
		got := e.wait(t, "multi", d.String())
		if got.ImageScanStatus.Status != types.ScanStatusComplete || !cmp.Equal(basic(got.ImageScanFindings.Findings), tc.want) {
			t.Errorf("platform image %s: %s %v", d, got.ImageScanStatus.Status, basic(got.ImageScanFindings.Findings))
		}
	}
	_, err := e.Client.StartImageScan(ctx, &ecr.StartImageScanInput{RepositoryName: aws.String("multi"), ImageId: &types.ImageIdentifier{ImageTag: aws.String("v1")}})
	wantAPIError[*types.UnsupportedImageTypeException](t, err)
}

func TestRePushDoesNotRescan(t *testing.T) {
	e := startScan(t, ecrlocal.Options{})
	e.repo(t, "app", true)
	img := alpineImage(t)
	digest := e.push(t, "app", "v1", img)
	e.wait(t, "app", digest)
	e.Server.ScanHook("app", ecrlocal.ScanHook{Status: "FAILED"})
	e.push(t, "app", "v2", img)
	if out := e.wait(t, "app", digest); out.ImageScanStatus.Status != types.ScanStatusComplete {
		t.Errorf("after a re-push the status is %s, want the first scan's COMPLETE", out.ImageScanStatus.Status)
	}
}

func TestEnhancedScanning(t *testing.T) {
	e := startScan(t, ecrlocal.Options{})
	ctx := context.Background()
	get, err := e.Client.GetRegistryScanningConfiguration(ctx, &ecr.GetRegistryScanningConfigurationInput{})
	if err != nil {
		t.Fatalf("GetRegistryScanningConfiguration: %v", err)
	}
	if get.ScanningConfiguration.ScanType != types.ScanTypeBasic || len(get.ScanningConfiguration.Rules) != 0 || aws.ToString(get.RegistryId) != ecrlocal.DefaultAccount {
		t.Errorf("default configuration = %+v in %s, want BASIC without rules", get.ScanningConfiguration, aws.ToString(get.RegistryId))
	}
	rules := []types.RegistryScanningRule{
		{ScanFrequency: types.ScanFrequencyContinuousScan, RepositoryFilters: []types.ScanningRepositoryFilter{{Filter: aws.String("prod-*"), FilterType: types.ScanningRepositoryFilterTypeWildcard}}},
		{ScanFrequency: types.ScanFrequencyScanOnPush, RepositoryFilters: []types.ScanningRepositoryFilter{{Filter: aws.String("dev/*"), FilterType: types.ScanningRepositoryFilterTypeWildcard}}},
	}
	put, err := e.Client.PutRegistryScanningConfiguration(ctx, &ecr.PutRegistryScanningConfigurationInput{ScanType: types.ScanTypeEnhanced, Rules: rules})
	if err != nil {
		t.Fatalf("PutRegistryScanningConfiguration: %v", err)
	}
	if put.RegistryScanningConfiguration.ScanType != types.ScanTypeEnhanced || len(put.RegistryScanningConfiguration.Rules) != 2 {
		t.Errorf("PutRegistryScanningConfiguration answered %+v", put.RegistryScanningConfiguration)
	}
	get, err = e.Client.GetRegistryScanningConfiguration(ctx, &ecr.GetRegistryScanningConfigurationInput{})
	if err != nil {
		t.Fatal(err)
	}
	type ruleView struct{ Freq, Filter, Type string }
	var gotRules []ruleView
	for _, r := range get.ScanningConfiguration.Rules {
		for _, f := range r.RepositoryFilters {
			gotRules = append(gotRules, ruleView{string(r.ScanFrequency), aws.ToString(f.Filter), string(f.FilterType)})
		}
	}
	if diff := cmp.Diff([]ruleView{{"CONTINUOUS_SCAN", "prod-*", "WILDCARD"}, {"SCAN_ON_PUSH", "dev/*", "WILDCARD"}}, gotRules); diff != "" || get.ScanningConfiguration.ScanType != types.ScanTypeEnhanced {
		t.Errorf("GetRegistryScanningConfiguration %s rules (-want +got):\n%s", get.ScanningConfiguration.ScanType, diff)
	}

	e.repo(t, "prod-api", false)
	e.repo(t, "dev/tools", false)
	e.repo(t, "other", true) // scanOnPush is superseded by the ENHANCED rules
	e.Server.ScanHook("dev/tools", ecrlocal.ScanHook{Delay: 300 * time.Millisecond})

	debian := e.push(t, "prod-api", "v1", debianImage(t))
	out := e.wait(t, "prod-api", debian)
	if out.ImageScanStatus.Status != types.ScanStatusActive || aws.ToString(out.ImageScanStatus.Description) != "Continuous scan is selected for image." {
		t.Fatalf("prod-api status = %s %q, want ACTIVE", out.ImageScanStatus.Status, aws.ToString(out.ImageScanStatus.Description))
	}
	if len(out.ImageScanFindings.Findings) != 0 || len(out.ImageScanFindings.EnhancedFindings) != len(debianFindings) {
		t.Fatalf("%d basic and %d enhanced findings, want 0 and %d", len(out.ImageScanFindings.Findings), len(out.ImageScanFindings.EnhancedFindings), len(debianFindings))
	}
	if !cmp.Equal(out.ImageScanFindings.FindingSeverityCounts, debianCounts) {
		t.Errorf("counts %v, want %v", out.ImageScanFindings.FindingSeverityCounts, debianCounts)
	}
	var got []string
	for _, f := range out.ImageScanFindings.EnhancedFindings {
		d := f.PackageVulnerabilityDetails
		p := d.VulnerablePackages[0]
		got = append(got, fmt.Sprintf("%s %s %s %s fix=%s fixed=%s %s", aws.ToString(d.VulnerabilityId), aws.ToString(p.Name), aws.ToString(p.Version), aws.ToString(f.Severity), aws.ToString(f.FixAvailable), aws.ToString(p.FixedInVersion), aws.ToString(p.PackageManager)))
		if aws.ToString(f.Status) != "ACTIVE" || aws.ToString(f.Type) != "PACKAGE_VULNERABILITY" || aws.ToString(f.AwsAccountId) != ecrlocal.DefaultAccount ||
			!strings.HasPrefix(aws.ToString(f.FindingArn), "arn:aws:inspector2:us-east-1:123456789012:finding/") || f.FirstObservedAt == nil || f.LastObservedAt == nil ||
			aws.ToString(d.SourceUrl) != "https://ecrlocal.invalid/vulndb/"+aws.ToString(d.VulnerabilityId) || aws.ToString(d.VendorSeverity) != aws.ToString(f.Severity) || aws.ToString(f.Title) == "" {
			t.Errorf("enhanced finding %s: %+v / %+v", aws.ToString(d.VulnerabilityId), f, d)
		}
		if aws.ToString(f.Severity) == "CRITICAL" && f.Score != 9.8 {
			t.Errorf("CRITICAL score %v, want 9.8", f.Score)
		}
	}
	want := []string{
		"CVE-2099-0001 libssl3 3.0.11-1~deb12u2 CRITICAL fix=YES fixed=3.0.13-1~deb12u1 OS",
		"CVE-2099-0001 openssl 3.0.11-1~deb12u2 CRITICAL fix=YES fixed=3.0.13-1~deb12u1 OS",
		"CVE-2099-0002 zlib1g 1:1.2.13.dfsg-1 HIGH fix=YES fixed=1:1.2.13.dfsg-2 OS",
		"CVE-2099-0003 libc6 2.36-9+deb12u3 MEDIUM fix=NO fixed= OS",
		"CVE-2099-0005 libc6 2.36-9+deb12u3 LOW fix=YES fixed=2.36-9+deb12u4 OS",
		"CVE-2099-0006 tzdata 2024a-0+deb12u1 INFORMATIONAL fix=NO fixed= OS",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("enhanced findings (-want +got):\n%s", diff)
	}

	alpine := e.push(t, "dev/tools", "v1", alpineImage(t))
	first, err := e.findings(ctx, "dev/tools", alpine)
	if err != nil {
		t.Fatal(err)
	}
	if first.ImageScanStatus.Status != types.ScanStatusPending || first.ImageScanFindings != nil {
		t.Errorf("dev/tools right after the push: %s with findings %+v, want PENDING without", first.ImageScanStatus.Status, first.ImageScanFindings)
	}
	out = e.wait(t, "dev/tools", alpine)
	if out.ImageScanStatus.Status != types.ScanStatusComplete || !cmp.Equal(out.ImageScanFindings.FindingSeverityCounts, map[string]int32{"HIGH": 1, "MEDIUM": 1, "UNTRIAGED": 1}) {
		t.Errorf("dev/tools: %s counts %v, want COMPLETE with HIGH, MEDIUM, UNTRIAGED", out.ImageScanStatus.Status, out.ImageScanFindings.FindingSeverityCounts)
	}

	other := e.push(t, "other", "v1", alpineImage(t))
	_, err = e.findings(ctx, "other", other)
	wantAPIError[*types.ScanNotFoundException](t, err)
	_, err = e.Client.StartImageScan(ctx, &ecr.StartImageScanInput{RepositoryName: aws.String("other"), ImageId: &types.ImageIdentifier{ImageDigest: aws.String(other)}})
	wantAPIError[*types.ValidationException](t, err)
}

func TestPutRegistryScanningConfigurationValidates(t *testing.T) {
	e := startScan(t, ecrlocal.Options{})
	ctx := context.Background()
	filter := func(f string) []types.ScanningRepositoryFilter {
		return []types.ScanningRepositoryFilter{{Filter: aws.String(f), FilterType: types.ScanningRepositoryFilterTypeWildcard}}
	}
	rule := func(freq types.ScanFrequency, f string) types.RegistryScanningRule {
		return types.RegistryScanningRule{ScanFrequency: freq, RepositoryFilters: filter(f)}
	}
	tests := []struct {
		name string
		in   ecr.PutRegistryScanningConfigurationInput
		want string
	}{
		{"unknown scan type", ecr.PutRegistryScanningConfigurationInput{ScanType: "DEEP"}, "InvalidParameterException"},
		{"continuous with basic", ecr.PutRegistryScanningConfigurationInput{ScanType: types.ScanTypeBasic, Rules: []types.RegistryScanningRule{rule(types.ScanFrequencyContinuousScan, "*")}}, "ValidationException"},
		{"manual with enhanced", ecr.PutRegistryScanningConfigurationInput{ScanType: types.ScanTypeEnhanced, Rules: []types.RegistryScanningRule{rule(types.ScanFrequencyManual, "*")}}, "ValidationException"},
		{"unknown frequency", ecr.PutRegistryScanningConfigurationInput{ScanType: types.ScanTypeBasic, Rules: []types.RegistryScanningRule{rule("HOURLY", "*")}}, "InvalidParameterException"},
		{"filter type", ecr.PutRegistryScanningConfigurationInput{ScanType: types.ScanTypeBasic, Rules: []types.RegistryScanningRule{{ScanFrequency: types.ScanFrequencyScanOnPush, RepositoryFilters: []types.ScanningRepositoryFilter{{Filter: aws.String("*"), FilterType: "REGEX"}}}}}, "InvalidParameterException"},
		{"upper-case filter", ecr.PutRegistryScanningConfigurationInput{ScanType: types.ScanTypeBasic, Rules: []types.RegistryScanningRule{rule(types.ScanFrequencyScanOnPush, "Prod*")}}, "InvalidParameterException"},
		{"three rules", ecr.PutRegistryScanningConfigurationInput{ScanType: types.ScanTypeEnhanced, Rules: []types.RegistryScanningRule{rule(types.ScanFrequencyScanOnPush, "a"), rule(types.ScanFrequencyScanOnPush, "b"), rule(types.ScanFrequencyScanOnPush, "c")}}, "InvalidParameterException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Client.PutRegistryScanningConfiguration(ctx, &tc.in)
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tc.want {
				t.Errorf("got %v, want %s", err, tc.want)
			}
		})
	}
	get, err := e.Client.GetRegistryScanningConfiguration(ctx, &ecr.GetRegistryScanningConfigurationInput{})
	if err != nil || get.ScanningConfiguration.ScanType != types.ScanTypeBasic || len(get.ScanningConfiguration.Rules) != 0 {
		t.Errorf("after refused changes: %v %+v, want the default", err, get)
	}

	// A BASIC SCAN_ON_PUSH rule turns scan on push on for the repositories it covers.
	if _, err := e.Client.PutRegistryScanningConfiguration(ctx, &ecr.PutRegistryScanningConfigurationInput{ScanType: types.ScanTypeBasic, Rules: []types.RegistryScanningRule{rule(types.ScanFrequencyScanOnPush, "team/*")}}); err != nil {
		t.Fatal(err)
	}
	e.repo(t, "team/app", false)
	if out := e.wait(t, "team/app", e.push(t, "team/app", "v1", alpineImage(t))); out.ImageScanStatus.Status != types.ScanStatusComplete {
		t.Errorf("team/app: %s, want COMPLETE", out.ImageScanStatus.Status)
	}
}

func TestScanHooksAndDelay(t *testing.T) {
	e := startScan(t, ecrlocal.Options{ScanDelay: 200 * time.Millisecond})
	ctx := context.Background()
	for _, r := range []string{"failing", "slow", "timed", "odd"} {
		e.repo(t, r, true)
	}
	e.Server.ScanHook("failing", ecrlocal.ScanHook{Status: "FAILED"})
	e.Server.ScanHook("slow", ecrlocal.ScanHook{Delay: time.Hour})
	e.Server.ScanHook("timed", ecrlocal.ScanHook{Status: "FAILED"})
	e.Server.ScanHook("timed", ecrlocal.ScanHook{}) // the zero hook removes it

	out := e.wait(t, "failing", e.push(t, "failing", "v1", debianImage(t)))
	if out.ImageScanStatus.Status != types.ScanStatusFailed || out.ImageScanFindings != nil {
		t.Errorf("failing: %s %+v, want FAILED without findings", out.ImageScanStatus.Status, out.ImageScanFindings)
	}

	slow := e.push(t, "slow", "v1", debianImage(t))
	time.Sleep(300 * time.Millisecond)
	got, err := e.findings(ctx, "slow", slow)
	if err != nil || got.ImageScanStatus.Status != types.ScanStatusInProgress || got.ImageScanFindings != nil {
		t.Errorf("slow after 300ms: %v %+v, want IN_PROGRESS without findings", err, got)
	}
	d, err := e.Client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("slow")})
	if err != nil || d.ImageDetails[0].ImageScanStatus != nil || d.ImageDetails[0].ImageScanFindingsSummary != nil {
		t.Errorf("DescribeImages of the slow scan: %v %+v", err, d.ImageDetails)
	}

	start := time.Now()
	timed := e.push(t, "timed", "v1", alpineImage(t))
	first, err := e.findings(ctx, "timed", timed)
	if err != nil || first.ImageScanStatus.Status != types.ScanStatusInProgress {
		t.Errorf("timed right after the push: %v %+v, want IN_PROGRESS for ScanDelay", err, first)
	}
	out = e.wait(t, "timed", timed)
	if out.ImageScanStatus.Status != types.ScanStatusComplete || time.Since(start) < 200*time.Millisecond {
		t.Errorf("timed: %s after %v, want COMPLETE after at least ScanDelay", out.ImageScanStatus.Status, time.Since(start))
	}

	e.Server.ScanHook("", ecrlocal.ScanHook{Status: "UNSUPPORTED_IMAGE", Delay: time.Millisecond})
	out = e.wait(t, "odd", e.push(t, "odd", "v1", alpineImage(t)))
	if out.ImageScanStatus.Status != types.ScanStatusUnsupportedImage {
		t.Errorf("odd with the \"\" hook: %s, want UNSUPPORTED_IMAGE", out.ImageScanStatus.Status)
	}
}

func TestScanOperationsHonourInjectedFaults(t *testing.T) {
	e := startScan(t, ecrlocal.Options{})
	ctx := context.Background()
	e.repo(t, "app", true)
	digest := e.push(t, "app", "v1", alpineImage(t))
	e.wait(t, "app", digest)

	e.Server.ResetCalls()
	e.Server.Inject("DescribeImageScanFindings", ecrlocal.Fault{Count: 2, Throttle: true})
	if _, err := e.findings(ctx, "app", digest); err != nil {
		t.Fatalf("after 2 throttled attempts the SDK's retries should succeed: %v", err)
	}
	if n := e.Server.Calls()["DescribeImageScanFindings"]; n != 3 {
		t.Errorf("DescribeImageScanFindings calls = %d, want 3", n)
	}
	e.Server.Inject("DescribeImageScanFindings", ecrlocal.Fault{Count: 10, Throttle: true})
	_, err := e.findings(ctx, "app", digest)
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" {
		t.Errorf("with throttling beyond the retries: %v, want ThrottlingException", err)
	}
	for _, op := range []string{"StartImageScan", "GetRegistryScanningConfiguration", "PutRegistryScanningConfiguration"} {
		e.Server.Inject(op, ecrlocal.Fault{Count: 1, Error: "AccessDeniedException"})
	}
	_, err = e.Client.StartImageScan(ctx, &ecr.StartImageScanInput{RepositoryName: aws.String("app"), ImageId: &types.ImageIdentifier{ImageDigest: aws.String(digest)}})
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
		t.Errorf("StartImageScan: %v, want AccessDeniedException", err)
	}
	_, err = e.Client.GetRegistryScanningConfiguration(ctx, &ecr.GetRegistryScanningConfigurationInput{})
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
		t.Errorf("GetRegistryScanningConfiguration: %v, want AccessDeniedException", err)
	}
	_, err = e.Client.PutRegistryScanningConfiguration(ctx, &ecr.PutRegistryScanningConfigurationInput{ScanType: types.ScanTypeBasic})
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
		t.Errorf("PutRegistryScanningConfiguration: %v, want AccessDeniedException", err)
	}
	if got := e.Server.WriteCalls(); got != 2 {
		t.Errorf("WriteCalls = %d, want 2 (StartImageScan and PutRegistryScanningConfiguration)", got)
	}
}

// wantAPIError checks that err is the SDK's typed exception T.
func wantAPIError[T error](t *testing.T, err error) {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("got error %v (%T), want %T", err, err, target)
	}
}

func TestScanOfImageWithoutPackages(t *testing.T) {
	e := startScan(t, ecrlocal.Options{})
	e.repo(t, "app", true)
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	out := e.wait(t, "app", e.push(t, "app", "v1", img))
	if out.ImageScanStatus.Status != types.ScanStatusComplete || len(out.ImageScanFindings.Findings) != 0 || len(out.ImageScanFindings.FindingSeverityCounts) != 0 || out.ImageScanFindings.ImageScanCompletedAt == nil {
		t.Errorf("random image: %s %+v, want COMPLETE with no findings", out.ImageScanStatus.Status, out.ImageScanFindings)
	}
}

// NoDigestPushScan: a manifest pushed by digest alone is not scanned on
// push; one pushed with a tag is, and the default scans both.
func TestNoDigestPushScan(t *testing.T) {
	for _, strict := range []bool{false, true} {
		e := startScan(t, ecrlocal.Options{NoDigestPushScan: strict})
		ctx := context.Background()
		e.repo(t, "app", true)
		img := alpineImage(t)
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(e.ref(t, "app@"+d.String()), img, remote.WithAuth(e.auth)); err != nil {
			t.Fatalf("pushing by digest: %v", err)
		}
		_, err = e.findings(ctx, "app", d.String())
		if strict {
			wantAPIError[*types.ScanNotFoundException](t, err)
		} else if err != nil {
			t.Errorf("default mode: a digest-only push has no scan: %v", err)
		}
		tagged := e.push(t, "app", "v1", debianImage(t))
		if out := e.wait(t, "app", tagged); out.ImageScanStatus.Status != types.ScanStatusComplete {
			t.Errorf("strict %v: a tagged push's scan is %s", strict, out.ImageScanStatus.Status)
		}
	}
}
