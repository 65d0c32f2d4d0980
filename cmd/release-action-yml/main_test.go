package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const testImage = "ghcr.io/org/ecr-action@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// metadata is action.yml as actionlint v1.7.12 reads it (its
// ActionMetadata): inputs and outputs keep their definitions as written.
type metadata struct {
	Name    string    `yaml:"name"`
	Inputs  yaml.Node `yaml:"inputs"`
	Outputs yaml.Node `yaml:"outputs"`
	Runs    yaml.Node `yaml:"runs"`
}

// definition is one input's or output's definition: value tags matter
// (actionlint and the runner see "true" and true differently).
type definition struct {
	name string
	keys map[string]string // key -> tag and value
}

// lintProblems applies the checks actionlint v1.7.12 makes of a local
// Docker action's metadata (action_metadata.go, rule_action.go): a
// mapping of inputs with no duplicate and only description, required,
// default and deprecationMessage; outputs with description and value only;
// runs.using docker with an image that is a Dockerfile or a registry image
// (docker://…), and no JavaScript or composite keys.
func lintProblems(src []byte) (m metadata, inputs, outputs []definition, problems []string) {
	if err := yaml.Unmarshal(src, &m); err != nil {
		return m, nil, nil, []string{err.Error()}
	}
	defs := func(n *yaml.Node, what string, allowed []string) []definition {
		if n.Kind != yaml.MappingNode {
			problems = append(problems, what+" is not a mapping")
			return nil
		}
		var out []definition
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			name := strings.ToLower(k.Value)
			if seen[name] {
				problems = append(problems, fmt.Sprintf("%s %q is duplicated", what, k.Value))
			}
			seen[name] = true
			if v.Kind != yaml.MappingNode {
				problems = append(problems, fmt.Sprintf("%s %q is not a mapping", what, k.Value))
				continue
			}
			d := definition{name: k.Value, keys: map[string]string{}}
			for j := 0; j+1 < len(v.Content); j += 2 {
				key := v.Content[j].Value
				if !slices.Contains(allowed, key) {
					problems = append(problems, fmt.Sprintf("unexpected key %q for definition of %s %q", key, what, k.Value))
				}
				d.keys[key] = v.Content[j+1].Tag + " " + v.Content[j+1].Value
			}
			out = append(out, d)
		}
		return out
	}
	inputs = defs(&m.Inputs, "input", []string{"description", "required", "default", "deprecationMessage"})
	outputs = defs(&m.Outputs, "output", []string{"description", "value"})
	var runs map[string]any
	if err := m.Runs.Decode(&runs); err != nil {
		problems = append(problems, "runs: "+err.Error())
	}
	if runs["using"] != "docker" {
		problems = append(problems, fmt.Sprintf("runs.using is %v, want docker", runs["using"]))
	}
	img, _ := runs["image"].(string)
	if img == "" || !strings.HasPrefix(img, "docker://") && filepath.Base(img) != "Dockerfile" {
		problems = append(problems, fmt.Sprintf("runs.image %q is neither docker://… nor a Dockerfile", img))
	}
	for _, k := range []string{"main", "pre", "pre-if", "post", "post-if", "steps"} {
		if _, ok := runs[k]; ok {
			problems = append(problems, fmt.Sprintf("runs.%s is not valid for a Docker action", k))
		}
	}
	return m, inputs, outputs, problems
}

