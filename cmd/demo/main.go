// Command demo shows the action's main job end to end on this machine, with
// no AWS account and no Docker: it starts a local ECR (ecrlocal) on loopback,
// builds the action, runs it the way the GitHub runner runs a container
// action with the seed module's example inputs plus a daemonless build of
// testdata/demo/site, prints the outputs, the job summary and what the
// repository looks like through the ECR API, runs it again to show that an
// unchanged run writes nothing, then promotes the image with retag_from.
//
//	go run ./cmd/demo
//
// With -container IMAGE (and DOCKER_HOST naming a Docker engine), it does
// the same runs again, each as a container from IMAGE started exactly as
// the runner starts a container action, plus a push cancelled with docker
// stop and, with -daemon-image, a docker-daemon: source; exit codes,
// outputs, summaries and ECR calls must be the binary's. .ci/image does
// this with the image the release builds.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/org/ecr-action/internal/testing/slowupload"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/org/ecr-action/internal/testing/ecrlocal"
	"github.com/org/ecr-action/internal/testing/logslocal"
	"github.com/org/ecr-action/internal/testing/runner"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// seedInputs are the inputs of the seed module README's usage example.
func seedInputs() map[string]string {
	return map[string]string{
		"project_name": "canvas-ta", "environment": "production", "repository_name": "app",
		"enable_image_scanning": "true", "image_tag_mutability": "MUTABLE", "encryption_type": "AES256",
		"enable_lifecycle_policy": "true", "max_image_count": "30", "untagged_image_days": "7",
		"enable_cross_account_access": "false",
	}
}

// flags of the container comparison (.ci/image uses them).
var (
	containerImage = flag.String("container", "", "also run every run as a container from this image on the Docker engine at DOCKER_HOST, as the GitHub runner starts a container action, and check that exit codes, outputs, summaries and ECR calls are the same as the binary's")
	daemonImage    = flag.String("daemon-image", "", "with -container: an image the engine holds; one more run pushes it with source: docker-daemon:")
	stampVersion   = flag.String("version", "", "stamp the binary with this version (-ldflags -X main.version); with -container, the container's SARIF report must show it too")
)

func run(ctx context.Context, out io.Writer) error {
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	var ctr *runner.Container
	if *containerImage != "" {
		host := os.Getenv("DOCKER_HOST")
		if host == "" {
			return fmt.Errorf("-container needs DOCKER_HOST=unix:///path naming the engine's socket")
		}
		ctr = &runner.Container{Image: *containerImage, Host: host}
	} else if *daemonImage != "" {
		return fmt.Errorf("-daemon-image needs -container")
	}
	tmp, err := os.MkdirTemp("", "ecr-action-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	fmt.Fprintln(out, "== Building the action binary")
	bin := filepath.Join(tmp, "ecr-action")
	args := []string{"build", "-o", bin}
	if *stampVersion != "" {
		args = append(args, "-ldflags", "-X main.version="+*stampVersion)
	}
	build := exec.CommandContext(ctx, "go", append(args, "github.com/org/ecr-action/cmd/action")...)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = out, out
	if err := build.Run(); err != nil {
		return fmt.Errorf("building the action: %w", err)
	}
	direct, err := scenario(ctx, out, filepath.Join(tmp, "direct"), runner.Job{Binary: bin}, ctr != nil, true)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "\nDemo finished: the action created the repository and pushed the image built from testdata/demo/site,\n"+
		"then found nothing to change, then promoted the image to v1.0.0 without moving a layer;\n"+
		"an image with a CRITICAL finding failed the scan gate and got no tag, until an ignore entry let it pass.")
	if ctr == nil {
		return nil
	}

	fmt.Fprintf(out, "\n== The same runs, as containers from %s on the Docker engine at %s\n", ctr.Image, ctr.Host)
	inContainer, err := scenario(ctx, out, filepath.Join(tmp, "container"), runner.Job{Container: ctr}, true, false)
	if err != nil {
		return err
	}
	var diffs []string
	for i := range direct {
		d, c := direct[i], inContainer[i]
		if msg := c.differ(d); msg != "" {
			diffs = append(diffs, fmt.Sprintf("run %d (%s): %s", i+1, d.title, msg))
		} else {
			fmt.Fprintf(out, "   run %d: container = binary (exit %d, %d outputs, %d-byte summary, ECR %s, registry %s)\n", i+1, c.exit, len(c.outputs), len(c.summary), calls(c.ecrCalls), c.registryNote())
		}
	}
	if *stampVersion != "" && inContainer[3].sarifVersion != *stampVersion {
		diffs = append(diffs, fmt.Sprintf("the container's SARIF report says tool version %q, want the stamped %q", inContainer[3].sarifVersion, *stampVersion))
	} else if *stampVersion != "" {
		fmt.Fprintf(out, "   the container's SARIF report: tool version %s\n", inContainer[3].sarifVersion)
	}
	if len(diffs) > 0 {
		return fmt.Errorf("the container runs differ from the binary's:\n%s", strings.Join(diffs, "\n"))
	}
	fmt.Fprintf(out, "Container runs match the binary's: %d runs\n", len(direct))
	return nil
}

