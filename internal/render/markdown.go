package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/triage"
)

// Markdown writes the ranked actions as GitHub-flavoured Markdown, for
// tickets and pull-request comments: a summary, a table of actions, then each
// action with its commands and the vulnerabilities it fixes. Text that came
// from reports is escaped so it cannot break out of its table cell or code
// block.
func Markdown(w io.Writer, res *triage.Result, o Options) error {
	bw := &errWriter{w: w}
	acts := actions(res, o)
	s := res.Summary
	bw.printf("## sextant triage\n\n")
	bw.printf("%d findings from %d report(s) in %d artifact(s) → **%d actions**", s.Findings, s.Reports, s.Artifacts, s.Actions)
	bw.printf(" (P0 %d · P1 %d · P2 %d · P3 %d).\n\n", s.ByPriority["P0"].Actions, s.ByPriority["P1"].Actions, s.ByPriority["P2"].Actions, s.ByPriority["P3"].Actions)
	if len(acts) == 0 {
		bw.printf("No actions at %s or above.\n", o.MinPriority)
		return bw.err
	}
	bw.printf("| # | Priority | Score | Action | Fixes |\n|---:|:---:|---:|---|---|\n")
	for i, ai := range acts {
		a := res.Actions[ai]
		bw.printf("| %d | %s | %.1f | %s | %s |\n", i+1, a.Priority, a.Score, cell(a.Title), cell(fixes(res.Vulnerabilities(ai), res.FindingCount(ai))))
	}
	for i, ai := range acts {
		a := res.Explain(ai)
		bw.printf("\n### %d. %s %s\n\n", i+1, a.Priority, inline(a.Title))
		bw.printf("Score **%.1f** · artifact `%s` · %d finding(s) · action `%s`\n\n", a.Score, code(a.Artifact), len(a.FindingIDs), a.ID)
		if len(a.Commands) > 0 {
			bw.printf("```sh\n%s\n```\n\n", fence(strings.Join(a.Commands, "\n")))
		}
		for _, n := range a.Notes {
			bw.printf("- %s\n", inline(n))
		}
		if len(a.Notes) > 0 {
			bw.printf("\n")
		}
		if len(a.Vulnerabilities) > 0 {
			what := "vulnerabilities"
			if len(a.Vulnerabilities) == 1 {
				what = "vulnerability"
			}
			bw.printf("<details><summary>%d %s</summary>\n\n%s\n\n</details>\n", len(a.Vulnerabilities), what, inline(strings.Join(a.Vulnerabilities, ", ")))
		}
		if len(a.Factors) > 0 {
			bw.printf("\nWhy this priority: %s\n", factorLine(a.Factors))
		}
		if x := o.Explanations[a.ID]; x != nil {
			bw.printf("\n**Explanation** (%s, %s): %s\n", inline(x.Provider), inline(x.Model), inline(x.Text))
		}
	}
	for _, d := range o.Diffs {
		bw.printf("\n### Proposed change to `%s`\n\n```diff\n%s```\n", code(d.File), fence(d.Text))
	}
	return bw.err
}

func factorLine(fs []sextant.Factor) string {
	var parts []string
	for _, f := range fs {
		if f.Contribution == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %v (%+.1f)", f.Name, inline(fmt.Sprint(f.Value)), f.Contribution))
	}
	return strings.Join(parts, ", ")
}

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	s = inline(s)
	return strings.ReplaceAll(s, "|", "\\|")
}

// inline neutralises Markdown and HTML in untrusted text shown inline.
func inline(s string) string {
	r := strings.NewReplacer("\r", " ", "\n", " ", "<", "&lt;", ">", "&gt;", "`", "'", "[", "\\[", "]", "\\]", "*", "\\*", "_", "\\_")
	return r.Replace(s)
}

// code makes text safe inside a single-backtick span.
func code(s string) string {
	return strings.NewReplacer("`", "'", "\n", " ", "\r", " ").Replace(s)
}

// fence keeps text from closing a fenced code block.
func fence(s string) string {
	return strings.ReplaceAll(s, "```", "` ` `")
}
