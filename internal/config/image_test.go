package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/org/ecr-action/internal/tags"
)

const (
	testSHA  = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
	testHead = "f60718293a4b5c6d7e8f9012345678901234abcd"
	digest64 = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

// gitRun is a run's git context: the runner's variables and its payload.
type gitRun struct {
	eventName, ref, refName, refType, sha, payload string
}

var (
	pushMain = gitRun{"push", "refs/heads/main", "main", "branch", testSHA,
		`{"ref":"refs/heads/main","head_commit":{"id":"` + testSHA + `","timestamp":"2024-05-01T14:30:00+02:00"},"repository":{"default_branch":"main"}}`}
	pushFeature = gitRun{"push", "refs/heads/feature/x", "feature/x", "branch", testSHA,
		`{"ref":"refs/heads/feature/x","head_commit":{"id":"` + testSHA + `","timestamp":"2024-05-01T14:30:00Z"},"repository":{"default_branch":"main"}}`}
	pushTag = gitRun{"push", "refs/tags/v1.2.3", "v1.2.3", "tag", testSHA,
		`{"ref":"refs/tags/v1.2.3","head_commit":{"id":"` + testSHA + `","timestamp":"2024-06-10T08:00:00Z"},"repository":{"default_branch":"main"}}`}
	pullRequest = gitRun{"pull_request", "refs/pull/7/merge", "7/merge", "branch", strings.Repeat("8", 40),
		`{"number":7,"pull_request":{"head":{"sha":"` + testHead + `"}},"repository":{"default_branch":"main"}}`}
	dispatch = gitRun{"workflow_dispatch", "refs/heads/main", "main", "branch", testSHA,
		`{"ref":"refs/heads/main","inputs":{},"repository":{"default_branch":"main"}}`}
)

// pushMainTime is pushMain's head_commit.timestamp.
var pushMainTime = time.Date(2024, 5, 1, 12, 30, 0, 0, time.UTC)

// imageSetup is a workspace, a RUNNER_TEMP and the environment of a run.
type imageSetup struct {
	ws, temp string
}

func newImageSetup(t *testing.T) imageSetup {
	t.Helper()
	return imageSetup{ws: t.TempDir(), temp: t.TempDir()}
}

// getenv returns the runner's environment for a run with inputs; extra are
// more variables as name, value pairs ("" unsets one).
func (s imageSetup) getenv(t *testing.T, g gitRun, inputs map[string]string, extra ...string) func(string) string {
	t.Helper()
	eventPath := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(eventPath, []byte(g.payload), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := []string{
		"GITHUB_WORKSPACE", s.ws, "RUNNER_TEMP", s.temp, "GITHUB_EVENT_PATH", eventPath,
		"GITHUB_EVENT_NAME", g.eventName, "GITHUB_REF", g.ref, "GITHUB_REF_NAME", g.refName, "GITHUB_REF_TYPE", g.refType,
		"GITHUB_SHA", g.sha, "GITHUB_REPOSITORY", "org/app", "GITHUB_SERVER_URL", "https://github.com",
	}
	return env(with(seed(), flatten(inputs)...), append(vars, extra...)...)
}

func flatten(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k, v)
	}
	return out
}

func (s imageSetup) git(g gitRun) tags.Context {
	c := tags.Context{EventName: g.eventName, Ref: g.ref, RefName: g.refName, RefType: g.refType, SHA: g.sha,
		DefaultBranch: "main", Repository: "org/app", ServerURL: "https://github.com"}
	switch g {
	case pushMain:
		c.CommitTime = pushMainTime
	case pushFeature:
		c.CommitTime = time.Date(2024, 5, 1, 14, 30, 0, 0, time.UTC)
	case pushTag:
		c.CommitTime = time.Date(2024, 6, 10, 8, 0, 0, 0, time.UTC)
	case pullRequest:
		c.HeadSHA = testHead
	}
	return c
}

