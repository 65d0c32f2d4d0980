package tags

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Commit SHAs of the payloads in testdata/events.
const (
	shaMain     = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
	shaFeature  = "b2c3d4e5f60718293a4b5c6d7e8f901234567890"
	shaV123     = "c3d4e5f60718293a4b5c6d7e8f90123456789012"
	shaRC       = "d4e5f60718293a4b5c6d7e8f9012345678901234"
	sha140      = "e5f60718293a4b5c6d7e8f901234567890123456"
	shaPRHead   = "f60718293a4b5c6d7e8f9012345678901234abcd"
	shaPRMerge  = "8888888888888888888888888888888888888888"
	shaRelease  = "9a8b7c6d5e4f30211203a4b5c6d7e8f901234567"
	shaDispatch = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
)

// run describes a run as the runner would start it on one of the payloads.
type run struct {
	event, eventName, ref, refType, sha string
}

func (r run) getenv(extra ...string) func(string) string {
	name := r.ref
	for _, p := range []string{"refs/heads/", "refs/tags/", "refs/pull/"} {
		name = strings.TrimPrefix(name, p)
	}
	vars := map[string]string{
		"GITHUB_EVENT_NAME": r.eventName, "GITHUB_REF": r.ref, "GITHUB_REF_NAME": name, "GITHUB_REF_TYPE": r.refType,
		"GITHUB_SHA": r.sha, "GITHUB_REPOSITORY": "org/app", "GITHUB_SERVER_URL": "https://github.com",
	}
	if r.event != "" {
		vars["GITHUB_EVENT_PATH"] = filepath.Join("testdata", "events", r.event+".json")
	}
	for i := 0; i+1 < len(extra); i += 2 {
		vars[extra[i]] = extra[i+1]
	}
	return func(k string) string { return vars[k] }
}

var runs = map[string]run{
	"push to main":          {"push-main", "push", "refs/heads/main", "branch", shaMain},
	"push to a feature":     {"push-feature", "push", "refs/heads/feature/login", "branch", shaFeature},
	"tag v1.2.3":            {"push-tag-v1.2.3", "push", "refs/tags/v1.2.3", "tag", shaV123},
	"tag v2.0.0-rc.1":       {"push-tag-v2.0.0-rc.1", "push", "refs/tags/v2.0.0-rc.1", "tag", shaRC},
	"tag 1.4.0":             {"push-tag-1.4.0", "push", "refs/tags/1.4.0", "tag", sha140},
	"pull request":          {"pull_request", "pull_request", "refs/pull/42/merge", "branch", shaPRMerge},
	"workflow_dispatch":     {"workflow_dispatch", "workflow_dispatch", "refs/heads/main", "branch", shaDispatch},
	"release v1.3.0":        {"release", "release", "refs/tags/v1.3.0", "tag", shaRelease},
	"local run, no payload": {"", "", "", "", shaMain},
}

func TestContextFromEnv(t *testing.T) {
	tagTime := time.Date(2024, 6, 10, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		run  string
		want Context
	}{
		{"push to main", Context{EventName: "push", Ref: "refs/heads/main", RefName: "main", RefType: "branch", SHA: shaMain, DefaultBranch: "main",
			CommitTime: time.Date(2024, 5, 1, 12, 30, 0, 0, time.UTC)}},
		{"push to a feature", Context{EventName: "push", Ref: "refs/heads/feature/login", RefName: "feature/login", RefType: "branch", SHA: shaFeature, DefaultBranch: "main",
			CommitTime: time.Date(2024, 5, 2, 9, 15, 30, 0, time.UTC)}},
		{"tag v1.2.3", Context{EventName: "push", Ref: "refs/tags/v1.2.3", RefName: "v1.2.3", RefType: "tag", SHA: shaV123, DefaultBranch: "main", CommitTime: tagTime}},
		{"tag v2.0.0-rc.1", Context{EventName: "push", Ref: "refs/tags/v2.0.0-rc.1", RefName: "v2.0.0-rc.1", RefType: "tag", SHA: shaRC, DefaultBranch: "main", CommitTime: tagTime}},
		{"tag 1.4.0", Context{EventName: "push", Ref: "refs/tags/1.4.0", RefName: "1.4.0", RefType: "tag", SHA: sha140, DefaultBranch: "main", CommitTime: tagTime}},
		{"pull request", Context{EventName: "pull_request", Ref: "refs/pull/42/merge", RefName: "42/merge", RefType: "branch", SHA: shaPRMerge, DefaultBranch: "main", HeadSHA: shaPRHead}},
		{"workflow_dispatch", Context{EventName: "workflow_dispatch", Ref: "refs/heads/main", RefName: "main", RefType: "branch", SHA: shaDispatch, DefaultBranch: "main"}},
		{"release v1.3.0", Context{EventName: "release", Ref: "refs/tags/v1.3.0", RefName: "v1.3.0", RefType: "tag", SHA: shaRelease, DefaultBranch: "main"}},
		{"local run, no payload", Context{SHA: shaMain}},
	}
	for _, tt := range tests {
		t.Run(tt.run, func(t *testing.T) {
			got, err := ContextFromEnv(runs[tt.run].getenv(), os.ReadFile)
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Repository, tt.want.ServerURL = "org/app", "https://github.com"
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ContextFromEnv (-want +got):\n%s", diff)
			}
		})
	}
}

