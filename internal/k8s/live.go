package k8s

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/sextant-dev/sextant"
)

// DefaultPageSize is the number of objects LoadLive asks for per list
// request when LiveOptions.PageSize is 0; it is kubectl's default chunk size.
const DefaultPageSize = 500

// lastApplied is the annotation kubectl apply keeps the whole applied object
// in; for a Secret that includes its data, so LoadLive drops it.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// LiveOptions says which cluster LoadLive reads and how.
type LiveOptions struct {
	// Kubeconfig is the kubeconfig file; "" follows the usual rules
	// ($KUBECONFIG, then ~/.kube/config, then the in-cluster config).
	Kubeconfig string
	// Context is the kubeconfig context to use; "" means the current one.
	Context string
	// Namespaces limits the scan to these namespaces; empty means all.
	// Cluster-scoped kinds (Nodes, ClusterRoles, ClusterRoleBindings) are
	// read either way, because RBAC resolution needs them; of the
	// Namespace objects, only the named ones are read.
	Namespaces []string
	// PageSize is the number of objects per list request
	// (DefaultPageSize when 0).
	PageSize int64
}

// LoadLive reads a live cluster read-only (get and list only) and passes
// each object to each, in this order: Namespaces, Nodes, ClusterRoles and
// ClusterRoleBindings, then namespace by namespace ServiceAccounts, Roles,
// RoleBindings, Secrets, Services, Ingresses, NetworkPolicies, Deployments,
// StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs and Pods.
//
// Memory: objects are listed one namespace and one page (opts.PageSize
// objects) at a time, and each page is released once each has seen it, so
// LoadLive holds at most one page plus whatever each keeps. When each is
// nil, every object is appended to the returned Inventory's Objects; when
// each is set, Objects stays empty and the caller keeps what it needs. An
// error from each stops the scan and is returned unchanged.
//
// Secrets are read through the metadata-only API, so their values never
// leave the cluster: a Secret's Typed is a *corev1.Secret with only its
// TypeMeta and ObjectMeta (no Type, no Data), and the
// kubectl.kubernetes.io/last-applied-configuration annotation, which holds
// the data of applied Secrets, is dropped.
//
// Objects look like file-loaded ones: Kind and APIVersion are set, Raw is the
// object's JSON, Typed its k8s.io/api type; managedFields are dropped.
// Source.Cluster and the Inventory's Cluster are the kubeconfig context name.
// A kind the user may not list (403) or the cluster does not serve (404)
// becomes a warning, not a failure. An unreachable cluster is an
// EUNAVAILABLE *sextant.Error, bad credentials EUNAUTHORIZED, an unusable
// kubeconfig EINVALID.
func LoadLive(ctx context.Context, opts LiveOptions, each func(*Object) error) (*Inventory, error) {
	cfg, cluster, err := liveConfig(opts)
	if err != nil {
		return nil, err
	}
	return loadLive(ctx, cfg, cluster, opts, each)
}

// liveConfig resolves the kubeconfig and context into a client config and
// the name of the context in use.
func liveConfig(opts LiveOptions) (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if opts.Kubeconfig != "" {
		rules.ExplicitPath = opts.Kubeconfig
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: opts.Context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", sextant.Errorf(sextant.EINVALID, "load kubeconfig: %v", err)
	}
	cluster := opts.Context
	if cluster == "" {
		if raw, err := cc.RawConfig(); err == nil {
			cluster = raw.CurrentContext
		}
	}
	// Scans are read-only and may list tens of thousands of objects; the
	// client's default 5 requests/s would make them crawl.
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	return cfg, cluster, nil
}

// liveKind is one kind LoadLive lists.
type liveKind struct {
	kind, apiVersion string
	resource         string // plural, for warnings
	// list returns one page of objects (pointers to k8s.io/api types) and
	// the continue token.
	list func(ctx context.Context, ns string, o metav1.ListOptions) ([]liveItem, string, error)
}

