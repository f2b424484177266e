package k8s

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWorkload(t *testing.T) {
	tmpl := `{"metadata":{"labels":{"app":"x"}},"spec":{"containers":[{"name":"c","image":"app:1"}],"initContainers":[{"name":"i","image":"init:1"}],"ephemeralContainers":[{"name":"e","image":"debug:1"}]}}`
	tests := []struct {
		name     string
		in       string
		ok       bool
		specPath string
		replicas int
	}{
		{"Pod", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"app":"x"}},"spec":` + strings.TrimSuffix(strings.SplitN(tmpl, `"spec":`, 2)[1], "}") + `}`, true, "/spec", 1},
		{"Deployment", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":4,"template":` + tmpl + `}}`, true, "/spec/template/spec", 4},
		{"Deployment default replicas", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"template":` + tmpl + `}}`, true, "/spec/template/spec", 1},
		{"Deployment scaled to zero", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":0,"template":` + tmpl + `}}`, true, "/spec/template/spec", 0},
		{"StatefulSet", `{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"s"},"spec":{"replicas":3,"template":` + tmpl + `}}`, true, "/spec/template/spec", 3},
		{"DaemonSet", `{"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"d"},"spec":{"template":` + tmpl + `}}`, true, "/spec/template/spec", 1},
		{"ReplicaSet", `{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"r"},"spec":{"replicas":2,"template":` + tmpl + `}}`, true, "/spec/template/spec", 2},
		{"ReplicationController", `{"apiVersion":"v1","kind":"ReplicationController","metadata":{"name":"r"},"spec":{"replicas":5,"template":` + tmpl + `}}`, true, "/spec/template/spec", 5},
		{"ReplicationController without template", `{"apiVersion":"v1","kind":"ReplicationController","metadata":{"name":"r"},"spec":{}}`, false, "", 0},
		{"Job", `{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"j"},"spec":{"parallelism":3,"template":` + tmpl + `}}`, true, "/spec/template/spec", 1},
		{"CronJob", `{"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"c"},"spec":{"jobTemplate":{"spec":{"template":` + tmpl + `}}}}`, true, "/spec/jobTemplate/spec/template/spec", 1},
		{"old Deployment", `{"apiVersion":"extensions/v1beta1","kind":"Deployment","metadata":{"name":"d"},"spec":{"template":` + tmpl + `}}`, true, "/spec/template/spec", 1},
		{"Service", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"}}`, false, "", 0},
		{"custom kind", `{"apiVersion":"example.com/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"template":` + tmpl + `}}`, false, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !json.Valid([]byte(tt.in)) {
				t.Fatalf("bad test input %s", tt.in)
			}
			inv, err := LoadReader(strings.NewReader(tt.in), "w.json")
			if err != nil || len(inv.Objects) != 1 || len(inv.Warnings) != 0 {
				t.Fatalf("LoadReader(%s) = %v, %q, %v", tt.in, inv, inv.Warnings, err)
			}
			o := inv.Objects[0]
			// Loaded (Typed set) and built by hand (Raw only) alike.
			hand := &Object{APIVersion: o.APIVersion, Kind: o.Kind, Name: o.Name, Raw: o.Raw}
			for _, x := range []*Object{o, hand} {
				w, ok := x.Workload()
				if ok != tt.ok {
					t.Fatalf("Workload(%s, typed %v) ok = %v, want %v", tt.name, x.Typed != nil, ok, tt.ok)
				}
				if !ok {
					continue
				}
				if w.SpecPath != tt.specPath || w.Replicas != tt.replicas || w.Object != x {
					t.Errorf("Workload(%s) = %s, %d replicas, want %s, %d", tt.name, w.SpecPath, w.Replicas, tt.specPath, tt.replicas)
				}
				want := []ContainerImage{{Container: "c", Image: "app:1"}, {Container: "i", Init: true, Image: "init:1"}, {Container: "e", Ephemeral: true, Image: "debug:1"}}
				if diff := cmp.Diff(want, w.Images()); diff != "" {
					t.Errorf("Workload(%s).Images() (-want +got):\n%s", tt.name, diff)
				}
			}
		})
	}
}

func TestWorkloadsAndFind(t *testing.T) {
	in := "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, image: x}]}\n---\n" +
		"apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n" +
		"apiVersion: batch/v1\nkind: Job\nmetadata: {name: j, namespace: ns2}\nspec: {template: {spec: {containers: [{name: c, image: busybox}]}}}\n"
	inv, err := LoadReader(strings.NewReader(in), "w.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range inv.Workloads() {
		got = append(got, w.Object.Ref().String())
	}
	if diff := cmp.Diff([]string{"Pod/default/a", "Job/ns2/j"}, got); diff != "" {
		t.Errorf("Workloads() (-want +got):\n%s", diff)
	}
	if o := inv.Find(Ref{Kind: "Service", Namespace: "default", Name: "a"}); o == nil || o.Kind != "Service" {
		t.Errorf("Find(Service/default/a) = %v, want the Service", o)
	}
	if o := inv.Find(Ref{Kind: "Service", Name: "a"}); o != nil {
		t.Errorf("Find(Service/a) = %v, want nil (wrong namespace)", o.Ref())
	}
	var nilInv *Inventory
	if nilInv.Workloads() != nil || nilInv.Find(Ref{}) != nil {
		t.Errorf("nil Inventory: Workloads, Find = non-nil, want nil")
	}
}

func TestRoute(t *testing.T) {
	in := `apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: r, namespace: app}
spec:
  parentRefs:
  - {name: gw, namespace: infra, sectionName: https}
  - {name: mesh, kind: Service, group: ""}
  hostnames: [a.example.com, b.example.com]
  rules:
  - backendRefs:
    - {name: svc, port: 9000}
    - {name: other, namespace: app2, port: 9001, weight: 1}
  - backendRefs:
    - {name: bucket, kind: Bucket, group: storage.example.com}
`
	inv, err := LoadReader(strings.NewReader(in), "r.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, ok := inv.Objects[0].Route()
	if !ok {
		t.Fatal("Route() ok = false, want true")
	}
	want := &Route{
		ParentRefs: []RouteRef{
			{Group: "gateway.networking.k8s.io", Kind: "Gateway", Namespace: "infra", Name: "gw", SectionName: "https"},
			{Kind: "Service", Namespace: "app", Name: "mesh"},
		},
		Hostnames: []string{"a.example.com", "b.example.com"},
		Backends: []RouteRef{
			{Kind: "Service", Namespace: "app", Name: "svc", Port: 9000},
			{Kind: "Service", Namespace: "app2", Name: "other", Port: 9001},
			{Group: "storage.example.com", Kind: "Bucket", Namespace: "app", Name: "bucket"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Route() (-want +got):\n%s", diff)
	}
	if _, ok := (&Object{APIVersion: "v1", Kind: "Service"}).Route(); ok {
		t.Errorf("Service.Route() ok = true, want false")
	}
}
