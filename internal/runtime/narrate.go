package runtime

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/explain"
	"github.com/sextant-dev/sextant/internal/prompt"
	"github.com/sextant-dev/sextant/internal/redact"
)

// PromptID is the prompt a Narrator uses unless told otherwise, and
// AnswerSchema the schema its answers follow.
const (
	PromptID     = "runtime-investigation"
	AnswerSchema = "runtime-investigation.v1"
)

// The offline narrator's identity in Narrative.Provider and Model.
const (
	OfflineProvider = explain.OfflineProvider
	OfflineModel    = "runtime-template-v1"
)

// Narrative is the written account of one incident, with what is needed to
// trace and reproduce it.
type Narrative struct {
	// Text is the four parts below as one paragraph.
	Text              string   `json:"text"`
	WhatHappened      string   `json:"what_happened"`
	Involved          string   `json:"involved"`
	WhyClassification string   `json:"why_classification"`
	WhatToDo          string   `json:"what_to_do"`
	CitedFacts        []string `json:"cited_facts"`
	// Provider and Model wrote the text: "offline" and
	// "runtime-template-v1" for the templates.
	Provider      string `json:"provider"`
	Model         string `json:"model"`
	PromptID      string `json:"prompt_id,omitempty"`
	PromptVersion int    `json:"prompt_version,omitzero"`
	PromptHash    string `json:"prompt_hash,omitempty"`
	// InputHash is the hex SHA-256 of the redacted facts and untrusted
	// text.
	InputHash string        `json:"input_hash"`
	Redaction redact.Report `json:"redaction"`
	// Grounded reports that the text passed the grounding checks.
	Grounded bool `json:"grounded"`
	// Rejected lists why model answers were rejected, "reason: detail".
	Rejected     []string `json:"rejected,omitempty"`
	FallbackFrom string   `json:"fallback_from,omitempty"`
	InputTokens  int      `json:"input_tokens,omitzero"`
	OutputTokens int      `json:"output_tokens,omitzero"`
}

// Answer is the structured answer of the runtime-investigation prompt.
type Answer struct {
	WhatHappened      string   `json:"what_happened"`
	Involved          string   `json:"involved"`
	WhyClassification string   `json:"why_classification"`
	WhatToDo          string   `json:"what_to_do"`
	CitedFacts        []string `json:"cited_facts"`
}

// answerSchema is the JSON Schema of Answer.
const answerSchema = `{
  "type": "object",
  "additionalProperties": false,
  "required": ["what_happened", "involved", "why_classification", "what_to_do", "cited_facts"],
  "properties": {
    "what_happened": {"type": "string"},
    "involved": {"type": "string"},
    "why_classification": {"type": "string"},
    "what_to_do": {"type": "string"},
    "cited_facts": {"type": "array", "items": {"type": "string"}}
  }
}`

// Narrator writes incident narratives. It reuses the explainer's seams: a
// Model behind some provider (nil: the offline templates, nothing leaves
// the machine), the versioned prompts, and redaction of everything sent.
type Narrator struct {
	Model explain.Model
	// Provider names the Model's provider in narratives.
	Provider string
	// Prompts is the prompt registry, needed with a Model.
	Prompts *prompt.Registry
	// PromptID selects the prompt (PromptID if ""), in its latest version
	// unless PromptVersion is set.
	PromptID      string
	PromptVersion int
	// InternalDomains and RegistryHosts configure redaction.
	InternalDomains []string
	RegistryHosts   []string
	// MaxTokens bounds each answer (0: 1024).
	MaxTokens int
}

