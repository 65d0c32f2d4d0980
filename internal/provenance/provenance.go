// Package provenance writes an in-toto Statement v1 whose predicate is
// SLSA Provenance v1 (https://slsa.dev/provenance/v1), describing how the
// action built or pushed an image: from which repository, commit, workflow
// and run, with which inputs, base image and files, by which version of the
// action.
//
// The statement is unsigned. Everything comes in through Input: the
// package reads no environment variable and no clock.
package provenance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"
)

const (
	// StatementType is the in-toto Statement v1 _type.
	StatementType = "https://in-toto.io/Statement/v1"
	// PredicateType is SLSA Provenance v1.
	PredicateType = "https://slsa.dev/provenance/v1"
	// MediaType is the media type of the statement, and the artifactType
	// of the referrer that carries it.
	MediaType = "application/vnd.in-toto+json"
	// BuildType names this action's build: a container image built (or
	// copied) and pushed to Amazon ECR by the ecr-action GitHub Action.
	// externalParameters holds "workflow" and "inputs";
	// internalParameters holds "github" and "runner".
	BuildType = "https://github.com/org/ecr-action/buildtypes/ecr-image/v1"
)

// GitHub is the workflow run's context, as the runner sets it (GITHUB_*
// and RUNNER_* variables); the caller reads them.
type GitHub struct {
	ServerURL         string // GITHUB_SERVER_URL, "https://github.com"
	Repository        string // GITHUB_REPOSITORY, "owner/repo"
	RepositoryID      string // GITHUB_REPOSITORY_ID
	RepositoryOwnerID string // GITHUB_REPOSITORY_OWNER_ID
	Ref               string // GITHUB_REF, "refs/heads/main"
	SHA               string // GITHUB_SHA, the commit
	EventName         string // GITHUB_EVENT_NAME
	WorkflowRef       string // GITHUB_WORKFLOW_REF, "owner/repo/.github/workflows/x.yml@refs/heads/main"
	RunID             string // GITHUB_RUN_ID
	RunAttempt        string // GITHUB_RUN_ATTEMPT
	RunnerOS          string // RUNNER_OS
	RunnerArch        string // RUNNER_ARCH
	RunnerEnvironment string // RUNNER_ENVIRONMENT, "github-hosted" or "self-hosted"
}

// Action is the action that ran: the builder.
type Action struct {
	Repository string // GITHUB_ACTION_REPOSITORY, "org/ecr-action"
	Version    string // GITHUB_ACTION_REF, "v1" or a commit
	// Digest identifies exactly what ran: "sha256:<hex>" of the action's
	// image, or the 40-hex commit it was built from. Optional.
	Digest string
}

// Subject is an artifact the statement is about.
type Subject struct {
	Name   string // the image repository, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app"
	Digest string // "sha256:<hex>" of the image manifest (or index)
}

// Dependency is something the build used, with its digest.
type Dependency struct {
	// URI names it: a base image reference
	// ("docker.io/library/golang:1.26"), or a files source's path relative
	// to the workspace ("bin/app"), written as the URI "file:bin/app".
	URI string
	// Digest is "<algorithm>:<hex>", as "sha256:…". For a file, the sha256
	// of its content (what sha256sum prints).
	Digest string
	// Dir marks a files source that is a directory: Digest is then the
	// diff ID of the layer it became (the sha256 of the uncompressed,
	// normalized tar, listed in the image config's rootfs.diff_ids), and
	// the URI ends in "/".
	Dir bool
}

// Input is everything the statement says.
type Input struct {
	GitHub   GitHub
	Action   Action
	Subjects []Subject
	// Inputs are the action inputs that shaped the image, by name
	// (snake_case, as in action.yml). Secrets must not be passed.
	Inputs map[string]string
	// BaseImages are the images the build started from.
	BaseImages []Dependency
	// Files are the files that went into the image: the sources of a
	// build's files lines, by their path in the workspace.
	Files []Dependency
	// StartedOn and FinishedOn come from the injected clock.
	StartedOn, FinishedOn time.Time
}

