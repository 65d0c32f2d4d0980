package logslocal

import (
	"fmt"

	"github.com/org/ecr-action/internal/testing/awsjson"
)

// apiError is a CloudWatch Logs exception: its name (the "__type" of the
// awsJson1_1 error body) and message.
type apiError struct {
	code string
	msg  string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

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

// wire is the exception as awsjson writes it.
func (e *apiError) wire() *awsjson.Error {
	return &awsjson.Error{Code: e.code, Message: e.msg}
}
