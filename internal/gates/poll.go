// Package gates waits for what Amazon ECR does to an image after it is
// pushed, before the run lets a deploy use it: managed signing
// (DescribeImageSigningStatus, signing.go) and replication to other regions
// and registries (DescribeImageReplicationStatus, replication.go).
//
// Each wait is bounded and paced on the injected clock, as the scan wait
// is (internal/scan/ecrscan): a first read at once, then reads 1 s, 2 s,
// 4 s apart, then every MaxInterval (5 s by default); the whole wait ends
// at its timeout, and the limit is handed to the clock as a duration
// (clk.WithTimeout), never as an instant. Only what a later read can fix
// is retried at this level (throttling and server errors, on top of the
// SDK's own retries); AccessDenied and validation errors end the wait at
// once, so a missing permission never looks like a timeout.
//
// Before the first write the run checks that the registry is set up for
// each gate it asked for (CheckSigning, CheckReplication), so a registry
// without a signing configuration or replication rule fails the run while
// nothing has changed.
package gates

import (
	"context"
	"errors"
	"time"

	"github.com/org/ecr-action/internal/awsauth"
	"github.com/org/ecr-action/internal/clock"
)

// Default pacing of the reads.
const (
	DefaultFirstInterval = time.Second
	DefaultMaxInterval   = 5 * time.Second
	// maxThrottledInterval caps the pause after throttled reads.
	maxThrottledInterval = 30 * time.Second
)

// Pace is the schedule and limit of one wait. Zero fields take defaults.
type Pace struct {
	Timeout       time.Duration // required
	FirstInterval time.Duration // after the first read; doubles up to MaxInterval
	MaxInterval   time.Duration
	Clock         clock.Clock // nil = the wall clock
}

// errTimedOut ends a poll loop whose time is up.
var errTimedOut = errors.New("timed out")

// poll calls read until it reports done, returns an error no retry fixes,
// or the timeout passes (errTimedOut). read gets a context bounded by what
// is left of the timeout. It returns how long the wait took.
func poll(ctx context.Context, p Pace, read func(ctx context.Context) (done bool, err error)) (time.Duration, error) {
	clk := p.Clock
	if clk == nil {
		clk = clock.System
	}
	first := p.FirstInterval
	if first <= 0 {
		first = DefaultFirstInterval
	}
	maxInterval := p.MaxInterval
	if maxInterval <= 0 {
		maxInterval = DefaultMaxInterval
	}
	start := clk.Now()
	elapsed := func() time.Duration { return clk.Now().Sub(start) }
	pause := first // the pause after the next successful read
	for {
		left := p.Timeout - elapsed()
		if left <= 0 {
			return elapsed(), errTimedOut
		}
		callCtx, cancel := clk.WithTimeout(ctx, left)
		done, err := read(callCtx)
		callEnded := callCtx.Err() != nil
		cancel()
		if ctx.Err() != nil {
			return elapsed(), ctx.Err()
		}
		var wait time.Duration
		switch {
		case err == nil && done:
			return elapsed(), nil
		case err != nil && callEnded:
			return elapsed(), errTimedOut // the read outlived the timeout
		case err != nil && awsauth.ReadAgain(err):
			pause = min(2*pause, maxThrottledInterval)
			wait = pause
		case err != nil:
			return elapsed(), err
		default:
			pause = min(pause, maxInterval)
			wait = pause
			pause = min(2*pause, maxInterval)
		}
		left = p.Timeout - elapsed()
		if left <= 0 {
			return elapsed(), errTimedOut
		}
		if err := clk.Sleep(ctx, min(wait, left)); err != nil {
			return elapsed(), err
		}
	}
}
