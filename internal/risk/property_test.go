package risk

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sextant-dev/sextant"
)

// randomInput draws an input covering every branch of the model: all kinds,
// with and without CVSS, EPSS, KEV, exploit maturity and context.
func randomInput(r *rand.Rand) Input {
	kinds := []sextant.Kind{"", sextant.KindVulnerability, sextant.KindVulnerability, sextant.KindMisconfiguration, sextant.KindSecret, sextant.KindRuntime}
	in := Input{
		Kind:         kinds[r.IntN(len(kinds))],
		Severity:     sextant.Severity(r.IntN(6)),
		KEVKnown:     r.IntN(2) == 0,
		FixAvailable: r.IntN(2) == 0,
		RuleID:       []string{"", "private-key", "jwt-token", "aws-access-key-id", "KSV017"}[r.IntN(5)],
	}
	for range r.IntN(3) {
		in.CVSS = append(in.CVSS, sextant.CVSS{
			Source:  []string{"nvd", "redhat", "ghsa", ""}[r.IntN(4)],
			Version: []string{"2.0", "3.0", "3.1", "4.0", ""}[r.IntN(5)],
			Vector:  []string{"", "CVSS:3.1/AV:N/E:F", "CVSS:4.0/AV:N/E:A", "CVSS:3.1/E:P"}[r.IntN(4)],
			Score:   math.Round(r.Float64()*100) / 10,
		})
	}
	if r.IntN(2) == 0 {
		in.VendorSource = "redhat"
	}
	if r.IntN(4) > 0 {
		p := math.Pow(10, -5*r.Float64())
		in.EPSS = &sextant.EPSS{Probability: p, Percentile: r.Float64()}
	}
	if r.IntN(5) == 0 {
		in.KEV = &KEVFact{DateAdded: "2024-01-01", Ransomware: r.IntN(3) == 0}
	}
	in.ExploitMaturity = []string{"", "", "poc", "functional", "high", "bogus"}[r.IntN(6)]
	if r.IntN(3) > 0 {
		c := &sextant.ArtifactContext{
			Exposed:     r.IntN(2) == 0,
			Privileged:  r.IntN(2) == 0,
			Environment: []string{"", "production", "dev", "staging"}[r.IntN(4)],
			Workloads:   r.IntN(5),
			Replicas:    r.IntN(200),
		}
		if r.IntN(2) == 0 {
			c.LoadedPackages = []string{"openssl"}
			in.PackageLoaded = r.IntN(2) == 0
		}
		in.Context = c
	}
	return in
}

// randomWeights perturbs the defaults while keeping them valid, so the
// properties are checked for tuned weights too.
func randomWeights(r *rand.Rand) Weights {
	w := DefaultWeights()
	w.ImpactPoints = 10 + 40*r.Float64()
	w.ThreatPoints = 20 + 80*r.Float64()
	w.ThreatImpactScaling = r.Float64()
	w.Exposed = 1 + r.Float64()
	w.NoFix = 0.5 + 0.5*r.Float64()
	w.NotLoaded = 0.3 + 0.7*r.Float64()
	w.BlastRadiusSaturation = 2 + r.IntN(100)
	return w
}

const propertyRuns = 20000

func TestContributionsAddUp(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range propertyRuns {
		in := randomInput(r)
		w := DefaultWeights()
		if i%2 == 1 {
			w = randomWeights(r)
		}
		s := Score(in, w)
		sum := 0.0
		for _, f := range s.Factors {
			sum += f.Contribution
		}
		if math.Abs(sum-s.Value) > 1e-6 {
			t.Fatalf("Score(%+v) = %v, but its contributions add up to %v", in, s.Value, sum)
		}
		if s.Value < 0 || s.Value > 100 || s.Value != math.Round(s.Value*10)/10 {
			t.Fatalf("Score(%+v) = %v, want 0..100 with one decimal", in, s.Value)
		}
		if s.Priority != PriorityFor(s.Value, w) {
			t.Fatalf("Score(%+v) priority = %v, want PriorityFor(%v) = %v", in, s.Priority, s.Value, PriorityFor(s.Value, w))
		}
		if in.KEV != nil && s.Priority > sextant.P1 {
			t.Fatalf("Score(%+v) = %v (%v), want P0 or P1 for a KEV-listed finding", in, s.Value, s.Priority)
		}
	}
}

