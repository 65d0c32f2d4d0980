package ecrscan

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/org/ecr-action/internal/policy"
	"github.com/org/ecr-action/internal/scan"
)

// ScanningConfig is how the registry scans the repository.
type ScanningConfig struct {
	Mode scan.Mode
	// Covered says whether pushes to the repository are scanned: its
	// effective scan frequency is SCAN_ON_PUSH or CONTINUOUS_SCAN.
	Covered bool
	// Frequency is the repository's effective scan frequency, as
	// BatchGetRepositoryScanningConfiguration reports it (or as derived
	// when that call is denied).
	Frequency types.ScanFrequency
	// Rules is whether the registry has scanning rules: they, not the
	// repository's own scan-on-push setting, decide.
	Rules bool
	// Decided says in a phrase what decided Frequency: the registry rule
	// that applied, or that none matched, or the repository's setting.
	Decided string
	// Fix says what to change for pushes to be scanned; "" when covered.
	Fix string
	// Note explains how this was decided when it was not read from the
	// registry (a call was denied), for the log.
	Note string
}

// Line is the one line that says whether pushes are scanned and why, and,
// when they are not, what to change.
func (r ScanningConfig) Line(repository string) string {
	if r.Covered {
		return fmt.Sprintf("pushes to %s are scanned (%s scanning, %s): %s", repository, strings.ToLower(string(r.Mode)), r.Frequency, r.Decided)
	}
	return fmt.Sprintf("pushes to %s are not scanned (%s scanning, %s): %s; to scan on push, %s", repository, strings.ToLower(string(r.Mode)), r.Frequency, r.Decided, r.Fix)
}

// scanSettings is where a registry's scanning rules are changed.
const scanSettings = "ECR console: Private registry > Settings > Scanning, or aws ecr put-registry-scanning-configuration"

// DetectScanning finds how pushes to the repository are scanned. The
// registry's scanning configuration (GetRegistryScanningConfiguration)
// gives the scan type and its rules; the repository's effective
// configuration comes from ECR itself
// (BatchGetRepositoryScanningConfiguration: its scanFrequency and the
// filters that applied), rather than re-deriving ECR's precedence: with
// registry rules, a repository that matches no scan-on-push filter is
// MANUAL whatever its own scanOnPush.
//
// When a read is denied, it falls back and says so in Note:
// GetRegistryScanningConfiguration denied: basic scanning with the
// repository's own setting; BatchGetRepositoryScanningConfiguration denied
// (or not answering for the repository): ECR's precedence applied to the
// rules here. Other errors are returned.
func DetectScanning(ctx context.Context, api API, registryID, repository string, repoScanOnPush bool) (ScanningConfig, error) {
	out, err := api.GetRegistryScanningConfiguration(ctx, &ecr.GetRegistryScanningConfigurationInput{})
	if err != nil {
		if isAccessDenied(err) {
			reg := derive(scan.Basic, nil, repository, repoScanOnPush)
			reg.Note = "ecr:GetRegistryScanningConfiguration was denied, so the registry is taken to use basic scanning with the repository's scan-on-push setting; allow it (and ecr:BatchGetRepositoryScanningConfiguration) to detect enhanced scanning and registry rules"
			return reg, nil
		}
		return ScanningConfig{}, fmt.Errorf("reading the registry's scanning configuration (ecr:GetRegistryScanningConfiguration): %w", err)
	}
	mode := scan.Basic
	var rules []types.RegistryScanningRule
	if c := out.ScanningConfiguration; c != nil {
		if c.ScanType == types.ScanTypeEnhanced {
			mode = scan.Enhanced
		}
		rules = c.Rules
	}
	derived := derive(mode, rules, repository, repoScanOnPush)

	bg, err := api.BatchGetRepositoryScanningConfiguration(ctx, &ecr.BatchGetRepositoryScanningConfigurationInput{RepositoryNames: []string{repository}})
	if err != nil {
		if isAccessDenied(err) {
			derived.Note = "ecr:BatchGetRepositoryScanningConfiguration was denied, so whether pushes are scanned was worked out here from the registry's rules and the repository's setting, the way ECR documents it; allow it so ECR itself says"
			return derived, nil
		}
		return ScanningConfig{}, fmt.Errorf("reading the repository's scanning configuration (ecr:BatchGetRepositoryScanningConfiguration): %w", err)
	}
	var eff *types.RepositoryScanningConfiguration
	for i, c := range bg.ScanningConfigurations {
		if aws.ToString(c.RepositoryName) == repository {
			eff = &bg.ScanningConfigurations[i]
		}
	}
	if eff == nil {
		why := "it answered no configuration for the repository"
		for _, f := range bg.Failures {
			why = fmt.Sprintf("it answered %s: %s", f.FailureCode, aws.ToString(f.FailureReason))
		}
		derived.Note = "ecr:BatchGetRepositoryScanningConfiguration did not say how the repository is scanned (" + why + "), so it was worked out here from the registry's rules and the repository's setting"
		return derived, nil
	}
	reg := ScanningConfig{Mode: mode, Frequency: eff.ScanFrequency, Rules: len(rules) > 0}
	reg.Covered = covered(mode, eff.ScanFrequency)
	var applied []string
	for _, f := range eff.AppliedScanFilters {
		applied = append(applied, aws.ToString(f.Filter))
	}
	reg.Decided, reg.Fix = explain(mode, rules, repository, reg.Frequency, applied, repoScanOnPush)
	return reg, nil
}

