package servicenow

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sextant-dev/sextant"
)

// Field limits of the incident table as shipped; longer values are cut
// (ServiceNow would truncate them itself, or refuse them on a custom table).
const (
	// MaxShortDescription is the length of short_description, in characters.
	MaxShortDescription = 160
	// MaxDescription is the length of description, in characters.
	MaxDescription = 4000
	// maxVulnerabilities is how many vulnerability IDs the description
	// lists before "… and N more": a base-image rebuild fixes hundreds.
	maxVulnerabilities = 60
)

// CorrelationDisplay is the correlation_display sextant sets on the records
// it creates, so that people can see which integration owns them.
const CorrelationDisplay = "sextant"

// Record is the body of a Table API write: ServiceNow takes every value as
// a string ("state": "6", booleans "true").
type Record map[string]string

// CreateRecord is the record Create posts for c: short_description and
// description from the action, urgency and impact from its priority,
// correlation_id from sextant.CorrelationKey, the assignment group and the
// extra fields of cfg. cfg's defaults are applied first.
func CreateRecord(cfg Config, c sextant.TicketContent) Record {
	cfg = cfg.withDefaults()
	r := Record{}
	for k, v := range cfg.Fields {
		r[k] = clean(v)
	}
	if cfg.AssignmentGroup != "" {
		r["assignment_group"] = cfg.AssignmentGroup
	}
	r["short_description"] = ShortDescription(c)
	r["description"] = Description(c)
	setPriority(r, cfg, c.Action.Priority)
	r["correlation_id"] = sextant.CorrelationKey(c.Action.ID)
	r["correlation_display"] = CorrelationDisplay
	return r
}

// CommentRecord is the update Comment sends: the comment appended to the
// journal field cfg.CommentField (work_notes by default), and the fields
// sextant owns (short_description, description, urgency, impact) set to the
// action as it is now. Assignment and the extra fields are left as people
// may have changed them. An empty comment only refreshes the fields.
func CommentRecord(cfg Config, c sextant.TicketContent, comment string) Record {
	cfg = cfg.withDefaults()
	r := Record{
		"short_description": ShortDescription(c),
		"description":       Description(c),
	}
	setPriority(r, cfg, c.Action.Priority)
	if comment = journal(comment); comment != "" {
		r[cfg.CommentField] = comment
	}
	return r
}

// setPriority sets urgency and impact for p; a priority outside P0..P3
// (which sextant does not make) leaves them to the instance.
func setPriority(r Record, cfg Config, p sextant.Priority) {
	if v := cfg.UrgencyMap[p]; v != "" {
		r["urgency"] = v
	}
	if v := cfg.ImpactMap[p]; v != "" {
		r["impact"] = v
	}
}

// DefaultCloseNotes and DefaultReopenComment are written when Close or
// Reopen is given no comment: ServiceNow requires close notes to resolve.
const (
	DefaultCloseNotes    = "Resolved by sextant: no finding of this action is open any more."
	DefaultReopenComment = "Reopened by sextant: a finding of this action is open again."
)

// CloseRecord is the update Close sends: state set to cfg.ResolvedState
// with cfg.CloseCode and the comment as close_notes.
func CloseRecord(cfg Config, comment string) Record {
	cfg = cfg.withDefaults()
	notes := journal(comment)
	if notes == "" {
		notes = DefaultCloseNotes
	}
	return Record{
		"state":       cfg.ResolvedState,
		"close_code":  cfg.CloseCode,
		"close_notes": notes,
	}
}

// ReopenRecord is the update Reopen sends: state set to cfg.ReopenState and
// the comment appended to cfg.CommentField.
func ReopenRecord(cfg Config, comment string) Record {
	cfg = cfg.withDefaults()
	note := journal(comment)
	if note == "" {
		note = DefaultReopenComment
	}
	return Record{
		"state":          cfg.ReopenState,
		cfg.CommentField: note,
	}
}

// ShortDescription is the record's one-line title: the action's title,
// cut to MaxShortDescription characters.
func ShortDescription(c sextant.TicketContent) string {
	t := oneLine(c.Action.Title)
	if t == "" {
		t = "sextant action " + oneLine(c.Action.ID)
	}
	return truncate(t, MaxShortDescription, "…")
}

