package main

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/exception"
	"github.com/sextant-dev/sextant/internal/explain"
	"github.com/sextant-dev/sextant/internal/policydraft"
	"github.com/sextant-dev/sextant/internal/prompt"
	"github.com/sextant-dev/sextant/internal/runtime"
)

// evalActionsFS holds the labelled action cases: actions with the key
// facts their explanation must state.
//
//go:embed testdata/eval/actions/*.yaml
var evalActionsFS embed.FS

// The evaluation suites, in the order they run and print.
const (
	suiteExceptions = "exceptions"
	suitePolicies   = "policies"
	suiteActions    = "actions"
	suiteRuntime    = "runtime"
)

var evalSuites = []string{suiteExceptions, suitePolicies, suiteActions, suiteRuntime}

// evalReport is the output of `sextant eval -o json`.
type evalReport struct {
	Suites []evalSuite `json:"suites"`
}

// evalSuite is one suite run one way: offline, or through a model.
type evalSuite struct {
	Suite string `json:"suite"`
	// Runner is "offline" or "provider/model".
	Runner   string  `json:"runner"`
	Cases    int     `json:"cases"`
	Passed   int     `json:"passed"`
	Accuracy float64 `json:"accuracy"`
	// Invented counts the answers rejected for naming something the
	// facts do not hold (the grounding checks' rejections).
	Invented int          `json:"invented"`
	Failures []evalResult `json:"failures,omitempty"`
}

type evalResult struct {
	Name     string   `json:"name"`
	Problems []string `json:"problems"`
}

// evalModel is what the suites need of a model, with its name for the
// report; nil runs offline only.
type evalModel struct {
	model    explain.Model
	provider string
	prompts  *prompt.Registry
}

