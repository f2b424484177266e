package triage

import (
	"cmp"
	"encoding/hex"
	"math"
	"slices"
	"strings"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/risk"
)

// Result is the outcome of a triage: ranked actions, and every finding with
// its score and the action that fixes it.
type Result struct {
	// Actions are sorted by score, highest first. Their Factors are empty
	// until Explain fills them in.
	Actions []sextant.Action
	Summary Summary

	e   *Engine
	top []uint32 // per action, the record of its highest-scoring finding
	// The findings of each action in compressed rows: those of action i
	// are at [actOff[i], actOff[i+1]) in actIDs (fingerprints) and
	// actVulns (vulnerability records). Kept in memory so that explaining
	// an action never reads the spilled records.
	actOff   []uint32
	actIDs   [][16]byte
	actVulns []uint32
	err      error
}

// Err reports a failure of the temporary storage that holds the findings of
// very large triages (a full disk); the result is then incomplete.
func (r *Result) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.e.recs.failure()
}

// Close releases the temporary storage of the findings.
func (r *Result) Close() error { return r.e.recs.close() }

// Explain returns action i complete: with its FindingIDs, Vulnerabilities
// and Factors (those of its highest-scoring finding). They are built on
// demand, as keeping them for every action of a large plan costs more
// memory than the plan itself; Actions[i] has them empty.
func (r *Result) Explain(i int) sextant.Action {
	a := r.Actions[i]
	a.Vulnerabilities = r.Vulnerabilities(i)
	ids := r.actIDs[r.actOff[i]:r.actOff[i+1]]
	a.FindingIDs = make([]string, len(ids))
	for j := range ids {
		a.FindingIDs[j] = hex.EncodeToString(ids[j][:])
	}
	slices.Sort(a.FindingIDs)
	top := r.e.recs.peek(r.top[i])
	a.Factors = risk.Score(r.e.input(&top, r.e.context(top.art)), r.e.opts.Weights).Factors
	return a
}

// Vulnerabilities returns the sorted canonical IDs of the vulnerabilities
// (or checks, or secret rules) that action i resolves.
func (r *Result) Vulnerabilities(i int) []string {
	var out []string
	for _, v := range r.actVulns[r.actOff[i]:r.actOff[i+1]] {
		out = append(out, r.e.vulns[v].canon)
	}
	return sextant.SortStrings(out)
}

// FindingCount returns the number of findings action i resolves.
func (r *Result) FindingCount(i int) int { return int(r.actOff[i+1] - r.actOff[i]) }

// Summary counts what a triage saw and decided.
type Summary struct {
	Findings        int `json:"findings"`
	Actions         int `json:"actions"`
	Vulnerabilities int `json:"vulnerabilities"`
	Artifacts       int `json:"artifacts"`
	Reports         int `json:"reports"`
	// ByPriority counts actions and findings per priority ("P0".."P3").
	ByPriority map[string]PriorityCount `json:"by_priority"`
	// ByKind counts findings per kind.
	ByKind map[string]int `json:"by_kind"`
	// KEVFindings counts findings whose vulnerability is known exploited.
	KEVFindings int `json:"kev_findings"`
	// Intel says which threat intel was used.
	Intel IntelStatus `json:"intel"`
}

// PriorityCount is the number of actions and findings at one priority.
type PriorityCount struct {
	Actions  int `json:"actions"`
	Findings int `json:"findings"`
}

// IntelStatus records the threat intel a triage used. The caller fills it in.
type IntelStatus struct {
	KEV          bool   `json:"kev"`
	KEVVersion   string `json:"kev_version,omitempty"`
	EPSS         bool   `json:"epss"`
	EPSSDate     string `json:"epss_date,omitempty"`
	EPSSModel    string `json:"epss_model,omitempty"`
	ReportScores bool   `json:"report_epss"`
}

