package config

import (
	"strconv"
	"time"
)

// Gates are the waits for ECR's managed signing and replication of the
// pushed image (issue 17): require_signature, signature_timeout,
// wait_for_replication and replication_timeout.
type Gates struct {
	// RequireSignature: before any tag is written, wait until ECR managed
	// signing reports the image signed by every signing profile that
	// covers the repository.
	RequireSignature bool
	SignatureTimeout time.Duration
	// WaitForReplication: before the outputs are set, wait until every
	// replication destination reports the image COMPLETE.
	WaitForReplication bool
	ReplicationTimeout time.Duration
}

// loadGates validates the gate inputs. hasImage says whether the run
// pushes or retags an image.
func loadGates(withDefault func(string) string, boolean func(string) bool, bad func(input, value, format string, args ...any), hasImage bool) Gates {
	var g Gates
	g.RequireSignature = boolean("require_signature")
	g.WaitForReplication = boolean("wait_for_replication")
	if g.RequireSignature && !hasImage {
		bad("require_signature", "true", "is true but the run pushes no image; set source, base_image or retag_from, or remove require_signature")
	}
	if g.WaitForReplication && !hasImage {
		bad("wait_for_replication", "true", "is true but the run pushes no image; set source, base_image or retag_from, or remove wait_for_replication")
	}
	g.SignatureTimeout = waitTimeout(withDefault, bad, "signature_timeout")
	g.ReplicationTimeout = waitTimeout(withDefault, bad, "replication_timeout")
	return g
}

// waitTimeout reads a wait's timeout input: a duration from MinWaitTimeout
// to MaxWaitTimeout; 0 when it is invalid (and reported).
func waitTimeout(withDefault func(string) string, bad func(input, value, format string, args ...any), name string) time.Duration {
	v := withDefault(name)
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		if _, nerr := strconv.Atoi(v); nerr == nil {
			bad(name, v, "needs a unit: write %ss for seconds or %sm for minutes", v, v)
		} else {
			bad(name, v, "must be a duration such as 10m, 90s or 1h30m")
		}
	case d < MinWaitTimeout || d > MaxWaitTimeout:
		bad(name, v, "must be from %s to %s (a GitHub job runs at most 6 hours)", MinWaitTimeout, "6h")
	default:
		return d
	}
	return 0
}
