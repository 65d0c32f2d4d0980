package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/org/ecr-action/internal/gates"
	"github.com/org/ecr-action/internal/markdown"
)

// SignatureGate is what the signing gate did, for the summary: skipped
// says why it did not wait; otherwise Err (the status could not be read)
// or Result.
type SignatureGate struct {
	Skipped string
	Err     error
	Result  *gates.SigningResult
	Timeout time.Duration
}

// ReplicationGate is what the replication gate did, for the summary, as
// SignatureGate is for the signing gate; Status is replication_status.
type ReplicationGate struct {
	Skipped string
	Err     error
	Result  *gates.ReplicationResult
	Status  string
	Timeout time.Duration
}

// RenderGates is the summary's section on the gates asked for (nil: not
// asked for); "" when neither was.
func RenderGates(sig *SignatureGate, repl *ReplicationGate) string {
	var b strings.Builder
	if sig != nil {
		b.WriteString("## Signature\n\n")
		switch {
		case sig.Skipped != "":
			fmt.Fprintf(&b, "Not waited for: %s, so no tag was written.\n", sig.Skipped)
		case sig.Err != nil:
			fmt.Fprintf(&b, "**Could not be read**: %s\n", gateCell(sig.Err.Error()))
		default:
			r := sig.Result
			fmt.Fprintf(&b, "**%s** after %.1f s (signature_timeout %s).\n\n", r.Outcome, r.Waited.Seconds(), sig.Timeout)
			b.WriteString("| Signing profile | Status | Failure |\n|---|---|---|\n")
			for _, p := range r.Profiles {
				fmt.Fprintf(&b, "| %s | %s | %s |\n", gateCell(p.Profile), gateCell(orNotReported(p.Status)), gateCell(strings.TrimSpace(p.FailureCode+" "+p.FailureReason)))
			}
		}
	}
	if repl != nil {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString("## Replication\n\n")
		switch {
		case repl.Skipped != "":
			fmt.Fprintf(&b, "Not waited for: %s.\n", repl.Skipped)
		case repl.Err != nil:
			fmt.Fprintf(&b, "**Could not be read**: %s\n", gateCell(repl.Err.Error()))
		default:
			r := repl.Result
			fmt.Fprintf(&b, "**%s**: %d of %d destination(s) complete after %.1f s (replication_timeout %s).\n\n", repl.Status, len(r.Complete()), len(r.Destinations), r.Waited.Seconds(), repl.Timeout)
			b.WriteString("| Region | Registry | Status | Image |\n|---|---|---|---|\n")
			for _, d := range r.Destinations {
				st := orNotReported(d.Status)
				if d.FailureCode != "" {
					st += " (" + d.FailureCode + ")"
				}
				uri := "—"
				if d.URI != "" {
					uri = gateCell(d.URI)
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", gateCell(d.Region), gateCell(d.RegistryID), gateCell(st), uri)
			}
		}
	}
	return b.String()
}

func orNotReported(status string) string {
	if status == "" {
		return "not reported"
	}
	return status
}

// gateCell is a table cell of at most 300 characters.
func gateCell(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 300 {
		s = strings.ToValidUTF8(s[:300], "") + "…"
	}
	return markdown.Cell(s)
}
