// Command ecr-action is the GitHub Action's entry point: it validates the
// inputs, ensures the ECR repository, and reports outputs and a job summary.
// main is wiring only; realMain returns the exit code.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/smithy-go"

	"github.com/org/ecr-action/internal/awsauth"
	"github.com/org/ecr-action/internal/clock"
	"github.com/org/ecr-action/internal/config"
	"github.com/org/ecr-action/internal/httpbound"
	"github.com/org/ecr-action/internal/reconcile"
	"github.com/org/ecr-action/internal/report"
	"github.com/org/ecr-action/internal/scan"
	"github.com/org/ecr-action/internal/settle"
)

// version is the action's release (v1.2.3): the output of
// `ecr-action --version` and tool.driver.version in SARIF reports. A
// build that does not stamp it says "dev". The release stamps it with
//
//	-ldflags "-X main.version=v1.2.3"
//
// (.ko.yaml does, from the VERSION environment variable).
var version = "dev"

func main() {
	// `ecr-action --version` prints the version and exits: a check that the
	// image holds the binary the release stamped. The runner passes no
	// arguments (action.yml declares no args).
	if len(os.Args) == 2 && (os.Args[1] == "--version" || os.Args[1] == "-version") {
		fmt.Println("ecr-action", version)
		return
	}
	// The runner cancels a step with SIGINT, then SIGTERM 7.5 s later.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := realMain(ctx, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// Retries of AWS calls (ECR, CloudWatch Logs, STS). ThrottlingException is
// normal when many matrix jobs share an account, so every call goes through
// the SDK's standard retryer, which retries throttling (the codes in
// retry.DefaultThrottleErrorCodes), HTTP 5xx and connection errors, and
// never AccessDenied or validation errors. Its backoff is full jitter:
// before retry i (0-based) it waits rand[0,1) × min(1 s × 2^i, maxBackoff)
// after throttling (a 50 ms base for other transient errors). maxAttempts
// 8 is 7 retries: at most 1+2+4+8+16+20+20 = 71 s of waiting for one call,
// about half that on average. The action sets this retryer on its clients
// itself, so the SDK's AWS_MAX_ATTEMPTS and AWS_RETRY_MODE do not change it.
// The scan waiter paces its own reads (internal/scan/ecrscan).
const (
	maxAttempts = 8
	maxBackoff  = 20 * time.Second
)

// newRetryer is the retryer of the ECR, CloudWatch Logs and STS clients;
// the registry token clients of other regions use the SDK's standard one.
func newRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = maxAttempts
		o.MaxBackoff = maxBackoff
		// The SDK counts LimitExceededException as throttling, but ECR and
		// CloudWatch Logs raise it for a service quota (repositories per
		// region, log groups, one scan per image per day): no retry helps.
		o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			if isQuotaError(err) {
				return aws.FalseTernary
			}
			return aws.UnknownTernary
		})}, o.Retryables...)
	})
}

func isQuotaError(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "LimitExceededException"
}

