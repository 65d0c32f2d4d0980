package ecrlocal

import (
	"fmt"
	"regexp"
)

// scanStatusJSON is ImageScanStatus.
type scanStatusJSON struct {
	Status      string `json:"status"`
	Description string `json:"description,omitempty"`
}

// scanSummaryJSON is ImageScanFindingsSummary.
type scanSummaryJSON struct {
	FindingSeverityCounts        map[string]int `json:"findingSeverityCounts"`
	ImageScanCompletedAt         epoch          `json:"imageScanCompletedAt"`
	VulnerabilitySourceUpdatedAt epoch          `json:"vulnerabilitySourceUpdatedAt"`
}

type attributeJSON struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// basicFindingJSON is ImageScanFinding.
type basicFindingJSON struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	URI         string          `json:"uri,omitempty"`
	Severity    string          `json:"severity"`
	Attributes  []attributeJSON `json:"attributes"`
}

type vulnerablePackageJSON struct {
	Name           string `json:"name"`
	Version        string `json:"version"`
	FixedInVersion string `json:"fixedInVersion,omitempty"`
	PackageManager string `json:"packageManager"`
}

type packageVulnerabilityJSON struct {
	VulnerabilityID    string                  `json:"vulnerabilityId"`
	VulnerablePackages []vulnerablePackageJSON `json:"vulnerablePackages"`
	SourceURL          string                  `json:"sourceUrl,omitempty"`
	ReferenceURLs      []string                `json:"referenceUrls,omitempty"`
	VendorSeverity     string                  `json:"vendorSeverity"`
}

// enhancedFindingJSON is EnhancedImageScanFinding.
type enhancedFindingJSON struct {
	AwsAccountID                string                   `json:"awsAccountId"`
	Description                 string                   `json:"description,omitempty"`
	FindingArn                  string                   `json:"findingArn"`
	FirstObservedAt             epoch                    `json:"firstObservedAt"`
	LastObservedAt              epoch                    `json:"lastObservedAt"`
	UpdatedAt                   epoch                    `json:"updatedAt"`
	PackageVulnerabilityDetails packageVulnerabilityJSON `json:"packageVulnerabilityDetails"`
	Score                       float64                  `json:"score"`
	Severity                    string                   `json:"severity"`
	Status                      string                   `json:"status"`
	Title                       string                   `json:"title"`
	Type                        string                   `json:"type"`
	FixAvailable                string                   `json:"fixAvailable"`
}

// scanStatusOf is the status an image's scan shows, or nil when it has none.
// The caller holds s.mu.
func (s *Server) scanStatusOf(r *repository, digest string) (*scanStatusJSON, *scanSummaryJSON) {
	rec, ok := r.scans[digest]
	if !ok {
		return nil, nil
	}
	if img := r.byDigest[digest]; img != nil && s.archived(img) {
		return &scanStatusJSON{Status: "IMAGE_ARCHIVED", Description: "The image is archived; restore it to see its scan findings"}, nil
	}
	status, desc, final := rec.state(s.now())
	st := &scanStatusJSON{Status: status, Description: desc}
	if !final {
		return st, nil
	}
	return st, &scanSummaryJSON{
		FindingSeverityCounts:        severityCounts(rec.findings, rec.enhanced),
		ImageScanCompletedAt:         epoch(rec.completedAt),
		VulnerabilitySourceUpdatedAt: epoch(s.vulnUpdatedAt),
	}
}

// scanNotFound is ECR's answer for an image without a scan.
func (s *Server) scanNotFound(repo string, id imageID) *apiError {
	return &apiError{code: "ScanNotFoundException", msg: fmt.Sprintf("Image scan does not exist for the image with '%s' in the repository with name '%s' in the registry with id '%s'", id, repo, s.account)}
}

func (s *Server) imageNotFound(repo string, id imageID) *apiError {
	return &apiError{code: "ImageNotFoundException", msg: fmt.Sprintf("The image with imageId %s does not exist within the repository with name '%s' in the registry with id '%s'", id, repo, s.account)}
}

