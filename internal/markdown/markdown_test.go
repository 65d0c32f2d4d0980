package markdown

import "testing"

func TestEscape(t *testing.T) {
	const in = "a|b\\c`d*e_f[g]h#i~j!k(l)m&n<o>p\r\nq\rr\ns"
	for _, tc := range []struct {
		name string
		f    func(string) string
		want string
	}{
		{"Cell", Cell, `a\|b\\c\` + "`" + `d\*e\_f\[g\]h\#i\~j\!k(l)m&amp;n&lt;o&gt;p<br>q<br>r<br>s`},
		{"Line", Line, `a\|b\\c\` + "`" + `d\*e\_f\[g\]h\#i\~j\!k\(l\)m&amp;n&lt;o&gt;p q r s`},
	} {
		if got := tc.f(in); got != tc.want {
			t.Errorf("%s(%q) = %q, want %q", tc.name, in, got, tc.want)
		}
	}
	if got := Cell("plain ünïcode 1.2.3"); got != "plain ünïcode 1.2.3" {
		t.Errorf("Cell changed plain text: %q", got)
	}
}
