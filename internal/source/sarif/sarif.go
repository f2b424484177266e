// Package sarif reads SARIF 2.1.0 reports as Trivy (vulnerabilities,
// misconfigurations, secrets), Grype and Docker Scout write them, and any
// other SARIF producer on a best-effort basis, into sextant findings: one
// finding per runs[].results[] entry.
//
// SARIF carries less than the scanners' native formats. Trivy puts package
// and versions only in the result message text, and the image identity in
// run.properties after the results; Grype and Docker Scout put them in
// message text and rule properties. What a report does not say is left empty
// and, where it matters (ecosystem, artifact), said in a warning.
//
// The document is read as a stream. When the input is an io.ReadSeeker
// (an *os.File) a first pass skips over the results to read each run's
// header (tool, properties), so the second pass emits findings one by one;
// otherwise the findings of a run whose identity comes after its results
// are held until the run ends.
package sarif

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/source/jsonsrc"
)

// Format is the name of the format this package reads, as it appears in
// sextant.Source.Format and sextant.ReportInfo.Format.
const Format = "sarif"

// op prefixes every error this package returns.
const op = "parse sarif report"

// toolKind is the producer of a run, which decides where its findings keep
// their package data.
type toolKind int

const (
	toolGeneric toolKind = iota
	toolTrivy
	toolGrype
	toolScout
)

// Parse reads one SARIF report from r and calls emit once per finding, in
// document order. file is the report's name for Source.File ("-" for stdin).
//
// When r is an io.ReadSeeker whose position can be read, Parse reads it
// twice: a malformed document is then rejected before any finding is
// emitted.
func Parse(r io.Reader, file string, emit sextant.Emit) (sextant.ReportInfo, error) {
	p := &parser{file: file, emit: emit}
	p.info = sextant.ReportInfo{Format: Format, Complete: true}
	p.prescan = true
	ran, err := jsonsrc.Prescan(op, r, p.walkDocument)
	p.prescan = false
	if err != nil {
		return p.result(err)
	}
	p.rewound = ran
	return p.result(p.walkDocument(r))
}

// parser holds the state of one Parse call.
type parser struct {
	file string
	emit sextant.Emit
	info sextant.ReportInfo
	// prescan is set during the first of two passes, which reads run
	// headers and skips results.
	prescan bool
	// rewound is set during the second of two passes.
	rewound bool
	runs    []*runState
}

func (p *parser) result(err error) (sextant.ReportInfo, error) {
	if err != nil {
		return p.info, err
	}
	return p.info, nil
}

func (p *parser) warnf(format string, args ...any) {
	if p.prescan {
		return
	}
	p.info.Warnings = append(p.info.Warnings, fmt.Sprintf(format, args...))
}

// walkDocument walks the top-level object down to runs[].
func (p *parser) walkDocument(r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	skipped, text, err := skipPreamble(br)
	if err != nil {
		return sextant.Errorf(sextant.EINVALID, "%s: read input: %v", op, err)
	}
	if text {
		p.warnf("skipped %d bytes of text before the SARIF document (scanner progress output?)", skipped)
	}
	w := jsonsrc.NewWalker(op, br, skipped, jsonsrc.LenientAnyCase)
	switch k := w.Dec.PeekKind(); k {
	case '{':
	case 0:
		if jsonsrc.Empty(w.Dec) {
			return jsonsrc.Invalid(op, "empty input")
		}
		return w.WrongKind("the document", k, "an object")
	default:
		return w.WrongKind("the document", k, "an object")
	}
	if err := w.Open("the document", '{'); err != nil {
		return err
	}
	sawRuns := false
	for {
		name, ok, err := w.Key()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch name {
		case "version":
			var v jsonsrc.FlexString
			if err := w.Decode(&v); err != nil {
				return err
			}
			if v != "2.1.0" {
				p.warnf("SARIF version %q; read as 2.1.0", string(v))
			}
		case "runs":
			sawRuns = true
			if w.Dec.PeekKind() == 'n' {
				if err := w.Skip(); err != nil {
					return err
				}
				continue
			}
			if err := w.Open(`"runs"`, '['); err != nil {
				return err
			}
			for i := 0; ; i++ {
				more, err := w.More()
				if err != nil {
					return err
				}
				if !more {
					break
				}
				if err := p.walkRun(w, i); err != nil {
					return err
				}
			}
		default:
			if err := w.Skip(); err != nil {
				return err
			}
		}
	}
	if !sawRuns {
		return sextant.Errorf(sextant.EINVALID, "%s: no \"runs\" member: not a SARIF log", op)
	}
	if !p.prescan {
		if len(p.runs) == 0 {
			p.warnf("the report has no runs")
		}
		if w.Trailing() {
			p.warnf("ignored text after the SARIF document at byte %d", w.Offset())
		}
	}
	return nil
}

