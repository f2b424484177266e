package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/audit"
	"github.com/sextant-dev/sextant/internal/llm/llmtest"
	"github.com/sextant-dev/sextant/internal/redact"
	"github.com/sextant-dev/sextant/internal/sink/jira"
	"github.com/sextant-dev/sextant/internal/sink/jira/jiratest"
	"github.com/sextant-dev/sextant/internal/sqlite"
)

// llmCalls returns the llm.call entries of the audit trail of db.
func llmCalls(t *testing.T, db *sqlite.DB) []sextant.AuditEntry {
	t.Helper()
	var out []sextant.AuditEntry
	for e, err := range db.Entries(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Action == "llm.call" {
			out = append(out, e)
		}
	}
	return out
}

type llmCallDetails struct {
	Provider      string         `json:"provider"`
	Model         string         `json:"model"`
	PromptID      string         `json:"prompt_id"`
	PromptVersion int            `json:"prompt_version"`
	PromptHash    string         `json:"prompt_hash"`
	InputHash     string         `json:"input_hash"`
	Redaction     map[string]int `json:"redaction"`
	InputTokens   int            `json:"input_tokens"`
	OutputTokens  int            `json:"output_tokens"`
	Outcome       string         `json:"outcome"`
	Prompt        string         `json:"prompt"`
	Response      string         `json:"response"`
	Error         string         `json:"error"`
}

var hexHash = regexp.MustCompile(`^[0-9a-f]{64}$`)

