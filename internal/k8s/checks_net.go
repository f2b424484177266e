package k8s

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/sextant-dev/sextant"
)

// Network check IDs.
const (
	CheckNetNodePort          = "SX-K8S-201"
	CheckNetLBSourceRanges    = "SX-K8S-202"
	CheckNetNoPolicy          = "SX-K8S-203"
	CheckNetPolicyNoPods      = "SX-K8S-204"
	CheckNetIngressTLS        = "SX-K8S-205"
	CheckNetServiceExternalIP = "SX-K8S-206"
	CheckNetWorkloadNoPolicy  = "SX-K8S-207"
)

// DefaultDenyPolicyName is the name of the NetworkPolicy that the fix for
// CheckNetNoPolicy creates.
const DefaultDenyPolicyName = "default-deny"

// NetworkChecks returns the checks on Services, Ingresses and
// NetworkPolicies, and on namespaces that have workloads but no
// NetworkPolicy. The last two need the inventory; without one they report
// nothing.
func NetworkChecks() []Check {
	return []Check{
		{
			ID:       CheckNetNodePort,
			Title:    "Service is of type NodePort",
			Severity: sextant.SeverityMedium,
			Rationale: "A NodePort Service opens a port on every node, usually outside the load balancer, firewall " +
				"rules and TLS termination meant to guard the application. Use ClusterIP behind an Ingress or " +
				"Gateway, or a LoadBalancer with source ranges.",
			Mappings: []string{"kube-score: service-type", "NSA/CISA: Network separation"},
			Kinds:    []string{"Service"},
			Run:      runNetNodePort,
		},
		{
			ID:       CheckNetLBSourceRanges,
			Title:    "LoadBalancer Service is open to every address",
			Severity: sextant.SeverityMedium,
			Rationale: "A LoadBalancer Service without loadBalancerSourceRanges accepts connections from the whole " +
				"internet. List the client networks that need it.",
			Mappings: []string{"NSA/CISA: Network separation", "CIS 5.7.x: general network policies"},
			Kinds:    []string{"Service"},
			Run:      runNetLBSourceRanges,
		},
		{
			ID:       CheckNetNoPolicy,
			Title:    "Namespace has workloads but no NetworkPolicy",
			Severity: sextant.SeverityMedium,
			Rationale: "Without a NetworkPolicy every pod accepts traffic from, and sends traffic to, every other pod " +
				"in the cluster: one compromised pod reaches them all. A default-deny policy plus explicit allows " +
				"limits lateral movement.",
			Mappings: []string{"CIS 5.3.2", "NSA/CISA: Network policies (default deny)", "kube-score: pod-networkpolicy"},
			Kinds:    []string{"Namespace", "Workload"},
			Run:      runNetNoPolicy,
		},
		{
			ID:       CheckNetPolicyNoPods,
			Title:    "NetworkPolicy selects no pods",
			Severity: sextant.SeverityLow,
			Rationale: "A NetworkPolicy whose podSelector matches no pod in its namespace protects nothing; usually " +
				"its labels or namespace are wrong, and the pods it was meant for are unprotected.",
			Mappings: []string{"kube-score: networkpolicy-targets-pod"},
			Kinds:    []string{"NetworkPolicy"},
			Run:      runNetPolicyNoPods,
		},
		{
			ID:       CheckNetIngressTLS,
			Title:    "Ingress serves hosts without TLS",
			Severity: sextant.SeverityMedium,
			Rationale: "Without TLS, traffic through the Ingress — credentials and session cookies included — crosses " +
				"the network in clear text.",
			Mappings: []string{"NSA/CISA: Encrypt traffic (TLS)"},
			Kinds:    []string{"Ingress"},
			Run:      runNetIngressTLS,
		},
		{
			ID:       CheckNetServiceExternalIP,
			Title:    "Service sets externalIPs",
			Severity: sextant.SeverityHigh,
			Rationale: "externalIPs make every node route traffic for those addresses to the Service; anyone who can " +
				"create a Service can intercept traffic for any IP this way (CVE-2020-8554). Use a LoadBalancer or " +
				"Ingress, and block externalIPs with admission control.",
			Mappings: []string{"CVE-2020-8554", "NSA/CISA: Network separation"},
			Kinds:    []string{"Service"},
			Run:      runNetExternalIPs,
		},
		{
			ID:       CheckNetWorkloadNoPolicy,
			Title:    "Workload not selected by any ingress NetworkPolicy",
			Severity: sextant.SeverityMedium,
			Rationale: "NetworkPolicies isolate only the pods they select: in a namespace that has policies, a workload " +
				"that none selects for ingress still accepts traffic from every pod in the cluster, usually because a " +
				"label or selector drifted. (A namespace with no policy at all is SX-K8S-203.)",
			Mappings: []string{"CIS 5.3.2", "NSA/CISA: Network policies (default deny)", "kube-score: pod-networkpolicy",
				"Polaris: missingNetworkPolicy"},
			Kinds: []string{"Workload"},
			Run:   runNetWorkloadNoPolicy,
		},
	}
}

