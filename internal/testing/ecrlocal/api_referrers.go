package ecrlocal

import (
	"fmt"
	"slices"
)

// imageReferrerJSON is the model's ImageReferrer.
type imageReferrerJSON struct {
	Digest         string            `json:"digest"`
	MediaType      string            `json:"mediaType"`
	ArtifactType   string            `json:"artifactType,omitempty"`
	Size           int64             `json:"size"`
	Annotations    map[string]string `json:"annotations,omitempty"`
	ArtifactStatus string            `json:"artifactStatus"`
}

// listImageReferrers is ListImageReferrers: the artifacts whose subject is
// subjectId.imageDigest, ACTIVE ones unless filter.artifactStatus says
// otherwise, in push order, 20 to a page by default (1 to 50).
func (s *Server) listImageReferrers(body []byte, _ string) (any, *apiError) {
	var in struct {
		repoRef
		SubjectID *struct {
			ImageDigest string `json:"imageDigest"`
		} `json:"subjectId"`
		Filter *struct {
			ArtifactTypes  []string `json:"artifactTypes"`
			ArtifactStatus string   `json:"artifactStatus"`
		} `json:"filter"`
		NextToken  string `json:"nextToken"`
		MaxResults *int   `json:"maxResults"`
	}
	if aerr := s.decodeRef(body, &in, &in.repoRef); aerr != nil {
		return nil, aerr
	}
	if in.SubjectID == nil || in.SubjectID.ImageDigest == "" {
		return nil, invalidParameter("subjectId.imageDigest", "must not be null")
	}
	if !digestPattern.MatchString(in.SubjectID.ImageDigest) {
		return nil, invalidParameter("subjectId.imageDigest", fmt.Sprintf("%q is not a sha256 digest", in.SubjectID.ImageDigest))
	}
	limit := 20
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 50 {
			return nil, invalidParameter("maxResults", fmt.Sprintf("must be 1 to 50, got %d", *in.MaxResults))
		}
		limit = *in.MaxResults
	}
	statusFilter := ""
	var types []string
	if in.Filter != nil {
		statusFilter, types = in.Filter.ArtifactStatus, in.Filter.ArtifactTypes
	}
	if _, aerr := keepStatus(statusFilter, imageActive); aerr != nil {
		aerr.msg = "Invalid parameter at 'filter.artifactStatus': " + aerr.msg
		return nil, aerr
	}
	return s.inRepo(in.RepositoryName, false, func(r *repository) (any, *apiError) {
		now := s.now()
		var all []imageReferrerJSON
		for _, img := range r.referrersLocked(in.SubjectID.ImageDigest, func(*image) bool { return true }) {
			status := img.statusAt(now)
			if keep, _ := keepStatus(statusFilter, status); !keep {
				continue
			}
			if len(types) > 0 && !slices.Contains(types, img.artifactType) {
				continue
			}
			all = append(all, imageReferrerJSON{Digest: img.digest, MediaType: img.mediaType, ArtifactType: img.artifactType, Size: int64(len(img.manifest)), Annotations: img.annotations, ArtifactStatus: status})
		}
		items, next, aerr := page(all, in.NextToken, limit)
		if aerr != nil {
			return nil, aerr
		}
		resp := map[string]any{"referrers": append([]imageReferrerJSON{}, items...)}
		if next != "" {
			resp["nextToken"] = next
		}
		return resp, nil
	})
}