// resolveOne finds the image of a single-image request.
func (s *Server) resolveOne(r *repository, id *imageID) (*image, *apiError) {
	if id == nil {
		return nil, invalidParameter("imageId", "must not be null")
	}
	img, fail := r.resolve(*id)
	if fail == nil {
		return img, nil
	}
	switch fail.FailureCode {
	case "ImageNotFound", "ImageTagDoesNotMatchDigest":
		return nil, s.imageNotFound(r.name, *id)
	default:
		return nil, invalidParameter("imageId", fail.FailureReason)
	}
}

func (s *Server) describeImageScanFindings(body []byte, _ string) (any, *apiError) {
	var in struct {
		repoRef
		ImageID    *imageID `json:"imageId"`
		NextToken  string   `json:"nextToken"`
		MaxResults *int     `json:"maxResults"`
	}
	if aerr := s.decodeRef(body, &in, &in.repoRef); aerr != nil {
		return nil, aerr
	}
	limit, aerr := pageSize(in.MaxResults, 100)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, aerr := s.repoLocked(in.RepositoryName)
	if aerr != nil {
		return nil, aerr
	}
	img, aerr := s.resolveOne(r, in.ImageID)
	if aerr != nil {
		return nil, aerr
	}
	rec, ok := r.scans[img.digest]
	if !ok {
		return nil, s.scanNotFound(r.name, *in.ImageID)
	}
	status, summary := s.scanStatusOf(r, img.digest)
	resp := map[string]any{
		"registryId":      s.account,
		"repositoryName":  r.name,
		"imageId":         imageID{ImageDigest: img.digest, ImageTag: in.ImageID.ImageTag},
		"imageScanStatus": status,
	}
	if summary == nil {
		if in.NextToken != "" {
			return nil, invalidParameter("nextToken", "the scan has no findings to page through yet")
		}
		return resp, nil
	}
	items, next, aerr := page(rec.findings, in.NextToken, limit)
	if aerr != nil {
		return nil, aerr
	}
	out := map[string]any{
		"findingSeverityCounts":        summary.FindingSeverityCounts,
		"imageScanCompletedAt":         summary.ImageScanCompletedAt,
		"vulnerabilitySourceUpdatedAt": summary.VulnerabilitySourceUpdatedAt,
	}
	if rec.enhanced {
		list := make([]enhancedFindingJSON, 0, len(items))
		for _, f := range items {
			list = append(list, s.enhancedFinding(r.name, img.digest, rec, f))
		}
		out["enhancedFindings"] = list
	} else {
		list := make([]basicFindingJSON, 0, len(items))
		for _, f := range items {
			list = append(list, basicFindingJSON{
				Name:        f.vuln.ID,
				Description: f.vuln.Description,
				URI:         f.vuln.URI,
				Severity:    f.vuln.Severity,
				Attributes: []attributeJSON{
					{Key: "package_name", Value: f.pkg.name},
					{Key: "package_version", Value: f.pkg.version},
				},
			})
		}
		out["findings"] = list
	}
	resp["imageScanFindings"] = out
	if next != "" {
		resp["nextToken"] = next
	}
	return resp, nil
}

func (s *Server) enhancedFinding(repo, digest string, rec *scanRecord, f finding) enhancedFindingJSON {
	vp := vulnerablePackageJSON{Name: f.pkg.name, Version: f.pkg.version, FixedInVersion: f.vuln.FixedVersion, PackageManager: f.pkg.manager}
	fix := "NO"
	if f.vuln.FixedVersion != "" {
		fix = "YES"
	}
	var refs []string
	if f.vuln.URI != "" {
		refs = []string{f.vuln.URI}
	}
	return enhancedFindingJSON{
		AwsAccountID:    s.account,
		Description:     f.vuln.Description,
		FindingArn:      s.findingARN(repo, digest, f),
		FirstObservedAt: epoch(rec.completedAt),
		LastObservedAt:  epoch(rec.completedAt),
		UpdatedAt:       epoch(rec.completedAt),
		PackageVulnerabilityDetails: packageVulnerabilityJSON{
			VulnerabilityID:    f.vuln.ID,
			VulnerablePackages: []vulnerablePackageJSON{vp},
			SourceURL:          f.vuln.URI,
			ReferenceURLs:      refs,
			VendorSeverity:     f.vuln.Severity,
		},
		Score:        inspectorScore(f.vuln.Severity),
		Severity:     findingSeverity(f.vuln.Severity, true),
		Status:       "ACTIVE",
		Title:        fmt.Sprintf("%s - %s", f.vuln.ID, f.pkg.name),
		Type:         "PACKAGE_VULNERABILITY",
		FixAvailable: fix,
	}
}

