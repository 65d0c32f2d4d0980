package config

import (
	"errors"
	"strings"
	"testing"
)

func TestLoadSBOMAndProvenance(t *testing.T) {
	tests := []struct {
		name             string
		inputs           map[string]string
		sbom, provenance bool
	}{
		{"defaults", nil, true, true},
		{"both off", map[string]string{"sbom": "false", "provenance": "FALSE"}, false, false},
		{"sbom only", map[string]string{"provenance": "false"}, true, false},
		{"provenance only", map[string]string{"sbom": "false", "provenance": "true"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newImageSetup(t)
			inputs := map[string]string{"source": "oci:out"}
			for k, v := range tt.inputs {
				inputs[k] = v
			}
			c, err := Load(s.getenv(t, pushMain, inputs))
			if err != nil {
				t.Fatal(err)
			}
			if c.SBOM != tt.sbom || c.Provenance != tt.provenance {
				t.Errorf("SBOM, Provenance = %v, %v; want %v, %v", c.SBOM, c.Provenance, tt.sbom, tt.provenance)
			}
		})
	}
	for _, input := range []string{"sbom", "provenance"} {
		t.Run(input+" not a bool", func(t *testing.T) {
			s := newImageSetup(t)
			_, err := Load(s.getenv(t, pushMain, map[string]string{"source": "oci:out", input: "yes"}))
			var fe Errors
			if !errors.As(err, &fe) || len(fe) != 1 || fe[0].Input != input || !strings.Contains(fe[0].Error(), "true or false") {
				t.Fatalf("Load: %v; want one invalid input %s saying true or false", err, input)
			}
		})
	}
}
