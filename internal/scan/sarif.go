package scan

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/org/ecr-action/internal/markdown"
)

// SARIF log constants. GitHub code scanning reads SARIF 2.1.0 and wants the
// schemastore URL in $schema.
const (
	SARIFSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	SARIFVersion = "2.1.0"
	// SARIFToolName is tool.driver.name: code scanning filters alerts by it.
	SARIFToolName = "ecr-action"
	// SARIFInformationURI is tool.driver.informationUri.
	SARIFInformationURI = "https://github.com/org/ecr-action"
	// SARIFFingerprintKey names the result's partialFingerprints entry. It
	// is deliberately not primaryLocationLineHash: upload-sarif computes that
	// one from the file the result points at, and warns once per result
	// whose supplied value differs from what it computed.
	SARIFFingerprintKey = "ecrActionFinding/v1"
	// SARIFDefaultPath is where results point when SARIFInput.Path is "".
	SARIFDefaultPath = "Dockerfile"
	// SARIFMaxResults is GitHub's limit of results per run: a run with more
	// is rejected. The worst findings are kept.
	SARIFMaxResults = 25000
)

// sarifMaxDescription is GitHub's limit on a rule's shortDescription and
// fullDescription (1024 characters); descriptions in help are cut to the
// same length to keep the log small.
const sarifMaxDescription = 1024

// SARIFInput is what WriteSARIF reports.
type SARIFInput struct {
	// Verdict supplies the findings: Counted become results, Ignored become
	// results with an external suppression (shown as dismissed).
	Verdict Verdict
	// Image is the image pinned by digest: <repository-url>@sha256:….
	Image string
	// Repository is the ECR repository name; with each finding's ID,
	// package and installed version it makes the result's fingerprint.
	Repository string
	// ToolVersion is tool.driver.version; "" leaves it out.
	ToolVersion string
	// Path is the file every result points at, relative to the root of the
	// GitHub repository with '/' separators (the workflow file or the
	// Dockerfile): code scanning shows an alert only at a file location.
	// "" is SARIFDefaultPath.
	Path string
}

// WriteSARIF writes the findings as a SARIF 2.1.0 log for
// github/codeql-action/upload-sarif: one run, one rule per vulnerability ID,
// one result per finding that counts, and one suppressed result per ignored
// finding. Results are worst first, rules sorted by ID, and nothing depends
// on the clock, so the same input gives the same bytes.
//
// When the verdict holds no complete list of findings (skipped, timed out,
// a scan that did not finish), the log says so with executionSuccessful
// false and a notification, next to whatever findings are known: uploading
// it would close alerts the scan could not confirm, so callers may choose
// not to upload such a log.
func WriteSARIF(w io.Writer, in SARIFInput) error {
	loc, err := sarifPath(in.Path)
	if err != nil {
		return err
	}
	log := buildSARIF(in, loc)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(log); err != nil {
		return fmt.Errorf("writing the SARIF report: %w", err)
	}
	return nil
}

