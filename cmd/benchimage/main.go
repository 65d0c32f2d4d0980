// Command benchimage is the helper of .ci/bench-push, which compares the
// action's image push with crane's and skopeo's against ecrlocal.
//
//	benchimage gen-docker-save -file F [-size 1073741824] [-layers 8]
//	benchimage login -ecr URL -docker-config DIR
//	benchimage create-repo -ecr URL NAME...
//	benchimage action-env -root DIR [input=value]...
//	benchimage calls -ecr URL [-save FILE] [-since FILE]
//
// gen-docker-save streams a `docker save` tarball of random, uncompressed
// layers to F; nothing is held whole in memory. login writes crane's
// config.json from ECR's GetAuthorizationToken and prints "HOST PASSWORD".
// action-env prints, NUL-separated, the environment the GitHub runner gives
// the action (every declared input, defaults filled in) with fresh
// file-command files under DIR. calls prints ecrlocal's registry request
// counters and the image round trips (registry requests plus the ECR API
// calls made instead of some, BatchGetImage), minus those saved in -since,
// on one line.
package main

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/org/ecr-action/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchimage:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: benchimage gen-docker-save|login|create-repo|action-env|calls [flags]")
	}
	fs := flag.NewFlagSet("benchimage "+args[0], flag.ContinueOnError)
	endpoint := fs.String("ecr", "", "ecrlocal URL (ECR API and registry)")
	switch args[0] {
	case "gen-docker-save":
		file := fs.String("file", "", "tarball to write")
		size := fs.Int64("size", 1<<30, "total bytes of layer content")
		layers := fs.Int("layers", 8, "number of layers")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *file == "" || *layers < 1 || *size < int64(*layers) {
			return errors.New("gen-docker-save needs -file, -layers >= 1 and -size >= layers")
		}
		return genDockerSave(*file, *size, *layers)
	case "login":
		dir := fs.String("docker-config", "", "directory for crane's config.json")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *endpoint == "" || *dir == "" {
			return errors.New("login needs -ecr and -docker-config")
		}
		return login(ctx, *endpoint, *dir, stdout)
	case "create-repo":
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *endpoint == "" || fs.NArg() == 0 {
			return errors.New("create-repo needs -ecr and a repository name")
		}
		c := client(*endpoint)
		for _, n := range fs.Args() {
			_, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(n)})
			var exists *types.RepositoryAlreadyExistsException
			if err != nil && !errors.As(err, &exists) {
				return fmt.Errorf("creating repository %q: %w", n, err)
			}
		}
		return nil
	case "action-env":
		root := fs.String("root", "", "job directory: workspace, home, file commands, runner temp")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *root == "" {
			return errors.New("action-env needs -root")
		}
		return actionEnv(*root, fs.Args(), stdout)
	case "calls":
		save := fs.String("save", "", "write the counters to this file")
		since := fs.String("since", "", "print the difference from the counters saved in this file")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *endpoint == "" {
			return errors.New("calls needs -ecr")
		}
		return calls(ctx, *endpoint, *save, *since, stdout)
	default:
		return fmt.Errorf("unknown subcommand %q", args[0])
	}
}

// genDockerSave writes a classic `docker save` tarball: n directories holding
// layer.tar (a tar of one file of random bytes, uncompressed), then the image
// config and manifest.json, as Docker writes them, so each layer's diff ID is
// known by the time the config is written.
func genDockerSave(file string, size int64, n int) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	seed := uint64(time.Now().UnixNano())
	var diffIDs, layerFiles []string
	for i := range n {
		src := rand.NewChaCha8([32]byte{byte(i), byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24), byte(seed >> 32)})
		id := sha256.Sum256(fmt.Appendf(nil, "layer %d %d", seed, i))
		name := hex.EncodeToString(id[:]) + "/layer.tar"
		d, err := writeLayer(tw, name, size/int64(n), src)
		if err != nil {
			return err
		}
		diffIDs = append(diffIDs, d)
		layerFiles = append(layerFiles, name)
	}
	cfg, err := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Cmd": []string{"/data.bin"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	if err != nil {
		return err
	}
	sum := sha256.Sum256(cfg)
	cfgName := hex.EncodeToString(sum[:]) + ".json"
	if err := addFile(tw, cfgName, cfg); err != nil {
		return err
	}
	manifest, err := json.Marshal([]map[string]any{{"Config": cfgName, "RepoTags": []string{"bench:latest"}, "Layers": layerFiles}})
	if err != nil {
		return err
	}
	if err := addFile(tw, "manifest.json", manifest); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}

// writeLayer streams a layer tar of one random file into tw as name and
// returns its diff ID. The inner tar's length is known in advance: a header
// block, the content padded to 512 bytes, two zero blocks.
func writeLayer(tw *tar.Writer, name string, size int64, src io.Reader) (string, error) {
	inner := 512 + (size+511)/512*512 + 1024
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: inner, ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}); err != nil {
		return "", err
	}
	h := sha256.New()
	lw := tar.NewWriter(io.MultiWriter(tw, h))
	if err := lw.WriteHeader(&tar.Header{Name: "data.bin", Mode: 0o644, Size: size, ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}); err != nil {
		return "", err
	}
	if _, err := io.CopyN(lw, src, size); err != nil {
		return "", fmt.Errorf("writing layer content: %w", err)
	}
	if err := lw.Close(); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

func addFile(tw *tar.Writer, name string, b []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err := tw.Write(b)
	return err
}

func client(endpoint string) *ecr.Client {
	return ecr.New(ecr.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDBENCH", "bench-secret", ""),
	})
}

