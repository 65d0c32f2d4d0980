package report

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/org/ecr-action/internal/scan"
)

// ScanPlatform is one scanned manifest and the last status ECR gave it.
type ScanPlatform struct {
	Platform    string // "linux/amd64"; "" when unknown
	Digest      string
	Status      string
	Description string // ECR's description of the status; "" when none
}

// ScanSummary is what RenderScan shows. The threshold is the verdict's.
type ScanSummary struct {
	Verdict       scan.Verdict
	Mode          scan.Mode // BASIC or ENHANCED; "" when unknown
	RepositoryURL string    // <registry>/<name>
	Digest        string    // the image or index digest the run pushed
	Platforms     []ScanPlatform
	Waited        time.Duration // how long the action waited for the scan
}

// NewScanSummary builds the summary of a verdict and the result it came
// from; res is nil when the run did not wait for a scan.
func NewScanSummary(v scan.Verdict, res *scan.Result, repositoryURL string) ScanSummary {
	s := ScanSummary{Verdict: v, RepositoryURL: repositoryURL}
	if res == nil {
		return s
	}
	s.Mode, s.Digest, s.Waited = res.Mode, res.Digest, res.Waited
	for _, p := range res.Platforms {
		s.Platforms = append(s.Platforms, ScanPlatform{Platform: p.Platform, Digest: p.Digest, Status: p.Status, Description: p.Description})
	}
	return s
}

// Limits of the scan section. The rows are capped in number, and every part
// stops adding rows once the section reaches its byte budget, so the section
// stays under MaxScanSection whatever the registry returns: the step summary
// is dropped whole past 1 MiB, and it holds other sections too.
const (
	MaxScanSection  = 64 << 10
	maxScanRows     = 50 // findings rows, and ignored lines
	maxScanIDs      = 10 // findings named on one ignored line
	maxScanWarnings = 5

	platformBudget = 24 << 10
	findingsBudget = 48 << 10
	ignoredBudget  = 60 << 10
)

