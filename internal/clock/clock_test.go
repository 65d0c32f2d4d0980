package clock

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSystemSleepEndsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := System.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep on an ended context = %v, want context.Canceled", err)
	}
	if err := System.Sleep(context.Background(), time.Millisecond); err != nil {
		t.Errorf("a short Sleep = %v", err)
	}
}

func TestSystemWithTimeout(t *testing.T) {
	ctx, cancel := System.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a 1 ms timeout did not end within 10 s")
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Errorf("Err = %v, want DeadlineExceeded", ctx.Err())
	}
	ctx, cancel = System.WithTimeout(context.Background(), 0)
	defer cancel()
	if ctx.Err() == nil {
		t.Error("a zero timeout gave a live context")
	}
}

func TestSince(t *testing.T) {
	start := System.Now()
	if d := Since(System, start); d < 0 {
		t.Errorf("Since = %v, want ≥ 0", d)
	}
}
