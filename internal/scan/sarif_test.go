package scan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/org/ecr-action/internal/testing/goldenfile"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The schema's own id, and the URL GitHub asks for in $schema.
const (
	sarifSchemaID   = "https://raw.githubusercontent.com/schemastore/schemastore/master/src/schemas/json/sarif-2.1.0-rtm.5.json"
	sarifSchemaPath = "testdata/sarif-schema-2.1.0.json"
)

// noNetwork refuses every schema the compiler was not given.
type noNetwork struct{}

func (noNetwork) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema %s is not loaded in tests: no network", url)
}

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// sarifSchema compiles the SARIF 2.1.0 schema from testdata, offline: the
// document is registered under its id and under the schemastore URL.
func sarifSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	schemaOnce.Do(func() {
		f, err := os.Open(sarifSchemaPath)
		if err != nil {
			schemaErr = err
			return
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			schemaErr = err
			return
		}
		if id, _ := doc.(map[string]any)["id"].(string); id != sarifSchemaID {
			schemaErr = fmt.Errorf("the schema's id is %q, want %q", id, sarifSchemaID)
			return
		}
		c := jsonschema.NewCompiler()
		c.UseLoader(noNetwork{})
		c.AssertFormat()
		for _, u := range []string{sarifSchemaID, SARIFSchema} {
			if err := c.AddResource(u, doc); err != nil {
				schemaErr = fmt.Errorf("adding %s: %w", u, err)
				return
			}
		}
		schema, schemaErr = c.Compile(SARIFSchema)
	})
	if schemaErr != nil {
		t.Fatalf("compiling the SARIF schema: %v", schemaErr)
	}
	return schema
}

// validateSARIF checks a log against the SARIF 2.1.0 schema.
func validateSARIF(t *testing.T, log []byte) error {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(log))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return sarifSchema(t).Validate(doc)
}

func writeSARIF(t *testing.T, in SARIFInput) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, in); err != nil {
		t.Fatalf("WriteSARIF: %v", err)
	}
	if err := validateSARIF(t, buf.Bytes()); err != nil {
		t.Fatalf("the log does not validate against the SARIF 2.1.0 schema: %v\n%s", err, buf.String())
	}
	return buf.Bytes()
}

const (
	testRepoURL = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app"
	testDigest  = "sha256:6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b"
)

// enhancedMultiArch is a failed enhanced scan of a two-platform image with
// ignored findings, scores, one ID in two packages and odd registry values.
func enhancedMultiArch() Verdict {
	amd := []Finding{
		{ID: "CVE-2024-6387", Severity: Critical, Package: "openssh-server", InstalledVersion: "1:8.9p1-3ubuntu0.6", FixedVersion: "1:8.9p1-3ubuntu0.10", Fix: FixYes, Score: 8.1,
			URI: "https://nvd.nist.gov/vuln/detail/CVE-2024-6387", Description: "A signal handler race condition was found in sshd, where a client does not authenticate within LoginGraceTime seconds."},
		{ID: "CVE-2023-4911", Severity: High, Package: "libc6", InstalledVersion: "2.35-0ubuntu3.1", FixedVersion: "2.35-0ubuntu3.4", Fix: FixYes,
			URI: "https://ubuntu.com/security/CVE-2023-4911", Description: "A buffer overflow was discovered in the GNU C Library's dynamic loader ld.so."},
		{ID: "CVE-2023-4911", Severity: High, Package: "libc-bin", InstalledVersion: "2.35-0ubuntu3.1", FixedVersion: "2.35-0ubuntu3.4", Fix: FixYes,
			URI: "https://ubuntu.com/security/CVE-2023-4911", Description: "A buffer overflow was discovered in the GNU C Library's dynamic loader ld.so."},
		{ID: "CVE-2022-3715", Severity: Medium, Package: "bash", InstalledVersion: "5.1-6ubuntu1", Fix: FixNo,
			URI: "https://ubuntu.com/security/CVE-2022-3715", Description: "A flaw was found in the bash package, where a heap-buffer overflow can occur in valid parameter_transform."},
		{ID: "CVE-2016-2781", Severity: Low, Package: "coreutils", InstalledVersion: "8.32-4.1ubuntu1", Fix: FixNo,
			URI: "not a url", Description: "chroot in GNU coreutils, when used with --userspec, allows local users to escape to the parent session."},
	}
	arm := []Finding{
		amd[0], amd[1], amd[2],
		{ID: "GHSA-xxxx-<b>|`x`", Severity: Informational, Package: "pkg|<script>alert(1)</script>", InstalledVersion: "1.0\n2.0", FixedVersion: "1.1", Fix: FixYes,
			URI: "https://example.com/advisory?id=1&x=(2)", Description: "Line one.\nLine *two* with [a link](javascript:alert(1))."},
	}
	for i := range amd {
		amd[i].Platforms = []string{"linux/amd64"}
	}
	res := &Result{
		Mode: Enhanced, Repository: "app", Digest: testDigest,
		Platforms: []PlatformResult{
			{Platform: "linux/amd64", Digest: "sha256:aa", Status: StatusActive, Findings: amd},
			{Platform: "linux/arm64", Digest: "sha256:bb", Status: StatusActive, Findings: arm},
		},
	}
	return Evaluate(res, Rules{
		Threshold:     High,
		Ignore:        []IgnoreRule{{ID: "CVE-2023-4911", Until: day("2026-12-31")}},
		IgnoreUnfixed: true,
		Now:           now,
	})
}

