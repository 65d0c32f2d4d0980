package config

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/org/ecr-action/internal/policy"
	"github.com/org/ecr-action/internal/scan"
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
		Tags:            []Tag{{"Project", "canvas-ta"}, {"Environment", "production"}, {"ManagedBy", "ecr-action"}},
		RoleSessionName: "ecr-action", Audience: "sts.amazonaws.com",
		Workspace: wd,
		Scan:      Scan{Wait: WaitAuto, Timeout: 10 * time.Minute, Threshold: scan.Critical, LogRetentionDays: 30},
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
		{"user tags", with(seed(), "tags", "Team=platform\nCostCenter = 42 "), func(t *testing.T, c *Config) {
			if diff := cmp.Diff([]Tag{{"Project", "canvas-ta"}, {"Environment", "production"}, {"ManagedBy", "ecr-action"}, {"Team", "platform"}, {"CostCenter", "42"}}, c.Tags); diff != "" {
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
	out, err := exec.Command("go", "list", "-deps", "github.com/org/ecr-action/internal/config", "github.com/org/ecr-action/internal/policy", "github.com/org/ecr-action/internal/tags").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/aws/") || strings.HasPrefix(dep, "github.com/google/go-containerregistry") || strings.HasPrefix(dep, "github.com/sethvargo/") {
			t.Errorf("pure packages import %s", dep)
		}
	}
}

func FuzzLoad(f *testing.F) {
	f.Add("MUTABLE", "", "30", "012345678901", "Team=x")
	f.Add("IMMUTABLE_WITH_EXCLUSION", "latest", "-1", "*", "=")
	f.Fuzz(func(t *testing.T, mutability, filters, count, accounts, tags string) {
		in := with(seed(), "image_tag_mutability", mutability, "image_tag_mutability_exclusion_filters", filters,
			"max_image_count", count, "enable_cross_account_access", "true", "allowed_account_ids", accounts, "tags", tags)
		c, err := Load(env(in))
		if err != nil {
			var fe Errors
			if !errors.As(err, &fe) || len(fe) == 0 {
				t.Fatalf("error is not a non-empty config.Errors: %v", err)
			}
			return
		}
		// Whatever is accepted must be acceptable to ECR.
		if err := policy.ValidateMutability(c.Mutability, c.MutabilityFilters); err != nil {
			t.Fatalf("accepted mutability ECR rejects: %v", err)
		}
		if err := policy.ValidateLifecyclePolicy(c.LifecyclePolicy); err != nil {
			t.Fatalf("accepted lifecycle policy ECR rejects: %v", err)
		}
		for _, id := range c.AccountIDs {
			if policy.ValidateAccountID(id) != nil {
				t.Fatalf("accepted account %q", id)
			}
		}
		if len(c.Tags) > policy.MaxResourceTags {
			t.Fatalf("accepted %d tags", len(c.Tags))
		}
	})
}
