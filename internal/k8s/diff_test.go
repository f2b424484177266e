package k8s

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

var updatePatchGolden = flag.Bool("update-patch", false, "rewrite testdata/patch golden files")

var sxtDocMarker = regexp.MustCompile(`(?m)^(---|\.\.\.)[ \t]*(#.*)?\r?$`)

// sxtFileObjects decodes a manifest file into objects the way ApplyToFile
// expects: Source.Doc counts every document, List items get Source.Item.
func sxtFileObjects(t testing.TB, content []byte) []*Object {
	t.Helper()
	var out []*Object
	for i, doc := range sxtDocMarker.Split(string(content), -1) {
		j, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatalf("YAMLToJSON(doc %d) = %v", i, err)
		}
		if bytes.Equal(j, []byte("null")) {
			continue
		}
		o, err := fixObject(j)
		if err != nil {
			t.Fatalf("fixObject(doc %d) = %v", i, err)
		}
		o.Source = Source{Doc: i, Item: -1}
		if o.Kind != "List" {
			out = append(out, o)
			continue
		}
		var l struct{ Items []json.RawMessage }
		_ = json.Unmarshal(j, &l)
		for k, it := range l.Items {
			io, err := fixObject(it)
			if err != nil {
				t.Fatal(err)
			}
			io.Source = Source{Doc: i, Item: k}
			out = append(out, io)
		}
	}
	return out
}

type sxtFix struct {
	obj int // index in sxtFileObjects
	ops []PatchOp
}

var sxtDefaultDeny = PatchOp{Op: "add", Path: "", Value: map[string]any{
	"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
	"metadata": map[string]any{"name": "default-deny", "namespace": "shop"},
	"spec":     map[string]any{"podSelector": map[string]any{}, "policyTypes": []string{"Ingress"}},
}}

var sxtFileCases = []struct {
	file  string
	fixes []sxtFix
}{
	{"comments.yaml", []sxtFix{
		{0, []PatchOp{{Op: "add", Path: "/spec/template/spec/containers/0/securityContext", Value: map[string]any{"allowPrivilegeEscalation": false, "runAsNonRoot": true}}}},
		{0, []PatchOp{{Op: "add", Path: "/spec/template/spec/automountServiceAccountToken", Value: false}}},
		{0, []PatchOp{{Op: "add", Path: "/spec/template/spec/containers/0/securityContext", Value: map[string]any{"readOnlyRootFilesystem": true}}}},
		{0, []PatchOp{{Op: "add", Path: "/spec/template/spec/volumes/-", Value: map[string]any{"name": "tmp", "emptyDir": map[string]any{}}}}},
		{0, []PatchOp{{Op: "replace", Path: "/spec/replicas", Value: 3}}},
		{0, []PatchOp{{Op: "add", Path: "/spec/template/spec/containers/1/securityContext", Value: map[string]any{"privileged": false}}}},
	}},
	{"multidoc.yaml", []sxtFix{
		{1, []PatchOp{{Op: "replace", Path: "/spec/type", Value: "ClusterIP"}, {Op: "remove", Path: "/spec/ports/0/nodePort"}, {Op: "remove", Path: "/spec/ports/1/nodePort"}, {Op: "remove", Path: "/spec/externalTrafficPolicy"}}},
		{1, []PatchOp{{Op: "remove", Path: "/spec/externalIPs"}}},
		{0, []PatchOp{{Op: "add", Path: "/automountServiceAccountToken", Value: false}}},
		{0, []PatchOp{sxtDefaultDeny}},
		{1, []PatchOp{sxtDefaultDeny}},
	}},
	{"list.yaml", []sxtFix{
		{0, []PatchOp{{Op: "add", Path: "/automountServiceAccountToken", Value: false}}},
		{1, []PatchOp{{Op: "replace", Path: "/automountServiceAccountToken", Value: false}}},
	}},
	{"crlf.yaml", []sxtFix{
		{0, []PatchOp{{Op: "add", Path: "/automountServiceAccountToken", Value: false}, {Op: "add", Path: "/metadata/labels", Value: map[string]string{"team": "shop", "on": "yes"}}}},
	}},
	{"tabs.yaml", []sxtFix{
		{0, []PatchOp{{Op: "add", Path: "/spec/containers/0/securityContext", Value: map[string]any{"runAsNonRoot": true}}, {Op: "replace", Path: "/spec/containers/0/args/1", Value: "new\tvalue"}}},
	}},
	{"flow.yaml", []sxtFix{
		{0, []PatchOp{{Op: "add", Path: "/spec/securityContext/runAsUser", Value: 1000}, {Op: "replace", Path: "/spec/containers/0/securityContext/privileged", Value: false}}},
	}},
	{"nonewline.yaml", []sxtFix{
		{0, []PatchOp{{Op: "add", Path: "/automountServiceAccountToken", Value: false}}},
	}},
	{"blockscalar.yaml", []sxtFix{
		{0, []PatchOp{{Op: "replace", Path: "/spec/containers/0/securityContext/privileged", Value: false}, {Op: "add", Path: "/metadata/labels", Value: map[string]string{"app": "script"}}}},
	}},
}

