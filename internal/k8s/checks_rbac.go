package k8s

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/sextant-dev/sextant"
)

// RBAC check IDs. Pod checks use SX-K8S-0xx, RBAC 1xx, network 2xx.
const (
	CheckRBACWildcard        = "SX-K8S-101"
	CheckRBACSecrets         = "SX-K8S-102"
	CheckRBACPodExec         = "SX-K8S-103"
	CheckRBACCreateWorkloads = "SX-K8S-104"
	CheckRBACEscalate        = "SX-K8S-105"
	CheckRBACNodeProxy       = "SX-K8S-106"
	CheckRBACClusterAdmin    = "SX-K8S-107"
	CheckRBACDefaultSA       = "SX-K8S-108"
	CheckRBACAnonymous       = "SX-K8S-109"
	CheckRBACAutomountToken  = "SX-K8S-110"
)

// RBACChecks returns the checks on Roles, ClusterRoles, their bindings and
// ServiceAccounts. The permission checks (secrets, exec, create workloads,
// escalate, nodes/proxy) look at rules that name the resource and verb
// explicitly; a rule that grants them only through "*" is reported once, by
// the wildcard check, whose message lists what the wildcard implies.
func RBACChecks() []Check {
	return []Check{
		{
			ID:       CheckRBACWildcard,
			Title:    "Role grants wildcard permissions",
			Severity: sextant.SeverityHigh,
			Rationale: "A \"*\" in verbs, resources or API groups grants every present and future permission of that kind, " +
				"including reading secrets, exec into pods and escalating privileges. Name the verbs and resources needed.",
			Mappings: []string{"CIS 5.1.3", "NSA/CISA: Least privilege (RBAC)"},
			Kinds:    []string{"Role", "ClusterRole"},
			Run:      runRBACWildcard,
		},
		chkRuleCheck(CheckRBACSecrets, "ClusterRole can read secrets cluster-wide", sextant.SeverityHigh,
			"get, list or watch on secrets in a ClusterRole lets its subjects read every secret, including ServiceAccount "+
				"tokens and credentials, in every namespace it is bound in; list and watch return the values too.",
			[]string{"CIS 5.1.2", "NSA/CISA: Least privilege (RBAC)"},
			[]string{"ClusterRole"},
			func(r rbacv1.PolicyRule) []string {
				return chkGrants(r, "", []string{"secrets"}, []string{"get", "list", "watch"})
			},
			"grant secrets access in a namespaced Role, limited with resourceNames to the secrets the subject needs"),
		chkRuleCheck(CheckRBACPodExec, "Role allows exec or attach into pods", sextant.SeverityHigh,
			"pods/exec and pods/attach run commands in any container the role reaches, with that container's "+
				"identity, mounted secrets and network position.",
			[]string{"CIS 5.1.4", "NSA/CISA: Least privilege (RBAC)"},
			[]string{"Role", "ClusterRole"},
			func(r rbacv1.PolicyRule) []string {
				return chkGrants(r, "", []string{"pods/exec", "pods/attach"}, []string{"create", "get"})
			},
			"remove pods/exec and pods/attach; keep them for break-glass accounts only"),
		chkRuleCheck(CheckRBACCreateWorkloads, "Role can create pods or workloads", sextant.SeverityMedium,
			"Whoever can create pods (directly or through a controller) can run any image with any ServiceAccount of "+
				"the namespace, mount its secrets and, without admission control, escape to the node.",
			[]string{"CIS 5.1.4", "NSA/CISA: Least privilege (RBAC)"},
			[]string{"Role", "ClusterRole"},
			func(r rbacv1.PolicyRule) []string {
				var out []string
				out = append(out, chkGrants(r, "", []string{"pods", "replicationcontrollers"}, []string{"create"})...)
				out = append(out, chkGrants(r, "apps", []string{"deployments", "daemonsets", "statefulsets", "replicasets"}, []string{"create"})...)
				out = append(out, chkGrants(r, "batch", []string{"jobs", "cronjobs"}, []string{"create"})...)
				return out
			},
			"limit create on pods and workloads to deployment pipelines, and enforce Pod Security admission in the namespace"),
		chkRuleCheck(CheckRBACEscalate, "Role allows escalate, bind or impersonate", sextant.SeverityCritical,
			"escalate and bind let a subject grant itself permissions it does not hold; impersonate lets it act as any "+
				"user, group or ServiceAccount. Each is a direct path to cluster-admin.",
			[]string{"CIS 5.1.8", "NSA/CISA: Least privilege (RBAC)"},
			[]string{"Role", "ClusterRole"},
			func(r rbacv1.PolicyRule) []string {
				var out []string
				out = append(out, chkGrants(r, "rbac.authorization.k8s.io", []string{"roles", "clusterroles"}, []string{"escalate", "bind"})...)
				out = append(out, chkGrants(r, "", []string{"users", "groups", "serviceaccounts"}, []string{"impersonate"})...)
				out = append(out, chkGrants(r, "authentication.k8s.io", []string{"userextras", "uids"}, []string{"impersonate"})...)
				return out
			},
			"remove escalate, bind and impersonate; RBAC administration belongs to cluster administrators"),
		chkRuleCheck(CheckRBACNodeProxy, "Role grants nodes/proxy", sextant.SeverityHigh,
			"nodes/proxy reaches the kubelet API of every node, which runs commands in any pod on it and bypasses "+
				"audit logging and admission control.",
			[]string{"CIS 5.1.10", "NSA/CISA: Least privilege (RBAC)"},
			[]string{"ClusterRole", "Role"},
			func(r rbacv1.PolicyRule) []string {
				return chkGrants(r, "", []string{"nodes/proxy"}, []string{"get", "create", "update", "patch", "delete"})
			},
			"remove nodes/proxy; monitoring agents need nodes/metrics or nodes/stats instead"),
		{
			ID:       CheckRBACClusterAdmin,
			Title:    "Binding grants cluster-admin",
			Severity: sextant.SeverityCritical,
			Rationale: "cluster-admin is superuser access to every resource in every namespace. It should be held by " +
				"a few break-glass identities, not by applications or everyday users.",
			Mappings: []string{"CIS 5.1.1", "NSA/CISA: Least privilege (RBAC)"},
			Kinds:    []string{"ClusterRoleBinding", "RoleBinding"},
			Run:      runRBACClusterAdmin,
		},
		{
			ID:       CheckRBACDefaultSA,
			Title:    "Default ServiceAccount is granted permissions",
			Severity: sextant.SeverityMedium,
			Rationale: "Every pod that names no ServiceAccount runs as \"default\"; a binding to it hands its " +
				"permissions to all of them. Create a dedicated ServiceAccount per application.",
			Mappings: []string{"CIS 5.1.5", "NSA/CISA: Least privilege (RBAC)"},
			Kinds:    []string{"ClusterRoleBinding", "RoleBinding"},
			Run:      runRBACDefaultSA,
		},
		{
			ID:       CheckRBACAnonymous,
			Title:    "Binding grants permissions to anonymous, all authenticated users or system:masters",
			Severity: sextant.SeverityCritical,
			Rationale: "system:anonymous and system:unauthenticated are anyone who can reach the API server; " +
				"system:authenticated is every identity, including every ServiceAccount; system:masters bypasses " +
				"RBAC entirely and cannot be revoked.",
			Mappings: []string{"CIS 5.1.7", "NSA/CISA: Least privilege (RBAC)"},
			Kinds:    []string{"ClusterRoleBinding", "RoleBinding"},
			Run:      runRBACAnonymous,
		},
		{
			ID:       CheckRBACAutomountToken,
			Title:    "ServiceAccount without permissions automounts its token",
			Severity: sextant.SeverityLow,
			Rationale: "A ServiceAccount that no binding names needs no API token in its pods; a mounted token is " +
				"still a credential an attacker can use against the API server (discovery, self-review) and reuse " +
				"once someone binds a role to it.",
			Mappings: []string{"CIS 5.1.6", "NSA/CISA: Service account tokens"},
			Kinds:    []string{"ServiceAccount"},
			Run:      runRBACAutomountToken,
		},
	}
}

