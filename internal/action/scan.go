package action

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/org/ecr-action/internal/config"
	"github.com/org/ecr-action/internal/diagnose"
	"github.com/org/ecr-action/internal/image"
	"github.com/org/ecr-action/internal/reconcile"
	"github.com/org/ecr-action/internal/report"
	"github.com/org/ecr-action/internal/scan"
	"github.com/org/ecr-action/internal/scan/ecrscan"
)

// scanOutcome is what the scan step found and decided.
type scanOutcome struct {
	verdict scan.Verdict
	result  *scan.Result // nil when the run did not wait
	mode    scan.Mode
}

// scanTargets lists the manifests ECR scans for an artifact: the image
// itself, or each platform image of an index. Attestation manifests
// (platform unknown/unknown) are not scanned.
func scanTargets(art *image.Artifact, digest string) ([]ecrscan.Target, error) {
	if art.Index == nil {
		t := ecrscan.Target{Digest: digest}
		if len(art.Platforms) == 1 {
			t.Platform = art.Platforms[0]
		}
		return []ecrscan.Target{t}, nil
	}
	im, err := art.Index.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading the image index: %w", err)
	}
	var out []ecrscan.Target
	for _, d := range im.Manifests {
		if !d.MediaType.IsImage() {
			continue
		}
		if d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			continue
		}
		p := ""
		if d.Platform != nil {
			if d.Platform.OS == "unknown" {
				continue
			}
			p = d.Platform.OS + "/" + d.Platform.Architecture
			if d.Platform.Variant != "" {
				p += "/" + d.Platform.Variant
			}
		}
		out = append(out, ecrscan.Target{Platform: p, Digest: d.Digest.String()})
	}
	if len(out) == 0 {
		return nil, errors.New("the image index lists no image to scan")
	}
	return out, nil
}

// scanGate waits for the scan of what was pushed and applies the gate. An
// error of the wait is kept for the end (r.scanErr): the outputs and the
// summary still go out, and the tags are withheld.
func (r *run) scanGate(ctx context.Context) error {
	if r.img == nil {
		return nil
	}
	end := r.wf.Group("Scan")
	r.scan, r.scanErr = r.waitForScan(ctx)
	end()
	if ctx.Err() != nil {
		return r.fail(ctx, diagnose.Scan, ctx.Err())
	}
	return nil
}

