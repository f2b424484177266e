package jira

import (
	"regexp"
	"strings"
)

// Jira wiki markup, the text format of Jira Data Center's REST API v2.
// Untrusted text is made inert three ways:
//   - every character that can open markup ({ } [ ] * _ | - + ^ ~ ? ! #)
//     is escaped with a backslash, so no macro ({code}, {html}), link,
//     image (!url!), mention ([~user]), table or effect can form;
//   - a backslash becomes U+FF3C (＼): Jira reads \\ as a line break and a
//     backslash before an escaped character would undo its escape;
//   - a line that would start with a block marker (h1. to h6., bq.) gets a
//     zero-width space after its first letter. Everything else sextant
//     writes puts its own text first on the line.
//
// Fix commands go in {code:bash} blocks, where only {code} is markup; a
// command holding "{code" goes in {noformat} instead, and one holding both
// is written as escaped text.

// wikiSpecial are the characters escaped in untrusted text.
const wikiSpecial = `{}[]*_|-+^~?!#`

// escapeWiki escapes s, which is on one line, as inline text.
func escapeWiki(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteRune('＼')
		case strings.ContainsRune(wikiSpecial, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n' || r == '\r':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

var blockMarkerRE = regexp.MustCompile(`(?i)^\s*(h[1-6]|bq)\.`)

// inertLine keeps a rendered line from starting with a block marker.
func inertLine(line string) string {
	if m := blockMarkerRE.FindStringIndex(line); m != nil {
		i := strings.IndexFunc(line, func(r rune) bool { return r != ' ' && r != '\t' })
		return line[:i+1] + "\u200B" + line[i+1:]
	}
	return line
}

func renderWiki(doc []block) string {
	var out []string
	for _, b := range doc {
		switch b.kind {
		case paragraph:
			if s := wikiInline(b.spans); s != "" {
				out = append(out, inertLine(s))
			}
		case heading:
			if s := wikiInline(b.spans); s != "" {
				out = append(out, "h3. "+s)
			}
		case bullets:
			var items []string
			for _, it := range b.items {
				if s := wikiInline(it); s != "" {
					items = append(items, "* "+s)
				}
			}
			if len(items) > 0 {
				out = append(out, strings.Join(items, "\n"))
			}
		case codeBlock:
			if b.code != "" {
				out = append(out, wikiCode(b.code))
			}
		}
	}
	return strings.Join(out, "\n\n")
}

// wikiCode puts a command in a block it cannot leave.
func wikiCode(code string) string {
	lower := strings.ToLower(code)
	switch {
	case !strings.Contains(lower, "{code"):
		return "{code:" + CodeLanguage + "}\n" + code + "\n{code}"
	case !strings.Contains(lower, "{noformat"):
		return "{noformat}\n" + code + "\n{noformat}"
	}
	var lines []string
	for _, l := range strings.Split(code, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, inertLine(escapeWiki(l)))
		}
	}
	return strings.Join(lines, "\n")
}

// wikiInline renders spans on one line, leaving out empty ones.
func wikiInline(spans []span) string {
	var b strings.Builder
	for _, s := range spans {
		if s.text == "" {
			continue
		}
		switch s.style {
		case plain:
			b.WriteString(escapeWiki(s.text))
		case strong:
			b.WriteString(wrap(s.text, "*", "*"))
		case em:
			b.WriteString(wrap(s.text, "_", "_"))
		case code:
			b.WriteString(wrap(s.text, "{{", "}}"))
		case link:
			b.WriteString("[" + escapeWiki(s.text) + "|" + s.href + "]")
		}
	}
	return b.String()
}

// wrap escapes s and puts it between open and close, keeping its leading
// and trailing spaces outside: Jira does not end an effect after a space.
func wrap(s, open, close string) string {
	inner := strings.TrimSpace(s)
	if inner == "" {
		return escapeWiki(s)
	}
	i := strings.Index(s, inner)
	return s[:i] + open + escapeWiki(inner) + close + s[i+len(inner):]
}