// Narrate writes the narrative of a classified incident (with its drafts).
// It fails only when misconfigured or when ctx ends; a model that fails or
// answers badly is recorded in Rejected and replaced by the offline
// templates. It never changes the incident.
func (n *Narrator) Narrate(ctx context.Context, inc *Incident) (Narrative, error) {
	facts := BuildFacts(inc)
	r := &redact.Redactor{InternalDomains: n.InternalDomains, RegistryHosts: n.RegistryHosts}
	factsJSON, untrustedJSON, rep, err := facts.redacted(r)
	if err != nil {
		return Narrative{}, err
	}
	h := sha256.New()
	h.Write(factsJSON)
	h.Write([]byte{0})
	h.Write(untrustedJSON)
	x := Narrative{InputHash: hex.EncodeToString(h.Sum(nil)), Redaction: rep}
	if n.Model == nil {
		return offline(inc, &facts, x), nil
	}
	if n.Prompts == nil {
		return Narrative{}, sextant.Errorf(sextant.EINVALID, "narrator has a model but no prompt registry")
	}
	id := n.PromptID
	if id == "" {
		id = PromptID
	}
	var p prompt.Prompt
	if n.PromptVersion > 0 {
		p, err = n.Prompts.GetVersion(id, n.PromptVersion)
	} else {
		p, err = n.Prompts.Get(id)
	}
	if err != nil {
		return Narrative{}, err
	}
	if p.Schema != AnswerSchema {
		return Narrative{}, sextant.Errorf(sextant.EINVALID, "prompt %s asks for answers of schema %q, want %q", p.Ref(), p.Schema, AnswerSchema)
	}
	system, user, err := p.Render(map[string]string{"Facts": string(factsJSON), "Untrusted": string(untrustedJSON)})
	if err != nil {
		return Narrative{}, err
	}
	x.PromptID, x.PromptVersion, x.PromptHash = p.ID, p.Version, p.Hash
	maxTokens := n.MaxTokens
	if maxTokens <= 0 {
		maxTokens = 1024
	}
	req := explain.Request{System: system, User: user, Schema: json.RawMessage(answerSchema), MaxTokens: maxTokens}
	g := newGround(factsJSON, inc, r)
	model := ""
	for attempt := 0; attempt < 2; attempt++ {
		resp, err := n.Model.Complete(ctx, req)
		if err != nil {
			if ctx.Err() != nil {
				return Narrative{}, ctx.Err()
			}
			x.Rejected = append(x.Rejected, explain.RejectModelError+": "+clip(err.Error(), 200))
			break
		}
		x.InputTokens += resp.InputTokens
		x.OutputTokens += resp.OutputTokens
		model = resp.Model
		ans, perr := parseAnswer(resp.Text)
		var problems []string
		if perr != nil {
			problems = []string{explain.RejectMalformed + ": " + clip(perr.Error(), 80)}
		} else {
			problems = g.check(ans)
		}
		if len(problems) == 0 {
			x.Provider, x.Model, x.Grounded = n.Provider, model, true
			x.WhatHappened, x.Involved = r.Rehydrate(ans.WhatHappened), r.Rehydrate(ans.Involved)
			x.WhyClassification, x.WhatToDo = r.Rehydrate(ans.WhyClassification), r.Rehydrate(ans.WhatToDo)
			x.CitedFacts = ans.CitedFacts
			x.Text = paragraph(x.WhatHappened, x.Involved, x.WhyClassification, x.WhatToDo)
			return x, nil
		}
		x.Rejected = append(x.Rejected, problems...)
		req.User = user + "\n\nYour previous answer was rejected: " + strings.Join(problems, "; ") +
			". Answer again with one JSON object of the requested shape and nothing else. Keep the verdict as the facts give it, name only identifiers and numbers that appear in the facts, and write no commands."
	}
	x.FallbackFrom = strings.Trim(n.Provider+"/"+model, "/")
	return offline(inc, &facts, x), nil
}

