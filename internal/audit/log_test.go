package audit_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/audit"
)

func TestAppend(t *testing.T) {
	m := &audit.Memory{}
	at := time.Date(2025, 8, 25, 9, 30, 0, 123456789, time.FixedZone("CEST", 2*3600))
	l := &audit.Log{Store: m, Now: func() time.Time { return at }}
	ctx := context.Background()

	first, err := l.Append(ctx, "alice", "finding.status", "f-1", map[string]string{"to": "resolved", "from": "open"})
	if err != nil {
		t.Fatal(err)
	}
	want := sextant.AuditEntry{
		Seq:      1,
		Time:     time.Date(2025, 8, 25, 7, 30, 0, 123456000, time.UTC), // UTC, microseconds
		Actor:    "alice",
		Action:   "finding.status",
		Subject:  "f-1",
		Details:  json.RawMessage(`{"from":"open","to":"resolved"}`),
		PrevHash: sextant.AuditGenesisHash,
	}
	want.Hash = want.ComputeHash()
	if diff := cmp.Diff(want, first); diff != "" {
		t.Errorf("Append #1 mismatch (-want +got):\n%s", diff)
	}

	second, err := l.Append(ctx, "bob", "token.create", "", json.RawMessage(` { "role" : "analyst" } `))
	if err != nil {
		t.Fatal(err)
	}
	if second.Seq != 2 || second.PrevHash != first.Hash || string(second.Details) != `{"role":"analyst"}` {
		t.Errorf("Append #2 = seq %d, prev %s, details %s; want seq 2, prev %s, canonical details", second.Seq, second.PrevHash, second.Details, first.Hash)
	}
	third, err := l.Append(ctx, "system", "intel.refresh", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if third.Details != nil || third.Hash != third.ComputeHash() {
		t.Errorf("Append(nil details) = details %s, hash %s; want no details and a matching hash", third.Details, third.Hash)
	}
	var stored []sextant.AuditEntry
	for e, err := range m.Entries(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, e)
	}
	if diff := cmp.Diff([]sextant.AuditEntry{first, second, third}, stored); diff != "" {
		t.Errorf("stored entries mismatch (-want +got):\n%s", diff)
	}
}

func TestAppendInvalid(t *testing.T) {
	tests := []struct {
		name                   string
		actor, action, subject string
		details                any
	}{
		{"no actor", "", "x.y", "s", nil},
		{"no action", "alice", "", "s", nil},
		{"actor not UTF-8", "al\xffice", "x.y", "s", nil},
		{"subject not UTF-8", "alice", "x.y", "\xfe", nil},
		{"details not marshallable", "alice", "x.y", "s", map[string]any{"c": make(chan int)}},
		{"raw details invalid", "alice", "x.y", "s", json.RawMessage(`{"a":}`)},
		{"raw details with duplicate keys", "alice", "x.y", "s", json.RawMessage(`{"a":1,"a":2}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &audit.Memory{}
			l := audit.NewLog(m)
			_, err := l.Append(context.Background(), tt.actor, tt.action, tt.subject, tt.details)
			if code := sextant.ErrorCode(err); code != sextant.EINVALID {
				t.Errorf("Append(%q, %q, %q, %v) error = %v (code %q), want %q", tt.actor, tt.action, tt.subject, tt.details, err, code, sextant.EINVALID)
			}
			if last, _ := m.Last(context.Background()); last != nil {
				t.Errorf("Append failed but stored entry %d", last.Seq)
			}
		})
	}
}

// racingStore lets another writer take the next Seq before each of the
// first `races` appends, as a second replica would.
type racingStore struct {
	*audit.Memory
	races int
	other *audit.Log
}

func (s *racingStore) Append(ctx context.Context, e sextant.AuditEntry) error {
	if s.races > 0 {
		s.races--
		if _, err := s.other.Append(ctx, "replica2", "intake", "", nil); err != nil {
			return err
		}
	}
	return s.Memory.Append(ctx, e)
}

func TestAppendConflictRetry(t *testing.T) {
	for _, tt := range []struct {
		races    int
		wantCode string
	}{{races: 2}, {races: 5, wantCode: sextant.ECONFLICT}} {
		m := &audit.Memory{}
		s := &racingStore{Memory: m, races: tt.races, other: audit.NewLog(m)}
		_, err := audit.NewLog(s).Append(context.Background(), "replica1", "intake", "", nil)
		if code := sextant.ErrorCode(err); code != tt.wantCode {
			t.Errorf("Append with %d lost races: error %v (code %q), want code %q", tt.races, err, code, tt.wantCode)
		}
		if res := verify(t, m); !res.OK() {
			t.Errorf("Verify after %d lost races = %v, want OK", tt.races, res.Problem)
		}
	}
}