// waitForScan waits for the scan of the pushed image, when the inputs and the
// registry say to, and applies the gate. An error is one no wait can fix
// (a denied call, a missing image).
func (r *run) waitForScan(ctx context.Context) (*scanOutcome, error) {
	cfg, wf, repo, img, digest := r.cfg, r.wf, r.repo, r.img, r.img.pushed.Digest
	api := r.client
	sc := cfg.Scan
	if sc.Wait == config.WaitFalse {
		wf.Infof("wait_for_scan is false: the scan gate is skipped")
		return &scanOutcome{verdict: scan.Skipped("wait_for_scan is false.")}, nil
	}
	reg, err := ecrscan.DetectScanning(ctx, api, repo.RegistryID, repo.Name, cfg.ScanOnPush)
	if err != nil {
		return nil, err
	}
	if reg.Note != "" {
		wf.Infof("note: %s", reg.Note)
	}
	line := reg.Line(repo.Name)
	wf.Infof("registry scanning: %s", line)
	var warnings []string
	if cfg.ScanOnPush && !reg.Covered && reg.Rules && reg.Mode == scan.Basic {
		// enable_image_scanning set the repository's flag, which the
		// registry's rules override: drift the action cannot fix.
		warnings = append(warnings, "enable_image_scanning is true but cannot take effect (drift): "+line)
	}
	start := false
	if !reg.Covered {
		switch {
		case reg.Mode == scan.Enhanced && sc.Wait == config.WaitTrue:
			// StartImageScan starts only basic scans: nothing will ever
			// scan this image, so end now rather than at scan_timeout.
			return nil, &diagnose.StepError{Kind: diagnose.ScanGate, Err: fmt.Errorf("wait_for_scan is true, but %s", line)}
		case reg.Mode == scan.Enhanced:
			wf.Warning("Scan", "scan gate skipped: "+line)
			return &scanOutcome{verdict: scan.Skipped(line + ". Set wait_for_scan: false to skip the gate without this warning."), mode: reg.Mode}, nil
		case sc.Wait == config.WaitAuto && !cfg.ScanOnPush:
			why := "the repository does not scan on push (enable_image_scanning is false)"
			wf.Infof("scan gate skipped: %s", why)
			return &scanOutcome{verdict: scan.Skipped(why + "; set wait_for_scan: true to scan anyway."), mode: reg.Mode}, nil
		default:
			// Basic scanning, and a scan was asked for (wait_for_scan: true,
			// or enable_image_scanning overridden by registry rules): start
			// it and gate on it rather than wait for a scan on push that
			// never comes.
			wf.Infof("starting a basic scan (StartImageScan) to gate on, since pushes are not scanned")
			start = true
		}
	}
	targets, err := scanTargets(img.art, digest)
	if err != nil {
		return nil, err
	}
	wf.Infof("waiting up to %s for the scan of %d manifest(s)", sc.Timeout, len(targets))
	res, err := ecrscan.Wait(ctx, api, ecrscan.Options{
		RegistryID: repo.RegistryID,
		Repository: repo.Name,
		Digest:     digest,
		Targets:    targets,
		Scanning:   reg,
		Start:      start,
		// An image this run did not push may predate scan on push.
		StartMissing: img.plan.Retag || !img.plan.Writes(),
		FirstRead:    firstRead(start, img.plan),
		// Tags come after the gate, so the push is by digest alone.
		StartAfter: ecrscan.NoScanStartAfter,
		Timeout:    sc.Timeout,
		Logf:       wf.Infof,
		Clock:      r.clk,
	})
	if err != nil {
		return nil, err
	}
	v := scan.Evaluate(res, scan.Rules{Threshold: sc.Threshold, Ignore: sc.Ignore, IgnoreUnfixed: sc.IgnoreUnfixed, Now: r.clk.Now()})
	v.Warnings = append(warnings, v.Warnings...)
	wf.Infof("scan %s: %d finding(s), %d ignored; gate %s: %s", v.Status, len(v.Counted), len(v.Ignored), v.Gate, v.Reason)
	return &scanOutcome{verdict: v, result: res, mode: reg.Mode}, nil
}

// firstRead is when the wait's first read is due: at once for an image that
// may have been scanned already (a retag, or every tag in place), a second
// in after a push or a scan this run started, which cannot be complete yet.
func firstRead(started bool, plan *image.Plan) time.Duration {
	if started || (plan.Writes() && !plan.Retag) {
		return ecrscan.FreshPushFirstRead
	}
	return 0
}