// FindingView is one finding as outputs show it. Its JSON form is part of the
// public triage/v1 contract (docs/output.md).
type FindingView struct {
	ID               string           `json:"id"`
	Kind             sextant.Kind     `json:"kind"`
	Vulnerability    string           `json:"vulnerability"`
	Aliases          []string         `json:"aliases,omitempty"`
	Title            string           `json:"title,omitempty"`
	Severity         string           `json:"severity"`
	Package          string           `json:"package,omitempty"`
	Ecosystem        string           `json:"ecosystem,omitempty"`
	InstalledVersion string           `json:"installed_version,omitempty"`
	FixedVersion     string           `json:"fixed_version,omitempty"`
	Location         string           `json:"location,omitempty"`
	Artifact         string           `json:"artifact"`
	Score            float64          `json:"score"`
	Priority         sextant.Priority `json:"priority"`
	// Factors are the factors that moved the score (non-zero
	// contribution), without their evidence text: they add up to Score.
	Factors  []sextant.Factor `json:"factors"`
	ActionID string           `json:"action_id,omitempty"`
	Sources  []sextant.Source `json:"sources"`

	// Description and References are filled in only when asked for.
	Description string   `json:"-"`
	References  []string `json:"-"`
}

func (r *Result) summarise() {
	e := r.e
	s := Summary{
		Findings:   0,
		Actions:    len(r.Actions),
		Artifacts:  len(e.artifacts),
		Reports:    len(e.reports),
		ByPriority: map[string]PriorityCount{},
		ByKind:     map[string]int{},
	}
	for _, p := range []sextant.Priority{sextant.P0, sextant.P1, sextant.P2, sextant.P3} {
		s.ByPriority[p.String()] = PriorityCount{}
	}
	vulns := make(map[string]struct{})
	e.recs.scan(false, func(_ uint32, rc *rec) {
		if rc.dead {
			return
		}
		s.Findings++
		v := &e.vulns[rc.vuln]
		vulns[v.canon] = struct{}{}
		pc := s.ByPriority[sextant.Priority(rc.prio).String()]
		pc.Findings++
		s.ByPriority[sextant.Priority(rc.prio).String()] = pc
		s.ByKind[string(kinds[rc.kind])]++
		if rc.reportKEV && !e.opts.IgnoreReportKEV {
			s.KEVFindings++
		} else if e.opts.KEV != nil {
			if _, ok := e.opts.KEV(v.canon); ok {
				s.KEVFindings++
			}
		}
	})
	for _, a := range r.Actions {
		pc := s.ByPriority[a.Priority.String()]
		pc.Actions++
		s.ByPriority[a.Priority.String()] = pc
	}
	s.Vulnerabilities = len(vulns)
	r.Summary = s
}

// Reports returns what was learned about each report.
func (r *Result) Reports() []sextant.ReportInfo { return r.e.reports }

// Warnings returns the distinct warnings with their counts.
func (r *Result) Warnings() []Warning { return r.e.Warnings() }

