package k8s

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Subject is who a RoleBinding or ClusterRoleBinding grants a role to.
type Subject struct {
	// Kind is "ServiceAccount", "User" or "Group".
	Kind string `json:"kind"`
	// Namespace is set for ServiceAccounts only.
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// String returns "ServiceAccount ns/name", "User name" or "Group name".
func (s Subject) String() string {
	if s.Namespace != "" {
		return s.Kind + " " + s.Namespace + "/" + s.Name
	}
	return s.Kind + " " + s.Name
}

// Capability is a class of dangerous permission an attacker holding a
// subject's credentials gains.
type Capability string

// Capabilities that Permission classification reports.
const (
	// CapClusterAdmin: every verb on every resource, cluster-wide.
	CapClusterAdmin Capability = "cluster-admin"
	// CapWildcard: a "*" verb or resource.
	CapWildcard Capability = "wildcard"
	// CapReadSecrets: get, list or watch on secrets.
	CapReadSecrets Capability = "read-secrets"
	// CapExec: create on pods/exec or pods/attach (a shell in other
	// pods, with their identities).
	CapExec Capability = "pods-exec"
	// CapCreateWorkloads: create pods or pod controllers, or update/patch
	// controllers (run any image with any service account of the
	// namespace).
	CapCreateWorkloads Capability = "create-workloads"
	// CapEscalate: the escalate verb on roles (grant oneself more).
	CapEscalate Capability = "escalate"
	// CapBind: the bind verb on roles (bind any role).
	CapBind Capability = "bind"
	// CapImpersonate: impersonate users, groups or service accounts.
	CapImpersonate Capability = "impersonate"
	// CapNodesProxy: nodes/proxy (the kubelet API: exec in any pod on
	// the node, bypassing audit).
	CapNodesProxy Capability = "nodes-proxy"
	// CapCreateTokens: create serviceaccounts/token (mint tokens for
	// other service accounts).
	CapCreateTokens Capability = "create-tokens"
)

// Permission is one rule a subject holds, with where it comes from.
type Permission struct {
	// Namespace is where the rule applies; "" means cluster-wide (granted
	// by a ClusterRoleBinding).
	Namespace string `json:"namespace,omitempty"`
	// Rule is the RBAC rule.
	Rule rbacv1.PolicyRule `json:"rule"`
	// Binding is the RoleBinding or ClusterRoleBinding that grants it.
	Binding Ref `json:"binding"`
	// Role is the Role or ClusterRole the binding refers to.
	Role Ref `json:"role"`
	// AggregatedFrom names the ClusterRole the rule comes from when Role
	// aggregates it (aggregationRule), "" otherwise.
	AggregatedFrom string `json:"aggregated_from,omitempty"`
	// BuiltIn is set when Role is not in the inventory and the rule is
	// Kubernetes' default for that built-in ClusterRole (cluster-admin,
	// admin, edit, view).
	BuiltIn bool `json:"built_in,omitempty"`
	// Via is the subject the binding names when it is not the subject
	// asked about: a group ("Group system:serviceaccounts:shop") or the
	// service account's user name.
	Via string `json:"via,omitempty"`
	// Capabilities classify the rule; empty for harmless rules.
	Capabilities []Capability `json:"capabilities,omitempty"`
	// Evidence says in words which binding grants which rule of which role.
	Evidence string `json:"evidence"`
}

// Has reports whether the permission carries capability c.
func (p Permission) Has(c Capability) bool { return slices.Contains(p.Capabilities, c) }

// Allows reports whether the rule allows verb on resource (with an
// optional "/subresource") in API group group, in namespace ns ("" asks
// about every namespace, which only a cluster-wide permission allows).
// Rules restricted by resourceNames count as allowing.
func (p Permission) Allows(verb, group, resource, ns string) bool {
	if p.Namespace != "" && p.Namespace != ns {
		return false
	}
	return rbRuleAllows(p.Rule, verb, group, resource)
}

// Grant is one capability a subject holds in one scope, with the first
// permission that grants it as evidence.
type Grant struct {
	Capability Capability `json:"capability"`
	// Namespace is where it applies; "" means cluster-wide.
	Namespace string `json:"namespace,omitempty"`
	Evidence  string `json:"evidence"`
}

// Grants summarizes permissions into capabilities, one per capability and
// scope, most dangerous first (cluster-wide before namespaced).
func Grants(perms []Permission) []Grant {
	seen := map[Grant]bool{}
	var out []Grant
	for _, p := range perms {
		for _, c := range p.Capabilities {
			k := Grant{Capability: c, Namespace: p.Namespace}
			if seen[k] {
				continue
			}
			seen[k] = true
			k.Evidence = p.Evidence
			out = append(out, k)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		ri, rj := rbCapRank(out[i].Capability), rbCapRank(out[j].Capability)
		if ri != rj {
			return ri < rj
		}
		return out[i].Namespace == "" && out[j].Namespace != ""
	})
	return out
}

func rbCapRank(c Capability) int {
	for i, x := range []Capability{CapClusterAdmin, CapEscalate, CapBind, CapImpersonate, CapNodesProxy,
		CapCreateTokens, CapReadSecrets, CapExec, CapCreateWorkloads, CapWildcard} {
		if c == x {
			return i
		}
	}
	return 99
}

// RBAC is an index of the roles and bindings of an inventory, for
// resolving many subjects' permissions. Build it once with Inventory.RBAC.
type RBAC struct {
	roles    map[Ref]*rbRole // Role (namespaced) and ClusterRole (no namespace)
	bindings []rbBinding
	// bySubject lists, per subject, the indexes of the bindings naming it.
	bySubject map[Subject][]int
}

type rbRole struct {
	ref   Ref
	rules []rbacv1.PolicyRule
	// from is parallel to rules: the aggregated ClusterRole a rule comes
	// from, "" for the role's own rules.
	from    []string
	builtIn bool
}

type rbBinding struct {
	ref     Ref
	ns      string // "" for a ClusterRoleBinding
	roleRef rbacv1.RoleRef
}

// RBAC indexes the inventory's Roles, ClusterRoles and bindings. Aggregated
// ClusterRoles (aggregationRule) get the rules of the ClusterRoles of the
// inventory that their selectors match, as the controller would.
func (inv *Inventory) RBAC() *RBAC {
	r := &RBAC{roles: map[Ref]*rbRole{}, bySubject: map[Subject][]int{}}
	if inv == nil {
		return r
	}
	type aggregating struct {
		role *rbRole
		sels []labels.Selector
	}
	var aggs []aggregating
	var clusterRoles []*Object
	for _, o := range inv.Objects {
		switch t := o.Typed.(type) {
		case *rbacv1.Role:
			ref := Ref{Kind: "Role", Namespace: o.Namespace, Name: o.Name}
			r.roles[ref] = &rbRole{ref: ref, rules: t.Rules, from: make([]string, len(t.Rules))}
		case *rbacv1.ClusterRole:
			ref := Ref{Kind: "ClusterRole", Name: o.Name}
			role := &rbRole{ref: ref, rules: t.Rules, from: make([]string, len(t.Rules))}
			r.roles[ref] = role
			clusterRoles = append(clusterRoles, o)
			if t.AggregationRule != nil {
				role.rules = slices.Clone(t.Rules) // appended to below
				var sels []labels.Selector
				for _, ls := range t.AggregationRule.ClusterRoleSelectors {
					if s, err := metav1.LabelSelectorAsSelector(&ls); err == nil && !s.Empty() {
						sels = append(sels, s)
					}
				}
				aggs = append(aggs, aggregating{role, sels})
			}
		case *rbacv1.RoleBinding:
			r.addBinding(Ref{Kind: "RoleBinding", Namespace: o.Namespace, Name: o.Name}, o.Namespace, t.RoleRef, t.Subjects)
		case *rbacv1.ClusterRoleBinding:
			r.addBinding(Ref{Kind: "ClusterRoleBinding", Name: o.Name}, "", t.RoleRef, t.Subjects)
		}
	}
	// Aggregate the own rules of the matched roles (a role aggregating
	// an aggregating role gets the latter's own rules; the controller
	// reaches the same fixed point over time).
	for _, a := range aggs {
		for _, o := range clusterRoles {
			if o.Name == a.role.ref.Name {
				continue
			}
			set := labels.Set(o.Labels)
			if !slices.ContainsFunc(a.sels, func(s labels.Selector) bool { return s.Matches(set) }) {
				continue
			}
			src := r.roles[Ref{Kind: "ClusterRole", Name: o.Name}]
			for i, rule := range src.rules {
				if src.from[i] != "" {
					continue
				}
				a.role.rules = append(a.role.rules, rule)
				a.role.from = append(a.role.from, o.Name)
			}
		}
	}
	return r
}

func (r *RBAC) addBinding(ref Ref, ns string, roleRef rbacv1.RoleRef, subjects []rbacv1.Subject) {
	i := len(r.bindings)
	r.bindings = append(r.bindings, rbBinding{ref: ref, ns: ns, roleRef: roleRef})
	seen := map[Subject]bool{}
	for _, s := range subjects {
		sub := Subject{Kind: s.Kind, Name: s.Name}
		if s.Kind == "ServiceAccount" {
			sub.Namespace = s.Namespace
			if sub.Namespace == "" {
				sub.Namespace = ns
			}
		}
		if !seen[sub] {
			seen[sub] = true
			r.bySubject[sub] = append(r.bySubject[sub], i)
		}
	}
}

// Subjects returns every subject named by a binding, sorted.
func (r *RBAC) Subjects() []Subject {
	out := make([]Subject, 0, len(r.bySubject))
	for s := range r.bySubject {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return out
}

// Subjects returns every subject the inventory's bindings name and every
// ServiceAccount it holds, sorted by kind, namespace and name.
func (inv *Inventory) Subjects() []Subject {
	r := inv.RBAC()
	if inv != nil {
		for _, o := range inv.Objects {
			if o.Kind == "ServiceAccount" && o.APIVersion == "v1" {
				s := Subject{Kind: "ServiceAccount", Namespace: o.Namespace, Name: o.Name}
				if _, ok := r.bySubject[s]; !ok {
					r.bySubject[s] = nil
				}
			}
		}
	}
	return r.Subjects()
}

// Permissions returns the effective permissions of a service account
// ("" means "default"): the rules of every role bound to it directly, to
// its user name (system:serviceaccount:ns:name) or to its groups
// (system:serviceaccounts, system:serviceaccounts:ns, system:authenticated),
// in binding order.
func (r *RBAC) Permissions(namespace, serviceAccount string) []Permission {
	if serviceAccount == "" {
		serviceAccount = "default"
	}
	sa := Subject{Kind: "ServiceAccount", Namespace: namespace, Name: serviceAccount}
	return r.For(sa)
}

// For returns the effective permissions of any subject. A service account
// also gets what its user name and groups are bound to; a user gets what
// system:authenticated is bound to.
func (r *RBAC) For(s Subject) []Permission {
	type via struct {
		sub Subject
		via string
	}
	names := []via{{s, ""}}
	switch s.Kind {
	case "ServiceAccount":
		user := "system:serviceaccount:" + s.Namespace + ":" + s.Name
		names = append(names,
			via{Subject{Kind: "User", Name: user}, "User " + user},
			via{Subject{Kind: "Group", Name: "system:serviceaccounts"}, "Group system:serviceaccounts"},
			via{Subject{Kind: "Group", Name: "system:serviceaccounts:" + s.Namespace}, "Group system:serviceaccounts:" + s.Namespace},
			via{Subject{Kind: "Group", Name: "system:authenticated"}, "Group system:authenticated"})
	case "User":
		names = append(names, via{Subject{Kind: "Group", Name: "system:authenticated"}, "Group system:authenticated"})
	}
	type hit struct {
		binding int
		via     string
	}
	var hits []hit
	for _, n := range names {
		for _, b := range r.bySubject[n.sub] {
			hits = append(hits, hit{b, n.via})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].binding < hits[j].binding })
	var out []Permission
	for i, h := range hits {
		if i > 0 && hits[i-1].binding == h.binding {
			continue // bound twice (directly and through a group)
		}
		out = append(out, r.bindingPermissions(r.bindings[h.binding], h.via)...)
	}
	return out
}

func (r *RBAC) bindingPermissions(b rbBinding, via string) []Permission {
	ref := Ref{Kind: b.roleRef.Kind, Name: b.roleRef.Name}
	if ref.Kind == "Role" {
		ref.Namespace = b.ns
		if b.ns == "" {
			return nil // a ClusterRoleBinding cannot refer to a Role
		}
	}
	role := r.roles[ref]
	// The API server reconciles cluster-admin to all verbs on everything
	// at start-up, whatever a manifest of the same name says.
	if ref.Kind == "ClusterRole" && (role == nil || ref.Name == "cluster-admin") {
		if bi := rbBuiltIn(ref.Name); bi != nil {
			role = bi
		}
	}
	if role == nil {
		return nil
	}
	scope := "in namespace " + b.ns
	if b.ns == "" {
		scope = "cluster-wide"
	}
	out := make([]Permission, 0, len(role.rules))
	for i, rule := range role.rules {
		p := Permission{
			Namespace: b.ns, Rule: rule, Binding: b.ref, Role: role.ref,
			AggregatedFrom: role.from[i], BuiltIn: role.builtIn, Via: via,
		}
		p.Capabilities = rbClassify(rule, b.ns == "")
		var sb strings.Builder
		fmt.Fprintf(&sb, "%s %s grants %s %s", b.ref.Kind, rbName(b.ref), ref.Kind, ref.Name)
		if role.builtIn {
			sb.WriteString(" (built-in)")
		}
		if p.AggregatedFrom != "" {
			fmt.Fprintf(&sb, " (aggregated from %s)", p.AggregatedFrom)
		}
		if via != "" {
			fmt.Fprintf(&sb, " via %s", via)
		}
		fmt.Fprintf(&sb, ": %s %s", rbRuleText(rule), scope)
		p.Evidence = sb.String()
		out = append(out, p)
	}
	return out
}

func rbName(r Ref) string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}

