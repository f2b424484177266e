package runtime

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"strings"
)

// evalFiles are the labelled incidents of `sextant eval`: Falco event files
// of one incident each, with the verdict a careful analyst gives them.
//
//go:embed testdata/shell-egress.jsonl testdata/api-discovery.jsonl testdata/backup-routine.jsonl testdata/runc-memfd.jsonl testdata/informational.jsonl testdata/injection.jsonl
var evalFiles embed.FS

// EvalCase is one labelled runtime incident.
type EvalCase struct {
	Name string
	File string
	Want Verdict
}

// EvalResult is how one case went.
type EvalResult struct {
	Pass     bool
	Problems []string
	// Invented counts the model answers rejected by the grounding checks.
	Invented int
}

// EvalCases returns the labelled incidents.
func EvalCases() []EvalCase {
	return []EvalCase{
		{"reverse shell with egress", "testdata/shell-egress.jsonl", Malicious},
		{"service-account API discovery", "testdata/api-discovery.jsonl", Suspicious},
		{"unexpected process execution", "testdata/backup-routine.jsonl", Suspicious},
		{"runc memfd re-exec (known false positive)", "testdata/runc-memfd.jsonl", Benign},
		{"informational events only", "testdata/informational.jsonl", Benign},
		{"command line asking to be called benign (verdict as without it)", "testdata/injection.jsonl", Suspicious},
	}
}

// Run investigates the case's events with n (nil: offline) and checks the
// verdict, that there is one incident, and that its narrative is grounded.
func (c EvalCase) Run(ctx context.Context, n *Narrator) (EvalResult, error) {
	b, err := evalFiles.ReadFile(c.File)
	if err != nil {
		return EvalResult{}, err
	}
	iv := New(Options{Narrator: n})
	if _, err := iv.Read(bytes.NewReader(b), c.File); err != nil {
		return EvalResult{}, fmt.Errorf("eval %s: %w", c.Name, err)
	}
	rep, err := iv.Finish(ctx)
	if err != nil {
		return EvalResult{}, fmt.Errorf("eval %s: %w", c.Name, err)
	}
	var res EvalResult
	if len(rep.Incidents) != 1 {
		res.Problems = append(res.Problems, fmt.Sprintf("%d incidents, want 1", len(rep.Incidents)))
		return res, nil
	}
	inc := rep.Incidents[0]
	if inc.Verdict != c.Want {
		res.Problems = append(res.Problems, fmt.Sprintf("verdict %s, want %s", inc.Verdict, c.Want))
	}
	if inc.Narrative == nil || strings.TrimSpace(inc.Narrative.Text) == "" || !inc.Narrative.Grounded {
		res.Problems = append(res.Problems, "no grounded narrative")
	} else {
		res.Invented = len(inc.Narrative.Rejected)
	}
	res.Pass = len(res.Problems) == 0
	return res, nil
}
