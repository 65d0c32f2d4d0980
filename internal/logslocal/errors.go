package logslocal

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// contentType is the awsJson1_1 media type of requests and responses.
const contentType = "application/x-amz-json-1.1"

// apiError is a CloudWatch Logs exception: its name (the "__type" of the
// awsJson1_1 error body) and message.
type apiError struct {
	code string
	msg  string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

// status is the HTTP status the service answers the exception with: 500 for
// the server faults, 400 for every client fault (ThrottlingException
// included).
func (e *apiError) status() int {
	switch e.code {
	case "ServiceUnavailableException", "InternalServerException":
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// invalidParameter words the message like the service's request validation.
func invalidParameter(member, value, constraint string) *apiError {
	return &apiError{code: "InvalidParameterException", msg: fmt.Sprintf("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, member, constraint)}
}

// missingParameter is the service's answer to a required member left out.
func missingParameter(member string) *apiError {
	return &apiError{code: "InvalidParameterException", msg: fmt.Sprintf("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", member)}
}

func groupNotFound() *apiError {
	return &apiError{code: "ResourceNotFoundException", msg: "The specified log group does not exist."}
}

func streamNotFound() *apiError {
	return &apiError{code: "ResourceNotFoundException", msg: "The specified log stream does not exist."}
}

// writeAPIError writes an awsJson1_1 error that the SDK decodes into its
// typed exception: the name in both the X-Amzn-ErrorType header and the
// "__type" member.
func writeAPIError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-ErrorType", e.code)
	w.WriteHeader(e.status())
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.code, "message": e.msg})
}
