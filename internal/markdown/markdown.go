// Package markdown escapes text for the GitHub-flavoured Markdown the
// action writes: the job summary's tables and headings, and the help of
// SARIF rules that code scanning renders. It uses only the standard
// library, so SDK-free packages can import it.
package markdown

import "strings"

// Cell makes s plain text in a table cell or heading: the HTML characters
// &, < and > become entities; the characters that start emphasis, code,
// links, images, headings, strikethrough or end a table cell
// (\ ` * _ [ ] # ~ ! |) are backslash-escaped; each line break (\r\n, \n or
// \r) becomes <br>.
func Cell(s string) string { return escape(s, "<br>", false) }

// Line is Cell for text that must stay on one line (SARIF help): line
// breaks become spaces, and ( and ) are escaped as well. With [ and ]
// escaped no link can form anyway; the parentheses are kept escaped so
// that SARIF files stay byte for byte what earlier releases wrote.
func Line(s string) string { return escape(s, " ", true) }

func escape(s, lineBreak string, parens bool) string {
	var b strings.Builder
	s = strings.ReplaceAll(s, "\r\n", "\n")
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '\n', '\r':
			b.WriteString(lineBreak)
		case '|', '\\', '`', '*', '_', '[', ']', '#', '~', '!':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '(', ')':
			if parens {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