// offline fills x with the offline templates' narrative.
func offline(inc *Incident, f *Facts, x Narrative) Narrative {
	ans := Offline(inc, f)
	x.Provider, x.Model = OfflineProvider, OfflineModel
	x.PromptID, x.PromptVersion, x.PromptHash = "", 0, ""
	x.WhatHappened, x.Involved, x.WhyClassification, x.WhatToDo = ans.WhatHappened, ans.Involved, ans.WhyClassification, ans.WhatToDo
	x.CitedFacts = ans.CitedFacts
	x.Text = paragraph(ans.WhatHappened, ans.Involved, ans.WhyClassification, ans.WhatToDo)
	// The templates use nothing but the facts; checking them anyway keeps
	// the checks and the templates honest with each other.
	fj, _ := json.Marshal(f)
	x.Grounded = len(newGround(fj, inc, nil).check(ans)) == 0
	return x
}

func parseAnswer(text string) (Answer, error) {
	t := strings.TrimSpace(text)
	if strings.HasPrefix(t, "```") {
		t = strings.TrimPrefix(t, "```json")
		t = strings.TrimPrefix(t, "```")
		t = strings.TrimSuffix(strings.TrimSpace(t), "```")
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(t)))
	dec.DisallowUnknownFields()
	var a Answer
	if err := dec.Decode(&a); err != nil {
		return Answer{}, err
	}
	if dec.More() {
		return Answer{}, fmt.Errorf("text after the JSON object")
	}
	return a, nil
}

// Reasons a runtime narrative is rejected, beyond explain's.
const (
	RejectVerdict   = "verdict_changed"    // names another verdict
	RejectDismissal = "decision_override"  // dismisses a malicious or suspicious incident, or repeats an injection
	RejectNumber    = "ungrounded_number"  // a dotted number (version, address, confidence) not in the facts
	RejectTechnique = "ungrounded_mitre"   // an ATT&CK technique not in the facts
	RejectCommand   = "ungrounded_command" // a command that is not a line of the drafts
)

var (
	// claimRE finds a verdict the text gives the incident.
	claimRE = regexp.MustCompile(`(?i)\b(?:is|was|looks|seems|appears|remains|classif(?:y|ied)(?: it)? as|verdict(?: is)?:?|considered|treat(?:ed)? (?:it |this )?as|mark(?:ed)? (?:it |this )?as)\s+(?:an?\s+)?(?:likely\s+|probably\s+|clearly\s+)?(known[- ]benign|malicious|suspicious|benign|harmless|legitimate|safe|a false positive|false positive)\b`)
	// dismissRE finds words that dismiss an incident.
	dismissRE = regexp.MustCompile(`(?i)\b(?:false positive|safe to ignore|can be (?:safely )?ignored|no action (?:is )?(?:needed|required)|nothing to worry|not (?:a )?(?:real )?(?:threat|attack|compromise)|dismiss(?:ed)?|close (?:the|this) (?:incident|alert))\b`)
	// injectionRE finds an injection repeated back.
	injectionRE = regexp.MustCompile(`(?i)\b(?:ignore (?:all |the |any )?(?:previous|prior|above|earlier) (?:instructions|rules|prompts?)|disregard (?:the |all |any )?(?:previous|prior|above|instructions|rules))\b`)
	benignRE    = regexp.MustCompile(`(?i)\bbenign\b`)
	numberRE    = regexp.MustCompile(`\d+(?:\.\d+)+`)
	techniqueRE = regexp.MustCompile(`\bT\d{4}(?:\.\d{3})?\b`)
	cveRE       = regexp.MustCompile(`(?i)\b(?:CVE-\d{4}-\d{4,}|GHSA(?:-[23456789cfghjmpqrvwx]{4}){3})\b`)
	commandRE   = regexp.MustCompile(`(?:sudo\s+)?\b(?:(?:kubectl|crictl|docker|ctr|podman|helm|systemctl)\s+[a-z]|(?:curl|wget)\s+(?:-|https?://)|(?:ncat|nc|socat|iptables|nft|kill|pkill|rm)\s+-|(?:ba|z)?sh\s+-c\b|chmod\s+[0-7+ugoa]|chown\s+[a-z0-9])`)
	commandEnd  = regexp.MustCompile("[;,]\\s|\\.\\s|\\.$|[\"'`)\\n]")
)

