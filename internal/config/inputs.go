// Package config reads the action's inputs the way the GitHub runner passes
// them (INPUT_<NAME> variables) and validates every one before anything talks
// to AWS. It imports no SDK.
package config

// InputDef describes one input of action.yml. Definitions is the single list
// the code reads; a test keeps action.yml and the README in step with it.
type InputDef struct {
	Name     string
	Default  string
	Required bool
}

// Definitions returns the action's inputs in action.yml order.
func Definitions() []InputDef {
	return []InputDef{
		{Name: "project_name", Required: true},
		{Name: "environment", Required: true},
		{Name: "repository_name", Default: "app"},
		{Name: "repository"},
		{Name: "image_tag_mutability", Default: "MUTABLE"},
		{Name: "image_tag_mutability_exclusion_filters"},
		{Name: "enable_image_scanning", Default: "true"},
		{Name: "encryption_type", Default: "AES256"},
		{Name: "kms_key_arn"},
		{Name: "enable_lifecycle_policy", Default: "true"},
		{Name: "max_image_count", Default: "30"},
		{Name: "untagged_image_days", Default: "7"},
		{Name: "lifecycle_policy"},
		{Name: "lifecycle_protected_tags"},
		{Name: "lifecycle_archive_days"},
		{Name: "enable_cross_account_access", Default: "false"},
		{Name: "allowed_account_ids"},
		{Name: "tags"},
		{Name: "aws_region"},
		{Name: "role_to_assume"},
		{Name: "role_session_name", Default: "ecr-action"},
		{Name: "audience", Default: "sts.amazonaws.com"},
		{Name: "source"},
		{Name: "base_image"},
		{Name: "files"},
		{Name: "entrypoint"},
		{Name: "cmd"},
		{Name: "env"},
		{Name: "workdir"},
		{Name: "labels"},
		{Name: "platforms"},
		{Name: "retag_from"},
		{Name: "tag_sha", Default: "short"},
		{Name: "tag_semver", Default: "true"},
		{Name: "tag_latest", Default: "auto"},
		{Name: "image_tags"},
		{Name: "wait_for_scan", Default: "auto"},
		{Name: "scan_timeout", Default: "10m"},
		{Name: "fail_on_severity", Default: "CRITICAL"},
		{Name: "ignore_vulnerabilities"},
		{Name: "ignore_unfixed", Default: "false"},
		{Name: "sarif_file"},
		{Name: "scan_log_group"},
		{Name: "scan_log_retention_days", Default: "30"},
		{Name: "sbom", Default: "true"},
		{Name: "provenance", Default: "true"},
		{Name: "require_signature", Default: "false"},
		{Name: "signature_timeout", Default: "10m"},
		{Name: "wait_for_replication", Default: "false"},
		{Name: "replication_timeout", Default: "30m"},
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
