package explain_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/explain"
	"github.com/sextant-dev/sextant/internal/fixtures"
	"github.com/sextant-dev/sextant/internal/intake"
	"github.com/sextant-dev/sextant/internal/llm"
	"github.com/sextant-dev/sextant/internal/llm/llmtest"
	"github.com/sextant-dev/sextant/internal/llm/openai"
	"github.com/sextant-dev/sextant/internal/prompt"
	"github.com/sextant-dev/sextant/internal/risk"
	"github.com/sextant-dev/sextant/internal/sqlite"
	"github.com/sextant-dev/sextant/internal/triage"
)

// The economy of the AI layer on real reports: every action of the
// fixture reports explained through the OpenAI wire format (the llmtest
// fake, which reports a quarter of the bytes sent as input tokens, as a
// tokenizer roughly would) with the explanation cache in SQLite.
//
//	go test ./internal/explain -run TestExplainEconomy -v
//	go test ./internal/explain -run '^$' -bench BenchmarkExplainEconomy -benchtime 3x
//
// BENCHMARKS.md ("AI layer economy") records the figures.

// maxEconomyFindings bounds the findings of one action handed to the
// explainer, as `sextant triage --explain` does.
const maxEconomyFindings = 200

// economyReports returns the fixture reports the economy is measured on.
func economyReports(tb testing.TB) []string {
	tb.Helper()
	var out []string
	for _, dir := range [][]string{{"trivy", "real"}, {"grype"}} {
		m, err := filepath.Glob(filepath.Join(fixtures.Dir(tb, dir...), "*.json"))
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, m...)
	}
	slices.Sort(out)
	if len(out) == 0 {
		tb.Fatal("no fixture reports")
	}
	return out
}

// economyModel is the OpenAI provider against the fake, within the
// default limits, with its accounting.
func economyModel(tb testing.TB) (*llm.Limited, *llmtest.Server) {
	tb.Helper()
	srv := llmtest.NewOpenAI(tb)
	srv.RequireSchema = true
	m, err := openai.New(openai.Config{APIKey: llmtest.OpenAIKey, Model: "gpt-4.1-mini", BaseURL: srv.BaseURL})
	if err != nil {
		tb.Fatal(err)
	}
	return llm.NewLimited(m, llm.Limits{Provider: "openai", Model: "gpt-4.1-mini", MaxConcurrency: 4}), srv
}

// economyRun is what one triage --explain of every action cost.
type economyRun struct {
	findings, actions int
	// calls and tokens are those of the provider during the run; cached
	// counts explanations from the cache; rejected those written by the
	// templates after the model's answers were rejected (rejectedWhy has
	// the first reasons).
	calls, inputTokens, outputTokens, cached, rejected int
	rejectedWhy                                        []string
	// states are the actions by ID, each with a digest of what explaining
	// it reads (the complete action and its findings).
	states map[string]string
}

func (r economyRun) per1k(n int) float64 { return float64(n) * 1000 / float64(r.findings) }

