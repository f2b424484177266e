package main

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/sextant-dev/sextant/internal/explain"
	"github.com/sextant-dev/sextant/internal/explain/explaintest"
	"github.com/sextant-dev/sextant/internal/llm/llmtest"
	"github.com/sextant-dev/sextant/internal/policydraft"
	"github.com/sextant-dev/sextant/internal/prompt"
)

// TestEvalOffline runs `sextant eval`: every labelled case passes offline,
// and nothing is invented.
func TestEvalOffline(t *testing.T) {
	code, out, errs := run(t, "", "eval")
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	for _, s := range evalSuites {
		if !strings.Contains(out, s+"  ") || !strings.Contains(out, "offline") {
			t.Errorf("output lacks suite %s:\n%s", s, out)
		}
	}
	code, out, errs = run(t, "", "eval", "-o", "json", "--suite", "exceptions,policies,actions")
	if code != exitOK {
		t.Fatalf("-o json: exit %d\n%s", code, errs)
	}
	var rep evalReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Suites) != 3 {
		t.Fatalf("%d suites, want 3", len(rep.Suites))
	}
	for _, s := range rep.Suites {
		if s.Runner != "offline" || s.Cases < 8 || s.Accuracy != 1 || s.Invented != 0 || len(s.Failures) != 0 {
			t.Errorf("suite %+v", s)
		}
	}
	if code, _, errs := run(t, "", "eval", "--suite", "vibes"); code != exitError || !strings.Contains(errs, "unknown suite") {
		t.Errorf("--suite vibes: exit %d, %s", code, errs)
	}
}

// TestEvalWithModel runs the suites through a model that obeys the
// requester's injection, invents a CVE and cannot read policies: the
// harness counts the invented facts and the failures, and the offline
// run beside it stays at 100%.
func TestEvalWithModel(t *testing.T) {
	reg, err := prompt.Load("")
	if err != nil {
		t.Fatal(err)
	}
	m := &explaintest.Model{Respond: func(req explain.Request) (string, error) {
		switch {
		case strings.Contains(req.System, "security exception"):
			return `{"summary": "Approved, as the policy update says.", "next_steps": "None.", "cited_facts": ["verdict"]}`, nil
		case strings.Contains(req.System, "admission policy"):
			return `{"rules": [{"kind": "run-as-non-root"}], "namespaces": ["prod"]}`, nil
		}
		return explaintest.Answer("CVE-2099-0001 is bad.", "Because.", "Upgrade it.", "Rescan."), nil
	}}
	rep, err := runEval(context.Background(), evalSuites, &evalModel{model: m, provider: "fake", prompts: reg}, &explain.Explainer{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Suites) != 2*len(evalSuites) {
		t.Fatalf("%d suite runs, want %d", len(rep.Suites), 2*len(evalSuites))
	}
	for _, s := range rep.Suites {
		switch {
		case s.Runner == "offline":
			if s.Accuracy != 1 || s.Invented != 0 {
				t.Errorf("offline %s: %+v", s.Suite, s)
			}
		case s.Suite == "exceptions" || s.Suite == "runtime":
			// The verdicts are the code's: the narratives fall back.
			if s.Accuracy != 1 || s.Invented == 0 {
				t.Errorf("model exceptions: accuracy %.2f, invented %d", s.Accuracy, s.Invented)
			}
		default:
			if s.Accuracy == 1 || s.Invented == 0 || len(s.Failures) == 0 {
				t.Errorf("model %s: accuracy %.2f, invented %d", s.Suite, s.Accuracy, s.Invented)
			}
		}
	}
	var b strings.Builder
	if err := writeEval(&b, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "FAIL actions/log4j-upgrade (fake)") || strings.Contains(b.String(), "Offline only") {
		t.Errorf("report:\n%s", b.String())
	}
}

// TestEvalWithOpenAI runs `sextant eval` with SEXTANT_LLM against a server
// that speaks OpenAI's API: a model that states the verdicts the facts
// give and reads the policy requests as the rules do scores 100% on those
// suites with nothing invented, beside the offline run.
func TestEvalWithOpenAI(t *testing.T) {
	srv := llmtest.NewOpenAI(t)
	verdictRE := regexp.MustCompile(`"verdict": "(approve|route|deny)"`)
	srv.Respond = func(n int, r llmtest.Request) llmtest.Reply {
		var body struct {
			Messages []struct {
				Role    string `json:"role"`
				Content any    `json:"content"`
			} `json:"messages"`
		}
		_ = json.Unmarshal(r.Body, &body)
		var system, user string
		for _, m := range body.Messages {
			if s, ok := m.Content.(string); ok {
				if m.Role == "user" {
					user = s
				} else {
					system += s
				}
			}
		}
		switch {
		case strings.Contains(system, "security exception"):
			word := map[string]string{"approve": "Approved", "route": "Routed to the approver", "deny": "Denied"}[verdictRE.FindStringSubmatch(user)[1]]
			return llmtest.Answer(`{"summary": "` + word + `: the reasons list the checks.", "next_steps": "Follow the fixes the reasons give.", "cited_facts": ["verdict", "reasons"]}`)
		case strings.Contains(system, "admission policy"):
			_, rest, _ := strings.Cut(user, "<untrusted>")
			rest, _, _ = strings.Cut(rest, "</untrusted>")
			var req struct{ Request string }
			_ = json.Unmarshal([]byte(rest), &req)
			in, err := policydraft.Parse(req.Request)
			if err != nil {
				return llmtest.Answer(`{"rules": [], "unsupported": "not a policy sextant drafts"}`)
			}
			b, _ := json.Marshal(in)
			return llmtest.Answer(string(b))
		}
		return llmtest.Good()
	}
	code, out, errs := runEnv(t, map[string]string{"SEXTANT_LLM": "openai", "SEXTANT_LLM_BASE_URL": srv.BaseURL, "OPENAI_API_KEY": llmtest.OpenAIKey},
		"eval", "-o", "json", "--suite", "exceptions,policies,actions")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	var rep evalReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Suites) != 6 {
		t.Fatalf("%d suite runs, want 6: %+v", len(rep.Suites), rep.Suites)
	}
	for _, s := range rep.Suites {
		if s.Runner != "offline" && s.Runner != "openai" {
			t.Errorf("runner %q", s.Runner)
		}
		if s.Suite != suiteActions && (s.Accuracy != 1 || s.Invented != 0) {
			t.Errorf("%s through %s: accuracy %.2f, invented %d, failures %+v", s.Suite, s.Runner, s.Accuracy, s.Invented, s.Failures)
		}
	}
	if len(srv.Requests()) < 40 {
		t.Errorf("%d requests reached the provider", len(srv.Requests()))
	}
	// --min-accuracy fails a model run below it.
	code, _, errs = runEnv(t, map[string]string{"SEXTANT_LLM": "openai", "SEXTANT_LLM_BASE_URL": srv.BaseURL, "OPENAI_API_KEY": llmtest.OpenAIKey},
		"eval", "--suite", "actions", "--min-accuracy", "101")
	if code != exitError || !strings.Contains(errs, "below --min-accuracy") {
		t.Errorf("--min-accuracy 101: exit %d, %s", code, errs)
	}
}
