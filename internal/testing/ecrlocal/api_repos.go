package ecrlocal

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
)

type encryptionConfig struct {
	EncryptionType string `json:"encryptionType"`
	KmsKey         string `json:"kmsKey,omitempty"`
}

type scanningConfig struct {
	ScanOnPush bool `json:"scanOnPush"`
}

type mutabilityFilter struct {
	FilterType string `json:"filterType"`
	Filter     string `json:"filter"`
}

type tagJSON struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type repositoryJSON struct {
	RepositoryArn                      string             `json:"repositoryArn"`
	RegistryID                         string             `json:"registryId"`
	RepositoryName                     string             `json:"repositoryName"`
	RepositoryURI                      string             `json:"repositoryUri"`
	CreatedAt                          epoch              `json:"createdAt"`
	ImageTagMutability                 string             `json:"imageTagMutability"`
	ImageTagMutabilityExclusionFilters []mutabilityFilter `json:"imageTagMutabilityExclusionFilters,omitempty"`
	ImageScanningConfiguration         scanningConfig     `json:"imageScanningConfiguration"`
	EncryptionConfiguration            encryptionConfig   `json:"encryptionConfiguration"`
}

func (s *Server) repositoryJSON(r *repository, host string) repositoryJSON {
	return repositoryJSON{
		RepositoryArn:                      s.arn(r.name),
		RegistryID:                         s.account,
		RepositoryName:                     r.name,
		RepositoryURI:                      host + "/" + r.name,
		CreatedAt:                          epoch(r.createdAt),
		ImageTagMutability:                 r.mutability,
		ImageTagMutabilityExclusionFilters: filtersJSON(r.filters),
		ImageScanningConfiguration:         scanningConfig{ScanOnPush: r.scanOnPush},
		EncryptionConfiguration:            encryptionConfig{EncryptionType: r.encType, KmsKey: r.kmsKey},
	}
}

func filtersJSON(filters []string) []mutabilityFilter {
	var out []mutabilityFilter
	for _, f := range filters {
		out = append(out, mutabilityFilter{FilterType: "WILDCARD", Filter: f})
	}
	return out
}

// checkMutability validates a mutability mode with its filters (ECR: the
// *_WITH_EXCLUSION modes need WILDCARD filters, the plain modes take none).
func checkMutability(mode string, filters []mutabilityFilter) ([]string, *apiError) {
	if mode == "" {
		mode = mutMutable
	}
	var patterns []string
	for _, f := range filters {
		if f.FilterType != "WILDCARD" {
			return nil, invalidParameter("imageTagMutabilityExclusionFilters", fmt.Sprintf("filterType must be WILDCARD, got %q", f.FilterType))
		}
		patterns = append(patterns, f.Filter)
	}
	if err := checkMutabilityRules(mode, patterns); err != nil {
		return nil, invalidParameter("imageTagMutability", err.Error())
	}
	return patterns, nil
}

// checkTags validates resource tags against ECR's limits.
func checkTags(tags []tagJSON) *apiError {
	seen := map[string]bool{}
	for _, t := range tags {
		if err := checkResourceTag(t.Key, t.Value); err != nil {
			return &apiError{code: "InvalidTagParameterException", msg: "Invalid tag: " + err.Error()}
		}
		if seen[t.Key] {
			return &apiError{code: "InvalidTagParameterException", msg: fmt.Sprintf("Invalid tag: key %q is given more than once", t.Key)}
		}
		seen[t.Key] = true
	}
	return nil
}

// mergeTags sets tags on r, keeping the order keys were first set.
func mergeTags(r *repository, tags []tagJSON) {
	for _, t := range tags {
		i := slices.IndexFunc(r.tags, func(x tag) bool { return x.Key == t.Key })
		if i >= 0 {
			r.tags[i].Value = t.Value
		} else {
			r.tags = append(r.tags, tag(t))
		}
	}
}

// countAfterMerge is how many tags r would have after setting tags.
func countAfterMerge(r *repository, tags []tagJSON) int {
	n := len(r.tags)
	seen := map[string]bool{}
	for _, t := range r.tags {
		seen[t.Key] = true
	}
	for _, t := range tags {
		if !seen[t.Key] {
			seen[t.Key] = true
			n++
		}
	}
	return n
}