// TestServeSummaryCachedAndAudited explains one action for tickets twice:
// one call to the provider, one llm.call entry on the audit trail with the
// prompt and the answer redacted, and the same summary both times.
func TestServeSummaryCachedAndAudited(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "sextant.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, fs := llmtest.Log4j()
	ptrs := make([]*sextant.Finding, len(fs))
	a.FindingIDs = nil
	for i := range fs {
		fs[i].ID = ""
		fs[i].ID = sextant.Fingerprint(&fs[i])
		ptrs[i] = &fs[i]
		a.FindingIDs = append(a.FindingIDs, fs[i].ID)
	}
	a.Artifact = fs[0].Artifact.Key()
	if _, err := db.RecordScan(ctx, sextant.ScanRecord{Artifact: fs[0].Artifact, Source: sextant.Source{Scanner: "trivy"}, Complete: true}, ptrs); err != nil {
		t.Fatal(err)
	}

	srv := llmtest.NewOpenAI(t)
	srv.RequireSchema = true
	env := map[string]string{"SEXTANT_LLM": "openai", "SEXTANT_LLM_BASE_URL": srv.BaseURL, "OPENAI_API_KEY": llmtest.OpenAIKey,
		"SEXTANT_INTERNAL_DOMAINS": llmtest.InternalDomain}
	m := &Main{Getenv: func(k string) string { return env[k] }}
	se, err := m.newServeExplainer(db, audit.NewLog(db), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	rec := sextant.ActionRecord{Action: a, Status: sextant.ActionOpen, Findings: len(fs)}
	first := se.Summary(ctx, rec)
	second := se.Summary(ctx, rec)
	if first == "" || first != second || !strings.Contains(first, "log4j-core") {
		t.Errorf("summaries = %q and %q; want the same explanation twice", first, second)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests for one unchanged action summarised twice, want 1", n)
	}
	checkSent(t, srv)

	calls := llmCalls(t, db)
	if len(calls) != 1 {
		t.Fatalf("%d llm.call audit entries, want 1", len(calls))
	}
	e := calls[0]
	var d llmCallDetails
	if err := json.Unmarshal(e.Details, &d); err != nil {
		t.Fatal(err)
	}
	if e.Subject != a.ID || e.Actor != sextant.SystemActor || d.Provider != "openai" || d.Model != "gpt-4.1-mini-2025-04-14" ||
		d.PromptID != "action-summary" || d.PromptVersion < 1 || !hexHash.MatchString(d.PromptHash) || !hexHash.MatchString(d.InputHash) ||
		d.Redaction["HOST"] == 0 || d.Redaction["AWS_KEY"] == 0 || d.InputTokens == 0 || d.OutputTokens == 0 || d.Outcome != "ok" {
		t.Errorf("llm.call entry = subject %q actor %q details %+v; want the call described", e.Subject, e.Actor, d)
	}
	if !strings.Contains(d.Prompt, "[HOST_") || !strings.Contains(d.Prompt, "<facts>") || !strings.Contains(d.Response, `"risk"`) {
		t.Errorf("llm.call entry lacks the redacted prompt or the answer: prompt %q…, response %q…", llmClip(d.Prompt), llmClip(d.Response))
	}
	for _, secret := range llmtest.Secrets() {
		if strings.Contains(string(e.Details), secret) {
			t.Errorf("the llm.call audit entry holds %q", secret)
		}
	}
	if entries, hits, err := db.ExplanationStats(ctx); err != nil || entries != 1 || hits != 1 {
		t.Errorf("explanation cache = %d entries, %d hits (%v); want 1, 1", entries, hits, err)
	}
}

func llmClip(s string) string { return s[:min(len(s), 80)] }

// TestServeSummaryProviderFails keeps tickets going when the provider
// fails: the templates write the summary, nothing is cached, and the
// failed call is on the audit trail with its outcome.
func TestServeSummaryProviderFails(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "sextant.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv := llmtest.NewOpenAI(t)
	srv.Script(llmtest.Unauthorized())
	env := map[string]string{"SEXTANT_LLM": "openai", "SEXTANT_LLM_BASE_URL": srv.BaseURL, "OPENAI_API_KEY": "sk-wrong-0123456789abcdef"}
	m := &Main{Getenv: func(k string) string { return env[k] }}
	se, err := m.newServeExplainer(db, audit.NewLog(db), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := llmtest.Log4j()
	for range 2 {
		if s := se.Summary(ctx, sextant.ActionRecord{Action: a, Status: sextant.ActionOpen}); !strings.Contains(s, "Upgrade org.apache.logging.log4j:log4j-core from 2.14.1 to 2.17.1") {
			t.Errorf("summary after a 401 = %q, want the templates'", s)
		}
	}
	calls := llmCalls(t, db)
	if len(calls) != 2 || len(srv.Requests()) != 2 {
		t.Fatalf("%d llm.call entries, %d requests; want 2 of each (a failed call is not cached)", len(calls), len(srv.Requests()))
	}
	var d llmCallDetails
	if err := json.Unmarshal(calls[0].Details, &d); err != nil {
		t.Fatal(err)
	}
	if d.Outcome != sextant.EUNAUTHORIZED || d.Model != "gpt-4.1-mini" || !strings.Contains(d.Error, "HTTP 401") {
		t.Errorf("llm.call of a 401 = %+v; want outcome %s, the configured model and the error", d, sextant.EUNAUTHORIZED)
	}
	if strings.Contains(string(calls[0].Details), "sk-wrong-0123456789abcdef") {
		t.Errorf("the audit entry shows the key: %s", calls[0].Details)
	}
}

// TestServeTicketSummariesFromTheModel runs the server with two Jira
// destinations and a model: each action is delivered twice and explained
// once, and the audit trail holds that one call per action, without the
// secrets planted in the report.
func TestServeTicketSummariesFromTheModel(t *testing.T) {
	fake := jiratest.New(t, jira.Cloud)
	llmSrv := llmtest.NewOpenAI(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "sextant.db")
	analyst := createToken(t, db, "ci", "analyst")
	var dests strings.Builder
	for _, name := range []string{"jira", "jira-ops"} {
		fmt.Fprintf(&dests, "  - name: %s\n    type: jira\n    url: %s\n    user: %s\n    token: {env: JIRA_TOKEN}\n    project: %s\n", name, fake.URL, jiratest.Email, jiratest.Project)
	}
	path := filepath.Join(dir, "sextant.yaml")
	if err := os.WriteFile(path, []byte("mode: ticket\ndestinations:\n"+dests.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JIRA_TOKEN", jiratest.Token)
	env := map[string]string{"SEXTANT_LLM": "openai", "SEXTANT_LLM_BASE_URL": llmSrv.BaseURL, "OPENAI_API_KEY": llmtest.OpenAIKey,
		"SEXTANT_INTERNAL_DOMAINS": llmtest.InternalDomain}
	url, logs := startServeInProcess(t, env, "--database", db, "--config", path)

	report, err := os.ReadFile("../../internal/http/testdata/trivy-two-vulns.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(report, &doc); err != nil {
		t.Fatal(err)
	}
	for _, r := range doc["Results"].([]any) {
		for _, v := range r.(map[string]any)["Vulnerabilities"].([]any) {
			v.(map[string]any)["Description"] = "Exploited from " + llmtest.InternalHost + " (" + llmtest.PrivateIP + ") with aws_access_key_id=" + llmtest.AWSAccessKeyID + "."
		}
	}
	report, _ = json.Marshal(doc)
	if code, b := apiDo(t, "POST", url+"/v1/reports", analyst, "application/json", report); code != 202 {
		t.Fatalf("POST /v1/reports = %d %s", code, b)
	}
	// Every action goes to both destinations (the second finds the issue
	// the first created, by its label: one issue per action).
	var actions struct {
		Items []sextant.ActionRecord `json:"items"`
	}
	delivered := func() int { return strings.Count(logs.String(), "msg=delivered ") }
	for deadline := time.Now().Add(30 * time.Second); len(actions.Items) == 0 || delivered() < 2*len(actions.Items); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries for %d actions after 30s; log:\n%s", delivered(), len(actions.Items), logs.String())
		}
		_, b := apiDo(t, "GET", url+"/v1/actions", analyst, "", nil)
		json.Unmarshal(b, &actions)
	}
	if n := len(fake.Issues()); n != len(actions.Items) {
		t.Errorf("%d Jira issues for %d actions", n, len(actions.Items))
	}
	for _, is := range fake.Issues() {
		desc, _ := json.Marshal(is.Description)
		if !strings.Contains(string(desc), "libc6") || !strings.Contains(string(desc), "should no longer be reported") {
			t.Errorf("issue %s: the description lacks the explanation: %s", is.Key, desc)
		}
	}
	if n := len(llmSrv.Requests()); n != len(actions.Items) {
		t.Errorf("%d requests to the provider for %d actions delivered twice each, want one per action", n, len(actions.Items))
	}
	checkSentWithout(t, llmSrv)

	code, out, errs := run(t, "", "audit", "export", "--database", db)
	if code != 0 {
		t.Fatalf("audit export: %d %s", code, errs)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var e sextant.AuditEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("audit export line %q: %v", line, err)
		}
		if e.Action != "llm.call" {
			continue
		}
		n++
		for _, secret := range llmtest.Secrets() {
			if strings.Contains(line, secret) {
				t.Errorf("the llm.call audit entry holds %q", secret)
			}
		}
	}
	if n != len(actions.Items) {
		t.Errorf("%d llm.call audit entries, want one per action (%d)", n, len(actions.Items))
	}
}

// checkSentWithout checks that no planted secret reached the provider.
func checkSentWithout(t *testing.T, srv *llmtest.Server) {
	t.Helper()
	all := strings.Join(srv.Bodies(), "\n")
	for _, secret := range llmtest.Secrets() {
		if strings.Contains(all, secret) {
			t.Errorf("a request to the provider carries %q", secret)
		}
	}
	if !strings.Contains(all, "[HOST_") {
		t.Errorf("no [HOST_ placeholder was sent: the planted text never reached a prompt")
	}
}

// TestServeAuditRedactText holds what an llm.call entry stores to
// redaction: the explainer's placeholders are kept as they are, and any
// value caught only then gets a placeholder of its own.
func TestServeAuditRedactText(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		late     map[string]int
	}{
		{"upgrade libssl3 in [REGISTRY_1]/shop:1 on [HOST_2]", "upgrade libssl3 in [REGISTRY_1]/shop:1 on [HOST_2]", nil},
		{"[HOST_1] answered from " + llmtest.PrivateIP + " with " + llmtest.AWSAccessKeyID + "; [HOST_1] again",
			"[HOST_1] answered from [LATE_IP_1] with [LATE_AWS_KEY_1]; [HOST_1] again", map[string]int{"IP": 1, "AWS_KEY": 1}},
		{llmtest.InternalHost + "[IP_1]" + llmtest.InternalHost, "[LATE_HOST_1][IP_1][LATE_HOST_1]", map[string]int{"HOST": 2}},
		{"", "", nil},
	} {
		r := &redact.Redactor{InternalDomains: []string{llmtest.InternalDomain}}
		got, rep := redactText(r, tt.in)
		if got != tt.want {
			t.Errorf("redactText(%q) = %q, want %q", tt.in, got, tt.want)
		}
		gotLate := map[string]int{}
		for k, n := range rep {
			gotLate[string(k)] = n
		}
		if !maps.Equal(gotLate, tt.late) {
			t.Errorf("redactText(%q) counts %v, want %v", tt.in, gotLate, tt.late)
		}
	}
}
