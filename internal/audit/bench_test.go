package audit_test

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/sextant-dev/sextant/internal/audit"
)

const benchEntries = 100_000

// benchDetails is the size of a typical status-change entry.
var benchDetails = map[string]any{
	"from": "open", "to": "resolved", "reason": "fixed by upgrading openssl to 3.0.15-1~deb12u1",
	"findings": []string{"CVE-2024-5535", "CVE-2024-9143"}, "score": 87.5,
}

// BenchmarkAppend measures one Log.Append to the memory store: marshal and
// canonicalise details, hash, store.
func BenchmarkAppend(b *testing.B) {
	l := audit.NewLog(&audit.Memory{})
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := l.Append(ctx, "alice", "finding.status", fmt.Sprintf("f-%d", i), benchDetails); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendVerify100k appends 100,000 entries to an empty memory
// store and verifies the chain.
func BenchmarkAppendVerify100k(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		m := &audit.Memory{}
		l := audit.NewLog(m)
		for i := range benchEntries {
			if _, err := l.Append(ctx, "alice", "finding.status", fmt.Sprintf("f-%d", i), benchDetails); err != nil {
				b.Fatal(err)
			}
		}
		res, err := audit.Verify(ctx, m)
		if err != nil || !res.OK() || res.Checked != benchEntries {
			b.Fatalf("Verify = %+v, %v", res, err)
		}
	}
}

// BenchmarkVerify100k verifies a 100,000-entry chain.
func BenchmarkVerify100k(b *testing.B) {
	m, _ := newLog(b, benchEntries)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		res, err := audit.Verify(ctx, m)
		if err != nil || !res.OK() {
			b.Fatalf("Verify = %+v, %v", res, err)
		}
	}
	b.ReportMetric(float64(benchEntries)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkExport100k exports a 100,000-entry log as JSON lines.
func BenchmarkExport100k(b *testing.B) {
	m, _ := newLog(b, benchEntries)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := audit.ExportJSONL(ctx, m, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchEntries)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
