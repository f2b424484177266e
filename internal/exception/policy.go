package exception

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/vex"
)

// Verdict is the outcome of an assessment, and of each check in it.
type Verdict string

// Verdicts, from the most to the least favourable to the requester.
const (
	Approve Verdict = "approve"
	// Route sends the request to a human approver.
	Route Verdict = "route"
	Deny  Verdict = "deny"
)

// worse returns the less favourable of two verdicts.
func worse(a, b Verdict) Verdict {
	rank := map[Verdict]int{Approve: 0, Route: 1, Deny: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// Policy says which exceptions may be approved by code, which need a
// person and which are refused. Its YAML form is documented in
// docs/exceptions.md; DefaultPolicy is the policy when none is given.
type Policy struct {
	// Name names the policy in assessments.
	Name string `json:"name,omitempty"`
	// Approvers are who may approve routed requests; the first is named in
	// route verdicts. An approval by anyone else does not count.
	Approvers []string `json:"approvers,omitempty"`
	// MaxExpiry is the longest an exception may last, counted from the day
	// of the assessment, per priority (keys P0..P3).
	MaxExpiry map[string]Days `json:"max_expiry"`
	// OverMaxExpiry is the verdict for an expiry past the maximum: deny
	// (default) or route.
	OverMaxExpiry Verdict `json:"over_max_expiry,omitempty"`
	// Unverified is the verdict when the subject is not found in scans (or
	// no scan was given): route (default) or deny.
	Unverified Verdict `json:"unverified,omitempty"`
	// Statuses lists the statuses that may be asked for, with what each
	// needs; a status not listed is denied.
	Statuses map[Status]StatusRule `json:"statuses"`
	// EvidenceHosts, if set, are the only hosts (and their subdomains)
	// evidence links may point to.
	EvidenceHosts []string `json:"evidence_hosts,omitempty"`
	// Rules are the severity limits, applied in order; every rule whose
	// condition matches applies.
	Rules []Rule `json:"rules,omitempty"`
	// VEXAuthor is the author of exported OpenVEX documents.
	VEXAuthor string `json:"vex_author,omitempty"`
}

// StatusRule is what an exception of one status needs.
type StatusRule struct {
	// MinControls is how many compensating controls are needed.
	MinControls int `json:"min_controls,omitempty"`
	// EvidenceRequired means every control needs an http(s) evidence link.
	EvidenceRequired bool `json:"evidence_required,omitempty"`
	// Justifications are the OpenVEX justifications allowed (not_affected);
	// none listed means all five.
	Justifications []vex.Justification `json:"justifications,omitempty"`
	// ImpactStatementRequired means an impact statement is needed
	// (not_affected).
	ImpactStatementRequired bool `json:"impact_statement_required,omitempty"`
}

// Rule is a severity limit: when its condition matches, the request must
// meet its requirements (more controls, a shorter expiry) or get its
// verdict; a rule without requirements gives its verdict whenever it
// matches ("P0 exceptions always go to a person").
type Rule struct {
	Name        string    `json:"name"`
	When        Condition `json:"when"`
	MinControls int       `json:"min_controls,omitempty"`
	MaxExpiry   Days      `json:"max_expiry,omitempty"`
	// Verdict is route or deny.
	Verdict Verdict `json:"verdict"`
}

// Condition selects requests by the facts of their subject and the status
// asked for. Empty fields match everything.
type Condition struct {
	// KEV matches subjects with (true) or without (false) a vulnerability
	// in CISA's Known Exploited Vulnerabilities catalog.
	KEV *bool `json:"kev,omitempty"`
	// Priority matches subjects at one of these priorities (the worst of
	// its findings).
	Priority Priorities `json:"priority,omitempty"`
	Status   Status     `json:"status,omitempty"`
}

// Priorities are priorities written as a list or as one "P0".
type Priorities []sextant.Priority

// UnmarshalJSON accepts "P0" or ["P0", "P1"].
func (p *Priorities) UnmarshalJSON(b []byte) error {
	var one sextant.Priority
	if err := json.Unmarshal(b, &one); err == nil {
		*p = Priorities{one}
		return nil
	}
	var many []sextant.Priority
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("priority: want P0..P3 or a list of them")
	}
	*p = many
	return nil
}

// Days is a number of days, written "14d", "2w" or 14.
type Days int

// UnmarshalJSON reads "14d", "2w" or a number of days.
func (d *Days) UnmarshalJSON(b []byte) error {
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		if n < 0 {
			return fmt.Errorf("negative number of days %d", n)
		}
		*d = Days(n)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a number of days: 14d, 2w or 14")
	}
	x, err := ParseDays(s)
	if err != nil {
		return err
	}
	*d = x
	return nil
}

