// Package triage runs sextant's spine: it reads scanner reports in any
// supported format, merges the findings of every source into one set keyed by
// fingerprint, looks up threat intel, scores every finding and plans the
// actions that fix them.
//
// It holds one compact record per distinct finding (interned package,
// vulnerability and artifact data; descriptions are kept once per
// vulnerability), so memory grows with the number of distinct findings, not
// with the size of the reports, and the largest expanded working set is one
// artifact's findings while actions are planned.
package triage

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/fix"
	"github.com/sextant-dev/sextant/internal/risk"
)

// Parser reads one report format; every package under internal/source
// provides one.
type Parser func(r io.Reader, file string, emit sextant.Emit) (sextant.ReportInfo, error)

// Options configure an Engine.
type Options struct {
	// Parsers maps a format name (see the Format constants) to its parser.
	Parsers map[string]Parser
	// KEV looks a CVE up in the CISA KEV catalog; nil when no catalog is
	// loaded.
	KEV func(cve string) (risk.KEVFact, bool)
	// EPSS looks a CVE up in the FIRST EPSS scores; nil when none are
	// loaded. Scores loaded here take precedence over scores embedded in
	// reports.
	EPSS func(cve string) (sextant.EPSS, bool)
	// IgnoreReportKEV ignores known-exploited flags embedded in the reports
	// themselves (used to measure the score with the KEV catalog withheld).
	IgnoreReportKEV bool
	// Weights are the risk model's weights and thresholds.
	Weights risk.Weights
	// Context gives the runtime context of an artifact, if known.
	Context func(sextant.Artifact) *sextant.ArtifactContext
	// BaseImageShare is passed to the fix planner.
	BaseImageShare float64
	// MemoryRecords is how many finding records stay in memory before the
	// rest go to a temporary file (0: 256k, about 19 MB).
	MemoryRecords int
}

// Engine accumulates findings from reports and produces a Result. It is
// not safe for concurrent use.
type Engine struct {
	opts Options

	recs      *recStore
	artByKey  map[string]uint32
	artifacts []sextant.Artifact
	artRecs   [][]uint32
	pkgByKey  map[uint64]uint32
	pkgMore   map[uint64][]uint32
	pkgs      []pkgRec
	// lastArt caches the artifact of the previous finding: parsers emit
	// runs of findings of one artifact.
	lastArt    sextant.Artifact
	lastArtIdx uint32
	hasLastArt bool
	single     map[uint16]uint32 // source index → its one-source set
	vulnByKey  map[uint64][]uint32
	seed       maphash.Seed
	vulns      []vulnRec
	strs       map[string]string
	textIdx    map[string]uint32
	texts      []string
	sources    []sextant.Source
	srcSets    map[string]uint32
	sets       [][]uint16

	reports  []sextant.ReportInfo
	warnings map[string]int
	warnOrd  []string
}

// rec is the compact form of one distinct finding.
type rec struct {
	id     [16]byte
	art    uint32
	pkg    uint32
	vuln   uint32
	srcSet uint32
	action uint32 // index into Result.Actions + 1; 0 = none
	// fixed (versions joined by "\x00"), fixState, location and epssDate
	// are indexes into Engine.texts.
	fixed     uint32
	fixState  uint32
	location  uint32
	epssDate  uint32
	epssP     float32
	epssPct   float32
	score     float32
	kind      uint8
	prio      uint8
	dead      bool // merged into another record
	reportKEV bool
	hasEPSS   bool
}

// pkgRec is a package: ecosystem, type, name, version, source name, PURL,
// path, layer digest and layer diff ID, as indexes into Engine.texts.
type pkgRec [9]uint32

const (
	pkgEco = iota
	pkgType
	pkgName
	pkgVersion
	pkgSrc
	pkgPURL
	pkgPath
	pkgLayerDigest
	pkgLayerDiffID
)

func (e *Engine) pkgField(r *rec, field int) string { return e.texts[e.pkgs[r.pkg][field]] }

type vulnRec struct {
	id, canon   string
	aliases     []string
	title, desc string
	refs        []string
	sev         sextant.Severity
	sevs        []sextant.SourcedSeverity
	cvss        []sextant.CVSS
	maturity    string
}

