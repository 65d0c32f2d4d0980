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

// buildImage assembles the image from base_image and files. It also
// returns the digests of the files sources, hashed as the layers were
// written, for the provenance.
func buildImage(ctx context.Context, cfg *config.Config, reg *image.Client, tmp string) (*image.Artifact, []build.FileDigest, error) {
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
	if b.BaseImage != config.Scratch {
		ref, err := name.ParseReference(b.BaseImage)
		if err != nil {
			return nil, nil, fmt.Errorf("base_image %q: %w", b.BaseImage, err)
		}
		desc, err := reg.Puller().Get(ctx, ref)
		if err != nil {
			return nil, nil, fmt.Errorf("base_image %q: %w", b.BaseImage, err)
		}
		if desc.MediaType.IsIndex() {
			spec.Base.Index, err = desc.ImageIndex()
		} else {
			spec.Base.Image, err = desc.Image()
		}
		if err != nil {
			return nil, nil, fmt.Errorf("base_image %q: %w", b.BaseImage, err)
		}
		source += "@" + desc.Digest.String()
	}
	res, err := build.Build(ctx, spec)
	if err != nil {
		return nil, nil, err
	}
	var art *image.Artifact
	if res.Index != nil {
		art, err = image.FromIndex(source, res.Index)
	} else {
		art, err = image.FromImage(source, res.Image)
	}
	return art, res.Files, err
}
