package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/audit"
)

// clock returns a Now func that starts at a fixed time and steps by one
// second per call.
func clock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2025, 8, 25, 9, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Second)
		return t
	}
}

// newLog returns a Memory holding n entries appended through a Log.
func newLog(t testing.TB, n int) (*audit.Memory, *audit.Log) {
	t.Helper()
	m := &audit.Memory{}
	l := &audit.Log{Store: m, Now: clock()}
	for i := 1; i <= n; i++ {
		_, err := l.Append(context.Background(), fmt.Sprintf("user%d", i%3), "finding.status",
			fmt.Sprintf("f-%d", i), map[string]any{"to": "resolved", "n": i})
		if err != nil {
			t.Fatalf("Append #%d: %v", i, err)
		}
	}
	return m, l
}

func verify(t *testing.T, r audit.Reader, anchors ...audit.Anchor) audit.VerifyResult {
	t.Helper()
	res, err := audit.Verify(context.Background(), r, anchors...)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return res
}

// rehash recomputes the hash of entries[i] alone, as an attacker who knows
// the encoding but leaves the chain after it alone would.
func rehash(entries []sextant.AuditEntry, i int) {
	entries[i].Hash = entries[i].ComputeHash()
}

func TestVerifyTampering(t *testing.T) {
	tests := []struct {
		name   string
		tamper func([]sextant.AuditEntry) []sextant.AuditEntry
		seq    int64
		kind   audit.ProblemKind
	}{
		{"edit a detail", func(es []sextant.AuditEntry) []sextant.AuditEntry {
			es[4].Details = json.RawMessage(`{"n":5,"to":"false_positive"}`)
			return es
		}, 5, audit.Edited},
		{"edit the actor", func(es []sextant.AuditEntry) []sextant.AuditEntry {
			es[4].Actor = "mallory"
			return es
		}, 5, audit.Edited},
		{"edit the time", func(es []sextant.AuditEntry) []sextant.AuditEntry {
			es[4].Time = es[4].Time.Add(-time.Hour)
			return es
		}, 5, audit.Edited},
		{"re-encode details (not tampering)", func(es []sextant.AuditEntry) []sextant.AuditEntry {
			es[4].Details = json.RawMessage(`{ "to" : "resolved", "n" : 5.0 }`)
			return es
		}, 0, ""},
		{"details made invalid JSON", func(es []sextant.AuditEntry) []sextant.AuditEntry {
			es[4].Details = json.RawMessage(`{"to":`)
			return es
		}, 5, audit.Edited},
		{"edit the stored hash", func(es []sextant.AuditEntry) []sextant.AuditEntry {
			es[4].Hash = es[3].Hash
			return es
		}, 5, audit.Edited},
		{"edit and recompute that entry's hash", func(es []sextant.AuditEntry) []sextant.AuditEntry {
			es[4].Actor = "mallory"
			rehash(es, 4)
			return es
		}, 6, audit.BrokenLink},
		{"edit the last entry and recompute its hash", func(es []sextant.AuditEntry) []sextant.AuditEntry {
			// Only an anchor catches this; see TestVerifyAnchors.
			es[9].Actor = "mallory"
			rehash(es, 9)
			return es
		}, 0, ""},
		{"delete an entry", func(es []sextant.AuditEntry) []sextant.AuditEntry {
			return slices.Delete(es, 4, 5)
		}, 6, audit.Missing},
		{"delete three entries", func(es []sextant.AuditEntry) []sextant.AuditEntry {
			return slices.Delete(es, 4, 7)
		}, 8, audit.Missing},
		{"delete the first entry", func(es []sextant.AuditEntry) []sextant.AuditEntry {
			return es[1:]
		}, 2, audit.Missing},
		{"delete and renumber", func(es []sextant.AuditEntry) []sextant.AuditEntry {
			es = slices.Delete(es, 4, 5)
			for i := 4; i < len(es); i++ {
				es[i].Seq--
			}
			return es
		}, 5, audit.Edited},
		{"delete, renumber and recompute each hash", func(es []sextant.AuditEntry) []sextant.AuditEntry {
			es = slices.Delete(es, 4, 5)
			for i := 4; i < len(es); i++ {
				es[i].Seq--
				rehash(es, i)
			}
			return es
		}, 5, audit.BrokenLink},
		{"delete the first, renumber and recompute each hash", func(es []sextant.AuditEntry) []sextant.AuditEntry {
			es = es[1:]
			for i := range es {
				es[i].Seq--
				rehash(es, i)
			}
			return es
		}, 1, audit.BrokenLink},
		{"swap two rows' contents, keeping Seq", func(es []sextant.AuditEntry) []sextant.AuditEntry {
			es[4].Seq, es[5].Seq = es[5].Seq, es[4].Seq
			es[4], es[5] = es[5], es[4]
			return es
		}, 5, audit.Edited},
		{"swap two rows and recompute their hashes", func(es []sextant.AuditEntry) []sextant.AuditEntry {
			es[4].Seq, es[5].Seq = es[5].Seq, es[4].Seq
			es[4], es[5] = es[5], es[4]
			rehash(es, 4)
			rehash(es, 5)
			return es
		}, 5, audit.BrokenLink},
		{"store returns two entries out of order", func(es []sextant.AuditEntry) []sextant.AuditEntry {
			es[4], es[5] = es[5], es[4]
			return es
		}, 6, audit.Missing},
		{"duplicate an entry", func(es []sextant.AuditEntry) []sextant.AuditEntry {
			return slices.Insert(es, 5, es[4])
		}, 5, audit.OutOfOrder},
		{"insert a forged entry", func(es []sextant.AuditEntry) []sextant.AuditEntry {
			forged := es[4]
			forged.Seq, forged.Actor = 6, "mallory"
			forged.PrevHash = es[4].Hash
			forged.Hash = forged.ComputeHash()
			return slices.Insert(es, 5, forged)
		}, 6, audit.OutOfOrder},
		{"first entry not chained to genesis", func(es []sextant.AuditEntry) []sextant.AuditEntry {
			es[0].PrevHash = es[1].Hash
			rehash(es, 0)
			return es
		}, 1, audit.BrokenLink},
		{"first entry renumbered to 0", func(es []sextant.AuditEntry) []sextant.AuditEntry {
			es[0].Seq = 0
			return es
		}, 0, audit.OutOfOrder},
		{"truncate the tail (undetectable without an anchor)", func(es []sextant.AuditEntry) []sextant.AuditEntry {
			return es[:7]
		}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := newLog(t, 10)
			if res := verify(t, m); !res.OK() {
				t.Fatalf("Verify before tampering: %v", res.Problem)
			}
			m.Tamper(tt.tamper)
			res := verify(t, m)
			var got struct {
				Seq  int64
				Kind audit.ProblemKind
			}
			if res.Problem != nil {
				got.Seq, got.Kind = res.Problem.Seq, res.Problem.Kind
				t.Logf("%v", res.Problem)
				if res.Problem.Message == "" {
					t.Errorf("Verify: problem without a message")
				}
			}
			if got.Seq != tt.seq || got.Kind != tt.kind {
				t.Errorf("Verify after %s: problem at %d (%q), want at %d (%q)", tt.name, got.Seq, got.Kind, tt.seq, tt.kind)
			}
		})
	}
}

