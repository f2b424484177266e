package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

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
		{"Retry", testIngestRetry},
		{"ClaimWaitsForNextAttempt", testIngestNextAttempt},
		{"RequeueStale", testIngestRequeueStale},
		{"List", testIngestList},
		{"Counts", testIngestCounts},
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
		if got.Status != sextant.IngestProcessing || !got.StartedAt.Equal(at(10)) || got.Attempts != 1 {
			t.Errorf("ClaimIngest returned status %q started at %v, attempt %d; want %q at %v, attempt 1",
				got.Status, got.StartedAt, got.Attempts, sextant.IngestProcessing, at(10))
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

func testIngestRetry(t *testing.T, s sextant.IngestStore) {
	ctx := context.Background()
	createIngest(t, s, sextant.Ingest{ID: "ing_a", Source: "trivy", ReceivedAt: t0}, []byte("a"))
	wantCode(t, "RetryIngest of a queued ingest", s.RetryIngest(ctx, "ing_a", "timeout", at(30)), sextant.ECONFLICT)
	claim(t, s, 10)
	if err := s.RetryIngest(ctx, "ing_a", "enrich: EPSS feed timeout", at(30)); err != nil {
		t.Fatalf("RetryIngest(ing_a) error: %v", err)
	}
	want := getIngest(t, s, "ing_a")
	want.Status, want.Error, want.StartedAt, want.FinishedAt = sextant.IngestQueued, "enrich: EPSS feed timeout", time.Time{}, time.Time{}
	want.Attempts, want.NextAttemptAt = 1, at(30)
	if diff := cmp.Diff(want, getIngest(t, s, "ing_a")); diff != "" {
		t.Errorf("Ingest(ing_a) after RetryIngest (-want +got):\n%s", diff)
	}
	for _, want := range []int{2, 3} {
		got, ok := claim(t, s, 30)
		if !ok || got.ID != "ing_a" || got.Attempts != want {
			t.Fatalf("ClaimIngest at the retry time = %q (attempt %d), %v; want ing_a, attempt %d", got.ID, got.Attempts, ok, want)
		}
		// A zero time retries at once.
		if err := s.RetryIngest(ctx, "ing_a", "again", time.Time{}); err != nil {
			t.Fatalf("RetryIngest(ing_a) error: %v", err)
		}
		if got := getIngest(t, s, "ing_a"); !got.NextAttemptAt.IsZero() || got.Status != sextant.IngestQueued {
			t.Errorf("Ingest(ing_a) after RetryIngest at the zero time = %q, next attempt %v; want queued, zero", got.Status, got.NextAttemptAt)
		}
	}
	wantCode(t, "RetryIngest of an unknown ingest", s.RetryIngest(ctx, "ing_nope", "x", at(1)), sextant.ENOTFOUND)
	wantCode(t, "RetryIngest without an ID", s.RetryIngest(ctx, " ", "x", at(1)), sextant.EINVALID)
	claim(t, s, 40)
	if err := s.FinishIngest(ctx, "ing_a", 3, ""); err != nil {
		t.Fatalf("FinishIngest(ing_a) error: %v", err)
	}
	wantCode(t, "RetryIngest of a done ingest", s.RetryIngest(ctx, "ing_a", "x", at(50)), sextant.ECONFLICT)
	if got := getIngest(t, s, "ing_a"); got.Status != sextant.IngestDone || got.Attempts != 4 || got.Error != "" {
		t.Errorf("Ingest(ing_a) after finishing = %q, attempt %d, error %q; want done, attempt 4, no error", got.Status, got.Attempts, got.Error)
	}
}

func testIngestNextAttempt(t *testing.T, s sextant.IngestStore) {
	ctx := context.Background()
	createIngest(t, s, sextant.Ingest{ID: "ing_old", Source: "trivy", ReceivedAt: t0}, []byte("old"))
	claim(t, s, 1)
	if err := s.RetryIngest(ctx, "ing_old", "timeout", at(30)); err != nil {
		t.Fatal(err)
	}
	createIngest(t, s, sextant.Ingest{ID: "ing_new", Source: "trivy", ReceivedAt: at(2)}, []byte("new"))
	// The older ingest is not due: the newer one is served first.
	if got, ok := claim(t, s, 20); !ok || got.ID != "ing_new" {
		t.Fatalf("ClaimIngest before the retry time = %q, %v; want ing_new, true", got.ID, ok)
	}
	if got, ok := claim(t, s, 29); ok {
		t.Fatalf("ClaimIngest a minute before the retry time = %q, true; want nothing ready", got.ID)
	}
	if got, ok := claim(t, s, 30); !ok || got.ID != "ing_old" || got.Attempts != 2 || !got.StartedAt.Equal(at(30)) {
		t.Fatalf("ClaimIngest at the retry time = %+v, %v; want ing_old, attempt 2, started at %v", got, ok, at(30))
	}
}

func testIngestRequeueStale(t *testing.T, s sextant.IngestStore) {
	ctx := context.Background()
	for i, id := range []string{"ing_done", "ing_p1", "ing_p2", "ing_p3", "ing_queued"} {
		createIngest(t, s, sextant.Ingest{ID: id, Source: "trivy", ReceivedAt: at(i)}, []byte(id))
	}
	claim(t, s, 5)
	if err := s.FinishIngest(ctx, "ing_done", 1, ""); err != nil {
		t.Fatal(err)
	}
	claim(t, s, 10) // ing_p1
	claim(t, s, 20) // ing_p2
	claim(t, s, 30) // ing_p3

	n, err := s.RequeueStale(ctx, at(25))
	if err != nil || n != 2 {
		t.Fatalf("RequeueStale(lease cut-off) = %d, %v; want 2 (the ingests claimed before it), nil", n, err)
	}
	for _, id := range []string{"ing_p1", "ing_p2"} {
		got := getIngest(t, s, id)
		if got.Status != sextant.IngestQueued || !got.StartedAt.IsZero() || got.Attempts != 1 || got.Error == "" {
			t.Errorf("Ingest(%q) after RequeueStale = %q, started %v, attempt %d, error %q; want queued, not started, attempt 1 kept, an error saying why",
				id, got.Status, got.StartedAt, got.Attempts, got.Error)
		}
	}
	for id, want := range map[string]sextant.IngestStatus{"ing_p3": sextant.IngestProcessing, "ing_done": sextant.IngestDone, "ing_queued": sextant.IngestQueued} {
		if got := getIngest(t, s, id); got.Status != want || got.Error != "" {
			t.Errorf("Ingest(%q) after RequeueStale = %q, error %q; want %q, untouched", id, got.Status, got.Error, want)
		}
	}
	if got := getIngest(t, s, "ing_p3"); !got.StartedAt.Equal(at(30)) {
		t.Errorf("Ingest(ing_p3) started at %v after RequeueStale, want %v kept", got.StartedAt, at(30))
	}
	// Claimed at the cut-off is not before it.
	if n, err := s.RequeueStale(ctx, at(30)); err != nil || n != 0 {
		t.Errorf("RequeueStale(at the last claim) = %d, %v; want 0, nil", n, err)
	}
	if got, ok := claim(t, s, 40); !ok || got.ID != "ing_p1" || got.Attempts != 2 {
		t.Errorf("ClaimIngest after RequeueStale = %q (attempt %d), %v; want ing_p1, attempt 2", got.ID, got.Attempts, ok)
	}
}

func ingestIDs(ings []sextant.Ingest) []string {
	var out []string
	for _, ing := range ings {
		out = append(out, ing.ID)
	}
	return out
}

func testIngestList(t *testing.T, s sextant.IngestStore) {
	ctx := context.Background()
	// Two pairs received at the same time, so that the ID order is used.
	received := []struct {
		id      string
		minutes int
	}{{"ing_a", 0}, {"ing_b", 1}, {"ing_c", 1}, {"ing_d", 2}, {"ing_e", 3}, {"ing_f", 3}, {"ing_g", 4}}
	for _, r := range received {
		createIngest(t, s, sextant.Ingest{ID: r.id, Source: "trivy", ReceivedAt: at(r.minutes)}, []byte(r.id))
	}
	claim(t, s, 10) // ing_a
	claim(t, s, 10) // ing_b
	if err := s.FinishIngest(ctx, "ing_a", 2, ""); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		status sextant.IngestStatus
		want   []string
	}{
		{"", []string{"ing_g", "ing_f", "ing_e", "ing_d", "ing_c", "ing_b", "ing_a"}},
		{sextant.IngestQueued, []string{"ing_g", "ing_f", "ing_e", "ing_d", "ing_c"}},
		{sextant.IngestProcessing, []string{"ing_b"}},
		{sextant.IngestDone, []string{"ing_a"}},
		{sextant.IngestFailed, nil},
	} {
		for _, limit := range []int{1, 2, 3, 7, 100} {
			var got []string
			filter := sextant.IngestFilter{Status: tc.status, Limit: limit}
			for pages := 0; ; pages++ {
				page, err := s.Ingests(ctx, filter)
				if err != nil {
					t.Fatalf("Ingests(%+v) error: %v", filter, err)
				}
				if len(page.Items) > limit || (page.Next != "" && len(page.Items) != limit) {
					t.Errorf("Ingests(%+v) returned a page of %d items, next %q", filter, len(page.Items), page.Next)
				}
				got = append(got, ingestIDs(page.Items)...)
				if page.Next == "" || pages > len(received) {
					break
				}
				filter.Cursor = page.Next
			}
			if diff := cmp.Diff(tc.want, got, equateEmpty); diff != "" {
				t.Errorf("Ingests of status %q paged by %d, newest first (-want +got):\n%s", tc.status, limit, diff)
			}
		}
	}
	page, err := s.Ingests(ctx, sextant.IngestFilter{Status: sextant.IngestProcessing})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]sextant.Ingest{getIngest(t, s, "ing_b")}, page.Items); diff != "" {
		t.Errorf("listed ingest differs from Ingest(ing_b) (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		name   string
		filter sextant.IngestFilter
	}{
		{"a bad cursor", sextant.IngestFilter{Cursor: "not a cursor!"}},
		{"limit -1", sextant.IngestFilter{Limit: -1}},
		{`status "running"`, sextant.IngestFilter{Status: "running"}},
	} {
		_, err := s.Ingests(ctx, tc.filter)
		wantCode(t, "Ingests with "+tc.name, err, sextant.EINVALID)
	}
}

