package k8s

import (
	"math/rand"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"

	"github.com/sextant-dev/sextant/internal/fixtures"
)

// shopVulns is the spine's word on the shop scenario's images.
var shopVulns = map[string]VulnSummary{
	"registry.example.com/shop/web:1.4.2": {KEV: 1, Critical: 2, MaxScore: 9.8, CVEs: []string{"CVE-2024-0001"}},
	"postgres:16.3":                       {},
}

func pathsLoad(t testing.TB, files ...string) *Inventory {
	t.Helper()
	inv, err := LoadFiles(files...)
	if err != nil {
		t.Fatalf("LoadFiles(%q): %v", files, err)
	}
	return inv
}

func pathsYAML(t testing.TB, docs ...string) *Inventory {
	t.Helper()
	inv, err := LoadReader(strings.NewReader(strings.Join(docs, "\n---\n")), "test.yaml")
	if err != nil {
		t.Fatalf("LoadReader: %v", err)
	}
	if len(inv.Warnings) > 0 {
		t.Fatalf("LoadReader warnings: %q", inv.Warnings)
	}
	return inv
}

func pathsGraph(t testing.TB, inv *Inventory, opts GraphOptions) *Graph {
	t.Helper()
	g, err := BuildGraph(inv, opts)
	if err != nil {
		t.Fatalf("BuildGraph: %v", err)
	}
	return g
}

func pathsTo(paths []Path, target string) []Path {
	var out []Path
	for _, p := range paths {
		if p.Target == target {
			out = append(out, p)
		}
	}
	return out
}

func TestFindPathsShop(t *testing.T) {
	g := pathsGraph(t, pathsLoad(t, "testdata/paths/shop.yaml"), GraphOptions{Vulns: shopVulns})
	paths := FindPaths(g, PathOptions{})
	web := "Deployment/shop/web/containers/app"
	want := []Path{{
		Target: "Secret/shop/db-credentials", TargetKind: NodeSecret,
		CrownJewel: "labels match sextant.dev/crown-jewel=true",
		Score:      81, Likelihood: 0.81, Shortest: true, Riskiest: true,
		Hops: []Hop{
			{From: "internet", To: "Service/shop/web", Kind: EdgeExposes, Likelihood: 1,
				Evidence: "Service shop/web type LoadBalancer port 443"},
			{From: "Service/shop/web", To: "Deployment/shop/web", Kind: EdgeSelects, Likelihood: 1,
				Evidence: "Service shop/web port 443 selects app=web: pods of Deployment shop/web"},
			{From: "Deployment/shop/web", To: web, Kind: EdgeExploits, Likelihood: 0.9,
				Evidence: "container app runs image registry.example.com/shop/web:1.4.2: 1 known-exploited (CISA KEV) vulnerabilities (CVE-2024-0001)"},
			{From: web, To: "ServiceAccount/shop/web", Kind: EdgeToken, Likelihood: 0.9,
				Evidence: "container app has the token of ServiceAccount shop/web mounted (automountServiceAccountToken not false)"},
			{From: "ServiceAccount/shop/web", To: "rbac:secrets-read/shop", Kind: EdgeGrants, Likelihood: 1,
				Evidence: "RoleBinding shop/web-reads-secrets grants Role secret-reader: get,list secrets in namespace shop"},
			{From: "rbac:secrets-read/shop", To: "Secret/shop/db-credentials", Kind: EdgeReads, Likelihood: 1,
				Evidence: "may get Secret shop/db-credentials (values included)"},
		},
	}, {
		Target: "StatefulSet/shop/orders-db", TargetKind: NodeWorkload,
		CrownJewel: "labels match app.kubernetes.io/component in (database, vault)",
		Score:      45, Likelihood: 0.45, Shortest: true, Riskiest: true,
		Hops: []Hop{
			{From: "internet", To: "Service/shop/web", Kind: EdgeExposes, Likelihood: 1,
				Evidence: "Service shop/web type LoadBalancer port 443"},
			{From: "Service/shop/web", To: "Deployment/shop/web", Kind: EdgeSelects, Likelihood: 1,
				Evidence: "Service shop/web port 443 selects app=web: pods of Deployment shop/web"},
			{From: "Deployment/shop/web", To: web, Kind: EdgeExploits, Likelihood: 0.9,
				Evidence: "container app runs image registry.example.com/shop/web:1.4.2: 1 known-exploited (CISA KEV) vulnerabilities (CVE-2024-0001)"},
			{From: web, To: "network:pods", Kind: EdgeConnects, Likelihood: 1,
				Evidence: "pods can open connections to any pod IP unless a NetworkPolicy isolates the destination"},
			{From: "network:pods", To: "StatefulSet/shop/orders-db", Kind: EdgeConnects, Likelihood: 0.5,
				Evidence: "no NetworkPolicy in namespace shop isolates the pods of StatefulSet shop/orders-db for ingress"},
		},
	}}
	if diff := cmp.Diff(want, paths, cmpopts.IgnoreUnexported(Path{})); diff != "" {
		t.Errorf("FindPaths(shop) mismatch (-want +got):\n%s", diff)
	}
}

