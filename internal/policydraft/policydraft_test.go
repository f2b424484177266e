package policydraft

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/fixtures"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestEvalCases runs the labelled cases `sextant eval` runs, offline:
// every one must pass.
func TestEvalCases(t *testing.T) {
	cases, err := EvalCases()
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 12 {
		t.Fatalf("%d cases, want at least 12", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			res, err := c.Run(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Pass {
				t.Errorf("%s: %s", c.File, strings.Join(res.Problems, "; "))
			}
		})
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"no container may run as root in namespace payments", "run-as-non-root in namespace payments"},
		{"Containers must run as non-root.", "run-as-non-root in every namespace"},
		{"no pod may run as UID 0 in the payments namespace", "run-as-non-root in namespace payments"},
		{"disallow privileged containers except in kube-system and kube-public", "disallow-privileged in every namespace except kube-public, kube-system"},
		{"Privileged pods are forbidden outside of the kube-system namespace", "disallow-privileged in every namespace except kube-system"},
		{"no privileged escalation", "disallow-privilege-escalation in every namespace"},
		{"no pod may use the host network", "disallow-host-network in every namespace"},
		{"block hostPID and hostIPC", "disallow-host-pid; disallow-host-ipc in every namespace"},
		{"deny hostPath volumes in namespaces ci, build and deploy", "disallow-host-path in namespaces build, ci, deploy"},
		{"no :latest image tags", "disallow-latest-tag in every namespace"},
		{"require cpu limits", "require-resource-limits (cpu) in every namespace"},
		{"resource limits must be set", "require-resource-limits (cpu, memory) in every namespace"},
		{"only allow images from registry.example.com:5000/team and localhost:5000.", "restrict-registries (localhost:5000, registry.example.com:5000/team) in every namespace"},
		{"images must be pulled from ghcr.io/acme", "restrict-registries (ghcr.io/acme) in every namespace"},
		{"containers must drop ALL capabilities", "require-drop-all in every namespace"},
		{"no added capabilities", "restrict-capabilities in every namespace"},
		{"no capabilities may be added except NET_BIND_SERVICE", "restrict-capabilities (NET_BIND_SERVICE) in every namespace"},
		{"forbid SYS_PTRACE", "disallow-capabilities (SYS_PTRACE) in every namespace"},
		{"containers must use a read-only root filesystem", "require-read-only-root-fs in every namespace"},
		{"no privileged containers and no root in namespace payments except kube-system", "run-as-non-root; disallow-privileged in namespace payments"},
	} {
		in, err := Parse(tc.text)
		if err != nil {
			t.Errorf("Parse(%q) = %v", tc.text, firstLine(err.Error()))
			continue
		}
		if got := in.String(); got != tc.want {
			t.Errorf("Parse(%q) = %s, want %s", tc.text, got, tc.want)
		}
	}
	if _, err := Parse(strings.Repeat("no root ", 300)); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("Parse(long) = %v", err)
	}
	for _, tc := range []struct{ text, want string }{
		{"", "empty"},
		{"containers should be nice", "no rule sextant knows"},
		{"permit host networking", "says what to allow"},
		{"no privileged pods and no service account tokens", "service accounts"},
		{"require signed images", "image signatures"},
		{"no capabilities", "without saying which"},
		{"restrict registries", "without naming them"},
		{"no privileged containers in the listed namespaces", "namespaces whose names sextant could not read"},
	} {
		_, err := Parse(tc.text)
		if err == nil || !strings.Contains(err.Error(), tc.want) || sextant.ErrorCode(err) != sextant.EINVALID {
			t.Errorf("Parse(%.40q) = %v, want EINVALID with %q", tc.text, err, tc.want)
			continue
		}
		// Every refusal lists what sextant does understand.
		if !strings.Contains(err.Error(), "run-as-non-root") || !strings.Contains(err.Error(), "restrict-registries") {
			t.Errorf("Parse(%.40q) error does not list the supported intents:\n%v", tc.text, err)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		in   Intent
		want string
	}{
		{Intent{}, "no rules"},
		{Intent{Rules: []Rule{{Kind: "allow-everything"}}}, "unknown rule kind"},
		{Intent{Rules: []Rule{{Kind: RunAsNonRoot}, {Kind: RunAsNonRoot}}}, "twice"},
		{Intent{Rules: []Rule{{Kind: RunAsNonRoot, Registries: []string{"a.io"}}}}, "takes no registries"},
		{Intent{Rules: []Rule{{Kind: RestrictRegistries}}}, "needs the allowed registries"},
		{Intent{Rules: []Rule{{Kind: RestrictRegistries, Registries: []string{"not a host"}}}}, "is not a registry"},
		{Intent{Rules: []Rule{{Kind: DisallowCapabilities, Capabilities: []string{"FLY"}}}}, "not a Linux capability"},
		{Intent{Rules: []Rule{{Kind: RequireResourceLimits, Resources: []string{"gpu"}}}}, "want cpu or memory"},
		{Intent{Rules: []Rule{{Kind: RunAsNonRoot}}, Namespaces: []string{"Pay_ments"}}, "not a namespace name"},
		{Intent{Rules: []Rule{{Kind: RunAsNonRoot}}, Namespaces: []string{"a"}, ExcludeNamespaces: []string{"a"}}, "both included and excluded"},
		{Intent{Rules: []Rule{{Kind: RestrictCapabilities}, {Kind: DisallowCapabilities, Capabilities: []string{"NET_RAW"}}}}, "keep one"},
	} {
		in := tc.in
		if err := in.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.in, err, tc.want)
		}
	}
	in := Intent{Rules: []Rule{{Kind: DisallowCapabilities, Capabilities: []string{"cap_sys_admin", "NET_RAW", "SYS_ADMIN"}}, {Kind: RunAsNonRoot}},
		Namespaces: []string{"b", "A"}}
	if err := in.Validate(); err != nil {
		t.Fatal(err)
	}
	want := Intent{Rules: []Rule{{Kind: RunAsNonRoot}, {Kind: DisallowCapabilities, Capabilities: []string{"NET_RAW", "SYS_ADMIN"}}}, Namespaces: []string{"a", "b"}}
	if diff := cmp.Diff(want, in); diff != "" {
		t.Errorf("normalised intent (-want +got):\n%s", diff)
	}
}

