package runtime

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sextant-dev/sextant/internal/redact"
)

// Limits on what the facts of one incident carry, to bound the prompt.
const (
	maxFactSteps     = 20
	maxUntrustedText = 300
	maxOutputs       = 10
)

// Facts are what sextant established about one incident: the decided
// verdict, confidence and signals, the subject and its workload, the
// events in order. They are deterministic (the same incident gives the
// same facts, byte for byte, in JSON) and they are the only ground a
// narrative may stand on. Their JSON paths are the fact keys a model cites
// ("incident.verdict", "signals[critical_priority]", "timeline[0]").
type Facts struct {
	Incident     IncidentFacts    `json:"incident"`
	Subject      Subject          `json:"subject"`
	Workload     *WorkloadFacts   `json:"workload,omitempty"`
	Rules        []RuleCount      `json:"rules"`
	Timeline     []StepFacts      `json:"timeline"`
	Processes    []ProcessFacts   `json:"processes,omitempty"`
	Destinations []Destination    `json:"destinations,omitempty"`
	MITRE        []string         `json:"mitre,omitempty"`
	Signals      []Signal         `json:"signals"`
	Baseline     []BaselineFacts  `json:"baseline,omitempty"`
	Vulns        *ImageVulns      `json:"image_vulnerabilities,omitempty"`
	Drafts       []DraftFacts     `json:"drafts,omitempty"`
	Untrusted    UntrustedContext `json:"-"`
}

// IncidentFacts are the incident's identity and decision.
type IncidentFacts struct {
	ID         string  `json:"id"`
	Verdict    Verdict `json:"verdict"`
	Confidence float64 `json:"confidence"`
	Severity   int     `json:"severity"`
	// Threshold is the signal strength from which an incident is
	// malicious; Strength this incident's.
	Threshold  float64 `json:"malicious_threshold"`
	Strength   float64 `json:"signal_strength"`
	Priority   string  `json:"priority"`
	Start      string  `json:"start,omitempty"`
	End        string  `json:"end,omitempty"`
	Duration   string  `json:"duration,omitempty"`
	EventCount int     `json:"event_count"`
}

// WorkloadFacts are the workload's facts.
type WorkloadFacts struct {
	Ref             string   `json:"ref"`
	Owner           string   `json:"owner,omitempty"`
	Environment     string   `json:"environment,omitempty"`
	Replicas        int      `json:"replicas"`
	Exposed         bool     `json:"exposed"`
	Exposures       []string `json:"exposures,omitempty"`
	Privileged      bool     `json:"privileged"`
	Privileges      []string `json:"privileges,omitempty"`
	ServiceAccount  string   `json:"service_account,omitempty"`
	TokenMounted    bool     `json:"token_mounted"`
	Permissions     []string `json:"permissions,omitempty"`
	CloudIdentities []string `json:"cloud_identities,omitempty"`
	NetworkPolicies []string `json:"network_policies,omitempty"`
}

// StepFacts is one event of the timeline, without its untrusted text.
type StepFacts struct {
	Time        string `json:"time,omitempty"`
	Rule        string `json:"rule"`
	Priority    string `json:"priority"`
	Process     string `json:"process,omitempty"`
	Parent      string `json:"parent,omitempty"`
	User        string `json:"user,omitempty"`
	Destination string `json:"destination,omitempty"`
}

// ProcessFacts is one process, without its command line.
type ProcessFacts struct {
	Name   string `json:"name"`
	Parent string `json:"parent,omitempty"`
	User   string `json:"user,omitempty"`
	Count  int    `json:"count"`
}

// BaselineFacts is one baseline entry matched, without its command line.
type BaselineFacts struct {
	Image       string `json:"image"`
	Process     string `json:"process"`
	Parent      string `json:"parent,omitempty"`
	Destination string `json:"destination,omitempty"`
	LearnedAt   string `json:"learned_at"`
	Learned     int    `json:"learned"`
	Events      int    `json:"events"`
}

// DraftFacts names one draft.
type DraftFacts struct {
	Kind  string `json:"kind"`
	Title string `json:"title"`
}

// UntrustedContext is text from the events and the manifests that someone
// else wrote: command lines, file paths, Falco's output lines, pod
// annotations. It is fenced as data in prompts and grounds nothing.
type UntrustedContext struct {
	Cmdlines    []UntrustedCmdline `json:"cmdlines,omitempty"`
	Files       []string           `json:"files,omitempty"`
	Outputs     []string           `json:"outputs,omitempty"`
	Annotations map[string]string  `json:"annotations,omitempty"`
}

