package ecrlocal

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RegistryBlobUpload is the registry operation InjectRegistry faults: the
// requests that carry blob bytes (PATCH and PUT on an upload, and a
// monolithic POST ?digest=).
const RegistryBlobUpload = "blob-upload"

// RegistryFaultKind is how an injected registry fault strikes.
type RegistryFaultKind string

// The registry fault kinds. Each reads part of the request body first (half
// of its Content-Length, or 32 KiB when the length is unknown), so the fault
// lands in the middle of the upload, then drops the upload session: its
// partial bytes never become a blob, and the client has to start again.
const (
	// FaultReset closes the TCP connection with a reset (RST) instead of
	// answering, as a load balancer or a broken network path does.
	FaultReset RegistryFaultKind = "reset"
	// Fault500 answers HTTP 500 with the registry error UNKNOWN.
	Fault500 RegistryFaultKind = "500"
	// Fault503 answers HTTP 503 with the registry error UNAVAILABLE.
	Fault503 RegistryFaultKind = "503"
)

// RegistryFault is arranged with InjectRegistry for the next Count requests
// of a registry operation.
type RegistryFault struct {
	Count int
	Kind  RegistryFaultKind
}

// faultReadLimit is how much of a body of unknown length a fault reads.
const faultReadLimit = 32 << 10

// InjectRegistry arranges a fault for the next f.Count requests of a
// registry operation; only RegistryBlobUpload is supported. Faults for one
// operation apply in the order injected.
func (s *Server) InjectRegistry(operation string, f RegistryFault) error {
	if operation != RegistryBlobUpload {
		return fmt.Errorf("registry operation %q cannot be faulted: only %s", operation, RegistryBlobUpload)
	}
	switch f.Kind {
	case FaultReset, Fault500, Fault503:
	default:
		return fmt.Errorf("registry fault kind %q is not one of %s, %s, %s", f.Kind, FaultReset, Fault500, Fault503)
	}
	if f.Count <= 0 {
		return fmt.Errorf("registry fault count %d must be at least 1", f.Count)
	}
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	s.regFaults[operation] = append(s.regFaults[operation], f)
	return nil
}

// RegistryFaultsStruck returns how many injected registry faults struck, by
// operation.
func (s *Server) RegistryFaultsStruck() map[string]int {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	out := make(map[string]int, len(s.faultsStruck))
	for k, v := range s.faultsStruck {
		out[k] = v
	}
	return out
}

// takeRegistryFault takes the fault due for one request of op, if any.
func (s *Server) takeRegistryFault(op string) (RegistryFault, bool) {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	q := s.regFaults[op]
	if len(q) == 0 {
		return RegistryFault{}, false
	}
	f := q[0]
	if q[0].Count--; q[0].Count <= 0 {
		q = q[1:]
	}
	if len(q) == 0 {
		delete(s.regFaults, op)
	} else {
		s.regFaults[op] = q
	}
	s.faultsStruck[op]++
	return f, true
}

// strikeUpload applies f to an upload request: it reads part of the body
// into the upload, drops the upload (the caller holds u.mu) and then resets
// the connection or answers the error.
func (s *Server) strikeUpload(w http.ResponseWriter, r *http.Request, u *upload, f RegistryFault) {
	limit := int64(faultReadLimit)
	if r.ContentLength > 0 {
		limit = r.ContentLength / 2
	}
	n, _ := s.blobs.write(u, io.LimitReader(r.Body, limit))
	s.countUploaded(n)
	s.uploadsMu.Lock()
	delete(s.uploads, u.id)
	s.uploadsMu.Unlock()
	u.discard()
	msg := fmt.Sprintf("injected fault after %d bytes of upload %s: the upload is lost, start a new one", n, u.id)
	if f.Kind != FaultReset {
		// Read (and drop) the rest of the body before answering: a server
		// that answers while the client is still sending and then closes
		// makes the client's write fail with a reset instead of reading the
		// 500/503, which is the reset fault, not this one.
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxFaultDrain))
	}
	switch f.Kind {
	case FaultReset:
		resetConnection(w)
	case Fault500:
		w.Header().Set("Connection", "close")
		writeRegError(w, regError{http.StatusInternalServerError, "UNKNOWN", msg, nil})
	default:
		w.Header().Set("Connection", "close")
		writeRegError(w, regError{http.StatusServiceUnavailable, "UNAVAILABLE", msg, nil})
	}
}

