package sbom

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const spdxSchemaID = "http://spdx.org/rdf/terms/2.3"

// noNetwork refuses every schema URL the compiler was not given.
type noNetwork struct{}

func (noNetwork) Load(url string) (any, error) {
	return nil, errors.New("schemas are loaded offline only; not loading " + url)
}

func spdxSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "schema", "spdx-schema-2.3.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := doc.(map[string]any)["$id"].(string); id != spdxSchemaID {
		t.Fatalf("the schema's $id is %q, want %q", id, spdxSchemaID)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noNetwork{})
	c.AssertFormat()
	if err := c.AddResource(spdxSchemaID, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(spdxSchemaID)
	if err != nil {
		t.Fatalf("compiling the SPDX 2.3 schema: %v", err)
	}
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, b []byte) error {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	return s.Validate(doc)
}

// TestDocumentsValidateAgainstSPDX23 validates a Debian, an Alpine and a
// Go document against the SPDX 2.3 JSON schema, and checks the schema
// rejects a broken one (so the validation is live).
func TestDocumentsValidateAgainstSPDX23(t *testing.T) {
	s := spdxSchema(t)
	images := map[string][]entry{
		"debian": {file("etc/os-release", []byte(debianOSRelease)), file("var/lib/dpkg/status", readTestdata(t, "dpkg-status"))},
		"alpine": {file("etc/os-release", []byte(alpineOSRelease)), file("lib/apk/db/installed", readTestdata(t, "apk-installed"))},
		"empty":  {file("etc/motd", []byte("hi\n"))},
	}
	if !testing.Short() {
		bin, err := os.ReadFile(testGoProgram(t))
		if err != nil {
			t.Fatal(err)
		}
		images["go"] = []entry{file("app", bin)}
	}
	for name, entries := range images {
		t.Run(name, func(t *testing.T) {
			out, _, err := Generate(context.Background(), imageOf(t, layerOf(t, entries...)), amd64, opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate(t, s, out); err != nil {
				t.Errorf("document does not validate: %v\n%s", err, out)
			}
		})
	}

	out, _, err := Generate(context.Background(), imageOf(t, layerOf(t, images["debian"]...)), amd64, opts)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	pkg := doc["packages"].([]any)[1].(map[string]any)
	delete(pkg, "downloadLocation")
	pkg["licence"] = "misspelt field"
	broken, _ := json.Marshal(doc)
	err = validate(t, s, broken)
	if err == nil || !strings.Contains(err.Error(), "downloadLocation") || !strings.Contains(err.Error(), "licence") {
		t.Errorf("the schema accepted a package without downloadLocation and with an unknown field: %v", err)
	}

	// The schema does not check SPDX IDs; SPDX 2.3 (clause 7.2) requires
	// "SPDXRef-" followed by letters, digits, "." and "-".
	idRe := regexp.MustCompile(`^SPDXRef-[a-zA-Z0-9.-]+$`)
	for _, p := range doc["packages"].([]any) {
		if id := p.(map[string]any)["SPDXID"].(string); !idRe.MatchString(id) {
			t.Errorf("SPDXID %q is not a valid SPDX 2.3 identifier", id)
		}
	}
}
