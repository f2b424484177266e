package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/audit"
)

// AuditStore is a store of the audit trail: what audit.Log writes to and
// audit.Verify and audit.ExportJSONL read from.
type AuditStore interface {
	audit.Appender
	audit.Reader
}

// AuditDB is one empty database under RunAudit, with the ways into it that
// the tests need besides the store.
type AuditDB struct {
	// Store is a store on the database.
	Store AuditStore
	// Open opens another store on the same database, as a second replica
	// or process would; the store is closed in a t.Cleanup.
	Open func(t *testing.T) AuditStore
	// Exec runs SQL statements on the database directly, not through a
	// store, as someone with write access to the database would, and
	// returns the first error. The statements RunAudit passes are valid in
	// SQLite and PostgreSQL alike.
	Exec func(t *testing.T, statements ...string) error
	// Unguard are the statements that lift whatever refuses UPDATE and
	// DELETE on audit_log (triggers), as the database's owner can; nil if
	// nothing refuses them.
	Unguard []string
}

// RunAudit runs the conformance suite of audit stores: that entries
// round-trip exactly, that a taken Seq is an ECONFLICT even from another
// replica, that concurrent appends from two replicas give one gapless
// chain, and that audit.Verify finds edits, deletions and moves made in
// SQL, naming the first bad entry. open returns a new, empty database for
// one test; its stores are closed in a t.Cleanup.
func RunAudit(t *testing.T, open func(t *testing.T) AuditDB) {
	tests := []struct {
		name string
		fn   func(t *testing.T, db AuditDB)
	}{
		{"RoundTrip", testAuditRoundTrip},
		{"Conflict", testAuditConflict},
		{"ChainVerifies", testAuditChain},
		{"ConcurrentReplicas", testAuditConcurrent},
		{"StreamStops", testAuditStream},
		{"AppendOnly", testAuditAppendOnly},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
	t.Run("Tamper", func(t *testing.T) { testAuditTamper(t, open) })
}

// auditClock returns a Now func that starts at t0 and steps by one
// millisecond and one microsecond per call.
func auditClock() func() time.Time {
	var mu sync.Mutex
	now := t0.Add(123456 * time.Nanosecond)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Millisecond + time.Microsecond)
		return now
	}
}

// appendN appends n entries through a Log and returns them as appended.
func appendN(t *testing.T, s audit.Appender, n int) []sextant.AuditEntry {
	t.Helper()
	l := &audit.Log{Store: s, Now: auditClock()}
	out := make([]sextant.AuditEntry, 0, n)
	for i := 1; i <= n; i++ {
		e, err := l.Append(context.Background(), fmt.Sprintf("user%d", i%3), "finding.status", fmt.Sprintf("f-%d", i),
			map[string]any{"to": "resolved", "n": i})
		if err != nil {
			t.Fatalf("Append #%d error: %v", i, err)
		}
		out = append(out, e)
	}
	return out
}

func auditEntries(t *testing.T, r audit.Reader) []sextant.AuditEntry {
	t.Helper()
	var out []sextant.AuditEntry
	for e, err := range r.Entries(context.Background()) {
		if err != nil {
			t.Fatalf("Entries error: %v", err)
		}
		out = append(out, e)
	}
	return out
}

func verifyAudit(t *testing.T, r audit.Reader, anchors ...audit.Anchor) audit.VerifyResult {
	t.Helper()
	res, err := audit.Verify(context.Background(), r, anchors...)
	if err != nil {
		t.Fatalf("Verify error: %v", err)
	}
	return res
}

