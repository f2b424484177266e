package k8s

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/risk"
)

// ScanSchema identifies the shape of `sextant k8s scan -o json`
// (docs/output.md). Fields are only ever added within it.
const ScanSchema = "sextant.k8s/v1"

// ScanFinding is one violation as outputs show it: the check, the object,
// what is wrong, the explained score and the fix in every form.
type ScanFinding struct {
	Check     string           `json:"check"`
	Title     string           `json:"title"`
	Severity  string           `json:"severity"`
	Score     float64          `json:"score"`
	Priority  sextant.Priority `json:"priority"`
	Factors   []sextant.Factor `json:"factors"`
	Object    Ref              `json:"object"`
	Container string           `json:"container,omitempty"`
	Message   string           `json:"message"`
	Evidence  string           `json:"evidence,omitempty"`
	Mappings  []string         `json:"mappings,omitempty"`
	Source    Source           `json:"source"`
	Fix       *ScanFix         `json:"fix,omitempty"`
	// Suppressed is set for violations an annotation suppresses; they are
	// listed but never counted by --fail-on.
	Suppressed *ScanSuppression `json:"suppressed,omitempty"`
}

// ScanFix is a violation's fix in the forms people apply.
type ScanFix struct {
	StrategicMerge json.RawMessage `json:"strategic_merge,omitempty"`
	JSONPatch      []PatchOp       `json:"json_patch"`
	Kubectl        string          `json:"kubectl,omitempty"`
	// NewObject is set when the fix is a new object (a default-deny
	// NetworkPolicy), written as a manifest rather than a patch.
	NewObject json.RawMessage `json:"new_object,omitempty"`
	Breaks    string          `json:"breaks,omitempty"`
	Companion string          `json:"companion,omitempty"`

	// pending is the fix whose StrategicMerge, Kubectl and NewObject are
	// still to be derived (see DeriveFixForms); nil once they are.
	pending *fixSource
}

// fixSource is a fix and the object it patches.
type fixSource struct {
	o *Object
	f *Fix
}

// ScanSuppression says why a violation is suppressed.
type ScanSuppression struct {
	Reason  string `json:"reason"`
	Expires string `json:"expires,omitempty"`
}

// ScanReport is the result of a scan.
type ScanReport struct {
	Schema   string        `json:"schema"`
	Cluster  string        `json:"cluster,omitempty"`
	Summary  ScanSummary   `json:"summary"`
	Findings []ScanFinding `json:"findings"`
	Warnings []string      `json:"warnings"`
}

// ScanSummary counts a scan.
type ScanSummary struct {
	Objects    int            `json:"objects"`
	Workloads  int            `json:"workloads"`
	Findings   int            `json:"findings"`
	Suppressed int            `json:"suppressed"`
	ByPriority map[string]int `json:"by_priority"`
	Checks     int            `json:"checks"`
}

// ScanOptions tunes ScanWithOptions.
type ScanOptions struct {
	// DeferFixForms leaves the derived forms of each fix (StrategicMerge,
	// Kubectl, NewObject) empty until DeriveFixForms is called on the
	// findings an output shows: deriving them is most of a scan's work,
	// and a table of the top ten needs ten. JSONPatch, Breaks and
	// Companion are always set.
	DeferFixForms bool
}

// Scan runs the checks over the inventory, scores every violation with the
// same model as vulnerabilities (a privileged pod exposed to the internet
// with a cluster-admin token outranks the same setting in an internal batch
// job) and derives each fix's forms. Findings are sorted by score, highest
// first.
func Scan(inv *Inventory, cx *Context, checks []Check, w risk.Weights, now time.Time) ScanReport {
	return ScanWithOptions(inv, cx, checks, w, now, ScanOptions{})
}

