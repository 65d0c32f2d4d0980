package ecrlocal_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/org/ecr-action/internal/testing/ecrlocal"
)

// Basic scanning is AWS-native: DescribeImages carries no imageScanStatus or
// imageScanFindingsSummary for it, and DescribeImageScanFindings has the
// result. Enhanced (Inspector) scans still fill both.
func TestDescribeImagesScanFieldsOnlyForEnhanced(t *testing.T) {
	e := startScan(t, ecrlocal.Options{})
	ctx := context.Background()
	e.repo(t, "basic", true)
	digest := e.push(t, "basic", "v1", debianImage(t))
	if out := e.wait(t, "basic", digest); out.ImageScanStatus.Status != types.ScanStatusComplete {
		t.Fatalf("basic scan = %s, want COMPLETE from DescribeImageScanFindings", out.ImageScanStatus.Status)
	}
	d, err := e.Client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("basic")})
	if err != nil {
		t.Fatal(err)
	}
	if det := d.ImageDetails[0]; det.ImageScanStatus != nil || det.ImageScanFindingsSummary != nil {
		t.Errorf("basic: DescribeImages has imageScanStatus %+v, summary %+v; AWS-native basic scanning fills neither", det.ImageScanStatus, det.ImageScanFindingsSummary)
	}

	rules := []types.RegistryScanningRule{{ScanFrequency: types.ScanFrequencyScanOnPush, RepositoryFilters: []types.ScanningRepositoryFilter{{Filter: aws.String("enh*"), FilterType: types.ScanningRepositoryFilterTypeWildcard}}}}
	if _, err := e.Client.PutRegistryScanningConfiguration(ctx, &ecr.PutRegistryScanningConfigurationInput{ScanType: types.ScanTypeEnhanced, Rules: rules}); err != nil {
		t.Fatal(err)
	}
	e.repo(t, "enhanced", false)
	digest = e.push(t, "enhanced", "v1", debianImage(t))
	final := e.wait(t, "enhanced", digest)
	d, err = e.Client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("enhanced")})
	if err != nil {
		t.Fatal(err)
	}
	det := d.ImageDetails[0]
	if det.ImageScanStatus == nil || det.ImageScanStatus.Status != final.ImageScanStatus.Status || det.ImageScanFindingsSummary == nil {
		t.Errorf("enhanced: DescribeImages imageScanStatus %+v, summary %+v; want the scan's status %s and a summary", det.ImageScanStatus, det.ImageScanFindingsSummary, final.ImageScanStatus.Status)
	}
}