func TestLoadImage(t *testing.T) {
	s := newImageSetup(t)
	if err := os.MkdirAll(filepath.Join(s.ws, "build"), 0o755); err != nil {
		t.Fatal(err)
	}
	mainTags := []string{"a1b2c3d", "latest"}
	tests := []struct {
		name   string
		git    gitRun
		inputs map[string]string
		extra  []string
		want   func(img *Image) // edits the want built from the git context
	}{
		// source
		{"oci layout in the workspace", pushMain, map[string]string{"source": "oci:build/image"}, nil, func(img *Image) {
			img.Source = &Source{Raw: "oci:build/image", Transport: "oci", Path: filepath.Join(s.ws, "build", "image")}
		}},
		{"oci layout with an image name", pushMain, map[string]string{"source": "oci:./build/../build/image:app-v1"}, nil, func(img *Image) {
			img.Source = &Source{Raw: "oci:./build/../build/image:app-v1", Transport: "oci", Path: filepath.Join(s.ws, "build", "image"), Ref: "app-v1"}
		}},
		{"oci layout in RUNNER_TEMP", pushMain, map[string]string{"source": "oci:" + filepath.Join(s.temp, "img")}, nil, func(img *Image) {
			img.Source = &Source{Raw: "oci:" + filepath.Join(s.temp, "img"), Transport: "oci", Path: filepath.Join(s.temp, "img")}
		}},
		{"absolute path in the workspace", pushMain, map[string]string{"source": "oci:" + filepath.Join(s.ws, "out")}, nil, func(img *Image) {
			img.Source = &Source{Raw: "oci:" + filepath.Join(s.ws, "out"), Transport: "oci", Path: filepath.Join(s.ws, "out")}
		}},
		{"docker archive", pushMain, map[string]string{"source": "docker-archive:image.tar"}, nil, func(img *Image) {
			img.Source = &Source{Raw: "docker-archive:image.tar", Transport: "docker-archive", Path: filepath.Join(s.ws, "image.tar")}
		}},
		{"docker daemon", pushMain, map[string]string{"source": "docker-daemon:app:dev"}, nil, func(img *Image) {
			img.Source = &Source{Raw: "docker-daemon:app:dev", Transport: "docker-daemon", Ref: "app:dev"}
		}},
		{"registry image", pushMain, map[string]string{"source": "docker://public.ecr.aws/docker/library/alpine:3.20"}, nil, func(img *Image) {
			img.Source = &Source{Raw: "docker://public.ecr.aws/docker/library/alpine:3.20", Transport: "docker", Ref: "public.ecr.aws/docker/library/alpine:3.20"}
		}},
		{"registry image by digest on a port", pushMain, map[string]string{"source": "docker://localhost:5000/team/app@" + digest64}, nil, func(img *Image) {
			img.Source = &Source{Raw: "docker://localhost:5000/team/app@" + digest64, Transport: "docker", Ref: "localhost:5000/team/app@" + digest64}
		}},

		// base_image and the build inputs
		{"base image alone re-labels it", pushMain, map[string]string{"base_image": "alpine"}, nil, func(img *Image) {
			img.Build = &Build{BaseImage: "alpine", Epoch: pushMainTime}
		}},
		{"full build from scratch", pushMain, map[string]string{
			"base_image": "scratch",
			"files":      "dist/${TARGETOS}_${TARGETARCH}${TARGETVARIANT}/app:/app\n\n  config/app.yaml : /etc/app/app.yaml  \n",
			"entrypoint": `["/app", "serve"]`,
			"cmd":        "--port 8080\n--verbose",
			"env":        "GIN_MODE=release\nDSN = postgres://db?sslmode=require\nEMPTY=",
			"workdir":    "/srv",
			"labels":     "org.opencontainers.image.source=https://github.com/org/app\nteam=platform",
			"platforms":  "linux/amd64, linux/arm64\nlinux/arm/v7,linux/amd64",
		}, nil, func(img *Image) {
			img.Build = &Build{
				BaseImage:  "scratch",
				Files:      []File{{"dist/${TARGETOS}_${TARGETARCH}${TARGETVARIANT}/app", "/app"}, {"config/app.yaml", "/etc/app/app.yaml"}},
				Entrypoint: []string{"/app", "serve"},
				Cmd:        []string{"--port", "8080", "--verbose"},
				Env:        []string{"GIN_MODE=release", "DSN=postgres://db?sslmode=require", "EMPTY="},
				Workdir:    "/srv",
				Labels:     map[string]string{"org.opencontainers.image.source": "https://github.com/org/app", "team": "platform"},
				Platforms:  []string{"linux/amd64", "linux/arm64", "linux/arm/v7"},
				Epoch:      pushMainTime,
			}
		}},
		{"[] clears the base's entrypoint", pushMain, map[string]string{"base_image": "ghcr.io/org/base:1", "entrypoint": "[]"}, nil, func(img *Image) {
			img.Build = &Build{BaseImage: "ghcr.io/org/base:1", Entrypoint: []string{}, Epoch: pushMainTime}
		}},
		{"SOURCE_DATE_EPOCH sets the epoch", pushMain, map[string]string{"base_image": "alpine:3.20@" + digest64}, []string{"SOURCE_DATE_EPOCH", "1700000000"}, func(img *Image) {
			img.Build = &Build{BaseImage: "alpine:3.20@" + digest64, Epoch: time.Unix(1700000000, 0).UTC()}
			img.Git.CommitTime = time.Unix(1700000000, 0).UTC()
		}},
		{"no commit time: Unix 0", dispatch, map[string]string{"base_image": "scratch"}, nil, func(img *Image) {
			img.Build = &Build{BaseImage: "scratch", Epoch: time.Unix(0, 0).UTC()}
			img.Tags = []string{"a1b2c3d"}
		}},

		// retag_from
		{"retag a tag", pushMain, map[string]string{"retag_from": "a1b2c3d", "tag_sha": "false", "image_tags": "production"}, nil, func(img *Image) {
			img.RetagFrom = "a1b2c3d"
			img.Tags = []string{"latest", "production"}
		}},
		{"retag a digest", pushMain, map[string]string{"retag_from": digest64}, nil, func(img *Image) {
			img.RetagFrom = digest64
		}},

		// tags
		{"feature branch: the SHA only", pushFeature, map[string]string{"source": "docker-daemon:app:dev"}, nil, func(img *Image) {
			img.Source = &Source{Raw: "docker-daemon:app:dev", Transport: "docker-daemon", Ref: "app:dev"}
			img.Tags = []string{"a1b2c3d"}
		}},
		{"semver tag", pushTag, map[string]string{"source": "docker-daemon:app:dev"}, nil, func(img *Image) {
			img.Source = &Source{Raw: "docker-daemon:app:dev", Transport: "docker-daemon", Ref: "app:dev"}
			img.Tags = []string{"a1b2c3d", "v1.2.3", "v1.2", "v1", "latest"}
		}},
		{"pull request: the head commit", pullRequest, map[string]string{"source": "docker-daemon:app:dev"}, nil, func(img *Image) {
			img.Source = &Source{Raw: "docker-daemon:app:dev", Transport: "docker-daemon", Ref: "app:dev"}
			img.Tags = []string{"f607182"}
		}},
		{"workflow_dispatch on main: no latest", dispatch, map[string]string{"source": "docker-daemon:app:dev"}, nil, func(img *Image) {
			img.Source = &Source{Raw: "docker-daemon:app:dev", Transport: "docker-daemon", Ref: "app:dev"}
			img.Tags = []string{"a1b2c3d"}
		}},
		{"options and extra tags", pushTag, map[string]string{"source": "docker-daemon:app:dev", "tag_sha": "LONG", "tag_semver": "false", "tag_latest": "false", "image_tags": "prod, stable\nprod"}, nil, func(img *Image) {
			img.Source = &Source{Raw: "docker-daemon:app:dev", Transport: "docker-daemon", Ref: "app:dev"}
			img.Tags = []string{testSHA, "prod", "stable"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(s.getenv(t, tt.git, tt.inputs, tt.extra...))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			want := &Image{Tags: mainTags, Git: s.git(tt.git)}
			tt.want(want)
			if diff := cmp.Diff(want, c.Image); diff != "" {
				t.Errorf("Image (-want +got):\n%s", diff)
			}
			if c.Workspace != s.ws {
				t.Errorf("Workspace = %q, want %q", c.Workspace, s.ws)
			}
			if len(c.Warnings) != 0 {
				t.Errorf("Warnings = %q, want none", c.Warnings)
			}
		})
	}
}

func TestLoadNoImage(t *testing.T) {
	s := newImageSetup(t)
	tests := []struct {
		name     string
		inputs   map[string]string
		wantWarn bool
	}{
		{"defaults", nil, false},
		{"tag options without an image warn", map[string]string{"image_tags": "prod"}, true},
		{"tag_sha false without an image warns", map[string]string{"tag_sha": "false"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(s.getenv(t, pushMain, tt.inputs))
			if err != nil {
				t.Fatal(err)
			}
			if c.Image != nil {
				t.Errorf("Image = %+v, want nil", c.Image)
			}
			if got := len(c.Warnings) == 1 && strings.Contains(c.Warnings[0], "are ignored"); got != tt.wantWarn {
				t.Errorf("Warnings = %q, want a warning: %v", c.Warnings, tt.wantWarn)
			}
		})
	}
}

func TestLoadImageInvalid(t *testing.T) {
	s := newImageSetup(t)
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(s.ws, "out-link")); err != nil {
		t.Fatal(err)
	}
	daemon := "docker-daemon:app:dev"
	tests := []struct {
		name      string
		git       gitRun
		inputs    map[string]string
		extra     []string
		wantInput string
		wantText  string
	}{
		// source
		{"source without a transport", pushMain, map[string]string{"source": "image.tar"}, nil, "source", "has no transport; want oci:<dir>[:<ref>], docker-archive:<file>, docker-daemon:<image> or docker://<reference>"},
		{"source with an unknown transport", pushMain, map[string]string{"source": "alpine:3.20"}, nil, "source", `transport "alpine" is not supported; want oci:<dir>`},
		{"docker without //", pushMain, map[string]string{"source": "docker:alpine"}, nil, "source", "docker://<reference>"},
		{"oci path escapes the workspace", pushMain, map[string]string{"source": "oci:../elsewhere"}, nil, "source", `path "../elsewhere" leaves the workspace`},
		{"oci path escapes through a link", pushMain, map[string]string{"source": "oci:out-link/image"}, nil, "source", "leaves the workspace"},
		{"absolute path outside", pushMain, map[string]string{"source": "oci:" + filepath.Join(outside, "img")}, nil, "source", "is outside the workspace"},
		{"absolute path escaping with ..", pushMain, map[string]string{"source": "oci:" + s.ws + "/../x"}, nil, "source", "is outside the workspace"},
		{"oci without a path", pushMain, map[string]string{"source": "oci:"}, nil, "source", "has no path"},
		{"oci image name", pushMain, map[string]string{"source": "oci:build:bad name"}, nil, "source", "org.opencontainers.image.ref.name"},
		{"docker-archive with a reference", pushMain, map[string]string{"source": "docker-archive:image.tar:app:v1"}, nil, "source", "without ':'"},
		{"docker-daemon without a tag", pushMain, map[string]string{"source": "docker-daemon:app"}, nil, "source", "neither a tag nor a digest"},
		{"docker-daemon upper case", pushMain, map[string]string{"source": "docker-daemon:App:dev"}, nil, "source", "must be lower case"},
		{"docker reference with a scheme", pushMain, map[string]string{"source": "docker://https://ghcr.io/org/app"}, nil, "source", "URL scheme"},
		{"docker reference with a bad digest", pushMain, map[string]string{"source": "docker://alpine@sha256:abc"}, nil, "source", "is not an image reference"},
		{"docker reference with a short sha256", pushMain, map[string]string{"source": "docker://alpine@sha256:" + strings.Repeat("a", 40)}, nil, "source", "64 lower-case hex"},
		{"docker reference that is an image ID", pushMain, map[string]string{"source": "docker://" + strings.Repeat("a", 64)}, nil, "source", "image ID"},

		// base_image
		{"base image upper case", pushMain, map[string]string{"base_image": "Alpine"}, nil, "base_image", "lower case"},
		{"base image empty tag", pushMain, map[string]string{"base_image": "alpine:"}, nil, "base_image", "or scratch"},
		{"base image digest algorithm", pushMain, map[string]string{"base_image": "alpine@md5:" + strings.Repeat("a", 32)}, nil, "base_image", `algorithm "md5"`},

		// build inputs
		{"files line without a colon", pushMain, map[string]string{"base_image": "scratch", "files": "app"}, nil, "files", "src:dest"},
		{"files relative destination", pushMain, map[string]string{"base_image": "scratch", "files": "app:app"}, nil, "files", "absolute path in the image"},
		{"files unknown variable", pushMain, map[string]string{"base_image": "scratch", "files": "${HOME}/app:/app"}, nil, "files", "uses ${HOME}; only ${TARGETOS}, ${TARGETARCH} and ${TARGETVARIANT}"},
		{"files unbraced variable", pushMain, map[string]string{"base_image": "scratch", "files": "dist/$TARGETARCH/app:/app"}, nil, "files", "write ${TARGETARCH}"},
		{"files unclosed variable", pushMain, map[string]string{"base_image": "scratch", "files": "dist/${TARGETARCH/app:/app"}, nil, "files", "unclosed"},
		{"files absolute source", pushMain, map[string]string{"base_image": "scratch", "files": "/etc/passwd:/passwd"}, nil, "files", "relative to the workspace"},
		{"files source escapes", pushMain, map[string]string{"base_image": "scratch", "files": "../secret:/secret"}, nil, "files", "leaves the workspace"},
		{"files source escapes with a variable", pushMain, map[string]string{"base_image": "scratch", "files": "${TARGETARCH}/../../x:/x"}, nil, "files", "leaves the workspace"},
		{"files source escapes through a link", pushMain, map[string]string{"base_image": "scratch", "files": "out-link/${TARGETARCH}/app:/app"}, nil, "files", "leaves the workspace"},
		{"files destination twice", pushMain, map[string]string{"base_image": "scratch", "files": "a:/app\nb:/app/"}, nil, "files", "given twice"},
		{"files variable in destination", pushMain, map[string]string{"base_image": "scratch", "files": "a:/bin/${TARGETARCH}"}, nil, "files", "only in the source path"},
		{"entrypoint bad JSON", pushMain, map[string]string{"base_image": "scratch", "entrypoint": `["/app",]`}, nil, "entrypoint", "JSON array of strings"},
		{"entrypoint JSON numbers", pushMain, map[string]string{"base_image": "scratch", "entrypoint": `["/app", 1]`}, nil, "entrypoint", "JSON array of strings"},
		{"cmd with quotes", pushMain, map[string]string{"base_image": "scratch", "cmd": `sh -c "echo hi"`}, nil, "cmd", "write it as a JSON array"},
		{"env without =", pushMain, map[string]string{"base_image": "scratch", "env": "DEBUG"}, nil, "env", "KEY=VALUE"},
		{"env bad key", pushMain, map[string]string{"base_image": "scratch", "env": "1X=y"}, nil, "env", "not starting with a digit"},
		{"env twice", pushMain, map[string]string{"base_image": "scratch", "env": "A=1\nA=2"}, nil, "env", "variable A is given twice"},
		{"workdir relative", pushMain, map[string]string{"base_image": "scratch", "workdir": "srv"}, nil, "workdir", "absolute path"},
		{"label without =", pushMain, map[string]string{"base_image": "scratch", "labels": "team"}, nil, "labels", "key=value"},
		{"label twice", pushMain, map[string]string{"base_image": "scratch", "labels": "a=1\na="}, nil, "labels", "label a is given twice"},
		{"platform without arch", pushMain, map[string]string{"base_image": "scratch", "platforms": "linux"}, nil, "platforms", "os/arch"},
		{"platform alias", pushMain, map[string]string{"base_image": "scratch", "platforms": "linux/x86_64"}, nil, "platforms", "written linux/amd64"},
		{"platform alias for arm", pushMain, map[string]string{"base_image": "scratch", "platforms": "linux/armv7l"}, nil, "platforms", "written linux/arm/v7"},
		{"platform upper case", pushMain, map[string]string{"base_image": "scratch", "platforms": "Linux/amd64"}, nil, "platforms", "lower case"},
		{"platform unknown arch", pushMain, map[string]string{"base_image": "scratch", "platforms": "linux/sparc"}, nil, "platforms", `"sparc" is not one of`},

		// retag_from
		{"retag short digest", pushMain, map[string]string{"retag_from": "sha256:abc"}, nil, "retag_from", "64 lower-case hex"},
		{"retag invalid tag", pushMain, map[string]string{"retag_from": "feature/x"}, nil, "retag_from", "sha256:<64 hex digits>"},

		// tag options
		{"tag_sha value", pushMain, map[string]string{"source": daemon, "tag_sha": "medium"}, nil, "tag_sha", "short, long, false"},
		{"tag_semver value", pushMain, map[string]string{"source": daemon, "tag_semver": "yes"}, nil, "tag_semver", "true or false"},
		{"tag_latest value", pushMain, map[string]string{"source": daemon, "tag_latest": "always"}, nil, "tag_latest", "auto, true, false"},
		{"image_tags value", pushMain, map[string]string{"source": daemon, "image_tags": "ok,feature/x"}, nil, "image_tags", `"feature/x"`},
		{"image_tags checked without an image", pushMain, map[string]string{"image_tags": ".hidden"}, nil, "image_tags", "cannot start with '.'"},
		{"no tags at all", pushFeature, map[string]string{"source": daemon, "tag_sha": "false"}, nil, "image_tags", "no tags to push: tag_sha is false, tag_semver and tag_latest give none on this run"},
		{"no commit SHA", pushMain, map[string]string{"source": daemon}, []string{"GITHUB_SHA", ""}, "tag_sha", "no commit SHA to tag: GITHUB_SHA is empty; set tag_sha: false to push without a commit tag"},
		{"pull request without its payload", pullRequest, map[string]string{"source": daemon}, []string{"GITHUB_EVENT_PATH", ""}, "tag_sha", "pull_request.head.sha"},
		{"SOURCE_DATE_EPOCH invalid", pushMain, map[string]string{"base_image": "scratch"}, []string{"SOURCE_DATE_EPOCH", "yesterday"}, "base_image", `SOURCE_DATE_EPOCH="yesterday"`},
		{"event payload not JSON", gitRun{"push", "refs/heads/main", "main", "branch", testSHA, "{"}, map[string]string{"retag_from": "v1"}, nil, "retag_from", "is not a JSON event"},

		// combinations
		{"source and base_image", pushMain, map[string]string{"source": daemon, "base_image": "scratch"}, nil, "source", "source and base_image are exclusive"},
		{"build input without base_image", pushMain, map[string]string{"source": daemon, "files": "a:/a"}, nil, "files", "needs base_image"},
		{"build input alone", pushMain, map[string]string{"workdir": "/srv"}, nil, "workdir", "needs base_image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(s.getenv(t, tt.git, tt.inputs, tt.extra...))
			var fe Errors
			if !errors.As(err, &fe) {
				t.Fatalf("Load error = %v, want config.Errors", err)
			}
			for _, f := range fe {
				if f.Input == tt.wantInput && strings.Contains(f.Error(), tt.wantText) {
					return
				}
			}
			t.Errorf("no error names input %s with %q; got:\n%v", tt.wantInput, tt.wantText, err)
		})
	}
}

