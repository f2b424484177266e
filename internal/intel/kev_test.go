package intel

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
)

func readKEVFile(t *testing.T, name string) *KEV {
	t.Helper()
	k, err := LoadKEVFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("LoadKEVFile(%q) error: %v", name, err)
	}
	return k
}

func TestReadKEV(t *testing.T) {
	k := readKEVFile(t, "kev-small.json")
	if got, want := k.CatalogVersion, "2025.08.25"; got != want {
		t.Errorf("CatalogVersion = %q, want %q", got, want)
	}
	if want := time.Date(2025, 8, 25, 17, 4, 19, 979600000, time.UTC); !k.Released.Equal(want) {
		t.Errorf("Released = %v, want %v", k.Released, want)
	}
	if k.Len() != 3 || k.Count != 3 {
		t.Errorf("Len() = %d, Count = %d, want 3 and 3", k.Len(), k.Count)
	}
	if len(k.Warnings) != 0 {
		t.Errorf("Warnings = %q, want none", k.Warnings)
	}

	log4shell := KEVEntry{
		CVEID:            "CVE-2021-44228",
		VendorProject:    "Apache",
		Product:          "Log4j2",
		Name:             "Apache Log4j2 Remote Code Execution Vulnerability",
		DateAdded:        time.Date(2021, 12, 10, 0, 0, 0, 0, time.UTC),
		DueDate:          time.Date(2021, 12, 24, 0, 0, 0, 0, time.UTC),
		Ransomware:       true,
		RequiredAction:   "For all affected software assets for which updates exist, the only acceptable remediation actions are: 1) Apply updates; OR 2) remove affected assets from agency networks.",
		ShortDescription: "Apache Log4j2 contains a vulnerability where JNDI features do not protect against attacker-controlled JNDI-related endpoints, allowing for remote code execution.",
		Notes:            "https://nvd.nist.gov/vuln/detail/CVE-2021-44228",
		CWEs:             []string{"CWE-20", "CWE-400", "CWE-502"},
	}
	tests := []struct {
		cve  string
		want KEVEntry
		ok   bool
	}{
		{"CVE-2021-44228", log4shell, true},
		{"cve-2021-44228", log4shell, true},
		{"  Cve-2021-44228\n", log4shell, true},
		{"CVE-2021-4422", KEVEntry{}, false},
		{"CVE-2025-48384", KEVEntry{CVEID: "CVE-2025-48384", VendorProject: "Git", Product: "Git",
			Name: "Git Link Following Vulnerability", DateAdded: time.Date(2025, 8, 25, 0, 0, 0, 0, time.UTC),
			DueDate: time.Date(2025, 9, 15, 0, 0, 0, 0, time.UTC), RequiredAction: "Apply mitigations per vendor instructions.",
			ShortDescription: "Git contains a link following vulnerability.", CWEs: []string{"CWE-59", "CWE-436"}}, true},
		{"CVE-2019-1010022", KEVEntry{CVEID: "CVE-2019-1010022", VendorProject: "Example", Product: "Seven-digit sequence number",
			Name: "Made-up entry to exercise long CVE numbers", DateAdded: time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC),
			DueDate: time.Date(2022, 1, 15, 0, 0, 0, 0, time.UTC), RequiredAction: "None.",
			ShortDescription: "Not a real KEV entry.", CWEs: []string{}}, true},
		{"", KEVEntry{}, false},
		{"GHSA-jfh8-c2jp-5v3q", KEVEntry{}, false},
	}
	for _, tt := range tests {
		got, ok := k.Lookup(tt.cve)
		if ok != tt.ok {
			t.Errorf("Lookup(%q) found = %v, want %v", tt.cve, ok, tt.ok)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Lookup(%q) mismatch (-want +got):\n%s", tt.cve, diff)
		}
	}
	if got := len(k.Entries()); got != 3 {
		t.Errorf("len(Entries()) = %d, want 3", got)
	}
	if got := k.Entries()[0].CVEID; got != "CVE-2021-44228" {
		t.Errorf("Entries()[0].CVEID = %q, want catalog order starting with CVE-2021-44228", got)
	}
}

func TestNilKEV(t *testing.T) {
	var k *KEV
	if _, ok := k.Lookup("CVE-2021-44228"); ok {
		t.Errorf("(*KEV)(nil).Lookup(%q) found = true, want false", "CVE-2021-44228")
	}
	if k.Len() != 0 || k.Entries() != nil {
		t.Errorf("(*KEV)(nil): Len() = %d, Entries() = %v, want 0 and nil", k.Len(), k.Entries())
	}
}

