// Package settle waits out ECR's eventual consistency after a repository is
// created: "ECR repos are created asynchronously" (AWS Support, quoted in
// hashicorp/terraform-provider-aws #3849), so for a short while after
// CreateRepository, calls naming the repository can answer
// RepositoryNotFoundException and the registry NAME_UNKNOWN. A call that
// meets that right after a create is tried again with bounded, jittered
// backoff; anything else fails at once.
package settle

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/org/ecr-action/internal/clock"
)

// Defaults of Policy: waits start at 250 ms and double up to 4 s, each
// drawn at random from the upper half of its step (jitter, so parallel jobs
// do not retry in step), and stop once 30 s of waiting is spent: 12 to 20
// attempts. AWS gives no bound; creates are usually visible within a
// second or two, and 30 s keeps a job that will never see the repository
// (a create that failed on the AWS side) from hanging.
const (
	DefaultBudget = 30 * time.Second
	DefaultFirst  = 250 * time.Millisecond
	DefaultMax    = 4 * time.Second
)

// Policy is how long and how often to try again. The zero value uses the
// defaults and real timers.
type Policy struct {
	Budget time.Duration // total time spent waiting between attempts
	First  time.Duration // the first wait's upper bound
	Max    time.Duration // no wait is longer
	// Clock waits between attempts; nil = clock.System.
	Clock clock.Clock
	// Rand returns a number in [0, 1) for the jitter; nil = math/rand.
	Rand func() float64
}

func (p Policy) withDefaults() Policy {
	if p.Budget <= 0 {
		p.Budget = DefaultBudget
	}
	if p.First <= 0 {
		p.First = DefaultFirst
	}
	if p.Max <= 0 {
		p.Max = DefaultMax
	}
	if p.Clock == nil {
		p.Clock = clock.System
	}
	if p.Rand == nil {
		p.Rand = rand.Float64
	}
	return p
}

// Stats is what Do had to wait through.
type Stats struct {
	Attempts int
	Waited   time.Duration // the sum of the waits
}

// Do calls fn until it succeeds, fails with an error notYet does not
// accept, ctx ends or the budget is spent. When the budget runs out it
// returns a *NotVisibleError wrapping fn's last error.
func (p Policy) Do(ctx context.Context, fn func() error, notYet func(error) bool) (Stats, error) {
	p = p.withDefaults()
	var st Stats
	step := p.First
	for {
		st.Attempts++
		err := fn()
		if err == nil || !notYet(err) {
			return st, err
		}
		left := p.Budget - st.Waited
		if left <= 0 {
			return st, &NotVisibleError{Attempts: st.Attempts, Waited: st.Waited, Err: err}
		}
		d := min(time.Duration(float64(step)*(0.5+0.5*p.Rand())), left)
		if serr := p.Clock.Sleep(ctx, d); serr != nil {
			return st, err // cancelled: the last answer says what was going on
		}
		st.Waited += d
		step = min(step*2, p.Max)
	}
}

// NotVisibleError is a repository that stayed invisible through every
// attempt.
type NotVisibleError struct {
	Attempts int
	Waited   time.Duration
	Err      error
}

func (e *NotVisibleError) Error() string {
	return fmt.Sprintf("the repository was still not found %.0f s after it was created (%d attempts with backoff; ECR creates repositories asynchronously and usually shows them within seconds). Re-run the job; if it happens again, check that nothing deletes the repository and the AWS Health Dashboard for ECR in this region: %v",
		e.Waited.Seconds(), e.Attempts, e.Err)
}

func (e *NotVisibleError) Unwrap() error { return e.Err }