// runState is what is known about one run: its header, and the results
// held until the header is complete.
type runState struct {
	index    int
	kind     toolKind
	tool     tool
	toolSeen bool
	props    runProperty
	baseURIs map[string]artifactLocation
	invoc    []invocation
	// final is set once every header member of the run has been read.
	final    bool
	prepared bool

	ruleByID map[string]*rule
	source   sextant.Source
	artifact sextant.Artifact
	epss     map[string]sextant.EPSS

	// The OS package ecosystem of a Trivy run, decided from the first
	// version carrying a distribution marker, else from the image name.
	osEco     string
	osDecided bool
	osWarning string
	// osTarget is the location URI Trivy gives OS package results: the
	// image repository without registry, tag or digest.
	osTarget string

	// anonymous is set when the run does not name what was scanned and
	// its artifact is named after the report; anonWarned once that has
	// been said.
	anonymous  bool
	anonWarned bool

	queue []item
	head  int
}

// anonymousArtifact returns the artifact of a run that does not name what
// it scanned, saying so once in the report warnings.
func (rs *runState) anonymousArtifact(p *parser) sextant.Artifact {
	if !rs.anonWarned {
		rs.anonWarned = true
		p.warnf("run %d: the report does not name the scanned artifact; its findings are keyed by the report name %q", rs.index, p.file)
	}
	return rs.artifact
}

// item is one result waiting to become a finding.
type item struct {
	res    result
	fields fields
	parsed bool
	// os is set for a Trivy result about an OS package.
	os bool
}

// walkRun reads one run. In the first pass it records the header and skips
// the results; otherwise it turns each result into a finding.
func (p *parser) walkRun(w *jsonsrc.Walker, i int) error {
	var rs *runState
	switch {
	case p.prescan:
		rs = &runState{index: i}
		p.runs = append(p.runs, rs)
	case p.rewound && i < len(p.runs):
		rs = p.runs[i]
	default:
		rs = &runState{index: i}
		p.runs = append(p.runs, rs)
	}
	if err := w.Open(fmt.Sprintf("runs[%d]", i), '{'); err != nil {
		return err
	}
	for {
		name, ok, err := w.Key()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch {
		case name == "results":
			if p.prescan || w.Dec.PeekKind() == 'n' {
				if err := w.Skip(); err != nil {
					return err
				}
				continue
			}
			if err := p.walkResults(w, rs); err != nil {
				return err
			}
		case rs.final:
			// Read in the first pass.
			if err := w.Skip(); err != nil {
				return err
			}
		case name == "tool":
			if err := w.Decode(&rs.tool); err != nil {
				return err
			}
			rs.setTool()
			if !p.prescan {
				if err := p.drain(rs, false); err != nil {
					return err
				}
			}
		case name == "properties":
			if err := w.Decode(&rs.props); err != nil {
				return err
			}
		case name == "originalUriBaseIds":
			if err := w.Decode(&rs.baseURIs); err != nil {
				return err
			}
		case name == "invocations":
			if err := w.Decode(&rs.invoc); err != nil {
				return err
			}
		default:
			if err := w.Skip(); err != nil {
				return err
			}
		}
	}
	rs.final = true
	if p.prescan {
		return nil
	}
	p.prepare(rs)
	return p.drain(rs, true)
}

