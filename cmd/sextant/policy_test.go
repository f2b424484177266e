package main

import (
	"encoding/json"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/sextant-dev/sextant/internal/fixtures"
)

func TestPolicyDraft(t *testing.T) {
	code, out, errs := run(t, "", "policy", "draft", "no container may run as root in namespace payments")
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	for _, want := range []string{"# Intent:  run-as-non-root in namespace payments (read by the parser)", "# Mode:    audit and warn",
		"kind: ClusterPolicy", "validationFailureAction: Audit", "kind: ValidatingAdmissionPolicy\n", "kind: ValidatingAdmissionPolicyBinding",
		"#   Pod violating run-as-non-root in namespace payments: denied"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The whole output is YAML: three documents and comments.
	docs := strings.Split(out, "\n---\n")
	if len(docs) != 3 {
		t.Fatalf("%d YAML documents, want 3", len(docs))
	}
	for i, d := range docs {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(d), &m); err != nil || m["kind"] == nil {
			t.Errorf("document %d does not parse: %v", i, err)
		}
	}
}

func TestPolicyDraftCheck(t *testing.T) {
	dir := fixtures.Dir(t, "k8s", "polaris")
	code, out, errs := run(t, "", "policy", "draft", "--check", dir, "no", "privileged", "containers", "except", "in", "kube-system")
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	if !strings.Contains(out, "# Check: ") || !strings.Contains(out, "#   DENY Pod/default/nginx (") || !strings.Contains(out, "runAsPrivileged-failure.yaml") ||
		strings.Contains(out, "runAsPrivileged-success.yaml") {
		t.Errorf("check output:\n%s", out)
	}

	// -o kyverno writes that draft alone, the check on standard error.
	code, out, errs = run(t, "", "policy", "draft", "-o", "kyverno", "--enforce", "--check", dir, "no privileged containers")
	if code != exitOK || strings.Contains(out, "ValidatingAdmissionPolicy") || !strings.Contains(out, "validationFailureAction: Enforce") ||
		strings.Contains(out, "#") || !strings.Contains(errs, "DENY Pod/default/nginx") {
		t.Errorf("-o kyverno: exit %d\n%s\nstderr:\n%s", code, out, errs)
	}
	code, out, _ = run(t, "", "policy", "draft", "-o", "vap", "--enforce", "no privileged containers")
	if code != exitOK || strings.Contains(out, "kyverno") || !strings.Contains(out, "  - Deny\n") {
		t.Errorf("-o vap: exit %d\n%s", code, out)
	}

	code, out, errs = run(t, "", "policy", "draft", "-o", "json", "--check", dir, "images must come from registry.example.com")
	if code != exitOK {
		t.Fatalf("-o json: exit %d, stderr:\n%s", code, errs)
	}
	var d struct {
		Intent struct {
			Rules []struct {
				Kind       string   `json:"kind"`
				Registries []string `json:"registries"`
			} `json:"rules"`
		} `json:"intent"`
		IntentSource string   `json:"intent_source"`
		Kyverno      string   `json:"kyverno"`
		VAP          string   `json:"validating_admission_policy"`
		SelfCheck    []string `json:"self_check"`
		Check        struct {
			Objects int               `json:"objects"`
			Denied  []json.RawMessage `json:"denied"`
		} `json:"check"`
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Intent.Rules) != 1 || d.Intent.Rules[0].Registries[0] != "registry.example.com" || d.IntentSource != "parser" ||
		d.Kyverno == "" || d.VAP == "" || len(d.SelfCheck) == 0 || d.Check.Objects == 0 || len(d.Check.Denied) == 0 {
		t.Errorf("-o json = %+v", d)
	}
}

func TestPolicyDraftRefusals(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"policy", "draft", "require", "seccomp", "profiles"}, "seccomp profiles"},
		{[]string{"policy", "draft", "allow root in kube-system"}, "says what to allow"},
		{[]string{"policy", "draft", "-o", "rego", "no root"}, "unknown output format"},
		{[]string{"policy", "draft", "--check", "/nonexistent/dir", "no root"}, "nonexistent"},
	} {
		code, _, errs := run(t, "", tc.args...)
		if code != exitError || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 1 with %q", tc.args, code, errs, tc.want)
		}
		if strings.Contains(tc.want, "seccomp") && !strings.Contains(errs, "restrict-registries") {
			t.Errorf("refusal does not list the supported intents:\n%s", errs)
		}
	}
}
