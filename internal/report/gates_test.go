package report

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/org/ecr-action/internal/gates"
)

func TestRenderGates(t *testing.T) {
	if got := RenderGates(nil, nil); got != "" {
		t.Errorf("no gate asked for: %q", got)
	}
	sig := &SignatureGate{Timeout: time.Minute, Result: &gates.SigningResult{Outcome: gates.SignatureFailed, Waited: 3 * time.Second,
		Profiles: []gates.ProfileStatus{{Profile: "arn:p", Status: "FAILED", FailureCode: "SIGNING_FAILED", FailureReason: "revoked | badly"}, {Profile: "arn:q"}}}}
	repl := &ReplicationGate{Status: gates.ReplicationTimedOut, Timeout: 10 * time.Minute, Result: &gates.ReplicationResult{TimedOut: true, Waited: 10 * time.Minute,
		Destinations: []gates.DestinationStatus{{Destination: gates.Destination{Region: "us-west-2", RegistryID: "1"}, Status: "COMPLETE", URI: "1.dkr.ecr.us-west-2.amazonaws.com/app@sha256:1"}, {Destination: gates.Destination{Region: "eu-west-1", RegistryID: "2"}}}}}
	got := RenderGates(sig, repl)
	for _, want := range []string{
		"## Signature", "**failed** after 3.0 s (signature_timeout 1m0s).", "| arn:p | FAILED | SIGNING\\_FAILED revoked \\| badly |", "| arn:q | not reported |  |",
		"## Replication", "**timed_out**: 1 of 2 destination(s) complete after 600.0 s (replication_timeout 10m0s).",
		"| us-west-2 | 1 | COMPLETE | 1.dkr.ecr.us-west-2.amazonaws.com/app@sha256:1 |", "| eu-west-1 | 2 | not reported | — |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	got = RenderGates(&SignatureGate{Skipped: "the scan gate did not pass"}, &ReplicationGate{Err: errors.New("denied")})
	for _, want := range []string{"Not waited for: the scan gate did not pass, so no tag was written.", "**Could not be read**: denied"} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if long := gateCell(strings.Repeat("x", 400)); !strings.HasSuffix(long, "…") || len([]rune(long)) != 301 {
		t.Errorf("a long cell is not cut at 300: %d runes", len([]rune(long)))
	}
}
