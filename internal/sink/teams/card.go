package teams

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sextant-dev/sextant"
)

// Envelope constants of the Workflows "post to a channel" template.
const (
	// ContentType is the attachment content type of an Adaptive Card.
	ContentType = "application/vnd.microsoft.card.adaptive"
	// CardVersion is the Adaptive Card schema version sextant writes; Teams
	// renders up to 1.5 on desktop and 1.4 everywhere.
	CardVersion = "1.4"
	cardSchema  = "http://adaptivecards.io/schemas/adaptive-card.json"
)

// budget bounds the text of a card, in characters and elements.
type budget struct {
	title, summary, summaryLines, line, vulns, commands, commandCount, notes int
}

// fullBudget is the first try; NewPayload halves it until the card fits
// in MaxPayloadBytes.
var fullBudget = budget{title: 500, summary: 2000, summaryLines: 10, line: 1000, vulns: 3000, commands: 6000, commandCount: 25, notes: 10}

func (b budget) half() budget {
	h := func(n int) int { return max(n/2, 1) }
	return budget{h(b.title), h(b.summary), h(b.summaryLines), h(b.line), h(b.vulns), h(b.commands), h(b.commandCount), h(b.notes)}
}

// Payload is the JSON body posted to a Workflows webhook: a message with
// one Adaptive Card attachment. The template loops over Attachments, which
// must therefore be present.
type Payload struct {
	Type        string       `json:"type"`
	Attachments []Attachment `json:"attachments"`
}

// Attachment is one card of a Payload. ContentURL is always null.
type Attachment struct {
	ContentType string  `json:"contentType"`
	ContentURL  *string `json:"contentUrl"`
	Content     Card    `json:"content"`
}

// Card is an Adaptive Card.
type Card struct {
	Schema  string    `json:"$schema"`
	Type    string    `json:"type"`
	Version string    `json:"version"`
	MSTeams MSTeams   `json:"msteams"`
	Body    []Element `json:"body"`
	Actions []Action  `json:"actions,omitempty"`
}

// MSTeams holds Teams-specific card options.
type MSTeams struct {
	Width string `json:"width"`
}

// Element is a card body element: a RichTextBlock (Inlines) or a FactSet
// (Facts).
type Element struct {
	Type      string    `json:"type"`
	Inlines   []TextRun `json:"inlines,omitempty"`
	Facts     []Fact    `json:"facts,omitempty"`
	Separator bool      `json:"separator,omitempty"`
	Spacing   string    `json:"spacing,omitempty"`
}

// TextRun is a run of text in a RichTextBlock. Unlike a TextBlock, a
// TextRun is never read as Markdown, which is why sextant puts all finding
// text in TextRuns: a CVE title cannot turn into a link there.
type TextRun struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Size     string `json:"size,omitempty"`
	Weight   string `json:"weight,omitempty"`
	Color    string `json:"color,omitempty"`
	FontType string `json:"fontType,omitempty"`
	IsSubtle bool   `json:"isSubtle,omitempty"`
}

// Fact is one row of a FactSet. FactSet values are read as Markdown, so
// only values sextant computes (priority, score, status, counts, key) go
// there.
type Fact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

// Action is a card button; sextant uses only Action.OpenUrl, the one kind
// a Workflows-posted card can act on.
type Action struct {
	Type  string `json:"type"`
	Title string `json:"title"`
	URL   string `json:"url"`
	Style string `json:"style,omitempty"`
}

// NewPayload builds the card about m: the headline, the action's title and
// summary, its facts, vulnerabilities, fix commands (monospace, one block
// each) and notes, then either m.Decided or, when m.ApprovalID is set and
// approvalURL is an http(s) URL, Approve and Reject links to
// approvalURL/<approval ID>?decision=approve|reject, and a link to the
// action in sextant. It is a pure function of its arguments.
//
// Long text is cut (ending in "…") and long lists shortened ("… 3 more")
// so that the encoded payload stays within MaxPayloadBytes.
func NewPayload(m sextant.ChatMessage, approvalURL string) Payload {
	b := fullBudget
	for range 8 {
		p := build(m, approvalURL, b)
		if enc, err := json.Marshal(p); err == nil && len(enc) <= MaxPayloadBytes-512 {
			return p
		}
		b = b.half()
	}
	return build(m, approvalURL, b)
}