func TestReadKEVWarnings(t *testing.T) {
	tests := []struct {
		name, in string
		len      int
		warnings []string
	}{
		{
			name:     "count disagrees",
			in:       `{"count": 5, "vulnerabilities": [{"cveID": "CVE-2021-44228", "dateAdded": "2021-12-10", "dueDate": "2021-12-24"}]}`,
			len:      1,
			warnings: []string{"catalog says count 5 but lists 1 distinct CVEs"},
		},
		{
			name: "duplicate CVE",
			in: `{"count": 2, "vulnerabilities": [
				{"cveID": "CVE-2021-44228", "dateAdded": "2021-12-10", "knownRansomwareCampaignUse": "Known"},
				{"cveID": "cve-2021-44228", "dateAdded": "2022-01-01"}]}`,
			len: 1,
			warnings: []string{
				"CVE-2021-44228 is listed twice; kept the first entry",
				"catalog says count 2 but lists 1 distinct CVEs",
			},
		},
		{
			name: "no count, empty array, unknown ransomware word",
			in:   `{"vulnerabilities": [{"cveID": "CVE-2021-44228", "dateAdded": "2021-12-10", "knownRansomwareCampaignUse": "Suspected"}]}`,
			len:  1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ReadKEV(strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("ReadKEV(%q) error: %v", tt.in, err)
			}
			if k.Len() != tt.len {
				t.Errorf("ReadKEV(%q).Len() = %d, want %d", tt.in, k.Len(), tt.len)
			}
			if diff := cmp.Diff(tt.warnings, k.Warnings); diff != "" {
				t.Errorf("ReadKEV(%q).Warnings mismatch (-want +got):\n%s", tt.in, diff)
			}
			e, _ := k.Lookup("CVE-2021-44228")
			if wantRansom := strings.Contains(tt.in, `"Known"`); e.Ransomware != wantRansom {
				t.Errorf("ReadKEV(%q): Ransomware = %v, want %v", tt.in, e.Ransomware, wantRansom)
			}
		})
	}
}

func TestReadKEVErrors(t *testing.T) {
	tests := []struct {
		name, in string
		// want are substrings the message must contain.
		want []string
	}{
		{"empty", ``, []string{"byte offset 0", "unexpected end of input"}},
		{"not an object", `[1, 2]`, []string{"byte offset 0", "want an object"}},
		{"truncated", `{"vulnerabilities": [{"cveID": "CVE-2021-44228", "dateAdded": "2021-12-10"}, {"cveID": "CVE-20`, []string{"byte offset 94", "unexpected EOF"}},
		{"syntax", `{"vulnerabilities": [{"cveID": "CVE-2021-44228",, }]}`, []string{"byte offset 48", "invalid character ','"}},
		{"no vulnerabilities", `{"count": 0}`, []string{"no vulnerabilities array"}},
		{"vulnerabilities not array", `{"vulnerabilities": {}}`, []string{"byte offset 20", "want an array"}},
		{"entry not object", `{"vulnerabilities": ["CVE-2021-44228"]}`, []string{"byte offset 21", "want an object"}},
		{"bad CVE", `{"vulnerabilities": [{"cveID": "CVE-21-44228", "dateAdded": "2021-12-10"}]}`, []string{"byte offset 21", `entry 1: cveID "CVE-21-44228" is not a CVE ID`}},
		{"missing CVE", `{"vulnerabilities": [{"dateAdded": "2021-12-10"}]}`, []string{"byte offset 21", "is not a CVE ID"}},
		{"bad dateAdded", `{"vulnerabilities": [{"cveID": "CVE-2021-44228", "dateAdded": "12/10/2021"}]}`, []string{"byte offset 21", `CVE-2021-44228: dateAdded "12/10/2021"`}},
		{"missing dateAdded", `{"vulnerabilities": [{"cveID": "CVE-2021-44228"}]}`, []string{"dateAdded"}},
		{"bad dueDate", `{"vulnerabilities": [{"cveID": "CVE-2021-44228", "dateAdded": "2021-12-10", "dueDate": "soon"}]}`, []string{`dueDate "soon"`}},
		{"wrong type", `{"vulnerabilities": [{"cveID": 44228}]}`, []string{"byte offset 31", "cveID"}},
		{"bad count", `{"count": "many", "vulnerabilities": []}`, []string{"byte offset 10: count: ", "JSON string"}},
		{"bad dateReleased", `{"dateReleased": "yesterday", "vulnerabilities": []}`, []string{"byte offset 17", "dateReleased"}},
		{"vulnerabilities twice", `{"vulnerabilities": [], "vulnerabilities": []}`, []string{"vulnerabilities"}},
		{"trailing data", `{"vulnerabilities": []} {}`, []string{"byte offset 24", "unexpected data after"}},
		{"invalid UTF-8", "{\"title\": \"\xff\", \"vulnerabilities\": []}", []string{"UTF-8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ReadKEV(strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("ReadKEV(%q) = %d entries, want an error", tt.in, k.Len())
			}
			if code := sextant.ErrorCode(err); code != sextant.EINVALID {
				t.Errorf("ReadKEV(%q) error code = %q, want %q (error: %v)", tt.in, code, sextant.EINVALID, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ReadKEV(%q) error = %q, want it to contain %q", tt.in, err, w)
				}
			}
		})
	}
}

func TestLoadKEVFileErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.json")
	if _, err := LoadKEVFile(missing); sextant.ErrorCode(err) != sextant.ENOTFOUND {
		t.Errorf("LoadKEVFile(%q) error = %v, want code %q", missing, err, sextant.ENOTFOUND)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"vulnerabilities": [}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadKEVFile(bad)
	if sextant.ErrorCode(err) != sextant.EINVALID || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("LoadKEVFile(%q) error = %v, want EINVALID naming the file", bad, err)
	}
}
