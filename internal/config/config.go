package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"

	"github.com/org/ecr-action/internal/invalid"
	"github.com/org/ecr-action/internal/policy"
	"github.com/org/ecr-action/internal/safefile"
	"github.com/org/ecr-action/internal/tags"
)

// ResourceTag is one resource tag.
type ResourceTag struct{ Key, Value string }

// Config is the validated desired state and the settings of one run.
type Config struct {
	Repository string // the full repository name

	ScanOnPush        bool
	Mutability        string
	MutabilityFilters []string
	EncryptionType    string
	KMSKeyARN         string

	// LifecycleEnabled false means: remove the policy this action generated.
	LifecycleEnabled bool
	// LifecyclePolicy is the policy text to apply when LifecycleEnabled.
	LifecyclePolicy string
	// LifecycleSource says where the policy comes from: "generated",
	// "lifecycle_policy input" or the workspace path it was read from.
	LifecycleSource string

	CrossAccount bool
	AccountIDs   []string

	ResourceTags []ResourceTag // the always-added tags first, then the user's, in input order

	Region          string
	RoleToAssume    string
	RoleSessionName string
	Audience        string

	// Workspace is GITHUB_WORKSPACE, or the working directory when it is
	// unset: the directory input paths are relative to and must stay in.
	Workspace string

	// Image is what the run pushes; nil when no source, base_image or
	// retag_from is given.
	Image *Image

	// Scan is how the run waits for the image's scan and gates on it.
	Scan Scan

	// SBOM and Provenance: attach an SBOM and a provenance statement to
	// the pushed image as OCI referrers (inputs sbom and provenance).
	SBOM, Provenance bool

	// Gates are the signing and replication waits (gates.go).
	Gates Gates

	// Warnings are problems that do not stop the run (an ignored input).
	Warnings []string
}

// Errors lists every invalid input of a run.
type Errors []invalid.Input

func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, f := range e {
		lines[i] = f.Error()
	}
	if len(e) == 1 {
		return lines[0]
	}
	return fmt.Sprintf("%d invalid inputs:\n  %s", len(e), strings.Join(lines, "\n  "))
}

// maxProblem bounds the text of one problem: a lifecycle policy with
// hundreds of bad rules is reported, but not in full.
const maxProblem = 1500

// safeProblem makes sure a problem cannot break a log line or flood it,
// whatever value a message repeats: control characters (and the Unicode
// line and paragraph separators) are written as Go escapes, and the text is
// cut at maxProblem bytes. Messages quote values with show; this is the net.
func safeProblem(p string) string {
	p = strings.ToValidUTF8(p, "\uFFFD")
	if strings.IndexFunc(p, unsafeRune) >= 0 {
		var b strings.Builder
		for _, r := range p {
			if unsafeRune(r) {
				q := strconv.QuoteRune(r)
				b.WriteString(q[1 : len(q)-1])
			} else {
				b.WriteRune(r)
			}
		}
		p = b.String()
	}
	if len(p) > maxProblem {
		cut := maxProblem
		for cut > 0 && !utf8.RuneStart(p[cut]) {
			cut--
		}
		p = p[:cut] + "… (shortened)"
	}
	return p
}

func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\ufeff'
}

// unwrapPath drops the path an *fs.PathError repeats (the caller names the
// path, quoted) and keeps what went wrong.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Bounds for numeric inputs: generous, but they catch a typo such as a
// duration in seconds where days were meant.
const (
	MaxImageCountLimit     = 10000
	MaxUntaggedDaysLimit   = 3650
	maxLifecycleFileBytes  = 64 << 10
	maxProtectedTagPattern = 128
	maxProtectedTags       = 100
)

var protectedTagPattern = regexp.MustCompile(`^[A-Za-z0-9_.*-]+$`)