func runNetNodePort(o *Object, _ *Inventory) []Violation {
	svc := checkTyped[corev1.Service](o)
	if svc == nil || svc.Spec.Type != corev1.ServiceTypeNodePort {
		return nil
	}
	ops := []PatchOp{{Op: "replace", Path: "/spec/type", Value: "ClusterIP"}}
	var ports []string
	for i, p := range svc.Spec.Ports {
		if p.NodePort != 0 {
			ops = append(ops, PatchOp{Op: "remove", Path: fmt.Sprintf("/spec/ports/%d/nodePort", i)})
			ports = append(ports, fmt.Sprint(p.NodePort))
		}
	}
	// Only NodePort and LoadBalancer Services may set these; the API
	// server refuses a ClusterIP Service that keeps them.
	if svc.Spec.ExternalTrafficPolicy != "" {
		ops = append(ops, PatchOp{Op: "remove", Path: "/spec/externalTrafficPolicy"})
	}
	msg := fmt.Sprintf("Service %s/%s is of type NodePort and listens on every node", chkNS(o.Namespace), o.Name)
	if len(ports) > 0 {
		msg += " on port " + strings.Join(ports, ", ")
	}
	return []Violation{{
		CheckID:  CheckNetNodePort,
		Object:   o.Ref(),
		Message:  msg + "; make it ClusterIP and expose it through an Ingress or Gateway if it must be reached from outside.",
		Evidence: "type: NodePort at /spec/type",
		Fix: &Fix{
			Ops: ops,
			Breaks: "clients that reach the Service through a node's address and node port lose access; route them " +
				"through an Ingress, a Gateway or a LoadBalancer with loadBalancerSourceRanges first",
		},
	}}
}

// lbInternalAnnotations mark a LoadBalancer as internal to the VPC on the
// big clouds; such a load balancer is not internet-facing.
var lbInternalAnnotations = map[string][]string{
	"service.beta.kubernetes.io/aws-load-balancer-internal":   {"true", "0.0.0.0/0"},
	"service.beta.kubernetes.io/aws-load-balancer-scheme":     {"internal"},
	"service.beta.kubernetes.io/azure-load-balancer-internal": {"true"},
	"networking.gke.io/load-balancer-type":                    {"Internal"},
	"cloud.google.com/load-balancer-type":                     {"Internal", "internal"},
}

func runNetLBSourceRanges(o *Object, _ *Inventory) []Violation {
	svc := checkTyped[corev1.Service](o)
	if svc == nil || svc.Spec.Type != corev1.ServiceTypeLoadBalancer || len(svc.Spec.LoadBalancerSourceRanges) > 0 {
		return nil
	}
	if svc.Annotations[corev1.AnnotationLoadBalancerSourceRangesKey] != "" {
		return nil
	}
	for k, vals := range lbInternalAnnotations {
		if v, ok := svc.Annotations[k]; ok && slices.Contains(vals, v) {
			return nil
		}
	}
	return []Violation{{
		CheckID: CheckNetLBSourceRanges,
		Object:  o.Ref(),
		Message: fmt.Sprintf("LoadBalancer Service %s/%s accepts connections from any address; set "+
			"spec.loadBalancerSourceRanges to the client CIDRs (e.g. your office or CDN ranges), or mark the load "+
			"balancer internal. The fix adds the placeholder range %s, which you must replace.", chkNS(o.Namespace), o.Name, LBPlaceholderRange),
		Evidence: "type: LoadBalancer without loadBalancerSourceRanges at /spec",
		Fix: &Fix{
			Ops: []PatchOp{{Op: "add", Path: "/spec/loadBalancerSourceRanges", Value: []string{LBPlaceholderRange}}},
			Breaks: LBPlaceholderRange + " is a placeholder: replace it with the real client CIDRs. Until then only clients " +
				"in that private range reach the load balancer; every client on the internet is refused.",
		},
	}}
}

