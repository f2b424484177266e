package k8s

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
)

const sxtRole = `
apiVersion: rbac.authorization.k8s.io/v1
kind: %s
metadata:
  name: r
  namespace: ns
rules:
%s`

func sxtRoleYAML(kind, rules string) string {
	return strings.Replace(strings.Replace(sxtRole, "%s", kind, 1), "%s", rules, 1)
}

func TestRBACChecks(t *testing.T) {
	tests := []struct {
		name  string
		check string
		yaml  string
		want  []string
	}{
		{"wildcard verbs", CheckRBACWildcard, sxtRoleYAML("Role", `- apiGroups: [""]
  resources: [pods]
  verbs: ["*"]`), []string{"SX-K8S-101 Role/ns/r"}},
		{"wildcard everything", CheckRBACWildcard, sxtRoleYAML("ClusterRole", `- apiGroups: ["*"]
  resources: ["*"]
  verbs: ["*"]`), []string{"SX-K8S-101 ClusterRole/ns/r"}},
		{"wildcard verbs among explicit ones", CheckRBACWildcard, sxtRoleYAML("Role", `- apiGroups: [""]
  resources: [pods, configmaps]
  verbs: [create, "*"]`), []string{"SX-K8S-101 Role/ns/r"}},
		{"wildcard resources only", CheckRBACWildcard, sxtRoleYAML("Role", `- apiGroups: [""]
  resources: ["*"]
  verbs: [get]`), []string{"SX-K8S-101 Role/ns/r"}},
		{"wildcard verbs on URLs", CheckRBACWildcard, sxtRoleYAML("ClusterRole", `- nonResourceURLs: [/metrics]
  verbs: ["*"]`), []string{"SX-K8S-101 ClusterRole/ns/r"}},
		{"no wildcard", CheckRBACWildcard, sxtRoleYAML("Role", `- apiGroups: [""]
  resources: [pods]
  verbs: [get, list]`), nil},
		{"secrets cluster-wide", CheckRBACSecrets, sxtRoleYAML("ClusterRole", `- apiGroups: [""]
  resources: [secrets, configmaps]
  verbs: [list]`), []string{"SX-K8S-102 ClusterRole/ns/r"}},
		{"secrets with writes, and other resources", CheckRBACSecrets, sxtRoleYAML("ClusterRole", `- apiGroups: [""]
  resources: [configmaps, secrets]
  verbs: [get, list, create, update]
- apiGroups: [""]
  resources: [secrets]
  verbs: [watch]
- apiGroups: [""]
  resources: [secrets]
  resourceNames: [tls]
  verbs: ["*"]`), []string{"SX-K8S-102 ClusterRole/ns/r", "SX-K8S-102 ClusterRole/ns/r", "SX-K8S-102 ClusterRole/ns/r"}},
		{"secrets in a Role", CheckRBACSecrets, sxtRoleYAML("Role", `- apiGroups: [""]
  resources: [secrets]
  verbs: [get]`), nil},
		{"secrets create only", CheckRBACSecrets, sxtRoleYAML("ClusterRole", `- apiGroups: [""]
  resources: [secrets]
  verbs: [create]`), nil},
		{"pods/exec", CheckRBACPodExec, sxtRoleYAML("Role", `- apiGroups: [""]
  resources: [pods, pods/exec]
  verbs: [create]`), []string{"SX-K8S-103 Role/ns/r"}},
		{"pods/attach via verb wildcard", CheckRBACPodExec, sxtRoleYAML("Role", `- apiGroups: [""]
  resources: [pods/attach]
  verbs: ["*"]`), []string{"SX-K8S-103 Role/ns/r"}},
		{"pods/log only", CheckRBACPodExec, sxtRoleYAML("Role", `- apiGroups: [""]
  resources: [pods/log]
  verbs: [get]`), nil},
		{"create deployments", CheckRBACCreateWorkloads, sxtRoleYAML("Role", `- apiGroups: [apps]
  resources: [deployments]
  verbs: [create, update]`), []string{"SX-K8S-104 Role/ns/r"}},
		{"create pods", CheckRBACCreateWorkloads, sxtRoleYAML("ClusterRole", `- apiGroups: [""]
  resources: [pods]
  verbs: [create]`), []string{"SX-K8S-104 ClusterRole/ns/r"}},
		{"deployments in the wrong group", CheckRBACCreateWorkloads, sxtRoleYAML("Role", `- apiGroups: [""]
  resources: [deployments]
  verbs: [create]`), nil},
		{"escalate", CheckRBACEscalate, sxtRoleYAML("ClusterRole", `- apiGroups: [rbac.authorization.k8s.io]
  resources: [clusterroles]
  verbs: [escalate]`), []string{"SX-K8S-105 ClusterRole/ns/r"}},
		{"impersonate", CheckRBACEscalate, sxtRoleYAML("ClusterRole", `- apiGroups: [""]
  resources: [users, groups]
  verbs: [impersonate]`), []string{"SX-K8S-105 ClusterRole/ns/r"}},
		{"escalate, bind and impersonate with reads", CheckRBACEscalate, sxtRoleYAML("ClusterRole", `- apiGroups: ["", rbac.authorization.k8s.io]
  resources: [roles, users, configmaps]
  verbs: [get, escalate, impersonate, bind]`), []string{"SX-K8S-105 ClusterRole/ns/r"}},
		{"read roles", CheckRBACEscalate, sxtRoleYAML("ClusterRole", `- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles]
  verbs: [get]`), nil},
		{"nodes/proxy", CheckRBACNodeProxy, sxtRoleYAML("ClusterRole", `- apiGroups: [""]
  resources: [nodes/proxy]
  verbs: [get]`), []string{"SX-K8S-106 ClusterRole/ns/r"}},
		{"nodes/proxy last of several", CheckRBACNodeProxy, sxtRoleYAML("ClusterRole", `- apiGroups: [""]
  resources: [nodes, nodes/proxy, nodes/metrics]
  verbs: [get, list]`), []string{"SX-K8S-106 ClusterRole/ns/r"}},
		{"nodes/metrics", CheckRBACNodeProxy, sxtRoleYAML("ClusterRole", `- apiGroups: [""]
  resources: [nodes/metrics]
  verbs: [get]`), nil},
		{"cluster-admin binding", CheckRBACClusterAdmin, `
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: b, namespace: ns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: User, name: alice}]`, []string{"SX-K8S-107 RoleBinding/ns/b"}},
		{"Role named cluster-admin", CheckRBACClusterAdmin, `
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: b, namespace: ns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: cluster-admin}
subjects: [{kind: User, name: alice}]`, nil},
		{"default SA bound", CheckRBACDefaultSA, `
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: b, namespace: ns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}
subjects: [{kind: ServiceAccount, name: default}]`, []string{"SX-K8S-108 RoleBinding/ns/b"}},
		{"dedicated SA bound", CheckRBACDefaultSA, `
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: b, namespace: ns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}
subjects: [{kind: ServiceAccount, name: web}]`, nil},
		{"anonymous", CheckRBACAnonymous, `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: b}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
- {kind: User, name: system:anonymous}
- {kind: Group, name: system:unauthenticated}`, []string{"SX-K8S-109 ClusterRoleBinding/b", "SX-K8S-109 ClusterRoleBinding/b"}},
		{"authenticated and masters", CheckRBACAnonymous, `
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: b, namespace: ns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects:
- {kind: Group, name: system:authenticated}
- {kind: User, name: alice}
- {kind: Group, name: system:masters}`, []string{"SX-K8S-109 RoleBinding/ns/b", "SX-K8S-109 RoleBinding/ns/b"}},
		{"named group", CheckRBACAnonymous, `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: b}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: Group, name: sre}]`, nil},
		{"unbound SA", CheckRBACAutomountToken, `
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: ns}`, []string{"SX-K8S-110 ServiceAccount/ns/web"}},
		{"unbound SA automount true", CheckRBACAutomountToken, `
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: ns}
automountServiceAccountToken: true`, []string{"SX-K8S-110 ServiceAccount/ns/web"}},
		{"unbound SA automount off", CheckRBACAutomountToken, `
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: ns}
automountServiceAccountToken: false`, nil},
		{"bound SA", CheckRBACAutomountToken, `
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: ns}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: b}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: ServiceAccount, name: web, namespace: ns}]`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := sxtInventory(t, tt.yaml)
			c := sxtCheck(t, tt.check)
			got := sxtRun(inv, c)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Run(%s) = %v, want %v (-want +got):\n%s", tt.check, got, tt.want, diff)
			}
			sxtVerifyAll(t, inv, c)
		})
	}
}