func testAuditRoundTrip(t *testing.T, db AuditDB) {
	ctx := context.Background()
	s := db.Store
	if last, err := s.Last(ctx); err != nil || last != nil {
		t.Fatalf("Last of an empty log = %+v, %v; want nil, nil", last, err)
	}
	if got := auditEntries(t, s); len(got) != 0 {
		t.Fatalf("Entries of an empty log = %+v, want none", got)
	}
	l := &audit.Log{Store: s, Now: auditClock()}
	appends := []struct {
		actor, action, subject string
		details                any
	}{
		{"alice", "finding.status", "f-1", map[string]any{"from": "open", "to": "resolved", "reason": "fixed in 1.2.3"}},
		{"system", "intake", "", nil},
		{"bob", "note", "f-2", json.RawMessage(`null`)},
		{"Zoë 😀 <admin>", "token.create", "tok_1", json.RawMessage(
			`{"note":"naïve – \u2028 <b>&amp;</b> \u001f 😀","n":[1.0,1e2,-0,0.1,1e21,12345678901234567890,-5.25e-7],` +
				`"empty":{},"list":[],"nested":{"b":[true,false,null],"a":"x\ty\n"}}`)},
		{"ci\tbot", "action.approve", "act_1 with spaces", json.RawMessage(`"just a string"`)},
		{"carol", "finding.status", "f-3", json.RawMessage(`42`)},
	}
	var want []sextant.AuditEntry
	for _, a := range appends {
		e, err := l.Append(ctx, a.actor, a.action, a.subject, a.details)
		if err != nil {
			t.Fatalf("Append(%q, %q) error: %v", a.actor, a.action, err)
		}
		want = append(want, e)
	}
	if diff := cmp.Diff(want, auditEntries(t, s)); diff != "" {
		t.Errorf("Entries mismatch (-appended +read):\n%s", diff)
	}
	last, err := s.Last(ctx)
	if err != nil || last == nil {
		t.Fatalf("Last = %v, %v; want the last entry", last, err)
	}
	if diff := cmp.Diff(want[len(want)-1], *last); diff != "" {
		t.Errorf("Last mismatch (-appended +read):\n%s", diff)
	}
	if res := verifyAudit(t, s); !res.OK() || res.Checked != int64(len(want)) {
		t.Errorf("Verify = %+v, want OK with %d entries", res, len(want))
	}
}

func testAuditConflict(t *testing.T, db AuditDB) {
	ctx := context.Background()
	s := db.Store
	first := appendN(t, s, 2)
	dup := first[1]
	dup.Actor = "mallory"
	dup.Hash = dup.ComputeHash()
	wantCode(t, "Append(taken seq)", s.Append(ctx, dup), sextant.ECONFLICT)
	wantCode(t, "Append(taken seq) from another replica", db.Open(t).Append(ctx, dup), sextant.ECONFLICT)
	if diff := cmp.Diff(first, auditEntries(t, s)); diff != "" {
		t.Errorf("Entries after refused appends mismatch (-want +got):\n%s", diff)
	}

	bad := first[1]
	bad.Seq = 0
	wantCode(t, "Append(seq 0)", s.Append(ctx, bad), sextant.EINVALID)
	bad = first[1]
	bad.Seq, bad.Time = 3, bad.Time.Add(time.Nanosecond)
	wantCode(t, "Append(time with nanoseconds)", s.Append(ctx, bad), sextant.EINVALID)
	if got := auditEntries(t, s); len(got) != 2 {
		t.Errorf("Entries after refused appends: %d entries, want 2", len(got))
	}
}

func testAuditChain(t *testing.T, db AuditDB) {
	want := appendN(t, db.Store, 50)
	res := verifyAudit(t, db.Store)
	head := audit.Anchor{Seq: 50, Hash: want[49].Hash}
	if !res.OK() || res.Checked != 50 || res.Head != head || res.WarningCount != 0 {
		t.Errorf("Verify = %+v, want OK with 50 entries and head %+v", res, head)
	}
	if res := verifyAudit(t, db.Store, head, audit.Anchor{Seq: 7, Hash: want[6].Hash}); !res.OK() {
		t.Errorf("Verify with anchors = %v, want OK", res.Problem)
	}
}

