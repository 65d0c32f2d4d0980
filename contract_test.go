package ecraction_test

// The action's contract lives in several files that users and the runner
// read separately: action.yml (what the runner passes as INPUT_*), the
// README's tables (what users read), the seed module's inputs (the names and
// defaults users migrate from) and the Dockerfile (how the runner starts the
// container). These tests keep them in agreement.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/org/ecr-action/internal/config"
	"github.com/org/ecr-action/internal/testing/depcheck"
)

// inputSpec is the part of an input that is contract: its name, its default
// (HasDefault false means the input declares none) and whether it is required.
type inputSpec struct {
	Name       string
	Default    string
	HasDefault bool
	Required   bool
}

// seedInputs are the inputs of the seed Terraform module, under the names and
// with the defaults users migrate from (list(string) [] and null become "").
var seedInputs = []inputSpec{
	{Name: "project_name", Required: true},
	{Name: "environment", Required: true},
	{Name: "repository_name", Default: "app", HasDefault: true},
	{Name: "image_tag_mutability", Default: "MUTABLE", HasDefault: true},
	{Name: "enable_image_scanning", Default: "true", HasDefault: true},
	{Name: "encryption_type", Default: "AES256", HasDefault: true},
	{Name: "kms_key_arn", Default: "", HasDefault: true},
	{Name: "enable_lifecycle_policy", Default: "true", HasDefault: true},
	{Name: "max_image_count", Default: "30", HasDefault: true},
	{Name: "untagged_image_days", Default: "7", HasDefault: true},
	{Name: "enable_cross_account_access", Default: "false", HasDefault: true},
	{Name: "allowed_account_ids", Default: "", HasDefault: true},
}

// seedOutputs are the seed module's outputs.
var seedOutputs = []string{
	"registry_id",
	"repository_arn",
	"repository_name",
	"repository_registry_url",
	"repository_url",
}

// actionFile is the subset of action.yml the tests read. Inputs and outputs
// stay yaml.Nodes so that scalar tags (a quoted "true" versus a bare true)
// and key order remain visible.
type actionFile struct {
	Name        string    `yaml:"name"`
	Description string    `yaml:"description"`
	Inputs      yaml.Node `yaml:"inputs"`
	Outputs     yaml.Node `yaml:"outputs"`
	Runs        struct {
		Using string `yaml:"using"`
		Image string `yaml:"image"`
	} `yaml:"runs"`
}

type actionInput struct {
	Description string `yaml:"description"`
	Required    bool   `yaml:"required"`
}

type actionOutput struct {
	Description string `yaml:"description"`
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	return string(b)
}

func loadAction(t *testing.T) actionFile {
	t.Helper()
	var a actionFile
	if err := yaml.Unmarshal([]byte(readFile(t, "action.yml")), &a); err != nil {
		t.Fatalf("parsing action.yml: %v", err)
	}
	return a
}

// mappingPairs returns the key/value node pairs of a YAML mapping, in order.
func mappingPairs(n *yaml.Node) ([][2]*yaml.Node, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: want a mapping, got YAML node kind %d", n.Line, n.Kind)
	}
	var pairs [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		pairs = append(pairs, [2]*yaml.Node{n.Content[i], n.Content[i+1]})
	}
	return pairs, nil
}

// actionInputs decodes action.yml's inputs. It reports, as problems, inputs
// without a description and defaults that are not YAML strings: the runner
// passes every input as a string, and a bare `true` or `30` hides that.
func actionInputs(n *yaml.Node) ([]inputSpec, []string, error) {
	pairs, err := mappingPairs(n)
	if err != nil {
		return nil, nil, fmt.Errorf("inputs: %w", err)
	}
	var specs []inputSpec
	var problems []string
	for _, p := range pairs {
		var in actionInput
		if err := p[1].Decode(&in); err != nil {
			return nil, nil, fmt.Errorf("input %q: %w", p[0].Value, err)
		}
		spec := inputSpec{Name: p[0].Value, Required: in.Required}
		fields, err := mappingPairs(p[1])
		if err != nil {
			return nil, nil, fmt.Errorf("input %q: %w", p[0].Value, err)
		}
		for _, f := range fields {
			if f[0].Value != "default" {
				continue
			}
			spec.HasDefault = true
			spec.Default = f[1].Value
			if f[1].Kind != yaml.ScalarNode || f[1].Tag != "!!str" {
				problems = append(problems, fmt.Sprintf("input %q: default %s has YAML tag %s; quote it so it is a string", spec.Name, f[1].Value, f[1].Tag))
			}
		}
		if strings.TrimSpace(in.Description) == "" {
			problems = append(problems, fmt.Sprintf("input %q has no description", spec.Name))
		}
		specs = append(specs, spec)
	}
	return specs, problems, nil
}

