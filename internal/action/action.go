package action

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/org/ecr-action/internal/awsauth"
	"github.com/org/ecr-action/internal/clock"
	"github.com/org/ecr-action/internal/config"
	"github.com/org/ecr-action/internal/diagnose"
	"github.com/org/ecr-action/internal/httpbound"
	"github.com/org/ecr-action/internal/reconcile"
	"github.com/org/ecr-action/internal/report"
	"github.com/org/ecr-action/internal/scan"
)

// Env is what a run takes from the process: its output streams, its
// environment, its clock and the action's version.
type Env struct {
	Stdout io.Writer           // the step's log and workflow commands
	Stderr io.Writer           // where a broken log is reported
	Getenv func(string) string // the inputs and the runner's variables
	// Clock is the run's one clock: the scan wait, the gate's until dates,
	// the registry tokens' renewal, the scan log's time and the timings.
	Clock clock.Clock
	// Version is the action's release (v1.2.3, or "dev"): the SBOM's
	// creator, the provenance's action version and the SARIF tool version.
	Version string
}

// Run runs the action once and returns the process's exit code.
func Run(ctx context.Context, env Env) int {
	r := &run{env: env, getenv: env.Getenv, clk: env.Clock, wf: report.New(env.Stdout, env.Getenv)}
	defer r.cleanup()
	return r.exit(r.phases(ctx))
}

// run is the state of one run, filled in phase by phase.
type run struct {
	env    Env
	getenv func(string) string
	clk    clock.Clock
	wf     *report.Workflow

	// inputs and credentials
	cfg    *config.Config
	limits httpbound.Limits
	awsCfg aws.Config
	client *ecr.Client // the region's ECR client; its retryer is awsauth.NewRetryer

	// image (nil: the inputs name no image)
	img *imageRun

	// the signing and replication gates (gates.go)
	gates  *gateRun
	tagged bool // the tags phase wrote (or found) every tag

	// repository
	res  *reconcile.Result
	repo reconcile.Repository // the repository's address: outputs, summary, image URIs

	// scan
	scan    *scanOutcome
	scanErr error // the gate could not decide: a failure after the outputs

	// outputs
	sum  *report.ImageSummary // built once, after the tags phase
	late []failure            // failures after the push, reported after the outputs
}

// failure is a failure with its annotation title and message.
type failure struct{ title, msg string }

func (f *failure) Error() string { return f.title + ": " + f.msg }

// fail is a failure of phase p, worded by diagnose; in a cancelled run it
// reads as a cancel of that phase.
func (r *run) fail(ctx context.Context, p diagnose.Phase, err error) error {
	f := diagnose.Facts{}
	if r.img != nil && r.img.pushed != nil {
		f.Digest = r.img.pushed.Digest
	}
	if r.res != nil {
		f.Writes = r.res.Writes
	}
	title, msg := diagnose.Failure(p, err, ctx.Err() != nil, f)
	return &failure{title, msg}
}

// phases runs the phases in order until one fails.
func (r *run) phases(ctx context.Context) error {
	for _, phase := range []func(context.Context) error{
		r.inputs, r.credentials, r.prepareImage, r.gateSetup, r.repository,
		r.push, r.referrers, r.scanGate, r.signingGate, r.tags, r.outputs, r.summary,
	} {
		if err := phase(ctx); err != nil {
			return err
		}
	}
	return nil
}

// exit is the one place that decides the exit code: a phase's failure, then
// the failures after the push (the outputs and the summary are in place),
// then the scan gate, then a log that could not be written.
func (r *run) exit(err error) int {
	var ie inputErrors
	if errors.As(err, &ie) {
		r.reportInputErrors(ie)
		return 1
	}
	var f *failure
	if errors.As(err, &f) {
		return r.failed(*f)
	}
	if err != nil {
		return r.failed(failure{"Error", err.Error()})
	}
	late := r.late
	if r.scanErr != nil {
		title, msg := diagnose.Failure(diagnose.Scan, r.scanErr, false, diagnose.Facts{})
		late = append(late, failure{title, msg})
	}
	if len(late) > 0 {
		for _, f := range late[1:] {
			r.wf.Error(f.title, f.msg)
		}
		return r.failed(late[0])
	}
	if r.scan != nil && r.scan.verdict.Gate == scan.GateFailed {
		// One annotation: the runner keeps 10 per step, and the summary
		// lists the findings.
		r.wf.Error("Scan gate failed", gateMessage(r.scan.verdict))
		r.logErr()
		return 1
	}
	if r.logErr() {
		// The log could not be written: the runner would not see outputs'
		// companions (masks, annotations), so say so through the exit code.
		return 1
	}
	return 0
}