// rbRuleText renders a rule compactly: "get,list secrets" or
// "* *.*" (verbs, then resources qualified by group when not core).
func rbRuleText(rule rbacv1.PolicyRule) string {
	verbs := strings.Join(rule.Verbs, ",")
	var res []string
	for _, g := range rule.APIGroups {
		for _, r := range rule.Resources {
			if g == "" {
				res = append(res, r)
			} else {
				res = append(res, r+"."+g)
			}
		}
	}
	res = append(res, rule.NonResourceURLs...)
	s := verbs + " " + strings.Join(res, ",")
	if len(rule.ResourceNames) > 0 {
		s += " (names " + strings.Join(rule.ResourceNames, ",") + ")"
	}
	return s
}

// rbRuleAllows reports whether a rule allows verb on resource in group.
// resource may carry a subresource ("pods/exec").
func rbRuleAllows(rule rbacv1.PolicyRule, verb, group, resource string) bool {
	if !slices.Contains(rule.Verbs, verb) && !slices.Contains(rule.Verbs, rbacv1.VerbAll) {
		return false
	}
	if !slices.Contains(rule.APIGroups, group) && !slices.Contains(rule.APIGroups, rbacv1.APIGroupAll) {
		return false
	}
	base, sub, hasSub := strings.Cut(resource, "/")
	for _, r := range rule.Resources {
		switch {
		case r == rbacv1.ResourceAll || r == resource:
			return true
		case hasSub && r == base+"/*":
			return true
		case hasSub && r == "*/"+sub:
			return true
		}
	}
	return false
}