// Load reads every input through getenv and validates them all, returning
// Errors that lists each invalid one. Files named by inputs are read from
// the workspace (GITHUB_WORKSPACE, else the working directory) and must stay
// inside it.
func Load(getenv func(string) string) (*Config, error) {
	l := &loader{getenv: getenv}
	c := &Config{}
	var wsErr error
	c.Workspace, wsErr = workspaceDir(getenv)
	warn := func(w string) { c.Warnings = append(c.Warnings, w) }

	project, env := l.repository(c)
	l.settings(c)
	l.lifecycle(c, wsErr)
	l.crossAccount(c)
	l.resourceTags(c, project, env)
	l.aws(c)

	// The image to push, and its tags. Reading the event payload (for the
	// git context of the tags) is, with lifecycle_policy, the only file read.
	c.Image = loadImage(imageInputs{
		in: l.in, withDefault: l.withDefault, boolean: l.boolean, bad: l.bad,
		getenv: getenv, readFile: readEventFile,
		workspace: c.Workspace, runnerTemp: getenv("RUNNER_TEMP"),
	}, warn)

	// Waiting for the scan, the gate and its reports.
	c.Scan = loadScan(l.in, l.withDefault, l.boolean, l.bad, warn, c.Workspace, c.Image != nil)

	// What the run attaches to the pushed image.
	c.SBOM = l.boolean("sbom")
	c.Provenance = l.boolean("provenance")

	// Waiting for ECR's managed signing and replication of the image.
	c.Gates = loadGates(l.withDefault, l.boolean, l.bad, c.Image != nil)

	if len(l.errs) > 0 {
		return nil, l.errs
	}
	return c, nil
}

// loader reads the inputs of one Load and collects every invalid one.
type loader struct {
	getenv func(string) string
	errs   Errors
}

// in is the named input, trimmed.
func (l *loader) in(name string) string { return strings.TrimSpace(l.getenv(EnvName(name))) }

// bad records input as invalid: value (shown safely, when not empty) and
// the problem.
func (l *loader) bad(input, value, format string, args ...any) {
	shown := ""
	if value != "" {
		shown = invalid.Quote(value)
	}
	l.errs = append(l.errs, invalid.Input{Input: input, Value: shown, Problem: safeProblem(fmt.Sprintf(format, args...))})
}

// boolean reads a true/false input, its default when empty.
func (l *loader) boolean(name string) bool {
	v := l.in(name)
	if v == "" {
		v = defaultOf(name)
	}
	switch strings.ToLower(v) {
	case "true":
		return true
	case "false":
		return false
	}
	l.bad(name, v, "must be true or false")
	return false
}

// integer reads a whole number from lo to hi, its default when empty; 0
// when invalid.
func (l *loader) integer(name string, lo, hi int) int {
	v := l.in(name)
	if v == "" {
		v = defaultOf(name)
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		l.bad(name, v, "must be a whole number from %d to %d", lo, hi)
		return 0
	}
	return n
}

// withDefault is the named input, or its default when empty.
func (l *loader) withDefault(name string) string {
	if v := l.in(name); v != "" {
		return v
	}
	return defaultOf(name)
}

// repository sets the repository name and returns the project_name and
// environment inputs, which also become resource tags.
func (l *loader) repository(c *Config) (project, env string) {
	project, env = l.in("project_name"), l.in("environment")
	if project == "" {
		l.bad("project_name", "", "is required: the runner does not enforce required inputs, so set it in the step's with: block")
	}
	if env == "" {
		l.bad("environment", "", "is required: set it in the step's with: block (for example production)")
	}
	if full := l.in("repository"); full != "" {
		c.Repository = full
		if err := policy.ValidateRepositoryName(full); err != nil {
			l.bad("repository", full, "is not a valid ECR repository name: %v", err)
		}
	} else if project != "" && env != "" {
		name := l.withDefault("repository_name")
		c.Repository = project + "-" + env + "-" + name
		if err := policy.ValidateRepositoryName(c.Repository); err != nil {
			// Name the part at fault; parts that are each fine join into
			// a valid name, so only the length is left to blame on all.
			blamed := false
			for _, part := range []struct{ input, value string }{{"project_name", project}, {"environment", env}, {"repository_name", name}} {
				if perr := policy.ValidateRepositoryNamePart(part.value); perr != nil {
					l.bad(part.input, part.value, "is part of the repository name <project_name>-<environment>-<repository_name>, which ECR would refuse: it %v. Change it or set repository", perr)
					blamed = true
				}
			}
			if !blamed {
				l.bad("project_name", c.Repository, "with environment and repository_name it forms the repository name shown, which ECR refuses: it %v. Change these inputs or set repository", err)
			}
		}
	}

	return project, env
}