var kinds = []sextant.Kind{sextant.KindVulnerability, sextant.KindMisconfiguration, sextant.KindSecret, sextant.KindRuntime}

func kindIndex(k sextant.Kind) uint8 {
	for i, x := range kinds {
		if x == k {
			return uint8(i)
		}
	}
	return 0
}

// New returns an Engine.
func New(opts Options) *Engine {
	return &Engine{
		opts:      opts,
		single:    make(map[uint16]uint32),
		recs:      newRecStore(opts.MemoryRecords),
		artByKey:  make(map[string]uint32),
		pkgByKey:  make(map[uint64]uint32),
		pkgMore:   make(map[uint64][]uint32),
		vulnByKey: make(map[uint64][]uint32),
		seed:      maphash.MakeSeed(),
		strs:      make(map[string]string),
		textIdx:   map[string]uint32{"": 0},
		texts:     []string{""},
		srcSets:   make(map[string]uint32),
		warnings:  make(map[string]int),
	}
}

// Read parses one report from r (gzip-compressed or not, any supported
// format) and adds its findings. name names the report in messages and in
// each finding's source ("-" for standard input). On error, the findings
// read before it are kept and the error says where the input went wrong.
func (e *Engine) Read(name string, r io.Reader) (sextant.ReportInfo, error) {
	br := bufio.NewReaderSize(r, sniffWindow)
	dr, err := Decompress(br)
	if err != nil {
		return sextant.ReportInfo{}, fmt.Errorf("%s: %w", name, err)
	}
	if dr != io.Reader(br) {
		br = bufio.NewReaderSize(dr, sniffWindow)
	}
	format, err := Sniff(br)
	if err != nil {
		return sextant.ReportInfo{}, fmt.Errorf("%s: %w", name, err)
	}
	// A plain file is handed to the parser as itself, rewound, so that
	// parsers that can seek (Grype reads its metadata after the matches)
	// take their fast path.
	var in io.Reader = br
	if rs, ok := r.(io.ReadSeeker); ok && dr == io.Reader(br) {
		if _, err := rs.Seek(0, io.SeekStart); err == nil {
			in = rs
		}
	}
	if format == FormatSPDX {
		info := sextant.ReportInfo{Format: FormatSPDX, Source: sextant.Source{Scanner: "spdx", Format: FormatSPDX, File: name}, Complete: true,
			Warnings: []string{"SPDX SBOMs carry no vulnerability data: scan it first (for example `trivy sbom " + name + " -f json` or `grype sbom:" + name + " -o json`) and triage that report"}}
		e.reports = append(e.reports, info)
		return info, nil
	}
	parse, ok := e.opts.Parsers[format]
	if !ok {
		return sextant.ReportInfo{}, sextant.Errorf(sextant.EINVALID, "%s: detected format %s, but no parser is configured for it", name, format)
	}
	// The parser and the merging of its findings into the records run on
	// two goroutines, handing over batches: decoding JSON and interning
	// findings take about equal time. The adder stops when the channel
	// closes; Read waits for it before it looks at the engine again.
	batches := make(chan []*sextant.Finding, 4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		srcIdx := -1
		for batch := range batches {
			for _, f := range batch {
				if srcIdx < 0 || e.sources[srcIdx] != f.Source {
					srcIdx = e.sourceIndex(f.Source)
				}
				e.add(f, uint16(srcIdx))
			}
		}
	}()
	const batchLen = 256
	batch := make([]*sextant.Finding, 0, batchLen)
	info, err := parse(in, name, func(f *sextant.Finding) error {
		batch = append(batch, f)
		if len(batch) == batchLen {
			batches <- batch
			batch = make([]*sextant.Finding, 0, batchLen)
		}
		return nil
	})
	if len(batch) > 0 {
		batches <- batch
	}
	close(batches)
	<-done
	info.Source.File = name
	for _, w := range info.Warnings {
		e.warn(name + ": " + w)
	}
	if err != nil {
		return info, fmt.Errorf("%s: %w", name, err)
	}
	e.reports = append(e.reports, info)
	return info, nil
}

