package diagnose

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/org/ecr-action/internal/image"
	"github.com/org/ecr-action/internal/scanlog"
)

// awsErr is an SDK operation error of service svc with the API error code
// and message.
func awsErr(svc, op, code, msg string) error {
	return &smithy.OperationError{ServiceID: svc, OperationName: op, Err: &smithy.GenericAPIError{Code: code, Message: msg}}
}

// maxAttempts wraps an API error as the SDK does after the last retry.
func maxAttempts(svc, op, code string, n int) error {
	return &smithy.OperationError{ServiceID: svc, OperationName: op,
		Err: &retry.MaxAttemptsError{Attempt: n, Err: &smithy.GenericAPIError{Code: code, Message: "Rate exceeded"}}}
}

func registryErr(status int, method, path string, diags ...transport.Diagnostic) error {
	return &transport.Error{StatusCode: status, Errors: diags, Request: &http.Request{Method: method, URL: &url.URL{Path: path}}}
}

const denied = "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecr:TagResource on resource: arn"

func TestFailure(t *testing.T) {
	notAPI := errors.New("boom")
	logsDenied := &smithy.OperationError{ServiceID: "CloudWatch Logs", OperationName: "CreateLogGroup", Err: &logstypes.AccessDeniedException{Message: aws.String("no")}}
	for _, tt := range []struct {
		name      string
		phase     Phase
		err       error
		cancelled bool
		facts     Facts
		title     string
		msg       string
	}{
		{"access denied names the action", Reconcile, awsErr("ECR", "CreateRepository", "AccessDeniedException", denied), false, Facts{},
			"Permission denied", awsErr("ECR", "CreateRepository", "AccessDeniedException", denied).Error() + "\n\nThe credentials lack ecr:TagResource. Add it to the role's policy (the README lists the minimal policy)."},
		{"access denied without a named action", Reconcile, awsErr("ECR", "PutLifecyclePolicy", "AccessDenied", "no"), false, Facts{},
			"Permission denied", awsErr("ECR", "PutLifecyclePolicy", "AccessDenied", "no").Error() + "\n\nThe credentials lack ecr:PutLifecyclePolicy. Add it to the role's policy (the README lists the minimal policy)."},
		{"credentials rejected", Reconcile, awsErr("ECR", "DescribeRepositories", "ExpiredTokenException", "expired"), false, Facts{},
			"AWS credentials rejected", awsErr("ECR", "DescribeRepositories", "ExpiredTokenException", "expired").Error() + "\n\nCheck the credentials step (aws-actions/configure-aws-credentials or role_to_assume) and the region."},
		{"KMS", Reconcile, awsErr("ECR", "CreateRepository", "KmsException", "key disabled"), false, Facts{},
			"KMS key unusable", awsErr("ECR", "CreateRepository", "KmsException", "key disabled").Error() + "\n\nCheck kms_key_arn: the key must exist in this region and allow kms:CreateGrant and kms:DescribeKey to the caller."},
		{"throttled after all attempts", Reconcile, maxAttempts("ECR", "DescribeRepositories", "ThrottlingException", 8), false, Facts{},
			"Throttled by ECR", maxAttempts("ECR", "DescribeRepositories", "ThrottlingException", 8).Error() + "\n\necr:DescribeRepositories was throttled (ThrottlingException) on all 8 attempts, with jittered backoff between them. The account's ECR request rate is shared by every job using it: re-run the job, or spread matrix jobs out (max-parallel)."},
		{"a quota is not throttling", Reconcile, awsErr("ECR", "CreateRepository", "LimitExceededException", "quota"), false, Facts{},
			"ECR CreateRepository failed", awsErr("ECR", "CreateRepository", "LimitExceededException", "quota").Error()},
		{"other AWS errors, with the writes made", Reconcile, awsErr("ECR", "PutImageScanningConfiguration", "ValidationException", "bad"), false, Facts{Writes: 2},
			"ECR PutImageScanningConfiguration failed", awsErr("ECR", "PutImageScanningConfiguration", "ValidationException", "bad").Error() + "\n\n2 write call(s) had been made before the failure; a re-run picks up from the current state."},
		{"reconcile: a plain error", Reconcile, notAPI, false, Facts{}, "Repository reconcile failed", "boom"},
		{"reconcile: context cancelled", Reconcile, fmt.Errorf("reading: %w", context.Canceled), false, Facts{},
			"Cancelled", "the run was cancelled before the repository was fully reconciled; re-run to finish"},
		{"credentials: throttled STS, every attempt", Credentials, awsErr("STS", "AssumeRoleWithWebIdentity", "Throttling", "slow down"), false, Facts{},
			"Throttled by STS", awsErr("STS", "AssumeRoleWithWebIdentity", "Throttling", "slow down").Error() + "\n\nsts:AssumeRoleWithWebIdentity was throttled (Throttling) on every attempts, with jittered backoff between them. The account's STS request rate is shared by every job using it: re-run the job, or spread matrix jobs out (max-parallel)."},
		{"credentials: other", Credentials, notAPI, false, Facts{}, "AWS credentials", "boom"},
		{"credentials: a cancel is a failure", Credentials, notAPI, true, Facts{}, "AWS credentials", "boom"},
		{"logs: denied", ScanLog, &scanlog.Error{Op: "creating log group \"/g\"", Action: "logs:CreateLogGroup", Err: logsDenied}, false, Facts{},
			"Permission denied", "creating log group \"/g\" (IAM action logs:CreateLogGroup): " + logsDenied.Error() + "\n\nThe credentials lack logs:CreateLogGroup on the log group. Add it to the role's policy (the README lists it), or remove scan_log_group."},
		{"logs: throttled", ScanLog, maxAttempts("CloudWatch Logs", "PutLogEvents", "ThrottlingException", 8), false, Facts{},
			"Throttled by CloudWatch Logs", maxAttempts("CloudWatch Logs", "PutLogEvents", "ThrottlingException", 8).Error() + "\n\nlogs:PutLogEvents was throttled (ThrottlingException) on all 8 attempts, with jittered backoff between them. The account's CloudWatch Logs request rate is shared by every job using it: re-run the job, or spread matrix jobs out (max-parallel)."},
		{"logs: other", ScanLog, notAPI, false, Facts{}, "Scan log", "boom"},
		{"open image: a plain error", OpenImage, notAPI, false, Facts{}, "Image", "boom\n\nNothing was changed in AWS."},
		{"open image: immutable tag", OpenImage, &StepError{Kind: ImmutableTag, Err: notAPI}, false, Facts{}, "Immutable tag", "boom\n\nNothing was changed in AWS."},
		{"push: retries exhausted", Push, &StepError{Kind: PushImage, Err: &image.RetriesExhaustedError{Operation: "blob upload", Attempts: 5, Status: 503, Err: notAPI}}, false, Facts{},
			"Push failed", "the registry's blob upload failed 5 times in a row, the last time with HTTP 503 Service Unavailable: boom\n\nThe registry kept failing through 5 attempts with backoff; no tag was written. Re-run the job; if it fails again, check the AWS Health Dashboard for ECR in this region and any proxy between the runner and the registry"},
		{"referrers: listing denied on a HEAD", Referrers, &StepError{Kind: ListReferrers, Err: registryErr(403, http.MethodHead, "/v2/app/manifests/sha256:1")}, false, Facts{Digest: "sha256:1"},
			"Referrers", registryErr(403, http.MethodHead, "/v2/app/manifests/sha256:1").Error() + "\n\nThe credentials lack ecr:BatchGetImage on the repository, or the registry token expired (a HEAD answer carries no reason). Add it to the role's policy (the README lists the minimal policy)\n\nListing an image's referrers needs ecr:BatchGetImage on the repository. No tag was written\n\nThe image sha256:1 is in the repository by digest only: no tag was written."},
		{"referrers: push denied with a named action", Referrers, &StepError{Kind: PushReferrer, Subject: "pushing the SBOM referrer of sha256:2", Err: registryErr(403, http.MethodPut, "/v2/app/manifests/sha256:3", transport.Diagnostic{Code: "DENIED", Message: "User: x is not authorized to perform: ecr:PutImage on resource: y"})}, false, Facts{Digest: "sha256:1"},
			"Push failed", "pushing the SBOM referrer of sha256:2: " + registryErr(403, http.MethodPut, "/v2/app/manifests/sha256:3", transport.Diagnostic{Code: "DENIED", Message: "User: x is not authorized to perform: ecr:PutImage on resource: y"}).Error() + "\n\nThe credentials lack ecr:PutImage on the repository. Add it to the role's policy (the README lists the minimal policy)\n\nThe image sha256:1 is in the repository by digest only: no tag was written."},
		{"push: registry refused without an action", Push, &StepError{Kind: PushImage, Err: registryErr(401, http.MethodPost, "/v2/app/blobs/uploads/")}, false, Facts{},
			"Push failed", registryErr(401, http.MethodPost, "/v2/app/blobs/uploads/").Error() + "\n\nThe registry refused the credentials. Pushing needs ecr:GetAuthorizationToken, ecr:BatchCheckLayerAvailability, ecr:InitiateLayerUpload, ecr:UploadLayerPart, ecr:CompleteLayerUpload, ecr:PutImage and ecr:BatchGetImage on the repository (the README lists the policy); a private source registry needs its own login"},
		{"tags: registry rate-limited", Tags, &StepError{Kind: PushImage, Err: registryErr(429, http.MethodPut, "/v2/app/manifests/v1")}, false, Facts{},
			"Push failed", registryErr(429, http.MethodPut, "/v2/app/manifests/v1").Error() + "\n\nThe registry kept rate-limiting after retries; re-run the job"},
		{"a step wrapping an AWS error keeps its title", OpenImage, &StepError{Kind: RegistryLogin, Subject: "getting a registry token (ecr:GetAuthorizationToken)", Err: awsErr("ECR", "GetAuthorizationToken", "AccessDeniedException", "no")}, false, Facts{},
			"Registry login", "getting a registry token (ecr:GetAuthorizationToken): " + awsErr("ECR", "GetAuthorizationToken", "AccessDeniedException", "no").Error() + "\n\nThe credentials lack ecr:GetAuthorizationToken. Add it to the role's policy (the README lists the minimal policy).\n\nNothing was changed in AWS."},
		{"an AWS error outside a step", OpenImage, awsErr("ECR", "BatchGetImage", "AccessDeniedException", "no"), false, Facts{},
			"Permission denied", awsErr("ECR", "BatchGetImage", "AccessDeniedException", "no").Error() + "\n\nThe credentials lack ecr:BatchGetImage. Add it to the role's policy (the README lists the minimal policy).\n\nNothing was changed in AWS."},
		{"SBOM contents", Referrers, &StepError{Kind: SBOMContents, Subject: "SBOM of sha256:2 (linux/amd64)", Err: notAPI}, false, Facts{Digest: "sha256:1"},
			"SBOM", "SBOM of sha256:2 (linux/amd64): boom\n\nNo tag was written. Set sbom: false to push without an SBOM\n\nThe image sha256:1 is in the repository by digest only: no tag was written."},
		{"provenance context", OpenImage, &StepError{Kind: ProvenanceContext, Err: notAPI}, false, Facts{},
			"Provenance", "boom\n\nThe provenance statement is made from the GitHub Actions context (GITHUB_REPOSITORY, GITHUB_SHA, GITHUB_REF, GITHUB_WORKFLOW_REF, GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT, GITHUB_SERVER_URL). Outside GitHub Actions, set provenance: false. Nothing was changed in AWS\n\nNothing was changed in AWS."},
		{"scan: the gate cannot decide", Scan, &StepError{Kind: ScanGate, Err: errors.New("wait_for_scan is true, but enhanced")}, false, Facts{},
			"Scan", "wait_for_scan is true, but enhanced\n\nThe image was pushed, but the scan gate could not decide, so the step fails."},
		{"scan: a plain error", Scan, notAPI, false, Facts{}, "Scan", "boom\n\nThe image was pushed, but the scan gate could not decide, so the step fails."},

		{"cancel: opening the image", OpenImage, context.Canceled, true, Facts{},
			"Cancelled", "The run was cancelled (the runner sent SIGINT or SIGTERM) while opening the image. Nothing was changed in AWS."},
		{"cancel: reconcile, nothing written", Reconcile, context.Canceled, true, Facts{},
			"Cancelled", "The run was cancelled (the runner sent SIGINT or SIGTERM) while reconciling the repository. Nothing was changed in AWS."},
		{"cancel: reconcile, after writes", Reconcile, context.Canceled, true, Facts{Writes: 3},
			"Cancelled", "The run was cancelled (the runner sent SIGINT or SIGTERM) while reconciling the repository. 3 write call(s) had been made to the repository's settings; a re-run picks up from the current state. No image was pushed."},
		{"cancel: push", Push, context.Canceled, true, Facts{},
			"Cancelled", "The run was cancelled (the runner sent SIGINT or SIGTERM) during the push. No tag was written, so every tag still names the image it named before. Re-run to push again: blobs already uploaded are not sent twice."},
		{"cancel: referrers", Referrers, context.Canceled, true, Facts{Digest: "sha256:1"},
			"Cancelled", "The run was cancelled (the runner sent SIGINT or SIGTERM) while attaching the SBOM and provenance. The image sha256:1 is in the repository by digest only: no tag was written. Re-run to finish."},
		{"cancel: scan", Scan, context.Canceled, true, Facts{Digest: "sha256:1"},
			"Cancelled", "The run was cancelled (the runner sent SIGINT or SIGTERM) before the tags were written. The image sha256:1 is in the repository by digest only: no tag was written. Re-run to finish."},
		{"cancel: tags", Tags, context.Canceled, true, Facts{Digest: "sha256:1"},
			"Cancelled", "The run was cancelled (the runner sent SIGINT or SIGTERM) while writing the tags. The image sha256:1 is complete in the repository; some of its tags may have been written. Re-run to write the rest."},
		{"gates: no signing configuration", GateSetup, &StepError{Kind: SigningSetup, Err: errors.New("the registry has no signing configuration")}, false, Facts{},
			"Signing gate", "the registry has no signing configuration\n\nrequire_signature is true: set up ECR managed signing (ECR > Private registry > Settings > Managed signing, or aws ecr put-signing-configuration) with a rule whose repository filters (WILDCARD_MATCH) cover the repository, or remove require_signature\n\nNothing was changed in AWS."},
		{"gates: no replication rule", GateSetup, &StepError{Kind: ReplicationSetup, Err: errors.New("the registry has no replication rules")}, false, Facts{},
			"Replication gate", "the registry has no replication rules\n\nwait_for_replication is true: add a replication rule whose repository filters (PREFIX_MATCH) cover the repository (ECR > Private registry > Settings > Replication, or aws ecr put-replication-configuration), or remove wait_for_replication\n\nNothing was changed in AWS."},
		{"gates: replication denied", GateSetup, &StepError{Kind: ReplicationGate, Err: awsErr("ECR", "DescribeRegistry", "AccessDeniedException", "no")}, false, Facts{},
			"Replication gate", awsErr("ECR", "DescribeRegistry", "AccessDeniedException", "no").Error() + "\n\nThe credentials lack ecr:DescribeRegistry. Add it to the role's policy (the README lists the minimal policy).\n\nNothing was changed in AWS."},
		{"signing: status denied", Signing, awsErr("ECR", "DescribeImageSigningStatus", "AccessDeniedException", "no"), false, Facts{Digest: "sha256:1"},
			"Permission denied", awsErr("ECR", "DescribeImageSigningStatus", "AccessDeniedException", "no").Error() + "\n\nThe credentials lack ecr:DescribeImageSigningStatus. Add it to the role's policy (the README lists the minimal policy).\n\nThe image sha256:1 is in the repository by digest only: no tag was written."},
		{"cancel: signing", Signing, context.Canceled, true, Facts{Digest: "sha256:1"},
			"Cancelled", "The run was cancelled (the runner sent SIGINT or SIGTERM) before the tags were written. The image sha256:1 is in the repository by digest only: no tag was written. Re-run to finish."},
		{"replication: other error", Replication, notAPI, false, Facts{},
			"Replication gate", "boom\n\nThe image and its tags are in place in the source repository; its replication was not confirmed."},
		{"cancel: replication", Replication, context.Canceled, true, Facts{},
			"Cancelled", "The run was cancelled (the runner sent SIGINT or SIGTERM) while waiting for replication; the image and its tags are in place in the source repository."},
		{"replication: the connection failed", Replication, &smithy.OperationError{ServiceID: "ECR", OperationName: "DescribeImageReplicationStatus", Err: errors.New("dial tcp: connection refused")}, false, Facts{},
			"Replication gate", "operation error ECR: DescribeImageReplicationStatus, dial tcp: connection refused\n\nThe image and its tags are in place in the source repository; its replication was not confirmed."},
		{"cancel: gates", GateSetup, context.Canceled, true, Facts{},
			"Cancelled", "The run was cancelled (the runner sent SIGINT or SIGTERM) while reading the registry's signing and replication configuration. Nothing was changed in AWS."},
		{"cancel: scan log", ScanLog, context.Canceled, true, Facts{},
			"Cancelled", "The run was cancelled (the runner sent SIGINT or SIGTERM) while logging the scan result; the image and its tags are in place."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			title, msg := Failure(tt.phase, tt.err, tt.cancelled, tt.facts)
			if title != tt.title {
				t.Errorf("title %q, want %q", title, tt.title)
			}
			if msg != tt.msg {
				t.Errorf("message\n%s\nwant\n%s", msg, tt.msg)
			}
		})
	}
}

// TestEveryPhaseAndStepHasARow checks that no phase or step kind falls
// through the tables.
func TestEveryPhaseAndStepHasARow(t *testing.T) {
	for p := Credentials; p <= Replication; p++ {
		if phases[p].fail == nil {
			t.Errorf("phase %d has no row", p)
		}
	}
	for k := RegistryLogin; k <= ReplicationSetup; k++ {
		if steps[k].title == "" {
			t.Errorf("step kind %d has no title", k)
		}
	}
}

func TestDeniedAction(t *testing.T) {
	for msg, want := range map[string]string{
		denied:          "ecr:TagResource",
		"Access denied": "",
		"User: x is not authorized to perform: logs:PutLogEvents": "logs:PutLogEvents",
	} {
		if got := DeniedAction(msg); got != want {
			t.Errorf("DeniedAction(%q) = %q, want %q", msg, got, want)
		}
	}
}