// liveItem is one listed object before it becomes an *Object.
type liveItem struct {
	meta  *metav1.ObjectMeta
	typed any
}

// items turns a page into liveItems. Each item is copied out of the page's
// slice, so keeping one object does not keep the whole page alive.
func items[T any](page []T, meta func(*T) *metav1.ObjectMeta) []liveItem {
	out := make([]liveItem, len(page))
	for i := range page {
		v := new(T)
		*v = page[i]
		out[i] = liveItem{meta: meta(v), typed: v}
	}
	return out
}

// pager adapts a typed List call to liveKind.list.
func pager[L any, T any](list func(ctx context.Context, ns string, o metav1.ListOptions) (*L, error),
	page func(*L) ([]T, string), meta func(*T) *metav1.ObjectMeta) func(context.Context, string, metav1.ListOptions) ([]liveItem, string, error) {
	return func(ctx context.Context, ns string, o metav1.ListOptions) ([]liveItem, string, error) {
		l, err := list(ctx, ns, o)
		if err != nil {
			return nil, "", err
		}
		its, cont := page(l)
		return items(its, meta), cont, nil
	}
}

// liveKinds returns the cluster-scoped kinds (Namespaces excepted: they
// drive the walk) and the namespaced kinds, in listing order.
func liveKinds(cs kubernetes.Interface, md metadata.Interface) (clusterKinds, nsKinds []liveKind) {
	core, apps, batch, netw, rbac := cs.CoreV1(), cs.AppsV1(), cs.BatchV1(), cs.NetworkingV1(), cs.RbacV1()
	clusterKinds = []liveKind{
		{"Node", "v1", "nodes", pager(func(ctx context.Context, _ string, o metav1.ListOptions) (*corev1.NodeList, error) {
			return core.Nodes().List(ctx, o)
		}, func(l *corev1.NodeList) ([]corev1.Node, string) { return l.Items, l.Continue },
			func(v *corev1.Node) *metav1.ObjectMeta { return &v.ObjectMeta })},
		{"ClusterRole", "rbac.authorization.k8s.io/v1", "clusterroles", pager(func(ctx context.Context, _ string, o metav1.ListOptions) (*rbacv1.ClusterRoleList, error) {
			return rbac.ClusterRoles().List(ctx, o)
		}, func(l *rbacv1.ClusterRoleList) ([]rbacv1.ClusterRole, string) { return l.Items, l.Continue },
			func(v *rbacv1.ClusterRole) *metav1.ObjectMeta { return &v.ObjectMeta })},
		{"ClusterRoleBinding", "rbac.authorization.k8s.io/v1", "clusterrolebindings", pager(func(ctx context.Context, _ string, o metav1.ListOptions) (*rbacv1.ClusterRoleBindingList, error) {
			return rbac.ClusterRoleBindings().List(ctx, o)
		}, func(l *rbacv1.ClusterRoleBindingList) ([]rbacv1.ClusterRoleBinding, string) {
			return l.Items, l.Continue
		},
			func(v *rbacv1.ClusterRoleBinding) *metav1.ObjectMeta { return &v.ObjectMeta })},
	}
	secrets := md.Resource(schema.GroupVersionResource{Version: "v1", Resource: "secrets"})
	nsKinds = []liveKind{
		{"ServiceAccount", "v1", "serviceaccounts", pager(func(ctx context.Context, ns string, o metav1.ListOptions) (*corev1.ServiceAccountList, error) {
			return core.ServiceAccounts(ns).List(ctx, o)
		}, func(l *corev1.ServiceAccountList) ([]corev1.ServiceAccount, string) { return l.Items, l.Continue },
			func(v *corev1.ServiceAccount) *metav1.ObjectMeta { return &v.ObjectMeta })},
		{"Role", "rbac.authorization.k8s.io/v1", "roles", pager(func(ctx context.Context, ns string, o metav1.ListOptions) (*rbacv1.RoleList, error) {
			return rbac.Roles(ns).List(ctx, o)
		}, func(l *rbacv1.RoleList) ([]rbacv1.Role, string) { return l.Items, l.Continue },
			func(v *rbacv1.Role) *metav1.ObjectMeta { return &v.ObjectMeta })},
		{"RoleBinding", "rbac.authorization.k8s.io/v1", "rolebindings", pager(func(ctx context.Context, ns string, o metav1.ListOptions) (*rbacv1.RoleBindingList, error) {
			return rbac.RoleBindings(ns).List(ctx, o)
		}, func(l *rbacv1.RoleBindingList) ([]rbacv1.RoleBinding, string) { return l.Items, l.Continue },
			func(v *rbacv1.RoleBinding) *metav1.ObjectMeta { return &v.ObjectMeta })},
		// Secrets: metadata only, so that values never cross the wire.
		{"Secret", "v1", "secrets", pager(func(ctx context.Context, ns string, o metav1.ListOptions) (*metav1.PartialObjectMetadataList, error) {
			return secrets.Namespace(ns).List(ctx, o)
		}, func(l *metav1.PartialObjectMetadataList) ([]corev1.Secret, string) {
			out := make([]corev1.Secret, len(l.Items))
			for i := range l.Items {
				out[i].ObjectMeta = l.Items[i].ObjectMeta
				if _, ok := out[i].Annotations[lastApplied]; ok {
					out[i].Annotations = withoutKey(out[i].Annotations, lastApplied)
				}
			}
			return out, l.Continue
		}, func(v *corev1.Secret) *metav1.ObjectMeta { return &v.ObjectMeta })},
		{"Service", "v1", "services", pager(func(ctx context.Context, ns string, o metav1.ListOptions) (*corev1.ServiceList, error) {
			return core.Services(ns).List(ctx, o)
		}, func(l *corev1.ServiceList) ([]corev1.Service, string) { return l.Items, l.Continue },
			func(v *corev1.Service) *metav1.ObjectMeta { return &v.ObjectMeta })},
		{"Ingress", "networking.k8s.io/v1", "ingresses", pager(func(ctx context.Context, ns string, o metav1.ListOptions) (*networkingv1.IngressList, error) {
			return netw.Ingresses(ns).List(ctx, o)
		}, func(l *networkingv1.IngressList) ([]networkingv1.Ingress, string) { return l.Items, l.Continue },
			func(v *networkingv1.Ingress) *metav1.ObjectMeta { return &v.ObjectMeta })},
		{"NetworkPolicy", "networking.k8s.io/v1", "networkpolicies", pager(func(ctx context.Context, ns string, o metav1.ListOptions) (*networkingv1.NetworkPolicyList, error) {
			return netw.NetworkPolicies(ns).List(ctx, o)
		}, func(l *networkingv1.NetworkPolicyList) ([]networkingv1.NetworkPolicy, string) {
			return l.Items, l.Continue
		},
			func(v *networkingv1.NetworkPolicy) *metav1.ObjectMeta { return &v.ObjectMeta })},
		{"Deployment", "apps/v1", "deployments", pager(func(ctx context.Context, ns string, o metav1.ListOptions) (*appsv1.DeploymentList, error) {
			return apps.Deployments(ns).List(ctx, o)
		}, func(l *appsv1.DeploymentList) ([]appsv1.Deployment, string) { return l.Items, l.Continue },
			func(v *appsv1.Deployment) *metav1.ObjectMeta { return &v.ObjectMeta })},
		{"StatefulSet", "apps/v1", "statefulsets", pager(func(ctx context.Context, ns string, o metav1.ListOptions) (*appsv1.StatefulSetList, error) {
			return apps.StatefulSets(ns).List(ctx, o)
		}, func(l *appsv1.StatefulSetList) ([]appsv1.StatefulSet, string) { return l.Items, l.Continue },
			func(v *appsv1.StatefulSet) *metav1.ObjectMeta { return &v.ObjectMeta })},
		{"DaemonSet", "apps/v1", "daemonsets", pager(func(ctx context.Context, ns string, o metav1.ListOptions) (*appsv1.DaemonSetList, error) {
			return apps.DaemonSets(ns).List(ctx, o)
		}, func(l *appsv1.DaemonSetList) ([]appsv1.DaemonSet, string) { return l.Items, l.Continue },
			func(v *appsv1.DaemonSet) *metav1.ObjectMeta { return &v.ObjectMeta })},
		{"ReplicaSet", "apps/v1", "replicasets", pager(func(ctx context.Context, ns string, o metav1.ListOptions) (*appsv1.ReplicaSetList, error) {
			return apps.ReplicaSets(ns).List(ctx, o)
		}, func(l *appsv1.ReplicaSetList) ([]appsv1.ReplicaSet, string) { return l.Items, l.Continue },
			func(v *appsv1.ReplicaSet) *metav1.ObjectMeta { return &v.ObjectMeta })},
		{"Job", "batch/v1", "jobs", pager(func(ctx context.Context, ns string, o metav1.ListOptions) (*batchv1.JobList, error) {
			return batch.Jobs(ns).List(ctx, o)
		}, func(l *batchv1.JobList) ([]batchv1.Job, string) { return l.Items, l.Continue },
			func(v *batchv1.Job) *metav1.ObjectMeta { return &v.ObjectMeta })},
		{"CronJob", "batch/v1", "cronjobs", pager(func(ctx context.Context, ns string, o metav1.ListOptions) (*batchv1.CronJobList, error) {
			return batch.CronJobs(ns).List(ctx, o)
		}, func(l *batchv1.CronJobList) ([]batchv1.CronJob, string) { return l.Items, l.Continue },
			func(v *batchv1.CronJob) *metav1.ObjectMeta { return &v.ObjectMeta })},
		{"Pod", "v1", "pods", pager(func(ctx context.Context, ns string, o metav1.ListOptions) (*corev1.PodList, error) {
			return core.Pods(ns).List(ctx, o)
		}, func(l *corev1.PodList) ([]corev1.Pod, string) { return l.Items, l.Continue },
			func(v *corev1.Pod) *metav1.ObjectMeta { return &v.ObjectMeta })},
	}
	return clusterKinds, nsKinds
}

