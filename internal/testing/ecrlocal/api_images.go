package ecrlocal

import (
	"fmt"
	"slices"
	"strconv"
)

type imageID struct {
	ImageDigest string `json:"imageDigest,omitempty"`
	ImageTag    string `json:"imageTag,omitempty"`
}

func (id imageID) String() string {
	d, t := "null", "null"
	if id.ImageDigest != "" {
		d = "'" + id.ImageDigest + "'"
	}
	if id.ImageTag != "" {
		t = "'" + id.ImageTag + "'"
	}
	return fmt.Sprintf("{imageDigest:%s, imageTag:%s}", d, t)
}

type imageFailure struct {
	ImageID       imageID `json:"imageId"`
	FailureCode   string  `json:"failureCode"`
	FailureReason string  `json:"failureReason"`
}

// resolve finds the image an identifier names, or says why not as a
// BatchGetImage failure code.
func (r *repository) resolve(id imageID) (*image, *imageFailure) {
	fail := func(code, reason string) (*image, *imageFailure) {
		return nil, &imageFailure{ImageID: id, FailureCode: code, FailureReason: reason}
	}
	switch {
	case id.ImageDigest == "" && id.ImageTag == "":
		return fail("MissingDigestAndTag", "Missing image digest and tag")
	case id.ImageDigest != "" && !digestPattern.MatchString(id.ImageDigest):
		return fail("InvalidImageDigest", "Invalid image digest")
	case id.ImageTag != "" && !tagPattern.MatchString(id.ImageTag):
		return fail("InvalidImageTag", "Invalid image tag")
	}
	digest := id.ImageDigest
	if id.ImageTag != "" {
		d, ok := r.byTag[id.ImageTag]
		if !ok {
			return fail("ImageNotFound", "Requested image not found")
		}
		if digest != "" && d != digest {
			return fail("ImageTagDoesNotMatchDigest", "Invalid image tag: the tag does not point to the digest")
		}
		digest = d
	}
	img, ok := r.byDigest[digest]
	if !ok {
		return fail("ImageNotFound", "Requested image not found")
	}
	return img, nil
}

type imageDetail struct {
	RegistryID             string   `json:"registryId"`
	RepositoryName         string   `json:"repositoryName"`
	ImageDigest            string   `json:"imageDigest"`
	ImageTags              []string `json:"imageTags,omitempty"`
	ImageSizeInBytes       int64    `json:"imageSizeInBytes"`
	ImagePushedAt          epoch    `json:"imagePushedAt"`
	ImageManifestMediaType string   `json:"imageManifestMediaType"`
	ArtifactMediaType      string   `json:"artifactMediaType,omitempty"`
	ImageStatus            string   `json:"imageStatus"`
	SubjectManifestDigest  string   `json:"subjectManifestDigest,omitempty"`
	LastArchivedAt         *epoch   `json:"lastArchivedAt,omitempty"`
	LastActivatedAt        *epoch   `json:"lastActivatedAt,omitempty"`

	ImageScanStatus          *scanStatusJSON  `json:"imageScanStatus,omitempty"`
	ImageScanFindingsSummary *scanSummaryJSON `json:"imageScanFindingsSummary,omitempty"`
}

// detail describes an image; the caller holds s.mu.
func (s *Server) detail(r *repository, img *image) imageDetail {
	status, summary := s.describeImagesScan(r, img.digest)
	d := imageDetail{
		RegistryID:             s.account,
		RepositoryName:         r.name,
		ImageDigest:            img.digest,
		ImageTags:              r.tagsOf(img.digest),
		ImageSizeInBytes:       img.size,
		ImagePushedAt:          epoch(img.pushedAt),
		ImageManifestMediaType: img.mediaType,
		ArtifactMediaType:      img.artifact,
		ImageStatus:            img.statusAt(s.now()),
		SubjectManifestDigest:  img.subject,

		ImageScanStatus:          status,
		ImageScanFindingsSummary: summary,
	}
	if !img.archivedAt.IsZero() {
		t := epoch(img.archivedAt)
		d.LastArchivedAt = &t
	}
	if !img.activatedAt.IsZero() {
		t := epoch(img.activatedAt)
		d.LastActivatedAt = &t
	}
	return d
}

