package k8s

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"

	"github.com/sextant-dev/sextant"
)

// benchManifests generates n objects as one multi-document YAML stream:
// apps of ten objects each (Deployment, Service — every tenth a
// LoadBalancer —, ServiceAccount, Role, RoleBinding, NetworkPolicy,
// Ingress, ConfigMap, Secret, and a standalone Pod) spread over 50
// namespaces, with 200 distinct images.
func benchManifests(n int) []byte {
	var b bytes.Buffer
	for i := 0; i < n/10; i++ {
		ns := fmt.Sprintf("team-%d", i%50)
		app := fmt.Sprintf("app-%d", i)
		img := fmt.Sprintf("registry.example.com/svc-%d:1.%d", i%200, i%7)
		svcType := "ClusterIP"
		if i%10 == 0 {
			svcType = "LoadBalancer"
		}
		fmt.Fprintf(&b, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  namespace: %[2]s
  labels: {app: %[1]s, owner: team-%[4]d, environment: prod}
spec:
  replicas: 3
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      serviceAccountName: %[1]s
      containers:
      - name: main
        image: %[3]s
        securityContext: {allowPrivilegeEscalation: false, runAsNonRoot: true}
        resources: {limits: {cpu: 100m, memory: 128Mi}}
      - name: sidecar
        image: envoyproxy/envoy:v1.30.0
---
apiVersion: v1
kind: Service
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  type: %[5]s
  selector: {app: %[1]s}
  ports: [{port: 443, targetPort: 8443}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: %[1]s, namespace: %[2]s}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: %[1]s, namespace: %[2]s}
rules:
- {apiGroups: [""], resources: [configmaps, secrets], verbs: [get, list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: %[1]s, namespace: %[2]s}
subjects: [{kind: ServiceAccount, name: %[1]s}]
roleRef: {kind: Role, name: %[1]s, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  podSelector: {matchLabels: {app: %[1]s}}
  policyTypes: [Ingress]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  rules:
  - host: %[1]s.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: %[1]s, port: {number: 443}}}}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: %[1]s, namespace: %[2]s}
data: {config.yaml: "key: value"}
---
apiVersion: v1
kind: Secret
metadata: {name: %[1]s, namespace: %[2]s}
data: {token: c2VjcmV0}
---
apiVersion: v1
kind: Pod
metadata: {name: %[1]s-debug, namespace: %[2]s, labels: {app: %[1]s-debug}}
spec:
  containers:
  - {name: debug, image: "busybox:1.36"}
---
`, app, ns, img, i%20, svcType)
	}
	return b.Bytes()
}

// BenchmarkLoadAndContext measures the target: 10,000 objects
// read from YAML and their context built, then every image looked up.
func BenchmarkLoadAndContext(b *testing.B) {
	data := benchManifests(10000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var (
		inv *Inventory
		c   *Context
		err error
	)
	for b.Loop() {
		inv, err = LoadReader(bytes.NewReader(data), "bench.yaml")
		if err != nil || len(inv.Objects) != 10000 || len(inv.Warnings) != 0 {
			b.Fatalf("LoadReader = %d objects, %d warnings, %v", len(inv.Objects), len(inv.Warnings), err)
		}
		c = BuildContext(inv, ContextOptions{})
		for i := range 200 {
			if ac := c.ForArtifact(sextant.Artifact{Name: fmt.Sprintf("registry.example.com/svc-%d:1.%d", i, i%7)}); ac == nil {
				b.Fatalf("ForArtifact(svc-%d) = nil", i)
			}
		}
	}
	// The memory the inventory and its context hold once built.
	data = nil
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "live-MB")
	runtime.KeepAlive(inv)
	runtime.KeepAlive(c)
}

// BenchmarkBuildContext measures the context alone on 10,000 loaded objects.
func BenchmarkBuildContext(b *testing.B) {
	inv, err := LoadReader(bytes.NewReader(benchManifests(10000)), "bench.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		BuildContext(inv, ContextOptions{})
	}
}

func TestBenchManifests(t *testing.T) {
	inv, err := LoadReader(bytes.NewReader(benchManifests(100)), "bench.yaml")
	if err != nil || len(inv.Objects) != 100 || len(inv.Warnings) != 0 {
		t.Fatalf("LoadReader(benchManifests(100)) = %d objects, %q, %v, want 100, none, nil", len(inv.Objects), inv.Warnings, err)
	}
	c := BuildContext(inv, ContextOptions{})
	w := c.Workload(Ref{Kind: "Deployment", Namespace: "team-0", Name: "app-0"})
	if w == nil || !w.Exposed() || len(w.IngressPolicies) != 1 || w.Owner != "team-0" || w.Environment != "production" || len(w.Grants) != 1 {
		t.Errorf("Workload(app-0) = %+v, want exposed, isolated, owned, production, reading secrets", w)
	}
}
