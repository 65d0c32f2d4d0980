package ecrlocal

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Replication (ECR user guide, "Private image replication"; API reference of
// PutReplicationConfiguration, DescribeRegistry and
// DescribeImageReplicationStatus, model v1.67.6).
//
// The registry's replication configuration is up to 10 rules, each with
// destinations (a region and a registry ID) and up to 100 repository filters
// (filterType PREFIX_MATCH; a rule without filters covers every
// repository). "Only repository content pushed to a repository after
// replication is configured is replicated": an image is replicated when it
// is pushed, to each distinct destination of the rules that cover its
// repository then. Each destination's status is IN_PROGRESS for the delay
// Options.Replication gives it, then COMPLETE, or FAILED with the failure
// code Options.Replication gives it. ecrlocal replicates nothing anywhere:
// the statuses are all it models.
//
// Stricter readings where ECR's documentation is silent: a destination that
// is this registry in its own region is refused; more than 25 distinct
// destinations across the rules are refused (the documented quota); a rule
// needs at least one destination; the statuses list only the destinations,
// not the source, and is empty for an image no rule covered.

var (
	// RepositoryFilter.filter (API Reference), 2 to 256 characters.
	replicationFilterPattern = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]*)*/)*[a-z0-9]*(?:[._-][a-z0-9]*)*$`)
	destinationRegionPattern = regexp.MustCompile(`^[0-9a-z-]{2,25}$`)
)

// ReplicationBehavior is how replication to one destination goes.
type ReplicationBehavior struct {
	Delay   time.Duration // IN_PROGRESS this long after the push
	Failure string        // the failureCode of a FAILED status; "" = COMPLETE
}

type replicationDestinationJSON struct {
	Region     string `json:"region"`
	RegistryID string `json:"registryId"`
}

type replicationFilterJSON struct {
	Filter     string `json:"filter"`
	FilterType string `json:"filterType"`
}

type replicationRuleJSON struct {
	Destinations      []replicationDestinationJSON `json:"destinations"`
	RepositoryFilters []replicationFilterJSON      `json:"repositoryFilters,omitempty"`
}

type replicationConfigJSON struct {
	Rules []replicationRuleJSON `json:"rules"`
}

// replica is one destination of an image's replication.
type replica struct {
	dest    replicationDestinationJSON
	doneAt  time.Time
	failure string
}

func (s *Server) checkReplicationConfig(c *replicationConfigJSON) *apiError {
	if c == nil || c.Rules == nil {
		return invalidParameter("replicationConfiguration.rules", "must not be null")
	}
	if len(c.Rules) > 10 {
		return invalidParameter("replicationConfiguration.rules", fmt.Sprintf("must hold at most 10 rules, got %d", len(c.Rules)))
	}
	distinct := map[replicationDestinationJSON]bool{}
	for i, r := range c.Rules {
		at := fmt.Sprintf("replicationConfiguration.rules.%d.member", i+1)
		if len(r.Destinations) == 0 {
			return invalidParameter(at+".destinations", "must hold at least 1 destination")
		}
		for j, d := range r.Destinations {
			dat := fmt.Sprintf("%s.destinations.%d.member", at, j+1)
			if !destinationRegionPattern.MatchString(d.Region) {
				return invalidParameter(dat+".region", fmt.Sprintf("%q is not a region", d.Region))
			}
			if !accountPattern.MatchString(d.RegistryID) {
				return invalidParameter(dat+".registryId", fmt.Sprintf("must satisfy regular expression '[0-9]{12}', got %q", d.RegistryID))
			}
			if d.Region == s.region && d.RegistryID == s.account {
				return &apiError{code: "InvalidParameterException", msg: fmt.Sprintf("Invalid parameter at '%s': a registry cannot replicate to itself (%s in %s)", dat, d.RegistryID, d.Region)}
			}
			distinct[d] = true
		}
		if len(r.RepositoryFilters) > 100 {
			return invalidParameter(at+".repositoryFilters", fmt.Sprintf("must hold at most 100 filters, got %d", len(r.RepositoryFilters)))
		}
		for j, f := range r.RepositoryFilters {
			fat := fmt.Sprintf("%s.repositoryFilters.%d.member", at, j+1)
			if f.FilterType != "PREFIX_MATCH" {
				return invalidParameter(fat+".filterType", fmt.Sprintf("%q is not PREFIX_MATCH", f.FilterType))
			}
			if len(f.Filter) < 2 || len(f.Filter) > 256 || !replicationFilterPattern.MatchString(f.Filter) {
				return invalidParameter(fat+".filter", fmt.Sprintf("%q is not a repository name prefix of 2 to 256 characters", f.Filter))
			}
		}
	}
	if len(distinct) > 25 {
		return &apiError{code: "LimitExceededException", msg: fmt.Sprintf("The replication configuration names %d destinations; the limit is 25", len(distinct))}
	}
	return nil
}

func (r replicationRuleJSON) covers(repo string) bool {
	if len(r.RepositoryFilters) == 0 {
		return true
	}
	for _, f := range r.RepositoryFilters {
		if strings.HasPrefix(repo, f.Filter) {
			return true
		}
	}
	return false
}

// replicateOnPushLocked starts the replication of a newly pushed image to
// each distinct destination of the rules covering its repository. The
// caller holds s.mu.
func (s *Server) replicateOnPushLocked(r *repository, img *image) {
	seen := map[replicationDestinationJSON]bool{}
	for _, rule := range s.replication.Rules {
		if !rule.covers(r.name) {
			continue
		}
		for _, d := range rule.Destinations {
			if seen[d] {
				continue
			}
			seen[d] = true
			b := s.replicationBehavior(d)
			img.replicas = append(img.replicas, replica{dest: d, doneAt: img.pushedAt.Add(b.Delay), failure: b.Failure})
		}
	}
}

// replicationBehavior is Options.Replication's entry for "ACCOUNT/REGION",
// else for "REGION", else the zero behavior (COMPLETE at once).
func (s *Server) replicationBehavior(d replicationDestinationJSON) ReplicationBehavior {
	if b, ok := s.replicationBehaviors[d.RegistryID+"/"+d.Region]; ok {
		return b
	}
	return s.replicationBehaviors[d.Region]
}

func (s *Server) putReplicationConfiguration(body []byte, _ string) (any, *apiError) {
	var in struct {
		ReplicationConfiguration *replicationConfigJSON `json:"replicationConfiguration"`
	}
	if aerr := decode(body, &in); aerr != nil {
		return nil, aerr
	}
	if in.ReplicationConfiguration == nil {
		return nil, invalidParameter("replicationConfiguration", "must not be null")
	}
	if aerr := s.checkReplicationConfig(in.ReplicationConfiguration); aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replication = *in.ReplicationConfiguration
	return map[string]any{"replicationConfiguration": s.replication}, nil
}

func (s *Server) describeRegistry(body []byte, _ string) (any, *apiError) {
	var in struct{}
	if aerr := decode(body, &in); aerr != nil {
		return nil, aerr
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return map[string]any{"registryId": s.account, "replicationConfiguration": s.replication}, nil
}

type replicationStatusJSON struct {
	Region      string `json:"region"`
	RegistryID  string `json:"registryId"`
	Status      string `json:"status"`
	FailureCode string `json:"failureCode,omitempty"`
}

func (s *Server) describeImageReplicationStatus(body []byte, _ string) (any, *apiError) {
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
	statuses := []replicationStatusJSON{}
	for _, rep := range img.replicas {
		st := replicationStatusJSON{Region: rep.dest.Region, RegistryID: rep.dest.RegistryID, Status: statusInProgress}
		switch {
		case now.Before(rep.doneAt):
		case rep.failure != "":
			st.Status, st.FailureCode = statusFailed, rep.failure
		default:
			st.Status = statusComplete
		}
		statuses = append(statuses, st)
	}
	return map[string]any{
		"repositoryName":      r.name,
		"imageId":             imageID{ImageDigest: img.digest, ImageTag: in.ImageID.ImageTag},
		"replicationStatuses": statuses,
	}, nil
}
