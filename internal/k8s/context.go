package k8s

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/sextant-dev/sextant"
)

// DefaultEnvironmentKeys are the label and annotation keys that name a
// workload's or namespace's environment when ContextOptions names none.
var DefaultEnvironmentKeys = []string{"environment", "env", "app.kubernetes.io/environment"}

// DefaultOwnerKeys are the label and annotation keys that name a workload's
// or namespace's owner when ContextOptions names none.
var DefaultOwnerKeys = []string{"owner", "team", "app.kubernetes.io/owner", "backstage.io/owner"}

// ContextOptions configures BuildContext.
type ContextOptions struct {
	// Cluster names the cluster when the inventory does not.
	Cluster string
	// EnvironmentKeys and OwnerKeys are the label and annotation keys read,
	// in order of preference; nil means DefaultEnvironmentKeys and
	// DefaultOwnerKeys.
	EnvironmentKeys []string
	OwnerKeys       []string
	// NamespaceEnvironments and NamespaceTeams give the environment and
	// the owning team of the workloads of a namespace, when neither the
	// workload nor the Namespace object says.
	NamespaceEnvironments map[string]string
	NamespaceTeams        map[string]string
	// Backstage entities give the owner of the workloads they match (see
	// BackstageEntity.Matches).
	Backstage []BackstageEntity
}

// Context is the workload context of an inventory: for every workload what
// it runs, how it is reached, what it may do and who owns it. It answers
// for images (ForArtifact, for the risk score) and for workloads (Workload,
// for checks and attack paths). It is read-only once built and safe for
// concurrent use.
//
// How the facts are established:
//   - Exposure: Services of type LoadBalancer (unless annotated internal)
//     or NodePort, or with externalIPs, whose selector matches the pod
//     template's labels; Ingress rules and Gateway API routes whose backend
//     is a Service selecting the pods; hostNetwork; hostPort.
//   - Privilege: privileged containers, hostPID, dangerous added
//     capabilities and sensitive hostPath volumes let a container reach the
//     node (Privilege.Escape, which makes the workload Privileged); hostIPC,
//     hostNetwork, other capabilities and hostPath volumes, an explicit
//     allowPrivilegeEscalation: true, running as root (or possibly as root:
//     no runAsNonRoot and no runAsUser) and an automounted service account
//     token are listed without that weight.
//   - Identity: the service account's RBAC permissions (Inventory.RBAC) and
//     cloud identity annotations (EKS IRSA, GKE workload identity, Azure
//     workload identity with the pod label that turns it on).
//   - Environment and owner: the first of the workload's labels, its
//     annotations, the pod template's labels and annotations (keys in
//     option order), a matching Backstage entity (owner only), the Namespace
//     object's labels and annotations, the namespace maps of the options,
//     and for the environment a namespace named like one ("prod",
//     "staging"…). Environments are normalized: prod/prd/live are
//     "production", stage/stg/preprod/uat are "staging", dev is
//     "development", qa is "test".
//
// A workload owned by a controller that is in the inventory (a Pod of a
// ReplicaSet of a Deployment, from a live cluster) is described by
// Workload but counted once, under its top-level owner, everywhere else.
type Context struct {
	// Cluster names the cluster.
	Cluster string

	all   []*WorkloadContext
	top   []*WorkloadContext
	byRef map[Ref]*WorkloadContext
	// Images of top-level workloads, by digest ("sha256:…") and by
	// normalized repository:tag.
	byDigest map[string][]cxImageUse
	byTag    map[string][]cxImageUse
}

type cxImageUse struct {
	w *WorkloadContext
	// digest pins the reference ("" when it has none).
	digest string
}

// WorkloadContext is what is known about one workload.
type WorkloadContext struct {
	Ref       Ref       `json:"ref"`
	Workload  *Workload `json:"-"`
	Cluster   string    `json:"cluster,omitempty"`
	Namespace string    `json:"namespace,omitempty"`
	// OwnedBy is the controller in the inventory that owns the workload,
	// when there is one; such a workload is not counted on its own.
	OwnedBy *Ref             `json:"owned_by,omitempty"`
	Images  []ContainerImage `json:"images"`
	// Replicas is the desired pod count; a DaemonSet counts the Nodes of
	// the inventory, or 1 when it holds none.
	Replicas int `json:"replicas"`

	// Exposures say how the workload is reached from outside the cluster.
	Exposures []Exposure `json:"exposures,omitempty"`
	// Services are every Service selecting the pods, of any type.
	Services []Ref `json:"services,omitempty"`

	Privileges []Privilege `json:"privileges,omitempty"`

	ServiceAccount string `json:"service_account"`
	// TokenMounted says whether the service account token is mounted.
	TokenMounted    bool            `json:"token_mounted"`
	Permissions     []Permission    `json:"permissions,omitempty"`
	Grants          []Grant         `json:"grants,omitempty"`
	CloudIdentities []CloudIdentity `json:"cloud_identities,omitempty"`

	// IngressPolicies and EgressPolicies are the NetworkPolicies of the
	// namespace that select the pods for ingress and egress; none means
	// the pods accept (or send) any traffic.
	IngressPolicies []Ref `json:"ingress_policies,omitempty"`
	EgressPolicies  []Ref `json:"egress_policies,omitempty"`

	Environment         string `json:"environment,omitempty"`
	EnvironmentEvidence string `json:"environment_evidence,omitempty"`
	Owner               string `json:"owner,omitempty"`
	OwnerEvidence       string `json:"owner_evidence,omitempty"`
}

