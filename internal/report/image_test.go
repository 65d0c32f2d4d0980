package report

import (
	"strings"
	"testing"

	"github.com/org/ecr-action/internal/image"
	"github.com/org/ecr-action/internal/testing/goldenfile"
)

func TestRenderImage(t *testing.T) {
	const repo = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app"
	const digest = "sha256:6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b"
	const old = "sha256:d4735e3a265e16eee03f59718b9b5d03019c07d8b6c51f90da3a666eec13ab35"
	cases := []struct {
		name string
		in   ImageSummary
	}{
		{"image_pushed.md", ImageSummary{
			Source: "oci:/github/workspace/out", Platforms: []string{"linux/amd64", "linux/arm64"},
			Size: 1 << 30, Layers: 8, Digest: digest, URI: repo + "@" + digest,
			UploadedLayers: 6, UploadedBytes: 800 << 20, Seconds: 3.14, ExistingLayers: 1, MountedLayers: 1,
			BlobMounting:    "2 layer(s) from base/app were uploaded, not mounted: the account setting BLOB_MOUNTING is DISABLED, so ECR copies every layer between repositories. To mount them instead, turn it on:",
			BlobMountingFix: "aws ecr put-account-setting --name BLOB_MOUNTING --value ENABLED",
			Tags: []ImageTag{
				{Tag: "abc1234", Action: image.TagPushed},
				{Tag: "v1.2.3", Action: image.TagPushed},
				{Tag: "latest", Action: image.TagMoved, Previous: old},
			},
		}},
		{"image_unchanged.md", ImageSummary{
			Source: "docker-archive:/github/workspace/app.tar", Platforms: []string{"linux/amd64"},
			Size: 12345, Layers: 2, Digest: digest, URI: repo + "@" + digest,
			Tags: []ImageTag{{Tag: "abc1234", Action: image.TagUnchanged}},
		}},
		{"image_retag.md", ImageSummary{
			Source: "retag_from:abc1234", Platforms: []string{"linux/amd64"}, Retag: true,
			Size: 5 << 20, Layers: 3, Digest: digest, URI: repo + "@" + digest,
			Tags: []ImageTag{{Tag: "v1.2.3", Action: image.TagPushed}, {Tag: "abc1234", Action: image.TagUnchanged}},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			goldenfile.Check(t, c.name, RenderImage(c.in))
		})
	}
}

func TestRenderImageHostileSource(t *testing.T) {
	got := RenderImage(ImageSummary{Source: "oci:/x`|<script>\n::set-output name=x::y", Digest: "sha256:00", Tags: []ImageTag{{Tag: "a|b", Action: image.TagPushed}}})
	for _, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(line, "::") {
			t.Errorf("a line starts a workflow command: %q", line)
		}
	}
	if !strings.Contains(got, "- Source: ``oci:/x`|<script> ::set-output name=x::y``\n") {
		t.Errorf("the source is not one code span on one line (HTML inside a code span shows as text):\n%s", got)
	}
	if !strings.Contains(got, "| `a\\|b` | pushed |") {
		t.Errorf("a '|' in a tag is not escaped in the table:\n%s", got)
	}
}

func TestRenderImageWithheld(t *testing.T) {
	got := RenderImage(ImageSummary{
		Source: "build from scratch", Size: 2048, Layers: 1, Digest: "sha256:abc", URI: "r/app@sha256:abc",
		UploadedLayers: 1, UploadedBytes: 1024,
		Tags: []ImageTag{{Tag: "latest", Action: image.TagWithheld}, {Tag: "0123456", Action: image.TagWithheld}},
	})
	for _, s := range []string{"no tag was written", "by digest only", "| `latest` | withheld (scan gate failed) |"} {
		if !strings.Contains(got, s) {
			t.Errorf("summary lacks %q:\n%s", s, got)
		}
	}
}
