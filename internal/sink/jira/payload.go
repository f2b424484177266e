package jira

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sextant-dev/sextant"
)

// Limits on what sextant writes into an issue. Jira refuses a summary over
// 255 characters and a description over 32,767; the smaller limits keep
// every description well under that, whatever a scanner reported.
const (
	// MaxSummary is Jira's limit on the summary, in characters.
	MaxSummary = 255
	// maxVulnerabilities is how many vulnerability IDs are listed before
	// "… and N more": a base-image rebuild fixes hundreds.
	maxVulnerabilities = 60
	maxFactors         = 5
	maxNotes           = 10
	maxCommands        = 10
	maxText            = 4000 // the AI summary, a comment
	maxLine            = 500  // one fact, note or evidence
	maxCommand         = 2000
)

// BuildCreate returns the JSON body of the issue create request for c: the
// action's title as summary, a description in the flavor's format (ADF on
// Cloud, wiki markup on Data Center) with the fix, the vulnerabilities, the
// commands, the score and its top factors, the owner and the link to
// sextant; the labels of cfg plus Label and the action's correlation key;
// the priority mapped by cfg.PriorityMap, cfg's components and custom
// fields. cfg's defaults are applied first; errors are EINVALID.
func BuildCreate(cfg Config, c sextant.TicketContent) ([]byte, error) {
	cfg = cfg.withDefaults()
	if err := cfg.checkPayload(); err != nil {
		return nil, err
	}
	key, err := correlationKey(c.Action.ID)
	if err != nil {
		return nil, err
	}
	fields := make(map[string]any, len(cfg.CustomFields)+8)
	for k, v := range cfg.CustomFields {
		fields[k] = v
	}
	fields["project"] = map[string]string{"key": cfg.Project}
	fields["issuetype"] = map[string]string{"name": cfg.IssueType}
	fields["summary"] = Summary(c)
	fields["labels"] = labels(cfg.Labels, key)
	if name := cfg.PriorityMap[c.Action.Priority]; name != "" {
		fields["priority"] = map[string]string{"name": name}
	}
	if len(cfg.Components) > 0 {
		cs := make([]map[string]string, 0, len(cfg.Components))
		for _, name := range cfg.Components {
			cs = append(cs, map[string]string{"name": strings.TrimSpace(name)})
		}
		fields["components"] = cs
	}
	fields["description"] = render(cfg.Flavor, description(c, key))
	return marshal(map[string]any{"fields": fields})
}

// BuildComment returns the JSON body of an add-comment request: {"body":
// …} with text as ADF paragraphs (Cloud) or escaped wiki markup (Data
// Center), one per line. Text is untrusted: it cannot form markup.
// An empty text is EINVALID: Jira refuses empty comments.
func BuildComment(cfg Config, text string) ([]byte, error) {
	cfg = cfg.withDefaults()
	if !cfg.Flavor.valid() {
		return nil, sextant.Errorf(sextant.EINVALID, "jira: unknown flavor %q: want cloud or datacenter", cfg.Flavor)
	}
	body := commentDoc(text)
	if len(body) == 0 {
		return nil, sextant.Errorf(sextant.EINVALID, "jira: empty comment")
	}
	return marshal(map[string]any{"body": render(cfg.Flavor, body)})
}

// BuildTransition returns the JSON body that moves an issue through the
// transition with the given ID, adding text as a comment when it is not
// empty.
func BuildTransition(cfg Config, transitionID, text string) ([]byte, error) {
	return buildTransition(cfg, map[string]string{"id": transitionID}, text)
}

func buildTransition(cfg Config, transition map[string]string, text string) ([]byte, error) {
	cfg = cfg.withDefaults()
	if !cfg.Flavor.valid() {
		return nil, sextant.Errorf(sextant.EINVALID, "jira: unknown flavor %q: want cloud or datacenter", cfg.Flavor)
	}
	req := map[string]any{"transition": transition}
	if body := commentDoc(text); len(body) > 0 {
		req["update"] = map[string]any{
			"comment": []any{map[string]any{"add": map[string]any{"body": render(cfg.Flavor, body)}}},
		}
	}
	return marshal(req)
}