func actionOutputs(n *yaml.Node) ([]string, []string, error) {
	pairs, err := mappingPairs(n)
	if err != nil {
		return nil, nil, fmt.Errorf("outputs: %w", err)
	}
	var names, problems []string
	for _, p := range pairs {
		var out actionOutput
		if err := p[1].Decode(&out); err != nil {
			return nil, nil, fmt.Errorf("output %q: %w", p[0].Value, err)
		}
		if strings.TrimSpace(out.Description) == "" {
			problems = append(problems, fmt.Sprintf("output %q has no description", p[0].Value))
		}
		names = append(names, p[0].Value)
	}
	return names, problems, nil
}

// markdownTable returns the rows (header row excluded) of the first table
// after the line "## <heading>", each row split into trimmed cells.
func markdownTable(doc, heading string) ([][]string, error) {
	lines := strings.Split(doc, "\n")
	start := slices.Index(lines, "## "+heading)
	if start < 0 {
		return nil, fmt.Errorf("no %q section", "## "+heading)
	}
	var rows [][]string
	inTable := false
	for _, line := range lines[start+1:] {
		if strings.HasPrefix(line, "## ") {
			break
		}
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		inTable = true
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, cells)
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("section %q has no table with a header and a separator row", heading)
	}
	return rows[2:], nil
}

// unticked returns s without its enclosing backticks, or an error if it has none.
func unticked(s string) (string, error) {
	if len(s) < 2 || s[0] != '`' || s[len(s)-1] != '`' {
		return "", fmt.Errorf("%q is not in backticks", s)
	}
	return s[1 : len(s)-1], nil
}

// readmeInputs parses the README's Inputs table (Name | Description | Default
// | Required). A Default of — means no default, `""` the empty string.
func readmeInputs(doc string) ([]inputSpec, error) {
	rows, err := markdownTable(doc, "Inputs")
	if err != nil {
		return nil, err
	}
	var specs []inputSpec
	var errs []error
	for _, r := range rows {
		if len(r) != 4 {
			errs = append(errs, fmt.Errorf("inputs row %q: want 4 cells, got %d", r, len(r)))
			continue
		}
		name, err := unticked(r[0])
		if err != nil {
			errs = append(errs, fmt.Errorf("inputs row name: %w", err))
			continue
		}
		spec := inputSpec{Name: name}
		switch d := r[2]; d {
		case "—":
		case "`\"\"`":
			spec.HasDefault = true
		default:
			v, err := unticked(d)
			if err != nil {
				errs = append(errs, fmt.Errorf("input %q default: %w", name, err))
				continue
			}
			spec.Default, spec.HasDefault = v, true
		}
		switch r[3] {
		case "yes":
			spec.Required = true
		case "no":
		default:
			errs = append(errs, fmt.Errorf("input %q: Required is %q, want yes or no", name, r[3]))
			continue
		}
		specs = append(specs, spec)
	}
	return specs, errors.Join(errs...)
}

func readmeOutputs(doc string) ([]string, error) {
	rows, err := markdownTable(doc, "Outputs")
	if err != nil {
		return nil, err
	}
	var names []string
	var errs []error
	for _, r := range rows {
		if len(r) != 2 {
			errs = append(errs, fmt.Errorf("outputs row %q: want 2 cells, got %d", r, len(r)))
			continue
		}
		name, err := unticked(r[0])
		if err != nil {
			errs = append(errs, fmt.Errorf("outputs row name: %w", err))
			continue
		}
		names = append(names, name)
	}
	return names, errors.Join(errs...)
}

