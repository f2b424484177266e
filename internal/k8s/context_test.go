package k8s

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/fixtures"
)

// shopContext builds the context of testdata/context/shop.yaml with the
// options the tests share.
func shopContext(t *testing.T) *Context {
	t.Helper()
	inv, err := LoadFiles(filepath.Join("testdata", "context", "shop.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Warnings) != 0 {
		t.Fatalf("LoadFiles(shop.yaml) warnings = %q, want none", inv.Warnings)
	}
	bs, err := LoadBackstage(filepath.Join("testdata", "context", "catalog-info.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return BuildContext(inv, ContextOptions{
		Cluster:               "test",
		NamespaceEnvironments: map[string]string{"batch": "dev"},
		NamespaceTeams:        map[string]string{"batch": "team-batch"},
		Backstage:             bs,
	})
}

func evidences[T any](xs []T, ev func(T) string) []string {
	out := []string{}
	for _, x := range xs {
		out = append(out, ev(x))
	}
	return out
}

func TestContextWorkloads(t *testing.T) {
	c := shopContext(t)
	exposure := func(e Exposure) string { return e.Evidence }
	escape := func(p Privilege) string {
		if p.Escape {
			return "ESCAPE " + p.Evidence
		}
		return p.Evidence
	}
	grant := func(g Grant) string { return string(g.Capability) + "@" + g.Namespace }
	tests := []struct {
		ref        Ref
		replicas   int
		exposed    bool
		exposures  []string
		privileged bool
		privileges []string // nil: not checked
		sa         string
		token      bool
		grants     []string
		cloud      []string
		ingressNP  []Ref
		env, owner string
	}{
		{
			ref: Ref{"Deployment", "shop", "web"}, replicas: 3, exposed: true,
			exposures:  []string{"exposed via Service web/LoadBalancer port 443"},
			privileges: []string{},
			sa:         "web", token: false, grants: []string{"pods-exec@shop"}, cloud: []string{},
			env: "production", owner: "team-web",
		},
		{
			ref: Ref{"Deployment", "shop", "api"}, replicas: 2, exposed: true,
			exposures: []string{"exposed via Ingress api host api.example.com → Service api port 8080"},
			privileges: []string{
				"init container migrate may run as root (no runAsNonRoot, no runAsUser)",
				"container api may run as root (no runAsNonRoot, no runAsUser)",
				"token of ServiceAccount api mounted (automountServiceAccountToken not set)",
			},
			sa: "api", token: true, grants: []string{"pods-exec@shop"},
			cloud:     []string{"ServiceAccount api assumes AWS role arn:aws:iam::111122223333:role/shop-api (eks.amazonaws.com/role-arn)"},
			ingressNP: []Ref{{"NetworkPolicy", "shop", "api-ingress"}},
			env:       "production", owner: "team-api",
		},
		{
			ref: Ref{"Deployment", "shop", "reports"}, replicas: 1, exposed: false,
			exposures: []string{"internal load balancer Service reports port 80 (service.beta.kubernetes.io/aws-load-balancer-internal: true)"},
			sa:        "default", token: true, grants: []string{"pods-exec@shop"}, cloud: []string{},
			env: "production",
		},
		{
			ref: Ref{"Deployment", "shop", "store"}, replicas: 1, exposed: true,
			exposures: []string{"exposed via HTTPRoute store host store.example.com (Gateway infra/public) → Service store port 8080"},
			sa:        "default", token: true, grants: []string{"pods-exec@shop"}, cloud: []string{},
			env: "production", owner: "group:default/team-store",
		},
		{
			ref: Ref{"Pod", "shop", "legacy"}, replicas: 1, exposed: true,
			exposures: []string{"exposed via Ingress legacy host old.example.com → Service legacy port 80"},
			sa:        "default", token: true, grants: []string{"pods-exec@shop"}, cloud: []string{},
			env: "production",
		},
		{
			ref: Ref{"Deployment", "shop", "az"}, replicas: 1, exposures: []string{},
			sa: "az", token: true, grants: []string{"pods-exec@shop"},
			cloud: []string{"ServiceAccount az uses Azure client 00000000-0000-0000-0000-000000000001 (azure.workload.identity/client-id, pod label azure.workload.identity/use)"},
			env:   "production",
		},
		{
			ref: Ref{"CronJob", "batch", "worker"}, replicas: 1, exposures: []string{}, privileged: true,
			privileges: []string{
				"ESCAPE privileged container worker",
				"container worker: allowPrivilegeEscalation: true",
				"container worker adds capability NET_ADMIN",
				"ESCAPE container worker adds capability SYS_ADMIN",
				"container worker may run as root (no runAsNonRoot, no runAsUser)",
				"ESCAPE hostPath volume sock: /var/run/docker.sock (mounted by worker)",
				"hostPath volume data: /data/cache (not mounted)",
				"token of ServiceAccount worker mounted (automountServiceAccountToken not set)",
			},
			sa: "worker", token: true,
			grants: []string{"cluster-admin@", "escalate@", "bind@", "impersonate@", "nodes-proxy@", "create-tokens@",
				"read-secrets@", "pods-exec@", "create-workloads@", "wildcard@"},
			cloud: []string{"ServiceAccount worker acts as Google service account worker@project.iam.gserviceaccount.com (iam.gke.io/gcp-service-account)"},
			env:   "development", owner: "team-batch",
		},
		{
			// Two Nodes in the inventory: a DaemonSet runs two pods.
			ref: Ref{"DaemonSet", "kube-system", "agent"}, replicas: 2, exposed: true,
			exposures:  []string{"hostNetwork: true: its ports listen on the node's addresses", "container agent hostPort 9100 on the node"},
			privileged: true,
			privileges: []string{
				"ESCAPE hostPID: true: sees and signals the node's processes",
				"hostNetwork: true: shares the node's network namespace",
				"container agent runs as root (runAsUser: 0)",
				"token of ServiceAccount agent mounted (the ServiceAccount sets automountServiceAccountToken: true)",
			},
			sa: "agent", token: true, grants: []string{"nodes-proxy@", "read-secrets@"}, cloud: []string{},
		},
	}
	if got := len(c.Workloads()); got != len(tests) {
		t.Errorf("BuildContext(shop.yaml).Workloads() = %d, want %d", got, len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.ref.String(), func(t *testing.T) {
			w := c.Workload(tt.ref)
			if w == nil {
				t.Fatalf("Workload(%v) = nil", tt.ref)
			}
			if w.Replicas != tt.replicas || w.Cluster != "test" || w.Namespace != tt.ref.Namespace {
				t.Errorf("Workload(%v) replicas, cluster, namespace = %d, %q, %q, want %d, test, %q", tt.ref, w.Replicas, w.Cluster, w.Namespace, tt.replicas, tt.ref.Namespace)
			}
			if w.Exposed() != tt.exposed {
				t.Errorf("Workload(%v).Exposed() = %v, want %v", tt.ref, w.Exposed(), tt.exposed)
			}
			if diff := cmp.Diff(tt.exposures, evidences(w.Exposures, exposure)); diff != "" {
				t.Errorf("Workload(%v) exposures (-want +got):\n%s", tt.ref, diff)
			}
			if w.Privileged() != tt.privileged {
				t.Errorf("Workload(%v).Privileged() = %v, want %v", tt.ref, w.Privileged(), tt.privileged)
			}
			if tt.privileges != nil {
				if diff := cmp.Diff(tt.privileges, evidences(w.Privileges, escape)); diff != "" {
					t.Errorf("Workload(%v) privileges (-want +got):\n%s", tt.ref, diff)
				}
			}
			if w.ServiceAccount != tt.sa || w.TokenMounted != tt.token {
				t.Errorf("Workload(%v) service account, token = %q, %v, want %q, %v", tt.ref, w.ServiceAccount, w.TokenMounted, tt.sa, tt.token)
			}
			if diff := cmp.Diff(tt.grants, evidences(w.Grants, grant)); diff != "" {
				t.Errorf("Workload(%v) grants (-want +got):\n%s", tt.ref, diff)
			}
			if diff := cmp.Diff(tt.cloud, evidences(w.CloudIdentities, func(c CloudIdentity) string { return c.Evidence })); diff != "" {
				t.Errorf("Workload(%v) cloud identities (-want +got):\n%s", tt.ref, diff)
			}
			if diff := cmp.Diff(tt.ingressNP, w.IngressPolicies); diff != "" {
				t.Errorf("Workload(%v) ingress policies (-want +got):\n%s", tt.ref, diff)
			}
			if w.IngressIsolated() != (len(tt.ingressNP) > 0) {
				t.Errorf("Workload(%v).IngressIsolated() = %v, want %v", tt.ref, w.IngressIsolated(), len(tt.ingressNP) > 0)
			}
			if w.Environment != tt.env || w.Owner != tt.owner {
				t.Errorf("Workload(%v) environment, owner = %q, %q, want %q, %q", tt.ref, w.Environment, w.Owner, tt.env, tt.owner)
			}
			if (w.Environment != "") != (w.EnvironmentEvidence != "") || (w.Owner != "") != (w.OwnerEvidence != "") {
				t.Errorf("Workload(%v) evidence = %q, %q, want one for each known value", tt.ref, w.EnvironmentEvidence, w.OwnerEvidence)
			}
		})
	}
}

func TestContextForArtifact(t *testing.T) {
	c := shopContext(t)
	const apiDigest = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	tests := []struct {
		name string
		a    sextant.Artifact
		want *sextant.ArtifactContext // Evidence checked separately
		ev   map[string]string        // evidence substrings, by field
	}{
		{
			name: "repo:tag across registries spellings, most production-like first",
			a:    sextant.Artifact{Name: "nginx:1.25", Repository: "nginx", Tags: []string{"1.25"}},
			want: &sextant.ArtifactContext{Environment: "production", Exposed: true, Privileged: true, Owner: "team-web", Workloads: 2, Replicas: 4},
			ev: map[string]string{
				"exposed":     "exposed via Service web/LoadBalancer port 443 (Deployment shop/web)",
				"privileged":  "privileged container worker (CronJob batch/worker)",
				"environment": "Deployment shop/web: label environment=prod on Namespace shop",
				"owner":       "Deployment shop/web: label owner=team-web on Deployment web",
				"workloads":   "runs in Deployment shop/web, CronJob batch/worker",
				"replicas":    "replicas 3 web + 1 worker",
			},
		},
		{
			name: "fully qualified name",
			a:    sextant.Artifact{Name: "index.docker.io/library/nginx:1.25"},
			want: &sextant.ArtifactContext{Environment: "production", Exposed: true, Privileged: true, Owner: "team-web", Workloads: 2, Replicas: 4},
		},
		{
			name: "by repo digest",
			a:    sextant.Artifact{Name: "whatever", RepoDigests: []string{"registry.example.com/shop/api@" + apiDigest}},
			want: &sextant.ArtifactContext{Environment: "production", Exposed: true, Owner: "team-api", Workloads: 1, Replicas: 2},
			ev: map[string]string{
				"exposed": "exposed via Ingress api host api.example.com → Service api port 8080 (Deployment shop/api)",
				"owner":   "Backstage Component shop-api",
			},
		},
		{
			name: "by digest, upper case",
			a:    sextant.Artifact{Digest: strings.ToUpper(apiDigest)},
			want: &sextant.ArtifactContext{Environment: "production", Exposed: true, Owner: "team-api", Workloads: 1, Replicas: 2},
		},
		{
			name: "tag of a pinned reference, artifact digest unknown",
			a:    sextant.Artifact{Repository: "registry.example.com/shop/api", Tags: []string{"2.1"}},
			want: &sextant.ArtifactContext{Environment: "production", Exposed: true, Owner: "team-api", Workloads: 1, Replicas: 2},
		},
		{
			name: "tag of a pinned reference, another digest",
			a:    sextant.Artifact{Repository: "registry.example.com/shop/api", Tags: []string{"2.1"}, RepoDigests: []string{"registry.example.com/shop/api@sha256:bbbb"}},
		},
		{
			name: "tag of a pinned reference, image ID only",
			a:    sextant.Artifact{Repository: "registry.example.com/shop/api", Tags: []string{"2.1"}, Digest: "sha256:cccc"},
			want: &sextant.ArtifactContext{Environment: "production", Exposed: true, Owner: "team-api", Workloads: 1, Replicas: 2},
		},
		{
			name: "no tag means latest",
			a:    sextant.Artifact{Name: "registry.example.com/shop/legacy:latest"},
			want: &sextant.ArtifactContext{Environment: "production", Exposed: true, Workloads: 1, Replicas: 1},
		},
		{
			name: "init container image",
			a:    sextant.Artifact{Name: "docker.io/library/busybox"},
			want: &sextant.ArtifactContext{Environment: "production", Exposed: true, Owner: "team-api", Workloads: 1, Replicas: 2},
		},
		{
			name: "internal load balancer is not exposed",
			a:    sextant.Artifact{Name: "registry.example.com/shop/reports:1.0"},
			want: &sextant.ArtifactContext{Environment: "production", Workloads: 1, Replicas: 1},
			ev:   map[string]string{"exposed": "not exposed"},
		},
		{
			name: "other tag",
			a:    sextant.Artifact{Name: "nginx:1.24"},
		},
		{
			name: "unknown image",
			a:    sextant.Artifact{Name: "redis:7"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.ForArtifact(tt.a)
			if tt.want == nil {
				if got != nil {
					t.Errorf("ForArtifact(%+v) = %+v, want nil", tt.a, got)
				}
				return
			}
			if got == nil {
				t.Fatalf("ForArtifact(%+v) = nil, want %+v", tt.a, tt.want)
			}
			ev := got.Evidence
			got.Evidence = nil
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ForArtifact(%+v) (-want +got):\n%s", tt.a, diff)
			}
			for _, f := range []string{"exposed", "workloads", "replicas"} {
				if ev[f] == "" {
					t.Errorf("ForArtifact(%+v).Evidence[%q] = \"\", want a reason", tt.a, f)
				}
			}
			for f, want := range tt.ev {
				if !strings.Contains(ev[f], want) {
					t.Errorf("ForArtifact(%+v).Evidence[%q] = %q, want it to contain %q", tt.a, f, ev[f], want)
				}
			}
		})
	}
}