// sxtVerifyAll verifies every fix the check proposes on the inventory, then
// applies them one after another until none is left (sxtFixAll), and
// checks that fix-less violations say why in their message.
func sxtVerifyAll(t *testing.T, inv *Inventory, c Check) {
	t.Helper()
	for _, o := range inv.Objects {
		if !checkApplies(c, o) {
			continue
		}
		sxtFixAll(t, inv, c, o)
		for _, v := range c.Run(o, inv) {
			if v.Message == "" || v.Evidence == "" {
				t.Errorf("%s on %s: violation without message or evidence: %+v", c.ID, o.Ref(), v)
			}
			if v.Fix == nil {
				if !strings.Contains(strings.ToLower(v.Message), "automatic fix") {
					t.Errorf("%s on %s: Fix = nil with Message %q, want it to say why there is no automatic fix", c.ID, o.Ref(), v.Message)
				}
				continue
			}
			if v.Fix.Breaks == "" && !strings.Contains(v.Evidence, "system:masters") {
				t.Errorf("%s on %s: fix %+v has no Breaks, want what the fix may break", c.ID, o.Ref(), v.Fix.Ops)
			}
			if err := verify(o, v.Fix, c, inv); err != nil {
				t.Errorf("verify(%s, %s) = %v, want nil", o.Ref(), c.ID, err)
			}
			if !CreatesObject(v.Fix) {
				if _, err := KubectlPatch(o, v.Fix); err != nil {
					t.Errorf("KubectlPatch(%s, %s) = %v, want nil", o.Ref(), c.ID, err)
				}
			}
		}
	}
}