// rbClassify returns the capabilities a rule carries.
func rbClassify(rule rbacv1.PolicyRule, clusterWide bool) []Capability {
	var out []Capability
	grants := func(verbs []string, groups []string, resources ...string) bool {
		for _, v := range verbs {
			for _, g := range groups {
				for _, r := range resources {
					if rbRuleAllows(rule, v, g, r) {
						return true
					}
				}
			}
		}
		return false
	}
	all := slices.Contains(rule.Verbs, "*") && slices.Contains(rule.APIGroups, "*") && slices.Contains(rule.Resources, "*")
	if all && clusterWide && len(rule.ResourceNames) == 0 {
		out = append(out, CapClusterAdmin)
	}
	if slices.Contains(rule.Verbs, "*") || slices.Contains(rule.Resources, "*") {
		out = append(out, CapWildcard)
	}
	core := []string{""}
	if grants([]string{"get", "list", "watch"}, core, "secrets") {
		out = append(out, CapReadSecrets)
	}
	// get alone let websocket clients exec before Kubernetes 1.30; the
	// API server now also asks for create.
	if grants([]string{"create"}, core, "pods/exec", "pods/attach") {
		out = append(out, CapExec)
	}
	if grants([]string{"create"}, core, "pods", "replicationcontrollers") ||
		grants([]string{"create", "update", "patch"}, []string{"apps", "extensions"}, "deployments", "daemonsets", "statefulsets", "replicasets") ||
		grants([]string{"create", "update", "patch"}, []string{"batch"}, "jobs", "cronjobs") {
		out = append(out, CapCreateWorkloads)
	}
	rbacGroup := []string{"rbac.authorization.k8s.io"}
	if grants([]string{"escalate"}, rbacGroup, "roles", "clusterroles") {
		out = append(out, CapEscalate)
	}
	if grants([]string{"bind"}, rbacGroup, "roles", "clusterroles") {
		out = append(out, CapBind)
	}
	// Users, groups and nodes are cluster-scoped: a RoleBinding cannot
	// grant them, whatever its role says.
	if grants([]string{"impersonate"}, core, "serviceaccounts") ||
		clusterWide && grants([]string{"impersonate"}, []string{"", "authentication.k8s.io"}, "users", "groups", "uids", "userextras/scopes") {
		out = append(out, CapImpersonate)
	}
	if clusterWide && grants([]string{"get", "create"}, core, "nodes/proxy") {
		out = append(out, CapNodesProxy)
	}
	if grants([]string{"create"}, core, "serviceaccounts/token") {
		out = append(out, CapCreateTokens)
	}
	return out
}

