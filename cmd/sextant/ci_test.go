package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant/internal/fixtures"
	"github.com/sextant-dev/sextant/internal/sink/github"
	"github.com/sextant-dev/sextant/internal/sink/github/githubtest"
)

// The test reports: the base branch's image has CVE-2099-0001 (left-pad,
// P2) and CVE-2099-0002 (express, KEV-listed with ransomware use: P0); this
// change's image, rebuilt with a new digest and tag, has CVE-2099-0002 and
// CVE-2099-0003 (qs, P2). So CVE-2099-0003 is new, CVE-2099-0001 resolved,
// and the P0 is old risk.
const (
	ciBase   = "testdata/ci-base.json"
	ciChange = "testdata/ci-change.json"
	ciKEV    = "testdata/ci-kev.json"
)

// ciRun runs the real program in-process with the given environment (and a
// private, empty intel cache) and returns its exit code and output.
func ciRun(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	intelDir := filepath.Join(t.TempDir(), "intel")
	var out, errb bytes.Buffer
	m := &Main{
		Args:   args,
		Stdin:  strings.NewReader(""),
		Stdout: &out,
		Stderr: &errb,
		Getenv: func(k string) string {
			if v, ok := env[k]; ok {
				return v
			}
			if k == "SEXTANT_INTEL_DIR" {
				return intelDir
			}
			return ""
		},
	}
	code := m.Run(context.Background())
	return code, out.String(), errb.String()
}

// ciDoc is the part of the sextant.ci/v1 document the tests read.
type ciDoc struct {
	Schema  string    `json:"schema"`
	Match   string    `json:"match"`
	Summary ciSummary `json:"summary"`
	Gate    *struct {
		FailOn  string `json:"fail_on"`
		Actions int    `json:"actions"`
		Failed  bool   `json:"failed"`
	} `json:"gate"`
	New []struct {
		Action struct {
			ID         string   `json:"id"`
			Priority   string   `json:"priority"`
			Title      string   `json:"title"`
			Commands   []string `json:"commands"`
			FindingIDs []string `json:"finding_ids"`
		} `json:"action"`
		Score    float64 `json:"score"`
		Priority string  `json:"priority"`
		Findings []struct {
			ID            string  `json:"id"`
			Vulnerability string  `json:"vulnerability"`
			Score         float64 `json:"score"`
		} `json:"findings"`
		Existing int `json:"existing_findings"`
	} `json:"new"`
	Resolved []struct {
		ID            string  `json:"id"`
		Vulnerability string  `json:"vulnerability"`
		Package       string  `json:"package"`
		Score         float64 `json:"score"`
	} `json:"resolved"`
}

func ciJSON(t *testing.T, env map[string]string, args ...string) ciDoc {
	t.Helper()
	return ciJSONExit(t, exitOK, env, args...)
}

// ciJSONExit runs sextant ci -o json, expecting exit code want.
func ciJSONExit(t *testing.T, want int, env map[string]string, args ...string) ciDoc {
	t.Helper()
	code, out, errs := ciRun(t, env, append([]string{"ci", "-o", "json"}, args...)...)
	if code != want {
		t.Fatalf("sextant ci %v: exit %d, want %d; stderr:\n%s", args, code, want, errs)
	}
	var doc ciDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("sextant ci -o json: output is not JSON: %v\n%s", err, out)
	}
	return doc
}

func (d ciDoc) newVulns() []string {
	var out []string
	for _, a := range d.New {
		for _, f := range a.Findings {
			out = append(out, f.Vulnerability)
		}
	}
	slices.Sort(out)
	return out
}

func (d ciDoc) resolvedVulns() []string {
	var out []string
	for _, f := range d.Resolved {
		out = append(out, f.Vulnerability)
	}
	slices.Sort(out)
	return out
}

func TestCIBaselineComparison(t *testing.T) {
	doc := ciJSON(t, nil, "--kev", ciKEV, "--baseline", ciBase, ciChange)
	if doc.Schema != ciSchema || doc.Match != matchImage {
		t.Errorf("schema, match = %q, %q; want %q, %q", doc.Schema, doc.Match, ciSchema, matchImage)
	}
	if got, want := doc.newVulns(), []string{"CVE-2099-0003"}; !slices.Equal(got, want) {
		t.Errorf("new = %v, want %v", got, want)
	}
	if got, want := doc.resolvedVulns(), []string{"CVE-2099-0001"}; !slices.Equal(got, want) {
		t.Errorf("resolved = %v, want %v", got, want)
	}
	s := doc.Summary
	if s.Findings != 2 || s.BaselineFindings != 2 || s.NewFindings != 1 || s.ResolvedFindings != 1 || s.Unchanged != 1 || s.NewActions != 1 {
		t.Errorf("summary = %+v, want 2 findings, 2 in the baseline, 1 new, 1 resolved, 1 unchanged, 1 new action", s)
	}
	if len(doc.New) != 1 || len(doc.Resolved) != 1 {
		t.Fatalf("new %d, resolved %d; want 1 and 1", len(doc.New), len(doc.Resolved))
	}
	a := doc.New[0]
	if !slices.Equal(a.Action.Commands, []string{"npm install qs@6.5.3"}) || a.Priority != "P2" || a.Existing != 0 {
		t.Errorf("new action = %+v, want the qs upgrade (npm install qs@6.5.3) at P2 fixing no existing finding", a)
	}
	if s.RiskAdded != a.Findings[0].Score || s.RiskRemoved != doc.Resolved[0].Score || s.RiskDelta != round1(s.RiskAdded-s.RiskRemoved) {
		t.Errorf("risk added %v, removed %v, delta %v; want %v, %v and their difference", s.RiskAdded, s.RiskRemoved, s.RiskDelta, a.Findings[0].Score, doc.Resolved[0].Score)
	}

	// Without a baseline every finding is new, ranked by score: the P0
	// express upgrade first.
	doc = ciJSON(t, nil, "--kev", ciKEV, ciChange)
	if got, want := doc.newVulns(), []string{"CVE-2099-0002", "CVE-2099-0003"}; !slices.Equal(got, want) {
		t.Errorf("without a baseline: new = %v, want %v", got, want)
	}
	if len(doc.New) != 2 || doc.New[0].Priority != "P0" || doc.New[0].Score < doc.New[1].Score || len(doc.Resolved) != 0 {
		t.Errorf("without a baseline: new = %+v, resolved %d; want the P0 first, nothing resolved", doc.New, len(doc.Resolved))
	}
}

