package ecrlocal

import (
	"fmt"
	"time"
)

// Eventual consistency after CreateRepository.
//
// AWS creates ECR repositories asynchronously: right after CreateRepository,
// calls naming the repository can answer RepositoryNotFoundException (and the
// registry NAME_UNKNOWN) for a short while (AWS Support, quoted in
// hashicorp/terraform-provider-aws #3849). Options.CreateDelay models that:
// a new repository is kept in s.pending, where no other call looks, until
// CreateDelay has passed on the server's clock (s.now); every request first
// moves the repositories that are due into s.repos (promoteDue). No timer is
// involved, so a test that replaces s.now moves visibility with its clock.
//
// A second CreateRepository of a name that is still pending answers
// RepositoryAlreadyExistsException. ECR does not document this case; it is
// the stricter of the two readings for a client: the name is taken (a second
// create cannot make another repository), yet reads still say it does not
// exist. A client that treats "already exists" as "exists, now reconcile it"
// must then tolerate RepositoryNotFoundException on its reads, which is
// exactly the race two matrix jobs run on real ECR.

// pendingRepo is a repository created but not yet visible.
type pendingRepo struct {
	repo      *repository
	visibleAt time.Time // server clock
}

// validateCreateDelay checks Options.CreateDelay.
func validateCreateDelay(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("create delay %v is negative", d)
	}
	return nil
}

// addRepositoryLocked stores a new repository: at once without a create
// delay, else pending until the delay has passed. The caller holds s.mu
// for writing.
func (s *Server) addRepositoryLocked(r *repository) {
	if s.createDelay <= 0 {
		s.repos[r.name] = r
		return
	}
	s.pending[r.name] = pendingRepo{repo: r, visibleAt: r.createdAt.Add(s.createDelay)}
	s.pendingCount.Add(1)
}

// nameTakenLocked reports whether a repository of that name exists,
// visible or still pending. The caller holds s.mu.
func (s *Server) nameTakenLocked(name string) bool {
	if _, ok := s.repos[name]; ok {
		return true
	}
	_, ok := s.pending[name]
	return ok
}

// promoteDue makes visible the pending repositories whose delay has passed.
// It costs one atomic load when nothing is pending.
func (s *Server) promoteDue() {
	if s.pendingCount.Load() == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for name, p := range s.pending {
		if !now.Before(p.visibleAt) {
			s.repos[name] = p.repo
			delete(s.pending, name)
			s.pendingCount.Add(-1)
		}
	}
}