func (e *Engine) warn(msg string) {
	if e.warnings[msg] == 0 {
		e.warnOrd = append(e.warnOrd, msg)
	}
	e.warnings[msg]++
}

func (e *Engine) intern(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := e.strs[s]; ok {
		return v
	}
	s = strings.Clone(s)
	e.strs[s] = s
	return s
}

// text interns s and returns its index in e.texts (0 for "").
func (e *Engine) text(s string) uint32 {
	if i, ok := e.textIdx[s]; ok {
		return i
	}
	s = strings.Clone(s)
	e.texts = append(e.texts, s)
	i := uint32(len(e.texts) - 1)
	e.textIdx[s] = i
	return i
}

func (e *Engine) sourceIndex(s sextant.Source) int {
	for i, x := range e.sources {
		if x == s {
			return i
		}
	}
	e.sources = append(e.sources, s)
	return len(e.sources) - 1
}

func (e *Engine) setIndex(set []uint16) uint32 {
	var b strings.Builder
	for _, s := range set {
		fmt.Fprintf(&b, "%d,", s)
	}
	k := b.String()
	if i, ok := e.srcSets[k]; ok {
		return i
	}
	e.sets = append(e.sets, slices.Clone(set))
	i := uint32(len(e.sets) - 1)
	e.srcSets[k] = i
	return i
}

func (e *Engine) artifactIndex(a *sextant.Artifact) uint32 {
	if e.hasLastArt && a.Digest == e.lastArt.Digest && a.Name == e.lastArt.Name && a.Repository == e.lastArt.Repository &&
		slices.Equal(a.Tags, e.lastArt.Tags) && len(a.Layers) == len(e.lastArt.Layers) && a.BaseLayers == e.lastArt.BaseLayers {
		return e.lastArtIdx
	}
	i := e.artifactIndexSlow(a)
	e.lastArt, e.lastArtIdx, e.hasLastArt = *a, i, true
	return i
}

func (e *Engine) artifactIndexSlow(a *sextant.Artifact) uint32 {
	k := a.Key()
	if i, ok := e.artByKey[k]; ok {
		// A second source for the same artifact may know more.
		have := &e.artifacts[i]
		if len(have.Layers) == 0 && len(a.Layers) > 0 {
			have.Layers = a.Layers
		}
		if have.BaseLayers == 0 && a.BaseLayers > 0 {
			have.BaseLayers = a.BaseLayers
		}
		if have.OSFamily == "" {
			have.OSFamily, have.OSVersion = a.OSFamily, a.OSVersion
		}
		if have.BaseImage == "" {
			have.BaseImage = a.BaseImage
		}
		return i
	}
	e.artifacts = append(e.artifacts, *a)
	e.artRecs = append(e.artRecs, nil)
	i := uint32(len(e.artifacts) - 1)
	e.artByKey[strings.Clone(k)] = i
	return i
}

func (e *Engine) add(f *sextant.Finding, src uint16) {
	if f.ID == "" {
		f.ID = sextant.Fingerprint(f)
	}
	var id [16]byte
	if n, err := hex.Decode(id[:], []byte(f.ID)); err != nil || n != 16 {
		id = fingerprintBytes(sextant.Fingerprint(f))
	}
	for _, w := range f.Warnings {
		e.warn(f.Source.File + ": " + w)
	}
	set, ok := e.single[src]
	if !ok {
		set = e.setIndex([]uint16{src})
		e.single[src] = set
	}
	// Duplicates (the same finding from another scanner or another scan)
	// are merged per artifact in Finish: a global index of fingerprints
	// would cost more memory than the records.
	art := e.artifactIndex(&f.Artifact)
	r := rec{
		id:        id,
		art:       art,
		pkg:       e.pkgIndex(&f.Package),
		vuln:      e.vulnIndex(f),
		srcSet:    set,
		fixed:     e.text(strings.Join(f.FixedVersions, "\x00")),
		fixState:  e.text(f.FixState),
		location:  e.text(f.Location),
		kind:      kindIndex(f.Kind),
		reportKEV: f.KnownExploited,
	}
	if f.EPSS != nil {
		r.hasEPSS, r.epssP, r.epssPct, r.epssDate = true, float32(f.EPSS.Probability), float32(f.EPSS.Percentile), e.text(f.EPSS.Date)
	}
	e.artRecs[art] = append(e.artRecs[art], e.recs.append(r))
}