// chkRules returns the rules of a Role or ClusterRole.
func chkRules(o *Object) []rbacv1.PolicyRule {
	switch o.Kind {
	case "Role":
		if r := checkTyped[rbacv1.Role](o); r != nil {
			return r.Rules
		}
	case "ClusterRole":
		if r := checkTyped[rbacv1.ClusterRole](o); r != nil {
			return r.Rules
		}
	}
	return nil
}

// chkRuleCheck builds a check that reports every rule for which match names
// explicit grants, without a fix: removing permissions is never safe
// automatically; todo says what to do instead.
func chkRuleCheck(id, title string, sev sextant.Severity, rationale string, mappings, kinds []string,
	match func(rbacv1.PolicyRule) []string, todo string) Check {
	return Check{
		ID: id, Title: title, Severity: sev, Rationale: rationale, Mappings: mappings, Kinds: kinds,
		Run: func(o *Object, _ *Inventory) []Violation {
			if !slices.Contains(kinds, o.Kind) {
				return nil
			}
			var out []Violation
			for i, r := range chkRules(o) {
				grants := match(r)
				if len(grants) == 0 {
					continue
				}
				out = append(out, Violation{
					CheckID:  id,
					Object:   o.Ref(),
					Message:  fmt.Sprintf("%s %s grants %s; %s", o.Kind, o.Name, strings.Join(grants, ", "), todo),
					Evidence: fmt.Sprintf("%s at /rules/%d", chkRule(r), i),
				})
			}
			return out
		},
	}
}

