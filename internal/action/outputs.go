package action

import (
	"context"
	"fmt"
	"strings"

	"github.com/org/ecr-action/internal/diagnose"
	"github.com/org/ecr-action/internal/image"
	"github.com/org/ecr-action/internal/reconcile"
	"github.com/org/ecr-action/internal/report"
	"github.com/org/ecr-action/internal/scan"
	"github.com/org/ecr-action/internal/settle"
)

// repository reads the repository and writes what differs from the inputs.
func (r *run) repository(ctx context.Context) error {
	end := r.wf.Group("Repository " + r.cfg.Repository)
	res, err := reconcile.ReconcileWith(ctx, r.client, desiredRepository(r.cfg), reconcile.Options{Settle: settle.Policy{Clock: r.clk}})
	r.res = res
	if res != nil {
		for _, c := range res.Changes {
			r.wf.Infof("%-20s %-10s desired: %s", c.Setting, c.Action, c.Desired)
		}
	}
	end()
	if err != nil {
		return r.fail(ctx, diagnose.Reconcile, err)
	}
	for _, d := range res.Drift {
		r.wf.Warning("Encryption drift", d)
	}
	for _, n := range res.Notes {
		r.wf.Infof("note: %s", n)
	}
	if res.Settled > 0 {
		r.wf.Infof("calls waited %.1f s in all for the new repository to appear (ECR answered RepositoryNotFoundException right after the create; the calls were retried)", res.Settled.Seconds())
	}
	if res.Writes == 0 {
		r.wf.Infof("repository %s is up to date: no write calls", res.Repository.Name)
	} else {
		r.wf.Infof("repository %s reconciled with %d write call(s)", res.Repository.Name, res.Writes)
	}
	r.repo = res.Repository
	return nil
}

type output struct{ name, value string }

// outputs writes the SARIF file and the scan log, then sets the step's
// outputs. Failures of the first two are kept for the end: the image is in
// the repository either way, and the outputs say where.
func (r *run) outputs(ctx context.Context) error {
	r.sum = r.imageSummary()
	sarifFile := ""
	if r.scan != nil {
		for _, w := range r.scan.verdict.Warnings {
			r.wf.Warning("Scan", w)
		}
		var err error
		sarifFile, err = writeSARIF(r.wf, r.cfg, r.scan, r.sum, r.getenv, r.env.Version)
		if err != nil {
			r.late = append(r.late, failure{"SARIF report", err.Error()})
		}
		if r.gates.stopsWrites() {
			r.wf.Infof("the scan result is not logged: the signing gate ended on an error, and the run writes nothing more")
		} else if err := r.logScan(ctx); err != nil {
			title, msg := diagnose.Failure(diagnose.ScanLog, err, ctx.Err() != nil, diagnose.Facts{})
			r.late = append(r.late, failure{title, msg})
		}
	}
	// The replication gate, before the outputs: they name each replica.
	if r.sum != nil {
		r.gates.replication(ctx, r.clk, r.wf, r.client, r.sum.Digest, r.tagged)
		r.late = append(r.late, r.gates.failures(ctx, r.sum.Digest)...)
	}
	for _, o := range r.outputList(sarifFile) {
		if err := r.wf.SetOutput(o.name, o.value); err != nil {
			return &failure{"Outputs", fmt.Sprintf("setting output %s: %v", o.name, err)}
		}
	}
	return nil
}

// outputList is every output of the run, in the order they are set.
func (r *run) outputList(sarifFile string) []output {
	repo := r.repo
	out := []output{
		{"repository_url", repo.URI},
		{"repository_arn", repo.ARN},
		{"repository_name", repo.Name},
		{"registry_id", repo.RegistryID},
		{"repository_registry_url", repo.RegistryURL()},
	}
	if sum := r.sum; sum != nil {
		var tags, uris []string
		for _, t := range sum.Tags {
			if t.Action == image.TagWithheld {
				continue
			}
			tags = append(tags, t.Tag)
			uris = append(uris, t.URI)
		}
		out = append(out,
			output{"image_digest", sum.Digest},
			output{"image_uri", sum.URI},
			output{"image_tags", strings.Join(tags, ",")},
			output{"image_uris", strings.Join(uris, "\n")},
		)
		var sbomDigest, provDigest string
		if r.img.attest != nil {
			sbomDigest, provDigest = sbomOutput(r.img.referrers, r.img.art.Index != nil), provenanceOutput(r.img.referrers)
		}
		out = append(out, output{"sbom_digest", sbomDigest}, output{"provenance_digest", provDigest})
	}
	if r.scan != nil {
		out = append(out, scanOutputs(r.scan, sarifFile)...)
	} else if r.img == nil {
		out = append(out, output{"scan_gate", string(scan.GateSkipped)})
	}
	if r.gates != nil { // skipped, with no image
		out = append(out, r.gates.outputs()...)
	}
	return out
}

// summary appends the job summary: the repository, then the image, its
// referrers and its scan.
func (r *run) summary(context.Context) error {
	res := r.res
	rows := make([]report.Row, len(res.Changes))
	for i, c := range res.Changes {
		rows[i] = report.Row{Setting: c.Setting, Desired: c.Desired, Found: c.Found, Action: c.Action}
	}
	s := report.RenderRepository(report.RepositorySummary{
		Name: r.repo.Name, URI: r.repo.URI, ARN: r.repo.ARN, Created: res.Created, Rows: rows, WriteCalls: res.Writes,
	})
	if r.sum != nil {
		s += "\n" + report.RenderImage(*r.sum)
	}
	if r.img != nil && len(r.img.referrers) > 0 {
		s += "\n" + report.RenderReferrers(r.img.referrers, signingNote)
	}
	if r.scan != nil {
		s += "\n" + renderScan(r.scan, r.repo)
	}
	if r.gates != nil {
		if g := r.gates.summary(); g != "" {
			s += "\n" + g
		}
	}
	if err := r.wf.AppendSummary(s); err != nil {
		return &failure{"Job summary", err.Error()}
	}
	return nil
}
