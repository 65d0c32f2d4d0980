package image

import (
	"net/http"
	"strings"

	"github.com/org/ecr-action/internal/httpbound"
)

// maxRegistryBody bounds registry answers other than manifests and blobs
// (tag lists, tokens, errors).
const maxRegistryBody = 16 << 20

// NewTransport is the HTTP transport for registries: l's connect,
// response-header and stall timeouts, and response bodies bounded by what
// they are (RegistryBodyLimit). A stalled transfer fails with a
// *httpbound.StallError, a timeout that the retry rules (isTransient) retry
// like a reset connection, within the same attempts.
func NewTransport(l httpbound.Limits) http.RoundTripper {
	l.MaxBody = RegistryBodyLimit
	return httpbound.NewTransport(l)
}

// RegistryBodyLimit is the most bytes accepted in the answer to req: a
// manifest at most MaxManifestBytes (ECR's limit; go-containerregistry's own
// is 100 MiB), a blob unbounded here (go-containerregistry reads exactly its
// descriptor's size and checks its digest, and configs are bounded by their
// descriptors before they are fetched), anything else 16 MiB.
// A request that follows a redirect (ECR serves blobs from S3) is judged by
// the request that was redirected.
func RegistryBodyLimit(req *http.Request) int64 {
	for req.Response != nil && req.Response.Request != nil {
		req = req.Response.Request
	}
	p := req.URL.Path
	switch {
	case strings.Contains(p, "/manifests/"):
		return MaxManifestBytes
	case strings.Contains(p, "/blobs/") && !strings.Contains(p, "/blobs/uploads/"):
		return 0
	}
	return maxRegistryBody
}
