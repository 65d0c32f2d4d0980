// Package clock is the action's one source of time. Production code takes a
// Clock and never calls time.Now, time.Sleep or context.WithDeadline on its
// own, so a test that injects a fake clock moves every notion of "now",
// every pause and every time limit together.
//
// The rule it enforces: a time read from a Clock is only ever compared with
// other times from the same Clock. A deadline is expressed as a duration
// handed to the Clock (WithTimeout), never as an instant passed to
// context.WithDeadline, which compares it with the wall clock.
package clock

import (
	"context"
	"time"
)

// Clock tells the time, waits and bounds work in time.
type Clock interface {
	// Now is the current time by this clock.
	Now() time.Time
	// Sleep waits d by this clock, or until ctx ends, in which case it
	// returns ctx's error.
	Sleep(ctx context.Context, d time.Duration) error
	// WithTimeout returns a copy of ctx that is cancelled once d has passed
	// by this clock (or when the returned function is called, or when ctx
	// ends). A d of zero or less gives a context that has already ended.
	WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc)
}

// System is the wall clock, with real timers.
var System Clock = system{}

type system struct{}

func (system) Now() time.Time { return time.Now() }

func (system) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (system) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}

// Since is the time passed since t by c.
func Since(c Clock, t time.Time) time.Duration { return c.Now().Sub(t) }