type tagStatusFilter struct {
	TagStatus   string `json:"tagStatus"`
	ImageStatus string `json:"imageStatus"` // archive.go: none = ACTIVE only
}

func (f *tagStatusFilter) keep(tagged bool, status string) (bool, *apiError) {
	if f == nil {
		return status == imageActive, nil
	}
	if keep, aerr := keepStatus(f.ImageStatus, status); !keep || aerr != nil {
		return false, aerr
	}
	switch f.TagStatus {
	case "", "ANY":
		return true, nil
	case "TAGGED":
		return tagged, nil
	case "UNTAGGED":
		return !tagged, nil
	default:
		return false, invalidParameter("filter.tagStatus", fmt.Sprintf("%q is not one of TAGGED, UNTAGGED, ANY", f.TagStatus))
	}
}

// page cuts items at a numeric offset token.
func page[T any](items []T, token string, limit int) ([]T, string, *apiError) {
	start := 0
	if token != "" {
		k, err := decodeToken(token)
		n, err2 := strconv.Atoi(k)
		if err != nil || err2 != nil || n < 0 || n > len(items) {
			return nil, "", invalidParameter("nextToken", fmt.Sprintf("token %q was not issued by this server for this listing", token))
		}
		start = n
	}
	end := min(start+limit, len(items))
	next := ""
	if end < len(items) {
		next = encodeToken(strconv.Itoa(end))
	}
	return items[start:end], next, nil
}