// merge folds record b, a second report of the same finding, into a: the
// sources of both, and whatever a's source did not know.
func (e *Engine) merge(a, b *rec) {
	if a.srcSet != b.srcSet {
		set := slices.Clone(e.sets[a.srcSet])
		for _, s := range e.sets[b.srcSet] {
			if !slices.Contains(set, s) {
				set = append(set, s)
			}
		}
		slices.Sort(set)
		a.srcSet = e.setIndex(set)
	}
	if a.fixed == 0 && b.fixed != 0 {
		a.fixed, a.fixState = b.fixed, b.fixState
	}
	if !a.hasEPSS && b.hasEPSS {
		a.hasEPSS, a.epssP, a.epssPct, a.epssDate = true, b.epssP, b.epssPct, b.epssDate
	}
	a.reportKEV = a.reportKEV || b.reportKEV
	if len(e.vulns[a.vuln].cvss) == 0 && len(e.vulns[b.vuln].cvss) > 0 {
		a.vuln = b.vuln
	}
}

// dedupe merges the records of one artifact that share a fingerprint and
// returns the surviving record indexes, in first-seen order.
func (e *Engine) dedupe(idxs []uint32) []uint32 {
	if len(idxs) < 2 {
		return idxs
	}
	type idRec struct {
		id [16]byte
		i  uint32
	}
	sorted := make([]idRec, len(idxs))
	for k, i := range idxs {
		sorted[k] = idRec{e.recs.get(i).id, i}
	}
	slices.SortStableFunc(sorted, func(x, y idRec) int { return bytes.Compare(x.id[:], y.id[:]) })
	drop := map[uint32]bool{}
	keep := 0 // the record the run of equal fingerprints merges into
	for k := 1; k < len(sorted); k++ {
		if sorted[k].id != sorted[keep].id {
			keep = k
			continue
		}
		a, b := e.recs.get(sorted[keep].i), e.recs.get(sorted[k].i)
		e.merge(&a, &b)
		b.dead = true
		e.recs.put(sorted[keep].i, a)
		e.recs.put(sorted[k].i, b)
		drop[sorted[k].i] = true
	}
	if len(drop) == 0 {
		return idxs
	}
	out := idxs[:0]
	for _, i := range idxs {
		if !drop[i] {
			out = append(out, i)
		}
	}
	return out
}

// value returns the record's score. Scores are rounded to 0.1, which a
// float32 keeps exactly enough to round back.
func (r *rec) value() float64 { return math.Round(float64(r.score)*10) / 10 }

func fingerprintBytes(s string) [16]byte {
	var id [16]byte
	hex.Decode(id[:], []byte(s))
	return id
}

func (e *Engine) pkgIndex(p *sextant.Package) uint32 {
	fields := [9]string{p.Ecosystem, p.Type, p.Name, p.Version, p.SourceName, p.PURL, p.Path, p.LayerDigest, p.LayerDiffID}
	var h maphash.Hash
	h.SetSeed(e.seed)
	for _, f := range fields {
		h.WriteString(f)
		h.WriteByte(0)
	}
	k := h.Sum64()
	same := func(i uint32) bool {
		for j, f := range fields {
			if e.texts[e.pkgs[i][j]] != f {
				return false
			}
		}
		return true
	}
	// Most hashes have one package; the rare collisions go to pkgMore.
	if i, ok := e.pkgByKey[k]; ok {
		if same(i) {
			return i
		}
		for _, i := range e.pkgMore[k] {
			if same(i) {
				return i
			}
		}
	}
	var r pkgRec
	for j, f := range fields {
		r[j] = e.text(f)
	}
	e.pkgs = append(e.pkgs, r)
	i := uint32(len(e.pkgs) - 1)
	if _, ok := e.pkgByKey[k]; ok {
		e.pkgMore[k] = append(e.pkgMore[k], i)
	} else {
		e.pkgByKey[k] = i
	}
	return i
}

