package ecrscan

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/org/ecr-action/internal/scan"
)

// BatchGetRepositoryScanningConfiguration is not scripted for the wait
// tests; detectAPI answers it for DetectScanning's.
func (f *fakeAPI) BatchGetRepositoryScanningConfiguration(context.Context, *ecr.BatchGetRepositoryScanningConfigurationInput, ...func(*ecr.Options)) (*ecr.BatchGetRepositoryScanningConfigurationOutput, error) {
	return nil, errors.New("BatchGetRepositoryScanningConfiguration is not scripted")
}

type detectAPI struct {
	*fakeAPI
	eff   *types.RepositoryScanningConfiguration // nil = a REPOSITORY_NOT_FOUND failure
	bgErr error
	asked [][]string
}

func (d *detectAPI) BatchGetRepositoryScanningConfiguration(_ context.Context, in *ecr.BatchGetRepositoryScanningConfigurationInput, _ ...func(*ecr.Options)) (*ecr.BatchGetRepositoryScanningConfigurationOutput, error) {
	d.asked = append(d.asked, in.RepositoryNames)
	if d.bgErr != nil {
		return nil, d.bgErr
	}
	if d.eff == nil {
		return &ecr.BatchGetRepositoryScanningConfigurationOutput{Failures: []types.RepositoryScanningConfigurationFailure{{
			RepositoryName: aws.String(in.RepositoryNames[0]), FailureCode: types.ScanningConfigurationFailureCodeRepositoryNotFound, FailureReason: aws.String("not found"),
		}}}, nil
	}
	return &ecr.BatchGetRepositoryScanningConfigurationOutput{ScanningConfigurations: []types.RepositoryScanningConfiguration{*d.eff}}, nil
}

func scanningRule(freq types.ScanFrequency, filters ...string) types.RegistryScanningRule {
	r := types.RegistryScanningRule{ScanFrequency: freq}
	for _, f := range filters {
		r.RepositoryFilters = append(r.RepositoryFilters, types.ScanningRepositoryFilter{Filter: aws.String(f), FilterType: types.ScanningRepositoryFilterTypeWildcard})
	}
	return r
}

func effective(freq types.ScanFrequency, filters ...string) *types.RepositoryScanningConfiguration {
	c := &types.RepositoryScanningConfiguration{RepositoryName: aws.String("team-a/web"), ScanFrequency: freq, ScanOnPush: freq != types.ScanFrequencyManual}
	for _, f := range filters {
		c.AppliedScanFilters = append(c.AppliedScanFilters, types.ScanningRepositoryFilter{Filter: aws.String(f), FilterType: types.ScanningRepositoryFilterTypeWildcard})
	}
	return c
}

