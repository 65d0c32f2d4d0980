package ecrlocal

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Image scan statuses, as the ECR API spells them.
const (
	scanInProgress  = "IN_PROGRESS"
	scanComplete    = "COMPLETE"
	scanFailed      = "FAILED"
	scanUnsupported = "UNSUPPORTED_IMAGE"
	scanActive      = "ACTIVE"
	scanPending     = "PENDING"
)

// Registry scanning configuration values.
const (
	scanTypeBasic    = "BASIC"
	scanTypeEnhanced = "ENHANCED"
	freqScanOnPush   = "SCAN_ON_PUSH"
	freqContinuous   = "CONTINUOUS_SCAN"
	freqManual       = "MANUAL"
)

// scanDescriptions are the imageScanStatus descriptions of final statuses.
var scanDescriptions = map[string]string{
	scanComplete:    "The scan was completed successfully.",
	scanActive:      "Continuous scan is selected for image.",
	scanUnsupported: "The operation is not supported for this image.",
	scanFailed:      "The scan failed.",
}

// scanQuota is how often one image may be scanned with basic scanning.
const scanQuota = 24 * time.Hour

// ScanHook changes how scans of a repository's images end, for tests. Set it
// with Server.ScanHook.
type ScanHook struct {
	// Status forces the final status, e.g. "FAILED" or "UNSUPPORTED_IMAGE",
	// reported with no findings. "" (or COMPLETE / ACTIVE) scans for real.
	Status string
	// Delay, when positive, replaces Options.ScanDelay for the repository's
	// scans: the scan stays IN_PROGRESS (PENDING) at least this long after it
	// starts. A very long delay is a scan that never finishes.
	Delay time.Duration
}

// ScanHook sets the hook for scans started from now on in repository; ""
// applies to every repository without a hook of its own. The zero ScanHook
// removes the hook.
func (s *Server) ScanHook(repository string, h ScanHook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h == (ScanHook{}) {
		delete(s.hooks, repository)
		return
	}
	s.hooks[repository] = h
}

// scanRule is one registry scanning rule.
type scanRule struct {
	frequency string
	filters   []string // WILDCARD patterns
}

// matches reports whether a rule's filters cover a repository.
func (r scanRule) matches(repo string) bool {
	for _, f := range r.filters {
		if wildcardMatch(f, repo) {
			return true
		}
	}
	return false
}

// scanRecord is the scan of one image in one repository. Guarded by
// Server.mu.
type scanRecord struct {
	gen       uint64    // identifies this scan; a rescan gets a new one
	enhanced  bool      // an Inspector (ENHANCED) scan
	frequency string    // enhanced: SCAN_ON_PUSH or CONTINUOUS_SCAN
	startedAt time.Time // server clock
	readyAt   time.Time // the result is not shown before this
	forced    string    // final status forced by a ScanHook

	done        bool // the work is finished
	status      string
	description string
	findings    []finding // sorted: severity worst first, then id, then package
	completedAt time.Time
}

// finding is one vulnerable installed package.
type finding struct {
	vuln Vuln
	pkg  pkg
}

// state is what a scan shows at now: its status, description, and whether
// its findings are final.
func (r *scanRecord) state(now time.Time) (status, description string, final bool) {
	if !r.done || now.Before(r.readyAt) {
		if r.enhanced {
			return scanPending, "", false
		}
		return scanInProgress, "", false
	}
	return r.status, r.description, r.status == scanComplete || r.status == scanActive
}

// scanQueue feeds the one scan worker.
type scanQueue struct {
	mu    sync.Mutex
	jobs  []scanJob
	wake  chan struct{} // buffered 1
	stop  chan struct{}
	done  chan struct{}
	close sync.Once
}

type scanJob struct {
	repo, digest string
	gen          uint64
}