func testIngestCounts(t *testing.T, s sextant.IngestStore) {
	ctx := context.Background()
	counts := func() map[sextant.IngestStatus]int {
		t.Helper()
		got, err := s.IngestCounts(ctx)
		if err != nil {
			t.Fatalf("IngestCounts error: %v", err)
		}
		return got
	}
	zero := map[sextant.IngestStatus]int{sextant.IngestQueued: 0, sextant.IngestProcessing: 0, sextant.IngestDone: 0, sextant.IngestFailed: 0}
	if diff := cmp.Diff(zero, counts()); diff != "" {
		t.Errorf("IngestCounts of an empty store (-want +got):\n%s", diff)
	}
	for i := range 6 {
		createIngest(t, s, sextant.Ingest{ID: fmt.Sprintf("ing_%d", i), Source: "trivy", ReceivedAt: at(i)}, []byte{byte(i)})
	}
	for range 4 {
		claim(t, s, 10)
	}
	if err := s.FinishIngest(ctx, "ing_0", 1, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishIngest(ctx, "ing_1", 0, "boom"); err != nil {
		t.Fatal(err)
	}
	want := map[sextant.IngestStatus]int{sextant.IngestQueued: 2, sextant.IngestProcessing: 2, sextant.IngestDone: 1, sextant.IngestFailed: 1}
	if diff := cmp.Diff(want, counts()); diff != "" {
		t.Errorf("IngestCounts (-want +got):\n%s", diff)
	}
}

// RunIngestReplicas runs the part of the sextant.IngestStore suite that
// needs several stores on one database, as replicas (or processes) share
// it. open returns two or more stores on one new, empty database; it closes
// them in a t.Cleanup.
func RunIngestReplicas(t *testing.T, open func(t *testing.T) []sextant.IngestStore) {
	t.Run("ConcurrentClaims", func(t *testing.T) {
		stores := open(t)
		if len(stores) < 2 {
			t.Fatalf("open returned %d stores, want two or more", len(stores))
		}
		testIngestReplicaClaims(t, stores)
	})
}

// testIngestReplicaClaims has workers on every store claim and finish the
// queue together: each ingest that is due is claimed exactly once, and the
// ones put back for later are not claimed.
func testIngestReplicaClaims(t *testing.T, stores []sextant.IngestStore) {
	ctx := context.Background()
	const ingests, later, workersPerStore = 30, 5, 3
	for i := range ingests {
		createIngest(t, stores[i%len(stores)], sextant.Ingest{ID: fmt.Sprintf("ing_%02d", i), Source: "trivy", ReceivedAt: at(i)}, []byte{byte(i)})
	}
	for range later {
		ing, ok := claim(t, stores[0], 50)
		if !ok {
			t.Fatal("ClaimIngest found nothing to claim")
		}
		if err := stores[1].RetryIngest(ctx, ing.ID, "timeout", at(1000)); err != nil {
			t.Fatalf("RetryIngest(%q) error: %v", ing.ID, err)
		}
	}
	var (
		mu      sync.Mutex
		claimed = map[string]int{}
		wg      sync.WaitGroup
		errs    = make(chan error, len(stores)*workersPerStore)
	)
	for _, s := range stores {
		for range workersPerStore {
			wg.Go(func() {
				for {
					ing, ok, err := s.ClaimIngest(ctx, at(100))
					if err != nil {
						errs <- fmt.Errorf("ClaimIngest: %w", err)
						return
					}
					if !ok {
						return
					}
					mu.Lock()
					claimed[ing.ID]++
					mu.Unlock()
					if err := s.FinishIngest(ctx, ing.ID, 1, ""); err != nil {
						errs <- fmt.Errorf("FinishIngest(%q): %w", ing.ID, err)
						return
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
	want := map[string]int{}
	for i := later; i < ingests; i++ {
		want[fmt.Sprintf("ing_%02d", i)] = 1
	}
	if diff := cmp.Diff(want, claimed); diff != "" {
		t.Errorf("times each ingest was claimed by %d workers on %d stores (-want +got):\n%s", workersPerStore*len(stores), len(stores), diff)
	}
	counts, err := stores[len(stores)-1].IngestCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantCounts := map[sextant.IngestStatus]int{sextant.IngestQueued: later, sextant.IngestProcessing: 0, sextant.IngestDone: ingests - later, sextant.IngestFailed: 0}
	if diff := cmp.Diff(wantCounts, counts); diff != "" {
		t.Errorf("IngestCounts after the workers drained the queue (-want +got):\n%s", diff)
	}
	var wantQueued []string
	for i := range later {
		wantQueued = append(wantQueued, fmt.Sprintf("ing_%02d", i))
	}
	for i, s := range stores {
		page, err := s.Ingests(ctx, sextant.IngestFilter{Status: sextant.IngestQueued})
		if err != nil {
			t.Fatal(err)
		}
		got := ingestIDs(page.Items)
		slices.Sort(got)
		if diff := cmp.Diff(wantQueued, got); diff != "" {
			t.Errorf("store %d: queued ingests, put back for later (-want +got):\n%s", i, diff)
		}
	}
}