// chkGrants returns "verb resource" for each of verbs on each of
// resources (in API group group) that the rule names explicitly, or "*"
// when the verb is granted through a wildcard verb but the resource is named.
// Grants that need a wildcard resource or group are left to the wildcard
// check.
func chkGrants(r rbacv1.PolicyRule, group string, resources, verbs []string) []string {
	if len(r.NonResourceURLs) > 0 && len(r.Resources) == 0 {
		return nil
	}
	if !slices.Contains(r.APIGroups, group) && !slices.Contains(r.APIGroups, "*") {
		return nil
	}
	var out []string
	for _, res := range resources {
		if !slices.Contains(r.Resources, res) {
			continue
		}
		for _, v := range verbs {
			if slices.Contains(r.Verbs, v) || slices.Contains(r.Verbs, "*") {
				g := v + " " + res
				if len(r.ResourceNames) > 0 {
					g += " (named: " + strings.Join(r.ResourceNames, ", ") + ")"
				}
				out = append(out, g)
			}
		}
	}
	return out
}

// chkRule renders a rule compactly for evidence.
func chkRule(r rbacv1.PolicyRule) string {
	groups := make([]string, len(r.APIGroups))
	for i, g := range r.APIGroups {
		if g == "" {
			g = `""`
		}
		groups[i] = g
	}
	s := fmt.Sprintf("apiGroups [%s] resources [%s] verbs [%s]",
		strings.Join(groups, ","), strings.Join(r.Resources, ","), strings.Join(r.Verbs, ","))
	if len(r.NonResourceURLs) > 0 {
		s += " nonResourceURLs [" + strings.Join(r.NonResourceURLs, ",") + "]"
	}
	return s
}

func runRBACWildcard(o *Object, _ *Inventory) []Violation {
	var out []Violation
	for i, r := range chkRules(o) {
		var wild, replace []string
		if slices.Contains(r.APIGroups, "*") {
			wild = append(wild, "apiGroups")
			replace = append(replace, `apiGroups: the groups needed ("" for core, "apps", "batch"…)`)
		}
		if slices.Contains(r.Resources, "*") {
			wild = append(wild, "resources")
			replace = append(replace, "resources: the resource types needed (pods, configmaps…; never secrets unless required)")
		}
		if slices.Contains(r.Verbs, "*") {
			wild = append(wild, "verbs")
			replace = append(replace, "verbs: get, list, watch for read access; add create, update, patch, delete only where needed")
		}
		if slices.Contains(r.NonResourceURLs, "*") {
			wild = append(wild, "nonResourceURLs")
			replace = append(replace, "nonResourceURLs: the paths needed (/healthz, /metrics…)")
		}
		if len(wild) == 0 {
			continue
		}
		implied := ""
		if slices.Contains(r.Resources, "*") && slices.Contains(r.Verbs, "*") {
			implied = " It implies reading secrets, exec into pods, creating workloads, escalate, bind and impersonate."
		}
		out = append(out, Violation{
			CheckID: CheckRBACWildcard,
			Object:  o.Ref(),
			Message: fmt.Sprintf("%s %s uses \"*\" in %s.%s Replace it with explicit values — %s. There is no safe automatic fix: only the application's owner knows what it needs.",
				o.Kind, o.Name, strings.Join(wild, " and "), implied, strings.Join(replace, "; ")),
			Evidence: fmt.Sprintf("%s at /rules/%d", chkRule(r), i),
		})
	}
	return out
}

// chkBinding returns a binding's roleRef and subjects.
func chkBinding(o *Object) (rbacv1.RoleRef, []rbacv1.Subject, bool) {
	switch o.Kind {
	case "RoleBinding":
		if b := checkTyped[rbacv1.RoleBinding](o); b != nil {
			return b.RoleRef, b.Subjects, true
		}
	case "ClusterRoleBinding":
		if b := checkTyped[rbacv1.ClusterRoleBinding](o); b != nil {
			return b.RoleRef, b.Subjects, true
		}
	}
	return rbacv1.RoleRef{}, nil, false
}

func chkSubject(s rbacv1.Subject) string {
	if s.Kind == "ServiceAccount" && s.Namespace != "" {
		return s.Kind + " " + s.Namespace + "/" + s.Name
	}
	return s.Kind + " " + s.Name
}

