package invalid

import (
	"strings"
	"testing"
)

func TestError(t *testing.T) {
	for _, tc := range []struct {
		e    Input
		want string
	}{
		{Input{Input: "aws_region", Problem: "no AWS region"}, "input aws_region: no AWS region"},
		{Input{Input: "tags", Value: Quote("a\nb"), Problem: "each line must be Key=Value"}, `input tags: each line must be Key=Value (got "a\nb")`},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	long := Quote(strings.Repeat("x", 200))
	if want := `"` + strings.Repeat("x", maxShown) + `…"`; long != want {
		t.Errorf("Quote of 200 bytes = %q, want %q", long, want)
	}
}
