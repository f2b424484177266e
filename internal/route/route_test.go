package route

import (
	"strings"
	"testing"

	"github.com/sextant-dev/sextant"
)

func record(p sextant.Priority, score float64, owner string, kind sextant.ActionKind) sextant.ActionRecord {
	return sextant.ActionRecord{
		Action: sextant.Action{ID: "act_1", Priority: p, Score: score, Kind: kind, Title: "Upgrade libc6",
			Vulnerabilities: []string{"CVE-2024-2961"}},
		Status: sextant.ActionOpen, Findings: 1, Owner: owner,
	}
}

func TestRoute(t *testing.T) {
	must := func(name, expr string) *Program {
		p, err := Compile(name, expr)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	r := &Router{
		Thresholds: Thresholds{P0: 80, P1: 60, P2: 35},
		Destinations: []Destination{
			{Name: "jira-payments", When: must("jira", `action.owner == "payments" && action.score >= thresholds.p1`),
				Approval: must("jira approval", `action.priority != "P0"`)},
			{Name: "slack-sec", When: must("slack", `action.priority_rank == 0 || "CVE-2024-2961" in action.vulnerabilities`)},
			{Name: "audit-hook"},
		},
	}
	tests := []struct {
		name string
		rec  sextant.ActionRecord
		want string
	}{
		{"P0 payments", record(sextant.P0, 90, "payments", sextant.ActionUpgradePackage), "jira-payments slack-sec audit-hook"},
		{"P1 payments needs approval", record(sextant.P1, 65, "payments", sextant.ActionUpgradePackage), "jira-payments(approval) slack-sec audit-hook"},
		{"P2 other team", record(sextant.P2, 40, "web", sextant.ActionUpgradePackage), "slack-sec audit-hook"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := r.Route(tt.rec)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range ds {
				s := d.Destination
				if d.NeedsApproval {
					s += "(approval)"
				}
				got = append(got, s)
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("Route = %q, want %q", g, tt.want)
			}
		})
	}
	// The thresholds follow the weights: raising p1 takes the P1 action out.
	r.Thresholds.P1 = 70
	ds, err := r.Route(record(sextant.P1, 65, "payments", sextant.ActionUpgradePackage))
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || ds[0].Destination != "slack-sec" {
		t.Errorf("with p1 at 70, Route = %+v, want slack-sec and audit-hook only", ds)
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tt := range []struct{ expr, want string }{
		{`action.priority ==`, "routes[0]"},
		{`action.score + 1`, "want a bool"},
		{`nosuchvar == 1`, "undeclared reference"},
	} {
		_, err := Compile("routes[0]", tt.expr)
		if err == nil || !strings.Contains(err.Error(), tt.want) || sextant.ErrorCode(err) != sextant.EINVALID {
			t.Errorf("Compile(%q) = %v, want an EINVALID error containing %q", tt.expr, err, tt.want)
		}
	}
	if p, err := Compile("x", "  "); p != nil || err != nil {
		t.Errorf("Compile(blank) = %v, %v; want nil, nil", p, err)
	}
	p, err := Compile("x", `action.nokey == "a"`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Eval(Vars(record(sextant.P0, 1, "", sextant.ActionNoFix), Thresholds{})); err == nil {
		t.Error("Eval of a missing key succeeded; want an error naming the expression")
	}
}

// Untrusted text in an action (a title written by a CVE database) is data:
// it never changes an expression's meaning.
func TestUntrustedTextIsData(t *testing.T) {
	p, err := Compile("x", `action.title.contains("libc6") && action.priority == "P3"`)
	if err != nil {
		t.Fatal(err)
	}
	rec := record(sextant.P3, 10, "", sextant.ActionUpgradePackage)
	rec.Action.Title = `libc6") || true || ("`
	ok, err := p.Eval(Vars(rec, Thresholds{}))
	if err != nil || !ok {
		t.Fatalf("Eval = %v, %v", ok, err)
	}
	rec.Action.Priority = sextant.P0
	if ok, _ := p.Eval(Vars(rec, Thresholds{})); ok {
		t.Error("a title crafted as code changed the outcome")
	}
}