// LBPlaceholderRange is the source range the fix for CheckNetLBSourceRanges
// adds: a private network, so that the fixed Service is closed to the
// internet until the real client ranges replace it.
const LBPlaceholderRange = "10.0.0.0/8"

// chkWorkloadKinds are the kinds that run pods.
var chkWorkloadKinds = []string{"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "ReplicationController"}

func chkIsWorkload(o *Object) bool { return slices.Contains(chkWorkloadKinds, o.Kind) }

// chkPodLabels returns the labels of the pods a workload runs, read from
// its JSON.
func chkPodLabels(o *Object) map[string]string {
	type meta struct {
		Labels map[string]string `json:"labels"`
	}
	var v struct {
		Metadata meta `json:"metadata"`
		Spec     struct {
			Template struct {
				Metadata meta `json:"metadata"`
			} `json:"template"`
			JobTemplate struct {
				Spec struct {
					Template struct {
						Metadata meta `json:"metadata"`
					} `json:"template"`
				} `json:"spec"`
			} `json:"jobTemplate"`
		} `json:"spec"`
	}
	if json.Unmarshal(o.Raw, &v) != nil {
		return nil
	}
	switch o.Kind {
	case "Pod":
		if v.Metadata.Labels == nil {
			return o.Labels
		}
		return v.Metadata.Labels
	case "CronJob":
		return v.Spec.JobTemplate.Spec.Template.Metadata.Labels
	}
	return v.Spec.Template.Metadata.Labels
}

func runNetNoPolicy(o *Object, inv *Inventory) []Violation {
	if inv == nil {
		return nil
	}
	var ns string
	switch {
	case o.Kind == "Namespace":
		ns = o.Name
	case chkIsWorkload(o):
		ns = chkNS(o.Namespace)
	default:
		return nil
	}
	hasNSObject := false
	var first *Object
	workloads := 0
	for _, x := range inv.Objects {
		switch {
		case x.Kind == "NetworkPolicy" && chkNS(x.Namespace) == ns:
			return nil
		case x.Kind == "Namespace" && x.Name == ns:
			hasNSObject = true
		case chkIsWorkload(x) && chkNS(x.Namespace) == ns:
			workloads++
			if first == nil {
				first = x
			}
		}
	}
	// Report once per namespace: on the Namespace object when the
	// inventory has it, else on the namespace's first workload.
	if workloads == 0 || (o.Kind == "Namespace") != hasNSObject || (o.Kind != "Namespace" && o != first) {
		return nil
	}
	policy := map[string]any{
		"apiVersion": "networking.k8s.io/v1",
		"kind":       "NetworkPolicy",
		"metadata":   map[string]any{"name": DefaultDenyPolicyName, "namespace": ns},
		"spec": map[string]any{
			"podSelector": map[string]any{},
			"policyTypes": []any{"Ingress", "Egress"},
			"egress": []any{map[string]any{
				"ports": []any{
					map[string]any{"protocol": "UDP", "port": 53},
					map[string]any{"protocol": "TCP", "port": 53},
				},
			}},
		},
	}
	return []Violation{{
		CheckID: CheckNetNoPolicy,
		Object:  o.Ref(),
		Message: fmt.Sprintf("namespace %s runs %d workload(s) but has no NetworkPolicy: every pod in the cluster can reach them. "+
			"Add a default-deny NetworkPolicy and allow the traffic each workload needs.", ns, workloads),
		Evidence: fmt.Sprintf("no NetworkPolicy in namespace %s", ns),
		Fix: &Fix{
			Ops: []PatchOp{{Op: "add", Path: "", Value: policy}},
			Breaks: "all ingress to and egress from pods in the namespace, except DNS, stops until policies allowing " +
				"the application's traffic are added; it is a new object, emitted as a separate manifest",
			Companion: "egress to port 53 (DNS) stays allowed so that name resolution keeps working",
		},
	}}
}

func runNetPolicyNoPods(o *Object, inv *Inventory) []Violation {
	np := checkTyped[networkingv1.NetworkPolicy](o)
	if np == nil || inv == nil {
		return nil
	}
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil {
		return []Violation{{
			CheckID: CheckNetPolicyNoPods,
			Object:  o.Ref(),
			Message: fmt.Sprintf("NetworkPolicy %s/%s has an invalid podSelector (%v) and selects no pods. There is no "+
				"automatic fix: which pods it was meant for cannot be told.", chkNS(o.Namespace), o.Name, err),
			Evidence: "podSelector at /spec/podSelector",
		}}
	}
	ns := chkNS(o.Namespace)
	for _, x := range inv.Objects {
		if chkIsWorkload(x) && chkNS(x.Namespace) == ns && sel.Matches(labels.Set(chkPodLabels(x))) {
			return nil
		}
	}
	return []Violation{{
		CheckID: CheckNetPolicyNoPods,
		Object:  o.Ref(),
		Message: fmt.Sprintf("NetworkPolicy %s/%s selects no pod of the workloads in namespace %s; check its podSelector "+
			"labels (under matchLabels) and its namespace. There is no automatic fix: the manifests cannot tell whether "+
			"the labels, the namespace or the policy itself is wrong, and pointing it at other pods or deleting it "+
			"would change what traffic they accept.", ns, o.Name, ns),
		Evidence: fmt.Sprintf("podSelector %s at /spec/podSelector", chkSelector(sel)),
	}}
}

func chkSelector(s labels.Selector) string {
	if s.Empty() {
		return "{} (all pods)"
	}
	return "{" + s.String() + "}"
}

func runNetIngressTLS(o *Object, _ *Inventory) []Violation {
	ing := checkTyped[networkingv1.Ingress](o)
	if ing == nil {
		return nil
	}
	covered := map[string]bool{}
	secrets := map[string]bool{}
	for _, t := range ing.Spec.TLS {
		for _, h := range t.Hosts {
			covered[h] = true
		}
		secrets[t.SecretName] = true
	}
	var bare, hosts []string
	for _, r := range ing.Spec.Rules {
		if r.Host != "" && !covered[r.Host] && !slices.Contains(hosts, r.Host) {
			hosts = append(hosts, r.Host)
		}
	}
	if len(ing.Spec.TLS) == 0 {
		bare = append(bare, "all hosts")
	} else {
		bare = hosts
	}
	if len(bare) == 0 {
		return nil
	}
	secret := ingTLSSecretName(o.Name, secrets)
	entry := map[string]any{"secretName": secret}
	if len(hosts) > 0 {
		entry["hosts"] = hosts
	}
	op := PatchOp{Op: "add", Path: "/spec/tls/-", Value: entry}
	if len(ing.Spec.TLS) == 0 {
		op = PatchOp{Op: "add", Path: "/spec/tls", Value: []any{entry}}
	}
	what := "the hosts"
	if len(hosts) > 0 {
		what = strings.Join(hosts, ", ")
	}
	return []Violation{{
		CheckID: CheckNetIngressTLS,
		Object:  o.Ref(),
		Message: fmt.Sprintf("Ingress %s/%s serves %s without TLS; add a spec.tls entry with the hosts and a certificate "+
			"Secret. The fix adds one that names the Secret %s.", chkNS(o.Namespace), o.Name, strings.Join(bare, ", "), secret),
		Evidence: "no spec.tls for " + strings.Join(bare, ", ") + " at /spec/tls",
		Fix: &Fix{
			Ops: []PatchOp{op},
			Breaks: fmt.Sprintf("The Secret %s/%s (type kubernetes.io/tls) must hold a certificate for %s; until it exists "+
				"the ingress controller serves its default, untrusted certificate for them, and controllers that "+
				"redirect HTTP to HTTPS once TLS is configured send plain-HTTP clients there too.",
				chkNS(o.Namespace), secret, what),
			Companion: fmt.Sprintf("With cert-manager, also annotate the Ingress with cert-manager.io/cluster-issuer: "+
				"<your issuer> and it issues the certificate into %s; the fix leaves that to you, as the issuer's name "+
				"is not known.", secret),
		},
	}}
}

// ingTLSSecretName returns the certificate Secret name the TLS fix uses for
// an Ingress: "<name>-tls", made unique among taken and kept within the
// 253 characters of a Secret name.
func ingTLSSecretName(name string, taken map[string]bool) string {
	const max = 253
	for n := 1; ; n++ {
		suffix := "-tls"
		if n > 1 {
			suffix = fmt.Sprintf("-tls-%d", n)
		}
		base := name
		if len(base)+len(suffix) > max {
			base = strings.TrimRight(base[:max-len(suffix)], ".-")
		}
		if s := base + suffix; !taken[s] {
			return s
		}
	}
}

func runNetExternalIPs(o *Object, _ *Inventory) []Violation {
	svc := checkTyped[corev1.Service](o)
	if svc == nil || len(svc.Spec.ExternalIPs) == 0 {
		return nil
	}
	return []Violation{{
		CheckID: CheckNetServiceExternalIP,
		Object:  o.Ref(),
		Message: fmt.Sprintf("Service %s/%s sets externalIPs %s; remove them and expose the Service through a "+
			"LoadBalancer or Ingress.", chkNS(o.Namespace), o.Name, strings.Join(svc.Spec.ExternalIPs, ", ")),
		Evidence: "externalIPs: [" + strings.Join(svc.Spec.ExternalIPs, ", ") + "] at /spec/externalIPs",
		Fix: &Fix{
			Ops:    []PatchOp{{Op: "remove", Path: "/spec/externalIPs"}},
			Breaks: "clients that connect to the external IPs lose access to the Service",
		},
	}}
}

// netIngressPolicy reports whether a NetworkPolicy restricts ingress: its
// policyTypes name Ingress, or it names none (Ingress is then implied).
func netIngressPolicy(np *networkingv1.NetworkPolicy) bool {
	return len(np.Spec.PolicyTypes) == 0 || slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress)
}