func TestCIFailOnNewRiskOnly(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		// The P0 (express) is on the base branch already: it never fails
		// the change.
		{"old P0 does not fail", []string{"ci", "--fail-on", "P0", "--baseline", ciBase, ciChange}, exitOK},
		{"old P0 does not fail P1", []string{"ci", "--fail-on", "P1", "--baseline", ciBase, ciChange}, exitOK},
		// The new qs finding is P2.
		{"new P2 fails P2", []string{"ci", "--fail-on", "P2", "--baseline", ciBase, ciChange}, exitGate},
		{"new P2 fails P3", []string{"ci", "--fail-on", "p3", "--baseline", ciBase, ciChange}, exitGate},
		{"no baseline: the P0 is new", []string{"ci", "--fail-on", "P0", ciChange}, exitGate},
		{"the same scan: nothing new", []string{"ci", "--fail-on", "P3", "--baseline", ciChange, ciChange}, exitOK},
		// What triage would do with the same scan: fail on old risk.
		{"triage fails on the old P0", []string{"triage", "--fail-on", "P0", ciChange}, exitGate},
		{"bad priority", []string{"ci", "--fail-on", "P7", ciChange}, exitError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{tt.args[0], "-q", "--kev", ciKEV}, tt.args[1:]...)
			code, out, errs := ciRun(t, nil, args...)
			if code != tt.want {
				t.Errorf("sextant %v: exit %d, want %d; stderr:\n%s", args, code, tt.want, errs)
			}
			if out != "" {
				t.Errorf("sextant %v with -q printed:\n%s", args, out)
			}
		})
	}
}

// TestCINewFindingInAnOldAction: the change adds a LOW CVE to express,
// whose upgrade already fixes the old P0. The express action is shown for
// its new finding, at that finding's priority, and the old P0 in it does not
// fail the build.
func TestCINewFindingInAnOldAction(t *testing.T) {
	const grown = "testdata/ci-change-grown.json"
	doc := ciJSONExit(t, exitGate, nil, "--kev", ciKEV, "--fail-on", "P2", "--baseline", ciBase, grown)
	if got, want := doc.newVulns(), []string{"CVE-2099-0003", "CVE-2099-0004"}; !slices.Equal(got, want) {
		t.Fatalf("new = %v, want %v", got, want)
	}
	var express bool
	for _, a := range doc.New {
		if !strings.Contains(a.Action.Title, "express") {
			continue
		}
		express = true
		if a.Action.Priority != "P0" || a.Priority != "P3" || a.Existing != 1 || len(a.Findings) != 1 || len(a.Action.FindingIDs) != 2 {
			t.Errorf("express action: action %s, new risk %s, %d new + %d existing of %d; want P0, P3, 1 + 1 of 2",
				a.Action.Priority, a.Priority, len(a.Findings), a.Existing, len(a.Action.FindingIDs))
		}
		if !slices.Equal(a.Action.Commands, []string{"npm install express@4.17.3"}) {
			t.Errorf("express commands = %v, want the upgrade that fixes both CVEs", a.Action.Commands)
		}
	}
	if !express {
		t.Errorf("no express action among the new: %+v", doc.New)
	}
	if doc.Gate == nil || doc.Gate.Actions != 1 || !doc.Gate.Failed {
		t.Errorf("gate = %+v, want P2 failed by the one new P2 action (qs)", doc.Gate)
	}
	for _, tt := range []struct {
		failOn string
		want   int
	}{{"P0", exitOK}, {"P1", exitOK}, {"P2", exitGate}} {
		if code, _, errs := ciRun(t, nil, "ci", "-q", "--kev", ciKEV, "--fail-on", tt.failOn, "--baseline", ciBase, grown); code != tt.want {
			t.Errorf("--fail-on %s: exit %d, want %d; stderr:\n%s", tt.failOn, code, tt.want, errs)
		}
	}
}