func TestNormalizeImage(t *testing.T) {
	tests := []struct{ in, repo, tag, digest string }{
		{"nginx", "docker.io/library/nginx", "latest", ""},
		{"nginx:1.25", "docker.io/library/nginx", "1.25", ""},
		{"docker.io/library/nginx:1.25", "docker.io/library/nginx", "1.25", ""},
		{"index.docker.io/library/nginx:1.25", "docker.io/library/nginx", "1.25", ""},
		{"bitnami/redis:7", "docker.io/bitnami/redis", "7", ""},
		{"localhost:5000/app", "localhost:5000/app", "latest", ""},
		{"localhost/app:1", "localhost/app", "1", ""},
		{"Quay.io/Org/App:v1", "quay.io/org/app", "v1", ""},
		{"gcr.io/p/app@sha256:ABC", "gcr.io/p/app", "", "sha256:abc"},
		{"gcr.io/p/app:1@sha256:abc", "gcr.io/p/app", "1", "sha256:abc"},
	}
	for _, tt := range tests {
		repo, tag, digest := cxNormalizeImage(tt.in)
		if repo != tt.repo || tag != tt.tag || digest != tt.digest {
			t.Errorf("cxNormalizeImage(%q) = %q, %q, %q, want %q, %q, %q", tt.in, repo, tag, digest, tt.repo, tt.tag, tt.digest)
		}
	}
}

