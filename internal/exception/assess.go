// Package exception assesses exception requests: a developer asks for a
// finding to be accepted as a risk, or declared not affected, until a date,
// with a reason and compensating controls; a policy says what may be
// approved by code, what needs a person and what is refused.
//
// The assessment is deterministic and made by code alone. The facts that
// decide it (the finding's priority, score and KEV status) come from the
// scans (FindFacts), never from the request; the request's free text — its
// reason, the descriptions of its controls, its impact statement — is
// written by someone who wants the exception approved, so it is never read
// by the decision. An "approve this" hidden in a reason changes nothing.
// Every check gives a reason, and the verdict is the least favourable of
// them: any deny denies, else any route sends the request to a person,
// else it is approved.
//
// A language model (an explain.Model) may write the narrative around an
// assessment (Narrator), from redacted facts with the untrusted text fenced
// as data; its answer is checked and cannot change the verdict. Without a
// model, templates write it.
package exception

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
)

// Assessment is the outcome of assessing one request. Its JSON form is the
// output of `sextant exception assess -o json` (docs/exceptions.md).
type Assessment struct {
	Request Request `json:"request"`
	Verdict Verdict `json:"verdict"`
	// Approver is who a routed request goes to.
	Approver string `json:"approver,omitempty"`
	// Accepted is true when the exception holds: approved by the policy, or
	// routed and approved by one of the policy's approvers.
	Accepted bool `json:"accepted"`
	// Reasons are the checks made, in order, each with its outcome.
	Reasons []Reason `json:"reasons"`
	Facts   Facts    `json:"facts"`
	// LatestExpiry is the latest expiry date the policy allows for the
	// subject, when the facts are verified.
	LatestExpiry Date      `json:"latest_expiry,omitzero"`
	Policy       PolicyRef `json:"policy"`
	AssessedAt   time.Time `json:"assessed_at"`
	// Narrative explains the verdict in words; only Narrate fills it in.
	Narrative *Narrative `json:"narrative,omitempty"`
}

// PolicyRef identifies the policy an assessment used.
type PolicyRef struct {
	Name   string `json:"name"`
	Digest string `json:"digest"`
}

// Reason is one check of an assessment.
type Reason struct {
	// Check names the check: facts, status, justification,
	// impact_statement, reason, controls, evidence, expiry, rule:NAME,
	// approval.
	Check string `json:"check"`
	// Outcome is approve when the check passed.
	Outcome Verdict `json:"outcome"`
	Message string  `json:"message"`
	// Fix says what would change a failed check's outcome.
	Fix string `json:"fix,omitempty"`
}

// world is one possibility for the facts that decide: the subject's worst
// priority and whether it is KEV-listed.
type world struct {
	priority sextant.Priority
	kev      bool
}

// describeWorlds says which facts a set of worlds stands for: "KEV-listed",
// "P0 or P1", "P0, or P2 not KEV-listed".
func describeWorlds(ws []world) string {
	kevs := map[sextant.Priority][]bool{}
	for _, w := range ws {
		kevs[w.priority] = append(kevs[w.priority], w.kev)
	}
	all := []sextant.Priority{sextant.P0, sextant.P1, sextant.P2, sextant.P3}
	onlyKEV := true
	for _, p := range all {
		onlyKEV = onlyKEV && len(kevs[p]) == 1 && kevs[p][0]
	}
	if onlyKEV {
		return "KEV-listed"
	}
	var parts []string
	for _, p := range all {
		switch k := kevs[p]; {
		case len(k) == 2:
			parts = append(parts, p.String())
		case len(k) == 1 && k[0]:
			parts = append(parts, p.String()+" KEV-listed")
		case len(k) == 1:
			parts = append(parts, p.String()+" not KEV-listed")
		}
	}
	return strings.Join(parts, " or ")
}

// worlds returns the facts to assess under: the one the scans establish,
// or, when they do not, every possible one (a check whose outcome differs
// between them cannot be decided by code and goes to a person).
func worlds(f Facts) []world {
	if p, _, kev, ok := f.Worst(); f.Verified && ok {
		return []world{{p, kev}}
	}
	var out []world
	for _, p := range []sextant.Priority{sextant.P0, sextant.P1, sextant.P2, sextant.P3} {
		out = append(out, world{p, true}, world{p, false})
	}
	return out
}