func TestApplyToFileGolden(t *testing.T) {
	for _, tt := range sxtFileCases {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "patch", tt.file)
			content, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			objs := sxtFileObjects(t, content)
			var fixes []ObjectFix
			want := map[*Object][]byte{}
			var created [][]byte
			for _, f := range tt.fixes {
				o := objs[f.obj]
				fix := &Fix{Ops: f.ops}
				fixes = append(fixes, ObjectFix{Object: o, Fix: fix})
				if CreatesObject(fix) {
					j, _ := ApplyFix(o, fix)
					if len(created) == 0 {
						created = append(created, j)
					}
					continue
				}
				base := o
				if prev, ok := want[o]; ok {
					base = &Object{Kind: o.Kind, Name: o.Name, Raw: prev}
				}
				j, err := applyOps(base.Raw, mergeAdds(base.Raw, "", f.ops), "test")
				if err != nil {
					t.Fatalf("applyOps(%v) = %v", f.ops, err)
				}
				want[o] = j
			}
			got, err := ApplyToFile(content, fixes)
			if err != nil {
				t.Fatalf("ApplyToFile(%s) = %v", tt.file, err)
			}
			// Every object reads back as its patched JSON, the others
			// unchanged, and created objects come last.
			after := sxtFileObjects(t, got)
			if len(after) != len(objs)+len(created) {
				t.Fatalf("ApplyToFile(%s) has %d objects, want %d:\n%s", tt.file, len(after), len(objs)+len(created), got)
			}
			for i, o := range objs {
				w := o.Raw
				if j, ok := want[o]; ok {
					w = j
				}
				if !jsonSame(after[i].Raw, w) {
					t.Errorf("ApplyToFile(%s) object %d = %s, want %s", tt.file, i, after[i].Raw, w)
				}
			}
			for i, c := range created {
				if !jsonSame(after[len(objs)+i].Raw, c) {
					t.Errorf("ApplyToFile(%s) created object = %s, want %s", tt.file, after[len(objs)+i].Raw, c)
				}
			}
			diff, err := FileDiff(tt.file, content, fixes)
			if err != nil {
				t.Fatalf("FileDiff(%s) = %v", tt.file, err)
			}
			sxtGolden(t, path+".fixed", got)
			sxtGolden(t, path+".diff", []byte(diff))
			sxtPatchBinary(t, tt.file, content, diff, got)
		})
	}
}

func sxtGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *updatePatchGolden {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run with -update-patch)", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output for %s =\n%s\nwant\n%s", path, got, want)
	}
}

// sxtPatchBinary applies the diff with the real patch(1) and checks that it
// gives ApplyToFile's output.
func sxtPatchBinary(t *testing.T, name string, content []byte, diff string, want []byte) {
	t.Helper()
	bin, err := exec.LookPath("patch")
	if err != nil {
		t.Log("patch(1) not installed; skipping the patch -p1 check")
		return
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p1", "--batch", "--silent")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(diff)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("patch -p1 < FileDiff(%s) = %v: %s\n%s", name, err, out, diff)
	}
	got, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("patch -p1 < FileDiff(%s) =\n%q\nwant ApplyToFile's\n%q", name, got, want)
	}
}

