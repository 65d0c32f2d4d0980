// Command demo shows the action's main job end to end on this machine, with
// no AWS account and no Docker: it starts a local ECR (ecrlocal) on loopback,
// builds the action, runs it the way the GitHub runner runs a container
// action with the seed module's example inputs plus a daemonless build of
// testdata/demo/site, prints the outputs, the job summary and what the
// repository looks like through the ECR API, runs it again to show that an
// unchanged run writes nothing, then promotes the image with retag_from.
//
//	go run ./cmd/demo
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/org/ecr-action/internal/ecrlocal"
	"github.com/org/ecr-action/internal/logslocal"
	"github.com/org/ecr-action/internal/runner"
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

func run(ctx context.Context, out io.Writer) error {
	tmp, err := os.MkdirTemp("", "ecr-action-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	fmt.Fprintln(out, "== Building the action binary")
	bin := filepath.Join(tmp, "ecr-action")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/org/ecr-action/cmd/ecr-action")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = out, out
	if err := build.Run(); err != nil {
		return fmt.Errorf("building the action: %w", err)
	}

	// ecrlocal scans with a small, made-up vulnerability database; scans
	// stay IN_PROGRESS for 2 s, as real ones take a while.
	vulndb, err := ecrlocal.LoadVulnDB(filepath.Join("testdata", "scan", "vulndb.json"))
	if err != nil {
		return fmt.Errorf("run the demo from the repository root (it reads testdata/): %w", err)
	}
	srv, err := ecrlocal.New(ecrlocal.Options{DataDir: filepath.Join(tmp, "blobs"), VulnDB: vulndb, ScanDelay: 2 * time.Second})
	if err != nil {
		return fmt.Errorf("starting ecrlocal: %w", err)
	}
	defer srv.Close()
	logs := logslocal.New(logslocal.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: logs.Route(srv)}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	endpoint := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "== ecrlocal (a local ECR, with a local CloudWatch Logs) listening on %s\n", endpoint)

	// What a credentials step exports into the job's environment.
	awsEnv := map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDDEMO", "AWS_SECRET_ACCESS_KEY": "demo-secret", "AWS_REGION": "us-east-1",
		"AWS_ENDPOINT_URL_ECR": endpoint, "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": endpoint,
		"GITHUB_RUN_ID": "1001",
	}
	site, err := filepath.Abs(filepath.Join("testdata", "demo", "site"))
	if err != nil {
		return err
	}
	if _, err := os.Stat(site); err != nil {
		return fmt.Errorf("run the demo from the repository root (it reads testdata/demo): %w", err)
	}
	debian := filepath.Join("testdata", "scan", "debian")
	buildInputs := map[string]string{"base_image": "scratch", "files": "site:/srv/www", "cmd": `["/srv/www/index.html"]`}
	// The vulnerable image: a Debian package database whose openssl and
	// libssl3 have the made-up CRITICAL CVE-2099-0001.
	vulnInputs := map[string]string{"repository_name": "api", "base_image": "scratch", "files": "debian/var:/var",
		"sarif_file": "ecr-scan.sarif", "scan_log_group": "/ecr-action/scans"}
	until := time.Now().UTC().AddDate(0, 1, 0).Format(time.DateOnly)
	runs := []struct {
		title    string
		inputs   map[string]string
		wantExit int
	}{
		{"First run: the repository does not exist yet; build testdata/demo/site into an image, push it, wait for its scan (no findings) and tag it", with(seedInputs(), buildInputs), 0},
		{"Second run, same inputs: nothing to do (same digest, every tag in place, the scan already done)", with(seedInputs(), buildInputs), 0},
		{"Third run: promote the pushed image to v1.0.0 with retag_from (no layer moves)", with(seedInputs(), map[string]string{
			"retag_from": "0123456", "tag_sha": "false", "tag_latest": "false", "image_tags": "v1.0.0"}), 0},
		{"Fourth run: build testdata/scan/debian (a Debian package database with made-up vulnerabilities) into canvas-ta-production-api; the scan finds CRITICAL CVE-2099-0001, the gate fails and no tag is written", with(seedInputs(), vulnInputs), 1},
		{"Fifth run: accept CVE-2099-0001 until " + until + " with ignore_vulnerabilities; the gate passes and the withheld tags are written, with no upload", with(seedInputs(), with(vulnInputs, map[string]string{
			"ignore_vulnerabilities": "CVE-2099-0001 until " + until + "  # fixed in the next base image"})), 0},
	}
	for i, r := range runs {
		srv.ResetCalls()
		logs.ResetCalls()
		fmt.Fprintf(out, "\n== %s\n", r.title)
		root := filepath.Join(tmp, fmt.Sprintf("job%d", i+1))
		if err := os.CopyFS(filepath.Join(root, runner.Workspace, "site"), os.DirFS(site)); err != nil {
			return err
		}
		if err := os.CopyFS(filepath.Join(root, runner.Workspace, "debian"), os.DirFS(debian)); err != nil {
			return err
		}
		res, err := runner.Run(ctx, runner.Job{Binary: bin, Root: root, Inputs: r.inputs, Env: awsEnv})
		if err != nil {
			return err
		}
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
		if res.ExitCode != r.wantExit {
			return fmt.Errorf("the action exited %d, want %d", res.ExitCode, r.wantExit)
		}
		if i == 1 {
			reg := srv.RegistryCalls()
			if srv.WriteCalls() != 0 || reg["manifest.put"] != 0 || srv.UploadedBytes() != 0 {
				return fmt.Errorf("the second run wrote: %d ECR write calls, %d manifests, %d blob bytes; want none", srv.WriteCalls(), reg["manifest.put"], srv.UploadedBytes())
			}
		}
		if i == 2 && srv.UploadedBytes() != 0 {
			return fmt.Errorf("the retag uploaded %d blob bytes, want 0", srv.UploadedBytes())
		}
		if i == 3 && (res.Outputs["scan_gate"] != "failed" || res.Outputs["critical_count"] != "2" || srv.RegistryCalls()["manifest.put"] != 1) {
			return fmt.Errorf("the vulnerable image: gate %q, critical_count %q, %d manifest PUTs; want failed, 2 and 1 (the image by digest, no tag)",
				res.Outputs["scan_gate"], res.Outputs["critical_count"], srv.RegistryCalls()["manifest.put"])
		}
		if i == 4 && (res.Outputs["scan_gate"] != "passed" || srv.UploadedBytes() != 0 || srv.RegistryCalls()["manifest.put"] != 2) {
			return fmt.Errorf("with the ignore entry: gate %q, %d blob bytes, %d manifest PUTs; want passed, 0 and 2 (the tags)",
				res.Outputs["scan_gate"], srv.UploadedBytes(), srv.RegistryCalls()["manifest.put"])
		}
	}

	fmt.Fprintln(out, "\n== The repository, read back through the ECR API")
	client := ecr.New(ecr.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDDEMO", "demo-secret", ""),
	})
	name := "canvas-ta-production-app"
	repos, err := client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{name}})
	if err != nil {
		return err
	}
	r := repos.Repositories[0]
	fmt.Fprintf(out, "   uri=%s\n   scanOnPush=%v mutability=%s encryption=%s\n", aws.ToString(r.RepositoryUri),
		r.ImageScanningConfiguration.ScanOnPush, r.ImageTagMutability, r.EncryptionConfiguration.EncryptionType)
	lp, err := client.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(name)})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "   lifecycle policy: %s\n", aws.ToString(lp.LifecyclePolicyText))
	tags, err := client.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: r.RepositoryArn})
	if err != nil {
		return err
	}
	for _, t := range tags.Tags {
		fmt.Fprintf(out, "   tag %s=%s\n", aws.ToString(t.Key), aws.ToString(t.Value))
	}
	images, err := client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(name)})
	if err != nil {
		return err
	}
	for _, d := range images.ImageDetails {
		fmt.Fprintf(out, "   image %s tags %s\n", aws.ToString(d.ImageDigest), strings.Join(d.ImageTags, ","))
	}
	fmt.Fprintln(out, "\n== The scan log, read back from CloudWatch Logs (/ecr-action/scans)")
	for _, ev := range logs.Events("/ecr-action/scans", "canvas-ta-production-api") {
		fmt.Fprintf(out, "   %s\n", ev.Message)
	}
	fmt.Fprintln(out, "\nDemo finished: the action created the repository and pushed the image built from testdata/demo/site,\n"+
		"then found nothing to change, then promoted the image to v1.0.0 without moving a layer;\n"+
		"an image with a CRITICAL finding failed the scan gate and got no tag, until an ignore entry let it pass.")
	return nil
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
