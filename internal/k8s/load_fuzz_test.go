package k8s

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sextant-dev/sextant"
)

// FuzzLoadReader feeds arbitrary bytes to the loader and the context built
// on what it loads: no panic, every object has a kind and valid JSON, no
// Secret keeps data, and every warning names the input.
func FuzzLoadReader(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, image: nginx}]}\n"))
	f.Add([]byte("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: s}, data: {k: dg==}}\n"))
	f.Add([]byte("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"s\"},\"spec\":{\"type\":\"NodePort\"}}\n{}"))
	f.Add([]byte("---\n# Source: c/templates/x.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .x }}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := LoadReader(bytes.NewReader(data), "fuzz.yaml")
		if err != nil {
			if sextant.ErrorCode(err) != sextant.EINVALID {
				t.Fatalf("LoadReader(%q) error = %v, want an EINVALID error", data, err)
			}
			return
		}
		for _, w := range inv.Warnings {
			if !strings.HasPrefix(w, "fuzz.yaml") {
				t.Errorf("LoadReader(%q) warning = %q, want it to name the input", data, w)
			}
		}
		for _, o := range inv.Objects {
			if o.Kind == "" || o.APIVersion == "" || !json.Valid(o.Raw) {
				t.Fatalf("LoadReader(%q) object %+v: want a kind, an apiVersion and valid JSON", data, o)
			}
			if o.Kind == "Secret" && o.APIVersion == "v1" {
				var m map[string]json.RawMessage
				if json.Unmarshal(o.Raw, &m) == nil && (m["data"] != nil || m["stringData"] != nil) {
					t.Fatalf("LoadReader(%q) kept Secret data: %s", data, o.Raw)
				}
			}
			o.Workload()
			o.Route()
		}
		c := BuildContext(inv, ContextOptions{})
		for _, w := range c.Workloads() {
			for _, im := range w.Images {
				c.ForArtifact(sextant.Artifact{Name: im.Image})
			}
		}
	})
}