func newScanQueue() *scanQueue {
	return &scanQueue{wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// push queues a job without blocking.
func (q *scanQueue) push(j scanJob) {
	q.mu.Lock()
	q.jobs = append(q.jobs, j)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *scanQueue) pop() (scanJob, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.jobs) == 0 {
		return scanJob{}, false
	}
	j := q.jobs[0]
	q.jobs = q.jobs[1:]
	return j, true
}

// shutdown stops the worker and waits for the scan it is running.
func (q *scanQueue) shutdown() {
	q.close.Do(func() { close(q.stop) })
	<-q.done
}

// runScans is the scan worker: one scan at a time, in the order queued.
func (s *Server) runScans() {
	q := s.scans
	defer close(q.done)
	for {
		select {
		case <-q.stop:
			return
		default:
		}
		j, ok := q.pop()
		if !ok {
			select {
			case <-q.stop:
				return
			case <-q.wake:
			}
			continue
		}
		s.scanImage(j)
	}
}

// startScanLocked records a new scan of img in r and queues the work. The
// caller holds s.mu for writing. An image index, or an artifact that is not
// a container image, is UNSUPPORTED_IMAGE at once.
func (s *Server) startScanLocked(r *repository, img *image, enhanced bool, frequency string) *scanRecord {
	now := s.now()
	s.scanGen++
	rec := &scanRecord{gen: s.scanGen, enhanced: enhanced, frequency: frequency, startedAt: now, readyAt: now}
	r.scans[img.digest] = rec
	if !scannable(img) {
		rec.done, rec.status, rec.description, rec.completedAt = true, scanUnsupported, scanDescriptions[scanUnsupported], now
		return rec
	}
	delay := s.scanDelay
	h, ok := s.hooks[r.name]
	if !ok {
		h = s.hooks[""]
	}
	if h.Delay > 0 {
		delay = h.Delay
	}
	rec.readyAt = now.Add(delay)
	rec.forced = h.Status
	s.scans.push(scanJob{repo: r.name, digest: img.digest, gen: rec.gen})
	return rec
}

// scannable reports whether an image is a single-platform container image.
func scannable(img *image) bool {
	switch img.mediaType {
	case mediaDockerManifest, mediaOCIManifest:
	default:
		return false
	}
	switch img.artifact {
	case "application/vnd.docker.container.image.v1+json", "application/vnd.oci.image.config.v1+json":
		return true
	}
	return false
}

// scanOnPushLocked starts the scan a push calls for: when the repository's
// effective scanning configuration (effectiveScanLocked) scans on push,
// basic or enhanced (CONTINUOUS_SCAN scans on push too). An image scanned
// before is not scanned again. The caller holds s.mu for writing.
func (s *Server) scanOnPushLocked(r *repository, img *image) {
	if _, scanned := r.scans[img.digest]; scanned {
		return
	}
	eff := s.effectiveScanLocked(r)
	if !eff.scanned() {
		return
	}
	if s.scanType == scanTypeEnhanced {
		s.startScanLocked(r, img, true, eff.frequency)
		return
	}
	s.startScanLocked(r, img, false, "")
}

// scanImage does one scan's work outside the state lock: it reads the
// image's layers from the blob store, lists the installed OS packages and
// matches them against the vulnerability database.
func (s *Server) scanImage(j scanJob) {
	s.mu.RLock()
	var manifest []byte
	var forced string
	live := false
	if r, ok := s.repos[j.repo]; ok {
		if rec, ok := r.scans[j.digest]; ok && rec.gen == j.gen {
			if img, ok := r.byDigest[j.digest]; ok {
				manifest, forced, live = img.manifest, rec.forced, true
			}
		}
	}
	s.mu.RUnlock()
	if !live {
		return
	}
	var status, desc string
	var found []finding
	switch forced {
	case "", scanComplete, scanActive:
		var err error
		found, err = s.findings(manifest)
		if err != nil {
			status, desc = scanFailed, "The scan failed: "+err.Error()
		}
	default:
		status = forced
		desc = scanDescriptions[forced]
		if desc == "" {
			desc = fmt.Sprintf("The scan ended with status %s.", forced)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[j.repo]
	if !ok {
		return
	}
	rec, ok := r.scans[j.digest]
	if !ok || rec.gen != j.gen {
		return
	}
	if status == "" {
		status = scanComplete
		if rec.enhanced && rec.frequency == freqContinuous {
			status = scanActive
		}
		desc = scanDescriptions[status]
	}
	rec.done, rec.status, rec.description, rec.findings = true, status, desc, found
	rec.completedAt = s.now()
	if rec.completedAt.Before(rec.readyAt) {
		rec.completedAt = rec.readyAt
	}
}

// findings scans an image manifest's layers.
func (s *Server) findings(manifest []byte) ([]finding, error) {
	var doc manifestDoc
	if err := json.Unmarshal(manifest, &doc); err != nil {
		return nil, fmt.Errorf("the manifest does not parse: %w", err)
	}
	fs := fileSystem{}
	for _, l := range doc.Layers {
		if len(l.URLs) > 0 {
			continue // a foreign layer: not stored here, and not scanned
		}
		if err := s.readLayer(fs, l.Digest); err != nil {
			return nil, fmt.Errorf("layer %s could not be read: %w", l.Digest, err)
		}
	}
	var out []finding
	for _, p := range fs.packages() {
		for _, v := range s.vulnDB {
			if v.Package == p.name && v.affects(p.version) {
				out = append(out, finding{vuln: v, pkg: p})
			}
		}
	}
	slices.SortFunc(out, func(a, b finding) int {
		if c := severityRank(a.vuln.Severity) - severityRank(b.vuln.Severity); c != 0 {
			return c
		}
		if c := strings.Compare(a.vuln.ID, b.vuln.ID); c != 0 {
			return c
		}
		return strings.Compare(a.pkg.name, b.pkg.name)
	})
	return out, nil
}

func (s *Server) readLayer(fs fileSystem, digest string) error {
	if !digestPattern.MatchString(digest) {
		return fmt.Errorf("%q is not a sha256 digest", digest)
	}
	f, err := s.blobs.open(digest)
	if err != nil {
		return err
	}
	defer f.Close()
	return fs.applyLayer(f)
}

// severityCounts counts findings by severity, as findingSeverityCounts does.
func severityCounts(fs []finding, enhanced bool) map[string]int {
	out := map[string]int{}
	for _, f := range fs {
		out[findingSeverity(f.vuln.Severity, enhanced)]++
	}
	return out
}

// findingSeverity is the severity a finding reports: Inspector (ENHANCED)
// calls an UNDEFINED severity UNTRIAGED.
func findingSeverity(sev string, enhanced bool) string {
	if enhanced && sev == "UNDEFINED" {
		return "UNTRIAGED"
	}
	return sev
}

// inspectorScore is a CVSS-like score for a severity, standing in for the
// Amazon Inspector score.
func inspectorScore(sev string) float64 {
	switch sev {
	case "CRITICAL":
		return 9.8
	case "HIGH":
		return 7.5
	case "MEDIUM":
		return 5.3
	case "LOW":
		return 3.1
	}
	return 0
}

// findingARN is a stable, made-up Inspector finding ARN.
func (s *Server) findingARN(repo, digest string, f finding) string {
	sum := sha256.Sum256([]byte(repo + "\x00" + digest + "\x00" + f.vuln.ID + "\x00" + f.pkg.name + "\x00" + f.pkg.version))
	return fmt.Sprintf("arn:aws:inspector2:%s:%s:finding/%x", s.region, s.account, sum[:16])
}