func realMain(ctx context.Context, stdout, stderr io.Writer, getenv func(string) string) int {
	// clk is the run's one clock: the scan wait, the gate's until dates,
	// the registry tokens' renewal, the scan log's time and the timings.
	clk := clock.System
	wf := report.New(stdout, getenv)
	fail := func(title, message string) int {
		wf.Error(title, message)
		if err := wf.AppendSummary(report.RenderError(title, message)); err != nil {
			wf.Infof("could not write the job summary: %v", err)
		}
		return 1
	}
	// cancelled ends a run the runner cancelled (SIGINT, then SIGTERM 7.5 s
	// later, then a kill): one annotation and the summary say what was
	// left, and nothing more is written to AWS.
	cancelled := func(while, state string) int {
		return fail("Cancelled", "The run was cancelled (the runner sent SIGINT or SIGTERM) "+while+". "+state)
	}

	endInputs := wf.Group("Inputs")
	cfg, err := config.Load(getenv)
	if err != nil {
		endInputs()
		var fe config.Errors
		if errors.As(err, &fe) {
			// The runner keeps 10 annotations per step: one per input, then
			// the whole list in the summary.
			for i, f := range fe {
				if i == 9 && len(fe) > 10 {
					wf.Error("Invalid inputs", fmt.Sprintf("%d more invalid inputs: see the job summary", len(fe)-9))
					break
				}
				wf.Error("Invalid input "+f.Input, f.Error())
			}
			if err := wf.AppendSummary(report.RenderError("Invalid inputs", err.Error()+"\n\nNothing was changed in AWS.")); err != nil {
				wf.Infof("could not write the job summary: %v", err)
			}
			return 1
		}
		return fail("Invalid inputs", err.Error())
	}
	wf.Infof("repository: %s", cfg.Repository)
	for _, w := range cfg.Warnings {
		wf.Warning("Ignored input", w)
	}
	endInputs()

	// Every network call is bounded in time (connect, response headers,
	// stall) and size: internal/httpbound, README "Reliability".
	limits, err := httpbound.FromEnv(getenv)
	if err != nil {
		return fail("Network timeouts", err.Error()+"\n\nNothing was changed in AWS.")
	}
	endAuth := wf.Group("AWS credentials")
	awsCfg, err := awsauth.Load(ctx, awsauth.Options{
		Limits:          limits,
		Region:          cfg.Region,
		RoleToAssume:    cfg.RoleToAssume,
		RoleSessionName: cfg.RoleSessionName,
		Audience:        cfg.Audience,
		Getenv:          getenv,
		Mask:            wf.Mask,
		Retryer:         newRetryer,
	})
	endAuth()
	if err != nil {
		if title, msg, ok := explainThrottled(err); ok {
			return fail(title, msg)
		}
		return fail("AWS credentials", err.Error())
	}
	wf.Infof("region: %s", awsCfg.Region)
	client := ecr.NewFromConfig(awsCfg) // awsCfg.Retryer is newRetryer

	// The image is opened and every tag looked up before the first write,
	// so a bad source or an immutable tag in the way changes nothing.
	var img *imageRun
	if cfg.Image != nil {
		endImage := wf.Group("Image")
		img, err = prepareImage(ctx, clk, wf, getenv, cfg, awsCfg, client, limits)
		endImage()
		defer img.cleanup()
		if err != nil && ctx.Err() != nil {
			return cancelled("while opening the image", "Nothing was changed in AWS.")
		}
		if err != nil {
			title, msg := explainStep(err, "Image")
			return fail(title, msg+"\n\nNothing was changed in AWS.")
		}
	}

	// The signing and replication gates' registry set-up is read before
	// the first write too (gates.go).
	gr, err := checkGates(ctx, wf, cfg, client)
	if err != nil {
		if ctx.Err() != nil {
			return cancelled("while reading the registry's signing and replication configuration", "Nothing was changed in AWS.")
		}
		title, msg := explainStep(err, "Gates")
		return fail(title, msg+"\n\nNothing was changed in AWS.")
	}

	endRepo := wf.Group("Repository " + cfg.Repository)
	res, err := reconcile.ReconcileWith(ctx, client, cfg, reconcile.Options{Settle: settle.Policy{Clock: clk}})
	if res != nil {
		for _, c := range res.Changes {
			wf.Infof("%-20s %-10s desired: %s", c.Setting, c.Action, c.Desired)
		}
	}
	endRepo()
	if err != nil && ctx.Err() != nil {
		state := "Nothing was changed in AWS."
		if res != nil && res.Writes > 0 {
			state = fmt.Sprintf("%d write call(s) had been made to the repository's settings; a re-run picks up from the current state. No image was pushed.", res.Writes)
		}
		return cancelled("while reconciling the repository", state)
	}
	if err != nil {
		title, msg := explain(err)
		if res != nil && res.Writes > 0 {
			msg += fmt.Sprintf("\n\n%d write call(s) had been made before the failure; a re-run picks up from the current state.", res.Writes)
		}
		return fail(title, msg)
	}
	for _, d := range res.Drift {
		wf.Warning("Encryption drift", d)
	}
	for _, n := range res.Notes {
		wf.Infof("note: %s", n)
	}
	if res.Settled > 0 {
		wf.Infof("calls waited %.1f s in all for the new repository to appear (ECR answered RepositoryNotFoundException right after the create; the calls were retried)", res.Settled.Seconds())
	}
	if res.Writes == 0 {
		wf.Infof("repository %s is up to date: no write calls", res.Repository.Name)
	} else {
		wf.Infof("repository %s reconciled with %d write call(s)", res.Repository.Name, res.Writes)
	}

	repo := res.Repository
	var imgSum *report.ImageSummary
	var attached *attachResult
	if img != nil {
		endPush := wf.Group("Push " + repo.URI)
		imgSum, err = uploadImage(ctx, wf, img, repo.URI, res.Fresh)
		endPush()
		if err != nil && ctx.Err() != nil {
			// Upload writes blobs, then manifests by digest, and no tag:
			// an interrupted upload leaves no tag on anything incomplete.
			return cancelled("during the push", "No tag was written, so every tag still names the image it named before. Re-run to push again: blobs already uploaded are not sent twice.")
		}
		if err != nil {
			title, msg := explainStep(err, "Push failed")
			return fail(title, msg)
		}
		// The SBOM and provenance go on before any tag (attest.go).
		if img.attest != nil {
			endAttach := wf.Group("SBOM and provenance")
			attached, err = attachReferrers(ctx, wf, img, img.attest)
			endAttach()
			if err != nil && ctx.Err() != nil {
				return cancelled("while attaching the SBOM and provenance", fmt.Sprintf("The image %s is in the repository by digest only: no tag was written. Re-run to finish.", imgSum.Digest))
			}
			if err != nil {
				title, msg := explainStep(err, "Referrers")
				return fail(title, msg+fmt.Sprintf("\n\nThe image %s is in the repository by digest only: no tag was written.", imgSum.Digest))
			}
		}
	}
	// The scan gate: wait for the scan of what was pushed, then decide.
	var scanOut *scanOutcome
	var scanErr error
	tagged := false // the tags are written: the gates passed
	if img != nil {
		endScan := wf.Group("Scan")
		scanOut, scanErr = runScan(ctx, clk, wf, cfg, client, repo, img, imgSum.Digest)
		endScan()
		// The signing gate, after the scan gate passes (gates.go).
		scanPassed := scanErr == nil && scanOut.verdict.Gate != scan.GateFailed
		signed := gr.signature(ctx, clk, wf, client, imgSum.Digest, scanPassed)
		if ctx.Err() != nil {
			return cancelled("before the tags were written", fmt.Sprintf("The image %s is in the repository by digest only: no tag was written. Re-run to finish.", imgSum.Digest))
		}
		// Tags come last: a tag never names an image the gate failed.
		if scanPassed && signed {
			endTags := wf.Group("Tags")
			err := tagImage(ctx, wf, img, imgSum)
			endTags()
			if err != nil && ctx.Err() != nil {
				return cancelled("while writing the tags", fmt.Sprintf("The image %s is complete in the repository; some of its tags may have been written. Re-run to write the rest.", imgSum.Digest))
			}
			if err != nil {
				title, msg := explainStep(err, "Push failed")
				return fail(title, msg)
			}
			tagged = true
		} else if img.plan.Writes() {
			withholdTags(imgSum)
			wf.Infof("no tag written: %s, so %s stays in the repository by digest only", gr.withheld(scanPassed), imgSum.Digest)
		}
	}

	outputs := []output{
		{"repository_url", repo.URI},
		{"repository_arn", repo.ARN},
		{"repository_name", repo.Name},
		{"registry_id", repo.RegistryID},
		{"repository_registry_url", repo.RegistryURL()},
	}
	if imgSum != nil {
		var tags, uris []string
		for _, t := range imgSum.Tags {
			if t.Action == report.TagWithheld {
				continue
			}
			tags = append(tags, t.Tag)
			uris = append(uris, t.URI)
		}
		outputs = append(outputs, []output{
			{"image_digest", imgSum.Digest},
			{"image_uri", imgSum.URI},
			{"image_tags", strings.Join(tags, ",")},
			{"image_uris", strings.Join(uris, "\n")},
		}...)
		var sbomDigest, provDigest string
		if attached != nil {
			sbomDigest, provDigest = attached.sbomOutput(img.art.Index != nil), attached.provenanceOutput()
		}
		outputs = append(outputs, output{"sbom_digest", sbomDigest}, output{"provenance_digest", provDigest})
	}
	// Failures after the push still leave the outputs and the summary in
	// place: the image is in the repository either way.
	type failure struct{ title, msg string }
	var late []failure
	var scanReport string
	if scanOut != nil {
		for _, w := range scanOut.verdict.Warnings {
			wf.Warning("Scan", w)
		}
		sarifFile, err := writeSARIF(wf, cfg, scanOut, imgSum, getenv)
		if err != nil {
			late = append(late, failure{"SARIF report", err.Error()})
		}
		if gr.stopsWrites() {
			wf.Infof("the scan result is not logged: the signing gate ended on an error, and the run writes nothing more")
		} else if err := logScan(ctx, clk, wf, cfg, awsCfg, scanOut, imgSum, repo, getenv); err != nil {
			title, msg := explainLogs(err)
			if ctx.Err() != nil {
				title, msg = "Cancelled", "The run was cancelled (the runner sent SIGINT or SIGTERM) while logging the scan result; the image and its tags are in place."
			}
			late = append(late, failure{title, msg})
		}
		outputs = append(outputs, scanOutputs(scanOut, sarifFile)...)
		scanReport = renderScan(scanOut, repo)
	} else if img == nil {
		outputs = append(outputs, output{"scan_gate", string(scan.GateSkipped)})
	}
	// The replication gate, before the outputs (gates.go).
	if imgSum != nil {
		gr.replication(ctx, clk, wf, client, imgSum.Digest, tagged)
		outputs = append(outputs, gr.outputs()...)
		for _, f := range gr.failures() {
			late = append(late, failure(f))
		}
	}
	for _, o := range outputs {
		if err := wf.SetOutput(o.name, o.value); err != nil {
			return fail("Outputs", fmt.Sprintf("setting output %s: %v", o.name, err))
		}
	}
	rows := make([]report.Row, len(res.Changes))
	for i, c := range res.Changes {
		rows[i] = report.Row{Setting: c.Setting, Desired: c.Desired, Found: c.Found, Action: c.Action}
	}
	summary := report.RenderRepository(report.RepositorySummary{
		Name: repo.Name, URI: repo.URI, ARN: repo.ARN, Created: res.Created, Rows: rows, WriteCalls: res.Writes,
	})
	if imgSum != nil {
		summary += "\n" + report.RenderImage(*imgSum)
	}
	if attached != nil && len(attached.referrers) > 0 {
		summary += "\n" + report.RenderReferrers(attached.referrers, signingNote)
	}
	if scanReport != "" {
		summary += "\n" + scanReport
	}
	if s := gr.summary(); s != "" {
		summary += "\n" + s
	}
	if err := wf.AppendSummary(summary); err != nil {
		return fail("Job summary", err.Error())
	}
	if scanErr != nil {
		title, msg := explainStep(scanErr, "Scan")
		late = append(late, failure{title, msg + "\n\nThe image was pushed, but the scan gate could not decide, so the step fails."})
	}
	if len(late) > 0 {
		for _, f := range late[1:] {
			wf.Error(f.title, f.msg)
		}
		return fail(late[0].title, late[0].msg)
	}
	if scanOut != nil && scanOut.verdict.Gate == scan.GateFailed {
		// One annotation: the runner keeps 10 per step, and the summary
		// lists the findings.
		wf.Error("Scan gate failed", gateMessage(scanOut.verdict))
		if err := wf.Err(); err != nil {
			fmt.Fprintf(stderr, "writing the log: %v\n", err)
		}
		return 1
	}
	if err := wf.Err(); err != nil {
		// The log could not be written: the runner would not see outputs'
		// companions (masks, annotations), so say so through the exit code.
		fmt.Fprintf(stderr, "writing the log: %v\n", err)
		return 1
	}
	return 0
}

