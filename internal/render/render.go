// Package render writes a triage result for people and programs: a terminal
// table, the sextant.triage/v1 JSON document, Markdown for tickets and pull
// request comments, and SARIF 2.1.0 for code-scanning dashboards.
package render

import (
	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/explain"
	"github.com/sextant-dev/sextant/internal/triage"
)

// Schema is the identifier of the JSON output's shape. It changes only when a
// field is removed or changes meaning; new fields may appear within it.
const Schema = "sextant.triage/v1"

// Options select what is shown.
type Options struct {
	// Top limits the number of actions shown (0: all).
	Top int
	// MinPriority hides actions and findings of lower priority (P3 shows
	// everything).
	MinPriority sextant.Priority
	// Color enables ANSI colours (only ever set for terminals).
	Color bool
	// Width is the terminal width for the table (0: 120).
	Width int
	// Version is sextant's version, recorded in machine-readable outputs.
	Version string
	// Dockerfile diffs to show, by artifact name (optional).
	Diffs []Diff
	// Explanations of the shown actions, by action ID (optional; see
	// Shown). JSON adds each as the action's "explanation" object,
	// Markdown as a paragraph, the table as a line under the action.
	Explanations map[string]*explain.Explanation
}

// Diff is a unified diff proposed for a file.
type Diff struct {
	Artifact string `json:"artifact"`
	File     string `json:"file"`
	Text     string `json:"diff"`
}

// Shown returns the indexes of the actions an output with these options
// shows, in rank order: those to explain.
func Shown(res *triage.Result, o Options) []int { return actions(res, o) }

// actions returns the indexes of the actions that pass the options'
// filters, in rank order.
func actions(res *triage.Result, o Options) []int {
	var out []int
	for i, a := range res.Actions {
		if a.Priority > o.MinPriority {
			continue
		}
		out = append(out, i)
		if o.Top > 0 && len(out) == o.Top {
			break
		}
	}
	return out
}