func build(m sextant.ChatMessage, approvalURL string, lim budget) Payload {
	c := m.Content
	a := c.Action
	headline := oneLine(m.Text)
	if strings.TrimSpace(headline) == "" {
		headline = a.Priority.String() + ": " + oneLine(a.Title)
	}
	var body []Element
	body = append(body, rich(TextRun{Type: "TextRun", Text: clip(headline, lim.title), Size: "Large", Weight: "Bolder", Color: priorityColor(a.Priority)}))
	body = append(body, rich(TextRun{Type: "TextRun", Text: clip(oneLine(a.Title), lim.title), Weight: "Bolder"}))
	left, lines := lim.summary, 0
	for _, line := range strings.Split(clean(c.Summary), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || left <= 0 || lines == lim.summaryLines {
			continue
		}
		line = clip(line, left)
		left -= utf8.RuneCountInString(line)
		lines++
		body = append(body, rich(run(line)))
	}

	body = append(body, Element{Type: "FactSet", Facts: []Fact{
		{Title: "Priority", Value: a.Priority.String()},
		{Title: "Score", Value: strconv.FormatFloat(a.Score, 'f', 1, 64)},
		{Title: "Status", Value: factValue(string(c.Status))},
		{Title: "Findings", Value: strconv.Itoa(c.Findings)},
		{Title: "Key", Value: sextant.CorrelationKey(a.ID)},
	}})
	labelled := func(label, value string) {
		if strings.TrimSpace(value) != "" {
			body = append(body, rich(TextRun{Type: "TextRun", Text: label + ": ", Weight: "Bolder"}, run(clip(oneLine(value), lim.line))))
		}
	}
	labelled("Owner", c.Owner)
	labelled("Artifact", a.Artifact)
	if a.Package != "" {
		pkg := a.Package
		if a.InstalledVersion != "" {
			pkg += " " + a.InstalledVersion
		}
		if a.TargetVersion != "" {
			pkg += " → " + a.TargetVersion
		}
		labelled("Package", pkg)
	}

	if len(a.Vulnerabilities) > 0 {
		body = append(body, heading(fmt.Sprintf("Vulnerabilities (%d)", len(a.Vulnerabilities))))
		ids := make([]string, len(a.Vulnerabilities))
		for i, v := range a.Vulnerabilities {
			ids[i] = clip(oneLine(v), 200)
		}
		body = append(body, rich(run(joinWithin(ids, ", ", lim.vulns, "and %d more"))))
	}
	if len(a.Commands) > 0 {
		body = append(body, heading("Fix"))
		left := lim.commands
		for i, cmd := range a.Commands {
			cmd = clip(clean(cmd), lim.line)
			n := utf8.RuneCountInString(cmd)
			if n > left || i == lim.commandCount {
				body = append(body, rich(TextRun{Type: "TextRun", Text: fmt.Sprintf("… %d more commands in sextant", len(a.Commands)-i), IsSubtle: true}))
				break
			}
			left -= n
			body = append(body, rich(TextRun{Type: "TextRun", Text: cmd, FontType: "Monospace"}))
		}
	}
	if len(a.Notes) > 0 {
		body = append(body, heading("Notes"))
		for i, n := range a.Notes {
			if i == lim.notes {
				body = append(body, rich(TextRun{Type: "TextRun", Text: fmt.Sprintf("… %d more", len(a.Notes)-i), IsSubtle: true}))
				break
			}
			body = append(body, rich(run("• "+clip(oneLine(n), lim.line/2))))
		}
	}

	var actions []Action
	decided := strings.TrimSpace(m.Decided) != ""
	if decided {
		e := rich(TextRun{Type: "TextRun", Text: clip(oneLine(m.Decided), lim.line), Weight: "Bolder", Color: "Good"})
		e.Separator = true
		body = append(body, e)
	} else if m.ApprovalID != "" {
		if approve := decisionURL(approvalURL, m.ApprovalID, "approve"); approve != "" {
			actions = append(actions,
				Action{Type: "Action.OpenUrl", Title: "Approve", URL: approve, Style: "positive"},
				Action{Type: "Action.OpenUrl", Title: "Reject", URL: decisionURL(approvalURL, m.ApprovalID, "reject"), Style: "destructive"},
			)
		}
	}
	if u := httpURL(c.Link); u != "" {
		actions = append(actions, Action{Type: "Action.OpenUrl", Title: "Open in sextant", URL: u})
	}
	return Payload{
		Type: "message",
		Attachments: []Attachment{{
			ContentType: ContentType,
			Content: Card{
				Schema:  cardSchema,
				Type:    "AdaptiveCard",
				Version: CardVersion,
				MSTeams: MSTeams{Width: "Full"},
				Body:    body,
				Actions: actions,
			},
		}},
	}
}

