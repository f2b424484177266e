package risk

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
)

func TestDefaultWeightsValid(t *testing.T) {
	if err := DefaultWeights().Validate(); err != nil {
		t.Errorf("DefaultWeights().Validate() = %v, want nil", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Weights)
		field  string
	}{
		{"negative impact points", func(w *Weights) { w.ImpactPoints = -1 }, "risk.impact_points"},
		{"NaN threat points", func(w *Weights) { w.ThreatPoints = math.NaN() }, "risk.threat_points"},
		{"both points zero", func(w *Weights) { w.ImpactPoints, w.ThreatPoints = 0, 0 }, "risk.threat_points"},
		{"scaling above 1", func(w *Weights) { w.ThreatImpactScaling = 1.5 }, "risk.threat_impact_scaling"},
		{"severity impact above 1", func(w *Weights) { w.SeverityImpact.High = 2 }, "risk.severity_impact.high"},
		{"severity impact not monotonic", func(w *Weights) { w.SeverityImpact.Low = 0.9 }, "risk.severity_impact"},
		{"kev above 1", func(w *Weights) { w.KEV = 1.2 }, "risk.kev"},
		{"epss floor zero", func(w *Weights) { w.EPSSFloor = 0 }, "risk.epss_floor"},
		{"maturity not monotonic", func(w *Weights) { w.ExploitMaturity.PoC = 0.9 }, "risk.exploit_maturity"},
		{"empty credential rule", func(w *Weights) { w.CredentialRules = []string{"aws", " "} }, "risk.credential_rules[1]"},
		{"exposure below 1", func(w *Weights) { w.Exposed = 0.9 }, "risk.exposed"},
		{"no-fix zero", func(w *Weights) { w.NoFix = 0 }, "risk.no_fix"},
		{"not-loaded above 1", func(w *Weights) { w.NotLoaded = 1.1 }, "risk.not_loaded"},
		{"saturation 1", func(w *Weights) { w.BlastRadiusSaturation = 1 }, "risk.blast_radius_saturation"},
		{"thresholds out of order", func(w *Weights) { w.Thresholds.P1 = 80 }, "risk.thresholds"},
		{"threshold with two decimals", func(w *Weights) { w.Thresholds.P2 = 25.25 }, "risk.thresholds.p2"},
		{"kev floor below p1", func(w *Weights) { w.KEVFloor = 40 }, "risk.kev_floor"},
		{"ransomware floor below kev floor", func(w *Weights) { w.KEVRansomwareFloor = 45 }, "risk.kev_ransomware_floor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := DefaultWeights()
			tt.change(&w)
			err := w.Validate()
			if sextant.ErrorCode(err) != sextant.EINVALID || !strings.Contains(sextant.ErrorMessage(err), tt.field+":") {
				t.Errorf("Validate() = %v, want EINVALID naming %s", err, tt.field)
			}
		})
	}
}

func TestParseWeights(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		change  func(*Weights)
		errWant string // substring of the message; "" for success
	}{
		{"empty keeps defaults", "", func(*Weights) {}, ""},
		{"null keeps defaults", "null", func(*Weights) {}, ""},
		{"yaml override", "exposed: 2\nthresholds:\n  p0: 80\n", func(w *Weights) { w.Exposed = 2; w.Thresholds.P0 = 80 }, ""},
		{"json override", `{"kev": 0.9, "severity_impact": {"critical": 1}}`, func(w *Weights) { w.KEV = 0.9; w.SeverityImpact.Critical = 1 }, ""},
		{"list replaces", "credential_rules: [vault]", func(w *Weights) { w.CredentialRules = []string{"vault"} }, ""},
		{"unknown keys named", "exposd: 2\nthresholds:\n  p5: 1\n", nil, "risk.exposd, risk.thresholds.p5"},
		{"wrong case is unknown", "Exposed: 2", nil, "risk.Exposed"},
		{"wrong type named", "thresholds:\n  p0: high\n", nil, "risk.thresholds.p0"},
		{"not a mapping", "- 1\n- 2\n", nil, "must be a mapping"},
		{"invalid value", "no_fix: 2", nil, "risk.no_fix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseWeights([]byte(tt.data))
			if tt.errWant != "" {
				if sextant.ErrorCode(err) != sextant.EINVALID || !strings.Contains(sextant.ErrorMessage(err), tt.errWant) {
					t.Errorf("ParseWeights(%q) = %v, want EINVALID containing %q", tt.data, err, tt.errWant)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseWeights(%q) = %v, want nil", tt.data, err)
			}
			want := DefaultWeights()
			tt.change(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ParseWeights(%q) (-want +got):\n%s", tt.data, diff)
			}
		})
	}
}

func TestLoadWeights(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tuned := DefaultWeights()
	tuned.Exposed = 1.5

	tests := []struct {
		name     string
		path     string
		want     Weights
		wantCode string
		wantMsg  string
	}{
		{"yaml section among others", write("a.yaml", "sources:\n  trivy: {}\nrisk:\n  exposed: 1.5\n"), tuned, "", ""},
		{"json section", write("b.json", `{"risk": {"exposed": 1.5}, "sinks": []}`), tuned, "", ""},
		{"no risk section", write("c.yaml", "sources: {}\n"), DefaultWeights(), "", ""},
		{"unknown key in section", write("d.yaml", "risk:\n  exposure: 1.5\n"), Weights{}, sextant.EINVALID, "risk.exposure"},
		{"bad yaml", write("e.yaml", "risk: [\n"), Weights{}, sextant.EINVALID, "e.yaml"},
		{"missing file", filepath.Join(dir, "none.yaml"), Weights{}, sextant.ENOTFOUND, "none.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadWeights(tt.path)
			if tt.wantCode != "" {
				if sextant.ErrorCode(err) != tt.wantCode || !strings.Contains(sextant.ErrorMessage(err), tt.wantMsg) {
					t.Errorf("LoadWeights(%q) = %v, want %s containing %q", tt.path, err, tt.wantCode, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadWeights(%q) = %v, want nil", tt.path, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("LoadWeights(%q) (-want +got):\n%s", tt.path, diff)
			}
		})
	}
}