func byName(specs []inputSpec) []inputSpec {
	out := slices.Clone(specs)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// seedSubset returns the entries of specs whose names are seed inputs.
func seedSubset(specs []inputSpec) []inputSpec {
	var out []inputSpec
	for _, s := range specs {
		if slices.ContainsFunc(seedInputs, func(seed inputSpec) bool { return seed.Name == s.Name }) {
			out = append(out, s)
		}
	}
	return out
}

func TestActionYAML(t *testing.T) {
	a := loadAction(t)
	inputs, inputProblems, err := actionInputs(&a.Inputs)
	if err != nil {
		t.Fatal(err)
	}
	outputs, outputProblems, err := actionOutputs(&a.Outputs)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("runs as a Docker action built from the Dockerfile", func(t *testing.T) {
		got := [2]string{a.Runs.Using, a.Runs.Image}
		want := [2]string{"docker", "Dockerfile"}
		if got != want {
			t.Errorf("runs using/image = %q, want %q", got, want)
		}
	})
	t.Run("name and description are set", func(t *testing.T) {
		if a.Name == "" || a.Description == "" {
			t.Errorf("name = %q, description = %q; the Marketplace needs both", a.Name, a.Description)
		}
	})
	t.Run("every input and output is described and every default is a string", func(t *testing.T) {
		if diff := cmp.Diff([]string(nil), append(inputProblems, outputProblems...)); diff != "" {
			t.Errorf("action.yml problems (-want +got):\n%s", diff)
		}
	})
	t.Run("required inputs declare no default", func(t *testing.T) {
		for _, in := range inputs {
			if in.Required && in.HasDefault {
				t.Errorf("input %q is required and has default %q: the runner would pass the default and hide a missing value", in.Name, in.Default)
			}
		}
	})
	t.Run("seed inputs keep their names, defaults and required flags", func(t *testing.T) {
		if diff := cmp.Diff(byName(seedInputs), byName(seedSubset(inputs))); diff != "" {
			t.Errorf("seed inputs in action.yml (-seed +action.yml):\n%s", diff)
		}
	})
	t.Run("seed outputs are all declared", func(t *testing.T) {
		var missing []string
		for _, name := range seedOutputs {
			if !slices.Contains(outputs, name) {
				missing = append(missing, name)
			}
		}
		if diff := cmp.Diff([]string(nil), missing); diff != "" {
			t.Errorf("seed outputs missing from action.yml (-want +got):\n%s", diff)
		}
	})
}

func TestREADMEMatchesActionYAML(t *testing.T) {
	a := loadAction(t)
	readme := readFile(t, "README.md")
	actionIn, _, err := actionInputs(&a.Inputs)
	if err != nil {
		t.Fatal(err)
	}
	actionOut, _, err := actionOutputs(&a.Outputs)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("inputs table", func(t *testing.T) {
		got, err := readmeInputs(readme)
		if err != nil {
			t.Fatalf("README Inputs table: %v", err)
		}
		if diff := cmp.Diff(actionIn, got); diff != "" {
			t.Errorf("README Inputs table differs from action.yml (-action.yml +README), order included:\n%s", diff)
		}
	})
	t.Run("outputs table", func(t *testing.T) {
		got, err := readmeOutputs(readme)
		if err != nil {
			t.Fatalf("README Outputs table: %v", err)
		}
		if diff := cmp.Diff(actionOut, got); diff != "" {
			t.Errorf("README Outputs table differs from action.yml (-action.yml +README), order included:\n%s", diff)
		}
	})
	t.Run("usage example is examples/deploy.yml", func(t *testing.T) {
		example := readFile(t, filepath.Join("examples", "deploy.yml"))
		if !strings.Contains(readme, "```yaml\n"+example+"```\n") {
			t.Errorf("README has no ```yaml block equal to examples/deploy.yml; copy the file into the Usage section:\n%s", example)
		}
	})
}

// TestConfigMatchesActionYAML keeps the inputs the action parses, and the
// defaults it applies itself (a docker:// reference gets no defaults from
// action.yml), equal to what action.yml declares.
func TestConfigMatchesActionYAML(t *testing.T) {
	a := loadAction(t)
	specs, _, err := actionInputs(&a.Inputs)
	if err != nil {
		t.Fatal(err)
	}
	type def struct {
		Name     string
		Default  string
		Required bool
	}
	var want []def
	for _, s := range specs {
		want = append(want, def{Name: s.Name, Default: s.Default, Required: s.Required})
	}
	var got []def
	for _, d := range config.Definitions() {
		got = append(got, def{Name: d.Name, Default: d.Default, Required: d.Required})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config.Definitions() differs from action.yml inputs (-action.yml +config), order included:\n%s", diff)
	}
}

func TestREADMETableParsing(t *testing.T) {
	const header = "## Inputs\n\n| Name | Description | Default | Required |\n|---|---|---|---|\n"
	tests := []struct {
		name    string
		doc     string
		want    []inputSpec
		wantErr bool
	}{
		{
			name: "required, empty and valued defaults",
			doc:  header + "| `a` | d | — | yes |\n| `b` | d | `\"\"` | no |\n| `c` | d | `30` | no |\n\nafter\n",
			want: []inputSpec{{Name: "a", Required: true}, {Name: "b", HasDefault: true}, {Name: "c", Default: "30", HasDefault: true}},
		},
		{name: "name without backticks", doc: header + "| a | d | — | yes |\n", wantErr: true},
		{name: "default without backticks", doc: header + "| `a` | d | 30 | no |\n", wantErr: true},
		{name: "required not yes or no", doc: header + "| `a` | d | — | true |\n", wantErr: true},
		{name: "missing cell", doc: header + "| `a` | d | — |\n", wantErr: true},
		{name: "no section", doc: "# Nothing\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readmeInputs(tt.doc)
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Fatalf("readmeInputs error = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("readmeInputs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestActionInputDefaultsMustBeStrings(t *testing.T) {
	tests := []struct {
		name         string
		yaml         string
		want         []inputSpec
		wantProblems int
	}{
		{
			name: "quoted defaults",
			yaml: "a:\n  description: x\n  default: \"true\"\nb:\n  description: x\n  required: true\n",
			want: []inputSpec{{Name: "a", Default: "true", HasDefault: true}, {Name: "b", Required: true}},
		},
		{
			name:         "bare bool and number",
			yaml:         "a:\n  description: x\n  default: true\nb:\n  description: x\n  default: 30\n",
			want:         []inputSpec{{Name: "a", Default: "true", HasDefault: true}, {Name: "b", Default: "30", HasDefault: true}},
			wantProblems: 2,
		},
		{
			name:         "missing description",
			yaml:         "a:\n  default: \"x\"\n",
			want:         []inputSpec{{Name: "a", Default: "x", HasDefault: true}},
			wantProblems: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tt.yaml), &doc); err != nil {
				t.Fatal(err)
			}
			got, problems, err := actionInputs(doc.Content[0])
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("actionInputs (-want +got):\n%s", diff)
			}
			if len(problems) != tt.wantProblems {
				t.Errorf("got problems %q, want %d", problems, tt.wantProblems)
			}
		})
	}
}

// dockerInstruction is one Dockerfile instruction with continuations joined.
type dockerInstruction struct {
	Cmd  string // upper-cased
	Args string
}

func parseDockerfile(src string) []dockerInstruction {
	var out []dockerInstruction
	var cur strings.Builder
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		cmd, args, _ := strings.Cut(line, " ")
		out = append(out, dockerInstruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)})
	}
	for _, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue // comments and parser directives; also allowed between continuation lines
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		flush()
	}
	flush()
	return out
}