func TestVerifyIntact(t *testing.T) {
	m, _ := newLog(t, 25)
	res := verify(t, m)
	last, err := m.Last(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := audit.VerifyResult{Checked: 25, Head: audit.Anchor{Seq: 25, Hash: last.Hash}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("Verify(intact log) mismatch (-want +got):\n%s", diff)
	}

	empty := verify(t, &audit.Memory{})
	wantEmpty := audit.VerifyResult{Head: audit.Anchor{Seq: 0, Hash: sextant.AuditGenesisHash}}
	if diff := cmp.Diff(wantEmpty, empty); diff != "" {
		t.Errorf("Verify(empty log) mismatch (-want +got):\n%s", diff)
	}
}

// TestVerifyAnchors: what the chain cannot show alone — a truncated tail and
// a fully recomputed chain — shows against a head recorded earlier.
func TestVerifyAnchors(t *testing.T) {
	m, _ := newLog(t, 10)
	head := verify(t, m).Head
	mid := audit.Anchor{Seq: 4}
	for e := range m.Entries(context.Background()) {
		if e.Seq == 4 {
			mid.Hash = e.Hash
		}
	}
	if res := verify(t, m, head, mid); !res.OK() {
		t.Fatalf("Verify(intact, anchors) = %v, want OK", res.Problem)
	}

	truncated, _ := newLog(t, 10)
	truncated.Tamper(func(es []sextant.AuditEntry) []sextant.AuditEntry { return es[:7] })
	if res := verify(t, truncated); !res.OK() || res.Head.Seq != 7 {
		t.Fatalf("Verify(truncated, no anchor) = %+v, want OK with head 7", res)
	}
	res := verify(t, truncated, head)
	if res.Problem == nil || res.Problem.Kind != audit.Truncated || res.Problem.Seq != 10 {
		t.Errorf("Verify(truncated, anchor at 10) problem = %v, want truncated at 10", res.Problem)
	}

	// Rewrite entry 3 and recompute the whole chain from there: the chain
	// is valid again, the anchors are not.
	rechained, _ := newLog(t, 10)
	rechained.Tamper(func(es []sextant.AuditEntry) []sextant.AuditEntry {
		es[2].Actor = "mallory"
		for i := 2; i < len(es); i++ {
			es[i].PrevHash = es[i-1].Hash
			rehash(es, i)
		}
		return es
	})
	if res := verify(t, rechained); !res.OK() {
		t.Fatalf("Verify(rechained, no anchor) = %v, want OK: a recomputed chain is valid", res.Problem)
	}
	res = verify(t, rechained, head, mid)
	if res.Problem == nil || res.Problem.Kind != audit.AnchorMismatch || res.Problem.Seq != 4 {
		t.Errorf("Verify(rechained, anchors) problem = %v, want anchor_mismatch at 4", res.Problem)
	}

	for _, bad := range []audit.Anchor{{Seq: 0, Hash: head.Hash}, {Seq: 3, Hash: "abc"}, {Seq: 3, Hash: "ABCDEF" + head.Hash[6:]}} {
		if _, err := audit.Verify(context.Background(), m, bad); sextant.ErrorCode(err) != sextant.EINVALID {
			t.Errorf("Verify(anchor %+v) error = %v, want EINVALID", bad, err)
		}
	}
}

func TestVerifyTimeBackwards(t *testing.T) {
	times := []time.Time{
		time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC),
		time.Date(2025, 1, 1, 10, 0, 1, 0, time.UTC),
		time.Date(2025, 1, 1, 9, 59, 59, 0, time.UTC), // a replica's clock behind
		time.Date(2025, 1, 1, 10, 0, 2, 0, time.UTC),
	}
	m := &audit.Memory{}
	l := &audit.Log{Store: m, Now: func() time.Time { t := times[0]; times = times[1:]; return t }}
	for range 4 {
		if _, err := l.Append(context.Background(), "system", "intake", "", nil); err != nil {
			t.Fatal(err)
		}
	}
	res := verify(t, m)
	if !res.OK() {
		t.Fatalf("Verify = %v, want OK: time going backwards is a warning", res.Problem)
	}
	got := res.Warnings
	want := []audit.Problem{{Seq: 3, Kind: audit.TimeBackwards}}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(audit.Problem{}, "Message")); diff != "" || res.WarningCount != 1 {
		t.Errorf("Verify warnings (count %d) mismatch (-want +got):\n%s", res.WarningCount, diff)
	}
}

