package logslocal

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzServeHTTP sends arbitrary bodies to every operation: the server must
// answer 200 or an awsJson1_1 client error, never panic or answer 500.
func FuzzServeHTTP(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"logGroupName":"g"}`,
		`{"logGroupName":"g","logStreamName":"s"}`,
		`{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":1,"message":"m"}]}`,
		`{"logGroupName":"g","retentionInDays":30}`,
		`{"logGroupNamePrefix":"g","limit":1,"nextToken":"YWZ0ZXI6Zw"}`,
		`{"logGroupIdentifier":"arn:aws:logs:us-east-1:123456789012:log-group:g","orderBy":"LastEventTime","descending":true}`,
		`{"logGroupName":"g","logStreamName":"s","nextToken":"b/99","startFromHead":true}`,
		`[`,
	} {
		f.Add(seed)
	}
	ops := []string{"CreateLogGroup", "CreateLogStream", "PutRetentionPolicy", "PutLogEvents", "DescribeLogGroups", "DescribeLogStreams", "GetLogEvents", "DeleteRetentionPolicy"}
	f.Fuzz(func(t *testing.T, body string) {
		s := New(Options{})
		for _, op := range ops {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
			req.Header.Set("X-Amz-Target", targetPrefix+op)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
				t.Fatalf("%s %q: status %d: %s", op, body, rec.Code, rec.Body)
			}
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s %q: response is not JSON: %q", op, body, rec.Body)
			}
		}
	})
}