func runNetWorkloadNoPolicy(o *Object, inv *Inventory) []Violation {
	if inv == nil || !chkIsWorkload(o) {
		return nil
	}
	ns := chkNS(o.Namespace)
	podLabels := labels.Set(chkPodLabels(o))
	var names []string
	for _, x := range inv.Objects {
		if x.Kind != "NetworkPolicy" || chkNS(x.Namespace) != ns {
			continue
		}
		np := checkTyped[networkingv1.NetworkPolicy](x)
		if np == nil {
			continue
		}
		desc := x.Name
		if !netIngressPolicy(np) {
			desc += " (egress only)"
		} else if sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector); err != nil {
			desc += " (invalid podSelector)"
		} else if sel.Matches(podLabels) {
			return nil
		} else {
			desc += " (selects " + chkSelector(sel) + ")"
		}
		names = append(names, desc)
	}
	// A namespace without policies is reported once, by CheckNetNoPolicy.
	if len(names) == 0 {
		return nil
	}
	return []Violation{{
		CheckID: CheckNetWorkloadNoPolicy,
		Object:  o.Ref(),
		Message: fmt.Sprintf("%s %s/%s is selected by none of the ingress NetworkPolicies of namespace %s (%s), so its pods "+
			"accept traffic from every pod in the cluster. Extend a policy's podSelector to its pod labels or add a policy "+
			"that allows only its clients. There is no automatic fix: the traffic it must accept is specific to the "+
			"application.", o.Kind, ns, o.Name, ns, strings.Join(names, "; ")),
		Evidence: fmt.Sprintf("pod labels %s match no ingress NetworkPolicy in namespace %s", netLabels(podLabels), ns),
	}}
}

// netLabels renders pod labels for evidence.
func netLabels(l labels.Set) string {
	if len(l) == 0 {
		return "{} (none)"
	}
	return "{" + l.String() + "}"
}