// sxtFixAll applies the check's fixes to o one at a time, as a user fixing
// one violation after another would, verifying each; at the end only
// violations without a fix may remain.
func sxtFixAll(t *testing.T, inv *Inventory, c Check, o *Object) {
	t.Helper()
	cur := o
	for round := 0; ; round++ {
		var fix *Fix
		for _, v := range c.Run(cur, fixInventory(inv, o, cur)) {
			if v.Fix != nil && !CreatesObject(v.Fix) {
				fix = v.Fix
				break
			}
		}
		if fix == nil {
			return
		}
		if round > 20 {
			t.Fatalf("%s on %s: still fixable violations after %d fixes", c.ID, o.Ref(), round)
		}
		if err := verify(cur, fix, c, fixInventory(inv, o, cur)); err != nil {
			t.Fatalf("round %d: verify(%s, %s, %+v) = %v, want nil", round, o.Ref(), c.ID, fix.Ops, err)
		}
		out, err := ApplyFix(cur, fix)
		if err != nil {
			t.Fatalf("round %d: ApplyFix(%s, %+v) = %v", round, o.Ref(), fix.Ops, err)
		}
		next, err := fixObject(out)
		if err != nil {
			t.Fatalf("round %d: fixObject(%s) = %v", round, out, err)
		}
		next.Source = o.Source
		cur = next
	}
}

// TestRBACFixDetails pins the operations of the RBAC fixes: only the
// dangerous grant goes, everything else of the rule stays.
func TestRBACFixDetails(t *testing.T) {
	tests := []struct {
		name, check, yaml string
		want              [][]PatchOp // per violation, in order
	}{
		{"secrets among other resources", CheckRBACSecrets, sxtRoleYAML("ClusterRole", `- apiGroups: [""]
  resources: [secrets, configmaps]
  verbs: [get, list]`), [][]PatchOp{{{Op: "remove", Path: "/rules/0/resources/0"}}}},
		{"secrets alone", CheckRBACSecrets, sxtRoleYAML("ClusterRole", `- apiGroups: [""]
  resources: [secrets]
  verbs: [list, watch]
- apiGroups: [""]
  resources: [pods]
  verbs: [get]`), [][]PatchOp{{{Op: "remove", Path: "/rules/0"}}}},
		{"secrets keep their writes", CheckRBACSecrets, sxtRoleYAML("ClusterRole", `- apiGroups: [""]
  resources: [secrets]
  verbs: [get, create]`), [][]PatchOp{{{Op: "remove", Path: "/rules/0/verbs/0"}}}},
		{"secrets split from configmaps", CheckRBACSecrets, sxtRoleYAML("ClusterRole", `- apiGroups: [""]
  resources: [configmaps, secrets]
  resourceNames: [a]
  verbs: [get, create]`), [][]PatchOp{{
			{Op: "remove", Path: "/rules/0/resources/1"},
			{Op: "add", Path: "/rules/-", Value: rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"a"}, Verbs: []string{"create"}}},
		}}},
		{"secrets through a verb wildcard", CheckRBACSecrets, sxtRoleYAML("ClusterRole", `- apiGroups: [""]
  resources: [secrets, configmaps]
  verbs: ["*"]`), [][]PatchOp{{{Op: "remove", Path: "/rules/0/resources/0"}}}},
		{"exec verbs", CheckRBACPodExec, sxtRoleYAML("Role", `- apiGroups: [""]
  resources: [pods/exec, pods/attach]
  verbs: [get, create]`), [][]PatchOp{{{Op: "remove", Path: "/rules/0"}}}},
		{"create deployments keeps update", CheckRBACCreateWorkloads, sxtRoleYAML("Role", `- apiGroups: [apps]
  resources: [deployments]
  verbs: [create, update]`), [][]PatchOp{{{Op: "remove", Path: "/rules/0/verbs/0"}}}},
		{"escalate, bind and impersonate", CheckRBACEscalate, sxtRoleYAML("ClusterRole", `- apiGroups: ["", rbac.authorization.k8s.io]
  resources: [roles, users, configmaps]
  verbs: [get, escalate, impersonate, bind]
- apiGroups: [""]
  resources: [pods]
  verbs: [get]`), [][]PatchOp{{
			{Op: "remove", Path: "/rules/0/resources/1"},
			{Op: "remove", Path: "/rules/0/resources/0"},
			{Op: "add", Path: "/rules/1", Value: rbacv1.PolicyRule{APIGroups: []string{"", "rbac.authorization.k8s.io"}, Resources: []string{"roles", "users"}, Verbs: []string{"get"}}},
		}}},
		{"wildcard verbs", CheckRBACWildcard, sxtRoleYAML("Role", `- apiGroups: [""]
  resources: [pods]
  verbs: [create, "*"]`), [][]PatchOp{{{Op: "replace", Path: "/rules/0/verbs", Value: []string{"get", "list", "watch", "create"}}}}},
		{"wildcard resources", CheckRBACWildcard, sxtRoleYAML("Role", `- apiGroups: [""]
  resources: ["*"]
  verbs: ["*"]`), [][]PatchOp{nil}},
		{"anonymous subjects", CheckRBACAnonymous, `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: b}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
- {kind: User, name: alice}
- {kind: User, name: system:anonymous}`, [][]PatchOp{{{Op: "remove", Path: "/subjects/1"}}}},
		{"default ServiceAccount", CheckRBACDefaultSA, `
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: b, namespace: ns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}
subjects: [{kind: ServiceAccount, name: default}]`, [][]PatchOp{{{Op: "remove", Path: "/subjects/0"}}}},
		{"cluster-admin", CheckRBACClusterAdmin, `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: b}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: User, name: alice}]`, [][]PatchOp{nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := sxtInventory(t, tt.yaml)
			c := sxtCheck(t, tt.check)
			var got [][]PatchOp
			for _, v := range c.Run(inv.Objects[0], inv) {
				if v.Fix == nil {
					got = append(got, nil)
					continue
				}
				got = append(got, v.Fix.Ops)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s.Run(%s) fix ops (-want +got):\n%s", tt.check, tt.name, diff)
			}
			sxtVerifyAll(t, inv, c)
		})
	}
}

