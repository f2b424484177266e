package intel

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
)

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadEPSS(t *testing.T) {
	plain, err := os.ReadFile(filepath.Join("testdata", "epss-small.csv"))
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string][]byte{
		"plain": plain,
		"gzip":  gzipBytes(t, plain),
		"crlf":  bytes.ReplaceAll(plain, []byte("\n"), []byte("\r\n")),
	}
	const date = "2025-03-14"
	lookups := []struct {
		cve  string
		want sextant.EPSS
		ok   bool
	}{
		{"CVE-1999-0001", sextant.EPSS{Probability: 0.01141, Percentile: 0.77868, Date: date}, true},
		{"CVE-2019-1010022", sextant.EPSS{Probability: 0.00394, Percentile: 0.59977, Date: date}, true},
		{"cve-2021-44228", sextant.EPSS{Probability: 0.94358, Percentile: 0.99957, Date: date}, true},
		{" CVE-2021-9999 ", sextant.EPSS{Probability: 0.00043, Percentile: 0.12, Date: date}, true},
		{"CVE-2021-10000", sextant.EPSS{Probability: 1, Percentile: 1, Date: date}, true},
		{"CVE-2025-0001", sextant.EPSS{Date: date}, true},
		{"CVE-2025-00001", sextant.EPSS{}, false},
		{"CVE-2021-4422", sextant.EPSS{}, false},
		{"CVE-2030-0001", sextant.EPSS{}, false},
		{"GHSA-jfh8-c2jp-5v3q", sextant.EPSS{}, false},
		{"", sextant.EPSS{}, false},
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			e, err := ReadEPSS(bytes.NewReader(in))
			if err != nil {
				t.Fatalf("ReadEPSS(%s) error: %v", name, err)
			}
			if e.ModelVersion != "v2025.03.14" {
				t.Errorf("ModelVersion = %q, want %q", e.ModelVersion, "v2025.03.14")
			}
			if want := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC); !e.ScoreDate.Equal(want) {
				t.Errorf("ScoreDate = %v, want %v", e.ScoreDate, want)
			}
			if e.Len() != 6 {
				t.Errorf("Len() = %d, want 6", e.Len())
			}
			if len(e.Warnings) != 0 {
				t.Errorf("Warnings = %q, want none", e.Warnings)
			}
			for _, tt := range lookups {
				got, ok := e.Lookup(tt.cve)
				if ok != tt.ok || got != tt.want {
					t.Errorf("Lookup(%q) = %+v, %v, want %+v, %v", tt.cve, got, ok, tt.want, tt.ok)
				}
			}
		})
	}
}

