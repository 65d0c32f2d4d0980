package ecrscan

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/org/ecr-action/internal/scan"
	"github.com/org/ecr-action/internal/testing/fakeclock"
)

// read is one scripted answer of DescribeImageScanFindings.
type read struct {
	status   string
	findings *types.ImageScanFindings
	err      error
	next     string // NextToken to return
}

// fakeAPI answers DescribeImageScanFindings from a script per digest; the
// last read repeats.
type fakeAPI struct {
	mu       sync.Mutex
	reads    map[string][]read
	calls    map[string]int
	starts   []string
	startErr error
	regCfg   *types.RegistryScanningConfiguration
	regErr   error
	// during, when set, runs inside each DescribeImageScanFindings call
	// (after the lock is released): a call that takes time by the fake
	// clock. A non-nil error is the call's answer.
	during func(ctx context.Context) error
}

func (f *fakeAPI) DescribeImageScanFindings(ctx context.Context, in *ecr.DescribeImageScanFindingsInput, _ ...func(*ecr.Options)) (*ecr.DescribeImageScanFindingsOutput, error) {
	if f.during != nil {
		if err := f.during(ctx); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	d := aws.ToString(in.ImageId.ImageDigest)
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls["Describe"]++
	script := f.reads[d]
	if len(script) == 0 {
		return nil, fmt.Errorf("no script for %s", d)
	}
	r := script[0]
	if len(script) > 1 {
		f.reads[d] = script[1:]
	}
	if r.err != nil {
		return nil, r.err
	}
	out := &ecr.DescribeImageScanFindingsOutput{
		ImageScanStatus:   &types.ImageScanStatus{Status: types.ScanStatus(r.status), Description: aws.String("desc of " + r.status)},
		ImageScanFindings: r.findings,
	}
	if r.next != "" {
		out.NextToken = aws.String(r.next)
	}
	return out, nil
}

func (f *fakeAPI) GetRegistryScanningConfiguration(context.Context, *ecr.GetRegistryScanningConfigurationInput, ...func(*ecr.Options)) (*ecr.GetRegistryScanningConfigurationOutput, error) {
	if f.regErr != nil {
		return nil, f.regErr
	}
	return &ecr.GetRegistryScanningConfigurationOutput{ScanningConfiguration: f.regCfg}, nil
}

func (f *fakeAPI) StartImageScan(_ context.Context, in *ecr.StartImageScanInput, _ ...func(*ecr.Options)) (*ecr.StartImageScanOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts = append(f.starts, aws.ToString(in.ImageId.ImageDigest))
	if f.startErr != nil {
		return nil, f.startErr
	}
	return &ecr.StartImageScanOutput{ImageScanStatus: &types.ImageScanStatus{Status: types.ScanStatusInProgress}}, nil
}

// testDates are where the fake clock starts. The waiter reads time only
// from its Clock, so every scenario must end the same way whatever the date:
// long before today, today, and long after.
var testDates = []time.Time{
	time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC),
	time.Now(),
	time.Date(2099, 12, 31, 23, 0, 0, 0, time.UTC),
}

// onEveryDate runs f once for each of testDates, as subtests named by year.
func onEveryDate(t *testing.T, f func(t *testing.T, start time.Time)) {
	t.Helper()
	for _, d := range testDates {
		t.Run(strconv.Itoa(d.Year()), func(t *testing.T) { f(t, d) })
	}
}

func basicFinding(id, sev, pkg, ver string) types.ImageScanFinding {
	return types.ImageScanFinding{
		Name: aws.String(id), Severity: types.FindingSeverity(sev), Uri: aws.String("https://advisories.example/" + id),
		Attributes: []types.Attribute{{Key: aws.String("package_name"), Value: aws.String(pkg)}, {Key: aws.String("package_version"), Value: aws.String(ver)}},
	}
}

func basic(fs ...types.ImageScanFinding) *types.ImageScanFindings {
	return &types.ImageScanFindings{Findings: fs}
}

