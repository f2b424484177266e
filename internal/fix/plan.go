package fix

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sextant-dev/sextant"
)

// Item is one finding with its computed score.
type Item struct {
	Finding *sextant.Finding
	Score   sextant.Score
}

// Options tune Plan.
type Options struct {
	// BaseImageShare: recommend a base-image rebuild when at least this
	// share of an artifact's fixable OS-package findings sit in base-image
	// layers (default 0.5 when zero).
	BaseImageShare float64
	// Priority maps an action's score to a priority (the risk package's
	// thresholds). When nil, an action takes the most urgent priority of
	// its findings.
	Priority func(score float64) sextant.Priority
}

// DefaultBaseImageShare is the BaseImageShare used when Options leave it zero.
const DefaultBaseImageShare = 0.5

// Plan groups findings into actions and returns them ranked: by Score (the
// highest finding score in the action) desc, then RiskRemoved desc, then ID.
//
//   - Vulnerabilities with a usable fix become one ActionUpgradePackage per
//     artifact, ecosystem and package, whose target is the least version
//     that fixes all of them and is never a downgrade.
//   - When at least Options.BaseImageShare of an artifact's fixable OS
//     package findings come from base-image layers, those findings become one
//     ActionRebuildBase instead; OS packages of the image's own layers keep
//     their upgrade actions.
//   - Vulnerabilities without a usable fix become one ActionNoFix per
//     artifact and package, with mitigation hints; they are exception
//     candidates.
//   - Misconfigurations become one ActionFixConfig per artifact and check;
//     secrets one ActionRemoveSecret per artifact, rule and location.
//
// Runtime events are not fixed by a plan and are left out; nil findings are
// skipped. The same input gives the same output, whatever its order.
// Plan takes O(n log n) time in the number of items.
func Plan(items []Item, opts Options) []sextant.Action {
	p := &planner{
		items:   items,
		opts:    opts,
		vs:      newVersions(),
		arts:    make(map[string]*artState),
		pkgs:    make(map[pkgKey]*pkgGroup),
		cfgs:    make(map[cfgKey][]int32),
		secrets: make(map[secretKey][]int32),
		loose:   make(map[cfgKey][]int32),
	}
	if p.opts.BaseImageShare <= 0 {
		p.opts.BaseImageShare = DefaultBaseImageShare
	}
	p.classify()
	p.resolve()
	p.actions = make([]sextant.Action, 0, 2*len(p.pkgs)+len(p.arts)+len(p.cfgs)+len(p.secrets)+len(p.loose))
	p.build()
	// Actions are large; sort their indexes, then lay them out once.
	order := make([]int32, len(p.actions))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(i, j int32) int {
		a, b := &p.actions[i], &p.actions[j]
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		if c := cmp.Compare(b.RiskRemoved, a.RiskRemoved); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	out := make([]sextant.Action, len(order))
	for i, j := range order {
		out[i] = p.actions[j]
	}
	return out
}

// Keys of groups point at their artifact's state: comparing a pointer is
// cheaper than comparing long digests a million times.
type pkgKey struct {
	art       *artState
	eco, name string
}
type cfgKey struct {
	art *artState
	id  string
}
type secretKey struct {
	art            *artState
	rule, location string
}

// artState is what the planner knows about one artifact.
type artState struct {
	key string
	art sextant.Artifact
	// osFixable counts fixable OS-package findings, inBase those of them in
	// base-image layers.
	osFixable, inBase int
	rebuild           bool
	// base holds the findings a base-image rebuild resolves, by package.
	base []*pkgGroup
}

// pkgGroup is the findings about one package in one artifact.
type pkgGroup struct {
	key pkgKey
	// name is the package name shown and put into commands.
	name    string
	members []int32
	res     []resolution
	// inBase marks members in base-image layers (OS packages only).
	inBase []bool
}

type planner struct {
	items   []Item
	opts    Options
	vs      *versions
	arts    map[string]*artState
	pkgs    map[pkgKey]*pkgGroup
	cfgs    map[cfgKey][]int32
	secrets map[secretKey][]int32
	// loose holds vulnerabilities without a package, by artifact and
	// canonical ID: nothing can be upgraded for them.
	loose   map[cfgKey][]int32
	actions []sextant.Action
	// upgrades indexes upgrade actions of OS packages by source package,
	// to point binaries of one source at each other.
	sources map[pkgKey][]int
}

func (p *planner) classify() {
	for i, it := range p.items {
		f := it.Finding
		if f == nil {
			continue
		}
		key := f.Artifact.Key()
		a := p.arts[key]
		if a == nil {
			a = &artState{key: key, art: f.Artifact}
			p.arts[key] = a
		} else {
			mergeArtifact(&a.art, &f.Artifact)
		}
		idx := int32(i)
		switch f.Kind {
		case sextant.KindRuntime:
			// Alerts about behaviour; no package or file to change.
		case sextant.KindMisconfiguration:
			k := cfgKey{a, strings.TrimSpace(f.VulnerabilityID)}
			p.cfgs[k] = append(p.cfgs[k], idx)
		case sextant.KindSecret:
			k := secretKey{a, strings.TrimSpace(f.VulnerabilityID), strings.TrimSpace(f.Location)}
			p.secrets[k] = append(p.secrets[k], idx)
		default:
			if strings.TrimSpace(f.Package.Name) == "" {
				k := cfgKey{a, sextant.CanonicalVulnerabilityID(f.VulnerabilityID, f.Aliases)}
				p.loose[k] = append(p.loose[k], idx)
				continue
			}
			eco := sextant.Ecosystem(f.Package.Ecosystem)
			name := strings.TrimSpace(f.Package.Name)
			k := pkgKey{a, eco, sextant.NormalizePackageName(eco, name)}
			g := p.pkgs[k]
			if g == nil {
				g = &pkgGroup{key: k, name: name}
				p.pkgs[k] = g
			}
			// The least spelling, so that it does not depend on input order.
			g.name = min(g.name, name)
			g.members = append(g.members, idx)
		}
	}
}

// mergeArtifact fills what a is missing from b: findings of one artifact
// may come from reports that know different things about it.
func mergeArtifact(a, b *sextant.Artifact) {
	if a.Name == "" {
		a.Name = b.Name
	}
	if len(a.Layers) == 0 && len(b.Layers) > 0 {
		a.Layers, a.BaseLayers = b.Layers, b.BaseLayers
	}
	if a.BaseImage == "" {
		a.BaseImage = b.BaseImage
	}
	if a.OSFamily == "" {
		a.OSFamily, a.OSVersion = b.OSFamily, b.OSVersion
	}
}

// resolve reads every vulnerability's fixed versions and counts, per
// artifact, the fixable OS-package findings in base-image layers.
func (p *planner) resolve() {
	for _, g := range p.pkgs {
		a := g.key.art
		g.res = make([]resolution, len(g.members))
		os := sextant.OSEcosystem(g.key.eco)
		if os {
			g.inBase = make([]bool, len(g.members))
		}
		for i, idx := range g.members {
			f := p.items[idx].Finding
			g.res[i] = p.vs.resolve(g.key.eco, f)
			if !os || g.res[i].cand == "" {
				continue
			}
			a.osFixable++
			if in, _ := inBaseImage(a.art, f.Package.LayerDiffID); in {
				g.inBase[i] = true
				a.inBase++
			}
		}
	}
	for _, a := range p.arts {
		a.rebuild = a.inBase > 0 && float64(a.inBase) >= p.opts.BaseImageShare*float64(a.osFixable)
	}
}

// inBaseImage reports whether a layer belongs to the base image. When the
// report does not say how many layers the base has but lists the layers,
// only the first is taken as the base (inferred is then true).
func inBaseImage(a sextant.Artifact, diffID string) (in, inferred bool) {
	if a.BaseLayers > 0 {
		in, _ := a.InBaseImage(diffID)
		return in, false
	}
	if len(a.Layers) > 0 && diffID != "" {
		return diffID == a.Layers[0], true
	}
	return false, false
}

func (p *planner) build() {
	p.sources = make(map[pkgKey][]int)
	for _, g := range p.pkgs {
		a := g.key.art
		var fix, nofix []int
		var base bool
		for i := range g.members {
			switch {
			case g.res[i].cand == "":
				nofix = append(nofix, i)
			case a.rebuild && g.inBase != nil && g.inBase[i]:
				base = true
			default:
				fix = append(fix, i)
			}
		}
		if base {
			a.base = append(a.base, g)
		}
		if len(fix) > 0 {
			nofix = append(nofix, p.upgrade(a, g, fix)...)
		}
		if len(nofix) > 0 {
			slices.Sort(nofix)
			p.noFix(a, g, nofix)
		}
	}
	p.linkSources()
	for _, a := range p.arts {
		if len(a.base) > 0 {
			p.rebuildBase(a)
		}
	}
	for k, idxs := range p.cfgs {
		p.fixConfig(k, idxs)
	}
	for k, idxs := range p.secrets {
		p.removeSecret(k, idxs)
	}
	for k, idxs := range p.loose {
		p.noFixLoose(k, idxs)
	}
}

// summary is what an action says about the findings it resolves.
type summary struct {
	ids, vulns []string
	score      float64
	risk       float64
	top        int32
	best       sextant.Priority
}

// summarize sums up findings; a finding listed twice counts once, with its
// higher score. Sums run in finding-ID order so that they do not depend on
// the input order.
func (p *planner) summarize(idxs []int32) summary {
	type entry struct {
		id  string
		idx int32
	}
	es := make([]entry, len(idxs))
	vulns := make([]string, 0, len(idxs))
	for i, idx := range idxs {
		f := p.items[idx].Finding
		id := f.ID
		if id == "" {
			id = sextant.Fingerprint(f)
		}
		es[i] = entry{id, idx}
		vulns = append(vulns, sextant.CanonicalVulnerabilityID(f.VulnerabilityID, f.Aliases))
	}
	slices.SortFunc(es, func(a, b entry) int {
		if c := strings.Compare(a.id, b.id); c != 0 {
			return c
		}
		return cmp.Compare(p.items[b.idx].Score.Value, p.items[a.idx].Score.Value)
	})
	s := summary{ids: make([]string, 0, len(es)), top: -1, best: sextant.P3}
	for i, e := range es {
		if i > 0 && e.id == es[i-1].id {
			continue
		}
		sc := p.items[e.idx].Score
		s.ids = append(s.ids, e.id)
		s.risk += sc.Value
		if s.top < 0 || sc.Value > s.score {
			s.top, s.score = e.idx, sc.Value
		}
		s.best = min(s.best, sc.Priority)
	}
	s.vulns = sextant.SortStrings(vulns)
	if s.vulns == nil {
		s.vulns = []string{}
	}
	return s
}

// newAction fills what every action has from its findings.
func (p *planner) newAction(kind sextant.ActionKind, a *artState, subject string, idxs []int32) (sextant.Action, summary) {
	s := p.summarize(idxs)
	act := sextant.Action{
		ID:              sextant.ActionID(kind, a.key, subject),
		Kind:            kind,
		Artifact:        displayName(a),
		Score:           s.score,
		RiskRemoved:     s.risk,
		Commands:        []string{},
		Vulnerabilities: s.vulns,
		FindingIDs:      s.ids,
		Factors:         []sextant.Factor{},
	}
	if p.opts.Priority != nil {
		act.Priority = p.opts.Priority(s.score)
	} else {
		act.Priority = s.best
	}
	if s.top >= 0 {
		act.Factors = append(act.Factors, p.items[s.top].Score.Factors...)
	}
	return act, s
}

func displayName(a *artState) string {
	if a.art.Name != "" {
		return clean(a.art.Name)
	}
	return clean(a.key)
}

// clean makes report text safe to show on one line: control characters
// become spaces and long text is cut.
func clean(s string) string {
	const max = 120
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 {
			return ' '
		}
		return r
	}, s)
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "…"
	}
	return s
}

