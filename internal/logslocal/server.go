package logslocal

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure a Server.
type Options struct {
	Account string           // default "123456789012"
	Region  string           // default "us-east-1"
	Now     func() time.Time // the clock for creation and ingestion times and event age checks; default time.Now
}

// Defaults used when Options leave a field empty.
const (
	DefaultAccount = "123456789012"
	DefaultRegion  = "us-east-1"
)

// targetPrefix is the X-Amz-Target service prefix of the CloudWatch Logs API.
const targetPrefix = "Logs_20140328."

// maxBody bounds a request body: a PutLogEvents batch of 1 MiB whose
// messages are JSON-escaped, with room to spare.
const maxBody = 8 << 20

// Fault is arranged with Inject for the next Count calls of one operation.
type Fault struct {
	Count    int           // how many calls it applies to
	Throttle bool          // answer ThrottlingException (HTTP 400)
	Error    string        // else, answer this exception name, e.g. "AccessDeniedException", "ServiceUnavailableException"
	Delay    time.Duration // wait this long first (honouring the request context)
}

// Event is a stored log event.
type Event struct {
	Timestamp time.Time // the event's timestamp, millisecond precision
	Message   string
	Ingested  time.Time // when the server accepted it
}

// Server is the local CloudWatch Logs. Its zero value is not usable: call New.
type Server struct {
	account string
	region  string
	now     func() time.Time

	mu     sync.RWMutex
	groups map[string]*logGroup

	callsMu sync.Mutex
	calls   map[string]int
	faults  map[string][]Fault
}

// New returns an empty Server. Account and Region are used as given, only
// defaulted when empty: they appear in ARNs and nowhere else.
func New(opts Options) *Server {
	if opts.Account == "" {
		opts.Account = DefaultAccount
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Server{
		account: opts.Account,
		region:  opts.Region,
		now:     opts.Now,
		groups:  map[string]*logGroup{},
		calls:   map[string]int{},
		faults:  map[string][]Fault{},
	}
}

// operation handles one API call: body is the request JSON. It returns the
// response value to encode.
type operation func(s *Server, body []byte) (any, *apiError)

func operations() map[string]operation {
	return map[string]operation{
		"CreateLogGroup":        (*Server).createLogGroup,
		"DescribeLogGroups":     (*Server).describeLogGroups,
		"PutRetentionPolicy":    (*Server).putRetentionPolicy,
		"DeleteRetentionPolicy": (*Server).deleteRetentionPolicy,
		"CreateLogStream":       (*Server).createLogStream,
		"DescribeLogStreams":    (*Server).describeLogStreams,
		"PutLogEvents":          (*Server).putLogEvents,
		"GetLogEvents":          (*Server).getLogEvents,
	}
}

// ServeHTTP serves the API on POST /. Other paths answer 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, targetPrefix)
	if !ok {
		writeAPIError(w, &apiError{code: "UnknownOperationException", msg: fmt.Sprintf("X-Amz-Target %q does not name an operation of %s", target, strings.TrimSuffix(targetPrefix, "."))})
		return
	}
	handler, known := operations()[op]
	if !known {
		writeAPIError(w, &apiError{code: "UnknownOperationException", msg: fmt.Sprintf("operation %q is not implemented by logslocal", op)})
		return
	}
	// Read the body first: the server notices a client hanging up (and
	// cancels r.Context) only once the body is consumed.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		writeAPIError(w, &apiError{code: "SerializationException", msg: "reading the request body: " + err.Error()})
		return
	}
	if len(body) > maxBody {
		writeAPIError(w, &apiError{code: "SerializationException", msg: fmt.Sprintf("request body is larger than %d bytes", maxBody)})
		return
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	if f, due := s.record(op); due {
		if f.Delay > 0 {
			t := time.NewTimer(f.Delay)
			select {
			case <-r.Context().Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		switch {
		case f.Throttle:
			writeAPIError(w, &apiError{code: "ThrottlingException", msg: "Rate exceeded"})
			return
		case f.Error != "":
			writeAPIError(w, &apiError{code: f.Error, msg: fmt.Sprintf("injected fault for %s", op)})
			return
		}
	}
	out, aerr := handler(s, body)
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	buf, err := json.Marshal(out)
	if err != nil {
		writeAPIError(w, &apiError{code: "ServiceUnavailableException", msg: "encoding the response: " + err.Error()})
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(buf)))
	_, _ = w.Write(buf)
}

// decode reads the request JSON into v.
func decode(body []byte, v any) *apiError {
	if err := json.Unmarshal(body, v); err != nil {
		return &apiError{code: "SerializationException", msg: "the request body is not valid for this operation: " + err.Error()}
	}
	return nil
}

// Calls returns how many times each operation was called, by name. Calls
// answered with an injected fault or an error count too.
func (s *Server) Calls() map[string]int {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// WriteCalls returns how many calls of operations that change state were
// made: every served operation but Describe* and Get*.
func (s *Server) WriteCalls() int {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	n := 0
	for op, c := range s.calls {
		if !strings.HasPrefix(op, "Describe") && !strings.HasPrefix(op, "Get") {
			n += c
		}
	}
	return n
}

// ResetCalls forgets the counted calls (not the injected faults).
func (s *Server) ResetCalls() {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	clear(s.calls)
}

// Inject arranges a fault for the next f.Count calls of an operation (e.g.
// "PutLogEvents"). Faults for one operation apply in the order injected.
func (s *Server) Inject(operation string, f Fault) {
	if f.Count <= 0 {
		return
	}
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	s.faults[operation] = append(s.faults[operation], f)
}

// record counts a call and takes the fault due for it, if any.
func (s *Server) record(op string) (Fault, bool) {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	s.calls[op]++
	q := s.faults[op]
	if len(q) == 0 {
		return Fault{}, false
	}
	f := q[0]
	q[0].Count--
	if q[0].Count <= 0 {
		q = q[1:]
	}
	if len(q) == 0 {
		delete(s.faults, op)
	} else {
		s.faults[op] = q
	}
	return f, true
}

// Events returns a copy of the events a stream holds, in timestamp order
// (events with equal timestamps in the order they arrived), or nil when the
// group or stream does not exist.
func (s *Server) Events(group, stream string) []Event {
	s.mu.RLock()
	defer s.mu.RUnlock()
	g := s.groups[group]
	if g == nil {
		return nil
	}
	st := g.streams[stream]
	if st == nil {
		return nil
	}
	out := make([]Event, len(st.events))
	for i, e := range st.events {
		out[i] = Event{Timestamp: time.UnixMilli(e.timestamp), Message: e.message, Ingested: time.UnixMilli(e.ingested)}
	}
	return out
}

// Route serves the CloudWatch Logs API requests (POST with an X-Amz-Target
// of Logs_20140328.*) and hands every other request to next, so one address
// can answer both ecrlocal's APIs and CloudWatch Logs.
func (s *Server) Route(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("X-Amz-Target"), targetPrefix) {
			s.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