// settings reads scanning, tag mutability and encryption.
func (l *loader) settings(c *Config) {
	c.ScanOnPush = l.boolean("enable_image_scanning")
	c.Mutability = l.withDefault("image_tag_mutability")
	c.MutabilityFilters = List(l.in("image_tag_mutability_exclusion_filters"))
	if !contains(policy.MutabilityModes(), c.Mutability) {
		l.bad("image_tag_mutability", c.Mutability, "must be one of %s", strings.Join(policy.MutabilityModes(), ", "))
	} else if err := policy.ValidateMutability(c.Mutability, c.MutabilityFilters); err != nil {
		input := "image_tag_mutability_exclusion_filters"
		if len(c.MutabilityFilters) == 0 {
			input = "image_tag_mutability"
		}
		l.bad(input, strings.Join(c.MutabilityFilters, ","), "%v (for example image_tag_mutability: IMMUTABLE_WITH_EXCLUSION with image_tag_mutability_exclusion_filters: latest)", err)
	}
	c.EncryptionType = l.withDefault("encryption_type")
	c.KMSKeyARN = l.in("kms_key_arn")
	switch c.EncryptionType {
	case policy.EncryptionAES256:
		if c.KMSKeyARN != "" {
			l.bad("kms_key_arn", c.KMSKeyARN, "is only used with encryption_type KMS or KMS_DSSE; remove it or set encryption_type: KMS")
		}
	case policy.EncryptionKMS, policy.EncryptionKMSDSSE:
		if c.KMSKeyARN != "" {
			if err := policy.ValidateKMSKey(c.KMSKeyARN); err != nil {
				l.bad("kms_key_arn", c.KMSKeyARN, "%v", err)
			}
		}
	default:
		l.bad("encryption_type", c.EncryptionType, "must be one of %s", strings.Join(policy.EncryptionTypes(), ", "))
	}

}

// lifecycle reads the lifecycle policy: the generated one or the user's.
func (l *loader) lifecycle(c *Config, wsErr error) {
	c.LifecycleEnabled = l.boolean("enable_lifecycle_policy")
	maxCount := l.integer("max_image_count", 1, MaxImageCountLimit)
	days := l.integer("untagged_image_days", 1, MaxUntaggedDaysLimit)
	protected := List(l.in("lifecycle_protected_tags"))
	if len(protected) > maxProtectedTags {
		l.bad("lifecycle_protected_tags", "", "lists %d patterns; the generated policy has a rule per pattern and ECR takes at most 30720 characters of policy, so at most %d are accepted", len(protected), maxProtectedTags)
		protected = nil
	}
	for _, p := range protected {
		if len(p) > maxProtectedTagPattern || !protectedTagPattern.MatchString(p) || strings.Count(p, "*") > 4 {
			l.bad("lifecycle_protected_tags", p, "each pattern must be up to %d characters of letters, digits, '_', '.', '-' and at most 4 '*' wildcards", maxProtectedTagPattern)
		}
	}
	archiveDays := 0
	if v := l.in("lifecycle_archive_days"); v != "" && v != "0" {
		archiveDays = l.integer("lifecycle_archive_days", 1, MaxUntaggedDaysLimit)
	}
	custom := l.in("lifecycle_policy")
	if archiveDays > 0 && (!c.LifecycleEnabled || custom != "") {
		l.bad("lifecycle_archive_days", l.in("lifecycle_archive_days"), "applies only to the generated lifecycle policy; with lifecycle_policy or enable_lifecycle_policy: false, remove it (write transition rules in your own policy)")
	}
	switch {
	case !c.LifecycleEnabled:
		if custom != "" {
			l.bad("lifecycle_policy", "", "is set but enable_lifecycle_policy is false; remove one of them")
		}
	case custom != "":
		if len(protected) > 0 {
			l.bad("lifecycle_protected_tags", strings.Join(protected, ","), "applies only to the generated policy; with lifecycle_policy, protect tags in your own rules")
		}
		text, source, err := readPolicyInput(custom, c.Workspace, wsErr)
		if err != nil {
			l.bad("lifecycle_policy", source, "%v", err)
			break
		}
		if err := policy.ValidateLifecyclePolicy(text); err != nil {
			l.bad("lifecycle_policy", source, "ECR would reject this policy: %v", err)
			break
		}
		c.LifecyclePolicy, c.LifecycleSource = text, source
	case maxCount > 0 && days > 0:
		text, err := policy.GenerateLifecyclePolicy(policy.LifecycleParams{MaxImageCount: maxCount, UntaggedImageDays: days, ProtectedTags: protected, ArchiveDays: archiveDays})
		if err != nil && !policy.IsValidationError(err) {
			l.bad("enable_lifecycle_policy", "", "generating the lifecycle policy: %v", err)
		} else if err != nil {
			l.bad("lifecycle_protected_tags", strings.Join(protected, ","), "the generated policy would be rejected: %v", err)
		}
		c.LifecyclePolicy, c.LifecycleSource = text, "generated"
	}

}

