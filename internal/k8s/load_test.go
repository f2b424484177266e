package k8s

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/fixtures"
)

// refs returns "Kind/ns/name" for every object, in order.
func refs(inv *Inventory) []string {
	out := []string{}
	for _, o := range inv.Objects {
		out = append(out, o.Ref().String())
	}
	return out
}

func TestLoadReader(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     []string
		sources  []Source
		warnings []string // substrings, one per warning, in order
	}{
		{
			name: "multi-document with comments and separators",
			in: "# leading comment\n\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\n" +
				"--- # trailing comment\n---\n# only a comment\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: x}\n...\n",
			want:    []string{"Pod/default/a", "Service/x/s"},
			sources: []Source{{File: "in.yaml", Doc: 0, Item: -1, Line: 3}, {File: "in.yaml", Doc: 1, Item: -1, Line: 10}},
		},
		{
			name:    "CRLF and byte-order mark",
			in:      "\xEF\xBB\xBFapiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: a\r\n---\r\napiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: b\r\n",
			want:    []string{"Pod/default/a", "Pod/default/b"},
			sources: []Source{{File: "in.yaml", Item: -1, Line: 1}, {File: "in.yaml", Doc: 1, Item: -1, Line: 6}},
		},
		{
			name: "kubectl List and typed PodList",
			in: "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: ns1}}\n- {apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: r}}\n" +
				"---\napiVersion: v1\nkind: PodList\nitems:\n- metadata: {name: p, namespace: q}\n",
			want: []string{"Namespace/ns1", "ClusterRole/r", "Pod/q/p"},
			sources: []Source{{File: "in.yaml", Item: 0, Line: 1}, {File: "in.yaml", Item: 1, Line: 1},
				{File: "in.yaml", Doc: 1, Item: 0, Line: 7}},
		},
		{
			name: "a bad document in the middle",
			in:   "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: c}\n",
			want: []string{"Pod/default/a", "Pod/default/c"},
			// The YAML error is at the document's line 4: line 8 of the file.
			warnings: []string{"in.yaml:5: document 1: not valid YAML: yaml: line 8"},
		},
		{
			name:     "unrendered template",
			in:       "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Values.name }}\n",
			want:     []string{},
			warnings: []string{"in.yaml:1: document 0: not valid YAML, and it holds {{ … }}: an unrendered template?"},
		},
		{
			name:     "not objects",
			in:       "just: values\n---\n- a\n- b\n---\n42\n",
			want:     []string{},
			warnings: []string{"document 0: not a Kubernetes object (no apiVersion or kind)", "in.yaml:3: document 1: not a Kubernetes object", "in.yaml:6: document 2: not a Kubernetes object"},
		},
		{
			name:     "wrong types",
			in:       "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: many}\n",
			want:     []string{"Deployment/default/d"},
			warnings: []string{"in.yaml:1: document 0: Deployment/default/d: does not decode as Deployment: cannot unmarshal string"},
		},
		{
			name:    "JSON objects, concatenated",
			in:      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}}\n\n{\"apiVersion\":\"v1\",\n\"kind\":\"Node\",\"metadata\":{\"name\":\"n1\"}}",
			want:    []string{"Pod/default/a", "Node/n1"},
			sources: []Source{{File: "in.yaml", Item: -1, Line: 1}, {File: "in.yaml", Doc: 1, Item: -1, Line: 3}},
		},
		{
			name:     "JSON syntax error",
			in:       "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}}\n{\"kind\": }",
			want:     []string{"Pod/default/a"},
			warnings: []string{"in.yaml:2: document 1: not valid JSON"},
		},
		{
			name: "cluster-scoped kinds keep no namespace",
			in: "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: b}\nroleRef: {kind: ClusterRole, name: view}\n" +
				"---\napiVersion: example.com/v1\nkind: ClusterWidget\nmetadata: {name: w}\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n",
			want: []string{"ClusterRoleBinding/b", "ClusterWidget/w", "Widget/default/w"},
		},
		{
			name:    "generateName",
			in:      "apiVersion: batch/v1\nkind: Job\nmetadata: {generateName: migrate-}\nspec: {template: {spec: {containers: [{name: m, image: m}]}}}\n",
			want:    []string{"Job/default/migrate-"},
			sources: []Source{{File: "in.yaml", Item: -1, Line: 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := LoadReader(strings.NewReader(tt.in), "in.yaml")
			if err != nil {
				t.Fatalf("LoadReader(%q) error = %v, want nil", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, refs(inv)); diff != "" {
				t.Errorf("LoadReader(%q) objects (-want +got):\n%s", tt.in, diff)
			}
			if tt.sources != nil {
				var got []Source
				for _, o := range inv.Objects {
					got = append(got, o.Source)
				}
				if diff := cmp.Diff(tt.sources, got); diff != "" {
					t.Errorf("LoadReader(%q) sources (-want +got):\n%s", tt.in, diff)
				}
			}
			if len(inv.Warnings) != len(tt.warnings) {
				t.Fatalf("LoadReader(%q) warnings = %q, want %d like %q", tt.in, inv.Warnings, len(tt.warnings), tt.warnings)
			}
			for i, w := range tt.warnings {
				if !strings.Contains(inv.Warnings[i], w) {
					t.Errorf("LoadReader(%q) warning %d = %q, want it to contain %q", tt.in, i, inv.Warnings[i], w)
				}
			}
		})
	}
}