// TestGolden holds the generated policies to golden files; go test
// -update rewrites them.
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name, request string
		enforce       bool
	}{
		{"run-as-root-payments", "no container may run as root in namespace payments", false},
		{"registries-except-kube-system", "images must come from registry.example.com or ghcr.io/acme except in kube-system", false},
		{"capabilities-enforced", "containers must drop all capabilities and may not add capabilities other than NET_BIND_SERVICE", true},
		{"baseline-bundle", "no privileged containers, no host namespaces, no hostPath volumes, no latest tag and memory limits required", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := New(tc.request, Options{Enforce: tc.enforce})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("golden", tc.name+".kyverno.yaml"), d.Kyverno)
			golden(t, filepath.Join("golden", tc.name+".vap.yaml"), d.VAP)
		})
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", name, diff)
	}
}

// TestEveryKindDrafts drafts each rule kind alone, scoped in and out, and
// holds the drafts to their parse-back and self-checks.
func TestEveryKindDrafts(t *testing.T) {
	for _, s := range SupportedKinds() {
		for _, scope := range []Intent{{}, {Namespaces: []string{"payments"}}, {ExcludeNamespaces: []string{"kube-system"}}} {
			in := scope
			r := Rule{Kind: s.Kind}
			switch s.Kind {
			case RestrictRegistries:
				r.Registries = []string{"registry.example.com"}
			case DisallowCapabilities:
				r.Capabilities = []string{"SYS_ADMIN"}
			case RestrictCapabilities:
				r.Capabilities = []string{"NET_BIND_SERVICE", "CHOWN"}
			case RequireResourceLimits:
				r.Requests = true
			}
			in.Rules = []Rule{r}
			d, err := Generate(in, s.Example, "test", Options{})
			if err != nil {
				t.Errorf("Generate(%s): %v", in, err)
				continue
			}
			if len(d.SelfCheck) < 2 {
				t.Errorf("Generate(%s): self-check %v", in, d.SelfCheck)
			}
			// The example phrase reads as this kind.
			if p, err := Parse(s.Example); err != nil || p.Rules[0].Kind != s.Kind {
				t.Errorf("Parse(%q) = %v, %v; want %s", s.Example, p, err, s.Kind)
			}
		}
	}
}