// explainAll triages the reports and explains every action, one call per
// action at most, with e.
func explainAll(tb testing.TB, reports []string, e *explain.Explainer, lim *llm.Limited) economyRun {
	tb.Helper()
	ctx := context.Background()
	eng := triage.New(triage.Options{Parsers: intake.Parsers(), Weights: risk.DefaultWeights()})
	for _, path := range reports {
		f, err := os.Open(path)
		if err != nil {
			tb.Fatal(err)
		}
		_, err = eng.Read(filepath.Base(path), f)
		f.Close()
		if err != nil {
			tb.Fatalf("triage %s: %v", path, err)
		}
	}
	res := eng.Finish()
	defer res.Close()
	findings := map[string][]sextant.Finding{}
	err := res.EachFinding(true, func(v *triage.FindingView) error {
		if v.ActionID == "" || len(findings[v.ActionID]) >= maxEconomyFindings {
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
		}
		findings[v.ActionID] = append(findings[v.ActionID], f)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	before := lim.Stats()
	run := economyRun{findings: res.Summary.Findings, actions: len(res.Actions), states: map[string]string{}}
	for i := range res.Actions {
		a := res.Explain(i)
		x, err := e.Explain(ctx, a, findings[a.ID])
		if err != nil {
			tb.Fatalf("explain %s: %v", a.ID, err)
		}
		switch {
		case x.Provider == "openai" && x.Grounded:
		case x.Provider == explain.OfflineProvider && len(x.Rejected) > 0 && !strings.Contains(strings.Join(x.Rejected, "\n"), explain.RejectModelError):
			// The fake answers as the templates do; where those fail the
			// grounding checks, its answers are rejected too.
			run.rejected++
			if len(run.rejectedWhy) < 3 {
				run.rejectedWhy = append(run.rejectedWhy, x.Rejected[0])
			}
		default:
			tb.Fatalf("explanation of %s by %q (grounded %v, rejected %q), want the model's", a.ID, x.Provider, x.Grounded, x.Rejected)
		}
		if x.Cached {
			run.cached++
		}
		b, err := json.Marshal(struct {
			A sextant.Action
			F []sextant.Finding
		}{a, findings[a.ID]})
		if err != nil {
			tb.Fatal(err)
		}
		sum := sha256.Sum256(b)
		run.states[a.ID] = hex.EncodeToString(sum[:])
	}
	after := lim.Stats()
	run.calls = after.Calls - before.Calls
	run.inputTokens = after.InputTokens - before.InputTokens
	run.outputTokens = after.OutputTokens - before.OutputTokens
	return run
}

// changedReport writes a copy of the Trivy report at path with the first
// vulnerability of its last result that has any removed (an application
// package, in an image report), as a rescan after one fix would report
// it.
func changedReport(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		tb.Fatal(err)
	}
	removed := false
	results := doc["Results"].([]any)
	for i := len(results) - 1; i >= 0 && !removed; i-- {
		m := results[i].(map[string]any)
		if vs, _ := m["Vulnerabilities"].([]any); len(vs) > 0 {
			m["Vulnerabilities"] = vs[1:]
			removed = true
		}
	}
	if !removed {
		tb.Fatalf("%s: no vulnerability to remove", path)
	}
	out := filepath.Join(tb.TempDir(), filepath.Base(path))
	b, err = json.Marshal(doc)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(out, b, 0o600); err != nil {
		tb.Fatal(err)
	}
	return out
}

func economyExplainer(tb testing.TB, lim *llm.Limited, c explain.Cache) *explain.Explainer {
	tb.Helper()
	reg, err := prompt.Load("")
	if err != nil {
		tb.Fatal(err)
	}
	return &explain.Explainer{Model: lim, Provider: "openai", ModelName: "gpt-4.1-mini", Prompts: reg, Cache: c}
}

func openCache(tb testing.TB, path string) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// TestExplainEconomy measures the calls and tokens of explaining every
// action of the fixture reports: a first run, an identical second run
// (which must make no call) and a run after one report changed (which
// must call for the changed actions only). Each run opens the cache file
// afresh, as a new process would.
func TestExplainEconomy(t *testing.T) {
	reports := economyReports(t)
	lim, srv := economyModel(t)
	cachePath := filepath.Join(t.TempDir(), "explanations.db")

	first := explainAll(t, reports, economyExplainer(t, lim, explain.NewStoreCache(openCache(t, cachePath))), lim)
	// One call per action, and one more to repair each rejected answer.
	if first.calls != first.actions+first.rejected || first.cached != 0 {
		t.Errorf("first run: %d calls, %d cached for %d actions (%d answers rejected); want one call per action and one per repair", first.calls, first.cached, first.actions, first.rejected)
	}
	if first.actions >= first.findings {
		t.Errorf("first run: %d actions for %d findings; actions should group findings", first.actions, first.findings)
	}

	second := explainAll(t, reports, economyExplainer(t, lim, explain.NewStoreCache(openCache(t, cachePath))), lim)
	if second.calls != 0 || second.cached != second.actions {
		t.Errorf("identical second run: %d calls, %d of %d actions from the cache; want no call", second.calls, second.cached, second.actions)
	}

	// One report changes: a rescan after one fix.
	changedFrom := ""
	for i, r := range reports {
		if strings.HasSuffix(r, "trivy-image-ecr-alpine3.19-node.json") {
			changedFrom = r
			reports = slices.Clone(reports)
			reports[i] = changedReport(t, r)
		}
	}
	if changedFrom == "" {
		t.Fatal("fixture trivy/real/trivy-image-ecr-alpine3.19-node.json not found")
	}
	third := explainAll(t, reports, economyExplainer(t, lim, explain.NewStoreCache(openCache(t, cachePath))), lim)
	changed := 0
	for id, st := range third.states {
		if first.states[id] != st {
			changed++
		}
	}
	if changed == 0 || third.calls == 0 || third.calls > changed {
		t.Errorf("after one report changed: %d calls for %d changed actions (of %d); want at least one and at most one per changed action", third.calls, changed, third.actions)
	}

	db := openCache(t, cachePath)
	entries, hits, err := db.ExplanationStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if entries <= int64(first.actions) || entries > int64(first.actions+third.calls) {
		t.Errorf("cache holds %d explanations, want %d (first run) and at most %d more (changed)", entries, first.actions, third.calls)
	}
	if n := len(srv.Requests()); n != first.calls+third.calls {
		t.Errorf("the provider received %d requests, the accounting says %d", n, first.calls+third.calls)
	}

	t.Logf("%d reports, %d findings, %d actions (%.1f actions per 1,000 findings)", len(reports), first.findings, first.actions, first.per1k(first.actions))
	for _, r := range []struct {
		name string
		run  economyRun
	}{{"first run (cold cache)", first}, {"identical rescan", second}, {"one report changed", third}} {
		t.Logf("%-24s %5d calls, %8d input + %7d output tokens; per 1,000 findings: %6.1f calls, %8.0f input + %7.0f output tokens; %d from the cache",
			r.name, r.run.calls, r.run.inputTokens, r.run.outputTokens, r.run.per1k(r.run.calls), r.run.per1k(r.run.inputTokens), r.run.per1k(r.run.outputTokens), r.run.cached)
	}
	t.Logf("changed report: %s; %d actions changed, %d calls", filepath.Base(changedFrom), changed, third.calls)
	if first.rejected > 0 {
		t.Logf("%d actions written by the templates after two rejected answers (first reasons: %q)", first.rejected, first.rejectedWhy)
	}
	t.Logf("cache: %d explanations, %d hits; one call per finding would have made %d calls per run", entries, hits, first.findings)
}

// BenchmarkExplainEconomy explains every action of the fixture reports:
// cold, with an empty cache each time (one call per action), and warm,
// with every answer cached (no call). The custom metrics are per 1,000
// findings.
func BenchmarkExplainEconomy(b *testing.B) {
	reports := economyReports(b)
	for _, warm := range []bool{false, true} {
		name := map[bool]string{false: "cold", true: "warm"}[warm]
		b.Run(name, func(b *testing.B) {
			lim, _ := economyModel(b)
			path := filepath.Join(b.TempDir(), "explanations.db")
			if warm {
				explainAll(b, reports, economyExplainer(b, lim, explain.NewStoreCache(openCache(b, path))), lim)
			}
			var last economyRun
			for b.Loop() {
				p := path
				if !warm {
					p = filepath.Join(b.TempDir(), "explanations.db")
				}
				last = explainAll(b, reports, economyExplainer(b, lim, explain.NewStoreCache(openCache(b, p))), lim)
			}
			b.ReportMetric(last.per1k(last.calls), "calls/1k-findings")
			b.ReportMetric(last.per1k(last.inputTokens+last.outputTokens), "tokens/1k-findings")
		})
	}
}
