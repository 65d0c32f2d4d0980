package fakeclock

import (
	"context"
	"errors"
	"testing"
	"time"
)

var start = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

func TestSleepMovesTheClock(t *testing.T) {
	c := New(start)
	if err := c.Sleep(context.Background(), 90*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := c.Now(); !got.Equal(start.Add(90 * time.Second)) {
		t.Errorf("Now = %v after a 90 s sleep from %v", got, start)
	}
	if got := c.Sleeps(); len(got) != 1 || got[0] != 90*time.Second {
		t.Errorf("Sleeps = %v", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) || !c.Now().Equal(start.Add(90*time.Second)) {
		t.Errorf("Sleep on an ended context = %v and moved the clock to %v", err, c.Now())
	}
}

// TestWithTimeoutFollowsTheFakeTime: a timeout ends when the fake time
// passes it, whatever the real time: a start in 2001 is not "already past",
// and real time passing does not end it.
func TestWithTimeoutFollowsTheFakeTime(t *testing.T) {
	c := New(start)
	ctx, cancel := c.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	time.Sleep(5 * time.Millisecond)
	if ctx.Err() != nil {
		t.Fatalf("ended before the fake time moved: %v", ctx.Err())
	}
	c.Advance(59 * time.Second)
	if ctx.Err() != nil {
		t.Fatal("ended 1 s early")
	}
	c.Advance(time.Second)
	if ctx.Err() == nil || !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		t.Fatalf("Err %v, cause %v; want ended by the deadline", ctx.Err(), context.Cause(ctx))
	}
	if c.Pending() != 0 {
		t.Errorf("%d timers pending after the deadline", c.Pending())
	}
}

func TestWithTimeoutCancelAndZero(t *testing.T) {
	c := New(start)
	ctx, cancel := c.WithTimeout(context.Background(), time.Hour)
	if c.Pending() != 1 {
		t.Fatalf("Pending = %d, want 1", c.Pending())
	}
	cancel()
	if ctx.Err() == nil || c.Pending() != 0 {
		t.Errorf("after cancel: Err %v, %d pending", ctx.Err(), c.Pending())
	}
	ctx, cancel = c.WithTimeout(context.Background(), 0)
	defer cancel()
	if ctx.Err() == nil {
		t.Error("a zero timeout gave a live context")
	}
	parent, end := context.WithCancel(context.Background())
	ctx, cancel = c.WithTimeout(parent, time.Hour)
	defer cancel()
	end()
	if ctx.Err() == nil {
		t.Error("the parent's end did not end the child")
	}
}

func TestSleepFiresTimeouts(t *testing.T) {
	c := New(start)
	ctx, cancel := c.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Sleep(ctx, 15*time.Second); err == nil {
		t.Error("a sleep past the context's timeout returned nil")
	}
}