// failed reports a failure as an annotation and in the summary.
func (r *run) failed(f failure) int {
	r.wf.Error(f.title, f.msg)
	if err := r.wf.AppendSummary(report.RenderError(f.title, f.msg)); err != nil {
		r.wf.Infof("could not write the job summary: %v", err)
	}
	return 1
}

// logErr reports on stderr a log that could not be written.
func (r *run) logErr() bool {
	if err := r.wf.Err(); err != nil {
		fmt.Fprintf(r.env.Stderr, "writing the log: %v\n", err)
		return true
	}
	return false
}

func (r *run) cleanup() {
	if r.img != nil && r.img.tmp != "" {
		os.RemoveAll(r.img.tmp)
	}
}

// inputErrors are invalid inputs, reported one annotation each.
type inputErrors struct{ config.Errors }

func (r *run) reportInputErrors(ie inputErrors) {
	// The runner keeps 10 annotations per step: one per input, then the
	// whole list in the summary.
	fe := ie.Errors
	for i, f := range fe {
		if i == 9 && len(fe) > 10 {
			r.wf.Error("Invalid inputs", fmt.Sprintf("%d more invalid inputs: see the job summary", len(fe)-9))
			break
		}
		r.wf.Error("Invalid input "+f.Input, f.Error())
	}
	if err := r.wf.AppendSummary(report.RenderError("Invalid inputs", ie.Error()+"\n\nNothing was changed in AWS.")); err != nil {
		r.wf.Infof("could not write the job summary: %v", err)
	}
}

// inputs reads and checks every input.
func (r *run) inputs(context.Context) error {
	end := r.wf.Group("Inputs")
	defer end()
	cfg, err := config.Load(r.getenv)
	if err != nil {
		var fe config.Errors
		if errors.As(err, &fe) {
			return inputErrors{fe}
		}
		return &failure{"Invalid inputs", err.Error()}
	}
	r.cfg = cfg
	r.wf.Infof("repository: %s", cfg.Repository)
	for _, w := range cfg.Warnings {
		r.wf.Warning("Ignored input", w)
	}
	return nil
}

// credentials loads the AWS configuration: the region, the credentials
// (role_to_assume through OIDC), the network limits and the retry policy.
func (r *run) credentials(ctx context.Context) error {
	// Every network call is bounded in time (connect, response headers,
	// stall) and size: internal/httpbound, README "Reliability".
	limits, err := httpbound.FromEnv(r.getenv)
	if err != nil {
		return &failure{"Network timeouts", err.Error() + "\n\nNothing was changed in AWS."}
	}
	r.limits = limits
	end := r.wf.Group("AWS credentials")
	awsCfg, err := awsauth.Load(ctx, awsauth.Options{
		Limits:          limits,
		Region:          r.cfg.Region,
		RoleToAssume:    r.cfg.RoleToAssume,
		RoleSessionName: r.cfg.RoleSessionName,
		Audience:        r.cfg.Audience,
		Getenv:          r.getenv,
		Mask:            r.wf.Mask,
		Retryer:         awsauth.NewRetryer,
	})
	end()
	if err != nil {
		return r.fail(ctx, diagnose.Credentials, err)
	}
	r.awsCfg = awsCfg
	r.wf.Infof("region: %s", awsCfg.Region)
	r.client = ecr.NewFromConfig(awsCfg) // awsCfg.Retryer is awsauth.NewRetryer
	return nil
}
