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
			[]chkGrant{{"", []string{"secrets"}, []string{"get", "list", "watch"}}},
			"grant secrets access in a namespaced Role, limited with resourceNames to the secrets the subject needs",
			"an application that reads its own Secrets through the API needs a namespaced Role with resourceNames for them"),
		chkRuleCheck(CheckRBACPodExec, "Role allows exec or attach into pods", sextant.SeverityHigh,
			"pods/exec and pods/attach run commands in any container the role reaches, with that container's "+
				"identity, mounted secrets and network position.",
			[]string{"CIS 5.1.4", "NSA/CISA: Least privilege (RBAC)"},
			[]string{"Role", "ClusterRole"},
			[]chkGrant{{"", []string{"pods/exec", "pods/attach"}, []string{"create", "get"}}},
			"remove pods/exec and pods/attach; keep them for break-glass accounts only",
			"kubectl exec, kubectl attach and debugging tools that use this role stop working; keep a separate break-glass role for them"),
		chkRuleCheck(CheckRBACCreateWorkloads, "Role can create pods or workloads", sextant.SeverityMedium,
			"Whoever can create pods (directly or through a controller) can run any image with any ServiceAccount of "+
				"the namespace, mount its secrets and, without admission control, escape to the node.",
			[]string{"CIS 5.1.4", "NSA/CISA: Least privilege (RBAC)"},
			[]string{"Role", "ClusterRole"},
			[]chkGrant{
				{"", []string{"pods", "replicationcontrollers"}, []string{"create"}},
				{"apps", []string{"deployments", "daemonsets", "statefulsets", "replicasets"}, []string{"create"}},
				{"batch", []string{"jobs", "cronjobs"}, []string{"create"}},
			},
			"limit create on pods and workloads to deployment pipelines, and enforce Pod Security admission in the namespace",
			"deployment pipelines and operators that create workloads with this role fail; bind them a role of their own"),
		chkRuleCheck(CheckRBACEscalate, "Role allows escalate, bind or impersonate", sextant.SeverityCritical,
			"escalate and bind let a subject grant itself permissions it does not hold; impersonate lets it act as any "+
				"user, group or ServiceAccount. Each is a direct path to cluster-admin.",
			[]string{"CIS 5.1.8", "NSA/CISA: Least privilege (RBAC)"},
			[]string{"Role", "ClusterRole"},
			[]chkGrant{
				{"rbac.authorization.k8s.io", []string{"roles", "clusterroles"}, []string{"escalate", "bind"}},
				{"", []string{"users", "groups", "serviceaccounts"}, []string{"impersonate"}},
				{"authentication.k8s.io", []string{"userextras", "uids"}, []string{"impersonate"}},
			},
			"remove escalate, bind and impersonate; RBAC administration belongs to cluster administrators",
			"tools that hand out roles they do not hold themselves (RBAC managers, operators creating bindings) and "+
				"authenticating proxies that impersonate users fail"),
		chkRuleCheck(CheckRBACNodeProxy, "Role grants nodes/proxy", sextant.SeverityHigh,
			"nodes/proxy reaches the kubelet API of every node, which runs commands in any pod on it and bypasses "+
				"audit logging and admission control.",
			[]string{"CIS 5.1.10", "NSA/CISA: Least privilege (RBAC)"},
			[]string{"ClusterRole", "Role"},
			[]chkGrant{{"", []string{"nodes/proxy"}, []string{"get", "create", "update", "patch", "delete"}}},
			"remove nodes/proxy; monitoring agents need nodes/metrics or nodes/stats instead",
			"monitoring agents that scrape the kubelet through the API server proxy stop getting metrics; grant them get on nodes/metrics and nodes/stats"),
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

// chkGrant is a dangerous grant: verbs on resources of one API group.
type chkGrant struct {
	group     string
	resources []string
	verbs     []string
}