// Assess assesses a request under a policy, with the facts the scans gave
// (Unverified when there are none), on the day of now. It reads the
// request's structured fields only: status, justification, the number of
// controls and their evidence links, the dates, the requester and the
// approval; never its free text.
func Assess(r Request, p Policy, f Facts, now time.Time) Assessment {
	a := Assessment{
		Request:    r,
		Facts:      f,
		Policy:     PolicyRef{Name: p.Name, Digest: p.Digest()},
		AssessedAt: now.UTC().Truncate(time.Second),
	}
	if a.Facts.Findings == nil {
		a.Facts.Findings = []Finding{}
	}
	today := NewDate(now)
	ws := worlds(f)
	add := func(check string, outcome Verdict, msg, fix string) {
		a.Reasons = append(a.Reasons, Reason{Check: check, Outcome: outcome, Message: msg, Fix: fix})
	}
	// addWorlds records a check that depends on the facts: decided when
	// every possible world agrees, routed when they do not.
	addWorlds := func(check string, eval func(world) (Verdict, string, string)) {
		type res struct {
			v        Verdict
			msg, fix string
		}
		var rs []res
		for _, w := range ws {
			v, msg, fix := eval(w)
			rs = append(rs, res{v, msg, fix})
		}
		same := true
		for _, x := range rs[1:] {
			same = same && x.v == rs[0].v
		}
		if same {
			if rs[0].msg != "" {
				add(check, rs[0].v, rs[0].msg, rs[0].fix)
			}
			return
		}
		var failing []world
		for i, x := range rs {
			if x.v != Approve {
				failing = append(failing, ws[i])
			}
		}
		var msgs []string
		for _, x := range rs {
			if x.v != Approve && x.msg != "" && !slices.Contains(msgs, x.msg) {
				msgs = append(msgs, x.msg)
			}
		}
		add(check, Route, fmt.Sprintf("depends on facts the scans did not confirm: fails if the subject is %s (%s)",
			describeWorlds(failing), strings.Join(msgs, "; ")), "give the scans that report the subject (--report) so the facts decide")
	}

	// Facts.
	if p0, score, kev, ok := f.Worst(); f.Verified && ok {
		kevText := "not KEV-listed"
		if kev {
			kevText = "KEV-listed"
		}
		add("facts", Approve, fmt.Sprintf("%d finding(s) in the scans; worst %s, score %s, %s", len(f.Findings), p0, fmtScore(score), kevText), "")
		a.LatestExpiry = today.AddDays(p.maxDays(p0))
	} else {
		note := f.Note
		if note == "" {
			note = "no scan reports were given"
		}
		add("facts", orDefault(p.Unverified, Route), "facts not verified: "+note, "give the scans that report the subject (--report)")
	}

	// Status.
	sr, allowed := p.Statuses[r.Status]
	if !allowed {
		add("status", Deny, fmt.Sprintf("the policy allows no %s exceptions", r.Status), "ask for a status the policy allows")
	} else {
		add("status", Approve, fmt.Sprintf("%s is allowed", r.Status), "")
	}

	// Justification and impact statement of not_affected.
	if r.Status == NotAffected {
		switch {
		case r.Justification == "":
			add("justification", Deny, "not_affected needs an OpenVEX justification", "add justification: one of "+justificationList())
		case allowed && !slices.Contains(sr.justifications(), r.Justification):
			var js []string
			for _, j := range sr.justifications() {
				js = append(js, string(j))
			}
			add("justification", Deny, fmt.Sprintf("justification %s is not allowed by the policy", r.Justification), "use one of "+strings.Join(js, ", "))
		default:
			add("justification", Approve, fmt.Sprintf("justification %s is allowed", r.Justification), "")
		}
		if sr.ImpactStatementRequired {
			if r.ImpactStatement == "" {
				add("impact_statement", Deny, "the policy needs an impact statement for not_affected", "add impact_statement: why the vulnerable code cannot be reached or exploited")
			} else {
				add("impact_statement", Approve, "an impact statement is given", "")
			}
		}
	}

	// Reason: its presence only; its words are never read.
	if r.Reason == "" {
		add("reason", Deny, "no reason given", "add reason: why the exception is needed")
	} else {
		add("reason", Approve, "a reason is given", "")
	}

	// Controls and their evidence.
	n := len(r.CompensatingControls)
	evidenced := 0
	var evidenceProblems []string
	for i, c := range r.CompensatingControls {
		if len(c.Evidence) == 0 {
			if sr.EvidenceRequired {
				evidenceProblems = append(evidenceProblems, fmt.Sprintf("control %d has no evidence link", i+1))
			}
			continue
		}
		ok := true
		for _, l := range c.Evidence {
			if msg := p.checkLink(l); msg != "" {
				evidenceProblems = append(evidenceProblems, fmt.Sprintf("control %d: %s", i+1, msg))
				ok = false
			}
		}
		if ok {
			evidenced++
		}
	}
	counted := n
	if sr.EvidenceRequired {
		counted = evidenced
	}
	if sr.MinControls > 0 {
		if counted < sr.MinControls {
			add("controls", Deny, fmt.Sprintf("%s needs %d compensating control(s) with evidence; %d given", r.Status, sr.MinControls, counted),
				fmt.Sprintf("add compensating controls, each with an evidence link, to reach %d", sr.MinControls))
		} else {
			add("controls", Approve, fmt.Sprintf("%d compensating control(s) with evidence; %d needed", counted, sr.MinControls), "")
		}
	}
	if len(evidenceProblems) > 0 {
		add("evidence", Deny, strings.Join(evidenceProblems, "; "), "link each control to its evidence: an https URL"+p.hostHint())
	} else if n > 0 {
		add("evidence", Approve, "every control's evidence links are well-formed", "")
	}

	// Expiry.
	days := r.Expires.DaysAfter(today)
	if days < 1 {
		add("expiry", Deny, fmt.Sprintf("expires %s, which is not after today (%s)", r.Expires, today), "ask for a date in the future")
	} else {
		addWorlds("expiry", func(w world) (Verdict, string, string) {
			max := p.maxDays(w.priority)
			if days > max {
				return orDefault(p.OverMaxExpiry, Deny), fmt.Sprintf("expires in %d days; at most %d days for %s", days, max, w.priority),
					fmt.Sprintf("ask for %s or earlier", today.AddDays(max))
			}
			return Approve, fmt.Sprintf("expires in %d days; at most %d days for %s", days, max, w.priority), ""
		})
	}

	// Severity limits.
	for _, rule := range p.Rules {
		rule := rule
		addWorlds("rule:"+rule.Name, func(w world) (Verdict, string, string) {
			if !rule.When.matches(r.Status, w) {
				return Approve, "", ""
			}
			if !rule.hasRequirement() {
				what := "needs a person's approval"
				if rule.Verdict == Deny {
					what = "is not allowed"
				}
				return rule.Verdict, fmt.Sprintf("%s: an exception %s", rule.When, what), ""
			}
			var unmet []string
			var fixes []string
			if rule.MinControls > 0 && counted < rule.MinControls {
				unmet = append(unmet, fmt.Sprintf("needs %d compensating controls with evidence, %d given", rule.MinControls, counted))
				fixes = append(fixes, fmt.Sprintf("add controls with evidence to reach %d", rule.MinControls))
			}
			if rule.MaxExpiry > 0 && days > int(rule.MaxExpiry) {
				unmet = append(unmet, fmt.Sprintf("may last at most %d days, asks for %d", rule.MaxExpiry, days))
				fixes = append(fixes, fmt.Sprintf("ask for %s or earlier", today.AddDays(int(rule.MaxExpiry))))
			}
			if len(unmet) > 0 {
				return rule.Verdict, fmt.Sprintf("%s: %s", rule.When, strings.Join(unmet, "; ")), strings.Join(fixes, "; ")
			}
			return Approve, fmt.Sprintf("%s: requirements met", rule.When), ""
		})
	}

	a.Verdict = Approve
	for _, x := range a.Reasons {
		a.Verdict = worse(a.Verdict, x.Outcome)
	}
	if a.Verdict == Route {
		a.Approver = p.approver()
	}

	// Approval: it can accept a routed request, never a denied one.
	if ap := r.Approval; ap != nil {
		switch {
		case strings.EqualFold(ap.By, r.Requester):
			add("approval", Deny, "the requester signed the approval of their own request", "an approver other than the requester must approve")
			a.Verdict = Deny
			a.Approver = ""
		case a.Verdict == Deny:
			add("approval", Deny, fmt.Sprintf("an approval by %s cannot override a deny", ap.By), "")
		case a.Verdict == Approve:
			add("approval", Approve, "no approval needed", "")
		case len(p.Approvers) > 0 && !slices.ContainsFunc(p.Approvers, func(s string) bool { return strings.EqualFold(s, ap.By) }):
			add("approval", Route, fmt.Sprintf("%s is not one of the policy's approvers (%s)", ap.By, strings.Join(p.Approvers, ", ")), "")
		case ap.At.IsZero() || ap.At.DaysAfter(today) > 0:
			add("approval", Route, fmt.Sprintf("the approval by %s has no date, or a date after today", ap.By), "")
		default:
			add("approval", Approve, fmt.Sprintf("approved by %s on %s", ap.By, ap.At), "")
			a.Accepted = true
		}
	}
	if a.Verdict == Approve {
		a.Accepted = true
	}
	return a
}

// checkLink returns what is wrong with an evidence link, or "".
func (p Policy) checkLink(l string) string {
	u, err := url.Parse(l)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "evidence is not an http(s) link"
	}
	if len(p.EvidenceHosts) == 0 {
		return ""
	}
	h := strings.ToLower(u.Hostname())
	for _, allowed := range p.EvidenceHosts {
		if h == allowed || strings.HasSuffix(h, "."+allowed) {
			return ""
		}
	}
	return "evidence link is not on an allowed host"
}

func (p Policy) hostHint() string {
	if len(p.EvidenceHosts) == 0 {
		return ""
	}
	return " on " + strings.Join(p.EvidenceHosts, ", ")
}

func orDefault(v, def Verdict) Verdict {
	if v == "" {
		return def
	}
	return v
}

func fmtScore(s float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.1f", s), "0"), ".")
}