// Exposure is one way a workload is reached from outside the cluster.
type Exposure struct {
	// Kind is "LoadBalancer", "NodePort", "ExternalIP", "Ingress", the
	// route kind ("HTTPRoute"…), "hostNetwork" or "hostPort".
	Kind string `json:"kind"`
	// Via is the Service, Ingress or route (zero for host networking).
	Via Ref `json:"via,omitzero"`
	// Service is the Service an Ingress or route sends traffic to.
	Service *Ref `json:"service,omitempty"`
	// Port is the Service, Ingress backend or host port (0: unknown).
	Port  int      `json:"port,omitempty"`
	Hosts []string `json:"hosts,omitempty"`
	// Internal marks a LoadBalancer annotated as internal to the cloud
	// network: listed, but not counted as exposed to the internet.
	Internal bool   `json:"internal,omitempty"`
	Evidence string `json:"evidence"`
}

// Privilege is one privileged setting of a workload.
type Privilege struct {
	// Kind is "privileged", "hostPID", "hostIPC", "hostNetwork",
	// "capabilities", "hostPath", "allowPrivilegeEscalation", "runAsRoot"
	// or "automountToken".
	Kind string `json:"kind"`
	// Container is the container concerned ("" for pod-level settings).
	Container string `json:"container,omitempty"`
	// Escape marks settings that let the container reach the node.
	Escape   bool   `json:"escape,omitempty"`
	Evidence string `json:"evidence"`
}

// CloudIdentity is a cloud IAM identity a workload's service account
// assumes.
type CloudIdentity struct {
	// Provider is "aws", "gcp" or "azure".
	Provider string `json:"provider"`
	// Identity is the role ARN, Google service account or Azure client ID.
	Identity       string `json:"identity"`
	ServiceAccount Ref    `json:"service_account"`
	Evidence       string `json:"evidence"`
}

// Exposed reports whether any exposure reaches the workload from outside
// the cloud network.
func (w *WorkloadContext) Exposed() bool {
	return slices.ContainsFunc(w.Exposures, func(e Exposure) bool { return !e.Internal })
}

// Privileged reports whether any privilege lets a container reach the node.
func (w *WorkloadContext) Privileged() bool {
	return slices.ContainsFunc(w.Privileges, func(p Privilege) bool { return p.Escape })
}

// IngressIsolated reports whether a NetworkPolicy restricts traffic to the
// pods.
func (w *WorkloadContext) IngressIsolated() bool { return len(w.IngressPolicies) > 0 }

// Workloads returns the top-level workloads (those not owned by another
// workload of the inventory), in inventory order.
func (c *Context) Workloads() []*WorkloadContext { return c.top }

// Workload returns the context of any workload of the inventory, or nil.
func (c *Context) Workload(ref Ref) *WorkloadContext {
	if c == nil {
		return nil
	}
	return c.byRef[ref]
}

// cxBuild holds the indexes BuildContext uses.
type cxBuild struct {
	opts       ContextOptions
	inv        *Inventory
	rbac       *RBAC
	perms      map[Subject][]Permission
	namespaces map[string]*Object
	sas        map[Ref]*Object
	services   map[string][]*cxService // by namespace
	policies   map[string][]*cxPolicy
	// fronts lists, per Service, the Ingresses and routes sending to it.
	fronts  map[Ref][]cxFront
	present map[Ref]bool
	nodes   int
}

type cxService struct {
	obj *Object
	svc *corev1.Service
}

type cxPolicy struct {
	obj     *Object
	sel     labels.Selector
	ingress bool
	egress  bool
}

type cxFront struct {
	kind  string
	via   Ref
	port  int
	hosts []string
	extra string // "(Gateway ns/name)" for routes
}

