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

// Limits of signature_timeout and replication_timeout: as scan_timeout,
// from 10 s to a GitHub job's 6 hours.
const (
	MinGateTimeout = 10 * time.Second
	MaxGateTimeout = 6 * time.Hour
)

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
	g.SignatureTimeout = gateTimeout(withDefault, bad, "signature_timeout")
	g.ReplicationTimeout = gateTimeout(withDefault, bad, "replication_timeout")
	return g
}

func gateTimeout(withDefault func(string) string, bad func(input, value, format string, args ...any), name string) time.Duration {
	v := withDefault(name)
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		if _, nerr := strconv.Atoi(v); nerr == nil {
			bad(name, v, "needs a unit: write %ss for seconds or %sm for minutes", v, v)
		} else {
			bad(name, v, "must be a duration such as 10m, 90s or 1h30m")
		}
	case d < MinGateTimeout || d > MaxGateTimeout:
		bad(name, v, "must be from %s to %s (a GitHub job runs at most 6 hours)", MinGateTimeout, "6h")
	default:
		return d
	}
	return 0
}