// dockerfileProblems checks the rules a container action's image must keep:
// no USER (the runner needs root), a static binary, a minimal final stage
// with CA certificates, and an exec-form ENTRYPOINT.
func dockerfileProblems(src string) []string {
	ins := parseDockerfile(src)
	var problems []string
	var froms []string
	staticBuild, entrypoint := false, false
	for _, in := range ins {
		switch in.Cmd {
		case "USER":
			problems = append(problems, fmt.Sprintf("USER %s: the runner starts the container without --user and GitHub requires container actions to run as root", in.Args))
		case "FROM":
			var image string
			for _, f := range strings.Fields(in.Args) {
				if !strings.HasPrefix(f, "--") {
					image = f
					break
				}
			}
			froms = append(froms, image)
		case "RUN":
			if strings.Contains(in.Args, "go build") && strings.Contains(in.Args, "CGO_ENABLED=0") {
				staticBuild = true
			}
		case "ENTRYPOINT":
			var argv []string
			if err := json.Unmarshal([]byte(in.Args), &argv); err != nil || len(argv) == 0 {
				problems = append(problems, fmt.Sprintf("ENTRYPOINT %s: want the exec form, a JSON array", in.Args))
			}
			entrypoint = true
		}
	}
	if !staticBuild {
		problems = append(problems, "no RUN builds with CGO_ENABLED=0 go build: the final stage has no C library")
	}
	if !entrypoint {
		problems = append(problems, "no ENTRYPOINT")
	}
	if len(froms) < 2 {
		problems = append(problems, fmt.Sprintf("%d FROM lines: want a multi-stage build (builder, then a minimal image)", len(froms)))
	}
	if len(froms) > 0 {
		final := froms[len(froms)-1]
		switch {
		case strings.HasPrefix(final, "gcr.io/distroless/static"):
		case final == "scratch":
			if !strings.Contains(src, "ca-certificates") {
				problems = append(problems, "final stage is scratch without CA certificates copied in: HTTPS to AWS would fail")
			}
		default:
			problems = append(problems, fmt.Sprintf("final stage is %s: want gcr.io/distroless/static* or scratch", final))
		}
	}
	return problems
}

