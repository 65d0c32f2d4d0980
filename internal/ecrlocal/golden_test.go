package ecrlocal

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// checkGolden compares got with testdata/<name>, or rewrites it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatalf("writing %s: %v", path, err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s (run go test -update to create it): %v", path, err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

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
			checkGolden(t, "pretty-"+tc.name+".json", got)
		})
	}
	if _, err := prettyPolicy(`{"a":1}{`); err == nil {
		t.Errorf("prettyPolicy accepted trailing data")
	}
}
