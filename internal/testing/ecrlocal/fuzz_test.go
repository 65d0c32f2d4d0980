package ecrlocal

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzPrettyPolicy: for any valid JSON, the reformatted policy is valid JSON
// that says the same thing.
func FuzzPrettyPolicy(f *testing.F) {
	f.Add(pullPolicy)
	f.Add(`{"a":[{},[],"\u003c",1e3,-0.5,null,false]}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, doc string) {
		var want any
		if json.Unmarshal([]byte(doc), &want) != nil {
			return
		}
		got, err := prettyPolicy(doc)
		if err != nil {
			t.Fatalf("prettyPolicy(%q): %v", doc, err)
		}
		var back any
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Fatalf("prettyPolicy(%q) = %q, not JSON: %v", doc, got, err)
		}
		if !reflect.DeepEqual(want, back) {
			t.Fatalf("prettyPolicy(%q) = %q, which means something else", doc, got)
		}
	})
}

// FuzzPutImage: any manifest bytes are either stored under their own digest
// or refused with an ECR exception; nothing panics.
func FuzzPutImage(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"digest":"sha256:x"},"layers":[]}`), "v1", "")
	f.Add([]byte(`{"schemaVersion":2,"manifests":[]}`), "", "application/vnd.oci.image.index.v1+json")
	f.Add([]byte(`{`), "bad tag!", "")
	f.Add([]byte(`{"schemaVersion":2,"artifactType":"application/x","config":{"digest":"sha256:x"},"layers":[],"subject":{"digest":"sha256:y"},"annotations":{"a":"b"}}`), "", "")
	s, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close() })
	s.repos["app"] = newRepository("app", s.now())
	f.Fuzz(func(t *testing.T, manifest []byte, tag, mediaType string) {
		res, aerr := s.putImage(putRequest{repo: "app", tag: tag, manifest: manifest, mediaType: mediaType})
		if aerr != nil {
			if aerr.code == "" || aerr.msg == "" {
				t.Fatalf("refusal without a name or message: %+v", aerr)
			}
			return
		}
		if res.img == nil || !digestPattern.MatchString(res.img.digest) {
			t.Fatalf("stored image has no valid digest: %+v", res.img)
		}
	})
}