// scanOutputs are the scan_* and *_count outputs of a verdict.
func scanOutputs(o *scanOutcome, sarifFile string) []output {
	v := o.verdict
	if v.Gate == scan.GateSkipped {
		// Nothing was scanned: zeros would read as "no findings".
		return []output{{"scan_gate", string(v.Gate)}}
	}
	counts := map[string]int{}
	for _, s := range scan.Severities() {
		counts[string(s)] = v.Counts[s]
	}
	js, _ := json.Marshal(counts) // map keys are sorted
	out := []output{
		{"scan_status", v.Status},
		{"scan_gate", string(v.Gate)},
		{"scan_findings", string(js)},
	}
	for _, s := range scan.Severities() {
		out = append(out, output{strings.ToLower(string(s)) + "_count", strconv.Itoa(v.Counts[s])})
	}
	return append(out, output{"sarif_file", sarifFile})
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory, creating the directory.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".ecr-action-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// runURL is the link to this workflow run, from the runner's variables.
func runURL(getenv func(string) string) string {
	server, repo, id := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_REPOSITORY"), getenv("GITHUB_RUN_ID")
	if server == "" || repo == "" || id == "" {
		return ""
	}
	u := server + "/" + repo + "/actions/runs/" + id
	if a := getenv("GITHUB_RUN_ATTEMPT"); a != "" && a != "1" {
		u += "/attempts/" + a
	}
	return u
}

// workflowFile is the path of the running workflow in its repository
// (GITHUB_WORKFLOW_REF is owner/repo/path@ref), where SARIF results point.
func workflowFile(getenv func(string) string) string {
	ref := getenv("GITHUB_WORKFLOW_REF")
	p, _, _ := strings.Cut(ref, "@")
	if repo := getenv("GITHUB_REPOSITORY"); repo != "" {
		if rest, ok := strings.CutPrefix(p, repo+"/"); ok {
			return rest
		}
	}
	if i := strings.Index(p, ".github/workflows/"); i >= 0 {
		return p[i:]
	}
	return ""
}

// maxGateFindings is how many findings the failed-gate annotation names.
const maxGateFindings = 5

// gateMessage is the failed gate's annotation: why, the worst findings that
// block, and how to accept one.
func gateMessage(v scan.Verdict) string {
	var b strings.Builder
	b.WriteString("The scan gate failed: " + v.Reason)
	var blocking []scan.Finding
	for _, f := range v.Counted {
		if v.Threshold != scan.None && f.Severity.Rank() >= v.Threshold.Rank() {
			blocking = append(blocking, f)
		}
	}
	for i, f := range blocking {
		if i == maxGateFindings {
			fmt.Fprintf(&b, "\n… and %d more (see the job summary)", len(blocking)-maxGateFindings)
			break
		}
		fmt.Fprintf(&b, "\n- %s %s in %s %s", f.ID, f.Severity, f.Package, f.InstalledVersion)
		if f.FixedVersion != "" {
			fmt.Fprintf(&b, " (fixed in %s)", f.FixedVersion)
		}
	}
	if len(blocking) > 0 {
		b.WriteString("\nUpdate the affected packages (rebuild on a patched base image), or accept a finding by adding its ID to ignore_vulnerabilities, with until YYYY-MM-DD to review it later.")
	} else {
		b.WriteString("\nSet fail_on_severity: NONE to report without gating, or re-run once the scan can finish.")
	}
	return b.String()
}

// writeSARIF writes sarif_file when it is set and the scan gave a complete
// list of findings, and returns the path for the sarif_file output ("" when
// none was written: uploading a log of an unfinished scan would close
// alerts the scan could not confirm).
func writeSARIF(wf *report.Workflow, cfg *config.Config, o *scanOutcome, img *report.ImageSummary, getenv func(string) string, version string) (string, error) {
	if cfg.Scan.SARIFPath == "" || img == nil {
		return "", nil
	}
	if o.result == nil || o.result.TimedOut || !scan.HasFindings(o.verdict.Status) {
		wf.Infof("sarif_file: not written, as the scan gave no complete list of findings (%s)", o.verdict.Gate)
		return "", nil
	}
	var buf bytes.Buffer
	err := scan.WriteSARIF(&buf, scan.SARIFInput{
		Verdict:     o.verdict,
		Image:       img.URI,
		Repository:  o.result.Repository,
		ToolVersion: version,
		Path:        workflowFile(getenv),
	})
	if err != nil {
		return "", err
	}
	if err := writeFileAtomic(cfg.Scan.SARIFPath, buf.Bytes()); err != nil {
		return "", fmt.Errorf("writing sarif_file %s: %w", cfg.Scan.SARIFFile, err)
	}
	wf.Infof("sarif_file: %d finding(s) written to %s", len(o.verdict.Counted)+len(o.verdict.Ignored), cfg.Scan.SARIFFile)
	return cfg.Scan.SARIFFile, nil
}

// renderScan is the summary's "Scan" section.
func renderScan(o *scanOutcome, repo reconcile.Repository) string {
	s := report.NewScanSummary(o.verdict, o.result, repo.URI)
	if s.Mode == "" {
		s.Mode = o.mode
	}
	return report.RenderScan(s)
}

// scanPassed reports whether the scan gate lets the tags be written.
func (r *run) scanPassed() bool {
	return r.scanErr == nil && r.scan != nil && r.scan.verdict.Gate != scan.GateFailed
}