// UntrustedCmdline is a process's command line.
type UntrustedCmdline struct {
	Process string `json:"process"`
	Cmdline string `json:"cmdline"`
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// BuildFacts returns the facts of a classified incident.
func BuildFacts(inc *Incident) Facts {
	f := Facts{
		Incident: IncidentFacts{
			ID: inc.ID, Verdict: inc.Verdict, Confidence: inc.Confidence, Severity: inc.Severity,
			Threshold: MaliciousThreshold, Strength: strength(inc.Signals), Priority: inc.Priority.String(),
			Start: timeText(inc.Start), End: timeText(inc.End), EventCount: inc.EventCount,
		},
		Subject:      inc.Subject,
		Rules:        append([]RuleCount{}, inc.Rules...),
		Timeline:     []StepFacts{},
		Destinations: append([]Destination(nil), inc.Destinations...),
		MITRE:        append([]string(nil), inc.MITRE...),
		Signals:      append([]Signal{}, inc.Signals...),
		Vulns:        inc.Vulns,
	}
	if !inc.Start.IsZero() {
		f.Incident.Duration = inc.End.Sub(inc.Start).Round(time.Millisecond).String()
	}
	if w := inc.Workload; w != nil {
		wf := &WorkloadFacts{
			Ref: w.Ref.String(), Owner: w.Owner, Environment: w.Environment, Replicas: w.Replicas,
			Exposed: w.Exposed, Exposures: w.Exposures, Privileged: w.Privileged, Privileges: w.Privileges,
			ServiceAccount: w.ServiceAccount, TokenMounted: w.TokenMounted, Permissions: w.Permissions,
			CloudIdentities: w.CloudIdentities,
		}
		for _, p := range append(append([]string{}, w.IngressPolicies...), w.EgressPolicies...) {
			if !slices.Contains(wf.NetworkPolicies, p) {
				wf.NetworkPolicies = append(wf.NetworkPolicies, p)
			}
		}
		f.Workload = wf
		if len(w.annotations) > 0 {
			f.Untrusted.Annotations = map[string]string{}
			for _, k := range slices.Sorted(maps.Keys(w.annotations)) {
				f.Untrusted.Annotations[clip(k, 100)] = clip(w.annotations[k], maxUntrustedText)
			}
		}
	}
	for _, s := range inc.Timeline[:min(len(inc.Timeline), maxFactSteps)] {
		f.Timeline = append(f.Timeline, StepFacts{Time: timeText(s.Time), Rule: s.Rule, Priority: s.Priority.String(),
			Process: s.Process, Parent: s.Parent, User: s.User, Destination: s.Destination})
	}
	for _, p := range inc.Processes {
		f.Processes = append(f.Processes, ProcessFacts{Name: p.Name, Parent: p.Parent, User: p.User, Count: p.Count})
		if p.Cmdline != "" {
			f.Untrusted.Cmdlines = append(f.Untrusted.Cmdlines, UntrustedCmdline{Process: p.Name, Cmdline: clip(p.Cmdline, maxUntrustedText)})
		}
	}
	for _, fl := range inc.Files {
		f.Untrusted.Files = append(f.Untrusted.Files, clip(fl.Path, maxUntrustedText))
	}
	seen := map[string]bool{}
	for _, e := range inc.events {
		if len(f.Untrusted.Outputs) >= maxOutputs {
			break
		}
		if o := clip(e.Output, maxUntrustedText); o != "" && !seen[o] {
			seen[o] = true
			f.Untrusted.Outputs = append(f.Untrusted.Outputs, o)
		}
	}
	for _, m := range inc.Baseline {
		f.Baseline = append(f.Baseline, BaselineFacts{Image: m.Image, Process: m.Process, Parent: m.Parent,
			Destination: m.Destination, LearnedAt: timeText(m.LearnedAt), Learned: m.Learned, Events: m.Events})
	}
	for _, d := range inc.Drafts {
		f.Drafts = append(f.Drafts, DraftFacts{Kind: d.Kind, Title: d.Title})
	}
	return f
}

// redacted returns the facts and the untrusted text as JSON with every
// string redacted, field by field, so that no replacement can break the
// JSON.
func (f *Facts) redacted(r *redact.Redactor) (facts, untrusted []byte, rep redact.Report, err error) {
	red := func(v any) ([]byte, error) {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		var g any
		if err := json.Unmarshal(b, &g); err != nil {
			return nil, err
		}
		g = redactValue(r, g, &rep)
		// encoding/json writes <, > and & as \u escapes, so no text in the
		// data can close a fence.
		return json.MarshalIndent(g, "", " ")
	}
	if facts, err = red(f); err != nil {
		return nil, nil, nil, err
	}
	if untrusted, err = red(f.Untrusted); err != nil {
		return nil, nil, nil, err
	}
	return facts, untrusted, rep, nil
}

func redactValue(r *redact.Redactor, v any, rep *redact.Report) any {
	switch x := v.(type) {
	case string:
		// Falco writes connections as "src->dst", and the redactor reads
		// an address after ">" as a version constraint (">1.2.3.4") and
		// leaves it: the arrow is rewritten so the destination is seen.
		s, n := r.Redact(strings.ReplaceAll(x, "->", " → "))
		*rep = rep.Add(n)
		return s
	case []any:
		for i := range x {
			x[i] = redactValue(r, x[i], rep)
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			// Keys are sextant's names, except the annotations'.
			rk, n := r.Redact(k)
			*rep = rep.Add(n)
			out[rk] = redactValue(r, e, rep)
		}
		return out
	}
	return v
}

// keys returns every fact key of a facts JSON document: each path to a
// value ("incident.verdict", "timeline[0].rule"), with array elements
// that have an "id" also under it ("signals[critical_priority]").
func keys(factsJSON []byte) map[string]bool {
	var g any
	out := map[string]bool{}
	if json.Unmarshal(factsJSON, &g) != nil {
		return out
	}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if prefix != "" {
			out[prefix] = true
		}
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, e)
			}
		case []any:
			out[prefix+"[]"] = true
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", prefix, i), e)
				if m, ok := e.(map[string]any); ok {
					for _, idk := range []string{"id", "rule", "name", "kind"} {
						if id, ok := m[idk].(string); ok && id != "" {
							walk(prefix+"["+id+"]", e)
							break
						}
					}
				}
			}
		}
	}
	walk("", g)
	return out
}

// factStrings returns the string and number values of a facts document,
// for the grounding checks.
func factStrings(factsJSON []byte) string {
	var g any
	if json.Unmarshal(factsJSON, &g) != nil {
		return ""
	}
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
			for k, e := range x {
				parts = append(parts, k)
				walk(e)
			}
		}
	}
	walk(g)
	slices.Sort(parts)
	return strings.Join(parts, "\n")
}