func TestNormalizeEnv(t *testing.T) {
	tests := map[string]string{
		"prod": "production", "Production": "production", "eu-prod-1": "production", "live": "production",
		"stage": "staging", "UAT": "staging", "qa": "test", "dev": "development", "sandbox": "development",
		"perf": "perf", "": "",
	}
	for in, want := range tests {
		if got := cxNormalizeEnv(in); got != want {
			t.Errorf("cxNormalizeEnv(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestContextOwnedWorkloads: a Deployment, its ReplicaSet and its Pod, as a
// live cluster lists them, count once.
func TestContextOwnedWorkloads(t *testing.T) {
	in := `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: a}
spec:
  replicas: 2
  template:
    spec: {containers: [{name: c, image: "app:1"}]}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d8
  namespace: a
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: u1, controller: true}]
spec:
  replicas: 2
  template:
    spec: {containers: [{name: c, image: "app:1"}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-5d8-x
  namespace: a
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8, uid: u2, controller: true}]
spec: {containers: [{name: c, image: "app:1"}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: orphan
  namespace: a
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: gone, uid: u3, controller: true}]
spec: {containers: [{name: c, image: "app:1"}]}
`
	inv, err := LoadReader(strings.NewReader(in), "live.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := BuildContext(inv, ContextOptions{})
	var top []Ref
	for _, w := range c.Workloads() {
		top = append(top, w.Ref)
	}
	want := []Ref{{"Deployment", "a", "web"}, {"Pod", "a", "orphan"}}
	if diff := cmp.Diff(want, top); diff != "" {
		t.Errorf("BuildContext(owned).Workloads() (-want +got):\n%s", diff)
	}
	if w := c.Workload(Ref{"Pod", "a", "web-5d8-x"}); w == nil || w.OwnedBy == nil || *w.OwnedBy != (Ref{"ReplicaSet", "a", "web-5d8"}) {
		t.Errorf("Workload(Pod web-5d8-x).OwnedBy = %v, want ReplicaSet a/web-5d8", w)
	}
	ac := c.ForArtifact(sextant.Artifact{Name: "app:1"})
	if ac == nil || ac.Workloads != 2 || ac.Replicas != 3 {
		t.Errorf("ForArtifact(app:1) = %+v, want 2 workloads, 3 replicas", ac)
	}
}

func TestContextFixtures(t *testing.T) {
	inv, err := LoadFiles(fixtures.Dir(t, "k8s", "kubernetes-goat"), fixtures.Dir(t, "k8s", "real-world"))
	if err != nil {
		t.Fatal(err)
	}
	c := BuildContext(inv, ContextOptions{})
	tests := []struct {
		ref        Ref
		exposed    string // first exposure evidence, "" for none
		privileged string // first escape evidence, "" for none
		grant      string // first grant, "" for none
	}{
		{Ref{"Deployment", "default", "internal-proxy-deployment"}, "exposed via Service internal-proxy-info-app-service/NodePort port 5000 (nodePort 30003)", "", ""},
		{Ref{"Deployment", "default", "health-check-deployment"}, "", "privileged container health-check", ""},
		{Ref{"DaemonSet", "default", "docker-bench-security"}, "hostNetwork: true: its ports listen on the node's addresses", "hostPID: true: sees and signals the node's processes", ""},
		{Ref{"Deployment", "big-monolith", "hunger-check-deployment"}, "", "", "read-secrets in big-monolith"},
		{Ref{"Deployment", "ingress-nginx", "ingress-nginx-controller"}, "exposed via Service ingress-nginx-controller/LoadBalancer port 80,443", "", "read-secrets in "},
		{Ref{"Deployment", "default", "frontend"}, "exposed via Service frontend/NodePort port 80", "", ""},
		{Ref{"Deployment", "default", "redis-master"}, "", "", ""},
	}
	for _, tt := range tests {
		w := c.Workload(tt.ref)
		if w == nil {
			t.Errorf("Workload(%v) = nil", tt.ref)
			continue
		}
		var gotE, gotP, gotG string
		if len(w.Exposures) > 0 {
			gotE = w.Exposures[0].Evidence
		}
		for _, p := range w.Privileges {
			if p.Escape {
				gotP = p.Evidence
				break
			}
		}
		if len(w.Grants) > 0 {
			g := w.Grants[0]
			gotG = string(g.Capability) + " in " + g.Namespace
		}
		if gotE != tt.exposed || gotP != tt.privileged || gotG != tt.grant {
			t.Errorf("Workload(%v) = exposure %q, escape %q, grant %q, want %q, %q, %q", tt.ref, gotE, gotP, gotG, tt.exposed, tt.privileged, tt.grant)
		}
	}
}

func TestLoadBackstage(t *testing.T) {
	got, err := LoadBackstage(filepath.Join("testdata", "context", "catalog-info.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		got[i].sel = nil
	}
	want := []BackstageEntity{
		{Kind: "Component", Name: "shop-api", Owner: "team-api", Lifecycle: "production", KubernetesID: "shop-api",
			Source: filepath.Join("testdata", "context", "catalog-info.yaml") + ":1"},
		{Kind: "Component", Name: "store", Owner: "group:default/team-store", Lifecycle: "production", Selector: "app=store", Namespace: "shop",
			Source: filepath.Join("testdata", "context", "catalog-info.yaml") + ":12"},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(BackstageEntity{})); diff != "" {
		t.Errorf("LoadBackstage(catalog-info.yaml) (-want +got):\n%s", diff)
	}
	if _, err := LoadBackstage(filepath.Join("testdata", "load", "nope.yaml")); sextant.ErrorCode(err) != sextant.EINVALID {
		t.Errorf("LoadBackstage(missing) error = %v, want EINVALID", err)
	}
	if _, err := LoadBackstage(filepath.Join("testdata", "context", "bad-catalog.yaml")); sextant.ErrorCode(err) != sextant.EINVALID || !strings.Contains(err.Error(), "bad-catalog.yaml:") {
		t.Errorf("LoadBackstage(bad-catalog.yaml) error = %v, want EINVALID naming the file and line", err)
	}
}

func TestContextEnvironmentOwnerKeys(t *testing.T) {
	in := `apiVersion: v1
kind: Namespace
metadata: {name: pay, annotations: {company.com/env: Staging, company.com/team: payments}}
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: pay}
spec: {containers: [{name: c, image: "app:1"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: q, namespace: pay, labels: {company.com/team: checkout}}
spec: {containers: [{name: c, image: "app:1"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: r, namespace: prod}
spec: {containers: [{name: c, image: "app:2"}]}
`
	inv, err := LoadReader(strings.NewReader(in), "keys.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := BuildContext(inv, ContextOptions{EnvironmentKeys: []string{"company.com/env"}, OwnerKeys: []string{"company.com/team"}})
	tests := []struct {
		ref                  Ref
		env, envEv, own, oEv string
	}{
		{Ref{"Pod", "pay", "p"}, "staging", "annotation company.com/env=Staging on Namespace pay", "payments", "annotation company.com/team=payments on Namespace pay"},
		{Ref{"Pod", "pay", "q"}, "staging", "annotation company.com/env=Staging on Namespace pay", "checkout", "label company.com/team=checkout on Pod q"},
		{Ref{"Pod", "prod", "r"}, "production", "namespace named prod", "", ""},
	}
	for _, tt := range tests {
		w := c.Workload(tt.ref)
		if w.Environment != tt.env || w.EnvironmentEvidence != tt.envEv || w.Owner != tt.own || w.OwnerEvidence != tt.oEv {
			t.Errorf("Workload(%v) = %q (%q), %q (%q), want %q (%q), %q (%q)", tt.ref, w.Environment, w.EnvironmentEvidence, w.Owner, w.OwnerEvidence, tt.env, tt.envEv, tt.own, tt.oEv)
		}
	}
	ac := c.ForArtifact(sextant.Artifact{Name: "app:1"})
	if ac == nil || ac.Environment != "staging" || ac.Owner != "payments" || ac.Workloads != 2 {
		t.Errorf("ForArtifact(app:1) = %+v, want staging, payments, 2 workloads", ac)
	}
}
