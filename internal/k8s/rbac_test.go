package k8s

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/sextant-dev/sextant/internal/fixtures"
)

func TestClassify(t *testing.T) {
	rule := func(verbs, groups, resources []string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{Verbs: verbs, APIGroups: groups, Resources: resources}
	}
	s := func(v ...string) []string { return v }
	tests := []struct {
		name        string
		rule        rbacv1.PolicyRule
		clusterWide bool
		want        []Capability
	}{
		{"all, cluster-wide", rule(s("*"), s("*"), s("*")), true,
			[]Capability{CapClusterAdmin, CapWildcard, CapReadSecrets, CapExec, CapCreateWorkloads, CapEscalate, CapBind, CapImpersonate, CapNodesProxy, CapCreateTokens}},
		{"all, in a namespace", rule(s("*"), s("*"), s("*")), false,
			[]Capability{CapWildcard, CapReadSecrets, CapExec, CapCreateWorkloads, CapEscalate, CapBind, CapImpersonate, CapCreateTokens}},
		{"read secrets", rule(s("list"), s(""), s("secrets")), false, []Capability{CapReadSecrets}},
		{"secrets in another group", rule(s("get"), s("example.com"), s("secrets")), true, nil},
		{"create secrets only", rule(s("create"), s(""), s("secrets")), true, nil},
		{"exec", rule(s("create"), s(""), s("pods/exec")), false, []Capability{CapExec}},
		{"attach through pods/*", rule(s("create"), s(""), s("pods/*")), false, []Capability{CapExec}},
		{"get pods/exec only", rule(s("get"), s(""), s("pods/exec")), false, nil},
		{"pods only", rule(s("get", "list"), s(""), s("pods")), true, nil},
		{"create pods", rule(s("create"), s(""), s("pods")), false, []Capability{CapCreateWorkloads}},
		{"patch deployments", rule(s("patch"), s("apps"), s("deployments")), false, []Capability{CapCreateWorkloads}},
		{"create cronjobs", rule(s("create"), s("batch"), s("cronjobs")), false, []Capability{CapCreateWorkloads}},
		{"escalate", rule(s("escalate"), s("rbac.authorization.k8s.io"), s("clusterroles")), true, []Capability{CapEscalate}},
		{"bind", rule(s("bind"), s("rbac.authorization.k8s.io"), s("roles")), false, []Capability{CapBind}},
		{"impersonate users, cluster-wide", rule(s("impersonate"), s(""), s("users")), true, []Capability{CapImpersonate}},
		{"impersonate users, namespaced: no effect", rule(s("impersonate"), s(""), s("users")), false, nil},
		{"impersonate service accounts, namespaced", rule(s("impersonate"), s(""), s("serviceaccounts")), false, []Capability{CapImpersonate}},
		{"nodes/proxy", rule(s("get"), s(""), s("nodes/proxy")), true, []Capability{CapNodesProxy}},
		{"tokens", rule(s("create"), s(""), s("serviceaccounts/token")), false, []Capability{CapCreateTokens}},
		{"wildcard verb on configmaps", rule(s("*"), s(""), s("configmaps")), false, []Capability{CapWildcard}},
		{"core wildcard resource, read", rule(s("get", "list"), s(""), s("*")), false, []Capability{CapWildcard, CapReadSecrets}},
		{"non-resource", rbacv1.PolicyRule{Verbs: s("get"), NonResourceURLs: s("/healthz")}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rbClassify(tt.rule, tt.clusterWide); !cmp.Equal(got, tt.want) {
				t.Errorf("rbClassify(%+v, %v) = %v, want %v", tt.rule, tt.clusterWide, got, tt.want)
			}
		})
	}
}

func TestRuleAllows(t *testing.T) {
	tests := []struct {
		resources             []string
		verb, group, resource string
		want                  bool
	}{
		{[]string{"pods"}, "get", "", "pods", true},
		{[]string{"pods"}, "get", "", "pods/exec", false},
		{[]string{"pods/*"}, "get", "", "pods/log", true},
		{[]string{"*/scale"}, "get", "", "deployments/scale", true},
		{[]string{"*"}, "get", "", "pods/exec", true},
		{[]string{"pods"}, "delete", "", "pods", false},
		{[]string{"pods"}, "get", "apps", "pods", false},
	}
	for _, tt := range tests {
		r := rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: tt.resources}
		if got := rbRuleAllows(r, tt.verb, tt.group, tt.resource); got != tt.want {
			t.Errorf("rbRuleAllows(%v, %q, %q, %q) = %v, want %v", tt.resources, tt.verb, tt.group, tt.resource, got, tt.want)
		}
	}
}