// sarifPath checks that p is a relative path inside the repository and
// returns it as a URI reference.
func sarifPath(p string) (string, error) {
	if p == "" {
		p = SARIFDefaultPath
	}
	p = strings.ReplaceAll(p, `\`, "/")
	clean := path.Clean(p)
	if path.IsAbs(clean) || clean == "." || clean == ".." || strings.HasPrefix(clean, "../") || strings.Contains(p, "://") || strings.ContainsAny(p, "\x00\r\n") {
		return "", fmt.Errorf("SARIF location %q: want a file path relative to the repository root, such as Dockerfile or .github/workflows/deploy.yml", p)
	}
	return (&url.URL{Path: clean}).String(), nil
}

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Invocations []sarifInvocation `json:"invocations"`
	Results     []sarifResult     `json:"results"`
	Properties  map[string]any    `json:"properties,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Version        string      `json:"version,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifHelp struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	HelpURI              string         `json:"helpUri,omitempty"`
	Help                 sarifHelp      `json:"help"`
	DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
	Properties           sarifRuleProps `json:"properties"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifRuleProps struct {
	SecuritySeverity string   `json:"security-severity"`
	Tags             []string `json:"tags"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool                `json:"executionSuccessful"`
	Notifications       []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level   string    `json:"level"`
	Message sarifText `json:"message"`
}

type sarifResult struct {
	RuleID              string             `json:"ruleId"`
	RuleIndex           int                `json:"ruleIndex"`
	Level               string             `json:"level"`
	Message             sarifText          `json:"message"`
	Locations           []sarifLocation    `json:"locations"`
	PartialFingerprints map[string]string  `json:"partialFingerprints"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
	Properties          sarifResultProps   `json:"properties"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	Justification string `json:"justification"`
}

type sarifResultProps struct {
	Severity         Severity `json:"severity"`
	Package          string   `json:"package"`
	InstalledVersion string   `json:"installedVersion"`
	FixedVersion     string   `json:"fixedVersion,omitempty"`
	Fix              Fix      `json:"fixAvailable,omitempty"`
	Platforms        []string `json:"platforms,omitempty"`
}

// sarifEntry is a finding on its way to a result, with the ignore reason
// of a suppressed one.
type sarifEntry struct {
	f      Finding
	reason string // "" for a finding that counts
}

func buildSARIF(in SARIFInput, loc string) sarifLog {
	v := in.Verdict
	entries := make([]sarifEntry, 0, len(v.Counted)+len(v.Ignored))
	for _, f := range v.Counted {
		entries = append(entries, sarifEntry{f: f})
	}
	ignored := make([]sarifEntry, 0, len(v.Ignored))
	for _, ig := range v.Ignored {
		ignored = append(ignored, sarifEntry{f: ig.Finding, reason: ig.Reason})
	}
	sortEntries(entries)
	sortEntries(ignored)
	entries = append(entries, ignored...)
	truncated := 0
	if len(entries) > SARIFMaxResults {
		// Counted findings come first, so ignored ones go before any
		// finding that counts.
		truncated = len(entries) - SARIFMaxResults
		entries = entries[:SARIFMaxResults]
	}

	// One rule per ID, described by its worst finding and listing every
	// package it was found in.
	byID := map[string][]Finding{}
	for _, e := range entries {
		byID[e.f.ID] = append(byID[e.f.ID], e.f)
	}
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	rules := make([]sarifRule, len(ids))
	index := make(map[string]int, len(ids))
	for i, id := range ids {
		rules[i] = sarifRuleFor(id, byID[id])
		index[id] = i
	}

	results := make([]sarifResult, len(entries))
	for i, e := range entries {
		results[i] = sarifResultFor(in, loc, e, index[e.f.ID])
	}

	inv := sarifInvocation{ExecutionSuccessful: HasFindings(v.Status) && v.Gate != GateSkipped}
	if !inv.ExecutionSuccessful {
		level, msg := "warning", "The scan's findings are incomplete: "+v.Reason
		switch v.Gate {
		case GateFailed:
			level, msg = "error", "The scan gate failed: "+v.Reason
		case GateSkipped:
			msg = "The scan was skipped: " + v.Reason
		case "":
			msg = "The scan has no complete list of findings."
		}
		inv.Notifications = append(inv.Notifications, sarifNotification{Level: level, Message: sarifText{Text: msg}})
	}
	if truncated > 0 {
		inv.Notifications = append(inv.Notifications, sarifNotification{Level: "warning", Message: sarifText{
			Text: fmt.Sprintf("%d findings are left out: code scanning accepts at most %d results per run; the worst are kept.", truncated, SARIFMaxResults),
		}})
	}

	props := map[string]any{}
	if in.Image != "" {
		props["image"] = in.Image
	}
	if in.Repository != "" {
		props["repository"] = in.Repository
	}
	if v.Gate != "" {
		props["gate"] = string(v.Gate)
	}
	if v.Status != "" {
		props["scanStatus"] = v.Status
	}
	if v.Threshold != "" {
		props["failOnSeverity"] = string(v.Threshold)
	}
	if len(props) == 0 {
		props = nil
	}

	return sarifLog{
		Schema:  SARIFSchema,
		Version: SARIFVersion,
		Runs: []sarifRun{{
			Tool: sarifTool{Driver: sarifDriver{
				Name:           SARIFToolName,
				InformationURI: SARIFInformationURI,
				Version:        in.ToolVersion,
				Rules:          rules,
			}},
			Invocations: []sarifInvocation{inv},
			Results:     results,
			Properties:  props,
		}},
	}
}

// sortEntries orders entries worst first, like SortFindings, then by
// installed version and platforms, so equal findings keep one order.
func sortEntries(es []sarifEntry) {
	slices.SortStableFunc(es, func(a, b sarifEntry) int {
		return cmp.Or(
			cmp.Compare(b.f.Severity.Rank(), a.f.Severity.Rank()),
			cmp.Compare(b.f.Score, a.f.Score),
			strings.Compare(a.f.ID, b.f.ID),
			strings.Compare(a.f.Package, b.f.Package),
			strings.Compare(a.f.InstalledVersion, b.f.InstalledVersion),
			strings.Compare(strings.Join(a.f.Platforms, ","), strings.Join(b.f.Platforms, ",")),
			strings.Compare(a.reason, b.reason),
		)
	})
}

func sarifRuleFor(id string, fs []Finding) sarifRule {
	worst := fs[0]
	for _, f := range fs[1:] {
		if f.Severity.Rank() > worst.Severity.Rank() || (f.Severity == worst.Severity && f.Score > worst.Score) {
			worst = f
		}
	}
	sev := worst.Severity
	if sev.Rank() == 0 {
		sev = Undefined
	}
	var pkgs []string
	for _, f := range fs {
		if f.Package != "" && !slices.Contains(pkgs, f.Package) {
			pkgs = append(pkgs, f.Package)
		}
	}
	short := fmt.Sprintf("%s (%s)", id, sev)
	switch len(pkgs) {
	case 0:
	case 1:
		short += " in " + pkgs[0]
	case 2:
		short += fmt.Sprintf(" in %s and 1 more package", pkgs[0])
	default:
		short += fmt.Sprintf(" in %s and %d more packages", pkgs[0], len(pkgs)-1)
	}
	desc := ""
	for _, f := range fs {
		if d := strings.TrimSpace(f.Description); d != "" {
			desc = d
			break
		}
	}
	full := desc
	if full == "" {
		full = short + "."
	}
	link := helpURI(worst.URI)
	if link == "" {
		for _, f := range fs {
			if link = helpURI(f.URI); link != "" {
				break
			}
		}
	}

	return sarifRule{
		ID:                   id,
		ShortDescription:     sarifText{Text: clipText(short, sarifMaxDescription)},
		FullDescription:      sarifText{Text: clipText(full, sarifMaxDescription)},
		HelpURI:              link,
		Help:                 sarifRuleHelp(id, sev, clipText(desc, sarifMaxDescription), link, fs),
		DefaultConfiguration: sarifConfig{Level: sarifLevel(sev)},
		Properties: sarifRuleProps{
			SecuritySeverity: securitySeverity(sev, worst.Score),
			Tags:             []string{"security", "vulnerability", strings.ToLower(string(sev))},
		},
	}
}

// sarifMaxHelpPackages caps the package lines in a rule's help.
const sarifMaxHelpPackages = 50

func sarifRuleHelp(id string, sev Severity, desc, link string, fs []Finding) sarifHelp {
	var text, md strings.Builder
	fmt.Fprintf(&text, "%s (%s)\n", id, sev)
	fmt.Fprintf(&md, "**%s** (%s)\n", markdown.Line(id), sev)
	if desc != "" {
		fmt.Fprintf(&text, "\n%s\n", desc)
		fmt.Fprintf(&md, "\n%s\n", markdown.Line(desc))
	}
	text.WriteString("\n")
	md.WriteString("\n| Package | Installed | Fixed in | Platforms |\n| --- | --- | --- | --- |\n")
	for i, f := range fs {
		if i == sarifMaxHelpPackages {
			fmt.Fprintf(&text, "… and %d more\n", len(fs)-i)
			fmt.Fprintf(&md, "\n… and %d more\n", len(fs)-i)
			break
		}
		platforms := strings.Join(f.Platforms, ", ")
		fmt.Fprintf(&text, "Package: %s, installed: %s, fixed in: %s", orNone(f.Package), orNone(f.InstalledVersion), fixedText(f))
		if platforms != "" {
			fmt.Fprintf(&text, ", platforms: %s", platforms)
		}
		text.WriteString("\n")
		fmt.Fprintf(&md, "| %s | %s | %s | %s |\n", markdown.Line(orNone(f.Package)), markdown.Line(orNone(f.InstalledVersion)), markdown.Line(fixedText(f)), markdown.Line(orNone(platforms)))
	}
	if link != "" {
		fmt.Fprintf(&text, "\nMore: %s\n", link)
		fmt.Fprintf(&md, "\nMore: [%s](%s)\n", markdown.Line(id), strings.NewReplacer("(", "%28", ")", "%29").Replace(link))
	}
	return sarifHelp{Text: text.String(), Markdown: md.String()}
}

func sarifResultFor(in SARIFInput, loc string, e sarifEntry, ruleIndex int) sarifResult {
	f := e.f
	sev := f.Severity
	if sev.Rank() == 0 {
		sev = Undefined
	}
	msg := fmt.Sprintf("%s (%s) in %s %s", f.ID, sev, orNone(f.Package), orNone(f.InstalledVersion))
	switch {
	case f.FixedVersion != "":
		msg += " → " + f.FixedVersion
	case f.Fix == FixNo:
		msg += " (no fix available)"
	default:
		msg += " (fixed version unknown)"
	}
	msg += "."
	if len(f.Platforms) > 0 {
		msg += " Platforms: " + strings.Join(f.Platforms, ", ") + "."
	}
	if in.Image != "" {
		msg += " Image: " + in.Image + "."
	}
	if e.reason != "" {
		msg += " Ignored by " + e.reason + "."
	}
	r := sarifResult{
		RuleID:    f.ID,
		RuleIndex: ruleIndex,
		Level:     sarifLevel(sev),
		Message:   sarifText{Text: msg},
		Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{
			ArtifactLocation: sarifArtifact{URI: loc},
			Region:           sarifRegion{StartLine: 1},
		}}},
		PartialFingerprints: map[string]string{SARIFFingerprintKey: fingerprint(in.Repository, f)},
		Properties: sarifResultProps{
			Severity:         sev,
			Package:          f.Package,
			InstalledVersion: f.InstalledVersion,
			FixedVersion:     f.FixedVersion,
			Fix:              f.Fix,
			Platforms:        f.Platforms,
		},
	}
	if e.reason != "" {
		r.Suppressions = []sarifSuppression{{Kind: "external", Status: "accepted", Justification: e.reason}}
	}
	return r
}