func TestCISARIFHasOnlyNewFindings(t *testing.T) {
	dir := t.TempDir()
	sarif := filepath.Join(dir, "new.sarif")
	code, _, errs := ciRun(t, nil, "ci", "-q", "--kev", ciKEV, "--sarif", sarif, "--baseline", ciBase, ciChange)
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	b, err := os.ReadFile(sarif)
	if err != nil {
		t.Fatal(err)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID              string            `json:"ruleId"`
				RuleIndex           int               `json:"ruleIndex"`
				Level               string            `json:"level"`
				PartialFingerprints map[string]string `json:"partialFingerprints"`
				Message             struct {
					Text string `json:"text"`
				} `json:"message"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b, &log); err != nil {
		t.Fatalf("SARIF is not JSON: %v\n%s", err, b)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 || log.Runs[0].Tool.Driver.Name != "sextant" {
		t.Fatalf("SARIF header = %+v", log)
	}
	run := log.Runs[0]
	var rules, results []string
	for _, r := range run.Tool.Driver.Rules {
		rules = append(rules, r.ID)
	}
	for _, r := range run.Results {
		results = append(results, r.RuleID)
		if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result %s has ruleIndex %d, which is rule %s", r.RuleID, r.RuleIndex, run.Tool.Driver.Rules[r.RuleIndex].ID)
		}
		if r.PartialFingerprints["sextantFindingId/v1"] == "" || !strings.Contains(r.Message.Text, "npm install qs@6.5.3") {
			t.Errorf("result %+v lacks its fingerprint or its fix command", r)
		}
	}
	want := []string{"CVE-2099-0003"}
	if !slices.Equal(rules, want) || !slices.Equal(results, want) {
		t.Errorf("SARIF rules %v, results %v; want only the new finding %v", rules, results, want)
	}
	if bytes.Contains(b, []byte("CVE-2099-0002")) || bytes.Contains(b, []byte("CVE-2099-0001")) {
		t.Errorf("SARIF mentions an old or resolved finding:\n%s", b)
	}

	// Nothing new: a valid SARIF log with no results.
	code, _, errs = ciRun(t, nil, "ci", "-q", "--kev", ciKEV, "--sarif", sarif, "--baseline", ciChange, ciChange)
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	b, _ = os.ReadFile(sarif)
	if err := json.Unmarshal(b, &log); err != nil || len(log.Runs) != 1 || len(log.Runs[0].Results) != 0 || len(log.Runs[0].Tool.Driver.Rules) != 0 {
		t.Errorf("SARIF with nothing new = %s (err %v), want one run with no rules and no results", b, err)
	}
}

func TestCIMarkdown(t *testing.T) {
	code, out, errs := ciRun(t, nil, "ci", "-o", "markdown", "--kev", ciKEV, "--fail-on", "P1", "--baseline", ciBase, ciChange)
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	if first, _, _ := strings.Cut(out, "\n"); first != ciMarker {
		t.Errorf("first line = %q, want the marker %q", first, ciMarker)
	}
	for _, want := range []string{
		"**1 new finding** in 1 action (risk +",
		"**1 resolved** (risk −",
		"### New risk\n\n| # | Priority | Score | Action | Fixes |\n",
		"| 1 | P2 | ",
		"| Upgrade qs 6.5.0 → 6.5.3 in registry.example.com/shop/cart:pr-7 (fixes 1 CVE) | CVE-2099-0003 |",
		"#### 1. P2 · Upgrade qs 6.5.0",
		"```sh\nnpm install qs@6.5.3\n```\n",
		"### Resolved\n\n- P2 ",
		"CVE-2099-0001 in left-pad 1.0.0 · `registry.example.com/shop/cart:main`",
		"Baseline: 2 findings, matched by image.",
		"`--fail-on P1`: passed.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("comment lacks %q:\n%s", want, out)
		}
	}
	// The old P0 is not mentioned: the comment is about this change.
	if strings.Contains(out, "express") || strings.Contains(out, "CVE-2099-0002") {
		t.Errorf("comment mentions the pre-existing express finding:\n%s", out)
	}

	code, out, errs = ciRun(t, nil, "ci", "-o", "markdown", "--kev", ciKEV, "--baseline", ciChange, ciChange)
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	for _, want := range []string{ciMarker + "\n", "No new risk · nothing resolved.", "### New risk\n\nNo new risk.\n", "### Resolved\n\nNothing resolved.\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("comment with nothing new lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "| # |") || strings.Contains(out, "```") {
		t.Errorf("comment with nothing new has a table or commands:\n%s", out)
	}
}

func TestCIMarkdownEscapesReportText(t *testing.T) {
	rep := &ciReport{Version: "dev", New: []ciNewAction{{
		Score: 50, Findings: []ciFinding{{Vulnerability: "CVE-1|<b>"}},
	}}}
	rep.New[0].Action.Title = "Upgrade `x` | <script>"
	rep.New[0].Action.Commands = []string{"echo ```; rm -rf /"}
	rep.Summary.NewFindings, rep.Summary.NewActions = 1, 1
	out := ciMarkdown(rep, 10)
	for _, bad := range []string{"<script>", "<b>", "| <", "```; rm"} {
		if strings.Contains(out, bad) {
			t.Errorf("comment holds unescaped %q:\n%s", bad, out)
		}
	}
}