// BuildContext establishes the context of every workload of inv.
func BuildContext(inv *Inventory, opts ContextOptions) *Context {
	if opts.EnvironmentKeys == nil {
		opts.EnvironmentKeys = DefaultEnvironmentKeys
	}
	if opts.OwnerKeys == nil {
		opts.OwnerKeys = DefaultOwnerKeys
	}
	if inv == nil {
		inv = &Inventory{}
	}
	b := &cxBuild{
		opts: opts, inv: inv, rbac: inv.RBAC(),
		perms:      map[Subject][]Permission{},
		namespaces: map[string]*Object{},
		sas:        map[Ref]*Object{},
		services:   map[string][]*cxService{},
		policies:   map[string][]*cxPolicy{},
		fronts:     map[Ref][]cxFront{},
		present:    map[Ref]bool{},
	}
	c := &Context{
		Cluster:  inv.Cluster,
		byRef:    map[Ref]*WorkloadContext{},
		byDigest: map[string][]cxImageUse{},
		byTag:    map[string][]cxImageUse{},
	}
	if c.Cluster == "" {
		c.Cluster = opts.Cluster
	}
	b.index()
	for _, o := range inv.Objects {
		w, ok := o.Workload()
		if !ok {
			continue
		}
		wc := b.workload(w, c.Cluster)
		c.all = append(c.all, wc)
		c.byRef[wc.Ref] = wc
		if wc.OwnedBy != nil {
			continue
		}
		c.top = append(c.top, wc)
		seen := map[string]bool{}
		for _, im := range wc.Images {
			repo, tag, digest := cxNormalizeImage(im.Image)
			if digest != "" && !seen["@"+digest] {
				seen["@"+digest] = true
				c.byDigest[digest] = append(c.byDigest[digest], cxImageUse{w: wc, digest: digest})
			}
			if tag != "" && !seen[repo+":"+tag] {
				seen[repo+":"+tag] = true
				c.byTag[repo+":"+tag] = append(c.byTag[repo+":"+tag], cxImageUse{w: wc, digest: digest})
			}
		}
	}
	return c
}

func (b *cxBuild) index() {
	for _, o := range b.inv.Objects {
		b.present[o.Ref()] = true
		switch t := o.Typed.(type) {
		case *corev1.Namespace:
			b.namespaces[o.Name] = o
		case *corev1.Node:
			b.nodes++
		case *corev1.ServiceAccount:
			b.sas[o.Ref()] = o
		case *corev1.Service:
			b.services[o.Namespace] = append(b.services[o.Namespace], &cxService{obj: o, svc: t})
		case *networkingv1.NetworkPolicy:
			sel, err := metav1.LabelSelectorAsSelector(&t.Spec.PodSelector)
			if err != nil {
				continue
			}
			p := &cxPolicy{obj: o, sel: sel}
			for _, pt := range t.Spec.PolicyTypes {
				p.ingress = p.ingress || pt == networkingv1.PolicyTypeIngress
				p.egress = p.egress || pt == networkingv1.PolicyTypeEgress
			}
			if len(t.Spec.PolicyTypes) == 0 {
				p.ingress, p.egress = true, len(t.Spec.Egress) > 0
			}
			b.policies[o.Namespace] = append(b.policies[o.Namespace], p)
		case *networkingv1.Ingress:
			b.ingress(o, t)
		case nil:
			if rt, ok := o.Route(); ok {
				b.route(o, rt)
			}
		}
	}
}

func (b *cxBuild) ingress(o *Object, ing *networkingv1.Ingress) {
	add := func(be *networkingv1.IngressBackend, host string) {
		if be == nil || be.Service == nil || be.Service.Name == "" {
			return
		}
		svc := Ref{Kind: "Service", Namespace: o.Namespace, Name: be.Service.Name}
		f := cxFront{kind: "Ingress", via: o.Ref(), port: int(be.Service.Port.Number)}
		if host != "" {
			f.hosts = []string{host}
		}
		// One front per Ingress and Service: merge hosts.
		for i, x := range b.fronts[svc] {
			if x.via == f.via {
				if host != "" && !slices.Contains(x.hosts, host) {
					b.fronts[svc][i].hosts = append(b.fronts[svc][i].hosts, host)
				}
				return
			}
		}
		b.fronts[svc] = append(b.fronts[svc], f)
	}
	add(ing.Spec.DefaultBackend, "")
	for _, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for _, p := range r.HTTP.Paths {
			add(&p.Backend, r.Host)
		}
	}
}

func (b *cxBuild) route(o *Object, rt *Route) {
	extra := ""
	if len(rt.ParentRefs) > 0 {
		p := rt.ParentRefs[0]
		extra = fmt.Sprintf(" (%s %s/%s)", p.Kind, p.Namespace, p.Name)
	}
	for _, be := range rt.Backends {
		if be.Kind != "Service" || (be.Group != "" && be.Group != "core") {
			continue
		}
		svc := Ref{Kind: "Service", Namespace: be.Namespace, Name: be.Name}
		if slices.ContainsFunc(b.fronts[svc], func(f cxFront) bool { return f.via == o.Ref() }) {
			continue
		}
		b.fronts[svc] = append(b.fronts[svc], cxFront{kind: o.Kind, via: o.Ref(), port: be.Port, hosts: rt.Hostnames, extra: extra})
	}
}

