// Package tags computes the image tags of a run from its git context: the
// commit SHA, the semantic version of a tag ref, "latest" and the tags the
// user adds. It is pure: the environment and the event file come in through
// injected functions, and it imports only the standard library.
package tags

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"
)

// Context is the git context of a run.
type Context struct {
	EventName, Ref, RefName, RefType, SHA string
	DefaultBranch                         string // event payload repository.default_branch
	HeadSHA                               string // pull_request.head.sha for pull_request / pull_request_target events
	Repository, ServerURL                 string
	CommitTime                            time.Time // SOURCE_DATE_EPOCH, else a push's head_commit.timestamp; zero if unknown
}

// MaxEventBytes bounds the event payload read; GitHub's are far smaller.
const MaxEventBytes = 25 << 20

// ContextFromEnv reads the git context the runner provides: the GITHUB_*
// variables through getenv and the event payload at GITHUB_EVENT_PATH through
// readFile. A missing event file, or one the process may not read, is not an
// error (a local run has none); any other failure to read it (readFile
// refuses a named pipe, a device or a file over MaxEventBytes) and a payload
// that is not JSON are. SOURCE_DATE_EPOCH, when set, is
// the commit time and must be a whole number of seconds since 1970.
func ContextFromEnv(getenv func(string) string, readFile func(string) ([]byte, error)) (Context, error) {
	c := Context{
		EventName:  getenv("GITHUB_EVENT_NAME"),
		Ref:        getenv("GITHUB_REF"),
		RefName:    getenv("GITHUB_REF_NAME"),
		RefType:    getenv("GITHUB_REF_TYPE"),
		SHA:        getenv("GITHUB_SHA"),
		Repository: getenv("GITHUB_REPOSITORY"),
		ServerURL:  getenv("GITHUB_SERVER_URL"),
	}
	var event struct {
		Repository struct {
			DefaultBranch string `json:"default_branch"`
		} `json:"repository"`
		PullRequest struct {
			Head struct {
				SHA string `json:"sha"`
			} `json:"head"`
		} `json:"pull_request"`
		HeadCommit struct {
			Timestamp string `json:"timestamp"`
		} `json:"head_commit"`
	}
	if path := getenv("GITHUB_EVENT_PATH"); path != "" {
		data, err := readFile(path)
		switch {
		case err == nil:
		case errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission):
			data = nil
		default:
			return Context{}, fmt.Errorf("the event payload GITHUB_EVENT_PATH=%s cannot be read: %v; it is the runner's event.json, a regular file of at most %d bytes", strconv.Quote(path), err, MaxEventBytes)
		}
		if data != nil {
			if len(data) > MaxEventBytes {
				return Context{}, fmt.Errorf("the event payload GITHUB_EVENT_PATH=%s is larger than %d bytes", strconv.Quote(path), MaxEventBytes)
			}
			if err := json.Unmarshal(data, &event); err != nil {
				return Context{}, fmt.Errorf("the event payload GITHUB_EVENT_PATH=%s is not a JSON event: %v; unset GITHUB_EVENT_PATH for a run without one", strconv.Quote(path), err)
			}
		}
	}
	c.DefaultBranch = event.Repository.DefaultBranch
	if isPullRequest(c.EventName) {
		c.HeadSHA = event.PullRequest.Head.SHA
	}

	if v := getenv("SOURCE_DATE_EPOCH"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > maxEpoch {
			return Context{}, fmt.Errorf("SOURCE_DATE_EPOCH=%s is not a whole number of seconds since 1970-01-01 UTC (for example 1700000000); set it to $(git log -1 --format=%%ct) or unset it", quote(v))
		}
		c.CommitTime = time.Unix(n, 0).UTC()
	} else if ts := event.HeadCommit.Timestamp; ts != "" && c.EventName == "push" {
		t, err := time.Parse(time.RFC3339, ts)
		if err != nil {
			return Context{}, fmt.Errorf("the push event's head_commit.timestamp %s is not an RFC 3339 time: %v; set SOURCE_DATE_EPOCH to override it", quote(ts), err)
		}
		c.CommitTime = t.UTC()
	}
	return c, nil
}

// maxEpoch is the last second of year 9999, the largest time an RFC 3339
// timestamp (and so an image config's "created") can hold.
const maxEpoch = 253402300799

func isPullRequest(event string) bool {
	return event == "pull_request" || event == "pull_request_target"
}

// Options says which tags Compute derives.
type Options struct {
	SHA    string // "short" (7 hex digits), "long" (40) or "false"
	Semver bool   // tag a semantic-version tag ref with its version, minor and major
	Latest string // "auto", "true" or "false"
	Extra  []string
}

// SHAModes returns the accepted values of Options.SHA.
func SHAModes() []string { return []string{"short", "long", "false"} }

// LatestModes returns the accepted values of Options.Latest.
func LatestModes() []string { return []string{"auto", "true", "false"} }

// Error is a problem with one of Options' fields, so that a caller can point
// at the input that set it.
type Error struct {
	Option  string // "SHA", "Semver", "Latest" or "Extra"
	Value   string // the value at fault, e.g. the commit SHA or the tag
	Problem string
}

