package triage_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/fixtures"
	"github.com/sextant-dev/sextant/internal/intel"
	"github.com/sextant-dev/sextant/internal/risk"
	"github.com/sextant-dev/sextant/internal/triage"
)

// strategy is one way of deciding which findings to fix first.
type strategy struct {
	name                     string
	flagged, kevFlagged, all int
	kevTotal                 int
}

func (s strategy) row() string {
	pct := func(a, b int) string {
		if b == 0 {
			return "–"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(a)/float64(b))
	}
	return fmt.Sprintf("| %s | %d | %s | %s | %s |", s.name, s.flagged, pct(s.flagged, s.all), pct(s.kevFlagged, s.kevTotal), pct(s.kevFlagged, s.flagged))
}

// TestRiskEvaluation measures the risk score the way the EPSS paper measures
// prioritisation strategies, on every real report in the shared fixtures:
// effort (share of findings flagged P0/P1), coverage (share of KEV-listed
// findings flagged) and efficiency (share of flagged findings that are
// KEV-listed); once with the KEV catalog given, once with it withheld (EPSS,
// CVSS and report data only), against flagging every HIGH/CRITICAL finding.
// BENCHMARKS.md records its output:
//
//	go test -run TestRiskEvaluation -v ./internal/triage/
func TestRiskEvaluation(t *testing.T) {
	kev, err := intel.LoadKEVFile(filepath.Join(fixtures.Dir(t, "intel", "cisa-kev"), "known_exploited_vulnerabilities.json"))
	if err != nil {
		t.Fatal(err)
	}
	epss, err := intel.LoadEPSSFile(filepath.Join(fixtures.Dir(t, "intel", "epss"), "epss-derived-from-grype-reports.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, dir := range []string{"trivy", "grype", "sarif", "sbom"} {
		for _, f := range fixtures.Files(t, dir) {
			if _, skip := notReports[filepath.Base(f)]; !skip {
				files = append(files, f)
			}
		}
	}
	kevLookup := func(cve string) (risk.KEVFact, bool) {
		e, ok := kev.Lookup(cve)
		return risk.KEVFact{DateAdded: e.DateAdded.Format("2006-01-02"), Ransomware: e.Ransomware}, ok
	}
	run := func(withKEV bool) *triage.Result {
		opts := triage.Options{Parsers: parsers(), Weights: risk.DefaultWeights(), EPSS: epss.Lookup, IgnoreReportKEV: !withKEV}
		if withKEV {
			opts.KEV = kevLookup
		}
		e := triage.New(opts)
		for _, f := range files {
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.Read(filepath.Base(f), fh); err != nil {
				t.Fatalf("Read(%s): %v", f, err)
			}
			fh.Close()
		}
		return e.Finish()
	}
	withKEV, withoutKEV := run(true), run(false)

	hc := strategy{name: "HIGH or CRITICAL severity"}
	sk := strategy{name: "sextant P0+P1, KEV given"}
	sn := strategy{name: "sextant P0+P1, KEV withheld"}
	s0 := strategy{name: "sextant P0 only, KEV withheld"}
	isKEV := map[string]bool{}
	count := func(res *triage.Result, s *strategy, p0 *strategy, hc *strategy) {
		res.EachFinding(false, func(v *triage.FindingView) error {
			if v.Kind != sextant.KindVulnerability {
				return nil
			}
			_, inKEV := kev.Lookup(v.Vulnerability)
			isKEV[v.ID] = inKEV
			for _, st := range []*strategy{s, p0, hc} {
				if st == nil {
					continue
				}
				st.all++
				if inKEV {
					st.kevTotal++
				}
			}
			flag := func(st *strategy, yes bool) {
				if st != nil && yes {
					st.flagged++
					if inKEV {
						st.kevFlagged++
					}
				}
			}
			flag(s, v.Priority <= sextant.P1)
			flag(p0, v.Priority == sextant.P0)
			flag(hc, v.Severity == "HIGH" || v.Severity == "CRITICAL")
			if s == &sk && inKEV && v.Priority > sextant.P1 {
				t.Errorf("KEV-listed finding %s (%s %s) is %s with the KEV catalog given; want P0 or P1", v.Vulnerability, v.Package, v.Artifact, v.Priority)
			}
			return nil
		})
	}
	count(withKEV, &sk, nil, &hc)
	count(withoutKEV, &sn, &s0, nil)

	table := []string{
		fmt.Sprintf("%d reports, %d vulnerability findings, %d of them KEV-listed (CISA KEV snapshot in the fixtures).", len(files), hc.all, hc.kevTotal),
		"",
		"| strategy | flagged | effort | coverage | efficiency |",
		"|---|---:|---:|---:|---:|",
		hc.row(), sk.row(), sn.row(), s0.row(),
	}
	t.Log("\n" + strings.Join(table, "\n"))

	if hc.kevTotal == 0 {
		t.Fatal("no KEV-listed findings in the fixtures: the evaluation measures nothing")
	}
	if sk.kevFlagged != sk.kevTotal {
		t.Errorf("KEV given: coverage %d/%d, want every KEV-listed finding flagged", sk.kevFlagged, sk.kevTotal)
	}
	eff := func(s strategy) float64 { return float64(s.kevFlagged) / float64(max(s.flagged, 1)) }
	effort := func(s strategy) float64 { return float64(s.flagged) / float64(max(s.all, 1)) }
	if effort(sn) >= effort(hc) {
		t.Errorf("KEV withheld: effort %.3f, want less than HIGH/CRITICAL's %.3f", effort(sn), effort(hc))
	}
	if eff(sn) <= eff(hc) {
		t.Errorf("KEV withheld: efficiency %.3f, want more than HIGH/CRITICAL's %.3f", eff(sn), eff(hc))
	}
	if effort(sk) >= effort(hc) {
		t.Errorf("KEV given: effort %.3f, want less than HIGH/CRITICAL's %.3f", effort(sk), effort(hc))
	}
}
