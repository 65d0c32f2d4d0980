package ecrlocal

import (
	"fmt"
	"time"
)

// The archive storage class (ECR user guide, "Archiving an image"; API
// UpdateImageStorageClass): an archived image cannot be pulled (the registry
// answers 404, BatchGetImage an ImageNotFound failure) but can still be
// described and listed when the imageStatus filter asks for it; restoring it
// (targetStorageClass STANDARD, or pushing it again) makes it ACTIVATING and
// then ACTIVE after Options.RestoreDelay. Its scan status is IMAGE_ARCHIVED.

// Image statuses (ImageStatus in the model).
const (
	imageActive     = "ACTIVE"
	imageArchived   = "ARCHIVED"
	imageActivating = "ACTIVATING"
)

// statusAt is the image's status at now.
func (img *image) statusAt(now time.Time) string {
	switch img.status {
	case "", imageActive:
		return imageActive
	case imageActivating:
		if !now.Before(img.activeAt) {
			return imageActive
		}
	}
	return img.status
}

// archived reports whether the image cannot be pulled now: ARCHIVED, or
// ACTIVATING and not yet restored.
func (s *Server) archived(img *image) bool {
	return img.statusAt(s.now()) != imageActive
}

// restoreLocked starts restoring an image from the archive. The caller holds
// s.mu for writing.
func (s *Server) restoreLocked(img *image) {
	now := s.now()
	img.status = imageActivating
	img.activeAt = now.Add(s.restoreDelay)
	img.activatedAt = now
}

// restoreOnPushLocked restores an archived image pushed again, as ECR does.
func (s *Server) restoreOnPushLocked(img *image) {
	if img.statusAt(s.now()) == imageArchived {
		s.restoreLocked(img)
	}
}

// keepStatus applies an imageStatus filter (DescribeImages, ListImages):
// none means ACTIVE only.
func keepStatus(filter, status string) (bool, *apiError) {
	switch filter {
	case "":
		return status == imageActive, nil
	case "ANY":
		return true, nil
	case imageActive, imageArchived, imageActivating:
		return status == filter, nil
	}
	return false, invalidParameter("filter.imageStatus", fmt.Sprintf("%q is not one of ACTIVE, ARCHIVED, ACTIVATING, ANY", filter))
}

func (s *Server) updateImageStorageClass(body []byte, _ string) (any, *apiError) {
	var in struct {
		repoRef
		ImageID            *imageID `json:"imageId"`
		TargetStorageClass string   `json:"targetStorageClass"`
	}
	if aerr := s.decodeRef(body, &in, &in.repoRef); aerr != nil {
		return nil, aerr
	}
	if in.TargetStorageClass != "STANDARD" && in.TargetStorageClass != "ARCHIVE" {
		return nil, &apiError{code: "ValidationException", msg: fmt.Sprintf("1 validation error detected: Value '%s' at 'targetStorageClass' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, ARCHIVE]", in.TargetStorageClass)}
	}
	return s.inRepo(in.RepositoryName, true, func(r *repository) (any, *apiError) {
		img, aerr := s.resolveOne(r, in.ImageID)
		if aerr != nil {
			return nil, aerr
		}
		now := s.now()
		var status string
		switch cur := img.statusAt(now); {
		case in.TargetStorageClass == "ARCHIVE" && cur == imageActive:
			img.status = imageArchived
			img.archivedAt = now
			status = imageArchived
		case in.TargetStorageClass == "STANDARD" && cur == imageArchived:
			s.restoreLocked(img)
			status = imageActivating // the restore has started
		default:
			want := map[string]string{"ARCHIVE": imageArchived, "STANDARD": imageActive}[in.TargetStorageClass]
			if cur != want {
				// ACTIVATING: a restore is under way; neither direction applies.
				return nil, &apiError{code: "ImageStorageClassUpdateNotSupportedException", msg: fmt.Sprintf("The image %s is %s; it cannot move to storage class %s until the restore completes", img.digest, cur, in.TargetStorageClass)}
			}
			return nil, &apiError{code: "ImageStorageClassUpdateNotSupportedException", msg: fmt.Sprintf("The image %s is already %s", img.digest, cur)}
		}
		return map[string]any{
			"registryId":     s.account,
			"repositoryName": r.name,
			"imageId":        imageID{ImageDigest: img.digest, ImageTag: in.ImageID.ImageTag},
			"imageStatus":    status,
		}, nil
	})
}