// startImageScan starts a basic scan now. With ENHANCED scanning the
// registry scans by its rules and StartImageScan answers ValidationException
// (ecrlocal's choice). An image scanned (on push or by StartImageScan) in
// the last 24 hours answers LimitExceededException, as ECR's one scan per
// image per day quota does.
func (s *Server) startImageScan(body []byte, _ string) (any, *apiError) {
	var in struct {
		repoRef
		ImageID *imageID `json:"imageId"`
	}
	if aerr := s.decodeRef(body, &in, &in.repoRef); aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, aerr := s.repoLocked(in.RepositoryName)
	if aerr != nil {
		return nil, aerr
	}
	img, aerr := s.resolveOne(r, in.ImageID)
	if aerr != nil {
		return nil, aerr
	}
	if s.scanType == scanTypeEnhanced {
		return nil, &apiError{code: "ValidationException", msg: "StartImageScan is for basic scanning; this registry uses ENHANCED scanning, which scans images by its registry scanning rules"}
	}
	if !scannable(img) {
		return nil, &apiError{code: "UnsupportedImageTypeException", msg: fmt.Sprintf("The image with digest %s (%s) is not supported for scanning: only single-platform container images are; scan each platform image of an index by its own digest", img.digest, img.mediaType)}
	}
	if rec, ok := r.scans[img.digest]; ok && s.now().Sub(rec.startedAt) < scanQuota {
		return nil, &apiError{code: "LimitExceededException", msg: fmt.Sprintf("The scan quota per image has been exceeded: image %s in repository '%s' was last scanned at %s; an image can be scanned once every 24 hours.", img.digest, r.name, rec.startedAt.UTC().Format("2006-01-02T15:04:05Z"))}
	}
	s.startScanLocked(r, img, false, "")
	return map[string]any{
		"registryId":      s.account,
		"repositoryName":  r.name,
		"imageId":         imageID{ImageDigest: img.digest, ImageTag: in.ImageID.ImageTag},
		"imageScanStatus": scanStatusJSON{Status: scanInProgress},
	}, nil
}

type scanFilterJSON struct {
	Filter     string `json:"filter"`
	FilterType string `json:"filterType"`
}

type scanRuleJSON struct {
	ScanFrequency     string           `json:"scanFrequency"`
	RepositoryFilters []scanFilterJSON `json:"repositoryFilters"`
}

type registryScanningJSON struct {
	ScanType string         `json:"scanType"`
	Rules    []scanRuleJSON `json:"rules"`
}

// scanFilterPattern is ScanningRepositoryFilter.filter's pattern in the ECR
// API Reference.
var scanFilterPattern = regexp.MustCompile(`^[a-z0-9*](?:[._-]*[a-z0-9*]+)*(?:/[a-z0-9*]+(?:[._-]*[a-z0-9*]+)*)*$`)

// scanningConfigLocked is the registry scanning configuration as the API
// returns it. The caller holds s.mu.
func (s *Server) scanningConfigLocked() registryScanningJSON {
	out := registryScanningJSON{ScanType: s.scanType, Rules: []scanRuleJSON{}}
	for _, r := range s.scanRules {
		rj := scanRuleJSON{ScanFrequency: r.frequency, RepositoryFilters: []scanFilterJSON{}}
		for _, f := range r.filters {
			rj.RepositoryFilters = append(rj.RepositoryFilters, scanFilterJSON{Filter: f, FilterType: "WILDCARD"})
		}
		out.Rules = append(out.Rules, rj)
	}
	return out
}

