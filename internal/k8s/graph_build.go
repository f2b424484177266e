package k8s

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// GraphOptions tunes BuildGraph.
type GraphOptions struct {
	// Vulns summarises the vulnerabilities of each image, keyed by the
	// image reference as written in the pod spec ("nginx:1.25"); a
	// "docker.io/library/" prefix and a missing ":latest" tag are
	// normalised away. Nil means no vulnerability data: every reachable
	// container is then assumed exploitable with a middling likelihood.
	Vulns map[string]VulnSummary
	// CrownJewels selects the targets; nil means DefaultCrownJewels.
	CrownJewels *CrownJewels
	// NoPodNetwork leaves out lateral movement over the pod network (a
	// compromised container connecting to pods that no NetworkPolicy
	// isolates).
	NoPodNetwork bool
}

// Likelihoods of the edges, in one place so that the weighing can be read
// and argued with.
const (
	pLoadBalancer     = 1.0
	pInternalLB       = 0.4
	pNodePort         = 0.8
	pIngress          = 1.0
	pRoute            = 0.9
	pHostPort         = 0.7
	pHostNetwork      = 0.3
	pKEV              = 0.9
	pCritical         = 0.6
	pHigh             = 0.4
	pUnknownVulns     = 0.3
	pNoVulns          = 0.1
	pToken            = 0.9
	pPodNetwork       = 0.5
	pControl          = 1.0
	pExec             = 0.95
	pCreatePodAsSA    = 0.9
	pCreatePodNode    = 0.8
	pEscalate         = 0.9
	pTokenCreate      = 0.95
	pSecretToken      = 0.9
	pNodesProxy       = 0.9
	pCloudIdentity    = 0.9
	maxCVEsInEvidence = 3
)

// graphWorkload is one workload as the graph builder sees it.
type graphWorkload struct {
	obj  *Object
	ref  Ref
	tmpl *corev1.PodTemplateSpec
	node int
}

// BuildGraph builds the attack graph of an inventory. It reads only the
// typed objects (Object.Typed) and, for Gateway API routes, their raw JSON;
// Secrets contribute their metadata only.
func BuildGraph(inv *Inventory, opts GraphOptions) (*Graph, error) {
	cj := DefaultCrownJewels
	if opts.CrownJewels != nil {
		cj = *opts.CrownJewels
	}
	crown, err := cj.compile()
	if err != nil {
		return nil, fmt.Errorf("build attack graph: %v", err)
	}
	b := &graphBuilder{
		g:           &Graph{index: map[string]int{}, workloadContainers: map[int][]int{}},
		crown:       crown,
		vulns:       normaliseVulns(opts.Vulns),
		haveVulns:   opts.Vulns != nil,
		labelIndex:  map[string]map[string][]int{},
		saByNS:      map[string][]int{},
		secretsByNS: map[string][]int{},
		contByNS:    map[string][]int{},
		nsLabels:    map[string]map[string]string{},
		saObjs:      map[string]*Object{},
	}
	b.internet = b.g.node("internet", NodeInternet, nil)
	if inv != nil {
		b.collect(inv.Objects)
	}
	b.inv = inv
	b.workloadNodes()
	b.entries()
	if !opts.NoPodNetwork {
		b.podNetwork()
	}
	b.secrets()
	b.serviceAccounts()
	b.rbac()
	b.hosts()
	b.g.finish()
	return b.g, nil
}

type graphBuilder struct {
	g         *Graph
	inv       *Inventory
	crown     *crownMatcher
	vulns     map[string]VulnSummary
	haveVulns bool
	internet  int

	workloads  []*graphWorkload
	services   []*Object
	ingresses  []*Object
	routes     []*Object
	sas        []*Object
	saObjs     map[string]*Object
	secretObjs []*Object
	netpols    []*networkingv1.NetworkPolicy
	nodeCount  int

	// labelIndex maps namespace → "key=value" → indexes into workloads.
	labelIndex  map[string]map[string][]int
	saByNS      map[string][]int
	secretsByNS map[string][]int
	contByNS    map[string][]int
	nsLabels    map[string]map[string]string
	// escapes lists the container nodes that can escape to their node.
	escapes []graphEscape
	// containers lists every container node.
	containers []int
	anyNode    int
	hasAnyNode bool
}

type graphEscape struct {
	container int
	p         float64
	evidence  string
}

