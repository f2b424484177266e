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
			"balancer internal. There is no safe automatic fix: only you know the client networks.", chkNS(o.Namespace), o.Name),
		Evidence: "type: LoadBalancer without loadBalancerSourceRanges at /spec",
	}}
}

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
			CheckID:  CheckNetPolicyNoPods,
			Object:   o.Ref(),
			Message:  fmt.Sprintf("NetworkPolicy %s/%s has an invalid podSelector (%v) and selects no pods.", chkNS(o.Namespace), o.Name, err),
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
			"labels (under matchLabels) and its namespace.", ns, o.Name, ns),
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
	for _, t := range ing.Spec.TLS {
		for _, h := range t.Hosts {
			covered[h] = true
		}
	}
	var bare []string
	if len(ing.Spec.TLS) == 0 {
		bare = append(bare, "all hosts")
	} else {
		for _, r := range ing.Spec.Rules {
			if r.Host != "" && !covered[r.Host] && !slices.Contains(bare, r.Host) {
				bare = append(bare, r.Host)
			}
		}
	}
	if len(bare) == 0 {
		return nil
	}
	return []Violation{{
		CheckID: CheckNetIngressTLS,
		Object:  o.Ref(),
		Message: fmt.Sprintf("Ingress %s/%s serves %s without TLS; add a spec.tls entry with the hosts and a certificate "+
			"Secret (cert-manager can issue one). There is no safe automatic fix: the certificate must exist.",
			chkNS(o.Namespace), o.Name, strings.Join(bare, ", ")),
		Evidence: "no spec.tls for " + strings.Join(bare, ", ") + " at /spec/tls",
	}}
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
