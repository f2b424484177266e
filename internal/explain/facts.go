package explain

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/redact"
)

// Limits on what one explanation carries, to bound the prompt.
const (
	// maxVulns is how many vulnerabilities the facts list; vuln_count has
	// the total.
	maxVulns = 20
	// maxUntrustedText bounds each advisory title and description, in
	// characters.
	maxUntrustedText = 600
	// maxLocations bounds the paths and locations listed.
	maxLocations = 10
)

// Facts are what sextant computed about one action: the decided priority,
// score, factors, versions and commands. They are deterministic (the same
// action gives the same facts, byte for byte, in JSON) and they are the
// only ground an explanation may stand on. Their JSON names are the fact
// keys a model cites: "priority", "package.to", "vulns[CVE-2021-44228]",
// "factors[kev]", "commands[0]" (see Keys).
type Facts struct {
	Action   ActionFacts   `json:"action"`
	Priority string        `json:"priority"`
	Score    float64       `json:"score"`
	Artifact string        `json:"artifact"`
	Package  *PackageFacts `json:"package,omitempty"`
	// Vulns are the vulnerabilities (or checks, or secret rules) the action
	// resolves, the most severe first, at most 20; VulnCount counts all.
	Vulns        []VulnFact   `json:"vulns"`
	VulnCount    int          `json:"vuln_count"`
	FindingCount int          `json:"finding_count"`
	Factors      []FactorFact `json:"factors"`
	// Commands are the fix plan's commands, exactly.
	Commands []string `json:"commands"`
	Notes    []string `json:"notes,omitempty"`
	// VerifyCommands rescan the artifact and triage the new report.
	VerifyCommands []string `json:"verify_commands"`

	// Untrusted is text from reports and advisories. It is kept apart from
	// the facts and fenced as data in prompts; it grounds nothing.
	Untrusted Untrusted `json:"-"`
}

// ActionFacts identify the action.
type ActionFacts struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Title string `json:"title"`
}

// PackageFacts are the package an upgrade changes.
type PackageFacts struct {
	Name      string `json:"name"`
	Ecosystem string `json:"ecosystem,omitempty"`
	From      string `json:"from,omitempty"`
	To        string `json:"to,omitempty"`
}

// VulnFact is one vulnerability the action resolves.
type VulnFact struct {
	ID             string   `json:"id"`
	Aliases        []string `json:"aliases,omitempty"`
	Severity       string   `json:"severity,omitempty"`
	FixedVersions  []string `json:"fixed_versions,omitempty"`
	KnownExploited bool     `json:"known_exploited,omitempty"`
}

// FactorFact is one term of the action's score.
type FactorFact struct {
	Name         string  `json:"name"`
	Value        any     `json:"value"`
	Contribution float64 `json:"contribution"`
	Evidence     string  `json:"evidence,omitempty"`
}

// Untrusted is text that came from outside sextant: advisory titles and
// descriptions, file paths and locations in the scanned artifact.
type Untrusted struct {
	Advisories []Advisory `json:"advisories"`
	Locations  []string   `json:"locations,omitempty"`
}

