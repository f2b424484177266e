package runtime

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
)

// WriteJSON writes the report as the sextant.investigate/v1 JSON document.
func WriteJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// Command lines hold > and &: keep them readable.
	enc.SetEscapeHTML(false)
	return enc.Encode(rep)
}

// safe makes untrusted text harmless on a terminal: control characters
// (escape sequences, carriage returns, bidirectional overrides) are
// written as \x.. or \u.... escapes.
func safe(s string) string {
	if !strings.ContainsFunc(s, unsafeRune) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unsafeRune(r) {
			if r < 0x100 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// safeLines is safe for text of several lines: it keeps the line breaks.
func safeLines(s string) string {
	ls := strings.Split(s, "\n")
	for i, l := range ls {
		ls[i] = safe(l)
	}
	return strings.Join(ls, "\n")
}

func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || unicode.In(r, unicode.Zl, unicode.Zp)
}

func span(inc *Incident) string {
	if inc.Start.IsZero() {
		return "time unknown"
	}
	const layout = "2006-01-02 15:04:05"
	s := inc.Start.UTC().Format(layout)
	if !inc.End.Equal(inc.Start) {
		end := inc.End.UTC().Format(layout)
		if end[:10] == s[:10] {
			end = end[11:]
		}
		s += " → " + end + " UTC (" + inc.End.Sub(inc.Start).Round(time.Millisecond).String() + ")"
	} else {
		s += " UTC"
	}
	return s
}

func ruleList(inc *Incident, n int) string {
	var rs []string
	for _, r := range inc.Rules[:min(n, len(inc.Rules))] {
		t := safe(r.Rule) + " (" + r.Priority.String() + ")"
		if r.Count > 1 {
			t += fmt.Sprintf(" ×%d", r.Count)
		}
		rs = append(rs, t)
	}
	if m := len(inc.Rules) - len(rs); m > 0 {
		rs = append(rs, fmt.Sprintf("%d more", m))
	}
	return strings.Join(rs, ", ")
}

func signalList(inc *Incident) string {
	var ss []string
	for _, s := range inc.Signals {
		ss = append(ss, fmt.Sprintf("%s %s", s.ID, num(s.Weight)))
	}
	if len(ss) == 0 {
		return "none"
	}
	return strings.Join(ss, ", ")
}

// wrap breaks text into lines of at most width columns (0: 100), each
// indented.
func wrap(text, indent string, width int) string {
	if width <= 0 {
		width = 100
	}
	var b strings.Builder
	line := indent
	for _, w := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(w) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += w
	}
	if len(line) > len(indent) {
		b.WriteString(line + "\n")
	}
	return b.String()
}

func indentText(text, indent string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		b.WriteString(indent + l + "\n")
	}
	return b.String()
}