// TestLoadImageExclusive checks that giving all three image inputs is one
// error naming them, not three.
func TestLoadImageExclusive(t *testing.T) {
	s := newImageSetup(t)
	_, err := Load(s.getenv(t, pushMain, map[string]string{"source": "docker-daemon:app:dev", "base_image": "scratch", "retag_from": "v1"}))
	var fe Errors
	if !errors.As(err, &fe) {
		t.Fatalf("Load error = %v, want config.Errors", err)
	}
	want := Errors{{Input: "source", Problem: "source, base_image and retag_from are exclusive: give only one of source (push an image from a file, directory or daemon), base_image (build one) or retag_from (tag one already in the repository)"}}
	if diff := cmp.Diff(want, fe); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestParseReference(t *testing.T) {
	tests := []struct {
		ref  string
		want imageReference
		err  string
	}{
		{"alpine", imageReference{Name: "alpine"}, ""},
		{"alpine:3.20", imageReference{Name: "alpine", Tag: "3.20"}, ""},
		{"library/alpine:latest", imageReference{Name: "library/alpine", Tag: "latest"}, ""},
		{"123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:v1", imageReference{Name: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app", Tag: "v1"}, ""},
		{"localhost:5000/app", imageReference{Name: "localhost:5000/app"}, ""},
		{"[::1]:5000/app:x", imageReference{Name: "[::1]:5000/app", Tag: "x"}, ""},
		{"ghcr.io/org/a__b/c-d--e.f:T_1@" + digest64, imageReference{Name: "ghcr.io/org/a__b/c-d--e.f", Tag: "T_1", Digest: digest64}, ""},
		{"Registry.Example.com/app", imageReference{Name: "Registry.Example.com/app"}, ""},
		{"", imageReference{}, "is empty"},
		{"app:", imageReference{}, "not an image reference"},
		{"app:.x", imageReference{}, "not an image reference"},
		{"-app", imageReference{}, "not an image reference"},
		{"app_", imageReference{}, "not an image reference"},
		{"a___b", imageReference{}, "not an image reference"},
		{"team/App", imageReference{}, "lower case"},
		{"ghcr.io/Org/app", imageReference{}, "lower case"},
		{"app@sha256:" + strings.Repeat("A", 64), imageReference{}, "lower-case hex"},
		{"app@sha512:" + strings.Repeat("a", 64), imageReference{}, "not 128"},
		{strings.Repeat("a", 256), imageReference{}, "at most 255"},
		{strings.Repeat("a/", 300) + "a", imageReference{}, "more than an image reference can be"},
		{"app:" + strings.Repeat("a", 129), imageReference{}, "not an image reference"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got, err := parseReference(tt.ref)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("parseReference(%q) error = %v, want one containing %q", tt.ref, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseReference(%q): %v", tt.ref, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseReference(%q) (-want +got):\n%s", tt.ref, diff)
			}
		})
	}
}

func TestWithin(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	for _, d := range []string{"a/b"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "a", "out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "a", "b"), filepath.Join(root, "in")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path   string
		want   string
		inside bool
	}{
		{"a/b", filepath.Join(root, "a", "b"), true},
		{"missing/deeper", filepath.Join(root, "missing", "deeper"), true},
		{"in/x/y", filepath.Join(root, "a", "b", "x", "y"), true},
		{"a/out/x", filepath.Join(outside, "x"), false},
		{"a/out", outside, false},
		{"..", filepath.Dir(root), false},
		{"a/../../x", filepath.Join(filepath.Dir(root), "x"), false},
		{"file/below", filepath.Join(root, "file", "below"), true},
		{root, root, true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, inside, err := within(root, tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || inside != tt.inside {
				t.Errorf("within(root, %q) = %q, %v; want %q, %v", tt.path, got, inside, tt.want, tt.inside)
			}
		})
	}
}

func FuzzParseReference(f *testing.F) {
	for _, s := range []string{"alpine", "localhost:5000/a/b:c@" + digest64, "[::1]:1/x", "A/b", "a:b:c", "a@sha256:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		r, err := parseReference(ref)
		if err != nil {
			return
		}
		back := r.Name
		if r.Tag != "" {
			back += ":" + r.Tag
		}
		if r.Digest != "" {
			back += "@" + r.Digest
		}
		if back != ref {
			t.Fatalf("parseReference(%q) = %+v, which reads back as %q", ref, r, back)
		}
		if r.Tag != "" && tags.Valid(r.Tag) != nil {
			t.Fatalf("parseReference(%q) accepted tag %q", ref, r.Tag)
		}
	})
}