// Vulnerability and package metadata is interned through a 64-bit hash
// whose candidates are compared field by field, so a hash collision can
// never merge two different records.

func (e *Engine) vulnIndex(f *sextant.Finding) uint32 {
	var h maphash.Hash
	h.SetSeed(e.seed)
	str := func(s string) {
		h.WriteString(s)
		h.WriteByte(0)
	}
	str(f.VulnerabilityID)
	str(f.Title)
	str(f.Description)
	h.WriteByte(byte(f.Severity))
	for _, c := range f.CVSS {
		str(c.Source)
		str(c.Version)
		str(c.Vector)
		var buf [8]byte
		binary.LittleEndian.PutUint64(buf[:], math.Float64bits(c.Score))
		h.Write(buf[:])
	}
	h.WriteByte(1)
	for _, sv := range f.Severities {
		str(sv.Source)
		str(sv.Text)
	}
	h.WriteByte(2)
	for _, a := range f.Aliases {
		str(a)
	}
	h.WriteByte(3)
	if len(f.References) > 0 {
		str(f.References[0])
	}
	k := h.Sum64()
	for _, i := range e.vulnByKey[k] {
		if e.sameVuln(&e.vulns[i], f) {
			return i
		}
	}
	v := vulnRec{
		id:    e.intern(f.VulnerabilityID),
		canon: e.intern(sextant.CanonicalVulnerabilityID(f.VulnerabilityID, f.Aliases)),
		title: e.intern(f.Title),
		desc:  e.intern(f.Description),
		sev:   f.Severity,
	}
	if len(f.References) > 0 {
		// One reference is enough for a link; the report has the rest.
		v.refs = []string{e.intern(f.References[0])}
	}
	for _, a := range f.Aliases {
		v.aliases = append(v.aliases, e.intern(a))
	}
	for _, sv := range f.Severities {
		v.sevs = append(v.sevs, sextant.SourcedSeverity{Source: e.intern(sv.Source), Severity: sv.Severity, Text: e.intern(sv.Text)})
	}
	for _, c := range f.CVSS {
		v.cvss = append(v.cvss, sextant.CVSS{Source: e.intern(c.Source), Version: e.intern(c.Version), Vector: e.intern(c.Vector), Score: c.Score})
	}
	v.maturity = exploitMaturity(v.cvss)
	e.vulns = append(e.vulns, v)
	i := uint32(len(e.vulns) - 1)
	e.vulnByKey[k] = append(e.vulnByKey[k], i)
	return i
}

// sameVuln reports whether v records exactly f's vulnerability metadata.
func (e *Engine) sameVuln(v *vulnRec, f *sextant.Finding) bool {
	if v.id != f.VulnerabilityID || v.title != f.Title || v.desc != f.Description || v.sev != f.Severity ||
		len(v.cvss) != len(f.CVSS) || len(v.sevs) != len(f.Severities) || !slices.Equal(v.aliases, f.Aliases) {
		return false
	}
	for i, c := range f.CVSS {
		if v.cvss[i] != c {
			return false
		}
	}
	for i, sv := range f.Severities {
		if v.sevs[i] != sv {
			return false
		}
	}
	ref := ""
	if len(f.References) > 0 {
		ref = f.References[0]
	}
	return (len(v.refs) == 0 && ref == "") || (len(v.refs) > 0 && v.refs[0] == ref)
}

// exploitMaturity reads the Exploit Maturity metric from CVSS vectors:
// v4.0 "E:A" (attacked), v3.x "E:H"/"E:F" (high, functional), "E:P" (proof
// of concept). Most vectors carry no temporal metrics; then it is "".
func exploitMaturity(cs []sextant.CVSS) string {
	best := ""
	rank := map[string]int{"": 0, "poc": 1, "functional": 2, "high": 3}
	for _, c := range cs {
		for _, part := range strings.Split(c.Vector, "/") {
			m := ""
			switch part {
			case "E:A", "E:H":
				m = "high"
			case "E:F":
				m = "functional"
			case "E:P":
				m = "poc"
			}
			if rank[m] > rank[best] {
				best = m
			}
		}
	}
	return best
}