func (m *Main) evalCommand() *cobra.Command {
	var (
		output      string
		suites      []string
		minAccuracy float64
	)
	cmd := &cobra.Command{
		Use:   "eval [flags]",
		Short: "Score the offline path, and a configured model, on sextant's labelled cases",
		Long: `eval runs the labelled cases built into sextant and prints the accuracy of
each suite and the number of invented facts (answers the grounding checks
rejected for naming an identifier, version, date, namespace or verdict the
facts do not hold):

  exceptions  exception requests with their expected verdicts; each is also
              assessed with an injected "approve this" in its free text, which
              must change nothing
  policies    plain-language policy requests with their expected intents (or
              refusals), and manifests the drafted policy must deny and admit
  actions     remediation actions with the key facts their explanation must
              state (package, versions, CVE, priority, command)

The offline path (rules and templates) always runs and must score 100%: a
failing case exits with code 1. When SEXTANT_LLM configures a model, every
suite runs through it as well (the model writes the narratives and
explanations, and proposes the policy intents), and --min-accuracy sets the
accuracy below which that run fails.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return sextant.Errorf(sextant.EINVALID, "unknown output format %q: want text or json", output)
			}
			for _, s := range suites {
				if !slices.Contains(evalSuites, s) {
					return sextant.Errorf(sextant.EINVALID, "unknown suite %q: want %s", s, strings.Join(evalSuites, ", "))
				}
			}
			if len(suites) == 0 {
				suites = evalSuites
			}
			e, lim, err := m.newExplainer()
			if err != nil {
				return err
			}
			var model *evalModel
			if lim != nil {
				model = &evalModel{model: lim, provider: e.Provider, prompts: e.Prompts}
			}
			rep, err := runEval(cmd.Context(), suites, model, e)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				err = enc.Encode(rep)
			} else {
				err = writeEval(out, rep)
			}
			if err != nil {
				return err
			}
			for _, s := range rep.Suites {
				if s.Runner == "offline" && s.Passed < s.Cases {
					return sextant.Errorf(sextant.EINVALID, "%s: %d of %d offline case(s) failed", s.Suite, s.Cases-s.Passed, s.Cases)
				}
				if s.Runner != "offline" && s.Accuracy*100 < minAccuracy {
					return sextant.Errorf(sextant.EINVALID, "%s through %s: accuracy %.1f%% is below --min-accuracy %.1f%%", s.Suite, s.Runner, s.Accuracy*100, minAccuracy)
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&output, "output", "o", "text", "output format: text or json")
	fl.StringSliceVar(&suites, "suite", nil, "suites to run: exceptions, policies, actions, runtime (default: all)")
	fl.Float64Var(&minAccuracy, "min-accuracy", 0, "with a model: fail when a suite's accuracy through it is below this percentage")
	return cmd
}

// runEval runs the suites offline and, when model is not nil, through
// it. e carries the redaction settings.
func runEval(ctx context.Context, suites []string, model *evalModel, e *explain.Explainer) (evalReport, error) {
	var rep evalReport
	runners := []*evalModel{nil}
	if model != nil {
		runners = append(runners, model)
	}
	for _, suite := range suites {
		for _, r := range runners {
			s, err := runSuite(ctx, suite, r, e)
			if err != nil {
				return rep, err
			}
			rep.Suites = append(rep.Suites, s)
		}
	}
	return rep, nil
}

func runSuite(ctx context.Context, suite string, r *evalModel, e *explain.Explainer) (evalSuite, error) {
	s := evalSuite{Suite: suite, Runner: "offline"}
	if r != nil {
		s.Runner = r.provider
	}
	record := func(name string, pass bool, problems []string, invented int) {
		s.Cases++
		s.Invented += invented
		if pass {
			s.Passed++
		} else {
			s.Failures = append(s.Failures, evalResult{Name: name, Problems: problems})
		}
	}
	switch suite {
	case suiteExceptions:
		cases, err := exception.EvalCases()
		if err != nil {
			return s, err
		}
		n := &exception.Narrator{InternalDomains: e.InternalDomains, RegistryHosts: e.RegistryHosts}
		if r != nil {
			n.Model, n.Provider, n.Prompts = r.model, r.provider, r.prompts
		}
		for _, c := range cases {
			res, err := c.Run(ctx, n)
			if err != nil {
				return s, err
			}
			record(c.Name, res.Pass, res.Problems, res.Invented)
		}
	case suitePolicies:
		cases, err := policydraft.EvalCases()
		if err != nil {
			return s, err
		}
		var p *policydraft.Proposer
		if r != nil {
			p = &policydraft.Proposer{Model: r.model, Provider: r.provider, Prompts: r.prompts, InternalDomains: e.InternalDomains, RegistryHosts: e.RegistryHosts}
		}
		for _, c := range cases {
			res, err := c.Run(ctx, p)
			if err != nil {
				return s, err
			}
			record(c.Name, res.Pass, res.Problems, res.Invented)
		}
	case suiteRuntime:
		n := &runtime.Narrator{InternalDomains: e.InternalDomains, RegistryHosts: e.RegistryHosts}
		if r != nil {
			n.Model, n.Provider, n.Prompts = r.model, r.provider, r.prompts
		}
		for _, c := range runtime.EvalCases() {
			res, err := c.Run(ctx, n)
			if err != nil {
				return s, err
			}
			record(c.Name, res.Pass, res.Problems, res.Invented)
		}
	case suiteActions:
		cases, err := actionCases()
		if err != nil {
			return s, err
		}
		x := &explain.Explainer{InternalDomains: e.InternalDomains, RegistryHosts: e.RegistryHosts}
		if r != nil {
			x.Model, x.Provider, x.Prompts = r.model, r.provider, r.prompts
		}
		for _, c := range cases {
			pass, problems, invented, err := c.run(ctx, x)
			if err != nil {
				return s, err
			}
			record(c.Name, pass, problems, invented)
		}
	}
	if s.Cases > 0 {
		s.Accuracy = float64(s.Passed) / float64(s.Cases)
	}
	return s, nil
}

// actionCase is a labelled action: the action as triage plans it, some of
// its findings, and the key facts its explanation must state.
type actionCase struct {
	Name        string         `json:"name"`
	Description string         `json:"description,omitempty"`
	Action      sextant.Action `json:"action"`
	Findings    []caseFinding  `json:"findings,omitempty"`
	Want        struct {
		// Facts must each appear in the explanation's text
		// (case-insensitively); Absent must not.
		Facts  []string `json:"facts"`
		Absent []string `json:"absent,omitempty"`
	} `json:"want"`
}

// caseFinding is a finding with its severity as text (the root type
// keeps it out of JSON).
type caseFinding struct {
	sextant.Finding
	Severity string `json:"severity,omitempty"`
}

// actionCases reads the built-in action cases.
func actionCases() ([]actionCase, error) {
	sub, err := fs.Sub(evalActionsFS, "testdata/eval/actions")
	if err != nil {
		return nil, err
	}
	return loadActionCases(sub)
}

func loadActionCases(fsys fs.FS) ([]actionCase, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	var out []actionCase
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		var c actionCase
		if err := yaml.UnmarshalStrict(b, &c); err != nil {
			return nil, sextant.Errorf(sextant.EINVALID, "action case %s: %v", n, err)
		}
		if c.Name == "" {
			c.Name = strings.TrimSuffix(filepath.Base(n), ".yaml")
		}
		if c.Action.ID == "" || len(c.Want.Facts) == 0 {
			return nil, sextant.Errorf(sextant.EINVALID, "action case %s: needs action and want.facts", n)
		}
		out = append(out, c)
	}
	return out, nil
}

// run explains the action with x and checks the explanation: grounded,
// written by the explainer's own model when it has one (a fallback to the
// templates fails the case for the model), and stating every key fact.
func (c actionCase) run(ctx context.Context, x *explain.Explainer) (pass bool, problems []string, invented int, err error) {
	findings := make([]sextant.Finding, len(c.Findings))
	for i, f := range c.Findings {
		findings[i] = f.Finding
		findings[i].Severity, _ = sextant.ParseSeverity(f.Severity)
	}
	ex, err := x.Explain(ctx, c.Action, findings)
	if err != nil {
		return false, nil, 0, err
	}
	for _, r := range ex.Rejected {
		k, _, _ := strings.Cut(r, ":")
		if k != explain.RejectModelError && k != explain.RejectMalformed && k != explain.RejectSchema {
			invented++
		}
	}
	if !ex.Grounded {
		problems = append(problems, "the explanation is not grounded")
	}
	if x.Model != nil && ex.FallbackFrom != "" {
		problems = append(problems, "the model's answers were rejected ("+strings.Join(ex.Rejected, "; ")+"); the templates wrote it")
	}
	text := strings.ToLower(ex.Text)
	for _, f := range c.Want.Facts {
		if !strings.Contains(text, strings.ToLower(f)) {
			problems = append(problems, fmt.Sprintf("does not state %q", f))
		}
	}
	for _, f := range c.Want.Absent {
		if strings.Contains(text, strings.ToLower(f)) {
			problems = append(problems, fmt.Sprintf("states %q", f))
		}
	}
	return len(problems) == 0, problems, invented, nil
}

// writeEval prints the report as a table, then the failures.
func writeEval(w io.Writer, rep evalReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SUITE\tRUNNER\tCASES\tPASSED\tACCURACY\tINVENTED")
	for _, s := range rep.Suites {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.1f%%\t%d\n", s.Suite, s.Runner, s.Cases, s.Passed, s.Accuracy*100, s.Invented)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rep.Suites) > 0 && !slices.ContainsFunc(rep.Suites, func(s evalSuite) bool { return s.Runner != "offline" }) {
		fmt.Fprintln(w, "\nOffline only: set SEXTANT_LLM (docs/ai.md) to run the cases through a model as well.")
	}
	for _, s := range rep.Suites {
		for _, f := range s.Failures {
			fmt.Fprintf(w, "\nFAIL %s/%s (%s):\n", s.Suite, f.Name, s.Runner)
			for _, p := range f.Problems {
				fmt.Fprintf(w, "  %s\n", p)
			}
		}
	}
	return nil
}