// RenderScan renders the "## Scan" section of the job summary: the verdict
// and why, counts by severity, each platform's status on a multi-platform
// image, the findings that count (worst first) and what was ignored.
func RenderScan(s ScanSummary) string {
	v := s.Verdict
	var b strings.Builder
	b.WriteString("## Scan\n\n")
	word := map[scan.Gate]string{scan.GatePassed: "Passed", scan.GateFailed: "Failed", scan.GateSkipped: "Skipped"}[v.Gate]
	if word == "" {
		word = "Unknown"
	}
	fmt.Fprintf(&b, "**%s**: %s\n\n", word, cellText(clip(v.Reason, 1000)))

	if v.Gate == scan.GateSkipped {
		if s.RepositoryURL != "" {
			fmt.Fprintf(&b, "- Repository: %s\n", code(clip(s.RepositoryURL, 300)))
		}
		if s.Mode != "" {
			fmt.Fprintf(&b, "- Registry scanning: %s\n", modeText(s.Mode))
		}
		return b.String()
	}

	scanDetails(&b, s)
	scanWarnings(&b, v.Warnings)
	platformTable(&b, s.Platforms)

	found := 0
	for _, sev := range scan.Severities() {
		found += v.Found[sev]
	}
	if found == 0 && len(v.Counted) == 0 && len(v.Ignored) == 0 {
		if scan.HasFindings(v.Status) {
			b.WriteString("The scan reported no findings.\n")
		} else {
			b.WriteString("No findings are known.\n")
		}
		return b.String()
	}

	severityTable(&b, v)
	countedFindings(&b, v.Counted, len(s.Platforms) > 1)
	ignoredFindings(&b, v.Ignored)
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// scanDetails writes the list of what was scanned, how, and how long.
func scanDetails(b *strings.Builder, s ScanSummary) {
	v := s.Verdict
	image := s.RepositoryURL
	if s.Digest != "" {
		image += "@" + s.Digest
	}
	if image != "" {
		fmt.Fprintf(b, "- Image: %s\n", code(clip(image, 300)))
	}
	if s.Mode != "" {
		fmt.Fprintf(b, "- Registry scanning: %s\n", modeText(s.Mode))
	}
	if v.Status != "" {
		status := code(clip(v.Status, 60))
		if len(s.Platforms) == 1 && s.Platforms[0].Description != "" {
			status += " (" + cellText(clip(s.Platforms[0].Description, 200)) + ")"
		}
		fmt.Fprintf(b, "- Scan status: %s\n", status)
	}
	if v.Threshold != "" {
		fmt.Fprintf(b, "- fail\\_on\\_severity: %s\n", code(clip(string(v.Threshold), 60)))
	}
	if s.Waited > 0 {
		fmt.Fprintf(b, "- Waited: %s\n", s.Waited.Round(time.Second))
	}
	b.WriteString("\n")

}

// scanWarnings writes the scan's warnings, at most maxScanWarnings.
func scanWarnings(b *strings.Builder, warnings []string) {
	if len(warnings) > 0 {
		b.WriteString("> [!WARNING]\n")
		for i, w := range warnings {
			if i == maxScanWarnings {
				fmt.Fprintf(b, "> - … and %d more (see the log)\n", len(warnings)-i)
				break
			}
			fmt.Fprintf(b, "> - %s\n", cellText(clip(w, 300)))
		}
		b.WriteString("\n")
	}

}

// platformTable writes each platform's scan status, for an index.
func platformTable(b *strings.Builder, platforms []ScanPlatform) {
	if len(platforms) > 1 {
		b.WriteString("| Platform | Digest | Status |\n|---|---|---|\n")
		for i, p := range platforms {
			name := p.Platform
			if name == "" {
				name = "unknown"
			}
			status := cellText(clip(p.Status, 60))
			if p.Description != "" {
				status += ": " + cellText(clip(p.Description, 200))
			}
			row := fmt.Sprintf("| %s | %s | %s |\n", cellText(clip(name, 60)), cellCode(clip(p.Digest, 80)), status)
			if b.Len()+len(row) > platformBudget {
				fmt.Fprintf(b, "\n%d more platforms are not listed.\n", len(platforms)-i)
				break
			}
			b.WriteString(row)
		}
		b.WriteString("\n")
	}

}

// severityTable writes the findings found, ignored and counted by severity.
func severityTable(b *strings.Builder, v scan.Verdict) {
	b.WriteString("| Severity | Found | Ignored | Counted |\n|---|--:|--:|--:|\n")
	var tf, ti, tc int
	for _, sev := range scan.Severities() {
		f, c := v.Found[sev], v.Counts[sev]
		tf, ti, tc = tf+f, ti+f-c, tc+c
		fmt.Fprintf(b, "| %s | %d | %d | %d |\n", sev, f, f-c, c)
	}
	fmt.Fprintf(b, "| **Total** | %d | %d | %d |\n\n", tf, ti, tc)

}

// countedFindings writes the findings that count, within the budget.
func countedFindings(b *strings.Builder, counted []scan.Finding, multi bool) {
	if len(counted) > 0 {
		b.WriteString("### Findings that count\n\n")
		b.WriteString("| ID | Severity | Package | Installed | Fixed |")
		if multi {
			b.WriteString(" Platforms |")
		}
		b.WriteString("\n|---|---|---|---|---|")
		if multi {
			b.WriteString("---|")
		}
		b.WriteString("\n")
		shown := 0
		for _, f := range counted {
			if shown == maxScanRows {
				break
			}
			row := findingRow(f, multi)
			if b.Len()+len(row) > findingsBudget {
				break
			}
			b.WriteString(row)
			shown++
		}
		if n := len(counted) - shown; n > 0 {
			fmt.Fprintf(b, "\n%s not listed here.\n", countNoun(n, "more finding is", "more findings are"))
		}
		b.WriteString("\n")
	}

}

// ignoredFindings writes the ignored findings, grouped by reason, within
// the budget.
func ignoredFindings(b *strings.Builder, ignored []scan.Ignored) {
	if len(ignored) > 0 {
		fmt.Fprintf(b, "**Ignored: %d**\n\n", len(ignored))
		type group struct {
			reason string
			items  []scan.Finding
		}
		var groups []*group
		byReason := map[string]*group{}
		for _, ig := range ignored {
			g := byReason[ig.Reason]
			if g == nil {
				g = &group{reason: ig.Reason}
				byReason[ig.Reason] = g
				groups = append(groups, g)
			}
			g.items = append(g.items, ig.Finding)
		}
		shown := 0
		for _, g := range groups {
			if shown == maxScanRows {
				break
			}
			line := ignoredLine(g.reason, g.items)
			if b.Len()+len(line) > ignoredBudget {
				break
			}
			b.WriteString(line)
			shown++
		}
		if n := len(groups) - shown; n > 0 {
			fmt.Fprintf(b, "- … and %s not listed here.\n", countNoun(n, "more ignore rule", "more ignore rules"))
		}
	}
}

func findingRow(f scan.Finding, multi bool) string {
	id := cellText(clip(f.ID, 80))
	if u := linkURL(f.URI); u != "" {
		id = "[" + id + "](" + u + ")"
	}
	fixed := "—"
	switch {
	case f.FixedVersion != "":
		fixed = cellCode(clip(f.FixedVersion, 40))
	case f.Fix == scan.FixNo:
		fixed = "no fix"
	}
	row := fmt.Sprintf("| %s | %s | %s | %s | %s |", id, cellText(clip(string(f.Severity), 20)),
		cellCode(clip(f.Package, 60)), cellCode(clip(f.InstalledVersion, 40)), fixed)
	if multi {
		p := "—"
		if len(f.Platforms) > 0 {
			p = cellText(clip(strings.Join(f.Platforms, ", "), 80))
		}
		row += " " + p + " |"
	}
	return row + "\n"
}

// ignoredLine is one ignore rule (or ignore_unfixed) and the findings it
// took out, the first maxScanIDs of them named.
func ignoredLine(reason string, fs []scan.Finding) string {
	var b strings.Builder
	fmt.Fprintf(&b, "- %s: %s (", cellText(clip(reason, 200)), countNoun(len(fs), "finding", "findings"))
	for i, f := range fs {
		if i == maxScanIDs {
			fmt.Fprintf(&b, ", and %d more", len(fs)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s in %s", cellText(clip(f.ID, 80)), cellCode(clip(f.Package, 60)))
	}
	b.WriteString(")\n")
	return b.String()
}

func modeText(m scan.Mode) string {
	switch m {
	case scan.Basic:
		return "basic"
	case scan.Enhanced:
		return "enhanced (Amazon Inspector)"
	}
	return cellText(clip(strings.ToLower(string(m)), 40))
}

func countNoun(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// clip shortens v to at most n runes on one line (white space collapsed),
// ending in "…" when cut. Only the first bytes of a long value are read.
func clip(v string, n int) string {
	cut := false
	if limit := 4*n + 16; len(v) > limit { // n runes take at most 4n bytes
		v, cut = v[:limit], true
		for i := 0; i < utf8.UTFMax-1 && !utf8.ValidString(v); i++ {
			v = v[:len(v)-1] // a rune cut in two
		}
	}
	one := strings.Join(strings.Fields(v), " ")
	if cut || utf8.RuneCountInString(one) > n {
		return preview(one, n-1) + "…"
	}
	return one
}

// linkURL returns u for a markdown link when it is a plain http(s) URL of
// reasonable length, with the characters that could end the link or the
// table cell percent-encoded; "" otherwise (the ID is shown without link).
func linkURL(u string) string {
	if u == "" || len(u) > 500 || strings.ContainsAny(u, " \t\r\n<>\"`{}\\^") {
		return ""
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return ""
	}
	return strings.NewReplacer("(", "%28", ")", "%29", "[", "%5B", "]", "%5D", "|", "%7C").Replace(p.String())
}