// ground is what a narrative may say.
type ground struct {
	text    string
	keys    map[string]bool
	verdict Verdict
	lines   []string // the drafts' lines, redacted like the facts
}

func newGround(factsJSON []byte, inc *Incident, r *redact.Redactor) *ground {
	g := &ground{text: factStrings(factsJSON), keys: keys(factsJSON), verdict: inc.Verdict}
	for _, d := range inc.Drafts {
		for _, l := range strings.Split(d.Text, "\n") {
			l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "#"))
			if l == "" {
				continue
			}
			if r != nil {
				l, _ = r.Redact(l)
			}
			g.lines = append(g.lines, squash(l))
		}
	}
	return g
}

func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// verdictWord maps the words of claimRE to verdicts.
func verdictWord(w string) Verdict {
	w = strings.ToLower(strings.TrimPrefix(strings.ToLower(w), "a "))
	switch w {
	case "malicious":
		return Malicious
	case "suspicious":
		return Suspicious
	case "known-benign", "known benign":
		return KnownBenign
	}
	return Benign
}

// check returns what is wrong with an answer, "reason: detail" each.
func (g *ground) check(a Answer) []string {
	var out []string
	add := func(reason, detail string) {
		e := reason + ": " + clip(detail, 80)
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	for _, f := range [...]struct{ name, v string }{{"what_happened", a.WhatHappened}, {"involved", a.Involved}, {"why_classification", a.WhyClassification}, {"what_to_do", a.WhatToDo}} {
		if strings.TrimSpace(f.v) == "" {
			add(explain.RejectSchema, f.name+" is empty")
		}
	}
	for _, k := range a.CitedFacts {
		if !g.keys[strings.TrimSpace(k)] {
			add(explain.RejectUnknownFact, k)
		}
	}
	text := strings.Join([]string{a.WhatHappened, a.Involved, a.WhyClassification, a.WhatToDo}, "\n")
	for _, m := range claimRE.FindAllStringSubmatch(text, -1) {
		v := verdictWord(m[1])
		if v != g.verdict && !(v == Benign && g.verdict == KnownBenign) {
			add(RejectVerdict, m[0])
		}
	}
	if g.verdict == Malicious || g.verdict == Suspicious {
		for _, w := range dismissRE.FindAllString(text, -1) {
			add(RejectDismissal, w)
		}
		if g.verdict == Malicious && benignRE.MatchString(text) {
			add(RejectVerdict, "benign")
		}
	}
	for _, w := range injectionRE.FindAllString(text, -1) {
		add(RejectDismissal, w)
	}
	for _, id := range cveRE.FindAllString(text, -1) {
		if !strings.Contains(strings.ToUpper(g.text), strings.ToUpper(id)) {
			add(explain.RejectUngroundedID, id)
		}
	}
	for _, t := range techniqueRE.FindAllString(text, -1) {
		if !strings.Contains(g.text, t) {
			add(RejectTechnique, t)
		}
	}
	for _, n := range numberRE.FindAllString(text, -1) {
		if !strings.Contains(g.text, n) {
			add(RejectNumber, n)
		}
	}
	covered := 0
	for _, loc := range commandRE.FindAllStringIndex(text, -1) {
		if loc[0] < covered {
			continue
		}
		rest := text[loc[0]:]
		if e := commandEnd.FindStringIndex(rest); e != nil {
			rest = rest[:e[0]]
		}
		covered = loc[0] + len(rest)
		// A command is grounded when it is (the start of) a line of the
		// drafts, or sextant's own words in the facts ("kubectl exec into
		// the pod", in a signal's evidence).
		if !g.hasLine(rest) && !strings.Contains(g.text, squash(rest)) {
			add(RejectCommand, strings.TrimSpace(rest))
		}
	}
	return out
}

// hasLine reports whether cmd is a line of the drafts, or the start of
// one.
func (g *ground) hasLine(cmd string) bool {
	c := squash(cmd)
	for _, l := range g.lines {
		if l == c || strings.HasPrefix(l, c) {
			return true
		}
	}
	return false
}

// paragraph joins sentences into one paragraph, ending each with a period
// if it has no closing punctuation.
func paragraph(parts ...string) string {
	var out []string
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !strings.ContainsAny(p[len(p)-1:], ".!?") {
			p += "."
		}
		out = append(out, p)
	}
	return strings.Join(out, " ")
}

