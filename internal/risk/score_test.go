package risk

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
)

func nvd(score float64) []sextant.CVSS {
	return []sextant.CVSS{{Source: "nvd", Version: "3.1", Score: score}}
}

func epss(p float64) *sextant.EPSS { return &sextant.EPSS{Probability: p} }

func TestScorePriorities(t *testing.T) {
	w := DefaultWeights()
	exposedProd := &sextant.ArtifactContext{Exposed: true, Environment: "production", Replicas: 10}
	tests := []struct {
		name string
		in   Input
		want sextant.Priority
	}{
		{"critical, negligible EPSS, no context", Input{CVSS: nvd(9.8), EPSS: epss(0.0004), FixAvailable: true, KEVKnown: true}, sextant.P2},
		{"high, EPSS 0.9", Input{CVSS: nvd(7.5), EPSS: epss(0.9), FixAvailable: true, KEVKnown: true}, sextant.P0},
		{"high, EPSS 0.5%", Input{CVSS: nvd(7.5), EPSS: epss(0.005), FixAvailable: true, KEVKnown: true}, sextant.P2},
		{"high, EPSS 0.05%", Input{CVSS: nvd(7.5), EPSS: epss(0.0005), FixAvailable: true, KEVKnown: true}, sextant.P3},
		{"high severity only, EPSS 0.8%", Input{Severity: sextant.SeverityHigh, EPSS: epss(0.008), FixAvailable: true}, sextant.P2},
		{"high, EPSS 10%", Input{CVSS: nvd(7.5), EPSS: epss(0.1), FixAvailable: true, KEVKnown: true}, sextant.P1},
		{"medium, tiny EPSS", Input{CVSS: nvd(5.5), EPSS: epss(0.0004), FixAvailable: true, KEVKnown: true}, sextant.P3},
		{"critical, EPSS unknown, no intel", Input{CVSS: nvd(9.8), FixAvailable: true}, sextant.P2},
		{"KEV, low CVSS, no fix: floor", Input{CVSS: nvd(3.0), EPSS: epss(0.001), KEV: &KEVFact{}, KEVKnown: true}, sextant.P1},
		{"KEV with ransomware: P0 floor", Input{CVSS: nvd(2.0), KEV: &KEVFact{Ransomware: true}, KEVKnown: true}, sextant.P0},
		{"KEV critical", Input{CVSS: nvd(9.8), EPSS: epss(0.2), KEV: &KEVFact{}, KEVKnown: true, FixAvailable: true}, sextant.P0},
		{"high, EPSS 0.5%, exposed production", Input{CVSS: nvd(7.5), EPSS: epss(0.005), FixAvailable: true, Context: exposedProd}, sextant.P2},
		{"high, EPSS 1%, exposed production", Input{CVSS: nvd(7.5), EPSS: epss(0.01), FixAvailable: true, Context: exposedProd}, sextant.P1},
		{"private key secret", Input{Kind: sextant.KindSecret, Severity: sextant.SeverityHigh, RuleID: "private-key"}, sextant.P0},
		{"AWS key secret", Input{Kind: sextant.KindSecret, Severity: sextant.SeverityCritical, RuleID: "aws-access-key-id"}, sextant.P0},
		{"JWT secret, medium", Input{Kind: sextant.KindSecret, Severity: sextant.SeverityMedium, RuleID: "jwt-token"}, sextant.P2},
		{"critical misconfiguration", Input{Kind: sextant.KindMisconfiguration, Severity: sextant.SeverityCritical}, sextant.P1},
		{"high misconfiguration", Input{Kind: sextant.KindMisconfiguration, Severity: sextant.SeverityHigh}, sextant.P2},
		{"low misconfiguration", Input{Kind: sextant.KindMisconfiguration, Severity: sextant.SeverityLow}, sextant.P3},
		{"high misconfiguration, exposed production", Input{Kind: sextant.KindMisconfiguration, Severity: sextant.SeverityHigh, Context: exposedProd}, sextant.P1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Score(tt.in, w)
			if got.Priority != tt.want {
				t.Errorf("Score(%+v) = %v (%v), want %v", tt.in, got.Value, got.Priority, tt.want)
			}
		})
	}
}