// walkResults reads run.results one element at a time.
func (p *parser) walkResults(w *jsonsrc.Walker, rs *runState) error {
	if err := w.Open(fmt.Sprintf("runs[%d].results", rs.index), '['); err != nil {
		return err
	}
	if rs.final {
		p.prepare(rs)
	}
	for {
		more, err := w.More()
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
		rs.queue = append(rs.queue, item{})
		it := &rs.queue[len(rs.queue)-1]
		if err := w.Decode(&it.res); err != nil {
			return err
		}
		if err := p.drain(rs, false); err != nil {
			return err
		}
	}
}

// setTool records the run's tool and which producer it is.
func (rs *runState) setTool() {
	rs.toolSeen = true
	name := strings.ToLower(strings.TrimSpace(rs.tool.Driver.Name))
	switch {
	case name == "trivy":
		rs.kind = toolTrivy
	case name == "grype" || strings.Contains(name, "anchore container vulnerability"):
		rs.kind = toolGrype
	case name == "docker scout" || name == "docker-scout":
		rs.kind = toolScout
	default:
		rs.kind = toolGeneric
	}
}

// scanner returns the name sextant uses for the run's producer.
func (rs *runState) scanner() string {
	switch rs.kind {
	case toolTrivy:
		return "trivy"
	case toolGrype:
		return "grype"
	case toolScout:
		return "docker-scout"
	}
	name := strings.ToLower(strings.TrimSpace(rs.tool.Driver.Name))
	if name == "" {
		return "unknown"
	}
	return strings.ReplaceAll(name, " ", "-")
}

// note parses an item's message, tells whether a Trivy result is about an
// OS package, and lets the first OS package version that carries a
// distribution marker decide the run's OS ecosystem. It is called only
// once the run header is complete, in document order, so that both passes
// decide alike.
func (rs *runState) note(it *item) {
	if it.parsed {
		return
	}
	it.parsed = true
	if rs.kind == toolGrype {
		return
	}
	it.fields = parseFields(it.res.Message.Text)
	if rs.kind != toolTrivy {
		return
	}
	it.os = rs.trivyOS(it)
	if !it.os || rs.osDecided {
		return
	}
	h := versionHint(it.fields.InstalledVersion)
	if h == "" {
		h = versionHint(it.fields.FixedVersion)
	}
	if h != "" {
		rs.osEco, rs.osDecided = h, true
	}
}

// trivyOS reports whether a Trivy result is about an OS package. Trivy
// names one rule per vulnerability after the class of the first result
// that reported it, so a CVE found in both libnghttp2 and golang.org/x/net
// shares one rule name; the location tells them apart, since Trivy points
// OS package results at the image repository ("bitnami/kibana") and
// language packages at a file.
func (rs *runState) trivyOS(it *item) bool {
	if rs.osTarget != "" {
		return firstURI(&it.res) == rs.osTarget
	}
	r := rs.rule(&it.res)
	return r != nil && r.Name == trivyOSPackage
}

// ready reports whether the item at the head of the queue can become a
// finding now: once the run header is complete (its identity may follow
// the results, as Trivy writes it) and, for a Trivy OS package, once the
// run's OS ecosystem is known.
func (rs *runState) ready(it *item) bool {
	if !rs.toolSeen || !rs.final {
		return false
	}
	rs.note(it)
	return !it.os || rs.osDecided
}

