// Package route decides which destinations an action goes to, and whether
// sending it needs a person's approval, with rules written as CEL
// expressions (github.com/google/cel-go) over the action's fields:
//
//	action.priority == "P0" && action.owner == "payments"
//	action.score >= thresholds.p1 && action.kind != "no-fix-available"
//
// The variables are action (id, priority, priority_rank 0–3, score, kind,
// title, artifact, package, owner, status, findings, vulnerabilities,
// risk_removed) and thresholds (p0, p1, p2: the risk model's priority
// thresholds, so rules follow the weights instead of hard-coding numbers).
// Expressions are compiled and type-checked when the configuration is
// loaded; an error names the rule and the position.
package route

import (
	"fmt"
	"strings"

	"github.com/google/cel-go/cel"

	"github.com/sextant-dev/sextant"
)

// Thresholds are the lowest scores of P0, P1 and P2.
type Thresholds struct{ P0, P1, P2 float64 }

// Program is one compiled boolean expression.
type Program struct {
	Source string
	prg    cel.Program
}

func env() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("action", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("thresholds", cel.MapType(cel.StringType, cel.DoubleType)),
	)
}

// Compile compiles a boolean expression; name names it in errors. An empty
// expression is nil (meaning "always" or "never", as the caller decides).
func Compile(name, expr string) (*Program, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, nil
	}
	e, err := env()
	if err != nil {
		return nil, err
	}
	ast, iss := e.Compile(expr)
	if iss.Err() != nil {
		return nil, sextant.Errorf(sextant.EINVALID, "%s: %s", name, strings.TrimSpace(iss.Err().Error()))
	}
	if ast.OutputType() != cel.BoolType && ast.OutputType() != cel.DynType {
		return nil, sextant.Errorf(sextant.EINVALID, "%s: expression is %s, want a bool", name, ast.OutputType())
	}
	prg, err := e.Program(ast, cel.CostLimit(100000))
	if err != nil {
		return nil, sextant.Errorf(sextant.EINVALID, "%s: %v", name, err)
	}
	return &Program{Source: expr, prg: prg}, nil
}

// Vars are an action's variables for the expressions.
func Vars(a sextant.ActionRecord, t Thresholds) map[string]any {
	vulns := a.Action.Vulnerabilities
	if vulns == nil {
		vulns = []string{}
	}
	return map[string]any{
		"action": map[string]any{
			"id":              a.Action.ID,
			"priority":        a.Action.Priority.String(),
			"priority_rank":   int64(a.Action.Priority),
			"score":           a.Action.Score,
			"kind":            string(a.Action.Kind),
			"title":           a.Action.Title,
			"artifact":        a.Action.Artifact,
			"package":         a.Action.Package,
			"owner":           a.Owner,
			"status":          string(a.Status),
			"findings":        int64(a.Findings),
			"vulnerabilities": vulns,
			"risk_removed":    a.Action.RiskRemoved,
		},
		"thresholds": map[string]float64{"p0": t.P0, "p1": t.P1, "p2": t.P2},
	}
}

// Eval evaluates the expression for vars. A runtime error (a missing key,
// a type mismatch) is an EINVALID error naming the expression.
func (p *Program) Eval(vars map[string]any) (bool, error) {
	out, _, err := p.prg.Eval(vars)
	if err != nil {
		return false, sextant.Errorf(sextant.EINVALID, "evaluate %q: %v", p.Source, err)
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, sextant.Errorf(sextant.EINVALID, "evaluate %q: result %v is not a bool", p.Source, out.Value())
	}
	return b, nil
}

// Destination is one destination's routing: where an action goes when
// When holds (nil: every action), and whether it waits for an approval
// when Approval holds (nil: never).
type Destination struct {
	Name     string
	When     *Program
	Approval *Program
}

// Decision is the routing of one action to one destination.
type Decision struct {
	Destination   string
	NeedsApproval bool
}

// Router routes actions to destinations.
type Router struct {
	Destinations []Destination
	Thresholds   Thresholds
}

// Route returns the destinations a, in the order configured.
func (r *Router) Route(a sextant.ActionRecord) ([]Decision, error) {
	vars := Vars(a, r.Thresholds)
	var out []Decision
	for _, d := range r.Destinations {
		if d.When != nil {
			ok, err := d.When.Eval(vars)
			if err != nil {
				return nil, fmt.Errorf("destination %s: %w", d.Name, err)
			}
			if !ok {
				continue
			}
		}
		dec := Decision{Destination: d.Name}
		if d.Approval != nil {
			ok, err := d.Approval.Eval(vars)
			if err != nil {
				return nil, fmt.Errorf("destination %s: approval: %w", d.Name, err)
			}
			dec.NeedsApproval = ok
		}
		out = append(out, dec)
	}
	return out, nil
}
