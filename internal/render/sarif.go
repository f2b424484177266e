package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/triage"
)

// SARIF writes a SARIF 2.1.0 log that GitHub code scanning accepts: one rule
// per vulnerability or check, one result per finding at or above
// MinPriority. The level follows the priority (P0/P1 error, P2 warning, P3
// note) and security-severity carries the score on GitHub's 0–10 scale, so
// code scanning ranks alerts the way sextant does.
func SARIF(w io.Writer, res *triage.Result, o Options) error {
	type rule struct {
		ID               string         `json:"id"`
		Name             string         `json:"name,omitempty"`
		ShortDescription map[string]any `json:"shortDescription"`
		FullDescription  map[string]any `json:"fullDescription,omitempty"`
		HelpURI          string         `json:"helpUri,omitempty"`
		Help             map[string]any `json:"help,omitempty"`
		Properties       map[string]any `json:"properties"`
	}
	var rules []rule
	ruleIndex := map[string]int{}
	var results []map[string]any
	actionByID := map[string]*sextant.Action{}
	for i := range res.Actions {
		actionByID[res.Actions[i].ID] = &res.Actions[i]
	}
	err := res.EachFinding(true, func(f *triage.FindingView) error {
		if f.Priority > o.MinPriority {
			return nil
		}
		idx, ok := ruleIndex[f.Vulnerability]
		if !ok {
			title := f.Title
			if title == "" {
				title = f.Vulnerability
			}
			r := rule{
				ID:               f.Vulnerability,
				Name:             f.Vulnerability,
				ShortDescription: map[string]any{"text": title},
				Properties: map[string]any{
					"security-severity": fmt.Sprintf("%.1f", f.Score/10),
					"tags":              []string{"security", string(f.Kind), f.Severity},
				},
			}
			if f.Description != "" {
				r.FullDescription = map[string]any{"text": f.Description}
			}
			if len(f.References) > 0 {
				r.HelpURI = f.References[0]
			}
			rules = append(rules, r)
			idx = len(rules) - 1
			ruleIndex[f.Vulnerability] = idx
		}
		var msg strings.Builder
		if f.Package != "" {
			fmt.Fprintf(&msg, "%s %s: %s %s is installed", f.Priority, f.Vulnerability, f.Package, f.InstalledVersion)
			if f.FixedVersion != "" {
				fmt.Fprintf(&msg, ", fixed in %s", f.FixedVersion)
			}
		} else {
			fmt.Fprintf(&msg, "%s %s: %s", f.Priority, f.Vulnerability, f.Title)
		}
		fmt.Fprintf(&msg, ". Risk score %.1f.", f.Score)
		if a := actionByID[f.ActionID]; a != nil {
			fmt.Fprintf(&msg, " Action: %s.", a.Title)
			if len(a.Commands) > 0 {
				fmt.Fprintf(&msg, " Run: %s", a.Commands[0])
			}
		}
		uri := f.Location
		if i := strings.LastIndex(uri, ":"); i > 0 && uri[i+1:] != "" && strings.Trim(uri[i+1:], "0123456789") == "" {
			uri = uri[:i]
		}
		if uri == "" {
			uri = f.Artifact
		}
		results = append(results, map[string]any{
			"ruleId":    f.Vulnerability,
			"ruleIndex": idx,
			"level":     level(f.Priority),
			"message":   map[string]any{"text": msg.String()},
			"locations": []any{map[string]any{
				"physicalLocation": map[string]any{
					"artifactLocation": map[string]any{"uri": sarifURI(uri)},
					"region":           map[string]any{"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1},
				},
				"message": map[string]any{"text": f.Artifact},
			}},
			"partialFingerprints": map[string]any{"sextantFindingId/v1": f.ID},
			"properties": map[string]any{
				"sextant-score": f.Score, "sextant-priority": f.Priority.String(), "sextant-action": f.ActionID,
			},
		})
		return nil
	})
	if err != nil {
		return err
	}
	if rules == nil {
		rules = []rule{}
	}
	if results == nil {
		results = []map[string]any{}
	}
	log := map[string]any{
		"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"version": "2.1.0",
		"runs": []any{map[string]any{
			"tool": map[string]any{"driver": map[string]any{
				"name":           "sextant",
				"informationUri": "https://github.com/sextant-dev/sextant",
				"version":        versionOr(o.Version),
				"rules":          rules,
			}},
			"results": results,
		}},
	}
	return json.MarshalWrite(w, log, json.Deterministic(true), jsontext.WithIndent("  "))
}

func level(p sextant.Priority) string {
	switch p {
	case sextant.P0, sextant.P1:
		return "error"
	case sextant.P2:
		return "warning"
	}
	return "note"
}

// sarifURI makes a relative URI of a path or image name: GitHub rejects
// absolute file URIs outside the repository.
func sarifURI(s string) string {
	s = strings.TrimPrefix(s, "/")
	if s == "" {
		return "unknown"
	}
	return s
}

func versionOr(v string) string {
	if v == "" {
		return "dev"
	}
	return v
}