func enhancedFinding(id, sev, fix, pkg, ver, fixed string) types.EnhancedImageScanFinding {
	p := types.VulnerablePackage{Name: aws.String(pkg), Version: aws.String(ver)}
	if fixed != "" {
		p.FixedInVersion = aws.String(fixed)
	}
	return types.EnhancedImageScanFinding{
		Severity: aws.String(sev), FixAvailable: aws.String(fix), Score: 7.5, Status: aws.String("ACTIVE"),
		PackageVulnerabilityDetails: &types.PackageVulnerabilityDetails{VulnerabilityId: aws.String(id), SourceUrl: aws.String("https://nvd.example/" + id), VulnerablePackages: []types.VulnerablePackage{p}},
	}
}

func enhanced(fs ...types.EnhancedImageScanFinding) *types.ImageScanFindings {
	return &types.ImageScanFindings{EnhancedFindings: fs}
}

func apiErr(code string, fault smithy.ErrorFault) error {
	return &smithy.OperationError{ServiceID: "ECR", OperationName: "DescribeImageScanFindings", Err: &smithy.GenericAPIError{Code: code, Message: code, Fault: fault}}
}

var notFound = &smithy.OperationError{ServiceID: "ECR", OperationName: "DescribeImageScanFindings", Err: &types.ScanNotFoundException{Message: aws.String("no scan")}}

const (
	dA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	dB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func waitWith(t *testing.T, start time.Time, api *fakeAPI, mode scan.Mode, targets []Target, mutate ...func(*Options)) (*scan.Result, *fakeclock.Clock, []string, error) {
	t.Helper()
	c := fakeclock.New(start)
	var log []string
	o := Options{
		Repository: "app", Digest: targets[0].Digest, Targets: targets,
		Scanning: ScanningConfig{Mode: mode, Covered: true}, Timeout: 10 * time.Minute,
		Clock: c, Logf: func(f string, a ...any) { log = append(log, fmt.Sprintf(f, a...)) },
	}
	for _, m := range mutate {
		m(&o)
	}
	res, err := Wait(context.Background(), api, o)
	if n := c.Pending(); n != 0 {
		t.Errorf("%d call time limits were left running", n)
	}
	return res, c, log, err
}

func TestWaitStatuses(t *testing.T) {
	onEveryDate(t, func(t *testing.T, start time.Time) {
		tests := []struct {
			name       string
			mode       scan.Mode
			script     []read
			wantStatus string
			wantIDs    []string
			wantReads  int
		}{
			{"basic complete after not found and in progress", scan.Basic,
				[]read{{err: notFound}, {err: notFound}, {status: "IN_PROGRESS"}, {status: "COMPLETE", findings: basic(basicFinding("CVE-1-1", "HIGH", "openssl", "3.0.1"))}},
				"COMPLETE", []string{"CVE-1-1"}, 4},
			{"basic failed", scan.Basic, []read{{status: "IN_PROGRESS"}, {status: "FAILED"}}, "FAILED", nil, 2},
			{"basic unsupported", scan.Basic, []read{{status: "UNSUPPORTED_IMAGE"}}, "UNSUPPORTED_IMAGE", nil, 1},
			{"enhanced needs two agreeing reads", scan.Enhanced, []read{
				{status: "PENDING"},
				{status: "ACTIVE", findings: enhanced(enhancedFinding("CVE-2-1", "CRITICAL", "YES", "zlib", "1.2", "1.3"))},
				{status: "ACTIVE", findings: enhanced(enhancedFinding("CVE-2-1", "CRITICAL", "YES", "zlib", "1.2", "1.3"), enhancedFinding("CVE-2-2", "LOW", "NO", "zlib", "1.2", ""))},
				{status: "ACTIVE", findings: enhanced(enhancedFinding("CVE-2-1", "CRITICAL", "YES", "zlib", "1.2", "1.3"), enhancedFinding("CVE-2-2", "LOW", "NO", "zlib", "1.2", ""))},
			}, "ACTIVE", []string{"CVE-2-1", "CVE-2-2"}, 4},
			{"enhanced eligibility expired", scan.Enhanced, []read{{status: "SCAN_ELIGIBILITY_EXPIRED"}}, "SCAN_ELIGIBILITY_EXPIRED", nil, 1},
			{"enhanced findings unavailable", scan.Enhanced, []read{{status: "PENDING"}, {status: "FINDINGS_UNAVAILABLE"}}, "FINDINGS_UNAVAILABLE", nil, 2},
			{"enhanced limit exceeded", scan.Enhanced, []read{{status: "LIMIT_EXCEEDED"}}, "LIMIT_EXCEEDED", nil, 1},
			{"enhanced complete (scan on push rule)", scan.Enhanced, []read{{status: "COMPLETE", findings: enhanced()}, {status: "COMPLETE", findings: enhanced()}}, "COMPLETE", nil, 2},
			{"throttling outlasting the SDK is retried", scan.Basic, []read{{err: apiErr("ThrottlingException", smithy.FaultClient)}, {err: apiErr("ServiceUnavailableException", smithy.FaultServer)}, {status: "COMPLETE", findings: basic()}}, "COMPLETE", nil, 3},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				api := &fakeAPI{reads: map[string][]read{dA: tt.script}}
				res, _, _, err := waitWith(t, start, api, tt.mode, []Target{{Digest: dA}})
				if err != nil {
					t.Fatal(err)
				}
				if res.Status() != tt.wantStatus || res.TimedOut {
					t.Errorf("status = %s (timed out %v), want %s", res.Status(), res.TimedOut, tt.wantStatus)
				}
				var ids []string
				for _, f := range res.Findings() {
					ids = append(ids, f.ID)
				}
				if diff := cmp.Diff(tt.wantIDs, ids); diff != "" {
					t.Errorf("finding IDs (-want +got):\n%s", diff)
				}
				if api.calls["Describe"] != tt.wantReads {
					t.Errorf("DescribeImageScanFindings calls = %d, want %d", api.calls["Describe"], tt.wantReads)
				}
			})
		}
	})
}

