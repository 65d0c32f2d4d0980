package awsjson

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestServe(t *testing.T) {
	svc := Service{Prefix: "Svc_1.", Name: "svclocal", MaxBody: 64, ServerFault: "ServerException", ServerFaults: []string{"ServerException"}}
	var calls Calls
	known := func(op string) bool { return op == "Echo" || op == "Fail" }
	handle := func(op string, body []byte) (any, *Error) {
		if op == "Fail" {
			return nil, &Error{Code: "ServerException", Message: "boom"}
		}
		return map[string]string{"got": string(body)}, nil
	}
	do := func(target, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", target)
		rec := httptest.NewRecorder()
		svc.Serve(rec, req, &calls, known, handle)
		return rec
	}
	errType := func(rec *httptest.ResponseRecorder) string {
		var e map[string]string
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		if e["__type"] != rec.Header().Get("X-Amzn-ErrorType") {
			t.Errorf("__type %q and X-Amzn-ErrorType %q differ", e["__type"], rec.Header().Get("X-Amzn-ErrorType"))
		}
		return e["__type"]
	}

	if rec := do("Svc_1.Echo", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"got":"{}"`) {
		t.Errorf("Echo: %d %s", rec.Code, rec.Body)
	}
	for _, tc := range []struct {
		target, body, code string
		status             int
	}{
		{"Other_2.Echo", "{}", "UnknownOperationException", 400},
		{"Svc_1.Nope", "{}", "UnknownOperationException", 400},
		{"Svc_1.Echo", strings.Repeat("x", 65), "SerializationException", 400},
		{"Svc_1.Fail", "{}", "ServerException", 500},
	} {
		rec := do(tc.target, tc.body)
		if got := errType(rec); got != tc.code || rec.Code != tc.status {
			t.Errorf("%s: %s %d, want %s %d", tc.target, got, rec.Code, tc.code, tc.status)
		}
	}

	// Calls are counted once their body is read, failed or not: not the
	// unknown operation, not the oversized body.
	if c := calls.Counts(); c["Echo"] != 1 || c["Fail"] != 1 || len(c) != 2 {
		t.Errorf("counts = %v, want Echo 1 and Fail 1", c)
	}

	// Faults apply in order, to the next Count calls, then stop.
	calls.Reset()
	calls.Inject("Echo", Fault{Count: 2, Throttle: true})
	calls.Inject("Echo", Fault{Count: 1, Error: "ServerException"})
	calls.Inject("Echo", Fault{Count: 0, Error: "Ignored"})
	var got []string
	for range 4 {
		rec := do("Svc_1.Echo", "{}")
		got = append(got, errType(rec)+"/"+http.StatusText(rec.Code))
	}
	want := "ThrottlingException/Bad Request ThrottlingException/Bad Request ServerException/Internal Server Error /OK"
	if strings.Join(got, " ") != want {
		t.Errorf("faults: %s\nwant   %s", strings.Join(got, " "), want)
	}
	if n := calls.Counts()["Echo"]; n != 4 {
		t.Errorf("Echo counted %d times, want 4 (faulted calls count)", n)
	}
	if n := calls.Sum(func(op string) bool { return op != "Echo" }); n != 0 {
		t.Errorf("other calls = %d since Reset, want 0", n)
	}
}
