package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/org/ecr-action/internal/awsauth"
	"github.com/org/ecr-action/internal/policy"
	"github.com/org/ecr-action/internal/testing/ecrlocal"
	"github.com/org/ecr-action/internal/testing/logslocal"
	"github.com/org/ecr-action/internal/testing/logslocal/logslocaltest"
	"github.com/org/ecr-action/internal/testing/runner"
	"github.com/org/ecr-action/internal/testing/stslocal"
	"github.com/org/ecr-action/internal/testing/stslocal/stslocaltest"
)

// A full run calls every AWS operation the action uses: role_to_assume
// through STS, a new repository with scan on push, lifecycle and
// cross-account policies and resource tags, a build pushed and scanned,
// its tags, and the scan result logged to CloudWatch Logs. The tests here
// throttle each of those operations in turn.

const (
	stsOp     = "AssumeRoleWithWebIdentity"
	logGroup  = "/ecr-action/scans"
	deployARN = "arn:aws:iam::123456789012:role/deploy"
)

// service is where an operation is answered.
type service string

const (
	svcECR  service = "ecr"
	svcLogs service = "logs"
	svcSTS  service = "sts"
)

// fullEnv is ecrlocal, logslocal and stslocal for one full run, STS behind
// a wrapper that can throttle AssumeRoleWithWebIdentity.
type fullEnv struct {
	*env
	logs *logslocaltest.Env
	sts  *stslocaltest.Env
	stsT *stsThrottle
	j    *job
}

// stsThrottle answers the next n STS calls with Throttling, in the STS
// query protocol, and counts every STS call; the OIDC token service goes
// straight through.
type stsThrottle struct {
	next http.Handler

	mu    sync.Mutex
	n     int
	calls int
}