func TestWaitStopsAtOnceOnPermanentErrors(t *testing.T) {
	onEveryDate(t, func(t *testing.T, start time.Time) {
		for _, code := range []string{"AccessDeniedException", "ValidationException", "ImageNotFoundException", "RepositoryNotFoundException"} {
			t.Run(code, func(t *testing.T) {
				api := &fakeAPI{reads: map[string][]read{dA: {{err: apiErr(code, smithy.FaultClient)}, {status: "COMPLETE"}}}}
				_, c, _, err := waitWith(t, start, api, scan.Basic, []Target{{Digest: dA}})
				if err == nil || !strings.Contains(err.Error(), code) || !strings.Contains(err.Error(), "ecr:DescribeImageScanFindings") {
					t.Fatalf("err = %v; want %s naming the IAM action", err, code)
				}
				if api.calls["Describe"] != 1 || len(c.Sleeps()) != 0 {
					t.Errorf("%d calls, %d sleeps; want 1 call and no retry", api.calls["Describe"], len(c.Sleeps()))
				}
			})
		}
	})
}

func TestWaitTimeout(t *testing.T) {
	onEveryDate(t, func(t *testing.T, start time.Time) {
		api := &fakeAPI{reads: map[string][]read{dA: {{err: notFound}, {status: "IN_PROGRESS"}}}}
		res, c, _, err := waitWith(t, start, api, scan.Basic, []Target{{Digest: dA}}, func(o *Options) { o.Timeout = 2 * time.Minute })
		if err != nil {
			t.Fatal(err)
		}
		if !res.TimedOut || res.Status() != "IN_PROGRESS" || res.Waited != 2*time.Minute {
			t.Errorf("timed out %v, status %s, waited %s; want a timeout after 2m at IN_PROGRESS", res.TimedOut, res.Status(), res.Waited)
		}
		// Backoff: capped at 15 s, jittered down by at most half, never past the deadline.
		var total time.Duration
		for i, d := range c.Sleeps() {
			total += d
			if d > 15*time.Second || d <= 0 {
				t.Errorf("sleep %d = %s, want (0, 15s]", i, d)
			}
		}
		if total != 2*time.Minute {
			t.Errorf("slept %s in all, want exactly the 2m timeout", total)
		}
		if n := api.calls["Describe"]; n < 8 || n > 40 {
			t.Errorf("%d reads in 2 minutes; want between 8 and 40 (backoff from 1 s to 15 s)", n)
		}
	})
}

