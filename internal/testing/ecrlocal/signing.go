package ecrlocal

import (
	"fmt"
	"regexp"
	"time"
)

// Managed signing (ECR user guide, "Managed signing"; API reference of
// PutSigningConfiguration, GetSigningConfiguration,
// DeleteSigningConfiguration and DescribeImageSigningStatus, model v1.67.6).
//
// The registry's signing configuration is a list of rules (1 to 10), each a
// AWS Signer signing profile ARN and up to 100 repository filters
// (filterType WILDCARD_MATCH, where * matches any sequence of characters; a
// rule without filters covers every repository). An image is signed when it
// is pushed: each rule that covers its repository at push time adds one
// signing status, named by the rule's profile, that stays IN_PROGRESS for
// Options.SigningDelay and then becomes COMPLETE, or FAILED with
// Options.SigningFailure as its failureCode. Images pushed before the
// configuration existed are never signed, and deleting the configuration
// leaves existing statuses in place ("Deleting the signing configuration
// does not affect existing image signatures").
//
// Where ECR's documentation is silent ecrlocal takes the stricter reading:
// an image no rule covered answers an empty signingStatuses list (not an
// error); a configuration with no rules is refused. A filter follows the
// API Reference's pattern and length (SigningRepositoryFilter).

var (
	signingProfilePattern = regexp.MustCompile(`^arn:aws(-[a-z]+)*:signer:[a-z0-9-]+:[0-9]{12}:/signing-profiles/[a-zA-Z0-9_]{2,}$`)
	// SigningRepositoryFilter.filter (API Reference): 1 to 256 characters.
	signingFilterPattern = regexp.MustCompile(`^(?:[a-z0-9*]+(?:[._-][a-z0-9*]+)*/)*[a-z0-9*]+(?:[._-][a-z0-9*]+)*$`)
)

// Signing statuses (types.SigningStatus).
const (
	statusInProgress = "IN_PROGRESS"
	statusComplete   = "COMPLETE"
	statusFailed     = "FAILED"
)

type signingFilterJSON struct {
	Filter     string `json:"filter"`
	FilterType string `json:"filterType"`
}

type signingRuleJSON struct {
	SigningProfileArn string              `json:"signingProfileArn"`
	RepositoryFilters []signingFilterJSON `json:"repositoryFilters,omitempty"`
}

type signingConfigJSON struct {
	Rules []signingRuleJSON `json:"rules"`
}

// signature is one signing status of an image: the profile of a rule that
// covered its repository when it was pushed.
type signature struct {
	profile string
	doneAt  time.Time // IN_PROGRESS until then
	failure string    // failureCode once done; "" = COMPLETE
}

func checkSigningConfig(c *signingConfigJSON) *apiError {
	if c == nil {
		return invalidParameter("signingConfiguration", "must not be null")
	}
	if len(c.Rules) == 0 || len(c.Rules) > 10 {
		return invalidParameter("signingConfiguration.rules", fmt.Sprintf("must hold 1 to 10 rules, got %d", len(c.Rules)))
	}
	for i, r := range c.Rules {
		if !signingProfilePattern.MatchString(r.SigningProfileArn) || len(r.SigningProfileArn) > 200 {
			return invalidParameter(fmt.Sprintf("signingConfiguration.rules.%d.member.signingProfileArn", i+1), fmt.Sprintf("%q is not a signing profile ARN (arn:aws:signer:REGION:ACCOUNT:/signing-profiles/NAME)", r.SigningProfileArn))
		}
		if len(r.RepositoryFilters) > 100 {
			return invalidParameter(fmt.Sprintf("signingConfiguration.rules.%d.member.repositoryFilters", i+1), fmt.Sprintf("must hold at most 100 filters, got %d", len(r.RepositoryFilters)))
		}
		for j, f := range r.RepositoryFilters {
			at := fmt.Sprintf("signingConfiguration.rules.%d.member.repositoryFilters.%d.member", i+1, j+1)
			if f.FilterType != "WILDCARD_MATCH" {
				return invalidParameter(at+".filterType", fmt.Sprintf("%q is not WILDCARD_MATCH", f.FilterType))
			}
			if len(f.Filter) > 256 || !signingFilterPattern.MatchString(f.Filter) {
				return invalidParameter(at+".filter", fmt.Sprintf("%q is not a repository name pattern (lower-case letters, digits, . _ - / and *)", f.Filter))
			}
		}
	}
	return nil
}

