package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
)

// ecrlocalCommand is cmd/ecrlocal, built once for the tests that need it.
var ecrlocalCommand = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(buildDir, "ecrlocal")
	build := exec.Command("go", "build", "-o", bin, "../ecrlocal")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building ecrlocal: %v\n%s", err, b)
	}
	return bin, nil
})

// startEcrlocalCommand serves cmd/ecrlocal with args until the test ends;
// it returns the URL the command printed.
func startEcrlocalCommand(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := ecrlocalCommand()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-data", filepath.Join(dir, "data")}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "ecrlocal listening on ")
	if err != nil || !ok {
		t.Fatalf("first line %q (%v), want the URL", line, err)
	}
	return url
}

// TestFirstRunThroughCreateDelay runs the action's first run against the
// built ecrlocal with -create-delay, so the repository it creates answers
// RepositoryNotFoundException (API) and NAME_UNKNOWN (registry) for 2 s:
// both runs must succeed. The first has settings to write right after the
// create (lifecycle and repository policy: the API calls wait); the second
// has none, so its push is what meets the registry's NAME_UNKNOWN.
func TestFirstRunThroughCreateDelay(t *testing.T) {
	t.Parallel()
	const delay = 2 * time.Second
	url := startEcrlocalCommand(t, "-create-delay", delay.String())
	client := ecr.New(ecr.Options{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local-secret-key", "")})
	waited := regexp.MustCompile(`waited ([0-9.]+) s in all for the new repository to appear`)
	tried := regexp.MustCompile(`upload was tried (\d+) times over ([0-9.]+) s`)
	for _, tc := range []struct {
		name   string
		inputs []string
		want   *regexp.Regexp
	}{
		{"api", []string{"repository_name", "api", "enable_cross_account_access", "true", "allowed_account_ids", "012345678901"}, waited},
		{"registry", []string{"repository_name", "registry", "enable_lifecycle_policy", "false"}, tried},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sharedTest(t)
			j := newJob(t)
			img := faultImage(t, 2, 64<<10)
			writeOCI(t, j.workspace("out"), img)
			start := time.Now()
			out := runChecked(t, url, j, seedInputs(append([]string{"source", "oci:out"}, tc.inputs...)...), nil)
			took := time.Since(start)
			if out.ExitCode != 0 {
				t.Fatalf("first run with -create-delay %v: exit %d\n%s", delay, out.ExitCode, out.Log)
			}
			m := tc.want.FindStringSubmatch(out.Log)
			if m == nil {
				t.Fatalf("the log does not say the run waited for the new repository (%s)\n%s", tc.want, out.Log)
			}
			if took < delay {
				t.Errorf("the run took %v, less than the %v the repository was invisible", took, delay)
			}
			want := mustDigest(t, img)
			imgs, err := client.DescribeImages(context.Background(), &ecr.DescribeImagesInput{RepositoryName: aws.String(out.Outputs["repository_name"])})
			if err == nil {
				imgs.ImageDetails = withoutReferrers(imgs.ImageDetails) // its SBOM and provenance
			}
			if err != nil || len(imgs.ImageDetails) != 1 || aws.ToString(imgs.ImageDetails[0].ImageDigest) != want || out.Outputs["image_digest"] != want {
				t.Errorf("repository %q after the run: %v %+v, output image_digest %q; want the one image %s", out.Outputs["repository_name"], err, imgs, out.Outputs["image_digest"], want)
			}
			t.Logf("first run through -create-delay %v: exit 0 in %v; %q", delay, took.Round(time.Millisecond), m[0])
		})
	}
}
