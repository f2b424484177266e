package k8s

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const sxtDeploy = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: nginx}
      - {name: side, image: envoy}
`

func TestApplyFixAndStrategicMergePatch(t *testing.T) {
	o := sxtObjects(t, sxtDeploy)[0]
	tests := []struct {
		name    string
		ops     []PatchOp
		wantSMP string
	}{
		{"container by name", []PatchOp{{Op: "add", Path: "/spec/template/spec/containers/1/securityContext", Value: map[string]any{"privileged": false}}},
			`{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"web"},{"name":"side"}],"containers":[{"name":"side","securityContext":{"privileged":false}}]}}}}`},
		{"new container and volume", []PatchOp{
			{Op: "add", Path: "/spec/template/spec/containers/-", Value: map[string]any{"name": "log", "image": "busybox"}},
			{Op: "add", Path: "/spec/template/spec/volumes", Value: []any{map[string]any{"name": "tmp", "emptyDir": map[string]any{}}}},
		}, `{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"web"},{"name":"side"},{"name":"log"}],"containers":[{"image":"busybox","name":"log"}],"volumes":[{"emptyDir":{},"name":"tmp"}]}}}}`},
		{"remove container", []PatchOp{{Op: "remove", Path: "/spec/template/spec/containers/0"}},
			`{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"side"}],"containers":[{"$patch":"delete","name":"web"}]}}}}`},
		{"replace scalar list", []PatchOp{{Op: "add", Path: "/spec/template/spec/containers/0/args", Value: []string{"-v"}}},
			`{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"web"},{"name":"side"}],"containers":[{"args":["-v"],"name":"web"}]}}}}`},
		{"remove field", []PatchOp{{Op: "remove", Path: "/spec/selector"}},
			`{"spec":{"selector":null}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &Fix{Ops: tt.ops}
			if _, err := ApplyFix(o, f); err != nil {
				t.Fatalf("ApplyFix(%v) = %v, want nil", tt.ops, err)
			}
			got, err := StrategicMergePatch(o, f)
			if err != nil {
				t.Fatalf("StrategicMergePatch(%v) = %v", tt.ops, err)
			}
			var g, w any
			_ = json.Unmarshal(got, &g)
			_ = json.Unmarshal([]byte(tt.wantSMP), &w)
			if diff := cmp.Diff(w, g); diff != "" {
				t.Errorf("StrategicMergePatch(%v) = %s, want %s", tt.ops, got, tt.wantSMP)
			}
		})
	}
}

func TestApplyFixErrors(t *testing.T) {
	o := sxtObjects(t, sxtDeploy)[0]
	for _, ops := range [][]PatchOp{
		{{Op: "frobnicate", Path: "/spec"}},
		{{Op: "remove", Path: "/spec/nothing"}},
		{{Op: "add", Path: "/spec/a/b/c", Value: 1}},
		{{Op: "test", Path: "/kind", Value: "Pod"}},
	} {
		if got, err := ApplyFix(o, &Fix{Ops: ops}); err == nil {
			t.Errorf("ApplyFix(%v) = %s, nil, want an error", ops, got)
		}
	}
	if _, err := ApplyFix(&Object{Kind: "Pod", Name: "x"}, &Fix{Ops: []PatchOp{{Op: "remove", Path: "/a"}}}); err == nil {
		t.Errorf("ApplyFix(object without Raw) = nil error, want an error")
	}
}

func TestKubectlPatch(t *testing.T) {
	fix := &Fix{Ops: []PatchOp{{Op: "add", Path: "/metadata/labels", Value: map[string]string{"x": "it's"}}}}
	tests := []struct {
		kind, name, ns string
		want           string
		wantErr        bool
	}{
		{"Deployment", "web", "shop", `kubectl patch deployment web -n shop --type strategic -p '{"metadata":{"labels":{"x":"it'\''s"}}}'`, false},
		{"ClusterRole", "system:controller:x", "", `kubectl patch clusterrole system:controller:x --type strategic -p '{"metadata":{"labels":{"x":"it'\''s"}}}'`, false},
		{"Deployment", "web; rm -rf /", "shop", `kubectl patch deployment 'web; rm -rf /' -n shop --type strategic -p '{"metadata":{"labels":{"x":"it'\''s"}}}'`, false},
		{"Deployment", "web", "$(id)", `kubectl patch deployment web -n '$(id)' --type strategic -p '{"metadata":{"labels":{"x":"it'\''s"}}}'`, false},
		{"Deployment", "--all", "shop", "", true},
		{"Deployment", "a\nb", "shop", "", true},
		{"Deployment", "", "shop", "", true},
		{"Deploy ment", "web", "shop", "", true},
	}
	for _, tt := range tests {
		o := sxtObjects(t, sxtDeploy)[0]
		o.Kind, o.Name, o.Namespace = tt.kind, tt.name, tt.ns
		got, err := KubectlPatch(o, fix)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("KubectlPatch(%q, %q, %q) = %q, %v, want %q (error %v)", tt.kind, tt.name, tt.ns, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	check := sxtCheck(t, CheckNetServiceExternalIP)
	o := sxtObjects(t, `
apiVersion: v1
kind: Service
metadata: {name: s, namespace: shop}
spec: {externalIPs: [1.2.3.4], ports: [{port: 80}]}`)[0]
	tests := []struct {
		name string
		ops  []PatchOp
		want string
	}{
		{"does not fix", []PatchOp{{Op: "add", Path: "/metadata/labels", Value: map[string]string{"a": "b"}}}, "still fails"},
		{"unknown field", []PatchOp{{Op: "remove", Path: "/spec/externalIPs"}, {Op: "add", Path: "/spec/externalIps", Value: []string{"1.2.3.4"}}}, "does not decode"},
		{"wrong type", []PatchOp{{Op: "replace", Path: "/spec/externalIPs", Value: "1.2.3.4"}}, "does not decode"},
		{"does not apply", []PatchOp{{Op: "remove", Path: "/spec/nope"}}, "apply fix"},
	}
	for _, tt := range tests {
		err := Verify(o, &Fix{Ops: tt.ops}, check)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Verify(%s) = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
	if err := Verify(o, &Fix{Ops: []PatchOp{{Op: "remove", Path: "/spec/externalIPs"}}}, check); err != nil {
		t.Errorf("Verify(remove externalIPs) = %v, want nil", err)
	}
}