// TestWaitCallOutlivesTheTimeout: a read still under way when scan_timeout
// passes by the waiter's clock is cut off, and the wait ends as a timeout
// rather than an error. Each read's limit comes from the same clock as the
// timeout: a limit taken from the wall clock would never end here (the fake
// clock is the only one that moves), or would have ended before the first
// read on a date in the past.
func TestWaitCallOutlivesTheTimeout(t *testing.T) {
	onEveryDate(t, func(t *testing.T, start time.Time) {
		c := fakeclock.New(start)
		api := &fakeAPI{reads: map[string][]read{dA: {{status: "IN_PROGRESS"}}}}
		reads := 0
		api.during = func(ctx context.Context) error {
			reads++
			if ctx.Err() != nil {
				t.Errorf("read %d started with its context already ended", reads)
			}
			if reads == 2 {
				c.Advance(5 * time.Minute) // a read that hangs past the timeout
				if ctx.Err() == nil {
					t.Errorf("the read's context is still live 5m into a 2m timeout")
				}
				return ctx.Err()
			}
			return nil
		}
		res, err := Wait(context.Background(), api, Options{
			Repository: "app", Digest: dA, Targets: []Target{{Digest: dA}},
			Scanning: ScanningConfig{Mode: scan.Basic, Covered: true}, Timeout: 2 * time.Minute, Clock: c,
		})
		if err != nil {
			t.Fatal(err)
		}
		if !res.TimedOut || reads != 2 {
			t.Errorf("timed out %v after %d reads; want a timeout on the 2nd read", res.TimedOut, reads)
		}
		if c.Pending() != 0 {
			t.Errorf("%d read limits left running", c.Pending())
		}
	})
}

func TestWaitMultiArch(t *testing.T) {
	onEveryDate(t, func(t *testing.T, start time.Time) {
		api := &fakeAPI{reads: map[string][]read{
			dA: {{status: "IN_PROGRESS"}, {status: "COMPLETE", findings: basic(basicFinding("CVE-1-1", "HIGH", "openssl", "3.0.1"), basicFinding("CVE-1-2", "LOW", "zlib", "1"))}},
			dB: {{status: "COMPLETE", findings: basic(basicFinding("CVE-1-1", "HIGH", "openssl", "3.0.1"))}},
		}}
		res, _, _, err := waitWith(t, start, api, scan.Basic, []Target{{Platform: "linux/amd64", Digest: dA}, {Platform: "linux/arm64", Digest: dB}})
		if err != nil {
			t.Fatal(err)
		}
		fs := res.Findings()
		if len(fs) != 2 || fs[0].ID != "CVE-1-1" || !cmp.Equal(fs[0].Platforms, []string{"linux/amd64", "linux/arm64"}) || !cmp.Equal(fs[1].Platforms, []string{"linux/amd64"}) {
			t.Errorf("merged findings = %+v", fs)
		}
		// dB finished on the first read and is not read again.
		if api.calls["Describe"] != 3 {
			t.Errorf("%d reads, want 3", api.calls["Describe"])
		}
	})
}

func TestWaitPages(t *testing.T) {
	onEveryDate(t, func(t *testing.T, start time.Time) {
		api := &fakeAPI{reads: map[string][]read{dA: {
			{status: "COMPLETE", findings: basic(basicFinding("CVE-1-1", "HIGH", "a", "1")), next: "p2"},
			{status: "COMPLETE", findings: basic(basicFinding("CVE-1-2", "LOW", "b", "1"))},
		}}}
		res, _, _, err := waitWith(t, start, api, scan.Basic, []Target{{Digest: dA}})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(res.Findings()); n != 2 {
			t.Errorf("%d findings, want both pages' 2", n)
		}
	})
}