func (s *Server) getRegistryScanningConfiguration(body []byte, _ string) (any, *apiError) {
	var in struct{}
	if aerr := decode(body, &in); aerr != nil {
		return nil, aerr
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return map[string]any{"registryId": s.account, "scanningConfiguration": s.scanningConfigLocked()}, nil
}

// putRegistryScanningConfiguration replaces the registry scanning
// configuration. Images already pushed are not rescanned.
func (s *Server) putRegistryScanningConfiguration(body []byte, _ string) (any, *apiError) {
	var in struct {
		ScanType *string        `json:"scanType"`
		Rules    []scanRuleJSON `json:"rules"`
	}
	if aerr := decode(body, &in); aerr != nil {
		return nil, aerr
	}
	scanType := scanTypeBasic
	if in.ScanType != nil {
		scanType = *in.ScanType
	}
	rules, aerr := checkScanRules(scanType, in.Rules)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scanType, s.scanRules = scanType, rules
	return map[string]any{"registryScanningConfiguration": s.scanningConfigLocked()}, nil
}

// checkScanRules validates a registry scanning configuration: the scan type,
// at most 2 rules, frequencies the scan type supports (BASIC: SCAN_ON_PUSH
// or MANUAL; ENHANCED: SCAN_ON_PUSH or CONTINUOUS_SCAN), and up to 100
// WILDCARD filters per rule.
func checkScanRules(scanType string, rules []scanRuleJSON) ([]scanRule, *apiError) {
	if scanType != scanTypeBasic && scanType != scanTypeEnhanced {
		return nil, invalidParameter("scanType", fmt.Sprintf("Member must satisfy enum value set: [BASIC, ENHANCED], got %q", scanType))
	}
	if len(rules) > 2 {
		return nil, invalidParameter("rules", fmt.Sprintf("Member must have length less than or equal to 2, got %d rules", len(rules)))
	}
	var out []scanRule
	for i, rj := range rules {
		member := fmt.Sprintf("rules.%d", i+1)
		switch rj.ScanFrequency {
		case freqScanOnPush, freqContinuous, freqManual:
		default:
			return nil, invalidParameter(member+".scanFrequency", fmt.Sprintf("Member must satisfy enum value set: [SCAN_ON_PUSH, CONTINUOUS_SCAN, MANUAL], got %q", rj.ScanFrequency))
		}
		if scanType == scanTypeBasic && rj.ScanFrequency == freqContinuous {
			return nil, &apiError{code: "ValidationException", msg: "CONTINUOUS_SCAN is supported only with ENHANCED scanning; BASIC scanning supports SCAN_ON_PUSH and MANUAL"}
		}
		if scanType == scanTypeEnhanced && rj.ScanFrequency == freqManual {
			return nil, &apiError{code: "ValidationException", msg: "MANUAL is not supported with ENHANCED scanning; use SCAN_ON_PUSH or CONTINUOUS_SCAN"}
		}
		if len(rj.RepositoryFilters) > 100 {
			return nil, invalidParameter(member+".repositoryFilters", fmt.Sprintf("Member must have length less than or equal to 100, got %d", len(rj.RepositoryFilters)))
		}
		rule := scanRule{frequency: rj.ScanFrequency}
		for j, f := range rj.RepositoryFilters {
			fm := fmt.Sprintf("%s.repositoryFilters.%d", member, j+1)
			if f.FilterType != "WILDCARD" {
				return nil, invalidParameter(fm+".filterType", fmt.Sprintf("Member must satisfy enum value set: [WILDCARD], got %q", f.FilterType))
			}
			if len(f.Filter) < 1 || len(f.Filter) > 255 || !scanFilterPattern.MatchString(f.Filter) {
				return nil, invalidParameter(fm+".filter", fmt.Sprintf("Member must satisfy regular expression pattern: %s and have length 1 to 255, got %q", scanFilterPattern, f.Filter))
			}
			rule.filters = append(rule.filters, f.Filter)
		}
		out = append(out, rule)
	}
	return out, nil
}
