// Package badinputs reads the catalogue of bad inputs in
// testdata/bad-inputs: inputs that real users (or attackers) give by
// mistake, each with the input the action's error must name. The config
// tests run every case through config.Load and the end-to-end tests run
// every case through the built action.
package badinputs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// Case is one bad input.
type Case struct {
	Name string `json:"name"`
	// Inputs are given on top of the valid base (Base), by input name. A
	// value may hold {{repeat N TEXT}}, expanded to TEXT N times, for very
	// long values.
	Inputs map[string]string `json:"inputs"`
	// Input is the input the error must name.
	Input string `json:"input"`
	// Why says what is wrong; for a lifecycle policy, the ECR rule it breaks.
	Why string `json:"why"`
	// Symlinks are created in the workspace before the run: path (relative
	// to the workspace) -> target.
	Symlinks map[string]string `json:"symlinks,omitempty"`
	// Setup lists files made in the workspace before the run, before the
	// symbolic links: named pipes, directories, files of a given content or
	// size.
	Setup []Setup `json:"setup,omitempty"`
	// Env sets environment variables of the run on top of the runner's
	// (e.g. GITHUB_EVENT_PATH); {{workspace}} in a value is the workspace.
	Env map[string]string `json:"env,omitempty"`
	// NotInEnvironment, when set, says why the value cannot reach a process
	// through its environment (a NUL byte): the case is checked in process
	// only, and the end-to-end test checks that it cannot be passed at all.
	NotInEnvironment string `json:"not_in_environment,omitempty"`
}

// Setup is one file a case makes in the workspace.
type Setup struct {
	Path string `json:"path"` // relative to the workspace
	// Kind is "fifo" (a named pipe), "dir", "file" (Content, then grown to
	// Size bytes when Size is larger: a sparse file) or "symlink" (to Target).
	Kind    string `json:"kind"`
	Content string `json:"content,omitempty"`
	Size    int64  `json:"size,omitempty"`
	Target  string `json:"target,omitempty"`
}

// Prepare makes the case's files and symbolic links in the workspace ws.
func (c Case) Prepare(ws string) error {
	for _, s := range c.Setup {
		p := filepath.Join(ws, s.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		var err error
		switch s.Kind {
		case "fifo":
			err = syscall.Mkfifo(p, 0o644)
		case "dir":
			err = os.MkdirAll(p, 0o755)
		case "symlink":
			err = os.Symlink(s.Target, p)
		case "file":
			err = os.WriteFile(p, []byte(s.Content), 0o644)
			if err == nil && s.Size > int64(len(s.Content)) {
				err = os.Truncate(p, s.Size)
			}
		default:
			err = fmt.Errorf("unknown setup kind %q", s.Kind)
		}
		if err != nil {
			return fmt.Errorf("case %q, setup %s: %w", c.Name, s.Path, err)
		}
	}
	for link, target := range c.Symlinks {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(ws, link)), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(target, filepath.Join(ws, link)); err != nil {
			return err
		}
	}
	return nil
}

// EnvIn returns the case's environment variables for the workspace ws.
func (c Case) EnvIn(ws string) map[string]string {
	env := map[string]string{}
	for k, v := range c.Env {
		env[k] = strings.ReplaceAll(v, "{{workspace}}", ws)
	}
	return env
}

// Catalogue is the file's content.
type Catalogue struct {
	About string `json:"about"`
	Cases []Case `json:"cases"`
}

// Base returns the valid inputs every case starts from: the seed README's
// example (a repository with the generated lifecycle policy, no image).
func Base() map[string]string {
	return map[string]string{
		"project_name": "canvas-ta", "environment": "production", "repository_name": "app",
		"enable_image_scanning": "true", "image_tag_mutability": "MUTABLE", "encryption_type": "AES256",
		"enable_lifecycle_policy": "true", "max_image_count": "30", "untagged_image_days": "7",
		"enable_cross_account_access": "false", "allowed_account_ids": "",
	}
}

// File is the catalogue's path relative to the module root.
const File = "testdata/bad-inputs/cases.json"

// Load reads the catalogue at path, expands the values and checks that the
// names are unique.
func Load(path string) ([]Case, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Catalogue
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	seen := map[string]bool{}
	for i := range c.Cases {
		cs := &c.Cases[i]
		if cs.Name == "" || seen[cs.Name] {
			return nil, fmt.Errorf("%s: case %d has an empty or repeated name %q", path, i, cs.Name)
		}
		seen[cs.Name] = true
		for k, v := range cs.Inputs {
			if cs.Inputs[k], err = expand(v); err != nil {
				return nil, fmt.Errorf("%s: case %q, input %s: %w", path, cs.Name, k, err)
			}
		}
		for j := range cs.Setup {
			if cs.Setup[j].Content, err = expand(cs.Setup[j].Content); err != nil {
				return nil, fmt.Errorf("%s: case %q, setup %s: %w", path, cs.Name, cs.Setup[j].Path, err)
			}
		}
	}
	return c.Cases, nil
}

// FindModuleFile returns the absolute path of a file given relative to the
// module root, searching upwards from the working directory.
func FindModuleFile(rel string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, rel), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// With returns Base with the case's inputs on top.
func (c Case) With() map[string]string {
	in := Base()
	for k, v := range c.Inputs {
		in[k] = v
	}
	return in
}

// InputNames returns the names the case sets, sorted.
func (c Case) InputNames() []string {
	var names []string
	for k := range c.Inputs {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

var repeatPattern = regexp.MustCompile(`\{\{repeat ([0-9]+) ([^}]*)\}\}`)

func expand(v string) (string, error) {
	var err error
	out := repeatPattern.ReplaceAllStringFunc(v, func(m string) string {
		sub := repeatPattern.FindStringSubmatch(m)
		n, convErr := strconv.Atoi(sub[1])
		if convErr != nil || n > 1<<20 {
			err = fmt.Errorf("bad repeat count in %q", m)
			return ""
		}
		return strings.Repeat(sub[2], n)
	})
	return out, err
}