// Reports returns what was learned about each report read so far.
func (e *Engine) Reports() []sextant.ReportInfo { return e.reports }

// Warning is a distinct warning and how often it occurred.
type Warning struct {
	Message string `json:"message"`
	Count   int    `json:"count"`
}

// Warnings returns the distinct warnings seen so far, in first-seen order.
func (e *Engine) Warnings() []Warning {
	out := make([]Warning, len(e.warnOrd))
	for i, m := range e.warnOrd {
		out[i] = Warning{m, e.warnings[m]}
	}
	return out
}

// Len returns the number of findings read so far, before duplicates are
// merged.
func (e *Engine) Len() int { return e.recs.len() }

// finding expands record i into a full Finding (descriptions included only
// when full is set).
func (e *Engine) finding(r *rec, full bool) *sextant.Finding {
	p := &e.pkgs[r.pkg]
	t := e.texts
	v := &e.vulns[r.vuln]
	f := &sextant.Finding{
		ID:              hex.EncodeToString(r.id[:]),
		Kind:            kinds[r.kind],
		VulnerabilityID: v.id,
		Aliases:         v.aliases,
		Title:           v.title,
		Package: sextant.Package{Ecosystem: t[p[pkgEco]], Type: t[p[pkgType]], Name: t[p[pkgName]], Version: t[p[pkgVersion]],
			SourceName: t[p[pkgSrc]], PURL: t[p[pkgPURL]], Path: t[p[pkgPath]], LayerDigest: t[p[pkgLayerDigest]], LayerDiffID: t[p[pkgLayerDiffID]]},
		FixState:       e.texts[r.fixState],
		Severity:       v.sev,
		Severities:     v.sevs,
		CVSS:           v.cvss,
		KnownExploited: r.reportKEV,
		Location:       e.texts[r.location],
		Artifact:       e.artifacts[r.art],
	}
	if r.fixed != 0 {
		f.FixedVersions = strings.Split(e.texts[r.fixed], "\x00")
	}
	if r.hasEPSS {
		f.EPSS = &sextant.EPSS{Probability: float64(r.epssP), Percentile: float64(r.epssPct), Date: e.texts[r.epssDate]}
	}
	if full {
		f.Description = v.desc
		f.References = v.refs
	}
	if set := e.sets[r.srcSet]; len(set) > 0 {
		f.Source = e.sources[set[0]]
	}
	return f
}

// input builds the risk model's input for record i.
func (e *Engine) input(r *rec, ctx *sextant.ArtifactContext) risk.Input {
	v := &e.vulns[r.vuln]
	p := &e.pkgs[r.pkg]
	in := risk.Input{
		Severity:        v.sev,
		CVSS:            v.cvss,
		FixAvailable:    r.fixed != 0,
		ExploitMaturity: v.maturity,
		Kind:            kinds[r.kind],
		Context:         ctx,
	}
	if in.Kind != sextant.KindVulnerability {
		in.RuleID = v.id
	}
	for _, s := range v.sevs {
		if !strings.EqualFold(s.Source, "nvd") {
			in.VendorSource = s.Source
			break
		}
	}
	cve := v.canon
	if e.opts.KEV != nil {
		in.KEVKnown = true
		if k, ok := e.opts.KEV(cve); ok {
			in.KEV = &k
		}
	}
	if in.KEV == nil && r.reportKEV && !e.opts.IgnoreReportKEV {
		in.KEVKnown = true
		in.KEV = &risk.KEVFact{}
	}
	if e.opts.EPSS != nil {
		if s, ok := e.opts.EPSS(cve); ok {
			in.EPSS = &s
		}
	}
	if in.EPSS == nil && r.hasEPSS {
		in.EPSS = &sextant.EPSS{Probability: float64(r.epssP), Percentile: float64(r.epssPct), Date: e.texts[r.epssDate]}
	}
	if name, src := e.texts[p[pkgName]], e.texts[p[pkgSrc]]; ctx != nil && name != "" {
		for _, l := range ctx.LoadedPackages {
			if l == name || (src != "" && l == src) {
				in.PackageLoaded = true
				break
			}
		}
	}
	return in
}