func TestCIMarkdownFitsGitHubLimit(t *testing.T) {
	rep := &ciReport{Version: "dev"}
	for i := range 2000 {
		a := ciNewAction{Score: 40, Findings: []ciFinding{{Vulnerability: fmt.Sprintf("CVE-2099-%05d", i)}}}
		a.Action.Title = strings.Repeat("long title ", 20)
		a.Action.Commands = []string{strings.Repeat("x", 500)}
		rep.New = append(rep.New, a)
		rep.Resolved = append(rep.Resolved, ciFinding{Vulnerability: fmt.Sprintf("CVE-2098-%05d", i), Package: strings.Repeat("p", 200), Artifact: "img"})
	}
	rep.Summary.NewFindings, rep.Summary.NewActions, rep.Summary.ResolvedFindings = 2000, 2000, 2000
	out := ciMarkdown(rep, 10)
	if len(out) > ciCommentLimit || !strings.HasPrefix(out, "## sextant") {
		t.Errorf("comment of %d bytes (limit %d), starting %q", len(out), ciCommentLimit, out[:40])
	}
	if !strings.Contains(out, "more new actions") || !strings.Contains(out, "… and ") {
		t.Errorf("a shortened comment does not say what it left out")
	}
}

func TestCIBaselineFormats(t *testing.T) {
	dir := t.TempDir()
	want := ciJSON(t, nil, "--kev", ciKEV, "--baseline", ciBase, ciChange)

	// A baseline saved by a run on the base branch.
	saved := filepath.Join(dir, "baseline.json")
	if code, _, errs := ciRun(t, nil, "ci", "-q", "--kev", ciKEV, "--save-baseline", saved, ciBase); code != exitOK {
		t.Fatalf("--save-baseline: exit %d, stderr:\n%s", code, errs)
	}
	b, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	var bl ciBaseline
	if err := json.Unmarshal(b, &bl); err != nil || bl.Schema != ciBaselineSchema || len(bl.Findings) != 2 {
		t.Fatalf("saved baseline (err %v) = %s", err, b)
	}
	for _, f := range bl.Findings {
		if f.ID == "" || f.ActionID == "" || f.Score <= 0 || f.Repository != "registry.example.com/shop/cart" {
			t.Errorf("saved finding %+v lacks its identity, action or score", f)
		}
	}

	// The base branch's triage -o json.
	code, out, errs := ciRun(t, nil, "triage", "-o", "json", "--kev", ciKEV, ciBase)
	if code != exitOK {
		t.Fatalf("triage: exit %d, stderr:\n%s", code, errs)
	}
	triageJSON := filepath.Join(dir, "triage.json")
	if err := os.WriteFile(triageJSON, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}

	for name, baseline := range map[string]string{"saved baseline": saved, "triage JSON": triageJSON} {
		t.Run(name, func(t *testing.T) {
			got := ciJSON(t, nil, "--kev", ciKEV, "--baseline", baseline, ciChange)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("comparison with a %s differs from that with the raw report (-raw +%s):\n%s", name, name, diff)
			}
		})
	}

	// A ci report holds only a difference: it is refused as a baseline.
	ciOut := filepath.Join(dir, "ci.json")
	_, out, _ = ciRun(t, nil, "ci", "-o", "json", "--kev", ciKEV, ciBase)
	if err := os.WriteFile(ciOut, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs = ciRun(t, nil, "ci", "--baseline", ciOut, ciChange)
	if code != exitError || !strings.Contains(errs, "--save-baseline") {
		t.Errorf("a ci report as baseline: exit %d, stderr %q; want exit 1 pointing to --save-baseline", code, errs)
	}
	// A missing baseline is an error, not an empty baseline.
	code, _, errs = ciRun(t, nil, "ci", "--baseline", filepath.Join(dir, "missing.json"), ciChange)
	if code != exitError || !strings.Contains(errs, "missing.json") {
		t.Errorf("a missing baseline: exit %d, stderr %q; want exit 1 naming the file", code, errs)
	}
}

func TestCIMatchModes(t *testing.T) {
	tests := []struct {
		match              string
		newV, resolvedV    []string
		wantNew, wantResol int
	}{
		// The change's image has a new digest: by fingerprint nothing
		// matches.
		{matchFingerprint, []string{"CVE-2099-0002", "CVE-2099-0003"}, []string{"CVE-2099-0001", "CVE-2099-0002"}, 2, 2},
		{matchImage, []string{"CVE-2099-0003"}, []string{"CVE-2099-0001"}, 1, 1},
		{matchPackage, []string{"CVE-2099-0003"}, []string{"CVE-2099-0001"}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.match, func(t *testing.T) {
			doc := ciJSON(t, nil, "--kev", ciKEV, "--match", tt.match, "--baseline", ciBase, ciChange)
			if !slices.Equal(doc.newVulns(), tt.newV) || !slices.Equal(doc.resolvedVulns(), tt.resolvedV) {
				t.Errorf("--match %s: new %v, resolved %v; want %v, %v", tt.match, doc.newVulns(), doc.resolvedVulns(), tt.newV, tt.resolvedV)
			}
		})
	}
	if code, _, errs := ciRun(t, nil, "ci", "--match", "digest", ciChange); code != exitError || !strings.Contains(errs, "image, package or fingerprint") {
		t.Errorf("--match digest: exit %d, stderr %q", code, errs)
	}
}

