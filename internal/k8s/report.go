package k8s

import (
	"encoding/json"
	"sort"
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

// Scan runs the checks over the inventory, scores every violation with the
// same model as vulnerabilities (a privileged pod exposed to the internet
// with a cluster-admin token outranks the same setting in an internal batch
// job) and derives each fix's forms. Findings are sorted by score, highest
// first.
func Scan(inv *Inventory, cx *Context, checks []Check, w risk.Weights, now time.Time) ScanReport {
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
	for _, v := range Run(inv, checks, now) {
		c := byID[v.CheckID]
		o := objects[v.Object]
		if c == nil || o == nil {
			continue
		}
		in := risk.Input{Kind: sextant.KindMisconfiguration, Severity: c.Severity, RuleID: c.ID, Context: workloadArtifactContext(cx, v.Object)}
		s := risk.Score(in, w)
		f := ScanFinding{
			Check: c.ID, Title: c.Title, Severity: c.Severity.String(), Score: s.Value, Priority: s.Priority, Factors: s.Factors,
			Object: v.Object, Container: v.Container, Message: v.Message, Evidence: v.Evidence, Mappings: c.Mappings, Source: o.Source,
		}
		if v.Fix != nil {
			f.Fix = fixForms(o, v.Fix)
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
	sort.SliceStable(rep.Findings, func(i, j int) bool {
		a, b := &rep.Findings[i], &rep.Findings[j]
		if (a.Suppressed == nil) != (b.Suppressed == nil) {
			return a.Suppressed == nil
		}
		if a.Score != b.Score {
			return a.Score > b.Score
		}
		if a.Object.String() != b.Object.String() {
			return a.Object.String() < b.Object.String()
		}
		return a.Check < b.Check
	})
	rep.Warnings = append([]string{}, inv.Warnings...)
	return rep
}

// fixForms derives the strategic-merge patch, JSON patch and kubectl
// command of a fix; forms that cannot be derived are left out.
func fixForms(o *Object, f *Fix) *ScanFix {
	sf := &ScanFix{JSONPatch: f.Ops, Breaks: f.Breaks, Companion: f.Companion}
	if CreatesObject(f) {
		if b, err := json.Marshal(f.Ops[0].Value); err == nil {
			sf.NewObject = b
		}
		return sf
	}
	if b, err := StrategicMergePatch(o, f); err == nil {
		sf.StrategicMerge = b
	}
	if k, err := KubectlPatch(o, f); err == nil {
		sf.Kubectl = k
	}
	return sf
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
