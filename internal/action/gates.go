package action

// The signing and replication gates (internal/gates), wired into the run
// with four calls:
//
//  1. checkGates (the gateSetup phase), before the first write: the registry must be set up for
//     each gate the inputs ask for (a signing configuration with a rule for
//     the repository; a replication rule for it), else nothing is changed.
//  2. gateRun.signature, after the scan gate passes and before the tags: a
//     signature that fails or does not come in time withholds every tag
//     (the image stays in the repository by digest only).
//  3. gateRun.replication, after the tags and the scan log, before the
//     outputs: waits for every destination, then the outputs give each
//     replicated image's URI. A failure fails the step, outputs set.
//  4. gateRun.outputs, gateRun.summary and gateRun.failures feed the
//     outputs, the job summary and the step's late failures.

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/org/ecr-action/internal/clock"
	"github.com/org/ecr-action/internal/config"
	"github.com/org/ecr-action/internal/diagnose"
	"github.com/org/ecr-action/internal/gates"
	"github.com/org/ecr-action/internal/report"
)

// gateRun is the state of the run's signing and replication gates.
type gateRun struct {
	cfg        config.Gates
	repository string
	profiles   []string            // signing profiles covering the repository
	dests      []gates.Destination // replication destinations of the repository

	sig        *gates.SigningResult
	sigErr     error
	sigSkipped string // why the signature was not waited for, when required

	repl        *gates.ReplicationResult
	replErr     error
	replSkipped string
}

// checkGates reads the registry's signing and replication configuration
// for the gates the inputs ask for. Call it before the first write; an
// error means the run must stop with nothing changed.
func checkGates(ctx context.Context, wf *report.Workflow, cfg *config.Config, client *ecr.Client) (*gateRun, error) {
	g := &gateRun{cfg: cfg.Gates, repository: cfg.Repository}
	if cfg.Image == nil || (!g.cfg.RequireSignature && !g.cfg.WaitForReplication) {
		return g, nil
	}
	if g.cfg.RequireSignature {
		profiles, err := gates.CheckSigning(ctx, client, cfg.Repository)
		if err != nil {
			kind := diagnose.SigningGate
			if errors.As(err, new(*gates.SigningSetupError)) {
				kind = diagnose.SigningSetup
			}
			return nil, &diagnose.StepError{Kind: kind, Err: err}
		}
		g.profiles = profiles
		wf.Infof("require_signature: ECR managed signing covers %s with %s", cfg.Repository, strings.Join(profiles, ", "))
	}
	if g.cfg.WaitForReplication {
		dests, err := gates.CheckReplication(ctx, client, cfg.Repository)
		if err != nil {
			kind := diagnose.ReplicationGate
			if errors.As(err, new(*gates.ReplicationSetupError)) {
				kind = diagnose.ReplicationSetup
			}
			return nil, &diagnose.StepError{Kind: kind, Err: err}
		}
		g.dests = dests
		var names []string
		for _, d := range dests {
			names = append(names, d.String())
		}
		wf.Infof("wait_for_replication: ECR replicates %s to %s", cfg.Repository, strings.Join(names, ", "))
	}
	return g, nil
}

// signature runs the signing gate, when require_signature asks for it.
// scanPassed false (the scan gate failed or could not decide) skips the
// wait: no tag is written either way.
func (g *gateRun) signature(ctx context.Context, clk clock.Clock, wf *report.Workflow, client *ecr.Client, digest string, scanPassed bool) {
	if !g.cfg.RequireSignature {
		return
	}
	if !scanPassed {
		g.sigSkipped = "the scan gate did not pass"
		return
	}
	end := wf.Group("Signature")
	defer end()
	g.sig, g.sigErr = gates.WaitSigned(ctx, client, gates.SigningOptions{
		Repository: g.repository, Digest: digest, Profiles: g.profiles,
		Pace: gates.Pace{Timeout: g.cfg.SignatureTimeout, Clock: clk},
		Logf: wf.Infof,
	})
	if g.sigErr == nil {
		wf.Infof("signature of %s: %s after %.1f s", digest, g.sig.Outcome, g.sig.Waited.Seconds())
	}
}

// signed reports whether the signing gate lets the tags be written: true
// when require_signature is false or the image is signed.
func (g *gateRun) signed() bool {
	return !g.cfg.RequireSignature || (g.sigErr == nil && g.sig != nil && g.sig.Outcome == gates.SignatureSigned)
}

// stopsWrites reports whether a gate ended on an error (a permission
// denied, a cancel): the run then writes nothing more, the scan log
// included.
func (g *gateRun) stopsWrites() bool { return g != nil && g.sigErr != nil }

