package ecrlocal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
)

// OCI 1.1 content discovery: a manifest's subject, the OCI-Subject header on
// its PUT, and GET /v2/<name>/referrers/<digest>. ECR supports the OCI image
// and distribution specifications 1.1 since 2024-06-27 (What's New, "Amazon
// ECR supports OCI Image and Distribution specification version 1.1").

var referrersPath = regexp.MustCompile(`^/v2/(.+)/referrers/([^/]+)$`)

// setReferrerFields records what the referrers API reports of a manifest: its
// subject, its artifact type (the manifest's artifactType, else an image
// manifest's config media type) and its annotations. A subject that is not in
// the repository is fine: the spec says a registry MUST accept it.
func setReferrerFields(img *image, doc manifestDoc) *apiError {
	if doc.Subject != nil {
		if !digestPattern.MatchString(doc.Subject.Digest) {
			return invalidParameter("imageManifest", fmt.Sprintf("subject.digest %q is not a sha256 digest", doc.Subject.Digest))
		}
		img.subject = doc.Subject.Digest
	}
	img.artifactType = doc.ArtifactType
	if img.artifactType == "" && doc.Config != nil {
		img.artifactType = doc.Config.MediaType
	}
	if len(doc.Annotations) > 0 {
		img.annotations = maps.Clone(doc.Annotations)
	}
	return nil
}

// referrerDescriptor is one entry of a referrers index.
type referrerDescriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// referrersLocked lists the images whose subject is digest, in push order,
// keeping those keep accepts. The caller holds s.mu.
func (r *repository) referrersLocked(digest string, keep func(*image) bool) []*image {
	var out []*image
	for _, img := range r.images {
		if img.subject == digest && keep(img) {
			out = append(out, img)
		}
	}
	return out
}

// serveReferrers answers GET /v2/<name>/referrers/<digest>[?artifactType=]:
// an OCI image index of the active manifests whose subject is digest, 200
// even when none is. Archived referrers are left out: they cannot be pulled
// (archive.go), as ListImageReferrers leaves them out unless asked.
func (s *Server) serveReferrers(w http.ResponseWriter, r *http.Request, name, digest string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeRegError(w, regError{http.StatusMethodNotAllowed, "UNSUPPORTED", "referrers answers GET", nil})
		return
	}
	if !digestPattern.MatchString(digest) {
		writeRegError(w, regError{http.StatusBadRequest, "DIGEST_INVALID", fmt.Sprintf("%q is not a sha256 digest", digest), nil})
		return
	}
	filter, filtered := r.URL.Query()["artifactType"]
	s.mu.RLock()
	repo, ok := s.repos[name]
	manifests := []referrerDescriptor{}
	if ok {
		for _, img := range repo.referrersLocked(digest, func(img *image) bool { return !s.archived(img) }) {
			if filtered && !slices.Contains(filter, img.artifactType) {
				continue
			}
			manifests = append(manifests, referrerDescriptor{MediaType: img.mediaType, Digest: img.digest, Size: int64(len(img.manifest)), ArtifactType: img.artifactType, Annotations: img.annotations})
		}
	}
	s.mu.RUnlock()
	if !ok {
		writeRegError(w, s.nameUnknown(name))
		return
	}
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(map[string]any{"schemaVersion": 2, "mediaType": mediaOCIIndex, "manifests": manifests})
	if filtered {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	w.Header().Set("Content-Type", mediaOCIIndex)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(buf.Bytes())
	}
}