func TestCheckKyvernoRejects(t *testing.T) {
	in, _ := Parse("no container may run as root in namespace payments")
	good, err := Kyverno(in, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckKyverno(good, in); err != nil {
		t.Fatalf("CheckKyverno(good) = %v", err)
	}
	for _, tc := range []struct{ old, new, want string }{
		{"apiVersion: kyverno.io/v1", "apiVersion: kyverno.io/v2beta9", "apiVersion"},
		{"validationFailureAction: Audit", "validationFailureAction: Block", "validationFailureAction"},
		{"name: run-as-non-root-user", "name: other", "want \"run-as-non-root-user\""},
		{"=(runAsUser)", "=(runAsUser", "malformed key"},
		{"          - payments", "          - billing", "namespaces"},
		{"      message: \"run-as-non-root-user", "      messages: \"run-as-non-root-user", "no validate.message"},
	} {
		b := strings.Replace(string(good), tc.old, tc.new, 1)
		if b == string(good) {
			t.Fatalf("edit %q did nothing", tc.old)
		}
		if err := CheckKyverno([]byte(b), in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckKyverno(%q → %q) = %v, want %q", tc.old, tc.new, err, tc.want)
		}
	}
}

func TestParseVAPRejects(t *testing.T) {
	in, _ := Parse("no privileged containers")
	good, err := VAP(in, "", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ old, new, want string }{
		{"c.securityContext.privileged == false)", "c.securityContext.privileged == false", "validation 0"},
		{"policyName: ", "policyName: x", "binding names policy"},
		{"  - Audit", "  - Deny", "Deny and Warn"},
		{"failurePolicy: Fail", "failurePolicy: Fail\n  surprise: true", "unknown field"},
		{"object.kind == 'Pod'", "object.kind == Pod'", "variable podSpec"},
	} {
		b := strings.Replace(string(good), tc.old, tc.new, 1)
		if b == string(good) {
			t.Fatalf("edit %q did nothing", tc.old)
		}
		if _, err := ParseVAP([]byte(b)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseVAP(%q → %q) = %v, want %q", tc.old, tc.new, err, tc.want)
		}
	}
}

// TestFixtures checks drafts against the shared corpus of real manifests
// (kube-score, kubesec, Polaris, Kubernetes Goat): the known-bad objects
// are denied, the known-good admitted.
func TestFixtures(t *testing.T) {
	rs, _, err := LoadResources(fixtures.Dir(t, "k8s"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) < 50 {
		t.Fatalf("%d resources in the fixtures", len(rs))
	}
	for _, tc := range []struct {
		request      string
		deny, admit  []string // file suffixes
		deniedAtMost int
		minMatched   int
	}{
		{"no privileged containers", []string{"polaris/runAsPrivileged-failure.yaml", "kubesec/score-0-daemonset-privileged.yml", "kube-score/pod-security-context-privileged.yaml"},
			[]string{"polaris/runAsPrivileged-success.yaml", "kube-score/pod-security-context-all-good.yaml"}, 10, 40},
		{"no pod may use the host network", []string{"kubesec/score-0-daemonset-host-network.yml"}, []string{"kubesec/score-0-daemonset-host-pid.yml"}, 6, 40},
		{"no host PID", []string{"kubesec/score-0-daemonset-host-pid.yml", "polaris/hostPIDSet-failure.yaml"}, []string{"kubesec/score-0-daemonset-host-network.yml"}, 6, 40},
		{"no hostPath volumes", []string{"kubesec/score-0-daemonset-mount-docker-socket.yml"}, []string{"polaris/runAsPrivileged-success.yaml"}, 10, 40},
		{"no latest tag", []string{"kube-score/pod-image-latest-tag.yaml"}, nil, 60, 40},
		{"no container may add SYS_ADMIN", []string{"kubesec/score-0-cap-sys-admin.yml"}, []string{"polaris/runAsPrivileged-success.yaml"}, 2, 40},
		{"containers must have a read-only root filesystem", []string{"polaris/notReadOnlyRootFilesystem-failure.yaml"}, []string{"kube-score/pod-security-context-all-good.yaml"}, 60, 40},
		{"no privileged containers in namespace kube-system", nil, []string{"polaris/runAsPrivileged-failure.yaml"}, 1, 1},
	} {
		t.Run(tc.request, func(t *testing.T) {
			d, err := New(tc.request, Options{})
			if err != nil {
				t.Fatal(err)
			}
			c := d.CheckResources(rs, nil)
			denied := map[string]bool{}
			for _, x := range c.Denied {
				if len(x.Failures) == 0 {
					t.Errorf("%s denied without a failure: %s", x.Resource, x.Error)
				}
				denied[fileOf(x.Source)] = true
			}
			for _, f := range tc.deny {
				if !denied[f] {
					t.Errorf("%s is not denied", f)
				}
			}
			for _, f := range tc.admit {
				if denied[f] {
					t.Errorf("%s is denied", f)
				}
			}
			if len(c.Denied) > tc.deniedAtMost || c.Matched < tc.minMatched || c.Matched != len(c.Denied)+c.Admitted {
				t.Errorf("matched %d, denied %d, admitted %d", c.Matched, len(c.Denied), c.Admitted)
			}
		})
	}
}

// fileOf returns "dir/file" of "…/k8s/dir/file:line".
func fileOf(source string) string {
	s, _, _ := strings.Cut(source, ":")
	return filepath.Base(filepath.Dir(s)) + "/" + filepath.Base(s)
}

// TestYAMLRoundTrip holds the YAML writer to reading back as the JSON it
// was given, with strings YAML would otherwise misread.
func TestYAMLRoundTrip(t *testing.T) {
	v := map[string]any{
		"strings": []any{"true", "no", "y", "null", "~", "1.0", "0x1f", "1e3", "12:30", ">0", "*:*", "!*:latest", "?*", "a: b", "a #b", "- x", "",
			" lead", "trail ", "{{ request.operation || 'BACKGROUND' }}", "line\nbreak", "tab\there", "quote\"s", "'single'", "@at", "%pct", "`tick`", "é", "a  b", "x:", "=(name)", "X(hostPath)"},
		"empty":  map[string]any{},
		"list":   []any{},
		"nested": []any{[]any{"a", map[string]any{"k": 1.5}}, map[string]any{"b": nil, "c": false}},
		"num":    42,
	}
	b, err := toYAML(v)
	if err != nil {
		t.Fatal(err)
	}
	var back any
	if err := yaml.Unmarshal(b, &back); err != nil {
		t.Fatalf("%v:\n%s", err, b)
	}
	var want any
	j, _ := yaml.Marshal(v)
	_ = yaml.Unmarshal(j, &want)
	if !reflect.DeepEqual(want, back) {
		t.Errorf("round trip (-want +got):\n%s\n%s", cmp.Diff(want, back), b)
	}
}

// FuzzYAMLString holds a quoted or plain scalar to reading back as the
// string it was made from.
func FuzzYAMLString(f *testing.F) {
	for _, s := range []string{"true", "a: b", "{{ x }}", "=(a)", "1.0", "- a", "x #y", "\x00", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !strings.ContainsRune(s, '\uFFFD') && strings.ToValidUTF8(s, "") == s {
			var m map[string]string
			doc := "k: " + yamlString(s) + "\n"
			if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
				t.Fatalf("%q: %v", doc, err)
			}
			if m["k"] != s {
				t.Fatalf("%q read back as %q", s, m["k"])
			}
		}
	})
}

// FuzzParse holds the parser to: no panic; whatever it accepts drafts
// into policies that pass their parse-back and self-checks.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"no container may run as root in namespace payments", "images must come from a.io except in b",
		"drop all capabilities and no CAP_SYS_ADMIN", "no host namespaces in namespaces a, b and c", "allow root", "memory and cpu requests and limits"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		in, err := Parse(s)
		if err != nil {
			if sextant.ErrorCode(err) != sextant.EINVALID {
				t.Fatalf("Parse(%q) = %v, want EINVALID", s, err)
			}
			return
		}
		if _, err := Generate(in, s, "fuzz", Options{}); err != nil {
			t.Fatalf("Parse(%q) = %s, which does not draft: %v", s, in, err)
		}
	})
}