// WriteTable writes the report for a terminal, width columns wide (0:
// 100). Untrusted text is escaped.
func WriteTable(w io.Writer, rep *Report, width int) error {
	var b strings.Builder
	for i, inc := range rep.Incidents {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "#%d  %s  confidence %s  severity %d  %s\n", i+1, strings.ToUpper(string(inc.Verdict)), num(inc.Confidence), inc.Severity, inc.ID)
		subj := safe(inc.Subject.String())
		if inc.Subject.Image != "" {
			subj += ", image " + safe(inc.Subject.Image)
		}
		if inc.Subject.Hostname != "" && inc.Subject.Pod != "" {
			subj += ", node " + safe(inc.Subject.Hostname)
		}
		fmt.Fprintf(&b, "    %s\n", subj)
		fmt.Fprintf(&b, "    %s, %s, highest priority %s\n", span(inc), plural(inc.EventCount, "event", "events"), inc.Priority)
		b.WriteString(wrap("rules: "+ruleList(inc, 6), "    ", width))
		b.WriteString(wrap("signals: "+signalList(inc), "    ", width))
		if wl := inc.Workload; wl != nil {
			t := "workload: " + wl.Ref.String()
			if wl.Owner != "" {
				t += ", owner " + safe(wl.Owner)
			}
			if wl.Environment != "" {
				t += ", " + safe(wl.Environment)
			}
			if wl.Exposed {
				t += ", exposed"
			}
			if wl.Privileged {
				t += ", privileged"
			}
			b.WriteString(wrap(t, "    ", width))
		}
		if v := inc.Vulns; v != nil {
			t := fmt.Sprintf("image vulnerabilities: %s in %s", plural(v.Findings, "finding", "findings"), plural(v.Actions, "action", "actions"))
			if len(v.Top) > 0 {
				t += ", top: " + v.Top[0].Priority + " " + safe(v.Top[0].Title)
			}
			b.WriteString(wrap(t, "    ", width))
		}
		if len(inc.Processes) > 0 {
			b.WriteString("    processes:\n")
			for _, p := range inc.Processes[:min(8, len(inc.Processes))] {
				t := safe(p.Name)
				if p.Parent != "" {
					t += " ← " + safe(p.Parent)
				}
				if p.User != "" {
					t += " (" + safe(p.User) + ")"
				}
				if p.Cmdline != "" {
					t += ": " + safe(clip(p.Cmdline, 160))
				}
				fmt.Fprintf(&b, "      %s\n", t)
			}
			if n := len(inc.Processes) - 8; n > 0 {
				fmt.Fprintf(&b, "      … %d more\n", n)
			}
		}
		if len(inc.Destinations) > 0 {
			var ds []string
			for _, d := range inc.Destinations[:min(6, len(inc.Destinations))] {
				ds = append(ds, safe(hostPort(d.Address, d.Port))+" ("+d.Scope+")")
			}
			b.WriteString(wrap("destinations: "+strings.Join(ds, ", "), "    ", width))
		}
		if len(inc.Files) > 0 {
			var fs []string
			for _, f := range inc.Files[:min(6, len(inc.Files))] {
				mode := "read"
				if f.Write {
					mode = "write"
				}
				fs = append(fs, safe(clip(f.Path, 120))+" ("+mode+")")
			}
			b.WriteString(wrap("files: "+strings.Join(fs, ", "), "    ", width))
		}
		if n := inc.Narrative; n != nil {
			b.WriteString("    narrative (" + n.Provider + "/" + n.Model + "):\n")
			b.WriteString(wrap("What happened: "+safe(n.WhatHappened), "      ", width))
			b.WriteString(wrap("Involved: "+safe(n.Involved), "      ", width))
			b.WriteString(wrap("Why: "+safe(n.WhyClassification), "      ", width))
			b.WriteString(wrap("What to do: "+safe(n.WhatToDo), "      ", width))
		}
		if len(inc.Drafts) > 0 {
			b.WriteString("    drafts — NOT executed, each needs approval:\n")
			for j, d := range inc.Drafts {
				fmt.Fprintf(&b, "      [%d] %s (%s)\n", j+1, safe(d.Title), d.Format)
				b.WriteString(indentText(safeLines(d.Text), "          "))
				for _, n := range d.Notes {
					b.WriteString(wrap("note: "+safe(n), "          ", width))
				}
			}
		}
	}
	if len(rep.Incidents) > 0 {
		b.WriteString("\n")
	}
	b.WriteString(summaryLine(rep) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func summaryLine(rep *Report) string {
	s := rep.Summary
	var vs []string
	for _, v := range []Verdict{Malicious, Suspicious, Benign, KnownBenign} {
		vs = append(vs, fmt.Sprintf("%s %d", v, s.ByVerdict[string(v)]))
	}
	return fmt.Sprintf("%s from %s → %s (%s), window %s",
		plural(s.Events, "event", "events"), plural(len(rep.Inputs), "input", "inputs"),
		plural(s.Incidents, "incident", "incidents"), strings.Join(vs, ", "), rep.Window)
}

// mdText escapes text for Markdown prose: the characters that would start
// markup, and control characters.
func mdText(s string) string {
	s = safe(s)
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>#|~!", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mdCode writes s as a code span, with a fence of backticks longer than
// any run inside it.
func mdCode(s string) string {
	s = safe(s)
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	return fence + " " + s + " " + fence
}

// mdBlock writes s as a fenced code block.
func mdBlock(s, lang string) string {
	s = safeLines(strings.ReplaceAll(s, "\t", "    "))
	fence := "```"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	return fence + lang + "\n" + strings.TrimRight(s, "\n") + "\n" + fence + "\n"
}

// WriteMarkdown writes the report as Markdown, for a ticket or a chat.
func WriteMarkdown(w io.Writer, rep *Report) error {
	var b strings.Builder
	b.WriteString("# Runtime investigation\n\n")
	b.WriteString(mdText(summaryLine(rep)) + "\n")
	for i, inc := range rep.Incidents {
		fmt.Fprintf(&b, "\n## %d. %s — %s\n\n", i+1, strings.ToUpper(string(inc.Verdict)), mdText(inc.Subject.String()))
		fmt.Fprintf(&b, "- **Incident:** %s, confidence %s, severity %d\n", inc.ID, num(inc.Confidence), inc.Severity)
		fmt.Fprintf(&b, "- **When:** %s, %s, highest priority %s\n", mdText(span(inc)), plural(inc.EventCount, "event", "events"), inc.Priority)
		if inc.Subject.Image != "" {
			fmt.Fprintf(&b, "- **Image:** %s\n", mdCode(inc.Subject.Image))
		}
		fmt.Fprintf(&b, "- **Rules:** %s\n", mdText(ruleList(inc, 10)))
		fmt.Fprintf(&b, "- **Signals:** %s\n", mdText(signalList(inc)))
		if wl := inc.Workload; wl != nil {
			fmt.Fprintf(&b, "- **Workload:** %s", mdText(wl.Ref.String()))
			if wl.Owner != "" {
				fmt.Fprintf(&b, ", owner %s", mdText(wl.Owner))
			}
			if wl.Exposed {
				fmt.Fprintf(&b, ", exposed (%s)", mdText(strings.Join(wl.Exposures, "; ")))
			}
			if wl.Privileged {
				b.WriteString(", privileged")
			}
			b.WriteString("\n")
		}
		if n := inc.Narrative; n != nil {
			fmt.Fprintf(&b, "\n**What happened.** %s\n\n**Involved.** %s\n\n**Why %s.** %s\n\n**What to do.** %s\n",
				mdText(n.WhatHappened), mdText(n.Involved), inc.Verdict, mdText(n.WhyClassification), mdText(n.WhatToDo))
			fmt.Fprintf(&b, "\n_Written by %s/%s._\n", mdText(n.Provider), mdText(n.Model))
		}
		if len(inc.Processes) > 0 {
			b.WriteString("\n**Processes** (command lines are untrusted text):\n\n")
			for _, p := range inc.Processes[:min(10, len(inc.Processes))] {
				t := "- " + mdCode(p.Name)
				if p.Parent != "" {
					t += " ← " + mdCode(p.Parent)
				}
				if p.Cmdline != "" {
					t += ": " + mdCode(clip(p.Cmdline, 200))
				}
				b.WriteString(t + "\n")
			}
		}
		if len(inc.Drafts) > 0 {
			b.WriteString("\n### Drafts — not executed, each needs approval\n")
			for j, d := range inc.Drafts {
				fmt.Fprintf(&b, "\n%d. **%s**\n\n", j+1, mdText(d.Title))
				lang := "sh"
				if d.Format == "yaml" {
					lang = "yaml"
				}
				b.WriteString(mdBlock(d.Text, lang))
				for _, n := range d.Notes {
					b.WriteString("\n> " + mdText(n) + "\n")
				}
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
