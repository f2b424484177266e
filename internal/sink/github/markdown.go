package github

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sextant-dev/sextant"
)

// Limits GitHub enforces, in characters.
const (
	// MaxTitle is the longest issue title.
	MaxTitle = 256
	// MaxBody is the longest issue or comment body, and check-run summary.
	MaxBody = 65536
	// maxVulnerabilities is how many vulnerability IDs an issue lists
	// before "… and N more": a base-image rebuild fixes hundreds.
	maxVulnerabilities = 200
)

// Marker is the hidden line that marks a body as sextant's:
// "<!-- sextant:key=KEY -->". Issues carry their CorrelationKey in it;
// sticky comments their marker. Text from findings cannot forge it: every
// "<" of it is escaped (EscapeText).
func Marker(key string) string { return "<!-- sextant:key=" + key + " -->" }

// IssueRequest is the body of an issue create or update.
type IssueRequest struct {
	Title       string   `json:"title,omitempty"`
	Body        string   `json:"body,omitempty"`
	Labels      []string `json:"labels,omitempty"`
	Assignees   []string `json:"assignees,omitempty"`
	State       string   `json:"state,omitempty"`
	StateReason string   `json:"state_reason,omitempty"`
}

// NewIssue is the issue Create opens for c: IssueTitle, IssueBody, the
// configured labels plus the action's CorrelationKey (the label Find
// searches by), and the configured assignees.
func NewIssue(cfg Config, c sextant.TicketContent) IssueRequest {
	key := sextant.CorrelationKey(c.Action.ID)
	labels := make([]string, 0, len(cfg.Labels)+1)
	for _, l := range cfg.Labels {
		if l != key {
			labels = append(labels, l)
		}
	}
	return IssueRequest{
		Title:     IssueTitle(c),
		Body:      IssueBody(c),
		Labels:    append(labels, key),
		Assignees: cfg.Assignees,
	}
}

// IssueTitle is "[P0] " and the action's title, on one line, cut to
// MaxTitle characters. Titles are not markdown, but GitHub links "#123"
// in them, so "@" and "#" are neutralised as in EscapeText.
func IssueTitle(c sextant.TicketContent) string {
	t := neutraliseRefs(oneLine(c.Action.Title))
	if t == "" {
		t = "sextant action " + oneLine(c.Action.ID)
	}
	return truncate("["+c.Action.Priority.String()+"] "+t, MaxTitle, "…")
}

