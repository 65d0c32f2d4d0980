package action

import (
	"strings"
	"testing"
	"time"

	"github.com/org/ecr-action/internal/config"
	"github.com/org/ecr-action/internal/report"
)

func TestProvenanceInput(t *testing.T) {
	env := map[string]string{
		"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "org/app", "GITHUB_SHA": strings.Repeat("a", 40),
		"GITHUB_REF": "refs/heads/main", "GITHUB_WORKFLOW_REF": "org/app/.github/workflows/deploy.yml@refs/heads/main",
		"GITHUB_RUN_ID": "42", "GITHUB_RUN_ATTEMPT": "2", "GITHUB_ACTION_REPOSITORY": "org/ecr-action", "GITHUB_ACTION_REF": "v1",
		config.EnvName("base_image"): "alpine:3.20", config.EnvName("files"): "app:/usr/bin/app",
		config.EnvName("env"): "TOKEN=s3cr3t-value",
	}
	cfg := &config.Config{Image: &config.Image{Build: &config.Build{Env: []string{"TOKEN=s3cr3t-value", "MODE=prod"}}, Tags: []string{"abc1234", "latest"}}}
	digest := "sha256:" + strings.Repeat("b", 64)
	base := "sha256:" + strings.Repeat("c", 64)
	in := provenanceInput(cfg, func(k string) string { return env[k] }, "v1.2.3", imageArtifact{Source: "build from alpine:3.20@" + base, Digest: digest, Built: built{baseRef: "alpine:3.20", baseDigest: base}}, "host/app", time.Unix(100, 0))
	if in.GitHub.RunID != "42" || in.GitHub.RunAttempt != "2" || in.Action.Version != "v1" || in.Action.Repository != "org/ecr-action" {
		t.Errorf("GitHub context %+v, action %+v", in.GitHub, in.Action)
	}
	if len(in.Subjects) != 1 || in.Subjects[0].Digest != digest || in.Subjects[0].Name != "host/app" {
		t.Errorf("subjects %+v", in.Subjects)
	}
	if len(in.BaseImages) != 1 || in.BaseImages[0].URI != "alpine:3.20" || in.BaseImages[0].Digest != base {
		t.Errorf("base images %+v; want alpine:3.20 at %s", in.BaseImages, base)
	}
	if in.Inputs["base_image"] != "alpine:3.20" || in.Inputs["files"] != "app:/usr/bin/app" || in.Inputs["tags"] != "abc1234,latest" {
		t.Errorf("inputs %v", in.Inputs)
	}
	for k, v := range in.Inputs {
		if strings.Contains(v, "s3cr3t") {
			t.Errorf("input %s carries an env value: %q", k, v)
		}
	}
	if in.Inputs["env"] != "names only: TOKEN, MODE" {
		t.Errorf("env = %q", in.Inputs["env"])
	}

	// A local action (uses: ./) has no GITHUB_ACTION_*: the project and
	// the binary's version name it.
	delete(env, "GITHUB_ACTION_REPOSITORY")
	delete(env, "GITHUB_ACTION_REF")
	in = provenanceInput(cfg, func(k string) string { return env[k] }, "v1.2.3", imageArtifact{Source: "docker://alpine:3.20", Digest: digest}, "host/app", time.Unix(100, 0))
	if in.Action.Repository != "org/ecr-action" || in.Action.Version != "v1.2.3" {
		t.Errorf("action %+v", in.Action)
	}
	if len(in.BaseImages) != 1 || in.BaseImages[0].URI != "alpine:3.20" || in.BaseImages[0].Digest != digest {
		t.Errorf("a docker:// source's base image %+v", in.BaseImages)
	}
}

func TestSBOMOutput(t *testing.T) {
	refs := []report.Referrer{
		{Kind: "SBOM", Platform: "linux/amd64", Digest: "sha256:1"},
		{Kind: "SBOM", Platform: "linux/arm64/v8", Digest: "sha256:2"},
		{Kind: "Provenance", Digest: "sha256:3"},
	}
	if got, want := sbomOutput(refs, true), "linux/amd64=sha256:1\nlinux/arm64/v8=sha256:2"; got != want {
		t.Errorf("index: %q, want %q", got, want)
	}
	if got := provenanceOutput(refs); got != "sha256:3" {
		t.Errorf("provenance %q", got)
	}
	if got := sbomOutput(refs[:1], false); got != "sha256:1" {
		t.Errorf("image: %q", got)
	}
}

// TestBaseDependency: a base_image pinned by digest is named without its
// digest, once, and a tag keeps its name (a pinned base once failed the
// provenance with the digest given twice).
func TestBaseDependency(t *testing.T) {
	d := "sha256:" + strings.Repeat("c", 64)
	for in, want := range map[string]string{
		"alpine:3.20":                 "alpine:3.20",
		"alpine:3.20@" + d:            "alpine:3.20",
		"public.ecr.aws/x/base@" + d:  "public.ecr.aws/x/base",
		"127.0.0.1:5000/base:v1@" + d: "127.0.0.1:5000/base:v1",
	} {
		ref, digest := baseDependency(in, d)
		if ref != want || digest != d {
			t.Errorf("baseDependency(%q) = %q, %q; want %q, %q", in, ref, digest, want, d)
		}
		env := map[string]string{
			"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "org/app", "GITHUB_SHA": strings.Repeat("a", 40),
			"GITHUB_REF": "refs/heads/main", "GITHUB_WORKFLOW_REF": "org/app/.github/workflows/deploy.yml@refs/heads/main",
			"GITHUB_RUN_ID": "42", "GITHUB_RUN_ATTEMPT": "1",
		}
		cfg := &config.Config{Provenance: true, Image: &config.Image{Build: &config.Build{}}}
		a, err := prepareAttestation(cfg, func(k string) string { return env[k] }, "v1", imageArtifact{Source: "build from " + in, Digest: "sha256:" + strings.Repeat("b", 64), Built: built{baseRef: ref, baseDigest: digest}}, "host/app", false, time.Unix(100, 0))
		if err != nil || a == nil || a.provenance == nil {
			t.Errorf("base_image %q: the provenance is refused: %v", in, err)
		}
	}
}
