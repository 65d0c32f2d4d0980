package diagnose

import (
	"strings"
	"testing"
	"time"

	"github.com/org/ecr-action/internal/gates"
)

func TestSignatureOutcome(t *testing.T) {
	const digest = "sha256:1"
	const profile = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/deploy"
	for _, c := range []struct {
		name  string
		res   gates.SigningResult
		title string
		want  []string
	}{
		{"failed", gates.SigningResult{Outcome: gates.SignatureFailed, Digest: digest, Profiles: []gates.ProfileStatus{{Profile: profile, Status: "FAILED", FailureCode: "SIGNING_FAILED", FailureReason: "the profile is revoked"}}},
			"Signature failed", []string{profile + ": FAILED SIGNING_FAILED: the profile is revoked", "signer:SignPayload"}},
		{"in progress at the timeout", gates.SigningResult{Outcome: gates.SignatureTimedOut, Digest: digest, Profiles: []gates.ProfileStatus{{Profile: profile, Status: "IN_PROGRESS"}, {Profile: profile + "2"}}},
			"Signature timed out", []string{"not complete within signature_timeout (1m0s)", "IN_PROGRESS", profile + "2 not reported", "Raise signature_timeout"}},
		{"never reported", gates.SigningResult{Outcome: gates.SignatureTimedOut, Digest: digest, Profiles: []gates.ProfileStatus{{Profile: profile}}},
			"Signature timed out", []string{"no signing status", "pushed before the signing configuration"}},
	} {
		title, msg := SignatureOutcome(&c.res, time.Minute)
		if title != c.title {
			t.Errorf("%s: title %q, want %q", c.name, title, c.title)
		}
		for _, w := range append(c.want, "The image sha256:1 is in the repository by digest only: no tag was written.") {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: message lacks %q:\n%s", c.name, w, msg)
			}
		}
	}
}

func TestReplicationOutcome(t *testing.T) {
	west := gates.Destination{Region: "us-west-2", RegistryID: "123456789012"}
	china := gates.Destination{Region: "cn-north-1", RegistryID: "210987654321"}
	for _, c := range []struct {
		name  string
		res   gates.ReplicationResult
		title string
		want  []string
	}{
		{"timed out", gates.ReplicationResult{Digest: "sha256:1", TimedOut: true, Destinations: []gates.DestinationStatus{{Destination: west, Status: "COMPLETE"}, {Destination: china}}},
			"Replication timed out", []string{"210987654321 in cn-north-1 (not reported)", "replication_timeout (1m0s)", "Replicated (in replicated_image_uris): 123456789012 in us-west-2"}},
		{"failed", gates.ReplicationResult{Digest: "sha256:1", Destinations: []gates.DestinationStatus{{Destination: west, Status: "FAILED", FailureCode: "REPLICATION_FAILED"}, {Destination: china, Status: "COMPLETE"}}},
			"Replication failed", []string{"Replication failed to: 123456789012 in us-west-2 (FAILED REPLICATION_FAILED)", "Replicated (in replicated_image_uris): 210987654321 in cn-north-1"}},
		{"nothing replicated", gates.ReplicationResult{Digest: "sha256:1", Destinations: []gates.DestinationStatus{{Destination: west, Status: "FAILED", FailureCode: "X"}}},
			"Replication failed", []string{"replicated_image_uris is empty"}},
	} {
		title, msg := ReplicationOutcome(&c.res, time.Minute)
		if title != c.title {
			t.Errorf("%s: title %q, want %q", c.name, title, c.title)
		}
		for _, w := range append(c.want, "The image sha256:1 is in the source repository and its tags are written") {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: message lacks %q:\n%s", c.name, w, msg)
			}
		}
	}
}