// Advisory is what a report said about one vulnerability.
type Advisory struct {
	ID          string `json:"id"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
}

// BuildFacts returns the facts of an action. a must be complete (with its
// Vulnerabilities and Factors, as triage.Result.Explain returns it);
// findings are those it resolves, as many as the caller has (they add
// severities, fixed versions, advisory text and locations).
func BuildFacts(a sextant.Action, findings []sextant.Finding) Facts {
	f := Facts{
		Action:       ActionFacts{ID: a.ID, Kind: string(a.Kind), Title: a.Title},
		Priority:     a.Priority.String(),
		Score:        a.Score,
		Artifact:     a.Artifact,
		VulnCount:    len(a.Vulnerabilities),
		FindingCount: len(a.FindingIDs),
		Commands:     append([]string{}, a.Commands...),
		Notes:        append([]string(nil), a.Notes...),
		Vulns:        []VulnFact{},
		Factors:      []FactorFact{},
	}
	if f.FindingCount == 0 {
		f.FindingCount = len(findings)
	}
	if a.Package != "" {
		f.Package = &PackageFacts{Name: a.Package, Ecosystem: a.Ecosystem, From: a.InstalledVersion, To: a.TargetVersion}
	}
	for _, x := range a.Factors {
		f.Factors = append(f.Factors, FactorFact{Name: x.Name, Value: x.Value, Contribution: x.Contribution, Evidence: x.Evidence})
	}

	// One entry per vulnerability, from the action's list, completed by
	// what the findings say.
	type vuln struct {
		VulnFact
		sev sextant.Severity
		adv Advisory
	}
	byID := map[string]*vuln{}
	var order []string
	get := func(id string) *vuln {
		if v, ok := byID[id]; ok {
			return v
		}
		v := &vuln{VulnFact: VulnFact{ID: id}}
		byID[id] = v
		order = append(order, id)
		return v
	}
	for _, id := range a.Vulnerabilities {
		get(id)
	}
	// The findings in a fixed order, so that the facts do not depend on the
	// order the caller found them in.
	fs := make([]*sextant.Finding, len(findings))
	for i := range findings {
		fs[i] = &findings[i]
	}
	slices.SortStableFunc(fs, func(x, y *sextant.Finding) int {
		return cmp.Or(strings.Compare(x.ID, y.ID), strings.Compare(x.VulnerabilityID, y.VulnerabilityID),
			strings.Compare(x.Source.Scanner, y.Source.Scanner), strings.Compare(x.Title, y.Title), strings.Compare(x.Description, y.Description))
	})
	var locations []string
	scanner, artType := "", ""
	for _, fd := range fs {
		id := sextant.CanonicalVulnerabilityID(fd.VulnerabilityID, fd.Aliases)
		if len(a.Vulnerabilities) > 0 && byID[id] == nil {
			// Not one of the action's: the caller passed too much.
			continue
		}
		v := get(id)
		for _, al := range append([]string{fd.VulnerabilityID}, fd.Aliases...) {
			if al != "" && !strings.EqualFold(al, id) && !slices.Contains(v.Aliases, al) {
				v.Aliases = append(v.Aliases, al)
			}
		}
		if fd.Severity > v.sev || v.Severity == "" {
			v.sev = max(v.sev, fd.Severity)
			v.Severity = v.sev.String()
		}
		for _, fx := range fd.FixedVersions {
			if !slices.Contains(v.FixedVersions, fx) {
				v.FixedVersions = append(v.FixedVersions, fx)
			}
		}
		v.KnownExploited = v.KnownExploited || fd.KnownExploited
		if v.adv.Title == "" {
			v.adv.Title = clip(fd.Title, maxUntrustedText)
		}
		if v.adv.Description == "" {
			v.adv.Description = clip(fd.Description, maxUntrustedText)
		}
		for _, loc := range []string{fd.Location, fd.Package.Path} {
			if loc != "" && !slices.Contains(locations, loc) && len(locations) < maxLocations {
				locations = append(locations, loc)
			}
		}
		if scanner == "" {
			scanner = fd.Source.Scanner
		}
		if artType == "" {
			artType = fd.Artifact.Type
		}
	}
	vs := make([]*vuln, 0, len(order))
	for _, id := range order {
		vs = append(vs, byID[id])
	}
	slices.SortStableFunc(vs, func(x, y *vuln) int {
		if x.KnownExploited != y.KnownExploited {
			if x.KnownExploited {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(y.sev, x.sev); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	if f.VulnCount == 0 {
		f.VulnCount = len(vs)
	}
	for _, v := range vs[:min(len(vs), maxVulns)] {
		slices.Sort(v.Aliases)
		slices.Sort(v.FixedVersions)
		f.Vulns = append(f.Vulns, v.VulnFact)
		if v.adv.Title != "" || v.adv.Description != "" {
			v.adv.ID = v.ID
			f.Untrusted.Advisories = append(f.Untrusted.Advisories, v.adv)
		}
	}
	if f.Untrusted.Advisories == nil {
		f.Untrusted.Advisories = []Advisory{}
	}
	slices.Sort(locations)
	f.Untrusted.Locations = locations
	f.VerifyCommands = verifyCommands(a.Artifact, artType, scanner, a.Kind)
	return f
}

// verifyCommands rescan the artifact with the scanner that reported it and
// triage the new report.
func verifyCommands(artifact, artType, scanner string, kind sextant.ActionKind) []string {
	q := shellQuote(artifact)
	var scan string
	switch {
	case artType == "kubernetes":
		// The resource is rescanned with the rest of the cluster (the
		// current kubeconfig context).
		scan = "trivy k8s --report all --format json --output rescan.json"
	case artType == "filesystem" || artType == "repository" && scanner != "grype":
		sub := "fs"
		if artType == "repository" {
			sub = "repo"
		}
		if kind == sextant.ActionFixConfig {
			sub = "config"
		}
		scan = "trivy " + sub + " --format json --output rescan.json " + q
	case scanner == "grype":
		scan = "grype " + q + " -o json --file rescan.json"
	default:
		scan = "trivy image --format json --output rescan.json " + q
	}
	return []string{scan, "sextant triage rescan.json"}
}

// versions returns the version strings the facts name as versions: they
// are package versions, never addresses, whatever they look like.
func (f *Facts) versions() []string {
	var out []string
	if f.Package != nil {
		out = append(out, f.Package.From, f.Package.To, f.Package.Name)
	}
	for _, v := range f.Vulns {
		out = append(out, v.FixedVersions...)
	}
	return out
}

// Redacted returns a copy of the facts with every string passed through
// the redactor, and what it replaced.
func (f Facts) Redacted(r *redact.Redactor) (Facts, redact.Report) {
	var rep redact.Report
	s := func(p *string) {
		out, n := r.Redact(*p)
		*p = out
		rep = rep.Add(n)
	}
	ss := func(xs []string) []string {
		if xs == nil {
			return nil
		}
		out := make([]string, len(xs))
		for i := range xs {
			out[i] = xs[i]
			s(&out[i])
		}
		return out
	}
	g := f
	s(&g.Action.ID)
	s(&g.Action.Title)
	s(&g.Artifact)
	if f.Package != nil {
		p := *f.Package
		s(&p.Name)
		s(&p.From)
		s(&p.To)
		g.Package = &p
	}
	g.Vulns = make([]VulnFact, len(f.Vulns))
	for i, v := range f.Vulns {
		s(&v.ID)
		v.Aliases = ss(v.Aliases)
		v.FixedVersions = ss(v.FixedVersions)
		g.Vulns[i] = v
	}
	g.Factors = make([]FactorFact, len(f.Factors))
	for i, x := range f.Factors {
		if str, ok := x.Value.(string); ok {
			s(&str)
			x.Value = str
		}
		s(&x.Evidence)
		g.Factors[i] = x
	}
	g.Commands = ss(f.Commands)
	g.Notes = ss(f.Notes)
	g.VerifyCommands = ss(f.VerifyCommands)
	g.Untrusted.Advisories = make([]Advisory, len(f.Untrusted.Advisories))
	for i, a := range f.Untrusted.Advisories {
		s(&a.ID)
		s(&a.Title)
		s(&a.Description)
		g.Untrusted.Advisories[i] = a
	}
	g.Untrusted.Locations = ss(f.Untrusted.Locations)
	if rep == nil {
		rep = redact.Report{}
	}
	return g, rep
}

// Keys returns the fact keys an answer may cite.
func (f *Facts) Keys() map[string]bool {
	k := map[string]bool{
		"action": true, "action.id": true, "action.kind": true, "action.title": true,
		"priority": true, "score": true, "artifact": true, "vuln_count": true, "finding_count": true,
		"vulns": true, "vulns[]": true, "factors": true, "factors[]": true,
		"commands": true, "commands[]": true, "verify_commands": true, "verify_commands[]": true,
	}
	if f.Package != nil {
		for _, s := range []string{"package", "package.name", "package.ecosystem", "package.from", "package.to"} {
			k[s] = true
		}
	}
	if len(f.Notes) > 0 {
		k["notes"], k["notes[]"] = true, true
	}
	for _, v := range f.Vulns {
		k["vulns["+v.ID+"]"] = true
		for _, a := range v.Aliases {
			k["vulns["+a+"]"] = true
		}
	}
	for _, x := range f.Factors {
		k["factors["+x.Name+"]"] = true
	}
	for name, n := range map[string]int{"commands": len(f.Commands), "notes": len(f.Notes), "verify_commands": len(f.VerifyCommands)} {
		for i := range n {
			k[name+"["+strconv.Itoa(i)+"]"] = true
		}
	}
	return k
}

// clip shortens s to at most n characters, marking the cut.
func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// shellQuote returns s as one POSIX shell word.
func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("@%+=:,./_-", c) >= 0) {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	return s
}

// factorValue formats a factor's value as the facts' JSON shows it.
func factorValue(v any) string {
	switch x := v.(type) {
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		return x
	}
	return fmt.Sprint(v)
}