// vulnWord says "3 CVEs", or "3 vulnerabilities" when not all are CVEs.
func vulnWord(vulns []string) string {
	word := "CVE"
	for _, v := range vulns {
		if !strings.HasPrefix(v, "CVE-") {
			word = "vulnerabilit"
			break
		}
	}
	n := len(vulns)
	switch {
	case word == "CVE" && n == 1:
		return "1 CVE"
	case word == "CVE":
		return strconv.Itoa(n) + " CVEs"
	case n == 1:
		return "1 vulnerability"
	}
	return strconv.Itoa(n) + " vulnerabilities"
}

func (a *artState) os() osInfo {
	return osInfo{family: strings.ToLower(strings.TrimSpace(a.art.OSFamily)), version: strings.TrimSpace(a.art.OSVersion)}
}

// noteSet collects notes that many findings share, with the vulnerabilities
// each applies to.
type noteSet map[string][]string

func (ns noteSet) add(text, vuln string) { ns[text] = append(ns[text], vuln) }

// render lists the notes sorted, each with up to 10 of its vulnerabilities.
func (ns noteSet) render() []string {
	out := make([]string, 0, len(ns))
	for text, vulns := range ns {
		vulns = sextant.SortStrings(vulns)
		if len(vulns) > 10 {
			vulns = append(vulns[:10:10], fmt.Sprintf("and %d more", len(vulns)-10))
		}
		out = append(out, text+" ("+strings.Join(vulns, ", ")+")")
	}
	slices.Sort(out)
	return out
}

