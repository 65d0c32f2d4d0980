package action

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/org/ecr-action/internal/build"
	"github.com/org/ecr-action/internal/config"
	"github.com/org/ecr-action/internal/image"
)

// built is what a build tells the provenance beyond the image: the digests
// of the files sources, hashed as the layers were written, and the base
// image by reference and digest (none for scratch).
type built struct {
	files      []build.FileDigest
	baseRef    string
	baseDigest string
}

// buildImage assembles the image from base_image and files.
func buildImage(ctx context.Context, cfg *config.Config, reg *image.Client, tmp string) (*image.Artifact, built, error) {
	b := cfg.Image.Build
	spec := build.Spec{
		Workspace:  cfg.Workspace,
		Entrypoint: b.Entrypoint,
		Cmd:        b.Cmd,
		Env:        b.Env,
		Workdir:    b.Workdir,
		Labels:     b.Labels,
		Platforms:  b.Platforms,
		Epoch:      b.Epoch,
		TempDir:    tmp,
	}
	for _, f := range b.Files {
		spec.Files = append(spec.Files, build.File{Src: f.Src, Dest: f.Dest})
	}
	g := cfg.Image.Git
	if g.Repository != "" {
		server := g.ServerURL
		if server == "" {
			server = "https://github.com"
		}
		spec.Source = strings.TrimSuffix(server, "/") + "/" + g.Repository
	}
	spec.Revision = g.SHA
	if g.HeadSHA != "" {
		spec.Revision = g.HeadSHA
	}
	if g.RefType == "tag" {
		spec.Version = g.RefName
	} else if len(cfg.Image.Tags) > 0 {
		spec.Version = cfg.Image.Tags[0]
	}
	source := "build from " + b.BaseImage
	var info built
	if b.BaseImage != config.Scratch {
		ref, err := name.ParseReference(b.BaseImage)
		if err != nil {
			return nil, built{}, fmt.Errorf("base_image %q: %w", b.BaseImage, err)
		}
		desc, err := reg.Puller().Get(ctx, ref)
		if err != nil {
			return nil, built{}, fmt.Errorf("base_image %q: %w", b.BaseImage, err)
		}
		if desc.MediaType.IsIndex() {
			spec.Base.Index, err = desc.ImageIndex()
		} else {
			spec.Base.Image, err = desc.Image()
		}
		if err != nil {
			return nil, built{}, fmt.Errorf("base_image %q: %w", b.BaseImage, err)
		}
		info.baseRef, info.baseDigest = baseDependency(b.BaseImage, desc.Digest.String())
		if _, pinned := ref.(name.Digest); !pinned {
			source += "@" + desc.Digest.String()
		}
	}
	res, err := build.Build(ctx, spec)
	if err != nil {
		return nil, built{}, err
	}
	var art *image.Artifact
	if res.Index != nil {
		art, err = image.FromIndex(source, res.Index)
	} else {
		art, err = image.FromImage(source, res.Image)
	}
	info.files = res.Files
	return art, info, err
}

// baseDependency is the base image as the provenance names it: the
// base_image input without a digest it may be pinned to, and the digest
// it resolved to.
func baseDependency(baseImage, resolved string) (ref, digest string) {
	ref, _, _ = strings.Cut(baseImage, "@")
	return ref, resolved
}
