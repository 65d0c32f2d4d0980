package ecrlocal

import (
	"fmt"
	"regexp"
)

// repositoryNamePattern is RepositoryName's pattern in the ECR API model
// (length 2 to 256 is checked apart).
var repositoryNamePattern = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)

// The effective scanning configuration of a repository, as ECR decides it
// and BatchGetRepositoryScanningConfiguration reports it.
//
// ECR User Guide, "Configuring basic scanning": "Any repositories that don't
// match a scan on push filter are set to the manual scan frequency"; the
// registry-level configuration takes over from the repository-level
// scanOnPush (PutImageScanningConfiguration, API Reference: "being
// deprecated in favor of specifying the image scanning configuration at the
// registry level"). ecrlocal therefore decides:
//
//   - BASIC with no registry rules: the repository's own scanOnPush
//     (SCAN_ON_PUSH or MANUAL), no filters applied; this is the default
//     registry configuration, under which repository-level scan on push
//     works.
//   - BASIC with rules: SCAN_ON_PUSH when a SCAN_ON_PUSH rule's filter
//     matches the name, else MANUAL, whatever the repository's scanOnPush.
//   - ENHANCED: CONTINUOUS_SCAN when a CONTINUOUS_SCAN rule matches, else
//     SCAN_ON_PUSH when a SCAN_ON_PUSH rule matches, else the repository
//     is not scanned, reported as MANUAL (the only other ScanFrequency).
//
// appliedScanFilters are the deciding rule's filters that match the name
// (for MANUAL, a MANUAL rule's matching filters, or none). scanOnPush is
// whether a push is scanned under that frequency (true for SCAN_ON_PUSH and
// CONTINUOUS_SCAN), not the repository-level flag, which
// DescribeRepositories still reports as set.
type effectiveScan struct {
	frequency string
	filters   []string // the applied filters
}

// scanned reports whether a push to the repository starts a scan.
func (e effectiveScan) scanned() bool { return e.frequency != freqManual }

// effectiveScanLocked decides r's scanning configuration. The caller holds
// s.mu.
func (s *Server) effectiveScanLocked(r *repository) effectiveScan {
	matching := func(freq string) []string {
		var out []string
		for _, rule := range s.scanRules {
			if rule.frequency != freq {
				continue
			}
			for _, f := range rule.filters {
				if (scanRule{filters: []string{f}}).matches(r.name) {
					out = append(out, f)
				}
			}
		}
		return out
	}
	if s.scanType == scanTypeBasic && len(s.scanRules) == 0 {
		if r.scanOnPush {
			return effectiveScan{frequency: freqScanOnPush}
		}
		return effectiveScan{frequency: freqManual}
	}
	order := []string{freqScanOnPush}
	if s.scanType == scanTypeEnhanced {
		order = []string{freqContinuous, freqScanOnPush}
	}
	for _, freq := range order {
		if fs := matching(freq); len(fs) > 0 {
			return effectiveScan{frequency: freq, filters: fs}
		}
	}
	return effectiveScan{frequency: freqManual, filters: matching(freqManual)}
}

type repoScanningJSON struct {
	RepositoryArn      string           `json:"repositoryArn"`
	RepositoryName     string           `json:"repositoryName"`
	ScanOnPush         bool             `json:"scanOnPush"`
	ScanFrequency      string           `json:"scanFrequency"`
	AppliedScanFilters []scanFilterJSON `json:"appliedScanFilters"`
}

type repoScanningFailureJSON struct {
	RepositoryName string `json:"repositoryName"`
	FailureCode    string `json:"failureCode"`
	FailureReason  string `json:"failureReason"`
}

// batchGetRepositoryScanningConfiguration reports the effective scanning
// configuration of 1 to 25 repositories. A repository that does not exist
// (or is still being created, see consistency.go) is a failure entry with
// the model's only failure code, REPOSITORY_NOT_FOUND, rather than an
// exception for the whole call: that is what the failures list is for, and
// a client must read it either way.
func (s *Server) batchGetRepositoryScanningConfiguration(body []byte, _ string) (any, *apiError) {
	var in struct {
		RepositoryNames []string `json:"repositoryNames"`
	}
	if aerr := decode(body, &in); aerr != nil {
		return nil, aerr
	}
	if n := len(in.RepositoryNames); n < 1 || n > 25 {
		return nil, invalidParameter("repositoryNames", fmt.Sprintf("Member must have length between 1 and 25, got %d", n))
	}
	for _, name := range in.RepositoryNames {
		if len(name) < 2 || len(name) > 256 || !repositoryNamePattern.MatchString(name) {
			return nil, invalidParameter("repositoryNames", fmt.Sprintf("Member must satisfy regular expression pattern: %s and have length 2 to 256, got %q", repositoryNamePattern, name))
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	configs := []repoScanningJSON{}
	failures := []repoScanningFailureJSON{}
	seen := map[string]bool{}
	for _, name := range in.RepositoryNames {
		if seen[name] {
			continue
		}
		seen[name] = true
		r, ok := s.repos[name]
		if !ok {
			failures = append(failures, repoScanningFailureJSON{
				RepositoryName: name,
				FailureCode:    "REPOSITORY_NOT_FOUND",
				FailureReason:  s.repoNotFound(name).msg,
			})
			continue
		}
		eff := s.effectiveScanLocked(r)
		applied := []scanFilterJSON{}
		for _, f := range eff.filters {
			applied = append(applied, scanFilterJSON{Filter: f, FilterType: "WILDCARD"})
		}
		configs = append(configs, repoScanningJSON{
			RepositoryArn:      s.arn(r.name),
			RepositoryName:     r.name,
			ScanOnPush:         eff.scanned(),
			ScanFrequency:      eff.frequency,
			AppliedScanFilters: applied,
		})
	}
	return map[string]any{"scanningConfigurations": configs, "failures": failures}, nil
}
