package slack

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sextant-dev/sextant"
)

// Identifiers sextant puts in its messages and reads back from clicks.
const (
	// ActionApprove and ActionReject are the action_id of the Approve and
	// Reject buttons; the button value is the approval ID.
	ActionApprove = "sextant_approve"
	ActionReject  = "sextant_reject"
	// ApprovalBlockID is the block_id of the actions block that holds them.
	ApprovalBlockID = "sextant_approval"
	// EventType is the metadata event_type of every message sextant posts;
	// its event_payload carries the action's correlation key.
	EventType = "sextant_action"
)

// Block Kit limits, in characters (docs.slack.dev, "Block Kit" reference).
const (
	maxText        = 3000 // section text, context element, top-level text kept short
	maxHeader      = 150
	maxField       = 2000
	maxFields      = 10
	maxButtonValue = 2000
)

// Message is the JSON body of chat.postMessage (TS empty) and chat.update
// (TS set).
type Message struct {
	Channel string `json:"channel"`
	TS      string `json:"ts,omitempty"`
	// Text is the notification and accessibility fallback of the blocks.
	Text     string   `json:"text"`
	Blocks   []Block  `json:"blocks"`
	Metadata Metadata `json:"metadata"`
}

// Metadata is Slack message metadata: it lets sextant recognise its own
// messages (in events and conversations.history) by correlation key.
type Metadata struct {
	EventType    string          `json:"event_type"`
	EventPayload MetadataPayload `json:"event_payload"`
}

// MetadataPayload is the event_payload of Metadata.
type MetadataPayload struct {
	Key        string `json:"key"`
	ActionID   string `json:"action_id"`
	ApprovalID string `json:"approval_id,omitempty"`
}

// Block is one Block Kit layout block: header, section, actions or context.
type Block struct {
	Type    string `json:"type"`
	BlockID string `json:"block_id,omitempty"`
	Text    *Text  `json:"text,omitempty"`
	Fields  []Text `json:"fields,omitempty"`
	// Elements are Buttons in an actions block and Texts in a context
	// block.
	Elements []any `json:"elements,omitempty"`
}

// Text is a Block Kit text object, "plain_text" or "mrkdwn". Verbatim
// mrkdwn is not scanned for bare URLs, channel names or mentions.
type Text struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Verbatim bool   `json:"verbatim,omitempty"`
}

// Button is a Block Kit button element.
type Button struct {
	Type     string   `json:"type"`
	ActionID string   `json:"action_id"`
	Text     Text     `json:"text"`
	Style    string   `json:"style,omitempty"`
	Value    string   `json:"value"`
	Confirm  *Confirm `json:"confirm,omitempty"`
}

// Confirm is the dialog Slack shows before a button's click is sent.
type Confirm struct {
	Title   Text `json:"title"`
	Text    Text `json:"text"`
	Confirm Text `json:"confirm"`
	Deny    Text `json:"deny"`
}

// NewMessage builds the message about m for channel: a header with the
// headline, the action (title, summary, priority, score, status, owner,
// artifact, package), its vulnerabilities, its fix commands in a code
// block, its notes, a link to sextant, and then either Approve and Reject
// buttons carrying m.ApprovalID or, once m.Decided is set, a context line
// saying who decided what. Every piece of finding text is escaped. It is a
// pure function of its arguments.
func NewMessage(channel string, m sextant.ChatMessage) Message {
	c := m.Content
	a := c.Action
	headline := oneLine(m.Text)
	if strings.TrimSpace(headline) == "" {
		headline = a.Priority.String() + ": " + oneLine(a.Title)
	}
	msg := Message{
		Channel: channel,
		Text:    fit(headline, maxText),
		Metadata: Metadata{EventType: EventType, EventPayload: MetadataPayload{
			Key:        sextant.CorrelationKey(a.ID),
			ActionID:   a.ID,
			ApprovalID: m.ApprovalID,
		}},
	}
	msg.Blocks = append(msg.Blocks, Block{Type: "header", Text: &Text{Type: "plain_text", Text: fit(headline, maxHeader)}})

	lead := "*" + fit(oneLine(a.Title), 500) + "*"
	if s := strings.TrimSpace(c.Summary); s != "" {
		lead += "\n" + fit(s, maxText-utf8.RuneCountInString(lead)-1)
	}
	msg.Blocks = append(msg.Blocks, Block{Type: "section", Text: mrkdwn(lead), Fields: fields(c)})

	if len(a.Vulnerabilities) > 0 {
		msg.Blocks = append(msg.Blocks, Block{Type: "section", Text: mrkdwn(vulnerabilities(a.Vulnerabilities))})
	}
	if len(a.Commands) > 0 {
		msg.Blocks = append(msg.Blocks, Block{Type: "section", Text: mrkdwn(commands(a.Commands))})
	}
	if len(a.Notes) > 0 {
		msg.Blocks = append(msg.Blocks, Block{Type: "section", Text: mrkdwn(notes(a.Notes))})
	}
	if u := linkURL(c.Link); u != "" {
		msg.Blocks = append(msg.Blocks, Block{Type: "section", Text: mrkdwn("<" + u + "|Open in sextant>")})
	}
	switch {
	case strings.TrimSpace(m.Decided) != "":
		msg.Blocks = append(msg.Blocks, Block{Type: "context", Elements: []any{mrkdwn(fit(m.Decided, maxText))}})
	case m.ApprovalID != "":
		msg.Blocks = append(msg.Blocks, Block{Type: "actions", BlockID: ApprovalBlockID, Elements: []any{
			Button{
				Type: "button", ActionID: ActionApprove, Style: "primary", Value: m.ApprovalID,
				Text: Text{Type: "plain_text", Text: "Approve"},
				Confirm: &Confirm{
					Title:   Text{Type: "plain_text", Text: "Approve this action?"},
					Text:    Text{Type: "plain_text", Text: "sextant records your approval and carries the action out."},
					Confirm: Text{Type: "plain_text", Text: "Approve"},
					Deny:    Text{Type: "plain_text", Text: "Cancel"},
				},
			},
			Button{
				Type: "button", ActionID: ActionReject, Style: "danger", Value: m.ApprovalID,
				Text: Text{Type: "plain_text", Text: "Reject"},
			},
		}})
	}
	return msg
}