// fingerprint identifies a finding of a repository across runs: a SHA-256
// of the repository name, the vulnerability ID (in upper case), the package
// and the installed version. The image digest and platforms are left out,
// so a rebuilt image with the same vulnerable package keeps its alert.
func fingerprint(repository string, f Finding) string {
	h := sha256.New()
	for _, part := range []string{repository, strings.ToUpper(f.ID), f.Package, f.InstalledVersion} {
		h.Write([]byte(strconv.Itoa(len(part))))
		h.Write([]byte{':'})
		h.Write([]byte(part))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// securitySeverity is the security-severity GitHub ranks an alert by: the
// finding's score when it has one (0 < score ≤ 10), otherwise a value in
// the band GitHub maps to the severity (critical ≥ 9.0, high 7.0–8.9,
// medium 4.0–6.9, low 0.1–3.9; 0.0 is none).
func securitySeverity(s Severity, score float64) string {
	if score > 0 && score <= 10 {
		return strconv.FormatFloat(score, 'f', 1, 64)
	}
	switch s {
	case Critical:
		return "9.5"
	case High:
		return "8.0"
	case Medium:
		return "5.5"
	case Low:
		return "2.0"
	}
	return "0.0"
}

// sarifLevel is the SARIF level of a severity: error for CRITICAL and HIGH,
// warning for MEDIUM, note otherwise.
func sarifLevel(s Severity) string {
	switch s {
	case Critical, High:
		return "error"
	case Medium:
		return "warning"
	}
	return "note"
}

// helpURI returns u when it is an absolute http(s) URL, "" otherwise: the
// schema wants a URI in helpUri, and a registry's odd value is better left
// out than making the log invalid.
func helpURI(u string) string {
	if u == "" || len(u) > 2048 || strings.ContainsAny(u, " \t\r\n<>\"`{}|\\^") {
		return ""
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return ""
	}
	return p.String()
}

func fixedText(f Finding) string {
	switch {
	case f.FixedVersion != "":
		return f.FixedVersion
	case f.Fix == FixNo:
		return "no fix"
	}
	return "—"
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// clipText cuts s to at most n runes, ending in "…" when cut.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	rs := []rune(s)
	if len(rs) <= n {
		return s
	}
	return string(rs[:n-1]) + "…"
}