func TestContextFromEnvCommitTime(t *testing.T) {
	tests := []struct {
		name, epoch string
		want        time.Time
	}{
		{"SOURCE_DATE_EPOCH wins over the payload", "1700000000", time.Unix(1700000000, 0).UTC()},
		{"zero is the epoch", "0", time.Unix(0, 0).UTC()},
		{"unset falls back to head_commit.timestamp", "", time.Date(2024, 5, 1, 12, 30, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ContextFromEnv(runs["push to main"].getenv("SOURCE_DATE_EPOCH", tt.epoch), os.ReadFile)
			if err != nil {
				t.Fatal(err)
			}
			if !got.CommitTime.Equal(tt.want) || got.CommitTime.Location() != time.UTC {
				t.Errorf("CommitTime = %v, want %v in UTC", got.CommitTime, tt.want)
			}
		})
	}
}

func TestContextFromEnvErrors(t *testing.T) {
	files := map[string][]byte{
		"/bad.json":       []byte(`{"ref": `),
		"/array.json":     []byte(`[1, 2]`),
		"/bad-time.json":  []byte(`{"head_commit": {"timestamp": "yesterday"}}`),
		"/empty-obj.json": []byte(`{}`),
	}
	readFile := func(name string) ([]byte, error) {
		if name == "/unreadable.json" {
			return nil, fs.ErrPermission
		}
		if b, ok := files[name]; ok {
			return b, nil
		}
		return nil, fs.ErrNotExist
	}
	tests := []struct {
		name     string
		env      []string
		wantText string // "" means no error
	}{
		{"missing event file", []string{"GITHUB_EVENT_PATH", "/nope.json"}, ""},
		{"unreadable event file", []string{"GITHUB_EVENT_PATH", "/unreadable.json"}, ""},
		{"empty payload", []string{"GITHUB_EVENT_PATH", "/empty-obj.json"}, ""},
		{"invalid JSON", []string{"GITHUB_EVENT_PATH", "/bad.json"}, `GITHUB_EVENT_PATH="/bad.json" is not a JSON event`},
		{"JSON but not an object", []string{"GITHUB_EVENT_PATH", "/array.json"}, "not a JSON event"},
		{"bad head_commit timestamp", []string{"GITHUB_EVENT_PATH", "/bad-time.json", "GITHUB_EVENT_NAME", "push"}, `head_commit.timestamp "yesterday"`},
		{"bad timestamp outside a push is not read", []string{"GITHUB_EVENT_PATH", "/bad-time.json", "GITHUB_EVENT_NAME", "workflow_dispatch"}, ""},
		{"epoch not a number", []string{"SOURCE_DATE_EPOCH", "2024-01-01"}, `SOURCE_DATE_EPOCH="2024-01-01" is not a whole number`},
		{"epoch negative", []string{"SOURCE_DATE_EPOCH", "-1"}, "SOURCE_DATE_EPOCH"},
		{"epoch with fraction", []string{"SOURCE_DATE_EPOCH", "1700000000.5"}, "SOURCE_DATE_EPOCH"},
		{"epoch past year 9999", []string{"SOURCE_DATE_EPOCH", "253402300800"}, "SOURCE_DATE_EPOCH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{}
			for i := 0; i+1 < len(tt.env); i += 2 {
				vars[tt.env[i]] = tt.env[i+1]
			}
			_, err := ContextFromEnv(func(k string) string { return vars[k] }, readFile)
			switch {
			case tt.wantText == "" && err != nil:
				t.Errorf("ContextFromEnv error = %v, want none", err)
			case tt.wantText != "" && (err == nil || !strings.Contains(err.Error(), tt.wantText)):
				t.Errorf("ContextFromEnv error = %v, want one containing %q", err, tt.wantText)
			}
		})
	}
}

