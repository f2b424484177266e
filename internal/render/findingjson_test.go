package render

import (
	"math"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/triage"
)

// TestAppendFindingMatchesMarshal holds the hand-written encoder to the
// struct tags of triage.FindingView: both must decode to the same value.
func TestAppendFindingMatchesMarshal(t *testing.T) {
	views := []triage.FindingView{
		{ID: "abc", Kind: sextant.KindVulnerability, Vulnerability: "CVE-2021-44228", Severity: "CRITICAL", Artifact: "a", Score: 99.8, Priority: sextant.P0},
		{
			ID: "x\"y", Kind: sextant.KindSecret, Vulnerability: "aws-access-key-id", Aliases: []string{"GHSA-1", "<script>"},
			Title: "tab\there \u2028 line sep", Severity: "HIGH", Package: "p\\q", Ecosystem: "npm", InstalledVersion: "1.0.0",
			FixedVersion: "1.0.1, 2.0.0", Location: "/app/x.js:3", Artifact: "img:1", Score: 1e-7, Priority: sextant.P3,
			Factors: []sextant.Factor{
				{Name: "kev", Value: true, Weight: 0.85, Contribution: 40},
				{Name: "epss", Value: 0.00042, Weight: 0.001, Contribution: 12.5, Evidence: "EPSS 0.00042"},
				{Name: "blast_radius", Value: 12, Weight: 1.2, Contribution: -3.25},
				{Name: "env", Value: "unknown", Weight: 1, Contribution: 0},
				{Name: "odd", Value: []string{"a"}, Weight: 1e22, Contribution: math.Inf(1)},
				{Name: "nil", Value: nil},
			},
			ActionID: "act_1",
			Sources: []sextant.Source{
				{Scanner: "trivy", Version: "0.64.0", ScanTime: time.Date(2025, 1, 2, 3, 4, 5, 600, time.UTC), Format: "trivy-json", File: "r.json"},
				{Scanner: "grype"},
			},
		},
		{ID: "bad", Vulnerability: "CVE-1", Title: "invalid \xff utf8", Artifact: "a", Severity: "LOW"},
	}
	for _, v := range views {
		got := appendFinding(nil, &v)
		var a, b map[string]any
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("appendFinding(%+v) = %s: not JSON: %v", v, got, err)
		}
		// The reference: the struct tags, through the standard marshaller.
		// Infinite numbers are not JSON; the encoder writes null for them.
		ref := v
		ref.Factors = append([]sextant.Factor(nil), v.Factors...)
		for i := range ref.Factors {
			if math.IsInf(ref.Factors[i].Contribution, 0) {
				ref.Factors[i].Contribution = 0
			}
		}
		want, err := json.Marshal(ref, json.Deterministic(true), jsontextAllowInvalid)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(want, &b, jsontextAllowInvalid); err != nil {
			t.Fatal(err)
		}
		for _, f := range a["factors"].([]any) {
			if m := f.(map[string]any); m["contribution"] == nil {
				m["contribution"] = 0.0
			}
		}
		if diff := cmp.Diff(b, a); diff != "" {
			t.Errorf("appendFinding differs from json.Marshal (-marshal +append):\n%s", diff)
		}
	}
}

var jsontextAllowInvalid = jsontext.AllowInvalidUTF8(true)