func basicPassed() Verdict {
	res := singleResult(Basic, StatusComplete, []Finding{
		{ID: "CVE-2023-5678", Severity: Medium, Package: "openssl", InstalledVersion: "3.1.4-r0", URI: "https://security.alpinelinux.org/vuln/CVE-2023-5678", Description: "Generating excessively long X9.42 DH keys may be slow."},
		{ID: "CVE-2023-6129", Severity: Low, Package: "openssl", InstalledVersion: "3.1.4-r0", URI: "https://security.alpinelinux.org/vuln/CVE-2023-6129"},
		{ID: "CVE-2024-0727", Severity: Undefined, Package: "openssl", InstalledVersion: "3.1.4-r0"},
	})
	return Evaluate(res, Rules{Threshold: High, Now: now})
}

func TestWriteSARIFGolden(t *testing.T) {
	timeout := Evaluate(&Result{
		Mode: Basic, Repository: "app", Digest: testDigest, TimedOut: true, Waited: 10 * time.Minute,
		Platforms: []PlatformResult{{Platform: "linux/amd64", Digest: testDigest, Status: StatusInProgress}},
	}, Rules{Threshold: High, Now: now})
	tests := []struct {
		name string
		in   SARIFInput
	}{
		{"sarif_enhanced_multiarch.sarif", SARIFInput{Verdict: enhancedMultiArch(), Image: testRepoURL + "@" + testDigest, Repository: "app", ToolVersion: "1.4.0", Path: ".github/workflows/deploy.yml"}},
		{"sarif_basic_passed.sarif", SARIFInput{Verdict: basicPassed(), Image: testRepoURL + "@" + testDigest, Repository: "app", ToolVersion: "1.4.0"}},
		{"sarif_no_findings.sarif", SARIFInput{Verdict: Evaluate(singleResult(Basic, StatusComplete, nil), Rules{Threshold: High, Now: now}), Image: testRepoURL + "@" + testDigest, Repository: "app", ToolVersion: "1.4.0"}},
		{"sarif_timeout.sarif", SARIFInput{Verdict: timeout, Image: testRepoURL + "@" + testDigest, Repository: "app"}},
		{"sarif_skipped.sarif", SARIFInput{Verdict: Skipped("wait_for_scan is false."), Image: testRepoURL + "@" + testDigest, Repository: "app", ToolVersion: "1.4.0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := writeSARIF(t, tc.in)
			goldenfile.Check(t, tc.name, got)
			again := writeSARIF(t, tc.in)
			if !bytes.Equal(got, again) {
				t.Errorf("two writes of the same input differ")
			}
		})
	}
}

