package diagnose

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/org/ecr-action/internal/gates"
)

// SignatureOutcome is the title and message of a signing gate that ended
// without a signature: a FAILED signature, or none within timeout
// (signature_timeout). No tag is written either way.
func SignatureOutcome(r *gates.SigningResult, timeout time.Duration) (title, msg string) {
	tail := "\n\n" + fmt.Sprintf(digestOnly, r.Digest)
	if r.Outcome == gates.SignatureFailed {
		var lines []string
		for _, p := range r.Profiles {
			if p.Status == string(types.SigningStatusFailed) {
				lines = append(lines, fmt.Sprintf("%s: FAILED %s: %s", p.Profile, p.FailureCode, p.FailureReason))
			}
		}
		return "Signature failed", fmt.Sprintf("ECR managed signing of %s failed:\n%s\nCheck that the signing profile is active and that the role that pushes images may sign with it (signer:SignPayload).", r.Digest, strings.Join(lines, "\n")) + tail
	}
	for _, p := range r.Profiles {
		if p.Status != "" {
			return "Signature timed out", fmt.Sprintf("The signature of %s was not complete within signature_timeout (%s): %s. Raise signature_timeout, or re-run to wait again.", r.Digest, timeout, gates.DescribeProfiles(r.Profiles)) + tail
		}
	}
	return "Signature timed out", fmt.Sprintf("ECR reported no signing status for %s within signature_timeout (%s). ECR signs an image when it is pushed: an image pushed before the signing configuration covered the repository is never signed (push it again under a new digest), otherwise raise signature_timeout.", r.Digest, timeout) + tail
}

// ReplicationOutcome is the title and message of a replication gate that
// ended with a destination FAILED or not final within timeout
// (replication_timeout). The tags are written either way.
func ReplicationOutcome(r *gates.ReplicationResult, timeout time.Duration) (title, msg string) {
	var failed, pending, done []string
	for _, d := range r.Destinations {
		switch d.Status {
		case string(types.ReplicationStatusComplete):
			done = append(done, d.Destination.String())
		case string(types.ReplicationStatusFailed):
			failed = append(failed, fmt.Sprintf("%s (FAILED %s)", d.Destination, d.FailureCode))
		default:
			st := d.Status
			if st == "" {
				st = "not reported"
			}
			pending = append(pending, fmt.Sprintf("%s (%s)", d.Destination, st))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "The image %s is in the source repository and its tags are written, but it is not replicated everywhere.", r.Digest)
	if len(failed) > 0 {
		fmt.Fprintf(&b, "\nReplication failed to: %s. Check the destination registry's permissions policy (for another account) and the replication rule.", strings.Join(failed, ", "))
	}
	if len(pending) > 0 {
		fmt.Fprintf(&b, "\nNot complete within replication_timeout (%s): %s. Raise replication_timeout, or re-run to wait again.", timeout, strings.Join(pending, ", "))
	}
	if len(done) > 0 {
		fmt.Fprintf(&b, "\nReplicated (in replicated_image_uris): %s.", strings.Join(done, ", "))
	} else {
		b.WriteString("\nNo destination has the image yet; replicated_image_uris is empty.")
	}
	title = "Replication failed"
	if r.Outcome() == gates.ReplicationTimedOut {
		title = "Replication timed out"
	}
	return title, b.String()
}