// drain turns queued results into findings, from the front, as long as
// they are ready; at the end of the run, all of them.
func (p *parser) drain(rs *runState, end bool) error {
	if end {
		p.prepare(rs)
		if !rs.osDecided {
			for i := rs.head; i < len(rs.queue) && !rs.osDecided; i++ {
				rs.note(&rs.queue[i])
			}
			if !rs.osDecided {
				rs.osDecided = true
				if fam := rs.artifact.OSFamily; fam != "" {
					rs.osEco = sextant.Ecosystem(fam)
				} else {
					rs.osWarning = "cannot tell the OS package ecosystem: no version carries a distribution marker and the image name names no distribution"
				}
			}
		}
	}
	for rs.head < len(rs.queue) {
		it := &rs.queue[rs.head]
		if !end && !rs.ready(it) {
			return nil
		}
		rs.note(it)
		f := rs.finding(it, p)
		f.ID = sextant.Fingerprint(f)
		rs.queue[rs.head] = item{}
		rs.head++
		p.info.Findings++
		if err := p.emit(f); err != nil {
			return err
		}
	}
	rs.queue, rs.head = rs.queue[:0], 0
	return nil
}

// prepare computes, once the run header is complete, what every finding
// of the run shares: source, artifact and embedded EPSS scores.
func (p *parser) prepare(rs *runState) {
	if rs.prepared || !rs.final {
		return
	}
	rs.prepared = true
	src := sextant.Source{Scanner: rs.scanner(), Version: string(rs.tool.Driver.Version), Format: Format, File: p.file}
	if src.Version == "" {
		src.Version = rs.tool.Driver.SemanticVersion
	}
	var stamp string
	for _, inv := range rs.invoc {
		if inv.ExecutionSuccessful != nil && !*inv.ExecutionSuccessful {
			p.info.Complete = false
			p.warnf("run %d: the tool reports that its execution did not succeed; the scan may be partial", rs.index)
		}
		if stamp == "" {
			stamp = inv.StartTimeUTC
		}
		if stamp == "" {
			stamp = inv.EndTimeUTC
		}
	}
	if stamp == "" {
		stamp = rs.props.ScanTimestamp
	}
	if stamp != "" {
		if t, err := time.Parse(time.RFC3339Nano, stamp); err == nil {
			src.ScanTime = t.UTC()
		} else {
			p.warnf("run %d: cannot read scan time %q: want RFC 3339", rs.index, stamp)
		}
	}
	rs.source = src
	if p.info.Source.Scanner == "" {
		p.info.Source = src
	}

	a := imageArtifact(rs.props)
	if a.Name == "" {
		a.Name, a.Type = baseURIName(rs.baseURIs), "filesystem"
	}
	if a.Name == "" {
		a.Name, a.Type = p.file, ""
		rs.anonymous = true
	}
	rs.artifact = a
	if rs.props.ImageName != "" {
		rs.osTarget = trivyTarget(rs.props.ImageName)
	}

	if len(rs.props.EPSSScores) > 0 {
		date := rs.props.EPSSEnhancementDate
		if len(date) > 10 {
			date = date[:10]
		}
		rs.epss = make(map[string]sextant.EPSS, len(rs.props.EPSSScores))
		for _, e := range rs.props.EPSSScores {
			prob, ok1 := e.EPSS.Float()
			pct, ok2 := e.Percentile.Float()
			if e.CVE == "" || !ok1 || !ok2 {
				p.warnf("run %d: ignored an EPSS entry without CVE, score or percentile (%q)", rs.index, e.CVE)
				continue
			}
			rs.epss[strings.ToUpper(e.CVE)] = sextant.EPSS{Probability: prob, Percentile: pct, Date: date}
		}
	}
}