func (b *graphBuilder) collect(objs []*Object) {
	present := map[Ref]bool{}
	for _, o := range objs {
		if o != nil {
			present[o.Ref()] = true
		}
	}
	for _, o := range objs {
		if o == nil {
			continue
		}
		switch t := o.Typed.(type) {
		case *corev1.Service:
			b.services = append(b.services, o)
			continue
		case *networkingv1.Ingress:
			b.ingresses = append(b.ingresses, o)
			continue
		case *corev1.ServiceAccount:
			b.sas = append(b.sas, o)
			b.saObjs[o.Namespace+"/"+o.Name] = o
			continue
		case *corev1.Secret:
			b.secretObjs = append(b.secretObjs, o)
			continue
		case *networkingv1.NetworkPolicy:
			b.netpols = append(b.netpols, t)
			continue
		case *corev1.Namespace:
			b.nsLabels[o.Name] = o.Labels
			continue
		case *corev1.Node:
			b.nodeCount++
			continue
		}
		if _, ok := o.Route(); ok {
			b.routes = append(b.routes, o)
			continue
		}
		w, ok := o.Workload()
		if !ok {
			continue
		}
		// A live cluster lists a Deployment, its ReplicaSets and their
		// Pods; the controller speaks for the objects it owns.
		if m, ok := o.Typed.(metav1.Object); ok && ownerPresent(m.GetOwnerReferences(), o.Namespace, present) {
			continue
		}
		tmpl := w.Template
		b.workloads = append(b.workloads, &graphWorkload{obj: o, ref: o.Ref(), tmpl: tmpl})
	}
}

func ownerPresent(owners []metav1.OwnerReference, ns string, present map[Ref]bool) bool {
	for _, or := range owners {
		if or.Controller != nil && *or.Controller && present[Ref{Kind: or.Kind, Namespace: ns, Name: or.Name}] {
			return true
		}
	}
	return false
}

func (b *graphBuilder) workloadNodes() {
	g := b.g
	for wi, w := range b.workloads {
		ref := w.ref
		w.node = g.node(ref.String(), NodeWorkload, &ref)
		why := b.crown.match(w.obj.Labels, w.obj.Name)
		if why == "" {
			why = b.crown.match(w.tmpl.Labels, w.obj.Name)
		}
		g.Nodes[w.node].CrownJewel = why
		idx := b.labelIndex[ref.Namespace]
		if idx == nil {
			idx = map[string][]int{}
			b.labelIndex[ref.Namespace] = idx
		}
		for k, v := range w.tmpl.Labels {
			idx[k+"="+v] = append(idx[k+"="+v], wi)
		}
		spec := &w.tmpl.Spec
		if spec.HostNetwork {
			g.edge(b.internet, w.node, EdgeExposes, pHostNetwork,
				fmt.Sprintf("%s %s/%s uses hostNetwork: true, so its ports listen on the node's addresses", ref.Kind, ref.Namespace, ref.Name))
		}
		saName := spec.ServiceAccountName
		if saName == "" {
			saName = spec.DeprecatedServiceAccount
		}
		if saName == "" {
			saName = "default"
		}
		saRef := Ref{Kind: "ServiceAccount", Namespace: ref.Namespace, Name: saName}
		sa := g.node(saRef.String(), NodeServiceAccount, &saRef)
		for _, c := range spec.Containers {
			b.container(w, c, sa)
		}
	}
}

func (b *graphBuilder) container(w *graphWorkload, c corev1.Container, sa int) {
	g := b.g
	ref := w.ref
	id := ref.String() + "/containers/" + c.Name
	cn := g.node(id, NodeContainer, &ref)
	g.Nodes[cn].Container = c.Name
	g.Nodes[cn].Image = c.Image
	if g.Nodes[w.node].CrownJewel != "" {
		g.Nodes[cn].CrownJewel = g.Nodes[w.node].CrownJewel
		g.Nodes[cn].Target = g.Nodes[w.node].ID
	}
	g.workloadContainers[w.node] = append(g.workloadContainers[w.node], cn)
	b.containers = append(b.containers, cn)
	b.contByNS[ref.Namespace] = append(b.contByNS[ref.Namespace], cn)

	p, why := b.exploit(c.Image)
	if v, ok := b.vulns[graphImageKey(c.Image)]; ok {
		v := v
		g.Nodes[cn].Vulns = &v
	}
	g.edge(w.node, cn, EdgeExploits, p, fmt.Sprintf("container %s runs image %s: %s", c.Name, c.Image, why))

	for _, hp := range c.Ports {
		if hp.HostPort != 0 {
			g.edge(b.internet, w.node, EdgeExposes, pHostPort,
				fmt.Sprintf("container %s of %s %s/%s binds hostPort %d on its node", c.Name, ref.Kind, ref.Namespace, ref.Name, hp.HostPort))
		}
	}

	spec := &w.tmpl.Spec
	automount := true
	if spec.AutomountServiceAccountToken != nil {
		automount = *spec.AutomountServiceAccountToken
	} else if b.saAutomountOff(ref.Namespace, g.Nodes[sa].Object.Name) {
		automount = false
	}
	if automount {
		g.edge(cn, sa, EdgeToken, pToken,
			fmt.Sprintf("container %s has the token of ServiceAccount %s/%s mounted (automountServiceAccountToken not false)", c.Name, ref.Namespace, g.Nodes[sa].Object.Name))
	}

	if p, why := graphEscapeOf(spec, c); p > 0 {
		b.escapes = append(b.escapes, graphEscape{container: cn, p: p, evidence: fmt.Sprintf("container %s of %s %s/%s: %s", c.Name, ref.Kind, ref.Namespace, ref.Name, why)})
	}
}

