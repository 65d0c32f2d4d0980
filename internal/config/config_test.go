package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/org/ecr-action/internal/policy"
	"github.com/org/ecr-action/internal/scan"
	"github.com/org/ecr-action/internal/testing/depcheck"
)

// env builds a getenv from inputs given by name, as the runner passes them:
// every declared input arrives, omitted ones as their default.
func env(inputs map[string]string, extra ...string) func(string) string {
	vars := map[string]string{}
	for _, d := range Definitions() {
		vars[EnvName(d.Name)] = d.Default
	}
	for k, v := range inputs {
		vars[EnvName(k)] = v
	}
	for i := 0; i+1 < len(extra); i += 2 {
		vars[extra[i]] = extra[i+1]
	}
	return func(k string) string { return vars[k] }
}

// seed is the seed README's example module block.
func seed() map[string]string {
	return map[string]string{
		"project_name": "canvas-ta", "environment": "production", "repository_name": "app",
		"enable_image_scanning": "true", "image_tag_mutability": "MUTABLE", "encryption_type": "AES256",
		"enable_lifecycle_policy": "true", "max_image_count": "30", "untagged_image_days": "7",
		"enable_cross_account_access": "false", "allowed_account_ids": "",
	}
}

func with(base map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestEnvName(t *testing.T) {
	for in, want := range map[string]string{"project_name": "INPUT_PROJECT_NAME", "max-count": "INPUT_MAX-COUNT", "a b": "INPUT_A_B"} {
		if got := EnvName(in); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoadSeedExample(t *testing.T) {
	c, err := Load(env(seed()))
	if err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	wantPolicy, _ := policy.GenerateLifecyclePolicy(policy.LifecycleParams{MaxImageCount: 30, UntaggedImageDays: 7})
	want := &Config{
		Repository: "canvas-ta-production-app", ScanOnPush: true, Mutability: "MUTABLE", EncryptionType: "AES256",
		LifecycleEnabled: true, LifecyclePolicy: wantPolicy, LifecycleSource: "generated",
		ResourceTags:    []ResourceTag{{"Project", "canvas-ta"}, {"Environment", "production"}, {"ManagedBy", "ecr-action"}},
		RoleSessionName: "ecr-action", Audience: "sts.amazonaws.com",
		Workspace: wd,
		Scan:      Scan{Wait: WaitAuto, Timeout: 10 * time.Minute, Threshold: scan.Critical, LogRetentionDays: 30},
		SBOM:      true, Provenance: true,
		Gates: Gates{SignatureTimeout: 10 * time.Minute, ReplicationTimeout: 30 * time.Minute},
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("Load(seed) (-want +got):\n%s", diff)
	}
}

func TestLoadValid(t *testing.T) {
	tests := []struct {
		name  string
		in    map[string]string
		check func(t *testing.T, c *Config)
	}{
		{"repository overrides", with(seed(), "repository", "team/web"), func(t *testing.T, c *Config) {
			if c.Repository != "team/web" {
				t.Errorf("Repository = %q", c.Repository)
			}
		}},
		{"accounts keep leading zeros", with(seed(), "enable_cross_account_access", "true", "allowed_account_ids", "012345678901,\n111111111111, 012345678901"), func(t *testing.T, c *Config) {
			if diff := cmp.Diff([]string{"012345678901", "111111111111"}, c.AccountIDs); diff != "" {
				t.Errorf("AccountIDs (-want +got):\n%s", diff)
			}
		}},
		{"immutable with latest excluded", with(seed(), "image_tag_mutability", "IMMUTABLE_WITH_EXCLUSION", "image_tag_mutability_exclusion_filters", "latest\ndev-*"), func(t *testing.T, c *Config) {
			if diff := cmp.Diff([]string{"latest", "dev-*"}, c.MutabilityFilters); diff != "" {
				t.Errorf("filters (-want +got):\n%s", diff)
			}
		}},
		{"KMS with key", with(seed(), "encryption_type", "KMS", "kms_key_arn", "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"), nil},
		{"KMS with an alias", with(seed(), "encryption_type", "KMS", "kms_key_arn", "alias/team/app"), nil},
		{"KMS with a key ID", with(seed(), "encryption_type", "KMS_DSSE", "kms_key_arn", "1234abcd-12ab-34cd-56ef-1234567890ab"), nil},
		{"user tags", with(seed(), "tags", "Team=platform\nCostCenter = 42 "), func(t *testing.T, c *Config) {
			if diff := cmp.Diff([]ResourceTag{{"Project", "canvas-ta"}, {"Environment", "production"}, {"ManagedBy", "ecr-action"}, {"Team", "platform"}, {"CostCenter", "42"}}, c.ResourceTags); diff != "" {
				t.Errorf("tags (-want +got):\n%s", diff)
			}
		}},
		{"lifecycle disabled", with(seed(), "enable_lifecycle_policy", "FALSE"), func(t *testing.T, c *Config) {
			if c.LifecycleEnabled || c.LifecyclePolicy != "" {
				t.Errorf("lifecycle = %v %q, want disabled and empty", c.LifecycleEnabled, c.LifecyclePolicy)
			}
		}},
		{"accounts without the switch warn", with(seed(), "allowed_account_ids", "111111111111"), func(t *testing.T, c *Config) {
			if len(c.Warnings) != 1 || c.AccountIDs != nil {
				t.Errorf("Warnings = %q, AccountIDs = %q", c.Warnings, c.AccountIDs)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(env(tt.in))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestLoadInvalid(t *testing.T) {
	anyFirst := `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":30},"action":{"type":"expire"}},{"rulePriority":2,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":7},"action":{"type":"expire"}}]}`
	tests := []struct {
		name      string
		in        map[string]string
		wantInput string
		wantText  string
	}{
		{"mutability value", with(seed(), "image_tag_mutability", "READONLY"), "image_tag_mutability", "READONLY"},
		{"encryption type", with(seed(), "encryption_type", "RSA"), "encryption_type", "AES256, KMS, KMS_DSSE"},
		{"KMS ARN", with(seed(), "encryption_type", "KMS", "kms_key_arn", "my-key"), "kms_key_arn", "my-key"},
		{"KMS ARN with AES256", with(seed(), "kms_key_arn", "arn:aws:kms:eu-west-1:123456789012:key/abc"), "kms_key_arn", "encryption_type: KMS"},
		{"account ID", with(seed(), "enable_cross_account_access", "true", "allowed_account_ids", "12345"), "allowed_account_ids", "12345"},
		{"wildcard account", with(seed(), "enable_cross_account_access", "true", "allowed_account_ids", "*"), "allowed_account_ids", "wildcard"},
		{"no accounts", with(seed(), "enable_cross_account_access", "true"), "allowed_account_ids", "is empty"},
		{"lifecycle any first", with(seed(), "lifecycle_policy", anyFirst), "lifecycle_policy", "must have the highest"},
		{"negative count", with(seed(), "max_image_count", "-5"), "max_image_count", "-5"},
		{"days not a number", with(seed(), "untagged_image_days", "7d"), "untagged_image_days", "whole number"},
		{"archive days not a number", with(seed(), "lifecycle_archive_days", "30d"), "lifecycle_archive_days", "whole number"},
		{"archive days with custom policy", with(seed(), "lifecycle_archive_days", "30", "lifecycle_policy", strings.Replace(anyFirst, `"rulePriority":1`, `"rulePriority":3`, 1)), "lifecycle_archive_days", "generated lifecycle policy"},
		{"upper-case repository", with(seed(), "repository", "Canvas/App"), "repository", "canvas/app"},
		{"upper-case project", with(seed(), "project_name", "Canvas"), "project_name", "lower case"},
		{"missing project", with(seed(), "project_name", ""), "project_name", "required"},
		{"missing environment", with(seed(), "environment", ""), "environment", "required"},
		{"bool typo", with(seed(), "enable_image_scanning", "yes please"), "enable_image_scanning", "true or false"},
		{"exclusion without filters", with(seed(), "image_tag_mutability", "IMMUTABLE_WITH_EXCLUSION"), "image_tag_mutability", "at least one"},
		{"filters without exclusion", with(seed(), "image_tag_mutability_exclusion_filters", "latest"), "image_tag_mutability_exclusion_filters", "_WITH_EXCLUSION"},
		{"tag without equals", with(seed(), "tags", "Team"), "tags", "Key=Value"},
		{"reserved tag", with(seed(), "tags", "ManagedBy=me"), "tags", "twice"},
		{"policy and disabled", with(seed(), "enable_lifecycle_policy", "false", "lifecycle_policy", anyFirst), "lifecycle_policy", "enable_lifecycle_policy is false"},
		{"protected with custom policy", with(seed(), "lifecycle_protected_tags", "v*", "lifecycle_policy", strings.Replace(anyFirst, `"rulePriority":1`, `"rulePriority":3`, 1)), "lifecycle_protected_tags", "generated policy"},
		{"protected pattern", with(seed(), "lifecycle_protected_tags", "v/*"), "lifecycle_protected_tags", "wildcards"},
		{"region", with(seed(), "aws_region", "Frankfurt"), "aws_region", "us-east-1"},
		{"policy path outside", with(seed(), "lifecycle_policy", "../../etc/passwd"), "lifecycle_policy", "outside the workspace"},
		{"policy path missing", with(seed(), "lifecycle_policy", "ecr/lifecycle.json"), "lifecycle_policy", "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env(tt.in, "GITHUB_WORKSPACE", t.TempDir()))
			var fe Errors
			if !errors.As(err, &fe) {
				t.Fatalf("Load error = %v, want config.Errors", err)
			}
			for _, f := range fe {
				if f.Input == tt.wantInput && strings.Contains(f.Error(), tt.wantText) {
					return
				}
			}
			t.Errorf("no error names input %s with %q; got:\n%v", tt.wantInput, tt.wantText, err)
		})
	}
}

func TestLoadReportsAllProblems(t *testing.T) {
	_, err := Load(env(with(seed(), "image_tag_mutability", "X", "encryption_type", "Y", "max_image_count", "0")))
	var fe Errors
	if !errors.As(err, &fe) || len(fe) != 3 {
		t.Fatalf("want 3 problems at once, got %v", err)
	}
}

func TestLoadShortensAndQuotesValues(t *testing.T) {
	hostile := "X\n::add-mask::y" + strings.Repeat("z", 200)
	_, err := Load(env(with(seed(), "image_tag_mutability", hostile)))
	if err == nil {
		t.Fatal("hostile value accepted")
	}
	if strings.Contains(err.Error(), "\n::") {
		t.Errorf("error repeats a raw newline before a workflow command: %q", err)
	}
	if strings.Contains(err.Error(), strings.Repeat("z", 100)) {
		t.Errorf("error repeats an over-long value in full")
	}
}

func TestLifecyclePolicyFromWorkspaceFile(t *testing.T) {
	ws := t.TempDir()
	doc := `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":5},"action":{"type":"expire"}}]}`
	if err := os.MkdirAll(filepath.Join(ws, "ecr"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "ecr", "lifecycle.json"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(env(with(seed(), "lifecycle_policy", "ecr/lifecycle.json"), "GITHUB_WORKSPACE", ws))
	if err != nil {
		t.Fatal(err)
	}
	if c.LifecyclePolicy != doc || c.LifecycleSource != "ecr/lifecycle.json" {
		t.Errorf("policy %q from %q", c.LifecyclePolicy, c.LifecycleSource)
	}
	// A symbolic link out of the workspace is refused.
	outside := filepath.Join(t.TempDir(), "p.json")
	if err := os.WriteFile(outside, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(ws, "link.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(env(with(seed(), "lifecycle_policy", "link.json"), "GITHUB_WORKSPACE", ws)); err == nil || !strings.Contains(err.Error(), "outside the workspace") {
		t.Errorf("symlink out of the workspace: err = %v", err)
	}
}

// TestPurePackagesImportNoSDK fences the packages that parse input (config,
// policy, tags): they must not pull in the AWS SDK, the registry client or
// the workflow toolkit.
func TestPurePackagesImportNoSDK(t *testing.T) {
	for _, dep := range depcheck.Deps(t, ".", "../policy", "../tags", "../invalid") {
		if strings.HasPrefix(dep, "github.com/aws/") || strings.HasPrefix(dep, "github.com/google/go-containerregistry") || strings.HasPrefix(dep, "github.com/sethvargo/") {
			t.Errorf("pure packages import %s", dep)
		}
	}
}

// FuzzLoad sets any three inputs to any values on top of the seed example
// (seeded with every case of the bad-input catalogue). Load must not panic,
// must give the same answer twice, must name a declared input in every
// error with a message that cannot break a log line, and whatever it accepts
// must pass the validators again.
func FuzzLoad(f *testing.F) {
	defs := Definitions()
	index := map[string]uint8{}
	for i, d := range defs {
		index[d.Name] = uint8(i)
	}
	f.Add(index["image_tag_mutability"], "IMMUTABLE_WITH_EXCLUSION", index["image_tag_mutability_exclusion_filters"], "latest", index["tags"], "Team=x")
	f.Add(index["source"], "oci:layout:v1", index["image_tags"], "dev,latest", index["wait_for_scan"], "true")
	f.Add(index["base_image"], "scratch", index["files"], "image.tar:/app", index["platforms"], "linux/amd64,linux/arm/v7")
	f.Add(index["lifecycle_policy"], "ecr/lifecycle.json", index["enable_cross_account_access"], "true", index["allowed_account_ids"], "012345678901")
	for _, c := range loadCatalogue(f) {
		names := c.InputNames()
		n := func(i int) string { return names[i%len(names)] }
		f.Add(index[n(0)], c.Inputs[n(0)], index[n(1)], c.Inputs[n(1)], index[n(2)], c.Inputs[n(2)])
	}

	ws, temp := f.TempDir(), f.TempDir()
	lifecycle := `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":5},"action":{"type":"expire"}}]}`
	for _, dir := range []string{"ecr", "layout"} {
		if err := os.Mkdir(filepath.Join(ws, dir), 0o755); err != nil {
			f.Fatal(err)
		}
	}
	for name, text := range map[string]string{"ecr/lifecycle.json": lifecycle, "image.tar": "not a tar"} {
		if err := os.WriteFile(filepath.Join(ws, name), []byte(text), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	declared := map[string]bool{}
	for _, d := range defs {
		declared[d.Name] = true
	}

	f.Fuzz(func(t *testing.T, i1 uint8, v1 string, i2 uint8, v2 string, i3 uint8, v3 string) {
		in := seed()
		for _, kv := range []struct {
			i uint8
			v string
		}{{i1, v1}, {i2, v2}, {i3, v3}} {
			in[defs[int(kv.i)%len(defs)].Name] = kv.v
		}
		getenv := env(in, "GITHUB_WORKSPACE", ws, "RUNNER_TEMP", temp, "GITHUB_EVENT_NAME", "push", "GITHUB_REF", "refs/heads/main",
			"GITHUB_REF_NAME", "main", "GITHUB_REF_TYPE", "branch", "GITHUB_SHA", testSHA)
		c, err := Load(getenv)
		c2, err2 := Load(getenv)
		if diff := cmp.Diff(c, c2); diff != "" || fmt.Sprint(err) != fmt.Sprint(err2) {
			t.Fatalf("Load is not deterministic: %v then %v\n%s", err, err2, diff)
		}
		if err != nil {
			var fe Errors
			if !errors.As(err, &fe) || len(fe) == 0 {
				t.Fatalf("error is not a non-empty config.Errors: %v", err)
			}
			for _, e := range fe {
				if !declared[e.Input] {
					t.Fatalf("error names undeclared input %q: %v", e.Input, e)
				}
				if !strings.HasPrefix(e.Error(), "input "+e.Input+": ") {
					t.Fatalf("error does not start by naming its input: %q", e.Error())
				}
				checkMessage(t, e.Error())
			}
			return
		}
		revalidate(t, c, ws, temp)
	})
}

// revalidate checks an accepted Config against the validators the inputs
// went through, and the links between its fields.
func revalidate(t *testing.T, c *Config, ws, temp string) {
	t.Helper()
	if err := policy.ValidateRepositoryName(c.Repository); err != nil {
		t.Fatalf("accepted repository %q: %v", c.Repository, err)
	}
	if err := policy.ValidateMutability(c.Mutability, c.MutabilityFilters); err != nil {
		t.Fatalf("accepted mutability ECR rejects: %v", err)
	}
	switch c.EncryptionType {
	case policy.EncryptionAES256:
		if c.KMSKeyARN != "" {
			t.Fatalf("accepted a KMS key with AES256")
		}
	case policy.EncryptionKMS, policy.EncryptionKMSDSSE:
		if c.KMSKeyARN != "" && policy.ValidateKMSKey(c.KMSKeyARN) != nil {
			t.Fatalf("accepted KMS key %q", c.KMSKeyARN)
		}
	default:
		t.Fatalf("accepted encryption type %q", c.EncryptionType)
	}
	if c.LifecycleEnabled {
		if err := policy.ValidateLifecyclePolicy(c.LifecyclePolicy); err != nil {
			t.Fatalf("accepted lifecycle policy ECR rejects: %v", err)
		}
	} else if c.LifecyclePolicy != "" {
		t.Fatalf("lifecycle disabled, yet a policy: %q", c.LifecyclePolicy)
	}
	if !c.CrossAccount && c.AccountIDs != nil {
		t.Fatalf("cross-account off, yet accounts %q", c.AccountIDs)
	}
	seenIDs := map[string]bool{}
	for _, id := range c.AccountIDs {
		if policy.ValidateAccountID(id) != nil || seenIDs[id] {
			t.Fatalf("accepted account %q in %q", id, c.AccountIDs)
		}
		seenIDs[id] = true
	}
	if c.CrossAccount && len(c.AccountIDs) == 0 {
		t.Fatal("cross-account on without accounts")
	}
	if len(c.ResourceTags) > policy.MaxResourceTags {
		t.Fatalf("accepted %d tags", len(c.ResourceTags))
	}
	seenKeys := map[string]bool{}
	for _, tg := range c.ResourceTags {
		if err := policy.ValidateResourceTag(tg.Key, tg.Value); err != nil || seenKeys[tg.Key] {
			t.Fatalf("accepted tag %q=%q (%v)", tg.Key, tg.Value, err)
		}
		seenKeys[tg.Key] = true
	}
	if c.Region != "" && !regionPattern.MatchString(c.Region) {
		t.Fatalf("accepted region %q", c.Region)
	}
	if c.RoleToAssume != "" && policy.ValidateRoleARN(c.RoleToAssume) != nil {
		t.Fatalf("accepted role %q", c.RoleToAssume)
	}
	if !sessionNamePattern.MatchString(c.RoleSessionName) || !audiencePattern.MatchString(c.Audience) {
		t.Fatalf("accepted session name %q or audience %q", c.RoleSessionName, c.Audience)
	}
	s := c.Scan
	if s.Timeout < MinWaitTimeout || s.Timeout > MaxWaitTimeout {
		t.Fatalf("accepted scan timeout %v", s.Timeout)
	}
	if !slices.Contains(LogRetentionValues, s.LogRetentionDays) {
		t.Fatalf("accepted retention %d", s.LogRetentionDays)
	}
	if s.Wait != WaitAuto && s.Wait != WaitTrue && s.Wait != WaitFalse || (s.Wait == WaitTrue && c.Image == nil) {
		t.Fatalf("accepted wait_for_scan %q (image %v)", s.Wait, c.Image != nil)
	}
	if s.SARIFPath != "" {
		if _, inside, err := within(ws, s.SARIFPath); err != nil || !inside {
			t.Fatalf("accepted SARIF path %q outside the workspace", s.SARIFPath)
		}
	}
	img := c.Image
	if img == nil {
		return
	}
	given := 0
	for _, set := range []bool{img.Source != nil, img.Build != nil, img.RetagFrom != ""} {
		if set {
			given++
		}
	}
	if given != 1 {
		t.Fatalf("accepted an image with %d of source, base_image and retag_from", given)
	}
	if len(img.Tags) == 0 {
		t.Fatal("accepted an image without tags")
	}
	seenTags := map[string]bool{}
	for _, tag := range img.Tags {
		if !ociTag.MatchString(tag) || seenTags[tag] {
			t.Fatalf("accepted tag %q in %q", tag, img.Tags)
		}
		seenTags[tag] = true
	}
	if src := img.Source; src != nil && src.Path != "" {
		_, inWS, _ := within(ws, src.Path)
		_, inTemp, _ := within(temp, src.Path)
		if !inWS && !inTemp {
			t.Fatalf("accepted source path %q outside the workspace and RUNNER_TEMP", src.Path)
		}
	}
}

// ociTag is the OCI distribution grammar of a tag.
var ociTag = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)