func TestLoadReaderEmpty(t *testing.T) {
	for _, in := range []string{"", "\n\n", "# nothing\n---\n", "null\n"} {
		inv, err := LoadReader(strings.NewReader(in), "e.yaml")
		if err != nil || len(inv.Objects) != 0 || len(inv.Warnings) != 0 {
			t.Errorf("LoadReader(%q) = %v objects, %q, %v, want none, no warnings, nil", in, len(inv.Objects), inv.Warnings, err)
		}
	}
}

func TestLoadReaderManyNotObjects(t *testing.T) {
	var b strings.Builder
	for range 10 {
		b.WriteString(`{"level":"warning","msg":"x"}` + "\n")
	}
	inv, err := LoadReader(strings.NewReader(b.String()), "audit.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"audit.jsonl:1: document 0: not a Kubernetes object (no apiVersion or kind): skipped",
		"audit.jsonl:2: document 1: not a Kubernetes object (no apiVersion or kind): skipped",
		"audit.jsonl:3: document 2: not a Kubernetes object (no apiVersion or kind): skipped",
		"audit.jsonl: 7 more documents are not Kubernetes objects (no apiVersion or kind): skipped",
	}
	if diff := cmp.Diff(want, inv.Warnings); diff != "" {
		t.Errorf("LoadReader(10 JSON lines) warnings (-want +got):\n%s", diff)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, os.ErrPermission }

func TestLoadReaderIOError(t *testing.T) {
	_, err := LoadReader(failingReader{}, "broken")
	if sextant.ErrorCode(err) != sextant.EINVALID || !strings.Contains(err.Error(), "broken") {
		t.Errorf("LoadReader(failing) = %v, want an EINVALID error naming the input", err)
	}
}

func TestLoadFiles(t *testing.T) {
	inv, err := LoadFiles(filepath.Join("testdata", "load", "dir"), filepath.Join("testdata", "load", "helm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Deployment/shop/web", "Service/shop/web", "ConfigMap/default/settings", "Pod/default/solo",
		"ServiceAccount/default/shop", "Deployment/default/shop"}
	if diff := cmp.Diff(want, refs(inv)); diff != "" {
		t.Errorf("LoadFiles(dir, helm.yaml) objects (-want +got):\n%s", diff)
	}
	if len(inv.Warnings) != 0 {
		t.Errorf("LoadFiles(dir, helm.yaml) warnings = %q, want none", inv.Warnings)
	}
	gotSrc := map[string]Source{}
	for _, o := range inv.Objects {
		gotSrc[o.Ref().String()] = o.Source
	}
	wantSrc := map[string]Source{
		"Deployment/shop/web":         {File: filepath.Join("testdata", "load", "dir", "a.yaml"), Item: -1, Line: 2},
		"Service/shop/web":            {File: filepath.Join("testdata", "load", "dir", "a.yaml"), Doc: 1, Item: -1, Line: 19},
		"ConfigMap/default/settings":  {File: filepath.Join("testdata", "load", "dir", "sub", "b.yml"), Item: -1, Line: 1},
		"Pod/default/solo":            {File: filepath.Join("testdata", "load", "dir", "sub", "c.json"), Item: -1, Line: 1},
		"ServiceAccount/default/shop": {File: filepath.Join("testdata", "load", "helm.yaml"), Item: -1, Line: 3, Template: "shop/templates/serviceaccount.yaml"},
		"Deployment/default/shop":     {File: filepath.Join("testdata", "load", "helm.yaml"), Doc: 1, Item: -1, Line: 9, Template: "shop/templates/deployment.yaml"},
	}
	if diff := cmp.Diff(wantSrc, gotSrc); diff != "" {
		t.Errorf("LoadFiles sources (-want +got):\n%s", diff)
	}
	// ConfigMaps are metadata only.
	cm := inv.Find(Ref{Kind: "ConfigMap", Namespace: "default", Name: "settings"})
	if bytes.Contains(cm.Raw, []byte("hunter2")) || cm.Typed.(*corev1.ConfigMap).Data != nil {
		t.Errorf("LoadFiles ConfigMap kept its data: %s", cm.Raw)
	}
}

func TestLoadFilesErrors(t *testing.T) {
	for _, p := range []string{filepath.Join("testdata", "load", "nope.yaml"), filepath.Join("testdata", "nope")} {
		inv, err := LoadFiles(p)
		if inv != nil || sextant.ErrorCode(err) != sextant.EINVALID || !strings.Contains(err.Error(), "nope") {
			t.Errorf("LoadFiles(%q) = %v, %v, want nil and an EINVALID error naming the path", p, inv, err)
		}
	}
}

func TestLoadSecretMetadataOnly(t *testing.T) {
	inv, err := LoadFiles(filepath.Join("testdata", "load", "secret.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Objects) != 1 {
		t.Fatalf("LoadFiles(secret.yaml) = %d objects, want 1", len(inv.Objects))
	}
	o := inv.Objects[0]
	for _, v := range []string{"c2VjcmV0LXZhbHVl", "plain-secret-value", "secret-value", "last-applied"} {
		if bytes.Contains(o.Raw, []byte(v)) {
			t.Errorf("Secret Raw = %s, holds %q", o.Raw, v)
		}
		for k, a := range o.Annotations {
			if strings.Contains(k+a, v) {
				t.Errorf("Secret annotation %s = %q, holds %q", k, a, v)
			}
		}
	}
	s, ok := o.Typed.(*corev1.Secret)
	if !ok || s.Data != nil || s.StringData != nil || s.Type != corev1.SecretTypeOpaque || s.Annotations["owner"] != "team-db" {
		t.Errorf("Secret Typed = %+v, want metadata and type only", o.Typed)
	}
	if o.Annotations["owner"] != "team-db" {
		t.Errorf("Secret annotations = %v, want owner kept", o.Annotations)
	}
	var m map[string]any
	if err := json.Unmarshal(o.Raw, &m); err != nil || m["type"] != "Opaque" {
		t.Errorf("Secret Raw = %s (%v), want valid JSON with type", o.Raw, err)
	}
}

func TestLoadList(t *testing.T) {
	inv, err := LoadFiles(filepath.Join("testdata", "load", "list.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Namespace/prod", "DaemonSet/kube-system/agent"}, refs(inv)); diff != "" {
		t.Errorf("LoadFiles(list.yaml) (-want +got):\n%s", diff)
	}
	w, ok := inv.Objects[1].Workload()
	if !ok || !w.Template.Spec.HostPID || w.SpecPath != "/spec/template/spec" {
		t.Errorf("Workload(DaemonSet from a List) = %+v, %v, want hostPID template at /spec/template/spec", w, ok)
	}
}

// TestLoadFixtures loads every manifest of the shared corpus and checks
// what each holds (counted by hand).
func TestLoadFixtures(t *testing.T) {
	root := fixtures.Dir(t, "k8s")
	want := map[string]struct {
		objects  int
		warnings int
	}{
		"kube-score/all-ok.yaml":                               {2, 0},
		"kube-score/networkpolicy-not-matching.yaml":           {2, 0},
		"kube-score/pod-image-latest-tag.yaml":                 {1, 0},
		"kube-score/pod-resources-none.yaml":                   {1, 0},
		"kube-score/pod-security-context-all-good.yaml":        {1, 0},
		"kube-score/pod-security-context-none.yaml":            {1, 0},
		"kube-score/pod-security-context-privileged.yaml":      {1, 0},
		"kube-score/service-nodeport.yaml":                     {1, 0},
		"kubernetes-goat/batch-check-job.yaml":                 {1, 0},
		"kubernetes-goat/build-code-deployment.yaml":           {2, 0},
		"kubernetes-goat/cache-store-deployment.yaml":          {3, 0},
		"kubernetes-goat/docker-bench-security-daemonset.yaml": {1, 0},
		"kubernetes-goat/health-check-deployment.yaml":         {2, 0},
		"kubernetes-goat/hidden-in-layers-job.yaml":            {1, 0},
		"kubernetes-goat/hunger-check-deployment.yaml":         {8, 0},
		"kubernetes-goat/internal-proxy-deployment.yaml":       {3, 0},
		"kubernetes-goat/kube-bench-node-job.yaml":             {1, 0},
		"kubernetes-goat/kubernetes-goat-home-deployment.yaml": {2, 0},
		"kubernetes-goat/metadata-db-deployment.tpl.yaml":      {0, 1}, // a Helm template
		"kubernetes-goat/poor-registry-deployment.yaml":        {2, 0},
		"kubernetes-goat/pwnchart-clusterrole.yaml":            {1, 0},
		"kubernetes-goat/pwnchart-clusterrolebinding.yaml":     {0, 1}, // a Helm template
		"kubesec/allowPrivilegeEscalation.yaml":                {1, 0},
		// name: 1 and namespace: 2 on a ConfigMap: kept, with two warnings.
		"kubesec/multi-doc.yml":                                 {5, 2},
		"kubesec/score-0-cap-sys-admin.yml":                     {1, 0},
		"kubesec/score-0-daemonset-host-network.yml":            {1, 0},
		"kubesec/score-0-daemonset-host-pid.yml":                {1, 0},
		"kubesec/score-0-daemonset-mount-docker-socket.yml":     {1, 0},
		"kubesec/score-0-daemonset-privileged.yml":              {1, 0},
		"kubesec/score-0-dep-seccomp-unconfined.yml":            {1, 0},
		"kubesec/score-0-psp-permissive.yml":                    {1, 0},
		"kubesec/score-1-prod-dump.yaml":                        {1, 0},
		"kubesec/score-5-pod-hardened-serviceaccount.yml":       {1, 0},
		"kubesec/sockshop-carts-db-dep.yaml":                    {1, 0},
		"kubesec/sockshop-carts-dep.yaml":                       {1, 0},
		"kubesec/sockshop-front-end-dep.yaml":                   {1, 0},
		"polaris/clusterrolebinding-cluster-admin-failure.yaml": {2, 0},
		"polaris/clusterrolebinding-wildcards-failure.yaml":     {3, 0},
		"polaris/dangerousCapabilities-failure-ALL.yaml":        {1, 0},
		"polaris/hostPIDSet-failure.yaml":                       {1, 0},
		"polaris/linuxHardening-failure.yaml":                   {1, 0},
		"polaris/linuxHardening-success-seccomp.yaml":           {1, 0},
		"polaris/notReadOnlyRootFilesystem-failure.yaml":        {1, 0},
		"polaris/runAsPrivileged-failure.yaml":                  {1, 0},
		"polaris/runAsPrivileged-success.yaml":                  {1, 0},
		"polaris/sensitiveEnvVar-aws-secret-failure.yaml":       {1, 0},
		"polaris/sensitiveEnvVar-valueFrom-success.yaml":        {1, 0},
		"real-world/cassandra-statefulset.yaml":                 {2, 0},
		"real-world/guestbook-all-in-one.yaml":                  {6, 0},
		"real-world/ingress-nginx-cloud-deploy.yaml":            {19, 0},
		"real-world/vllm-deployment.yaml":                       {1, 0},
	}
	seen := 0
	for _, f := range fixtures.Files(t, "k8s") {
		rel, _ := filepath.Rel(root, f)
		rel = filepath.ToSlash(rel)
		t.Run(rel, func(t *testing.T) {
			inv, err := LoadFiles(f)
			if err != nil {
				t.Fatalf("LoadFiles(%s) error = %v, want nil", rel, err)
			}
			for _, w := range inv.Warnings {
				if !strings.HasPrefix(w, f+":") {
					t.Errorf("LoadFiles(%s) warning %q does not start with the file", rel, w)
				}
			}
			if strings.HasPrefix(rel, "tool-outputs/") {
				// Scanner reports, not manifests: nothing loads, and
				// the warnings say why.
				if len(inv.Objects) != 0 || len(inv.Warnings) == 0 {
					t.Errorf("LoadFiles(%s) = %d objects, %q, want none and a warning", rel, len(inv.Objects), inv.Warnings)
				}
				for _, w := range inv.Warnings {
					if !strings.Contains(w, "not a Kubernetes object") && !strings.Contains(w, "not Kubernetes objects") {
						t.Errorf("LoadFiles(%s) warning = %q, want it to say it is not a Kubernetes object", rel, w)
					}
				}
				return
			}
			seen++
			w, ok := want[rel]
			if !ok {
				t.Fatalf("LoadFiles(%s): no expected counts; add them", rel)
			}
			if len(inv.Objects) != w.objects || len(inv.Warnings) != w.warnings {
				t.Errorf("LoadFiles(%s) = %d objects, %d warnings %q, want %d, %d", rel, len(inv.Objects), len(inv.Warnings), inv.Warnings, w.objects, w.warnings)
			}
			for _, o := range inv.Objects {
				if !json.Valid(o.Raw) || o.Source.File != f || o.Source.Line < 1 {
					t.Errorf("LoadFiles(%s) object %s: Raw %d bytes, Source %+v, want Raw and a source", rel, o.Ref(), len(o.Raw), o.Source)
				}
			}
		})
	}
	if seen != len(want) {
		t.Errorf("LoadFiles over the corpus: %d manifest files, want %d", seen, len(want))
	}
	// The template warnings name file, document and line.
	inv, err := LoadFiles(filepath.Join(root, "kubernetes-goat", "metadata-db-deployment.tpl.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if w := inv.Warnings[0]; !strings.Contains(w, "metadata-db-deployment.tpl.yaml:1: document 0: not valid YAML") || !strings.Contains(w, "template") {
		t.Errorf("LoadFiles(metadata-db-deployment.tpl.yaml) warning = %q, want file:line: document and template", w)
	}
}

func TestLoadFixtureDirectory(t *testing.T) {
	inv, err := LoadFiles(fixtures.Dir(t, "k8s", "kubernetes-goat"), fixtures.Dir(t, "k8s", "real-world"))
	if err != nil {
		t.Fatal(err)
	}
	// 27 in kubernetes-goat (two templates warn), 28 in real-world.
	if len(inv.Objects) != 27+28 || len(inv.Warnings) != 2 {
		t.Errorf("LoadFiles(kubernetes-goat, real-world) = %d objects, %d warnings, want 55, 2", len(inv.Objects), len(inv.Warnings))
	}
}
