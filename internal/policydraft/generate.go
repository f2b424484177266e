package policydraft

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// spec is one rule of the drafted policies: a Kyverno rule and the CEL
// validation that says the same.
type spec struct {
	// name names the Kyverno rule and prefixes both messages.
	name    string
	message string
	// One of pattern, anyPattern and foreach is the Kyverno validation.
	pattern    map[string]any
	anyPattern []any
	foreach    []kyvernoForeach
	// cel is true when the object is allowed.
	cel string
}

// containerList is the foreach list of every container of a pod, which
// Kyverno rewrites for pod controllers.
const containerList = "request.object.spec.[ephemeralContainers, initContainers, containers][]"

// each returns a pod pattern in which every container (ephemeral and init
// containers if any) matches elem.
func each(elem map[string]any) map[string]any {
	return map[string]any{"spec": map[string]any{
		"=(ephemeralContainers)": []any{elem},
		"=(initContainers)":      []any{elem},
		"containers":             []any{elem},
	}}
}

// capList returns names with and without the CAP_ prefix, which runtimes
// accept alike.
func capList(names []string) []string {
	var out []string
	for _, n := range names {
		out = append(out, n, "CAP_"+n)
	}
	return out
}

func celList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = "'" + strings.ReplaceAll(x, "'", `\'`) + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// specs returns the rules that implement r. Patterns and conditions
// follow the Kyverno policy library (pod-security, best-practices); the
// CEL expressions say the same of variables.podSpec and
// variables.allContainers.
func specs(r Rule) []spec {
	sc := func(field string, v any) map[string]any {
		return map[string]any{"=(securityContext)": map[string]any{"=(" + field + ")": v}}
	}
	const hasSC = "has(c.securityContext) && "
	switch r.Kind {
	case RunAsNonRoot:
		return []spec{{
			name:    "run-as-non-root",
			message: "Running as root is not allowed: set securityContext.runAsNonRoot to true for the pod, or for every container.",
			anyPattern: []any{
				map[string]any{"spec": map[string]any{
					"securityContext":        map[string]any{"runAsNonRoot": true},
					"=(ephemeralContainers)": []any{sc("runAsNonRoot", true)},
					"=(initContainers)":      []any{sc("runAsNonRoot", true)},
					"containers":             []any{sc("runAsNonRoot", true)},
				}},
				each(map[string]any{"securityContext": map[string]any{"runAsNonRoot": true}}),
			},
			cel: "variables.allContainers.all(c, " + hasSC + "has(c.securityContext.runAsNonRoot) ? c.securityContext.runAsNonRoot == true : " +
				"(has(variables.podSpec.securityContext) && has(variables.podSpec.securityContext.runAsNonRoot) && variables.podSpec.securityContext.runAsNonRoot == true))",
		}, {
			name:    "run-as-non-root-user",
			message: "Running as user 0 (root) is not allowed: runAsUser must be unset or greater than zero.",
			pattern: map[string]any{"spec": map[string]any{
				"=(securityContext)":     map[string]any{"=(runAsUser)": ">0"},
				"=(ephemeralContainers)": []any{sc("runAsUser", ">0")},
				"=(initContainers)":      []any{sc("runAsUser", ">0")},
				"containers":             []any{sc("runAsUser", ">0")},
			}},
			cel: "(!has(variables.podSpec.securityContext) || !has(variables.podSpec.securityContext.runAsUser) || variables.podSpec.securityContext.runAsUser > 0) && " +
				"variables.allContainers.all(c, !has(c.securityContext) || !has(c.securityContext.runAsUser) || c.securityContext.runAsUser > 0)",
		}}
	case DisallowPrivileged:
		return []spec{{
			name:    "privileged-containers",
			message: "Privileged containers are not allowed: securityContext.privileged must be unset or false.",
			pattern: each(sc("privileged", false)),
			cel:     "variables.allContainers.all(c, !has(c.securityContext) || !has(c.securityContext.privileged) || c.securityContext.privileged == false)",
		}}
	case DisallowPrivilegeEscalation:
		return []spec{{
			name:    "privilege-escalation",
			message: "Privilege escalation is not allowed: every container must set securityContext.allowPrivilegeEscalation to false.",
			pattern: each(map[string]any{"securityContext": map[string]any{"allowPrivilegeEscalation": false}}),
			cel:     "variables.allContainers.all(c, " + hasSC + "has(c.securityContext.allowPrivilegeEscalation) && c.securityContext.allowPrivilegeEscalation == false)",
		}}
	case DisallowHostNetwork, DisallowHostPID, DisallowHostIPC:
		field, name := "hostNetwork", "host-network"
		switch r.Kind {
		case DisallowHostPID:
			field, name = "hostPID", "host-pid"
		case DisallowHostIPC:
			field, name = "hostIPC", "host-ipc"
		}
		return []spec{{
			name:    name,
			message: fmt.Sprintf("Sharing the host's namespaces is not allowed: spec.%s must be unset or false.", field),
			pattern: map[string]any{"spec": map[string]any{"=(" + field + ")": false}},
			cel:     fmt.Sprintf("!has(variables.podSpec.%[1]s) || variables.podSpec.%[1]s == false", field),
		}}
	case DisallowHostPath:
		return []spec{{
			name:    "host-path",
			message: "hostPath volumes are not allowed.",
			pattern: map[string]any{"spec": map[string]any{"=(volumes)": []any{map[string]any{"X(hostPath)": "null"}}}},
			cel:     "!has(variables.podSpec.volumes) || variables.podSpec.volumes.all(v, !has(v.hostPath))",
		}}
	case DisallowLatestTag:
		return []spec{{
			name:    "require-image-tag",
			message: "An image tag is required.",
			pattern: each(map[string]any{"image": "*:*"}),
			cel:     "variables.allContainers.all(c, c.image.contains('@') || c.image.matches(':[^/:]+$'))",
		}, {
			name:    "disallow-latest-tag",
			message: "The image tag 'latest' is not allowed: pin a version or a digest.",
			pattern: each(map[string]any{"image": "!*:latest"}),
			cel:     "variables.allContainers.all(c, !c.image.endsWith(':latest'))",
		}}
	case RequireResourceLimits:
		limits := map[string]any{}
		var conds []string
		for _, res := range r.Resources {
			limits[res] = "?*"
			conds = append(conds, fmt.Sprintf("'%s' in c.resources.limits", res))
		}
		resources := map[string]any{"limits": limits}
		cel := "has(c.resources) && has(c.resources.limits) && " + strings.Join(conds, " && ")
		what := strings.Join(r.Resources, " and ") + " limits"
		if r.Requests {
			requests := map[string]any{}
			var rc []string
			for _, res := range r.Resources {
				requests[res] = "?*"
				rc = append(rc, fmt.Sprintf("'%s' in c.resources.requests", res))
			}
			resources["requests"] = requests
			cel += " && has(c.resources.requests) && " + strings.Join(rc, " && ")
			what = strings.Join(r.Resources, " and ") + " requests and limits"
		}
		return []spec{{
			name:    "require-limits",
			message: "Every container must set " + what + ".",
			pattern: map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"resources": resources}}}},
			cel:     "variables.podSpec.containers.all(c, " + cel + ")",
		}}
	case RestrictRegistries:
		var alts, prefixes []string
		for _, reg := range r.Registries {
			alts = append(alts, reg+"/*")
			prefixes = append(prefixes, reg+"/")
		}
		return []spec{{
			name:    "allowed-registries",
			message: "Images must come from " + strings.Join(r.Registries, " or ") + ".",
			pattern: each(map[string]any{"image": strings.Join(alts, " | ")}),
			cel:     "variables.allContainers.all(c, " + celList(prefixes) + ".exists(p, c.image.startsWith(p)))",
		}}
	case RequireDropAll:
		return []spec{{
			name:    "drop-all-capabilities",
			message: "Containers must drop ALL capabilities (securityContext.capabilities.drop: [ALL]).",
			foreach: []kyvernoForeach{{List: containerList, Deny: kyvernoDeny{Conditions: kyvernoConditions{All: []kyvernoCondition{{
				Key: "ALL", Operator: "AnyNotIn", Value: "{{ element.securityContext.capabilities.drop[].to_upper(@) || `[]` }}",
			}}}}}},
			cel: "variables.allContainers.all(c, " + hasSC + "has(c.securityContext.capabilities) && has(c.securityContext.capabilities.drop) && c.securityContext.capabilities.drop.exists(d, d == 'ALL'))",
		}}
	case RestrictCapabilities:
		allowed := capList(r.Capabilities)
		msg := "Adding capabilities is not allowed."
		if len(r.Capabilities) > 0 {
			msg = "Adding capabilities other than " + strings.Join(r.Capabilities, ", ") + " is not allowed."
		}
		return []spec{{
			name:    "restrict-added-capabilities",
			message: msg,
			foreach: []kyvernoForeach{{List: containerList, Deny: kyvernoDeny{Conditions: kyvernoConditions{All: []kyvernoCondition{{
				Key: "{{ element.securityContext.capabilities.add[] || `[]` }}", Operator: "AnyNotIn", Value: append(allowed, ""),
			}}}}}},
			cel: "variables.allContainers.all(c, !has(c.securityContext) || !has(c.securityContext.capabilities) || !has(c.securityContext.capabilities.add) || " +
				"c.securityContext.capabilities.add.all(a, a in " + celList(allowed) + "))",
		}}
	case DisallowCapabilities:
		denied := capList(r.Capabilities)
		return []spec{{
			name:    "disallow-capabilities",
			message: "Adding " + strings.Join(r.Capabilities, ", ") + " is not allowed.",
			foreach: []kyvernoForeach{{List: containerList, Deny: kyvernoDeny{Conditions: kyvernoConditions{All: []kyvernoCondition{{
				Key: "{{ element.securityContext.capabilities.add[] || `[]` }}", Operator: "AnyIn", Value: denied,
			}}}}}},
			cel: "variables.allContainers.all(c, !has(c.securityContext) || !has(c.securityContext.capabilities) || !has(c.securityContext.capabilities.add) || " +
				"!c.securityContext.capabilities.add.exists(a, a in " + celList(denied) + "))",
		}}
	case RequireReadOnlyRootFS:
		return []spec{{
			name:    "read-only-root-filesystem",
			message: "Every container must set securityContext.readOnlyRootFilesystem to true.",
			pattern: map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"securityContext": map[string]any{"readOnlyRootFilesystem": true}}}}},
			cel:     "variables.podSpec.containers.all(c, " + hasSC + "has(c.securityContext.readOnlyRootFilesystem) && c.securityContext.readOnlyRootFilesystem == true)",
		}}
	}
	return nil
}

