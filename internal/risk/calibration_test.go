package risk

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/fixtures"
)

// grypeReport is the part of a Grype JSON report the calibration test
// reads: enough to build an Input without depending on the Grype parser.
type grypeReport struct {
	Matches []struct {
		Vulnerability          grypeVuln   `json:"vulnerability"`
		RelatedVulnerabilities []grypeVuln `json:"relatedVulnerabilities"`
	} `json:"matches"`
}

type grypeVuln struct {
	ID             string `json:"id"`
	Namespace      string `json:"namespace"`
	Severity       string `json:"severity"`
	KnownExploited any    `json:"knownExploited"`
	CVSS           []struct {
		Source  string `json:"source"`
		Version string `json:"version"`
		Vector  string `json:"vector"`
		Metrics struct {
			BaseScore float64 `json:"baseScore"`
		} `json:"metrics"`
	} `json:"cvss"`
	CVSSV2 *struct {
		BaseScore float64 `json:"baseScore"`
		Vector    string  `json:"vector"`
	} `json:"cvssV2"`
	CVSSV3 *struct {
		BaseScore float64 `json:"baseScore"`
		Vector    string  `json:"vector"`
	} `json:"cvssV3"`
	EPSS []struct {
		EPSS       float64 `json:"epss"`
		Percentile float64 `json:"percentile"`
		Date       string  `json:"date"`
	} `json:"epss"`
	Fix struct {
		State string `json:"state"`
	} `json:"fix"`
}

type kevCatalog struct {
	Vulnerabilities []struct {
		CVEID                      string `json:"cveID"`
		DateAdded                  string `json:"dateAdded"`
		KnownRansomwareCampaignUse string `json:"knownRansomwareCampaignUse"`
	} `json:"vulnerabilities"`
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r = gz
	}
	if err := json.NewDecoder(r).Decode(v); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
}

// grypeInputs turns a Grype report into score inputs, with the KEV catalog
// given (kev != nil) or withheld.
func grypeInputs(rep grypeReport, kev map[string]*KEVFact) (ins []Input, highCrit int) {
	for _, m := range rep.Matches {
		v := m.Vulnerability
		in := Input{FixAvailable: v.Fix.State == "fixed", KEVKnown: kev != nil}
		in.Severity, _ = sextant.ParseSeverity(v.Severity)
		if in.Severity >= sextant.SeverityHigh {
			highCrit++
		}
		in.VendorSource, _, _ = strings.Cut(v.Namespace, ":")
		ids := []string{v.ID}
		for _, gv := range append([]grypeVuln{v}, m.RelatedVulnerabilities...) {
			ids = append(ids, gv.ID)
			for _, c := range gv.CVSS {
				in.CVSS = append(in.CVSS, sextant.CVSS{Source: c.Source, Version: c.Version, Vector: c.Vector, Score: c.Metrics.BaseScore})
			}
			if gv.CVSSV3 != nil {
				in.CVSS = append(in.CVSS, sextant.CVSS{Source: "nvd", Version: "3.0", Vector: gv.CVSSV3.Vector, Score: gv.CVSSV3.BaseScore})
			}
			if gv.CVSSV2 != nil {
				in.CVSS = append(in.CVSS, sextant.CVSS{Source: "nvd", Version: "2.0", Vector: gv.CVSSV2.Vector, Score: gv.CVSSV2.BaseScore})
			}
			if len(gv.EPSS) > 0 && in.EPSS == nil {
				in.EPSS = &sextant.EPSS{Probability: gv.EPSS[0].EPSS, Percentile: gv.EPSS[0].Percentile, Date: gv.EPSS[0].Date}
			}
		}
		for _, id := range ids {
			if k, ok := kev[strings.ToUpper(id)]; ok && kev != nil {
				in.KEV = k
			}
		}
		ins = append(ins, in)
	}
	return ins, highCrit
}

// TestCalibrationOnRealReports checks the default weights against the real
// Grype reports of the shared corpus: P0+P1 stay well under 15% of the
// findings whether the KEV catalog is given or withheld, far below the share
// HIGH/CRITICAL flags, and every KEV-listed finding is P0 or P1.
func TestCalibrationOnRealReports(t *testing.T) {
	var cat kevCatalog
	readJSON(t, fixtures.Dir(t, "intel", "cisa-kev", "known_exploited_vulnerabilities.json"), &cat)
	kev := map[string]*KEVFact{}
	for _, v := range cat.Vulnerabilities {
		kev[strings.ToUpper(v.CVEID)] = &KEVFact{DateAdded: v.DateAdded, Ransomware: v.KnownRansomwareCampaignUse == "Known"}
	}
	if len(kev) < 1000 {
		t.Fatalf("KEV catalog has %d entries, want the full snapshot", len(kev))
	}

	var files []string
	for _, f := range fixtures.Files(t, "grype") {
		if strings.HasSuffix(f, ".json") || strings.HasSuffix(f, ".json.gz") {
			files = append(files, f)
		}
	}
	w := DefaultWeights()
	total, urgentTotal, hcTotal := 0, 0, 0
	for _, f := range files {
		var rep grypeReport
		readJSON(t, f, &rep)
		for _, withKEV := range []bool{true, false} {
			catalog := kev
			if !withKEV {
				catalog = nil
			}
			ins, hc := grypeInputs(rep, catalog)
			if len(ins) == 0 {
				continue
			}
			urgent := 0
			for _, in := range ins {
				s := Score(in, w)
				if s.Priority <= sextant.P1 {
					urgent++
				}
				if in.KEV != nil && s.Priority > sextant.P1 {
					t.Errorf("%s: KEV-listed finding scored %v (%v), want P0 or P1", filepath.Base(f), s.Value, s.Priority)
				}
			}
			share, hcShare := float64(urgent)/float64(len(ins)), float64(hc)/float64(len(ins))
			t.Logf("%-55s kev=%-5v findings=%4d P0+P1=%5.1f%% HIGH/CRITICAL=%5.1f%%", filepath.Base(f), withKEV, len(ins), 100*share, 100*hcShare)
			if len(ins) >= 50 && share >= 0.15 {
				t.Errorf("%s (KEV given: %v): P0+P1 = %.1f%% of %d findings, want under 15%%", filepath.Base(f), withKEV, 100*share, len(ins))
			}
			if withKEV {
				total += len(ins)
				urgentTotal += urgent
				hcTotal += hc
			}
		}
	}
	if total == 0 {
		t.Fatal("no Grype findings read from the corpus")
	}
	if float64(urgentTotal) > 0.25*float64(hcTotal) {
		t.Errorf("over all reports P0+P1 = %d findings, HIGH/CRITICAL = %d: want P0+P1 at most a quarter of HIGH/CRITICAL", urgentTotal, hcTotal)
	}
}