func (e *Engine) context(art uint32) *sextant.ArtifactContext {
	if e.opts.Context == nil {
		return nil
	}
	return e.opts.Context(e.artifacts[art])
}

// Finish scores every finding, plans the actions and returns the result.
// The Engine must not be used after Finish.
func (e *Engine) Finish() *Result {
	res := &Result{e: e}
	prio := func(v float64) sextant.Priority { return risk.PriorityFor(v, e.opts.Weights) }
	for art := range e.artRecs {
		idxs := e.dedupe(e.artRecs[art])
		e.artRecs[art] = idxs
		if len(idxs) == 0 {
			continue
		}
		ctx := e.context(uint32(art))
		items := make([]fix.Item, len(idxs))
		for j, i := range idxs {
			// Factors are built only when shown: keeping them for every
			// finding would cost more memory than the findings themselves.
			r := e.recs.get(i)
			v, p := risk.Value(e.input(&r, ctx), e.opts.Weights)
			r.score, r.prio = float32(v), uint8(p)
			e.recs.put(i, r)
			items[j] = fix.Item{Finding: e.finding(&r, false), Score: sextant.Score{Value: v, Priority: p}}
		}
		actions := fix.Plan(items, fix.Options{BaseImageShare: e.opts.BaseImageShare, Priority: prio})
		byID := make(map[string]uint32, len(idxs))
		for j, i := range idxs {
			byID[items[j].Finding.ID] = i
		}
		for k := range actions {
			a := &actions[k]
			top, topScore := idxs[0], float32(-1)
			for _, fid := range a.FindingIDs {
				i, ok := byID[fid]
				if !ok {
					continue
				}
				r := e.recs.get(i)
				r.action = uint32(len(res.Actions) + 1)
				e.recs.put(i, r)
				if r.score > topScore {
					top, topScore = i, r.score
				}
			}
			// The action's factors are its top finding's, and its finding
			// IDs and vulnerabilities are its records': all are built when
			// shown (see Result.Explain), as keeping them costs more
			// memory than the plan.
			a.FindingIDs, a.Vulnerabilities = nil, nil
			res.Actions = append(res.Actions, *a)
			res.top = append(res.top, top)
		}
	}
	// The indexes that intern what is read are not needed any more; on a
	// large triage they hold tens of megabytes.
	e.pkgByKey, e.pkgMore, e.vulnByKey, e.strs, e.textIdx, e.srcSets, e.single = nil, nil, nil, nil, nil, nil, nil
	// Actions are re-pointed after sorting, so record ranks through IDs.
	order := make([]int, len(res.Actions))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool {
		a, b := &res.Actions[order[x]], &res.Actions[order[y]]
		if a.Score != b.Score {
			return a.Score > b.Score
		}
		if a.RiskRemoved != b.RiskRemoved {
			return a.RiskRemoved > b.RiskRemoved
		}
		return a.ID < b.ID
	})
	rank := make([]uint32, len(order))
	sorted := make([]sextant.Action, len(order))
	top := make([]uint32, len(order))
	for newPos, old := range order {
		rank[old] = uint32(newPos + 1)
		sorted[newPos] = res.Actions[old]
		top[newPos] = res.top[old]
	}
	res.Actions, res.top = sorted, top
	// Index the findings by action (see Result.actOff).
	res.actOff = make([]uint32, len(res.Actions)+1)
	e.recs.scan(true, func(_ uint32, r *rec) {
		if r.action > 0 && !r.dead {
			r.action = rank[r.action-1]
			res.actOff[r.action]++
		}
	})
	for i := 1; i < len(res.actOff); i++ {
		res.actOff[i] += res.actOff[i-1]
	}
	total := res.actOff[len(res.actOff)-1]
	res.actIDs = make([][16]byte, total)
	res.actVulns = make([]uint32, total)
	fill := slices.Clone(res.actOff)
	e.recs.scan(false, func(i uint32, r *rec) {
		if r.action > 0 && !r.dead {
			k := fill[r.action-1]
			res.actIDs[k], res.actVulns[k] = r.id, r.vuln
			fill[r.action-1]++
		}
	})
	res.summarise()
	if err := e.recs.failure(); err != nil {
		res.err = err
	}
	return res
}