func (p *planner) vulnOf(idx int32) string {
	f := p.items[idx].Finding
	return sextant.CanonicalVulnerabilityID(f.VulnerabilityID, f.Aliases)
}

// upgrade adds the upgrade action for members fix of g and returns the
// members it could not cover after all.
func (p *planner) upgrade(a *artState, g *pkgGroup, fix []int) (rejected []int) {
	rs := make([]*resolution, len(fix))
	idxs := make([]int32, len(fix))
	for i, m := range fix {
		rs[i], idxs[i] = &g.res[m], g.members[m]
	}
	name := g.name
	t, ok := p.vs.target(g.key.eco, rs)
	if !ok {
		// Only an inconsistent version order gets here; say so rather
		// than propose a version that might be a downgrade.
		for _, m := range fix {
			g.res[m].cand = ""
			g.res[m].notes = append(g.res[m].notes, "No single version could be shown to be newer than the installed one and to include every listed fix; upgrade by hand.")
		}
		return fix
	}
	act, s := p.newAction(sextant.ActionUpgradePackage, a, g.key.eco+"/"+g.key.name, idxs)
	installed := p.installedVersions(g.key.eco, rs)
	act.Package, act.Ecosystem = name, g.key.eco
	act.InstalledVersion, act.TargetVersion = strings.Join(installed, ", "), t
	r := recipeFor(g.key.eco, a.os(), name, t)
	act.Commands = append(act.Commands, r.commands...)
	if g.key.eco == "golang" && isGoStdlib(name) {
		act.Title = fmt.Sprintf("Rebuild with Go %s (Go %s now) in %s (fixes %s)", clean(t), clean(act.InstalledVersion), act.Artifact, vulnWord(s.vulns))
	} else {
		act.Title = fmt.Sprintf("Upgrade %s %s → %s in %s (fixes %s)", clean(name), clean(act.InstalledVersion), clean(t), act.Artifact, vulnWord(s.vulns))
	}
	if r.rejected != "" {
		act.Notes = append(act.Notes, r.rejected)
	}
	act.Notes = append(act.Notes, r.notes...)
	ns := noteSet{}
	for i, m := range fix {
		for _, n := range rs[i].notes {
			ns.add(n, p.vulnOf(g.members[m]))
		}
		if rs[i].usable != nil && rs[i].cand != t {
			ns.add(fmt.Sprintf("Fixes are listed for several release lines (%s); %s covers them together with the other vulnerabilities.", strings.Join(rs[i].usable, ", "), t), p.vulnOf(g.members[m]))
		}
	}
	act.Notes = append(act.Notes, ns.render()...)
	if !sextant.OSEcosystem(g.key.eco) {
		for _, v := range installed {
			if leadingNum(v) != leadingNum(t) {
				act.Notes = append(act.Notes, fmt.Sprintf("%s moves to a new major version (%s → %s): check its changelog for breaking changes.", clean(name), clean(v), clean(t)))
				break
			}
		}
		if paths := p.paths(idxs); paths != "" {
			act.Notes = append(act.Notes, "Found in: "+paths+".")
		}
	}
	p.actions = append(p.actions, act)
	if src := p.sourceName(idxs); src != "" && sextant.OSEcosystem(g.key.eco) {
		k := pkgKey{g.key.art, g.key.eco, src}
		p.sources[k] = append(p.sources[k], len(p.actions)-1)
	}
	return nil
}