// covered reports whether a scan frequency scans pushes under a scan type.
func covered(mode scan.Mode, f types.ScanFrequency) bool {
	switch f {
	case types.ScanFrequencyScanOnPush:
		return true
	case types.ScanFrequencyContinuousScan:
		return mode == scan.Enhanced
	}
	return false
}

// derive applies ECR's documented precedence to the registry's rules
// (ECR User Guide, "Configuring basic scanning": "Any repositories that
// don't match a scan on push filter are set to the manual scan
// frequency"): with no rules, basic scanning follows the repository's
// scanOnPush; otherwise the first frequency that matches, CONTINUOUS_SCAN
// before SCAN_ON_PUSH with enhanced scanning, else MANUAL.
func derive(mode scan.Mode, rules []types.RegistryScanningRule, repository string, repoScanOnPush bool) ScanningConfig {
	reg := ScanningConfig{Mode: mode, Rules: len(rules) > 0, Frequency: types.ScanFrequencyManual}
	var applied []string
	switch {
	case mode == scan.Basic && len(rules) == 0:
		if repoScanOnPush {
			reg.Frequency = types.ScanFrequencyScanOnPush
		}
	default:
		order := []types.ScanFrequency{types.ScanFrequencyScanOnPush, types.ScanFrequencyManual}
		if mode == scan.Enhanced {
			order = []types.ScanFrequency{types.ScanFrequencyContinuousScan, types.ScanFrequencyScanOnPush}
		}
		for _, f := range order {
			if m := matching(rules, f, repository); len(m) > 0 {
				reg.Frequency, applied = f, m
				break
			}
		}
	}
	reg.Covered = covered(mode, reg.Frequency)
	reg.Decided, reg.Fix = explain(mode, rules, repository, reg.Frequency, applied, repoScanOnPush)
	return reg
}

// matching lists the filters of rules of frequency f that match repository.
func matching(rules []types.RegistryScanningRule, f types.ScanFrequency, repository string) []string {
	var out []string
	for _, r := range rules {
		if r.ScanFrequency != f {
			continue
		}
		for _, flt := range r.RepositoryFilters {
			if flt.Filter != nil && policy.WildcardMatch(*flt.Filter, repository) {
				out = append(out, *flt.Filter)
			}
		}
	}
	return out
}

// explain says what decided the frequency and, when pushes are not
// scanned, what to change.
func explain(mode scan.Mode, rules []types.RegistryScanningRule, repository string, f types.ScanFrequency, applied []string, repoScanOnPush bool) (decided, fix string) {
	kind := strings.ToLower(string(mode))
	if len(applied) > 0 {
		decided = fmt.Sprintf("the registry's %s scanning rule %s with filter %s matches it", kind, f, strings.Join(applied, ", "))
	}
	switch {
	case mode == scan.Basic && len(rules) == 0:
		decided = fmt.Sprintf("the registry has no scanning rules, so the repository's own scan on push (%v) decides", repoScanOnPush)
		fix = "set enable_image_scanning: true"
	case mode == scan.Basic:
		if decided == "" {
			decided = "no registry scanning rule matches it, so it is MANUAL"
		}
		decided += fmt.Sprintf(" (rules: %s); registry rules override the repository's own scan on push (%v)", rulesText(rules), repoScanOnPush)
		fix = fmt.Sprintf("add a SCAN_ON_PUSH filter that matches %s to the registry's basic scanning rules (%s)", repository, scanSettings)
	default:
		if decided == "" {
			decided = fmt.Sprintf("no enhanced scanning rule matches it (rules: %s)", rulesText(rules))
		}
		fix = fmt.Sprintf("add a SCAN_ON_PUSH or CONTINUOUS_SCAN filter that matches %s to the registry's enhanced scanning rules (%s); StartImageScan cannot start enhanced scans", repository, scanSettings)
	}
	if covered(mode, f) {
		fix = ""
	}
	return decided, fix
}

// rulesText lists rules as "SCAN_ON_PUSH prod-*, dev/*; MANUAL *".
func rulesText(rules []types.RegistryScanningRule) string {
	if len(rules) == 0 {
		return "none"
	}
	var parts []string
	for _, r := range rules {
		var fs []string
		for _, f := range r.RepositoryFilters {
			fs = append(fs, aws.ToString(f.Filter))
		}
		parts = append(parts, string(r.ScanFrequency)+" "+strings.Join(fs, ", "))
	}
	return strings.Join(parts, "; ")
}