func (e *Error) Error() string {
	if e.Value == "" {
		return e.Problem
	}
	return fmt.Sprintf("%s: %s", quote(e.Value), e.Problem)
}

// Compute returns the tags of a run in this order: the commit SHA tag, the
// semantic version tags (full, minor, major), latest, then o.Extra. Each is
// checked with Valid, and a tag given twice is kept where it first appears.
// Every problem is reported, joined, as *Error values.
//
// The commit is c.HeadSHA on pull_request and pull_request_target events (the
// commit shown in the pull request; GITHUB_SHA is a merge commit there) and
// c.SHA otherwise. On a tag ref whose name is a semantic version 2.0.0
// (v1.2.3 or 1.2.3, pre-release and build metadata allowed) the tags are the
// name with '+' (not allowed in tags) replaced by '_', and, unless it is a
// pre-release, the minor and major versions with the same prefix (v1.2 and
// v1). Latest "auto" tags a push to the default branch and a semantic-version
// tag ref that is not a pre-release.
func Compute(c Context, o Options) ([]string, error) {
	var out []string
	var errs []error
	seen := map[string]bool{}
	add := func(option, tag string) {
		if err := Valid(tag); err != nil {
			errs = append(errs, &Error{Option: option, Value: tag, Problem: err.Error()})
			return
		}
		if !seen[tag] {
			seen[tag] = true
			out = append(out, tag)
		}
	}

	switch o.SHA {
	case "short", "long":
		sha, err := commit(c)
		if err != nil {
			errs = append(errs, err)
			break
		}
		if o.SHA == "short" {
			sha = sha[:7]
		}
		add("SHA", sha)
	case "false":
	default:
		errs = append(errs, &Error{Option: "SHA", Value: o.SHA, Problem: "must be one of " + strings.Join(SHAModes(), ", ")})
	}

	name, isTag := tagName(c)
	v, isSemver := parseSemver(name)
	isSemver = isSemver && isTag
	if o.Semver && isSemver {
		add("Semver", strings.ReplaceAll(name, "+", "_"))
		if v.Pre == "" {
			add("Semver", v.Prefix+v.Major+"."+v.Minor)
			add("Semver", v.Prefix+v.Major)
		}
	}

	switch o.Latest {
	case "true":
		add("Latest", "latest")
	case "auto":
		defaultPush := c.EventName == "push" && c.DefaultBranch != "" && c.RefName == c.DefaultBranch &&
			(c.RefType == "branch" || strings.HasPrefix(c.Ref, "refs/heads/"))
		if defaultPush || (isSemver && v.Pre == "") {
			add("Latest", "latest")
		}
	case "false":
	default:
		errs = append(errs, &Error{Option: "Latest", Value: o.Latest, Problem: "must be one of " + strings.Join(LatestModes(), ", ")})
	}

	for _, t := range o.Extra {
		add("Extra", t)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// commit returns the lower-case 40-hex commit SHA the run is about.
func commit(c Context) (string, error) {
	sha, from := c.SHA, "GITHUB_SHA"
	if isPullRequest(c.EventName) {
		sha, from = c.HeadSHA, "pull_request.head.sha in the event payload (GITHUB_EVENT_PATH)"
	}
	if sha == "" {
		return "", &Error{Option: "SHA", Problem: fmt.Sprintf("no commit SHA to tag: %s is empty", from)}
	}
	sha = strings.ToLower(sha)
	if len(sha) != 40 || strings.Trim(sha, "0123456789abcdef") != "" {
		return "", &Error{Option: "SHA", Value: sha, Problem: fmt.Sprintf("%s is not a 40-hex-digit commit SHA", from)}
	}
	return sha, nil
}

// tagName returns the tag's name when the run is on a tag ref.
func tagName(c Context) (string, bool) {
	if name, ok := strings.CutPrefix(c.Ref, "refs/tags/"); ok {
		return name, true
	}
	if c.RefType == "tag" && c.RefName != "" {
		return c.RefName, true
	}
	return "", false
}

// Valid reports whether tag follows the OCI distribution grammar for tags,
// [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}, and says what is wrong if not.
func Valid(tag string) error {
	switch {
	case tag == "":
		return errors.New("a tag cannot be empty")
	case len(tag) > 128:
		return fmt.Errorf("a tag has at most 128 characters, this one has %d", len(tag))
	case tag[0] == '.' || tag[0] == '-':
		return fmt.Errorf("a tag cannot start with %q; start it with a letter, digit or '_'", tag[0])
	}
	for i := 0; i < len(tag); i++ {
		if c := tag[i]; !isAlnum(c) && c != '_' && c != '.' && c != '-' {
			return fmt.Errorf("%s at byte %d is not allowed in a tag: use letters, digits, '_', '.' and '-' ([a-zA-Z0-9_][a-zA-Z0-9._-]{0,127})", quote(tag[i:i+1]), i)
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// quote shows a value in a message, shortened and with control characters
// escaped so that it cannot start a new log line.
func quote(v string) string {
	const max = 80
	if len(v) > max {
		v = v[:max] + "…"
	}
	return strconv.Quote(v)
}
