package intel

import (
	"bufio"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/fixtures"
)

// TestKEVSnapshot reads the real CISA catalog and checks it against an
// independent whole-document decode of the JSON and against CISA's CSV
// rendering of the same catalog.
func TestKEVSnapshot(t *testing.T) {
	dir := fixtures.Dir(t, "intel", "cisa-kev")
	path := filepath.Join(dir, "known_exploited_vulnerabilities.json")
	k, err := LoadKEVFile(path)
	if err != nil {
		t.Fatalf("LoadKEVFile(%q) error: %v", path, err)
	}

	var doc struct {
		CatalogVersion  string `json:"catalogVersion"`
		Count           int    `json:"count"`
		Vulnerabilities []struct {
			CVEID      string `json:"cveID"`
			Ransomware string `json:"knownRansomwareCampaignUse"`
			DateAdded  string `json:"dateAdded"`
		} `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(readFile(t, path), &doc); err != nil {
		t.Fatal(err)
	}
	if k.Count != doc.Count || k.Len() != doc.Count || len(doc.Vulnerabilities) != doc.Count {
		t.Errorf("KEV snapshot: Count = %d, Len() = %d, want both %d (the count field)", k.Count, k.Len(), doc.Count)
	}
	if len(k.Warnings) != 0 {
		t.Errorf("KEV snapshot: Warnings = %q, want none", k.Warnings)
	}
	if k.CatalogVersion != doc.CatalogVersion || k.Released.IsZero() {
		t.Errorf("KEV snapshot: CatalogVersion = %q, Released = %v, want %q and a time", k.CatalogVersion, k.Released, doc.CatalogVersion)
	}
	ransomware := 0
	for _, v := range doc.Vulnerabilities {
		e, ok := k.Lookup(v.CVEID)
		if !ok {
			t.Errorf("Lookup(%q) found = false, want true", v.CVEID)
			continue
		}
		if _, ok := k.Lookup(strings.ToLower(v.CVEID)); !ok {
			t.Errorf("Lookup(%q) found = false, want true", strings.ToLower(v.CVEID))
		}
		if got := e.DateAdded.Format("2006-01-02"); got != v.DateAdded {
			t.Errorf("Lookup(%q).DateAdded = %s, want %s", v.CVEID, got, v.DateAdded)
		}
		if v.Ransomware == "Known" {
			ransomware++
		}
	}
	got := 0
	for _, e := range k.Entries() {
		if e.Ransomware {
			got++
		}
	}
	if got != ransomware || got == 0 {
		t.Errorf("KEV snapshot: %d entries with Ransomware, want %d (knownRansomwareCampaignUse = Known)", got, ransomware)
	}
	t.Logf("KEV %s: %d entries, %d known ransomware use", k.CatalogVersion, k.Len(), got)

	// CISA publishes the same catalog as CSV; every row must agree.
	f, err := os.Open(filepath.Join(dir, "known_exploited_vulnerabilities.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	if len(rows)-1 != k.Len() {
		t.Errorf("KEV CSV has %d rows, JSON %d entries, want equal", len(rows)-1, k.Len())
	}
	for _, r := range rows[1:] {
		id := r[col["cveID"]]
		e, ok := k.Lookup(id)
		if !ok {
			t.Errorf("Lookup(%q) (from the CSV) found = false, want true", id)
			continue
		}
		got := []string{e.VendorProject, e.Product, e.Name, e.DateAdded.Format("2006-01-02"),
			e.DueDate.Format("2006-01-02"), strconv.FormatBool(e.Ransomware), e.RequiredAction, strings.Join(e.CWEs, ", ")}
		want := []string{r[col["vendorProject"]], r[col["product"]], r[col["vulnerabilityName"]], r[col["dateAdded"]],
			r[col["dueDate"]], strconv.FormatBool(r[col["knownRansomwareCampaignUse"]] == "Known"), r[col["requiredAction"]], r[col["cwes"]]}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Lookup(%q) disagrees with the CSV (-csv +json):\n%s", id, diff)
		}
	}
}

// TestCollectedCVEsInKEV counts the CVEs found in the collected scanner
// reports that CISA lists as exploited.
func TestCollectedCVEsInKEV(t *testing.T) {
	k, err := LoadKEVFile(filepath.Join(fixtures.Dir(t, "intel", "cisa-kev"), "known_exploited_vulnerabilities.json"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(fixtures.Dir(t, "intel"), "cves-in-collected-reports.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var listed, ransomware []string
	total := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cve := strings.TrimSpace(sc.Text())
		if cve == "" {
			continue
		}
		total++
		if e, ok := k.Lookup(cve); ok {
			listed = append(listed, e.CVEID)
			if e.Ransomware {
				ransomware = append(ransomware, e.CVEID)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	// The snapshots are fixed, so the overlap is too; these are the ones a
	// reviewer would expect (Log4Shell, Spring4Shell, PwnKit, Looney
	// Tunables, HTTP/2 Rapid Reset…).
	want := []string{
		"CVE-2017-5638", "CVE-2018-1273", "CVE-2020-15999", "CVE-2021-3156", "CVE-2021-4034", "CVE-2021-44228",
		"CVE-2022-0185", "CVE-2022-0543", "CVE-2022-22965", "CVE-2023-20867", "CVE-2023-44487", "CVE-2023-4911",
	}
	if diff := cmp.Diff(want, sextant.SortStrings(listed)); diff != "" {
		t.Errorf("KEV-listed CVEs among the collected reports' mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"CVE-2017-5638", "CVE-2018-1273", "CVE-2021-44228"}, sextant.SortStrings(ransomware)); diff != "" {
		t.Errorf("ransomware-linked ones mismatch (-want +got):\n%s", diff)
	}
	t.Logf("%d of %d CVEs in the collected reports are in KEV %s (%d with known ransomware use)", len(listed), total, k.CatalogVersion, len(ransomware))
}

// TestEPSSSnapshots reads the EPSS fixture files and checks every row
// against an independent split of the same lines.
func TestEPSSSnapshots(t *testing.T) {
	dir := fixtures.Dir(t, "intel", "epss")
	tests := []struct {
		file     string
		version  string
		date     string
		warnings int
		spot     map[string][2]float64
	}{
		{
			file: "epss-derived-from-grype-reports.csv", version: "derived-from-grype-embedded-values", date: "2026-07-07",
			spot: map[string][2]float64{"CVE-2005-2541": {0.02806, 0.86049}, "CVE-2007-5686": {0.00196, 0.41505}, "CVE-2009-4487": {0.02235, 0.84449}},
		},
		{
			// No #model_version line, and two extra columns.
			file: "epss-subset-from-grype-reports.csv", warnings: 1,
			spot: map[string][2]float64{"CVE-2010-4756": {0.00394, 0.59977}, "CVE-2015-9235": {0.3247, 0.96782}, "CVE-2016-1000237": {0.00328, 0.55431}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join(dir, tt.file)
			e, err := LoadEPSSFile(path)
			if err != nil {
				t.Fatalf("LoadEPSSFile(%q) error: %v", tt.file, err)
			}
			if e.ModelVersion != tt.version || e.date != tt.date || len(e.Warnings) != tt.warnings {
				t.Errorf("LoadEPSSFile(%q): ModelVersion %q, date %q, %d warnings; want %q, %q, %d",
					tt.file, e.ModelVersion, e.date, len(e.Warnings), tt.version, tt.date, tt.warnings)
			}
			for cve, v := range tt.spot {
				want := sextant.EPSS{Probability: v[0], Percentile: v[1], Date: tt.date}
				if got, ok := e.Lookup(cve); !ok || got != want {
					t.Errorf("Lookup(%q) = %+v, %v, want %+v, true", cve, got, ok, want)
				}
			}

			rows := 0
			for i, line := range strings.Split(strings.TrimSpace(string(readFile(t, path))), "\n") {
				f := strings.Split(strings.TrimSpace(line), ",")
				if !strings.HasPrefix(f[0], "CVE-") {
					continue
				}
				rows++
				p, err1 := strconv.ParseFloat(f[1], 64)
				pct, err2 := strconv.ParseFloat(f[2], 64)
				if err1 != nil || err2 != nil {
					t.Fatalf("line %d: %v %v", i+1, err1, err2)
				}
				want := sextant.EPSS{Probability: p, Percentile: pct, Date: tt.date}
				if got, ok := e.Lookup(f[0]); !ok || got != want {
					t.Errorf("line %d: Lookup(%q) = %+v, %v, want %+v, true", i+1, f[0], got, ok, want)
				}
			}
			if e.Len() != rows || rows == 0 {
				t.Errorf("LoadEPSSFile(%q).Len() = %d, want %d rows", tt.file, e.Len(), rows)
			}
		})
	}
}