// login writes DIR/config.json for crane from GetAuthorizationToken and
// prints the registry host and the password (for skopeo's --dest-creds).
func login(ctx context.Context, endpoint, dir string, stdout io.Writer) error {
	out, err := client(endpoint).GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return fmt.Errorf("getting the registry login: %w", err)
	}
	if len(out.AuthorizationData) == 0 {
		return errors.New("GetAuthorizationToken returned no authorization data")
	}
	d := out.AuthorizationData[0]
	token := aws.ToString(d.AuthorizationToken)
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return fmt.Errorf("decoding the authorization token: %w", err)
	}
	_, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return errors.New("the authorization token is not user:password")
	}
	host := aws.ToString(d.ProxyEndpoint)
	host = strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://")
	cfg, err := json.Marshal(map[string]any{"auths": map[string]any{host: map[string]string{"auth": token}}})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o600); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s %s\n", host, pass)
	return err
}

// actionEnv prints the environment the runner gives a container action, as
// internal/testing/runner builds it: runner variables, fresh file-command files, an
// event.json of a push to main, and every declared input.
func actionEnv(root string, inputs []string, stdout io.Writer) error {
	dirs := map[string]string{}
	for _, d := range []string{"workspace", "home", "workflow", "file_commands", "runner_temp"} {
		dirs[d] = filepath.Join(root, d)
		if err := os.MkdirAll(dirs[d], 0o755); err != nil {
			return err
		}
	}
	event := filepath.Join(dirs["workflow"], "event.json")
	if err := os.WriteFile(event, []byte(`{"ref":"refs/heads/main","repository":{"default_branch":"main","full_name":"org/app"}}`), 0o644); err != nil {
		return err
	}
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "CI": "true",
		"HOME": dirs["home"], "GITHUB_WORKSPACE": dirs["workspace"], "GITHUB_EVENT_PATH": event,
		"GITHUB_EVENT_NAME": "push", "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
		"GITHUB_REF": "refs/heads/main", "GITHUB_REF_NAME": "main", "GITHUB_REF_TYPE": "branch",
		"GITHUB_REPOSITORY": "org/app", "GITHUB_RUN_ID": "1", "GITHUB_RUN_NUMBER": "1", "GITHUB_RUN_ATTEMPT": "1",
		"GITHUB_SERVER_URL": "https://github.com", "GITHUB_API_URL": "https://api.github.com",
		"GITHUB_WORKFLOW_REF": "org/app/.github/workflows/deploy.yml@refs/heads/main",
		"GITHUB_ACTOR":        "octocat", "GITHUB_JOB": "deploy", "GITHUB_WORKFLOW": "deploy",
		"RUNNER_OS": "Linux", "RUNNER_ARCH": "X64", "RUNNER_TEMP": dirs["runner_temp"],
	}
	for _, name := range []string{"GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STATE", "GITHUB_STEP_SUMMARY", "GITHUB_PATH"} {
		p := filepath.Join(dirs["file_commands"], strings.ToLower(name))
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			return err
		}
		env[name] = p
	}
	for _, d := range config.Definitions() {
		env[config.EnvName(d.Name)] = d.Default
	}
	for _, in := range inputs {
		k, v, ok := strings.Cut(in, "=")
		if !ok {
			return fmt.Errorf("input %q is not name=value", in)
		}
		env[config.EnvName(k)] = v
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, err := fmt.Fprintf(stdout, "%s=%s\x00", k, env[k]); err != nil {
			return err
		}
	}
	return nil
}

// counters are ecrlocal's GET /_ecrlocal/registry-calls (Calls,
// UploadedBytes) and GET /_ecrlocal/calls (API).
type counters struct {
	Calls         map[string]int `json:"calls"`
	UploadedBytes int64          `json:"uploaded_bytes"`
	API           map[string]int `json:"api"`
}

// imageAPI are the ECR API operations the action calls for an image, in
// place of registry requests (tag lookups); they count as round trips.
var imageAPI = []string{"BatchGetImage"}

// calls prints "requests=N uploaded_bytes=B round_trips=R op=n ..." for the
// registry requests made since the counters saved in since (all of them
// without it); round_trips adds the ECR API calls of imageAPI, listed as
// api.Operation=n.
func calls(ctx context.Context, endpoint, save, since string, stdout io.Writer) error {
	get := func(path string, v any) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(endpoint, "/")+path, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", path, resp.Status)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	}
	var now counters
	if err := get("/_ecrlocal/registry-calls", &now); err != nil {
		return err
	}
	if err := get("/_ecrlocal/calls", &now.API); err != nil {
		return err
	}
	if save != "" {
		raw, err := json.Marshal(now)
		if err != nil {
			return err
		}
		if err := os.WriteFile(save, raw, 0o644); err != nil {
			return err
		}
	}
	if since == "" {
		return nil
	}
	b, err := os.ReadFile(since)
	if err != nil {
		return err
	}
	var before counters
	if err := json.Unmarshal(b, &before); err != nil {
		return fmt.Errorf("%s: %w", since, err)
	}
	total := 0
	var ops []string
	for op, n := range now.Calls {
		if d := n - before.Calls[op]; d != 0 {
			total += d
			ops = append(ops, fmt.Sprintf("%s=%d", op, d))
		}
	}
	trips := total
	for _, op := range imageAPI {
		if d := now.API[op] - before.API[op]; d != 0 {
			trips += d
			ops = append(ops, fmt.Sprintf("api.%s=%d", op, d))
		}
	}
	sort.Strings(ops)
	_, err = fmt.Fprintf(stdout, "requests=%d uploaded_bytes=%d round_trips=%d %s\n", total, now.UploadedBytes-before.UploadedBytes, trips, strings.Join(ops, " "))
	return err
}
