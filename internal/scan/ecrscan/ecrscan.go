// Package ecrscan waits for Amazon ECR's scan of the image a run pushed and
// turns ECR's findings, basic or enhanced, into a scan.Result.
//
// It polls DescribeImageScanFindings for each image manifest (each platform
// of an image index) on a fixed schedule until every one reaches a final
// status or the timeout passes: a first read (at once, or FirstRead after a
// fresh push), then a read every Interval (5 s) counted from the start of
// the wait, so the wait returns at most one interval after the scan
// completes and makes no more reads than a fixed 5 s poll. Only throttled
// reads back off further. Only what can succeed
// on a later try is retried: throttling, server errors and a scan that does
// not exist yet. Permission and validation errors end the wait at once,
// unlike the SDK's ImageScanCompleteWaiter, which retries every error.
package ecrscan

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"

	"github.com/org/ecr-action/internal/awsauth"
	"github.com/org/ecr-action/internal/clock"
	"github.com/org/ecr-action/internal/scan"
)

// API is the part of the ECR client the waiter calls.
type API interface {
	DescribeImageScanFindings(context.Context, *ecr.DescribeImageScanFindingsInput, ...func(*ecr.Options)) (*ecr.DescribeImageScanFindingsOutput, error)
	GetRegistryScanningConfiguration(context.Context, *ecr.GetRegistryScanningConfigurationInput, ...func(*ecr.Options)) (*ecr.GetRegistryScanningConfigurationOutput, error)
	BatchGetRepositoryScanningConfiguration(context.Context, *ecr.BatchGetRepositoryScanningConfigurationInput, ...func(*ecr.Options)) (*ecr.BatchGetRepositoryScanningConfigurationOutput, error)
	StartImageScan(context.Context, *ecr.StartImageScanInput, ...func(*ecr.Options)) (*ecr.StartImageScanOutput, error)
}

// Target is one image manifest to wait for.
type Target struct {
	Platform string // "linux/amd64"; "" when unknown
	Digest   string
}

// Options configure Wait. Zero durations take the defaults.
type Options struct {
	RegistryID string // "" = the caller's
	Repository string
	Digest     string   // what the run pushed: the image or index digest
	Targets    []Target // the image manifests scanned; for an index, one per platform
	Scanning   ScanningConfig
	// Start starts a basic scan of each target (wait_for_scan: true on a
	// repository that is not scanned on push).
	Start bool
	// StartMissing starts a basic scan of a target that has none
	// (ScanNotFoundException): for an image the run did not push (a
	// retag, or every tag already in place), which a scan on push never
	// reaches if it was pushed before scanning was turned on.
	StartMissing bool
	// StartAfter, when positive, starts a basic scan of a target that
	// still has none (ScanNotFoundException) this long into the wait:
	// scan on push fires for tagged pushes, but ECR does not document that
	// it fires for a manifest pushed by digest alone, which is how the
	// action pushes before the gate. See NoScanStartAfter.
	StartAfter time.Duration
	Timeout    time.Duration // default 10m

	// FirstRead is when the first read happens, counted from the start of
	// the wait: 0 reads at once (an image that may be scanned already);
	// FreshPushFirstRead after a push or a scan this run started. Later
	// reads fall every Interval (default 5 s) from the start of the wait,
	// whatever the first read's time.
	FirstRead, Interval time.Duration
	// ConfirmDelay is the pause before the second read that confirms an
	// enhanced result (default 1 s).
	ConfirmDelay time.Duration
	// MaxDelay caps the pause after throttled reads, which doubles from
	// Interval and is jittered down by up to half (default 15 s).
	MaxDelay time.Duration

	Logf func(format string, args ...any) // nil = silent
	// Clock is the one source of time for the wait: its Now, its pauses
	// between reads and the scan_timeout limit on each read. nil = the
	// wall clock.
	Clock clock.Clock
}

// target is the waiting state of one manifest.
type target struct {
	Target
	status, desc string
	findings     []scan.Finding
	done         bool
	// previous is the signature of the last ACTIVE/COMPLETE enhanced read:
	// an enhanced result is trusted once two reads in a row agree.
	previous string
	started  bool
	// retrying is the error code of the last read when it failed in a
	// way a later read may not (throttling, a server fault); "" after a
	// read that worked.
	retrying string
}