// withoutKey returns a copy of m without key (nil when nothing is left).
func withoutKey(m map[string]string, key string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// liveScan is the state of one LoadLive run.
type liveScan struct {
	cluster  string
	pageSize int64
	each     func(*Object) error
	inv      *Inventory
	// denied collects, per resource, the namespaces where listing was
	// forbidden ("" for cluster-wide), so that warnings stay short.
	denied map[string][]string
}

// loadLive is LoadLive with the client config already resolved.
func loadLive(ctx context.Context, cfg *rest.Config, cluster string, opts LiveOptions, each func(*Object) error) (*Inventory, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, sextant.Errorf(sextant.EINVALID, "kubernetes client for %q: %v", cluster, err)
	}
	md, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, sextant.Errorf(sextant.EINVALID, "kubernetes metadata client for %q: %v", cluster, err)
	}
	s := &liveScan{cluster: cluster, pageSize: opts.PageSize, each: each,
		inv: &Inventory{Cluster: cluster}, denied: map[string][]string{}}
	if s.pageSize <= 0 {
		s.pageSize = DefaultPageSize
	}
	if s.each == nil {
		s.each = func(o *Object) error { s.inv.Objects = append(s.inv.Objects, o); return nil }
	}
	if err := s.run(ctx, cs, md, opts.Namespaces); err != nil {
		return nil, err
	}
	s.inv.Warnings = append(s.inv.Warnings, s.deniedWarnings()...)
	return s.inv, nil
}

