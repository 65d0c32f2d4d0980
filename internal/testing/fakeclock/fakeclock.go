// Package fakeclock is a clock.Clock for tests whose time moves only when the
// test moves it (Advance) or when the code under test sleeps on it (Sleep
// returns at once, with the clock moved forward). Its timeouts are driven by
// its own time and never by a real timer, so a test behaves the same on any
// date and never waits for real.
package fakeclock

import (
	"context"
	"sync"
	"time"
)

// Clock is a fake clock.Clock. The zero value is not usable: call New.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
	timers map[*timer]struct{}
}

type timer struct {
	at     time.Time
	cancel context.CancelCauseFunc
}

// New returns a clock that reads start until it is moved.
func New(start time.Time) *Clock {
	return &Clock{now: start, timers: map[*timer]struct{}{}}
}

// Now implements clock.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d and ends every WithTimeout context
// whose time has come.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*timer
	for t := range c.timers {
		if !t.at.After(c.now) {
			due = append(due, t)
			delete(c.timers, t)
		}
	}
	c.mu.Unlock()
	for _, t := range due {
		t.cancel(context.DeadlineExceeded)
	}
}

// Sleep implements clock.Clock: it records d, moves the clock by d and
// returns at once (ctx's error if ctx has ended, before or because of the
// move).
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.mu.Unlock()
	if d > 0 {
		c.Advance(d)
	}
	return ctx.Err()
}

// Sleeps returns the durations passed to Sleep, in order.
func (c *Clock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// WithTimeout implements clock.Clock: the context ends when Advance (or
// Sleep) moves the clock d or more past now. Its Err is context.Canceled
// and its Cause context.DeadlineExceeded.
func (c *Clock) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	if d <= 0 {
		cancel(context.DeadlineExceeded)
		return ctx, func() {}
	}
	c.mu.Lock()
	t := &timer{at: c.now.Add(d), cancel: cancel}
	c.timers[t] = struct{}{}
	c.mu.Unlock()
	return ctx, func() {
		c.mu.Lock()
		delete(c.timers, t)
		c.mu.Unlock()
		cancel(context.Canceled)
	}
}

// Pending is how many WithTimeout contexts have neither ended nor been
// cancelled: a test can check that the code under test released them.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}
