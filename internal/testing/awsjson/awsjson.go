// Package awsjson is what the local AWS stand-ins (ecrlocal, logslocal)
// share: serving the awsJson1_1 protocol (an X-Amz-Target naming the
// operation, a JSON body, exceptions the SDK decodes into its typed errors),
// counting calls by operation and injecting faults for tests.
package awsjson

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ContentType is the media type of awsJson1_1 requests and responses.
const ContentType = "application/x-amz-json-1.1"

// Error is an exception on the wire: its name (the "__type" member and the
// X-Amzn-ErrorType header) and message. Status 0 means 400, the status of
// every client fault, ThrottlingException included; Service.Serve gives it
// the service's status for the code instead.
type Error struct {
	Code    string
	Message string
	Status  int
	// Fields are further members of the exception's shape, such as
	// KmsException's kmsError.
	Fields map[string]string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// WriteError writes e so that the SDK decodes it into its typed exception.
func WriteError(w http.ResponseWriter, e *Error) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	w.WriteHeader(status)
	body := map[string]string{}
	for k, v := range e.Fields {
		body[k] = v
	}
	body["__type"], body["message"] = e.Code, e.Message
	_ = json.NewEncoder(w).Encode(body)
}

// Fault is arranged with Calls.Inject for the next Count calls of one
// operation.
type Fault struct {
	Count    int           // how many calls it applies to
	Throttle bool          // answer ThrottlingException (HTTP 400)
	Error    string        // else, answer this exception name, e.g. "AccessDeniedException"
	Delay    time.Duration // wait this long first (honouring the request context)
}

// Calls counts calls by operation and hands out injected faults. It is safe
// for concurrent use; the zero value is ready.
type Calls struct {
	mu     sync.Mutex
	calls  map[string]int
	faults map[string][]Fault
}

// Inject arranges a fault for the next f.Count calls of operation. Faults
// for one operation apply in the order injected.
func (c *Calls) Inject(operation string, f Fault) {
	if f.Count <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.faults == nil {
		c.faults = map[string][]Fault{}
	}
	c.faults[operation] = append(c.faults[operation], f)
}

// Counts returns a copy of the calls counted by operation.
func (c *Calls) Counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := maps.Clone(c.calls)
	if out == nil {
		out = map[string]int{}
	}
	return out
}

// Sum adds up the calls of the operations for which include is true.
func (c *Calls) Sum(include func(operation string) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for op, k := range c.calls {
		if include(op) {
			n += k
		}
	}
	return n
}

// Reset forgets the counted calls, not the injected faults.
func (c *Calls) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.calls)
}

// record counts a call and takes the fault due for it, if any.
func (c *Calls) record(op string) (Fault, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[op]++
	q := c.faults[op]
	if len(q) == 0 {
		return Fault{}, false
	}
	f := q[0]
	q[0].Count--
	if q[0].Count <= 0 {
		q = q[1:]
	}
	if len(q) == 0 {
		delete(c.faults, op)
	} else {
		c.faults[op] = q
	}
	return f, true
}

// Service describes one awsJson1_1 API.
type Service struct {
	Prefix      string // the X-Amz-Target prefix, e.g. "Logs_20140328."
	Name        string // the stand-in's name, for "not implemented" messages
	MaxBody     int64  // the largest request body accepted
	ServerFault string // the exception for a response that cannot be encoded
	// ServerFaults are the exceptions answered with HTTP 500 (server
	// faults); every other exception is a 400.
	ServerFaults []string
}

// status is the HTTP status of the exception code.
func (s Service) status(code string) int {
	if slices.Contains(s.ServerFaults, code) {
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// Handler answers one call of a known operation with the response value to
// encode, or an exception.
type Handler func(op string, body []byte) (any, *Error)

// Serve answers one request: it checks the target against the service and
// known, reads the body, counts the call in calls, applies a fault due, then
// lets handle answer and encodes the result.
func (s Service) Serve(w http.ResponseWriter, r *http.Request, calls *Calls, known func(op string) bool, handle Handler) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, s.Prefix)
	if !ok {
		WriteError(w, &Error{Code: "UnknownOperationException", Message: fmt.Sprintf("X-Amz-Target %q does not name an operation of %s", target, strings.TrimSuffix(s.Prefix, "."))})
		return
	}
	if !known(op) {
		WriteError(w, &Error{Code: "UnknownOperationException", Message: fmt.Sprintf("operation %q is not implemented by %s", op, s.Name)})
		return
	}
	// Read the body first: the server notices a client hanging up (and
	// cancels r.Context) only once the body is consumed.
	body, err := io.ReadAll(io.LimitReader(r.Body, s.MaxBody+1))
	if err != nil {
		WriteError(w, &Error{Code: "SerializationException", Message: "reading the request body: " + err.Error()})
		return
	}
	if int64(len(body)) > s.MaxBody {
		WriteError(w, &Error{Code: "SerializationException", Message: fmt.Sprintf("request body is larger than %d bytes", s.MaxBody)})
		return
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	if f, due := calls.record(op); due {
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
			WriteError(w, &Error{Code: "ThrottlingException", Message: "Rate exceeded"})
			return
		case f.Error != "":
			WriteError(w, &Error{Code: f.Error, Message: fmt.Sprintf("injected fault for %s", op), Status: s.status(f.Error)})
			return
		}
	}
	out, aerr := handle(op, body)
	if aerr != nil {
		if aerr.Status == 0 {
			aerr.Status = s.status(aerr.Code)
		}
		WriteError(w, aerr)
		return
	}
	buf, err := json.Marshal(out)
	if err != nil {
		WriteError(w, &Error{Code: s.ServerFault, Message: "encoding the response: " + err.Error(), Status: http.StatusInternalServerError})
		return
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(buf)))
	_, _ = w.Write(buf)
}
