package report

import (
	"fmt"
	"strings"
)

// Referrer is one document attached to the pushed image as an OCI referrer.
type Referrer struct {
	Kind     string // "SBOM" or "Provenance"
	Platform string // the platform of the manifest it refers to; "" for the image or index as a whole
	Subject  string // the digest of the manifest it refers to
	Digest   string // the referrer's manifest digest
	// Existing: the image already had a referrer of this kind (a re-run),
	// so none was pushed; Digest is the one found.
	Existing bool
	Detail   string // "212 packages, 1 Go binary (34 modules)"
}

// RenderReferrers renders the "## SBOM and provenance" section of the job
// summary: each document attached to the image, its digest and whether this
// run pushed it. note follows the table (how to sign, what was skipped).
func RenderReferrers(rs []Referrer, note string) string {
	if len(rs) == 0 && note == "" {
		return ""
	}
	var b strings.Builder
	b.WriteString("## SBOM and provenance\n\n")
	if len(rs) > 0 {
		b.WriteString("| Document | Platform | Referrer digest | Action | Contents |\n|---|---|---|---|---|\n")
		for _, r := range rs {
			action := "attached"
			if r.Existing {
				action = "already attached"
			}
			platform := r.Platform
			if platform == "" {
				platform = "all"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", cellText(r.Kind), cellText(platform), cellCode(r.Digest), action, cellText(r.Detail))
		}
	}
	if note != "" {
		if len(rs) > 0 {
			b.WriteString("\n")
		}
		b.WriteString(note + "\n")
	}
	return b.String()
}
