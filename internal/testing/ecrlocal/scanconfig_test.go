package ecrlocal_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-cmp/cmp"

	"github.com/org/ecr-action/internal/testing/ecrlocal"
)

func scanRule(freq types.ScanFrequency, filters ...string) types.RegistryScanningRule {
	r := types.RegistryScanningRule{ScanFrequency: freq}
	for _, f := range filters {
		r.RepositoryFilters = append(r.RepositoryFilters, types.ScanningRepositoryFilter{Filter: aws.String(f), FilterType: types.ScanningRepositoryFilterTypeWildcard})
	}
	return r
}

// effective is one BatchGetRepositoryScanningConfiguration entry, flattened.
type effective struct {
	Name      string
	Frequency types.ScanFrequency
	OnPush    bool
	Filters   []string
}

func (e *scanEnv) effective(t *testing.T, names ...string) ([]effective, []string) {
	t.Helper()
	out, err := e.Client.BatchGetRepositoryScanningConfiguration(context.Background(), &ecr.BatchGetRepositoryScanningConfigurationInput{RepositoryNames: names})
	if err != nil {
		t.Fatalf("BatchGetRepositoryScanningConfiguration(%v): %v", names, err)
	}
	var got []effective
	for _, c := range out.ScanningConfigurations {
		if aws.ToString(c.RepositoryArn) != "arn:aws:ecr:us-east-1:123456789012:repository/"+aws.ToString(c.RepositoryName) {
			t.Errorf("%s: repositoryArn %q", aws.ToString(c.RepositoryName), aws.ToString(c.RepositoryArn))
		}
		var fs []string
		for _, f := range c.AppliedScanFilters {
			if f.FilterType != types.ScanningRepositoryFilterTypeWildcard {
				t.Errorf("filter type %q", f.FilterType)
			}
			fs = append(fs, aws.ToString(f.Filter))
		}
		got = append(got, effective{aws.ToString(c.RepositoryName), c.ScanFrequency, c.ScanOnPush, fs})
	}
	var failed []string
	for _, f := range out.Failures {
		if f.FailureCode != types.ScanningConfigurationFailureCodeRepositoryNotFound || aws.ToString(f.FailureReason) == "" {
			t.Errorf("failure %+v, want REPOSITORY_NOT_FOUND with a reason", f)
		}
		failed = append(failed, aws.ToString(f.RepositoryName))
	}
	return got, failed
}

func (e *scanEnv) putRules(t *testing.T, scanType types.ScanType, rules ...types.RegistryScanningRule) {
	t.Helper()
	if _, err := e.Client.PutRegistryScanningConfiguration(context.Background(), &ecr.PutRegistryScanningConfigurationInput{ScanType: scanType, Rules: rules}); err != nil {
		t.Fatalf("PutRegistryScanningConfiguration: %v", err)
	}
}

// TestEffectiveScanningConfiguration checks ECR's precedence: without
// registry rules the repository's scanOnPush decides; with rules, a
// repository no SCAN_ON_PUSH filter matches is MANUAL whatever its own flag
// (ECR User Guide, "Configuring basic scanning"), and scan on push follows
// the effective configuration.
func TestEffectiveScanningConfiguration(t *testing.T) {
	e := startScan(t, ecrlocal.Options{})
	e.repo(t, "flagged", true)
	e.repo(t, "plain", false)
	e.repo(t, "prod/api", true)

	got, failed := e.effective(t, "flagged", "plain", "missing")
	want := []effective{{"flagged", types.ScanFrequencyScanOnPush, true, nil}, {"plain", types.ScanFrequencyManual, false, nil}}
	if diff := cmp.Diff(want, got); diff != "" || !cmp.Equal(failed, []string{"missing"}) {
		t.Errorf("no registry rules (-want +got):\n%s\nfailures %v", diff, failed)
	}

	// BASIC rules: prod/* scanned on push, everything else MANUAL, the
	// repository flag of "flagged" notwithstanding.
	e.putRules(t, types.ScanTypeBasic, scanRule(types.ScanFrequencyScanOnPush, "prod/*", "nomatch"), scanRule(types.ScanFrequencyManual, "*"))
	got, _ = e.effective(t, "flagged", "plain", "prod/api")
	want = []effective{
		{"flagged", types.ScanFrequencyManual, false, []string{"*"}},
		{"plain", types.ScanFrequencyManual, false, []string{"*"}},
		{"prod/api", types.ScanFrequencyScanOnPush, true, []string{"prod/*"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("BASIC rules (-want +got):\n%s", diff)
	}
	ctx := context.Background()
	flagged := e.push(t, "flagged", "v1", alpineImage(t))
	_, err := e.findings(ctx, "flagged", flagged)
	wantAPIError[*types.ScanNotFoundException](t, err)
	prod := e.push(t, "prod/api", "v1", alpineImage(t))
	if out := e.wait(t, "prod/api", prod); out.ImageScanStatus.Status != types.ScanStatusComplete {
		t.Errorf("prod/api scan %s, want COMPLETE", out.ImageScanStatus.Status)
	}
	// A MANUAL repository is scanned when asked.
	if _, err := e.Client.StartImageScan(ctx, &ecr.StartImageScanInput{RepositoryName: aws.String("flagged"), ImageId: &types.ImageIdentifier{ImageDigest: aws.String(flagged)}}); err != nil {
		t.Errorf("StartImageScan in a MANUAL repository: %v", err)
	}

	// ENHANCED: continuous wins over scan on push; no match is not scanned.
	e.putRules(t, types.ScanTypeEnhanced, scanRule(types.ScanFrequencyScanOnPush, "prod/*", "plain"), scanRule(types.ScanFrequencyContinuousScan, "prod/a*"))
	got, _ = e.effective(t, "prod/api", "plain", "flagged")
	want = []effective{
		{"prod/api", types.ScanFrequencyContinuousScan, true, []string{"prod/a*"}},
		{"plain", types.ScanFrequencyScanOnPush, true, []string{"plain"}},
		{"flagged", types.ScanFrequencyManual, false, nil},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ENHANCED rules (-want +got):\n%s", diff)
	}
	other := e.push(t, "flagged", "v2", debianImage(t))
	_, err = e.findings(ctx, "flagged", other)
	wantAPIError[*types.ScanNotFoundException](t, err)
}

func TestBatchGetRepositoryScanningConfigurationValidates(t *testing.T) {
	e := startScan(t, ecrlocal.Options{})
	ctx := context.Background()
	many := make([]string, 26)
	for i := range many {
		many[i] = "repo"
	}
	for _, names := range [][]string{nil, many, {"Bad_Name"}, {"a"}} {
		_, err := e.Client.BatchGetRepositoryScanningConfiguration(ctx, &ecr.BatchGetRepositoryScanningConfigurationInput{RepositoryNames: names})
		if names == nil {
			// The SDK refuses a missing required member before sending.
			if err == nil {
				t.Error("no repository names: no error")
			}
			continue
		}
		wantAPIError[*types.InvalidParameterException](t, err)
	}
}
