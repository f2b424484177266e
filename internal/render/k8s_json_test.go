package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/k8s"
)

// TestK8sJSONMatchesWriteIndentedJSON holds the parallel encoding of a
// large scan to WriteIndentedJSON, byte for byte.
func TestK8sJSONMatchesWriteIndentedJSON(t *testing.T) {
	for _, n := range []int{0, 1, k8sJSONChunk - 1, k8sJSONChunk, k8sJSONChunk + 1, 3*k8sJSONChunk + 7} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			rep := k8s.ScanReport{Schema: k8s.ScanSchema, Cluster: `prod "findings": []`, Findings: []k8s.ScanFinding{},
				Summary:  k8s.ScanSummary{Objects: n, ByPriority: map[string]int{"P0": 1, "P3": 2}},
				Warnings: []string{"w <&> é"}}
			for i := range n {
				f := k8s.ScanFinding{
					Check: "SX-K8S-001", Title: "t", Severity: "HIGH", Score: float64(i) / 3, Priority: sextant.P1,
					Factors: []sextant.Factor{{Name: "impact", Value: "HIGH", Weight: 30, Contribution: 1.5, Evidence: "→ <b>"}, {Name: "replicas", Value: i}},
					Object:  k8s.Ref{Kind: "Deployment", Namespace: "ns", Name: fmt.Sprintf("app-%d", i)},
					Message: "m \"q\"\n", Mappings: []string{"CIS 5.2.6"}, Source: k8s.Source{File: "f.yaml", Doc: i, Line: i + 1},
				}
				if i%3 != 0 {
					f.Fix = &k8s.ScanFix{StrategicMerge: json.RawMessage(`{"spec":{"a":[1,{"b":null}]}}`), JSONPatch: []k8s.PatchOp{{Op: "add", Path: "/spec/a", Value: map[string]any{"x": 1}}}, Kubectl: "kubectl patch deployment x -p '{}'"}
				}
				if i%5 == 0 {
					f.Suppressed = &k8s.ScanSuppression{Reason: "r"}
				}
				rep.Findings = append(rep.Findings, f)
			}
			var got, want bytes.Buffer
			if err := K8sJSON(&got, rep); err != nil {
				t.Fatal(err)
			}
			if err := WriteIndentedJSON(&want, rep); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Errorf("K8sJSON(%d findings) differs from WriteIndentedJSON:\n%.2000s\nwant:\n%.2000s", n, got.Bytes(), want.Bytes())
			}
		})
	}
}
