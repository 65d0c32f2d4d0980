// Package diagnose turns the run's errors into what the user reads: an
// annotation title and a message that says what to do.
//
// Errors carry data (the step that failed, what it was about, the AWS
// operation, the registry's answer); the wording lives here, in tables:
// steps (a step's title and remedy), apiCodes (AWS error codes), phases
// (what a failure or a cancel in each phase of the run leaves behind).
package diagnose

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/org/ecr-action/internal/awsauth"
	"github.com/org/ecr-action/internal/scanlog"
)

// Phase is a phase of the run, in the order the run goes through them.
type Phase int

const (
	Credentials Phase = iota // loading the AWS configuration
	OpenImage                // opening the image and planning its tags
	GateSetup                // reading the registry's signing and replication set-up
	Reconcile                // reconciling the repository's settings
	Push                     // uploading the image by digest
	Referrers                // attaching the SBOM and provenance
	Scan                     // waiting for the scan and gating on it
	Signing                  // waiting for ECR managed signing
	Tags                     // writing the tags
	ScanLog                  // logging the scan result to CloudWatch Logs
	Replication              // waiting for replication to every destination
)

// Facts are what the run knows when a phase fails; messages name them.
type Facts struct {
	Digest string // the image's digest, once pushed
	Writes int    // write calls made to the repository's settings
}

// cancelPrefix starts every cancel message.
const cancelPrefix = "The run was cancelled (the runner sent SIGINT or SIGTERM) "

const (
	nothingChanged = "Nothing was changed in AWS."
	digestOnly     = "The image %s is in the repository by digest only: no tag was written."
)

// phases says, for each phase, where a cancel happened and what it left
// (cancel), and how a failure reads (fail).
var phases = map[Phase]struct {
	cancel func(Facts) string // the cancel message; nil: a cancel reads as a failure
	fail   func(error, Facts) (string, string)
}{
	Credentials: {
		fail: func(err error, _ Facts) (string, string) {
			if title, msg, ok := Throttled(err); ok {
				return title, msg
			}
			return "AWS credentials", err.Error()
		},
	},
	OpenImage: {
		cancel: func(Facts) string { return cancelPrefix + "while opening the image. " + nothingChanged },
		fail: func(err error, _ Facts) (string, string) {
			title, msg := Step(err, "Image")
			return title, msg + "\n\n" + nothingChanged
		},
	},
	GateSetup: {
		cancel: func(Facts) string {
			return cancelPrefix + "while reading the registry's signing and replication configuration. " + nothingChanged
		},
		fail: func(err error, _ Facts) (string, string) {
			title, msg := Step(err, "Gates")
			return title, msg + "\n\n" + nothingChanged
		},
	},
	Reconcile: {
		cancel: func(f Facts) string {
			state := nothingChanged
			if f.Writes > 0 {
				state = fmt.Sprintf("%d write call(s) had been made to the repository's settings; a re-run picks up from the current state. No image was pushed.", f.Writes)
			}
			return cancelPrefix + "while reconciling the repository. " + state
		},
		fail: func(err error, f Facts) (string, string) {
			title, msg := AWS(err)
			if f.Writes > 0 {
				msg += fmt.Sprintf("\n\n%d write call(s) had been made before the failure; a re-run picks up from the current state.", f.Writes)
			}
			return title, msg
		},
	},
	Push: {
		// Upload writes blobs, then manifests by digest, and no tag: an
		// interrupted upload leaves no tag on anything incomplete.
		cancel: func(Facts) string {
			return cancelPrefix + "during the push. No tag was written, so every tag still names the image it named before. Re-run to push again: blobs already uploaded are not sent twice."
		},
		fail: func(err error, _ Facts) (string, string) { return Step(err, "Push failed") },
	},
	Referrers: {
		cancel: func(f Facts) string {
			return cancelPrefix + "while attaching the SBOM and provenance. " + fmt.Sprintf(digestOnly, f.Digest) + " Re-run to finish."
		},
		fail: func(err error, f Facts) (string, string) {
			title, msg := Step(err, "Referrers")
			return title, msg + "\n\n" + fmt.Sprintf(digestOnly, f.Digest)
		},
	},
	Scan: {
		cancel: func(f Facts) string {
			return cancelPrefix + "before the tags were written. " + fmt.Sprintf(digestOnly, f.Digest) + " Re-run to finish."
		},
		fail: func(err error, _ Facts) (string, string) {
			title, msg := Step(err, "Scan")
			return title, msg + "\n\nThe image was pushed, but the scan gate could not decide, so the step fails."
		},
	},
	Signing: {
		cancel: func(f Facts) string {
			return cancelPrefix + "before the tags were written. " + fmt.Sprintf(digestOnly, f.Digest) + " Re-run to finish."
		},
		fail: func(err error, f Facts) (string, string) {
			title, msg := Step(err, "Signing gate")
			return title, msg + "\n\n" + fmt.Sprintf(digestOnly, f.Digest)
		},
	},
	Tags: {
		cancel: func(f Facts) string {
			return cancelPrefix + fmt.Sprintf("while writing the tags. The image %s is complete in the repository; some of its tags may have been written. Re-run to write the rest.", f.Digest)
		},
		fail: func(err error, _ Facts) (string, string) { return Step(err, "Push failed") },
	},
	ScanLog: {
		cancel: func(Facts) string {
			return cancelPrefix + "while logging the scan result; the image and its tags are in place."
		},
		fail: func(err error, _ Facts) (string, string) { return Logs(err) },
	},
	Replication: {
		cancel: func(Facts) string {
			return cancelPrefix + "while waiting for replication; the image and its tags are in place in the source repository."
		},
		fail: func(err error, _ Facts) (string, string) {
			title, msg := Step(err, "Replication gate")
			return title, msg + "\n\nThe image and its tags are in place in the source repository; its replication was not confirmed."
		},
	},
}