// failingReader yields n good entries and then an error.
type failingReader struct {
	audit.Reader
	n int
}

func (f failingReader) Entries(ctx context.Context) iter.Seq2[sextant.AuditEntry, error] {
	return func(yield func(sextant.AuditEntry, error) bool) {
		i := 0
		for e := range f.Reader.Entries(ctx) {
			if i == f.n {
				yield(sextant.AuditEntry{}, sextant.Errorf(sextant.EUNAVAILABLE, "database is gone"))
				return
			}
			if !yield(e, nil) {
				return
			}
			i++
		}
	}
}

func TestVerifyReadError(t *testing.T) {
	m, _ := newLog(t, 5)
	_, err := audit.Verify(context.Background(), failingReader{m, 3})
	if code := sextant.ErrorCode(err); code != sextant.EUNAVAILABLE {
		t.Errorf("Verify(failing store) error = %v (code %q), want code %q", err, code, sextant.EUNAVAILABLE)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := audit.Verify(ctx, m); err == nil {
		t.Errorf("Verify(cancelled context) error = nil, want one")
	}
}

func TestConcurrentAppend(t *testing.T) {
	m := &audit.Memory{}
	l := audit.NewLog(m)
	const goroutines, each = 8, 200
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each)
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				if _, err := l.Append(context.Background(), fmt.Sprintf("worker%d", g), "intake", fmt.Sprintf("%d-%d", g, i), map[string]int{"i": i}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Append: %v", err)
	}
	res := verify(t, m)
	if !res.OK() || res.Checked != goroutines*each || res.Head.Seq != goroutines*each {
		t.Errorf("Verify after concurrent appends = %+v, want OK with %d entries", res, goroutines*each)
	}
	subjects := map[string]bool{}
	for e := range m.Entries(context.Background()) {
		subjects[e.Subject] = true
	}
	if len(subjects) != goroutines*each {
		t.Errorf("distinct subjects = %d, want %d", len(subjects), goroutines*each)
	}
}