// record is what one run left, for comparing a container run with the
// binary's: the endpoint's host:port is replaced by ECRLOCAL.
type record struct {
	title        string
	exit         int
	outputs      map[string]string
	summary      string
	ecrCalls     map[string]int
	regCalls     map[string]int // nil for the cancelled push: how far it got is timing
	logsCalls    map[string]int
	writes       int
	uploaded     int64
	sarifVersion string
}

func (c record) differ(d record) string {
	var msgs []string
	if c.exit != d.exit {
		msgs = append(msgs, fmt.Sprintf("exit %d, binary %d", c.exit, d.exit))
	}
	if !maps.Equal(c.outputs, d.outputs) {
		msgs = append(msgs, fmt.Sprintf("outputs %v, binary %v", c.outputs, d.outputs))
	}
	if c.summary != d.summary {
		msgs = append(msgs, fmt.Sprintf("summary:\n%s\nbinary's:\n%s", c.summary, d.summary))
	}
	if !maps.Equal(polls(c.ecrCalls), polls(d.ecrCalls)) || c.writes != d.writes || !maps.Equal(c.logsCalls, d.logsCalls) {
		msgs = append(msgs, fmt.Sprintf("ECR calls %s (%d writes), logs %s; binary %s (%d writes), logs %s",
			calls(c.ecrCalls), c.writes, calls(c.logsCalls), calls(d.ecrCalls), d.writes, calls(d.logsCalls)))
	}
	if !maps.Equal(c.regCalls, d.regCalls) || (c.regCalls != nil && c.uploaded != d.uploaded) {
		msgs = append(msgs, fmt.Sprintf("registry %s, %d bytes; binary %s, %d bytes", calls(c.regCalls), c.uploaded, calls(d.regCalls), d.uploaded))
	}
	return strings.Join(msgs, "; ")
}

// polls counts DescribeImageScanFindings once: how often the scan waiter
// polls a scan that takes 2 s depends on timing, not on the way the action
// was started.
func polls(m map[string]int) map[string]int {
	out := maps.Clone(m)
	if out["DescribeImageScanFindings"] > 1 {
		out["DescribeImageScanFindings"] = 1
	}
	return out
}

// waited is the summary's scan wait, a duration that depends on timing.
var waited = regexp.MustCompile(`Waited: [0-9.]+[a-zµ]+`)

var digestPattern = regexp.MustCompile(`sha256:[0-9a-f]{64}`)

func (c record) registryNote() string {
	if c.regCalls == nil {
		return "not compared (a cancel lands at a different point of the upload)"
	}
	return fmt.Sprintf("%s, %d blob bytes", calls(c.regCalls), c.uploaded)
}

