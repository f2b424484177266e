package render

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sextant-dev/sextant/internal/explain"
	"github.com/sextant-dev/sextant/internal/triage"
)

// explained returns options that show the top actions with their offline
// explanations.
func explained(t *testing.T, res *triage.Result, top int) Options {
	t.Helper()
	o := Options{MinPriority: 3, Version: "test", Top: top, Explanations: map[string]*explain.Explanation{}}
	e := &explain.Explainer{}
	for _, i := range Shown(res, o) {
		x, err := e.Explain(context.Background(), res.Explain(i), nil)
		if err != nil {
			t.Fatal(err)
		}
		o.Explanations[res.Actions[i].ID] = &x
	}
	return o
}

// TestGoldenExplained holds the table and Markdown with explanations to
// golden files (go test ./internal/render -update rewrites them).
func TestGoldenExplained(t *testing.T) {
	for name, write := range map[string]func(*bytes.Buffer, *triage.Result, Options) error{
		"examples.explain.table.txt": func(b *bytes.Buffer, r *triage.Result, o Options) error { return Table(b, r, o) },
		"examples.explain.md":        func(b *bytes.Buffer, r *triage.Result, o Options) error { return Markdown(b, r, o) },
	} {
		t.Run(name, func(t *testing.T) {
			res := exampleResult(t)
			var got bytes.Buffer
			if err := write(&got, res, explained(t, res, 3)); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", name)
			if *update {
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden file (run go test -update to create it): %v", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("%s differs from %s; run go test ./internal/render -update and review the diff", name, path)
			}
		})
	}
}

func TestJSONExplanation(t *testing.T) {
	res := exampleResult(t)
	o := explained(t, res, 2)
	var b bytes.Buffer
	if err := JSON(&b, res, o); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Actions []struct {
			ID          string         `json:"id"`
			Priority    string         `json:"priority"`
			Commands    []string       `json:"commands"`
			Explanation map[string]any `json:"explanation"`
		} `json:"actions"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if len(doc.Actions) != 2 {
		t.Fatalf("%d actions, want 2 (--top 2)", len(doc.Actions))
	}
	for _, a := range doc.Actions {
		x := a.Explanation
		if x == nil {
			t.Fatalf("action %s has no explanation", a.ID)
		}
		for _, k := range []string{"text", "risk", "why_priority", "what_to_do", "how_to_verify", "provider", "model", "input_hash", "redaction", "grounded", "cited_facts"} {
			if _, ok := x[k]; !ok {
				t.Errorf("explanation of %s lacks %q", a.ID, k)
			}
		}
		if x["provider"] != "offline" || x["model"] != "template-v1" || x["grounded"] != true {
			t.Errorf("explanation of %s = %v", a.ID, x)
		}
		if _, ok := x["prompt_id"]; ok {
			t.Errorf("offline explanation has a prompt_id")
		}
		if !strings.Contains(x["why_priority"].(string), a.Priority) {
			t.Errorf("why_priority %q does not name %s", x["why_priority"], a.Priority)
		}
	}
	// Without explanations, no action has the member.
	b.Reset()
	if err := JSON(&b, res, Options{MinPriority: 3, Top: 2}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), `"explanation"`) {
		t.Errorf("JSON without explanations has an explanation member")
	}
}