// Statement is an in-toto Statement v1 with a SLSA Provenance v1
// predicate.
type Statement struct {
	Type          string               `json:"_type"`
	Subject       []ResourceDescriptor `json:"subject"`
	PredicateType string               `json:"predicateType"`
	Predicate     Provenance           `json:"predicate"`
}

// ResourceDescriptor is the in-toto ResourceDescriptor, the fields used.
type ResourceDescriptor struct {
	URI         string            `json:"uri,omitempty"`
	Digest      map[string]string `json:"digest,omitempty"`
	Name        string            `json:"name,omitempty"`
	Annotations map[string]any    `json:"annotations,omitempty"`
}

// Provenance is the SLSA Provenance v1 predicate.
type Provenance struct {
	BuildDefinition BuildDefinition `json:"buildDefinition"`
	RunDetails      RunDetails      `json:"runDetails"`
}

// BuildDefinition is SLSA's buildDefinition.
type BuildDefinition struct {
	BuildType            string               `json:"buildType"`
	ExternalParameters   map[string]any       `json:"externalParameters"`
	InternalParameters   map[string]any       `json:"internalParameters,omitempty"`
	ResolvedDependencies []ResourceDescriptor `json:"resolvedDependencies,omitempty"`
}

// RunDetails is SLSA's runDetails.
type RunDetails struct {
	Builder  Builder  `json:"builder"`
	Metadata Metadata `json:"metadata"`
}

// Builder is SLSA's builder.
type Builder struct {
	ID                  string               `json:"id"`
	Version             map[string]string    `json:"version,omitempty"`
	BuilderDependencies []ResourceDescriptor `json:"builderDependencies,omitempty"`
}

// Metadata is SLSA's BuildMetadata.
type Metadata struct {
	InvocationID string `json:"invocationId"`
	StartedOn    string `json:"startedOn"`
	FinishedOn   string `json:"finishedOn"`
}

var (
	hexRe    = regexp.MustCompile(`^[0-9a-f]+$`)
	commitRe = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)
	repoRe   = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
	numRe    = regexp.MustCompile(`^[0-9]+$`)
)

// digestLengths are the hex lengths of the algorithms accepted.
var digestLengths = map[string]int{"sha256": 64, "sha384": 96, "sha512": 128}

// parseDigest turns "sha256:<hex>" into an in-toto DigestSet.
func parseDigest(what, d string) (map[string]string, error) {
	alg, hex, ok := strings.Cut(d, ":")
	n, known := digestLengths[alg]
	if !ok || !known || len(hex) != n || !hexRe.MatchString(hex) {
		return nil, fmt.Errorf("%s: digest %q is not <sha256|sha384|sha512>:<lowercase hex>", what, d)
	}
	return map[string]string{alg: hex}, nil
}

// New checks the input and builds the statement. Every missing or
// malformed field is named in the error.
func New(in Input) (*Statement, error) {
	var errs []error
	checkInput(in, &errs)
	subjects := subjectsOf(in, &errs)
	server := strings.TrimRight(in.GitHub.ServerURL, "/")
	deps := dependencies(in, server, &errs)
	builderDeps := builderDependencies(in, server, &errs)
	if len(errs) > 0 {
		return nil, fmt.Errorf("provenance input: %w", errors.Join(errs...))
	}
	return statement(in, server, subjects, deps, builderDeps), nil
}

// need adds an error to errs when v is empty.
func need(errs *[]error, name, v string) {
	if strings.TrimSpace(v) == "" {
		*errs = append(*errs, fmt.Errorf("%s is empty", name))
	}
}

