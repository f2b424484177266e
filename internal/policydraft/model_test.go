package policydraft

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/explain"
	"github.com/sextant-dev/sextant/internal/explain/explaintest"
	"github.com/sextant-dev/sextant/internal/prompt"
)

func proposer(t *testing.T, m *explaintest.Model) *Proposer {
	t.Helper()
	reg, err := prompt.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return &Proposer{Model: m, Provider: "fake", Prompts: reg, RegistryHosts: []string{"registry.corp.example"}, InternalDomains: []string{"corp.example"}}
}

// TestProposeRedactsAndRehydrates: the internal registry is sent as a
// placeholder and comes back as itself in the intent.
func TestProposeRedactsAndRehydrates(t *testing.T) {
	const text = "Workloads of the payments team should only ever pull from registry.corp.example/payments, never docker hub."
	m := &explaintest.Model{Respond: func(req explain.Request) (string, error) {
		if strings.Contains(req.User, "registry.corp.example") {
			return "", errors.New("the internal registry was sent")
		}
		return `{"rules": [{"kind": "restrict-registries", "registries": ["[REGISTRY_1]/payments"]}], "namespaces": []}`, nil
	}}
	p, err := proposer(t, m).Propose(context.Background(), text)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Intent.String(); got != "restrict-registries (registry.corp.example/payments) in every namespace" {
		t.Errorf("intent = %s", got)
	}
	if p.Source() != "model fake/fake-1" || p.PromptID != PromptID || p.PromptVersion != 1 || p.Redaction["REGISTRY"] != 1 || len(p.Rejected) != 0 {
		t.Errorf("proposal = %+v", p)
	}
	req := m.Requests()[0]
	if !strings.Contains(req.User, "<untrusted>") || !strings.Contains(req.User, `"kind": "restrict-capabilities"`) || !strings.Contains(string(req.Schema), "exclude_namespaces") {
		t.Errorf("request:\n%s", req.User)
	}
	// The policies still come from code.
	d, err := Generate(p.Intent, text, p.Source(), Options{})
	if err != nil || !strings.Contains(d.VAP, "'registry.corp.example/payments/'") || d.IntentSource != "model fake/fake-1" {
		t.Errorf("Generate = %v\n%s", err, d.VAP)
	}
}

// TestProposeRejectsInventions: a namespace the request does not name and
// an unknown kind are rejected; the repair is accepted.
func TestProposeRejectsInventions(t *testing.T) {
	m := &explaintest.Model{Answers: []string{
		`{"rules": [{"kind": "run-as-non-root"}, {"kind": "allow-everything"}], "namespaces": ["prod"]}`,
		`{"rules": [{"kind": "run-as-non-root"}], "namespaces": ["payments"]}`,
	}}
	p, err := proposer(t, m).Propose(context.Background(), "Nothing in payments should be root.")
	if err != nil {
		t.Fatal(err)
	}
	if p.Intent.String() != "run-as-non-root in namespace payments" || p.Invented() != 2 {
		t.Errorf("intent %s, invented %d, rejected %v", p.Intent, p.Invented(), p.Rejected)
	}
	if len(m.Requests()) != 2 || !strings.Contains(m.Requests()[1].User, `ungrounded_value: namespace "prod"`) {
		t.Errorf("repair request: %v", m.Requests())
	}
}

func TestProposeRefusals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answers []string
		err     error
		want    string
	}{
		{"unsupported", []string{`{"rules": [], "unsupported": "seccomp profiles"}`}, nil, "as a policy sextant drafts (seccomp profiles)"},
		{"twice rejected", []string{`not json`, "```json\n{\"rules\": [{\"kind\": \"disallow-capabilities\", \"capabilities\": [\"SYS_ADMIN\"]}]}\n```"}, nil, "ungrounded_value: capability"},
		{"model error", nil, errors.New("rate limited"), "model_error: rate limited"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &explaintest.Model{Answers: tc.answers, Err: tc.err}
			_, err := proposer(t, m).Propose(context.Background(), "require seccomp profiles on every pod")
			if err == nil || !strings.Contains(err.Error(), tc.want) || sextant.ErrorCode(err) != sextant.EINVALID {
				t.Errorf("Propose = %v, want EINVALID with %q", err, tc.want)
			}
		})
	}
	if _, err := (&Proposer{}).Propose(context.Background(), "x"); sextant.ErrorCode(err) != sextant.EINVALID {
		t.Errorf("Propose without a model = %v", err)
	}
}

// TestEvalCasesWithModel runs the labelled cases through a model that
// answers with the parser's reading: they all pass, and nothing is
// invented.
func TestEvalCasesWithModel(t *testing.T) {
	cases, err := EvalCases()
	if err != nil {
		t.Fatal(err)
	}
	m := &explaintest.Model{Respond: func(req explain.Request) (string, error) {
		// The request is the JSON in the untrusted fence.
		_, rest, _ := strings.Cut(req.User, "<untrusted>\n{\"request\":")
		text, _, _ := strings.Cut(rest, "}\n</untrusted>")
		text = strings.Trim(strings.TrimSpace(text), `"`)
		in, err := Parse(text)
		if err != nil {
			return `{"rules": [], "unsupported": "not a supported policy"}`, nil
		}
		b, _ := jsonMarshal(in)
		return string(b), nil
	}}
	p := proposer(t, m)
	p.RegistryHosts, p.InternalDomains = nil, nil
	for _, c := range cases {
		res, err := c.Run(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Pass || res.Invented != 0 || !strings.HasPrefix(res.Source, "model ") {
			t.Errorf("%s: pass %t, invented %d, source %s: %v", c.Name, res.Pass, res.Invented, res.Source, res.Problems)
		}
	}
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