func (b *graphBuilder) saAutomountOff(ns, name string) bool {
	o := b.saObjs[ns+"/"+name]
	if o == nil {
		return false
	}
	sa := o.Typed.(*corev1.ServiceAccount)
	return sa.AutomountServiceAccountToken != nil && !*sa.AutomountServiceAccountToken
}

// exploit weighs how likely an attacker with network reach to a container
// gets code execution in it, from its image's vulnerabilities.
func (b *graphBuilder) exploit(image string) (float64, string) {
	v, ok := b.vulns[graphImageKey(image)]
	switch {
	case !ok && !b.haveVulns:
		return pUnknownVulns, "no vulnerability data, assumed exploitable"
	case !ok:
		return pUnknownVulns, "image not in the vulnerability data, assumed exploitable"
	case v.KEV > 0:
		return pKEV, fmt.Sprintf("%d known-exploited (CISA KEV) vulnerabilities%s", v.KEV, cveList(v.CVEs))
	case v.Critical > 0:
		return pCritical, fmt.Sprintf("%d critical vulnerabilities%s", v.Critical, cveList(v.CVEs))
	case v.MaxScore >= 7:
		return pHigh, fmt.Sprintf("highest CVSS %.1f%s", v.MaxScore, cveList(v.CVEs))
	}
	return pNoVulns, "no high or critical vulnerabilities"
}

func cveList(cves []string) string {
	if len(cves) == 0 {
		return ""
	}
	if len(cves) > maxCVEsInEvidence {
		return " (" + strings.Join(cves[:maxCVEsInEvidence], ", ") + ", …)"
	}
	return " (" + strings.Join(cves, ", ") + ")"
}

// graphImageKey normalises an image reference for the vulnerability map.
func graphImageKey(image string) string {
	s := strings.TrimPrefix(image, "docker.io/")
	s = strings.TrimPrefix(s, "index.docker.io/")
	s = strings.TrimPrefix(s, "library/")
	if !strings.Contains(s, "@") {
		slash := strings.LastIndex(s, "/")
		if i := strings.LastIndex(s, ":"); i <= slash {
			s += ":latest"
		}
	}
	return s
}

func normaliseVulns(m map[string]VulnSummary) map[string]VulnSummary {
	out := make(map[string]VulnSummary, len(m))
	for k, v := range m {
		out[graphImageKey(k)] = v
	}
	return out
}

// sensitiveHostPaths are host paths whose mount hands over the node.
var sensitiveHostPaths = map[string]bool{
	"/": true, "/etc": true, "/root": true, "/var/lib/kubelet": true, "/etc/kubernetes": true,
	"/var/lib/etcd": true, "/var/lib/docker": true, "/proc": true, "/home": true, "/var/run": true, "/run": true,
}

func isRuntimeSocket(p string) bool {
	return strings.HasSuffix(p, "docker.sock") || strings.HasSuffix(p, "containerd.sock") || strings.HasSuffix(p, "crio.sock")
}

