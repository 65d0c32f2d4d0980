package ecrlocal

import (
	"fmt"
	"slices"
	"strings"
)

// Account settings (GetAccountSetting / PutAccountSetting). The names and
// values are the v1.67.6 model's: BASIC_SCAN_TYPE_VERSION (AWS_NATIVE),
// REGISTRY_POLICY_SCOPE (V2) and BLOB_MOUNTING (ENABLED or DISABLED).
// BLOB_MOUNTING is off until enabled (ECR user guide, "Blob mounting in
// Amazon ECR") and decides whether the registry mounts blobs (mountable).
// The other two are stored and returned; nothing in ecrlocal reads them.

const settingBlobMounting = "BLOB_MOUNTING"

// accountSettingValues lists each setting's valid values; the first is the
// default a new registry reports.
var accountSettingValues = map[string][]string{
	"BASIC_SCAN_TYPE_VERSION": {"AWS_NATIVE"},
	"REGISTRY_POLICY_SCOPE":   {"V2"},
	settingBlobMounting:       {"DISABLED", "ENABLED"},
}

func checkSettingName(name string) *apiError {
	if _, ok := accountSettingValues[name]; !ok {
		names := make([]string, 0, len(accountSettingValues))
		for n := range accountSettingValues {
			names = append(names, n)
		}
		slices.Sort(names)
		return invalidParameter("name", fmt.Sprintf("%q is not an account setting; use one of %s", name, strings.Join(names, ", ")))
	}
	return nil
}

// accountSettingLocked is a setting's value; the caller holds s.mu.
func (s *Server) accountSettingLocked(name string) string {
	if v, ok := s.accountSettings[name]; ok {
		return v
	}
	return accountSettingValues[name][0]
}

func (s *Server) getAccountSetting(body []byte, _ string) (any, *apiError) {
	var in struct {
		Name string `json:"name"`
	}
	if aerr := decode(body, &in); aerr != nil {
		return nil, aerr
	}
	if aerr := checkSettingName(in.Name); aerr != nil {
		return nil, aerr
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return map[string]string{"name": in.Name, "value": s.accountSettingLocked(in.Name)}, nil
}

func (s *Server) putAccountSetting(body []byte, _ string) (any, *apiError) {
	var in struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	if aerr := decode(body, &in); aerr != nil {
		return nil, aerr
	}
	if aerr := checkSettingName(in.Name); aerr != nil {
		return nil, aerr
	}
	if valid := accountSettingValues[in.Name]; !slices.Contains(valid, in.Value) {
		return nil, invalidParameter("value", fmt.Sprintf("%q is not a value of %s; use one of %s", in.Value, in.Name, strings.Join(valid, ", ")))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accountSettings[in.Name] = in.Value
	return map[string]string{"name": in.Name, "value": in.Value}, nil
}

// mountableLocked reports whether a blob may be mounted from repository src
// into dst: BLOB_MOUNTING is ENABLED, both repositories use the same
// encryption type and key, and an image manifest in src (an active one: an
// archived image's layers cannot be pulled) references the blob
// (containers-roadmap #2860). The caller holds s.mu.
func (s *Server) mountableLocked(src, dst *repository, digest string) bool {
	if s.accountSettingLocked(settingBlobMounting) != "ENABLED" {
		return false
	}
	if src.encType != dst.encType || src.kmsKey != dst.kmsKey {
		return false
	}
	if _, held := src.blobs[digest]; !held {
		return false
	}
	for _, img := range src.images {
		if s.archived(img) {
			continue
		}
		if referencesBlob(img.manifest, digest) {
			return true
		}
	}
	return false
}