// EachFinding calls fn for every finding, highest score first (ties: by
// action rank, then in the order read). The view is built afresh for each
// call (factors are recomputed), so fn may keep it. With full set,
// Description and References are filled in.
func (r *Result) EachFinding(full bool, fn func(*FindingView) error) error {
	return r.EachBatch(func(b Batch) error {
		for j := range b.Len() {
			if err := fn(r.BatchView(b, j, full)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Batch is a run of findings in output order. Views of its findings may be
// built on several goroutines at once (BatchView), so that writers can
// encode in parallel.
type Batch struct {
	recs []rec
}

// Len returns the number of findings in the batch.
func (b Batch) Len() int { return len(b.recs) }

// batchLen is how many findings a Batch holds at most.
const batchLen = 2048

// bandRecs bounds how many records one pass over the records gathers: the
// findings are output in score bands, each read in one sequential pass and
// sorted in memory, so that output never reads the spilled records at
// random.
const bandRecs = 64 << 10

// EachBatch calls fn with the findings in output order, highest score
// first, in batches. It makes one sequential pass over the records per
// score band.
func (r *Result) EachBatch(fn func(Batch) error) error {
	e := r.e
	// Scores are multiples of 0.1 from 0 to 100: 1001 bins.
	var hist [1001]int
	e.recs.scan(false, func(_ uint32, rc *rec) {
		if !rc.dead {
			hist[scoreBin(rc)]++
		}
	})
	type item struct {
		r rec
		i uint32
	}
	for hi := len(hist) - 1; hi >= 0; {
		// A band is the bins [lo, hi] holding at most bandRecs records
		// (or one bin, however many it holds).
		lo, n := hi, hist[hi]
		for lo > 0 && n+hist[lo-1] <= bandRecs {
			lo--
			n += hist[lo]
		}
		if n > 0 {
			band := make([]item, 0, n)
			e.recs.scan(false, func(i uint32, rc *rec) {
				if b := scoreBin(rc); !rc.dead && b >= lo && b <= hi {
					band = append(band, item{*rc, i})
				}
			})
			slices.SortFunc(band, func(a, b item) int {
				if c := cmp.Compare(b.r.score, a.r.score); c != 0 {
					return c
				}
				if c := cmp.Compare(a.r.action, b.r.action); c != 0 {
					return c
				}
				return cmp.Compare(a.i, b.i)
			})
			for start := 0; start < len(band); start += batchLen {
				part := band[start:min(start+batchLen, len(band))]
				b := Batch{recs: make([]rec, len(part))}
				for k := range part {
					b.recs[k] = part[k].r
				}
				if err := fn(b); err != nil {
					return err
				}
			}
		}
		hi = lo - 1
	}
	return e.recs.failure()
}

func scoreBin(rc *rec) int {
	return min(max(int(math.Round(float64(rc.score)*10)), 0), 1000)
}

// BatchView builds the view of the j-th finding of a batch.
func (r *Result) BatchView(b Batch, j int, full bool) *FindingView {
	return r.viewRec(&b.recs[j], full)
}

func (r *Result) viewRec(rc *rec, full bool) *FindingView {
	e := r.e
	p := &e.pkgs[rc.pkg]
	t := e.texts
	v := &e.vulns[rc.vuln]
	s := risk.Brief(e.input(rc, e.context(rc.art)), e.opts.Weights)
	fv := &FindingView{
		ID:               hex.EncodeToString(rc.id[:]),
		Kind:             kinds[rc.kind],
		Vulnerability:    v.canon,
		Title:            v.title,
		Severity:         v.sev.String(),
		Package:          t[p[pkgName]],
		Ecosystem:        t[p[pkgEco]],
		InstalledVersion: t[p[pkgVersion]],
		FixedVersion:     strings.ReplaceAll(e.texts[rc.fixed], "\x00", ", "),
		Location:         e.texts[rc.location],
		Artifact:         e.artifacts[rc.art].Name,
		Score:            s.Value,
		Priority:         s.Priority,
		Factors:          contributing(s.Factors),
	}
	if v.id != v.canon {
		fv.Aliases = append(fv.Aliases, v.id)
	}
	for _, a := range v.aliases {
		if !strings.EqualFold(a, v.canon) && a != v.id {
			fv.Aliases = append(fv.Aliases, a)
		}
	}
	if rc.action > 0 {
		fv.ActionID = r.Actions[rc.action-1].ID
	}
	for _, si := range e.sets[rc.srcSet] {
		fv.Sources = append(fv.Sources, e.sources[si])
	}
	if full {
		fv.Description, fv.References = v.desc, v.refs
	}
	return fv
}

// Artifact returns the artifact an action or finding names, by display name.
func (r *Result) Artifact(name string) (sextant.Artifact, bool) {
	for _, a := range r.e.artifacts {
		if a.Name == name {
			return a, true
		}
	}
	return sextant.Artifact{}, false
}

// contributing returns the factors that moved the score. A finding lists
// only these; its action lists every factor with its evidence (Explain).
// With a dozen factors per finding, most of them neutral, the full list
// made up most of a large report's output.
func contributing(fs []sextant.Factor) []sextant.Factor {
	out := fs[:0]
	for _, f := range fs {
		if f.Contribution != 0 {
			out = append(out, f)
		}
	}
	return out
}
