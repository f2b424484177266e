package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/audit"
)

func TestExportJSONL(t *testing.T) {
	m := &audit.Memory{}
	l := &audit.Log{Store: m, Now: func() time.Time { return time.Date(2025, 8, 25, 9, 30, 0, 0, time.UTC) }}
	ctx := context.Background()
	if _, err := l.Append(ctx, "alice", "finding.status", "f-1", map[string]any{"to": "resolved", "note": "<b>&</b>"}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, "system", "intel.refresh", "", nil); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := audit.ExportJSONL(ctx, m, &buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("ExportJSONL wrote %d lines, want 2:\n%s", len(lines), buf.String())
	}
	var first sextant.AuditEntry
	for e := range m.Entries(ctx) {
		first = e
		break
	}
	wantFirst := `{"seq":1,"time":"2025-08-25T09:30:00.000000000Z","actor":"alice","action":"finding.status","subject":"f-1",` +
		`"details":{"note":"<b>&</b>","to":"resolved"},"prev_hash":"` + sextant.AuditGenesisHash + `","hash":"` + first.Hash + `"}`
	if lines[0] != wantFirst {
		t.Errorf("ExportJSONL line 1 = %s\nwant %s", lines[0], wantFirst)
	}
	if !strings.Contains(lines[1], `"details":null`) {
		t.Errorf("ExportJSONL line 2 = %s, want details null", lines[1])
	}

	// A SIEM (or an external verifier) can rebuild each entry from its line
	// and recompute the chain.
	var rebuilt []sextant.AuditEntry
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var e sextant.AuditEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		rebuilt = append(rebuilt, e)
	}
	var stored []sextant.AuditEntry
	for e := range m.Entries(ctx) {
		stored = append(stored, e)
	}
	if diff := cmp.Diff(stored, rebuilt, cmp.Comparer(func(a, b json.RawMessage) bool {
		ca, _ := sextant.CanonicalJSON(orNull(a))
		cb, _ := sextant.CanonicalJSON(orNull(b))
		return bytes.Equal(ca, cb)
	})); diff != "" {
		t.Errorf("entries rebuilt from export mismatch (-stored +rebuilt):\n%s", diff)
	}
	re := &audit.Memory{}
	for _, e := range rebuilt {
		if err := re.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if res := verify(t, re); !res.OK() {
		t.Errorf("Verify(entries rebuilt from export) = %v, want OK", res.Problem)
	}
}

func orNull(b json.RawMessage) json.RawMessage {
	if len(b) == 0 || string(b) == "null" {
		return json.RawMessage("null")
	}
	return b
}

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestExportJSONLErrors(t *testing.T) {
	m, _ := newLog(t, 3)
	m.Tamper(func(es []sextant.AuditEntry) []sextant.AuditEntry {
		es[1].Details = json.RawMessage(`{"broken"`)
		return es
	})
	var buf bytes.Buffer
	err := audit.ExportJSONL(context.Background(), m, &buf)
	if code := sextant.ErrorCode(err); code != sextant.EINVALID || !strings.Contains(err.Error(), "entry 2") {
		t.Errorf("ExportJSONL(invalid details in entry 2) error = %v, want EINVALID naming entry 2", err)
	}
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Errorf("ExportJSONL wrote %d lines before the bad entry, want 1", n)
	}

	good, _ := newLog(t, 3)
	if err := audit.ExportJSONL(context.Background(), good, errWriter{}); err == nil {
		t.Errorf("ExportJSONL(failing writer) error = nil, want one")
	}
	if err := audit.ExportJSONL(context.Background(), failingReader{good, 1}, &bytes.Buffer{}); sextant.ErrorCode(err) != sextant.EUNAVAILABLE {
		t.Errorf("ExportJSONL(failing store) error = %v, want EUNAVAILABLE", err)
	}
}