func defaults() Options { return Options{SHA: "short", Semver: true, Latest: "auto"} }

func TestCompute(t *testing.T) {
	tests := []struct {
		name string
		run  string
		opts func(o *Options)
		want []string
	}{
		// Defaults (tag_sha short, tag_semver true, tag_latest auto) on every payload.
		{"push to the default branch", "push to main", nil, []string{"a1b2c3d", "latest"}},
		{"push to a feature branch", "push to a feature", nil, []string{"b2c3d4e"}},
		{"semver tag", "tag v1.2.3", nil, []string{"c3d4e5f", "v1.2.3", "v1.2", "v1", "latest"}},
		{"pre-release tag: no minor, major or latest", "tag v2.0.0-rc.1", nil, []string{"d4e5f60", "v2.0.0-rc.1"}},
		{"tag without v keeps no prefix", "tag 1.4.0", nil, []string{"e5f6071", "1.4.0", "1.4", "1", "latest"}},
		{"pull request tags the head commit, not the merge commit", "pull request", nil, []string{"f607182"}},
		{"workflow_dispatch on the default branch is not a push", "workflow_dispatch", nil, []string{"0a1b2c3"}},
		{"release event on a semver tag", "release v1.3.0", nil, []string{"9a8b7c6", "v1.3.0", "v1.3", "v1", "latest"}},
		{"local run", "local run, no payload", nil, []string{"a1b2c3d"}},

		// Options.
		{"long SHA", "push to a feature", func(o *Options) { o.SHA = "long" }, []string{shaFeature}},
		{"long head SHA on a pull request", "pull request", func(o *Options) { o.SHA = "long" }, []string{shaPRHead}},
		{"no SHA tag", "tag v1.2.3", func(o *Options) { o.SHA = "false" }, []string{"v1.2.3", "v1.2", "v1", "latest"}},
		{"semver off still moves latest on a release tag", "tag v1.2.3", func(o *Options) { o.Semver = false }, []string{"c3d4e5f", "latest"}},
		{"latest always", "push to a feature", func(o *Options) { o.Latest = "true" }, []string{"b2c3d4e", "latest"}},
		{"latest always on a pre-release", "tag v2.0.0-rc.1", func(o *Options) { o.Latest = "true" }, []string{"d4e5f60", "v2.0.0-rc.1", "latest"}},
		{"latest never", "push to main", func(o *Options) { o.Latest = "false" }, []string{"a1b2c3d"}},
		{"extra tags after the computed ones", "push to main", func(o *Options) { o.Extra = []string{"stable", "prod"} }, []string{"a1b2c3d", "latest", "stable", "prod"}},
		{"duplicates keep the first place", "tag v1.2.3", func(o *Options) { o.Extra = []string{"v1", "latest", "edge", "edge"} }, []string{"c3d4e5f", "v1.2.3", "v1.2", "v1", "latest", "edge"}},
		{"only extra tags", "pull request", func(o *Options) { o.SHA, o.Extra = "false", []string{"pr-42"} }, []string{"pr-42"}},
		{"nothing at all", "push to a feature", func(o *Options) { o.SHA = "false" }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ContextFromEnv(runs[tt.run].getenv(), os.ReadFile)
			if err != nil {
				t.Fatal(err)
			}
			o := defaults()
			if tt.opts != nil {
				tt.opts(&o)
			}
			got, err := Compute(c, o)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Compute (-want +got):\n%s", diff)
			}
		})
	}
}