func TestFindPathsKubernetesGoat(t *testing.T) {
	inv := pathsLoad(t, fixtures.Files(t, "k8s", "kubernetes-goat")...)
	g := pathsGraph(t, inv, GraphOptions{})
	paths := FindPaths(g, PathOptions{})
	var toNode []Path
	for _, p := range paths {
		if p.Hops[0].From != "internet" {
			t.Errorf("path to %s starts at %s, want internet", p.Target, p.Hops[0].From)
		}
		for i, h := range p.Hops {
			if h.Evidence == "" {
				t.Errorf("path to %s hop %d (%s -> %s) has no evidence", p.Target, i, h.From, h.To)
			}
			if i > 0 && p.Hops[i-1].To != h.From {
				t.Errorf("path to %s is not connected at hop %d", p.Target, i)
			}
		}
		if p.TargetKind == NodeHost || p.TargetKind == NodeClusterAdmin {
			toNode = append(toNode, p)
		}
	}
	if len(toNode) == 0 {
		t.Fatalf("FindPaths(kubernetes-goat) found no path to a node or cluster-admin among %d paths", len(paths))
	}
	// The goat's intended chain: the NodePort info-app, then over the
	// flat pod network to the privileged health-check with the containerd
	// socket, then out to the node.
	want := []string{
		"internet", "Service/default/internal-proxy-info-app-service", "Deployment/default/internal-proxy-deployment",
		"Deployment/default/internal-proxy-deployment/containers/info-app", "network:pods",
		"Deployment/default/health-check-deployment", "Deployment/default/health-check-deployment/containers/health-check", "Node/*",
	}
	found := false
	for _, p := range toNode {
		got := []string{p.Hops[0].From}
		for _, h := range p.Hops {
			got = append(got, h.To)
		}
		if cmp.Equal(got, want) {
			found = true
			last := p.Hops[len(p.Hops)-1]
			for _, s := range []string{"privileged: true", "containerd.sock"} {
				if !strings.Contains(last.Evidence, s) {
					t.Errorf("escape evidence %q lacks %q", last.Evidence, s)
				}
			}
		}
	}
	if !found {
		t.Errorf("FindPaths(kubernetes-goat): no path %v among paths to nodes", want)
	}
	// The big-monolith Secrets are readable by hunger-check's
	// ServiceAccount; vaultapikey is a crown jewel by name.
	if len(pathsTo(paths, "Secret/big-monolith/vaultapikey")) == 0 {
		t.Errorf("FindPaths(kubernetes-goat): no path to Secret/big-monolith/vaultapikey")
	}
}

func TestExploitLikelihoodOrder(t *testing.T) {
	inv := pathsLoad(t, "testdata/paths/shop.yaml")
	img := "registry.example.com/shop/web:1.4.2"
	tests := []struct {
		name  string
		vulns map[string]VulnSummary
		score float64
	}{
		{"kev", map[string]VulnSummary{img: {KEV: 1, Critical: 3}}, 81},
		{"critical", map[string]VulnSummary{img: {Critical: 3}}, 54},
		{"high", map[string]VulnSummary{img: {MaxScore: 7.5}}, 36},
		{"no vulnerability data", nil, 27},
		{"image not scanned", map[string]VulnSummary{"other:1": {KEV: 1}}, 27},
		{"clean", map[string]VulnSummary{img: {MaxScore: 5}}, 9},
		{"docker hub normalisation", map[string]VulnSummary{"docker.io/library/postgres:16.3": {}, img: {KEV: 2}}, 81},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := pathsGraph(t, inv, GraphOptions{Vulns: tt.vulns})
			ps := pathsTo(FindPaths(g, PathOptions{}), "Secret/shop/db-credentials")
			if len(ps) == 0 {
				t.Fatalf("no path to the db secret")
			}
			if ps[0].Score != tt.score {
				t.Errorf("score = %v, want %v", ps[0].Score, tt.score)
			}
		})
	}
}