// chkRuleCheck builds a check that reports every rule that grants one of
// grants explicitly. Its fix removes those grants from the rule and nothing
// else (see chkStripRule); todo says what to do beyond it and breaks what
// the subjects' applications lose.
func chkRuleCheck(id, title string, sev sextant.Severity, rationale string, mappings, kinds []string,
	grants []chkGrant, todo, breaks string) Check {
	return Check{
		ID: id, Title: title, Severity: sev, Rationale: rationale, Mappings: mappings, Kinds: kinds,
		Run: func(o *Object, _ *Inventory) []Violation {
			if !slices.Contains(kinds, o.Kind) {
				return nil
			}
			rules := chkRules(o)
			var out []Violation
			for i, r := range rules {
				var found []string
				for _, g := range grants {
					found = append(found, chkGrants(r, g.group, g.resources, g.verbs)...)
				}
				if len(found) == 0 {
					continue
				}
				ops, lost := chkStripRule(i, r, len(rules), grants)
				out = append(out, Violation{
					CheckID:  id,
					Object:   o.Ref(),
					Message:  fmt.Sprintf("%s %s grants %s; %s. The fix removes only these grants from the rule.", o.Kind, o.Name, strings.Join(found, ", "), todo),
					Evidence: fmt.Sprintf("%s at /rules/%d", chkRule(r), i),
					Fix: &Fix{
						Ops: ops,
						Breaks: fmt.Sprintf("The subjects bound to %s %s can no longer %s: %s.",
							o.Kind, o.Name, lost, breaks),
					},
				})
			}
			return out
		},
	}
}

// chkStripRule returns the JSON Patch operations that remove grants from
// rule i of n, and what the subjects lose, in words. The resources the
// grants name are split from the rule's other resources: those keep every
// verb; the named ones keep the verbs that are not dangerous for them,
// in a rule of their own when the two sets of verbs differ. A "*" verb on
// a named resource is dropped with the resource: what else "*" meant for
// it cannot be told. Every other field of the rule (apiGroups,
// resourceNames) is kept.
func chkStripRule(i int, r rbacv1.PolicyRule, n int, grants []chkGrant) ([]PatchOp, string) {
	path := fmt.Sprintf("/rules/%d", i)
	// The rule's resources that a grant names, and the verbs dangerous
	// for them.
	hit := map[string]bool{}
	danger := map[string]bool{}
	for _, g := range grants {
		if !slices.Contains(r.APIGroups, g.group) && !slices.Contains(r.APIGroups, "*") {
			continue
		}
		for _, res := range g.resources {
			if slices.Contains(r.Resources, res) {
				hit[res] = true
				for _, v := range g.verbs {
					danger[v] = true
				}
			}
		}
	}
	var named, others []string
	var namedIdx []int
	for j, res := range r.Resources {
		if hit[res] {
			named = append(named, res)
			namedIdx = append(namedIdx, j)
		} else {
			others = append(others, res)
		}
	}
	wild := slices.Contains(r.Verbs, "*")
	var keep, gone []string
	var goneIdx []int
	if !wild {
		for j, v := range r.Verbs {
			if danger[v] {
				if !slices.Contains(gone, v) {
					gone = append(gone, v)
				}
				goneIdx = append(goneIdx, j)
			} else {
				keep = append(keep, v)
			}
		}
	}
	lost := strings.Join(gone, ", ") + " " + strings.Join(named, ", ")
	if wild {
		lost = "use any verb (the rule's \"*\") on " + strings.Join(named, ", ")
	}
	removeDesc := func(base string, idx []int) []PatchOp {
		var ops []PatchOp
		for k := len(idx) - 1; k >= 0; k-- {
			ops = append(ops, PatchOp{Op: "remove", Path: fmt.Sprintf("%s/%d", base, idx[k])})
		}
		return ops
	}
	switch {
	case len(others) == 0 && len(keep) == 0:
		// Nothing of the rule is left.
		return []PatchOp{{Op: "remove", Path: path}}, lost
	case len(others) == 0:
		// Every resource of the rule is named: drop the dangerous verbs.
		return removeDesc(path+"/verbs", goneIdx), lost
	case len(keep) == 0:
		// The named resources keep no verb: drop them from the rule.
		return removeDesc(path+"/resources", namedIdx), lost
	}
	// The named resources keep some verbs, the others all of them.
	split := r
	split.Resources = named
	split.Verbs = keep
	ops := removeDesc(path+"/resources", namedIdx)
	at := fmt.Sprintf("/rules/%d", i+1)
	if i+1 >= n {
		at = "/rules/-"
	}
	return append(ops, PatchOp{Op: "add", Path: at, Value: split}), lost
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
		v := Violation{
			CheckID:  CheckRBACWildcard,
			Object:   o.Ref(),
			Evidence: fmt.Sprintf("%s at /rules/%d", chkRule(r), i),
		}
		if len(wild) == 1 && wild[0] == "verbs" {
			// Only the verbs are open: narrowing them to reading is the
			// least privilege that keeps the rule's meaning.
			read := []string{"get", "list", "watch"}
			if len(r.Resources) == 0 {
				read = []string{"get"} // nonResourceURLs
			}
			verbs := slices.Clone(read)
			for _, x := range r.Verbs {
				if x != "*" && !slices.Contains(verbs, x) {
					verbs = append(verbs, x)
				}
			}
			v.Message = fmt.Sprintf("%s %s uses \"*\" in verbs on %s. The fix narrows them to %s; add back the write verbs "+
				"(create, update, patch, delete) the application needs.", o.Kind, o.Name,
				strings.Join(append(slices.Clone(r.Resources), r.NonResourceURLs...), ", "), strings.Join(verbs, ", "))
			v.Fix = &Fix{
				Ops: []PatchOp{{Op: "replace", Path: fmt.Sprintf("/rules/%d/verbs", i), Value: verbs}},
				Breaks: fmt.Sprintf("The subjects bound to %s %s can no longer use any verb but %s on %s: "+
					"writes (create, update, patch, delete, deletecollection) and special verbs (escalate, bind, impersonate, "+
					"approve, sign) are refused until added back explicitly.", o.Kind, o.Name, strings.Join(verbs, ", "),
					strings.Join(append(slices.Clone(r.Resources), r.NonResourceURLs...), ", ")),
			}
		} else {
			v.Message = fmt.Sprintf("%s %s uses \"*\" in %s.%s Replace it with explicit values — %s. There is no safe automatic fix: "+
				"only the application's owner knows which %s it needs.",
				o.Kind, o.Name, strings.Join(wild, " and "), implied, strings.Join(replace, "; "), chkWildNeeds(wild))
		}
		out = append(out, v)
	}
	return out
}