// checkInput checks the run's GitHub context, the action and the times.
func checkInput(in Input, errs *[]error) {
	g := in.GitHub
	need(errs, "GitHub.ServerURL", g.ServerURL)
	need(errs, "GitHub.Ref", g.Ref)
	need(errs, "GitHub.WorkflowRef", g.WorkflowRef)
	need(errs, "Action.Version", in.Action.Version)
	if !repoRe.MatchString(g.Repository) {
		*errs = append(*errs, fmt.Errorf("GitHub.Repository %q is not owner/name", g.Repository))
	}
	if !repoRe.MatchString(in.Action.Repository) {
		*errs = append(*errs, fmt.Errorf("Action.Repository %q is not owner/name", in.Action.Repository))
	}
	if !commitRe.MatchString(g.SHA) {
		*errs = append(*errs, fmt.Errorf("GitHub.SHA %q is not a commit (40 or 64 lowercase hex)", g.SHA))
	}
	if !numRe.MatchString(g.RunID) {
		*errs = append(*errs, fmt.Errorf("GitHub.RunID %q is not a number", g.RunID))
	}
	if !numRe.MatchString(g.RunAttempt) {
		*errs = append(*errs, fmt.Errorf("GitHub.RunAttempt %q is not a number", g.RunAttempt))
	}
	if in.StartedOn.IsZero() || in.FinishedOn.IsZero() {
		*errs = append(*errs, errors.New("StartedOn and FinishedOn are required"))
	} else if in.FinishedOn.Before(in.StartedOn) {
		*errs = append(*errs, fmt.Errorf("FinishedOn %s is before StartedOn %s", stamp(in.FinishedOn), stamp(in.StartedOn)))
	}
	if len(in.Subjects) == 0 {
		*errs = append(*errs, errors.New("no subject: the statement must name the pushed image's digest"))
	}
}

// subjectsOf is the statement's subjects: the pushed image's digests.
func subjectsOf(in Input, errs *[]error) []ResourceDescriptor {
	var subjects []ResourceDescriptor
	for i, s := range in.Subjects {
		d, err := parseDigest(fmt.Sprintf("Subjects[%d]", i), s.Digest)
		if err != nil {
			*errs = append(*errs, err)
			continue
		}
		need(errs, fmt.Sprintf("Subjects[%d].Name", i), s.Name)
		subjects = append(subjects, ResourceDescriptor{Name: s.Name, Digest: d})
	}
	return subjects
}

// dependencies are the resolved dependencies: the commit, the base images
// and the files the build read, each sorted.
func dependencies(in Input, server string, errs *[]error) []ResourceDescriptor {
	g := in.GitHub
	deps := []ResourceDescriptor{{
		URI:    "git+" + server + "/" + g.Repository + "@" + g.Ref,
		Digest: map[string]string{"gitCommit": g.SHA},
	}}
	addDeps := func(kind string, list []Dependency) {
		sorted := append([]Dependency(nil), list...)
		sort.Slice(sorted, func(i, j int) bool {
			if sorted[i].URI != sorted[j].URI {
				return sorted[i].URI < sorted[j].URI
			}
			return sorted[i].Digest < sorted[j].Digest
		})
		for i, d := range sorted {
			need(errs, fmt.Sprintf("%s[%d].URI", kind, i), d.URI)
			dg, err := parseDigest(fmt.Sprintf("%s %q", kind, d.URI), d.Digest)
			if err != nil {
				*errs = append(*errs, err)
				continue
			}
			uri := imageURI(d.URI)
			ann := map[string]any{"kind": strings.ToLower(strings.TrimSuffix(kind, "s"))}
			if kind == "Files" {
				// The workspace's file, not the commit's: a files
				// source is often built by the workflow, not committed.
				uri = fileURI(d.URI, d.Dir)
				if d.Dir {
					ann = map[string]any{"kind": "directory", "digestOf": "layer diff ID"}
				}
			}
			deps = append(deps, ResourceDescriptor{URI: uri, Name: d.URI, Digest: dg, Annotations: ann})
		}
	}
	addDeps("BaseImages", in.BaseImages)
	addDeps("Files", in.Files)
	return deps
}

// builderDependencies names the action's own commit or digest, if known.
func builderDependencies(in Input, server string, errs *[]error) []ResourceDescriptor {
	var builderDeps []ResourceDescriptor
	if ad := in.Action.Digest; ad != "" {
		var dg map[string]string
		if commitRe.MatchString(ad) {
			dg = map[string]string{"gitCommit": ad}
		} else if d, err := parseDigest("Action.Digest", ad); err == nil {
			dg = d
		} else {
			*errs = append(*errs, fmt.Errorf("Action.Digest %q is neither a commit nor <algorithm>:<hex>", ad))
		}
		if dg != nil {
			builderDeps = append(builderDeps, ResourceDescriptor{URI: "git+" + server + "/" + in.Action.Repository + "@" + in.Action.Version, Digest: dg})
		}
	}
	return builderDeps
}

