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
	"errors"
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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/org/ecr-action/internal/ecrlocal"
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

	srv, err := ecrlocal.New(ecrlocal.Options{DataDir: filepath.Join(tmp, "blobs")})
	if err != nil {
		return fmt.Errorf("starting ecrlocal: %w", err)
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	endpoint := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "== ecrlocal (a local ECR) listening on %s\n", endpoint)

	// What a credentials step exports into the job's environment.
	awsEnv := map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDDEMO", "AWS_SECRET_ACCESS_KEY": "demo-secret", "AWS_REGION": "us-east-1",
		"AWS_ENDPOINT_URL_ECR": endpoint,
	}
	site, err := filepath.Abs(filepath.Join("testdata", "demo", "site"))
	if err != nil {
		return err
	}
	if _, err := os.Stat(site); err != nil {
		return fmt.Errorf("run the demo from the repository root (it reads testdata/demo): %w", err)
	}
	buildInputs := map[string]string{"base_image": "scratch", "files": "site:/srv/www", "cmd": `["/srv/www/index.html"]`}
	runs := []struct {
		title  string
		inputs map[string]string
	}{
		{"First run: the repository does not exist yet; build testdata/demo/site into an image and push it", with(seedInputs(), buildInputs)},
		{"Second run, same inputs: nothing to do (same digest, every tag in place)", with(seedInputs(), buildInputs)},
		{"Third run: promote the pushed image to v1.0.0 with retag_from (no layer moves)", with(seedInputs(), map[string]string{
			"retag_from": "0123456", "tag_sha": "false", "tag_latest": "false", "image_tags": "v1.0.0"})},
	}
	for i, r := range runs {
		srv.ResetCalls()
		fmt.Fprintf(out, "\n== %s\n", r.title)
		root := filepath.Join(tmp, fmt.Sprintf("job%d", i+1))
		if err := os.CopyFS(filepath.Join(root, runner.Workspace, "site"), os.DirFS(site)); err != nil {
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
		if res.ExitCode != 0 {
			return errors.New("the action failed")
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
	fmt.Fprintln(out, "\nDemo finished: the action created the repository and pushed the image built from testdata/demo/site,\nthen found nothing to change, then promoted the image to v1.0.0 without moving a layer.")
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