func TestWaitStart(t *testing.T) {
	onEveryDate(t, func(t *testing.T, start time.Time) {
		limit := &smithy.OperationError{ServiceID: "ECR", OperationName: "StartImageScan", Err: &types.LimitExceededException{Message: aws.String("quota")}}
		denied := &smithy.OperationError{ServiceID: "ECR", OperationName: "StartImageScan", Err: &smithy.GenericAPIError{Code: "AccessDeniedException"}}
		tests := []struct {
			name     string
			startErr error
			mode     scan.Mode
			wantErr  string
		}{
			{"started", nil, scan.Basic, ""},
			{"scanned today already", limit, scan.Basic, ""},
			{"denied", denied, scan.Basic, "ecr:StartImageScan"},
			{"enhanced cannot start", nil, scan.Enhanced, "no scanning rule covers app"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				api := &fakeAPI{startErr: tt.startErr, reads: map[string][]read{dA: {{status: "IN_PROGRESS"}, {status: "COMPLETE", findings: basic()}}}}
				res, _, log, err := waitWith(t, start, api, tt.mode, []Target{{Digest: dA}}, func(o *Options) { o.Start = true })
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("err = %v, want %q", err, tt.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if res.Status() != "COMPLETE" || len(api.starts) != 1 {
					t.Errorf("status %s after %d StartImageScan calls", res.Status(), len(api.starts))
				}
				if tt.startErr != nil && !strings.Contains(strings.Join(log, "\n"), "one scan per image per day") {
					t.Errorf("log %q does not explain the existing scan", log)
				}
			})
		}
	})
}