// fakeGitHub speaks GitHub's REST API for issue comments, as GitHub
// documents it: list with per_page and page, create, update. It checks the headers of every request.
type fakeGitHub struct {
	t        *testing.T
	token    string
	mu       sync.Mutex
	nextID   int64
	comments map[int][]*fakeComment // by issue number
	requests []string
	fail     int // answer every request with this status when set
}

type fakeComment struct {
	ID   int64  `json:"id"`
	Body string `json:"body"`
	URL  string `json:"html_url"`
}

func newFakeGitHub(t *testing.T, token string) (*fakeGitHub, *httptest.Server) {
	g := &fakeGitHub{t: t, token: token, nextID: 1000, comments: map[int][]*fakeComment{}}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return g, srv
}

func (g *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requests = append(g.requests, r.Method+" "+r.URL.Path)
	if r.Header.Get("Accept") != "application/vnd.github+json" || r.Header.Get("X-GitHub-Api-Version") != "2022-11-28" || r.Header.Get("User-Agent") == "" {
		g.t.Errorf("%s %s: headers %v lack Accept, X-GitHub-Api-Version or User-Agent", r.Method, r.URL, r.Header)
	}
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	if g.fail != 0 {
		// A server that echoes what it was sent: the token must not
		// come back out of sextant.
		reply(g.fail, map[string]string{"message": "Bad credentials: " + r.Header.Get("Authorization")})
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+g.token {
		reply(http.StatusUnauthorized, map[string]string{"message": "Bad credentials"})
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	// repos/{o}/{r}/issues/{n}/comments or repos/{o}/{r}/issues/comments/{id}
	if len(parts) != 6 || parts[0] != "repos" || parts[1] != "acme" || parts[2] != "shop" || parts[3] != "issues" {
		reply(http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	var in struct {
		Body string `json:"body"`
	}
	switch {
	case parts[5] == "comments" && r.Method == http.MethodGet:
		n, _ := strconv.Atoi(parts[4])
		perPage, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if perPage <= 0 || perPage > 100 {
			perPage = 30
		}
		page = max(page, 1)
		all := g.comments[n]
		lo, hi := min((page-1)*perPage, len(all)), min(page*perPage, len(all))
		if hi < len(all) {
			w.Header().Set("Link", fmt.Sprintf(`<http://%s%s?per_page=%d&page=%d>; rel="next"`, r.Host, r.URL.Path, perPage, page+1))
		}
		reply(http.StatusOK, all[lo:hi])
	case parts[5] == "comments" && r.Method == http.MethodPost:
		n, _ := strconv.Atoi(parts[4])
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Body == "" {
			reply(http.StatusUnprocessableEntity, map[string]string{"message": "Validation Failed"})
			return
		}
		g.nextID++
		c := &fakeComment{ID: g.nextID, Body: in.Body, URL: fmt.Sprintf("https://github.com/acme/shop/pull/%d#issuecomment-%d", n, g.nextID)}
		g.comments[n] = append(g.comments[n], c)
		reply(http.StatusCreated, c)
	case parts[4] == "comments" && r.Method == http.MethodPatch:
		id, _ := strconv.ParseInt(parts[5], 10, 64)
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Body == "" {
			reply(http.StatusUnprocessableEntity, map[string]string{"message": "Validation Failed"})
			return
		}
		for _, cs := range g.comments {
			for _, c := range cs {
				if c.ID == id {
					c.Body = in.Body
					reply(http.StatusOK, c)
					return
				}
			}
		}
		reply(http.StatusNotFound, map[string]string{"message": "Not Found"})
	default:
		reply(http.StatusNotFound, map[string]string{"message": "Not Found"})
	}
}

func (g *fakeGitHub) bodies(pr int) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for _, c := range g.comments[pr] {
		out = append(out, c.Body)
	}
	return out
}

// ciMarker is the first line of sextant ci's comment.
var ciMarker = github.Marker("ci")

const ciTestToken = "ghp_cisecret0123456789abcdefABCDEF0123456789"

func TestCIStickyComment(t *testing.T) {
	g, srv := newFakeGitHub(t, ciTestToken)
	// Other people's comments come first, enough of them that the list
	// takes two pages.
	for i := range 120 {
		g.comments[7] = append(g.comments[7], &fakeComment{ID: int64(i + 1), Body: fmt.Sprintf("LGTM %d", i)})
	}
	// A sextant ci comment of another job (--comment-key) is left alone.
	g.comments[7] = append(g.comments[7], &fakeComment{ID: 500, Body: github.Marker("ci:other") + "\nkeep me"})
	env := map[string]string{"GITHUB_TOKEN": ciTestToken, "GITHUB_API_URL": srv.URL, "GITHUB_REPOSITORY": "acme/shop"}

	// First push: the change adds CVE-2099-0003.
	code, out, errs := ciRun(t, env, "ci", "-o", "markdown", "--kev", ciKEV, "--github-pr", "7", "--baseline", ciBase, ciChange)
	if code != exitOK {
		t.Fatalf("first run: exit %d, stderr:\n%s", code, errs)
	}
	bodies := g.bodies(7)
	if len(bodies) != 122 || !strings.HasPrefix(bodies[121], ciMarker+"\n") || !strings.Contains(bodies[121], "CVE-2099-0003") {
		t.Fatalf("after the first run: %d comments, last %q; want one new sextant comment", len(bodies), bodies[len(bodies)-1])
	}
	if bodies[121] != out {
		t.Errorf("the comment posted differs from -o markdown:\n%s", cmp.Diff(out, bodies[121]))
	}
	if !strings.Contains(errs, "https://github.com/acme/shop/pull/7#issuecomment-") {
		t.Errorf("stderr does not say where the comment is:\n%s", errs)
	}
	first := bodies[121]

	// Second push: the change is the base again. The same comment is
	// updated; no second one is posted.
	code, _, errs = ciRun(t, env, "ci", "--kev", ciKEV, "--github-pr", "7", "--baseline", ciChange, ciChange)
	if code != exitOK {
		t.Fatalf("second run: exit %d, stderr:\n%s", code, errs)
	}
	bodies = g.bodies(7)
	var ours []string
	for _, b := range bodies {
		if strings.Contains(b, ciMarker) {
			ours = append(ours, b)
		}
	}
	if len(bodies) != 122 || len(ours) != 1 {
		t.Fatalf("after the second run: %d comments, %d of them sextant's; want 122 and 1", len(bodies), len(ours))
	}
	if ours[0] == first || !strings.Contains(ours[0], "No new risk") || strings.Contains(ours[0], "CVE-2099-0003") {
		t.Errorf("the comment was not replaced:\n%s", ours[0])
	}
	if !slices.Contains(bodies, github.Marker("ci:other")+"\nkeep me") {
		t.Errorf("another job's comment was changed")
	}
	g.mu.Lock()
	patched := slices.ContainsFunc(g.requests, func(s string) bool { return strings.HasPrefix(s, "PATCH /repos/acme/shop/issues/comments/") })
	g.mu.Unlock()
	if !patched {
		t.Errorf("requests %v hold no PATCH of the comment", g.requests)
	}

	// A job with its own --comment-key keeps its own comment.
	code, _, errs = ciRun(t, env, "ci", "-q", "--kev", ciKEV, "--github-pr", "7", "--comment-key", "other", ciChange)
	if code != exitOK {
		t.Fatalf("--comment-key run: exit %d, stderr:\n%s", code, errs)
	}
	bodies = g.bodies(7)
	if len(bodies) != 122 || slices.Contains(bodies, github.Marker("ci:other")+"\nkeep me") {
		t.Errorf("--comment-key other did not update its comment in place (%d comments)", len(bodies))
	}
	for _, b := range []string{out, errs} {
		if strings.Contains(b, ciTestToken) {
			t.Errorf("the token appears in the output")
		}
	}
}

func TestCIGitHubSettings(t *testing.T) {
	g, srv := newFakeGitHub(t, ciTestToken)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no token", map[string]string{"GITHUB_REPOSITORY": "acme/shop", "GITHUB_API_URL": srv.URL}, nil, "set GITHUB_TOKEN"},
		{"no repository", map[string]string{"GITHUB_TOKEN": ciTestToken, "GITHUB_API_URL": srv.URL}, nil, "--github-repo owner/name or GITHUB_REPOSITORY"},
		{"bad repository", map[string]string{"GITHUB_TOKEN": ciTestToken, "GITHUB_API_URL": srv.URL}, []string{"--github-repo", "acme"}, `"acme": want owner/name`},
		{"bad API URL", map[string]string{"GITHUB_TOKEN": ciTestToken, "GITHUB_REPOSITORY": "acme/shop", "GITHUB_API_URL": "ftp://x"}, nil, "GITHUB_API_URL"},
		{"wrong token", map[string]string{"GITHUB_TOKEN": "ghp_wrong" + ciTestToken[9:], "GITHUB_REPOSITORY": "acme/shop", "GITHUB_API_URL": srv.URL}, nil, "HTTP 401"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"ci", "--kev", ciKEV, "--github-pr", "9"}, tt.args...)
			code, out, errs := ciRun(t, tt.env, append(args, ciChange)...)
			if code != exitError || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 1 and %q", code, errs, tt.want)
			}
			if tok := tt.env["GITHUB_TOKEN"]; tok != "" && strings.Contains(out+errs, tok) {
				t.Errorf("the token appears in the output:\n%s\n%s", out, errs)
			}
		})
	}
	if n := len(g.bodies(9)); n != 0 {
		t.Errorf("%d comments posted by failing runs", n)
	}

	// A server that echoes the token in its error: the message keeps the
	// status and drops the token.
	g.fail = http.StatusForbidden
	env := map[string]string{"GITHUB_TOKEN": ciTestToken, "GITHUB_REPOSITORY": "acme/shop", "GITHUB_API_URL": srv.URL}
	code, out, errs := ciRun(t, env, "ci", "--kev", ciKEV, "--github-pr", "9", ciChange)
	if code != exitError || !strings.Contains(errs, "403") {
		t.Errorf("exit %d, stderr %q; want exit 1 and the 403", code, errs)
	}
	if strings.Contains(out+errs, ciTestToken) {
		t.Errorf("the token appears in the output:\n%s\n%s", out, errs)
	}
}

