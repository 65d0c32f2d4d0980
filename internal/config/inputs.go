// Package config reads the action's inputs the way the GitHub runner passes
// them (INPUT_<NAME> variables) and validates every one before anything talks
// to AWS. It imports no SDK.
package config

// InputDef describes one input of action.yml. Definitions is the single list
// the code reads; a test keeps action.yml and the README in step with it.
type InputDef struct {
	Name        string
	Default     string
	Required    bool
	Description string
}

// Definitions returns the action's inputs in action.yml order.
func Definitions() []InputDef {
	return []InputDef{
		{Name: "project_name", Required: true, Description: "Project name; with environment and repository_name it forms the default repository name."},
		{Name: "environment", Required: true, Description: "Environment name (for example production)."},
		{Name: "repository_name", Default: "app", Description: "Last part of the default repository name <project_name>-<environment>-<repository_name>."},
		{Name: "repository", Description: "Full repository name; overrides <project_name>-<environment>-<repository_name>."},
		{Name: "image_tag_mutability", Default: "MUTABLE", Description: "MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION."},
		{Name: "image_tag_mutability_exclusion_filters", Description: "Wildcard tag patterns exempt from the mutability setting (with the *_WITH_EXCLUSION modes)."},
		{Name: "enable_image_scanning", Default: "true", Description: "Scan images on push."},
		{Name: "encryption_type", Default: "AES256", Description: "AES256, KMS or KMS_DSSE; fixed when the repository is created."},
		{Name: "kms_key_arn", Description: "KMS key ARN for KMS or KMS_DSSE; empty uses the AWS-managed aws/ecr key."},
		{Name: "enable_lifecycle_policy", Default: "true", Description: "Manage a lifecycle policy; false removes the policy this action generated."},
		{Name: "max_image_count", Default: "30", Description: "Keep the last N images (generated policy)."},
		{Name: "untagged_image_days", Default: "7", Description: "Expire untagged images older than N days (generated policy)."},
		{Name: "lifecycle_policy", Description: "Lifecycle policy JSON, or a path to one in the workspace, used instead of the generated one."},
		{Name: "lifecycle_protected_tags", Description: "Wildcard tag patterns whose images the generated keep-last-N rule never expires."},
		{Name: "enable_cross_account_access", Default: "false", Description: "Grant pull access to allowed_account_ids."},
		{Name: "allowed_account_ids", Description: "12-digit AWS account IDs, comma- or newline-separated."},
		{Name: "tags", Description: "Resource tags, Key=Value one per line; Project, Environment and ManagedBy are always added."},
		{Name: "aws_region", Description: "AWS region; falls back to AWS_REGION, then AWS_DEFAULT_REGION."},
		{Name: "role_to_assume", Description: "IAM role ARN to assume with the job's GitHub OIDC token."},
		{Name: "role_session_name", Default: "ecr-action", Description: "Session name for role_to_assume."},
		{Name: "audience", Default: "sts.amazonaws.com", Description: "Audience of the OIDC token requested for role_to_assume."},
	}
}

// EnvName is the variable the runner sets for an input: INPUT_ and the name
// upper-cased, spaces turned into underscores, hyphens kept.
func EnvName(input string) string {
	b := []byte("INPUT_")
	for _, c := range []byte(input) {
		switch {
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case c == ' ':
			c = '_'
		}
		b = append(b, c)
	}
	return string(b)
}
