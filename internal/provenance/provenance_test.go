package provenance

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

var (
	imageDigest = "sha256:" + strings.Repeat("ab", 32)
	baseDigest  = "sha256:" + strings.Repeat("cd", 32)
	fileDigest  = "sha256:" + strings.Repeat("ef", 32)
	started     = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
)

func input() Input {
	return Input{
		GitHub: GitHub{
			ServerURL:         "https://github.com",
			Repository:        "acme/shop",
			RepositoryID:      "123456",
			RepositoryOwnerID: "654321",
			Ref:               "refs/heads/main",
			SHA:               "0123456789abcdef0123456789abcdef01234567",
			EventName:         "push",
			WorkflowRef:       "acme/shop/.github/workflows/deploy.yml@refs/heads/main",
			RunID:             "9876543210",
			RunAttempt:        "2",
			RunnerOS:          "Linux",
			RunnerArch:        "X64",
			RunnerEnvironment: "github-hosted",
		},
		Action:     Action{Repository: "org/ecr-action", Version: "v1.4.0", Digest: "fedcba9876543210fedcba9876543210fedcba98"},
		Subjects:   []Subject{{Name: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop", Digest: imageDigest}},
		Inputs:     map[string]string{"repository": "shop", "context": ".", "dockerfile": "Dockerfile", "platforms": "linux/amd64,linux/arm64"},
		BaseImages: []Dependency{{URI: "docker.io/library/golang:1.26", Digest: baseDigest}},
		Files:      []Dependency{{URI: "bin/app", Digest: fileDigest}, {URI: "conf", Dir: true, Digest: fileDigest}, {URI: "./docs/read me.md", Digest: fileDigest}},
		StartedOn:  started,
		FinishedOn: started.Add(95 * time.Second),
	}
}

type noNetwork struct{}

func (noNetwork) Load(url string) (any, error) {
	return nil, errors.New("offline: not loading " + url)
}

func schema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "slsa-provenance-v1.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	const id = "https://ecr-action.test/schema/in-toto-statement-v1-slsa-provenance-v1.json"
	c := jsonschema.NewCompiler()
	c.UseLoader(noNetwork{})
	c.AssertFormat()
	if err := c.AddResource(id, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, b []byte) error {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	return s.Validate(doc)
}

func encode(t *testing.T, in Input) []byte {
	t.Helper()
	st, err := New(in)
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStatementValidates(t *testing.T) {
	s := schema(t)
	b := encode(t, input())
	if err := validate(t, s, b); err != nil {
		t.Fatalf("statement does not validate: %v\n%s", err, b)
	}
	// Minimal input: no optional parts.
	in := input()
	in.Action.Digest, in.BaseImages, in.Files, in.Inputs = "", nil, nil, nil
	in.GitHub.EventName, in.GitHub.RunnerEnvironment = "", ""
	if err := validate(t, s, encode(t, in)); err != nil {
		t.Errorf("minimal statement does not validate: %v", err)
	}

	// The schema is live: each of these breaks a MUST of the specs.
	breaks := map[string]func(m map[string]any){
		"wrong _type":            func(m map[string]any) { m["_type"] = "https://in-toto.io/Statement/v0.1" },
		"subject without digest": func(m map[string]any) { delete(m["subject"].([]any)[0].(map[string]any), "digest") },
		"short sha256": func(m map[string]any) {
			m["subject"].([]any)[0].(map[string]any)["digest"] = map[string]any{"sha256": "abc"}
		},
		"no buildType": func(m map[string]any) {
			delete(m["predicate"].(map[string]any)["buildDefinition"].(map[string]any), "buildType")
		},
		"no builder id": func(m map[string]any) {
			delete(m["predicate"].(map[string]any)["runDetails"].(map[string]any)["builder"].(map[string]any), "id")
		},
		"local time": func(m map[string]any) {
			m["predicate"].(map[string]any)["runDetails"].(map[string]any)["metadata"].(map[string]any)["startedOn"] = "2026-12-01T10:00:00+01:00"
		},
	}
	for name, br := range breaks {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		br(m)
		nb, _ := json.Marshal(m)
		if err := validate(t, s, nb); err == nil {
			t.Errorf("%s: the schema accepted it", name)
		}
	}
}

// TestStatementFields checks what the statement says, field by field,
// against the SLSA v1 and in-toto v1 texts.
func TestStatementFields(t *testing.T) {
	var got map[string]any
	if err := json.Unmarshal(encode(t, input()), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"_type": "https://in-toto.io/Statement/v1",
		"subject": []any{map[string]any{
			"name":   "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop",
			"digest": map[string]any{"sha256": strings.Repeat("ab", 32)},
		}},
		"predicateType": "https://slsa.dev/provenance/v1",
		"predicate": map[string]any{
			"buildDefinition": map[string]any{
				"buildType": BuildType,
				"externalParameters": map[string]any{
					"workflow": map[string]any{"ref": "refs/heads/main", "repository": "https://github.com/acme/shop", "path": ".github/workflows/deploy.yml"},
					"inputs":   map[string]any{"repository": "shop", "context": ".", "dockerfile": "Dockerfile", "platforms": "linux/amd64,linux/arm64"},
				},
				"internalParameters": map[string]any{
					"github": map[string]any{"event_name": "push", "repository_id": "123456", "repository_owner_id": "654321", "runner_environment": "github-hosted"},
					"runner": map[string]any{"os": "Linux", "arch": "X64"},
				},
				"resolvedDependencies": []any{
					map[string]any{"uri": "git+https://github.com/acme/shop@refs/heads/main", "digest": map[string]any{"gitCommit": "0123456789abcdef0123456789abcdef01234567"}},
					map[string]any{"uri": "pkg:docker/library/golang@1.26", "name": "docker.io/library/golang:1.26", "digest": map[string]any{"sha256": strings.Repeat("cd", 32)}, "annotations": map[string]any{"kind": "baseimage"}},
					map[string]any{"uri": "file:docs/read%20me.md", "name": "./docs/read me.md", "digest": map[string]any{"sha256": strings.Repeat("ef", 32)}, "annotations": map[string]any{"kind": "file"}},
					map[string]any{"uri": "file:bin/app", "name": "bin/app", "digest": map[string]any{"sha256": strings.Repeat("ef", 32)}, "annotations": map[string]any{"kind": "file"}},
					map[string]any{"uri": "file:conf/", "name": "conf", "digest": map[string]any{"sha256": strings.Repeat("ef", 32)}, "annotations": map[string]any{"kind": "directory", "digestOf": "layer diff ID"}},
				},
			},
			"runDetails": map[string]any{
				"builder": map[string]any{
					"id":      "https://github.com/org/ecr-action@v1.4.0",
					"version": map[string]any{"org/ecr-action": "v1.4.0"},
					"builderDependencies": []any{map[string]any{
						"uri":    "git+https://github.com/org/ecr-action@v1.4.0",
						"digest": map[string]any{"gitCommit": "fedcba9876543210fedcba9876543210fedcba98"},
					}},
				},
				"metadata": map[string]any{
					"invocationId": "https://github.com/acme/shop/actions/runs/9876543210/attempts/2",
					"startedOn":    "2026-12-01T09:00:00Z",
					"finishedOn":   "2026-12-01T09:01:35Z",
				},
			},
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("statement (-want +got):\n%s", d)
	}
}

func TestDeterministic(t *testing.T) {
	a := encode(t, input())
	in := input()
	// Same content in another order gives the same bytes.
	in.Files[0], in.Files[1] = in.Files[1], in.Files[0]
	if b := encode(t, in); !bytes.Equal(a, b) {
		t.Errorf("reordered files changed the bytes:\n%s", cmp.Diff(string(a), string(b)))
	}
}

func TestImageURI(t *testing.T) {
	for in, want := range map[string]string{
		"docker.io/library/golang:1.26": "pkg:docker/library/golang@1.26",
		"golang":                        "pkg:docker/golang",
		"localhost:5000/app:1":          "pkg:docker/app@1?repository_url=localhost%3A5000%2Fapp",
		"123456789012.dkr.ecr.eu-west-1.amazonaws.com/base@sha256:ab": "pkg:docker/base?repository_url=123456789012.dkr.ecr.eu-west-1.amazonaws.com%2Fbase",
		"public.ecr.aws/docker/library/alpine:3.20":                   "pkg:docker/docker/library/alpine@3.20?repository_url=public.ecr.aws%2Fdocker%2Flibrary%2Falpine",
		"pkg:docker/debian@12":                                        "pkg:docker/debian@12",
	} {
		if got := imageURI(in); got != want {
			t.Errorf("imageURI(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestActionDigestForms(t *testing.T) {
	in := input()
	in.Action.Digest = "sha256:" + strings.Repeat("12", 32)
	st, err := New(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Predicate.RunDetails.Builder.BuilderDependencies[0].Digest; got["sha256"] != strings.Repeat("12", 32) {
		t.Errorf("builder dependency digest = %v", got)
	}
}

func TestInvalidInputNamesEveryField(t *testing.T) {
	in := input()
	in.GitHub.Repository = "not a repo"
	in.GitHub.SHA = "main"
	in.GitHub.RunID = ""
	in.GitHub.RunAttempt = "first"
	in.Action.Repository = ""
	in.Subjects[0].Digest = "sha256:XYZ"
	in.BaseImages[0].Digest = "latest"
	in.Action.Digest = "v1"
	in.FinishedOn = started.Add(-time.Second)
	_, err := New(in)
	if err == nil {
		t.Fatal("New accepted the input")
	}
	for _, w := range []string{"GitHub.Repository", "GitHub.SHA", "GitHub.RunID", "GitHub.RunAttempt", "Action.Repository", "Subjects[0]", `BaseImages "docker.io/library/golang:1.26"`, "Action.Digest", "FinishedOn"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not name %s:\n%v", w, err)
		}
	}
	in = input()
	in.Subjects = nil
	in.StartedOn = time.Time{}
	if _, err := New(in); err == nil || !strings.Contains(err.Error(), "no subject") || !strings.Contains(err.Error(), "StartedOn") {
		t.Errorf("New without subject and times = %v", err)
	}
}