// sarifDoc is the part of a log the tests read back.
type sarifDoc struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name  string `json:"name"`
				Rules []struct {
					ID                   string `json:"id"`
					HelpURI              string `json:"helpUri"`
					DefaultConfiguration struct {
						Level string `json:"level"`
					} `json:"defaultConfiguration"`
					Help struct {
						Text, Markdown string
					} `json:"help"`
					Properties struct {
						SecuritySeverity string   `json:"security-severity"`
						Tags             []string `json:"tags"`
					} `json:"properties"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Invocations []struct {
			ExecutionSuccessful bool `json:"executionSuccessful"`
			Notifications       []struct {
				Level   string `json:"level"`
				Message struct{ Text string }
			} `json:"toolExecutionNotifications"`
		} `json:"invocations"`
		Results []struct {
			RuleID    string `json:"ruleId"`
			RuleIndex int    `json:"ruleIndex"`
			Level     string `json:"level"`
			Message   struct{ Text string }
			Locations []struct {
				PhysicalLocation struct {
					ArtifactLocation struct{ URI string } `json:"artifactLocation"`
					Region           struct {
						StartLine int `json:"startLine"`
					} `json:"region"`
				} `json:"physicalLocation"`
			} `json:"locations"`
			PartialFingerprints map[string]string `json:"partialFingerprints"`
			Suppressions        []struct {
				Kind, Status, Justification string
			} `json:"suppressions"`
		} `json:"results"`
	} `json:"runs"`
}

func readSARIF(t *testing.T, b []byte) sarifDoc {
	t.Helper()
	var d sarifDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(d.Runs))
	}
	return d
}

func TestWriteSARIFContent(t *testing.T) {
	in := SARIFInput{Verdict: enhancedMultiArch(), Image: testRepoURL + "@" + testDigest, Repository: "app", ToolVersion: "1.4.0", Path: "./build\\Dockerfile"}
	d := readSARIF(t, writeSARIF(t, in))
	if d.Schema != SARIFSchema || d.Version != "2.1.0" || d.Runs[0].Tool.Driver.Name != "ecr-action" {
		t.Errorf("header: %q %q %q", d.Schema, d.Version, d.Runs[0].Tool.Driver.Name)
	}
	run := d.Runs[0]
	v := in.Verdict
	if len(run.Results) != len(v.Counted)+len(v.Ignored) {
		t.Fatalf("%d results, want %d counted + %d ignored", len(run.Results), len(v.Counted), len(v.Ignored))
	}
	suppressed := 0
	prints := map[string]bool{}
	for i, r := range run.Results {
		rule := run.Tool.Driver.Rules[r.RuleIndex]
		if rule.ID != r.RuleID {
			t.Errorf("result %d: ruleIndex %d names %s, ruleId is %s", i, r.RuleIndex, rule.ID, r.RuleID)
		}
		loc := r.Locations[0].PhysicalLocation
		if loc.ArtifactLocation.URI != "build/Dockerfile" || loc.Region.StartLine != 1 {
			t.Errorf("result %d points at %q line %d", i, loc.ArtifactLocation.URI, loc.Region.StartLine)
		}
		fp := r.PartialFingerprints[SARIFFingerprintKey]
		if len(fp) != 64 || prints[fp] {
			t.Errorf("result %d: fingerprint %q missing or shared", i, fp)
		}
		prints[fp] = true
		if _, ok := r.PartialFingerprints["primaryLocationLineHash"]; ok {
			t.Errorf("result %d sets primaryLocationLineHash, which upload-sarif computes", i)
		}
		if i < len(v.Counted) {
			if len(r.Suppressions) != 0 {
				t.Errorf("counted result %d (%s) is suppressed", i, r.RuleID)
			}
			continue
		}
		suppressed++
		if len(r.Suppressions) != 1 || r.Suppressions[0].Kind != "external" || !strings.HasPrefix(r.Suppressions[0].Justification, "ignore_") {
			t.Errorf("ignored result %d (%s): suppressions %+v", i, r.RuleID, r.Suppressions)
		}
	}
	if suppressed != len(v.Ignored) || suppressed == 0 {
		t.Errorf("%d suppressed results, want %d", suppressed, len(v.Ignored))
	}
	if !run.Invocations[0].ExecutionSuccessful || len(run.Invocations[0].Notifications) != 0 {
		t.Errorf("a complete scan's invocation: %+v", run.Invocations[0])
	}

	rules := map[string]int{}
	for i, r := range run.Tool.Driver.Rules {
		if _, dup := rules[r.ID]; dup {
			t.Errorf("rule %s appears twice", r.ID)
		}
		rules[r.ID] = i
	}
	check := func(id, sev, level, tag, helpURI string) {
		t.Helper()
		i, ok := rules[id]
		if !ok {
			t.Errorf("no rule %s", id)
			return
		}
		r := run.Tool.Driver.Rules[i]
		if r.Properties.SecuritySeverity != sev || r.DefaultConfiguration.Level != level || r.HelpURI != helpURI {
			t.Errorf("rule %s: security-severity %q level %q helpUri %q; want %q %q %q", id, r.Properties.SecuritySeverity, r.DefaultConfiguration.Level, r.HelpURI, sev, level, helpURI)
		}
		if diff := cmp.Diff([]string{"security", "vulnerability", tag}, r.Properties.Tags); diff != "" {
			t.Errorf("rule %s tags (-want +got):\n%s", id, diff)
		}
	}
	check("CVE-2024-6387", "8.1", "error", "critical", "https://nvd.nist.gov/vuln/detail/CVE-2024-6387") // the score wins
	check("CVE-2023-4911", "8.0", "error", "high", "https://ubuntu.com/security/CVE-2023-4911")
	check("CVE-2022-3715", "5.5", "warning", "medium", "https://ubuntu.com/security/CVE-2022-3715")
	check("CVE-2016-2781", "2.0", "note", "low", "") // "not a url" is left out
	check("GHSA-xxxx-<b>|`x`", "0.0", "note", "informational", "https://example.com/advisory?id=1&x=(2)")

	// One rule for an ID found in two packages, listing both.
	help := run.Tool.Driver.Rules[rules["CVE-2023-4911"]].Help
	for _, pkg := range []string{"libc6", "libc-bin"} {
		if !strings.Contains(help.Text, pkg) {
			t.Errorf("help text lacks %s:\n%s", pkg, help.Text)
		}
	}
	// Registry text cannot inject HTML, a link or a table break into the markdown help.
	md := run.Tool.Driver.Rules[rules["GHSA-xxxx-<b>|`x`"]].Help.Markdown
	for _, bad := range []string{"<script>", "<b>", "](javascript", "alert(1)</"} {
		if strings.Contains(md, bad) {
			t.Errorf("markdown help contains %q:\n%s", bad, md)
		}
	}
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| ") && strings.Count(line, "|")-strings.Count(line, `\|`) != 5 {
			t.Errorf("table row with a broken cell: %q", line)
		}
	}
}

func TestWriteSARIFLevels(t *testing.T) {
	for _, tc := range []struct {
		sev          Severity
		level, score string
	}{
		{Critical, "error", "9.5"}, {High, "error", "8.0"}, {Medium, "warning", "5.5"},
		{Low, "note", "2.0"}, {Informational, "note", "0.0"}, {Undefined, "note", "0.0"},
	} {
		if got := sarifLevel(tc.sev); got != tc.level {
			t.Errorf("level of %s = %s, want %s", tc.sev, got, tc.level)
		}
		if got := securitySeverity(tc.sev, 0); got != tc.score {
			t.Errorf("security-severity of %s = %s, want %s", tc.sev, got, tc.score)
		}
		if got := securitySeverity(tc.sev, 11); got != tc.score {
			t.Errorf("security-severity of %s with an out-of-range score = %s, want %s", tc.sev, got, tc.score)
		}
	}
	if got := securitySeverity(Low, 9.81); got != "9.8" {
		t.Errorf("a score of 9.81 gives %s, want 9.8", got)
	}
}

func TestWriteSARIFNoFindings(t *testing.T) {
	for name, v := range map[string]Verdict{
		"complete": Evaluate(singleResult(Enhanced, StatusActive, nil), Rules{Threshold: High, Now: now}),
		"skipped":  Skipped("the repository does not scan on push."),
		"failed":   Evaluate(singleResult(Basic, StatusUnsupportedImage, nil), Rules{Threshold: High, Now: now}),
		"zero":     {},
	} {
		t.Run(name, func(t *testing.T) {
			out := writeSARIF(t, SARIFInput{Verdict: v})
			if !bytes.Contains(out, []byte(`"results": []`)) || !bytes.Contains(out, []byte(`"rules": []`)) {
				t.Errorf("an empty log should hold empty results and rules arrays:\n%s", out)
			}
			d := readSARIF(t, out)
			inv := d.Runs[0].Invocations[0]
			if inv.ExecutionSuccessful != (name == "complete") {
				t.Errorf("executionSuccessful = %t", inv.ExecutionSuccessful)
			}
			if name != "complete" && (len(inv.Notifications) != 1 || inv.Notifications[0].Message.Text == "") {
				t.Errorf("an incomplete scan should say why: %+v", inv.Notifications)
			}
		})
	}
}

func TestWriteSARIFFingerprintStable(t *testing.T) {
	f := Finding{ID: "CVE-2024-6387", Severity: Critical, Package: "openssh-server", InstalledVersion: "1:8.9p1-3ubuntu0.6", Platforms: []string{"linux/amd64"}}
	g := f
	g.ID = "cve-2024-6387"
	g.Platforms = []string{"linux/arm64"}
	g.Description = "changed"
	if fingerprint("app", f) != fingerprint("app", g) {
		t.Errorf("the fingerprint depends on more than repository, ID, package and version")
	}
	for name, h := range map[string]string{
		"repository": fingerprint("other", f),
		"package":    fingerprint("app", Finding{ID: f.ID, Package: "openssh-client", InstalledVersion: f.InstalledVersion}),
		"version":    fingerprint("app", Finding{ID: f.ID, Package: f.Package, InstalledVersion: "1:8.9p1-3ubuntu0.10"}),
		"ID":         fingerprint("app", Finding{ID: "CVE-2024-6388", Package: f.Package, InstalledVersion: f.InstalledVersion}),
		// Fields are length-prefixed, so moving text between them changes the hash.
		"split": fingerprint("app", Finding{ID: f.ID, Package: f.Package + "1", InstalledVersion: ":8.9p1-3ubuntu0.6"}),
	} {
		if h == fingerprint("app", f) {
			t.Errorf("changing the %s keeps the fingerprint", name)
		}
	}
	// Two runs over different digests of the same repository give the same fingerprints.
	a := readSARIF(t, writeSARIF(t, SARIFInput{Verdict: enhancedMultiArch(), Image: testRepoURL + "@sha256:01", Repository: "app"}))
	b := readSARIF(t, writeSARIF(t, SARIFInput{Verdict: enhancedMultiArch(), Image: testRepoURL + "@sha256:02", Repository: "app"}))
	for i := range a.Runs[0].Results {
		if diff := cmp.Diff(a.Runs[0].Results[i].PartialFingerprints, b.Runs[0].Results[i].PartialFingerprints); diff != "" {
			t.Errorf("result %d's fingerprint changed with the digest:\n%s", i, diff)
		}
	}
}

func TestWriteSARIFPath(t *testing.T) {
	for in, want := range map[string]string{
		"":                             "Dockerfile",
		"Dockerfile":                   "Dockerfile",
		"./services/api/Dockerfile":    "services/api/Dockerfile",
		`services\api\Dockerfile`:      "services/api/Dockerfile",
		".github/workflows/deploy.yml": ".github/workflows/deploy.yml",
		"docker/my file#1.Dockerfile":  "docker/my%20file%231.Dockerfile",
		"a:b/Dockerfile":               "./a:b/Dockerfile",
	} {
		d := readSARIF(t, writeSARIF(t, SARIFInput{Verdict: basicPassed(), Path: in}))
		if got := d.Runs[0].Results[0].Locations[0].PhysicalLocation.ArtifactLocation.URI; got != want {
			t.Errorf("path %q gives uri %q, want %q", in, got, want)
		}
	}
	for _, bad := range []string{"/github/workspace/Dockerfile", "../Dockerfile", "a/../../b", ".", "file:///x", "a\nb"} {
		var buf bytes.Buffer
		if err := WriteSARIF(&buf, SARIFInput{Verdict: basicPassed(), Path: bad}); err == nil {
			t.Errorf("path %q accepted", bad)
		} else if buf.Len() != 0 {
			t.Errorf("path %q: wrote %d bytes with the error", bad, buf.Len())
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteSARIFWriteError(t *testing.T) {
	if err := WriteSARIF(failingWriter{}, SARIFInput{Verdict: basicPassed()}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("err = %v, want the writer's error", err)
	}
}

// TestWriteSARIFResultLimit: code scanning rejects a run with more than
// 25,000 results, so the worst are kept and the log says how many went.
func TestWriteSARIFResultLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a large log")
	}
	var fs []Finding
	for i := range SARIFMaxResults + 10 {
		sev := Low
		if i%1000 == 0 {
			sev = Critical
		}
		fs = append(fs, Finding{ID: fmt.Sprintf("CVE-2024-%05d", i), Severity: sev, Package: "p", InstalledVersion: "1"})
	}
	v := Evaluate(singleResult(Basic, StatusComplete, fs), Rules{Threshold: High, Now: now})
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, SARIFInput{Verdict: v, Repository: "app"}); err != nil {
		t.Fatal(err)
	}
	d := readSARIF(t, buf.Bytes())
	run := d.Runs[0]
	if len(run.Results) != SARIFMaxResults || len(run.Tool.Driver.Rules) != SARIFMaxResults {
		t.Errorf("%d results and %d rules, want %d", len(run.Results), len(run.Tool.Driver.Rules), SARIFMaxResults)
	}
	for i := range 26 {
		if run.Results[i].Level != "error" {
			t.Errorf("result %d is %s: the critical findings should come first", i, run.Results[i].Level)
		}
	}
	inv := run.Invocations[0]
	if len(inv.Notifications) != 1 || !strings.Contains(inv.Notifications[0].Message.Text, "10 findings are left out") {
		t.Errorf("notifications: %+v", inv.Notifications)
	}
}

// TestSARIFSchemaRejects proves the schema check can fail: logs missing a
// required property, or with a wrong value, do not validate.
func TestSARIFSchemaRejects(t *testing.T) {
	good := writeSARIF(t, SARIFInput{Verdict: enhancedMultiArch(), Repository: "app"})
	tests := []struct {
		name   string
		mutate func(m map[string]any)
	}{
		{"no version", func(m map[string]any) { delete(m, "version") }},
		{"no runs", func(m map[string]any) { delete(m, "runs") }},
		{"no tool", func(m map[string]any) { run(m)["tool"] = nil; delete(run(m), "tool") }},
		{"no driver name", func(m map[string]any) {
			delete(run(m)["tool"].(map[string]any)["driver"].(map[string]any), "name")
		}},
		{"result without message", func(m map[string]any) {
			delete(run(m)["results"].([]any)[0].(map[string]any), "message")
		}},
		{"suppression without kind", func(m map[string]any) {
			rs := run(m)["results"].([]any)
			delete(rs[len(rs)-1].(map[string]any)["suppressions"].([]any)[0].(map[string]any), "kind")
		}},
		{"invalid level", func(m map[string]any) { run(m)["results"].([]any)[0].(map[string]any)["level"] = "critical" }},
		{"version 2.0.0", func(m map[string]any) { m["version"] = "2.0.0" }},
		{"startLine 0", func(m map[string]any) {
			r := run(m)["results"].([]any)[0].(map[string]any)
			r["locations"].([]any)[0].(map[string]any)["physicalLocation"].(map[string]any)["region"].(map[string]any)["startLine"] = 0
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(good, &m); err != nil {
				t.Fatal(err)
			}
			tc.mutate(m)
			bad, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			if err := validateSARIF(t, bad); err == nil {
				t.Errorf("a log with %s validates", tc.name)
			}
		})
	}
}

func run(m map[string]any) map[string]any {
	return m["runs"].([]any)[0].(map[string]any)
}
