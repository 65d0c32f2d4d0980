package ecrlocal

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var (
	uploadPath   = regexp.MustCompile(`^/v2/(.+)/blobs/uploads/([^/]*)$`)
	blobPath     = regexp.MustCompile(`^/v2/(.+)/blobs/([^/]+)$`)
	manifestPath = regexp.MustCompile(`^/v2/(.+)/manifests/([^/]+)$`)
	tagsPath     = regexp.MustCompile(`^/v2/(.+)/tags/list$`)
)

// serveRegistry serves the registry HTTP API v2 (distribution spec) with
// ECR's Basic authentication: user AWS and a password from
// GetAuthorizationToken.
func (s *Server) serveRegistry(w http.ResponseWriter, r *http.Request) {
	rt := routeRegistry(r.URL.Path)
	s.countRegistry(rt.operation(r.Method))
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	if e, ok := s.authorize(r); !ok {
		if e.status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Basic realm="http://%s/",service="ecr.amazonaws.com"`, r.Host))
		}
		writeRegError(w, e)
		return
	}
	switch rt.kind {
	case routePing:
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "{}")
	case routeUpload:
		s.serveUpload(w, r, rt.name, rt.ref)
	case routeBlob:
		s.serveBlob(w, r, rt.name, rt.ref)
	case routeManifest:
		s.serveManifest(w, r, rt.name, rt.ref)
	case routeTags:
		s.serveTags(w, r, rt.name)
	case routeReferrers:
		s.serveReferrers(w, r, rt.name, rt.ref)
	default:
		writeRegError(w, regError{http.StatusNotFound, "UNSUPPORTED", fmt.Sprintf("%s %s is not part of the registry API ecrlocal serves", r.Method, r.URL.Path), nil})
	}
}

// authorize checks the Basic credentials: user AWS, a password that
// GetAuthorizationToken issued and that has not expired.
func (s *Server) authorize(r *http.Request) (regError, bool) {
	user, password, ok := r.BasicAuth()
	if !ok {
		return regError{http.StatusUnauthorized, "UNAUTHORIZED", "Not Authorized: send Basic credentials (user AWS, password from GetAuthorizationToken)", nil}, false
	}
	s.mu.RLock()
	expires, known := s.tokens[password]
	s.mu.RUnlock()
	if subtle.ConstantTimeCompare([]byte(user), []byte("AWS")) != 1 || !known {
		return regError{http.StatusUnauthorized, "UNAUTHORIZED", "Not Authorized: the user must be AWS and the password a token from GetAuthorizationToken", nil}, false
	}
	if !expires.After(s.now()) {
		return regError{http.StatusForbidden, "DENIED", "Your authorization token has expired. Reauthenticate and try again.", nil}, false
	}
	return regError{}, true
}

// RegistryPasswords returns every registry password GetAuthorizationToken
// issued, expired ones included, so a test can check none reached a log.
func (s *Server) RegistryPasswords() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.issued)
}

func (s *Server) nameUnknown(name string) regError {
	return regError{http.StatusNotFound, "NAME_UNKNOWN", fmt.Sprintf("The repository with name '%s' does not exist in the registry with id '%s'", name, s.account), map[string]string{"name": name}}
}

// repoExists reports whether a repository exists; the registry API never
// creates repositories (ECR does not create them on push).
func (s *Server) repoExists(name string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.repos[name]
	return ok
}

// addBlob records that repository name holds a blob.
func (s *Server) addBlob(name, digest string, size int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[name]
	if ok {
		r.blobs[digest] = size
	}
	return ok
}

func (s *Server) serveBlob(w http.ResponseWriter, r *http.Request, name, digest string) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	default:
		w.Header().Set("Allow", "GET, HEAD")
		writeRegError(w, regError{http.StatusMethodNotAllowed, "UNSUPPORTED", "ECR does not delete blobs through the registry API; images go with BatchDeleteImage and their layers with them", nil})
		return
	}
	if !digestPattern.MatchString(digest) {
		writeRegError(w, regError{http.StatusBadRequest, "DIGEST_INVALID", fmt.Sprintf("%q is not a sha256 digest", digest), nil})
		return
	}
	s.mu.RLock()
	repo, ok := s.repos[name]
	var held bool
	if ok {
		_, held = repo.blobs[digest]
	}
	s.mu.RUnlock()
	if !ok {
		writeRegError(w, s.nameUnknown(name))
		return
	}
	if !held {
		writeRegError(w, regError{http.StatusNotFound, "BLOB_UNKNOWN", fmt.Sprintf("blob %s is not in repository %s", digest, name), map[string]string{"digest": digest}})
		return
	}
	f, err := s.blobs.open(digest)
	if err != nil {
		writeRegError(w, regError{http.StatusNotFound, "BLOB_UNKNOWN", fmt.Sprintf("blob %s is missing from the blob directory: %v", digest, err), map[string]string{"digest": digest}})
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		writeRegError(w, regError{http.StatusInternalServerError, "UNKNOWN", fmt.Sprintf("reading blob %s: %v", digest, err), nil})
		return
	}
	w.Header().Set("Docker-Content-Digest", digest)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("ETag", `"`+digest+`"`)
	http.ServeContent(w, r, "", st.ModTime(), f)
}

func (s *Server) uploadLocation(name, id string) string {
	return "/v2/" + name + "/blobs/uploads/" + id
}

func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request, name, id string) {
	if !s.repoExists(name) {
		writeRegError(w, s.nameUnknown(name))
		return
	}
	if id == "" {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			writeRegError(w, regError{http.StatusMethodNotAllowed, "UNSUPPORTED", "start an upload with POST", nil})
			return
		}
		s.startUpload(w, r, name)
		return
	}
	s.uploadsMu.Lock()
	u, ok := s.uploads[id]
	s.uploadsMu.Unlock()
	if !ok || u.repo != name {
		writeRegError(w, regError{http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN", fmt.Sprintf("upload %s is not in progress for repository %s", id, name), nil})
		return
	}
	switch r.Method {
	case http.MethodGet:
		u.mu.Lock()
		off := u.offset
		u.mu.Unlock()
		s.uploadStatus(w, name, u.id, off, http.StatusNoContent)
	case http.MethodPatch:
		s.patchUpload(w, r, u)
	case http.MethodPut:
		s.finishUpload(w, r, u)
	case http.MethodDelete:
		s.dropUpload(u)
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, PATCH, PUT, DELETE")
		writeRegError(w, regError{http.StatusMethodNotAllowed, "UNSUPPORTED", r.Method + " is not an upload method", nil})
	}
}

func (s *Server) uploadStatus(w http.ResponseWriter, name, id string, offset int64, status int) {
	w.Header().Set("Location", s.uploadLocation(name, id))
	w.Header().Set("Docker-Upload-UUID", id)
	end := offset - 1
	if end < 0 {
		end = 0
	}
	w.Header().Set("Range", fmt.Sprintf("0-%d", end))
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(status)
}

// startUpload handles POST: a cross-repository mount, a monolithic upload
// (?digest= with the body), or the start of a chunked upload.
func (s *Server) startUpload(w http.ResponseWriter, r *http.Request, name string) {
	q := r.URL.Query()
	if mount, from := q.Get("mount"), q.Get("from"); mount != "" && from != "" && digestPattern.MatchString(mount) {
		s.mu.Lock()
		src, okSrc := s.repos[from]
		dst, okDst := s.repos[name]
		mounted := okSrc && okDst && s.mountableLocked(src, dst, mount)
		if mounted {
			dst.blobs[mount] = src.blobs[mount]
		}
		s.mu.Unlock()
		if mounted {
			s.countMounted()
			s.blobCreated(w, name, mount)
			return
		}
		// Not mountable (BLOB_MOUNTING disabled, different encryption, or
		// no manifest in the source references the blob): fall through to
		// a normal upload session (202), as ECR and the spec do.
	}
	u, err := s.blobs.newUpload(name)
	if err != nil {
		writeRegError(w, regError{http.StatusInternalServerError, "UNKNOWN", err.Error(), nil})
		return
	}
	if digest := q.Get("digest"); digest != "" {
		u.mu.Lock()
		defer u.mu.Unlock()
		s.commitUpload(w, r, u, digest)
		return
	}
	s.uploadsMu.Lock()
	s.uploads[u.id] = u
	s.uploadsMu.Unlock()
	s.uploadStatus(w, name, u.id, 0, http.StatusAccepted)
}

func (s *Server) dropUpload(u *upload) {
	s.uploadsMu.Lock()
	delete(s.uploads, u.id)
	s.uploadsMu.Unlock()
	u.mu.Lock()
	u.discard()
	u.mu.Unlock()
}

func (s *Server) patchUpload(w http.ResponseWriter, r *http.Request, u *upload) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !s.rangeContinues(w, r, u) {
		return
	}
	if f, due := s.takeRegistryFault(RegistryBlobUpload); due {
		s.strikeUpload(w, r, u, f)
		return
	}
	n, err := s.blobs.write(u, r.Body)
	s.countUploaded(n)
	if err != nil {
		writeRegError(w, regError{http.StatusBadRequest, "BLOB_UPLOAD_INVALID", "writing the chunk: " + err.Error(), nil})
		return
	}
	s.uploadStatus(w, u.repo, u.id, u.offset, http.StatusAccepted)
}

// rangeContinues checks a chunk's Content-Range against the upload's offset.
// A chunk that does not continue the upload answers 416 with the upload's
// Range and Location, and leaves the upload open (distribution spec: "If a
// chunk is uploaded out of order, a 416 Requested Range Not Satisfiable
// response MUST be returned"). The caller holds u.mu.
func (s *Server) rangeContinues(w http.ResponseWriter, r *http.Request, u *upload) bool {
	cr := r.Header.Get("Content-Range")
	if cr == "" {
		return true
	}
	if start, ok := parseRangeStart(cr); ok && start == u.offset {
		return true
	}
	w.Header().Set("Location", s.uploadLocation(u.repo, u.id))
	w.Header().Set("Docker-Upload-UUID", u.id)
	w.Header().Set("Range", fmt.Sprintf("0-%d", max(u.offset-1, 0)))
	writeRegError(w, regError{http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID", fmt.Sprintf("Content-Range %q does not continue the upload at offset %d", cr, u.offset), nil})
	return false
}

// parseRangeStart reads the first offset of "start-end" (optionally
// "bytes=start-end").
func parseRangeStart(v string) (int64, bool) {
	v = strings.TrimPrefix(v, "bytes=")
	a, _, ok := strings.Cut(v, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(a, 10, 64)
	return n, err == nil
}

func (s *Server) finishUpload(w http.ResponseWriter, r *http.Request, u *upload) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !s.rangeContinues(w, r, u) {
		return
	}
	s.uploadsMu.Lock()
	delete(s.uploads, u.id)
	s.uploadsMu.Unlock()
	s.commitUpload(w, r, u, r.URL.Query().Get("digest"))
}

// commitUpload writes the last bytes, verifies the digest and stores the
// blob. The caller holds u.mu and has removed u from s.uploads.
func (s *Server) commitUpload(w http.ResponseWriter, r *http.Request, u *upload, digest string) {
	if !digestPattern.MatchString(digest) {
		u.discard()
		writeRegError(w, regError{http.StatusBadRequest, "DIGEST_INVALID", fmt.Sprintf("digest %q must be sha256:<64 hex digits>", digest), nil})
		return
	}
	if f, due := s.takeRegistryFault(RegistryBlobUpload); due {
		s.strikeUpload(w, r, u, f)
		return
	}
	n, err := s.blobs.write(u, r.Body)
	s.countUploaded(n)
	if err != nil {
		u.discard()
		writeRegError(w, regError{http.StatusBadRequest, "BLOB_UPLOAD_INVALID", "writing the upload: " + err.Error(), nil})
		return
	}
	size, err := s.blobs.commit(u, digest)
	if errors.Is(err, errDigestMismatch) {
		writeRegError(w, regError{http.StatusBadRequest, "DIGEST_INVALID", err.Error(), map[string]string{"digest": digest}})
		return
	}
	if err != nil {
		writeRegError(w, regError{http.StatusInternalServerError, "UNKNOWN", err.Error(), nil})
		return
	}
	if !s.addBlob(u.repo, digest, size) {
		writeRegError(w, s.nameUnknown(u.repo))
		return
	}
	s.blobCreated(w, u.repo, digest)
}

func (s *Server) blobCreated(w http.ResponseWriter, name, digest string) {
	w.Header().Set("Location", "/v2/"+name+"/blobs/"+digest)
	w.Header().Set("Docker-Content-Digest", digest)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

func (s *Server) serveManifest(w http.ResponseWriter, r *http.Request, name, ref string) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		s.getManifest(w, r, name, ref)
	case http.MethodPut:
		s.putManifest(w, r, name, ref)
	case http.MethodDelete:
		s.deleteManifest(w, name, ref)
	default:
		w.Header().Set("Allow", "GET, HEAD, PUT, DELETE")
		writeRegError(w, regError{http.StatusMethodNotAllowed, "UNSUPPORTED", r.Method + " is not a manifest method", nil})
	}
}

// refID turns a manifest reference into an image identifier.
func refID(ref string) imageID {
	if strings.Contains(ref, ":") {
		return imageID{ImageDigest: ref}
	}
	return imageID{ImageTag: ref}
}

func (s *Server) getManifest(w http.ResponseWriter, r *http.Request, name, ref string) {
	s.mu.RLock()
	repo, ok := s.repos[name]
	var img *image
	var fail *imageFailure
	var archived bool
	if ok {
		img, fail = repo.resolve(refID(ref))
		archived = img != nil && s.archived(img)
	}
	s.mu.RUnlock()
	if !ok {
		writeRegError(w, s.nameUnknown(name))
		return
	}
	if fail != nil {
		writeRegError(w, regError{http.StatusNotFound, "MANIFEST_UNKNOWN", "Requested image not found", map[string]string{"reference": ref}})
		return
	}
	if archived {
		// Archived images cannot be pulled: 404 until restored (archive.go).
		writeRegError(w, regError{http.StatusNotFound, "MANIFEST_UNKNOWN", fmt.Sprintf("Requested image %s is archived; restore it with UpdateImageStorageClass (targetStorageClass STANDARD) to pull it", ref), map[string]string{"reference": ref}})
		return
	}
	w.Header().Set("Content-Type", img.mediaType)
	w.Header().Set("Docker-Content-Digest", img.digest)
	w.Header().Set("Content-Length", strconv.Itoa(len(img.manifest)))
	w.Header().Set("ETag", `"`+img.digest+`"`)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(img.manifest)
	}
}

func (s *Server) putManifest(w http.ResponseWriter, r *http.Request, name, ref string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxManifestSize+1))
	if err != nil {
		writeRegError(w, regError{http.StatusBadRequest, "MANIFEST_INVALID", "reading the manifest: " + err.Error(), nil})
		return
	}
	if len(body) > maxManifestSize {
		writeRegError(w, regError{http.StatusRequestEntityTooLarge, "SIZE_INVALID", fmt.Sprintf("manifests are limited to %d bytes", maxManifestSize), nil})
		return
	}
	p := putRequest{repo: name, manifest: body, mediaType: mediaTypeOf(r.Header.Get("Content-Type"))}
	id := refID(ref)
	if id.ImageDigest != "" {
		if !digestPattern.MatchString(id.ImageDigest) {
			writeRegError(w, regError{http.StatusBadRequest, "DIGEST_INVALID", fmt.Sprintf("%q is not a sha256 digest", ref), nil})
			return
		}
		p.digest = id.ImageDigest
	} else if !tagPattern.MatchString(ref) {
		writeRegError(w, regError{http.StatusBadRequest, "TAG_INVALID", fmt.Sprintf("tag %q must match %s", ref, tagPattern), nil})
		return
	}
	p.tag = id.ImageTag
	res, aerr := s.putImage(p)
	if aerr != nil {
		writeRegError(w, registryErrorFor(aerr))
		return
	}
	if res.img.subject != "" {
		w.Header().Set("OCI-Subject", res.img.subject)
	}
	w.Header().Set("Location", "/v2/"+name+"/manifests/"+res.img.digest)
	w.Header().Set("Docker-Content-Digest", res.img.digest)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// mediaTypeOf drops parameters from a Content-Type; a generic JSON type
// means "take it from the manifest".
func mediaTypeOf(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(mt)
	if mt == "application/json" || mt == "application/octet-stream" {
		return ""
	}
	return mt
}

// deleteManifest removes an image by digest; by tag it removes the tag, and
// the image with its last tag, as BatchDeleteImage does.
func (s *Server) deleteManifest(w http.ResponseWriter, name, ref string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	repo, ok := s.repos[name]
	if !ok {
		writeRegError(w, s.nameUnknown(name))
		return
	}
	id := refID(ref)
	img, fail := repo.resolve(id)
	if fail != nil {
		writeRegError(w, regError{http.StatusNotFound, "MANIFEST_UNKNOWN", "Requested image not found", map[string]string{"reference": ref}})
		return
	}
	if id.ImageTag != "" {
		delete(repo.byTag, id.ImageTag)
		if len(repo.tagsOf(img.digest)) == 0 {
			repo.deleteImageLocked(img.digest)
		}
	} else {
		repo.deleteImageLocked(img.digest)
	}
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) serveTags(w http.ResponseWriter, r *http.Request, name string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeRegError(w, regError{http.StatusMethodNotAllowed, "UNSUPPORTED", "tags/list answers GET", nil})
		return
	}
	s.mu.RLock()
	repo, ok := s.repos[name]
	var tags []string
	if ok {
		for t := range repo.byTag {
			tags = append(tags, t)
		}
	}
	s.mu.RUnlock()
	if !ok {
		writeRegError(w, s.nameUnknown(name))
		return
	}
	slices.Sort(tags)
	q := r.URL.Query()
	if last := q.Get("last"); last != "" {
		i, found := slices.BinarySearch(tags, last)
		if found {
			i++
		}
		tags = tags[i:]
	}
	if n, err := strconv.Atoi(q.Get("n")); err == nil && n >= 0 && n < len(tags) {
		tags = tags[:n]
		if n > 0 {
			w.Header().Set("Link", fmt.Sprintf(`</v2/%s/tags/list?n=%d&last=%s>; rel="next"`, name, n, url.QueryEscape(tags[n-1])))
		}
	}
	if tags == nil {
		tags = []string{}
	}
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(map[string]any{"name": name, "tags": tags})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(buf.Bytes())
	}
}