func FuzzFileDiff(f *testing.F) {
	for _, tt := range sxtFileCases {
		b, err := os.ReadFile(filepath.Join("testdata", "patch", tt.file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "/metadata/labels", uint8(0))
	}
	f.Add([]byte("a: [1, 2]\nb:\n  - {c: d}\n"), "/b/0/e", uint8(1))
	f.Fuzz(func(t *testing.T, content []byte, path string, which uint8) {
		if len(content) > 4096 {
			return
		}
		j, err := yaml.YAMLToJSON(content)
		if err != nil || !bytes.HasPrefix(j, []byte("{")) {
			return
		}
		o := &Object{Kind: "Thing", Name: "x", Raw: j, Source: Source{Item: -1}}
		var ops []PatchOp
		switch which % 4 {
		case 0:
			ops = []PatchOp{{Op: "add", Path: path, Value: map[string]any{"k": "v: #x", "n": []int{1}}}}
		case 1:
			ops = []PatchOp{{Op: "add", Path: path, Value: "s"}}
		case 2:
			ops = []PatchOp{{Op: "remove", Path: path}}
		default:
			ops = []PatchOp{{Op: "replace", Path: path, Value: []any{}}}
		}
		fix := &Fix{Ops: ops}
		if CreatesObject(fix) {
			return
		}
		want, err := ApplyFix(o, fix)
		if err != nil {
			return
		}
		got, err := ApplyToFile(content, []ObjectFix{{o, fix}})
		if err != nil {
			return // a document marker with content, a second document that does not parse…
		}
		objs := 0
		for _, doc := range sxtDocMarker.Split(string(got), -1) {
			gj, err := yaml.YAMLToJSON([]byte(doc))
			if err != nil {
				t.Fatalf("ApplyToFile(%q) = %q, which does not parse: %v", content, got, err)
			}
			if objs == 0 && !bytes.Equal(gj, []byte("null")) {
				if !jsonSame(gj, want) {
					t.Fatalf("ApplyToFile(%q, %v) = %q, reads as %s, want %s", content, ops, got, gj, want)
				}
				objs++
			}
		}
		if _, err := FileDiff("f.yaml", content, []ObjectFix{{o, fix}}); err != nil {
			t.Errorf("FileDiff(%q) = %v after ApplyToFile succeeded", content, err)
		}
	})
}

// TestFixEndToEnd runs the checks on a file, applies every fix to the file
// text and runs the checks again: only violations without a fix remain.
func TestFixEndToEnd(t *testing.T) {
	content, err := os.ReadFile(filepath.Join("testdata", "patch", "multidoc.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	checks := append(RBACChecks(), NetworkChecks()...)
	inv := &Inventory{Objects: sxtFileObjects(t, content)}
	var fixes []ObjectFix
	before := map[string]bool{}
	for _, v := range Run(inv, checks, sxtNow) {
		before[v.CheckID] = true
		if v.Fix == nil {
			continue
		}
		for _, o := range inv.Objects {
			if o.Ref() == v.Object {
				fixes = append(fixes, ObjectFix{o, v.Fix})
			}
		}
	}
	if len(fixes) < 3 {
		t.Fatalf("Run(multidoc.yaml) gave %d fixes, want at least 3 (NodePort, externalIPs, automount)", len(fixes))
	}
	got, err := ApplyToFile(content, fixes)
	if err != nil {
		t.Fatalf("ApplyToFile(multidoc.yaml) = %v", err)
	}
	if !bytes.Contains(got, []byte("# third, untouched")) || !bytes.Contains(got, []byte("# first")) {
		t.Errorf("ApplyToFile(multidoc.yaml) lost comments:\n%s", got)
	}
	after := &Inventory{Objects: sxtFileObjects(t, got)}
	for _, v := range Run(after, checks, sxtNow) {
		if v.Fix != nil {
			t.Errorf("after ApplyToFile, Run still reports fixable %s on %s: %s", v.CheckID, v.Object, v.Message)
		}
	}
}
