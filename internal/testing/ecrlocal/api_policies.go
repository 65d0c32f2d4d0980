package ecrlocal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

func (s *Server) getLifecyclePolicy(body []byte, _ string) (any, *apiError) {
	var in repoRef
	if aerr := s.decodeRef(body, &in, &in); aerr != nil {
		return nil, aerr
	}
	return s.inRepo(in.RepositoryName, false, func(r *repository) (any, *apiError) {
		if r.lifecycle == "" {
			return nil, s.lifecycleNotFound(r.name)
		}
		return map[string]any{"registryId": s.account, "repositoryName": r.name, "lifecyclePolicyText": r.lifecycle}, nil
	})
}

func (s *Server) lifecycleNotFound(name string) *apiError {
	return &apiError{code: "LifecyclePolicyNotFoundException", msg: fmt.Sprintf("Lifecycle policy does not exist for the repository with name '%s' in the registry with id '%s'", name, s.account)}
}

// putLifecyclePolicy validates the text with ECR's rules (rules_lifecycle.go) and
// stores it compacted: ECR hands back reformatted text, so clients must
// compare lifecycle policies as JSON, not as text.
func (s *Server) putLifecyclePolicy(body []byte, _ string) (any, *apiError) {
	var in struct {
		repoRef
		LifecyclePolicyText string `json:"lifecyclePolicyText"`
	}
	if aerr := s.decodeRef(body, &in, &in.repoRef); aerr != nil {
		return nil, aerr
	}
	if problems := checkLifecyclePolicy(in.LifecyclePolicyText); len(problems) > 0 {
		return nil, &apiError{code: "InvalidParameterException", msg: "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: " + strings.Join(problems, "; ") + "'"}
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(in.LifecyclePolicyText)); err != nil {
		return nil, invalidParameter("lifecyclePolicyText", "Invalid JSON syntax: "+err.Error())
	}
	return s.inRepo(in.RepositoryName, true, func(r *repository) (any, *apiError) {
		r.lifecycle = compact.String()
		return map[string]any{"registryId": s.account, "repositoryName": r.name, "lifecyclePolicyText": r.lifecycle}, nil
	})
}

func (s *Server) deleteLifecyclePolicy(body []byte, _ string) (any, *apiError) {
	var in repoRef
	if aerr := s.decodeRef(body, &in, &in); aerr != nil {
		return nil, aerr
	}
	return s.inRepo(in.RepositoryName, true, func(r *repository) (any, *apiError) {
		if r.lifecycle == "" {
			return nil, s.lifecycleNotFound(r.name)
		}
		text := r.lifecycle
		r.lifecycle = ""
		return map[string]any{"registryId": s.account, "repositoryName": r.name, "lifecyclePolicyText": text, "lastEvaluatedAt": epoch(time.Unix(0, 0))}, nil
	})
}

func (s *Server) repoPolicyNotFound(name string) *apiError {
	return &apiError{code: "RepositoryPolicyNotFoundException", msg: fmt.Sprintf("Repository policy does not exist for the repository with name '%s' in the registry with id '%s'", name, s.account)}
}

func (s *Server) getRepositoryPolicy(body []byte, _ string) (any, *apiError) {
	var in repoRef
	if aerr := s.decodeRef(body, &in, &in); aerr != nil {
		return nil, aerr
	}
	return s.inRepo(in.RepositoryName, false, func(r *repository) (any, *apiError) {
		if r.policy == "" {
			return nil, s.repoPolicyNotFound(r.name)
		}
		return map[string]any{"registryId": s.account, "repositoryName": r.name, "policyText": r.policy}, nil
	})
}

// setRepositoryPolicy validates the policy (rules_repopolicy.go) and stores it pretty-printed the way ECR hands policies back
// (`"Version" : "2012-10-17"`, arrays on one line), so a client comparing
// text instead of JSON sees a difference here as it would on AWS.
func (s *Server) setRepositoryPolicy(body []byte, _ string) (any, *apiError) {
	var in struct {
		repoRef
		PolicyText string `json:"policyText"`
		Force      bool   `json:"force"`
	}
	if aerr := s.decodeRef(body, &in, &in.repoRef); aerr != nil {
		return nil, aerr
	}
	if problems := checkRepositoryPolicy(in.PolicyText); len(problems) > 0 {
		return nil, &apiError{code: "InvalidParameterException", msg: "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided: " + strings.Join(problems, "; ") + "'"}
	}
	text, err := prettyPolicy(in.PolicyText)
	if err != nil {
		return nil, invalidParameter("PolicyText", "Invalid JSON syntax: "+err.Error())
	}
	return s.inRepo(in.RepositoryName, true, func(r *repository) (any, *apiError) {
		r.policy = text
		return map[string]any{"registryId": s.account, "repositoryName": r.name, "policyText": r.policy}, nil
	})
}

