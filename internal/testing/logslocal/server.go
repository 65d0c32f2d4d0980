package logslocal

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/org/ecr-action/internal/testing/awsjson"
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
type Fault = awsjson.Fault

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

	calls awsjson.Calls
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
	ops := operations()
	known := func(op string) bool { _, ok := ops[op]; return ok }
	apiService.Serve(w, r, &s.calls, known, func(op string, body []byte) (any, *awsjson.Error) {
		out, aerr := ops[op](s, body)
		if aerr != nil {
			return nil, aerr.wire()
		}
		return out, nil
	})
}

// apiService is the CloudWatch Logs API as awsjson serves it.
var apiService = awsjson.Service{Prefix: targetPrefix, Name: "logslocal", MaxBody: maxBody, ServerFault: "ServiceUnavailableException", ServerFaults: []string{"ServiceUnavailableException", "InternalServerException"}}

// decode reads the request JSON into v.
func decode(body []byte, v any) *apiError {
	if err := json.Unmarshal(body, v); err != nil {
		return &apiError{code: "SerializationException", msg: "the request body is not valid for this operation: " + err.Error()}
	}
	return nil
}

// Calls returns how many times each operation was called, by name. Calls
// answered with an injected fault or an error count too.
func (s *Server) Calls() map[string]int { return s.calls.Counts() }

// WriteCalls returns how many calls of operations that change state were
// made: every served operation but Describe* and Get*.
func (s *Server) WriteCalls() int {
	return s.calls.Sum(func(op string) bool {
		return !strings.HasPrefix(op, "Describe") && !strings.HasPrefix(op, "Get")
	})
}

// ResetCalls forgets the counted calls (not the injected faults).
func (s *Server) ResetCalls() { s.calls.Reset() }

// Inject arranges a fault for the next f.Count calls of an operation (e.g.
// "PutLogEvents"). Faults for one operation apply in the order injected.
func (s *Server) Inject(operation string, f Fault) { s.calls.Inject(operation, f) }

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