// installedVersions lists the distinct installed versions, lowest first.
func (p *planner) installedVersions(eco string, rs []*resolution) []string {
	vs := make([]string, 0, 1)
	for _, r := range rs {
		if !slices.Contains(vs, r.installed) {
			vs = append(vs, r.installed)
		}
	}
	slices.SortFunc(vs, func(a, b string) int {
		if c, ok := p.vs.compare(eco, a, b); ok && c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return vs
}

// paths lists where a language package was found, up to five places.
func (p *planner) paths(idxs []int32) string {
	var ps []string
	for _, idx := range idxs {
		if path := strings.TrimSpace(p.items[idx].Finding.Package.Path); path != "" {
			ps = append(ps, clean(path))
		}
	}
	ps = sextant.SortStrings(ps)
	if len(ps) > 5 {
		ps = append(ps[:5:5], fmt.Sprintf("and %d more", len(ps)-5))
	}
	return strings.Join(ps, ", ")
}

// sourceName is the source package of an OS package, when the report gives
// one.
func (p *planner) sourceName(idxs []int32) string {
	src := ""
	for _, idx := range idxs {
		pk := p.items[idx].Finding.Package
		if s := strings.TrimSpace(pk.SourceName); s != "" && (src == "" || s < src) {
			src = s
		}
	}
	return src
}

// linkSources notes, on upgrades of binary packages built from one source
// package, which other binaries of that source are upgraded alongside.
func (p *planner) linkSources() {
	for k, acts := range p.sources {
		if len(acts) < 2 {
			continue
		}
		names := make([]string, len(acts))
		for i, ai := range acts {
			names[i] = clean(p.actions[ai].Package)
		}
		slices.Sort(names)
		for _, ai := range acts {
			p.actions[ai].Notes = append(p.actions[ai].Notes, fmt.Sprintf("%s are built from the source package %s: upgrade them together (one command per binary package).", strings.Join(names, ", "), clean(k.name)))
		}
	}
}

func (p *planner) noFix(a *artState, g *pkgGroup, members []int) {
	idxs := make([]int32, len(members))
	for i, m := range members {
		idxs[i] = g.members[m]
	}
	act, s := p.newAction(sextant.ActionNoFix, a, g.key.eco+"/"+g.key.name, idxs)
	name := g.name
	rs := make([]*resolution, len(members))
	for i, m := range members {
		rs[i] = &g.res[m]
	}
	act.Package, act.Ecosystem = name, g.key.eco
	act.InstalledVersion = strings.Join(p.installedVersions(g.key.eco, rs), ", ")
	act.Title = fmt.Sprintf("No fix yet for %s %s in %s (%s): mitigate or record an exception", clean(name), clean(act.InstalledVersion), act.Artifact, vulnWord(s.vulns))
	ns := noteSet{}
	for i, m := range members {
		v := p.vulnOf(g.members[m])
		if st := rs[i].state; st != "" {
			ns.add("No fixed version is published; reported fix state: "+quoteForNote(st), v)
		}
		for _, n := range rs[i].notes {
			ns.add(n, v)
		}
	}
	act.Notes = append(act.Notes, ns.render()...)
	act.Notes = append(act.Notes, noFixHints(g.key.eco, name)...)
	p.actions = append(p.actions, act)
}

// noFixHints are the mitigations for a package that cannot be upgraded yet.
func noFixHints(eco, name string) []string {
	hints := []string{
		"Exception candidate: record a time-boxed exception, or a VEX statement (not_affected, with its justification) once you have confirmed the vulnerable code is not reachable.",
	}
	if remove := removeCommand(eco, name); remove != "" {
		hints = append(hints, "Remove the package if nothing needs it: "+remove)
	} else {
		hints = append(hints, "Remove the dependency if nothing needs it.")
	}
	hints = append(hints,
		"Restrict exposure: keep the affected component away from untrusted input and networks; run as non-root with a read-only root filesystem and no extra capabilities.",
		"Compensating controls: WAF or IPS rules and runtime detection for the listed vulnerabilities until a fix ships; a rescan turns this into an upgrade action once one does.",
	)
	return hints
}

// removeCommand returns the command that removes an OS package, or "" when
// there is none or the name is not legal.
func removeCommand(eco, name string) string {
	if l, ok := legal[eco]; !ok || !l.name.MatchString(name) {
		return ""
	}
	switch eco {
	case "deb":
		return "apt-get purge -y " + shellQuote(name)
	case "apk":
		return "apk del " + shellQuote(name)
	case "rpm":
		return "rpm -e " + shellQuote(name) + " (or dnf remove -y " + shellQuote(name) + ")"
	}
	return ""
}

// noFixLoose adds the no-fix action of a vulnerability reported without a
// package.
func (p *planner) noFixLoose(k cfgKey, idxs []int32) {
	a := k.art
	act, _ := p.newAction(sextant.ActionNoFix, a, "vulnerability/"+k.id, idxs)
	act.Title = fmt.Sprintf("No package to upgrade for %s in %s: mitigate or record an exception", clean(k.id), act.Artifact)
	act.Notes = append(act.Notes, "The report names no package for this vulnerability, so no upgrade can be computed; find the component by hand.")
	if locs := p.locations(idxs); locs != "" {
		act.Notes = append(act.Notes, "Locations: "+locs+".")
	}
	act.Notes = append(act.Notes, noFixHints("", "")...)
	p.actions = append(p.actions, act)
}

// locations lists the distinct locations of findings, up to 20.
func (p *planner) locations(idxs []int32) string {
	var locs []string
	for _, idx := range idxs {
		if l := strings.TrimSpace(p.items[idx].Finding.Location); l != "" {
			locs = append(locs, clean(l))
		}
	}
	locs = sextant.SortStrings(locs)
	if len(locs) > 20 {
		locs = append(locs[:20:20], fmt.Sprintf("and %d more", len(locs)-20))
	}
	return strings.Join(locs, ", ")
}

func (p *planner) fixConfig(k cfgKey, idxs []int32) {
	a := k.art
	act, s := p.newAction(sextant.ActionFixConfig, a, k.id, idxs)
	top := p.items[s.top].Finding
	n := len(sextant.SortStrings(locationsOf(p, idxs)))
	act.Title = fmt.Sprintf("Fix %s in %s", clean(k.id), act.Artifact)
	if t := strings.TrimSpace(top.Title); t != "" {
		act.Title = fmt.Sprintf("Fix %s (%s) in %s", clean(k.id), clean(t), act.Artifact)
	}
	if n > 1 {
		act.Title += fmt.Sprintf(" (%d locations)", n)
	}
	if locs := p.locations(idxs); locs != "" {
		act.Notes = append(act.Notes, "Locations: "+locs+".")
	} else {
		act.Notes = append(act.Notes, "The report gives no location for this check.")
	}
	p.actions = append(p.actions, act)
}

func locationsOf(p *planner, idxs []int32) []string {
	out := make([]string, 0, len(idxs))
	for _, idx := range idxs {
		if l := strings.TrimSpace(p.items[idx].Finding.Location); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (p *planner) removeSecret(k secretKey, idxs []int32) {
	a := k.art
	act, _ := p.newAction(sextant.ActionRemoveSecret, a, k.rule+"\x00"+k.location, idxs)
	where := "an unreported location"
	if k.location != "" {
		where = clean(k.location)
	}
	// Titles and descriptions of secret findings may quote the match, so
	// only the rule ID and the location are used here.
	act.Title = fmt.Sprintf("Rotate and remove the %s secret at %s in %s", clean(k.rule), where, act.Artifact)
	act.Notes = append(act.Notes,
		"1. Rotate first: revoke the credential at its issuer and issue a new one. Treat it as compromised, because anyone who could read this artifact could read it.",
		"2. Check the issuer's access logs for use of the old credential since it was exposed.",
		fmt.Sprintf("3. Remove it from %s. In an image, rebuild without it: deleting the file in a later layer leaves it in the earlier one. In a repository, also purge it from history (git filter-repo) and force-push.", where),
		"4. Supply the new credential at runtime from a secret store (Kubernetes Secret, Vault, cloud secret manager), never baked into the image or source.",
	)
	p.actions = append(p.actions, act)
}

// rebuildBase adds the base-image action of an artifact.
func (p *planner) rebuildBase(a *artState) {
	slices.SortFunc(a.base, func(x, y *pkgGroup) int { return strings.Compare(x.key.name, y.key.name) })
	var idxs []int32
	type upg struct{ name, target string }
	var ups []upg
	eco := ""
	inferred := false
	for _, g := range a.base {
		var rs []*resolution
		var gi []int32
		for i := range g.members {
			if g.inBase[i] && g.res[i].cand != "" {
				rs = append(rs, &g.res[i])
				gi = append(gi, g.members[i])
				if _, inf := inBaseImage(a.art, p.items[g.members[i]].Finding.Package.LayerDiffID); inf {
					inferred = true
				}
			}
		}
		idxs = append(idxs, gi...)
		eco = g.key.eco
		name := g.name
		if t, ok := p.vs.target(g.key.eco, rs); ok {
			ups = append(ups, upg{name, t})
		}
	}
	act, s := p.newAction(sextant.ActionRebuildBase, a, "", idxs)
	act.Ecosystem = eco
	base := strings.TrimSpace(a.art.BaseImage)
	osName := strings.TrimSpace(strings.TrimSpace(a.art.OSFamily) + " " + strings.TrimSpace(a.art.OSVersion))
	on := "a patched base image"
	switch {
	case base != "":
		on = "a patched " + clean(base)
	case osName != "":
		on = "a patched " + clean(osName) + " base image"
	}
	act.Title = fmt.Sprintf("Rebuild %s on %s (resolves %d findings in %d OS packages, %s)", act.Artifact, on, len(s.ids), len(a.base), vulnWord(s.vulns))
	image := "IMAGE"
	if validImageRef(a.art.Name) {
		image = a.art.Name
	}
	if validImageRef(base) {
		act.Commands = append(act.Commands, "docker pull "+shellQuote(base))
	}
	act.Commands = append(act.Commands, "docker build --pull --no-cache -t "+shellQuote(image)+" .")
	names := make([]string, len(ups))
	specs := make([]string, 0, len(ups))
	mgr := osManager(eco, a.os())
	for i, u := range ups {
		names[i] = clean(u.name)
		if checkLegal(eco, u.name, u.target) == "" {
			specs = append(specs, osSpec(mgr, u.name, u.target))
		}
	}
	act.Notes = append(act.Notes, fmt.Sprintf("%d of the %d fixable OS-package findings in this image come from base-image layers; a rebuild on a patched base resolves them: %s.", a.inBase, a.osFixable, strings.Join(names, ", ")))
	switch {
	case base != "":
		act.Notes = append(act.Notes, fmt.Sprintf("Bump the FROM line to the newest patch release of %s (same major and minor tag) or, for a floating tag, rebuild with --pull as shown.", clean(base)))
	case osName != "":
		act.Notes = append(act.Notes, fmt.Sprintf("The base OS is %s: point FROM at its newest patch tag (for example the %s image of the same release) and rebuild with --pull.", clean(osName), clean(a.art.OSFamily)))
	default:
		act.Notes = append(act.Notes, "Point FROM at the newest patch tag of the same base image and rebuild with --pull.")
	}
	if inferred {
		act.Notes = append(act.Notes, "The report does not say which layers belong to the base image; only the first layer was taken as the base (inferred).")
	}
	if len(specs) > 0 {
		act.Notes = append(act.Notes, "If no patched base image is published yet, upgrade the packages in the Dockerfile instead: "+upgradeLine(mgr, specs, false))
	}
	p.actions = append(p.actions, act)
}

// validImageRef reports whether s looks like an image reference and holds
// nothing a shell or Dockerfile would interpret.
func validImageRef(s string) bool {
	if s == "" || len(s) > 255 || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._-/:@", c) >= 0) {
			return false
		}
	}
	return true
}
