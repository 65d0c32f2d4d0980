package build

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// quietRegistry is an in-memory registry that does not log every request.
func quietRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestConfig(t *testing.T) {
	// baseImage: Env PATH and LANG, Entrypoint /bin/sh, Cmd -c true, label base=yes.
	base := baseImage(t, "amd64", types.OCIManifestSchema1)
	cf, err := base.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config.WorkingDir = "/base"
	if base, err = mutate.ConfigFile(base, cf); err != nil {
		t.Fatal(err)
	}
	baseHistory := cf.History
	created := map[string]string{"org.opencontainers.image.created": "2026-11-01T12:00:00Z"}
	withLabels := func(extra map[string]string) map[string]string {
		m := map[string]string{"base": "yes"}
		for k, v := range created {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	baseEnv := []string{"PATH=/usr/bin", "LANG=C"}

	cases := []struct {
		name string
		spec Spec // the config fields only
		want v1.Config
	}{{
		name: "nothing set keeps the base's",
		want: v1.Config{Entrypoint: []string{"/bin/sh"}, Cmd: []string{"-c", "true"}, Env: baseEnv, WorkingDir: "/base", Labels: withLabels(nil)},
	}, {
		name: "entrypoint alone clears the base's cmd",
		spec: Spec{Entrypoint: []string{"/app"}},
		want: v1.Config{Entrypoint: []string{"/app"}, Env: baseEnv, WorkingDir: "/base", Labels: withLabels(nil)},
	}, {
		name: "entrypoint and cmd",
		spec: Spec{Entrypoint: []string{"/app"}, Cmd: []string{"serve", "--port=80"}},
		want: v1.Config{Entrypoint: []string{"/app"}, Cmd: []string{"serve", "--port=80"}, Env: baseEnv, WorkingDir: "/base", Labels: withLabels(nil)},
	}, {
		name: "cmd alone keeps the base's entrypoint",
		spec: Spec{Cmd: []string{"-c", "exit 3"}},
		want: v1.Config{Entrypoint: []string{"/bin/sh"}, Cmd: []string{"-c", "exit 3"}, Env: baseEnv, WorkingDir: "/base", Labels: withLabels(nil)},
	}, {
		name: "an empty entrypoint clears both",
		spec: Spec{Entrypoint: []string{}},
		want: v1.Config{Env: baseEnv, WorkingDir: "/base", Labels: withLabels(nil)},
	}, {
		name: "an empty cmd clears the base's",
		spec: Spec{Cmd: []string{}},
		want: v1.Config{Entrypoint: []string{"/bin/sh"}, Env: baseEnv, WorkingDir: "/base", Labels: withLabels(nil)},
	}, {
		name: "env replaces a key in place and appends new ones",
		spec: Spec{Env: []string{"LANG=C.UTF-8", "MODE=prod", "EMPTY="}},
		want: v1.Config{Entrypoint: []string{"/bin/sh"}, Cmd: []string{"-c", "true"}, Env: []string{"PATH=/usr/bin", "LANG=C.UTF-8", "MODE=prod", "EMPTY="}, WorkingDir: "/base", Labels: withLabels(nil)},
	}, {
		name: "workdir",
		spec: Spec{Workdir: "/srv"},
		want: v1.Config{Entrypoint: []string{"/bin/sh"}, Cmd: []string{"-c", "true"}, Env: baseEnv, WorkingDir: "/srv", Labels: withLabels(nil)},
	}, {
		name: "OCI labels from the git context, empty ones unset",
		spec: Spec{Source: "https://github.com/org/app", Revision: "0123abc"},
		want: v1.Config{Entrypoint: []string{"/bin/sh"}, Cmd: []string{"-c", "true"}, Env: baseEnv, WorkingDir: "/base", Labels: withLabels(map[string]string{
			"org.opencontainers.image.source":   "https://github.com/org/app",
			"org.opencontainers.image.revision": "0123abc",
		})},
	}, {
		name: "the user's labels win over the OCI ones and the base's",
		spec: Spec{Version: "v1.2.3", Labels: map[string]string{"base": "mine", "org.opencontainers.image.version": "custom", "team": "x"}},
		want: v1.Config{Entrypoint: []string{"/bin/sh"}, Cmd: []string{"-c", "true"}, Env: baseEnv, WorkingDir: "/base", Labels: withLabels(map[string]string{
			"base": "mine", "org.opencontainers.image.version": "custom", "team": "x",
		})},
	}}
	dir := ws(t, map[string]string{"a": "a", "b/c": "c"})
	files := []File{{"a", "/a"}, {"b", "/b/"}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec := c.spec
			spec.Base = Base{Image: base}
			spec.Workspace, spec.TempDir, spec.Epoch, spec.Files = dir, t.TempDir(), epoch, files
			res, err := Build(context.Background(), spec)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Image(res.Image); err != nil {
				t.Fatalf("validate: %v", err)
			}
			got, err := res.Image.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got.Config, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if !got.Created.Time.Equal(epoch) {
				t.Errorf("created %v, want the epoch", got.Created)
			}
			if got.OS != "linux" || got.Architecture != "amd64" {
				t.Errorf("platform %s/%s, want the base's", got.OS, got.Architecture)
			}
			// The base's history as it was, then one entry per files line.
			if diff := cmp.Diff(baseHistory, got.History[:len(baseHistory)]); diff != "" {
				t.Errorf("base history changed (-want +got):\n%s", diff)
			}
			var added []string
			for _, h := range got.History[len(baseHistory):] {
				if !h.Created.Time.Equal(epoch) || h.EmptyLayer {
					t.Errorf("history entry %+v: want the epoch and a layer", h)
				}
				added = append(added, h.CreatedBy)
			}
			if diff := cmp.Diff([]string{"ecr-action files: a:/a", "ecr-action files: b:/b/"}, added); diff != "" {
				t.Errorf("added history (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReproducible(t *testing.T) {
	base := indexOf(t, types.OCIImageIndex, types.OCIManifestSchema1, plat("linux/amd64"), plat("linux/arm64"))
	dir := ws(t, map[string]string{"dist/amd64/app*": "a", "dist/arm64/app*": "b", "site/index.html": "i", "site/css/a.css": "c"})
	build := func(e time.Time) v1.Hash {
		t.Helper()
		res, err := Build(context.Background(), Spec{
			Base: Base{Index: base}, Workspace: dir, TempDir: t.TempDir(), Epoch: e,
			Files: []File{{"dist/${TARGETARCH}/app", "/app"}, {"site", "/srv/"}},
			Env:   []string{"A=1"}, Labels: map[string]string{"b": "2", "a": "1"},
		})
		if err != nil {
			t.Fatal(err)
		}
		return digest(t, res.Index)
	}
	first := build(epoch)
	cases := []struct {
		name  string
		epoch time.Time
		same  bool
	}{
		{"same spec, another TempDir", epoch, true},
		{"same instant in another zone", epoch.In(time.FixedZone("X", 3600)), true},
		{"sub-second part dropped", epoch.Add(400 * time.Millisecond), true},
		{"another epoch", epoch.Add(time.Second), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := build(c.epoch); (got == first) != c.same {
				t.Errorf("digest %s vs %s; want same=%v", got, first, c.same)
			}
		})
	}
	t.Run("zero epoch is the Unix epoch", func(t *testing.T) {
		if build(time.Time{}) != build(time.Unix(0, 0)) {
			t.Error("zero epoch and Unix 0 differ")
		}
	})
}

func TestPushToRegistry(t *testing.T) {
	reg := quietRegistry(t)
	baseRef, err := name.ParseReference(reg + "/base:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(baseRef, platformImage(t, plat("linux/arm64"), types.DockerManifestSchema2)); err != nil {
		t.Fatal(err)
	}
	base, err := remote.Image(baseRef)
	if err != nil {
		t.Fatal(err)
	}
	dir := ws(t, map[string]string{"bin/app*": "app", "static/a": "a"})
	res, err := Build(context.Background(), Spec{
		Base: Base{Image: base}, Workspace: dir, TempDir: t.TempDir(), Epoch: epoch,
		Files: []File{{"bin/app", "/usr/bin/"}, {"static", "/srv"}}, Entrypoint: []string{"/usr/bin/app"},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := name.ParseReference(reg + "/app:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(out, res.Image); err != nil {
		t.Fatalf("pushing: %v", err)
	}
	pulled, err := remote.Image(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(pulled); err != nil {
		t.Fatalf("validate the pushed image: %v", err)
	}
	if got, want := digest(t, pulled), digest(t, res.Image); got != want {
		t.Errorf("pushed digest %s, built %s", got, want)
	}
	if diff := cmp.Diff([]string{"linux/arm64"}, res.Platforms); diff != "" {
		t.Errorf("platforms (-want +got):\n%s", diff)
	}
}