func TestPermissions(t *testing.T) {
	inv, err := LoadFiles(filepath.Join("testdata", "context", "shop.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	r := inv.RBAC()
	summary := func(ps []Permission) []string {
		out := []string{}
		for _, p := range ps {
			out = append(out, p.Evidence)
		}
		return out
	}
	tests := []struct {
		ns, sa string
		want   []string
	}{
		{"kube-system", "agent", []string{
			"ClusterRoleBinding agent-monitoring grants ClusterRole monitoring (aggregated from secret-peek): get,list secrets cluster-wide",
			"ClusterRoleBinding agent-monitoring grants ClusterRole monitoring (aggregated from secret-peek): get nodes/proxy cluster-wide",
		}},
		{"shop", "", []string{ // "" is the default service account
			"RoleBinding shop/everyone-execs grants Role pod-exec via Group system:serviceaccounts:shop: create pods/exec in namespace shop",
		}},
		{"batch", "worker", []string{
			"ClusterRoleBinding worker-admin grants ClusterRole cluster-admin (built-in): * *.* cluster-wide",
			"ClusterRoleBinding worker-admin grants ClusterRole cluster-admin (built-in): * * cluster-wide",
		}},
		{"batch", "default", []string{}},
	}
	for _, tt := range tests {
		got := summary(r.Permissions(tt.ns, tt.sa))
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Permissions(%q, %q) (-want +got):\n%s", tt.ns, tt.sa, diff)
		}
		if got2 := summary(inv.Permissions(tt.ns, tt.sa)); !cmp.Equal(got, got2) {
			t.Errorf("Inventory.Permissions(%q, %q) = %q, want RBAC().Permissions's %q", tt.ns, tt.sa, got2, got)
		}
	}
	p := r.Permissions("shop", "web")[0]
	if p.Binding != (Ref{"RoleBinding", "shop", "everyone-execs"}) || p.Role != (Ref{"Role", "shop", "pod-exec"}) ||
		p.Via != "Group system:serviceaccounts:shop" || !p.Has(CapExec) || !p.Allows("create", "", "pods/exec", "shop") || p.Allows("create", "", "pods/exec", "other") {
		t.Errorf("Permissions(shop, web)[0] = %+v, want pod-exec through the namespace's group, in shop only", p)
	}
	subs := inv.Subjects()
	for _, want := range []Subject{{"Group", "", "system:serviceaccounts:shop"}, {"ServiceAccount", "batch", "worker"}, {"ServiceAccount", "shop", "api"}} {
		if !containsSubject(subs, want) {
			t.Errorf("Subjects() = %v, want it to hold %v", subs, want)
		}
	}
}

func containsSubject(ss []Subject, s Subject) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestPermissionsFixtures(t *testing.T) {
	load := func(t *testing.T, elem ...string) *Inventory {
		inv, err := LoadFiles(fixtures.Dir(t, elem...))
		if err != nil {
			t.Fatal(err)
		}
		return inv
	}
	caps := func(ps []Permission) []string {
		out := []string{}
		for _, g := range Grants(ps) {
			out = append(out, string(g.Capability)+"@"+g.Namespace)
		}
		return out
	}
	t.Run("polaris cluster-admin by name", func(t *testing.T) {
		// The file defines a harmless role named cluster-admin; the API
		// server reconciles it, so the binding is cluster-admin.
		r := load(t, "k8s", "polaris", "clusterrolebinding-cluster-admin-failure.yaml").RBAC()
		got := caps(r.For(Subject{Kind: "User", Name: "testuser"}))
		if len(got) == 0 || got[0] != "cluster-admin@" {
			t.Errorf("For(User testuser) = %v, want cluster-admin first", got)
		}
	})
	t.Run("polaris wildcards", func(t *testing.T) {
		r := load(t, "k8s", "polaris", "clusterrolebinding-wildcards-failure.yaml").RBAC()
		ps := r.For(Subject{Kind: "User", Name: "testuser"})
		if len(ps) != 1 || !ps[0].Has(CapWildcard) || !ps[0].Has(CapClusterAdmin) || ps[0].Role != (Ref{Kind: "ClusterRole", Name: "test"}) {
			t.Errorf("For(User testuser) = %+v, want the wildcard ClusterRole test", ps)
		}
	})
	t.Run("kubernetes-goat secret reader", func(t *testing.T) {
		// The RoleBinding's subject has no namespace: the binding's.
		inv := load(t, "k8s", "kubernetes-goat", "hunger-check-deployment.yaml")
		got := caps(inv.Permissions("big-monolith", "big-monolith-sa"))
		if diff := cmp.Diff([]string{"read-secrets@big-monolith", "wildcard@big-monolith"}, got); diff != "" {
			t.Errorf("Permissions(big-monolith, big-monolith-sa) grants (-want +got):\n%s", diff)
		}
	})
	t.Run("ingress-nginx", func(t *testing.T) {
		inv := load(t, "k8s", "real-world", "ingress-nginx-cloud-deploy.yaml")
		ps := inv.Permissions("ingress-nginx", "ingress-nginx")
		got := caps(ps)
		if diff := cmp.Diff([]string{"read-secrets@", "read-secrets@ingress-nginx"}, got); diff != "" {
			t.Errorf("Permissions(ingress-nginx, ingress-nginx) grants (-want +got):\n%s", diff)
		}
		if len(ps) == 0 || !strings.HasPrefix(ps[0].Evidence, "RoleBinding ingress-nginx/ingress-nginx grants Role ingress-nginx") {
			t.Errorf("Permissions(ingress-nginx, ingress-nginx)[0].Evidence = %q, want the RoleBinding first (inventory order)", ps[0].Evidence)
		}
	})
}