// TestCIConformanceJuiceShop compares a real Trivy report (the change) with
// a reduced copy of it, rebuilt under another tag and digest (the
// baseline), and checks that the counts add up.
func TestCIConformanceJuiceShop(t *testing.T) {
	change := fixtures.Dir(t, "trivy", "real", "trivy-image-juice-shop-v19.0.0-debian12-node-secrets.json")
	b, err := os.ReadFile(change)
	if err != nil {
		t.Fatal(err)
	}
	var rep map[string]any
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	// The baseline: the previous build, with every other language-package
	// finding, no secrets, and one OS finding the change no longer has.
	rep["ArtifactName"] = "bkimminich/juice-shop:v18.0.0"
	md := rep["Metadata"].(map[string]any)
	md["ImageID"] = "sha256:" + strings.Repeat("0", 64)
	md["RepoTags"] = []any{"bkimminich/juice-shop:v18.0.0"}
	md["RepoDigests"] = []any{}
	var results []any
	for _, r := range rep["Results"].([]any) {
		res := r.(map[string]any)
		switch res["Class"] {
		case "secret":
			continue
		case "lang-pkgs":
			vs := res["Vulnerabilities"].([]any)
			var kept []any
			for i, v := range vs {
				if i%2 == 0 {
					kept = append(kept, v)
				}
			}
			res["Vulnerabilities"] = kept
		case "os-pkgs":
			vs := res["Vulnerabilities"].([]any)
			gone := map[string]any{}
			for k, v := range vs[0].(map[string]any) {
				gone[k] = v
			}
			gone["VulnerabilityID"] = "CVE-2099-9999"
			gone["PkgName"] = "sextant-gone"
			delete(gone, "PkgIdentifier")
			res["Vulnerabilities"] = append(vs, gone)
		}
		results = append(results, res)
	}
	rep["Results"] = results
	dir := t.TempDir()
	baseline := filepath.Join(dir, "baseline.json")
	nb, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(baseline, nb, 0o644); err != nil {
		t.Fatal(err)
	}

	total := func(path string) int {
		t.Helper()
		code, out, errs := ciRun(t, nil, "triage", "-o", "json", "--no-intel", path)
		if code != exitOK {
			t.Fatalf("triage %s: exit %d, stderr:\n%s", path, code, errs)
		}
		var doc struct {
			Summary struct{ Findings int } `json:"summary"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		return doc.Summary.Findings
	}
	nChange, nBase := total(change), total(baseline)

	sarif := filepath.Join(dir, "new.sarif")
	doc := ciJSON(t, nil, "--no-intel", "--sarif", sarif, "--baseline", baseline, change)
	s := doc.Summary
	if s.Findings != nChange || s.BaselineFindings != nBase {
		t.Errorf("summary counts %d findings and %d in the baseline; triage counts %d and %d", s.Findings, s.BaselineFindings, nChange, nBase)
	}
	if s.NewFindings+s.Unchanged != s.Findings {
		t.Errorf("new %d + unchanged %d != findings %d", s.NewFindings, s.Unchanged, s.Findings)
	}
	if s.NewFindings == 0 || s.NewFindings == s.Findings {
		t.Errorf("new findings = %d of %d: want some, not all (the baseline has half the Node.js findings)", s.NewFindings, s.Findings)
	}
	if got := doc.resolvedVulns(); !slices.Equal(got, []string{"CVE-2099-9999"}) {
		t.Errorf("resolved = %v, want only the finding the baseline alone has", got)
	}
	var inActions int
	var added float64
	seen := map[string]bool{}
	for i, a := range doc.New {
		inActions += len(a.Findings)
		if i > 0 && a.Score > doc.New[i-1].Score {
			t.Errorf("new actions not ranked by score at %d", i)
		}
		if a.Existing+len(a.Findings) != len(a.Action.FindingIDs) {
			t.Errorf("action %s: %d new + %d existing findings, but it fixes %d", a.Action.ID, len(a.Findings), a.Existing, len(a.Action.FindingIDs))
		}
		for _, f := range a.Findings {
			added += f.Score
			if seen[f.ID] {
				t.Errorf("finding %s listed twice", f.ID)
			}
			seen[f.ID] = true
			if a.Action.ID != "" && !slices.Contains(a.Action.FindingIDs, f.ID) {
				t.Errorf("new finding %s is not among its action's findings", f.ID)
			}
		}
	}
	if inActions != s.NewFindings || s.NewActions != len(doc.New) || round1(added) != s.RiskAdded {
		t.Errorf("new actions hold %d findings (risk %.1f); summary says %d findings in %d actions (risk %.1f)", inActions, added, s.NewFindings, s.NewActions, s.RiskAdded)
	}
	var secrets int
	for _, v := range doc.newVulns() {
		if !strings.HasPrefix(v, "CVE-") && !strings.HasPrefix(v, "GHSA-") {
			secrets++
		}
	}
	if secrets == 0 {
		t.Errorf("the secrets (absent from the baseline) are not new: %v", doc.newVulns())
	}
	sb, err := os.ReadFile(sarif)
	if err != nil {
		t.Fatal(err)
	}
	var log struct {
		Runs []struct {
			Results []json.RawMessage `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(sb, &log); err != nil || len(log.Runs) != 1 || len(log.Runs[0].Results) != s.NewFindings {
		t.Errorf("SARIF (err %v) has %d results, want the %d new findings", err, len(log.Runs[0].Results), s.NewFindings)
	}

	// By fingerprint nothing matches: the baseline is another image.
	fp := ciJSON(t, nil, "--no-intel", "--match", "fingerprint", "--baseline", baseline, change)
	if fp.Summary.NewFindings != nChange || fp.Summary.ResolvedFindings != nBase {
		t.Errorf("--match fingerprint: %d new, %d resolved; want all %d and %d", fp.Summary.NewFindings, fp.Summary.ResolvedFindings, nChange, nBase)
	}
	// Against itself, saved as a baseline: nothing new, nothing resolved.
	saved := filepath.Join(dir, "saved.json")
	if code, _, errs := ciRun(t, nil, "ci", "-q", "--no-intel", "--save-baseline", saved, change); code != exitOK {
		t.Fatalf("--save-baseline: exit %d, stderr:\n%s", code, errs)
	}
	self := ciJSON(t, nil, "--no-intel", "--baseline", saved, change)
	if self.Summary.NewFindings != 0 || self.Summary.ResolvedFindings != 0 || self.Summary.Unchanged != nChange {
		t.Errorf("against itself: summary %+v, want %d unchanged", self.Summary, nChange)
	}
	// Without a baseline the comment still fits on GitHub.
	code, out, errs := ciRun(t, nil, "ci", "-o", "markdown", "--no-intel", change)
	if code != exitOK || len(out) > ciCommentLimit || !strings.HasPrefix(out, ciMarker) {
		t.Errorf("comment without baseline: exit %d, %d bytes; stderr:\n%s", code, len(out), errs)
	}
}

// FuzzCIDocument feeds readCIDocument, which sniffs and decodes sextant
// documents given as baselines, arbitrary bytes: it must never panic, and
// a sextant.ci/v1 document is always refused.
func FuzzCIDocument(f *testing.F) {
	for _, seed := range []string{
		`{"schema": "sextant.ci-baseline/v1", "findings": [{"id": "ab", "kind": "vulnerability", "vulnerability": "CVE-2099-0001", "score": 12.5, "priority": "P3"}]}`,
		`{"schema": "sextant.triage/v1", "summary": {}, "actions": [], "findings": [{"id": "cd", "priority": "P0"}]}`,
		`{"schema": "sextant.ci/v1", "new": []}`,
		`{"schema": "sextant.triage/v1", "findings": [{"priority": "P9"}]}`,
		`{"SchemaVersion": 2, "Results": []}`,
		"\x1f\x8b\x08\x00garbage",
		`{"schema": 1}`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "baseline.json")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		fs, ok, err := readCIDocument(input{name: path, size: int64(len(b))}, nil)
		if err == nil && !ok && len(fs) != 0 {
			t.Errorf("readCIDocument(%q) = %d findings, not a document", b, len(fs))
		}
		if leadingSchema(b) == ciSchema && (ok || err == nil) {
			t.Errorf("readCIDocument(%q) accepted a sextant.ci/v1 document", b)
		}
	})
}