func FuzzLoadImage(f *testing.F) {
	f.Add("oci:build/image:v1", "", "", "", "", "")
	f.Add("", "scratch", "dist/${TARGETARCH}/app:/app", `["/app"]`, "linux/amd64,linux/arm/v7", "x,y")
	f.Add("", "", "", "", "", "sha256:abc")
	f.Fuzz(func(t *testing.T, source, base, files, entrypoint, platforms, imageTags string) {
		ws, temp := t.TempDir(), t.TempDir()
		vars := []string{
			"GITHUB_WORKSPACE", ws, "RUNNER_TEMP", temp, "GITHUB_EVENT_NAME", "push", "GITHUB_REF", "refs/heads/main",
			"GITHUB_REF_NAME", "main", "GITHUB_REF_TYPE", "branch", "GITHUB_SHA", testSHA,
		}
		in := with(seed(), "source", source, "base_image", base, "files", files, "entrypoint", entrypoint, "platforms", platforms, "image_tags", imageTags)
		c, err := Load(env(in, vars...))
		if err != nil {
			var fe Errors
			if !errors.As(err, &fe) || len(fe) == 0 {
				t.Fatalf("error is not a non-empty config.Errors: %v", err)
			}
			for _, e := range fe {
				checkMessage(t, e.Error())
			}
			return
		}
		if c.Image == nil {
			return
		}
		if len(c.Image.Tags) == 0 {
			t.Fatal("accepted an image without tags")
		}
		for _, tag := range c.Image.Tags {
			if err := tags.Valid(tag); err != nil {
				t.Fatalf("accepted tag %q: %v", tag, err)
			}
		}
		if src := c.Image.Source; src != nil && src.Path != "" {
			_, inWS, _ := within(ws, src.Path)
			_, inTemp, _ := within(temp, src.Path)
			if !inWS && !inTemp {
				t.Fatalf("accepted source path %q outside the workspace and RUNNER_TEMP", src.Path)
			}
		}
		if b := c.Image.Build; b != nil {
			for _, file := range b.Files {
				if _, inside, err := within(ws, file.Src); err != nil || !inside || !strings.HasPrefix(file.Dest, "/") {
					t.Fatalf("accepted file %+v", file)
				}
			}
			for _, p := range b.Platforms {
				if checkPlatform(p) != nil {
					t.Fatalf("accepted platform %q", p)
				}
			}
		}
	})
}
