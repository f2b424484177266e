package intake

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/fixtures"
	"github.com/sextant-dev/sextant/internal/risk"
	"github.com/sextant-dev/sextant/internal/triage"
)

// TestScoresMatchTriage holds the service's per-report scoring to the
// CLI's: every finding of real reports scores the same through Read as
// through the triage Engine.
func TestScoresMatchTriage(t *testing.T) {
	files := []string{
		fixtures.Dir(t, "trivy", "real", "trivy-image-juice-shop-v19.0.0-debian12-node-secrets.json"),
		fixtures.Dir(t, "trivy", "real", "trivy-image-ubi7-7.6-1000vulns.json"),
		fixtures.Dir(t, "grype", "dd-grype-busybox-epss-risk.json"),
		fixtures.Dir(t, "grype", "real-grype-juice-shop-v19.0.0.json"),
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			opts := triage.Options{Parsers: Parsers(), Weights: risk.DefaultWeights()}
			e := triage.New(opts)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := e.Read(path, f); err != nil {
				t.Fatal(err)
			}
			res := e.Finish()
			defer res.Close()
			want := map[string]float64{}
			if err := res.EachFinding(false, func(v *triage.FindingView) error {
				want[v.ID] = v.Score
				return nil
			}); err != nil {
				t.Fatal(err)
			}

			g, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			rep, err := Read(path, g, "ing_1", Options{Triage: opts})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, s := range rep.Scans {
				for id, sc := range s.Record.Scores {
					w, ok := want[id]
					if !ok {
						t.Errorf("finding %s scored by Read is not among the triage's findings", id)
						continue
					}
					if got := sc.Value; got != w {
						t.Errorf("finding %s: Read scores %v, triage scores %v", id, got, w)
					}
					n++
				}
			}
			if n != len(want) {
				t.Errorf("Read scored %d distinct findings, triage %d", n, len(want))
			}
		})
	}
}

func TestReadGroupsByArtifact(t *testing.T) {
	path := fixtures.Dir(t, "trivy", "k8s")
	files, err := filepath.Glob(filepath.Join(path, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Trivy Kubernetes reports in %s", path)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Read("k8s.json", bytes.NewReader(data), "ing_k", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Scans) < 2 {
		t.Fatalf("Read(%s) = %d scans, want one per resource or image (at least 2)", files[0], len(rep.Scans))
	}
	total := 0
	seen := map[string]bool{}
	for i, s := range rep.Scans {
		if seen[s.Record.ID] {
			t.Errorf("scan ID %s repeated", s.Record.ID)
		}
		seen[s.Record.ID] = true
		key := s.Record.Artifact.Key()
		for _, f := range s.Findings {
			if f.Artifact.Key() != key {
				t.Fatalf("scan %d of %s holds a finding of %s", i, key, f.Artifact.Key())
			}
		}
		if _, err := sextant.CheckScan(s.Record, s.Findings); err != nil {
			t.Errorf("scan %s would be refused by the store: %v", s.Record.ID, err)
		}
		total += len(s.Findings)
	}
	if total != rep.Findings {
		t.Errorf("scans hold %d findings, the payload %d", total, rep.Findings)
	}
	// The same payload gives the same scan IDs: a replay is recorded once.
	again, err := Read("k8s.json", bytes.NewReader(data), "ing_k", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range rep.Scans {
		if rep.Scans[i].Record.ID != again.Scans[i].Record.ID || rep.Scans[i].Record.Artifact.Key() != again.Scans[i].Record.Artifact.Key() {
			t.Fatalf("second Read: scan %d is %s of %s, first was %s of %s", i,
				again.Scans[i].Record.ID, again.Scans[i].Record.Artifact.Key(), rep.Scans[i].Record.ID, rep.Scans[i].Record.Artifact.Key())
		}
	}
}

// A clean complete rescan names its artifact, so that it resolves what an
// earlier scan found.
func TestReadCleanScan(t *testing.T) {
	data, err := os.ReadFile("testdata/trivy-clean.json")
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	rep, err := Read("clean.json.gz", &gz, "ing_c", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Scans) != 1 || len(rep.Scans[0].Findings) != 0 || !rep.Scans[0].Record.Complete {
		t.Fatalf("Read(clean report) = %+v, want one complete scan with no findings", rep.Scans)
	}
	if got := rep.Scans[0].Record.Artifact.Name; got != "registry.example/shop/api:1.5" {
		t.Errorf("clean scan's artifact = %q, want the report's ArtifactName", got)
	}
	if got := rep.Scans[0].Record.Source.Scanner; got != "trivy" {
		t.Errorf("clean scan's scanner = %q, want trivy", got)
	}
}

func TestReadBadInput(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"empty", "", "empty"},
		{"not json", "hello", ""},
		{"unknown format", `{"hello": "world"}`, ""},
		{"truncated trivy", `{"SchemaVersion": 2, "ArtifactName": "x", "Results": [{"Target": "x", "Vulnerabilities": [{"VulnerabilityID": `, ""},
		{"bad gzip", "\x1f\x8b\x08garbage", "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read("body", strings.NewReader(tt.body), "ing_x", Options{})
			if err == nil {
				t.Fatalf("Read(%q) succeeded, want an error", tt.body)
			}
			if code := sextant.ErrorCode(err); code != sextant.EINVALID {
				t.Errorf("Read(%q) error code = %s (%v), want %s", tt.body, code, err, sextant.EINVALID)
			}
			if !strings.HasPrefix(err.Error(), "body: ") {
				t.Errorf("Read(%q) error %q does not name the payload", tt.body, err)
			}
			if tt.want != "" && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Read(%q) error %q does not mention %q", tt.body, err, tt.want)
			}
		})
	}
}