// graphEscapeOf says how likely code in the container gets root on its
// node, and why.
func graphEscapeOf(spec *corev1.PodSpec, c corev1.Container) (float64, string) {
	best := 0.0
	var why []string
	add := func(p float64, s string) {
		if p > best {
			best = p
		}
		why = append(why, s)
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.Privileged != nil && *sc.Privileged {
			add(0.9, "privileged: true")
		}
		if sc.Capabilities != nil {
			for _, capName := range sc.Capabilities.Add {
				switch strings.TrimPrefix(strings.ToUpper(string(capName)), "CAP_") {
				case "SYS_ADMIN", "ALL", "SYS_MODULE":
					add(0.7, "capability "+string(capName)+" added")
				case "SYS_PTRACE":
					if spec.HostPID {
						add(0.7, "capability SYS_PTRACE with hostPID")
					}
				}
			}
		}
	}
	if spec.HostPID {
		add(0.6, "hostPID: true")
	}
	vols := map[string]*corev1.HostPathVolumeSource{}
	for i := range spec.Volumes {
		if hp := spec.Volumes[i].HostPath; hp != nil {
			vols[spec.Volumes[i].Name] = hp
		}
	}
	for _, m := range c.VolumeMounts {
		hp := vols[m.Name]
		if hp == nil {
			continue
		}
		p := strings.TrimSuffix(hp.Path, "/")
		if p == "" {
			p = "/"
		}
		ro := ""
		if m.ReadOnly {
			ro = " read-only"
		}
		desc := fmt.Sprintf("hostPath %s mounted%s at %s", hp.Path, ro, m.MountPath)
		switch {
		case isRuntimeSocket(p):
			add(0.9, desc+" (container runtime socket)")
		case sensitiveHostPaths[p] && !m.ReadOnly:
			add(0.8, desc)
		case sensitiveHostPaths[p]:
			add(0.5, desc)
		case !m.ReadOnly:
			add(0.5, desc)
		default:
			add(0.2, desc)
		}
	}
	return best, strings.Join(why, "; ")
}

func (b *graphBuilder) hostAny() int {
	if !b.hasAnyNode {
		b.anyNode = b.g.node("Node/*", NodeHost, nil)
		b.hasAnyNode = true
	}
	return b.anyNode
}

// hosts adds the escapes to nodes and the control of every container from
// root on a node. Pods carry no placement in manifests, so one node stands
// for "any node" and controls every container.
func (b *graphBuilder) hosts() {
	for _, e := range b.escapes {
		b.g.edge(e.container, b.hostAny(), EdgeEscapes, e.p, e.evidence)
	}
	if !b.hasAnyNode {
		return
	}
	for _, c := range b.containers {
		n := b.g.Nodes[c]
		b.g.edge(b.anyNode, c, EdgeControls, pControl,
			fmt.Sprintf("root on a node controls container %s of %s %s (it may be scheduled there)", n.Container, n.Object.Kind, nsName(*n.Object)))
	}
}

func selectorText(sel map[string]string) string {
	keys := make([]string, 0, len(sel))
	for k := range sel {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + sel[k]
	}
	return strings.Join(parts, ",")
}

// selected returns the workloads of a namespace whose pod labels match a
// Service-style equality selector.
func (b *graphBuilder) selected(ns string, sel map[string]string) []*graphWorkload {
	if len(sel) == 0 {
		return nil
	}
	idx := b.labelIndex[ns]
	var cand []int
	first := true
	for k, v := range sel {
		l := idx[k+"="+v]
		if first || len(l) < len(cand) {
			cand, first = l, false
		}
	}
	var out []*graphWorkload
	for _, wi := range cand {
		w := b.workloads[wi]
		if labels.SelectorFromSet(sel).Matches(labels.Set(w.tmpl.Labels)) {
			out = append(out, w)
		}
	}
	return out
}

func internalLB(ann map[string]string) string {
	for _, k := range []string{
		"service.beta.kubernetes.io/aws-load-balancer-internal",
		"service.beta.kubernetes.io/azure-load-balancer-internal",
		"networking.gke.io/load-balancer-type",
		"cloud.google.com/load-balancer-type",
		"service.beta.kubernetes.io/aws-load-balancer-scheme",
	} {
		v := strings.ToLower(ann[k])
		if v == "true" || v == "internal" {
			return k + ": " + ann[k]
		}
	}
	return ""
}

func servicePorts(s *corev1.Service) string {
	var ps []string
	for _, p := range s.Spec.Ports {
		t := strconv.Itoa(int(p.Port))
		if s.Spec.Type == corev1.ServiceTypeNodePort && p.NodePort != 0 {
			t += " (nodePort " + strconv.Itoa(int(p.NodePort)) + ")"
		}
		ps = append(ps, t)
	}
	if len(ps) == 1 {
		return "port " + ps[0]
	}
	return "ports " + strings.Join(ps, ", ")
}

