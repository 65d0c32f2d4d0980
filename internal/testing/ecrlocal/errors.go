package ecrlocal

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/org/ecr-action/internal/testing/awsjson"
)

// apiError is an ECR exception: its name (the "__type" of the awsJson1_1
// error body) and message.
type apiError struct {
	code    string
	msg     string
	missing []string          // for LayersNotFound / ReferencedImagesNotFound: the digests
	fields  map[string]string // further members of the exception, e.g. kmsError
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

// invalidParameter words the message like ECR's own validation errors.
func invalidParameter(member, problem string) *apiError {
	return &apiError{code: "InvalidParameterException", msg: fmt.Sprintf("Invalid parameter at '%s' failed to satisfy constraint: '%s'", member, problem)}
}

// wire is the exception as awsjson writes it.
func (e *apiError) wire() *awsjson.Error {
	return &awsjson.Error{Code: e.code, Message: e.msg, Fields: e.fields}
}

// regError is a registry API error in the distribution spec's format.
type regError struct {
	status int
	code   string
	msg    string
	detail any
}

func writeRegError(w http.ResponseWriter, e regError) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	type item struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Detail  any    `json:"detail,omitempty"`
	}
	_ = json.NewEncoder(w).Encode(map[string][]item{"errors": {{Code: e.code, Message: e.msg, Detail: e.detail}}})
}

// registryErrorFor maps an ECR exception from a manifest push to the registry
// API error ECR answers on the data plane.
func registryErrorFor(e *apiError) regError {
	switch e.code {
	case "RepositoryNotFoundException":
		return regError{http.StatusNotFound, "NAME_UNKNOWN", e.msg, nil}
	case "LayersNotFoundException", "ReferencedImagesNotFoundException":
		var detail any
		if len(e.missing) > 0 {
			detail = map[string]string{"digest": e.missing[0]}
		}
		return regError{http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN", e.msg, detail}
	case "ImageTagAlreadyExistsException":
		return regError{http.StatusBadRequest, "TAG_INVALID", e.msg, nil}
	case "ImageDigestDoesNotMatchException":
		return regError{http.StatusBadRequest, "DIGEST_INVALID", e.msg, nil}
	case "ServerException":
		return regError{http.StatusInternalServerError, "UNKNOWN", e.msg, nil}
	default:
		return regError{http.StatusBadRequest, "MANIFEST_INVALID", e.msg, nil}
	}
}
