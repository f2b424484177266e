package triage

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRecStoreSpills(t *testing.T) {
	s := newRecStore(recChunkLen) // one chunk in memory; the rest spill
	defer s.close()
	const n = recChunkLen*5 + 17
	for i := range n {
		s.append(rec{score: float32(i), location: uint32(i)})
	}
	if s.file == nil {
		t.Fatal("no spill file after 5 chunks with room for 1")
	}
	if s.resident > s.memChunks {
		t.Errorf("%d chunks resident, want at most %d", s.resident, s.memChunks)
	}
	// Sequential and random reads, writes, scans all see the same data.
	for _, i := range []uint32{0, 1, recChunkLen, n - 1, 3*recChunkLen + 5, 7, n / 2} {
		if got := s.get(i); got.location != i {
			t.Errorf("get(%d).location = %d", i, got.location)
		}
		if got := s.peek(i); got.location != i {
			t.Errorf("peek(%d).location = %d", i, got.location)
		}
	}
	for i := uint32(0); i < n; i += 97 {
		r := s.get(i)
		r.action = i + 1
		s.put(i, r)
	}
	seen := 0
	s.scan(false, func(i uint32, r *rec) {
		seen++
		want := uint32(0)
		if i%97 == 0 {
			want = i + 1
		}
		if r.action != want || r.location != i {
			t.Fatalf("scan: record %d = %+v, want action %d", i, *r, want)
		}
	})
	if seen != n {
		t.Errorf("scan saw %d records, want %d", seen, n)
	}
	// peek of a spilled record that was changed must see the change once
	// its chunk has been written back.
	for c := 0; c < recCacheChunks+1; c++ {
		s.get(uint32(c * recChunkLen))
	}
	if got := s.peek(97 * 3); got.action != 97*3+1 {
		t.Errorf("peek after eviction = %+v, want action %d", got, 97*3+1)
	}
	if err := s.failure(); err != nil {
		t.Fatal(err)
	}
}

// TestSpilledTriageMatches triages the examples with every record spilled
// and with none, and wants the same result.
func TestSpilledTriageMatches(t *testing.T) {
	run := func(mem int) ([]FindingView, []string) {
		e := New(Options{Parsers: testParsers, MemoryRecords: mem})
		readExamples(t, e)
		res := e.Finish()
		defer res.Close()
		var views []FindingView
		res.EachFinding(true, func(v *FindingView) error {
			views = append(views, *v)
			return nil
		})
		var acts []string
		for i := range res.Actions {
			a := res.Explain(i)
			acts = append(acts, a.ID+a.Title+a.FindingIDs[0])
		}
		if err := res.Err(); err != nil {
			t.Fatal(err)
		}
		return views, acts
	}
	v1, a1 := run(0)
	v2, a2 := run(1)
	if diff := cmp.Diff(v1, v2); diff != "" {
		t.Errorf("findings differ when spilled (-memory +spilled):\n%s", diff)
	}
	if diff := cmp.Diff(a1, a2); diff != "" {
		t.Errorf("actions differ when spilled:\n%s", diff)
	}
}
