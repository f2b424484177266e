package triage_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/fixtures"
	"github.com/sextant-dev/sextant/internal/risk"
	"github.com/sextant-dev/sextant/internal/source/asff"
	"github.com/sextant-dev/sextant/internal/source/cyclonedx"
	"github.com/sextant-dev/sextant/internal/source/gitlab"
	"github.com/sextant-dev/sextant/internal/source/grype"
	"github.com/sextant-dev/sextant/internal/source/sarif"
	"github.com/sextant-dev/sextant/internal/source/trivy"
	"github.com/sextant-dev/sextant/internal/source/trivyoperator"
	"github.com/sextant-dev/sextant/internal/triage"
)

func parsers() map[string]triage.Parser {
	return map[string]triage.Parser{
		triage.FormatTrivy:         trivy.Parse,
		triage.FormatTrivyOperator: trivyoperator.Parse,
		triage.FormatGrype:         grype.Parse,
		triage.FormatCycloneDX:     cyclonedx.Parse,
		triage.FormatSARIF:         sarif.Parse,
		triage.FormatGitLab:        gitlab.Parse,
		triage.FormatASFF:          asff.Parse,
	}
}

func newEngine() *triage.Engine {
	return triage.New(triage.Options{Parsers: parsers(), Weights: risk.DefaultWeights()})
}

// notReports are files in the scanner fixture folders that are not scanner
// reports, with the reason; every other file must parse.
var notReports = map[string]string{
	"trivy-k8s-summary-ids.golden.json": "Trivy's golden list of summary IDs, not a report",
}

func readFile(t *testing.T, e *triage.Engine, path string) sextant.ReportInfo {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, err := e.Read(filepath.Base(path), f)
	if err != nil {
		t.Fatalf("Read(%s) error: %v", path, err)
	}
	return info
}

// TestEveryFixtureReport runs every real report under the shared fixtures'
// scanner folders through format detection and parsing: each must be
// recognised and parse, and a second run must give the same fingerprints.
func TestEveryFixtureReport(t *testing.T) {
	var files []string
	for _, dir := range []string{"trivy", "grype", "sbom", "sarif"} {
		files = append(files, fixtures.Files(t, dir)...)
	}
	if len(files) < 40 {
		t.Fatalf("found only %d fixture files", len(files))
	}
	total := 0
	for _, path := range files {
		base := filepath.Base(path)
		t.Run(base, func(t *testing.T) {
			if why, ok := notReports[base]; ok {
				e := newEngine()
				f, _ := os.Open(path)
				defer f.Close()
				if _, err := e.Read(base, f); err == nil || !strings.Contains(err.Error(), "unknown format") {
					t.Errorf("Read(%s) error = %v, want an unknown-format error (%s)", base, err, why)
				}
				return
			}
			ids := func() []string {
				e := newEngine()
				info := readFile(t, e, path)
				res := e.Finish()
				if res.Summary.Findings > info.Findings {
					t.Errorf("%s: %d distinct findings from %d emitted", base, res.Summary.Findings, info.Findings)
				}
				var ids []string
				res.EachFinding(false, func(v *triage.FindingView) error {
					if v.ID == "" || v.Vulnerability == "" {
						t.Errorf("%s: finding without ID or vulnerability: %+v", base, v)
					}
					ids = append(ids, v.ID)
					return nil
				})
				sort.Strings(ids)
				return ids
			}
			a, b := ids(), ids()
			if strings.Join(a, ",") != strings.Join(b, ",") {
				t.Errorf("%s: fingerprints differ between two runs", base)
			}
			total += len(a)
		})
	}
	t.Logf("%d fixture files, %d distinct findings", len(files), total)
}

type pair struct{ vuln, pkg, version, location string }

// collect parses one report alone and returns its findings by
// (vulnerability, package, version), with their fingerprints.
func collect(t *testing.T, path string) map[pair]string {
	e := newEngine()
	readFile(t, e, path)
	out := map[pair]string{}
	e.Finish().EachFinding(false, func(v *triage.FindingView) error {
		out[pair{v.Vulnerability, v.Package, strings.TrimPrefix(v.InstalledVersion, "0:"), v.Location}] = v.ID
		return nil
	})
	return out
}

// TestCrossScannerIdentity checks that Trivy and Grype reports of the same
// image give the same fingerprint to the same (CVE, package, version), and
// that triaging both together merges those findings into one with two
// sources.
func TestCrossScannerIdentity(t *testing.T) {
	pairs := []struct{ name, trivy, grype string }{
		{"ubi7", "trivy/real/trivy-image-ubi7-7.6-1000vulns.json", "grype/real-grype-ubi7-7.6.json.gz"},
		{"juice-shop", "trivy/real/trivy-image-juice-shop-v19.0.0-debian12-node-secrets.json", "grype/real-grype-juice-shop-v19.0.0.json"},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			tp := fixtures.Dir(t, strings.Split(p.trivy, "/")...)
			gp := fixtures.Dir(t, strings.Split(p.grype, "/")...)
			tv, gv := collect(t, tp), collect(t, gp)
			common := 0
			for k, id := range tv {
				if gid, ok := gv[k]; ok {
					common++
					if gid != id {
						t.Errorf("%v: trivy fingerprint %s, grype %s", k, id, gid)
					}
				}
			}
			if common == 0 {
				t.Fatalf("no (CVE, package, version) in common between %s (%d) and %s (%d)", p.trivy, len(tv), p.grype, len(gv))
			}
			e := newEngine()
			readFile(t, e, tp)
			readFile(t, e, gp)
			res := e.Finish()
			union := len(tv) + len(gv) - common
			if res.Summary.Findings != union {
				t.Errorf("merged findings = %d, want %d (trivy %d + grype %d - common %d)", res.Summary.Findings, union, len(tv), len(gv), common)
			}
			both := 0
			res.EachFinding(false, func(v *triage.FindingView) error {
				if len(v.Sources) == 2 {
					both++
				}
				return nil
			})
			if both != common {
				t.Errorf("findings with two sources = %d, want %d", both, common)
			}
			t.Logf("%s: trivy %d, grype %d, in common %d, merged %d", p.name, len(tv), len(gv), common, res.Summary.Findings)
		})
	}
}

// TestExamples runs the bundled examples: the README's first command.
func TestExamples(t *testing.T) {
	e := newEngine()
	for _, f := range []string{"billing-api-trivy.json", "shop-web-grype.json", "shop-web-trivy.json"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "reports", f))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Read(f, bytes.NewReader(b)); err != nil {
			t.Fatalf("Read(%s): %v", f, err)
		}
	}
	res := e.Finish()
	if res.Summary.Artifacts != 2 {
		t.Errorf("artifacts = %d, want 2 (the grype and trivy scans of shop-web are one image)", res.Summary.Artifacts)
	}
	if len(res.Actions) == 0 || len(res.Actions) >= res.Summary.Findings {
		t.Errorf("%d actions for %d findings: want fewer actions than findings", len(res.Actions), res.Summary.Findings)
	}
	for i := 1; i < len(res.Actions); i++ {
		if res.Actions[i].Score > res.Actions[i-1].Score {
			t.Errorf("actions not sorted by score: %v > %v", res.Actions[i].Score, res.Actions[i-1].Score)
		}
	}
}