// TestRewriteActionYML drives the release step on a copy of the
// repository's action.yml, as release.yml does, and checks the result.
func TestRewriteActionYML(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join("..", "..", "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "action.yml")
	if err := os.WriteFile(path, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-file", path, "-image", testImage}, io.Discard); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	_, inBefore, outBefore, problems := lintProblems(orig)
	if len(problems) > 0 {
		t.Fatalf("the repository's action.yml: %q", problems)
	}
	m, inAfter, outAfter, problems := lintProblems(got)
	if len(problems) > 0 {
		t.Errorf("the rewritten action.yml: %q", problems)
	}
	var runs struct{ Using, Image string }
	if err := m.Runs.Decode(&runs); err != nil {
		t.Fatal(err)
	}
	if runs.Using != "docker" || runs.Image != "docker://"+testImage {
		t.Errorf("runs: using %q image %q, want docker and docker://%s", runs.Using, runs.Image, testImage)
	}
	if len(inAfter) != len(inBefore) || len(outAfter) != len(outBefore) || len(inBefore) < 40 {
		t.Fatalf("%d inputs and %d outputs, before %d and %d", len(inAfter), len(outAfter), len(inBefore), len(outBefore))
	}
	same := func(what string, a, b []definition) {
		for i := range a {
			if a[i].name != b[i].name || fmt.Sprint(a[i].keys) != fmt.Sprint(b[i].keys) {
				t.Errorf("%s %d: %v, before %v", what, i, b[i], a[i])
			}
		}
	}
	same("input", inBefore, inAfter)
	same("output", outBefore, outAfter)

	// One line changed, nothing else.
	ol, gl := strings.Split(string(orig), "\n"), strings.Split(string(got), "\n")
	if len(ol) != len(gl) {
		t.Fatalf("%d lines, before %d", len(gl), len(ol))
	}
	var changed []string
	for i := range ol {
		if ol[i] != gl[i] {
			changed = append(changed, fmt.Sprintf("%q -> %q", ol[i], gl[i]))
		}
	}
	if want := fmt.Sprintf("%q -> %q", "  image: Dockerfile", "  image: docker://"+testImage); len(changed) != 1 || changed[0] != want {
		t.Errorf("changed lines %q, want only %s", changed, want)
	}

	// A second rewrite finds no Dockerfile line and changes nothing.
	if err := run([]string{"-file", path, "-image", testImage}, io.Discard); err == nil {
		t.Error("rewriting an already rewritten action.yml succeeded")
	}
	again, _ := os.ReadFile(path)
	if !bytes.Equal(again, got) {
		t.Error("a failed rewrite changed the file")
	}
}

func TestRejectsBadImages(t *testing.T) {
	src := []byte("name: x\nruns:\n  using: docker\n  image: Dockerfile\n")
	digest := strings.Repeat("a", 64)
	for _, img := range []string{
		"",
		"ghcr.io/org/ecr-action:v1", // a tag can move
		"ghcr.io/Org/ecr-action@sha256:" + digest,                       // upper case
		"ghcr.io/org/ecr-action@sha256:" + digest[:63],                  // short digest
		"ghcr.io/org/ecr-action@sha512:" + digest,                       // another algorithm
		"docker://ghcr.io/org/ecr-action@sha256:" + digest,              // the prefix is added
		"ghcr.io/org/ecr-action@sha256:" + digest + "\n  entrypoint: x", // YAML injection
		"ecr-action@sha256:" + digest,                                   // no registry
	} {
		if out, err := pinImage(src, img); err == nil {
			t.Errorf("accepted %q:\n%s", img, out)
		}
	}
	if out, err := pinImage(src, "ghcr.io/org/ecr-action@sha256:"+digest); err != nil || !strings.Contains(string(out), "  image: docker://ghcr.io/org/ecr-action@sha256:"+digest+"\n") {
		t.Errorf("a good image: %v\n%s", err, out)
	}
	for name, bad := range map[string]string{
		"no runs":             "name: x\n",
		"image elsewhere":     "name: x\nimage: Dockerfile\nruns:\n  using: docker\n  image: docker://a/b:c\n",
		"two image lines":     "runs:\n  using: docker\n  image: Dockerfile\n  image: Dockerfile\n",
		"already a registry":  "runs:\n  using: docker\n  image: docker://ghcr.io/org/ecr-action@sha256:" + digest + "\n",
		"Dockerfile in input": "inputs:\n  x:\n  image: Dockerfile\nruns:\n  using: docker\n  image: x/Dockerfile\n",
	} {
		if out, err := pinImage([]byte(bad), "ghcr.io/org/ecr-action@sha256:"+digest); err == nil {
			t.Errorf("%s: rewrote it:\n%s", name, out)
		}
	}
}
