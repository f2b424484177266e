package k8s

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant/internal/risk"
)

// TestDeriveFixFormsMatchesBytePath holds the tree path of DeriveFixForms
// to StrategicMergePatch and KubectlPatch, byte for byte, on every fix the
// checks make for the examples, the shared fixtures (when present) and the
// generated benchmark set.
func TestDeriveFixFormsMatchesBytePath(t *testing.T) {
	sets := map[string]func() (*Inventory, error){
		"bench": func() (*Inventory, error) { return LoadReader(bytes.NewReader(benchManifests(200)), "bench.yaml") },
		"examples": func() (*Inventory, error) {
			return LoadFiles(filepath.Join("..", "..", "examples", "k8s"))
		},
	}
	if fx := filepath.Join("..", "..", "..", "shared", "fixtures", "k8s"); dirExists(fx) {
		sets["fixtures"] = func() (*Inventory, error) { return LoadFiles(fx) }
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for name, load := range sets {
		t.Run(name, func(t *testing.T) {
			inv, err := load()
			if err != nil {
				t.Fatal(err)
			}
			tree, fixes := 0, 0
			for _, v := range Run(inv, AllChecks(), now) {
				if v.Fix == nil {
					continue
				}
				var o *Object
				for _, x := range inv.Objects {
					if x.Ref() == v.Object {
						o = x
						break
					}
				}
				if o == nil {
					continue
				}
				fixes++
				b := newFixBase(o)
				if b.doc != nil && !CreatesObject(v.Fix) {
					if _, ok := applyOpsTree(b.doc, v.Fix.Ops); ok {
						tree++
					}
				}
				sf := &ScanFix{}
				b.derive(sf, v.Fix)
				smp, _ := StrategicMergePatch(o, v.Fix)
				k, _ := KubectlPatch(o, v.Fix)
				if CreatesObject(v.Fix) {
					smp = nil
				}
				if !bytes.Equal(sf.StrategicMerge, smp) || sf.Kubectl != k {
					t.Errorf("%s %s: derive = %s, %q; want %s, %q", v.CheckID, v.Object, sf.StrategicMerge, sf.Kubectl, smp, k)
				}
			}
			if fixes > 0 && tree == 0 {
				t.Errorf("no fix of %d took the tree path", fixes)
			}
			t.Logf("%d fixes, %d on the tree path", fixes, tree)
		})
	}
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// TestApplyOpsTree holds applyOpsTree to applyOps: where it answers, the
// result is the document applyOps returns; where applyOps fails, it
// declines; and the original is never changed.
func TestApplyOpsTree(t *testing.T) {
	doc := `{"a":{"b":[1,{"c":"d"},3],"e~f":{"g/h":true}},"n":null,"s":"x","empty":{}}`
	tests := []struct {
		name     string
		ops      []PatchOp
		wantTree bool // whether the tree path answers
	}{
		{"add key", []PatchOp{{Op: "add", Path: "/a/x", Value: 1}}, true},
		{"add replaces key", []PatchOp{{Op: "add", Path: "/a/b", Value: "v"}}, true},
		{"add at index", []PatchOp{{Op: "add", Path: "/a/b/1", Value: "v"}}, true},
		{"add at end index", []PatchOp{{Op: "add", Path: "/a/b/3", Value: "v"}}, true},
		{"add past end", []PatchOp{{Op: "add", Path: "/a/b/4", Value: "v"}}, false},
		{"append", []PatchOp{{Op: "add", Path: "/a/b/-", Value: map[string]any{"k": []string{"x"}}}}, true},
		{"add into list element", []PatchOp{{Op: "add", Path: "/a/b/1/z", Value: false}}, true},
		{"add under missing", []PatchOp{{Op: "add", Path: "/a/missing/z", Value: 1}}, false},
		{"add under null", []PatchOp{{Op: "add", Path: "/n/z", Value: 1}}, false},
		{"add under string", []PatchOp{{Op: "add", Path: "/s/z", Value: 1}}, false},
		{"add escaped", []PatchOp{{Op: "add", Path: "/a/e~0f/g~1h", Value: 2}}, true},
		{"add no value", []PatchOp{{Op: "add", Path: "/a/x"}}, false},
		{"add leading zero", []PatchOp{{Op: "add", Path: "/a/b/01", Value: 1}}, false},
		{"add negative", []PatchOp{{Op: "add", Path: "/a/b/-1", Value: 1}}, false},
		{"add empty token", []PatchOp{{Op: "add", Path: "/a//x", Value: 1}}, false},
		{"add root key", []PatchOp{{Op: "add", Path: "/", Value: 1}}, false},
		{"replace", []PatchOp{{Op: "replace", Path: "/a/b/2", Value: 4}}, true},
		{"replace missing key", []PatchOp{{Op: "replace", Path: "/a/x", Value: 4}}, false},
		{"replace past end", []PatchOp{{Op: "replace", Path: "/a/b/3", Value: 4}}, false},
		{"remove key", []PatchOp{{Op: "remove", Path: "/a/e~0f"}}, true},
		{"remove index", []PatchOp{{Op: "remove", Path: "/a/b/0"}}, true},
		{"remove missing", []PatchOp{{Op: "remove", Path: "/a/x"}}, false},
		{"remove past end", []PatchOp{{Op: "remove", Path: "/a/b/3"}}, false},
		{"sequence", []PatchOp{
			{Op: "add", Path: "/empty/l", Value: []any{}},
			{Op: "add", Path: "/empty/l/-", Value: "one"},
			{Op: "add", Path: "/empty/l/0", Value: "zero"},
			{Op: "remove", Path: "/a/b/1/c"},
		}, true},
		{"move", []PatchOp{{Op: "move", Path: "/a/y"}}, false},
		{"test", []PatchOp{{Op: "test", Path: "/s", Value: "x"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var orig, before map[string]any
			if err := json.Unmarshal([]byte(doc), &orig); err != nil {
				t.Fatal(err)
			}
			_ = json.Unmarshal([]byte(doc), &before)
			got, ok := applyOpsTree(orig, tt.ops)
			if ok != tt.wantTree {
				t.Fatalf("applyOpsTree(%v) ok = %v, want %v", tt.ops, ok, tt.wantTree)
			}
			if diff := cmp.Diff(before, orig); diff != "" {
				t.Errorf("applyOpsTree(%v) changed the original (-before +after):\n%s", tt.ops, diff)
			}
			out, err := applyOps([]byte(doc), tt.ops, "doc")
			if !ok {
				return
			}
			if err != nil {
				t.Fatalf("applyOpsTree(%v) answered; applyOps = %v", tt.ops, err)
			}
			var want map[string]any
			if err := json.Unmarshal(out, &want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("applyOpsTree(%v) differs from applyOps (-applyOps +tree):\n%s", tt.ops, diff)
			}
		})
	}
}

// TestDeriveFixFormsDeferred checks that a deferred scan, once derived,
// equals an eager one, and that deriving twice changes nothing.
func TestDeriveFixFormsDeferred(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	load := func() *Inventory {
		inv, err := LoadReader(bytes.NewReader(benchManifests(100)), "bench.yaml")
		if err != nil {
			t.Fatal(err)
		}
		return inv
	}
	eager := Scan(load(), nil, AllChecks(), risk.DefaultWeights(), now)
	inv := load()
	lazy := ScanWithOptions(inv, nil, AllChecks(), risk.DefaultWeights(), now, ScanOptions{DeferFixForms: true})
	for _, f := range lazy.Findings {
		if f.Fix != nil && (f.Fix.Kubectl != "" || f.Fix.StrategicMerge != nil) {
			t.Fatalf("deferred scan: %s %s has forms before DeriveFixForms", f.Check, f.Object)
		}
	}
	DeriveFixForms(lazy.Findings[:5])
	DeriveFixForms(lazy.Findings)
	DeriveFixForms(lazy.Findings)
	e, _ := json.Marshal(eager)
	l, _ := json.Marshal(lazy)
	if !bytes.Equal(e, l) {
		t.Errorf("deferred scan after DeriveFixForms differs from Scan")
	}
}
