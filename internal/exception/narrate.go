package exception

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

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/explain"
	"github.com/sextant-dev/sextant/internal/prompt"
	"github.com/sextant-dev/sextant/internal/redact"
)

// PromptID is the prompt a Narrator sends to a model.
const PromptID = "exception-assessment"

// The offline narrator's identity in Narrative.Provider and Model.
const (
	OfflineProvider = "offline"
	OfflineModel    = "template-v1"
)

// Narrative is the assessment in words, for the requester: what was
// decided and what happens next. It records who wrote it and what they
// were given, as an explanation does.
type Narrative struct {
	Summary    string   `json:"summary"`
	NextSteps  string   `json:"next_steps"`
	CitedFacts []string `json:"cited_facts"`
	Provider   string   `json:"provider"`
	Model      string   `json:"model"`

	PromptID      string `json:"prompt_id,omitempty"`
	PromptVersion int    `json:"prompt_version,omitzero"`
	PromptHash    string `json:"prompt_hash,omitempty"`
	// InputHash is the hex SHA-256 of the redacted facts and untrusted
	// text.
	InputHash string        `json:"input_hash"`
	Redaction redact.Report `json:"redaction"`
	Grounded  bool          `json:"grounded"`
	// Rejected lists why model answers were rejected ("reason: detail").
	Rejected     []string `json:"rejected,omitempty"`
	FallbackFrom string   `json:"fallback_from,omitempty"`
}

// Invented counts the rejections that were about made-up content (an ID,
// date, version, priority or verdict not in the facts), as opposed to a
// failing provider or malformed output.
func (n *Narrative) Invented() int {
	c := 0
	for _, r := range n.Rejected {
		k, _, _ := strings.Cut(r, ":")
		switch k {
		case explain.RejectModelError, explain.RejectMalformed, explain.RejectSchema:
		default:
			c++
		}
	}
	return c
}

// Narrator writes narratives.
type Narrator struct {
	// Model writes the words; nil means the offline templates.
	Model    explain.Model
	Provider string
	// Prompts is the prompt registry, needed with a Model; PromptVersion
	// selects a version (0: the latest).
	Prompts       *prompt.Registry
	PromptVersion int
	// InternalDomains and RegistryHosts configure redaction.
	InternalDomains []string
	RegistryHosts   []string
	// MaxTokens bounds each answer (0: 800).
	MaxTokens int
}

// narrativeFacts are what a model is told about an assessment: the
// decision and its reasons as code made them, and the subject's facts.
type narrativeFacts struct {
	RequestID     string         `json:"request_id"`
	Subject       string         `json:"subject"`
	Status        string         `json:"status"`
	Justification string         `json:"justification,omitempty"`
	Expires       string         `json:"expires"`
	Requester     string         `json:"requester"`
	Controls      int            `json:"controls"`
	Verdict       string         `json:"verdict"`
	Approver      string         `json:"approver,omitempty"`
	Accepted      bool           `json:"accepted"`
	LatestExpiry  string         `json:"latest_expiry,omitempty"`
	AssessedOn    string         `json:"assessed_on"`
	Policy        string         `json:"policy"`
	Reasons       []Reason       `json:"reasons"`
	Findings      []findingFacts `json:"findings"`
}

type findingFacts struct {
	ID            string   `json:"id"`
	Vulnerability string   `json:"vulnerability"`
	Aliases       []string `json:"aliases,omitempty"`
	Package       string   `json:"package,omitempty"`
	Version       string   `json:"version,omitempty"`
	Artifact      string   `json:"artifact"`
	Priority      string   `json:"priority"`
	Score         float64  `json:"score"`
	KEV           bool     `json:"kev"`
}

// untrustedText is the requester's own words, fenced as data.
type untrustedText struct {
	Reason          string          `json:"reason"`
	ImpactStatement string          `json:"impact_statement,omitempty"`
	Controls        []untrustedCtrl `json:"controls,omitempty"`
}

type untrustedCtrl struct {
	Description string   `json:"description"`
	Evidence    []string `json:"evidence,omitempty"`
}