func TestReadEPSSVariants(t *testing.T) {
	tests := []struct {
		name, in     string
		version      string
		date         string
		warnings     []string
		cve          string
		want         sextant.EPSS
		wantNotFound string
	}{
		{
			name:     "no model line",
			in:       "cve,epss,percentile\nCVE-2021-44228,0.94358,0.99957\n",
			warnings: []string{"no #model_version line: model version and score date unknown"},
			cve:      "CVE-2021-44228", want: sextant.EPSS{Probability: 0.94358, Percentile: 0.99957},
		},
		{
			name: "extra and reordered columns, BOM, blank lines, no final newline",
			in:   "\ufeff#model_version:v2023.03.01,score_date:2023-03-07T00:00:00+0000\n\nCVE,Percentile,EPSS,date\n\nCVE-2021-44228,0.99957,0.94358,2026-03-02",
			cve:  "CVE-2021-44228", version: "v2023.03.01", date: "2023-03-07",
			want: sextant.EPSS{Probability: 0.94358, Percentile: 0.99957, Date: "2023-03-07"},
		},
		{
			name: "RFC 3339 date, unknown keys, scientific notation",
			in:   "#score_date:2024-01-02T00:00:00Z,model_version:v1,extra:x\ncve,epss,percentile\nCVE-2021-44228,1e-05,0.5\n",
			cve:  "CVE-2021-44228", version: "v1", date: "2024-01-02",
			want: sextant.EPSS{Probability: 0.00001, Percentile: 0.5, Date: "2024-01-02"},
		},
		{
			name:     "model line without version",
			in:       "#score_date:2024-01-02\ncve,epss,percentile\nCVE-2021-44228,0.1,0.5\nCVE-2020-0001,0.2,0.6\n",
			date:     "2024-01-02",
			warnings: []string{"header line has no model_version"},
			cve:      "CVE-2020-0001", want: sextant.EPSS{Probability: 0.2, Percentile: 0.6, Date: "2024-01-02"},
			wantNotFound: "CVE-2020-0002",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ReadEPSS(strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("ReadEPSS(%q) error: %v", tt.in, err)
			}
			if e.ModelVersion != tt.version {
				t.Errorf("ReadEPSS(%q).ModelVersion = %q, want %q", tt.in, e.ModelVersion, tt.version)
			}
			if got := e.date; got != tt.date {
				t.Errorf("ReadEPSS(%q) score date = %q, want %q", tt.in, got, tt.date)
			}
			if diff := cmp.Diff(tt.warnings, e.Warnings); diff != "" {
				t.Errorf("ReadEPSS(%q).Warnings mismatch (-want +got):\n%s", tt.in, diff)
			}
			if got, ok := e.Lookup(tt.cve); !ok || got != tt.want {
				t.Errorf("Lookup(%q) = %+v, %v, want %+v, true", tt.cve, got, ok, tt.want)
			}
			if tt.wantNotFound != "" {
				if got, ok := e.Lookup(tt.wantNotFound); ok {
					t.Errorf("Lookup(%q) = %+v, true, want not found", tt.wantNotFound, got)
				}
			}
		})
	}
}

func TestReadEPSSErrors(t *testing.T) {
	const head = "#model_version:v2025.03.14,score_date:2025-03-14T00:00:00+0000\ncve,epss,percentile\n"
	corrupt := gzipBytes(t, []byte(head+"CVE-2021-44228,0.9,0.9\n"))
	corrupt[len(corrupt)-6] ^= 0xff // break the CRC
	tests := []struct {
		name, in string
		want     string
	}{
		{"empty", "", "no cve,epss,percentile header"},
		{"model line only", "#model_version:v1\n", "no cve,epss,percentile header"},
		{"no column header", "#model_version:v1\nCVE-2021-44228,0.9,0.9\n", `line 2: want a header naming the columns cve,epss,percentile, got "CVE-2021-44228,0.9,0.9"`},
		{"bad score date", "#model_version:v1,score_date:someday\ncve,epss,percentile\n", `line 1: score_date "someday" is not a date`},
		{"bad CVE", head + "CVE-2021-44228,0.9,0.9\nCVE-21-1,0.1,0.1\n", `line 4: "CVE-21-1" is not a CVE ID`},
		{"leading zero", head + "CVE-2021-044228,0.9,0.9\n", `line 3: "CVE-2021-044228" is not a CVE ID`},
		{"bad number", head + "CVE-2021-44228,abc,0.9\n", `line 3: epss: "abc" is not a number`},
		{"out of range", head + "CVE-2021-44228,0.9,1.5\n", `line 3: percentile: "1.5" is outside [0, 1]`},
		{"negative", head + "CVE-2021-44228,-0.1,0.5\n", `line 3: epss: "-0.1" is outside [0, 1]`},
		{"NaN", head + "CVE-2021-44228,NaN,0.5\n", `line 3: epss: "NaN" is outside [0, 1]`},
		{"short row", head + "CVE-2021-44228,0.9\n", "line 3: 2 fields, want at least 3"},
		{"duplicate in order", head + "CVE-2021-44228,0.9,0.9\ncve-2021-44228,0.8,0.8\n", "line 4: CVE-2021-44228 scored twice"},
		{"duplicate out of order", head + "CVE-2021-44228,0.9,0.9\nCVE-2020-0001,0.1,0.1\nCVE-2021-44228,0.8,0.8\n", "CVE-2021-44228 scored twice"},
		{"comment after header", head + "#note\n", "line 3: 1 fields, want at least 3"},
		{"quoted", head + "\"CVE-2021-44228\",0.9,0.9\n", `line 3: "\"CVE-2021-44228\"" is not a CVE ID`},
		{"long line", head + strings.Repeat("x", 70<<10) + "\n", "line 3: line longer than 65536 bytes"},
		{"truncated gzip", string(gzipBytes(t, []byte(head+"CVE-2021-44228,0.9,0.9\n"))[:30]), "gzip"},
		{"corrupt gzip", string(corrupt), "gzip"},
		{"bad gzip header", "\x1f\x8b\x00\x00", "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ReadEPSS(strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("ReadEPSS(%q) = %d rows, want an error", tt.in, e.Len())
			}
			if code := sextant.ErrorCode(err); code != sextant.EINVALID {
				t.Errorf("ReadEPSS(%q) error code = %q, want %q (error: %v)", tt.in, code, sextant.EINVALID, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadEPSS(%q) error = %q, want it to contain %q", truncate([]byte(tt.in)), err, tt.want)
			}
		})
	}
}