// TestComputeRefs covers refs built by hand: forms the payloads above do not.
func TestComputeRefs(t *testing.T) {
	sha := strings.Repeat("ab", 20)
	tests := []struct {
		name string
		c    Context
		want []string
	}{
		{"build metadata: '+' becomes '_'", Context{Ref: "refs/tags/v1.2.3+build.7", RefType: "tag", SHA: sha}, []string{"abababa", "v1.2.3_build.7", "v1.2", "v1", "latest"}},
		{"pre-release with build metadata", Context{Ref: "refs/tags/1.0.0-beta.2+exp.sha.5114f85", SHA: sha}, []string{"abababa", "1.0.0-beta.2_exp.sha.5114f85"}},
		{"tag found by RefType and RefName alone", Context{RefType: "tag", RefName: "v3.1.4", SHA: sha}, []string{"abababa", "v3.1.4", "v3.1", "v3", "latest"}},
		{"zero major", Context{Ref: "refs/tags/v0.9.0", SHA: sha}, []string{"abababa", "v0.9.0", "v0.9", "v0", "latest"}},
		{"tag that is not semver", Context{Ref: "refs/tags/release-2024", RefType: "tag", SHA: sha}, []string{"abababa"}},
		{"two-part version is not semver", Context{Ref: "refs/tags/v1.2", RefType: "tag", SHA: sha}, []string{"abababa"}},
		{"leading zero is not semver", Context{Ref: "refs/tags/v1.02.3", RefType: "tag", SHA: sha}, []string{"abababa"}},
		{"branch named like a version is not a tag", Context{EventName: "push", Ref: "refs/heads/v1.2.3", RefName: "v1.2.3", RefType: "branch", SHA: sha}, []string{"abababa"}},
		{"default branch unknown: no latest", Context{EventName: "push", Ref: "refs/heads/main", RefName: "main", RefType: "branch", SHA: sha}, []string{"abababa"}},
		{"push to a tag named like the default branch", Context{EventName: "push", Ref: "refs/tags/main", RefName: "main", RefType: "tag", DefaultBranch: "main", SHA: sha}, []string{"abababa"}},
		{"upper-case SHA is lowered", Context{SHA: strings.ToUpper(sha)}, []string{"abababa"}},
		{"pull_request_target tags the head commit", Context{EventName: "pull_request_target", SHA: sha, HeadSHA: strings.Repeat("cd", 20)}, []string{"cdcdcdc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Compute(tt.c, defaults())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Compute (-want +got):\n%s", diff)
			}
		})
	}
}

func TestComputeErrors(t *testing.T) {
	sha := strings.Repeat("ab", 20)
	long := "v1.2.3-" + strings.Repeat("a", 130)
	tests := []struct {
		name       string
		c          Context
		o          Options
		wantOption []string
		wantText   string
	}{
		{"no SHA", Context{}, defaults(), []string{"SHA"}, "GITHUB_SHA is empty"},
		{"SHA too short", Context{SHA: "abc123"}, defaults(), []string{"SHA"}, `"abc123": GITHUB_SHA is not a 40-hex-digit commit SHA`},
		{"SHA not hex", Context{SHA: strings.Repeat("z", 40)}, defaults(), []string{"SHA"}, "40-hex-digit"},
		{"pull request without the payload's head SHA", Context{EventName: "pull_request", SHA: sha}, defaults(), []string{"SHA"}, "pull_request.head.sha"},
		{"unknown SHA mode", Context{SHA: sha}, Options{SHA: "medium", Latest: "auto"}, []string{"SHA"}, "short, long, false"},
		{"unknown latest mode", Context{SHA: sha}, Options{SHA: "short", Latest: "yes"}, []string{"Latest"}, "auto, true, false"},
		{"invalid extra tag", Context{SHA: sha}, Options{SHA: "short", Latest: "auto", Extra: []string{"ok", "feature/x"}}, []string{"Extra"}, `"/" at byte 7`},
		{"version too long for a tag", Context{Ref: "refs/tags/" + long, SHA: sha}, defaults(), []string{"Semver"}, "at most 128"},
		{"every problem at once", Context{}, Options{SHA: "short", Latest: "never", Extra: []string{".x"}}, []string{"SHA", "Latest", "Extra"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Compute(tt.c, tt.o)
			if err == nil {
				t.Fatalf("Compute = %q, want an error", got)
			}
			var options []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var te *Error
				if !errors.As(e, &te) {
					t.Fatalf("error %v is not a *tags.Error", e)
				}
				options = append(options, te.Option)
			}
			if diff := cmp.Diff(tt.wantOption, options); diff != "" {
				t.Errorf("options at fault (-want +got):\n%s", diff)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not contain %q", err, tt.wantText)
			}
		})
	}
}

func TestValid(t *testing.T) {
	tests := []struct {
		tag      string
		wantText string // "" means valid
	}{
		{"latest", ""},
		{"v1.2.3", ""},
		{"_private", ""},
		{"1.0.0-rc.1_build", ""},
		{"A-Z.a_z-09", ""},
		{strings.Repeat("a", 128), ""},
		{"", "cannot be empty"},
		{strings.Repeat("a", 129), "at most 128"},
		{".hidden", "cannot start with '.'"},
		{"-rc", "cannot start with '-'"},
		{"v1.2.3+build", `"+" at byte 6`},
		{"feature/login", `"/"`},
		{"with space", `" "`},
		{"tab\there", `"\t"`},
		{"café", `"\xc3"`},
	}
	for _, tt := range tests {
		t.Run(tt.tag, func(t *testing.T) {
			err := Valid(tt.tag)
			switch {
			case tt.wantText == "" && err != nil:
				t.Errorf("Valid(%q) = %v, want nil", tt.tag, err)
			case tt.wantText != "" && (err == nil || !strings.Contains(err.Error(), tt.wantText)):
				t.Errorf("Valid(%q) = %v, want an error containing %q", tt.tag, err, tt.wantText)
			}
		})
	}
}

