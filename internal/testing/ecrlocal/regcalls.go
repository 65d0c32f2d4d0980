package ecrlocal

import (
	"encoding/json"
	"maps"
	"net/http"
)

// Registry operation names, the keys of RegistryCalls.
const (
	regPing           = "ping"            // /v2/
	regBlobHead       = "blob.head"       // HEAD /v2/<name>/blobs/<digest>
	regBlobGet        = "blob.get"        // GET /v2/<name>/blobs/<digest>
	regUploadStart    = "upload.start"    // POST /v2/<name>/blobs/uploads/ that did not mount
	regUploadMount    = "upload.mount"    // POST .../uploads/?mount=&from= that mounted the blob
	regUploadPatch    = "upload.patch"    // PATCH /v2/<name>/blobs/uploads/<id>
	regUploadPut      = "upload.put"      // PUT /v2/<name>/blobs/uploads/<id>
	regUploadGet      = "upload.get"      // GET /v2/<name>/blobs/uploads/<id> (upload status)
	regUploadDelete   = "upload.delete"   // DELETE /v2/<name>/blobs/uploads/<id> (cancel)
	regManifestHead   = "manifest.head"   // HEAD /v2/<name>/manifests/<ref>
	regManifestGet    = "manifest.get"    // GET /v2/<name>/manifests/<ref>
	regManifestPut    = "manifest.put"    // PUT /v2/<name>/manifests/<ref>
	regManifestDelete = "manifest.delete" // DELETE /v2/<name>/manifests/<ref>
	regTagsList       = "tags.list"       // GET/HEAD /v2/<name>/tags/list
	regReferrers      = "referrers.get"   // GET/HEAD /v2/<name>/referrers/<digest>
	regOther          = "other"           // anything else under /v2/ (refused)
)

// routeKind is what a /v2/ path addresses.
type routeKind int

const (
	routeUnknown routeKind = iota
	routePing
	routeUpload
	routeBlob
	routeManifest
	routeTags
	routeReferrers
)

// registryRoute is a /v2/ path taken apart: the repository name and the
// upload ID, digest or manifest reference after it.
type registryRoute struct {
	kind routeKind
	name string
	ref  string
}

// routeRegistry matches a /v2/ path once, for both counting and serving.
func routeRegistry(p string) registryRoute {
	switch {
	case p == "/v2" || p == "/v2/":
		return registryRoute{kind: routePing}
	case uploadPath.MatchString(p):
		m := uploadPath.FindStringSubmatch(p)
		return registryRoute{routeUpload, m[1], m[2]}
	case blobPath.MatchString(p):
		m := blobPath.FindStringSubmatch(p)
		return registryRoute{routeBlob, m[1], m[2]}
	case manifestPath.MatchString(p):
		m := manifestPath.FindStringSubmatch(p)
		return registryRoute{routeManifest, m[1], m[2]}
	case tagsPath.MatchString(p):
		return registryRoute{kind: routeTags, name: tagsPath.FindStringSubmatch(p)[1]}
	case referrersPath.MatchString(p):
		m := referrersPath.FindStringSubmatch(p)
		return registryRoute{routeReferrers, m[1], m[2]}
	}
	return registryRoute{}
}

// operation names a registry request for RegistryCalls. A POST that starts
// an upload is "upload.start" until startUpload finds it mounted.
func (rt registryRoute) operation(method string) string {
	switch rt.kind {
	case routePing:
		return regPing // answered whatever the method
	case routeUpload:
		if rt.ref == "" {
			if method == http.MethodPost {
				return regUploadStart
			}
			break
		}
		switch method {
		case http.MethodPatch:
			return regUploadPatch
		case http.MethodPut:
			return regUploadPut
		case http.MethodGet:
			return regUploadGet
		case http.MethodDelete:
			return regUploadDelete
		}
	case routeBlob:
		switch method {
		case http.MethodHead:
			return regBlobHead
		case http.MethodGet:
			return regBlobGet
		}
	case routeManifest:
		switch method {
		case http.MethodHead:
			return regManifestHead
		case http.MethodGet:
			return regManifestGet
		case http.MethodPut:
			return regManifestPut
		case http.MethodDelete:
			return regManifestDelete
		}
	case routeTags:
		if method == http.MethodGet || method == http.MethodHead {
			return regTagsList
		}
	case routeReferrers:
		if method == http.MethodGet || method == http.MethodHead {
			return regReferrers
		}
	}
	return regOther
}

// countRegistry counts one registry request. It runs before the request is
// answered, so a client that has its answer sees the count.
func (s *Server) countRegistry(op string) {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	s.regCalls[op]++
}

// countMounted moves a counted upload start to upload.mount: the POST
// mounted the blob instead of starting an upload. It runs before answering.
func (s *Server) countMounted() {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	if s.regCalls[regUploadStart]--; s.regCalls[regUploadStart] <= 0 {
		delete(s.regCalls, regUploadStart)
	}
	s.regCalls[regUploadMount]++
}

// countUploaded adds bytes received in a blob upload body.
func (s *Server) countUploaded(n int64) {
	if n <= 0 {
		return
	}
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	s.uploadedBytes += n
}

// RegistryCalls returns how many registry API (/v2/) requests were made, by
// operation: "ping", "blob.head", "blob.get", "upload.start", "upload.mount"
// (a POST that mounted a blob from another repository), "upload.patch",
// "upload.put", "upload.get", "upload.delete", "manifest.head",
// "manifest.get", "manifest.put", "manifest.delete", "tags.list", and
// "other" for requests the registry refuses as unsupported. Every request is
// counted, answered with an error or not, including ones refused for missing
// credentials; operations never called are absent.
func (s *Server) RegistryCalls() map[string]int {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	out := make(map[string]int, len(s.regCalls))
	for k, v := range s.regCalls {
		out[k] = v
	}
	return out
}

// UploadedBytes returns how many bytes of blob content the registry received
// in upload requests (POST with a body, PATCH and PUT), counted as they were
// read, so an upload that failed verification counts too.
func (s *Server) UploadedBytes() int64 {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	return s.uploadedBytes
}

// RegistryCallsReport is the body of GET /_ecrlocal/registry-calls.
type RegistryCallsReport struct {
	Calls         map[string]int `json:"calls"`
	UploadedBytes int64          `json:"uploaded_bytes"`
	// FaultsStruck counts the injected registry faults that struck, by
	// operation (see InjectRegistry); absent when none did.
	FaultsStruck map[string]int `json:"faults_struck,omitempty"`
}

func (s *Server) serveRegistryCalls(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "use GET", http.StatusMethodNotAllowed)
		return
	}
	s.callsMu.Lock()
	rep := RegistryCallsReport{Calls: make(map[string]int, len(s.regCalls)), UploadedBytes: s.uploadedBytes}
	for k, v := range s.regCalls {
		rep.Calls[k] = v
	}
	if len(s.faultsStruck) > 0 {
		rep.FaultsStruck = maps.Clone(s.faultsStruck)
	}
	s.callsMu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(rep)
}
