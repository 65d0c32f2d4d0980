package image

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Referrers lists the artifacts in repo whose subject is the manifest
// subject, through the registry's referrers API (OCI distribution 1.1),
// over the target's connection. It reads only: ECR checks
// ecr:BatchGetImage for it.
func (r *Client) Referrers(ctx context.Context, repo name.Repository, subject v1.Hash) ([]v1.Descriptor, error) {
	puller, _, err := r.target(ctx, repo)
	if err != nil {
		return nil, err
	}
	idx, err := remote.Referrers(repo.Digest(subject.String()), remote.Reuse(puller), remote.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("listing the referrers of %s in %s: %w", subject, repo, r.retries.gaveUp(err))
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("listing the referrers of %s in %s: %w", subject, repo, err)
	}
	return m.Manifests, nil
}

// PushArtifact writes an artifact (an image manifest with a subject, as
// internal/referrer makes) to repo by digest, never by tag: its blobs, then
// its manifest. It needs the same permissions as pushing an image.
func (r *Client) PushArtifact(ctx context.Context, repo name.Repository, art v1.Image) (v1.Hash, error) {
	d, err := art.Digest()
	if err != nil {
		return v1.Hash{}, err
	}
	_, pusher, err := r.target(ctx, repo)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := pusher.Push(ctx, repo.Digest(d.String()), art); err != nil {
		return v1.Hash{}, fmt.Errorf("pushing %s to %s: %w", d, repo, r.retries.gaveUp(err))
	}
	return d, nil
}