// scenario does the demo's runs against a new ecrlocal, each as job runs
// it (the binary, or a container), in directories under dir; with more, it
// adds a cancelled push and, with -daemon-image, a docker-daemon: push.
func scenario(ctx context.Context, out io.Writer, dir string, job runner.Job, more, verbose bool) ([]record, error) {
	// ecrlocal scans with a small, made-up vulnerability database; scans
	// stay IN_PROGRESS for 2 s, as real ones take a while.
	vulndb, err := ecrlocal.LoadVulnDB(filepath.Join("testdata", "scan", "vulndb.json"))
	if err != nil {
		return nil, fmt.Errorf("run the demo from the repository root (it reads testdata/): %w", err)
	}
	srv, err := ecrlocal.New(ecrlocal.Options{DataDir: filepath.Join(dir, "blobs"), VulnDB: vulndb, ScanDelay: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("starting ecrlocal: %w", err)
	}
	defer srv.Close()
	logs := logslocal.New(logslocal.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: logs.Route(srv)}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	endpoint := "http://" + ln.Addr().String()
	// The cancelled push goes through a registry that reads uploads slowly.
	slow := slowupload.New(srv)
	sln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ss := &http.Server{Handler: slow}
	go func() { _ = ss.Serve(sln) }()
	defer ss.Close()
	slowEndpoint := "http://" + sln.Addr().String()
	if verbose {
		fmt.Fprintf(out, "== ecrlocal (a local ECR, with a local CloudWatch Logs) listening on %s\n", endpoint)
	}

	// What a credentials step exports into the job's environment.
	awsEnv := map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDDEMO", "AWS_SECRET_ACCESS_KEY": "demo-secret", "AWS_REGION": "us-east-1",
		"AWS_ENDPOINT_URL_ECR": endpoint, "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": endpoint,
		"GITHUB_RUN_ID": "1001",
	}
	site, err := filepath.Abs(filepath.Join("testdata", "demo", "site"))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(site); err != nil {
		return nil, fmt.Errorf("run the demo from the repository root (it reads testdata/demo): %w", err)
	}
	debian := filepath.Join("testdata", "scan", "debian")
	buildInputs := map[string]string{"base_image": "scratch", "files": "site:/srv/www", "cmd": `["/srv/www/index.html"]`}
	// The vulnerable image: a Debian package database whose openssl and
	// libssl3 have the made-up CRITICAL CVE-2099-0001.
	vulnInputs := map[string]string{"repository_name": "api", "base_image": "scratch", "files": "debian/var:/var",
		"sarif_file": "ecr-scan.sarif", "scan_log_group": "/ecr-action/scans"}
	until := time.Now().UTC().AddDate(0, 1, 0).Format(time.DateOnly)
	type run struct {
		title    string
		inputs   map[string]string
		wantExit int
		env      map[string]string // over awsEnv
		cancel   bool              // cancel during the push
	}
	runs := []run{
		{title: "First run: the repository does not exist yet; build testdata/demo/site into an image, push it, wait for its scan (no findings) and tag it", inputs: with(seedInputs(), buildInputs)},
		{title: "Second run, same inputs: nothing to do (same digest, every tag in place, the scan already done)", inputs: with(seedInputs(), buildInputs)},
		{title: "Third run: promote the pushed image to v1.0.0 with retag_from (no layer moves)", inputs: with(seedInputs(), map[string]string{
			"retag_from": "0123456", "tag_sha": "false", "tag_latest": "false", "image_tags": "v1.0.0"})},
		{title: "Fourth run: build testdata/scan/debian (a Debian package database with made-up vulnerabilities) into canvas-ta-production-api; the scan finds CRITICAL CVE-2099-0001, the gate fails and no tag is written", inputs: with(seedInputs(), vulnInputs), wantExit: 1},
		{title: "Fifth run: accept CVE-2099-0001 until " + until + " with ignore_vulnerabilities; the gate passes and the withheld tags are written, with no upload", inputs: with(seedInputs(), with(vulnInputs, map[string]string{
			"ignore_vulnerabilities": "CVE-2099-0001 until " + until + "  # fixed in the next base image"}))},
	}
	if more {
		if *daemonImage != "" {
			var env map[string]string
			if job.Container == nil {
				// The binary reaches the engine through DOCKER_HOST; in the
				// container, through the mounted /var/run/docker.sock.
				env = map[string]string{"DOCKER_HOST": os.Getenv("DOCKER_HOST")}
			}
			runs = append(runs, run{
				title:  "docker-daemon: push " + *daemonImage + ", an image the Docker engine holds",
				inputs: with(seedInputs(), map[string]string{"repository_name": "daemon", "source": "docker-daemon:" + *daemonImage}),
				env:    env,
			})
		}
		// Last: an upload the cancel cut may still be draining into ecrlocal.
		runs = append(runs, run{
			title:  "Cancelled push: 16 MiB through a registry that reads uploads at about 1.6 MB/s, cancelled 300 ms into the upload; exit 1, no tag written",
			inputs: with(seedInputs(), map[string]string{"repository_name": "cancel", "base_image": "scratch", "files": "payload.bin:/payload.bin"}),
			env:    map[string]string{"AWS_ENDPOINT_URL_ECR": slowEndpoint}, wantExit: 1, cancel: true,
		})
	}
	// A payload that does not compress, the same bytes in every scenario.
	payload := make([]byte, 16<<20)
	_, _ = mrand.NewChaCha8([32]byte{'d', 'e', 'm', 'o'}).Read(payload)
	norm := strings.NewReplacer(strings.TrimPrefix(endpoint, "http://"), "ECRLOCAL", strings.TrimPrefix(slowEndpoint, "http://"), "ECRLOCAL")

	var records []record
	for i, r := range runs {
		srv.ResetCalls()
		logs.ResetCalls()
		if verbose {
			fmt.Fprintf(out, "\n== %s\n", r.title)
		}
		root := filepath.Join(dir, fmt.Sprintf("job%d", i+1))
		if err := os.CopyFS(filepath.Join(root, runner.Workspace, "site"), os.DirFS(site)); err != nil {
			return nil, err
		}
		if err := os.CopyFS(filepath.Join(root, runner.Workspace, "debian"), os.DirFS(debian)); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(root, runner.Workspace, "payload.bin"), payload, 0o644); err != nil {
			return nil, err
		}
		j := job
		j.Root, j.Inputs, j.Env = root, r.inputs, with(awsEnv, r.env)
		runCtx, cancel := context.WithCancel(ctx)
		var cancelledAt atomic.Pointer[time.Time]
		if r.cancel {
			j.Cancel = syscall.SIGTERM // what docker stop sends
			go func() {
				select {
				case <-slow.Started:
					time.Sleep(300 * time.Millisecond) // well into the upload
					now := time.Now()
					cancelledAt.Store(&now)
					cancel()
				case <-runCtx.Done():
				}
			}()
		}
		res, err := runner.Run(runCtx, j)
		exited := time.Now()
		cancel()
		if err != nil {
			return nil, err
		}
		rec := record{
			title: r.title, exit: res.ExitCode, outputs: map[string]string{}, summary: waited.ReplaceAllString(norm.Replace(res.Summary), "Waited: (timing)"),
			ecrCalls: srv.Calls(), regCalls: srv.RegistryCalls(), logsCalls: logs.Calls(),
			writes: srv.WriteCalls(), uploaded: srv.UploadedBytes(),
		}
		for k, v := range res.Outputs {
			rec.outputs[k] = norm.Replace(v)
		}
		// The SBOM names the binary's version as its creator, and the
		// provenance statement also records the run's start and finish
		// times, so their digests differ between the binary's runs and the
		// container's: compare them as placeholders.
		for _, k := range []string{"sbom_digest", "provenance_digest"} {
			for _, d := range digestPattern.FindAllString(res.Outputs[k], -1) {
				rec.summary = strings.ReplaceAll(rec.summary, d, "("+k+")")
				rec.outputs[k] = strings.ReplaceAll(rec.outputs[k], d, "("+k+")")
			}
		}
		if data, err := os.ReadFile(filepath.Join(root, runner.Workspace, "ecr-scan.sarif")); err == nil {
			var sarif struct {
				Runs []struct {
					Tool struct {
						Driver struct {
							Version string `json:"version"`
						} `json:"driver"`
					} `json:"tool"`
				} `json:"runs"`
			}
			if err := json.Unmarshal(data, &sarif); err == nil && len(sarif.Runs) > 0 {
				rec.sarifVersion = sarif.Runs[0].Tool.Driver.Version
			}
		}
		if verbose {
			fmt.Fprintf(out, "-- log\n%s", indent(res.Log))
			fmt.Fprintf(out, "-- exit code %d\n", res.ExitCode)
			fmt.Fprintln(out, "-- outputs")
			names := make([]string, 0, len(res.Outputs))
			for k := range res.Outputs {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				fmt.Fprintf(out, "   %s=%s\n", k, strings.ReplaceAll(res.Outputs[k], "\n", "\n     "))
			}
			fmt.Fprintf(out, "-- job summary\n%s", indent(res.Summary))
			fmt.Fprintf(out, "-- ECR API calls seen by ecrlocal: %s; write calls: %d\n", calls(srv.Calls()), srv.WriteCalls())
			fmt.Fprintf(out, "-- registry requests seen by ecrlocal: %s; blob bytes received: %d\n", calls(srv.RegistryCalls()), srv.UploadedBytes())
			if logs.WriteCalls() > 0 {
				fmt.Fprintf(out, "-- CloudWatch Logs calls seen: %s\n", calls(logs.Calls()))
			}
		}
		if res.ExitCode != r.wantExit {
			return nil, fmt.Errorf("%s: the action exited %d, want %d\n%s", r.title, res.ExitCode, r.wantExit, res.Log)
		}
		if i == 1 {
			reg := srv.RegistryCalls()
			if srv.WriteCalls() != 0 || reg["manifest.put"] != 0 || srv.UploadedBytes() != 0 {
				return nil, fmt.Errorf("the second run wrote: %d ECR write calls, %d manifests, %d blob bytes; want none", srv.WriteCalls(), reg["manifest.put"], srv.UploadedBytes())
			}
		}
		if i == 2 && srv.UploadedBytes() != 0 {
			return nil, fmt.Errorf("the retag uploaded %d blob bytes, want 0", srv.UploadedBytes())
		}
		if i == 3 && (res.Outputs["scan_gate"] != "failed" || res.Outputs["critical_count"] != "2" || srv.RegistryCalls()["manifest.put"] != 3) {
			return nil, fmt.Errorf("the vulnerable image: gate %q, critical_count %q, %d manifest PUTs; want failed, 2 and 3 (the image, its SBOM and its provenance by digest, no tag)",
				res.Outputs["scan_gate"], res.Outputs["critical_count"], srv.RegistryCalls()["manifest.put"])
		}
		if i == 4 && (res.Outputs["scan_gate"] != "passed" || srv.UploadedBytes() != 0 || srv.RegistryCalls()["manifest.put"] != 2) {
			return nil, fmt.Errorf("with the ignore entry: gate %q, %d blob bytes, %d manifest PUTs; want passed, 0 and 2 (the tags)",
				res.Outputs["scan_gate"], srv.UploadedBytes(), srv.RegistryCalls()["manifest.put"])
		}
		if r.cancel {
			at := cancelledAt.Load()
			if at == nil {
				return nil, fmt.Errorf("%s: the run ended (exit %d) before it was cancelled\n%s", r.title, res.ExitCode, res.Log)
			}
			took := exited.Sub(*at)
			fmt.Fprintf(out, "   cancelled push: exit %d %.1f s after the cancel\n", res.ExitCode, took.Seconds())
			if took > 15*time.Second || !strings.Contains(res.Summary, "Cancelled") || res.Outputs["image_tags"] != "" {
				return nil, fmt.Errorf("%s: stopped %s after the cancel, summary %q, image_tags %q; want within 15 s, Cancelled, none", r.title, took, res.Summary, res.Outputs["image_tags"])
			}
			tagged, err := taggedImages(ctx, endpoint, "canvas-ta-production-cancel")
			if err != nil {
				return nil, err
			}
			if tagged != 0 {
				return nil, fmt.Errorf("%s: %d tagged images in the repository after the cancel, want 0", r.title, tagged)
			}
			rec.regCalls, rec.uploaded = nil, 0
		}
		records = append(records, rec)
	}
	if !verbose {
		return records, nil
	}

	fmt.Fprintln(out, "\n== The repository, read back through the ECR API")
	client := ecrClient(endpoint)
	name := "canvas-ta-production-app"
	repos, err := client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{name}})
	if err != nil {
		return nil, err
	}
	r := repos.Repositories[0]
	fmt.Fprintf(out, "   uri=%s\n   scanOnPush=%v mutability=%s encryption=%s\n", aws.ToString(r.RepositoryUri),
		r.ImageScanningConfiguration.ScanOnPush, r.ImageTagMutability, r.EncryptionConfiguration.EncryptionType)
	lp, err := client.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(name)})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "   lifecycle policy: %s\n", aws.ToString(lp.LifecyclePolicyText))
	tags, err := client.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: r.RepositoryArn})
	if err != nil {
		return nil, err
	}
	for _, t := range tags.Tags {
		fmt.Fprintf(out, "   tag %s=%s\n", aws.ToString(t.Key), aws.ToString(t.Value))
	}
	images, err := client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(name)})
	if err != nil {
		return nil, err
	}
	for _, d := range images.ImageDetails {
		fmt.Fprintf(out, "   image %s tags %s\n", aws.ToString(d.ImageDigest), strings.Join(d.ImageTags, ","))
	}
	fmt.Fprintln(out, "\n== The scan log, read back from CloudWatch Logs (/ecr-action/scans)")
	for _, ev := range logs.Events("/ecr-action/scans", "canvas-ta-production-api") {
		fmt.Fprintf(out, "   %s\n", ev.Message)
	}
	return records, nil
}

func ecrClient(endpoint string) *ecr.Client {
	return ecr.New(ecr.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDDEMO", "demo-secret", ""),
	})
}

// taggedImages counts the images with a tag in a repository.
func taggedImages(ctx context.Context, endpoint, repo string) (int, error) {
	out, err := ecrClient(endpoint).DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repo),
		Filter: &types.DescribeImagesFilter{TagStatus: types.TagStatusTagged}})
	if err != nil {
		return 0, fmt.Errorf("listing the tagged images of %s: %w", repo, err)
	}
	return len(out.ImageDetails), nil
}

// with returns a copy of base with more inputs.
func with(base, more map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(more))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "   (empty)\n"
	}
	return "   " + strings.ReplaceAll(s, "\n", "\n   ") + "\n"
}

func calls(m map[string]int) string {
	names := make([]string, 0, len(m))
	for k, v := range m {
		names = append(names, fmt.Sprintf("%s×%d", k, v))
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}