// allSpecs returns the specs of every rule of the intent, in order.
func allSpecs(in Intent) []spec {
	var out []spec
	for _, r := range in.Rules {
		out = append(out, specs(r)...)
	}
	return out
}

// The Kyverno ClusterPolicy, as far as sextant writes it (kyverno.io/v1).
type kyvernoPolicy struct {
	APIVersion string      `json:"apiVersion"`
	Kind       string      `json:"kind"`
	Metadata   kyvernoMeta `json:"metadata"`
	Spec       kyvernoSpec `json:"spec"`
}

type kyvernoMeta struct {
	Name        string            `json:"name"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type kyvernoSpec struct {
	ValidationFailureAction string        `json:"validationFailureAction"`
	Background              bool          `json:"background"`
	Rules                   []kyvernoRule `json:"rules"`
}

type kyvernoRule struct {
	Name          string             `json:"name"`
	Match         kyvernoMatch       `json:"match"`
	Exclude       *kyvernoMatch      `json:"exclude,omitempty"`
	Preconditions *kyvernoConditions `json:"preconditions,omitempty"`
	Validate      kyvernoValidate    `json:"validate"`
}

type kyvernoMatch struct {
	Any []kyvernoFilter `json:"any"`
}

type kyvernoFilter struct {
	Resources kyvernoResources `json:"resources"`
}

type kyvernoResources struct {
	Kinds      []string `json:"kinds"`
	Namespaces []string `json:"namespaces,omitempty"`
}

type kyvernoValidate struct {
	Message    string           `json:"message"`
	Pattern    map[string]any   `json:"pattern,omitempty"`
	AnyPattern []any            `json:"anyPattern,omitempty"`
	Foreach    []kyvernoForeach `json:"foreach,omitempty"`
}

type kyvernoForeach struct {
	List string      `json:"list"`
	Deny kyvernoDeny `json:"deny"`
}

type kyvernoDeny struct {
	Conditions kyvernoConditions `json:"conditions"`
}

type kyvernoConditions struct {
	All []kyvernoCondition `json:"all"`
}

type kyvernoCondition struct {
	Key      any    `json:"key"`
	Operator string `json:"operator"`
	Value    any    `json:"value"`
}

// Annotations sextant puts on both drafts.
const (
	AnnotationRequest = "sextant.dev/request"
	AnnotationIntent  = "sextant.dev/intent"
)

// Kyverno returns the Kyverno ClusterPolicy of the intent as YAML. Its
// rules match Pods (Kyverno's auto-generation extends them to the pod
// controllers), limited to the intent's namespaces; failures are audited
// unless enforce is set.
func Kyverno(in Intent, request string, enforce bool) ([]byte, error) {
	action := "Audit"
	if enforce {
		action = "Enforce"
	}
	var descr []string
	for _, r := range in.Rules {
		descr = append(descr, supported[kindIndex(r.Kind)].Description)
	}
	p := kyvernoPolicy{
		APIVersion: "kyverno.io/v1",
		Kind:       "ClusterPolicy",
		Metadata: kyvernoMeta{Name: in.Name(), Annotations: map[string]string{
			"policies.kyverno.io/title":       "Drafted by sextant: " + in.String(),
			"policies.kyverno.io/category":    "Pod Security",
			"policies.kyverno.io/severity":    "medium",
			"policies.kyverno.io/subject":     "Pod",
			"policies.kyverno.io/description": strings.Join(descr, "; ") + ".",
			AnnotationIntent:                  in.String(),
		}},
		Spec: kyvernoSpec{ValidationFailureAction: action, Background: true},
	}
	if request != "" {
		p.Metadata.Annotations[AnnotationRequest] = clip(request, 500)
	}
	for _, s := range allSpecs(in) {
		r := kyvernoRule{
			Name:     s.name,
			Match:    kyvernoMatch{Any: []kyvernoFilter{{Resources: kyvernoResources{Kinds: []string{"Pod"}, Namespaces: in.Namespaces}}}},
			Validate: kyvernoValidate{Message: s.name + ": " + s.message, Pattern: s.pattern, AnyPattern: s.anyPattern, Foreach: s.foreach},
		}
		if len(in.ExcludeNamespaces) > 0 {
			r.Exclude = &kyvernoMatch{Any: []kyvernoFilter{{Resources: kyvernoResources{Kinds: []string{"Pod"}, Namespaces: in.ExcludeNamespaces}}}}
		}
		if s.foreach != nil {
			r.Preconditions = &kyvernoConditions{All: []kyvernoCondition{{Key: "{{ request.operation || 'BACKGROUND' }}", Operator: "NotEquals", Value: "DELETE"}}}
		}
		p.Spec.Rules = append(p.Spec.Rules, r)
	}
	return toYAML(p)
}

// vapDoc is a ValidatingAdmissionPolicy without its status, which a
// manifest does not carry.
type vapDoc struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta                                     `json:"metadata"`
	Spec            admissionregistrationv1.ValidatingAdmissionPolicySpec `json:"spec"`
}

// podSpecExpr finds the pod spec of a pod or of a pod controller.
const podSpecExpr = "object.kind == 'Pod' ? object.spec : (object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec : object.spec.template.spec)"

// allContainersExpr lists every container of the pod spec.
const allContainersExpr = "variables.podSpec.containers + (has(variables.podSpec.initContainers) ? variables.podSpec.initContainers : []) + (has(variables.podSpec.ephemeralContainers) ? variables.podSpec.ephemeralContainers : [])"

// VAP returns the ValidatingAdmissionPolicy and its binding
// (admissionregistration.k8s.io/v1) as one YAML stream of two documents.
// The policy matches Pods and the pod controllers of the core, apps and
// batch groups, and states each rule as a CEL validation over
// variables.podSpec and variables.allContainers; the binding limits it to
// the intent's namespaces (by their kubernetes.io/metadata.name label) and
// audits and warns, or denies when enforce is set.
func VAP(in Intent, request string, enforce bool) ([]byte, error) {
	fail := admissionregistrationv1.Fail
	ops := []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update}
	rule := func(group string, resources ...string) admissionregistrationv1.NamedRuleWithOperations {
		return admissionregistrationv1.NamedRuleWithOperations{RuleWithOperations: admissionregistrationv1.RuleWithOperations{
			Operations: ops,
			Rule:       admissionregistrationv1.Rule{APIGroups: []string{group}, APIVersions: []string{"v1"}, Resources: resources},
		}}
	}
	annotations := map[string]string{AnnotationIntent: in.String()}
	if request != "" {
		annotations[AnnotationRequest] = clip(request, 500)
	}
	p := vapDoc{
		TypeMeta: metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingAdmissionPolicy"},
		Metadata: metav1.ObjectMeta{Name: in.Name(), Annotations: annotations},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{
				rule("", "pods", "replicationcontrollers"),
				rule("apps", "deployments", "replicasets", "daemonsets", "statefulsets"),
				rule("batch", "jobs", "cronjobs"),
			}},
			Variables: []admissionregistrationv1.Variable{
				{Name: "podSpec", Expression: podSpecExpr},
				{Name: "allContainers", Expression: allContainersExpr},
			},
		},
	}
	for _, s := range allSpecs(in) {
		p.Spec.Validations = append(p.Spec.Validations, admissionregistrationv1.Validation{Expression: s.cel, Message: s.name + ": " + s.message})
	}
	actions := []admissionregistrationv1.ValidationAction{admissionregistrationv1.Audit, admissionregistrationv1.Warn}
	if enforce {
		actions = []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}
	}
	b := admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingAdmissionPolicyBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: in.Name() + "-binding"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        in.Name(),
			ValidationActions: actions,
		},
	}
	switch {
	case len(in.Namespaces) > 0:
		b.Spec.MatchResources = &admissionregistrationv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: namespaceLabel, Operator: metav1.LabelSelectorOpIn, Values: in.Namespaces},
		}}}
	case len(in.ExcludeNamespaces) > 0:
		b.Spec.MatchResources = &admissionregistrationv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: namespaceLabel, Operator: metav1.LabelSelectorOpNotIn, Values: in.ExcludeNamespaces},
		}}}
	}
	pb, err := toYAML(p)
	if err != nil {
		return nil, err
	}
	bb, err := toYAML(b)
	if err != nil {
		return nil, err
	}
	return append(append(pb, []byte("---\n")...), bb...), nil
}

// namespaceLabel is the label every namespace carries with its name.
const namespaceLabel = "kubernetes.io/metadata.name"

func shortDigest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