func (s *Server) deleteRepositoryPolicy(body []byte, _ string) (any, *apiError) {
	var in repoRef
	if aerr := s.decodeRef(body, &in, &in); aerr != nil {
		return nil, aerr
	}
	return s.inRepo(in.RepositoryName, true, func(r *repository) (any, *apiError) {
		if r.policy == "" {
			return nil, s.repoPolicyNotFound(r.name)
		}
		text := r.policy
		r.policy = ""
		return map[string]any{"registryId": s.account, "repositoryName": r.name, "policyText": text}, nil
	})
}

// repoFromARN finds the repository an ARN names; the caller holds s.mu.
func (s *Server) repoFromARN(arn string) (*repository, *apiError) {
	prefix := fmt.Sprintf("arn:aws:ecr:%s:%s:repository/", s.region, s.account)
	name, ok := strings.CutPrefix(arn, prefix)
	if !ok || name == "" {
		return nil, invalidParameter("resourceArn", fmt.Sprintf("%q is not a repository ARN of this registry (%s<name>)", arn, prefix))
	}
	return s.repoLocked(name)
}

func (s *Server) tagsJSON(r *repository) []tagJSON {
	out := []tagJSON{}
	for _, t := range r.tags {
		out = append(out, tagJSON(t))
	}
	return out
}

func (s *Server) listTagsForResource(body []byte, _ string) (any, *apiError) {
	var in struct {
		ResourceArn string `json:"resourceArn"`
	}
	if aerr := decode(body, &in); aerr != nil {
		return nil, aerr
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, aerr := s.repoFromARN(in.ResourceArn)
	if aerr != nil {
		return nil, aerr
	}
	return map[string]any{"tags": s.tagsJSON(r)}, nil
}

func (s *Server) tagResource(body []byte, _ string) (any, *apiError) {
	var in struct {
		ResourceArn string    `json:"resourceArn"`
		Tags        []tagJSON `json:"tags"`
	}
	if aerr := decode(body, &in); aerr != nil {
		return nil, aerr
	}
	if len(in.Tags) == 0 {
		return nil, invalidParameter("tags", "must not be empty")
	}
	if aerr := checkTags(in.Tags); aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, aerr := s.repoFromARN(in.ResourceArn)
	if aerr != nil {
		return nil, aerr
	}
	if n := countAfterMerge(r, in.Tags); n > maxTagsPerResource {
		return nil, &apiError{code: "TooManyTagsException", msg: fmt.Sprintf("The repository would have %d tags; the limit is %d tags per resource", n, maxTagsPerResource)}
	}
	mergeTags(r, in.Tags)
	return map[string]any{}, nil
}

func (s *Server) untagResource(body []byte, _ string) (any, *apiError) {
	var in struct {
		ResourceArn string   `json:"resourceArn"`
		TagKeys     []string `json:"tagKeys"`
	}
	if aerr := decode(body, &in); aerr != nil {
		return nil, aerr
	}
	if len(in.TagKeys) == 0 {
		return nil, invalidParameter("tagKeys", "must not be empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, aerr := s.repoFromARN(in.ResourceArn)
	if aerr != nil {
		return nil, aerr
	}
	drop := map[string]bool{}
	for _, k := range in.TagKeys {
		drop[k] = true
	}
	kept := r.tags[:0]
	for _, t := range r.tags {
		if !drop[t.Key] {
			kept = append(kept, t)
		}
	}
	r.tags = kept
	return map[string]any{}, nil
}

// getAuthorizationToken issues a registry password valid for 12 hours. The
// proxy endpoint is the address the client used, so the registry host always
// comes from ECR's answer.
func (s *Server) getAuthorizationToken(body []byte, host string) (any, *apiError) {
	var in struct {
		RegistryIDs []string `json:"registryIds"`
	}
	if aerr := decode(body, &in); aerr != nil {
		return nil, aerr
	}
	for _, id := range in.RegistryIDs {
		if aerr := s.checkRegistry(&id); aerr != nil {
			return nil, aerr
		}
	}
	password, err := randomID()
	if err != nil {
		return nil, &apiError{code: "ServerException", msg: err.Error()}
	}
	expires := s.now().Add(s.tokenTTL)
	s.mu.Lock()
	for p, exp := range s.tokens {
		if !exp.After(s.now()) {
			delete(s.tokens, p)
		}
	}
	s.tokens[password] = expires
	s.issued = append(s.issued, password)
	s.mu.Unlock()
	return map[string]any{"authorizationData": []any{map[string]any{
		"authorizationToken": encodeBase64("AWS:" + password),
		"expiresAt":          epoch(expires),
		"proxyEndpoint":      "http://" + host,
	}}}, nil
}