// ScanWithOptions is Scan with options.
func ScanWithOptions(inv *Inventory, cx *Context, checks []Check, w risk.Weights, now time.Time, opts ScanOptions) ScanReport {
	byID := make(map[string]*Check, len(checks))
	for i := range checks {
		byID[checks[i].ID] = &checks[i]
	}
	objects := make(map[Ref]*Object, len(inv.Objects))
	for _, o := range inv.Objects {
		objects[o.Ref()] = o
	}
	rep := ScanReport{Schema: ScanSchema, Cluster: inv.Cluster, Findings: []ScanFinding{},
		Summary: ScanSummary{Objects: len(inv.Objects), Checks: len(checks), ByPriority: map[string]int{"P0": 0, "P1": 0, "P2": 0, "P3": 0}}}
	if cx != nil {
		rep.Summary.Workloads = len(cx.Workloads())
	}
	vs := Run(inv, checks, now)
	rep.Findings = make([]ScanFinding, 0, len(vs))
	// A score depends on the check and the object only: violations of one
	// check on several containers of an object share it (and its factors,
	// which nothing changes).
	type scoreKey struct {
		check  string
		object Ref
	}
	scores := make(map[scoreKey]sextant.Score, len(vs))
	for _, v := range vs {
		c := byID[v.CheckID]
		o := objects[v.Object]
		if c == nil || o == nil {
			continue
		}
		s, ok := scores[scoreKey{c.ID, v.Object}]
		if !ok {
			in := risk.Input{Kind: sextant.KindMisconfiguration, Severity: c.Severity, RuleID: c.ID, Context: workloadArtifactContext(cx, v.Object)}
			s = risk.Score(in, w)
			scores[scoreKey{c.ID, v.Object}] = s
		}
		f := ScanFinding{
			Check: c.ID, Title: c.Title, Severity: c.Severity.String(), Score: s.Value, Priority: s.Priority, Factors: s.Factors,
			Object: v.Object, Container: v.Container, Message: v.Message, Evidence: v.Evidence, Mappings: c.Mappings, Source: o.Source,
		}
		if v.Fix != nil {
			f.Fix = &ScanFix{JSONPatch: v.Fix.Ops, Breaks: v.Fix.Breaks, Companion: v.Fix.Companion, pending: &fixSource{o: o, f: v.Fix}}
		}
		if v.Suppressed != nil {
			f.Suppressed = &ScanSuppression{Reason: v.Suppressed.Reason}
			if !v.Suppressed.Expires.IsZero() {
				f.Suppressed.Expires = v.Suppressed.Expires.Format("2006-01-02")
			}
			rep.Summary.Suppressed++
		} else {
			rep.Summary.Findings++
			rep.Summary.ByPriority[s.Priority.String()]++
		}
		rep.Findings = append(rep.Findings, f)
	}
	sortFindings(rep.Findings)
	if !opts.DeferFixForms {
		DeriveFixForms(rep.Findings)
	}
	rep.Warnings = append([]string{}, inv.Warnings...)
	return rep
}

// sortFindings sorts unsuppressed findings first, then by score (highest
// first), object and check. Object names are formatted once, not at each
// comparison.
func sortFindings(fs []ScanFinding) {
	type key struct {
		suppressed bool
		score      float64
		object     string
		check      string
		i          int
	}
	keys := make([]key, len(fs))
	for i := range fs {
		f := &fs[i]
		keys[i] = key{f.Suppressed != nil, f.Score, f.Object.String(), f.Check, i}
	}
	// The index breaks the last tie, so an unstable sort gives the order
	// of a stable one.
	slices.SortFunc(keys, func(a, b key) int {
		if a.suppressed != b.suppressed {
			if a.suppressed {
				return 1
			}
			return -1
		}
		if a.score != b.score {
			if a.score > b.score {
				return -1
			}
			return 1
		}
		if c := strings.Compare(a.object, b.object); c != 0 {
			return c
		}
		if c := strings.Compare(a.check, b.check); c != 0 {
			return c
		}
		return a.i - b.i
	})
	sorted := make([]ScanFinding, len(fs))
	for i, k := range keys {
		sorted[i] = fs[k.i]
	}
	copy(fs, sorted)
}

// workloadArtifactContext turns what is known of the object's workload into
// the risk model's context, with the evidence of each fact.
func workloadArtifactContext(cx *Context, ref Ref) *sextant.ArtifactContext {
	w := cx.Workload(ref)
	if w == nil {
		return nil
	}
	ac := &sextant.ArtifactContext{
		Environment: w.Environment,
		Exposed:     w.Exposed(),
		Privileged:  w.Privileged(),
		Owner:       w.Owner,
		Workloads:   1,
		Replicas:    w.Replicas,
		Evidence:    map[string]string{},
	}
	for _, e := range w.Exposures {
		if !e.Internal {
			ac.Evidence["exposed"] = e.Evidence
			break
		}
	}
	for _, p := range w.Privileges {
		if p.Escape {
			ac.Evidence["privileged"] = p.Evidence
			break
		}
	}
	if w.EnvironmentEvidence != "" {
		ac.Evidence["environment"] = w.EnvironmentEvidence
	}
	return ac
}