func mrkdwn(s string) *Text { return &Text{Type: "mrkdwn", Text: s, Verbatim: true} }

// fields are the facts of the section under the header, at most ten.
func fields(c sextant.TicketContent) []Text {
	a := c.Action
	var fs []Text
	add := func(label, value string) {
		if strings.TrimSpace(value) == "" || len(fs) == maxFields {
			return
		}
		head := "*" + label + "*\n"
		fs = append(fs, Text{Type: "mrkdwn", Verbatim: true, Text: head + fit(oneLine(value), maxField-utf8.RuneCountInString(head))})
	}
	add("Priority", a.Priority.String())
	add("Score", strconv.FormatFloat(a.Score, 'f', 1, 64))
	add("Status", string(c.Status))
	add("Findings", strconv.Itoa(c.Findings))
	add("Owner", c.Owner)
	add("Artifact", a.Artifact)
	if a.Package != "" {
		pkg := a.Package
		if a.InstalledVersion != "" {
			pkg += " " + a.InstalledVersion
		}
		if a.TargetVersion != "" {
			pkg += " → " + a.TargetVersion
		}
		add("Package", pkg)
	}
	return fs
}

var (
	cveID  = regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]{4,7}$`)
	ghsaID = regexp.MustCompile(`^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$`)
)

// vulnerabilities lists the IDs, each linked to its advisory when it has
// the exact shape of a CVE or GHSA ID (so no other text can become a link).
func vulnerabilities(ids []string) string {
	head := fmt.Sprintf("*Vulnerabilities (%d)*\n", len(ids))
	parts := make([]string, 0, len(ids))
	for _, id := range ids {
		switch {
		case cveID.MatchString(id):
			parts = append(parts, "<https://nvd.nist.gov/vuln/detail/"+id+"|"+id+">")
		case ghsaID.MatchString(id):
			parts = append(parts, "<https://github.com/advisories/"+id+"|"+id+">")
		default:
			parts = append(parts, fit(oneLine(id), 200))
		}
	}
	return head + joinWithin(parts, ", ", maxText-utf8.RuneCountInString(head), "and %d more")
}

// commands puts the fix commands in a code block, one per line.
func commands(cmds []string) string {
	parts := make([]string, 0, len(cmds))
	for _, c := range cmds {
		parts = append(parts, fit(codeSafe(c), maxText-100))
	}
	const head, open, close = "*Fix*\n", "```", "```"
	budget := maxText - len(head) - len(open) - len(close) - 1
	body := joinWithin(parts, "\n", budget, "# … %d more commands in sextant")
	return head + open + body + close
}

func notes(ns []string) string {
	const head = "*Notes*\n"
	parts := make([]string, 0, len(ns))
	for _, n := range ns {
		parts = append(parts, "• "+fit(oneLine(n), 1000))
	}
	return head + joinWithin(parts, "\n", maxText-len(head), "… %d more")
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

// linkURL returns u made safe for <url|text>, or "" unless it is an
// absolute http(s) URL.
func linkURL(u string) string {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return ""
	}
	s := strings.ReplaceAll(p.String(), "|", "%7C")
	if utf8.RuneCountInString(s) > 2000 {
		return ""
	}
	return escaper.Replace(s)
}

// escaper turns Slack's three control characters into the entities Slack
// expects: with them escaped, text cannot open a link, a user or channel
// mention (<@U…>, <!channel>) or a date token.
var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// fit cleans and escapes s and cuts it, between characters of s, so that
// the result is at most limit characters, ending in "…" when cut.
func fit(s string, limit int) string {
	s = clean(s)
	e := escaper.Replace(s)
	if utf8.RuneCountInString(e) <= limit {
		return e
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		piece := escaper.Replace(string(r))
		w := utf8.RuneCountInString(piece)
		if n+w > limit-1 {
			break
		}
		b.WriteString(piece)
		n += w
	}
	b.WriteString("…")
	return b.String()
}

// clean makes untrusted text printable: invalid UTF-8 is replaced, control
// characters other than newline and tab become spaces, and bidirectional
// overrides (which can make a command read differently from what it is)
// are dropped.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
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

// oneLine is clean with line breaks and tabs turned into spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, clean(s))
}

// codeSafe keeps a command from closing its code block: a run of three
// backquotes is broken with a zero-width space.
func codeSafe(s string) string {
	s = clean(s)
	for strings.Contains(s, "```") {
		s = strings.ReplaceAll(s, "```", "``\u200b`")
	}
	return s
}