const pathsExposedWeb = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: app}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, nodePort: 30080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: app}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      containers: [{name: web, image: "web:1", ports: [{containerPort: 80}]}]`

func TestGraphTargets(t *testing.T) {
	tests := []struct {
		name   string
		extra  []string
		target string
		want   bool
		// evidence is a substring of the last hop's evidence.
		evidence string
	}{{
		name: "cluster-admin binding",
		extra: []string{`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: web-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: web, namespace: app}]`},
		target: "cluster-admin", want: true, evidence: "ClusterRoleBinding web-admin grants ClusterRole cluster-admin",
	}, {
		name: "impersonate cluster-wide",
		extra: []string{`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: imp}
rules: [{apiGroups: [""], resources: [users, groups], verbs: [impersonate]}]`, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: imp}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: imp}
subjects: [{kind: Group, name: "system:serviceaccounts:app"}]`},
		target: "cluster-admin", want: true, evidence: "impersonate any user",
	}, {
		name: "create pods escapes to a node",
		extra: []string{`apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: deployer, namespace: app}
rules: [{apiGroups: [apps], resources: [deployments], verbs: [create]}]`, `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: deployer, namespace: app}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: deployer}
subjects: [{kind: ServiceAccount, name: web}]`},
		target: "Node/*", want: true, evidence: "privileged pod with hostPath /",
	}, {
		name: "create pods under Pod Security restricted",
		extra: []string{`apiVersion: v1
kind: Namespace
metadata: {name: app, labels: {pod-security.kubernetes.io/enforce: restricted}}`, `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: deployer, namespace: app}
rules: [{apiGroups: [""], resources: [pods], verbs: [create]}]`, `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: deployer, namespace: app}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: deployer}
subjects: [{kind: ServiceAccount, name: web}]`},
		target: "Node/*", want: false,
	}, {
		name: "IRSA role",
		extra: []string{`apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: app, annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::111122223333:role/web"}}`},
		target: "CloudIdentity/aws/arn:aws:iam::111122223333:role/web", want: true, evidence: "eks.amazonaws.com/role-arn",
	}, {
		name: "IRSA role without a mounted token",
		extra: []string{`apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: app, annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::111122223333:role/web"}}
automountServiceAccountToken: false`},
		target: "CloudIdentity/aws/arn:aws:iam::111122223333:role/web", want: false,
	}, {
		name: "exec in another namespace reaches its database",
		extra: []string{`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: exec}
rules: [{apiGroups: [""], resources: [pods/exec], verbs: [create]}]`, `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: exec, namespace: data}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: exec}
subjects: [{kind: ServiceAccount, name: web, namespace: app}]`, `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: mongo, namespace: data}
spec:
  selector: {matchLabels: {app: mongo}}
  template:
    metadata: {labels: {app: mongo}}
    spec:
      containers: [{name: mongo, image: "mongo:7"}]`},
		target: "StatefulSet/data/mongo", want: true, evidence: "may exec into container mongo of StatefulSet data/mongo",
	}, {
		name: "hostPath escape",
		extra: []string{`apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: app, labels: {app: web}}
spec:
  containers: [{name: agent, image: "agent:1", volumeMounts: [{name: root, mountPath: /host}]}]
  volumes: [{name: root, hostPath: {path: /}}]`},
		target: "Node/*", want: true, evidence: "hostPath / mounted at /host",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := pathsYAML(t, append([]string{pathsExposedWeb}, tt.extra...)...)
			g := pathsGraph(t, inv, GraphOptions{NoPodNetwork: true})
			ps := pathsTo(FindPaths(g, PathOptions{}), tt.target)
			if got := len(ps) > 0; got != tt.want {
				t.Fatalf("path to %s found = %v, want %v (graph nodes %d)", tt.target, got, tt.want, len(g.Nodes))
			}
			if !tt.want {
				return
			}
			ev := ""
			for _, h := range ps[0].Hops {
				ev += h.Evidence + "\n"
			}
			if !strings.Contains(ev, tt.evidence) {
				t.Errorf("evidence of path to %s:\n%s\nlacks %q", tt.target, ev, tt.evidence)
			}
		})
	}
}

