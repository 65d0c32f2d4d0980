package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/org/ecr-action/internal/testing/ecrlocal"
	"github.com/org/ecr-action/internal/testing/ecrlocal/ecrlocaltest"
	"github.com/org/ecr-action/internal/testing/logslocal/logslocaltest"
	"github.com/org/ecr-action/internal/testing/runner"
	"github.com/org/ecr-action/internal/testing/stslocal/stslocaltest"
)

// These tests run the action with role_to_assume against a local OIDC token
// service and STS (stslocal), ecrlocal behind a front door that sees every
// credential the action sends, and logslocal, with step debug logging on.
// After each run they search everything the action wrote for every secret
// it had: the only place a secret may appear is its own ::add-mask:: line,
// and that line must come before any other line of the step that obtained
// it.

const (
	secretsRole  = "arn:aws:iam::123456789012:role/deploy"
	secretsGroup = "/ecr-action/scans"
	ecrTarget    = "AmazonEC2ContainerRegistry_V20150921."
	// Groups (the ::group:: titles main writes) in which secrets arrive.
	credentialsGroup = "AWS credentials"
	imageGroup       = "Image"
	// pushGroup starts the title of the push step's group ("Push <repository
	// URL>"), where a registry token renewed mid-push is obtained.
	pushGroup = "Push "
)

// secret is a value that must not leak. obtained is where the action gets
// it: "" for the environment (masked before the first line), else the title
// (or the start of the title) of the log group whose first lines must be its
// mask. mustMask is false for
// a secret the run never gets (its mask is not required, a leak still is).
type secret struct {
	name, value, obtained string
	mustMask              bool
}

// writings is everything a run wrote: the raw log and named texts (files,
// log events, registry content, API state).
type writings struct {
	rawLog string
	texts  map[string]string
}

// frontDoor stands between the action and ecrlocal. It records the
// credentials the action sends (so the test knows the registry password
// without trusting the action's masks) and can behave like a careless
// server that repeats credentials in its error messages.
type frontDoor struct {
	next http.Handler

	mu             sync.Mutex
	basic          map[string]bool // Basic credentials seen by the registry, base64 as sent
	basicOrder     []string        // the keys of basic, in the order first seen
	sessionTokens  map[string]bool // X-Amz-Security-Token values seen by the ECR API
	rejectRegistry bool            // answer 401 to authenticated registry requests but HEAD, echoing the credentials
	denyOperation  string          // ECR operation to answer AccessDenied, echoing the credentials
}