// answer is the structured answer of the exception-assessment prompt.
type answer struct {
	Summary    string   `json:"summary"`
	NextSteps  string   `json:"next_steps"`
	CitedFacts []string `json:"cited_facts"`
}

// AnswerSchema is the JSON Schema of the exception-assessment.v1 answer.
const AnswerSchema = `{
  "type": "object",
  "additionalProperties": false,
  "required": ["summary", "next_steps", "cited_facts"],
  "properties": {
    "summary": {"type": "string"},
    "next_steps": {"type": "string"},
    "cited_facts": {"type": "array", "items": {"type": "string"}}
  }
}`

// Narrate writes a's narrative. It fails only when it is misconfigured
// (a model without prompts, an unknown prompt or schema) or ctx ends; a
// model that fails or answers badly is recorded in Rejected and the
// templates write the narrative. The verdict, reasons and facts of a are
// never changed.
func (n *Narrator) Narrate(ctx context.Context, a *Assessment) error {
	facts, untrusted := buildNarrativeFacts(a)
	var keep []string
	for _, f := range a.Facts.Findings {
		keep = append(keep, f.Version, f.Package)
	}
	r := &redact.Redactor{InternalDomains: n.InternalDomains, RegistryHosts: n.RegistryHosts, Keep: keep}
	sentFacts, sentUntrusted, rep := redactNarrative(r, facts, untrusted)
	factsJSON, err := json.MarshalIndent(sentFacts, "", " ")
	if err != nil {
		return err
	}
	untrustedJSON, err := json.MarshalIndent(sentUntrusted, "", " ")
	if err != nil {
		return err
	}
	h := sha256.New()
	h.Write(factsJSON)
	h.Write([]byte{0})
	h.Write(untrustedJSON)
	nv := Narrative{InputHash: hex.EncodeToString(h.Sum(nil)), Redaction: rep}
	if nv.Redaction == nil {
		nv.Redaction = redact.Report{}
	}
	if n.Model == nil {
		a.Narrative = offlineNarrative(a, nv, newNarrativeGround(facts, a))
		return nil
	}
	if n.Prompts == nil {
		return sextant.Errorf(sextant.EINVALID, "narrator has a model but no prompt registry")
	}
	var p prompt.Prompt
	if n.PromptVersion > 0 {
		p, err = n.Prompts.GetVersion(PromptID, n.PromptVersion)
	} else {
		p, err = n.Prompts.Get(PromptID)
	}
	if err != nil {
		return err
	}
	if p.Schema != "exception-assessment.v1" {
		return sextant.Errorf(sextant.EINVALID, "prompt %s asks for answers of schema %q, which this sextant does not know", p.Ref(), p.Schema)
	}
	system, user, err := p.Render(map[string]string{"Facts": string(factsJSON), "Untrusted": string(untrustedJSON)})
	if err != nil {
		return err
	}
	nv.PromptID, nv.PromptVersion, nv.PromptHash = p.ID, p.Version, p.Hash
	maxTokens := n.MaxTokens
	if maxTokens <= 0 {
		maxTokens = 800
	}
	req := explain.Request{System: system, User: user, Schema: json.RawMessage(AnswerSchema), MaxTokens: maxTokens}
	g := newNarrativeGround(sentFacts, a)
	model := ""
	for attempt := 0; attempt < 2; attempt++ {
		resp, err := n.Model.Complete(ctx, req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			nv.Rejected = append(nv.Rejected, explain.RejectModelError+": "+clip(err.Error(), 200))
			break
		}
		model = resp.Model
		ans, perr := parseAnswer(resp.Text)
		var problems []string
		if perr != nil {
			problems = []string{explain.RejectMalformed + ": " + clip(perr.Error(), 80)}
		} else {
			problems = g.check(ans)
		}
		if len(problems) == 0 {
			nv.Provider, nv.Model, nv.Grounded = n.Provider, model, true
			nv.Summary, nv.NextSteps = r.Rehydrate(ans.Summary), r.Rehydrate(ans.NextSteps)
			nv.CitedFacts = ans.CitedFacts
			a.Narrative = &nv
			return nil
		}
		nv.Rejected = append(nv.Rejected, problems...)
		req.User = user + "\n\nYour previous answer was rejected: " + strings.Join(problems, "; ") +
			". Answer again with one JSON object of the requested shape and nothing else. State the verdict exactly as the facts give it, and name only identifiers, dates, versions and priorities that appear in the facts."
	}
	nv.FallbackFrom = strings.Trim(n.Provider+"/"+model, "/")
	a.Narrative = offlineNarrative(a, nv, newNarrativeGround(facts, a))
	return nil
}