// MarshalJSON writes "14d".
func (d Days) MarshalJSON() ([]byte, error) { return json.Marshal(strconv.Itoa(int(d)) + "d") }

// ParseDays reads "14d", "2w" or "14".
func ParseDays(s string) (Days, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	mult := 1
	switch {
	case strings.HasSuffix(s, "d"):
		s = strings.TrimSuffix(s, "d")
	case strings.HasSuffix(s, "w"):
		s, mult = strings.TrimSuffix(s, "w"), 7
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 100000 {
		return 0, fmt.Errorf("%q is not a number of days: want 14d, 2w or 14", s)
	}
	return Days(n * mult), nil
}

// DefaultPolicy is the policy used when none is given: at most 14, 30, 90
// and 180 days for P0 to P3; accepted_risk needs one compensating control
// with evidence, not_affected an OpenVEX justification and an impact
// statement; accepted_risk of a KEV-listed or P0 finding needs two
// controls, and any exception of a KEV-listed or P0 finding goes to a
// person.
func DefaultPolicy() Policy {
	yes := true
	return Policy{
		Name:          "default",
		Approvers:     []string{"security-team"},
		OverMaxExpiry: Deny,
		Unverified:    Route,
		MaxExpiry:     map[string]Days{"P0": 14, "P1": 30, "P2": 90, "P3": 180},
		Statuses: map[Status]StatusRule{
			AcceptedRisk: {MinControls: 1, EvidenceRequired: true},
			NotAffected:  {ImpactStatementRequired: true},
		},
		Rules: []Rule{
			{Name: "kev-accepted-risk", When: Condition{KEV: &yes, Status: AcceptedRisk}, MinControls: 2, Verdict: Deny},
			{Name: "p0-accepted-risk", When: Condition{Priority: Priorities{sextant.P0}, Status: AcceptedRisk}, MinControls: 2, Verdict: Deny},
			{Name: "kev-needs-a-person", When: Condition{KEV: &yes}, Verdict: Route},
			{Name: "p0-needs-a-person", When: Condition{Priority: Priorities{sextant.P0}}, Verdict: Route},
		},
	}
}

// DecodePolicy reads a policy from YAML or JSON. Unknown fields, unknown
// priorities, statuses, verdicts and justifications are EINVALID, as is a
// policy without max_expiry for every priority or without statuses.
func DecodePolicy(b []byte, name string) (Policy, error) {
	bad := func(format string, a ...any) error {
		return sextant.Errorf(sextant.EINVALID, "exception policy %s: "+format, append([]any{name}, a...)...)
	}
	var p Policy
	if err := yaml.UnmarshalStrict(b, &p); err != nil {
		return Policy{}, bad("%s", cleanYAMLError(err))
	}
	if p.Name == "" {
		p.Name = name
	}
	for k := range p.MaxExpiry {
		if _, err := sextant.ParsePriority(k); err != nil || k != strings.ToUpper(k) {
			return Policy{}, bad("max_expiry: unknown priority %q (want P0, P1, P2, P3)", k)
		}
	}
	for _, k := range []string{"P0", "P1", "P2", "P3"} {
		if _, ok := p.MaxExpiry[k]; !ok {
			return Policy{}, bad("max_expiry has no %s", k)
		}
	}
	if len(p.Statuses) == 0 {
		return Policy{}, bad("no statuses: list accepted_risk and/or not_affected with what each needs")
	}
	for s, r := range p.Statuses {
		if s != AcceptedRisk && s != NotAffected {
			return Policy{}, bad("statuses: unknown status %q (want accepted_risk, not_affected)", s)
		}
		for _, j := range r.Justifications {
			if !j.Valid() {
				return Policy{}, bad("statuses.%s: %q is not an OpenVEX justification", s, j)
			}
		}
		if r.MinControls < 0 {
			return Policy{}, bad("statuses.%s: negative min_controls", s)
		}
	}
	for _, v := range []struct {
		field string
		v     *Verdict
		def   Verdict
	}{{"over_max_expiry", &p.OverMaxExpiry, Deny}, {"unverified", &p.Unverified, Route}} {
		if *v.v == "" {
			*v.v = v.def
		}
		if *v.v != Route && *v.v != Deny {
			return Policy{}, bad("%s: %q, want route or deny", v.field, *v.v)
		}
	}
	names := map[string]bool{}
	for i, r := range p.Rules {
		if r.Name == "" {
			return Policy{}, bad("rule %d has no name", i+1)
		}
		if names[r.Name] {
			return Policy{}, bad("rule %q is defined twice", r.Name)
		}
		names[r.Name] = true
		if r.Verdict != Route && r.Verdict != Deny {
			return Policy{}, bad("rule %s: verdict %q, want route or deny", r.Name, r.Verdict)
		}
		if r.When.Status != "" && r.When.Status != AcceptedRisk && r.When.Status != NotAffected {
			return Policy{}, bad("rule %s: unknown status %q", r.Name, r.When.Status)
		}
		if r.MinControls < 0 {
			return Policy{}, bad("rule %s: negative min_controls", r.Name)
		}
	}
	for i, h := range p.EvidenceHosts {
		p.EvidenceHosts[i] = strings.ToLower(strings.Trim(strings.TrimSpace(h), "."))
	}
	return p, nil
}

// Digest returns the hex SHA-256 of the policy's canonical JSON, recorded
// in assessments so a verdict can be traced to the policy that gave it.
func (p Policy) Digest() string {
	b, _ := json.Marshal(p)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// approver returns who routed requests go to.
func (p Policy) approver() string {
	if len(p.Approvers) > 0 {
		return p.Approvers[0]
	}
	return "a security approver"
}

// maxDays returns the longest expiry allowed at a priority.
func (p Policy) maxDays(prio sextant.Priority) int {
	return int(p.MaxExpiry[prio.String()])
}

// justifications returns the allowed justifications of not_affected.
func (r StatusRule) justifications() []vex.Justification {
	if len(r.Justifications) == 0 {
		return vex.Justifications()
	}
	return r.Justifications
}

// hasRequirement reports whether the rule asks for something beyond its
// condition.
func (r Rule) hasRequirement() bool { return r.MinControls > 0 || r.MaxExpiry > 0 }

// matches reports whether the condition holds for the request's status and
// a world of facts.
func (c Condition) matches(st Status, w world) bool {
	if c.Status != "" && c.Status != st {
		return false
	}
	if c.KEV != nil && *c.KEV != w.kev {
		return false
	}
	if len(c.Priority) > 0 && !slices.Contains(c.Priority, w.priority) {
		return false
	}
	return true
}

// String describes the condition: "KEV-listed, P0, accepted_risk".
func (c Condition) String() string {
	var parts []string
	if c.KEV != nil {
		if *c.KEV {
			parts = append(parts, "KEV-listed")
		} else {
			parts = append(parts, "not KEV-listed")
		}
	}
	if len(c.Priority) > 0 {
		var ps []string
		for _, p := range c.Priority {
			ps = append(ps, p.String())
		}
		parts = append(parts, strings.Join(ps, " or "))
	}
	if c.Status != "" {
		parts = append(parts, string(c.Status))
	}
	if len(parts) == 0 {
		return "every request"
	}
	return strings.Join(parts, ", ")
}