// Wait waits until every target's scan reaches a final status or the
// timeout passes. A timeout is not an error: the Result says TimedOut and the
// last status seen. Errors are those no retry can fix (AccessDenied, a
// missing image, a validation error) and the context's end.
func Wait(ctx context.Context, api API, o Options) (*scan.Result, error) {
	o = withDefaults(o)
	if len(o.Targets) == 0 {
		return nil, errors.New("no image manifest to wait for")
	}
	w := &waiter{api: api, o: o, clk: o.Clock, start: o.Clock.Now()}
	for _, t := range o.Targets {
		w.ts = append(w.ts, &target{Target: t, status: scan.StatusNotFound})
	}

	if o.Start {
		if o.Scanning.Mode == scan.Enhanced {
			return nil, fmt.Errorf("wait_for_scan is true, but the registry uses enhanced scanning and no scanning rule covers %s, and StartImageScan only starts basic scans; add a rule for the repository (ECR > Private registry > Scanning) or set wait_for_scan: auto", o.Repository)
		}
		for _, t := range w.ts {
			if err := startScan(ctx, api, o, t); err != nil {
				return nil, err
			}
		}
	}

	next := max(o.FirstRead, 0) // when the next read is due, from start
	throttled := 0              // reads in a row that were throttled
	for {
		if wait := next - w.elapsed(); wait > 0 {
			remaining := w.left()
			if remaining <= 0 {
				return w.result(true), nil
			}
			if err := w.clk.Sleep(ctx, min(wait, remaining)); err != nil {
				return w.result(false), err
			}
			continue
		}
		allDone, timedOut, err := w.readAll(ctx)
		if err != nil {
			return w.result(false), err
		}
		if timedOut {
			return w.result(true), nil
		}
		if allDone {
			return w.result(false), nil
		}
		now := w.elapsed()
		switch {
		case retrying(w.ts):
			throttled++
			next = now + backoff(throttled, o.Interval, o.MaxDelay)
		case confirming(w.ts):
			throttled = 0
			next = now + o.ConfirmDelay
		default:
			throttled = 0
			next = (now/o.Interval + 1) * o.Interval
		}
		if w.left() <= 0 {
			return w.result(true), nil
		}
	}
}