// TestRBACFixBreaks pins what the fixes say the subjects lose.
func TestRBACFixBreaks(t *testing.T) {
	inv := sxtInventory(t, sxtRoleYAML("ClusterRole", `- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, create]`))
	vs := sxtCheck(t, CheckRBACSecrets).Run(inv.Objects[0], inv)
	if len(vs) != 1 || vs[0].Fix == nil {
		t.Fatalf("Run = %+v, want one violation with a fix", vs)
	}
	want := "The subjects bound to ClusterRole r can no longer get, list secrets: an application that reads its own " +
		"Secrets through the API needs a namespaced Role with resourceNames for them."
	if vs[0].Fix.Breaks != want {
		t.Errorf("Breaks = %q, want %q", vs[0].Fix.Breaks, want)
	}
}

// TestRBACFixtures runs every check on the shared RBAC manifests.
func TestRBACFixtures(t *testing.T) {
	tests := []struct {
		file []string
		want []string
	}{
		{[]string{"k8s", "polaris", "clusterrolebinding-cluster-admin-failure.yaml"}, []string{"SX-K8S-107 ClusterRoleBinding/test"}},
		{[]string{"k8s", "polaris", "clusterrolebinding-wildcards-failure.yaml"}, []string{"SX-K8S-101 ClusterRole/test"}},
		{[]string{"k8s", "kubernetes-goat", "pwnchart-clusterrole.yaml"}, []string{"SX-K8S-101 ClusterRole/all-your-base"}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file[len(tt.file)-1]), func(t *testing.T) {
			inv := sxtInventory(t, sxtReadFixture(t, tt.file...))
			var got []string
			for _, c := range append(RBACChecks(), NetworkChecks()...) {
				got = append(got, sxtRun(inv, c)...)
				sxtVerifyAll(t, inv, c)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("checks(%s) = %v, want %v (-want +got):\n%s", tt.file, got, tt.want, diff)
			}
		})
	}
}

// TestPwnchartBinding: the chart's binding is a Helm template whose subject
// is "{{ .Values.name }}"; unrendered it is not valid YAML for a subject, so
// the wildcard ClusterRole is what sextant reports.
func TestPwnchartBinding(t *testing.T) {
	text := sxtReadFixture(t, "k8s", "kubernetes-goat", "pwnchart-clusterrolebinding.yaml")
	rendered := strings.NewReplacer("{{ .Values.namespace }}", "goat", "{{ .Values.name }}", "default").Replace(text)
	inv := sxtInventory(t, rendered)
	var got []string
	for _, c := range RBACChecks() {
		got = append(got, sxtRun(inv, c)...)
	}
	want := []string{"SX-K8S-108 ClusterRoleBinding/belong-to-us"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RBACChecks(rendered pwnchart binding) = %v, want %v", got, want)
	}
}
