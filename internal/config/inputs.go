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
		{Name: "kms_key_arn", Description: "KMS key for KMS or KMS_DSSE: key ARN, key ID, alias/NAME or alias ARN; empty uses the AWS-managed aws/ecr key."},
		{Name: "enable_lifecycle_policy", Default: "true", Description: "Manage a lifecycle policy; false removes the policy this action generated."},
		{Name: "max_image_count", Default: "30", Description: "Keep the last N images (generated policy)."},
		{Name: "untagged_image_days", Default: "7", Description: "Expire untagged images older than N days (generated policy)."},
		{Name: "lifecycle_policy", Description: "Lifecycle policy JSON, or a path to one in the workspace, used instead of the generated one."},
		{Name: "lifecycle_protected_tags", Description: "Wildcard tag patterns whose images the generated keep-last-N rule never expires."},
		{Name: "lifecycle_archive_days", Description: "Archive images not pulled for N days instead of expiring the oldest beyond max_image_count (generated policy); empty or 0 (the default) archives nothing."},
		{Name: "enable_cross_account_access", Default: "false", Description: "Grant pull access to allowed_account_ids."},
		{Name: "allowed_account_ids", Description: "12-digit AWS account IDs, comma- or newline-separated."},
		{Name: "tags", Description: "Resource tags, Key=Value one per line; Project, Environment and ManagedBy are always added."},
		{Name: "aws_region", Description: "AWS region; falls back to AWS_REGION, then AWS_DEFAULT_REGION."},
		{Name: "role_to_assume", Description: "IAM role ARN to assume with the job's GitHub OIDC token."},
		{Name: "role_session_name", Default: "ecr-action", Description: "Session name for role_to_assume."},
		{Name: "audience", Default: "sts.amazonaws.com", Description: "Audience of the OIDC token requested for role_to_assume."},
		{Name: "source", Description: "An image to push as it is, in skopeo syntax: oci:<dir>[:<ref>], docker-archive:<file>, docker-daemon:<image> or docker://<reference>. Paths are relative to the workspace and must stay in it or in RUNNER_TEMP; empty (the default) pushes no such image."},
		{Name: "base_image", Description: "Build an image on this base, an image reference, or scratch for an empty base. Empty (the default) builds nothing; files, entrypoint, cmd, env, workdir, labels and platforms need it."},
		{Name: "files", Description: "Files to copy into the built image, one src:dest per line; src is relative to the workspace and may use ${TARGETOS}, ${TARGETARCH} and ${TARGETVARIANT}, dest is absolute; at most 1,000 lines (each is a layer). Empty (the default) adds no files."},
		{Name: "entrypoint", Description: "Entrypoint of the built image, a JSON array of strings or a command line split on whitespace. Empty (the default) keeps the base image's; [] clears it."},
		{Name: "cmd", Description: "Command (arguments) of the built image, a JSON array of strings or a command line split on whitespace. Empty (the default) keeps the base image's; [] clears it."},
		{Name: "env", Description: "Environment variables of the built image, KEY=VALUE one per line. Empty (the default) adds none."},
		{Name: "workdir", Description: "Working directory of the built image, an absolute path. Empty (the default) keeps the base image's."},
		{Name: "labels", Description: "Labels of the built image, key=value one per line. Empty (the default) adds none."},
		{Name: "platforms", Description: "Platforms to build, os/arch[/variant] comma- or newline-separated (e.g. linux/amd64,linux/arm64). Empty (the default) builds the base image's platforms that files has files for, or linux/amd64."},
		{Name: "retag_from", Description: "Add the tags to an image already in the repository, named by a tag or sha256:<64 hex digits>; no layer is copied. Empty (the default) retags nothing."},
		{Name: "tag_sha", Default: "short", Description: "Tag the image with its commit SHA (on pull requests the head commit, not the merge commit): short (7 hex digits, the default), long (40) or false."},
		{Name: "tag_semver", Default: "true", Description: "On a tag ref that is a semantic version (v1.2.3 or 1.2.3), tag the image with it ('+' becomes '_', as tags cannot hold '+') and, unless it is a pre-release, with v1.2 and v1: true (the default) or false."},
		{Name: "tag_latest", Default: "auto", Description: "Tag the image latest: auto (the default) on a push to the default branch or on a semantic-version tag that is not a pre-release, true always, false never."},
		{Name: "image_tags", Description: "More image tags, one per line or comma-separated, pushed after the computed ones. Empty (the default) adds none."},
		{Name: "wait_for_scan", Default: "auto", Description: "Wait for the pushed image's vulnerability scan and gate on it: auto (the default) when the run pushes or retags an image and ECR scans pushes to the repository (its effective scanning configuration, registry rules included), true also starts a basic scan when it does not (with enhanced scanning and no rule for the repository, true fails at once), false never waits (scan_gate: skipped)."},
		{Name: "scan_timeout", Default: "10m", Description: "How long to wait for the scan, a duration from 10s to 6h (e.g. 90s, 10m). A scan still unfinished then fails the gate unless fail_on_severity is NONE."},
		{Name: "fail_on_severity", Default: "CRITICAL", Description: "Fail the step when a finding at or above this severity remains after the ignore rules: CRITICAL (the default), HIGH, MEDIUM, LOW, INFORMATIONAL, UNDEFINED, or NONE to report only. A FAILED or UNSUPPORTED_IMAGE scan or a timeout fails too, unless NONE."},
		{Name: "ignore_vulnerabilities", Description: "Vulnerability IDs (CVE-…, GHSA-…, ALAS-…) the gate ignores, one per line, each optionally followed by until YYYY-MM-DD (after that date it counts again, with a warning); # starts a comment. Empty (the default) ignores none."},
		{Name: "ignore_unfixed", Default: "false", Description: "With enhanced scanning, findings with no fix available do not count towards the gate. Basic scanning does not report fixes, so there it has no effect (with a warning)."},
		{Name: "sarif_file", Description: "Write the findings as SARIF 2.1.0 to this path, relative to the workspace, for github/codeql-action/upload-sarif. Empty (the default) writes none."},
		{Name: "scan_log_group", Description: "CloudWatch Logs group that receives one JSON event per run with the scan result (created if missing). Empty (the default) logs nothing."},
		{Name: "scan_log_retention_days", Default: "30", Description: "Retention of scan_log_group in days, one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, …, 3653), or 0 to never expire."},
		{Name: "sbom", Default: "true", Description: "Attach an SPDX 2.3 JSON SBOM (OS packages from dpkg and apk databases, Go modules from Go binaries) to every image pushed, as an OCI referrer of its manifest (one per platform of an index), before any tag is written: true (the default) or false. A retag attaches none."},
		{Name: "provenance", Default: "true", Description: "Attach an unsigned in-toto SLSA v1 provenance statement describing the run (repository, commit, workflow, run, inputs, base image) to the pushed image, as an OCI referrer, before any tag is written: true (the default) or false. A retag attaches none."},
		{Name: "require_signature", Default: "false", Description: "Before any tag is written, wait for ECR managed signing to report the pushed image signed (DescribeImageSigningStatus COMPLETE for every signing profile that covers the repository): true or false (the default). The registry needs a signing configuration with a rule for the repository, checked before anything is written; a FAILED signature or a timeout fails the step and writes no tag."},
		{Name: "signature_timeout", Default: "10m", Description: "How long require_signature waits for the signature, a duration from 10s to 6h (e.g. 90s, 10m)."},
		{Name: "wait_for_replication", Default: "false", Description: "After the tags are written, wait for ECR to report the image replicated (DescribeImageReplicationStatus COMPLETE) to every destination of the registry's replication rules that cover the repository, and output each destination's image URI in replicated_image_uris: true or false (the default). A FAILED destination or a timeout fails the step; the outputs are still set."},
		{Name: "replication_timeout", Default: "30m", Description: "How long wait_for_replication waits, a duration from 10s to 6h (e.g. 5m, 30m)."},
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