func rich(runs ...TextRun) Element { return Element{Type: "RichTextBlock", Inlines: runs} }

func run(s string) TextRun { return TextRun{Type: "TextRun", Text: s} }

func heading(s string) Element {
	e := rich(TextRun{Type: "TextRun", Text: s, Weight: "Bolder"})
	e.Spacing = "Medium"
	return e
}

func priorityColor(p sextant.Priority) string {
	switch p {
	case sextant.P0, sextant.P1:
		return "Attention"
	case sextant.P2:
		return "Warning"
	}
	return "Default"
}

// factValue keeps a FactSet value to letters, digits and a few marks, as
// FactSet values are read as Markdown.
func factValue(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == ' ':
			return r
		}
		return -1
	}, s)
}

// decisionURL is base/<id>?decision=<decision>, or "" when base is not an
// absolute http(s) URL.
func decisionURL(base, id, decision string) string {
	if httpURL(base) == "" {
		return ""
	}
	u, _ := url.Parse(strings.TrimSpace(base))
	// Set both forms of the path, so that a "/" in the ID stays one
	// segment (%2F) instead of adding one.
	escaped := strings.TrimSuffix(u.EscapedPath(), "/")
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + id
	u.RawPath = escaped + "/" + url.PathEscape(id)
	q := u.Query()
	q.Set("decision", decision)
	u.RawQuery = q.Encode()
	return u.String()
}

// httpURL returns u normalised if it is an absolute http(s) URL, else "".
func httpURL(u string) string {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return ""
	}
	return p.String()
}

// joinWithin joins parts with sep, keeping the result within limit
// characters: parts that do not fit are dropped and counted with more
// (a format with one %d).
func joinWithin(parts []string, sep string, limit int, more string) string {
	reserve := utf8.RuneCountInString(sep) + utf8.RuneCountInString(fmt.Sprintf(more, len(parts)))
	var b strings.Builder
	n := 0
	for i, p := range parts {
		w := utf8.RuneCountInString(p)
		if i > 0 {
			w += utf8.RuneCountInString(sep)
		}
		last := i == len(parts)-1
		if (last && n+w > limit) || (!last && n+w > limit-reserve) {
			if i > 0 {
				b.WriteString(sep)
			}
			fmt.Fprintf(&b, more, len(parts)-i)
			return b.String()
		}
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(p)
		n += w
	}
	return b.String()
}

// clip cuts s to at most limit characters, ending in "…" when cut.
func clip(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	r := []rune(s)
	return string(r[:max(limit-1, 0)]) + "…"
}

// clean makes untrusted text printable: invalid UTF-8 is replaced, control
// characters other than newline and tab become spaces, bidirectional
// overrides (which can make a command read differently from what it is)
// are dropped, and "{{DATE(" and "{{TIME(" are broken with a zero-width
// space so that no date function is evaluated (other braces, as in
// docker --format '{{.Id}}', are kept: commands must stay copyable).
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = dateFunc.Replace(s)
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\u2028' || r == '\u2029':
			return '\n'
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return ' '
		case (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') || r == '\u200e' || r == '\u200f' || r == '\u061c':
			return -1
		}
		return r
	}, s)
}

var dateFunc = strings.NewReplacer("{{DATE(", "{\u200b{DATE(", "{{TIME(", "{\u200b{TIME(")

// oneLine is clean with line breaks and tabs turned into spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, clean(s))
}