func TestGraphEscape(t *testing.T) {
	yes := true
	tests := []struct {
		name string
		spec corev1.PodSpec
		want float64
		why  string
	}{
		{"plain", corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}, 0, ""},
		{"privileged", corev1.PodSpec{Containers: []corev1.Container{{Name: "c", SecurityContext: &corev1.SecurityContext{Privileged: &yes}}}}, 0.9, "privileged: true"},
		{"SYS_ADMIN", corev1.PodSpec{Containers: []corev1.Container{{Name: "c", SecurityContext: &corev1.SecurityContext{
			Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN"}}}}}}, 0.7, "capability SYS_ADMIN added"},
		{"hostPID", corev1.PodSpec{HostPID: true, Containers: []corev1.Container{{Name: "c"}}}, 0.6, "hostPID: true"},
		{"docker socket read-only", corev1.PodSpec{
			Volumes:    []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/run/docker.sock"}}}},
			Containers: []corev1.Container{{Name: "c", VolumeMounts: []corev1.VolumeMount{{Name: "s", MountPath: "/s", ReadOnly: true}}}}},
			0.9, "hostPath /var/run/docker.sock mounted read-only at /s (container runtime socket)"},
		{"harmless hostPath read-only", corev1.PodSpec{
			Volumes:    []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}}},
			Containers: []corev1.Container{{Name: "c", VolumeMounts: []corev1.VolumeMount{{Name: "s", MountPath: "/logs", ReadOnly: true}}}}},
			0.2, "hostPath /var/log mounted read-only at /logs"},
		{"hostPath volume not mounted by the container", corev1.PodSpec{
			Volumes:    []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}},
			Containers: []corev1.Container{{Name: "c"}}}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, why := graphEscapeOf(&tt.spec, tt.spec.Containers[0])
			if p != tt.want || why != tt.why {
				t.Errorf("graphEscapeOf = %v, %q, want %v, %q", p, why, tt.want, tt.why)
			}
		})
	}
}

