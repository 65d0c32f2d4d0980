package ecrlocal

import (
	"testing"

	"github.com/org/ecr-action/internal/testing/goldenfile"
)

func TestPrettyPolicy(t *testing.T) {
	tests := []struct{ name, in string }{
		{"statement-list", `{"Version":"2008-10-17","Statement":[{"Sid":"new statement","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::012345678901:role/CodeDeployDemo"},"Action":["ecr:GetDownloadUrlForLayer","ecr:BatchGetImage","ecr:BatchCheckLayerAvailability"]}]}`},
		{"empties-and-scalars", `{"a":{},"b":[],"c":[1,2.5,true,null],"d":"<&>","e":[{"x":1},{"y":[]}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := prettyPolicy(tc.in)
			if err != nil {
				t.Fatalf("prettyPolicy: %v", err)
			}
			goldenfile.Check(t, "pretty-"+tc.name+".json", got)
		})
	}
	if _, err := prettyPolicy(`{"a":1}{`); err == nil {
		t.Errorf("prettyPolicy accepted trailing data")
	}
}