// testAuditConcurrent appends from two Logs on two stores of one database,
// two replicas, each with several goroutines. Log.Append gives up after a
// few conflicts in a row; the workers then try again, as a caller would.
func testAuditConcurrent(t *testing.T, db AuditDB) {
	const replicas, workers, each = 2, 4, 25
	stores := []AuditStore{db.Store, db.Open(t)}
	var (
		wg        sync.WaitGroup
		conflicts atomic.Int64
		errs      = make(chan error, replicas*workers*each)
	)
	for r := range replicas {
		l := audit.NewLog(stores[r])
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					subject := fmt.Sprintf("r%d-w%d-%d", r, w, i)
					for attempt := 1; ; attempt++ {
						_, err := l.Append(context.Background(), fmt.Sprintf("replica%d", r), "intake", subject, map[string]int{"i": i})
						if err == nil {
							break
						}
						if sextant.ErrorCode(err) != sextant.ECONFLICT || attempt == 20 {
							errs <- fmt.Errorf("Append(%s): %w", subject, err)
							break
						}
						conflicts.Add(1)
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d appends gave up after conflicts and were retried", conflicts.Load())
	const total = replicas * workers * each
	for i, s := range stores {
		res := verifyAudit(t, s)
		if !res.OK() || res.Checked != total || res.Head.Seq != total {
			t.Errorf("Verify through replica %d = %+v, want OK with %d entries", i, res, total)
		}
	}
	subjects := map[string]bool{}
	for _, e := range auditEntries(t, db.Store) {
		if subjects[e.Subject] {
			t.Errorf("subject %s appended twice", e.Subject)
		}
		subjects[e.Subject] = true
	}
	if len(subjects) != total {
		t.Errorf("%d distinct subjects, want %d", len(subjects), total)
	}
}

// testAuditStream stops reading early, more often than a store has
// connections, and reads with a cancelled context.
func testAuditStream(t *testing.T, db AuditDB) {
	appendN(t, db.Store, 20)
	for range 10 {
		n := 0
		for _, err := range db.Store.Entries(context.Background()) {
			if err != nil {
				t.Fatalf("Entries error: %v", err)
			}
			if n++; n == 3 {
				break
			}
		}
	}
	if got := auditEntries(t, db.Store); len(got) != 20 {
		t.Errorf("Entries after early stops: %d entries, want 20", len(got))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var err error
	for e, e2 := range db.Store.Entries(ctx) {
		if e2 != nil {
			if e.Seq != 0 {
				t.Errorf("Entries yielded entry %d beside its error, want a zero entry", e.Seq)
			}
			err = e2
		}
	}
	if err == nil {
		t.Errorf("Entries with a cancelled context yielded no error")
	}
}

// testAuditAppendOnly: the table refuses UPDATE and DELETE, when the store
// guards it.
func testAuditAppendOnly(t *testing.T, db AuditDB) {
	if db.Unguard == nil {
		t.Skip("the store does not guard audit_log")
	}
	appendN(t, db.Store, 3)
	for _, stmt := range []string{
		`UPDATE audit_log SET actor = 'mallory' WHERE seq = 2`,
		`DELETE FROM audit_log WHERE seq = 3`,
	} {
		if err := db.Exec(t, stmt); err == nil {
			t.Errorf("%s succeeded; want audit_log to refuse it", stmt)
		}
	}
	if res := verifyAudit(t, db.Store); !res.OK() || res.Checked != 3 {
		t.Errorf("Verify after refused changes = %+v, want OK with 3 entries", res)
	}
}

// testAuditTamper changes a log of ten entries in SQL, as someone with
// write access to the database would, and checks what Verify reports.
func testAuditTamper(t *testing.T, open func(t *testing.T) AuditDB) {
	// rechain rewrites entries from the one at index from onwards, keeping
	// the chain valid, and returns the statements that store that.
	rechain := func(es []sextant.AuditEntry, from int, change func(*sextant.AuditEntry)) []string {
		var stmts []string
		for i := from; i < len(es); i++ {
			if i == from {
				change(&es[i])
			}
			es[i].PrevHash = es[i-1].Hash
			es[i].Hash = es[i].ComputeHash()
			stmts = append(stmts, fmt.Sprintf(`UPDATE audit_log SET actor = '%s', prev_hash = '%s', hash = '%s' WHERE seq = %d`,
				es[i].Actor, es[i].PrevHash, es[i].Hash, es[i].Seq))
		}
		return stmts
	}
	tests := []struct {
		name    string
		tamper  func(es []sextant.AuditEntry) []string
		anchors func(es []sextant.AuditEntry) []audit.Anchor
		seq     int64
		kind    audit.ProblemKind
	}{
		{name: "edit the actor", seq: 5, kind: audit.Edited, tamper: func([]sextant.AuditEntry) []string {
			return []string{`UPDATE audit_log SET actor = 'mallory' WHERE seq = 5`}
		}},
		{name: "edit the details", seq: 5, kind: audit.Edited, tamper: func([]sextant.AuditEntry) []string {
			return []string{`UPDATE audit_log SET details = '{"n":5,"to":"false_positive"}' WHERE seq = 5`}
		}},
		{name: "remove the details", seq: 5, kind: audit.Edited, tamper: func([]sextant.AuditEntry) []string {
			return []string{`UPDATE audit_log SET details = NULL WHERE seq = 5`}
		}},
		{name: "re-encode the details (not tampering)", tamper: func([]sextant.AuditEntry) []string {
			return []string{`UPDATE audit_log SET details = '{ "to" : "resolved", "n" : 5.0 }' WHERE seq = 5`}
		}},
		{name: "edit the subject", seq: 8, kind: audit.Edited, tamper: func([]sextant.AuditEntry) []string {
			return []string{`UPDATE audit_log SET subject = 'f-80' WHERE seq = 8`}
		}},
		{name: "edit the stored hash", seq: 2, kind: audit.Edited, tamper: func(es []sextant.AuditEntry) []string {
			return []string{fmt.Sprintf(`UPDATE audit_log SET hash = '%s' WHERE seq = 2`, es[0].Hash)}
		}},
		{name: "edit and recompute that entry's hash", seq: 6, kind: audit.BrokenLink, tamper: func(es []sextant.AuditEntry) []string {
			e := es[4]
			e.Actor = "mallory"
			return []string{fmt.Sprintf(`UPDATE audit_log SET actor = 'mallory', hash = '%s' WHERE seq = 5`, e.ComputeHash())}
		}},
		{name: "delete a middle row", seq: 6, kind: audit.Missing, tamper: func([]sextant.AuditEntry) []string {
			return []string{`DELETE FROM audit_log WHERE seq = 5`}
		}},
		{name: "delete the first row", seq: 2, kind: audit.Missing, tamper: func([]sextant.AuditEntry) []string {
			return []string{`DELETE FROM audit_log WHERE seq = 1`}
		}},
		{name: "delete a row and renumber the rest", seq: 5, kind: audit.Edited, tamper: func([]sextant.AuditEntry) []string {
			stmts := []string{`DELETE FROM audit_log WHERE seq = 5`}
			for s := 6; s <= 10; s++ {
				stmts = append(stmts, fmt.Sprintf(`UPDATE audit_log SET seq = %d WHERE seq = %d`, s-1, s))
			}
			return stmts
		}},
		{name: "swap two rows' contents, keeping seq", seq: 5, kind: audit.Edited, tamper: func([]sextant.AuditEntry) []string {
			return []string{
				`UPDATE audit_log SET seq = 1000 WHERE seq = 5`,
				`UPDATE audit_log SET seq = 5 WHERE seq = 6`,
				`UPDATE audit_log SET seq = 6 WHERE seq = 1000`,
			}
		}},
		{name: "delete the last row (no anchor: undetectable)", tamper: func([]sextant.AuditEntry) []string {
			return []string{`DELETE FROM audit_log WHERE seq = 10`}
		}},
		{name: "delete the last row, with the head anchored", seq: 10, kind: audit.Truncated,
			tamper: func([]sextant.AuditEntry) []string {
				return []string{`DELETE FROM audit_log WHERE seq = 10`}
			},
			anchors: func(es []sextant.AuditEntry) []audit.Anchor {
				return []audit.Anchor{{Seq: 10, Hash: es[9].Hash}}
			}},
		{name: "rewrite from entry 3 and recompute the chain (no anchor: undetectable)",
			tamper: func(es []sextant.AuditEntry) []string {
				return rechain(es, 2, func(e *sextant.AuditEntry) { e.Actor = "mallory" })
			}},
		{name: "rewrite from entry 3 and recompute the chain, with anchors", seq: 4, kind: audit.AnchorMismatch,
			tamper: func(es []sextant.AuditEntry) []string {
				return rechain(es, 2, func(e *sextant.AuditEntry) { e.Actor = "mallory" })
			},
			anchors: func(es []sextant.AuditEntry) []audit.Anchor {
				return []audit.Anchor{{Seq: 4, Hash: es[3].Hash}, {Seq: 10, Hash: es[9].Hash}}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := open(t)
			appendN(t, db.Store, 10)
			es := auditEntries(t, db.Store)
			var anchors []audit.Anchor
			if tt.anchors != nil {
				anchors = tt.anchors(es)
			}
			if res := verifyAudit(t, db.Store, anchors...); !res.OK() {
				t.Fatalf("Verify before tampering: %v", res.Problem)
			}
			stmts := append(append([]string(nil), db.Unguard...), tt.tamper(es)...)
			if err := db.Exec(t, stmts...); err != nil {
				t.Fatalf("tamper: %v", err)
			}
			res := verifyAudit(t, db.Store, anchors...)
			var got struct {
				Seq  int64
				Kind audit.ProblemKind
			}
			if res.Problem != nil {
				got.Seq, got.Kind = res.Problem.Seq, res.Problem.Kind
				t.Logf("%v", res.Problem)
			}
			if got.Seq != tt.seq || got.Kind != tt.kind {
				t.Errorf("Verify after %s: problem at %d (%q), want at %d (%q)", tt.name, got.Seq, got.Kind, tt.seq, tt.kind)
			}
		})
	}
}