// imageArtifact reads the image identity Trivy writes into run.properties.
func imageArtifact(pr runProperty) sextant.Artifact {
	var a sextant.Artifact
	name := pr.ImageName
	if name == "" && len(pr.RepoTags) > 0 {
		name = pr.RepoTags[0]
	}
	if name == "" && pr.ImageID == "" {
		return a
	}
	a.Name, a.Type = name, "container_image"
	if a.Name == "" {
		a.Name = pr.ImageID
	}
	// Repository and tags come from repoTags when there are any, as the
	// Trivy JSON reader takes them, else from the image name.
	repo, tag, digest := sextant.SplitImageRef(name)
	if len(pr.RepoTags) > 0 {
		repo, _, _ = sextant.SplitImageRef(pr.RepoTags[0])
		for _, rt := range pr.RepoTags {
			if r, t, _ := sextant.SplitImageRef(rt); r == repo && t != "" && !slices.Contains(a.Tags, t) {
				a.Tags = append(a.Tags, t)
			}
		}
	} else if tag != "" {
		a.Tags = []string{tag}
	}
	a.Repository = repo
	a.RepoDigests = pr.RepoDigests
	switch {
	case pr.ImageID != "":
		a.Digest = pr.ImageID
	case digest != "":
		a.Digest = digest
	case len(pr.RepoDigests) > 0:
		if _, d, ok := strings.Cut(pr.RepoDigests[0], "@"); ok {
			a.Digest = d
		}
	}
	a.OSFamily = imageDistro(name)
	return a
}

// trivyTarget returns the location URI Trivy writes for OS package
// results of an image: the repository path as go-containerregistry's
// RepositoryStr gives it, without registry host, tag or digest, with
// "library/" for single-name Docker Hub images.
func trivyTarget(image string) string {
	repo, _, _ := sextant.SplitImageRef(image)
	first, rest, ok := strings.Cut(repo, "/")
	hub := true
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		hub = first == "docker.io" || first == "index.docker.io" || first == "registry-1.docker.io"
		repo = rest
	}
	if hub && !strings.Contains(repo, "/") {
		repo = "library/" + repo
	}
	return repo
}

// baseURIName returns the scanned directory when run.originalUriBaseIds
// names one (Trivy's ROOTPATH for filesystem scans), or "".
func baseURIName(m map[string]artifactLocation) string {
	for _, k := range []string{"ROOTPATH", "SRCROOT", "%SRCROOT%"} {
		if l, ok := m[k]; ok {
			u := strings.TrimPrefix(l.URI, "file://")
			if u = strings.TrimRight(u, "/"); u != "" {
				return u
			}
		}
	}
	return ""
}

// rule returns the rule a result refers to, by index when the index
// agrees with the ID, else by ID; nil when there is none.
func (rs *runState) rule(res *result) *rule {
	rules := rs.tool.Driver.Rules
	id := res.RuleID
	idx := res.RuleIndex
	if res.Rule != nil {
		if id == "" {
			id = res.Rule.ID
		}
		if idx == nil {
			idx = res.Rule.Index
		}
	}
	if idx != nil && *idx >= 0 && *idx < len(rules) && (id == "" || rules[*idx].ID == id) {
		return &rules[*idx]
	}
	if id == "" {
		return nil
	}
	if rs.ruleByID == nil {
		rs.ruleByID = make(map[string]*rule, len(rules))
		for i := range rules {
			if _, dup := rs.ruleByID[rules[i].ID]; !dup {
				rs.ruleByID[rules[i].ID] = &rules[i]
			}
		}
		for e := range rs.tool.Extensions {
			ext := rs.tool.Extensions[e].Rules
			for i := range ext {
				if _, dup := rs.ruleByID[ext[i].ID]; !dup {
					rs.ruleByID[ext[i].ID] = &ext[i]
				}
			}
		}
	}
	if r, ok := rs.ruleByID[id]; ok {
		return r
	}
	// A hierarchical rule ID ("a/b") refers to rule "a".
	if parent, _, ok := strings.Cut(id, "/"); ok {
		return rs.ruleByID[parent]
	}
	return nil
}

// cvssVersion returns the CVSS version of a vector: "3.1" for
// "CVSS:3.1/…", "2.0" for a prefix-less vector, or def when empty.
func cvssVersion(vector, def string) string {
	if v, ok := strings.CutPrefix(vector, "CVSS:"); ok {
		ver, _, _ := strings.Cut(v, "/")
		if ver == "2" || ver == "3" || ver == "4" {
			ver += ".0"
		}
		return ver
	}
	if strings.Contains(vector, "Au:") {
		return "2.0"
	}
	return def
}

