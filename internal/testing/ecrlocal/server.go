package ecrlocal

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/org/ecr-action/internal/testing/awsjson"
)

// Options configure a Server.
type Options struct {
	Account string // default "123456789012"
	Region  string // default "us-east-1"
	DataDir string // blob directory; "" = a new temporary directory removed by Close

	// VulnDB is what image scans match installed OS packages against (see
	// Vuln and LoadVulnDB); empty = every scan completes with no findings.
	VulnDB []Vuln
	// ScanDelay is how long a scan stays IN_PROGRESS (PENDING with enhanced
	// scanning) at least, counted from its start; default 0: as soon as the
	// work is done. A ScanHook can change it per repository.
	ScanDelay time.Duration
	// TokenTTL is how long a GetAuthorizationToken password is valid (its
	// expiresAt, and what the registry checks); default DefaultTokenTTL, ECR's
	// 12 hours. A short one makes a token expire in the middle of a push.
	TokenTTL time.Duration
	// RestoreDelay is how long an image restored from the archive stays
	// ACTIVATING (not pullable) before it is ACTIVE; default 0.
	RestoreDelay time.Duration
	// NoDigestPushScan: a manifest pushed by digest alone (no tag) is not
	// scanned on push, children of an index included; a push with a tag
	// is. ECR documents scan on push without saying whether a digest-only
	// push fires it; this is the stricter reading, for testing a client
	// that must not depend on it (cmd/ecrlocal -no-digest-push-scan).
	NoDigestPushScan bool
	// CreateDelay is how long a new repository stays invisible to every
	// other call, API and registry, after CreateRepository (ECR creates
	// repositories asynchronously; see consistency.go); default 0.
	CreateDelay time.Duration

	// SigningDelay is how long a pushed image's managed signing stays
	// IN_PROGRESS (signing.go); default 0. SigningFailure, when set, is the
	// failureCode of a FAILED status every signing ends in instead of
	// COMPLETE (e.g. "SIGNING_PROFILE_ACCESS_DENIED").
	SigningDelay   time.Duration
	SigningFailure string
	// Replication is how replication to each destination goes
	// (replication.go), keyed "ACCOUNT/REGION" or "REGION" (any registry);
	// a destination without an entry is COMPLETE at once.
	Replication map[string]ReplicationBehavior
}

// Defaults used when Options leave a field empty.
const (
	DefaultAccount = "123456789012"
	DefaultRegion  = "us-east-1"
	// DefaultTokenTTL is how long ECR's registry tokens are valid.
	DefaultTokenTTL = 12 * time.Hour
)

var (
	accountPattern = regexp.MustCompile(`^[0-9]{12}$`)
	regionPattern  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
)

// Fault is arranged with Inject for the next Count calls of one operation.
type Fault = awsjson.Fault

// Server is the local ECR. Its zero value is not usable: call New.
type Server struct {
	account string
	region  string
	blobs   *blobStore
	now     func() time.Time

	mu      sync.RWMutex
	repos   map[string]*repository
	pending map[string]pendingRepo // created, not yet visible; see consistency.go

	createDelay  time.Duration
	pendingCount atomic.Int64         // len(pending), read without the lock
	tokens       map[string]time.Time // registry password -> expiry
	issued       []string             // every registry password issued, for leak checks
	tokenTTL     time.Duration

	uploadsMu sync.Mutex
	uploads   map[string]*upload

	apiCalls awsjson.Calls // ECR JSON API calls by operation, and faults

	callsMu       sync.Mutex
	regCalls      map[string]int             // registry operation -> requests, see RegistryCalls
	uploadedBytes int64                      // blob bytes received in uploads
	regFaults     map[string][]RegistryFault // registry operation -> faults due
	faultsStruck  map[string]int             // registry operation -> faults applied

	vulnDB        []Vuln
	vulnUpdatedAt time.Time // when the database was given: vulnerabilitySourceUpdatedAt
	scanDelay     time.Duration
	scans         *scanQueue
	scanType      string              // registry scanning configuration; guarded by mu
	scanRules     []scanRule          // guarded by mu
	hooks         map[string]ScanHook // repository ("" = all) -> hook; guarded by mu
	scanGen       uint64              // last scanRecord.gen issued; guarded by mu
	kms           kmsKeyring          // customer managed KMS keys (kms.go)

	restoreDelay    time.Duration     // see Options.RestoreDelay
	noDigestScan    bool              // see Options.NoDigestPushScan
	accountSettings map[string]string // PutAccountSetting values; guarded by mu

	signing              *signingConfigJSON // nil = none; guarded by mu
	signingDelay         time.Duration
	signingFailure       string
	replication          replicationConfigJSON // guarded by mu
	replicationBehaviors map[string]ReplicationBehavior
}

