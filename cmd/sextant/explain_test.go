package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// runEnv runs the real program with the given environment.
func runEnv(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	m := &Main{
		Args:   args,
		Stdin:  strings.NewReader(""),
		Stdout: &out,
		Stderr: &errb,
		Getenv: func(k string) string {
			if k == "SEXTANT_INTEL_DIR" {
				return filepath.Join(t.TempDir(), "intel")
			}
			return env[k]
		},
	}
	code := m.Run(context.Background())
	return code, out.String(), errb.String()
}

type explainedDoc struct {
	Actions []struct {
		ID          string   `json:"id"`
		Priority    string   `json:"priority"`
		Commands    []string `json:"commands"`
		Explanation *struct {
			Text        string         `json:"text"`
			WhyPriority string         `json:"why_priority"`
			Provider    string         `json:"provider"`
			Model       string         `json:"model"`
			InputHash   string         `json:"input_hash"`
			Redaction   map[string]int `json:"redaction"`
			Grounded    bool           `json:"grounded"`
		} `json:"explanation"`
	} `json:"actions"`
}

func TestTriageExplainJSON(t *testing.T) {
	code, out, errs := runEnv(t, map[string]string{"SEXTANT_INTERNAL_DOMAINS": "example.com"},
		append([]string{"triage", "-o", "json", "--explain", "--top", "3"}, exampleArgs...)...)
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	var doc explainedDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if len(doc.Actions) != 3 {
		t.Fatalf("%d actions, want 3 (--top 3)", len(doc.Actions))
	}
	for _, a := range doc.Actions {
		x := a.Explanation
		if x == nil {
			t.Fatalf("action %s has no explanation", a.ID)
		}
		if x.Provider != "offline" || x.Model != "template-v1" || !x.Grounded || len(x.InputHash) != 64 {
			t.Errorf("explanation of %s: provider %q model %q grounded %v hash %q", a.ID, x.Provider, x.Model, x.Grounded, x.InputHash)
		}
		if !strings.HasPrefix(x.WhyPriority, a.Priority+" ") {
			t.Errorf("why_priority = %q, want it to start with %s", x.WhyPriority, a.Priority)
		}
		// Example images live under example.com, configured as internal:
		// the report counts what a provider would not have seen.
		if x.Redaction["HOST"] == 0 {
			t.Errorf("redaction of %s = %v, want HOST counted", a.ID, x.Redaction)
		}
		// Shown inside the organisation, the text has the real names.
		if !strings.Contains(x.Text, "registry.example.com") {
			t.Errorf("text of %s lacks the artifact: %q", a.ID, x.Text)
		}
		for _, c := range a.Commands {
			if !strings.Contains(c, "\n") && !strings.Contains(x.Text, c) {
				t.Errorf("text of %s does not name the plan's command %q: %q", a.ID, c, x.Text)
			}
		}
	}
	// The log4j upgrade is KEV-listed; its explanation says so.
	found := false
	for _, a := range doc.Actions {
		if a.Explanation != nil && strings.Contains(a.Explanation.Text, "CVE-2021-44228 is known to be exploited in the wild") {
			found = true
		}
	}
	if !found {
		t.Errorf("no explanation says CVE-2021-44228 is exploited:\n%s", out)
	}
}

func TestTriageWithoutExplain(t *testing.T) {
	code, out, errs := run(t, "", append([]string{"triage", "-o", "json", "--top", "2"}, exampleArgs...)...)
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	if strings.Contains(out, `"explanation"`) {
		t.Errorf("an explanation without --explain")
	}
}

func TestTriageExplainMarkdownAndTable(t *testing.T) {
	code, out, errs := run(t, "", append([]string{"triage", "-o", "markdown", "--explain", "--top", "2"}, exampleArgs...)...)
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	if n := strings.Count(out, "**Explanation** (offline, template-v1): "); n != 2 {
		t.Errorf("%d explanation paragraphs, want 2:\n%s", n, out)
	}
	code, out, errs = run(t, "", append([]string{"triage", "--explain", "--top", "4"}, exampleArgs...)...)
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	if n := strings.Count(out, "  » "); n != 4 {
		t.Errorf("%d explanation lines, want 4:\n%s", n, out)
	}
	code, _, errs = run(t, "", append([]string{"triage", "-o", "sarif", "--explain"}, exampleArgs...)...)
	if code != exitOK || !strings.Contains(errs, "--explain has no effect on SARIF") {
		t.Errorf("sarif --explain: exit %d, stderr %q", code, errs)
	}
}
