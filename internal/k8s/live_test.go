package k8s

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/k8s/k8stest"
)

// liveSecretValue is the value of the Secret the live test creates; it must
// never appear in an inventory.
const liveSecretValue = "s3cr3t-Value-never-read-4711"

// liveCluster is what the live test creates, in order. Namespace a holds a
// web app with a LoadBalancer and a ServiceAccount that may read secrets;
// namespace b an ops ServiceAccount bound to cluster-admin and one of each
// other workload kind. Restricted users are bound in TestLoadLive.
var liveCluster = `
apiVersion: v1
kind: Namespace
metadata: {name: a, labels: {team: web}}
---
apiVersion: v1
kind: Namespace
metadata: {name: b}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: default, namespace: a}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: a}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: default, namespace: b}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: ops, namespace: b}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: a, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      containers: [{name: web, image: "nginx:1.27"}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: a}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 443, targetPort: 8443}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: a}
spec:
  rules:
  - host: web.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 443}}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: a}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: secret-reader, namespace: a}
rules:
- {apiGroups: [""], resources: [secrets], verbs: [get, list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: web-secrets, namespace: a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: secret-reader}
subjects:
- {kind: ServiceAccount, name: web, namespace: a}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ops-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: ServiceAccount, name: ops, namespace: b}
---
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: a
  annotations:
    note: kept
    kubectl.kubernetes.io/last-applied-configuration: '{"apiVersion":"v1","kind":"Secret","stringData":{"password":"s3cr3t-Value-never-read-4711"}}'
stringData: {password: s3cr3t-Value-never-read-4711}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: b}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: "postgres:17"}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: b}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {hostNetwork: true, containers: [{name: agent, image: "falco:0.40"}]}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: legacy, namespace: b}
spec:
  selector: {matchLabels: {app: legacy}}
  template:
    metadata: {labels: {app: legacy}}
    spec: {containers: [{name: legacy, image: "busybox:1.36"}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: b}
spec:
  template:
    spec: {restartPolicy: Never, containers: [{name: migrate, image: "busybox:1.36"}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup, namespace: b}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec: {restartPolicy: Never, containers: [{name: backup, image: "busybox:1.36"}]}
`