// Offline writes the narrative of an incident from its facts alone:
// deterministic, and grounded by construction.
func Offline(inc *Incident, f *Facts) Answer {
	a := Answer{
		WhatHappened:      whatHappened(f),
		Involved:          involved(f),
		WhyClassification: whyClassification(f),
		WhatToDo:          whatToDo(f),
		CitedFacts:        []string{"incident.verdict", "incident.confidence", "incident.event_count", "subject", "timeline"},
	}
	if f.Workload != nil {
		a.CitedFacts = append(a.CitedFacts, "workload")
	}
	for _, s := range f.Signals {
		a.CitedFacts = append(a.CitedFacts, "signals["+s.ID+"]")
	}
	if len(f.Baseline) > 0 {
		a.CitedFacts = append(a.CitedFacts, "baseline")
	}
	if f.Vulns != nil {
		a.CitedFacts = append(a.CitedFacts, "image_vulnerabilities")
	}
	for i := range f.Drafts {
		a.CitedFacts = append(a.CitedFacts, fmt.Sprintf("drafts[%d]", i))
	}
	return a
}

func clock(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return ""
	}
	return t.Format("15:04:05")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func whatHappened(f *Facts) string {
	var b strings.Builder
	in := f.Incident
	switch {
	case in.Start == "":
		fmt.Fprintf(&b, "At a time the events do not give, Falco raised %s on %s", plural(in.EventCount, "event", "events"), f.Subject)
	case in.Start == in.End:
		fmt.Fprintf(&b, "At %s UTC on %s, Falco raised %s on %s", clock(in.Start), in.Start[:10], plural(in.EventCount, "event", "events"), f.Subject)
	default:
		fmt.Fprintf(&b, "Between %s and %s UTC on %s (%s), Falco raised %s on %s", clock(in.Start), clock(in.End), in.Start[:10], in.Duration, plural(in.EventCount, "event", "events"), f.Subject)
	}
	// Consecutive events of one rule by one process are told once.
	type run struct {
		s StepFacts
		n int
	}
	var runs []run
	for _, s := range f.Timeline {
		if k := len(runs) - 1; k >= 0 && runs[k].s.Rule == s.Rule && runs[k].s.Process == s.Process {
			runs[k].n++
			continue
		}
		runs = append(runs, run{s, 1})
	}
	const shown = 6
	var parts []string
	told := 0
	for _, r := range runs[:min(len(runs), shown)] {
		p := ""
		if c := clock(r.s.Time); c != "" {
			p = c + " "
		}
		p += fmt.Sprintf("%q (%s)", r.s.Rule, r.s.Priority)
		if r.n > 1 {
			p += fmt.Sprintf(" ×%d", r.n)
		}
		if r.s.Process != "" {
			p += " by " + r.s.Process
			var who []string
			if r.s.Parent != "" {
				who = append(who, "parent "+r.s.Parent)
			}
			if r.s.User != "" {
				who = append(who, "user "+r.s.User)
			}
			if len(who) > 0 {
				p += " (" + strings.Join(who, ", ") + ")"
			}
		}
		if r.s.Destination != "" {
			p += " to " + r.s.Destination
		}
		parts = append(parts, p)
		told += r.n
	}
	b.WriteString(": ")
	b.WriteString(strings.Join(parts, "; then "))
	if rest := in.EventCount - told; rest == 1 {
		b.WriteString("; and 1 more event")
	} else if rest > 1 {
		fmt.Fprintf(&b, "; and %d more events", rest)
	}
	b.WriteString(".")
	return b.String()
}