// entries adds Services, Ingresses and Gateway API routes.
func (b *graphBuilder) entries() {
	g := b.g
	svcNode := map[string]int{}
	for _, o := range b.services {
		s := o.Typed.(*corev1.Service)
		ref := o.Ref()
		n := g.node(ref.String(), NodeEntry, &ref)
		svcNode[o.Namespace+"/"+o.Name] = n
		switch s.Spec.Type {
		case corev1.ServiceTypeLoadBalancer:
			p, extra := pLoadBalancer, ""
			if why := internalLB(o.Annotations); why != "" {
				p, extra = pInternalLB, " marked internal ("+why+")"
			} else if len(s.Spec.LoadBalancerSourceRanges) > 0 {
				p, extra = pInternalLB, " restricted to "+strings.Join(s.Spec.LoadBalancerSourceRanges, ", ")
			}
			g.edge(b.internet, n, EdgeExposes, p, fmt.Sprintf("Service %s/%s type LoadBalancer %s%s", o.Namespace, o.Name, servicePorts(s), extra))
		case corev1.ServiceTypeNodePort:
			g.edge(b.internet, n, EdgeExposes, pNodePort, fmt.Sprintf("Service %s/%s type NodePort %s on every node", o.Namespace, o.Name, servicePorts(s)))
		}
		for _, w := range b.selected(o.Namespace, s.Spec.Selector) {
			g.edge(n, w.node, EdgeSelects, 1, fmt.Sprintf("Service %s/%s %s selects %s: pods of %s %s", o.Namespace, o.Name, servicePorts(s), selectorText(s.Spec.Selector), w.ref.Kind, nsName(w.ref)))
		}
	}
	for _, o := range b.ingresses {
		ing := o.Typed.(*networkingv1.Ingress)
		ref := o.Ref()
		n := g.node(ref.String(), NodeEntry, &ref)
		var hosts []string
		for _, r := range ing.Spec.Rules {
			if r.Host != "" {
				hosts = append(hosts, r.Host)
			}
		}
		where := "any host"
		if len(hosts) > 0 {
			where = "host " + strings.Join(hosts, ", ")
		}
		g.edge(b.internet, n, EdgeExposes, pIngress, fmt.Sprintf("Ingress %s/%s serves %s", o.Namespace, o.Name, where))
		route := func(be *networkingv1.IngressBackend, host, path string) {
			if be == nil || be.Service == nil {
				return
			}
			s, ok := svcNode[o.Namespace+"/"+be.Service.Name]
			if !ok {
				return
			}
			at := "default backend"
			if host != "" || path != "" {
				at = "host " + orAny(host) + " path " + orAny(path)
			}
			g.edge(n, s, EdgeRoutes, 1, fmt.Sprintf("Ingress %s/%s routes %s to Service %s", o.Namespace, o.Name, at, be.Service.Name))
		}
		route(ing.Spec.DefaultBackend, "", "")
		for _, r := range ing.Spec.Rules {
			if r.HTTP == nil {
				continue
			}
			for _, p := range r.HTTP.Paths {
				route(&p.Backend, r.Host, p.Path)
			}
		}
	}
	for _, o := range b.routes {
		rt, ok := o.Route()
		if !ok {
			continue
		}
		ref := o.Ref()
		n := g.node(ref.String(), NodeEntry, &ref)
		var parents []string
		for _, p := range rt.ParentRefs {
			parents = append(parents, p.Name)
		}
		g.edge(b.internet, n, EdgeExposes, pRoute, fmt.Sprintf("%s %s/%s attaches to Gateway %s (hostnames %s)", o.Kind, o.Namespace, o.Name,
			orAny(strings.Join(parents, ", ")), orAny(strings.Join(rt.Hostnames, ", "))))
		for _, be := range rt.Backends {
			if be.Kind != "Service" {
				continue
			}
			if s, ok := svcNode[be.Namespace+"/"+be.Name]; ok {
				g.edge(n, s, EdgeRoutes, 1, fmt.Sprintf("%s %s/%s routes to Service %s/%s", o.Kind, o.Namespace, o.Name, be.Namespace, be.Name))
			}
		}
	}
}

func orAny(s string) string {
	if s == "" {
		return "*"
	}
	return s
}