func TestDockerfile(t *testing.T) {
	const good = "FROM golang:1.26-bookworm AS build\nRUN CGO_ENABLED=0 \\\n    go build -o /x ./cmd/action\nFROM gcr.io/distroless/static-debian12\nCOPY --from=build /x /x\nENTRYPOINT [\"/x\"]\n"
	tests := []struct {
		name         string
		src          string
		wantProblems int
	}{
		{name: "the repository's Dockerfile", src: readFile(t, "Dockerfile")},
		{name: "minimal good file", src: good},
		{name: "USER line", src: good + "USER nobody\n", wantProblems: 1},
		{name: "lower-case user line", src: good + "user 65532\n", wantProblems: 1},
		{name: "cgo enabled", src: strings.Replace(good, "CGO_ENABLED=0", "CGO_ENABLED=1", 1), wantProblems: 1},
		{name: "final stage alpine", src: strings.Replace(good, "gcr.io/distroless/static-debian12", "alpine:3", 1), wantProblems: 1},
		{name: "scratch without certificates", src: strings.Replace(good, "gcr.io/distroless/static-debian12", "scratch", 1), wantProblems: 1},
		{name: "shell-form entrypoint", src: strings.Replace(good, `["/x"]`, "/x", 1), wantProblems: 1},
		{name: "single stage", src: "FROM gcr.io/distroless/static-debian12\nRUN CGO_ENABLED=0 go build ./cmd/action\nENTRYPOINT [\"/x\"]\n", wantProblems: 1},
		{name: "USER in a comment is fine", src: "# USER root is not set\n" + good},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := dockerfileProblems(tt.src)
			if len(got) != tt.wantProblems {
				t.Errorf("dockerfileProblems = %q, want %d problem(s)", got, tt.wantProblems)
			}
		})
	}
}

// goVersionAtLeast reports whether Go version v (like 1.26.8 or 1.26) is at
// least min; a missing patch number counts as 0.
func goVersionAtLeast(v, min string) (bool, error) {
	parse := func(s string) ([3]int, error) {
		var n [3]int
		parts := strings.Split(s, ".")
		if len(parts) < 2 || len(parts) > 3 {
			return n, fmt.Errorf("%q is not a Go version", s)
		}
		for i, p := range parts {
			if _, err := fmt.Sscanf(p, "%d", &n[i]); err != nil || fmt.Sprint(n[i]) != p {
				return n, fmt.Errorf("%q is not a Go version", s)
			}
		}
		return n, nil
	}
	a, err := parse(v)
	if err != nil {
		return false, err
	}
	b, err := parse(min)
	if err != nil {
		return false, err
	}
	for i := range a {
		if a[i] != b[i] {
			return a[i] > b[i], nil
		}
	}
	return true, nil
}

// builderGoProblems checks that the golang builder image can build the
// module: the official images set GOTOOLCHAIN=local, so a Go older than
// go.mod's go line fails the build instead of fetching a newer toolchain.
func builderGoProblems(dockerfile, gomod string) []string {
	var want string
	for _, line := range strings.Split(gomod, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "go "); ok {
			want = strings.TrimSpace(v)
		}
	}
	if want == "" {
		return []string{"go.mod has no go line"}
	}
	var problems []string
	found := false
	for _, in := range parseDockerfile(dockerfile) {
		if in.Cmd != "FROM" {
			continue
		}
		for _, f := range strings.Fields(in.Args) {
			tag, ok := strings.CutPrefix(f, "golang:")
			if !ok {
				continue
			}
			found = true
			tag, _, _ = strings.Cut(tag, "@")
			v, _, _ := strings.Cut(tag, "-")
			okVersion, err := goVersionAtLeast(v, want)
			switch {
			case err != nil:
				problems = append(problems, fmt.Sprintf("builder %s: %v", f, err))
			case !okVersion:
				problems = append(problems, fmt.Sprintf("builder %s has Go %s, older than go.mod's go %s", f, v, want))
			}
		}
	}
	if !found {
		problems = append(problems, "no golang:<version> builder stage")
	}
	return problems
}

