package ecrlocal

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// repository is the state of one repository. Guarded by Server.mu.
type repository struct {
	name       string
	createdAt  time.Time
	mutability string
	filters    []string // WILDCARD exclusion filters
	scanOnPush bool
	encType    string
	kmsKey     string
	lifecycle  string // "" = none
	policy     string // "" = none
	tags       []tag  // in the order first set

	images   []*image               // in push order
	byDigest map[string]*image      // digest -> image
	byTag    map[string]string      // tag -> digest
	blobs    map[string]int64       // blobs this repository holds: digest -> size
	scans    map[string]*scanRecord // image digest -> its latest scan
}

type tag struct{ Key, Value string }

type image struct {
	digest    string
	manifest  []byte
	mediaType string
	artifact  string // config media type, for ImageDetail.artifactMediaType
	size      int64
	pushedAt  time.Time

	// OCI 1.1 (referrers.go): the manifest's subject digest ("" = none), the
	// artifact type its referrer descriptor carries and its annotations.
	subject      string
	artifactType string
	annotations  map[string]string

	// Storage class (archive.go): "" = ACTIVE, else ARCHIVED or ACTIVATING.
	status      string
	activeAt    time.Time // when an ACTIVATING image becomes ACTIVE
	archivedAt  time.Time
	activatedAt time.Time

	signatures []signature // managed signing (signing.go)
	replicas   []replica   // replication (replication.go)
}

func newRepository(name string, now time.Time) *repository {
	return &repository{
		name:       name,
		createdAt:  now,
		mutability: "MUTABLE",
		encType:    "AES256",
		byDigest:   map[string]*image{},
		byTag:      map[string]string{},
		blobs:      map[string]int64{},
		scans:      map[string]*scanRecord{},
	}
}

func (s *Server) arn(name string) string {
	return fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s", s.region, s.account, name)
}