func (s *Server) describeImages(body []byte, _ string) (any, *apiError) {
	var in struct {
		repoRef
		ImageIDs   []imageID        `json:"imageIds"`
		NextToken  string           `json:"nextToken"`
		MaxResults *int             `json:"maxResults"`
		Filter     *tagStatusFilter `json:"filter"`
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
	if len(in.ImageIDs) > 0 {
		if in.MaxResults != nil || in.NextToken != "" {
			return nil, invalidParameter("maxResults", "maxResults and nextToken cannot be used with imageIds")
		}
		out := []imageDetail{}
		seen := map[string]bool{}
		for _, id := range in.ImageIDs {
			img, fail := r.resolve(id)
			if fail != nil {
				return nil, &apiError{code: "ImageNotFoundException", msg: fmt.Sprintf("The image with imageId %s does not exist within the repository with name '%s' in the registry with id '%s'", id, r.name, s.account)}
			}
			if !seen[img.digest] {
				seen[img.digest] = true
				out = append(out, s.detail(r, img))
			}
		}
		return map[string]any{"imageDetails": out}, nil
	}
	limit, aerr := pageSize(in.MaxResults, 100)
	if aerr != nil {
		return nil, aerr
	}
	var all []imageDetail
	for _, img := range r.images {
		keep, aerr := in.Filter.keep(len(r.tagsOf(img.digest)) > 0, img.statusAt(s.now()))
		if aerr != nil {
			return nil, aerr
		}
		if keep {
			all = append(all, s.detail(r, img))
		}
	}
	items, next, aerr := page(all, in.NextToken, limit)
	if aerr != nil {
		return nil, aerr
	}
	resp := map[string]any{"imageDetails": append([]imageDetail{}, items...)}
	if next != "" {
		resp["nextToken"] = next
	}
	return resp, nil
}

func (s *Server) listImages(body []byte, _ string) (any, *apiError) {
	var in struct {
		repoRef
		NextToken  string           `json:"nextToken"`
		MaxResults *int             `json:"maxResults"`
		Filter     *tagStatusFilter `json:"filter"`
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
	var all []imageID
	for _, img := range r.images {
		tags := r.tagsOf(img.digest)
		keep, aerr := in.Filter.keep(len(tags) > 0, img.statusAt(s.now()))
		if aerr != nil {
			return nil, aerr
		}
		if !keep {
			continue
		}
		if len(tags) == 0 {
			all = append(all, imageID{ImageDigest: img.digest})
		}
		for _, t := range tags {
			all = append(all, imageID{ImageDigest: img.digest, ImageTag: t})
		}
	}
	items, next, aerr := page(all, in.NextToken, limit)
	if aerr != nil {
		return nil, aerr
	}
	resp := map[string]any{"imageIds": append([]imageID{}, items...)}
	if next != "" {
		resp["nextToken"] = next
	}
	return resp, nil
}

type imageJSON struct {
	RegistryID             string  `json:"registryId"`
	RepositoryName         string  `json:"repositoryName"`
	ImageID                imageID `json:"imageId"`
	ImageManifest          string  `json:"imageManifest"`
	ImageManifestMediaType string  `json:"imageManifestMediaType"`
}

func (s *Server) batchGetImage(body []byte, _ string) (any, *apiError) {
	var in struct {
		repoRef
		ImageIDs           []imageID `json:"imageIds"`
		AcceptedMediaTypes []string  `json:"acceptedMediaTypes"`
	}
	if aerr := s.decodeRef(body, &in, &in.repoRef); aerr != nil {
		return nil, aerr
	}
	if aerr := checkImageIDs(in.ImageIDs); aerr != nil {
		return nil, aerr
	}
	return s.inRepo(in.RepositoryName, false, func(r *repository) (any, *apiError) {
		images, failures := []imageJSON{}, []imageFailure{}
		for _, id := range in.ImageIDs {
			img, fail := r.resolve(id)
			if fail != nil {
				failures = append(failures, *fail)
				continue
			}
			if s.archived(img) {
				failures = append(failures, imageFailure{ImageID: id, FailureCode: "ImageNotFound", FailureReason: "Requested image is archived; restore it with UpdateImageStorageClass to pull it"})
				continue
			}
			if len(in.AcceptedMediaTypes) > 0 && !slices.Contains(in.AcceptedMediaTypes, img.mediaType) {
				failures = append(failures, imageFailure{ImageID: id, FailureCode: "UnsupportedImageType", FailureReason: fmt.Sprintf("The image's media type %s is not among the accepted media types", img.mediaType)})
				continue
			}
			got := imageID{ImageDigest: img.digest, ImageTag: id.ImageTag}
			images = append(images, imageJSON{RegistryID: s.account, RepositoryName: r.name, ImageID: got, ImageManifest: string(img.manifest), ImageManifestMediaType: img.mediaType})
		}
		return map[string]any{"images": images, "failures": failures}, nil
	})
}

// batchDeleteImage removes tags or images: a tag alone untags, and the image
// goes when its last tag does; a digest removes the image with all its tags.
func (s *Server) batchDeleteImage(body []byte, _ string) (any, *apiError) {
	var in struct {
		repoRef
		ImageIDs []imageID `json:"imageIds"`
	}
	if aerr := s.decodeRef(body, &in, &in.repoRef); aerr != nil {
		return nil, aerr
	}
	if aerr := checkImageIDs(in.ImageIDs); aerr != nil {
		return nil, aerr
	}
	return s.inRepo(in.RepositoryName, true, func(r *repository) (any, *apiError) {
		deleted, failures := []imageID{}, []imageFailure{}
		for _, id := range in.ImageIDs {
			img, fail := r.resolve(id)
			if fail != nil {
				failures = append(failures, *fail)
				continue
			}
			if id.ImageDigest == "" {
				delete(r.byTag, id.ImageTag)
				deleted = append(deleted, imageID{ImageDigest: img.digest, ImageTag: id.ImageTag})
				if len(r.tagsOf(img.digest)) == 0 {
					r.deleteImageLocked(img.digest)
				}
				continue
			}
			for _, t := range r.tagsOf(img.digest) {
				deleted = append(deleted, imageID{ImageDigest: img.digest, ImageTag: t})
			}
			if len(r.tagsOf(img.digest)) == 0 {
				deleted = append(deleted, imageID{ImageDigest: img.digest})
			}
			r.deleteImageLocked(img.digest)
		}
		return map[string]any{"imageIds": deleted, "failures": failures}, nil
	})
}

func (s *Server) putImageAPI(body []byte, _ string) (any, *apiError) {
	var in struct {
		repoRef
		ImageManifest          string `json:"imageManifest"`
		ImageManifestMediaType string `json:"imageManifestMediaType"`
		ImageTag               string `json:"imageTag"`
		ImageDigest            string `json:"imageDigest"`
	}
	if aerr := s.decodeRef(body, &in, &in.repoRef); aerr != nil {
		return nil, aerr
	}
	if len(in.ImageTag) > 300 {
		return nil, invalidParameter("imageTag", "length must be 1 to 300")
	}
	res, aerr := s.putImage(putRequest{repo: in.RepositoryName, tag: in.ImageTag, digest: in.ImageDigest, manifest: []byte(in.ImageManifest), mediaType: in.ImageManifestMediaType})
	if aerr != nil {
		return nil, aerr
	}
	if res.unchanged {
		what := fmt.Sprintf("Image with digest '%s'", res.img.digest)
		if in.ImageTag != "" {
			what += fmt.Sprintf(" and tag '%s'", in.ImageTag)
		}
		return nil, &apiError{code: "ImageAlreadyExistsException", msg: what + " already exists in the repository with name '" + in.RepositoryName + "' in registry with id '" + s.account + "'"}
	}
	return map[string]any{"image": imageJSON{
		RegistryID:             s.account,
		RepositoryName:         in.RepositoryName,
		ImageID:                imageID{ImageDigest: res.img.digest, ImageTag: in.ImageTag},
		ImageManifest:          string(res.img.manifest),
		ImageManifestMediaType: res.img.mediaType,
	}}, nil
}

func (s *Server) batchCheckLayerAvailability(body []byte, _ string) (any, *apiError) {
	var in struct {
		repoRef
		LayerDigests []string `json:"layerDigests"`
	}
	if aerr := s.decodeRef(body, &in, &in.repoRef); aerr != nil {
		return nil, aerr
	}
	if len(in.LayerDigests) == 0 || len(in.LayerDigests) > 100 {
		return nil, invalidParameter("layerDigests", fmt.Sprintf("must hold 1 to 100 digests, got %d", len(in.LayerDigests)))
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, aerr := s.repoLocked(in.RepositoryName)
	if aerr != nil {
		return nil, aerr
	}
	type layer struct {
		LayerDigest       string `json:"layerDigest"`
		LayerAvailability string `json:"layerAvailability"`
		LayerSize         int64  `json:"layerSize"`
	}
	type layerFailure struct {
		LayerDigest   string `json:"layerDigest"`
		FailureCode   string `json:"failureCode"`
		FailureReason string `json:"failureReason"`
	}
	layers, failures := []layer{}, []layerFailure{}
	for _, d := range in.LayerDigests {
		if !digestPattern.MatchString(d) {
			failures = append(failures, layerFailure{d, "InvalidLayerDigest", "Invalid layer digest"})
			continue
		}
		size, ok := r.blobs[d]
		if !ok {
			failures = append(failures, layerFailure{d, "MissingLayerDigest", "Could not find the requested layer digest"})
			continue
		}
		layers = append(layers, layer{d, "AVAILABLE", size})
	}
	return map[string]any{"layers": layers, "failures": failures}, nil
}

// checkImageIDs applies BatchGetImage's and BatchDeleteImage's bound on imageIds.
func checkImageIDs(ids []imageID) *apiError {
	if len(ids) == 0 || len(ids) > 100 {
		return invalidParameter("imageIds", fmt.Sprintf("must hold 1 to 100 image IDs, got %d", len(ids)))
	}
	return nil
}
