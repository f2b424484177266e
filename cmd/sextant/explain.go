package main

import (
	"context"
	"strings"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/explain"
	"github.com/sextant-dev/sextant/internal/redact"
	"github.com/sextant-dev/sextant/internal/render"
	"github.com/sextant-dev/sextant/internal/triage"
)

// maxExplainFindings bounds the findings of one action handed to the
// explainer: the facts list 20 vulnerabilities at most, and a base-image
// rebuild may resolve thousands of findings.
const maxExplainFindings = 200

// newExplainer returns the explainer triage --explain uses. There is no
// language-model provider yet, so it is the offline one: templates over
// the facts, and nothing leaves the machine. Redaction is configured all
// the same, so that explanations record what would be withheld.
func (m *Main) newExplainer() *explain.Explainer {
	return &explain.Explainer{
		InternalDomains: redact.ParseList(m.Getenv("SEXTANT_INTERNAL_DOMAINS")),
		RegistryHosts:   redact.ParseList(m.Getenv("SEXTANT_REGISTRY_HOSTS")),
	}
}

// explanations explains the actions the output shows (respecting --top
// and --min-priority), by action ID.
func (m *Main) explanations(ctx context.Context, res *triage.Result, o render.Options) (map[string]*explain.Explanation, error) {
	shown := render.Shown(res, o)
	if len(shown) == 0 {
		return nil, nil
	}
	findings, err := actionFindings(res, shown)
	if err != nil {
		return nil, err
	}
	e := m.newExplainer()
	out := make(map[string]*explain.Explanation, len(shown))
	for _, i := range shown {
		a := res.Explain(i)
		x, err := e.Explain(ctx, a, findings[a.ID])
		if err != nil {
			return nil, err
		}
		out[a.ID] = &x
	}
	return out, nil
}

// actionFindings collects, in one pass over the findings, those of the
// given actions, with their advisory text, as root findings.
func actionFindings(res *triage.Result, actions []int) (map[string][]sextant.Finding, error) {
	want := make(map[string]bool, len(actions))
	for _, i := range actions {
		want[res.Actions[i].ID] = true
	}
	out := map[string][]sextant.Finding{}
	err := res.EachFinding(true, func(v *triage.FindingView) error {
		if !want[v.ActionID] || len(out[v.ActionID]) >= maxExplainFindings {
			return nil
		}
		sev, _ := sextant.ParseSeverity(v.Severity)
		f := sextant.Finding{
			ID: v.ID, Kind: v.Kind, VulnerabilityID: v.Vulnerability, Aliases: v.Aliases,
			Title: v.Title, Description: v.Description, Severity: sev, Location: v.Location,
			Package: sextant.Package{Ecosystem: v.Ecosystem, Name: v.Package, Version: v.InstalledVersion},
		}
		if v.FixedVersion != "" {
			f.FixedVersions = strings.Split(v.FixedVersion, ", ")
		}
		if len(v.Sources) > 0 {
			f.Source = v.Sources[0]
		}
		if art, ok := res.Artifact(v.Artifact); ok {
			f.Artifact = art
		} else {
			f.Artifact.Name = v.Artifact
		}
		for _, x := range v.Factors {
			if b, ok := x.Value.(bool); ok && b && x.Name == "kev" {
				f.KnownExploited = true
			}
		}
		out[v.ActionID] = append(out[v.ActionID], f)
		return nil
	})
	return out, err
}