func TestConvertEnhanced(t *testing.T) {
	e := enhancedFinding("CVE-9-9", "UNTRIAGED", "PARTIAL", "libssl", "3.0.2", "")
	e.PackageVulnerabilityDetails.VulnerablePackages = append(e.PackageVulnerabilityDetails.VulnerablePackages,
		types.VulnerablePackage{Name: aws.String("openssl"), Version: aws.String("3.0.2"), Release: aws.String("1"), Epoch: aws.Int32(1), FixedInVersion: aws.String("1:3.0.3-1")})
	got := convert(enhanced(e), "linux/arm64")
	want := []scan.Finding{
		{ID: "CVE-9-9", Severity: scan.Undefined, Package: "libssl", InstalledVersion: "3.0.2", Fix: scan.FixNo, URI: "https://nvd.example/CVE-9-9", Score: 7.5, Platforms: []string{"linux/arm64"}},
		{ID: "CVE-9-9", Severity: scan.Undefined, Package: "openssl", InstalledVersion: "1:3.0.2-1", FixedVersion: "1:3.0.3-1", Fix: scan.FixYes, URI: "https://nvd.example/CVE-9-9", Score: 7.5, Platforms: []string{"linux/arm64"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestWaitCancelled(t *testing.T) {
	api := &fakeAPI{reads: map[string][]read{dA: {{status: "IN_PROGRESS"}}}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Wait(ctx, api, Options{Repository: "app", Targets: []Target{{Digest: dA}}, Scanning: ScanningConfig{Mode: scan.Basic}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestWaitStartMissing(t *testing.T) {
	onEveryDate(t, func(t *testing.T, start time.Time) {
		for _, mode := range []scan.Mode{scan.Basic, scan.Enhanced} {
			t.Run(string(mode), func(t *testing.T) {
				api := &fakeAPI{reads: map[string][]read{dA: {{err: notFound}, {status: "IN_PROGRESS"}, {status: "COMPLETE", findings: basic()}, {status: "COMPLETE", findings: basic()}}}}
				res, _, _, err := waitWith(t, start, api, mode, []Target{{Digest: dA}}, func(o *Options) { o.StartMissing = true })
				if err != nil {
					t.Fatal(err)
				}
				want := 1
				if mode == scan.Enhanced {
					want = 0 // StartImageScan starts basic scans only
				}
				if len(api.starts) != want || res.Status() != "COMPLETE" {
					t.Errorf("%d StartImageScan calls, status %s; want %d and COMPLETE", len(api.starts), res.Status(), want)
				}
			})
		}
	})
}

// TestWaitThrottledReadsAreNotRetriedTwice: a throttled read is retried by
// the client's retryer, then read again by Wait after its own delay. Each
// read gets pollAttempts from the client, not the client's whole budget,
// so throttling costs at most pollAttempts calls per poll.
func TestWaitThrottledReadsAreNotRetriedTwice(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"__type":"ThrottlingException","message":"Rate exceeded"}`)
	}))
	defer srv.Close()
	client := ecr.New(ecr.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 8
			o.MaxBackoff = time.Millisecond
		}),
	})
	c := fakeclock.New(time.Date(2099, 12, 31, 23, 0, 0, 0, time.UTC))
	var polls int
	var last string
	res, err := Wait(context.Background(), client, Options{
		Repository: "app", Digest: dA, Targets: []Target{{Digest: dA}},
		Scanning: ScanningConfig{Mode: scan.Basic, Covered: true}, Timeout: time.Minute,
		Clock: c,
		Logf: func(f string, a ...any) {
			last = fmt.Sprintf(f, a...)
			if strings.Contains(last, "ThrottlingException; retrying") {
				polls++
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.TimedOut {
		t.Errorf("a scan never readable must end at the timeout, got %+v", res)
	}
	if polls == 0 || calls != polls*pollAttempts {
		t.Errorf("%d calls in %d polls; want %d per poll", calls, polls, pollAttempts)
	}
	if !strings.Contains(last, "failed with ThrottlingException (ecr:DescribeImageScanFindings)") {
		t.Errorf("the last log line does not say the reads were throttled: %q", last)
	}
	t.Logf("%d DescribeImageScanFindings calls in %d polls over a 1 minute timeout", calls, polls)
}

// TestWaitSchedule: after a fresh push the first read is FirstRead in, then
// reads fall every 5 s from the start of the wait, not from the last read,
// so the wait returns at most one interval after the scan completes.
func TestWaitSchedule(t *testing.T) {
	onEveryDate(t, func(t *testing.T, start time.Time) {
		c := fakeclock.New(start)
		api := &timedScan{clock: c, done: start.Add(12 * time.Second)}
		var readAt []time.Duration
		api.fakeAPI.during = func(context.Context) error {
			readAt = append(readAt, c.Now().Sub(start))
			return nil
		}
		res, err := Wait(context.Background(), api, Options{
			Repository: "app", Digest: dA, Targets: []Target{{Digest: dA}},
			Scanning: ScanningConfig{Mode: scan.Basic, Covered: true}, Timeout: time.Minute,
			FirstRead: FreshPushFirstRead, Clock: c,
		})
		if err != nil || res.Status() != scan.StatusComplete {
			t.Fatalf("%v, %+v", err, res)
		}
		want := []time.Duration{time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second}
		if diff := cmp.Diff(want, readAt); diff != "" {
			t.Errorf("read times (-want +got):\n%s", diff)
		}
		if res.Waited != 15*time.Second {
			t.Errorf("waited %s, want 15s", res.Waited)
		}
	})
}

// TestWaitStartsAScanThatNeverCame: a push by digest alone that scan on push
// did not pick up gets a basic scan started StartAfter into the wait, once;
// enhanced scanning cannot start one and keeps waiting.
func TestWaitStartsAScanThatNeverCame(t *testing.T) {
	for _, mode := range []scan.Mode{scan.Basic, scan.Enhanced} {
		t.Run(string(mode), func(t *testing.T) {
			onEveryDate(t, func(t *testing.T, start time.Time) {
				api := &fakeAPI{reads: map[string][]read{dA: {{err: notFound}, {err: notFound}, {err: notFound}, {status: "IN_PROGRESS"}, {status: "COMPLETE", findings: basic()}}}}
				res, c, log, err := waitWith(t, start, api, mode, []Target{{Digest: dA}}, func(o *Options) {
					o.FirstRead, o.StartAfter, o.Timeout = FreshPushFirstRead, NoScanStartAfter, time.Minute
				})
				if err != nil {
					t.Fatal(err)
				}
				if mode == scan.Enhanced {
					if len(api.starts) != 0 {
						t.Errorf("%d StartImageScan calls with enhanced scanning", len(api.starts))
					}
					return
				}
				// Reads at 1 s and 5 s find no scan; the one at 10 s starts it.
				if len(api.starts) != 1 || res.Status() != "COMPLETE" {
					t.Fatalf("%d StartImageScan calls, status %s; want 1 and COMPLETE", len(api.starts), res.Status())
				}
				if !strings.Contains(strings.Join(log, "\n"), "no scan 10s after the push") {
					t.Errorf("log does not say why a scan was started: %q", log)
				}
				if w := c.Now().Sub(start); w != 20*time.Second {
					t.Errorf("waited %s, want 20s (start at 10 s, IN_PROGRESS at 15, COMPLETE at 20)", w)
				}
			})
		})
	}
}
