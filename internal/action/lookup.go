package action

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// manifestTypes are the manifest media types BatchGetImage may return as
// stored. Schema 1 is left out: asked for it, ECR converts a schema 2
// manifest, and the digest changes.
var manifestTypes = []string{
	string(types.DockerManifestSchema2), string(types.DockerManifestList),
	string(types.OCIManifestSchema1), string(types.OCIImageIndex),
}

// lookupTags finds what tags name in the target repository with ECR's
// BatchGetImage, 100 tags a call: one round trip where a registry HEAD per
// tag makes one each (a HEAD needs ecr:BatchGetImage too). A tag the call
// reports neither found nor missing is left to a registry HEAD; in a
// repository that does not exist yet, no tag exists.
func lookupTags(client *ecr.Client) func(context.Context, name.Repository, []string) (map[string]v1.Hash, []string, error) {
	return func(ctx context.Context, repo name.Repository, tags []string) (map[string]v1.Hash, []string, error) {
		found := map[string]v1.Hash{}
		var unsettled []string
		for chunk := range slices.Chunk(tags, 100) {
			ids := make([]ecrtypes.ImageIdentifier, len(chunk))
			for i, t := range chunk {
				ids[i] = ecrtypes.ImageIdentifier{ImageTag: aws.String(t)}
			}
			out, err := client.BatchGetImage(ctx, &ecr.BatchGetImageInput{
				RepositoryName: aws.String(repo.RepositoryStr()), ImageIds: ids, AcceptedMediaTypes: manifestTypes,
			})
			var notFound *ecrtypes.RepositoryNotFoundException
			if errors.As(err, &notFound) {
				// The run creates the repository later: no tag exists yet.
				return map[string]v1.Hash{}, nil, nil
			}
			if err != nil {
				return nil, nil, err
			}
			missing := map[string]bool{}
			for _, f := range out.Failures {
				if f.ImageId != nil && f.FailureCode == ecrtypes.ImageFailureCodeImageNotFound {
					missing[aws.ToString(f.ImageId.ImageTag)] = true
				}
			}
			for _, im := range out.Images {
				if im.ImageId == nil {
					continue
				}
				if h, err := v1.NewHash(aws.ToString(im.ImageId.ImageDigest)); err == nil && slices.Contains(chunk, aws.ToString(im.ImageId.ImageTag)) {
					found[aws.ToString(im.ImageId.ImageTag)] = h
				}
			}
			for _, t := range chunk {
				if _, ok := found[t]; !ok && !missing[t] {
					unsettled = append(unsettled, t)
				}
			}
		}
		return found, unsettled, nil
	}
}

// archivedPages bounds findArchived's listing: 10 pages of 100 archived
// images. Past that, refs on later pages are taken as not archived.
const archivedPages = 10

// findArchived lists the repository's archived images (DescribeImages with
// the imageStatus filter ARCHIVED: one call for up to 100) and returns the
// refs, tags or digests, that name one. The registry answers 404 for an
// archived image and BatchGetImage reports it as ImageNotFound, so this is
// how a missing image is told from an archived one.
func findArchived(client *ecr.Client) func(context.Context, name.Repository, []string) (map[string]v1.Hash, error) {
	return func(ctx context.Context, repo name.Repository, refs []string) (map[string]v1.Hash, error) {
		want := map[string]bool{}
		for _, r := range refs {
			want[r] = true
		}
		archived := map[string]v1.Hash{}
		in := &ecr.DescribeImagesInput{
			RepositoryName: aws.String(repo.RepositoryStr()),
			Filter:         &ecrtypes.DescribeImagesFilter{ImageStatus: ecrtypes.ImageStatusFilterArchived},
			MaxResults:     aws.Int32(100),
		}
		for range archivedPages {
			out, err := client.DescribeImages(ctx, in)
			var notFound *ecrtypes.RepositoryNotFoundException
			if errors.As(err, &notFound) {
				return archived, nil
			}
			if err != nil {
				var api smithy.APIError
				if errors.As(err, &api) && strings.HasPrefix(api.ErrorCode(), "AccessDenied") {
					return nil, fmt.Errorf("ecr:DescribeImages was denied (%s); allow it to tell an archived image from a missing one", api.ErrorCode())
				}
				return nil, fmt.Errorf("listing archived images (ecr:DescribeImages): %w", err)
			}
			for _, d := range out.ImageDetails {
				h, err := v1.NewHash(aws.ToString(d.ImageDigest))
				if err != nil || d.ImageStatus == ecrtypes.ImageStatusActive {
					continue
				}
				if want[h.String()] {
					archived[h.String()] = h
				}
				for _, t := range d.ImageTags {
					if want[t] {
						archived[t] = h
					}
				}
			}
			if aws.ToString(out.NextToken) == "" {
				break
			}
			in.NextToken = out.NextToken
		}
		return archived, nil
	}
}
