package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/sextant-dev/sextant/internal/k8s"
)

// k8sShown returns the unsuppressed findings that pass the filters, in
// rank order.
func k8sShown(rep k8s.ScanReport, o Options) []k8s.ScanFinding {
	var out []k8s.ScanFinding
	for _, f := range rep.Findings {
		if f.Suppressed != nil || f.Priority > o.MinPriority {
			continue
		}
		out = append(out, f)
		if o.Top > 0 && len(out) == o.Top {
			break
		}
	}
	return out
}

// K8sTable writes a Kubernetes scan as a terminal table: each violation
// with its priority, score, object and message, and the kubectl command
// that fixes it.
func K8sTable(w io.Writer, rep k8s.ScanReport, o Options) error {
	bw := &errWriter{w: w}
	shown := k8sShown(rep, o)
	if len(shown) == 0 {
		bw.printf("No violations at %s or above.\n", o.MinPriority)
	} else {
		bw.printf("%3s  %-3s  %5s  %-11s  %-40s  %s\n", "#", "PRI", "SCORE", "CHECK", "OBJECT", "PROBLEM")
		for i, f := range shown {
			obj := f.Object.String()
			if f.Container != "" {
				obj += " [" + f.Container + "]"
			}
			msg := f.Message
			if o.Width > 0 {
				msg = truncate(msg, max(20, o.Width-68))
			}
			bw.printf("%3d  %s  %5.1f  %-11s  %-40s  %s\n", i+1, f.Priority, f.Score, f.Check, truncate(obj, 40), msg)
			if f.Fix != nil && f.Fix.Kubectl != "" {
				bw.printf("%s$ %s\n", strings.Repeat(" ", 18), f.Fix.Kubectl)
			}
		}
	}
	s := rep.Summary
	bw.printf("\n%d objects, %d workloads, %d checks → %d violations (P0 %d, P1 %d, P2 %d, P3 %d), %d suppressed by annotation\n",
		s.Objects, s.Workloads, s.Checks, s.Findings, s.ByPriority["P0"], s.ByPriority["P1"], s.ByPriority["P2"], s.ByPriority["P3"], s.Suppressed)
	return bw.err
}

// K8sJSON writes the sextant.k8s/v1 document (docs/output.md).
func K8sJSON(w io.Writer, rep k8s.ScanReport) error {
	return WriteIndentedJSON(w, rep)
}

// WriteIndentedJSON writes v as indented JSON and a newline.
func WriteIndentedJSON(w io.Writer, v any) error {
	if err := json.MarshalWrite(w, v, json.Deterministic(true), jsontext.WithIndent("  ")); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// K8sMarkdown writes a Kubernetes scan as Markdown for a ticket or a pull
// request: a table of violations, then each with its fix.
func K8sMarkdown(w io.Writer, rep k8s.ScanReport, o Options) error {
	bw := &errWriter{w: w}
	s := rep.Summary
	bw.printf("## sextant k8s scan\n\n%d objects → **%d violations** (P0 %d · P1 %d · P2 %d · P3 %d), %d suppressed.\n\n",
		s.Objects, s.Findings, s.ByPriority["P0"], s.ByPriority["P1"], s.ByPriority["P2"], s.ByPriority["P3"], s.Suppressed)
	shown := k8sShown(rep, o)
	if len(shown) == 0 {
		return bw.err
	}
	bw.printf("| # | Priority | Score | Check | Object | Problem |\n|---:|:---:|---:|---|---|---|\n")
	for i, f := range shown {
		bw.printf("| %d | %s | %.1f | %s | `%s` | %s |\n", i+1, f.Priority, f.Score, f.Check, code(f.Object.String()), cell(f.Message))
	}
	for i, f := range shown {
		if f.Fix == nil {
			continue
		}
		bw.printf("\n### %d. %s on `%s`\n\n%s\n\n", i+1, inline(f.Title), code(f.Object.String()), inline(f.Message))
		if f.Fix.Kubectl != "" {
			bw.printf("```sh\n%s\n```\n\n", fence(f.Fix.Kubectl))
		}
		if f.Fix.Breaks != "" {
			bw.printf("- May break: %s\n", inline(f.Fix.Breaks))
		}
		if f.Fix.Companion != "" {
			bw.printf("- Also changes: %s\n", inline(f.Fix.Companion))
		}
	}
	return bw.err
}

// K8sSARIF writes a Kubernetes scan as SARIF 2.1.0: one rule per check, one
// result per violation, located in its manifest file and line.
func K8sSARIF(w io.Writer, rep k8s.ScanReport, o Options) error {
	var rules []map[string]any
	ruleIndex := map[string]int{}
	results := []map[string]any{}
	for _, f := range k8sShown(rep, o) {
		idx, ok := ruleIndex[f.Check]
		if !ok {
			rules = append(rules, map[string]any{
				"id": f.Check, "name": f.Check,
				"shortDescription": map[string]any{"text": f.Title},
				"properties":       map[string]any{"tags": append([]string{"security", "kubernetes"}, f.Mappings...), "security-severity": fmt.Sprintf("%.1f", f.Score/10)},
			})
			idx = len(rules) - 1
			ruleIndex[f.Check] = idx
		}
		uri := f.Source.File
		if uri == "" {
			uri = f.Object.String()
		}
		line := max(f.Source.Line, 1)
		results = append(results, map[string]any{
			"ruleId": f.Check, "ruleIndex": idx, "level": level(f.Priority),
			"message": map[string]any{"text": fmt.Sprintf("%s %s: %s", f.Priority, f.Object, f.Message)},
			"locations": []any{map[string]any{"physicalLocation": map[string]any{
				"artifactLocation": map[string]any{"uri": sarifURI(uri)},
				"region":           map[string]any{"startLine": line},
			}}},
			"properties": map[string]any{"sextant-score": f.Score, "sextant-priority": f.Priority.String()},
		})
	}
	if rules == nil {
		rules = []map[string]any{}
	}
	log := map[string]any{
		"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"version": "2.1.0",
		"runs": []any{map[string]any{
			"tool":    map[string]any{"driver": map[string]any{"name": "sextant", "informationUri": "https://github.com/sextant-dev/sextant", "version": versionOr(o.Version), "rules": rules}},
			"results": results,
		}},
	}
	return WriteIndentedJSON(w, log)
}