// withDefaults is o with its zero settings set to their defaults.
func withDefaults(o Options) Options {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.ConfirmDelay <= 0 {
		o.ConfirmDelay = time.Second
	}
	if o.MaxDelay < o.Interval {
		o.MaxDelay = max(15*time.Second, o.Interval)
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.Clock == nil {
		o.Clock = clock.System
	}
	return o
}

// waiter is one Wait: its targets and the time it started.
type waiter struct {
	api   API
	o     Options
	clk   clock.Clock
	start time.Time
	ts    []*target
}

// left is what remains of scan_timeout, by the same clock that read
// start: the limit is always handed to the clock as a duration, never as
// an instant that a real timer would compare with the wall clock.
func (w *waiter) left() time.Duration { return w.o.Timeout - w.clk.Now().Sub(w.start) }

func (w *waiter) elapsed() time.Duration { return w.clk.Now().Sub(w.start) }

// readAll reads each target not done yet, every call bounded by what is
// left of scan_timeout. timedOut says a call outlived it; err is a read's
// error no retry can fix, or the context's end.
func (w *waiter) readAll(ctx context.Context) (allDone, timedOut bool, err error) {
	callCtx, cancel := w.clk.WithTimeout(ctx, w.left())
	defer cancel()
	allDone = true
	for _, t := range w.ts {
		if t.done {
			continue
		}
		err := poll(callCtx, w.api, w.o, t, w.elapsed())
		if ctx.Err() == nil && callCtx.Err() != nil {
			timedOut = true // a call outlived scan_timeout
			break
		}
		if err != nil {
			return false, false, err
		}
		if !t.done {
			allDone = false
		}
	}
	if err := ctx.Err(); err != nil {
		return false, false, err
	}
	return allDone, timedOut, nil
}

// result is what the wait saw, the last status of each target.
func (w *waiter) result(timedOut bool) *scan.Result {
	o := w.o
	if timedOut {
		for _, t := range w.ts {
			if !t.done && t.retrying != "" {
				o.Logf("%s: the reads up to scan_timeout failed with %s (ecr:DescribeImageScanFindings); with throttling, the account's ECR request rate is used up by other jobs", name(t.Target), t.retrying)
			}
		}
	}
	r := &scan.Result{Mode: o.Scanning.Mode, Repository: o.Repository, Digest: o.Digest, TimedOut: timedOut, Waited: w.clk.Now().Sub(w.start)}
	for _, t := range w.ts {
		r.Platforms = append(r.Platforms, scan.PlatformResult{Platform: t.Platform, Digest: t.Digest, Status: t.status, Description: t.desc, Findings: t.findings})
	}
	return r
}

// FreshPushFirstRead is when the first read happens after a push (or a scan
// the run started): no scan is complete at once, and a first read a second
// in still catches a fast scan without costing a read over a fixed 5 s poll.
const FreshPushFirstRead = time.Second

// NoScanStartAfter is how long after a push the action waits for scan on
// push to show a scan before it starts one itself (basic scanning).
const NoScanStartAfter = 10 * time.Second

// DefaultInterval is the time between reads.
const DefaultInterval = 5 * time.Second

// retrying reports whether an unfinished target's last read failed in a way
// a later read may not (throttling, a server fault).
func retrying(ts []*target) bool {
	for _, t := range ts {
		if !t.done && t.retrying != "" {
			return true
		}
	}
	return false
}

// confirming reports whether a target waits only for a second enhanced read.
func confirming(ts []*target) bool {
	for _, t := range ts {
		if !t.done && t.previous != "" {
			return true
		}
	}
	return false
}

// startScan starts a basic scan of t. A scan of the image in the last 24
// hours (LimitExceededException) leaves its result in place to wait for.
func startScan(ctx context.Context, api API, o Options, t *target) error {
	out, err := api.StartImageScan(ctx, &ecr.StartImageScanInput{
		RegistryId:     optional(o.RegistryID),
		RepositoryName: aws.String(o.Repository),
		ImageId:        &types.ImageIdentifier{ImageDigest: aws.String(t.Digest)},
	}, func(o *ecr.Options) {
		// The SDK retries LimitExceededException as throttling, but here
		// it means "scanned today already": an answer, not a rate limit.
		if o.Retryer != nil {
			o.Retryer = finalOnLimit{o.Retryer}
		}
	})
	var limit *types.LimitExceededException
	var unsupported *types.UnsupportedImageTypeException
	switch {
	case errors.As(err, &limit):
		o.Logf("%s: ECR allows one scan per image per day and this image was scanned already; using that scan's result", name(t.Target))
		return nil
	case errors.As(err, &unsupported):
		t.status, t.desc, t.done = scan.StatusUnsupportedImage, unsupported.ErrorMessage(), true
		return nil
	case err != nil:
		return fmt.Errorf("starting a scan of %s (ecr:StartImageScan): %w", t.Digest, err)
	}
	t.started = true
	if out.ImageScanStatus != nil {
		t.status = string(out.ImageScanStatus.Status)
	}
	o.Logf("%s: scan started", name(t.Target))
	return nil
}

// finalOnLimit is a retryer that does not retry LimitExceededException.
type finalOnLimit struct{ aws.Retryer }

func (r finalOnLimit) IsErrorRetryable(err error) bool {
	var limit *types.LimitExceededException
	if errors.As(err, &limit) {
		return false
	}
	return r.Retryer.IsErrorRetryable(err)
}

// pollAttempts bounds the SDK's attempts of one read: Wait paces its reads
// itself and reads again after a throttled one, so the client's full retry
// budget per read would multiply the two (up to 8 calls and a minute of
// backoff inside a single poll).
const pollAttempts = 3

func pollRetries(o *ecr.Options) {
	if o.Retryer != nil {
		o.Retryer = retry.AddWithMaxAttempts(o.Retryer, pollAttempts)
	}
}

// poll reads t's scan once, all pages, and updates its state.
func poll(ctx context.Context, api API, o Options, t *target, elapsed time.Duration) error {
	var findings []scan.Finding
	var status, desc string
	in := &ecr.DescribeImageScanFindingsInput{
		RegistryId:     optional(o.RegistryID),
		RepositoryName: aws.String(o.Repository),
		ImageId:        &types.ImageIdentifier{ImageDigest: aws.String(t.Digest)},
		MaxResults:     aws.Int32(1000),
	}
	for {
		out, err := api.DescribeImageScanFindings(ctx, in, pollRetries)
		if err != nil {
			if ctx.Err() != nil {
				// scan_timeout passed or the run was cancelled: Wait
				// decides, and nothing is retried.
				return ctx.Err()
			}
			var notFound *types.ScanNotFoundException
			if errors.As(err, &notFound) {
				setStatus(o, t, scan.StatusNotFound, "")
				late := o.StartAfter > 0 && elapsed >= o.StartAfter
				if late && !t.started && o.Scanning.Mode == scan.Basic {
					o.Logf("%s: no scan %s after the push; starting one (StartImageScan), as ECR does not document that a manifest pushed by digest alone is scanned on push", name(t.Target), o.StartAfter)
				}
				if (o.StartMissing || late) && !t.started && o.Scanning.Mode == scan.Basic {
					t.started = true // once, whatever the answer
					return startScan(ctx, api, o, t)
				}
				// Normal for a few seconds after a push.
				return nil
			}
			if awsauth.ReadAgain(err) {
				t.retrying = shortError(err)
				o.Logf("%s: %v; retrying", name(t.Target), t.retrying)
				return nil
			}
			return fmt.Errorf("reading the scan of %s (ecr:DescribeImageScanFindings): %w", t.Digest, err)
		}
		t.retrying = ""
		if out.ImageScanStatus != nil {
			status, desc = string(out.ImageScanStatus.Status), aws.ToString(out.ImageScanStatus.Description)
		}
		if out.ImageScanFindings != nil {
			findings = append(findings, convert(out.ImageScanFindings, t.Platform)...)
		}
		if out.NextToken == nil || *out.NextToken == "" || !scan.HasFindings(status) {
			break
		}
		in.NextToken = out.NextToken
	}
	setStatus(o, t, status, desc)
	switch {
	case scan.HasFindings(status) && o.Scanning.Mode == scan.Enhanced:
		sig := signature(findings)
		if t.previous == sig {
			t.findings, t.done = findings, true
			return nil
		}
		t.previous = sig
		o.Logf("%s: %s with %d finding(s); reading again to confirm the list is complete", name(t.Target), status, len(findings))
	case scan.HasFindings(status):
		t.findings, t.done = findings, true
	case final(status):
		t.findings, t.done = nil, true
	default:
		t.previous = ""
	}
	return nil
}

func setStatus(o Options, t *target, status, desc string) {
	if status != t.status {
		line := fmt.Sprintf("%s: %s", name(t.Target), status)
		if desc != "" && !scan.HasFindings(status) && status != scan.StatusInProgress {
			line += " (" + desc + ")"
		}
		o.Logf("%s", line)
	}
	t.status, t.desc = status, desc
}

// final reports whether a status without findings will not change by
// waiting.
func final(status string) bool {
	switch status {
	case scan.StatusFailed, scan.StatusUnsupportedImage, scan.StatusEligibilityExpired,
		scan.StatusFindingsUnavailable, scan.StatusLimitExceeded, scan.StatusImageArchived:
		// IMAGE_ARCHIVED waits for nothing: a restore is a manual step
		// (UpdateImageStorageClass) that takes minutes to hours.
		return true
	}
	return false
}

// signature identifies a findings list, to compare two enhanced reads.
func signature(fs []scan.Finding) string {
	keys := make([]string, len(fs))
	for i, f := range fs {
		keys[i] = f.ID + " " + f.Package + " " + f.InstalledVersion + " " + string(f.Severity) + " " + string(f.Fix)
	}
	slices.Sort(keys)
	return strconv.Itoa(len(keys)) + "\n" + strings.Join(keys, "\n")
}

// convert turns one page of ECR findings into scan findings.
func convert(f *types.ImageScanFindings, platform string) []scan.Finding {
	var out []scan.Finding
	var platforms []string
	if platform != "" {
		platforms = []string{platform}
	}
	for _, b := range f.Findings {
		sev, _ := scan.ParseSeverity(string(b.Severity))
		if sev == "" {
			sev = scan.Undefined
		}
		fd := scan.Finding{ID: aws.ToString(b.Name), Severity: sev, URI: aws.ToString(b.Uri), Description: aws.ToString(b.Description), Platforms: platforms}
		for _, a := range b.Attributes {
			switch aws.ToString(a.Key) {
			case "package_name":
				fd.Package = aws.ToString(a.Value)
			case "package_version":
				fd.InstalledVersion = aws.ToString(a.Value)
			case "CVSS3_SCORE", "CVSS2_SCORE":
				if s, err := strconv.ParseFloat(aws.ToString(a.Value), 64); err == nil && s > fd.Score {
					fd.Score = s
				}
			}
		}
		out = append(out, fd)
	}
	for _, e := range f.EnhancedFindings {
		sev, ok := scan.ParseSeverity(aws.ToString(e.Severity))
		if !ok {
			sev = scan.Undefined
		}
		base := scan.Finding{Severity: sev, Description: aws.ToString(e.Description), Score: e.Score, Platforms: platforms}
		base.ID = aws.ToString(e.Title)
		overall := scan.Fix(strings.ToUpper(aws.ToString(e.FixAvailable)))
		var pkgs []types.VulnerablePackage
		if d := e.PackageVulnerabilityDetails; d != nil {
			if d.VulnerabilityId != nil {
				base.ID = *d.VulnerabilityId
			}
			base.URI = aws.ToString(d.SourceUrl)
			if base.URI == "" && len(d.ReferenceUrls) > 0 {
				base.URI = d.ReferenceUrls[0]
			}
			pkgs = d.VulnerablePackages
		}
		if len(pkgs) == 0 {
			base.Fix = overall
			out = append(out, base)
			continue
		}
		for _, p := range pkgs {
			fd := base
			fd.Package = aws.ToString(p.Name)
			fd.InstalledVersion = packageVersion(p)
			fixed := aws.ToString(p.FixedInVersion)
			switch {
			case fixed != "" && fixed != "NotAvailable":
				fd.FixedVersion, fd.Fix = fixed, scan.FixYes
			case overall == scan.FixYes || overall == scan.FixNo || overall == scan.FixPartial:
				fd.Fix = overall
				if overall == scan.FixPartial || (overall == scan.FixYes && fixed == "NotAvailable") {
					fd.Fix = scan.FixNo
				}
			}
			out = append(out, fd)
		}
	}
	return out
}

// packageVersion spells an Inspector package version as the package
// manager does: [epoch:]version[-release].
func packageVersion(p types.VulnerablePackage) string {
	v := aws.ToString(p.Version)
	if r := aws.ToString(p.Release); r != "" && !strings.HasSuffix(v, "-"+r) {
		v += "-" + r
	}
	if p.Epoch != nil && *p.Epoch != 0 && !strings.Contains(v, ":") {
		v = strconv.Itoa(int(*p.Epoch)) + ":" + v
	}
	return v
}

func isAccessDenied(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	switch api.ErrorCode() {
	case "AccessDeniedException", "AccessDenied", "UnauthorizedOperation":
		return true
	}
	return false
}

func shortError(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return err.Error()
}

// backoff is the delay after n throttled reads in a row: lo doubled n times,
// capped at hi, then reduced by a random fraction of up to half.
func backoff(n int, lo, hi time.Duration) time.Duration {
	d := hi
	if n < 30 {
		d = min(lo<<n, hi)
	}
	return d - time.Duration(rand.Float64()*float64(d)/2)
}

func name(t Target) string {
	d := t.Digest
	if len(d) > 19 {
		d = d[:19]
	}
	if t.Platform != "" {
		return t.Platform + " " + d
	}
	return d
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