func involved(f *Facts) string {
	var ss []string
	s := f.Subject
	subj := strings.ToUpper(s.String()[:1]) + s.String()[1:]
	if s.Image != "" {
		subj += ", image " + s.Image
	}
	if s.Hostname != "" && s.Pod != "" {
		subj += ", on node " + s.Hostname
	}
	ss = append(ss, subj+".")
	if w := f.Workload; w != nil {
		t := "It belongs to " + w.Ref
		var attrs []string
		if w.Owner != "" {
			attrs = append(attrs, "owner "+w.Owner)
		}
		if w.Environment != "" {
			attrs = append(attrs, "environment "+w.Environment)
		}
		attrs = append(attrs, plural(w.Replicas, "replica", "replicas"))
		t += " (" + strings.Join(attrs, ", ") + ")"
		if w.Exposed {
			t += ", reachable from outside the cluster: " + strings.Join(w.Exposures[:min(2, len(w.Exposures))], "; ")
		} else {
			t += ", not exposed outside the cluster"
		}
		if w.Privileged {
			t += "; privileged: " + strings.Join(w.Privileges[:min(2, len(w.Privileges))], "; ")
		}
		if w.ServiceAccount != "" {
			t += "; service account " + w.ServiceAccount
			if w.TokenMounted {
				t += " with its token mounted"
			}
			if len(w.Permissions) > 0 {
				t += " (" + strings.Join(w.Permissions[:min(2, len(w.Permissions))], "; ") + ")"
			}
		}
		ss = append(ss, t+".")
	}
	if len(f.Processes) > 0 {
		var ps []string
		for _, p := range f.Processes[:min(4, len(f.Processes))] {
			t := p.Name
			var who []string
			if p.Parent != "" {
				who = append(who, "parent "+p.Parent)
			}
			if p.User != "" {
				who = append(who, "user "+p.User)
			}
			if len(who) > 0 {
				t += " (" + strings.Join(who, ", ") + ")"
			}
			ps = append(ps, t)
		}
		t := "Processes: " + strings.Join(ps, ", ")
		if n := len(f.Processes) - len(ps); n > 0 {
			t += fmt.Sprintf(" and %d more", n)
		}
		ss = append(ss, t+".")
	}
	if len(f.Destinations) > 0 {
		var ds []string
		for _, d := range f.Destinations[:min(4, len(f.Destinations))] {
			ds = append(ds, hostPort(d.Address, d.Port)+" ("+d.Scope+")")
		}
		ss = append(ss, "Network: "+strings.Join(ds, ", ")+".")
	}
	if v := f.Vulns; v != nil {
		t := fmt.Sprintf("The scanner reports give its image %s in %s", plural(v.Findings, "finding", "findings"), plural(v.Actions, "fix action", "fix actions"))
		var ps []string
		for _, p := range []string{"P0", "P1", "P2", "P3"} {
			if n := v.ByPriority[p]; n > 0 {
				ps = append(ps, fmt.Sprintf("%s %d", p, n))
			}
		}
		if len(ps) > 0 {
			t += " (" + strings.Join(ps, ", ") + ")"
		}
		if len(v.KnownExploited) > 0 {
			t += "; known exploited: " + strings.Join(v.KnownExploited[:min(3, len(v.KnownExploited))], ", ")
		}
		ss = append(ss, t+".")
	}
	if len(f.MITRE) > 0 {
		ss = append(ss, "ATT&CK tags: "+strings.Join(f.MITRE, ", ")+".")
	}
	return strings.Join(ss, " ")
}