func (s *Server) createRepository(body []byte, host string) (any, *apiError) {
	var in struct {
		RegistryID                         *string            `json:"registryId"`
		RepositoryName                     string             `json:"repositoryName"`
		Tags                               []tagJSON          `json:"tags"`
		ImageTagMutability                 string             `json:"imageTagMutability"`
		ImageTagMutabilityExclusionFilters []mutabilityFilter `json:"imageTagMutabilityExclusionFilters"`
		ImageScanningConfiguration         *scanningConfig    `json:"imageScanningConfiguration"`
		EncryptionConfiguration            *encryptionConfig  `json:"encryptionConfiguration"`
	}
	if aerr := decode(body, &in); aerr != nil {
		return nil, aerr
	}
	if aerr := s.checkRegistry(in.RegistryID); aerr != nil {
		return nil, aerr
	}
	if err := checkRepositoryName(in.RepositoryName); err != nil {
		return nil, invalidParameter("repositoryName", fmt.Sprintf("repository name %q %v", in.RepositoryName, err))
	}
	mode := in.ImageTagMutability
	if mode == "" {
		mode = mutMutable
	}
	filters, aerr := checkMutability(mode, in.ImageTagMutabilityExclusionFilters)
	if aerr != nil {
		return nil, aerr
	}
	if len(in.Tags) > maxTagsPerResource {
		return nil, &apiError{code: "TooManyTagsException", msg: fmt.Sprintf("The number of tags (%d) exceeds the limit of %d tags per resource", len(in.Tags), maxTagsPerResource)}
	}
	if aerr := checkTags(in.Tags); aerr != nil {
		return nil, aerr
	}
	enc := encryptionConfig{EncryptionType: encAES256}
	if in.EncryptionConfiguration != nil {
		enc = *in.EncryptionConfiguration
		switch enc.EncryptionType {
		case encAES256:
			if enc.KmsKey != "" {
				return nil, invalidParameter("encryptionConfiguration.kmsKey", "a KMS key can be given only with encryptionType KMS or KMS_DSSE")
			}
		case encKMS, encKMSDSSE:
			if len(enc.KmsKey) > 2048 {
				return nil, invalidParameter("encryptionConfiguration.kmsKey", "length must be at most 2048")
			}
			// DescribeRepositories reports the key ARN, whatever named it.
			arn, aerr := s.resolveKMSKey(enc.KmsKey)
			if aerr != nil {
				return nil, aerr
			}
			enc.KmsKey = arn
		default:
			return nil, invalidParameter("encryptionConfiguration.encryptionType", fmt.Sprintf("%q is not one of %s", enc.EncryptionType, strings.Join([]string{encAES256, encKMS, encKMSDSSE}, ", ")))
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nameTakenLocked(in.RepositoryName) {
		return nil, &apiError{code: "RepositoryAlreadyExistsException", msg: fmt.Sprintf("The repository with name '%s' already exists in the registry with id '%s'", in.RepositoryName, s.account)}
	}
	r := newRepository(in.RepositoryName, s.now())
	r.mutability = mode
	r.filters = filters
	if in.ImageScanningConfiguration != nil {
		r.scanOnPush = in.ImageScanningConfiguration.ScanOnPush
	}
	r.encType, r.kmsKey = enc.EncryptionType, enc.KmsKey
	mergeTags(r, in.Tags)
	s.addRepositoryLocked(r)
	return map[string]any{"repository": s.repositoryJSON(r, host)}, nil
}

// pageSize bounds maxResults as ECR does (1 to 1000, default 100 for
// paginated calls).
func pageSize(max *int, def int) (int, *apiError) {
	if max == nil {
		return def, nil
	}
	if *max < 1 || *max > 1000 {
		return 0, invalidParameter("maxResults", fmt.Sprintf("must be 1 to 1000, got %d", *max))
	}
	return *max, nil
}

func (s *Server) describeRepositories(body []byte, host string) (any, *apiError) {
	var in struct {
		RegistryID      *string  `json:"registryId"`
		RepositoryNames []string `json:"repositoryNames"`
		NextToken       string   `json:"nextToken"`
		MaxResults      *int     `json:"maxResults"`
	}
	if aerr := decode(body, &in); aerr != nil {
		return nil, aerr
	}
	if aerr := s.checkRegistry(in.RegistryID); aerr != nil {
		return nil, aerr
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(in.RepositoryNames) > 0 {
		if in.MaxResults != nil || in.NextToken != "" {
			return nil, invalidParameter("maxResults", "maxResults and nextToken cannot be used with repositoryNames")
		}
		out := []repositoryJSON{}
		for _, name := range in.RepositoryNames {
			r, aerr := s.repoLocked(name)
			if aerr != nil {
				return nil, aerr
			}
			out = append(out, s.repositoryJSON(r, host))
		}
		return map[string]any{"repositories": out}, nil
	}
	limit, aerr := pageSize(in.MaxResults, 100)
	if aerr != nil {
		return nil, aerr
	}
	names := make([]string, 0, len(s.repos))
	for n := range s.repos {
		names = append(names, n)
	}
	slices.Sort(names)
	start := 0
	if in.NextToken != "" {
		after, err := decodeToken(in.NextToken)
		if err != nil {
			return nil, invalidParameter("nextToken", err.Error())
		}
		start, _ = slices.BinarySearch(names, after)
		if start < len(names) && names[start] == after {
			start++
		}
	}
	out := []repositoryJSON{}
	resp := map[string]any{}
	for i := start; i < len(names); i++ {
		if len(out) == limit {
			resp["nextToken"] = encodeToken(names[i-1])
			break
		}
		out = append(out, s.repositoryJSON(s.repos[names[i]], host))
	}
	resp["repositories"] = out
	return resp, nil
}

func (s *Server) deleteRepository(body []byte, host string) (any, *apiError) {
	var in struct {
		repoRef
		Force bool `json:"force"`
	}
	if aerr := s.decodeRef(body, &in, &in.repoRef); aerr != nil {
		return nil, aerr
	}
	return s.inRepo(in.RepositoryName, true, func(r *repository) (any, *apiError) {
		if len(r.images) > 0 && !in.Force {
			return nil, &apiError{code: "RepositoryNotEmptyException", msg: fmt.Sprintf("The repository with name '%s' in registry with id '%s' cannot be deleted because it still contains images", r.name, s.account)}
		}
		delete(s.repos, r.name)
		return map[string]any{"repository": s.repositoryJSON(r, host)}, nil
	})
}

func (s *Server) putImageScanningConfiguration(body []byte, _ string) (any, *apiError) {
	var in struct {
		repoRef
		ImageScanningConfiguration *scanningConfig `json:"imageScanningConfiguration"`
	}
	if aerr := s.decodeRef(body, &in, &in.repoRef); aerr != nil {
		return nil, aerr
	}
	if in.ImageScanningConfiguration == nil {
		return nil, invalidParameter("imageScanningConfiguration", "must not be null")
	}
	return s.inRepo(in.RepositoryName, true, func(r *repository) (any, *apiError) {
		r.scanOnPush = in.ImageScanningConfiguration.ScanOnPush
		return map[string]any{"registryId": s.account, "repositoryName": r.name, "imageScanningConfiguration": scanningConfig{ScanOnPush: r.scanOnPush}}, nil
	})
}

func (s *Server) putImageTagMutability(body []byte, _ string) (any, *apiError) {
	var in struct {
		repoRef
		ImageTagMutability                 string             `json:"imageTagMutability"`
		ImageTagMutabilityExclusionFilters []mutabilityFilter `json:"imageTagMutabilityExclusionFilters"`
	}
	if aerr := s.decodeRef(body, &in, &in.repoRef); aerr != nil {
		return nil, aerr
	}
	if in.ImageTagMutability == "" {
		return nil, invalidParameter("imageTagMutability", "must not be null")
	}
	filters, aerr := checkMutability(in.ImageTagMutability, in.ImageTagMutabilityExclusionFilters)
	if aerr != nil {
		return nil, aerr
	}
	return s.inRepo(in.RepositoryName, true, func(r *repository) (any, *apiError) {
		r.mutability, r.filters = in.ImageTagMutability, filters
		return map[string]any{
			"registryId":                         s.account,
			"repositoryName":                     r.name,
			"imageTagMutability":                 r.mutability,
			"imageTagMutabilityExclusionFilters": filtersJSON(r.filters),
		}, nil
	})
}

// encodeToken and decodeToken make an opaque pagination token from a key.
func encodeToken(key string) string { return encodeBase64(key) }

func decodeToken(tok string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(tok)
	if err != nil {
		return "", fmt.Errorf("token %q was not issued by this server", tok)
	}
	return string(b), nil
}