func buildNarrativeFacts(a *Assessment) (narrativeFacts, untrustedText) {
	r := a.Request
	f := narrativeFacts{
		RequestID: r.ID, Subject: r.Key(), Status: string(r.Status), Justification: string(r.Justification),
		Expires: r.Expires.String(), Requester: r.Requester, Controls: len(r.CompensatingControls),
		Verdict: string(a.Verdict), Approver: a.Approver, Accepted: a.Accepted,
		LatestExpiry: a.LatestExpiry.String(), AssessedOn: NewDate(a.AssessedAt).String(), Policy: a.Policy.Name,
		Reasons: append([]Reason{}, a.Reasons...), Findings: []findingFacts{},
	}
	for _, x := range a.Facts.Findings {
		f.Findings = append(f.Findings, findingFacts{ID: x.ID, Vulnerability: x.Vulnerability, Aliases: x.Aliases,
			Package: x.Package, Version: x.Version, Artifact: x.Artifact, Priority: x.Priority.String(), Score: x.Score, KEV: x.KEV})
	}
	u := untrustedText{Reason: clip(r.Reason, 2000), ImpactStatement: clip(r.ImpactStatement, 2000)}
	for _, c := range r.CompensatingControls {
		u.Controls = append(u.Controls, untrustedCtrl{Description: clip(c.Description, 500), Evidence: c.Evidence})
	}
	return f, u
}

func redactNarrative(r *redact.Redactor, f narrativeFacts, u untrustedText) (narrativeFacts, untrustedText, redact.Report) {
	var rep redact.Report
	s := func(p *string) {
		out, n := r.Redact(*p)
		*p = out
		rep = rep.Add(n)
	}
	for _, p := range []*string{&f.RequestID, &f.Subject, &f.Requester, &f.Approver, &f.Policy} {
		s(p)
	}
	f.Reasons = slices.Clone(f.Reasons)
	for i := range f.Reasons {
		s(&f.Reasons[i].Message)
		s(&f.Reasons[i].Fix)
	}
	f.Findings = slices.Clone(f.Findings)
	for i := range f.Findings {
		x := &f.Findings[i]
		s(&x.Artifact)
		s(&x.Package)
		s(&x.Version)
	}
	s(&u.Reason)
	s(&u.ImpactStatement)
	u.Controls = slices.Clone(u.Controls)
	for i := range u.Controls {
		c := &u.Controls[i]
		s(&c.Description)
		c.Evidence = slices.Clone(c.Evidence)
		for j := range c.Evidence {
			s(&c.Evidence[j])
		}
	}
	return f, u, rep
}

// parseAnswer decodes a model's text; a Markdown code fence around the
// object is tolerated.
func parseAnswer(text string) (answer, error) {
	t := strings.TrimSpace(text)
	if strings.HasPrefix(t, "```") {
		t = strings.TrimPrefix(t, "```json")
		t = strings.TrimPrefix(t, "```")
		t = strings.TrimSuffix(strings.TrimSpace(t), "```")
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(t)))
	dec.DisallowUnknownFields()
	var a answer
	if err := dec.Decode(&a); err != nil {
		return answer{}, fmt.Errorf("%v", err)
	}
	if dec.More() {
		return answer{}, fmt.Errorf("text after the JSON object")
	}
	return a, nil
}

// Reasons a narrative is rejected beyond explain's: a date not in the
// facts.
const RejectUngroundedDate = "ungrounded_date"