// liveResources maps the kinds above to their resources.
var liveResources = map[string]schema.GroupVersionResource{
	"Namespace":          {Version: "v1", Resource: "namespaces"},
	"ServiceAccount":     {Version: "v1", Resource: "serviceaccounts"},
	"Service":            {Version: "v1", Resource: "services"},
	"Secret":             {Version: "v1", Resource: "secrets"},
	"Pod":                {Version: "v1", Resource: "pods"},
	"Deployment":         {Group: "apps", Version: "v1", Resource: "deployments"},
	"StatefulSet":        {Group: "apps", Version: "v1", Resource: "statefulsets"},
	"DaemonSet":          {Group: "apps", Version: "v1", Resource: "daemonsets"},
	"ReplicaSet":         {Group: "apps", Version: "v1", Resource: "replicasets"},
	"Job":                {Group: "batch", Version: "v1", Resource: "jobs"},
	"CronJob":            {Group: "batch", Version: "v1", Resource: "cronjobs"},
	"Ingress":            {Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"},
	"NetworkPolicy":      {Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"},
	"Role":               {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
	"RoleBinding":        {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
	"ClusterRole":        {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
	"ClusterRoleBinding": {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"},
}

// liveApply creates every document of manifests and returns their refs.
func liveApply(t *testing.T, cfg *rest.Config, manifests string) []Ref {
	t.Helper()
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var refs []Ref
	for _, doc := range strings.Split(manifests, "\n---\n") {
		var u unstructured.Unstructured
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatalf("manifest %q: %v", doc, err)
		}
		gvr, ok := liveResources[u.GetKind()]
		if !ok {
			t.Fatalf("no resource for kind %q", u.GetKind())
		}
		var ri dynamic.ResourceInterface = dc.Resource(gvr)
		if ns := u.GetNamespace(); ns != "" {
			ri = dc.Resource(gvr).Namespace(ns)
		}
		if _, err := ri.Create(context.Background(), &u, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create %s %s/%s: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
		refs = append(refs, Ref{Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName()})
	}
	return refs
}

// livePods returns n Pod manifests in namespace ns.
func livePods(ns string, n int) string {
	var docs []string
	for i := range n {
		docs = append(docs, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: pod-%d, namespace: %s, labels: {app: web}}
spec: {containers: [{name: c, image: "nginx:1.27"}]}`, i, ns))
	}
	return strings.Join(docs, "\n---\n")
}

// refIndex indexes an inventory by ref, failing on duplicates.
func refIndex(t *testing.T, objs []*Object) map[Ref]*Object {
	t.Helper()
	m := map[Ref]*Object{}
	for _, o := range objs {
		if _, dup := m[o.Ref()]; dup {
			t.Errorf("%s listed twice", o.Ref())
		}
		m[o.Ref()] = o
	}
	return m
}

// requestLog records the URLs of the requests a client sends.
type requestLog struct {
	mu     sync.Mutex
	urls   []*url.URL
	accept []string
}

func (l *requestLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		l.mu.Lock()
		l.urls = append(l.urls, r.URL)
		l.accept = append(l.accept, r.Header.Get("Accept"))
		l.mu.Unlock()
		return rt.RoundTrip(r)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestLoadLive runs LoadLive against a real kube-apiserver and etcd (see
// package k8stest for how to get them).
func TestLoadLive(t *testing.T) {
	admin := k8stest.Start(t)
	ctx := context.Background()
	const pods = 5
	created := liveApply(t, admin, liveCluster)
	created = append(created, liveApply(t, admin, livePods("a", pods))...)

	// alice may list everything LoadLive reads except secrets. (The built-in
	// "view" role is empty without a controller-manager to aggregate it.)
	liveApply(t, admin, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: lister-no-secrets}
rules:
- {apiGroups: [""], resources: [namespaces, nodes, pods, services, serviceaccounts], verbs: [get, list]}
- {apiGroups: [apps], resources: [deployments, statefulsets, daemonsets, replicasets], verbs: [list]}
- {apiGroups: [batch], resources: [jobs, cronjobs], verbs: [list]}
- {apiGroups: [networking.k8s.io], resources: [ingresses, networkpolicies], verbs: [list]}
- {apiGroups: [rbac.authorization.k8s.io], resources: [roles, rolebindings, clusterroles, clusterrolebindings], verbs: [list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: alice-lister}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: lister-no-secrets}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}`)

	kubeconfig := k8stest.WriteKubeconfig(t, "admin", map[string]*rest.Config{
		"admin":  admin,
		"alice":  k8stest.UserConfig(admin, "alice"),
		"web-sa": k8stest.ServiceAccountConfig(t, admin, "a", "web"),
	})

	var all *Inventory
	t.Run("everything", func(t *testing.T) {
		inv, err := LoadLive(ctx, LiveOptions{Kubeconfig: kubeconfig}, nil)
		if err != nil {
			t.Fatalf("LoadLive: %v", err)
		}
		all = inv
		if inv.Cluster != "admin" {
			t.Errorf("Cluster = %q, want the current context %q", inv.Cluster, "admin")
		}
		if len(inv.Warnings) != 0 {
			t.Errorf("Warnings = %q, want none for cluster-admin", inv.Warnings)
		}
		got := refIndex(t, inv.Objects)
		for _, r := range append(created, Ref{Kind: "ClusterRole", Name: "cluster-admin"}, Ref{Kind: "Namespace", Name: "kube-system"}) {
			if _, ok := got[r]; !ok {
				t.Errorf("%s missing from the inventory", r)
			}
		}
		wantVersion := map[string]string{"Deployment": "apps/v1", "CronJob": "batch/v1", "Ingress": "networking.k8s.io/v1",
			"ClusterRoleBinding": "rbac.authorization.k8s.io/v1", "Secret": "v1", "Pod": "v1"}
		for _, o := range inv.Objects {
			if o.Source.Cluster != "admin" || o.Source.File != "" || o.Source.Item != -1 {
				t.Errorf("%s: Source = %+v, want Cluster admin, no file, Item -1", o.Ref(), o.Source)
			}
			if v, ok := wantVersion[o.Kind]; ok && o.APIVersion != v {
				t.Errorf("%s: APIVersion = %q, want %q", o.Ref(), o.APIVersion, v)
			}
			if o.Typed == nil {
				t.Errorf("%s: Typed is nil", o.Ref())
			}
			// Raw must carry the type like a manifest, and no server bookkeeping.
			var head struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Metadata   struct {
					Name          string `json:"name"`
					ManagedFields []any  `json:"managedFields"`
				} `json:"metadata"`
			}
			if err := yaml.Unmarshal(o.Raw, &head); err != nil {
				t.Errorf("%s: Raw does not decode: %v", o.Ref(), err)
			} else if head.Kind != o.Kind || head.APIVersion != o.APIVersion || head.Metadata.Name != o.Name || head.Metadata.ManagedFields != nil {
				t.Errorf("%s: Raw has kind %q apiVersion %q name %q managedFields %v", o.Ref(), head.Kind, head.APIVersion, head.Metadata.Name, head.Metadata.ManagedFields)
			}
		}
		if d, ok := got[Ref{Kind: "Deployment", Namespace: "a", Name: "web"}].Typed.(*appsv1.Deployment); !ok {
			t.Errorf("Deployment Typed is %T, want *appsv1.Deployment", got[Ref{Kind: "Deployment", Namespace: "a", Name: "web"}].Typed)
		} else if d.Kind != "Deployment" || d.Spec.Template.Spec.ServiceAccountName != "web" || *d.Spec.Replicas != 2 {
			t.Errorf("Deployment Typed = kind %q sa %q replicas %d, want Deployment web 2", d.Kind, d.Spec.Template.Spec.ServiceAccountName, *d.Spec.Replicas)
		}
		if s, ok := got[Ref{Kind: "Service", Namespace: "a", Name: "web"}].Typed.(*corev1.Service); !ok || s.Spec.Type != corev1.ServiceTypeLoadBalancer {
			t.Errorf("Service a/web Typed = %T, want a *corev1.Service of type LoadBalancer", got[Ref{Kind: "Service", Namespace: "a", Name: "web"}].Typed)
		}
		if ns := got[Ref{Kind: "Namespace", Name: "a"}]; ns.Labels["team"] != "web" {
			t.Errorf("Namespace a labels = %v, want team=web", ns.Labels)
		}
	})

	t.Run("secret values never read", func(t *testing.T) {
		if all == nil {
			t.Skip("no inventory")
		}
		secret := Ref{Kind: "Secret", Namespace: "a", Name: "db"}
		var found bool
		b64 := base64.StdEncoding.EncodeToString([]byte(liveSecretValue))
		for _, o := range all.Objects {
			for _, needle := range []string{liveSecretValue, b64} {
				if bytes.Contains(o.Raw, []byte(needle)) {
					t.Errorf("%s: Raw holds the secret value (%q)", o.Ref(), needle)
				}
				for k, v := range o.Annotations {
					if strings.Contains(v, needle) {
						t.Errorf("%s: annotation %s holds the secret value", o.Ref(), k)
					}
				}
			}
			if o.Ref() != secret {
				continue
			}
			found = true
			s, ok := o.Typed.(*corev1.Secret)
			if !ok {
				t.Fatalf("Secret Typed = %T, want *corev1.Secret", o.Typed)
			}
			if s.Data != nil || s.StringData != nil {
				t.Errorf("Secret Typed has data: %v %v", s.Data, s.StringData)
			}
			if o.Annotations["note"] != "kept" || o.Annotations[lastApplied] != "" {
				t.Errorf("Secret annotations = %v, want note kept and no last-applied", o.Annotations)
			}
		}
		if !found {
			t.Errorf("%s missing", secret)
		}
	})

	t.Run("RBAC resolution agrees with the API server", func(t *testing.T) {
		if all == nil {
			t.Skip("no inventory")
		}
		rbac := all.RBAC()
		cs, err := kubernetes.NewForConfig(admin)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			saNS, sa                  string
			verb, group, resource, ns string
		}{
			{"a", "web", "list", "", "secrets", "a"},
			{"a", "web", "get", "", "secrets", "b"},
			{"a", "web", "list", "", "pods", "a"},
			{"a", "web", "create", "", "pods/exec", "a"},
			{"a", "default", "get", "", "secrets", "a"},
			{"b", "ops", "list", "", "secrets", "a"},
			{"b", "ops", "create", "", "pods/exec", "a"},
			{"b", "ops", "list", "", "nodes", ""},
			{"b", "ops", "create", "apps", "deployments", "kube-system"},
			{"b", "default", "list", "", "secrets", "b"},
		} {
			perms := rbac.Permissions(tc.saNS, tc.sa)
			got := slices.ContainsFunc(perms, func(p Permission) bool { return p.Allows(tc.verb, tc.group, tc.resource, tc.ns) })
			resource, sub, _ := strings.Cut(tc.resource, "/")
			sar, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User:   "system:serviceaccount:" + tc.saNS + ":" + tc.sa,
				Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + tc.saNS, "system:authenticated"},
				ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: tc.ns, Verb: tc.verb,
					Group: tc.group, Resource: resource, Subresource: sub},
			}}, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("SubjectAccessReview: %v", err)
			}
			if got != sar.Status.Allowed {
				t.Errorf("ServiceAccount %s/%s %s %s in %q: inventory RBAC says %v, the API server says %v",
					tc.saNS, tc.sa, tc.verb, tc.resource, tc.ns, got, sar.Status.Allowed)
			}
		}
		if !slices.ContainsFunc(Grants(rbac.Permissions("a", "web")), func(g Grant) bool {
			return g.Capability == CapReadSecrets && g.Namespace == "a"
		}) {
			t.Errorf("Grants(a/web) = %+v, want read-secrets in a", Grants(rbac.Permissions("a", "web")))
		}
		if !slices.ContainsFunc(Grants(rbac.Permissions("b", "ops")), func(g Grant) bool {
			return g.Capability == CapClusterAdmin && g.Namespace == ""
		}) {
			t.Errorf("Grants(b/ops) = %+v, want cluster-admin cluster-wide", Grants(rbac.Permissions("b", "ops")))
		}
	})

	t.Run("namespace scope", func(t *testing.T) {
		inv, err := LoadLive(ctx, LiveOptions{Kubeconfig: kubeconfig, Namespaces: []string{"a"}}, nil)
		if err != nil {
			t.Fatalf("LoadLive: %v", err)
		}
		got := refIndex(t, inv.Objects)
		for _, o := range inv.Objects {
			if o.Namespace != "" && o.Namespace != "a" {
				t.Errorf("%s listed with Namespaces [a]", o.Ref())
			}
			if o.Kind == "Namespace" && o.Name != "a" {
				t.Errorf("%s listed with Namespaces [a]", o.Ref())
			}
		}
		for _, r := range []Ref{{Kind: "Namespace", Name: "a"}, {Kind: "Deployment", Namespace: "a", Name: "web"},
			{Kind: "Pod", Namespace: "a", Name: "pod-0"}, {Kind: "Secret", Namespace: "a", Name: "db"},
			// Cluster-scoped kinds stay, as documented: RBAC needs them.
			{Kind: "ClusterRoleBinding", Name: "ops-admin"}, {Kind: "ClusterRole", Name: "cluster-admin"}} {
			if _, ok := got[r]; !ok {
				t.Errorf("%s missing with Namespaces [a]", r)
			}
		}
		inv, err = LoadLive(ctx, LiveOptions{Kubeconfig: kubeconfig, Namespaces: []string{"nope"}}, nil)
		if err != nil {
			t.Fatalf("LoadLive(Namespaces [nope]): %v", err)
		}
		if !slices.ContainsFunc(inv.Warnings, func(w string) bool { return strings.Contains(w, `namespace "nope" not found`) }) {
			t.Errorf("Warnings = %q, want one saying namespace nope is not found", inv.Warnings)
		}
	})

	t.Run("paging streams each page", func(t *testing.T) {
		var log requestLog
		cfg := rest.CopyConfig(admin)
		cfg.WrapTransport = log.wrap
		var seen []*Object
		inv, err := loadLive(ctx, cfg, "admin", LiveOptions{PageSize: 2}, func(o *Object) error {
			seen = append(seen, o)
			return nil
		})
		if err != nil {
			t.Fatalf("loadLive: %v", err)
		}
		if len(inv.Objects) != 0 {
			t.Errorf("Inventory.Objects has %d objects with a callback, want 0", len(inv.Objects))
		}
		if len(seen) != len(all.Objects) {
			t.Errorf("callback saw %d objects with PageSize 2, want %d as with the default page size", len(seen), len(all.Objects))
		}
		var podsSeen int
		for _, o := range seen {
			if o.Kind == "Pod" && o.Namespace == "a" {
				podsSeen++
			}
		}
		if podsSeen != pods {
			t.Errorf("saw %d pods in a, want %d", podsSeen, pods)
		}
		refIndex(t, seen)
		// 5 pods in a with pages of 2: three requests, two with a continue token,
		// all limited to 2 and scoped to namespace a.
		var podLists, continued int
		for _, u := range log.urls {
			if u.Path != "/api/v1/namespaces/a/pods" {
				continue
			}
			podLists++
			if got := u.Query().Get("limit"); got != "2" {
				t.Errorf("%s: limit = %q, want 2", u, got)
			}
			if u.Query().Get("continue") != "" {
				continued++
			}
			if u.Query().Get("watch") != "" {
				t.Errorf("%s: a watch, want list only", u)
			}
		}
		if podLists != 3 || continued != 2 {
			t.Errorf("pod list requests in a = %d (%d continued), want 3 (2 continued)", podLists, continued)
		}
		// Secrets are asked for as metadata only, so values never cross the wire.
		var secretLists int
		for i, u := range log.urls {
			if !strings.HasSuffix(u.Path, "/secrets") {
				continue
			}
			secretLists++
			if a := log.accept[i]; !strings.Contains(a, "as=PartialObjectMetadataList") {
				t.Errorf("%s: Accept = %q, want PartialObjectMetadataList only", u, a)
			}
		}
		if secretLists == 0 {
			t.Errorf("no secrets list request seen")
		}
	})

	t.Run("restricted user gets warnings", func(t *testing.T) {
		inv, err := LoadLive(ctx, LiveOptions{Kubeconfig: kubeconfig, Context: "alice"}, nil)
		if err != nil {
			t.Fatalf("LoadLive(alice): %v, want warnings only", err)
		}
		if inv.Cluster != "alice" {
			t.Errorf("Cluster = %q, want alice", inv.Cluster)
		}
		if !slices.ContainsFunc(inv.Warnings, func(w string) bool { return strings.HasPrefix(w, "secrets: forbidden") }) {
			t.Errorf("Warnings = %q, want one saying secrets are forbidden", inv.Warnings)
		}
		got := refIndex(t, inv.Objects)
		if _, ok := got[Ref{Kind: "Pod", Namespace: "a", Name: "pod-4"}]; !ok {
			t.Errorf("alice's inventory misses Pod a/pod-4")
		}
		for _, o := range inv.Objects {
			if o.Kind == "Secret" {
				t.Errorf("alice's inventory holds %s", o.Ref())
			}
		}
	})

	t.Run("context selects the cluster and the user", func(t *testing.T) {
		// web-sa may only read secrets in a: every other kind is a warning,
		// and the secret's metadata is there.
		inv, err := LoadLive(ctx, LiveOptions{Kubeconfig: kubeconfig, Context: "web-sa", Namespaces: []string{"a"}}, nil)
		if err != nil {
			t.Fatalf("LoadLive(web-sa): %v", err)
		}
		if inv.Cluster != "web-sa" {
			t.Errorf("Cluster = %q, want web-sa", inv.Cluster)
		}
		var kinds []string
		for _, o := range inv.Objects {
			kinds = append(kinds, o.Ref().String())
		}
		if !slices.Equal(kinds, []string{"Secret/a/db"}) {
			t.Errorf("web-sa sees %q, want only [Secret/a/db]", kinds)
		}
		if !slices.ContainsFunc(inv.Warnings, func(w string) bool { return strings.HasPrefix(w, "pods: forbidden in 1 namespace(s)") }) {
			t.Errorf("Warnings = %q, want pods forbidden in namespace a", inv.Warnings)
		}
		_, err = LoadLive(ctx, LiveOptions{Kubeconfig: kubeconfig, Context: "nope"}, nil)
		if code := sextant.ErrorCode(err); code != sextant.EINVALID {
			t.Errorf("LoadLive(context nope) = %v (code %q), want %q", err, code, sextant.EINVALID)
		}
	})

	t.Run("callback error stops the scan", func(t *testing.T) {
		stop := errors.New("stop")
		n := 0
		_, err := LoadLive(ctx, LiveOptions{Kubeconfig: kubeconfig}, func(*Object) error {
			n++
			if n == 3 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || n != 3 {
			t.Errorf("LoadLive with a failing callback = %v after %d objects, want stop after 3", err, n)
		}
	})
}

// TestLoadLiveUnavailable needs no server: a cluster nobody listens on is
// EUNAVAILABLE, and bad kubeconfigs are EINVALID.
func TestLoadLiveUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["gone"] = &clientcmdapi.Cluster{Server: "https://" + addr, InsecureSkipTLSVerify: true}
	kc.AuthInfos["gone"] = &clientcmdapi.AuthInfo{Token: "t"}
	kc.Contexts["gone"] = &clientcmdapi.Context{Cluster: "gone", AuthInfo: "gone"}
	kc.CurrentContext = "gone"
	path := t.TempDir() + "/kubeconfig"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts LiveOptions
		want string
	}{
		{"nobody listens", LiveOptions{Kubeconfig: path}, sextant.EUNAVAILABLE},
		{"unknown context", LiveOptions{Kubeconfig: path, Context: "other"}, sextant.EINVALID},
		{"no such file", LiveOptions{Kubeconfig: t.TempDir() + "/none"}, sextant.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := LoadLive(context.Background(), tc.opts, nil)
			if code := sextant.ErrorCode(err); code != tc.want || inv != nil {
				t.Errorf("LoadLive(%+v) = %v, %v (code %q), want nil and code %q", tc.opts, inv, err, code, tc.want)
			}
		})
	}
}