// tagsOf lists the tags pointing at digest, sorted.
func (r *repository) tagsOf(digest string) []string {
	var out []string
	for t, d := range r.byTag {
		if d == digest {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// tagImmutable reports whether an existing tag may not be moved under the
// repository's mutability and exclusion filters (the rule the action checks
// before pushing).
func (r *repository) tagImmutable(t string) bool {
	return tagImmutable(r.mutability, r.filters, t)
}

// Manifest media types ECR accepts.
const (
	mediaDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	mediaDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaOCIManifest    = "application/vnd.oci.image.manifest.v1+json"
	mediaOCIIndex       = "application/vnd.oci.image.index.v1+json"
)

// maxManifestSize is PutImage's imageManifest limit (4,194,304 characters).
const maxManifestSize = 4 << 20

// tagPattern is the distribution spec's tag grammar.
var tagPattern = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)

type descriptor struct {
	MediaType string   `json:"mediaType"`
	Digest    string   `json:"digest"`
	Size      int64    `json:"size"`
	URLs      []string `json:"urls,omitempty"`
}

type manifestDoc struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        *descriptor       `json:"config"`
	Layers        []descriptor      `json:"layers"`
	Manifests     []descriptor      `json:"manifests"`
	Subject       *descriptor       `json:"subject"`
	Annotations   map[string]string `json:"annotations"`
}

// putRequest is one manifest push, from PutImage or a registry manifest PUT.
type putRequest struct {
	repo      string
	tag       string // "" = untagged
	digest    string // expected digest, "" = none
	manifest  []byte
	mediaType string // from the request; "" = take it from the manifest
}

// putResult is what a push did.
type putResult struct {
	img       *image
	unchanged bool // the image (and tag, if any) already existed as asked
}

// putImage stores a manifest as an image: the digest is the sha256 of the
// bytes as pushed, every referenced blob (or, for an index, child manifest)
// must be in the repository, and an immutable tag never moves.
func (s *Server) putImage(p putRequest) (putResult, *apiError) {
	if len(p.manifest) == 0 || len(p.manifest) > maxManifestSize {
		return putResult{}, invalidParameter("imageManifest", fmt.Sprintf("length must be 1 to %d, got %d", maxManifestSize, len(p.manifest)))
	}
	if p.tag != "" && !tagPattern.MatchString(p.tag) {
		return putResult{}, &apiError{code: "InvalidParameterException", msg: fmt.Sprintf("Invalid parameter at 'imageTag' failed to satisfy constraint: tag %q must match %s", p.tag, tagPattern)}
	}
	var doc manifestDoc
	if err := json.Unmarshal(p.manifest, &doc); err != nil {
		return putResult{}, invalidParameter("imageManifest", "Invalid JSON syntax: "+err.Error())
	}
	mt := p.mediaType
	switch {
	case mt == "":
		mt = doc.MediaType
	case doc.MediaType != "" && doc.MediaType != mt:
		return putResult{}, invalidParameter("imageManifestMediaType", fmt.Sprintf("%q differs from the manifest's mediaType %q", mt, doc.MediaType))
	}
	if mt == "" {
		// An OCI manifest may omit mediaType; tell it by its shape.
		switch {
		case doc.Config != nil:
			mt = mediaOCIManifest
		case doc.Manifests != nil:
			mt = mediaOCIIndex
		}
	}
	switch mt {
	case mediaDockerManifest, mediaOCIManifest, mediaDockerList, mediaOCIIndex:
	case "":
		return putResult{}, invalidParameter("imageManifestMediaType", "the manifest has no mediaType; give imageManifestMediaType")
	default:
		return putResult{}, &apiError{code: "UnsupportedImageTypeException", msg: fmt.Sprintf("The manifest media type %q is not supported; use %s, %s, %s or %s", mt, mediaDockerManifest, mediaDockerList, mediaOCIManifest, mediaOCIIndex)}
	}
	if doc.SchemaVersion != 2 {
		return putResult{}, invalidParameter("imageManifest", fmt.Sprintf("schemaVersion must be 2, got %d", doc.SchemaVersion))
	}
	sum := sha256.Sum256(p.manifest)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	if p.digest != "" && p.digest != digest {
		return putResult{}, &apiError{code: "ImageDigestDoesNotMatchException", msg: fmt.Sprintf("Invalid parameter at 'imageDigest' failed to satisfy constraint: the manifest's digest is %s, not %s", digest, p.digest)}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	r, aerr := s.repoLocked(p.repo)
	if aerr != nil {
		return putResult{}, aerr
	}
	img := &image{digest: digest, manifest: p.manifest, mediaType: mt}
	if aerr := setReferrerFields(img, doc); aerr != nil {
		return putResult{}, aerr
	}
	isIndex := mt == mediaDockerList || mt == mediaOCIIndex
	if isIndex {
		if doc.Config != nil || len(doc.Layers) > 0 {
			return putResult{}, invalidParameter("imageManifest", "an image index has manifests, not config or layers")
		}
		var missing []string
		for _, d := range doc.Manifests {
			child, ok := r.byDigest[d.Digest]
			if !ok {
				missing = append(missing, d.Digest)
				continue
			}
			img.size = max(img.size, child.size)
		}
		if len(missing) > 0 {
			return putResult{}, &apiError{code: "ReferencedImagesNotFoundException", msg: fmt.Sprintf("The image index references manifests not found in repository %q: %v", p.repo, missing), missing: missing}
		}
	} else {
		if doc.Config == nil || doc.Manifests != nil {
			return putResult{}, invalidParameter("imageManifest", "an image manifest needs a config and layers, and no manifests")
		}
		img.artifact = doc.Config.MediaType
		var missing []string
		for _, d := range append([]descriptor{*doc.Config}, doc.Layers...) {
			if len(d.URLs) > 0 {
				continue // foreign layer, fetched from its URLs
			}
			if _, ok := r.blobs[d.Digest]; !ok {
				missing = append(missing, d.Digest)
			}
		}
		for _, d := range doc.Layers {
			img.size += d.Size
		}
		if len(missing) > 0 {
			return putResult{}, &apiError{code: "LayersNotFoundException", msg: fmt.Sprintf("The image manifest references blobs not found in repository %q: %v", p.repo, missing), missing: missing}
		}
	}

	existing, exists := r.byDigest[digest]
	if p.tag != "" {
		if cur, tagged := r.byTag[p.tag]; tagged {
			// ECR refuses an existing immutable tag whatever the digest, the
			// same one included (ecr-rules.md, "Learned since").
			if r.tagImmutable(p.tag) {
				return putResult{}, &apiError{code: "ImageTagAlreadyExistsException", msg: fmt.Sprintf("The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the tag is immutable.", p.tag, p.repo)}
			}
			if cur == digest && exists && !s.archived(existing) {
				return putResult{img: existing, unchanged: true}, nil
			}
		}
	} else if exists && !s.archived(existing) {
		return putResult{img: existing, unchanged: true}, nil
	}
	if exists {
		s.restoreOnPushLocked(existing)
	}
	if !exists {
		img.pushedAt = s.now()
		r.images = append(r.images, img)
		r.byDigest[digest] = img
		existing = img
		if p.tag != "" || !s.noDigestScan {
			s.scanOnPushLocked(r, img)
		}
		s.signOnPushLocked(r, img)
		s.replicateOnPushLocked(r, img)
	}
	if p.tag != "" {
		r.byTag[p.tag] = digest
	}
	return putResult{img: existing}, nil
}

// deleteImageLocked removes an image and its tags. The caller holds s.mu.
func (r *repository) deleteImageLocked(digest string) {
	delete(r.byDigest, digest)
	delete(r.scans, digest)
	for t, d := range r.byTag {
		if d == digest {
			delete(r.byTag, t)
		}
	}
	r.images = slices.DeleteFunc(r.images, func(i *image) bool { return i.digest == digest })
}

// repoLocked finds a repository; the caller holds s.mu.
func (s *Server) repoLocked(name string) (*repository, *apiError) {
	r, ok := s.repos[name]
	if !ok {
		return nil, s.repoNotFound(name)
	}
	return r, nil
}

func (s *Server) repoNotFound(name string) *apiError {
	return &apiError{code: "RepositoryNotFoundException", msg: fmt.Sprintf("The repository with name '%s' does not exist in the registry with id '%s'", name, s.account)}
}

// referencesBlob reports whether an image manifest names digest as its
// config or one of its layers.
func referencesBlob(manifest []byte, digest string) bool {
	var doc manifestDoc
	if json.Unmarshal(manifest, &doc) != nil {
		return false
	}
	if doc.Config != nil && doc.Config.Digest == digest {
		return true
	}
	return slices.ContainsFunc(doc.Layers, func(d descriptor) bool { return d.Digest == digest })
}