var (
	cveID  = regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]{4,}$`)
	ghsaID = regexp.MustCompile(`^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$`)
)

// IssueBody is the issue's markdown: the hidden Marker, the facts of the
// action, the vulnerabilities it fixes (CVE and GHSA IDs linked), the fix
// commands in fenced code blocks, the score with its factors, the owner and
// the link to sextant. Every piece of text that comes from findings goes
// through EscapeText, codeSpan or a fence, so that it cannot ping people,
// forge the marker, inject HTML or links, or end a code block early.
func IssueBody(c sextant.TicketContent) string {
	a := c.Action
	var b strings.Builder
	line := func(format string, args ...any) {
		fmt.Fprintf(&b, format, args...)
		b.WriteByte('\n')
	}
	line("%s", Marker(sextant.CorrelationKey(a.ID)))
	head := fmt.Sprintf("**%s** · risk score **%s**/100", a.Priority, num(a.Score))
	if c.Status != "" {
		head += " · " + EscapeText(oneLine(string(c.Status)))
	}
	line("%s", head)
	line("")
	if a.Artifact != "" {
		line("- **Artifact:** %s", codeSpan(a.Artifact))
	}
	if a.Package != "" {
		p := codeSpan(a.Package)
		if a.Ecosystem != "" {
			p += " (" + EscapeText(oneLine(a.Ecosystem)) + ")"
		}
		switch {
		case a.InstalledVersion != "" && a.TargetVersion != "":
			p += " " + codeSpan(a.InstalledVersion) + " → " + codeSpan(a.TargetVersion)
		case a.InstalledVersion != "":
			p += " " + codeSpan(a.InstalledVersion)
		}
		line("- **Package:** %s", p)
	}
	if c.Owner != "" {
		line("- **Owner:** %s", EscapeText(oneLine(c.Owner)))
	}
	if c.Findings > 0 {
		line("- **Findings:** %d", c.Findings)
	}
	if a.RiskRemoved > 0 {
		line("- **Risk removed:** %s", num(a.RiskRemoved))
	}
	if s := strings.TrimSpace(clean(c.Summary)); s != "" {
		line("")
		line("### Summary")
		line("")
		line("%s", EscapeText(s))
	}
	if len(a.Vulnerabilities) > 0 {
		line("")
		line("### Vulnerabilities (%d)", len(a.Vulnerabilities))
		line("")
		for i, v := range a.Vulnerabilities {
			if i == maxVulnerabilities {
				line("- … and %d more", len(a.Vulnerabilities)-i)
				break
			}
			line("- %s", vulnerability(v))
		}
	}
	if len(a.Commands) > 0 {
		line("")
		line("### Fix")
		for _, cmd := range a.Commands {
			line("")
			line("%s", fence(cmd, "sh"))
		}
	}
	if len(a.Notes) > 0 {
		line("")
		line("### Notes")
		line("")
		for _, n := range a.Notes {
			line("- %s", EscapeText(oneLine(n)))
		}
	}
	if len(a.Factors) > 0 {
		line("")
		line("### Score")
		line("")
		line("| Factor | Value | Weight | Contribution | Evidence |")
		line("|---|---|---:|---:|---|")
		for _, f := range a.Factors {
			line("| %s | %s | %s | %+.1f | %s |", cell(f.Name), cell(fmt.Sprint(f.Value)), num(f.Weight), f.Contribution, cell(f.Evidence))
		}
	}
	if u := link(c.Link); u != "" {
		line("")
		line("[Open in sextant](%s)", u)
	}
	line("")
	line("<sub>Managed by sextant (action %s): sextant rewrites this description when the action changes; comment below instead.</sub>", codeSpan(a.ID))
	return truncate(strings.TrimRight(b.String(), "\n"), MaxBody, "\n\n… (cut: the full plan is in sextant)")
}

// vulnerability is one vulnerability ID, linked to its advisory when it
// is a well-formed CVE or GHSA ID.
func vulnerability(id string) string {
	id = oneLine(id)
	switch {
	case cveID.MatchString(id):
		return "[" + id + "](https://nvd.nist.gov/vuln/detail/" + id + ")"
	case ghsaID.MatchString(id):
		return "[" + id + "](https://github.com/advisories/" + id + ")"
	}
	return EscapeText(id)
}

// link returns u if it is an absolute http(s) URL, with the characters
// that would end a markdown link destination percent-encoded; "" otherwise.
func link(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	return strings.NewReplacer("(", "%28", ")", "%29", " ", "%20", "<", "%3C", ">", "%3E").Replace(u.String())
}

// cell is text for a table cell: one line, escaped, with | escaped too.
func cell(s string) string {
	return strings.ReplaceAll(EscapeText(oneLine(s)), "|", `\|`)
}

// zwsp is the zero-width space put after "@" and "#" to keep GitHub from
// turning text into a mention or an issue reference.
const zwsp = "\u200b"

// EscapeText makes untrusted plain text safe to put in GitHub markdown:
// it cannot mention anyone ("@name" gets a zero-width space after the @),
// reference an issue ("#123" likewise), open HTML or an HTML comment ("<"
// becomes "&lt;", "&" "&amp;" so that entities cannot spell them), start a
// link or image ("[" and "]" escaped) or a code span (backticks escaped).
// Control characters and bidirectional overrides are dropped. Other
// markdown (emphasis, lists) renders as written; newlines are kept, and
// GitHub shows them as line breaks.
func EscapeText(s string) string {
	s = clean(s)
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range s {
		switch r {
		case '\\', '`', '[', ']':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '<':
			b.WriteString("&lt;")
		case '&':
			b.WriteString("&amp;")
		case '@':
			b.WriteRune(r)
			if next, _ := utf8.DecodeRuneInString(s[i+1:]); isWord(next) {
				b.WriteString(zwsp)
			}
		case '#':
			b.WriteRune(r)
			if next, _ := utf8.DecodeRuneInString(s[i+1:]); '0' <= next && next <= '9' {
				b.WriteString(zwsp)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// neutraliseRefs puts a zero-width space after "@" and "#" where GitHub
// would read a mention or an issue reference.
func neutraliseRefs(s string) string {
	var b strings.Builder
	for i, r := range s {
		b.WriteRune(r)
		next, _ := utf8.DecodeRuneInString(s[i+utf8.RuneLen(r):])
		if (r == '@' && isWord(next)) || (r == '#' && '0' <= next && next <= '9') {
			b.WriteString(zwsp)
		}
	}
	return b.String()
}

func isWord(r rune) bool {
	return r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9')
}

// codeSpan renders s on one line as inline code, with a backtick fence
// longer than any run of backticks in it, so that it cannot end early.
// Nothing inside a code span is a mention, a link or HTML.
func codeSpan(s string) string {
	s = oneLine(s)
	if s == "" {
		return ""
	}
	delim := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || strings.HasPrefix(s, " ") {
		s = " " + s + " "
	}
	return delim + s + delim
}

// fence renders text as a fenced code block whose fence is longer than any
// run of backticks in it.
func fence(text, info string) string {
	text = strings.TrimRight(clean(text), "\n")
	f := strings.Repeat("`", max(3, longestRun(text, '`')+1))
	return f + info + "\n" + text + "\n" + f
}

func longestRun(s string, c byte) int {
	best, n := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			n++
			best = max(best, n)
		} else {
			n = 0
		}
	}
	return best
}

// num formats a score-like number with no trailing zeros.
func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// oneLine cleans s and folds its whitespace, newlines included, to single
// spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(clean(s)), " ") }

// clean makes text valid UTF-8 without control characters (but newline and
// tab) or bidirectional overrides.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\r':
			return '\n'
		case unicode.IsControl(r), isBidi(r):
			return -1
		}
		return r
	}, s)
}

// isBidi reports whether r is a bidirectional embedding, override or
// isolate, which can make text read differently from what it is.
func isBidi(r rune) bool {
	return (r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069') || r == '\u200E' || r == '\u200F'
}

// truncate cuts s to at most max characters, ending with suffix when cut.
func truncate(s string, max int, suffix string) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	keep := max - utf8.RuneCountInString(suffix)
	if keep < 0 {
		keep = 0
	}
	i := 0
	for n := 0; n < keep; n++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i] + suffix
}