// Failure is the title and message of a failure in phase p. cancelled is
// true when the runner cancelled the run: the message then says where, and
// what the cancel left behind.
func Failure(p Phase, err error, cancelled bool, f Facts) (title, msg string) {
	row := phases[p]
	if cancelled && row.cancel != nil {
		return "Cancelled", row.cancel(f)
	}
	return row.fail(err, f)
}

// apiCodes are the AWS error codes with a remedy of their own; action is
// the IAM action the call needed (or the one AWS names as refused).
var apiCodes = []struct {
	codes  []string
	title  string
	remedy func(action string) string
}{
	{[]string{"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"}, "Permission denied",
		func(action string) string {
			return fmt.Sprintf("The credentials lack %s. Add it to the role's policy (the README lists the minimal policy).", action)
		}},
	{[]string{"UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException"}, "AWS credentials rejected",
		func(string) string {
			return "Check the credentials step (aws-actions/configure-aws-credentials or role_to_assume) and the region."
		}},
	{[]string{"KmsException"}, "KMS key unusable",
		func(string) string {
			return "Check kms_key_arn: the key must exist in this region and allow kms:CreateGrant and kms:DescribeKey to the caller."
		}},
}

// AWS is the title and message of a failed ECR call of the repository
// phase: what the error code asks for, or the error as it is.
func AWS(err error) (string, string) {
	if title, msg, ok := api(err.Error(), err); ok {
		return title, msg
	}
	if errors.Is(err, context.Canceled) {
		return "Cancelled", "the run was cancelled before the repository was fully reconciled; re-run to finish"
	}
	return "Repository reconcile failed", err.Error()
}

// api diagnoses an AWS operation error found in err; text is what the
// message shows of the error. ok is false when err holds no AWS operation
// error.
func api(text string, err error) (title, msg string, ok bool) {
	var op *smithy.OperationError
	var ae smithy.APIError
	if !errors.As(err, &op) || !errors.As(err, &ae) {
		return "", "", false
	}
	action := "ecr:" + op.OperationName
	// A call can need more than its own action (CreateRepository with
	// tags also needs ecr:TagResource): AWS names the one it refused.
	if a := DeniedAction(ae.ErrorMessage()); a != "" {
		action = a
	}
	for _, c := range apiCodes {
		for _, code := range c.codes {
			if ae.ErrorCode() == code {
				return c.title, text + "\n\n" + c.remedy(action), true
			}
		}
	}
	if title, msg, ok := throttled(text, err); ok {
		return title, msg, true
	}
	return "ECR " + op.OperationName + " failed", text, true
}

// Throttled says which AWS call stayed throttled through every retry; ok
// is false when err is not throttling (a service quota is not).
func Throttled(err error) (title, msg string, ok bool) {
	return throttled(err.Error(), err)
}

func throttled(text string, err error) (title, msg string, ok bool) {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return "", "", false
	}
	if _, throttle := retry.DefaultThrottleErrorCodes[ae.ErrorCode()]; !throttle || awsauth.IsQuotaError(err) {
		return "", "", false
	}
	action, service := "an AWS call", "AWS"
	var op *smithy.OperationError
	if errors.As(err, &op) {
		prefix := map[string]string{"ECR": "ecr", "CloudWatch Logs": "logs", "STS": "sts"}[op.ServiceID]
		if prefix == "" {
			prefix = strings.ToLower(op.ServiceID)
		}
		action, service = prefix+":"+op.OperationName, op.ServiceID
	}
	attempts := "every"
	var mae *retry.MaxAttemptsError
	if errors.As(err, &mae) {
		attempts = fmt.Sprintf("all %d", mae.Attempt)
	}
	return "Throttled by " + service,
		fmt.Sprintf("%s\n\n%s was throttled (%s) on %s attempts, with jittered backoff between them. The account's %s request rate is shared by every job using it: re-run the job, or spread matrix jobs out (max-parallel).", text, action, ae.ErrorCode(), attempts, service), true
}

// Logs is the title and message of a failure to log the scan result.
func Logs(err error) (string, string) {
	var le *scanlog.Error
	if errors.As(err, &le) && le.AccessDenied() {
		return "Permission denied", fmt.Sprintf("%v\n\nThe credentials lack %s on the log group. Add it to the role's policy (the README lists it), or remove scan_log_group.", err, le.Action)
	}
	if title, msg, ok := Throttled(err); ok {
		return title, msg
	}
	return "Scan log", err.Error()
}

// DeniedAction returns the IAM action an AWS AccessDenied message names
// ("User: … is not authorized to perform: ecr:TagResource on resource: …"),
// or "".
func DeniedAction(msg string) string {
	_, rest, ok := strings.Cut(msg, "is not authorized to perform: ")
	if !ok {
		return ""
	}
	action, _, _ := strings.Cut(rest, " ")
	return action
}