func TestDockerfileBuilderGoVersion(t *testing.T) {
	const gomod = "module x\n\ngo 1.26.8\n"
	tests := []struct {
		name         string
		dockerfile   string
		gomod        string
		wantProblems int
	}{
		{name: "the repository's Dockerfile and go.mod", dockerfile: readFile(t, "Dockerfile"), gomod: readFile(t, "go.mod")},
		{name: "same version", dockerfile: "FROM golang:1.26.8-bookworm AS build\n", gomod: gomod},
		{name: "newer minor", dockerfile: "FROM --platform=$BUILDPLATFORM golang:1.27-bookworm AS build\n", gomod: gomod},
		{name: "older patch", dockerfile: "FROM golang:1.26.3-bookworm AS build\n", gomod: gomod, wantProblems: 1},
		{name: "floating minor tag counts as .0, so pin the patch", dockerfile: "FROM golang:1.26-bookworm\n", gomod: gomod, wantProblems: 1},
		{name: "no golang builder", dockerfile: "FROM debian:12\n", gomod: gomod, wantProblems: 1},
		{name: "not a version", dockerfile: "FROM golang:latest\n", gomod: gomod, wantProblems: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := builderGoProblems(tt.dockerfile, tt.gomod)
			if len(got) != tt.wantProblems {
				t.Errorf("builderGoProblems = %q, want %d problem(s)", got, tt.wantProblems)
			}
		})
	}
}

// dockerignored reports whether the .dockerignore patterns exclude rel (a
// slash-separated path relative to the context). It follows Docker's rules
// for the patterns this repository uses: the last matching pattern wins, "!"
// re-includes, "**" matches any number of directories, and a pattern that
// matches a directory also matches everything below it.
func dockerignored(patterns []string, rel string) bool {
	ignored := false
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		p = strings.Trim(strings.TrimPrefix(p, "!"), "/")
		if p == "" {
			continue
		}
		if globPrefixMatch(strings.Split(p, "/"), strings.Split(rel, "/")) {
			ignored = !neg
		}
	}
	return ignored
}

// globPrefixMatch reports whether pat matches path or one of its parent directories.
func globPrefixMatch(pat, segs []string) bool {
	if len(pat) == 0 {
		return true // matched a parent directory (or the path itself)
	}
	if pat[0] == "**" {
		for i := 0; i <= len(segs); i++ {
			if globPrefixMatch(pat[1:], segs[i:]) {
				return true
			}
		}
		return false
	}
	if len(segs) == 0 {
		return false
	}
	if ok, _ := path.Match(pat[0], segs[0]); !ok {
		return false
	}
	return globPrefixMatch(pat[1:], segs[1:])
}

func dockerignorePatterns(src string) []string {
	var out []string
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

func TestDockerignoreMatching(t *testing.T) {
	patterns := dockerignorePatterns("*\n!go.mod\n!internal/\n**/*_test.go\n**/testdata/\n")
	tests := []struct {
		path string
		want bool
	}{
		{"go.mod", false},
		{"README.md", true},
		{".git/config", true},
		{"internal/config/config.go", false},
		{"internal/config/config_test.go", true},
		{"internal/config/testdata/x.json", true},
		{"cmd/action/main.go", true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := dockerignored(patterns, tt.path); got != tt.want {
				t.Errorf("dockerignored(%q) = %v, want %v", tt.path, got, tt.want)
			}
		})
	}
}