// chkWildNeeds names what a wildcard rule's owner must choose.
func chkWildNeeds(wild []string) string {
	var out []string
	for _, w := range wild {
		switch w {
		case "apiGroups":
			out = append(out, "API groups")
		case "resources":
			out = append(out, "resources")
		case "nonResourceURLs":
			out = append(out, "URLs")
		}
	}
	if len(out) == 0 {
		return "permissions"
	}
	return strings.Join(out, " and ")
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
		Message: fmt.Sprintf("%s %s gives %s full control %s. Create a new %s that binds a role with only the permissions "+
			"needed (view, edit or a custom role) to the same subjects, then delete this one. There is no automatic fix: "+
			"roleRef cannot be changed on an existing binding (the API server rejects the update), and a patch can "+
			"neither create the new binding nor delete this one.", o.Kind, o.Name, chkOrNone(strings.Join(names, ", ")), scope, o.Kind),
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
				"that names no ServiceAccount. The fix removes the subject; create a dedicated ServiceAccount, bind the role "+
				"to it and set serviceAccountName in the pods that need it.", o.Kind, o.Name, chkNS(ns)),
			Evidence: fmt.Sprintf("subject %s at /subjects/%d", chkSubject(s), i),
			Fix: &Fix{
				Ops: []PatchOp{{Op: "remove", Path: fmt.Sprintf("/subjects/%d", i)}},
				Breaks: fmt.Sprintf("Pods in namespace %s that run as the default ServiceAccount lose the permissions of %s %s; "+
					"the ones that call the API server need a dedicated ServiceAccount bound to it first.", chkNS(ns), o.Kind, o.Name),
			},
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
			Message: fmt.Sprintf("%s %s grants its role to %s. The fix removes the subject; bind the role to the specific "+
				"users, groups or ServiceAccounts that need it.", o.Kind, o.Name, chkSubject(s)),
			Evidence: fmt.Sprintf("subject %s at /subjects/%d", chkSubject(s), i),
			Fix: &Fix{
				Ops:    []PatchOp{{Op: "remove", Path: fmt.Sprintf("/subjects/%d", i)}},
				Breaks: chkAnonymousBreaks(o, s),
			},
		})
	}
	return out
}

// chkAnonymousBreaks says who loses what when a broad subject is removed
// from a binding.
func chkAnonymousBreaks(o *Object, s rbacv1.Subject) string {
	role := o.Kind + " " + o.Name
	switch s.Name {
	case "system:anonymous", "system:unauthenticated":
		return fmt.Sprintf("Requests without credentials lose the permissions of %s: unauthenticated health checks, "+
			"discovery or public endpoints that relied on it get 401 or 403.", role)
	case "system:authenticated":
		return fmt.Sprintf("Every user and ServiceAccount that holds the permissions of %s only through this group loses "+
			"them; bind the ones that need them by name first.", role)
	}
	// system:masters: its members bypass RBAC, so the binding adds nothing.
	return ""
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
