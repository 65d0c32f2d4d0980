package runner

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseFileCommand(t *testing.T) {
	p := filepath.Join(t.TempDir(), "out")
	content := "a=1\nmulti<<EOF_x\nline one\nline=two\nEOF_x\nempty=\n"
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := parseFileCommand(p)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "1", "multi": "line one\nline=two", "empty": ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for name, bad := range map[string]string{"unclosed": "k<<END\nv\n", "no separator": "justtext\n"} {
		if err := os.WriteFile(p, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := parseFileCommand(p); err == nil {
			t.Errorf("%s: accepted %q", name, bad)
		}
	}
}

func TestApplyMasks(t *testing.T) {
	raw := "start\n::add-mask::s3cr%25t\nthe token is s3cr%t here\n  ::add-mask::other\nother and s3cr%t\n"
	log, masks := applyMasks(raw)
	if diff := cmp.Diff([]string{"s3cr%t", "other"}, masks); diff != "" {
		t.Errorf("masks (-want +got):\n%s", diff)
	}
	if want := "start\nthe token is *** here\n*** and ***\n"; log != want {
		t.Errorf("log = %q, want %q", log, want)
	}
}