func TestDetectScanning(t *testing.T) {
	denied := func(op string) error {
		return &smithy.OperationError{ServiceID: "ECR", OperationName: op, Err: &smithy.GenericAPIError{Code: "AccessDeniedException"}}
	}
	basic := func(rules ...types.RegistryScanningRule) *types.RegistryScanningConfiguration {
		return &types.RegistryScanningConfiguration{ScanType: types.ScanTypeBasic, Rules: rules}
	}
	enhanced := func(rules ...types.RegistryScanningRule) *types.RegistryScanningConfiguration {
		return &types.RegistryScanningConfiguration{ScanType: types.ScanTypeEnhanced, Rules: rules}
	}
	type want struct {
		Mode      scan.Mode
		Covered   bool
		Frequency types.ScanFrequency
		Line      []string // substrings of Line
		Note      string   // substring of Note; "" = no note
	}
	tests := []struct {
		name       string
		cfg        *types.RegistryScanningConfiguration
		regErr     error
		eff        *types.RepositoryScanningConfiguration
		bgErr      error
		scanOnPush bool
		want       want
		wantErr    bool
	}{
		{"basic, repository scans", basic(), nil, effective(types.ScanFrequencyScanOnPush), nil, true,
			want{scan.Basic, true, types.ScanFrequencyScanOnPush, []string{"are scanned", "own scan on push (true)"}, ""}, false},
		{"basic, repository does not", basic(), nil, effective(types.ScanFrequencyManual), nil, false,
			want{scan.Basic, false, types.ScanFrequencyManual, []string{"not scanned", "enable_image_scanning: true"}, ""}, false},
		{"basic rule covers", basic(scanningRule(types.ScanFrequencyScanOnPush, "team-*")), nil, effective(types.ScanFrequencyScanOnPush, "team-*"), nil, false,
			want{scan.Basic, true, types.ScanFrequencyScanOnPush, []string{"rule SCAN_ON_PUSH with filter team-*"}, ""}, false},
		// The issue: a MANUAL rule is not coverage, and rules override the
		// repository's own flag.
		{"basic rules leave it MANUAL", basic(scanningRule(types.ScanFrequencyScanOnPush, "prod-*"), scanningRule(types.ScanFrequencyManual, "*")), nil, effective(types.ScanFrequencyManual, "*"), nil, true,
			want{scan.Basic, false, types.ScanFrequencyManual, []string{"not scanned", "rule MANUAL with filter * matches it", "SCAN_ON_PUSH prod-*; MANUAL *", "override the repository's own scan on push (true)", "add a SCAN_ON_PUSH filter that matches team-a/web"}, ""}, false},
		{"enhanced continuous", enhanced(scanningRule(types.ScanFrequencyContinuousScan, "team-*")), nil, effective(types.ScanFrequencyContinuousScan, "team-*"), nil, false,
			want{scan.Enhanced, true, types.ScanFrequencyContinuousScan, []string{"CONTINUOUS_SCAN with filter team-*"}, ""}, false},
		{"enhanced, no rule matches", enhanced(scanningRule(types.ScanFrequencyScanOnPush, "other")), nil, effective(types.ScanFrequencyManual), nil, true,
			want{scan.Enhanced, false, types.ScanFrequencyManual, []string{"no enhanced scanning rule matches it (rules: SCAN_ON_PUSH other)", "CONTINUOUS_SCAN filter that matches team-a/web"}, ""}, false},
		// ECR's answer wins over what the rules here would say.
		{"ECR's effective answer decides", basic(scanningRule(types.ScanFrequencyScanOnPush, "team-*")), nil, effective(types.ScanFrequencyManual), nil, true,
			want{scan.Basic, false, types.ScanFrequencyManual, []string{"no registry scanning rule matches it"}, ""}, false},
		{"registry configuration denied", nil, denied("GetRegistryScanningConfiguration"), nil, nil, true,
			want{scan.Basic, true, types.ScanFrequencyScanOnPush, []string{"are scanned"}, "GetRegistryScanningConfiguration was denied"}, false},
		{"batch get denied: derived with ECR's precedence", basic(scanningRule(types.ScanFrequencyScanOnPush, "prod-*"), scanningRule(types.ScanFrequencyManual, "team-*")), nil, nil, denied("BatchGetRepositoryScanningConfiguration"), true,
			want{scan.Basic, false, types.ScanFrequencyManual, []string{"rule MANUAL with filter team-* matches it"}, "BatchGetRepositoryScanningConfiguration was denied"}, false},
		{"batch get denied, enhanced continuous wins", enhanced(scanningRule(types.ScanFrequencyScanOnPush, "team-*"), scanningRule(types.ScanFrequencyContinuousScan, "*")), nil, nil, denied("BatchGetRepositoryScanningConfiguration"), false,
			want{scan.Enhanced, true, types.ScanFrequencyContinuousScan, []string{"CONTINUOUS_SCAN with filter *"}, "was denied"}, false},
		{"batch get has no entry", basic(), nil, nil, nil, true,
			want{scan.Basic, true, types.ScanFrequencyScanOnPush, []string{"are scanned"}, "REPOSITORY_NOT_FOUND"}, false},
		{"other errors fail", nil, apiErr("ServerException", smithy.FaultServer), nil, nil, true, want{}, true},
		{"batch get errors fail", basic(), nil, nil, apiErr("ServerException", smithy.FaultServer), true, want{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &detectAPI{fakeAPI: &fakeAPI{regCfg: tt.cfg, regErr: tt.regErr}, eff: tt.eff, bgErr: tt.bgErr}
			got, err := DetectScanning(context.Background(), api, "", "team-a/web", tt.scanOnPush)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if tt.wantErr {
				return
			}
			if diff := cmp.Diff([]any{tt.want.Mode, tt.want.Covered, tt.want.Frequency}, []any{got.Mode, got.Covered, got.Frequency}); diff != "" {
				t.Errorf("mode, covered, frequency (-want +got):\n%s", diff)
			}
			line := got.Line("team-a/web")
			for _, w := range tt.want.Line {
				if !strings.Contains(line, w) {
					t.Errorf("line %q does not say %q", line, w)
				}
			}
			if strings.Contains(line, "\n") {
				t.Errorf("line %q is more than one line", line)
			}
			if (tt.want.Note == "") != (got.Note == "") || !strings.Contains(got.Note, tt.want.Note) {
				t.Errorf("note %q, want one saying %q", got.Note, tt.want.Note)
			}
			if tt.regErr == nil && (len(api.asked) != 1 || !cmp.Equal(api.asked[0], []string{"team-a/web"})) {
				t.Errorf("BatchGetRepositoryScanningConfiguration asked for %v, want the repository once", api.asked)
			}
		})
	}
}
