package settle

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/org/ecr-action/internal/testing/fakeclock"
)

var errNotFound = errors.New("RepositoryNotFoundException")

func isNotFound(err error) bool { return errors.Is(err, errNotFound) }

// recorder is a fake clock that records the waits instead of sleeping.
type recorder struct {
	*fakeclock.Clock
	waits []time.Duration
}

func newRecorder() *recorder {
	return &recorder{Clock: fakeclock.New(time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC))}
}

func (r *recorder) Sleep(ctx context.Context, d time.Duration) error {
	r.waits = append(r.waits, d)
	return r.Clock.Sleep(ctx, d)
}

func TestDoRetriesUntilVisible(t *testing.T) {
	rec := newRecorder()
	calls := 0
	st, err := Policy{Clock: rec, Rand: func() float64 { return 0.999 }}.Do(context.Background(), func() error {
		calls++
		if calls < 4 {
			return errNotFound
		}
		return nil
	}, isNotFound)
	if err != nil || calls != 4 || st.Attempts != 4 {
		t.Fatalf("err %v after %d calls (stats %+v), want success on the 4th", err, calls, st)
	}
	if len(rec.waits) != 3 || rec.waits[0] > DefaultFirst || rec.waits[1] <= rec.waits[0] || rec.waits[2] <= rec.waits[1] {
		t.Errorf("waits %v, want 3 growing waits starting at most %v", rec.waits, DefaultFirst)
	}
}

func TestDoFailsOtherErrorsAtOnce(t *testing.T) {
	rec := newRecorder()
	denied := errors.New("AccessDeniedException")
	calls := 0
	_, err := Policy{Clock: rec}.Do(context.Background(), func() error { calls++; return denied }, isNotFound)
	if !errors.Is(err, denied) || calls != 1 || len(rec.waits) != 0 {
		t.Errorf("got %v after %d calls and waits %v, want the error at once", err, calls, rec.waits)
	}
}

func TestDoIsBoundedAndJittered(t *testing.T) {
	for _, r := range []float64{0, 0.5, 0.999} {
		rec := newRecorder()
		st, err := Policy{Clock: rec, Rand: func() float64 { return r }}.Do(context.Background(), func() error { return errNotFound }, isNotFound)
		var nv *NotVisibleError
		if !errors.As(err, &nv) || !errors.Is(err, errNotFound) {
			t.Fatalf("rand %v: got %v, want a NotVisibleError wrapping the last answer", r, err)
		}
		var sum time.Duration
		for _, w := range rec.waits {
			if w > DefaultMax {
				t.Errorf("rand %v: a wait of %v, longer than %v", r, w, DefaultMax)
			}
			sum += w
		}
		if sum != DefaultBudget || st.Waited != sum || nv.Waited != sum {
			t.Errorf("rand %v: waited %v (stats %v), want exactly the budget %v", r, sum, st.Waited, DefaultBudget)
		}
		if st.Attempts != len(rec.waits)+1 || st.Attempts > 40 {
			t.Errorf("rand %v: %d attempts for %d waits", r, st.Attempts, len(rec.waits))
		}
		if !strings.Contains(err.Error(), "30 s after it was created") || !strings.Contains(err.Error(), "Re-run") {
			t.Errorf("message %q does not say how long and what to do", err)
		}
		t.Logf("rand %v: %d attempts, waits %v", r, st.Attempts, rec.waits)
	}
}

func TestDoStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := 0
	start := time.Now()
	_, err := Policy{}.Do(ctx, func() error { calls++; return errNotFound }, isNotFound)
	if !errors.Is(err, errNotFound) || calls != 1 || time.Since(start) > time.Second {
		t.Errorf("cancelled: %v after %d calls in %v, want the last answer at once", err, calls, time.Since(start))
	}
}