func TestGraphNetworkPolicy(t *testing.T) {
	deny := `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress]`
	allowAll := `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-all, namespace: shop}
spec:
  podSelector: {matchLabels: {app: orders-db}}
  ingress: [{}]`
	egressOnly := `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Egress]`
	tests := []struct {
		name   string
		policy string
		want   bool
	}{
		{"no policy", "", true},
		{"default deny", deny, false},
		{"allow all ingress", allowAll, true},
		{"egress only", egressOnly, true},
	}
	base := pathsLoad(t, "testdata/paths/shop.yaml")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := &Inventory{Objects: base.Objects}
			if tt.policy != "" {
				inv.Objects = append(append([]*Object(nil), base.Objects...), pathsYAML(t, tt.policy).Objects...)
			}
			g := pathsGraph(t, inv, GraphOptions{Vulns: shopVulns})
			got := len(pathsTo(FindPaths(g, PathOptions{}), "StatefulSet/shop/orders-db")) > 0
			if got != tt.want {
				t.Errorf("path to orders-db found = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCrownJewelsOption(t *testing.T) {
	inv := pathsLoad(t, "testdata/paths/shop.yaml")
	tests := []struct {
		name    string
		cj      CrownJewels
		targets []string
		wantErr bool
	}{
		{"names only", CrownJewels{Names: "^orders-"}, []string{"StatefulSet/shop/orders-db"}, false},
		{"selector only", CrownJewels{Selectors: []string{"sextant.dev/crown-jewel"}}, []string{"Secret/shop/db-credentials"}, false},
		{"nothing", CrownJewels{}, nil, false},
		{"bad selector", CrownJewels{Selectors: []string{"a in (b"}}, nil, true},
		{"bad regexp", CrownJewels{Names: "("}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := BuildGraph(inv, GraphOptions{CrownJewels: &tt.cj})
			if (err != nil) != tt.wantErr {
				t.Fatalf("BuildGraph error = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			var got []string
			for _, p := range FindPaths(g, PathOptions{}) {
				if !containsString(got, p.Target) {
					got = append(got, p.Target)
				}
			}
			if diff := cmp.Diff(tt.targets, got); diff != "" {
				t.Errorf("targets (-want +got):\n%s", diff)
			}
		})
	}
}

func containsString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func TestFindPathsBounds(t *testing.T) {
	inv := pathsLoad(t, fixtures.Files(t, "k8s", "kubernetes-goat")...)
	g := pathsGraph(t, inv, GraphOptions{})
	tests := []struct {
		name string
		opts PathOptions
	}{
		{"max hops 3", PathOptions{MaxHops: 3}},
		{"one per target", PathOptions{PerTarget: 1}},
		{"limit 2", PathOptions{Limit: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			paths := FindPaths(g, tt.opts)
			if len(paths) == 0 {
				t.Fatalf("FindPaths(%+v) found nothing", tt.opts)
			}
			per := map[string]int{}
			for i, p := range paths {
				if tt.opts.MaxHops > 0 && len(p.Hops) > tt.opts.MaxHops {
					t.Errorf("path %d has %d hops, max %d", i, len(p.Hops), tt.opts.MaxHops)
				}
				if p.Riskiest {
					per[p.Target]++
				}
				if i > 0 && paths[i-1].Score < p.Score {
					t.Errorf("path %d score %v after %v: not sorted", i, p.Score, paths[i-1].Score)
				}
			}
			for target, n := range per {
				if tt.opts.PerTarget > 0 && n > tt.opts.PerTarget {
					t.Errorf("%d riskiest paths to %s, want at most %d", n, target, tt.opts.PerTarget)
				}
			}
			if tt.opts.Limit > 0 && len(paths) > tt.opts.Limit {
				t.Errorf("%d paths, limit %d", len(paths), tt.opts.Limit)
			}
		})
	}
}

func TestFindPathsDeterministic(t *testing.T) {
	inv := pathsLoad(t, fixtures.Files(t, "k8s", "kubernetes-goat")...)
	want := FindPaths(pathsGraph(t, inv, GraphOptions{}), PathOptions{})
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 5; i++ {
		objs := append([]*Object(nil), inv.Objects...)
		rng.Shuffle(len(objs), func(a, b int) { objs[a], objs[b] = objs[b], objs[a] })
		got := FindPaths(pathsGraph(t, &Inventory{Objects: objs}, GraphOptions{}), PathOptions{})
		if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(Path{})); diff != "" {
			t.Fatalf("shuffle %d changed the paths (-want +got):\n%s", i, diff)
		}
	}
}

func TestBlastRadius(t *testing.T) {
	g := pathsGraph(t, pathsLoad(t, "testdata/paths/shop.yaml"), GraphOptions{Vulns: shopVulns})
	goat := pathsGraph(t, pathsLoad(t, fixtures.Files(t, "k8s", "kubernetes-goat")...), GraphOptions{NoPodNetwork: true})
	tests := []struct {
		name string
		g    *Graph
		ref  Ref
		want Radius
	}{{
		name: "web reads the db secret and reaches the db",
		g:    g, ref: Ref{Kind: "Deployment", Namespace: "shop", Name: "web"},
		want: Radius{Workload: Ref{Kind: "Deployment", Namespace: "shop", Name: "web"}, Found: true,
			Secrets: 1, ServiceAccounts: 1, Workloads: 1, // the db, over the pod network
			CrownJewels: []string{"Secret/shop/db-credentials", "StatefulSet/shop/orders-db"}},
	}, {
		name: "db has no token but reaches web over the pod network",
		g:    g, ref: Ref{Kind: "StatefulSet", Namespace: "shop", Name: "orders-db"},
		want: Radius{Workload: Ref{Kind: "StatefulSet", Namespace: "shop", Name: "orders-db"}, Found: true,
			Secrets: 1, ServiceAccounts: 1, Workloads: 1, CrownJewels: []string{"Secret/shop/db-credentials"}},
	}, {
		name: "db has no token and no network",
		g:    pathsGraph(t, pathsLoad(t, "testdata/paths/shop.yaml"), GraphOptions{NoPodNetwork: true}),
		ref:  Ref{Kind: "StatefulSet", Namespace: "shop", Name: "orders-db"},
		want: Radius{Workload: Ref{Kind: "StatefulSet", Namespace: "shop", Name: "orders-db"}, Found: true},
	}, {
		name: "unknown workload",
		g:    g, ref: Ref{Kind: "Deployment", Namespace: "shop", Name: "nope"},
		want: Radius{Workload: Ref{Kind: "Deployment", Namespace: "shop", Name: "nope"}},
	}, {
		name: "privileged goat reaches every workload through the node",
		g:    goat, ref: Ref{Kind: "Deployment", Namespace: "default", Name: "health-check-deployment"},
		want: Radius{Workload: Ref{Kind: "Deployment", Namespace: "default", Name: "health-check-deployment"}, Found: true,
			Secrets: 2, Namespaces: 2, Nodes: 1, Workloads: 10, ServiceAccounts: 3,
			CrownJewels: []string{"Secret/big-monolith/vaultapikey"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := BlastRadius(tt.g, tt.ref)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("BlastRadius(%s) (-want +got):\n%s", tt.ref, diff)
			}
		})
	}
}

func TestFindPathsEmpty(t *testing.T) {
	tests := []struct {
		name string
		g    *Graph
	}{
		{"nil graph", nil},
		{"empty inventory", pathsGraph(t, &Inventory{}, GraphOptions{})},
		{"nil inventory", pathsGraph(t, nil, GraphOptions{})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FindPaths(tt.g, PathOptions{}); len(got) != 0 {
				t.Errorf("FindPaths = %v, want none", got)
			}
		})
	}
}