func TestNilEPSS(t *testing.T) {
	var e *EPSS
	if got, ok := e.Lookup("CVE-2021-44228"); ok {
		t.Errorf("(*EPSS)(nil).Lookup(%q) = %+v, true, want not found", "CVE-2021-44228", got)
	}
	if e.Len() != 0 {
		t.Errorf("(*EPSS)(nil).Len() = %d, want 0", e.Len())
	}
}

func TestEPSSLookupAllocs(t *testing.T) {
	e, err := LoadEPSSFile(filepath.Join("testdata", "epss-small.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, cve := range []string{"CVE-2021-44228", "cve-2021-44228", "CVE-2030-0001"} {
		if n := testing.AllocsPerRun(100, func() { e.Lookup(cve) }); n != 0 {
			t.Errorf("Lookup(%q) allocates %v times per call, want 0", cve, n)
		}
	}
}

func TestLoadEPSSFileErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.csv")
	if _, err := LoadEPSSFile(missing); sextant.ErrorCode(err) != sextant.ENOTFOUND {
		t.Errorf("LoadEPSSFile(%q) error = %v, want code %q", missing, err, sextant.ENOTFOUND)
	}
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("cve,epss,percentile\nCVE-2021-44228,x,y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadEPSSFile(bad)
	if sextant.ErrorCode(err) != sextant.EINVALID || !strings.Contains(err.Error(), "bad.csv: read EPSS scores: line 2") {
		t.Errorf("LoadEPSSFile(%q) error = %v, want EINVALID naming the file and line 2", bad, err)
	}
}

func TestCVEKey(t *testing.T) {
	tests := []struct {
		in   string
		want string // canonical form, "" when invalid
	}{
		{"CVE-2021-44228", "CVE-2021-44228"},
		{"cve-2021-44228", "CVE-2021-44228"},
		{"CVE-1999-0001", "CVE-1999-0001"},
		{"CVE-2019-1010022", "CVE-2019-1010022"},
		{"CVE-2024-999999999999", "CVE-2024-999999999999"},
		{"CVE-2024-0000", "CVE-2024-0000"},
		{"CVE-2024-1234567890123", ""}, // 13 digits
		{"CVE-2024-01234", ""},
		{"CVE-2024-123", ""},
		{"CVE-202a-1234", ""},
		{"CVE_2024-1234", ""},
		{"CVE-2024-12x4", ""},
		{"XVE-2024-1234", ""},
		{"", ""},
	}
	for _, tt := range tests {
		key, ok := cveKey(tt.in)
		got := ""
		if ok {
			got = cveString(key)
		}
		if got != tt.want {
			t.Errorf("cveString(cveKey(%q)) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