// explainStep returns the title and message of an image step's failure.
func explainStep(err error, defaultTitle string) (string, string) {
	var se *stepError
	if errors.As(err, &se) {
		var op *smithy.OperationError
		if errors.As(se.err, &op) {
			_, msg := explain(se.err)
			return se.title, msg
		}
		return se.title, se.err.Error()
	}
	var op *smithy.OperationError
	if errors.As(err, &op) {
		return explain(err)
	}
	return defaultTitle, err.Error()
}

// explain turns an AWS error into an annotation title and a message that says
// what to do.
func explain(err error) (string, string) {
	var op *smithy.OperationError
	var api smithy.APIError
	if errors.As(err, &op) && errors.As(err, &api) {
		action := "ecr:" + op.OperationName
		// A call can need more than its own action (CreateRepository with
		// tags also needs ecr:TagResource): AWS names the one it refused.
		if a := deniedAction(api.ErrorMessage()); a != "" {
			action = a
		}
		switch api.ErrorCode() {
		case "AccessDeniedException", "AccessDenied", "UnauthorizedOperation":
			return "Permission denied",
				fmt.Sprintf("%v\n\nThe credentials lack %s. Add it to the role's policy (the README lists the minimal policy).", err, action)
		case "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException":
			return "AWS credentials rejected",
				fmt.Sprintf("%v\n\nCheck the credentials step (aws-actions/configure-aws-credentials or role_to_assume) and the region.", err)
		case "KmsException":
			return "KMS key unusable",
				fmt.Sprintf("%v\n\nCheck kms_key_arn: the key must exist in this region and allow kms:CreateGrant and kms:DescribeKey to the caller.", err)
		}
		if title, msg, ok := explainThrottled(err); ok {
			return title, msg
		}
		return "ECR " + op.OperationName + " failed", err.Error()
	}
	if errors.Is(err, context.Canceled) {
		return "Cancelled", "the run was cancelled before the repository was fully reconciled; re-run to finish"
	}
	return "Repository reconcile failed", err.Error()
}

// explainThrottled says which AWS call stayed throttled through every retry;
// ok is false when err is not throttling.
func explainThrottled(err error) (title, msg string, ok bool) {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return "", "", false
	}
	if _, throttle := retry.DefaultThrottleErrorCodes[api.ErrorCode()]; !throttle || isQuotaError(err) {
		return "", "", false
	}
	action, service := "an AWS call", "AWS"
	var op *smithy.OperationError
	if errors.As(err, &op) {
		prefix := map[string]string{"ECR": "ecr", "CloudWatch Logs": "logs", "STS": "sts"}[op.ServiceID]
		if prefix == "" {
			prefix = strings.ToLower(op.ServiceID)
		}
		action, service = prefix+":"+op.OperationName, op.ServiceID
	}
	attempts := "every"
	var mae *retry.MaxAttemptsError
	if errors.As(err, &mae) {
		attempts = fmt.Sprintf("all %d", mae.Attempt)
	}
	return "Throttled by " + service,
		fmt.Sprintf("%v\n\n%s was throttled (%s) on %s attempts, with jittered backoff between them. The account's %s request rate is shared by every job using it: re-run the job, or spread matrix jobs out (max-parallel).", err, action, api.ErrorCode(), attempts, service), true
}
