package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-cmp/cmp"

	"github.com/org/ecr-action/internal/policy"
	"github.com/org/ecr-action/internal/testing/ecrlocal"
	"github.com/org/ecr-action/internal/testing/ecrlocal/ecrlocaltest"
	"github.com/org/ecr-action/internal/testing/runner"
)

// These tests build the action and run it as the runner would (internal/testing/runner)
// against ecrlocal, then check the outputs file, the summary file and the
// repository read back through the ECR API.

var (
	actionBinary string
	buildDir     string // where TestMain builds the action, and ecrlocalCommand cmd/ecrlocal
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ecr-action-e2e-")
	if err != nil {
		panic(err)
	}
	buildDir = dir
	actionBinary = filepath.Join(dir, "ecr-action")
	// Stamped as a release build is (see version in main.go).
	build := exec.Command("go", "build", "-ldflags", "-X main.version="+testVersion, "-o", actionBinary, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		panic("building the action: " + err.Error() + "\n" + string(out))
	}
	// ECR_ACTION_E2E_WRAP runs the binary under a command, e.g.
	// "/usr/bin/time -f MAXRSS_KB=%M" to measure each run's own peak memory
	// (runner.Outcome.MaxRSS is only an upper bound); the hostile tests log
	// the line it prints. Signals then reach the wrapper, not the action:
	// use it with -run Hostile, not with the cancel tests.
	if wrap := os.Getenv("ECR_ACTION_E2E_WRAP"); wrap != "" {
		script := filepath.Join(dir, "wrapped")
		if err := os.WriteFile(script, []byte("#!/bin/sh\nexec "+wrap+" "+actionBinary+"\n"), 0o755); err != nil {
			panic(err)
		}
		actionBinary = script
	}
	flag.Parse()
	machine.init()
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Running the end-to-end tests side by side.
//
// A run of the action spends most of its time waiting: for the create
// delay, a scan poll, a retry backoff, a timeout of a hostile case. So the
// tests run in parallel, many more at once than go test's default of
// GOMAXPROCS, and the machine is shared out here instead, in three kinds:
//
//   - sharedTest: most tests. At most maxShared of them run at once, so a
//     2-core machine is not swamped and the loopback servers answer in time.
//   - exclusiveTest: tests that need the machine to themselves: the 20
//     processes of a matrix build, and the SIGTERM test, which wants the
//     action stopped within 2 s. They run one at a time, with no shared test
//     beside them; shared tests wait until every exclusive test that was
//     announced has finished, so those go first.
//   - idleTest: tests whose runs sleep nearly all the time in the action's
//     own retry backoff (tens of seconds); they run beside anything.
//
// With an explicit -parallel N, go test's limit applies as usual: at most N
// tests at once, and exclusive tests do not go first (a waiting shared test
// would hold one of the N places an exclusive one needs).
var machine machineShare

// Limits of sharedTest: shared tests at once, and under the race detector,
// which makes every run several times heavier.
const (
	maxShared     = 20
	maxSharedRace = 4
	// unlimitedParallel stands for "no go test limit": the tests are
	// limited by machine.
	unlimitedParallel = 1000
)

type machineShare struct {
	mu        sync.Mutex
	cond      *sync.Cond
	maxShared int
	priority  bool // shared tests wait for the announced exclusive ones
	shared    int  // shared tests running
	exclusive bool // an exclusive test running
	announced int  // exclusive tests announced and not finished
}

// init sets the limits once the flags are parsed: without -parallel, go
// test's limit is lifted and machine's applies.
func (m *machineShare) init() {
	m.cond = sync.NewCond(&m.mu)
	m.maxShared = maxShared
	if raceEnabled {
		m.maxShared = maxSharedRace
	}
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if explicit {
		if n := flag.Lookup("test.parallel").Value.(flag.Getter).Get().(int); n < m.maxShared {
			m.maxShared = max(n, 1)
		}
		return
	}
	if err := flag.Set("test.parallel", fmt.Sprint(unlimitedParallel)); err != nil {
		panic(err)
	}
	m.priority = true
}

// share waits for a place among the shared tests and holds it until the
// returned function is called or t ends. A test whose parallel subtests
// share the machine must release its own place before they start.
func (m *machineShare) share(t *testing.T) (release func()) {
	t.Helper()
	m.mu.Lock()
	for m.exclusive || m.shared >= m.maxShared || (m.priority && m.announced > 0) {
		m.cond.Wait()
	}
	m.shared++
	m.mu.Unlock()
	release = sync.OnceFunc(func() {
		m.mu.Lock()
		m.shared--
		m.cond.Broadcast()
		m.mu.Unlock()
	})
	t.Cleanup(release)
	return release
}

// sharedTest runs t in parallel with the other shared tests, holding a
// place among them until it ends. For tests without parallel subtests.
func sharedTest(t *testing.T) {
	t.Helper()
	t.Parallel()
	machine.share(t)
}

// exclusiveTest runs t alone (but for idle tests), after the tests running
// when it starts, and before the shared tests that have not started.
func exclusiveTest(t *testing.T) {
	t.Helper()
	m := &machine
	m.mu.Lock()
	m.announced++ // before t.Parallel: while the tests are still being started one by one
	m.mu.Unlock()
	t.Parallel()
	m.mu.Lock()
	for m.exclusive || m.shared > 0 {
		m.cond.Wait()
	}
	m.exclusive = true
	m.mu.Unlock()
	t.Cleanup(func() {
		m.mu.Lock()
		m.exclusive = false
		m.announced--
		m.cond.Broadcast()
		m.mu.Unlock()
	})
}

// idleTest runs t in parallel with every other test: for a test whose
// runs sleep nearly all the time in the action's own backoff.
func idleTest(t *testing.T) {
	t.Helper()
	t.Parallel()
}

type env struct {
	srv    *ecrlocal.Server
	url    string
	client *ecr.Client
	iam    *ecrlocal.IAM // the IAM middleware in front of srv, when a test puts one there
}

func start(t *testing.T) *env {
	e := startECR(t, ecrlocal.Options{})
	return &env{srv: e.Server, url: e.URL, client: e.Client}
}

// createDelay is how long the ecrlocal of these tests hides a repository
// after CreateRepository: ECR creates repositories asynchronously, so every
// run that creates one must get through a window of RepositoryNotFoundException
// and NAME_UNKNOWN. Short, so the suite stays quick: a run still meets the
// window, as its first call after the create comes at once.
const createDelay = 250 * time.Millisecond

// startECR starts ecrlocal for an end-to-end test, with createDelay unless
// opts set a create delay of their own.
func startECR(t *testing.T, opts ecrlocal.Options) *ecrlocaltest.Env {
	t.Helper()
	if opts.CreateDelay == 0 {
		opts.CreateDelay = createDelay
	}
	return ecrlocaltest.StartWith(t, opts)
}

// createRepository creates a repository as another party would, before a
// run, and waits until ECR shows it, as that party's own tooling would.
func createRepository(t *testing.T, client *ecr.Client, in *ecr.CreateRepositoryInput) {
	t.Helper()
	ctx := context.Background()
	if _, err := client.CreateRepository(ctx, in); err != nil {
		t.Fatalf("CreateRepository(%s): %v", aws.ToString(in.RepositoryName), err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{aws.ToString(in.RepositoryName)}})
		var nf *types.RepositoryNotFoundException
		switch {
		case err == nil:
			return
		case !errors.As(err, &nf) || time.Now().After(deadline):
			t.Fatalf("waiting for repository %s to appear: %v", aws.ToString(in.RepositoryName), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *env) run(t *testing.T, inputs map[string]string) *runner.Outcome {
	t.Helper()
	out, err := runner.Run(context.Background(), runner.Job{
		Binary: actionBinary, Root: t.TempDir(), Inputs: inputs,
		Env: map[string]string{
			"AWS_ACCESS_KEY_ID": ecrlocaltest.AccessKeyID, "AWS_SECRET_ACCESS_KEY": ecrlocaltest.SecretAccessKey,
			"AWS_SESSION_TOKEN": "test-session-token", "AWS_REGION": ecrlocaltest.Region,
			"AWS_ENDPOINT_URL_ECR": e.url,
		},
	})
	if err != nil {
		t.Fatalf("running the action: %v", err)
	}
	checkNoSecrets(t, out, append([]string{ecrlocaltest.SecretAccessKey, "test-session-token"}, e.srv.RegistryPasswords()...))
	return out
}

// checkNoSecrets fails the test when a secret appears in what the process
// wrote: the raw log (outside its own ::add-mask:: line; the log the runner
// shows would hide it, so the raw one is searched), the summary or an output.
func checkNoSecrets(t *testing.T, out *runner.Outcome, secrets []string) {
	t.Helper()
	var log []string
	for _, line := range strings.Split(out.RawLog, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "::add-mask::") {
			log = append(log, line)
		}
	}
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		for where, text := range map[string]string{"log": strings.Join(log, "\n"), "summary": out.Summary, "outputs": strings.Join(values(out.Outputs), "\n")} {
			if strings.Contains(text, secret) {
				t.Errorf("a secret reached the %s", where)
			}
		}
	}
}

// resourceTags reads a repository's resource tags as sorted "key=value".
func (e *env) resourceTags(t *testing.T, arn *string) []string {
	t.Helper()
	tags, err := e.client.ListTagsForResource(context.Background(), &ecr.ListTagsForResourceInput{ResourceArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range tags.Tags {
		got = append(got, aws.ToString(tg.Key)+"="+aws.ToString(tg.Value))
	}
	sort.Strings(got)
	return got
}

func values(m map[string]string) []string {
	var v []string
	for _, s := range m {
		v = append(v, s)
	}
	return v
}

func seedInputs(extra ...string) map[string]string {
	in := map[string]string{
		"project_name": "canvas-ta", "environment": "production", "repository_name": "app",
		"enable_image_scanning": "true", "image_tag_mutability": "MUTABLE", "encryption_type": "AES256",
		"enable_lifecycle_policy": "true", "max_image_count": "30", "untagged_image_days": "7",
		"enable_cross_account_access": "false", "allowed_account_ids": "",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		in[extra[i]] = extra[i+1]
	}
	return in
}

func TestSeedExampleEndToEnd(t *testing.T) {
	sharedTest(t)
	e := start(t)
	ctx := context.Background()
	out := e.run(t, seedInputs())
	if out.ExitCode != 0 {
		t.Fatalf("exit %d\n%s", out.ExitCode, out.Log)
	}
	host := strings.TrimPrefix(e.url, "http://")
	want := map[string]string{
		"repository_url":          host + "/canvas-ta-production-app",
		"repository_arn":          "arn:aws:ecr:us-east-1:123456789012:repository/canvas-ta-production-app",
		"repository_name":         "canvas-ta-production-app",
		"registry_id":             "123456789012",
		"repository_registry_url": host,
		"scan_gate":               "skipped", // no image
		"signature_status":        "skipped",
		"replication_status":      "skipped",
		"replicated_image_uris":   "",
	}
	if diff := cmp.Diff(want, out.Outputs); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	for _, s := range []string{"## Repository", "canvas-ta-production-app", "created", "Lifecycle policy"} {
		if !strings.Contains(out.Summary, s) {
			t.Errorf("summary lacks %q:\n%s", s, out.Summary)
		}
	}

	// The repository, read back through the ECR API.
	d, err := e.client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"canvas-ta-production-app"}})
	if err != nil {
		t.Fatal(err)
	}
	r := d.Repositories[0]
	if !r.ImageScanningConfiguration.ScanOnPush || r.ImageTagMutability != types.ImageTagMutabilityMutable || r.EncryptionConfiguration.EncryptionType != types.EncryptionTypeAes256 {
		t.Errorf("scan=%v mutability=%s encryption=%s", r.ImageScanningConfiguration.ScanOnPush, r.ImageTagMutability, r.EncryptionConfiguration.EncryptionType)
	}
	if diff := cmp.Diff([]string{"Environment=production", "ManagedBy=ecr-action", "Project=canvas-ta"}, e.resourceTags(t, r.RepositoryArn)); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	lp, err := e.client.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String("canvas-ta-production-app")})
	if err != nil {
		t.Fatal(err)
	}
	var p policy.LifecyclePolicy
	if err := json.Unmarshal([]byte(aws.ToString(lp.LifecyclePolicyText)), &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Rules) != 2 ||
		p.Rules[0].Selection.TagStatus != "untagged" || p.Rules[0].Selection.CountNumber != 7 || p.Rules[0].Selection.CountUnit != "days" ||
		p.Rules[1].Selection.TagStatus != "any" || p.Rules[1].Selection.CountNumber != 30 || p.Rules[1].RulePriority <= p.Rules[0].RulePriority {
		t.Errorf("lifecycle policy is not 'untagged after 7 days, keep last 30, any last': %s", aws.ToString(lp.LifecyclePolicyText))
	}

	// A second identical run makes zero write calls.
	e.srv.ResetCalls()
	out = e.run(t, seedInputs())
	if out.ExitCode != 0 {
		t.Fatalf("second run exit %d\n%s", out.ExitCode, out.Log)
	}
	if w := e.srv.WriteCalls(); w != 0 {
		t.Errorf("second run made %d write calls: %v", w, e.srv.Calls())
	}
	if !strings.Contains(out.Summary, "unchanged") {
		t.Errorf("second summary does not say unchanged:\n%s", out.Summary)
	}
}

