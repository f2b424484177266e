package risk

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/sextant-dev/sextant"
)

var update = flag.Bool("update", false, "rewrite the generated sections of docs/scoring.md")

const docPath = "../../docs/scoring.md"

// workedExample is the finding docs/scoring.md walks through: HTTP/2 Rapid
// Reset in libnghttp2 of a Debian 11 image, with the EPSS value and KEV
// entry found in the shared corpus.
func workedExample() Input {
	return Input{
		Severity: sextant.SeverityHigh,
		CVSS: []sextant.CVSS{{Source: "nvd", Version: "3.1",
			Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", Score: 7.5}},
		VendorSource: "debian",
		KEV:          &KEVFact{DateAdded: "2023-10-10"},
		KEVKnown:     true,
		EPSS:         &sextant.EPSS{Probability: 0.9445, Percentile: 0.99992, Date: "2026-03-29"},
		FixAvailable: true,
		Kind:         sextant.KindVulnerability,
		Context: &sextant.ArtifactContext{
			Environment:    "production",
			LoadedPackages: []string{"libc6", "libssl3", "redis-server"},
			Workloads:      2,
			Replicas:       6,
		},
		PackageLoaded: false,
	}
}

// renderExample writes the generated part of the worked example: the
// factor table with a running total, and the same finding under changed
// inputs.
func renderExample(w Weights) string {
	in := workedExample()
	s := Score(in, w)
	var b strings.Builder
	I := in.CVSS[0].Score / 10
	g := 1 - w.ThreatImpactScaling + w.ThreatImpactScaling*I
	tEPSS := epssThreat(in.EPSS.Probability, w.EPSSFloor)
	fmt.Fprintf(&b, "By hand: I = %.2f and g = 1 − %v + %v · %.2f = %.4g, so each unit of threat is worth "+
		"%v · %.4g = %.4g points. KEV takes T from 0 to %v; EPSS %v gives t = log10(%.4g / %v) / log10(1 / %v) = %.3f "+
		"and takes T to 1 − %.2f · %.3f = %.3f. The multipliers then apply in order to the running score.\n\n",
		I, w.ThreatImpactScaling, w.ThreatImpactScaling, I, g,
		w.ThreatPoints, g, w.ThreatPoints*g, w.KEV, in.EPSS.Probability, in.EPSS.Probability, w.EPSSFloor, w.EPSSFloor, tEPSS,
		1-w.KEV, 1-tEPSS, 1-(1-w.KEV)*(1-tEPSS))
	b.WriteString("| # | factor | value | weight | contribution | running score | evidence |\n")
	b.WriteString("|---|---|---|---|---:|---:|---|\n")
	run := 0.0
	for i, f := range s.Factors {
		run += f.Contribution
		fmt.Fprintf(&b, "| %d | `%s` | %v | %v | %+.1f | %.1f | %s |\n", i+1, f.Name, f.Value, f.Weight, f.Contribution, run, f.Evidence)
	}
	fmt.Fprintf(&b, "\n**Score %.1f → %v.**\n\n", s.Value, s.Priority)

	variants := []struct {
		what   string
		change func(*Input)
	}{
		{"the package seen loaded at runtime", func(in *Input) { in.PackageLoaded = true }},
		{"no artifact context", func(in *Input) { in.Context = nil }},
		{"the KEV catalog withheld (EPSS and CVSS only)", func(in *Input) { in.KEV, in.KEVKnown = nil, false }},
		{"the KEV catalog withheld and EPSS 0.0004", func(in *Input) {
			in.KEV, in.KEVKnown = nil, false
			in.EPSS = &sextant.EPSS{Probability: 0.0004}
		}},
	}
	b.WriteString("The same finding with:\n\n")
	for _, v := range variants {
		in := workedExample()
		v.change(&in)
		s := Score(in, w)
		fmt.Fprintf(&b, "- %s: **%.1f → %v**\n", v.what, s.Value, s.Priority)
	}
	return b.String()
}

// epssNeeded returns the lowest EPSS probability (to two significant
// digits) at which a vulnerability with the given CVSS score, a fix and no
// context reaches priority p, or ok=false when even EPSS 1 does not.
func epssNeeded(cvss float64, p sextant.Priority, w Weights) (float64, bool) {
	at := func(e float64) sextant.Priority {
		return Score(Input{CVSS: nvd(cvss), EPSS: epss(e), FixAvailable: true, KEVKnown: true}, w).Priority
	}
	if at(1) > p {
		return 0, false
	}
	if at(0) <= p {
		return 0, true
	}
	lo, hi := 0.0, 1.0
	for range 60 {
		mid := (lo + hi) / 2
		if at(mid) <= p {
			hi = mid
		} else {
			lo = mid
		}
	}
	digits := math.Pow(10, math.Floor(math.Log10(hi))-1)
	return math.Ceil(hi/digits) * digits, true
}

// renderEPSSNeeded tabulates epssNeeded for representative CVSS scores.
func renderEPSSNeeded(w Weights) string {
	var b strings.Builder
	b.WriteString("| CVSS | EPSS for P2 | EPSS for P1 | EPSS for P0 |\n|---:|---:|---:|---:|\n")
	for _, c := range []float64{4.0, 5.5, 7.0, 7.5, 8.9, 9.8} {
		fmt.Fprintf(&b, "| %.1f |", c)
		for _, p := range []sextant.Priority{sextant.P2, sextant.P1, sextant.P0} {
			switch e, ok := epssNeeded(c, p, w); {
			case !ok:
				b.WriteString(" never |")
			case e == 0:
				b.WriteString(" any |")
			default:
				fmt.Fprintf(&b, " %s %% |", strconv.FormatFloat(100*e, 'g', 2, 64))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// renderDefaults writes DefaultWeights as the `risk:` section of sextant.yaml.
func renderDefaults(t *testing.T) string {
	js, err := json.Marshal(map[string]Weights{"risk": DefaultWeights()})
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.JSONToYAML(js)
	if err != nil {
		t.Fatal(err)
	}
	return "```yaml\n" + string(y) + "```\n"
}

// section returns the text between <!-- name:begin --> and <!-- name:end -->.
func section(t *testing.T, doc, name string) (before, body, after string) {
	t.Helper()
	begin, end := "<!-- "+name+":begin -->\n", "<!-- "+name+":end -->"
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s: markers %q … %q not found", docPath, begin, end)
	}
	return doc[:i+len(begin)], doc[i+len(begin) : j], doc[j:]
}

// checkSection compares a generated section of the doc with what the code
// computes now, or rewrites it under -update.
func checkSection(t *testing.T, name, want string) {
	t.Helper()
	data, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	before, got, after := section(t, string(data), name)
	if *update {
		if err := os.WriteFile(docPath, []byte(before+want+after), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s section %q drifted from the code (-computed +doc); run go test ./internal/risk -run %s -update:\n%s", docPath, name, t.Name(), diff)
	}
}

// TestWorkedExample fails when the worked example in docs/scoring.md no
// longer matches what Score computes for it.
func TestWorkedExample(t *testing.T) {
	w := DefaultWeights()
	s := Score(workedExample(), w)
	// The example is chosen to show a KEV listing held at P1 by runtime
	// evidence without the floor; keep it that way when tuning.
	if s.Priority != sextant.P1 {
		t.Errorf("Score(worked example) = %v (%v), want P1", s.Value, s.Priority)
	}
	checkSection(t, "worked-example", renderExample(w))
}

// TestEPSSNeededDocumented fails when the table of EPSS needed per
// priority in docs/scoring.md drifts from the code.
func TestEPSSNeededDocumented(t *testing.T) {
	w := DefaultWeights()
	// The requirement behind the defaults: a HIGH with EPSS under 1% and no
	// context stays out of P0 and P1.
	if e, ok := epssNeeded(8.9, sextant.P1, w); ok && e < 0.01 {
		t.Errorf("epssNeeded(CVSS 8.9, P1) = %v, want at least 0.01", e)
	}
	checkSection(t, "epss-needed", renderEPSSNeeded(w))
}

// TestDefaultWeightsDocumented fails when the defaults in docs/scoring.md
// differ from DefaultWeights or leave a key out.
func TestDefaultWeightsDocumented(t *testing.T) {
	checkSection(t, "default-weights", renderDefaults(t))
	if *update {
		return
	}
	data, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	_, body, _ := section(t, string(data), "default-weights")
	body = strings.TrimSuffix(strings.TrimPrefix(body, "```yaml\n"), "```\n")
	var doc struct {
		Risk json.RawMessage `json:"risk"`
	}
	if err := yaml.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("default-weights block: %v", err)
	}
	got, err := ParseWeights(doc.Risk)
	if err != nil {
		t.Fatalf("ParseWeights(documented defaults) = %v", err)
	}
	if diff := cmp.Diff(DefaultWeights(), got); diff != "" {
		t.Errorf("documented defaults (-DefaultWeights +doc):\n%s", diff)
	}
	var generic any
	if err := json.Unmarshal(doc.Risk, &generic); err != nil {
		t.Fatal(err)
	}
	if missing := missingKeys(generic, reflect.TypeFor[Weights](), "risk"); len(missing) > 0 {
		t.Errorf("documented defaults leave out %v", missing)
	}
}

// missingKeys is the converse of unknownKeys: fields of t absent from v.
func missingKeys(v any, t reflect.Type, path string) []string {
	if t.Kind() != reflect.Struct {
		return nil
	}
	m, _ := v.(map[string]any)
	var out []string
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		sub, ok := m[name]
		if !ok {
			out = append(out, path+"."+name)
			continue
		}
		out = append(out, missingKeys(sub, t.Field(i).Type, path+"."+name)...)
	}
	sort.Strings(out)
	return out
}