// New returns a Server and starts its scan worker. Close stops the worker
// and releases its files.
func New(opts Options) (*Server, error) {
	if opts.Account == "" {
		opts.Account = DefaultAccount
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if !accountPattern.MatchString(opts.Account) {
		return nil, fmt.Errorf("account %q is not a 12-digit AWS account ID (keep leading zeros, e.g. 012345678901)", opts.Account)
	}
	if !regionPattern.MatchString(opts.Region) {
		return nil, fmt.Errorf("region %q does not look like an AWS region such as us-east-1", opts.Region)
	}
	if opts.RestoreDelay < 0 {
		return nil, fmt.Errorf("restore delay %v is negative", opts.RestoreDelay)
	}
	if opts.ScanDelay < 0 {
		return nil, fmt.Errorf("scan delay %v is negative", opts.ScanDelay)
	}
	if opts.SigningDelay < 0 {
		return nil, fmt.Errorf("signing delay %v is negative", opts.SigningDelay)
	}
	for dest, b := range opts.Replication {
		if b.Delay < 0 {
			return nil, fmt.Errorf("replication delay %v of %s is negative", b.Delay, dest)
		}
	}
	if err := validateCreateDelay(opts.CreateDelay); err != nil {
		return nil, err
	}
	if err := validateTokenTTL(opts.TokenTTL); err != nil {
		return nil, err
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	if err := validateVulnDB(opts.VulnDB); err != nil {
		return nil, fmt.Errorf("vulnerability database: %w", err)
	}
	bs, err := newBlobStore(opts.DataDir)
	if err != nil {
		return nil, err
	}
	s := &Server{
		account:  opts.Account,
		region:   opts.Region,
		blobs:    bs,
		now:      time.Now,
		repos:    map[string]*repository{},
		pending:  map[string]pendingRepo{},
		tokens:   map[string]time.Time{},
		uploads:  map[string]*upload{},
		regCalls: map[string]int{},
		tokenTTL: opts.TokenTTL,

		createDelay: opts.CreateDelay,

		regFaults:    map[string][]RegistryFault{},
		faultsStruck: map[string]int{},

		vulnDB:        slices.Clone(opts.VulnDB),
		vulnUpdatedAt: time.Now(),
		scanDelay:     opts.ScanDelay,
		scans:         newScanQueue(),
		scanType:      scanTypeBasic,
		hooks:         map[string]ScanHook{},

		restoreDelay:    opts.RestoreDelay,
		noDigestScan:    opts.NoDigestPushScan,
		accountSettings: map[string]string{},

		signingDelay:         opts.SigningDelay,
		signingFailure:       opts.SigningFailure,
		replication:          replicationConfigJSON{Rules: []replicationRuleJSON{}},
		replicationBehaviors: maps.Clone(opts.Replication),
	}
	go s.runScans()
	return s, nil
}

// Close stops the scanner (waiting for the scan it is running), removes
// open uploads and, when the blob directory was temporary, the directory
// itself.
func (s *Server) Close() error {
	s.scans.shutdown()
	s.uploadsMu.Lock()
	for id, u := range s.uploads {
		u.discard()
		delete(s.uploads, id)
	}
	s.uploadsMu.Unlock()
	return s.blobs.close()
}

// ServeHTTP routes the ECR JSON API (POST /), the registry API (/v2/),
// GET /_ecrlocal/calls (Calls as a JSON object) and
// GET /_ecrlocal/registry-calls (RegistryCalls and UploadedBytes as
// {"calls":{...},"uploaded_bytes":N}).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.promoteDue()
	switch {
	case r.URL.Path == "/v2" || strings.HasPrefix(r.URL.Path, "/v2/"):
		s.serveRegistry(w, r)
	case r.URL.Path == "/_ecrlocal/calls":
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			http.Error(w, "use GET", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Calls())
	case r.URL.Path == "/_ecrlocal/registry-calls":
		s.serveRegistryCalls(w, r)
	case r.URL.Path == "/" && r.Method == http.MethodPost:
		s.serveAPI(w, r)
	default:
		http.NotFound(w, r)
	}
}

// Calls returns how many times each ECR JSON API operation was called, by
// operation name. Calls answered with an injected fault count too.
func (s *Server) Calls() map[string]int { return s.apiCalls.Counts() }

// WriteCalls returns how many calls of operations that change state were made
// (every operation but Describe*, Get*, List*, BatchGet* and BatchCheck*).
func (s *Server) WriteCalls() int { return s.apiCalls.Sum(isWriteOperation) }

// ResetCalls forgets the counted calls, registry requests and uploaded
// bytes (not the injected faults).
func (s *Server) ResetCalls() {
	s.apiCalls.Reset()
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	clear(s.regCalls)
	s.uploadedBytes = 0
}

// Inject arranges a fault for the next f.Count calls of an ECR operation (e.g.
// "CreateRepository"). Faults for one operation apply in the order injected.
func (s *Server) Inject(operation string, f Fault) { s.apiCalls.Inject(operation, f) }

func isWriteOperation(op string) bool {
	for _, p := range []string{"Describe", "Get", "List", "BatchGet", "BatchCheck"} {
		if strings.HasPrefix(op, p) {
			return false
		}
	}
	return true
}