func (s *stsThrottle) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != stslocal.TokenPath {
		s.mu.Lock()
		s.calls++
		throttle := s.n > 0
		if throttle {
			s.n--
		}
		s.mu.Unlock()
		if throttle {
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>throttle-1</RequestId></ErrorResponse>`)
			return
		}
	}
	s.next.ServeHTTP(w, r)
}

func (s *stsThrottle) throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n = n
}

func (s *stsThrottle) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func startFull(t *testing.T) *fullEnv {
	t.Helper()
	f := &fullEnv{env: startScanning(t, 0), logs: logslocaltest.Start(t), sts: stslocaltest.Start(t), j: vulnerableJob(t)}
	f.stsT = &stsThrottle{next: f.sts.Server}
	ts := httptest.NewServer(f.stsT)
	t.Cleanup(ts.Close)
	for k, v := range f.sts.Env() {
		f.j.env[k] = strings.Replace(v, f.sts.URL, ts.URL, 1)
	}
	f.j.env["AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"] = f.logs.URL
	return f
}

func fullInputs(extra ...string) map[string]string {
	return debianBuild(append([]string{
		"role_to_assume", deployARN,
		"enable_cross_account_access", "true", "allowed_account_ids", "012345678901",
		"fail_on_severity", "NONE",
		"scan_log_group", logGroup, "scan_log_retention_days", "14",
	}, extra...)...)
}

// run runs the action once; unlike runJob it makes no AWS call of its own,
// so the servers' counts are the action's alone.
func (f *fullEnv) run(t *testing.T, inputs map[string]string) (*runner.Outcome, time.Duration) {
	t.Helper()
	environ := map[string]string{"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_ECR": f.url}
	for k, v := range f.j.env {
		environ[k] = v
	}
	start := time.Now()
	out, err := runner.Run(context.Background(), runner.Job{Binary: actionBinary, Root: f.j.root, Inputs: inputs, Env: environ})
	took := time.Since(start)
	if err != nil {
		t.Fatalf("running the action: %v", err)
	}
	for _, secret := range f.sts.Server.Secrets().List() {
		for where, text := range map[string]string{"log": out.Log, "summary": out.Summary, "outputs": strings.Join(values(out.Outputs), "\n")} {
			if strings.Contains(text, secret) {
				t.Errorf("a secret reached the %s", where)
			}
		}
	}
	return out, took
}

// calls is every operation's count, keyed "service:Operation".
func (f *fullEnv) calls() map[string]int {
	out := map[string]int{}
	for op, n := range f.srv.Calls() {
		out[string(svcECR)+":"+op] = n
	}
	for op, n := range f.logs.Server.Calls() {
		out[string(svcLogs)+":"+op] = n
	}
	if n := f.stsT.count(); n > 0 {
		out[string(svcSTS)+":"+stsOp] = n
	}
	return out
}

func (f *fullEnv) throttle(op string, n int) {
	svc, name, _ := strings.Cut(op, ":")
	switch service(svc) {
	case svcECR:
		f.srv.Inject(name, ecrlocal.Fault{Count: n, Throttle: true})
	case svcLogs:
		f.logs.Server.Inject(name, logslocal.Fault{Count: n, Throttle: true})
	case svcSTS:
		f.stsT.throttle(n)
	}
}

// checkFullState checks what a successful full run leaves: the
// repository's settings and policies, both tags on the pushed digest, and
// one scan event in the log group.
func (f *fullEnv) checkFullState(t *testing.T, out *runner.Outcome) {
	t.Helper()
	ctx := context.Background()
	d, err := f.client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{repoName}})
	if err != nil {
		t.Fatal(err)
	}
	r := d.Repositories[0]
	if !r.ImageScanningConfiguration.ScanOnPush || r.ImageTagMutability != types.ImageTagMutabilityMutable || r.EncryptionConfiguration.EncryptionType != types.EncryptionTypeAes256 {
		t.Errorf("repository: scan=%v mutability=%s encryption=%s", r.ImageScanningConfiguration.ScanOnPush, r.ImageTagMutability, r.EncryptionConfiguration.EncryptionType)
	}
	if _, err := f.client.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(repoName)}); err != nil {
		t.Errorf("lifecycle policy: %v", err)
	}
	p, err := f.client.GetRepositoryPolicy(ctx, &ecr.GetRepositoryPolicyInput{RepositoryName: aws.String(repoName)})
	if err != nil {
		t.Errorf("repository policy: %v", err)
	} else if got := policy.OwnedStatementAccounts(aws.ToString(p.PolicyText)); !slices.Equal(got, []string{"012345678901"}) {
		t.Errorf("cross-account pull for %v, want [012345678901]", got)
	}
	tags, err := f.client.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: r.RepositoryArn})
	if err != nil || len(tags.Tags) != 3 {
		t.Errorf("resource tags %v (%v), want 3", tags, err)
	}
	digest := out.Outputs["image_digest"]
	if digest == "" || out.Outputs["scan_status"] != "COMPLETE" || out.Outputs["critical_count"] != "2" || out.Outputs["image_tags"] != shortSHA+",latest" {
		t.Errorf("outputs: digest %q, scan %q, critical %q, tags %q", digest, out.Outputs["scan_status"], out.Outputs["critical_count"], out.Outputs["image_tags"])
	}
	for _, tag := range []string{shortSHA, "latest"} {
		if got := f.digestOf(t, repoName+":"+tag); got != digest {
			t.Errorf("%s = %s, want %s", tag, got, digest)
		}
	}
	if ev := f.logs.Server.Events(logGroup, repoName); len(ev) != 1 {
		t.Errorf("%d scan log events, want 1", len(ev))
	}
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// fullScenarios are the repository states a full run starts from: none
// (the run creates it with every setting), and one whose every setting
// differs (the run updates each in place).
var fullScenarios = []struct {
	name  string
	setup func(t *testing.T, f *fullEnv)
}{
	{"new repository", func(*testing.T, *fullEnv) {}},
	{"drifted repository", func(t *testing.T, f *fullEnv) {
		createRepository(t, f.client, &ecr.CreateRepositoryInput{
			RepositoryName:             aws.String(repoName),
			ImageTagMutability:         types.ImageTagMutabilityImmutable,
			ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: false},
		})
		f.srv.ResetCalls()
	}},
}

// TestThrottlingOnEveryOperation throttles each operation of a full run,
// found from a clean run's calls, with a burst of 3: the run succeeds with
// the same end state, and the throttled operation is called at most a few
// times more than the burst.
func TestThrottlingOnEveryOperation(t *testing.T) {
	t.Parallel()
	const burst = 3
	for _, sc := range fullScenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			// The clean run holds a place among the shared tests; the
			// throttled runs below take their own.
			release := machine.share(t)
			clean := startFull(t)
			sc.setup(t, clean)
			out, took := clean.run(t, fullInputs())
			release()
			if out.ExitCode != 0 {
				t.Fatalf("clean run: exit %d\n%s", out.ExitCode, out.Log)
			}
			base := clean.calls() // before checkFullState's own calls
			clean.checkFullState(t, out)
			ops := sortedKeys(base)
			t.Logf("clean run in %.1fs, %d operations:", took.Seconds(), len(ops))
			for _, op := range ops {
				t.Logf("  %-40s %d", op, base[op])
			}
			for _, must := range []string{"sts:" + stsOp, "ecr:PutLifecyclePolicy", "ecr:SetRepositoryPolicy",
				"ecr:GetAuthorizationToken", "ecr:DescribeImageScanFindings", "logs:PutLogEvents"} {
				if base[must] == 0 {
					t.Errorf("the clean run did not call %s: the full run must reach every step", must)
				}
			}

			for _, op := range ops {
				t.Run(op, func(t *testing.T) {
					sharedTest(t)
					f := startFull(t)
					sc.setup(t, f)
					f.throttle(op, burst)
					out, took := f.run(t, fullInputs())
					got := f.calls()
					t.Logf("%s throttled %d times: exit %d in %.1fs, %d calls (clean run: %d)", op, burst, out.ExitCode, took.Seconds(), got[op], base[op])
					if out.ExitCode != 0 {
						t.Fatalf("exit %d\n%s", out.ExitCode, out.Log)
					}
					f.checkFullState(t, out)
					// Every throttled call is retried; a polled read (the
					// scan) may be read once or twice more than in the
					// clean run, as timing differs.
					if got[op] < burst+1 || got[op] > base[op]+burst+2 {
						t.Errorf("%s called %d times; want between %d and %d", op, got[op], burst+1, base[op]+burst+2)
					}
					if errs := errorAnnotations(out.RawLog); len(errs) != 0 {
						t.Errorf("a successful run has error annotations: %q", errs)
					}
				})
			}
		})
	}
}

// TestThrottlingBeyondTheRetryBudget: an operation throttled on every
// attempt fails the run with a "Throttled" annotation naming it, after
// exactly awsauth.MaxAttempts calls, and no tag is written.
func TestThrottlingBeyondTheRetryBudget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		op         string
		wantAction string
		wantTitle  string
	}{
		// Before any write: nothing changes.
		{"ecr:CreateRepository", "ecr:CreateRepository", "Throttled by ECR"},
		// After the push, before the tags: the image stays by digest.
		{"ecr:GetRegistryScanningConfiguration", "ecr:GetRegistryScanningConfiguration", "Throttled by ECR"},
		{"sts:" + stsOp, "sts:" + stsOp, "Throttled by STS"},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			// Up to 7 backoffs of up to 1, 2, 4, 8, 16, 20, 20 s:
			// the run sleeps.
			idleTest(t)
			f := startFull(t)
			f.throttle(tt.op, 1000)
			out, took := f.run(t, fullInputs())
			got := f.calls()
			t.Logf("%s always throttled: exit %d in %.1fs, %d calls\n%s", tt.op, out.ExitCode, took.Seconds(), got[tt.op], strings.Join(errorAnnotations(out.RawLog), "\n"))
			if out.ExitCode == 0 {
				t.Fatalf("exit 0 with %s always throttled\n%s", tt.op, out.Log)
			}
			errs := errorAnnotations(out.RawLog)
			if len(errs) != 1 || !strings.Contains(errs[0], "title="+tt.wantTitle) || !strings.Contains(errs[0], tt.wantAction+" was throttled") {
				t.Errorf("want one ::error %q naming %s, got %q", tt.wantTitle, tt.wantAction, errs)
			}
			if !strings.Contains(out.Summary, "throttled") {
				t.Errorf("the summary does not say what happened:\n%s", out.Summary)
			}
			if got[tt.op] != awsauth.MaxAttempts {
				t.Errorf("%s called %d times, want %d (the retry budget)", tt.op, got[tt.op], awsauth.MaxAttempts)
			}
			if n := f.srv.RegistryCalls()["manifest.put"]; n > 3 {
				t.Errorf("%d manifest PUTs; only the image and its SBOM and provenance by digest may be written", n)
			}
			if _, err := f.client.DescribeImages(context.Background(), &ecr.DescribeImagesInput{
				RepositoryName: aws.String(repoName), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("latest")}},
			}); err == nil {
				t.Error("latest was written by a run that failed")
			}
		})
	}
}

// TestScanFaultsAreBounded: a scan that never finishes, a failed scan, and
// a denied scan call each end the run with a clear error (or, for the
// registry configuration, the documented fallback) in bounded time, with
// a bounded number of calls: a denied call is made once.
func TestScanFaultsAreBounded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		arrange  func(e *env)
		inputs   []string
		op       string // the operation whose calls are counted
		maxCalls int
		wantExit int
		wantErr  []string // in the one ::error annotation; nil = none
		maxTime  time.Duration
	}{
		{"scan never finishes", func(e *env) { e.srv.ScanHook("", ecrlocal.ScanHook{Delay: 24 * time.Hour}) },
			[]string{"scan_timeout", "10s"}, "DescribeImageScanFindings", 12, 1,
			[]string{"title=Scan gate failed", "did not finish within scan_timeout"}, 45 * time.Second},
		// Each read gets 3 attempts, then the waiter's next poll: 3 per
		// poll, a few polls in 10 s.
		{"scan reads always throttled", func(e *env) {
			e.srv.Inject("DescribeImageScanFindings", ecrlocal.Fault{Count: 1000, Throttle: true})
		}, []string{"scan_timeout", "10s"}, "DescribeImageScanFindings", 20, 1,
			[]string{"title=Scan gate failed", "did not finish within scan_timeout"}, 45 * time.Second},
		{"scan FAILED", func(e *env) { e.srv.ScanHook("", ecrlocal.ScanHook{Status: "FAILED"}) },
			nil, "DescribeImageScanFindings", 3, 1,
			[]string{"title=Scan gate failed", "FAILED"}, 30 * time.Second},
		{"DescribeImageScanFindings denied", func(e *env) {
			e.srv.Inject("DescribeImageScanFindings", ecrlocal.Fault{Count: 100, Error: "AccessDeniedException"})
		}, []string{"fail_on_severity", "NONE"}, "DescribeImageScanFindings", 1, 1,
			[]string{"title=Permission denied", "ecr:DescribeImageScanFindings"}, 30 * time.Second},
		{"StartImageScan denied", func(e *env) {
			e.srv.Inject("StartImageScan", ecrlocal.Fault{Count: 100, Error: "AccessDeniedException"})
		}, []string{"enable_image_scanning", "false", "wait_for_scan", "true", "fail_on_severity", "NONE"}, "StartImageScan", 1, 1,
			[]string{"title=Permission denied", "ecr:StartImageScan"}, 30 * time.Second},
		{"GetRegistryScanningConfiguration denied: fallback", func(e *env) {
			e.srv.Inject("GetRegistryScanningConfiguration", ecrlocal.Fault{Count: 100, Error: "AccessDeniedException"})
		}, []string{"fail_on_severity", "NONE"}, "GetRegistryScanningConfiguration", 1, 0, nil, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sharedTest(t)
			e := startScanning(t, 0)
			tt.arrange(e)
			start := time.Now()
			out := e.runJob(t, vulnerableJob(t), debianBuild(tt.inputs...))
			took := time.Since(start)
			n := e.srv.Calls()[tt.op]
			errs := errorAnnotations(out.RawLog)
			t.Logf("exit %d in %.1fs, %d %s call(s); %s", out.ExitCode, took.Seconds(), n, tt.op, strings.Join(errs, "\n"))
			if out.ExitCode != tt.wantExit {
				t.Fatalf("exit %d, want %d\n%s", out.ExitCode, tt.wantExit, out.Log)
			}
			if n < 1 || n > tt.maxCalls {
				t.Errorf("%d %s calls, want 1 to %d", n, tt.op, tt.maxCalls)
			}
			if took > tt.maxTime {
				t.Errorf("took %s, want at most %s", took, tt.maxTime)
			}
			if tt.name == "scan reads always throttled" && !strings.Contains(out.Log, "failed with ThrottlingException (ecr:DescribeImageScanFindings)") {
				t.Errorf("the log does not say the scan reads were throttled:\n%s", out.Log)
			}
			if tt.wantErr == nil {
				if len(errs) != 0 || !strings.Contains(out.Log, "GetRegistryScanningConfiguration was denied") || out.Outputs["scan_status"] != "COMPLETE" {
					t.Errorf("want the fallback to the repository's setting, noted in the log, and a complete scan; errors %q, status %q", errs, out.Outputs["scan_status"])
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("want one ::error, got %q", errs)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(errs[0], s) {
					t.Errorf("the ::error lacks %q: %s", s, errs[0])
				}
			}
			// The gate could not pass: no tag names the image.
			if out.Outputs["image_tags"] != "" || e.srv.RegistryCalls()["manifest.put"] != 3 {
				t.Errorf("tags %q, %d manifest PUTs; want no tag, the image, its SBOM and provenance by digest only", out.Outputs["image_tags"], e.srv.RegistryCalls()["manifest.put"])
			}
		})
	}
}

// TestServiceQuotaIsNotRetried: the SDK counts LimitExceededException as
// throttling, but ECR raises it for a service quota (repositories per
// region): one call, and an error that does not say "throttled".
func TestServiceQuotaIsNotRetried(t *testing.T) {
	sharedTest(t)
	e := start(t)
	e.srv.Inject("CreateRepository", ecrlocal.Fault{Count: 100, Error: "LimitExceededException"})
	start := time.Now()
	out := e.run(t, seedInputs())
	errs := errorAnnotations(out.RawLog)
	t.Logf("exit %d in %.1fs, %d CreateRepository call(s); %s", out.ExitCode, time.Since(start).Seconds(), e.srv.Calls()["CreateRepository"], strings.Join(errs, "\n"))
	if out.ExitCode != 1 || len(errs) != 1 || !strings.Contains(errs[0], "LimitExceededException") || strings.Contains(errs[0], "Throttled") {
		t.Errorf("exit %d, errors %q; want 1 and one error naming LimitExceededException, not throttling", out.ExitCode, errs)
	}
	if n := e.srv.Calls()["CreateRepository"]; n != 1 {
		t.Errorf("%d CreateRepository calls, want 1: a quota is not retried", n)
	}
}