// TestScoreBeatsSeverity is the efficiency requirement in miniature: a
// likely-exploited HIGH outranks an unlikely CRITICAL.
func TestScoreBeatsSeverity(t *testing.T) {
	w := DefaultWeights()
	for _, kevKnown := range []bool{false, true} {
		crit := Score(Input{CVSS: nvd(9.8), EPSS: epss(0.0004), FixAvailable: true, KEVKnown: kevKnown}, w)
		high := Score(Input{CVSS: nvd(7.5), EPSS: epss(0.9), FixAvailable: true, KEVKnown: kevKnown}, w)
		if crit.Value >= high.Value {
			t.Errorf("Score(9.8, EPSS 0.0004) = %v, want below Score(7.5, EPSS 0.9) = %v", crit.Value, high.Value)
		}
	}
}

func TestFactorOrder(t *testing.T) {
	base := []string{FactorImpact, FactorKEV, FactorKEVRansomware, FactorEPSS, FactorExploitMaturity, FactorKindThreat,
		FactorFixAvailable, FactorExposure, FactorPrivileged, FactorRuntimeLoaded, FactorEnvironment, FactorBlastRadius}
	tests := []struct {
		name string
		in   Input
		want []string
	}{
		{"plain vulnerability", Input{CVSS: nvd(5)}, base},
		{"misconfiguration with context", Input{Kind: sextant.KindMisconfiguration, Context: &sextant.ArtifactContext{Exposed: true}}, base},
		{"KEV floor", Input{CVSS: nvd(1), KEV: &KEVFact{}}, append(base[:len(base):len(base)], FactorKEVFloor)},
		{"clamped", Input{CVSS: nvd(10), EPSS: epss(1), FixAvailable: true, Context: &sextant.ArtifactContext{
			Exposed: true, Privileged: true, Environment: "prod", Replicas: 100}, PackageLoaded: true},
			append(base[:len(base):len(base)], FactorClamp)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Score(tt.in, DefaultWeights())
			var names []string
			for _, f := range got.Factors {
				names = append(names, f.Name)
			}
			if diff := cmp.Diff(tt.want, names); diff != "" {
				t.Errorf("Score(%+v) factor names (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// factor returns the named factor of s, failing the test when absent.
func factor(t *testing.T, s sextant.Score, name string) sextant.Factor {
	t.Helper()
	for _, f := range s.Factors {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("score %v has no factor %q", s.Value, name)
	return sextant.Factor{}
}

func TestUnknownsAreNeutralAndSaySo(t *testing.T) {
	w := DefaultWeights()
	in := Input{CVSS: nvd(8.1), EPSS: epss(0.03), FixAvailable: true}
	none := Score(in, w)
	in.Context = &sextant.ArtifactContext{Owner: "team-a"}
	empty := Score(in, w)
	if none.Value != empty.Value {
		t.Errorf("Score with nil context = %v, with an empty context = %v, want equal", none.Value, empty.Value)
	}
	for _, name := range []string{FactorExposure, FactorPrivileged, FactorRuntimeLoaded, FactorEnvironment, FactorBlastRadius} {
		f := factor(t, none, name)
		if f.Value != unknown || f.Contribution != 0 {
			t.Errorf("Score(no context) factor %s = %v contributing %v, want %q contributing 0", name, f.Value, f.Contribution, unknown)
		}
	}
	if f := factor(t, none, FactorKEV); f.Value != unknown || !strings.Contains(f.Evidence, "no KEV catalog") {
		t.Errorf("Score(KEVKnown=false) kev factor = %v %q, want %q saying no catalog", f.Value, f.Evidence, unknown)
	}
	in.KEVKnown = true
	if f := factor(t, Score(in, w), FactorKEV); f.Value != false {
		t.Errorf("Score(KEVKnown=true, not listed) kev factor = %v, want false", f.Value)
	}
}

func TestContextMultipliers(t *testing.T) {
	w := DefaultWeights()
	in := Input{CVSS: nvd(7.5), EPSS: epss(0.02), FixAvailable: true}
	base := Score(in, w).Value
	tests := []struct {
		name string
		ctx  sextant.ArtifactContext
		pkg  bool
		m    float64
	}{
		{"exposed", sextant.ArtifactContext{Exposed: true}, false, w.Exposed},
		{"privileged", sextant.ArtifactContext{Privileged: true}, false, w.Privileged},
		{"loaded", sextant.ArtifactContext{LoadedPackages: []string{"openssl"}}, true, w.Loaded},
		{"not loaded", sextant.ArtifactContext{LoadedPackages: []string{"openssl"}}, false, w.NotLoaded},
		{"production", sextant.ArtifactContext{Environment: "Production"}, false, w.Production},
		{"development", sextant.ArtifactContext{Environment: "dev"}, false, w.NonProduction},
		{"staging is neutral", sextant.ArtifactContext{Environment: "staging"}, false, 1},
		{"one replica is neutral", sextant.ArtifactContext{Replicas: 1}, false, 1},
		{"saturated blast radius", sextant.ArtifactContext{Replicas: 5000}, false, w.BlastRadiusMax},
		{"workloads when no replicas", sextant.ArtifactContext{Workloads: w.BlastRadiusSaturation}, false, w.BlastRadiusMax},
		{"half-way blast radius", sextant.ArtifactContext{Replicas: 1 + (w.BlastRadiusSaturation-1)/2}, false,
			1 + float64((w.BlastRadiusSaturation-1)/2)/float64(w.BlastRadiusSaturation-1)*(w.BlastRadiusMax-1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.ctx
			in := in
			in.Context, in.PackageLoaded = &c, tt.pkg
			got := Score(in, w).Value
			if want := base * tt.m; math.Abs(got-want) > 0.1 {
				t.Errorf("Score(%+v) = %v, want %v (×%v of %v)", c, got, want, tt.m, base)
			}
		})
	}
}

func TestNoFixNeverHidesKEV(t *testing.T) {
	w := DefaultWeights()
	for _, cvss := range []float64{0.1, 3, 5, 7.5, 9.8} {
		in := Input{CVSS: nvd(cvss), KEV: &KEVFact{}, KEVKnown: true, FixAvailable: false,
			Context: &sextant.ArtifactContext{Environment: "dev", LoadedPackages: []string{"x"}}}
		if got := Score(in, w); got.Priority > sextant.P1 {
			t.Errorf("Score(KEV, CVSS %v, no fix, dev, not loaded) = %v (%v), want P0 or P1", cvss, got.Value, got.Priority)
		}
		in.FixAvailable = true
		fixed := Score(in, w).Value
		in.FixAvailable = false
		if nofix := Score(in, w).Value; nofix > fixed {
			t.Errorf("Score(no fix) = %v, want at most Score(fix) = %v", nofix, fixed)
		}
	}
}

func TestMisconfigurationIgnoresEPSS(t *testing.T) {
	w := DefaultWeights()
	for _, kind := range []sextant.Kind{sextant.KindMisconfiguration, sextant.KindSecret} {
		a := Score(Input{Kind: kind, Severity: sextant.SeverityHigh}, w)
		b := Score(Input{Kind: kind, Severity: sextant.SeverityHigh, EPSS: epss(0.99), ExploitMaturity: "high", FixAvailable: true}, w)
		if a.Value != b.Value {
			t.Errorf("Score(%s with EPSS) = %v, want %v as without", kind, b.Value, a.Value)
		}
		if f := factor(t, b, FactorEPSS); f.Value != notApplicable {
			t.Errorf("Score(%s) epss factor = %v, want %q", kind, f.Value, notApplicable)
		}
	}
}

func TestSecretCredentials(t *testing.T) {
	w := DefaultWeights()
	tests := []struct {
		rule       string
		credential bool
	}{
		{"private-key", true},
		{"aws-access-key-id", true},
		{"aws-secret-access-key", true},
		{"gcp-service-account", true},
		{"GitHub-PAT", true},
		{"aws-account-id", false},
		{"jwt-token", false},
		{"slack-web-hook", false},
		{"", false},
	}
	for _, tt := range tests {
		got := Score(Input{Kind: sextant.KindSecret, Severity: sextant.SeverityMedium, RuleID: tt.rule}, w)
		want := w.Secret
		if tt.credential {
			want = w.SecretCredential
		}
		if f := factor(t, got, FactorKindThreat); f.Weight != want {
			t.Errorf("Score(secret %q) kind_threat weight = %v, want %v", tt.rule, f.Weight, want)
		}
		if tt.credential && got.Priority > sextant.P1 {
			t.Errorf("Score(secret %q, MEDIUM) = %v (%v), want P0 or P1", tt.rule, got.Value, got.Priority)
		}
	}
}

func TestChooseCVSS(t *testing.T) {
	tests := []struct {
		name    string
		ratings []sextant.CVSS
		vendor  string
		want    float64
		wantOK  bool
	}{
		{"none", nil, "", 0, false},
		{"vendor first", []sextant.CVSS{{Source: "nvd", Version: "3.1", Score: 9.8}, {Source: "redhat", Version: "3.1", Score: 5.3}}, "redhat", 5.3, true},
		{"vendor case-insensitive", []sextant.CVSS{{Source: "nvd", Version: "3.1", Score: 9.8}, {Source: "RedHat", Version: "3.0", Score: 5.3}}, "redhat", 5.3, true},
		{"NVD before others", []sextant.CVSS{{Source: "ghsa", Version: "3.1", Score: 5}, {Source: "nvd@nist.gov", Version: "3.1", Score: 7}}, "debian", 7, true},
		{"highest version in rank", []sextant.CVSS{{Source: "nvd", Version: "2.0", Score: 10}, {Source: "nvd", Version: "3.1", Score: 7.5}, {Source: "nvd", Version: "3.0", Score: 8}}, "", 7.5, true},
		{"version from vector", []sextant.CVSS{{Source: "nvd", Vector: "CVSS:4.0/AV:N", Score: 6}, {Source: "nvd", Version: "3.1", Score: 9}}, "", 6, true},
		{"higher score on a tie", []sextant.CVSS{{Source: "ghsa", Version: "3.1", Score: 5}, {Source: "cna", Version: "3.1", Score: 6}}, "", 6, true},
		{"invalid scores ignored", []sextant.CVSS{{Source: "redhat", Version: "3.1", Score: 0}, {Source: "nvd", Version: "3.1", Score: 11}, {Source: "x", Score: math.NaN()}}, "redhat", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, ok := chooseCVSS(tt.ratings, tt.vendor)
			if ok != tt.wantOK || ok && got.Score != tt.want {
				t.Errorf("chooseCVSS(%v, %q) = %v, %v, want %v, %v", tt.ratings, tt.vendor, got.Score, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestExploitMaturity(t *testing.T) {
	tests := []struct {
		name string
		in   Input
		want string
	}{
		{"none", Input{}, ""},
		{"word", Input{ExploitMaturity: "Functional"}, "functional"},
		{"v4 attacked", Input{CVSS: []sextant.CVSS{{Version: "4.0", Vector: "CVSS:4.0/AV:N/AC:L/E:A"}}}, "high"},
		{"v4 POC", Input{CVSS: []sextant.CVSS{{Vector: "CVSS:4.0/AV:N/E:P"}}}, "poc"},
		{"v4 unreported", Input{CVSS: []sextant.CVSS{{Vector: "CVSS:4.0/AV:N/E:U"}}}, ""},
		{"v3 high", Input{CVSS: []sextant.CVSS{{Version: "3.1", Vector: "CVSS:3.1/AV:N/E:H/RL:O"}}}, "high"},
		{"v3 POC", Input{CVSS: []sextant.CVSS{{Version: "3.1", Vector: "CVSS:3.1/AV:N/E:P"}}}, "poc"},
		{"v2 functional", Input{CVSS: []sextant.CVSS{{Version: "2.0", Vector: "AV:N/AC:L/Au:N/C:P/I:P/A:P/E:F"}}}, "functional"},
		{"highest claim wins", Input{CVSS: []sextant.CVSS{{Vector: "CVSS:3.1/E:P"}, {Vector: "CVSS:3.1/E:F"}}}, "functional"},
		{"unknown word falls back to vector", Input{ExploitMaturity: "weird", CVSS: []sextant.CVSS{{Vector: "CVSS:3.1/E:F"}}}, "functional"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := maturity(tt.in); got != tt.want {
				t.Errorf("maturity(%+v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestEPSSThreat(t *testing.T) {
	tests := []struct {
		p, want float64
	}{
		{0, 0}, {0.0005, 0}, {0.001, 0}, {0.01, 1.0 / 3}, {0.1, 2.0 / 3}, {1, 1},
	}
	for _, tt := range tests {
		if got := epssThreat(tt.p, 0.001); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("epssThreat(%v, 0.001) = %v, want %v", tt.p, got, tt.want)
		}
	}
}

func TestPriorityFor(t *testing.T) {
	w := DefaultWeights()
	tests := []struct {
		v    float64
		want sextant.Priority
	}{
		{100, sextant.P0}, {w.Thresholds.P0, sextant.P0}, {w.Thresholds.P0 - 0.1, sextant.P1},
		{w.Thresholds.P1, sextant.P1}, {w.Thresholds.P1 - 0.1, sextant.P2},
		{w.Thresholds.P2, sextant.P2}, {w.Thresholds.P2 - 0.1, sextant.P3}, {0, sextant.P3},
	}
	for _, tt := range tests {
		if got := PriorityFor(tt.v, w); got != tt.want {
			t.Errorf("PriorityFor(%v) = %v, want %v", tt.v, got, tt.want)
		}
	}
}