// Preview returns the body sextant would send for an operation of the
// dispatcher ("create", "comment", "close" or "reopen"), for observe mode.
// A close or reopen names its transition ({"transition": {"name":
// "Done"}}): the ID it is sent with is looked up in the issue's workflow
// when it is sent. A comment without text previews as JSON null, as
// Comment then sends nothing.
func Preview(cfg Config, op string, c sextant.TicketContent, comment string) ([]byte, error) {
	d := cfg.withDefaults()
	switch op {
	case "create":
		return BuildCreate(cfg, c)
	case "comment":
		if len(commentDoc(comment)) == 0 {
			return []byte("null"), nil
		}
		return BuildComment(cfg, comment)
	case "close":
		return buildTransition(cfg, map[string]string{"name": d.CloseTransition}, comment)
	case "reopen":
		return buildTransition(cfg, map[string]string{"name": d.ReopenTransition}, comment)
	}
	return nil, sextant.Errorf(sextant.EINVALID, "jira: preview: unknown operation %q", op)
}

// marshal encodes a request body. HTML is not escaped: commands hold &&
// and <, and Jira reads JSON, not HTML.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only a custom field value can fail to encode.
		return nil, sextant.Errorf(sextant.EINVALID, "jira: encode request: %v", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// correlationKey returns the label that finds the action's issue, checked
// to be a label Jira accepts and safe to quote in JQL.
func correlationKey(actionID string) (string, error) {
	if strings.TrimSpace(actionID) == "" {
		return "", sextant.Errorf(sextant.EINVALID, "jira: action has no ID")
	}
	key := sextant.CorrelationKey(actionID)
	if !labelRE.MatchString(key) {
		return "", sextant.Errorf(sextant.EINVALID, "jira: action ID %q does not make a valid label", oneLine(actionID, 80))
	}
	return key, nil
}

// labels returns the configured labels, Label and the correlation key, in
// that order, each once.
func labels(configured []string, key string) []string {
	out := make([]string, 0, len(configured)+2)
	for _, l := range append(slices.Clone(configured), Label, key) {
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// Summary is the issue's summary: the action's title on one line, cut to
// MaxSummary characters. The summary field is plain text in both flavors.
func Summary(c sextant.TicketContent) string {
	t := oneLine(c.Action.Title, MaxSummary)
	if t == "" {
		t = oneLine("sextant action "+c.Action.ID, MaxSummary)
	}
	return t
}

// The description is built once as a small document model and rendered to
// ADF or wiki markup, so that both flavors say the same thing.

type style int

const (
	plain style = iota
	strong
	em
	code
	link
)

// span is a run of inline text. Text is untrusted unless built by this
// package from constants; href is only ever built by this package.
type span struct {
	text  string
	style style
	href  string
}

type blockKind int

const (
	paragraph blockKind = iota
	heading
	bullets
	codeBlock
)

type block struct {
	kind  blockKind
	spans []span   // paragraph, heading
	items [][]span // bullets
	code  string   // codeBlock
}

func text(s string) span             { return span{text: s} }
func bold(s string) span             { return span{text: s, style: strong} }
func mono(s string) span             { return span{text: s, style: code} }
func italic(s string) span           { return span{text: s, style: em} }
func anchor(label, href string) span { return span{text: label, style: link, href: href} }
func para(spans ...span) block       { return block{kind: paragraph, spans: spans} }
func head(s string) block            { return block{kind: heading, spans: []span{text(s)}} }

// description is what an issue says about its action.
func description(c sextant.TicketContent, key string) []block {
	a := c.Action
	var doc []block

	facts := [][]span{
		{bold("Priority: "), text(fmt.Sprintf("%s, risk score %s of 100", a.Priority, num(a.Score)))},
	}
	if a.Artifact != "" {
		facts = append(facts, []span{bold("Artifact: "), mono(oneLine(a.Artifact, maxLine))})
	}
	if a.Package != "" {
		p := []span{bold("Package: "), mono(oneLine(a.Package, maxLine))}
		sep := " "
		if eco := oneLine(a.Ecosystem, 50); eco != "" {
			sep = " (" + eco + ") "
		}
		if a.InstalledVersion != "" {
			p = append(p, text(sep), mono(oneLine(a.InstalledVersion, maxLine)))
		} else if sep != " " {
			p = append(p, text(strings.TrimSuffix(sep, " ")))
		}
		if a.TargetVersion != "" {
			p = append(p, text(" → "), mono(oneLine(a.TargetVersion, maxLine)))
		}
		facts = append(facts, p)
	}
	if c.Findings > 0 || c.Status != "" {
		f := []span{bold("Findings: "), text(strconv.Itoa(c.Findings))}
		if c.Status != "" {
			f = append(f, text(" ("+oneLine(string(c.Status), 20)+")"))
		}
		facts = append(facts, f)
	}
	if c.Owner != "" {
		facts = append(facts, []span{bold("Owner: "), text(oneLine(c.Owner, maxLine))})
	}
	if a.RiskRemoved > 0 {
		facts = append(facts, []span{bold("Risk removed: "), text(num(a.RiskRemoved))})
	}
	doc = append(doc, block{kind: bullets, items: facts})

	if paras := paragraphs(c.Summary, maxText); len(paras) > 0 {
		doc = append(doc, head("Summary"))
		for _, p := range paras {
			doc = append(doc, para(text(p)))
		}
	}

	if len(a.Vulnerabilities) > 0 {
		doc = append(doc, head(fmt.Sprintf("Vulnerabilities (%d)", len(a.Vulnerabilities))))
		var items [][]span
		for i, v := range a.Vulnerabilities {
			if i == maxVulnerabilities {
				items = append(items, []span{italic(fmt.Sprintf("… and %d more, listed in sextant", len(a.Vulnerabilities)-i))})
				break
			}
			items = append(items, []span{advisory(v)})
		}
		doc = append(doc, block{kind: bullets, items: items})
	}

	cmds := slices.DeleteFunc(slices.Clone(a.Commands), func(s string) bool { return strings.TrimSpace(s) == "" })
	if len(cmds) > 0 || len(a.Notes) > 0 {
		doc = append(doc, head("Fix"))
		for i, cmd := range cmds {
			if i == maxCommands {
				doc = append(doc, para(italic(fmt.Sprintf("… and %d more commands, listed in sextant", len(cmds)-i))))
				break
			}
			doc = append(doc, block{kind: codeBlock, code: multiLine(cmd, maxCommand)})
		}
		var notes [][]span
		for i, n := range a.Notes {
			if i == maxNotes {
				notes = append(notes, []span{italic(fmt.Sprintf("… and %d more notes", len(a.Notes)-i))})
				break
			}
			notes = append(notes, []span{text(oneLine(n, maxLine))})
		}
		if len(notes) > 0 {
			doc = append(doc, block{kind: bullets, items: notes})
		}
	}

	doc = append(doc, head("Risk score"))
	top := topFactors(a.Factors)
	intro := fmt.Sprintf("Score %s of 100 (%s).", num(a.Score), a.Priority)
	if len(top) > 0 {
		intro += " Top factors:"
	}
	doc = append(doc, para(text(intro)))
	if len(top) > 0 {
		var items [][]span
		for _, f := range top {
			item := []span{bold(oneLine(f.Name, 80)), text(fmt.Sprintf(" = %s (weight %s, %+.1f)", oneLine(fmt.Sprint(f.Value), 80), num(f.Weight), f.Contribution))}
			if f.Evidence != "" {
				item = append(item, text(": "+oneLine(f.Evidence, maxLine)))
			}
			items = append(items, item)
		}
		doc = append(doc, block{kind: bullets, items: items})
	}

	if href := safeURL(c.Link); href != "" {
		doc = append(doc, para(anchor("Open this action in sextant", href)))
	}
	doc = append(doc, para(italic(fmt.Sprintf("Managed by sextant (action %s). Keep the label %s: it is how sextant finds this issue again.", oneLine(a.ID, 80), key))))
	return doc
}

// commentDoc is a comment: one paragraph per non-blank line.
func commentDoc(s string) []block {
	var doc []block
	for _, l := range strings.Split(multiLine(s, maxText), "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			doc = append(doc, para(text(l)))
		}
	}
	return doc
}

var (
	cveRE  = regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]{4,}$`)
	ghsaRE = regexp.MustCompile(`^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$`)
)

// advisory links a vulnerability ID to its advisory when the ID has a
// known, strict form; any other ID is plain text, so that a link is never
// made from untrusted text.
func advisory(id string) span {
	id = oneLine(id, 100)
	switch {
	case cveRE.MatchString(id):
		return anchor(id, "https://nvd.nist.gov/vuln/detail/"+id)
	case ghsaRE.MatchString(id):
		return anchor(id, "https://github.com/advisories/"+id)
	}
	return text(id)
}

// topFactors returns the factors that moved the score most, largest
// contribution (either way) first.
func topFactors(fs []sextant.Factor) []sextant.Factor {
	fs = slices.DeleteFunc(slices.Clone(fs), func(f sextant.Factor) bool { return f.Contribution == 0 })
	slices.SortStableFunc(fs, func(a, b sextant.Factor) int {
		return cmp.Or(cmp.Compare(math.Abs(b.Contribution), math.Abs(a.Contribution)), strings.Compare(a.Name, b.Name))
	})
	return fs[:min(len(fs), maxFactors)]
}

// num formats a score-like number with at most one decimal.
func num(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "?"
	}
	return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64)
}

// safeURL returns s if it is an absolute http(s) URL with nothing that
// could end a wiki link early, "" otherwise.
func safeURL(s string) string {
	s = strings.TrimSpace(s)
	if !(strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")) || len(s) > 2000 {
		return ""
	}
	if strings.ContainsFunc(s, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || strings.ContainsRune(`|[]{}"'<>\^`+"`", r)
	}) {
		return ""
	}
	return s
}

// clean makes untrusted text safe to carry: valid UTF-8, CRLF and CR as
// LF, no control characters but LF and tab, no bidirectional controls that
// make text read differently from what it is.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\r':
			return '\n'
		case unicode.IsControl(r), isBidi(r), r == '\uFEFF':
			return -1
		}
		return r
	}, s)
}

func isBidi(r rune) bool {
	return (r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069') || r == '\u200E' || r == '\u200F' || r == '\u061C'
}

// oneLine cleans s, folds its whitespace to single spaces and cuts it to
// max characters.
func oneLine(s string, max int) string {
	return truncate(strings.Join(strings.Fields(clean(s)), " "), max)
}

// multiLine cleans s, trims trailing space from its lines and blank lines
// from its ends, and cuts it to max characters.
func multiLine(s string, max int) string {
	lines := strings.Split(clean(s), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRightFunc(l, unicode.IsSpace)
	}
	return truncate(strings.Trim(strings.Join(lines, "\n"), "\n"), max)
}

// paragraphs splits s at blank lines into paragraphs, each on one line.
func paragraphs(s string, max int) []string {
	var out []string
	for _, p := range strings.Split(multiLine(s, max), "\n\n") {
		if p = strings.Join(strings.Fields(p), " "); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// truncate cuts s to at most max characters, ending with "…" when cut.
func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	i, n := 0, 0
	for n < max-1 {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n++
	}
	return strings.TrimRightFunc(s[:i], unicode.IsSpace) + "…"
}