// statement is the checked input as an in-toto statement.
func statement(in Input, server string, subjects, deps, builderDeps []ResourceDescriptor) *Statement {
	g := in.GitHub
	inputs := map[string]any{}
	for k, v := range in.Inputs {
		inputs[k] = v
	}
	workflowPath := g.WorkflowRef
	if rest, ok := strings.CutPrefix(workflowPath, g.Repository+"/"); ok {
		workflowPath = rest
	}
	workflowPath, _, _ = strings.Cut(workflowPath, "@")

	return &Statement{
		Type:          StatementType,
		Subject:       subjects,
		PredicateType: PredicateType,
		Predicate: Provenance{
			BuildDefinition: BuildDefinition{
				BuildType: BuildType,
				ExternalParameters: map[string]any{
					"workflow": map[string]any{
						"ref":        g.Ref,
						"repository": server + "/" + g.Repository,
						"path":       workflowPath,
					},
					"inputs": inputs,
				},
				InternalParameters: map[string]any{
					"github": nonEmpty(map[string]string{
						"event_name":          g.EventName,
						"repository_id":       g.RepositoryID,
						"repository_owner_id": g.RepositoryOwnerID,
						"runner_environment":  g.RunnerEnvironment,
					}),
					"runner": nonEmpty(map[string]string{"os": g.RunnerOS, "arch": g.RunnerArch}),
				},
				ResolvedDependencies: deps,
			},
			RunDetails: RunDetails{
				Builder: Builder{
					ID:                  server + "/" + in.Action.Repository + "@" + in.Action.Version,
					Version:             map[string]string{in.Action.Repository: in.Action.Version},
					BuilderDependencies: builderDeps,
				},
				Metadata: Metadata{
					InvocationID: fmt.Sprintf("%s/%s/actions/runs/%s/attempts/%s", server, g.Repository, g.RunID, g.RunAttempt),
					StartedOn:    stamp(in.StartedOn),
					FinishedOn:   stamp(in.FinishedOn),
				},
			},
		},
	}
}

// fileURI is "file:" and the workspace-relative path, percent-encoded
// where a URI needs it; a directory's ends in "/".
func fileURI(p string, dir bool) string {
	p = path.Clean(strings.TrimPrefix(p, "./"))
	if dir && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return "file:" + (&url.URL{Path: p}).EscapedPath()
}

// imageURI makes an image reference a URI, as in-toto's ResourceURI must
// be: a package URL, pkg:docker/<path>@<tag>, with repository_url for a
// registry other than Docker Hub (the form BuildKit's provenance uses).
// A reference that already is a URI ("pkg:", "scheme://") is kept.
func imageURI(ref string) string {
	if strings.HasPrefix(ref, "pkg:") || strings.Contains(ref, "://") {
		return ref
	}
	ref, _, _ = strings.Cut(ref, "@") // the digest is in the digest set
	registry, rest := "", ref
	if first, after, ok := strings.Cut(ref, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		registry, rest = first, after
	}
	tag := ""
	if i := strings.LastIndexByte(rest, ':'); i > strings.LastIndexByte(rest, '/') {
		rest, tag = rest[:i], rest[i+1:]
	}
	if registry == "docker.io" || registry == "index.docker.io" || registry == "registry-1.docker.io" {
		registry = ""
	}
	u := "pkg:docker/" + rest
	if tag != "" {
		u += "@" + tag
	}
	if registry != "" {
		u += "?repository_url=" + url.QueryEscape(registry+"/"+rest)
	}
	return u
}

func nonEmpty(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// stamp is RFC 3339 in UTC with a Z, seconds precision.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Encode writes the statement as indented JSON with a final newline; map
// keys are sorted, so equal statements give equal bytes.
func (s *Statement) Encode() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