func TestReadMaxFindings(t *testing.T) {
	path := fixtures.Dir(t, "trivy", "real", "trivy-image-ubi7-7.6-1000vulns.json")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = Read("big.json", f, "ing_b", Options{MaxFindings: 10})
	if sextant.ErrorCode(err) != sextant.EINVALID || !strings.Contains(err.Error(), "more than 10 findings") {
		t.Fatalf("Read with MaxFindings 10 = %v, want an EINVALID error about the bound", err)
	}
}

func FuzzRead(f *testing.F) {
	for _, s := range []string{
		`{"SchemaVersion":2,"ArtifactName":"a","Results":[{"Target":"t","Vulnerabilities":[{"VulnerabilityID":"CVE-2024-1","PkgName":"p","InstalledVersion":"1"}]}]}`,
		`{"matches":[],"source":{"type":"image","target":{"userInput":"a:1"}}}`,
		`{"bomFormat":"CycloneDX","specVersion":"1.5"}`,
		`[]`, `{}`, ``,
	} {
		f.Add([]byte(s))
	}
	if data, err := os.ReadFile("testdata/trivy-clean.json"); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := Read("fuzz", bytes.NewReader(data), "ing_f", Options{MaxFindings: 10000})
		if err != nil {
			if sextant.ErrorCode(err) == sextant.EINTERNAL {
				t.Fatalf("Read: internal error on bad input: %v", err)
			}
			return
		}
		for _, s := range rep.Scans {
			if _, err := sextant.CheckScan(s.Record, s.Findings); err != nil {
				t.Fatalf("Read returned a scan the store refuses: %v", err)
			}
		}
	})
}

// CountOnly counts what a full read counts, and refuses what it refuses.
func TestCountOnly(t *testing.T) {
	path := fixtures.Dir(t, "trivy", "real", "trivy-image-juice-shop-v19.0.0-debian12-node-secrets.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	full, err := Read("r", bytes.NewReader(data), "x", Options{})
	if err != nil {
		t.Fatal(err)
	}
	counted, err := Read("r", bytes.NewReader(data), "x", Options{CountOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if counted.Findings != full.Findings || counted.Format != full.Format || len(counted.Scans) != 0 {
		t.Errorf("CountOnly = %d findings (%s, %d scans), full read %d (%s)", counted.Findings, counted.Format, len(counted.Scans), full.Findings, full.Format)
	}
	if _, err := Read("r", strings.NewReader(`{"SchemaVersion": 2, "Results": [`), "x", Options{CountOnly: true}); sextant.ErrorCode(err) != sextant.EINVALID {
		t.Errorf("CountOnly of a truncated report = %v, want EINVALID", err)
	}
}