// --github-check adds a check run on the commit: failed when the gate trips
// on new risk, with the comment as its summary.
func TestCICheckRun(t *testing.T) {
	g := githubtest.New(t, githubtest.Config{Owner: "acme", Repo: "shop", Token: ciTestToken})
	pr := g.AddPullRequest("bump libs")
	env := map[string]string{"GITHUB_TOKEN": ciTestToken, "GITHUB_API_URL": g.URL(), "GITHUB_REPOSITORY": "acme/shop",
		"GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567"}
	code, _, errs := ciRun(t, env, "ci", "--kev", ciKEV, "--fail-on", "P3", "--github-pr", strconv.Itoa(pr), "--github-check", "sextant",
		"--baseline", ciBase, ciChange)
	if code != exitGate {
		t.Fatalf("exit %d, want %d (new risk); stderr:\n%s", code, exitGate, errs)
	}
	runs := g.CheckRuns()
	if len(runs) != 1 || runs[0].Name != "sextant" || runs[0].Conclusion != "failure" || runs[0].HeadSHA != env["GITHUB_SHA"] ||
		!strings.Contains(runs[0].Summary, "CVE-2099-0003") {
		t.Fatalf("check runs = %+v, want one failed run on the commit summarising the new risk", runs)
	}
	// Without GITHUB_SHA the check cannot be placed: a clear error.
	delete(env, "GITHUB_SHA")
	if code, _, errs := ciRun(t, env, "ci", "--kev", ciKEV, "--github-pr", strconv.Itoa(pr), "--github-check", "sextant", ciChange); code != exitError || !strings.Contains(errs, "GITHUB_SHA") {
		t.Errorf("without GITHUB_SHA: exit %d, %s", code, errs)
	}
}