// podNetwork adds lateral movement: every container can open connections
// to the pods of workloads that listen (declare a port or back a Service)
// and that no NetworkPolicy isolates for ingress.
func (b *graphBuilder) podNetwork() {
	g := b.g
	if len(b.containers) == 0 {
		return
	}
	hub := g.node("network:pods", NodeNetwork, nil)
	for _, c := range b.containers {
		g.edge(c, hub, EdgeConnects, 1, "pods can open connections to any pod IP unless a NetworkPolicy isolates the destination")
	}
	listens := map[int]bool{}
	for _, e := range g.Edges {
		if e.Kind == EdgeSelects {
			listens[e.To] = true
		}
	}
	for _, w := range b.workloads {
		if !listens[w.node] && !declaresPort(&w.tmpl.Spec) {
			continue
		}
		if pol := b.isolatingPolicy(w); pol != "" {
			continue
		}
		g.edge(hub, w.node, EdgeConnects, pPodNetwork,
			fmt.Sprintf("no NetworkPolicy in namespace %s isolates the pods of %s %s for ingress", orDefault(w.ref.Namespace), w.ref.Kind, nsName(w.ref)))
	}
}

func orDefault(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}

func declaresPort(spec *corev1.PodSpec) bool {
	for _, c := range spec.Containers {
		if len(c.Ports) > 0 {
			return true
		}
	}
	return false
}

// isolatingPolicy names a NetworkPolicy that isolates the workload's pods
// for ingress without allowing every source, or returns "". Policies whose
// rules allow some peers are taken as isolating: the graph does not yet
// evaluate peers.
func (b *graphBuilder) isolatingPolicy(w *graphWorkload) string {
	for _, np := range b.netpols {
		if np.Namespace != w.ref.Namespace {
			continue
		}
		ingress := len(np.Spec.PolicyTypes) == 0
		for _, t := range np.Spec.PolicyTypes {
			if t == networkingv1.PolicyTypeIngress {
				ingress = true
			}
		}
		if !ingress {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil || !sel.Matches(labels.Set(w.tmpl.Labels)) {
			continue
		}
		allowAll := false
		for _, r := range np.Spec.Ingress {
			if len(r.From) == 0 {
				allowAll = true
			}
		}
		if !allowAll {
			return np.Name
		}
	}
	return ""
}

// cloudIdentityAnnotations map ServiceAccount annotations to the cloud
// identity they bind.
var cloudIdentityAnnotations = []struct{ key, cloud string }{
	{"eks.amazonaws.com/role-arn", "aws"},
	{"iam.gke.io/gcp-service-account", "gcp"},
	{"azure.workload.identity/client-id", "azure"},
}

func (b *graphBuilder) serviceAccounts() {
	g := b.g
	for _, o := range b.sas {
		ref := o.Ref()
		g.node(ref.String(), NodeServiceAccount, &ref)
	}
	for _, o := range b.sas {
		sa := g.index[o.Ref().String()]
		for _, a := range cloudIdentityAnnotations {
			v := o.Annotations[a.key]
			if v == "" {
				continue
			}
			ci := g.node("CloudIdentity/"+a.cloud+"/"+v, NodeCloudIdentity, nil)
			g.edge(sa, ci, EdgeAssumes, pCloudIdentity,
				fmt.Sprintf("ServiceAccount %s/%s is annotated %s=%s: its token is exchanged for that %s identity", o.Namespace, o.Name, a.key, v, a.cloud))
		}
	}
	for i, n := range g.Nodes {
		if n.Kind == NodeServiceAccount {
			b.saByNS[n.Object.Namespace] = append(b.saByNS[n.Object.Namespace], i)
		}
	}
}

func (b *graphBuilder) secrets() {
	g := b.g
	for _, o := range b.secretObjs {
		ref := o.Ref()
		n := g.node(ref.String(), NodeSecret, &ref)
		g.Nodes[n].CrownJewel = b.crown.match(o.Labels, o.Name)
		b.secretsByNS[o.Namespace] = append(b.secretsByNS[o.Namespace], n)
		s := o.Typed.(*corev1.Secret)
		if s.Type == corev1.SecretTypeServiceAccountToken {
			if name := o.Annotations[corev1.ServiceAccountNameKey]; name != "" {
				saRef := Ref{Kind: "ServiceAccount", Namespace: o.Namespace, Name: name}
				sa := g.node(saRef.String(), NodeServiceAccount, &saRef)
				g.edge(n, sa, EdgeToken, pSecretToken, fmt.Sprintf("Secret %s/%s holds a token of ServiceAccount %s", o.Namespace, o.Name, name))
			}
		}
	}
}