func signalText(s Signal) string {
	t := fmt.Sprintf("%s (weight %s", s.ID, num(s.Weight))
	if len(s.Evidence) > 0 {
		t += ": " + s.Evidence[0]
		if s.Count > 1 {
			t += fmt.Sprintf(", %d events", s.Count)
		}
	}
	return t + ")"
}

func num(x float64) string { return fmt.Sprint(x) }

func whyClassification(f *Facts) string {
	in := f.Incident
	head := fmt.Sprintf("Classified %s with confidence %s", in.Verdict, num(in.Confidence))
	var sig []string
	for _, s := range f.Signals {
		if s.Weight > 0 {
			sig = append(sig, signalText(s))
		}
	}
	switch in.Verdict {
	case Malicious:
		return fmt.Sprintf("%s: its signals add up to a strength of %s, at or above the malicious threshold of %s: %s.",
			head, num(in.Strength), num(in.Threshold), strings.Join(sig[:min(4, len(sig))], "; "))
	case Suspicious:
		t := head + ": "
		if len(sig) > 0 {
			t += fmt.Sprintf("its signals add up to a strength of %s, below the malicious threshold of %s: %s", num(in.Strength), num(in.Threshold), strings.Join(sig[:min(4, len(sig))], "; "))
		} else {
			t += fmt.Sprintf("no signal fired, but its events reach priority %s", in.Priority)
		}
		if len(f.Baseline) > 0 {
			t += fmt.Sprintf("; %s of its behaviour are in the baseline, the rest is new", plural(len(f.Baseline), "entry", "entries"))
		}
		return t + "."
	case KnownBenign:
		var bs []string
		for _, m := range f.Baseline[:min(3, len(f.Baseline))] {
			t := m.Process
			if m.Parent != "" {
				t += " (parent " + m.Parent + ")"
			}
			if m.Destination != "" {
				t += " to " + m.Destination
			}
			if m.LearnedAt != "" {
				t += ", learned " + m.LearnedAt[:10]
			}
			bs = append(bs, t)
		}
		t := fmt.Sprintf("%s: every behaviour of this incident (process, parent, command line, destination) is in the learned baseline of image %s: %s",
			head, f.Baseline[0].Image, strings.Join(bs, "; "))
		if n := len(f.Baseline) - len(bs); n > 0 {
			t += fmt.Sprintf(" and %d more", n)
		}
		return t + "."
	}
	for _, s := range f.Signals {
		if s.ID == "known_behaviour" {
			return fmt.Sprintf("%s: every event is known behaviour: %s.", head, strings.Join(s.Evidence, "; "))
		}
	}
	return fmt.Sprintf("%s: its events are at priority %s or below and no signal fired.", head, in.Priority)
}

func whatToDo(f *Facts) string {
	var ds []string
	for i, d := range f.Drafts {
		ds = append(ds, fmt.Sprintf("%d) %s", i+1, d.Title))
	}
	switch f.Incident.Verdict {
	case Malicious:
		t := "Treat it as an active compromise. "
		if len(ds) > 0 {
			t += "Review and approve the drafts, which sextant has not run: " + strings.Join(ds, "; ") + ". "
		}
		t += "Then find how it started (the workload's exposure, the image's vulnerabilities) and rotate the credentials the container could reach."
		return t
	case Suspicious:
		t := "Investigate before acting: "
		if len(ds) > 0 {
			t += "after approval, carry out the draft " + strings.Join(ds, "; ") + ", and "
		}
		t += "compare the processes, files and connections with what the workload is meant to do. If it is an attack, quarantine the pod as for a malicious incident; if it is expected, run sextant investigate again with --learn and a baseline file, so that repeats are recognised from the baseline."
		return t
	case KnownBenign:
		return "No containment is drafted. If this behaviour is no longer expected of the image, remove its entries from the baseline file."
	}
	return "No containment is drafted."
}
