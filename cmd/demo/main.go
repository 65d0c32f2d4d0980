// Command demo shows the action's main job end to end on this machine, with
// no AWS account and no Docker: it starts a local ECR (ecrlocal) on loopback,
// builds the action, runs it the way the GitHub runner runs a container
// action with the seed module's example inputs, prints the outputs, the job
// summary and what the repository looks like through the ECR API, then runs
// it again to show that an unchanged run makes no write call.
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
	for i, title := range []string{"First run: the repository does not exist yet", "Second run, same inputs: nothing to do"} {
		srv.ResetCalls()
		fmt.Fprintf(out, "\n== %s\n", title)
		res, err := runner.Run(ctx, runner.Job{
			Binary: bin, Root: filepath.Join(tmp, fmt.Sprintf("job%d", i+1)),
			Inputs: seedInputs(), Env: awsEnv,
		})
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
			fmt.Fprintf(out, "   %s=%s\n", k, res.Outputs[k])
		}
		fmt.Fprintf(out, "-- job summary\n%s", indent(res.Summary))
		fmt.Fprintf(out, "-- ECR API calls seen by ecrlocal: %s; write calls: %d\n", calls(srv.Calls()), srv.WriteCalls())
		if res.ExitCode != 0 {
			return errors.New("the action failed")
		}
		if i == 1 && srv.WriteCalls() != 0 {
			return fmt.Errorf("the second run made %d write calls, want 0", srv.WriteCalls())
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
	fmt.Fprintln(out, "\nDemo finished: the action created the repository, then found nothing to change.")
	return nil
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