func TestParseSemver(t *testing.T) {
	tests := []struct {
		in   string
		want version
		ok   bool
	}{
		{"1.2.3", version{Major: "1", Minor: "2", Patch: "3"}, true},
		{"v10.20.30", version{Prefix: "v", Major: "10", Minor: "20", Patch: "30"}, true},
		{"v0.0.0", version{Prefix: "v", Major: "0", Minor: "0", Patch: "0"}, true},
		{"1.0.0-alpha", version{Major: "1", Minor: "0", Patch: "0", Pre: "alpha"}, true},
		{"1.0.0-alpha.1", version{Major: "1", Minor: "0", Patch: "0", Pre: "alpha.1"}, true},
		{"1.0.0-0.3.7", version{Major: "1", Minor: "0", Patch: "0", Pre: "0.3.7"}, true},
		{"1.0.0-x-y-z.--", version{Major: "1", Minor: "0", Patch: "0", Pre: "x-y-z.--"}, true},
		{"1.0.0-alpha+001", version{Major: "1", Minor: "0", Patch: "0", Pre: "alpha", Build: "001"}, true},
		{"1.0.0+20130313144700", version{Major: "1", Minor: "0", Patch: "0", Build: "20130313144700"}, true},
		{"1.0.0-beta+exp.sha.5114f85", version{Major: "1", Minor: "0", Patch: "0", Pre: "beta", Build: "exp.sha.5114f85"}, true},
		{"1.0.0+21AF26D3----117B344092BD", version{Major: "1", Minor: "0", Patch: "0", Build: "21AF26D3----117B344092BD"}, true},
		{"1.2", version{}, false},
		{"1.2.3.4", version{}, false},
		{"01.2.3", version{}, false},
		{"1.2.03", version{}, false},
		{"1.2.3-01", version{}, false},
		{"1.2.3-", version{}, false},
		{"1.2.3+", version{}, false},
		{"1.2.3-a..b", version{}, false},
		{"1.2.3-a_b", version{}, false},
		{"V1.2.3", version{}, false},
		{"vv1.2.3", version{}, false},
		{"v", version{}, false},
		{"", version{}, false},
		{"1.2.3+a+b", version{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseSemver(tt.in)
			if ok != tt.ok {
				t.Fatalf("parseSemver(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseSemver(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// semverRegexp is the regular expression semver.org suggests, with an
// optional "v": the fuzz target checks the hand-written parser against it.
var semverRegexp = regexp.MustCompile(`^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

func FuzzParseSemver(f *testing.F) {
	for _, s := range []string{"1.2.3", "v1.0.0-rc.1+b.2", "1.0.0-0a", "01.1.1", "1.1.1-01", "v1.2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := parseSemver(s)
		if want := semverRegexp.MatchString(s); ok != want {
			t.Fatalf("parseSemver(%q) ok = %v, the semver.org expression says %v", s, ok, want)
		}
		if !ok {
			return
		}
		back := v.Prefix + v.Major + "." + v.Minor + "." + v.Patch
		if v.Pre != "" {
			back += "-" + v.Pre
		}
		if v.Build != "" {
			back += "+" + v.Build
		}
		if back != s {
			t.Fatalf("parseSemver(%q) = %+v, which reads back as %q", s, v, back)
		}
	})
}

var tagRegexp = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)

func FuzzValid(f *testing.F) {
	for _, s := range []string{"latest", "v1.2.3", ".x", "a/b", strings.Repeat("x", 129), "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tag string) {
		err := Valid(tag)
		if want := tagRegexp.MatchString(tag); (err == nil) != want {
			t.Fatalf("Valid(%q) = %v, the grammar says valid=%v", tag, err, want)
		}
	})
}

func FuzzCompute(f *testing.F) {
	f.Add("push", "refs/tags/v1.2.3", "tag", "v1.2.3", "main", strings.Repeat("a", 40), "", "short", true, "auto", "x,latest")
	f.Add("pull_request", "refs/pull/1/merge", "branch", "1/merge", "main", strings.Repeat("b", 40), strings.Repeat("c", 40), "long", false, "true", "")
	f.Add("push", "refs/heads/main", "branch", "main", "main", "", "", "false", true, "auto", "a,,b")
	f.Add("push", "refs/tags/1.0.0-rc.1+build.5", "tag", "1.0.0-rc.1+build.5", "main", strings.Repeat("A", 40), "", "short", true, "auto", "1.0.0-rc.1_build.5")
	f.Add("push", "refs/tags/v1.2.3\n::set-output name=x::y", "tag", "v1.2.3", "main", strings.Repeat("d", 40), "", "short", true, "auto", ".hidden,v1%0A,feature/login")
	f.Fuzz(func(t *testing.T, event, ref, refType, refName, defaultBranch, sha, headSHA, shaMode string, semver bool, latest, extra string) {
		c := Context{EventName: event, Ref: ref, RefType: refType, RefName: refName, DefaultBranch: defaultBranch, SHA: sha, HeadSHA: headSHA}
		o := Options{SHA: shaMode, Semver: semver, Latest: latest, Extra: strings.Split(extra, ",")}
		got, err := Compute(c, o)
		// Deterministic: the same context and options give the same result.
		again, errAgain := Compute(c, o)
		if !slices.Equal(got, again) || fmt.Sprint(err) != fmt.Sprint(errAgain) {
			t.Fatalf("Compute is not deterministic: %q, %v then %q, %v", got, err, again, errAgain)
		}
		if err != nil {
			if got != nil {
				t.Fatalf("Compute returned tags %q with an error", got)
			}
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var te *Error
				if !errors.As(e, &te) {
					t.Fatalf("error %v is not a *tags.Error", e)
				}
				if msg := te.Error(); strings.ContainsAny(msg, "\r\n") {
					t.Fatalf("error message %q has a line break", msg)
				}
			}
			return
		}
		seen := map[string]bool{}
		for _, tag := range got {
			// The OCI distribution grammar, independently of Valid.
			if !tagRegexp.MatchString(tag) {
				t.Fatalf("Compute returned %q, which is not an OCI tag", tag)
			}
			if seen[tag] {
				t.Fatalf("Compute returned %q twice: %q", tag, got)
			}
			seen[tag] = true
		}
		// The extra tags come last, in input order, after the computed
		// ones, each once.
		o.Extra = nil
		want, err := Compute(c, o)
		if err != nil {
			t.Fatalf("Compute fails without the extra tags (%v) but succeeds with them", err)
		}
		for _, e := range strings.Split(extra, ",") {
			if !slices.Contains(want, e) {
				want = append(want, e)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("Compute = %q, want the computed tags then the extra ones: %q", got, want)
		}
		if shaMode == "short" || shaMode == "long" {
			want := strings.ToLower(c.SHA)
			if isPullRequest(event) {
				want = strings.ToLower(c.HeadSHA)
			}
			if shaMode == "short" {
				want = want[:7]
			}
			if got[0] != want {
				t.Fatalf("the first tag is %q, want the commit %q", got[0], want)
			}
		}
		if latest == "false" && seen["latest"] && !contains(strings.Split(extra, ","), "latest") {
			t.Fatalf("latest=false yet Compute returned latest: %q", got)
		}
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func FuzzContextFromEnv(f *testing.F) {
	for _, name := range []string{"push-main", "pull_request", "release"} {
		b, err := os.ReadFile(filepath.Join("testdata", "events", name+".json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "push", "")
	}
	f.Add([]byte(`{"head_commit":{"timestamp":"2024-01-01T00:00:00Z"}}`), "push", "17")
	f.Fuzz(func(t *testing.T, payload []byte, event, epoch string) {
		getenv := func(k string) string {
			return map[string]string{"GITHUB_EVENT_PATH": "/event.json", "GITHUB_EVENT_NAME": event, "SOURCE_DATE_EPOCH": epoch}[k]
		}
		c, err := ContextFromEnv(getenv, func(string) ([]byte, error) { return payload, nil })
		if err != nil {
			return
		}
		if !c.CommitTime.IsZero() && c.CommitTime.Location() != time.UTC {
			t.Fatalf("CommitTime %v is not in UTC", c.CommitTime)
		}
		if c.HeadSHA != "" && !isPullRequest(event) {
			t.Fatalf("HeadSHA %q set on a %q event", c.HeadSHA, event)
		}
	})
}
