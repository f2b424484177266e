package intel

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/sextant-dev/sextant/internal/fixtures"
)

// epssFeedRows is the size of the real daily EPSS file (about 300,000 CVEs
// in 2025).
const epssFeedRows = 300_000

var syntheticEPSS = sync.OnceValue(func() []byte {
	// CVE IDs spread over 1999-2025 with four- to seven-digit numbers, in
	// FIRST's text order, values with five decimals as published.
	r := rand.New(rand.NewPCG(1, 2))
	ids := make([]string, 0, epssFeedRows)
	seen := make(map[string]bool, epssFeedRows)
	for len(ids) < epssFeedRows {
		year := 1999 + r.IntN(27)
		var n int
		switch r.IntN(10) {
		case 0:
			n = 1_000_000 + r.IntN(100_000)
		case 1, 2:
			n = 10_000 + r.IntN(60_000)
		default:
			n = r.IntN(10_000)
		}
		id := fmt.Sprintf("CVE-%d-%04d", year, n)
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var b bytes.Buffer
	b.WriteString("#model_version:v2025.03.14,score_date:2025-03-14T00:00:00+0000\ncve,epss,percentile\n")
	for _, id := range ids {
		fmt.Fprintf(&b, "%s,%.5f,%.5f\n", id, r.Float64(), r.Float64())
	}
	return b.Bytes()
})

// retainedBytes returns the live heap that build's result keeps.
func retainedBytes(build func() any) (uint64, any) {
	var before, after runtime.MemStats
	// Twice, so that sync.Pool contents (kept for one cycle) are gone too.
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := build()
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return after.HeapAlloc - min(before.HeapAlloc, after.HeapAlloc), v
}

// TestEPSSFootprint keeps the in-memory size of a full-size feed honest: a
// row must stay near its 16 bytes (a map[string]sextant.EPSS would take
// well over 100).
func TestEPSSFootprint(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 300,000-row feed")
	}
	in := syntheticEPSS()
	n, v := retainedBytes(func() any {
		e, err := ReadEPSS(bytes.NewReader(in))
		if err != nil {
			t.Fatalf("ReadEPSS(synthetic) error: %v", err)
		}
		return e
	})
	e := v.(*EPSS)
	if e.Len() != epssFeedRows {
		t.Fatalf("ReadEPSS(synthetic).Len() = %d, want %d", e.Len(), epssFeedRows)
	}
	perRow := float64(n) / float64(e.Len())
	t.Logf("EPSS: %d rows retain %d bytes, %.1f bytes/row", e.Len(), n, perRow)
	if perRow > 20 {
		t.Errorf("ReadEPSS retains %.1f bytes per row, want at most 20", perRow)
	}
	runtime.KeepAlive(e)
}

// BenchmarkReadEPSS parses a synthetic full-size feed and reports the heap
// the result retains per row.
func BenchmarkReadEPSS(b *testing.B) {
	in := syntheticEPSS()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadEPSS(bytes.NewReader(in)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	n, v := retainedBytes(func() any { e, _ := ReadEPSS(bytes.NewReader(in)); return e })
	b.ReportMetric(float64(n)/float64(v.(*EPSS).Len()), "retained-B/row")
}

// BenchmarkReadEPSSGzip is BenchmarkReadEPSS on the compressed form, as
// downloaded.
func BenchmarkReadEPSSGzip(b *testing.B) {
	in := gzipBytes(b, syntheticEPSS())
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadEPSS(bytes.NewReader(in)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEPSSLookup(b *testing.B) {
	e, err := ReadEPSS(bytes.NewReader(syntheticEPSS()))
	if err != nil {
		b.Fatal(err)
	}
	ids := []string{"CVE-2021-44228", "cve-2019-1010022", "CVE-2024-0001", "CVE-2030-12345"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.Lookup(ids[i%len(ids)])
		i++
	}
}

func BenchmarkReadKEV(b *testing.B) {
	in, err := os.ReadFile(filepath.Join(fixtures.Dir(b, "intel", "cisa-kev"), "known_exploited_vulnerabilities.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadKEV(bytes.NewReader(in)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	n, v := retainedBytes(func() any { k, _ := ReadKEV(bytes.NewReader(in)); return k })
	runtime.KeepAlive(in) // else its collection hides what the catalog keeps
	b.ReportMetric(float64(n)/float64(v.(*KEV).Len()), "retained-B/entry")
}

func BenchmarkKEVLookup(b *testing.B) {
	k, err := LoadKEVFile(filepath.Join("testdata", "kev-small.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		k.Lookup("CVE-2021-44228")
	}
}