// Description is the record's plain-text body: what to change, the
// vulnerabilities it fixes, the exact commands, the score and its factors,
// the owner and the link to sextant, cut to MaxDescription characters.
// Text from findings is cleaned of control characters and of the [code]
// tags ServiceNow would render as HTML in journal fields.
func Description(c sextant.TicketContent) string {
	a := c.Action
	var b strings.Builder
	line := func(format string, args ...any) {
		fmt.Fprintf(&b, format, args...)
		b.WriteByte('\n')
	}
	line("%s", ShortDescription(c))
	line("")
	line("Priority: %s (risk score %s of 100)", a.Priority, num(a.Score))
	if c.Status != "" {
		line("Status: %s", oneLine(string(c.Status)))
	}
	if a.Artifact != "" {
		line("Artifact: %s", oneLine(a.Artifact))
	}
	if a.Package != "" {
		p := oneLine(a.Package)
		if a.Ecosystem != "" {
			p += " (" + oneLine(a.Ecosystem) + ")"
		}
		switch {
		case a.InstalledVersion != "" && a.TargetVersion != "":
			p += " " + oneLine(a.InstalledVersion) + " -> " + oneLine(a.TargetVersion)
		case a.InstalledVersion != "":
			p += " " + oneLine(a.InstalledVersion)
		}
		line("Package: %s", p)
	}
	if c.Owner != "" {
		line("Owner: %s", oneLine(c.Owner))
	}
	if c.Findings > 0 {
		line("Findings: %d", c.Findings)
	}
	if a.RiskRemoved > 0 {
		line("Risk removed: %s", num(a.RiskRemoved))
	}
	if s := clean(c.Summary); strings.TrimSpace(s) != "" {
		line("")
		line("Summary:")
		line("%s", strings.TrimSpace(s))
	}
	if len(a.Vulnerabilities) > 0 {
		line("")
		line("Vulnerabilities (%d):", len(a.Vulnerabilities))
		for i, v := range a.Vulnerabilities {
			if i == maxVulnerabilities {
				line("- … and %d more", len(a.Vulnerabilities)-i)
				break
			}
			line("- %s", oneLine(v))
		}
	}
	if len(a.Commands) > 0 {
		line("")
		line("Fix commands:")
		for _, cmd := range a.Commands {
			for _, l := range strings.Split(strings.TrimRight(clean(cmd), "\n"), "\n") {
				line("    %s", l)
			}
		}
	}
	if len(a.Notes) > 0 {
		line("")
		line("Notes:")
		for _, n := range a.Notes {
			line("- %s", oneLine(n))
		}
	}
	if len(a.Factors) > 0 {
		line("")
		line("Score factors:")
		for _, f := range a.Factors {
			s := fmt.Sprintf("- %s = %s (weight %s, %+.1f)", oneLine(f.Name), oneLine(fmt.Sprint(f.Value)), num(f.Weight), f.Contribution)
			if f.Evidence != "" {
				s += ": " + oneLine(f.Evidence)
			}
			line("%s", s)
		}
	}
	if c.Link != "" {
		line("")
		line("Open in sextant: %s", oneLine(c.Link))
	}
	line("")
	line("Managed by sextant (action %s, correlation %s); sextant rewrites this description when the action changes.", oneLine(a.ID), sextant.CorrelationKey(a.ID))
	return truncate(strings.TrimRight(b.String(), "\n"), MaxDescription, "\n[cut: the full plan is in sextant]")
}

// num formats a score-like number with at most one decimal.
func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// journal cleans a comment for a journal field.
func journal(s string) string { return truncate(strings.TrimSpace(clean(s)), MaxDescription, "…") }

// oneLine cleans s and folds its whitespace, newlines included, to single
// spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(clean(s)), " ") }

// clean makes untrusted text safe to show as plain text in ServiceNow:
// valid UTF-8, no control characters but newline and tab, no bidirectional
// overrides, and no [code] tags, which journal fields render as raw HTML.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
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
	return neutraliseCodeTags(s)
}

// neutraliseCodeTags rewrites "[code]" and "[/code]", in any case, as
// "(code)" and "(/code)".
func neutraliseCodeTags(s string) string {
	if !strings.Contains(s, "]") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case hasPrefixFold(s[i:], "[code]"):
			b.WriteString("(code)")
			i += len("[code]")
		case hasPrefixFold(s[i:], "[/code]"):
			b.WriteString("(/code)")
			i += len("[/code]")
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String()
}

// hasPrefixFold reports whether s begins with the lower-case ASCII prefix,
// ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
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