func runRBACClusterAdmin(o *Object, _ *Inventory) []Violation {
	ref, subjects, ok := chkBinding(o)
	if !ok || ref.Kind != "ClusterRole" || ref.Name != "cluster-admin" {
		return nil
	}
	names := make([]string, len(subjects))
	for i, s := range subjects {
		names[i] = chkSubject(s)
	}
	scope := "in every namespace"
	if o.Kind == "RoleBinding" {
		scope = "in namespace " + chkNS(o.Namespace)
	}
	return []Violation{{
		CheckID: CheckRBACClusterAdmin,
		Object:  o.Ref(),
		Message: fmt.Sprintf("%s %s gives %s full control %s. Bind a role with only the permissions needed instead; "+
			"there is no safe automatic fix.", o.Kind, o.Name, chkOrNone(strings.Join(names, ", ")), scope),
		Evidence: "roleRef: ClusterRole cluster-admin at /roleRef",
	}}
}

func runRBACDefaultSA(o *Object, _ *Inventory) []Violation {
	_, subjects, ok := chkBinding(o)
	if !ok {
		return nil
	}
	var out []Violation
	for i, s := range subjects {
		if s.Kind != "ServiceAccount" || s.Name != "default" {
			continue
		}
		ns := s.Namespace
		if ns == "" {
			ns = o.Namespace
		}
		out = append(out, Violation{
			CheckID: CheckRBACDefaultSA,
			Object:  o.Ref(),
			Message: fmt.Sprintf("%s %s grants its role to the default ServiceAccount of namespace %s, and so to every pod there "+
				"that names no ServiceAccount. Create a dedicated ServiceAccount, bind the role to it and set "+
				"serviceAccountName in the pods that need it.", o.Kind, o.Name, chkNS(ns)),
			Evidence: fmt.Sprintf("subject %s at /subjects/%d", chkSubject(s), i),
		})
	}
	return out
}

func runRBACAnonymous(o *Object, _ *Inventory) []Violation {
	_, subjects, ok := chkBinding(o)
	if !ok {
		return nil
	}
	var out []Violation
	for i, s := range subjects {
		switch {
		case s.Kind == "User" && s.Name == "system:anonymous",
			s.Kind == "Group" && (s.Name == "system:unauthenticated" || s.Name == "system:authenticated" || s.Name == "system:masters"):
		default:
			continue
		}
		out = append(out, Violation{
			CheckID: CheckRBACAnonymous,
			Object:  o.Ref(),
			Message: fmt.Sprintf("%s %s grants its role to %s. Bind it to the specific users, groups or ServiceAccounts "+
				"that need it; there is no safe automatic fix.", o.Kind, o.Name, chkSubject(s)),
			Evidence: fmt.Sprintf("subject %s at /subjects/%d", chkSubject(s), i),
		})
	}
	return out
}

func runRBACAutomountToken(o *Object, inv *Inventory) []Violation {
	sa := checkTyped[corev1.ServiceAccount](o)
	if sa == nil || (sa.AutomountServiceAccountToken != nil && !*sa.AutomountServiceAccountToken) {
		return nil
	}
	if inv == nil {
		return nil
	}
	ns := chkNS(o.Namespace)
	for _, b := range inv.Objects {
		_, subjects, ok := chkBinding(b)
		if !ok {
			continue
		}
		for _, s := range subjects {
			sns := s.Namespace
			if sns == "" {
				sns = b.Namespace
			}
			if s.Kind == "ServiceAccount" && s.Name == o.Name && chkNS(sns) == ns {
				return nil
			}
			if s.Kind == "Group" && (s.Name == "system:serviceaccounts" || s.Name == "system:serviceaccounts:"+ns) {
				return nil
			}
		}
	}
	op := PatchOp{Op: "add", Path: "/automountServiceAccountToken", Value: false}
	evidence := "automountServiceAccountToken not set at /automountServiceAccountToken"
	if sa.AutomountServiceAccountToken != nil {
		op.Op = "replace"
		evidence = "automountServiceAccountToken: true at /automountServiceAccountToken"
	}
	return []Violation{{
		CheckID: CheckRBACAutomountToken,
		Object:  o.Ref(),
		Message: fmt.Sprintf("ServiceAccount %s/%s is named by no RoleBinding or ClusterRoleBinding but its token is mounted "+
			"into every pod that uses it; set automountServiceAccountToken: false.", ns, o.Name),
		Evidence: evidence,
		Fix: &Fix{
			Ops: []PatchOp{op},
			Breaks: "a pod that uses this ServiceAccount and still calls the API server (with permissions granted " +
				"outside these manifests) must set automountServiceAccountToken: true in its own spec",
		},
	}}
}

func chkNS(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}

func chkOrNone(s string) string {
	if s == "" {
		return "no subjects"
	}
	return s
}