// addCVSS appends a CVSS rating when there is a vector or a score.
func addCVSS(f *sextant.Finding, source, def, vector string, score jsonsrc.FlexString) {
	s, ok := score.Float()
	if vector == "" && !ok {
		return
	}
	if score != "" && !ok {
		f.Warnings = append(f.Warnings, fmt.Sprintf("CVSS score %q is not a number", string(score)))
	}
	f.CVSS = append(f.CVSS, sextant.CVSS{Source: source, Version: cvssVersion(vector, def), Vector: vector, Score: s})
}

// setSeverity records a severity word from source and makes it the
// finding's severity. It reports false when word is empty.
func setSeverity(f *sextant.Finding, source, word string) bool {
	word = strings.TrimSpace(word)
	if word == "" {
		return false
	}
	s, ok := sextant.ParseSeverity(word)
	if !ok && strings.EqualFold(word, "unspecified") {
		// Docker Scout's word for "no severity assigned".
		ok = true
	}
	if !ok {
		f.Warnings = append(f.Warnings, fmt.Sprintf("unknown severity %q; kept as UNKNOWN", word))
	}
	f.Severity = s
	f.Severities = append(f.Severities, sextant.SourcedSeverity{Source: source, Severity: s, Text: word})
	return true
}

// fallbackSeverity sets the severity from what the rule and result say
// when no severity word was given: a severity tag, then GitHub's numeric
// security-severity, then the SARIF level.
func fallbackSeverity(f *sextant.Finding, r *rule, res *result) {
	if r != nil {
		for _, t := range r.Properties.Tags {
			if s, ok := sextant.ParseSeverity(string(t)); ok && t != "" {
				f.Severity = s
				return
			}
		}
		if r.Properties.SecuritySeverity != "" {
			if score, ok := r.Properties.SecuritySeverity.Float(); ok {
				f.Severity = sextant.SeverityFromCVSS(score)
				return
			}
			f.Warnings = append(f.Warnings, fmt.Sprintf("security-severity %q is not a number", string(r.Properties.SecuritySeverity)))
		}
	}
	level := res.Level
	if level == "" && r != nil {
		level = r.DefaultConfiguration.Level
	}
	if level != "" {
		if s, ok := sextant.ParseSeverity(level); ok {
			f.Severity = s
			return
		}
		f.Warnings = append(f.Warnings, fmt.Sprintf("unknown SARIF level %q; severity kept as UNKNOWN", level))
		return
	}
	f.Warnings = append(f.Warnings, "no severity given; kept as UNKNOWN")
}

// addReference appends a URL to the finding's references once.
func addReference(f *sextant.Finding, u string) {
	u = strings.TrimSpace(u)
	if u == "" || slices.Contains(f.References, u) {
		return
	}
	f.References = append(f.References, u)
}

// locationOf returns "uri:line" for the result's first location.
func locationOf(res *result) string {
	if len(res.Locations) == 0 {
		return ""
	}
	pl := res.Locations[0].PhysicalLocation
	if pl.ArtifactLocation.URI == "" {
		return ""
	}
	// The same "file:start-end" spelling as the Trivy JSON reader, so that
	// both give a misconfiguration the same fingerprint.
	switch start, end := pl.Region.StartLine, pl.Region.EndLine; {
	case start <= 0:
		return pl.ArtifactLocation.URI
	case end > start:
		return pl.ArtifactLocation.URI + ":" + strconv.Itoa(start) + "-" + strconv.Itoa(end)
	default:
		return pl.ArtifactLocation.URI + ":" + strconv.Itoa(start)
	}
}

// firstURI returns the result's first location URI.
func firstURI(res *result) string {
	if len(res.Locations) == 0 {
		return ""
	}
	return res.Locations[0].PhysicalLocation.ArtifactLocation.URI
}