// crossAccount reads the accounts that may pull.
func (l *loader) crossAccount(c *Config) {
	c.CrossAccount = l.boolean("enable_cross_account_access")
	ids := List(l.in("allowed_account_ids"))
	for _, id := range ids {
		if id == "*" {
			l.bad("allowed_account_ids", id, "a wildcard principal would let every AWS account pull; list 12-digit account IDs")
		} else if policy.ValidateAccountID(id) != nil {
			l.bad("allowed_account_ids", id, "each entry must be a 12-digit AWS account ID, leading zeros kept (e.g. 012345678901)")
		}
	}
	switch {
	case c.CrossAccount && len(ids) == 0:
		l.bad("allowed_account_ids", "", "is empty but enable_cross_account_access is true; list the 12-digit account IDs that may pull")
	case c.CrossAccount:
		c.AccountIDs = dedupe(ids)
	case len(ids) > 0:
		c.Warnings = append(c.Warnings, "allowed_account_ids is ignored because enable_cross_account_access is false")
	}

}

// resourceTags reads the repository's resource tags, after the three the
// action sets.
func (l *loader) resourceTags(c *Config, project, env string) {
	c.ResourceTags = []ResourceTag{{"Project", project}, {"Environment", env}, {"ManagedBy", "ecr-action"}}
	seen := map[string]bool{"Project": true, "Environment": true, "ManagedBy": true}
	for _, line := range strings.Split(l.in("tags"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case !ok:
			l.bad("tags", line, "each line must be Key=Value")
		case seen[k]:
			l.bad("tags", line, "tag %s is given twice (Project, Environment and ManagedBy are set by the action)", invalid.Quote(k))
		default:
			if err := policy.ValidateResourceTag(k, v); err != nil {
				l.bad("tags", line, "%v", err)
			}
			seen[k] = true
			c.ResourceTags = append(c.ResourceTags, ResourceTag{k, v})
		}
	}
	for _, t := range []struct{ input, key, value string }{{"project_name", "Project", project}, {"environment", "Environment", env}} {
		if t.value != "" {
			if err := policy.ValidateResourceTag(t.key, t.value); err != nil {
				l.bad(t.input, t.value, "becomes the %s tag, which ECR would reject: %v", t.key, err)
			}
		}
	}
	if len(c.ResourceTags) > policy.MaxResourceTags {
		l.bad("tags", "", "ECR accepts at most %d tags per repository; %d given with the 3 the action adds", policy.MaxResourceTags, len(c.ResourceTags))
	}

}

// aws reads the AWS settings: checked in depth where they are used
// (awsauth), but obvious mistakes are reported with the rest.
func (l *loader) aws(c *Config) {
	c.Region = l.in("aws_region")
	if c.Region != "" && !regionPattern.MatchString(c.Region) {
		l.bad("aws_region", c.Region, "is not an AWS region name such as us-east-1")
	}
	c.RoleToAssume = l.in("role_to_assume")
	if c.RoleToAssume != "" {
		if err := policy.ValidateRoleARN(c.RoleToAssume); err != nil {
			l.bad("role_to_assume", c.RoleToAssume, "%v", err)
		}
	}
	c.RoleSessionName = l.withDefault("role_session_name")
	if !sessionNamePattern.MatchString(c.RoleSessionName) {
		l.bad("role_session_name", c.RoleSessionName, "must be 2 to 64 characters of letters, digits and =,.@-_")
	}
	c.Audience = l.withDefault("audience")
	if !audiencePattern.MatchString(c.Audience) {
		l.bad("audience", c.Audience, "must be 1 to 255 printable ASCII characters without spaces (an OIDC client ID, e.g. sts.amazonaws.com)")
	}

}

var (
	regionPattern      = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	// audiencePattern: an IAM OIDC provider's client IDs are 1 to 255
	// characters (CreateOpenIDConnectProvider ClientIDList); the audience
	// also travels in a URL query, so no spaces or control characters.
	audiencePattern = regexp.MustCompile(`^[\x21-\x7e]{1,255}$`)
)

// readEventFile reads the runner's event payload (GITHUB_EVENT_PATH, which
// the runner writes outside the workspace): a regular file, never a pipe or
// a device, of at most tags.MaxEventBytes, its size checked before reading.
func readEventFile(path string) ([]byte, error) {
	return safefile.ReadFile(path, nil, tags.MaxEventBytes)
}

