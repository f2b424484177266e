package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sextant-dev/sextant/internal/llm/llmtest"
)

type cachedDoc struct {
	Actions []struct {
		ID          string `json:"id"`
		Explanation *struct {
			Text     string `json:"text"`
			Provider string `json:"provider"`
			Cached   bool   `json:"cached"`
			Grounded bool   `json:"grounded"`
		} `json:"explanation"`
	} `json:"actions"`
}

func parseCachedDoc(t *testing.T, code int, out, errs string) cachedDoc {
	t.Helper()
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	var doc cachedDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if len(doc.Actions) == 0 {
		t.Fatal("no actions")
	}
	return doc
}

// TestTriageExplainCache runs triage --explain twice on the same reports:
// the second run asks the provider nothing, and says so.
func TestTriageExplainCache(t *testing.T) {
	srv := llmtest.NewOpenAI(t)
	cache := filepath.Join(t.TempDir(), "explanations.db")
	env := map[string]string{"SEXTANT_LLM": "openai", "SEXTANT_LLM_BASE_URL": srv.BaseURL, "OPENAI_API_KEY": llmtest.OpenAIKey,
		"SEXTANT_INTERNAL_DOMAINS": llmtest.InternalDomain}
	args := append(triageArgs(t), "--explain-cache", cache)

	code, out, errs := runEnv(t, env, args...)
	first := parseCachedDoc(t, code, out, errs)
	if n := len(srv.Requests()); n != len(first.Actions) {
		t.Fatalf("first run: %d requests for %d actions", n, len(first.Actions))
	}
	code, out, errs = runEnv(t, env, args...)
	second := parseCachedDoc(t, code, out, errs)
	if n := len(srv.Requests()); n != len(first.Actions) {
		t.Errorf("second run of the same reports: %d more requests, want none", n-len(first.Actions))
	}
	for i, a := range second.Actions {
		x := a.Explanation
		if x == nil || x.Provider != "openai" || !x.Cached || !x.Grounded || x.Text != first.Actions[i].Explanation.Text {
			t.Errorf("second run, action %s: explanation %+v; want the first run's, from the cache", a.ID, x)
		}
	}
	if !strings.Contains(errs, ": 0 calls, 0 input + 0 output tokens; 3 of 3 from the cache") {
		t.Errorf("stderr does not account for the cache:\n%s", errs)
	}
	// The cache keeps what was sent: placeholders, never the values.
	var stored []byte
	for _, suffix := range []string{"", "-wal"} {
		b, _ := os.ReadFile(cache + suffix)
		stored = append(stored, b...)
	}
	if !bytes.Contains(stored, []byte(`"provider":"openai"`)) {
		t.Fatalf("no explanation in %s", cache)
	}
	for _, secret := range llmtest.Secrets() {
		if bytes.Contains(stored, []byte(secret)) {
			t.Errorf("the explanation cache holds %q", secret)
		}
	}

	// --no-explain-cache asks again.
	code, out, errs = runEnv(t, env, append(args, "--no-explain-cache")...)
	parseCachedDoc(t, code, out, errs)
	if n := len(srv.Requests()); n != 2*len(first.Actions) {
		t.Errorf("with --no-explain-cache: %d requests in all, want %d", n, 2*len(first.Actions))
	}
	if strings.Contains(errs, "from the cache") {
		t.Errorf("with --no-explain-cache, stderr mentions the cache:\n%s", errs)
	}
}

// TestTriageExplainCacheDefault keeps the cache beside the threat-intel
// cache directory, and only when a provider is configured.
func TestTriageExplainCacheDefault(t *testing.T) {
	srv := llmtest.NewOpenAI(t)
	dir := t.TempDir()
	runIn := func(env map[string]string) (int, string, string) {
		var out, errb bytes.Buffer
		m := &Main{Args: triageArgs(t), Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
			if k == "SEXTANT_INTEL_DIR" {
				return filepath.Join(dir, "intel")
			}
			return env[k]
		}}
		return m.Run(context.Background()), out.String(), errb.String()
	}
	code, out, errs := runIn(nil)
	parseCachedDoc(t, code, out, errs)
	if _, err := os.Stat(filepath.Join(dir, "explanations.db")); err == nil {
		t.Errorf("offline triage --explain created an explanation cache")
	}
	env := map[string]string{"SEXTANT_LLM": "openai", "SEXTANT_LLM_BASE_URL": srv.BaseURL, "OPENAI_API_KEY": llmtest.OpenAIKey}
	for range 2 {
		code, out, errs = runIn(env)
		parseCachedDoc(t, code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "explanations.db")); err != nil {
		t.Errorf("no explanation cache beside the intel cache: %v", err)
	}
	if n := len(srv.Requests()); n != 3 {
		t.Errorf("two runs: %d requests, want 3 (the first run's)", n)
	}

	// A cache the user names must open.
	code, _, errs = runEnv(t, env, append(triageArgs(t), "--explain-cache", filepath.Join(dir, "no", "such", "dir", "x.db"))...)
	if code != exitError || !strings.Contains(errs, "--explain-cache") {
		t.Errorf("--explain-cache in a missing directory: exit %d, stderr %q; want an error naming the flag", code, errs)
	}
}
