package intel

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sextant-dev/sextant"
)

// FuzzReadKEV checks that ReadKEV never panics, that every failure is an
// EINVALID *sextant.Error, and that whatever it accepts can be looked up.
// Seeds beyond the f.Add ones are kept in testdata/fuzz/FuzzReadKEV.
func FuzzReadKEV(f *testing.F) {
	small, err := os.ReadFile(filepath.Join("testdata", "kev-small.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(small)
	f.Add([]byte(`{"vulnerabilities": []}`))
	f.Add([]byte(`{"count": 1, "vulnerabilities": [{"cveID": "CVE-2021-44228", "dateAdded": "2021-12-10", "dueDate": "2021-12-24", "knownRansomwareCampaignUse": "Known", "cwes": ["CWE-502"]}]}`))
	f.Add([]byte(`{"vulnerabilities": [{"cveID": "cve-2021-44228", "dateAdded": "2021-12-10"}, {"cveID": "CVE-2021-44228", "dateAdded": "2021-12-10"}]}`))
	f.Add([]byte(`{"title": "x", "catalogVersion": "1", "dateReleased": "2025-08-25T17:04:19.9796Z", "extra": {"a": [1, null, true]}, "vulnerabilities": [{}]}`))
	f.Add([]byte(`{"vulnerabilities": [`))
	f.Fuzz(func(t *testing.T, in []byte) {
		k, err := ReadKEV(bytes.NewReader(in))
		if err != nil {
			var se *sextant.Error
			if !errors.As(err, &se) || se.Code != sextant.EINVALID {
				t.Fatalf("ReadKEV(%q) error = %#v, want an EINVALID *sextant.Error", in, err)
			}
			return
		}
		if k.Len() != len(k.Entries()) {
			t.Fatalf("ReadKEV(%q): Len() = %d, len(Entries()) = %d", in, k.Len(), len(k.Entries()))
		}
		for _, e := range k.Entries() {
			if _, ok := cveKey(e.CVEID); !ok {
				t.Errorf("ReadKEV(%q) accepted CVE ID %q", in, e.CVEID)
			}
			got, ok := k.Lookup(e.CVEID)
			if !ok || got.CVEID != e.CVEID {
				t.Errorf("Lookup(%q) = %q, %v, want the entry", e.CVEID, got.CVEID, ok)
			}
			if e.DateAdded.IsZero() {
				t.Errorf("ReadKEV(%q) accepted %s without dateAdded", in, e.CVEID)
			}
		}
	})
}

// FuzzReadEPSS checks that ReadEPSS never panics, that every failure is an
// EINVALID *sextant.Error, and that what it accepts is sorted, in range and
// found again by Lookup. Seeds beyond the f.Add ones are kept in
// testdata/fuzz/FuzzReadEPSS.
func FuzzReadEPSS(f *testing.F) {
	small, err := os.ReadFile(filepath.Join("testdata", "epss-small.csv"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(small)
	f.Add(gzipBytes(f, small))
	f.Add([]byte("cve,epss,percentile\nCVE-2021-44228,0.94358,0.99957\n"))
	f.Add([]byte("#model_version:v1,score_date:2024-01-02\r\nCVE,Percentile,EPSS,date\r\nCVE-2021-44228,0.99957,0.94358,2026-03-02\r\n"))
	f.Add([]byte("cve,epss,percentile\nCVE-2021-9999,0.1,0.2\nCVE-2021-10000,0.3,0.4\nCVE-2021-9999,1e-05,1\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		e, err := ReadEPSS(bytes.NewReader(in))
		if err != nil {
			var se *sextant.Error
			if !errors.As(err, &se) || se.Code != sextant.EINVALID {
				t.Fatalf("ReadEPSS(%q) error = %#v, want an EINVALID *sextant.Error", in, err)
			}
			return
		}
		for i, r := range e.rows {
			if i > 0 && r.key <= e.rows[i-1].key {
				t.Fatalf("ReadEPSS(%q): rows not strictly sorted at %d", in, i)
			}
			if r.prob > epssScale || r.percentile > epssScale {
				t.Fatalf("ReadEPSS(%q): row %d out of range: %+v", in, i, r)
			}
			cve := cveString(r.key)
			got, ok := e.Lookup(cve)
			want := sextant.EPSS{Probability: float64(r.prob) / epssScale, Percentile: float64(r.percentile) / epssScale, Date: e.date}
			if !ok || got != want {
				t.Fatalf("Lookup(%q) = %+v, %v, want %+v, true", cve, got, ok, want)
			}
		}
	})
}