// TestDockerContextHasTheBuildInputs checks that .dockerignore keeps every
// file `go build ./cmd/action` reads from this module: an allow-list that
// forgets a new package breaks only the Docker build, which local tests
// would not notice. go list -e lists what it can even while a package does
// not build: that failure is go build's and go vet's to report, not this test's.
func TestDockerContextHasTheBuildInputs(t *testing.T) {
	patterns := dockerignorePatterns(readFile(t, ".dockerignore"))
	cmd := exec.Command("go", "list", "-e", "-deps", "-f",
		`{{if .Module}}{{if .Module.Main}}{{range .GoFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}{{range .EmbedFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}{{end}}{{end}}`,
		"./cmd/action")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./cmd/action: %v\n%s", err, stderr.String())
	}
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"go.mod", "go.sum"}
	for _, f := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(root, f)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, filepath.ToSlash(rel))
	}
	var excluded []string
	for _, f := range files {
		if dockerignored(patterns, f) {
			excluded = append(excluded, f)
		}
	}
	if diff := cmp.Diff([]string(nil), excluded); diff != "" {
		t.Errorf(".dockerignore excludes files the action binary is built from; allow their directories (-want +got):\n%s", diff)
	}
}

// testInfrastructure is where the packages live that exist only for tests,
// the demo and the benchmarks: emulators, fakes and the runner harness. The
// shipped binary must not contain any of them.
const testInfrastructure = "github.com/org/ecr-action/internal/testing/"

// goList runs `go list` with args and returns the packages it names.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.Fields(string(out))
}

// TestActionBinaryHasNoTestInfrastructure fences the product from its test
// doubles: `go list -deps ./cmd/action` names none of them.
func TestActionBinaryHasNoTestInfrastructure(t *testing.T) {
	var bad []string
	for _, p := range depcheck.Deps(t, "./cmd/action") {
		if strings.HasPrefix(p, testInfrastructure) {
			bad = append(bad, p)
		}
	}
	if len(bad) > 0 {
		t.Errorf("the action binary imports test infrastructure: %v", bad)
	}
}

// TestREADMEPackageTablesShowTheTwoGroups checks the README's two package
// tables against the module: the first lists exactly the packages the
// action binary is built from, the second every other package.
func TestREADMEPackageTablesShowTheTwoGroups(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	const module = "github.com/org/ecr-action"
	rel := func(p string) string { return strings.TrimPrefix(strings.TrimPrefix(p, module), "/") }
	product := map[string]bool{}
	for _, p := range depcheck.Deps(t, "./cmd/action") {
		if strings.HasPrefix(p, module+"/") {
			product[rel(p)] = true
		}
	}
	others := map[string]bool{}
	for _, p := range goList(t, "./...") {
		if r := rel(p); r != "" && !product[r] {
			others[r] = true
		}
	}
	// The two tables follow "One package per concern"; each row's first
	// cell names one or more packages in backquotes.
	text := string(readme)
	i := strings.Index(text, "One package per concern")
	if i < 0 {
		t.Fatal(`README has no "One package per concern" section`)
	}
	var tables []map[string]bool
	inTable := false
	for _, line := range strings.Split(text[i:], "\n") {
		if !strings.HasPrefix(line, "|") {
			if inTable && len(tables) == 2 {
				break
			}
			inTable = false
			continue
		}
		if !inTable {
			tables = append(tables, map[string]bool{})
			inTable = true
		}
		cells := strings.Split(line, "|")
		for _, f := range strings.Split(cells[1], "`") {
			if f = strings.TrimSpace(f); strings.HasPrefix(f, "cmd/") || strings.HasPrefix(f, "internal/") {
				tables[len(tables)-1][f] = true
			}
		}
	}
	if len(tables) < 2 {
		t.Fatalf("README has %d package tables after \"One package per concern\"; want two (product, test infrastructure)", len(tables))
	}
	check := func(name string, table, want map[string]bool) {
		for p := range want {
			if !table[p] {
				t.Errorf("the %s table in README lacks %s", name, p)
			}
		}
		for p := range table {
			if !want[p] {
				t.Errorf("the %s table in README lists %s, which is not in that group", name, p)
			}
		}
	}
	check("product", tables[0], product)
	check("test infrastructure", tables[1], others)
}

// TestNoProductFunctionOver100Lines keeps the functions of what the action
// binary is built from short enough to read in one screen or two.
func TestNoProductFunctionOver100Lines(t *testing.T) {
	const module = "github.com/org/ecr-action"
	fset := token.NewFileSet()
	for _, p := range depcheck.Deps(t, "./cmd/action") {
		if !strings.HasPrefix(p, module+"/") {
			continue
		}
		dir := strings.TrimPrefix(p, module+"/")
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range file.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok {
					continue
				}
				if n := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1; n > 100 {
					t.Errorf("%s: %s is %d lines; split it (at most 100)", fset.Position(fd.Pos()), fd.Name.Name, n)
				}
			}
		}
	}
}