// namespaceKind lists Namespaces; its pages also drive the namespace walk.
func namespaceKind(cs kubernetes.Interface) liveKind {
	return liveKind{"Namespace", "v1", "namespaces", pager(func(ctx context.Context, _ string, o metav1.ListOptions) (*corev1.NamespaceList, error) {
		return cs.CoreV1().Namespaces().List(ctx, o)
	}, func(l *corev1.NamespaceList) ([]corev1.Namespace, string) { return l.Items, l.Continue },
		func(v *corev1.Namespace) *metav1.ObjectMeta { return &v.ObjectMeta })}
}

// run walks the cluster: Namespaces (or the scoped ones), cluster-scoped
// kinds, then each namespace's kinds.
func (s *liveScan) run(ctx context.Context, cs kubernetes.Interface, md metadata.Interface, scope []string) error {
	clusterKinds, nsKinds := liveKinds(cs, md)
	var namespaces []string
	if len(scope) > 0 {
		for _, ns := range scope {
			n, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			switch {
			case err == nil:
				if err := s.emit("Namespace", "v1", liveItem{meta: &n.ObjectMeta, typed: n}); err != nil {
					return err
				}
			case apierrors.IsNotFound(err):
				s.inv.Warnings = append(s.inv.Warnings, fmt.Sprintf("namespace %q not found in cluster %q", ns, s.cluster))
				continue
			case apierrors.IsForbidden(err):
				// The namespace object is hidden but its contents may not be.
				s.denied["namespaces"] = append(s.denied["namespaces"], ns)
			default:
				return s.fail(err, "get namespace "+ns)
			}
			namespaces = append(namespaces, ns)
		}
	} else {
		// Only the names are kept: one string per namespace.
		ok, err := s.list(ctx, namespaceKind(cs), "", func(o *Object) { namespaces = append(namespaces, o.Name) })
		if err != nil {
			return err
		}
		if !ok {
			// Cannot enumerate namespaces: read each kind across all of
			// them instead (still paged), as far as the user may.
			namespaces = []string{metav1.NamespaceAll}
			if _, denied := s.denied["namespaces"]; denied {
				delete(s.denied, "namespaces")
				s.inv.Warnings = append(s.inv.Warnings, fmt.Sprintf("namespaces: forbidden in cluster %q; each kind is listed across all namespaces instead (name the namespaces to scan when only some may be read)", s.cluster))
			}
		}
	}
	for _, k := range clusterKinds {
		if _, err := s.list(ctx, k, "", nil); err != nil {
			return err
		}
	}
	for _, ns := range namespaces {
		for _, k := range nsKinds {
			if _, err := s.list(ctx, k, ns, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// list reads every page of kind k in namespace ns, passing each object to
// s.each (and to seen, when set). It reports false when the list was
// forbidden or not served, which it records as a warning.
func (s *liveScan) list(ctx context.Context, k liveKind, ns string, seen func(*Object)) (bool, error) {
	opts := metav1.ListOptions{Limit: s.pageSize}
	for {
		page, cont, err := k.list(ctx, ns, opts)
		switch {
		case err == nil:
		case apierrors.IsForbidden(err):
			s.denied[k.resource] = append(s.denied[k.resource], ns)
			return false, nil
		case apierrors.IsNotFound(err):
			s.inv.Warnings = append(s.inv.Warnings, fmt.Sprintf("%s: not served by cluster %q", k.resource, s.cluster))
			return false, nil
		case apierrors.IsResourceExpired(err):
			// The continue token outlived etcd's compaction window; what
			// was read stays, the rest of this list is missing.
			s.inv.Warnings = append(s.inv.Warnings, fmt.Sprintf("%s%s: list incomplete, the cluster expired its continue token", k.resource, inNamespace(ns)))
			return true, nil
		default:
			return false, s.fail(err, "list "+k.resource+inNamespace(ns))
		}
		for _, it := range page {
			o, err := s.object(k.kind, k.apiVersion, it)
			if err != nil {
				return false, err
			}
			if seen != nil {
				seen(o)
			}
			if err := s.each(o); err != nil {
				return false, err
			}
		}
		if cont == "" {
			return true, nil
		}
		opts.Continue = cont
	}
}

// emit turns one listed item into an *Object and hands it to s.each.
func (s *liveScan) emit(kind, apiVersion string, it liveItem) error {
	o, err := s.object(kind, apiVersion, it)
	if err != nil {
		return err
	}
	return s.each(o)
}

// object turns one listed item into an *Object from this cluster.
func (s *liveScan) object(kind, apiVersion string, it liveItem) (*Object, error) {
	o, err := objectFromTyped(kind, apiVersion, it.meta, it.typed)
	if err != nil {
		return nil, err
	}
	o.Source = Source{Item: -1, Cluster: s.cluster}
	return o, nil
}

// objectFromTyped makes an *Object from a listed k8s.io/api object: list
// items carry no TypeMeta, so it is set here, and managedFields (server
// bookkeeping that `kubectl get` hides too) are dropped.
func objectFromTyped(kind, apiVersion string, meta *metav1.ObjectMeta, typed any) (*Object, error) {
	if tm, ok := typed.(interface {
		GetObjectKind() schema.ObjectKind
	}); ok {
		tm.GetObjectKind().SetGroupVersionKind(schema.FromAPIVersionAndKind(apiVersion, kind))
	}
	meta.ManagedFields = nil
	raw, err := json.Marshal(typed)
	if err != nil {
		return nil, sextant.Errorf(sextant.EINTERNAL, "encode %s %s/%s: %v", kind, meta.Namespace, meta.Name, err)
	}
	return &Object{
		APIVersion:  apiVersion,
		Kind:        kind,
		Namespace:   meta.Namespace,
		Name:        meta.Name,
		Labels:      meta.Labels,
		Annotations: meta.Annotations,
		Raw:         raw,
		Typed:       typed,
	}, nil
}

// fail translates a client error into a *sextant.Error.
func (s *liveScan) fail(err error, op string) error {
	var se *sextant.Error
	switch {
	case errors.As(err, &se):
		return err
	case apierrors.IsUnauthorized(err):
		return sextant.Errorf(sextant.EUNAUTHORIZED, "%s in cluster %q: %v", op, s.cluster, err)
	case apierrors.IsTooManyRequests(err):
		return sextant.Errorf(sextant.ERATELIMITED, "%s in cluster %q: %v", op, s.cluster, err)
	default:
		// Connection refused, DNS, TLS, timeouts, 5xx, a canceled ctx: the
		// cluster cannot be read right now.
		return sextant.Errorf(sextant.EUNAVAILABLE, "%s in cluster %q: %v", op, s.cluster, err)
	}
}

// deniedWarnings renders the forbidden lists, one warning per resource.
func (s *liveScan) deniedWarnings() []string {
	resources := make([]string, 0, len(s.denied))
	for r := range s.denied {
		resources = append(resources, r)
	}
	sort.Strings(resources)
	var out []string
	for _, r := range resources {
		nss := s.denied[r]
		if len(nss) == 1 && nss[0] == "" {
			out = append(out, fmt.Sprintf("%s: forbidden in cluster %q (not listed)", r, s.cluster))
			continue
		}
		shown := nss
		if len(shown) > 5 {
			shown = shown[:5]
		}
		w := fmt.Sprintf("%s: forbidden in %d namespace(s) of cluster %q (not listed): %s", r, len(nss), s.cluster, strings.Join(shown, ", "))
		if len(nss) > len(shown) {
			w += ", …"
		}
		out = append(out, w)
	}
	return out
}

// inNamespace returns " in namespace ns", or "" for all namespaces.
func inNamespace(ns string) string {
	if ns == "" {
		return ""
	}
	return " in namespace " + ns
}