// withheld says why no tag was written, for the log.
func (g *gateRun) withheld(scanPassed bool) string {
	if !scanPassed || g == nil {
		return "the scan gate did not pass"
	}
	return "the signing gate did not pass"
}

// replication runs the replication gate once the tags are in place.
func (g *gateRun) replication(ctx context.Context, clk clock.Clock, wf *report.Workflow, client *ecr.Client, digest string, tagsWritten bool) {
	if !g.cfg.WaitForReplication {
		return
	}
	if !tagsWritten {
		g.replSkipped = "no tag was written"
		return
	}
	end := wf.Group("Replication")
	defer end()
	g.repl, g.replErr = gates.WaitReplicated(ctx, client, gates.ReplicationOptions{
		Repository: g.repository, Digest: digest, Destinations: g.dests,
		Pace: gates.Pace{Timeout: g.cfg.ReplicationTimeout, Clock: clk},
		Logf: wf.Infof,
	})
	if g.replErr == nil {
		wf.Infof("replication of %s: %d of %d destination(s) complete after %.1f s", digest, len(g.repl.Complete()), len(g.repl.Destinations), g.repl.Waited.Seconds())
	}
}

func (g *gateRun) signatureStatus() string {
	switch {
	case !g.cfg.RequireSignature || g.sigSkipped != "":
		return gates.SignatureSkipped
	case g.sigErr != nil:
		return gates.SignatureFailed
	}
	return g.sig.Outcome
}

func (g *gateRun) replicationStatus() string {
	switch {
	case !g.cfg.WaitForReplication || g.replSkipped != "":
		return gates.ReplicationSkipped
	case g.replErr != nil:
		return gates.ReplicationFailed
	}
	return g.repl.Outcome()
}

// outputs are signature_status, replication_status and
// replicated_image_uris (one per line, each pinned by digest).
func (g *gateRun) outputs() []output {
	var uris []string
	if g.repl != nil {
		for _, d := range g.repl.Complete() {
			uris = append(uris, d.URI)
		}
	}
	return []output{
		{"signature_status", g.signatureStatus()},
		{"replication_status", g.replicationStatus()},
		{"replicated_image_uris", strings.Join(uris, "\n")},
	}
}

// failures are the gates' reasons to fail the step; digest is the pushed
// image's. A cancel during the signing wait never gets here: signingGate
// ends the run at once.
func (g *gateRun) failures(ctx context.Context, digest string) []failure {
	var out []failure
	switch {
	case g.sigErr != nil:
		title, msg := diagnose.Failure(diagnose.Signing, g.sigErr, false, diagnose.Facts{Digest: digest})
		out = append(out, failure{title, msg})
	case g.sig != nil && g.sig.Outcome != gates.SignatureSigned:
		title, msg := diagnose.SignatureOutcome(g.sig, g.cfg.SignatureTimeout)
		out = append(out, failure{title, msg})
	}
	switch {
	case g.replErr != nil:
		title, msg := diagnose.Failure(diagnose.Replication, g.replErr, ctx.Err() != nil, diagnose.Facts{Digest: digest})
		out = append(out, failure{title, msg})
	case g.repl != nil && !g.repl.OK():
		title, msg := diagnose.ReplicationOutcome(g.repl, g.cfg.ReplicationTimeout)
		out = append(out, failure{title, msg})
	}
	return out
}

// summary is the job summary's section on the gates; "" when neither was
// asked for.
func (g *gateRun) summary() string {
	var sig *report.SignatureGate
	if g.cfg.RequireSignature {
		sig = &report.SignatureGate{Skipped: g.sigSkipped, Err: g.sigErr, Result: g.sig, Timeout: g.cfg.SignatureTimeout}
	}
	var repl *report.ReplicationGate
	if g.cfg.WaitForReplication {
		repl = &report.ReplicationGate{Skipped: g.replSkipped, Err: g.replErr, Result: g.repl, Status: g.replicationStatus(), Timeout: g.cfg.ReplicationTimeout}
	}
	return report.RenderGates(sig, repl)
}

// gateSetup reads the registry's signing and replication set-up for the
// gates the inputs ask for, before the first write.
func (r *run) gateSetup(ctx context.Context) error {
	g, err := checkGates(ctx, r.wf, r.cfg, r.client)
	if err != nil {
		return r.fail(ctx, diagnose.GateSetup, err)
	}
	r.gates = g
	return nil
}

// signingGate waits for the signature of the pushed image, when
// require_signature asks for it and the scan gate passed.
func (r *run) signingGate(ctx context.Context) error {
	if r.img == nil {
		return nil
	}
	r.gates.signature(ctx, r.clk, r.wf, r.client, r.img.pushed.Digest, r.scanPassed())
	if ctx.Err() != nil {
		return r.fail(ctx, diagnose.Signing, ctx.Err())
	}
	return nil
}
