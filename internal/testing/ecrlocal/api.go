package ecrlocal

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/org/ecr-action/internal/testing/awsjson"
)

// targetPrefix is the X-Amz-Target service prefix of the ECR API.
const targetPrefix = "AmazonEC2ContainerRegistry_V20150921."

// maxAPIBody bounds an API request body: PutImage's manifest (4 MiB) escaped
// as a JSON string, with room to spare.
const maxAPIBody = 16 << 20

// operation handles one ECR API call: body is the request JSON, host the
// Host the client used. It returns the response value to encode.
type operation func(s *Server, body []byte, host string) (any, *apiError)

// operations maps the served operation names to their handlers.
func operations() map[string]operation {
	return map[string]operation{
		"CreateRepository":              (*Server).createRepository,
		"DescribeRepositories":          (*Server).describeRepositories,
		"DeleteRepository":              (*Server).deleteRepository,
		"PutImageScanningConfiguration": (*Server).putImageScanningConfiguration,
		"PutImageTagMutability":         (*Server).putImageTagMutability,
		"GetLifecyclePolicy":            (*Server).getLifecyclePolicy,
		"PutLifecyclePolicy":            (*Server).putLifecyclePolicy,
		"DeleteLifecyclePolicy":         (*Server).deleteLifecyclePolicy,
		"GetRepositoryPolicy":           (*Server).getRepositoryPolicy,
		"SetRepositoryPolicy":           (*Server).setRepositoryPolicy,
		"DeleteRepositoryPolicy":        (*Server).deleteRepositoryPolicy,
		"ListTagsForResource":           (*Server).listTagsForResource,
		"TagResource":                   (*Server).tagResource,
		"UntagResource":                 (*Server).untagResource,
		"GetAuthorizationToken":         (*Server).getAuthorizationToken,
		"DescribeImages":                (*Server).describeImages,
		"ListImages":                    (*Server).listImages,
		"BatchGetImage":                 (*Server).batchGetImage,
		"BatchDeleteImage":              (*Server).batchDeleteImage,
		"PutImage":                      (*Server).putImageAPI,
		"BatchCheckLayerAvailability":   (*Server).batchCheckLayerAvailability,

		"DescribeImageScanFindings":        (*Server).describeImageScanFindings,
		"StartImageScan":                   (*Server).startImageScan,
		"GetRegistryScanningConfiguration": (*Server).getRegistryScanningConfiguration,
		"PutRegistryScanningConfiguration": (*Server).putRegistryScanningConfiguration,

		"GetAccountSetting":                       (*Server).getAccountSetting,
		"PutAccountSetting":                       (*Server).putAccountSetting,
		"ListImageReferrers":                      (*Server).listImageReferrers,
		"UpdateImageStorageClass":                 (*Server).updateImageStorageClass,
		"BatchGetRepositoryScanningConfiguration": (*Server).batchGetRepositoryScanningConfiguration,

		"PutSigningConfiguration":        (*Server).putSigningConfiguration,
		"GetSigningConfiguration":        (*Server).getSigningConfiguration,
		"DeleteSigningConfiguration":     (*Server).deleteSigningConfiguration,
		"DescribeImageSigningStatus":     (*Server).describeImageSigningStatus,
		"PutReplicationConfiguration":    (*Server).putReplicationConfiguration,
		"DescribeRegistry":               (*Server).describeRegistry,
		"DescribeImageReplicationStatus": (*Server).describeImageReplicationStatus,
	}
}

// apiService is the ECR JSON API as awsjson serves it.
var apiService = awsjson.Service{Prefix: targetPrefix, Name: "ecrlocal", MaxBody: maxAPIBody, ServerFault: "ServerException", ServerFaults: []string{"ServerException"}}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	ops := operations()
	known := func(op string) bool { _, ok := ops[op]; return ok }
	apiService.Serve(w, r, &s.apiCalls, known, func(op string, body []byte) (any, *awsjson.Error) {
		out, aerr := ops[op](s, body, r.Host)
		if aerr != nil {
			return nil, aerr.wire()
		}
		return out, nil
	})
}

// decode reads the request JSON into v.
func decode(body []byte, v any) *apiError {
	if err := json.Unmarshal(body, v); err != nil {
		return &apiError{code: "SerializationException", msg: "the request body is not valid for this operation: " + err.Error()}
	}
	return nil
}

// epoch is a timestamp encoded as awsJson1_1 does: seconds since the epoch as
// a JSON number.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	t := time.Time(e)
	return []byte(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)), nil
}

// checkRegistry refuses a registryId other than this server's account.
func (s *Server) checkRegistry(id *string) *apiError {
	if id == nil || *id == s.account {
		return nil
	}
	if !accountPattern.MatchString(*id) {
		return invalidParameter("registryId", fmt.Sprintf("must satisfy regular expression '[0-9]{12}', got %q", *id))
	}
	return &apiError{code: "InvalidParameterException", msg: fmt.Sprintf("registryId %s is not this registry: ecrlocal serves only account %s", *id, s.account)}
}

// repoRef is the repository part common to most requests.
type repoRef struct {
	RegistryID     *string `json:"registryId"`
	RepositoryName string  `json:"repositoryName"`
}

func (s *Server) checkRef(ref repoRef) *apiError {
	if aerr := s.checkRegistry(ref.RegistryID); aerr != nil {
		return aerr
	}
	if ref.RepositoryName == "" {
		return invalidParameter("repositoryName", "must not be empty")
	}
	return nil
}

// decodeRef decodes a request that names a repository (in embeds repoRef,
// which ref points to) and checks the reference.
func (s *Server) decodeRef(body []byte, in any, ref *repoRef) *apiError {
	if aerr := decode(body, in); aerr != nil {
		return aerr
	}
	return s.checkRef(*ref)
}

// inRepo runs fn on the named repository under the state lock: shared for
// reads, exclusive when write is set.
func (s *Server) inRepo(name string, write bool, fn func(*repository) (any, *apiError)) (any, *apiError) {
	if write {
		s.mu.Lock()
		defer s.mu.Unlock()
	} else {
		s.mu.RLock()
		defer s.mu.RUnlock()
	}
	r, aerr := s.repoLocked(name)
	if aerr != nil {
		return nil, aerr
	}
	return fn(r)
}

// encodeBase64 is the authorization token encoding.
func encodeBase64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