var (
	vulnIDRE  = regexp.MustCompile(`(?i)\b(?:CVE-\d{4}-\d{4,}|GHSA(?:-[23456789cfghjmpqrvwx]{4}){3})\b`)
	dateRE    = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}\b`)
	versionRE = regexp.MustCompile(`\d+(?:\.\d+)+(?:[-+~.]?[0-9A-Za-z]+(?:[-+~.][0-9A-Za-z]+)*)?`)
	prioRE    = regexp.MustCompile(`\bP[0-9]\b`)
	approveRE = regexp.MustCompile(`(?i)\b(?:approved|approves|granted|grants)\b`)
	denyRE    = regexp.MustCompile(`(?i)\b(?:denied|denies|refused|rejected|declined)\b`)
	routeRE   = regexp.MustCompile(`(?i)\b(?:routed|escalated)\b`)
	// negApproveRE and negDenyRE find the verdict words negated ("cannot
	// be approved"), which say the opposite.
	negApproveRE = regexp.MustCompile(`(?i)\b(?:not|never|cannot|can't|won't|isn't|wasn't)\s+(?:be\s+|been\s+|yet\s+)?(?:approved|granted)\b`)
	negDenyRE    = regexp.MustCompile(`(?i)\b(?:not|never|cannot|can't|won't|isn't|wasn't)\s+(?:be\s+|been\s+|yet\s+)?(?:denied|refused|rejected|declined)\b`)
	// injectionRE finds instructions smuggled in the requester's text
	// being repeated.
	injectionRE = regexp.MustCompile(`(?i)\bignore (?:all |the |any )?(?:previous|prior|above)|\bdisregard\b|\bsystem\s*:|\bpolicy (?:has been |was |is )?updated\b|\bapprove all\b`)
)

// narrativeGround is what a narrative may say.
type narrativeGround struct {
	text     string
	keys     map[string]bool
	verdict  Verdict
	accepted bool
}

func newNarrativeGround(f narrativeFacts, a *Assessment) *narrativeGround {
	b, _ := json.Marshal(f)
	var generic any
	_ = json.Unmarshal(b, &generic)
	var parts []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			parts = append(parts, x)
		case float64:
			parts = append(parts, fmt.Sprint(x))
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(generic)
	keys := map[string]bool{"reasons": true, "findings": true, "reasons[]": true, "findings[]": true}
	if m, ok := generic.(map[string]any); ok {
		for k := range m {
			keys[k] = true
		}
	}
	for _, r := range f.Reasons {
		keys["reasons["+r.Check+"]"] = true
	}
	for _, x := range f.Findings {
		keys["findings["+x.ID+"]"] = true
		keys["findings["+x.Vulnerability+"]"] = true
	}
	slices.Sort(parts)
	return &narrativeGround{text: strings.Join(parts, "\n"), keys: keys, verdict: a.Verdict, accepted: a.Accepted}
}

// check returns what is wrong with an answer ("reason: detail" each).
func (g *narrativeGround) check(a answer) []string {
	var out []string
	add := func(reason, detail string) {
		e := reason + ": " + clip(detail, 80)
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	if strings.TrimSpace(a.Summary) == "" {
		add(explain.RejectSchema, "summary is empty")
	}
	if strings.TrimSpace(a.NextSteps) == "" {
		add(explain.RejectSchema, "next_steps is empty")
	}
	for _, k := range a.CitedFacts {
		if !g.keys[strings.TrimSpace(k)] {
			add(explain.RejectUnknownFact, k)
		}
	}
	text := a.Summary + "\n" + a.NextSteps
	upper := strings.ToUpper(g.text)
	for _, id := range vulnIDRE.FindAllString(text, -1) {
		if !strings.Contains(upper, strings.ToUpper(id)) {
			add(explain.RejectUngroundedID, id)
		}
	}
	for _, d := range dateRE.FindAllString(text, -1) {
		if !strings.Contains(g.text, d) {
			add(RejectUngroundedDate, d)
		}
	}
	withoutDates := dateRE.ReplaceAllString(text, " ")
	for _, v := range versionRE.FindAllString(withoutDates, -1) {
		if !strings.Contains(g.text, v) {
			add(explain.RejectUngroundedVer, v)
		}
	}
	for _, p := range prioRE.FindAllString(text, -1) {
		if !strings.Contains(g.text, p) {
			add(explain.RejectPriority, p)
		}
	}
	approved := g.verdict == Approve || g.accepted
	if w := negApproveRE.FindString(text); w != "" && approved {
		add(explain.RejectDecisionOverride, w)
	}
	if w := negDenyRE.FindString(text); w != "" && g.verdict == Deny {
		add(explain.RejectDecisionOverride, w)
	}
	text = negDenyRE.ReplaceAllString(negApproveRE.ReplaceAllString(text, " "), " ")
	if w := approveRE.FindString(text); w != "" && !approved {
		add(explain.RejectDecisionOverride, w)
	}
	if w := denyRE.FindString(text); w != "" && g.verdict != Deny {
		add(explain.RejectDecisionOverride, w)
	}
	if w := routeRE.FindString(text); w != "" && g.verdict != Route {
		add(explain.RejectDecisionOverride, w)
	}
	for _, w := range injectionRE.FindAllString(text, -1) {
		add(explain.RejectDecisionOverride, w)
	}
	return out
}

// offlineNarrative writes the narrative from the assessment alone; g
// checks it as a model's answer would be.
func offlineNarrative(a *Assessment, nv Narrative, g *narrativeGround) *Narrative {
	r := a.Request
	var failed, fixes []string
	for _, x := range a.Reasons {
		if x.Outcome == a.Verdict && x.Outcome != Approve {
			failed = append(failed, x.Message)
			if x.Fix != "" && !slices.Contains(fixes, x.Fix) {
				fixes = append(fixes, x.Fix)
			}
		}
	}
	what := "accepted as a risk"
	if r.Status == NotAffected {
		what = "declared not affected (" + string(r.Justification) + ")"
	}
	var summary, next string
	switch {
	case a.Verdict == Deny:
		summary = fmt.Sprintf("Denied: the exception for %s does not pass policy %s because %s.", r.Key(), a.Policy.Name, strings.Join(failed, "; "))
		next = "To ask again: " + strings.Join(fixes, "; ") + "."
		if len(fixes) == 0 {
			next = "The policy refuses this exception; fix the finding instead."
		}
	case a.Verdict == Route && a.Accepted:
		summary = fmt.Sprintf("Approved by %s: %s is %s until %s. Code could not decide alone because %s.", r.Approval.By, r.Key(), what, r.Expires, strings.Join(failed, "; "))
		next = "Keep the request, with its approval, among the accepted exceptions; it lapses on " + r.Expires.String() + "."
	case a.Verdict == Route:
		summary = fmt.Sprintf("Routed to %s: the exception for %s needs a person's decision because %s.", a.Approver, r.Key(), strings.Join(failed, "; "))
		next = fmt.Sprintf("%s reviews the request; an approval is recorded in the request's approval block (by, at).", a.Approver)
		if len(fixes) > 0 {
			next += " Meanwhile: " + strings.Join(fixes, "; ") + "."
		}
	default:
		summary = fmt.Sprintf("Approved: %s is %s until %s; every check of policy %s passed.", r.Key(), what, r.Expires, a.Policy.Name)
		next = "Keep the request among the accepted exceptions; it lapses on " + r.Expires.String() + ", so fix or ask again before then."
	}
	if a.Accepted && r.Status == NotAffected {
		next += " 'sextant exception vex' exports it as an OpenVEX not_affected statement."
	}
	nv.Summary, nv.NextSteps = summary, next
	nv.CitedFacts = []string{"verdict", "subject", "expires", "reasons"}
	nv.Provider, nv.Model = OfflineProvider, OfflineModel
	nv.PromptID, nv.PromptVersion, nv.PromptHash = "", 0, ""
	nv.Grounded = len(g.check(answer{Summary: summary, NextSteps: next, CitedFacts: nv.CitedFacts})) == 0
	return &nv
}

// clip shortens s to at most n characters, marking the cut.
func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