func TestCrossAccountEndToEnd(t *testing.T) {
	sharedTest(t)
	e := start(t)
	ctx := context.Background()
	if out := e.run(t, seedInputs()); out.ExitCode != 0 {
		t.Fatalf("exit %d\n%s", out.ExitCode, out.Log)
	}
	people := `{"Version":"2012-10-17","Statement":[{"Sid":"DeployRole","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/deploy"},"Action":"ecr:*"}]}`
	if _, err := e.client.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RepositoryName: aws.String("canvas-ta-production-app"), PolicyText: aws.String(people)}); err != nil {
		t.Fatal(err)
	}
	out := e.run(t, seedInputs("enable_cross_account_access", "true", "allowed_account_ids", "012345678901, 210987654321"))
	if out.ExitCode != 0 {
		t.Fatalf("exit %d\n%s", out.ExitCode, out.Log)
	}
	got, err := e.client.GetRepositoryPolicy(ctx, &ecr.GetRepositoryPolicyInput{RepositoryName: aws.String("canvas-ta-production-app")})
	if err != nil {
		t.Fatal(err)
	}
	text := aws.ToString(got.PolicyText)
	if diff := cmp.Diff([]string{"012345678901", "210987654321"}, policy.OwnedStatementAccounts(text)); diff != "" {
		t.Errorf("pull statement accounts (-want +got):\n%s", diff)
	}
	if rest, _ := policy.MergeCrossAccount(text, "aws", nil); !policy.EqualRepositoryPolicies(rest, people) {
		t.Errorf("the existing statement was not kept: %s", text)
	}
}

