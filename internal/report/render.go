package report

import (
	"fmt"
	"strings"

	"github.com/org/ecr-action/internal/markdown"
	"github.com/org/ecr-action/internal/reconcile"
)

// Row is one setting of the repository table.
type Row struct {
	Setting, Desired, Found string
	Action                  reconcile.Action
}

// RepositorySummary is what RenderRepository shows.
type RepositorySummary struct {
	Name, URI, ARN string
	Created        bool
	Rows           []Row
	WriteCalls     int // how many write calls this run made (0 on an unchanged run)
}

// maxCell is the longest value shown in a table cell; longer values and values
// with line breaks are shortened there and shown whole below the table.
const maxCell = 60

// RenderRepository renders the "## Repository" section of the job summary: a
// header line, drift called out, a Setting | Desired | Found | Action table and
// long values (policies) in collapsed blocks under it.
func RenderRepository(s RepositorySummary) string {
	var b strings.Builder
	b.WriteString("## Repository\n\n")

	state := "already existed"
	if s.Created {
		state = "was created by this run"
	}
	fmt.Fprintf(&b, "%s %s; ", code(s.Name), state)
	switch s.WriteCalls {
	case 0:
		b.WriteString("no write calls were made (nothing to change).\n\n")
	case 1:
		b.WriteString("1 write call was made.\n\n")
	default:
		fmt.Fprintf(&b, "%d write calls were made.\n\n", s.WriteCalls)
	}
	if s.URI != "" {
		fmt.Fprintf(&b, "- URI: %s\n", code(s.URI))
	}
	if s.ARN != "" {
		fmt.Fprintf(&b, "- ARN: %s\n", code(s.ARN))
	}
	if s.URI != "" || s.ARN != "" {
		b.WriteString("\n")
	}

	var drift []Row
	for _, r := range s.Rows {
		if r.Action == reconcile.Drift {
			drift = append(drift, r)
		}
	}
	if len(drift) > 0 {
		b.WriteString("> [!WARNING]\n")
		b.WriteString("> **Drift:** these settings differ from the inputs and the action cannot change them on an existing repository:\n")
		for _, r := range drift {
			fmt.Fprintf(&b, "> - %s: wanted %s, found %s\n",
				cellText(r.Setting), cellText(r.Desired), cellText(r.Found))
		}
		b.WriteString("\n")
	}

	if len(s.Rows) == 0 {
		return b.String()
	}

	type long struct{ title, value string }
	var longs []long
	cell := func(r Row, column, v string) string {
		if len(v) <= maxCell && !strings.ContainsAny(v, "\r\n") {
			return cellText(v)
		}
		longs = append(longs, long{title: r.Setting + " (" + column + ")", value: v})
		return cellText(preview(v, maxCell-1)+"…") + " (in full below)"
	}

	b.WriteString("| Setting | Desired | Found | Action |\n")
	b.WriteString("|---|---|---|---|\n")
	for _, r := range s.Rows {
		action := cellText(string(r.Action))
		if r.Action == reconcile.Drift {
			action = "⚠️ **drift**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n",
			cellText(r.Setting), cell(r, "desired", r.Desired), cell(r, "found", r.Found), action)
	}

	for _, l := range longs {
		fmt.Fprintf(&b, "\n<details><summary>%s</summary>\n\n%s\n</details>\n", htmlText(l.title), fenced(l.value))
	}
	return b.String()
}

// RenderError renders a summary section for a failed run. The message is
// shown literally, in a code block.
func RenderError(title, message string) string {
	if title == "" {
		title = "The action failed"
	}
	return fmt.Sprintf("## ❌ %s\n\n%s\n", cellText(title), fenced(message))
}

// cellText makes v safe in a markdown table cell: markdown and HTML
// characters are escaped, '|' cannot end the cell, line breaks become <br>.
// An empty value shows as "(none)".
func cellText(v string) string {
	if v == "" {
		return "_(none)_"
	}
	return markdown.Cell(v)
}

// htmlText escapes v for use inside an HTML element.
func htmlText(v string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", " ", "\n", " ").Replace(v)
}

// code renders v as an inline code span that v cannot close early.
func code(v string) string {
	if v == "" {
		return "_(none)_"
	}
	v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
	ticks := strings.Repeat("`", longestRun(v, '`')+1)
	pad := ""
	if strings.HasPrefix(v, "`") || strings.HasSuffix(v, "`") {
		pad = " "
	}
	return ticks + pad + v + pad + ticks
}

// fenced renders v as a fenced code block whose fence v cannot close: a JSON
// document is labelled json for highlighting.
func fenced(v string) string {
	fence := strings.Repeat("`", max(3, longestRun(v, '`')+1))
	lang := ""
	if t := strings.TrimSpace(v); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
		lang = "json"
	}
	return fence + lang + "\n" + strings.TrimRight(v, "\r\n") + "\n" + fence
}

func longestRun(s string, c rune) int {
	longest, run := 0, 0
	for _, r := range s {
		if r == c {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}

// preview returns v on one line, white space runs collapsed (so a JSON
// document reads as compact JSON), cut to at most n runes.
func preview(v string, n int) string {
	rs := []rune(strings.Join(strings.Fields(v), " "))
	if len(rs) > n {
		rs = rs[:n]
	}
	return string(rs)
}