// rbBuiltIn returns the default rules of the built-in ClusterRoles that
// bindings commonly name without the role being in the manifests. admin,
// edit and view are summarized to the rules that matter for capabilities.
func rbBuiltIn(name string) *rbRole {
	rw := []string{"create", "delete", "deletecollection", "patch", "update"}
	ro := []string{"get", "list", "watch"}
	var rules []rbacv1.PolicyRule
	switch name {
	case "cluster-admin":
		rules = []rbacv1.PolicyRule{
			{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}},
			{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}},
		}
	case "admin", "edit":
		rules = []rbacv1.PolicyRule{
			{Verbs: append(slices.Clone(rw), ro...), APIGroups: []string{""}, Resources: []string{"pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "configmaps", "services", "serviceaccounts", "persistentvolumeclaims", "replicationcontrollers"}},
			{Verbs: []string{"impersonate"}, APIGroups: []string{""}, Resources: []string{"serviceaccounts"}},
			{Verbs: []string{"create"}, APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}},
			{Verbs: append(slices.Clone(rw), ro...), APIGroups: []string{"apps"}, Resources: []string{"deployments", "daemonsets", "statefulsets", "replicasets"}},
			{Verbs: append(slices.Clone(rw), ro...), APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}},
		}
		if name == "admin" {
			rules = append(rules, rbacv1.PolicyRule{Verbs: append(slices.Clone(rw), ro...), APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"roles", "rolebindings"}})
		}
	case "view":
		rules = []rbacv1.PolicyRule{
			{Verbs: ro, APIGroups: []string{""}, Resources: []string{"pods", "configmaps", "services", "serviceaccounts", "persistentvolumeclaims", "replicationcontrollers", "endpoints"}},
			{Verbs: ro, APIGroups: []string{"apps"}, Resources: []string{"deployments", "daemonsets", "statefulsets", "replicasets"}},
			{Verbs: ro, APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}},
		}
	default:
		return nil
	}
	return &rbRole{ref: Ref{Kind: "ClusterRole", Name: name}, rules: rules, from: make([]string, len(rules)), builtIn: true}
}

// Permissions returns the effective permissions of a service account
// ("" means "default") in namespace. It indexes the inventory on each
// call; callers resolving many subjects use RBAC once instead.
func (inv *Inventory) Permissions(namespace, serviceAccount string) []Permission {
	return inv.RBAC().Permissions(namespace, serviceAccount)
}