func TestInvalidInputsChangeNothing(t *testing.T) {
	sharedTest(t)
	anyFirst := `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":30},"action":{"type":"expire"}},{"rulePriority":2,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":7},"action":{"type":"expire"}}]}`
	tests := []struct {
		name  string
		input string
		value string
		extra []string
	}{
		{"mutability", "image_tag_mutability", "READ_ONLY", nil},
		{"encryption type", "encryption_type", "DES", nil},
		{"KMS ARN", "kms_key_arn", "not-an-arn", []string{"encryption_type", "KMS"}},
		{"account ID", "allowed_account_ids", "12345", []string{"enable_cross_account_access", "true"}},
		{"lifecycle any not last", "lifecycle_policy", anyFirst, nil},
		{"negative count", "max_image_count", "-3", nil},
		{"upper-case repository", "repository", "My-App", nil},
		{"missing project", "project_name", "", nil},
	}
	e := start(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.srv.ResetCalls()
			in := seedInputs(append([]string{tt.input, tt.value}, tt.extra...)...)
			out := e.run(t, in)
			if out.ExitCode == 0 {
				t.Fatalf("exit 0 for invalid %s", tt.input)
			}
			if !strings.Contains(out.Log, "::error title=Invalid input "+tt.input) {
				t.Errorf("no error annotation naming %s:\n%s", tt.input, out.Log)
			}
			if !strings.Contains(out.Summary, tt.input) {
				t.Errorf("summary does not name %s:\n%s", tt.input, out.Summary)
			}
			if n := len(e.srv.Calls()); n != 0 {
				t.Errorf("invalid input reached ECR: %v", e.srv.Calls())
			}
		})
	}
}

func TestEncryptionDriftWarnsAndSucceeds(t *testing.T) {
	sharedTest(t)
	e := start(t)
	createRepository(t, e.client, &ecr.CreateRepositoryInput{
		RepositoryName:          aws.String("canvas-ta-production-app"),
		EncryptionConfiguration: &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeKms},
	})
	e.srv.ResetCalls()
	out := e.run(t, seedInputs())
	if out.ExitCode != 0 {
		t.Fatalf("exit %d\n%s", out.ExitCode, out.Log)
	}
	if !strings.Contains(out.Log, "::warning title=Encryption drift::") {
		t.Errorf("no drift warning annotation:\n%s", out.Log)
	}
	if !strings.Contains(out.Summary, "drift") {
		t.Errorf("summary does not show the drift:\n%s", out.Summary)
	}
	if c := e.srv.Calls(); c["CreateRepository"]+c["DeleteRepository"] != 0 {
		t.Errorf("drift led to re-creation: %v", c)
	}
}

// raceEnabled is set under the race detector (race_e2e_test.go).
var raceEnabled bool