func (r signingRuleJSON) covers(repo string) bool {
	if len(r.RepositoryFilters) == 0 {
		return true
	}
	for _, f := range r.RepositoryFilters {
		if wildcardMatch(f.Filter, repo) {
			return true
		}
	}
	return false
}

// signOnPushLocked starts the signing of a newly pushed image: one status
// per distinct profile of the rules that cover its repository. The caller
// holds s.mu.
func (s *Server) signOnPushLocked(r *repository, img *image) {
	if s.signing == nil {
		return
	}
	seen := map[string]bool{}
	for _, rule := range s.signing.Rules {
		if !rule.covers(r.name) || seen[rule.SigningProfileArn] {
			continue
		}
		seen[rule.SigningProfileArn] = true
		img.signatures = append(img.signatures, signature{profile: rule.SigningProfileArn, doneAt: img.pushedAt.Add(s.signingDelay), failure: s.signingFailure})
	}
}

func (s *Server) putSigningConfiguration(body []byte, _ string) (any, *apiError) {
	var in struct {
		SigningConfiguration *signingConfigJSON `json:"signingConfiguration"`
	}
	if aerr := decode(body, &in); aerr != nil {
		return nil, aerr
	}
	if aerr := checkSigningConfig(in.SigningConfiguration); aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signing = in.SigningConfiguration
	return map[string]any{"signingConfiguration": s.signing}, nil
}

func (s *Server) signingNotFound() *apiError {
	return &apiError{code: "SigningConfigurationNotFoundException", msg: fmt.Sprintf("Signing configuration not found for registry %s", s.account)}
}

func (s *Server) getSigningConfiguration(body []byte, _ string) (any, *apiError) {
	var in struct{}
	if aerr := decode(body, &in); aerr != nil {
		return nil, aerr
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.signing == nil {
		return nil, s.signingNotFound()
	}
	return map[string]any{"registryId": s.account, "signingConfiguration": s.signing}, nil
}

func (s *Server) deleteSigningConfiguration(body []byte, _ string) (any, *apiError) {
	var in struct{}
	if aerr := decode(body, &in); aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.signing == nil {
		return nil, s.signingNotFound()
	}
	old := s.signing
	s.signing = nil
	return map[string]any{"registryId": s.account, "signingConfiguration": old}, nil
}

type signingStatusJSON struct {
	SigningProfileArn string `json:"signingProfileArn"`
	Status            string `json:"status"`
	FailureCode       string `json:"failureCode,omitempty"`
	FailureReason     string `json:"failureReason,omitempty"`
}

func (s *Server) describeImageSigningStatus(body []byte, _ string) (any, *apiError) {
	var in struct {
		repoRef
		ImageID *imageID `json:"imageId"`
	}
	if aerr := s.decodeRef(body, &in, &in.repoRef); aerr != nil {
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
	now := s.now()
	statuses := []signingStatusJSON{}
	for _, sig := range img.signatures {
		st := signingStatusJSON{SigningProfileArn: sig.profile, Status: statusInProgress}
		switch {
		case now.Before(sig.doneAt):
		case sig.failure != "":
			st.Status, st.FailureCode = statusFailed, sig.failure
			st.FailureReason = fmt.Sprintf("Signing with profile %s failed (%s)", sig.profile, sig.failure)
		default:
			st.Status = statusComplete
		}
		statuses = append(statuses, st)
	}
	return map[string]any{
		"registryId":      s.account,
		"repositoryName":  r.name,
		"imageId":         imageID{ImageDigest: img.digest, ImageTag: in.ImageID.ImageTag},
		"signingStatuses": statuses,
	}, nil
}