// maxFaultDrain bounds what a 500/503 fault reads and drops after striking.
const maxFaultDrain = 1 << 30

// resetConnection closes the client's TCP connection with a reset. Without
// a hijackable connection (HTTP/2) it aborts the handler, which closes the
// stream without an answer.
func resetConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // close sends RST, not FIN
	}
	_ = conn.Close()
}

// FaultSpec is a fault as the command line names it, parsed by
// ParseFaultSpec: an ECR API fault (API) or a registry fault (Registry),
// for Operation.
type FaultSpec struct {
	Operation string
	API       Fault         // when Operation is an ECR API operation
	Registry  RegistryFault // when Operation is RegistryBlobUpload
}

// maxFaultCount bounds the count of a fault spec.
const maxFaultCount = 1_000_000

var exceptionPattern = regexp.MustCompile(`^[A-Z][A-Za-z]*Exception$`)

// ParseFaultSpec reads OPERATION=KIND:COUNT: an ECR API operation with the
// kind throttle (ThrottlingException) or an exception name such as
// ServerException, or blob-upload with reset, 500 or 503. COUNT is how many
// calls it strikes, 1 to 1000000.
func ParseFaultSpec(spec string) (FaultSpec, error) {
	const want = "want OPERATION=KIND:COUNT, e.g. GetAuthorizationToken=throttle:3, PutImage=ServerException:1 or blob-upload=reset:2"
	op, rest, ok := strings.Cut(spec, "=")
	if !ok || op == "" {
		return FaultSpec{}, fmt.Errorf("fault %q: %s", spec, want)
	}
	kind, count, ok := strings.Cut(rest, ":")
	if !ok || kind == "" {
		return FaultSpec{}, fmt.Errorf("fault %q: no KIND:COUNT after %q; %s", spec, op+"=", want)
	}
	n, err := strconv.Atoi(count)
	if err != nil || n < 1 || n > maxFaultCount {
		return FaultSpec{}, fmt.Errorf("fault %q: count %q must be a whole number from 1 to %d", spec, count, maxFaultCount)
	}
	if op == RegistryBlobUpload {
		k := RegistryFaultKind(kind)
		switch k {
		case FaultReset, Fault500, Fault503:
		default:
			return FaultSpec{}, fmt.Errorf("fault %q: %s takes reset, 500 or 503, not %q", spec, RegistryBlobUpload, kind)
		}
		return FaultSpec{Operation: op, Registry: RegistryFault{Count: n, Kind: k}}, nil
	}
	if _, known := operations()[op]; !known {
		names := make([]string, 0, len(operations()))
		for name := range operations() {
			names = append(names, name)
		}
		slices.Sort(names)
		return FaultSpec{}, fmt.Errorf("fault %q: %q is neither %s nor an ECR operation ecrlocal serves (%s)", spec, op, RegistryBlobUpload, strings.Join(names, ", "))
	}
	f := Fault{Count: n}
	switch {
	case kind == "throttle":
		f.Throttle = true
	case exceptionPattern.MatchString(kind):
		f.Error = kind
	default:
		return FaultSpec{}, fmt.Errorf("fault %q: kind %q is neither throttle nor an exception name such as ServerException", spec, kind)
	}
	return FaultSpec{Operation: op, API: f}, nil
}

// Apply arranges the fault the spec describes.
func (s *Server) Apply(spec FaultSpec) error {
	if spec.Operation == RegistryBlobUpload {
		return s.InjectRegistry(spec.Operation, spec.Registry)
	}
	if _, known := operations()[spec.Operation]; !known {
		return fmt.Errorf("fault for %q: not an ECR operation ecrlocal serves", spec.Operation)
	}
	if spec.API.Count <= 0 || (!spec.API.Throttle && spec.API.Error == "") {
		return errors.New("fault for " + spec.Operation + ": no count or no kind")
	}
	s.Inject(spec.Operation, spec.API)
	return nil
}

// validateTokenTTL checks Options.TokenTTL.
func validateTokenTTL(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("token TTL %v is negative", d)
	}
	return nil
}
