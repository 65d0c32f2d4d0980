package report

import (
	"fmt"
	"strings"

	"github.com/org/ecr-action/internal/image"
	"github.com/org/ecr-action/internal/units"
)

// ImageTag is one tag of the pushed image and what the run did to it.
type ImageTag struct {
	Tag    string
	URI    string // <repository_url>:<tag>
	Action image.TagAction
	// Previous is the digest a moved tag named before.
	Previous string
}

// ImageSummary is what RenderImage shows.
type ImageSummary struct {
	Source    string   // "oci:/github/workspace/out", "docker://…", "build from alpine:3.20", "retag_from: abc1234"
	Platforms []string // "linux/amd64", …
	Size      int64    // bytes of every distinct blob and manifest
	Layers    int
	Digest    string
	URI       string // <repository_url>@<digest>
	Tags      []ImageTag
	// Uploaded counts the layers whose bytes this run sent; the others
	// were already in the repository or were mounted.
	UploadedLayers int
	UploadedBytes  int64
	// MountedLayers were mounted from another repository of the registry;
	// ExistingLayers were in the repository already.
	MountedLayers  int
	ExistingLayers int
	// BlobMounting says why layers from another repository of the registry
	// were uploaded rather than mounted ("" when none were).
	BlobMounting string
	// BlobMountingFix is the command that turns blob mounting on, when
	// it may be off.
	BlobMountingFix string
	Retag           bool
	Seconds         float64
}

// RenderImage renders the "## Image" section of the job summary: what was
// pushed, the digest to pin, and each tag with pushed / moved / unchanged.
func RenderImage(s ImageSummary) string {
	var b strings.Builder
	b.WriteString("## Image\n\n")
	pushed, withheld := 0, 0
	for _, t := range s.Tags {
		switch t.Action {
		case image.TagUnchanged:
		case image.TagWithheld:
			withheld++
		default:
			pushed++
		}
	}
	switch {
	case withheld > 0:
		fmt.Fprintf(&b, "The scan gate failed, so no tag was written: the image is in the repository by digest only (uploaded %d of %d layer(s), %s), and the lifecycle policy's untagged rule expires it.\n\n", s.UploadedLayers, s.Layers, units.Bytes(s.UploadedBytes))
	case pushed == 0:
		b.WriteString("Every tag already named this image: nothing was pushed.\n\n")
	case s.Retag:
		fmt.Fprintf(&b, "Retagged in place: %d tag(s) written, no layer moved.\n\n", pushed)
	case s.UploadedLayers == 0:
		fmt.Fprintf(&b, "Every layer was already in the registry; %d tag(s) written.\n\n", pushed)
	default:
		fmt.Fprintf(&b, "Uploaded %d of %d layer(s) (%s); %d tag(s) written", s.UploadedLayers, s.Layers, units.Bytes(s.UploadedBytes), pushed)
		if s.Seconds > 0 {
			fmt.Fprintf(&b, " in %.1f s", s.Seconds)
		}
		b.WriteString(".\n\n")
	}
	fmt.Fprintf(&b, "- Source: %s\n", code(s.Source))
	if len(s.Platforms) > 0 {
		fmt.Fprintf(&b, "- Platforms: %s\n", cellText(strings.Join(s.Platforms, ", ")))
	}
	fmt.Fprintf(&b, "- Size: %s in %d layer(s)\n", units.Bytes(s.Size), s.Layers)
	if !s.Retag && s.UploadedLayers+s.MountedLayers+s.ExistingLayers > 0 {
		fmt.Fprintf(&b, "- Layers: %d uploaded, %d mounted from another repository, %d already in the repository\n", s.UploadedLayers, s.MountedLayers, s.ExistingLayers)
	}
	if s.BlobMounting != "" {
		fmt.Fprintf(&b, "- Blob mounting: %s", cellText(s.BlobMounting))
		if s.BlobMountingFix != "" {
			b.WriteString(" " + code(s.BlobMountingFix))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "- Digest: %s\n", code(s.Digest))
	if s.URI != "" {
		fmt.Fprintf(&b, "- Pin it as: %s\n", code(s.URI))
	}
	if len(s.Tags) == 0 {
		return b.String()
	}
	b.WriteString("\n| Tag | Action | Was |\n|---|---|---|\n")
	for _, t := range s.Tags {
		was := ""
		if t.Previous != "" {
			was = cellCode(t.Previous)
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", cellCode(t.Tag), cellText(tagActionText(t.Action)), was)
	}
	return b.String()
}

// tagActionText is a tag's action as the summary words it.
func tagActionText(a image.TagAction) string {
	if a == image.TagWithheld {
		return "withheld (scan gate failed)"
	}
	return string(a)
}

// cellCode is a code span inside a table cell: GitHub splits cells on '|'
// before it reads code spans, so a '|' is escaped even there.
func cellCode(v string) string {
	return strings.ReplaceAll(code(v), "|", `\|`)
}