func TestMonotonic(t *testing.T) {
	type change struct {
		name  string
		raise func(r *rand.Rand, in Input) (Input, bool)
	}
	changes := []change{
		{"raise EPSS", func(r *rand.Rand, in Input) (Input, bool) {
			if in.EPSS == nil {
				return in, false
			}
			e := *in.EPSS
			e.Probability = e.Probability + (1-e.Probability)*r.Float64()
			in.EPSS = &e
			return in, true
		}},
		{"raise CVSS", func(r *rand.Rand, in Input) (Input, bool) {
			if len(in.CVSS) == 0 {
				return in, false
			}
			cs := append([]sextant.CVSS(nil), in.CVSS...)
			for i := range cs {
				if cs[i].Score > 0 && cs[i].Score <= 10 {
					cs[i].Score += (10 - cs[i].Score) * r.Float64()
				}
			}
			in.CVSS = cs
			return in, true
		}},
		{"raise severity", func(r *rand.Rand, in Input) (Input, bool) {
			if in.Severity == sextant.SeverityUnknown || in.Severity == sextant.SeverityCritical {
				return in, false
			}
			in.Severity++
			return in, true
		}},
		{"add KEV", func(r *rand.Rand, in Input) (Input, bool) {
			if in.KEV != nil {
				return in, false
			}
			in.KEV, in.KEVKnown = &KEVFact{}, true
			return in, true
		}},
		{"add ransomware", func(r *rand.Rand, in Input) (Input, bool) {
			if in.KEV == nil || in.KEV.Ransomware {
				return in, false
			}
			in.KEV = &KEVFact{Ransomware: true}
			return in, true
		}},
		{"add exposure", func(r *rand.Rand, in Input) (Input, bool) {
			c := sextant.ArtifactContext{}
			if in.Context != nil {
				c = *in.Context
			}
			if c.Exposed {
				return in, false
			}
			c.Exposed = true
			in.Context = &c
			return in, true
		}},
		{"add privilege", func(r *rand.Rand, in Input) (Input, bool) {
			if in.Context == nil || in.Context.Privileged {
				return in, false
			}
			c := *in.Context
			c.Privileged = true
			in.Context = &c
			return in, true
		}},
		{"package loaded", func(r *rand.Rand, in Input) (Input, bool) {
			if in.Context == nil || in.PackageLoaded {
				return in, false
			}
			in.PackageLoaded = true
			return in, true
		}},
		{"more replicas", func(r *rand.Rand, in Input) (Input, bool) {
			if in.Context == nil || in.Context.Replicas == 0 {
				return in, false
			}
			c := *in.Context
			c.Replicas += 1 + r.IntN(100)
			in.Context = &c
			return in, true
		}},
		{"fix becomes available", func(r *rand.Rand, in Input) (Input, bool) {
			// Not a risk increase, but the no-fix multiplier must only ever lower urgency.
			if in.FixAvailable {
				return in, false
			}
			in.FixAvailable = true
			return in, true
		}},
	}
	for _, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(3, 4))
			tried := 0
			for i := 0; i < propertyRuns; i++ {
				in := randomInput(r)
				w := DefaultWeights()
				if i%2 == 1 {
					w = randomWeights(r)
				}
				higher, ok := c.raise(r, in)
				if !ok {
					continue
				}
				tried++
				before, after := Score(in, w), Score(higher, w)
				if after.Value < before.Value {
					t.Fatalf("%s: Score(%+v) = %v, below Score(%+v) = %v", c.name, higher, after.Value, in, before.Value)
				}
			}
			if tried < propertyRuns/20 {
				t.Fatalf("%s: only %d of %d random inputs exercised the change", c.name, tried, propertyRuns)
			}
		})
	}
}

// TestValueMatchesScore checks that the fast path used for ranking gives
// exactly the value and priority of the explained score.
func TestValueMatchesScore(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for i := 0; i < 20000; i++ {
		in := randomInput(r)
		w := DefaultWeights()
		if i%2 == 1 {
			w = randomWeights(r)
		}
		s := Score(in, w)
		v, p := Value(in, w)
		if v != s.Value || p != s.Priority {
			t.Fatalf("Value(%+v) = %v, %v; Score gives %v, %v", in, v, p, s.Value, s.Priority)
		}
		b := Brief(in, w)
		if b.Value != s.Value || b.Priority != s.Priority || len(b.Factors) != len(s.Factors) {
			t.Fatalf("Brief(%+v) = %v, %v with %d factors; Score gives %v, %v with %d", in, b.Value, b.Priority, len(b.Factors), s.Value, s.Priority, len(s.Factors))
		}
		for j, f := range b.Factors {
			want := s.Factors[j]
			want.Evidence = ""
			if f.Name != want.Name || f.Weight != want.Weight || f.Contribution != want.Contribution || f.Evidence != "" || fmt.Sprint(f.Value) != fmt.Sprint(want.Value) {
				t.Fatalf("Brief(%+v) factor %d = %+v, want %+v without evidence", in, j, f, want)
			}
		}
	}
}