func (f *frontDoor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	auth := r.Header.Get("Authorization")
	reject, deny := f.rejectRegistry, f.denyOperation
	if strings.HasPrefix(r.URL.Path, "/v2") {
		if b64, ok := strings.CutPrefix(auth, "Basic "); ok {
			if !f.basic[b64] {
				f.basicOrder = append(f.basicOrder, b64)
			}
			f.basic[b64] = true
		}
	} else if tok := r.Header.Get("X-Amz-Security-Token"); tok != "" {
		f.sessionTokens[tok] = true
	}
	f.mu.Unlock()

	// HEAD answers have no body: let tag lookups through, refuse the push.
	if strings.HasPrefix(r.URL.Path, "/v2") && reject && auth != "" && r.Method != http.MethodHead {
		raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth, "Basic "))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Basic realm="http://%s/",service="ecr.amazonaws.com"`, r.Host))
		w.WriteHeader(http.StatusUnauthorized)
		msg := fmt.Sprintf("credentials %q (%s, in a URL %s) are not valid here", auth, raw, url.QueryEscape(string(raw)))
		_ = json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]string{"code": "UNAUTHORIZED", "message": msg}}})
		return
	}
	if deny != "" && r.Header.Get("X-Amz-Target") == ecrTarget+deny {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException")
		w.WriteHeader(http.StatusBadRequest)
		msg := fmt.Sprintf("User with session token %s and %s is not authorized to perform ecr:%s", r.Header.Get("X-Amz-Security-Token"), auth, deny)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": "AccessDeniedException", "message": msg})
		return
	}
	f.next.ServeHTTP(w, r)
}

// registrySecrets returns the ECR authorization tokens and the passwords in
// them that the registry received, in the order it first saw them (so the
// first is the run's first login, any later one a renewal).
func (f *frontDoor) registrySecrets(t *testing.T) (tokens, passwords []string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, b64 := range f.basicOrder {
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			t.Fatalf("registry Basic credentials are not base64")
		}
		_, pass, ok := strings.Cut(string(raw), ":")
		if !ok {
			t.Fatalf("registry Basic credentials are not user:password")
		}
		tokens = append(tokens, b64)
		passwords = append(passwords, pass)
	}
	return tokens, passwords
}

// misbehave sets how the front door answers from now on.
func (f *frontDoor) misbehave(rejectRegistry bool, denyOperation string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rejectRegistry, f.denyOperation = rejectRegistry, denyOperation
}

func (f *frontDoor) sawSessionToken(tok string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sessionTokens[tok]
}

// secretsRig is one test's servers and the environment of its runs.
type secretsRig struct {
	ecr     *ecrlocaltest.Env
	dataDir string
	door    *frontDoor
	url     string // the front door: AWS_ENDPOINT_URL_ECR and the registry
	logs    *logslocaltest.Env
	sts     *stslocaltest.Env
	env     map[string]string
	calls   map[string]int // ECR API calls of the last run, before the test's own reads
	envKey  string         // AWS_SECRET_ACCESS_KEY of the credentials step
	envTok  string         // AWS_SESSION_TOKEN of the credentials step
}

func startSecretsRig(t *testing.T) *secretsRig {
	t.Helper()
	db, err := ecrlocal.LoadVulnDB(filepath.Join("..", "..", "testdata", "scan", "vulndb.json"))
	if err != nil {
		t.Fatal(err)
	}
	r := &secretsRig{dataDir: t.TempDir()}
	r.ecr = startECR(t, ecrlocal.Options{VulnDB: db, DataDir: r.dataDir})
	r.door = &frontDoor{next: r.ecr.Server, basic: map[string]bool{}, sessionTokens: map[string]bool{}}
	ts := httptest.NewServer(r.door)
	t.Cleanup(ts.Close)
	r.url = ts.URL
	r.logs = logslocaltest.Start(t)
	r.sts = stslocaltest.Start(t)
	r.envKey, r.envTok = randomSecret(40), randomSecret(120)
	r.env = map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIAENVIRONMENTKEY01", "AWS_SECRET_ACCESS_KEY": r.envKey, "AWS_SESSION_TOKEN": r.envTok,
		"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_ECR": r.url, "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": r.logs.URL,
		"ACTIONS_STEP_DEBUG": "true", "RUNNER_DEBUG": "1",
	}
	for k, v := range r.sts.Env() {
		r.env[k] = v
	}
	return r
}

// randomSecret is n characters like an AWS secret key's, '+' and '/'
// included so that escaped forms differ from the value.
func randomSecret(n int) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b)
}

// run runs the action and returns what it wrote.
func (r *secretsRig) run(t *testing.T, j *job, inputs map[string]string) (*runner.Outcome, writings) {
	t.Helper()
	environ := map[string]string{}
	for k, v := range r.env {
		environ[k] = v
	}
	for k, v := range j.env {
		environ[k] = v
	}
	out, err := runner.Run(context.Background(), runner.Job{Binary: actionBinary, Root: j.root, Inputs: inputs, Env: environ})
	if err != nil {
		t.Fatalf("running the action: %v", err)
	}
	r.calls = r.ecr.Server.Calls()
	w := writings{rawLog: out.RawLog, texts: map[string]string{"summary": out.Summary}}
	for name, content := range out.Files {
		w.texts[name] = content
	}
	for k, v := range out.Outputs {
		w.texts["output "+k] = v
	}
	// Every file in the job's directories: workspace (SARIF), home, runner
	// temp, file commands, event.json.
	walkInto(t, j.root, "job ", w.texts)
	// What reached the registry: blobs (layers uncompressed), and the
	// repository as the ECR API shows it.
	walkInto(t, r.dataDir, "registry ", w.texts)
	w.texts["ECR API state"] = r.apiState(t)
	for _, ev := range r.logs.Server.Events(secretsGroup, repoName) {
		w.texts["log event "+ev.Timestamp.String()] = ev.Message
	}
	return out, w
}

// walkInto adds every regular file under root to texts, gunzipping
// gzip files so that layer content is searched too.
func walkInto(t *testing.T, root, prefix string, texts map[string]string) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if zr, err := gzip.NewReader(bytes.NewReader(data)); err == nil {
			if plain, err := io.ReadAll(zr); err == nil {
				data = plain
			}
		}
		texts[prefix+p] = string(data)
		return nil
	})
	if err != nil {
		t.Fatalf("reading what the run wrote under %s: %v", root, err)
	}
}

// apiState is the repository's settings, tags, policies and images as JSON.
func (r *secretsRig) apiState(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	c := r.ecr.Client
	var parts []any
	repos, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{})
	if err != nil {
		t.Fatal(err)
	}
	parts = append(parts, repos.Repositories)
	for _, repo := range repos.Repositories {
		tags, err := c.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: repo.RepositoryArn})
		if err == nil {
			parts = append(parts, tags.Tags)
		}
		if lp, err := c.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: repo.RepositoryName}); err == nil {
			parts = append(parts, aws.ToString(lp.LifecyclePolicyText))
		}
		if rp, err := c.GetRepositoryPolicy(ctx, &ecr.GetRepositoryPolicyInput{RepositoryName: repo.RepositoryName}); err == nil {
			parts = append(parts, aws.ToString(rp.PolicyText))
		}
		if imgs, err := c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: repo.RepositoryName}); err == nil {
			parts = append(parts, imgs.ImageDetails)
		}
	}
	data, err := json.Marshal(parts)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// secrets lists what the run had. registry is true when the run logged in
// to the registry; sts when STS issued credentials; oidc when the token
// service issued a token.
func (r *secretsRig) secrets(t *testing.T, oidc, sts, registry bool) []secret {
	t.Helper()
	s := r.sts.Server.Secrets()
	list := []secret{
		{"AWS_SECRET_ACCESS_KEY", r.envKey, "", true},
		{"AWS_SESSION_TOKEN", r.envTok, "", true},
		{"ACTIONS_ID_TOKEN_REQUEST_TOKEN", s.RequestToken, "", true},
		{"OIDC token", s.IDToken, credentialsGroup, oidc},
		{"assumed role secret key", s.SecretAccessKey, credentialsGroup, sts},
		{"assumed role session token", s.SessionToken, credentialsGroup, sts},
	}
	tokens, passwords := r.door.registrySecrets(t)
	if registry && len(tokens) == 0 {
		t.Fatal("the registry received no credentials; the scenario does not test the registry password")
	}
	for i := range tokens {
		// The first login is the Image step's; a later one is a token the
		// push renewed after the registry refused the first.
		group := imageGroup
		if i > 0 {
			group = pushGroup
		}
		list = append(list,
			secret{"ECR authorization token", tokens[i], group, true},
			secret{"registry password", passwords[i], group, true})
	}
	return list
}

// issuedLogins are the registry logins ecrlocal issued (its
// GetAuthorizationToken answers), for a run that fails before it sends
// them to the registry: the tags are looked up with BatchGetImage, so an
// ECR refusal can come before the first registry request. The Image step
// gets and masks them all the same.
func (r *secretsRig) issuedLogins() []secret {
	var list []secret
	for _, p := range r.ecr.Server.RegistryPasswords() {
		list = append(list,
			secret{"ECR authorization token", base64.StdEncoding.EncodeToString([]byte("AWS:" + p)), imageGroup, true},
			secret{"registry password", p, imageGroup, true})
	}
	return list
}

// forms are the ways a value can be written: as is, URL-escaped (query and
// path), JSON-escaped.
func forms(v string) []string {
	out := []string{v}
	js, _ := json.Marshal(v)
	for _, f := range []string{url.QueryEscape(v), url.PathEscape(v), string(js[1 : len(js)-1])} {
		if f != v {
			out = append(out, f)
		}
	}
	return out
}

// views are the texts a value could hide in: the text, the text with line
// breaks removed (a value split across lines), and with the escaped line
// breaks of workflow commands (%0A, %0D) removed.
func views(text string) map[string]string {
	noBreaks := strings.NewReplacer("\r", "", "\n", "").Replace(text)
	noEscaped := strings.NewReplacer("%0A", "", "%0D", "", "%0a", "", "%0d", "").Replace(noBreaks)
	return map[string]string{"": text, " (across a line break)": noBreaks, " (across an escaped line break)": noEscaped}
}

// addMaskValue returns the value of an ::add-mask:: line, unescaped as the
// runner does.
func addMaskValue(line string) (string, bool) {
	v, ok := strings.CutPrefix(strings.TrimLeft(strings.TrimRight(line, "\r"), " \t"), "::add-mask::")
	if !ok {
		return "", false
	}
	return strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%").Replace(v), true
}

// findLeaks returns every place a secret appears in w, and every secret
// whose mask is missing or late.
func findLeaks(secrets []secret, w writings) []string {
	var found []string
	lines := strings.Split(w.rawLog, "\n")
	var shown []string // every line but add-mask lines, for the split search
	for i, line := range lines {
		masked, isMask := addMaskValue(line)
		if !isMask {
			shown = append(shown, line)
		}
		for _, s := range secrets {
			if isMask && masked == s.value {
				continue // its own mask line
			}
			for _, f := range forms(s.value) {
				if strings.Contains(line, f) {
					found = append(found, fmt.Sprintf("%s in log line %d", s.name, i+1))
				}
			}
		}
	}
	texts := map[string]string{"log": strings.Join(shown, "\n")}
	for k, v := range w.texts {
		texts[k] = v
	}
	for where, text := range texts {
		for how, view := range views(text) {
			if where == "log" && how == "" {
				continue // searched line by line above
			}
			for _, s := range secrets {
				for _, f := range forms(s.value) {
					if strings.Contains(view, f) {
						found = append(found, fmt.Sprintf("%s in %s%s", s.name, where, how))
					}
				}
			}
		}
	}
	// Masks come first: at the top of the log for what the environment
	// holds, at the top of the obtaining step's group otherwise.
	for _, s := range secrets {
		if !s.mustMask {
			continue
		}
		m := -1
		for i, line := range lines {
			if v, ok := addMaskValue(line); ok && v == s.value {
				m = i
				break
			}
		}
		if m < 0 {
			found = append(found, s.name+" was never masked")
			continue
		}
		from := 0
		if s.obtained != "" {
			from = -1
			for i, line := range lines[:m] {
				if strings.HasPrefix(strings.TrimRight(line, "\r"), "::group::"+s.obtained) {
					from = i + 1
				}
			}
			if from < 0 {
				found = append(found, fmt.Sprintf("%s was masked (log line %d) before its step, group %q, began", s.name, m+1, s.obtained))
				continue
			}
		}
		for i := from; i < m; i++ {
			if _, ok := addMaskValue(lines[i]); !ok {
				found = append(found, fmt.Sprintf("%s masked at log line %d, after line %d %q", s.name, m+1, i+1, lines[i]))
				break
			}
		}
	}
	sort.Strings(found)
	return found
}

// checkNoLeak fails the test for every leak, naming where and never the value.
func checkNoLeak(t *testing.T, secrets []secret, w writings) {
	t.Helper()
	for _, l := range findLeaks(secrets, w) {
		t.Errorf("leak: %s", l)
	}
	if t.Failed() {
		t.Logf("masked log:\n%s", maskedLog(w.rawLog, secrets))
	}
}

// maskedLog is the log with every secret replaced, for failure messages.
func maskedLog(raw string, secrets []secret) string {
	for _, s := range secrets {
		for _, f := range forms(s.value) {
			raw = strings.ReplaceAll(raw, f, "<"+s.name+">")
		}
	}
	return raw
}

// TestLeakFinderCatchesPlantedLeaks: the search is able to fail. Each
// planted leak is one the action could make.
func TestLeakFinderCatchesPlantedLeaks(t *testing.T) {
	env := secret{"env key", randomSecret(40), "", true}
	pw := secret{"password", randomSecret(40), imageGroup, true}
	secrets := []secret{env, pw}
	clean := writings{
		rawLog: "::add-mask::" + env.value + "\n::group::Inputs\nrepository: app\n::endgroup::\n::group::Image\n::add-mask::" + pw.value + "\nimage: sha256:abc\n::endgroup::\n",
		texts:  map[string]string{"summary": "## Repository\n"},
	}
	if got := findLeaks(secrets, clean); len(got) != 0 {
		t.Fatalf("a clean run reports leaks: %q", got)
	}
	half := len(pw.value) / 2
	tests := []struct {
		name string
		edit func(w *writings)
		want string
	}{
		{"in a log line", func(w *writings) { w.rawLog += "error: " + pw.value + "\n" }, "password in log line"},
		{"in a debug line", func(w *writings) { w.rawLog += "::debug::auth " + env.value + "\n" }, "env key in log line"},
		{"URL-escaped in the log", func(w *writings) { w.rawLog += "GET /?t=" + url.QueryEscape(env.value) + "\n" }, "env key in log line"},
		{"split across log lines", func(w *writings) { w.rawLog += pw.value[:half] + "\n" + pw.value[half:] + "\n" }, "password in log (across a line break)"},
		{"split by an escaped line break", func(w *writings) {
			w.rawLog += "::error::" + pw.value[:half] + "%0A" + pw.value[half:] + "\n"
		}, "password in log (across an escaped line break)"},
		{"in the summary", func(w *writings) { w.texts["summary"] += pw.value }, "password in summary"},
		{"in an output file", func(w *writings) { w.texts["GITHUB_STATE"] = "k=" + env.value }, "env key in GITHUB_STATE"},
		{"JSON-escaped in a log event", func(w *writings) {
			js, _ := json.Marshal(env.value)
			w.texts["log event"] = `{"m":` + string(js) + `}`
		}, "env key in log event"},
		{"in a workspace file", func(w *writings) { w.texts["job workspace/x"] = "\x00" + pw.value }, "password in job workspace/x"},
		{"masked late", func(w *writings) {
			w.rawLog = strings.Replace(w.rawLog, "::add-mask::"+pw.value+"\n", "", 1) + "::add-mask::" + pw.value + "\n"
		}, "password masked at log line"},
		{"env secret masked after the first line", func(w *writings) {
			w.rawLog = "::group::Inputs\n" + w.rawLog
		}, "env key masked at log line 2"},
		{"never masked", func(w *writings) {
			w.rawLog = strings.Replace(w.rawLog, "::add-mask::"+pw.value+"\n", "", 1)
		}, "password was never masked"},
		{"masked under another name", func(w *writings) {
			w.rawLog = strings.Replace(w.rawLog, "::add-mask::"+pw.value, "::add-mask::x"+pw.value, 1)
		}, "password in log line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := writings{rawLog: clean.rawLog, texts: map[string]string{}}
			for k, v := range clean.texts {
				w.texts[k] = v
			}
			tt.edit(&w)
			got := findLeaks(secrets, w)
			hit := false
			for _, g := range got {
				hit = hit || strings.HasPrefix(g, tt.want)
			}
			if !hit {
				t.Errorf("leak not caught: want %q, got %q", tt.want, got)
			}
		})
	}
}

// TestSecretsNeverLeak runs the action through each path a secret could
// take, with step debug logging on, and searches everything it wrote.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	roleInputs := func(in map[string]string) map[string]string {
		in["role_to_assume"] = secretsRole
		return in
	}
	t.Run("full run: push, scan gate, SARIF, scan log", func(t *testing.T) {
		sharedTest(t)
		r := startSecretsRig(t)
		j := vulnerableJob(t)
		out, w := r.run(t, j, roleInputs(debianBuild("sarif_file", "reports/ecr.sarif", "scan_log_group", secretsGroup, "fail_on_severity", "NONE")))
		if out.ExitCode != 0 {
			t.Fatalf("exit %d\n%s", out.ExitCode, out.Log)
		}
		if _, err := os.Stat(j.workspace("reports/ecr.sarif")); err != nil {
			t.Errorf("no SARIF file: %v", err)
		}
		if n := len(r.logs.Server.Events(secretsGroup, repoName)); n != 1 {
			t.Errorf("%d scan log events, want 1", n)
		}
		if !r.door.sawSessionToken(r.sts.Server.Secrets().SessionToken) {
			t.Error("ECR was not called with the assumed role's session token")
		}
		checkNoLeak(t, r.secrets(t, true, true, true), w)
	})
	t.Run("scan gate fails", func(t *testing.T) {
		sharedTest(t)
		r := startSecretsRig(t)
		out, w := r.run(t, vulnerableJob(t), roleInputs(debianBuild("sarif_file", "reports/ecr.sarif")))
		if out.ExitCode != 1 || out.Outputs["scan_gate"] != "failed" {
			t.Fatalf("exit %d gate %q, want 1 failed\n%s", out.ExitCode, out.Outputs["scan_gate"], out.Log)
		}
		checkNoLeak(t, r.secrets(t, true, true, true), w)
	})
	t.Run("bad input", func(t *testing.T) {
		sharedTest(t)
		r := startSecretsRig(t)
		out, w := r.run(t, vulnerableJob(t), roleInputs(debianBuild("image_tag_mutability", "READ_ONLY")))
		if out.ExitCode != 1 || !strings.Contains(out.Log, "image_tag_mutability") {
			t.Fatalf("exit %d, want 1 naming image_tag_mutability\n%s", out.ExitCode, out.Log)
		}
		if c := r.sts.Server.Calls(); c["oidc"]+c["sts"] != 0 || len(r.calls) != 0 {
			t.Errorf("a bad input reached OIDC/STS %v or ECR %v", c, r.calls)
		}
		checkNoLeak(t, r.secrets(t, false, false, false), w)
	})
	t.Run("STS denies, repeating the OIDC token", func(t *testing.T) {
		sharedTest(t)
		r := startSecretsRig(t)
		s := r.sts.Server.Secrets()
		r.sts.Server.Deny("Not authorized to perform sts:AssumeRoleWithWebIdentity with token " + s.IDToken + " asked with " + s.RequestToken)
		out, w := r.run(t, vulnerableJob(t), roleInputs(debianBuild()))
		if out.ExitCode != 1 || !strings.Contains(out.Log, "AccessDenied") || !strings.Contains(out.Log, "trust policy") {
			t.Fatalf("exit %d, want 1 with AccessDenied and the trust policy hint\n%s", out.ExitCode, out.Log)
		}
		if len(r.calls) != 0 {
			t.Errorf("ECR was called without credentials: %v", r.calls)
		}
		// The refusal repeated two secrets: the message is kept, they are not.
		if !strings.Contains(out.Log, "with token *** asked with ***") {
			t.Errorf("the refusal's message is not shown, redacted\n%s", out.Log)
		}
		checkNoLeak(t, r.secrets(t, true, false, false), w)
	})
	t.Run("registry rejects the token, repeating it", func(t *testing.T) {
		sharedTest(t)
		r := startSecretsRig(t)
		r.door.misbehave(true, "")
		out, w := r.run(t, vulnerableJob(t), roleInputs(debianBuild()))
		if out.ExitCode != 1 || !strings.Contains(out.Log, "refused the credentials") {
			t.Fatalf("exit %d, want 1 saying the registry refused the credentials\n%s", out.ExitCode, out.Log)
		}
		if !strings.Contains(out.Log, "are not valid here") {
			t.Errorf("the registry's message, which repeats the credentials, is not in the log: the scenario tests nothing\n%s", out.Log)
		}
		checkNoLeak(t, r.secrets(t, true, true, true), w)
	})
	t.Run("ECR denies", func(t *testing.T) {
		sharedTest(t)
		r := startSecretsRig(t)
		r.ecr.Server.Inject("CreateRepository", ecrlocal.Fault{Count: 100, Error: "AccessDeniedException"})
		out, w := r.run(t, vulnerableJob(t), roleInputs(debianBuild()))
		if out.ExitCode != 1 || !strings.Contains(out.Log, "ecr:CreateRepository") {
			t.Fatalf("exit %d, want 1 naming ecr:CreateRepository\n%s", out.ExitCode, out.Log)
		}
		checkNoLeak(t, append(r.secrets(t, true, true, false), r.issuedLogins()...), w)
	})
	t.Run("ECR denies, repeating the session token", func(t *testing.T) {
		sharedTest(t)
		r := startSecretsRig(t)
		r.door.misbehave(false, "DescribeRepositories")
		out, w := r.run(t, vulnerableJob(t), roleInputs(debianBuild()))
		if out.ExitCode != 1 || !strings.Contains(out.Log, "ecr:DescribeRepositories") {
			t.Fatalf("exit %d, want 1 naming ecr:DescribeRepositories\n%s", out.ExitCode, out.Log)
		}
		if !strings.Contains(out.Log, "User with session token *** and") {
			t.Errorf("the refusal's message, which repeats the session token, is not shown redacted\n%s", out.Log)
		}
		checkNoLeak(t, append(r.secrets(t, true, true, false), r.issuedLogins()...), w)
	})
}