// workspaceDir returns the absolute, cleaned GITHUB_WORKSPACE, or the
// working directory when it is unset.
func workspaceDir(getenv func(string) string) (string, error) {
	ws := getenv("GITHUB_WORKSPACE")
	if ws == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("finding the workspace: GITHUB_WORKSPACE is unset and the working directory is unknown: %w", err)
		}
		return wd, nil
	}
	abs, err := filepath.Abs(ws)
	if err != nil {
		return "", fmt.Errorf("finding the workspace: GITHUB_WORKSPACE=%s: %w", invalid.Quote(ws), err)
	}
	return abs, nil
}

// readPolicyInput returns the policy text of an input that holds either a
// JSON document or a path to one inside the workspace.
func readPolicyInput(value, workspace string, wsErr error) (text, source string, err error) {
	if strings.HasPrefix(value, "{") {
		return value, "lifecycle_policy input", nil
	}
	if wsErr != nil {
		return "", value, wsErr
	}
	path, err := insideWorkspace(workspace, value)
	if err != nil {
		return "", value, err
	}
	data, err := safefile.ReadFile(path, []string{workspace}, maxLifecycleFileBytes)
	if err != nil {
		var tl *safefile.TooLargeError
		switch {
		case errors.Is(err, os.ErrNotExist):
			return "", value, fmt.Errorf("is neither a JSON document (starting with '{') nor a file in the workspace: %s does not exist", invalid.Quote(value))
		case errors.As(err, &tl):
			return "", value, fmt.Errorf("%s is larger than %d bytes", invalid.Quote(value), maxLifecycleFileBytes)
		}
		return "", value, fmt.Errorf("reading the policy file: %v", err)
	}
	return string(data), value, nil
}

// insideWorkspace resolves path against the workspace and refuses paths that
// leave it, also through symbolic links.
func insideWorkspace(workspace, path string) (string, error) {
	resolved, inside, err := within(workspace, path)
	if err != nil {
		return "", err
	}
	if !inside {
		return "", fmt.Errorf("path %s is outside the workspace; put the file in the repository", invalid.Quote(path))
	}
	return resolved, nil
}

// maxPathBytes is Linux's PATH_MAX.
const maxPathBytes = 4096

// within resolves path (relative to root unless absolute) with its symbolic
// links, as far as it exists, and reports whether the result lies in root.
// A path that does not exist yet is checked through its deepest existing
// parent, so a link to outside the root is caught there too.
func within(root, path string) (resolved string, inside bool, err error) {
	if root == "" {
		return "", false, errors.New("the workspace is unknown: GITHUB_WORKSPACE is unset and the working directory cannot be read")
	}
	// Resolving takes a system call per component of the path for each
	// missing one: bound the work before it starts.
	if len(path) > maxPathBytes {
		return "", false, fmt.Errorf("is a path of %d bytes; Linux paths are at most %d", len(path), maxPathBytes)
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", false, fmt.Errorf("resolving the directory %s: %w", root, err)
	}
	p := path
	if !filepath.IsAbs(p) {
		p = filepath.Join(realRoot, p)
	}
	resolved, err = resolveExisting(filepath.Clean(p))
	if err != nil {
		return "", false, fmt.Errorf("resolving %s: %v", invalid.Quote(path), unwrapPath(err))
	}
	rel, err := filepath.Rel(realRoot, resolved)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return resolved, false, nil
	}
	return resolved, true, nil
}

// resolveExisting evaluates the symbolic links of the longest existing
// prefix of the clean, absolute path p and appends the rest unchanged.
func resolveExisting(p string) (string, error) {
	var rest []string
	for {
		r, err := filepath.EvalSymlinks(p)
		if err == nil {
			return filepath.Join(append([]string{r}, rest...)...), nil
		}
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return "", err
		}
		parent := filepath.Dir(p)
		if parent == p {
			return filepath.Join(append([]string{p}, rest...)...), nil
		}
		rest = append([]string{filepath.Base(p)}, rest...)
		p = parent
	}
}

// List splits an input holding items separated by newlines or commas,
// trimming each and dropping empty ones.
func List(v string) []string {
	var out []string
	for _, line := range strings.Split(v, "\n") {
		for _, item := range strings.Split(line, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}

func defaultOf(name string) string {
	for _, d := range Definitions() {
		if d.Name == name {
			return d.Default
		}
	}
	return ""
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

func dedupe(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
