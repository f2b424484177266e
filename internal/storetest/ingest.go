package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/fixtures"
)

// RunIngests runs the conformance suite of sextant.IngestStore. open returns
// a new, empty store for one test; it closes the store in a t.Cleanup.
func RunIngests(t *testing.T, open func(t *testing.T) sextant.IngestStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s sextant.IngestStore)
	}{
		{"CreateGetPayload", testIngestRoundTrip},
		{"Invalid", testIngestInvalid},
		{"ClaimOldestFirst", testIngestClaimOrder},
		{"ConcurrentClaims", testIngestConcurrentClaims},
		{"Finish", testIngestFinish},
		{"Purge", testIngestPurge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

func createIngest(t *testing.T, s sextant.IngestStore, ing sextant.Ingest, payload []byte) sextant.Ingest {
	t.Helper()
	got, err := s.CreateIngest(context.Background(), ing, bytes.NewReader(payload))
	if err != nil {
		t.Fatalf("CreateIngest(%q) error: %v", ing.ID, err)
	}
	return got
}

func getIngest(t *testing.T, s sextant.IngestStore, id string) sextant.Ingest {
	t.Helper()
	got, err := s.Ingest(context.Background(), id)
	if err != nil {
		t.Fatalf("Ingest(%q) error: %v", id, err)
	}
	return got
}

func readPayload(t *testing.T, s sextant.IngestStore, id string) []byte {
	t.Helper()
	rc, err := s.IngestPayload(context.Background(), id)
	if err != nil {
		t.Fatalf("IngestPayload(%q) error: %v", id, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("IngestPayload(%q): read error: %v", id, err)
	}
	return b
}

func claim(t *testing.T, s sextant.IngestStore, minutes int) (sextant.Ingest, bool) {
	t.Helper()
	ing, ok, err := s.ClaimIngest(context.Background(), at(minutes))
	if err != nil {
		t.Fatalf("ClaimIngest error: %v", err)
	}
	return ing, ok
}

func testIngestRoundTrip(t *testing.T, s sextant.IngestStore) {
	ctx := context.Background()
	payload, err := os.ReadFile(fixtures.Dir(t, "trivy", "dd", "trivy-image-debian-10.json"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(payload)
	got := createIngest(t, s, sextant.Ingest{Source: "trivy", ContentType: "application/json", ReceivedAt: t0,
		Findings: 7, Error: "ignored", StartedAt: at(1)}, payload)
	if got.ID == "" {
		t.Fatalf("CreateIngest returned no ID")
	}
	want := sextant.Ingest{ID: got.ID, Source: "trivy", ContentType: "application/json", Size: int64(len(payload)),
		SHA256: hex.EncodeToString(sum[:]), ReceivedAt: t0, Status: sextant.IngestQueued}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CreateIngest returned (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, getIngest(t, s, got.ID)); diff != "" {
		t.Errorf("Ingest(%q) (-want +got):\n%s", got.ID, diff)
	}
	back := readPayload(t, s, got.ID)
	if !bytes.Equal(back, payload) {
		t.Errorf("IngestPayload(%q) = %d bytes, want the %d bytes stored, byte-identical", got.ID, len(back), len(payload))
	}
	if s := sha256.Sum256(back); hex.EncodeToString(s[:]) != got.SHA256 {
		t.Errorf("SHA-256 of IngestPayload(%q) = %x, want %s", got.ID, s, got.SHA256)
	}
	_, err = s.Ingest(ctx, "ing_nope")
	wantCode(t, `Ingest("ing_nope")`, err, sextant.ENOTFOUND)
	_, err = s.IngestPayload(ctx, "ing_nope")
	wantCode(t, `IngestPayload("ing_nope")`, err, sextant.ENOTFOUND)
}

func testIngestInvalid(t *testing.T, s sextant.IngestStore) {
	ctx := context.Background()
	_, err := s.CreateIngest(ctx, sextant.Ingest{Source: " "}, strings.NewReader("{}"))
	wantCode(t, "CreateIngest without a source", err, sextant.EINVALID)
	_, err = s.CreateIngest(ctx, sextant.Ingest{Source: "trivy"}, strings.NewReader(""))
	wantCode(t, "CreateIngest of an empty payload", err, sextant.EINVALID)
	createIngest(t, s, sextant.Ingest{ID: "ing_1", Source: "trivy"}, []byte("{}"))
	_, err = s.CreateIngest(ctx, sextant.Ingest{ID: "ing_1", Source: "trivy"}, strings.NewReader("[]"))
	wantCode(t, "CreateIngest of a stored ID", err, sextant.ECONFLICT)
	if got := readPayload(t, s, "ing_1"); string(got) != "{}" {
		t.Errorf("after a conflicting CreateIngest, IngestPayload(ing_1) = %q, want the first payload %q", got, "{}")
	}
}

func testIngestClaimOrder(t *testing.T, s sextant.IngestStore) {
	for _, tc := range []struct {
		id      string
		minutes int
	}{{"ing_c", 2}, {"ing_a", 0}, {"ing_b", 1}} {
		createIngest(t, s, sextant.Ingest{ID: tc.id, Source: "trivy", ReceivedAt: at(tc.minutes)}, []byte(tc.id))
	}
	for _, want := range []string{"ing_a", "ing_b", "ing_c"} {
		got, ok := claim(t, s, 10)
		if !ok || got.ID != want {
			t.Fatalf("ClaimIngest = %q, %v, want %q, true (oldest queued first)", got.ID, ok, want)
		}
		if got.Status != sextant.IngestProcessing || !got.StartedAt.Equal(at(10)) {
			t.Errorf("ClaimIngest returned status %q started at %v, want %q at %v", got.Status, got.StartedAt, sextant.IngestProcessing, at(10))
		}
		if stored := getIngest(t, s, want); stored.Status != sextant.IngestProcessing {
			t.Errorf("Ingest(%q).Status after claiming = %q, want %q", want, stored.Status, sextant.IngestProcessing)
		}
	}
	if got, ok := claim(t, s, 11); ok {
		t.Errorf("ClaimIngest with nothing queued = %q, true, want false", got.ID)
	}
}

func testIngestConcurrentClaims(t *testing.T, s sextant.IngestStore) {
	const ingests, workers = 20, 8
	for i := range ingests {
		createIngest(t, s, sextant.Ingest{ID: fmt.Sprintf("ing_%02d", i), Source: "trivy", ReceivedAt: at(i)}, []byte{byte(i)})
	}
	var (
		mu      sync.Mutex
		claimed = map[string]int{}
		wg      sync.WaitGroup
		errs    = make(chan error, workers)
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ing, ok, err := s.ClaimIngest(context.Background(), at(100))
				if err != nil {
					errs <- err
					return
				}
				if !ok {
					return
				}
				mu.Lock()
				claimed[ing.ID]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent ClaimIngest error: %v", err)
	}
	want := map[string]int{}
	for i := range ingests {
		want[fmt.Sprintf("ing_%02d", i)] = 1
	}
	if diff := cmp.Diff(want, claimed); diff != "" {
		t.Errorf("times each ingest was claimed by %d workers (-want +got):\n%s", workers, diff)
	}
}

func testIngestFinish(t *testing.T, s sextant.IngestStore) {
	ctx := context.Background()
	createIngest(t, s, sextant.Ingest{ID: "ing_ok", Source: "trivy", ReceivedAt: t0}, []byte("ok"))
	createIngest(t, s, sextant.Ingest{ID: "ing_bad", Source: "trivy", ReceivedAt: at(1)}, []byte("bad"))
	createIngest(t, s, sextant.Ingest{ID: "ing_queued", Source: "trivy", ReceivedAt: at(2)}, []byte("queued"))
	err := s.FinishIngest(ctx, "ing_ok", 1, "")
	wantCode(t, "FinishIngest of a queued ingest", err, sextant.ECONFLICT)
	claim(t, s, 5)
	claim(t, s, 5)
	if err := s.FinishIngest(ctx, "ing_ok", 12, ""); err != nil {
		t.Fatalf("FinishIngest(ing_ok) error: %v", err)
	}
	if err := s.FinishIngest(ctx, "ing_bad", 0, "parse trivy report: unexpected EOF"); err != nil {
		t.Fatalf("FinishIngest(ing_bad) error: %v", err)
	}
	for _, tc := range []struct {
		id       string
		status   sextant.IngestStatus
		findings int
		errText  string
	}{
		{"ing_ok", sextant.IngestDone, 12, ""},
		{"ing_bad", sextant.IngestFailed, 0, "parse trivy report: unexpected EOF"},
		{"ing_queued", sextant.IngestQueued, 0, ""},
	} {
		got := getIngest(t, s, tc.id)
		if got.Status != tc.status || got.Findings != tc.findings || got.Error != tc.errText {
			t.Errorf("Ingest(%q) = status %q, %d findings, error %q; want %q, %d, %q",
				tc.id, got.Status, got.Findings, got.Error, tc.status, tc.findings, tc.errText)
		}
		if finished := tc.status.Finished(); finished == got.FinishedAt.IsZero() || got.StartedAt.IsZero() == finished {
			t.Errorf("Ingest(%q) started at %v, finished at %v; want both set iff finished", tc.id, got.StartedAt, got.FinishedAt)
		}
	}
	wantCode(t, "FinishIngest of a done ingest", s.FinishIngest(ctx, "ing_ok", 3, ""), sextant.ECONFLICT)
	wantCode(t, "FinishIngest of an unknown ingest", s.FinishIngest(ctx, "ing_nope", 0, ""), sextant.ENOTFOUND)
	wantCode(t, "FinishIngest with negative findings", s.FinishIngest(ctx, "ing_queued", -1, ""), sextant.EINVALID)
}

func testIngestPurge(t *testing.T, s sextant.IngestStore) {
	ctx := context.Background()
	received := map[string]int{"ing_old_done": 0, "ing_old_failed": 1, "ing_old_processing": 2, "ing_new_done": 60}
	for _, id := range []string{"ing_old_done", "ing_old_failed", "ing_old_processing", "ing_new_done"} {
		createIngest(t, s, sextant.Ingest{ID: id, Source: "trivy", ReceivedAt: at(received[id])}, []byte(id))
	}
	for range received {
		claim(t, s, 70)
	}
	for id, errText := range map[string]string{"ing_old_done": "", "ing_old_failed": "boom", "ing_new_done": ""} {
		if err := s.FinishIngest(ctx, id, 0, errText); err != nil {
			t.Fatalf("FinishIngest(%q) error: %v", id, err)
		}
	}
	// Received before the cut-off, but still queued.
	createIngest(t, s, sextant.Ingest{ID: "ing_old_queued", Source: "trivy", ReceivedAt: at(3)}, []byte("ing_old_queued"))

	n, err := s.PurgePayloads(ctx, at(30))
	if err != nil {
		t.Fatalf("PurgePayloads error: %v", err)
	}
	if n != 2 {
		t.Errorf("PurgePayloads(cut-off) = %d, want 2 (the finished ingests received before it)", n)
	}
	for _, id := range []string{"ing_old_done", "ing_old_failed"} {
		_, err := s.IngestPayload(ctx, id)
		wantCode(t, fmt.Sprintf("IngestPayload(%q) after purge", id), err, sextant.ENOTFOUND)
		if msg := sextant.ErrorMessage(err); !strings.Contains(msg, "purged") {
			t.Errorf("IngestPayload(%q) error message = %q, want it to say the payload was purged", id, msg)
		}
		if got := getIngest(t, s, id); !got.Status.Finished() || got.Size != int64(len(id)) {
			t.Errorf("Ingest(%q) after purge = %+v, want the row kept as it was", id, got)
		}
	}
	for _, id := range []string{"ing_old_processing", "ing_old_queued", "ing_new_done"} {
		if got := readPayload(t, s, id); string(got) != id {
			t.Errorf("IngestPayload(%q) after purge = %q, want %q (kept)", id, got, id)
		}
	}
	if n, err := s.PurgePayloads(ctx, at(30)); err != nil || n != 0 {
		t.Errorf("second PurgePayloads = %d, %v, want 0, nil", n, err)
	}
}