// cxInternalLB lists the annotations (and values) that make a cloud load
// balancer internal.
var cxInternalLB = map[string][]string{
	"service.beta.kubernetes.io/aws-load-balancer-internal":              {"true", "0.0.0.0/0"},
	"service.beta.kubernetes.io/aws-load-balancer-scheme":                {"internal"},
	"networking.gke.io/load-balancer-type":                               {"internal"},
	"cloud.google.com/load-balancer-type":                                {"internal"},
	"service.beta.kubernetes.io/azure-load-balancer-internal":            {"true"},
	"service.beta.kubernetes.io/oci-load-balancer-internal":              {"true"},
	"service.kubernetes.io/ibm-load-balancer-cloud-provider-ip-type":     {"private"},
	"service.beta.kubernetes.io/openstack-internal-load-balancer":        {"true"},
	"service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type": {"intranet"},
}

func cxIsInternalLB(ann map[string]string) (string, bool) {
	for k, vals := range cxInternalLB {
		if v, ok := ann[k]; ok && slices.Contains(vals, strings.ToLower(v)) {
			return k + ": " + v, true
		}
	}
	return "", false
}

func (b *cxBuild) workload(w *Workload, cluster string) *WorkloadContext {
	o := w.Object
	wc := &WorkloadContext{
		Ref: o.Ref(), Workload: w, Cluster: cluster, Namespace: o.Namespace,
		Images: w.Images(), Replicas: w.Replicas,
	}
	if o.Source.Cluster != "" {
		wc.Cluster = o.Source.Cluster
	}
	if m, ok := o.Typed.(metav1.Object); ok {
		for _, or := range m.GetOwnerReferences() {
			ref := Ref{Kind: or.Kind, Namespace: o.Namespace, Name: or.Name}
			if or.Controller != nil && *or.Controller && b.present[ref] {
				wc.OwnedBy = &ref
				break
			}
		}
	}
	if o.Kind == "DaemonSet" && b.nodes > 0 {
		wc.Replicas = b.nodes
	}
	spec := &w.Template.Spec
	podLabels := w.Template.Labels
	b.exposure(wc, spec, podLabels)
	b.privilege(wc, spec)
	b.identity(wc, spec, podLabels)
	for _, p := range b.policies[o.Namespace] {
		if !p.sel.Matches(labels.Set(podLabels)) {
			continue
		}
		if p.ingress {
			wc.IngressPolicies = append(wc.IngressPolicies, p.obj.Ref())
		}
		if p.egress {
			wc.EgressPolicies = append(wc.EgressPolicies, p.obj.Ref())
		}
	}
	b.environment(wc, w)
	b.owner(wc, w)
	return wc
}

func cxSelects(sel, podLabels map[string]string) bool {
	if len(sel) == 0 {
		return false // a Service without selector selects no pods
	}
	for k, v := range sel {
		if pv, ok := podLabels[k]; !ok || pv != v {
			return false
		}
	}
	return true
}

func (b *cxBuild) exposure(wc *WorkloadContext, spec *corev1.PodSpec, podLabels map[string]string) {
	for _, s := range b.services[wc.Namespace] {
		if !cxSelects(s.svc.Spec.Selector, podLabels) {
			continue
		}
		ref := s.obj.Ref()
		wc.Services = append(wc.Services, ref)
		port := 0
		if len(s.svc.Spec.Ports) > 0 {
			port = int(s.svc.Spec.Ports[0].Port)
		}
		switch typ := s.svc.Spec.Type; typ {
		case corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort:
			e := Exposure{Kind: string(typ), Via: ref, Port: port}
			e.Evidence = fmt.Sprintf("exposed via Service %s/%s port %s", ref.Name, typ, cxPorts(s.svc, typ == corev1.ServiceTypeNodePort))
			if typ == corev1.ServiceTypeLoadBalancer {
				if why, ok := cxIsInternalLB(s.obj.Annotations); ok {
					e.Internal = true
					e.Evidence = fmt.Sprintf("internal load balancer Service %s port %s (%s)", ref.Name, cxPorts(s.svc, false), why)
				} else if len(s.svc.Spec.LoadBalancerSourceRanges) > 0 {
					e.Evidence += " (source ranges " + strings.Join(s.svc.Spec.LoadBalancerSourceRanges, ",") + ")"
				}
			}
			wc.Exposures = append(wc.Exposures, e)
		}
		if len(s.svc.Spec.ExternalIPs) > 0 {
			wc.Exposures = append(wc.Exposures, Exposure{Kind: "ExternalIP", Via: ref, Port: port,
				Evidence: fmt.Sprintf("exposed via Service %s externalIPs %s port %s", ref.Name, strings.Join(s.svc.Spec.ExternalIPs, ","), cxPorts(s.svc, false))})
		}
		for _, f := range b.fronts[ref] {
			svc := ref
			hosts := "any host"
			if len(f.hosts) > 0 {
				hosts = "host " + strings.Join(f.hosts, ",")
			}
			p := f.port
			if p == 0 {
				p = port
			}
			e := Exposure{Kind: f.kind, Via: f.via, Service: &svc, Port: p, Hosts: f.hosts}
			e.Evidence = fmt.Sprintf("exposed via %s %s %s%s → Service %s port %d", f.kind, f.via.Name, hosts, f.extra, ref.Name, p)
			wc.Exposures = append(wc.Exposures, e)
		}
	}
	if spec.HostNetwork {
		wc.Exposures = append(wc.Exposures, Exposure{Kind: "hostNetwork",
			Evidence: "hostNetwork: true: its ports listen on the node's addresses"})
	}
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for _, c := range cs {
			for _, p := range c.Ports {
				if p.HostPort != 0 {
					wc.Exposures = append(wc.Exposures, Exposure{Kind: "hostPort", Port: int(p.HostPort),
						Evidence: fmt.Sprintf("container %s hostPort %d on the node", c.Name, p.HostPort)})
				}
			}
		}
	}
}

// cxPorts renders a Service's ports: "443", "80,443", "80 (nodePort 30080)".
func cxPorts(s *corev1.Service, node bool) string {
	var ps []string
	for _, p := range s.Spec.Ports {
		t := strconv.Itoa(int(p.Port))
		if node && p.NodePort != 0 {
			t += fmt.Sprintf(" (nodePort %d)", p.NodePort)
		}
		ps = append(ps, t)
	}
	if len(ps) == 0 {
		return "?"
	}
	return strings.Join(ps, ",")
}

// cxEscapeCaps are the added capabilities that let a container reach the
// node or other containers' processes.
var cxEscapeCaps = []string{"ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "DAC_READ_SEARCH", "BPF", "SYS_BOOT"}

// cxSensitivePaths are host paths (and what is under them) that let a
// container reach the node; "/" itself too.
var cxSensitivePaths = []string{"/etc", "/proc", "/sys", "/dev", "/boot", "/root", "/home",
	"/var/run", "/run", "/var/lib/kubelet", "/var/lib/docker", "/var/lib/containerd",
	"/var/log", "/lib/modules", "/usr"}

func cxSensitivePath(p string) bool {
	p = strings.TrimRight(p, "/")
	if p == "" {
		return true // "/"
	}
	for _, s := range cxSensitivePaths {
		if p == s || strings.HasPrefix(p, s+"/") {
			return true
		}
	}
	return strings.HasSuffix(p, ".sock")
}

func (b *cxBuild) privilege(wc *WorkloadContext, spec *corev1.PodSpec) {
	add := func(kind, container string, escape bool, format string, args ...any) {
		wc.Privileges = append(wc.Privileges, Privilege{Kind: kind, Container: container, Escape: escape, Evidence: fmt.Sprintf(format, args...)})
	}
	if spec.HostPID {
		add("hostPID", "", true, "hostPID: true: sees and signals the node's processes")
	}
	if spec.HostIPC {
		add("hostIPC", "", false, "hostIPC: true: shares the node's IPC namespace")
	}
	if spec.HostNetwork {
		add("hostNetwork", "", false, "hostNetwork: true: shares the node's network namespace")
	}
	mounts := map[string][]string{} // volume → containers mounting it
	type ctr struct {
		c    corev1.Container
		kind string
	}
	var cs []ctr
	for _, c := range spec.InitContainers {
		cs = append(cs, ctr{c, "init container"})
	}
	for _, c := range spec.Containers {
		cs = append(cs, ctr{c, "container"})
	}
	for _, c := range spec.EphemeralContainers {
		cs = append(cs, ctr{corev1.Container(c.EphemeralContainerCommon), "ephemeral container"})
	}
	psc := spec.SecurityContext
	for _, x := range cs {
		c, sc := x.c, x.c.SecurityContext
		for _, m := range c.VolumeMounts {
			mounts[m.Name] = append(mounts[m.Name], c.Name)
		}
		if sc != nil && sc.Privileged != nil && *sc.Privileged {
			add("privileged", c.Name, true, "privileged %s %s", x.kind, c.Name)
		}
		if sc != nil && sc.AllowPrivilegeEscalation != nil && *sc.AllowPrivilegeEscalation {
			add("allowPrivilegeEscalation", c.Name, false, "%s %s: allowPrivilegeEscalation: true", x.kind, c.Name)
		}
		if sc != nil && sc.Capabilities != nil {
			for _, cp := range sc.Capabilities.Add {
				name := strings.TrimPrefix(strings.ToUpper(string(cp)), "CAP_")
				add("capabilities", c.Name, slices.Contains(cxEscapeCaps, name), "%s %s adds capability %s", x.kind, c.Name, name)
			}
		}
		var user *int64
		var nonRoot *bool
		if psc != nil {
			user, nonRoot = psc.RunAsUser, psc.RunAsNonRoot
		}
		if sc != nil && sc.RunAsUser != nil {
			user = sc.RunAsUser
		}
		if sc != nil && sc.RunAsNonRoot != nil {
			nonRoot = sc.RunAsNonRoot
		}
		switch {
		case user != nil && *user == 0:
			add("runAsRoot", c.Name, false, "%s %s runs as root (runAsUser: 0)", x.kind, c.Name)
		case user == nil && (nonRoot == nil || !*nonRoot):
			add("runAsRoot", c.Name, false, "%s %s may run as root (no runAsNonRoot, no runAsUser)", x.kind, c.Name)
		}
	}
	for _, v := range spec.Volumes {
		if v.HostPath == nil {
			continue
		}
		who := "not mounted"
		if m := mounts[v.Name]; len(m) > 0 {
			who = "mounted by " + strings.Join(m, ",")
		}
		add("hostPath", "", cxSensitivePath(v.HostPath.Path), "hostPath volume %s: %s (%s)", v.Name, v.HostPath.Path, who)
	}
}

func (b *cxBuild) identity(wc *WorkloadContext, spec *corev1.PodSpec, podLabels map[string]string) {
	sa := spec.ServiceAccountName
	if sa == "" {
		sa = spec.DeprecatedServiceAccount
	}
	if sa == "" {
		sa = "default"
	}
	wc.ServiceAccount = sa
	saRef := Ref{Kind: "ServiceAccount", Namespace: wc.Namespace, Name: sa}
	saObj := b.sas[saRef]
	var saTyped *corev1.ServiceAccount
	if saObj != nil {
		saTyped, _ = saObj.Typed.(*corev1.ServiceAccount)
	}
	switch {
	case spec.AutomountServiceAccountToken != nil:
		wc.TokenMounted = *spec.AutomountServiceAccountToken
		if wc.TokenMounted {
			wc.Privileges = append(wc.Privileges, Privilege{Kind: "automountToken",
				Evidence: fmt.Sprintf("token of ServiceAccount %s mounted (automountServiceAccountToken: true)", sa)})
		}
	case saTyped != nil && saTyped.AutomountServiceAccountToken != nil:
		wc.TokenMounted = *saTyped.AutomountServiceAccountToken
		if wc.TokenMounted {
			wc.Privileges = append(wc.Privileges, Privilege{Kind: "automountToken",
				Evidence: fmt.Sprintf("token of ServiceAccount %s mounted (the ServiceAccount sets automountServiceAccountToken: true)", sa)})
		}
	default:
		wc.TokenMounted = true
		wc.Privileges = append(wc.Privileges, Privilege{Kind: "automountToken",
			Evidence: fmt.Sprintf("token of ServiceAccount %s mounted (automountServiceAccountToken not set)", sa)})
	}
	sub := Subject{Kind: "ServiceAccount", Namespace: wc.Namespace, Name: sa}
	perms, ok := b.perms[sub]
	if !ok {
		perms = b.rbac.For(sub)
		b.perms[sub] = perms
	}
	wc.Permissions = perms
	wc.Grants = Grants(perms)
	if saObj == nil {
		return
	}
	ann := saObj.Annotations
	if v := ann["eks.amazonaws.com/role-arn"]; v != "" {
		wc.CloudIdentities = append(wc.CloudIdentities, CloudIdentity{Provider: "aws", Identity: v, ServiceAccount: saRef,
			Evidence: fmt.Sprintf("ServiceAccount %s assumes AWS role %s (eks.amazonaws.com/role-arn)", sa, v)})
	}
	if v := ann["iam.gke.io/gcp-service-account"]; v != "" {
		wc.CloudIdentities = append(wc.CloudIdentities, CloudIdentity{Provider: "gcp", Identity: v, ServiceAccount: saRef,
			Evidence: fmt.Sprintf("ServiceAccount %s acts as Google service account %s (iam.gke.io/gcp-service-account)", sa, v)})
	}
	if v := ann["azure.workload.identity/client-id"]; v != "" && podLabels["azure.workload.identity/use"] == "true" {
		wc.CloudIdentities = append(wc.CloudIdentities, CloudIdentity{Provider: "azure", Identity: v, ServiceAccount: saRef,
			Evidence: fmt.Sprintf("ServiceAccount %s uses Azure client %s (azure.workload.identity/client-id, pod label azure.workload.identity/use)", sa, v)})
	}
}

// cxLookup returns the first of keys found in the labels, then in the
// annotations, with where it was found.
func cxLookup(keys []string, lbls, ann map[string]string, what string) (value, evidence string) {
	for _, k := range keys {
		if v := strings.TrimSpace(lbls[k]); v != "" {
			return v, fmt.Sprintf("label %s=%s on %s", k, v, what)
		}
	}
	for _, k := range keys {
		if v := strings.TrimSpace(ann[k]); v != "" {
			return v, fmt.Sprintf("annotation %s=%s on %s", k, v, what)
		}
	}
	return "", ""
}

func (b *cxBuild) environment(wc *WorkloadContext, w *Workload) {
	keys := b.opts.EnvironmentKeys
	o := w.Object
	what := o.Kind + " " + o.Name
	v, ev := cxLookup(keys, o.Labels, o.Annotations, what)
	if v == "" {
		v, ev = cxLookup(keys, w.Template.Labels, w.Template.Annotations, "the pod template of "+what)
	}
	if v == "" {
		if ns := b.namespaces[wc.Namespace]; ns != nil {
			v, ev = cxLookup(keys, ns.Labels, ns.Annotations, "Namespace "+ns.Name)
		}
	}
	if v == "" {
		if e := b.opts.NamespaceEnvironments[wc.Namespace]; e != "" {
			v, ev = e, fmt.Sprintf("namespace %s is %s in the configuration", wc.Namespace, e)
		}
	}
	if v == "" {
		switch strings.ToLower(wc.Namespace) {
		case "prod", "production", "staging", "stage", "preprod", "uat", "dev", "development", "test", "qa":
			v, ev = wc.Namespace, "namespace named "+wc.Namespace
		}
	}
	if v == "" {
		return
	}
	wc.Environment, wc.EnvironmentEvidence = cxNormalizeEnv(v), ev
}

func (b *cxBuild) owner(wc *WorkloadContext, w *Workload) {
	keys := b.opts.OwnerKeys
	o := w.Object
	what := o.Kind + " " + o.Name
	v, ev := cxLookup(keys, o.Labels, o.Annotations, what)
	if v == "" {
		v, ev = cxLookup(keys, w.Template.Labels, w.Template.Annotations, "the pod template of "+what)
	}
	if v == "" {
		for _, e := range b.opts.Backstage {
			if e.Owner != "" && e.Matches(o, w.Template.Labels) {
				v, ev = e.Owner, fmt.Sprintf("Backstage %s %s (spec.owner)", e.Kind, e.Name)
				break
			}
		}
	}
	if v == "" {
		if ns := b.namespaces[wc.Namespace]; ns != nil {
			v, ev = cxLookup(keys, ns.Labels, ns.Annotations, "Namespace "+ns.Name)
		}
	}
	if v == "" {
		if t := b.opts.NamespaceTeams[wc.Namespace]; t != "" {
			v, ev = t, fmt.Sprintf("namespace %s belongs to %s in the configuration", wc.Namespace, t)
		}
	}
	wc.Owner, wc.OwnerEvidence = v, ev
}

// cxNormalizeEnv maps the many spellings of an environment to production,
// staging, test or development; other values are kept (lower case).
func cxNormalizeEnv(v string) string {
	l := strings.ToLower(strings.TrimSpace(v))
	tokens := strings.FieldsFunc(l, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
	has := func(words ...string) bool {
		return slices.ContainsFunc(tokens, func(t string) bool { return slices.Contains(words, t) })
	}
	switch {
	case has("prod", "production", "prd", "live"):
		return "production"
	case has("staging", "stage", "stg", "preprod", "uat"):
		return "staging"
	case has("test", "testing", "qa", "tst"):
		return "test"
	case has("dev", "development", "develop", "sandbox", "local"):
		return "development"
	}
	return l
}

// cxEnvRank orders environments from the most production-like.
func cxEnvRank(env string) int {
	switch env {
	case "production":
		return 5
	case "staging":
		return 4
	case "":
		return 0
	case "test":
		return 2
	case "development":
		return 1
	}
	return 3
}

// cxNormalizeImage returns the repository (with registry, docker.io and
// library/ made explicit, lower case), tag ("latest" when the reference
// has neither tag nor digest) and digest of an image reference.
func cxNormalizeImage(ref string) (repo, tag, digest string) {
	repo, tag, digest = sextant.SplitImageRef(strings.TrimSpace(ref))
	repo = strings.ToLower(repo)
	digest = strings.ToLower(digest)
	domain, path, ok := strings.Cut(repo, "/")
	if !ok || !(strings.ContainsAny(domain, ".:") || domain == "localhost") {
		domain, path = "docker.io", repo
	}
	if domain == "index.docker.io" || domain == "registry-1.docker.io" {
		domain = "docker.io"
	}
	if domain == "docker.io" && !strings.Contains(path, "/") {
		path = "library/" + path
	}
	if tag == "" && digest == "" {
		tag = "latest"
	}
	return domain + "/" + path, tag, digest
}

// cxDigest returns the digest of "sha256:…" or "repo@sha256:…", lower case.
func cxDigest(s string) string {
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	return strings.ToLower(strings.TrimSpace(s))
}

// WorkloadsFor returns the top-level workloads that run an artifact: those
// whose image reference carries one of its digests (Digest, RepoDigests),
// else those that run its repository:tag (a reference pinned to another
// digest does not count when the artifact's RepoDigests are known).
// Repositories are compared normalized: "nginx:1.25" is
// "docker.io/library/nginx:1.25", and no tag means "latest".
func (c *Context) WorkloadsFor(a sextant.Artifact) []*WorkloadContext {
	if c == nil {
		return nil
	}
	var out []*WorkloadContext
	seen := map[*WorkloadContext]bool{}
	add := func(uses []cxImageUse, skipPinned map[string]bool) {
		for _, u := range uses {
			if seen[u.w] || (u.digest != "" && len(skipPinned) > 0 && !skipPinned[u.digest]) {
				continue
			}
			seen[u.w] = true
			out = append(out, u.w)
		}
	}
	digests := map[string]bool{}
	// Manifest digests, which pinned references carry: a reference pinned
	// to another one runs another image. Digest alone may be the image
	// ID, which references never carry, so it does not rule any out.
	manifests := map[string]bool{}
	for _, d := range a.RepoDigests {
		if d = cxDigest(d); d != "" {
			digests[d], manifests[d] = true, true
		}
	}
	if _, _, d := sextant.SplitImageRef(a.Name); d != "" {
		digests[cxDigest(d)], manifests[cxDigest(d)] = true, true
	}
	if d := cxDigest(a.Digest); d != "" {
		digests[d] = true
		if len(manifests) > 0 {
			manifests[d] = true
		}
	}
	for d := range digests {
		add(c.byDigest[d], nil)
	}
	if len(out) > 0 {
		sortWorkloads(out)
		return out
	}
	var refs []string
	for _, t := range a.Tags {
		if a.Repository != "" {
			refs = append(refs, a.Repository+":"+t)
		}
	}
	if len(refs) == 0 && a.Repository != "" {
		refs = append(refs, a.Repository)
	}
	if a.Name != "" {
		refs = append(refs, a.Name)
	}
	for _, r := range refs {
		repo, tag, _ := cxNormalizeImage(r)
		if tag == "" {
			continue
		}
		add(c.byTag[repo+":"+tag], manifests)
	}
	sortWorkloads(out)
	return out
}

// sortWorkloads orders workloads most production-like first, then by
// reference, so that aggregates and their evidence are stable.
func sortWorkloads(ws []*WorkloadContext) {
	sort.SliceStable(ws, func(i, j int) bool {
		ri, rj := cxEnvRank(ws[i].Environment), cxEnvRank(ws[j].Environment)
		if ri != rj {
			return ri > rj
		}
		return ws[i].Ref.String() < ws[j].Ref.String()
	})
}

// ForArtifact returns the context of an artifact aggregated over the
// workloads that run it (see WorkloadsFor), or nil when none does:
// Exposed and Privileged if any workload is, Workloads their count,
// Replicas the sum of theirs, Environment the most production-like, Owner
// that of the most production-like workload that has one. Evidence holds,
// per field (by JSON name), the concrete reason.
func (c *Context) ForArtifact(a sextant.Artifact) *sextant.ArtifactContext {
	ws := c.WorkloadsFor(a)
	if len(ws) == 0 {
		return nil
	}
	ac := &sextant.ArtifactContext{Workloads: len(ws), Evidence: map[string]string{}}
	var names, reps []string
	var exposed, privileged []string
	for _, w := range ws {
		ac.Replicas += w.Replicas
		name := w.Ref.Kind + " " + rbName(w.Ref)
		names = append(names, name)
		reps = append(reps, fmt.Sprintf("%d %s", w.Replicas, w.Ref.Name))
		for _, e := range w.Exposures {
			if !e.Internal {
				exposed = append(exposed, fmt.Sprintf("%s (%s)", e.Evidence, name))
				break
			}
		}
		for _, p := range w.Privileges {
			if p.Escape {
				privileged = append(privileged, fmt.Sprintf("%s (%s)", p.Evidence, name))
				break
			}
		}
		if ac.Environment == "" && w.Environment != "" {
			ac.Environment = w.Environment
			ac.Evidence["environment"] = fmt.Sprintf("%s: %s", name, w.EnvironmentEvidence)
		}
		if ac.Owner == "" && w.Owner != "" {
			ac.Owner = w.Owner
			ac.Evidence["owner"] = fmt.Sprintf("%s: %s", name, w.OwnerEvidence)
		}
	}
	ac.Evidence["workloads"] = cxList(names, "runs in")
	ac.Evidence["replicas"] = "replicas " + strings.Join(cxFirst(reps, 5), " + ")
	if len(exposed) > 0 {
		ac.Exposed = true
		ac.Evidence["exposed"] = cxMore(exposed, "exposed workloads")
	} else {
		ac.Evidence["exposed"] = fmt.Sprintf("not exposed: no LoadBalancer/NodePort Service, Ingress, route or host port reaches its %d workloads", len(ws))
	}
	if len(privileged) > 0 {
		ac.Privileged = true
		ac.Evidence["privileged"] = cxMore(privileged, "privileged workloads")
	}
	return ac
}

func cxFirst(s []string, n int) []string {
	if len(s) > n {
		return append(slices.Clone(s[:n]), fmt.Sprintf("… (%d more)", len(s)-n))
	}
	return s
}

func cxList(names []string, prefix string) string {
	return prefix + " " + strings.Join(cxFirst(names, 3), ", ")
}

// cxMore puts the first reason first and counts the others.
func cxMore(reasons []string, what string) string {
	if len(reasons) == 1 {
		return reasons[0]
	}
	return fmt.Sprintf("%s; %d more %s", reasons[0], len(reasons)-1, what)
}
