package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/audit"
	"github.com/sextant-dev/sextant/internal/fixtures"
	"github.com/sextant-dev/sextant/internal/intake"
	"github.com/sextant-dev/sextant/internal/risk"
	"github.com/sextant-dev/sextant/internal/service"
	"github.com/sextant-dev/sextant/internal/sqlite"
)

func openStore(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "sextant.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newService(t *testing.T, store service.Store, trail audit.Appender) *service.Service {
	t.Helper()
	s := service.New(store, audit.NewLog(trail), intake.Options{})
	s.RetryBackoff = time.Millisecond
	s.PollInterval = 10 * time.Millisecond
	return s
}

// processAll runs the workers until no ingest is queued or processing.
func processAll(t *testing.T, s *service.Service, store sextant.IngestStore) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.RunWorkers(ctx, 2)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		counts, err := store.IngestCounts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if counts[sextant.IngestQueued] == 0 && counts[sextant.IngestProcessing] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ingests still pending after a minute: %v", counts)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	wg.Wait()
}

// reduced returns the Trivy report at path without every third
// vulnerability of each result, and the IDs of the findings dropped.
func reduced(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	results, _ := doc["Results"].([]any)
	for _, r := range results {
		m := r.(map[string]any)
		vs, _ := m["Vulnerabilities"].([]any)
		var keep []any
		for i, v := range vs {
			if i%3 != 1 {
				keep = append(keep, v)
			}
		}
		m["Vulnerabilities"] = keep
	}
	// A later scan: the store orders scans by their time.
	doc["CreatedAt"] = "2030-01-01T00:00:00Z"
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func findingIDs(t *testing.T, body []byte) map[string]bool {
	t.Helper()
	rep, err := intake.Read("r", bytes.NewReader(body), "x", intake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, s := range rep.Scans {
		for _, f := range s.Findings {
			ids[f.ID] = true
		}
	}
	return ids
}

func openFindings(t *testing.T, store sextant.Store) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	f := sextant.FindingFilter{Status: sextant.StatusOpen, Limit: sextant.MaxPageSize}
	for {
		page, err := store.Findings(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Items {
			ids[r.Finding.ID] = true
		}
		if page.Next == "" {
			return ids
		}
		f.Cursor = page.Next
	}
}

func openActions(t *testing.T, store sextant.ActionStore) map[string]sextant.ActionRecord {
	t.Helper()
	out := map[string]sextant.ActionRecord{}
	f := sextant.ActionFilter{Status: sextant.ActionOpen, Limit: sextant.MaxPageSize}
	for {
		page, err := store.Actions(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Items {
			out[r.Action.ID] = r
		}
		if page.Next == "" {
			return out
		}
		f.Cursor = page.Next
	}
}

// TestRescanResolves is the lifecycle through the service on a real report:
// scan A, then scan B of the same image lacking some CVEs, resolves exactly
// those, and their actions follow; a replay changes nothing.
func TestRescanResolves(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	s := newService(t, db, db)
	path := fixtures.Dir(t, "trivy", "dd", "trivy-image-debian-10.json")
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	less := reduced(t, path)

	recA, err := s.Submit(ctx, service.Submission{Source: "api", Actor: "test", Body: full})
	if err != nil {
		t.Fatal(err)
	}
	if recA.Findings == 0 || recA.IngestID == "" || recA.Status != "queued" {
		t.Fatalf("Submit(full) = %+v, want a queued ingest with findings", recA)
	}
	processAll(t, s, db)
	idsA := findingIDs(t, full)
	if got := openFindings(t, db); !mapsEqual(got, idsA) {
		t.Fatalf("after scan A: %d open findings, want the report's %d", len(got), len(idsA))
	}
	actionsA := openActions(t, db)
	if len(actionsA) == 0 {
		t.Fatal("after scan A: no open actions")
	}

	if _, err := s.Submit(ctx, service.Submission{Source: "api", Actor: "test", Body: less}); err != nil {
		t.Fatal(err)
	}
	processAll(t, s, db)
	idsB := findingIDs(t, less)
	if got := openFindings(t, db); !mapsEqual(got, idsB) {
		t.Fatalf("after scan B: %d open findings, want the reduced report's %d", len(got), len(idsB))
	}
	var gone []string
	for id := range idsA {
		if !idsB[id] {
			gone = append(gone, id)
		}
	}
	if len(gone) == 0 {
		t.Fatal("the reduced report lacks nothing; the test proves nothing")
	}
	for _, id := range gone {
		rec, err := db.Finding(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Status != sextant.StatusResolved {
			t.Errorf("finding %s missing from scan B is %s, want resolved", id, rec.Status)
		}
	}
	// Actions keep their IDs: every action open after B was open after A.
	actionsB := openActions(t, db)
	for id := range actionsB {
		if _, ok := actionsA[id]; !ok {
			t.Errorf("action %s is new after a rescan that only removed findings", id)
		}
	}
	for id, a := range actionsB {
		for _, fid := range a.Action.FindingIDs {
			if !idsB[fid] {
				t.Errorf("open action %s still lists resolved finding %s", id, fid)
			}
		}
	}

	// Replaying both payloads records nothing new and changes no status.
	before := openFindings(t, db)
	n, err := s.Replay(ctx, time.Time{}, "test", func(ing sextant.Ingest, o service.Outcome, err error) {
		if err != nil {
			t.Errorf("replay %s: %v", ing.ID, err)
		}
		if o.Scans != 0 || o.Skipped == 0 {
			t.Errorf("replay %s recorded %d scans (skipped %d), want all skipped", ing.ID, o.Scans, o.Skipped)
		}
	})
	if err != nil || n != 2 {
		t.Fatalf("Replay = %d, %v; want 2 payloads", n, err)
	}
	if after := openFindings(t, db); !mapsEqual(before, after) {
		t.Errorf("replay changed the open findings: %d before, %d after", len(before), len(after))
	}
}

func mapsEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// A payload that does not parse is refused with a message, stores nothing
// and leaves an audit entry.
func TestSubmitRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	s := newService(t, db, db)
	_, err := s.Submit(ctx, service.Submission{Source: "api", Actor: "token:ci", Body: []byte(`{"SchemaVersion": 2, "Results": [`)})
	if sextant.ErrorCode(err) != sextant.EINVALID {
		t.Fatalf("Submit(truncated) error = %v, want EINVALID", err)
	}
	counts, err := db.IngestCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for st, n := range counts {
		if n != 0 {
			t.Errorf("after a refused payload, %d ingests are %s", n, st)
		}
	}
	var actions []string
	for e, err := range db.Entries(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		actions = append(actions, e.Actor+" "+e.Action)
	}
	if !slices.Equal(actions, []string{"token:ci ingest.refuse"}) {
		t.Errorf("audit trail = %q, want one refusal by token:ci", actions)
	}
}

// flaky fails RecordScan with EUNAVAILABLE for its first failures calls.
type flaky struct {
	*sqlite.DB
	mu       sync.Mutex
	failures int
}

func (f *flaky) RecordScan(ctx context.Context, scan sextant.ScanRecord, fs []*sextant.Finding) (sextant.ScanResult, error) {
	f.mu.Lock()
	fail := f.failures > 0
	if fail {
		f.failures--
	}
	f.mu.Unlock()
	if fail {
		return sextant.ScanResult{}, sextant.Errorf(sextant.EUNAVAILABLE, "database is away")
	}
	return f.DB.RecordScan(ctx, scan, fs)
}

func TestTransientFailuresRetryThenDeadLetter(t *testing.T) {
	ctx := context.Background()
	body, err := os.ReadFile("../intake/testdata/trivy-clean.json")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("recovers", func(t *testing.T) {
		db := openStore(t)
		store := &flaky{DB: db, failures: 2}
		s := newService(t, store, db)
		rec, err := s.Submit(ctx, service.Submission{Source: "api", Body: body})
		if err != nil {
			t.Fatal(err)
		}
		processAll(t, s, db)
		ing, err := db.Ingest(ctx, rec.IngestID)
		if err != nil {
			t.Fatal(err)
		}
		if ing.Status != sextant.IngestDone || ing.Attempts != 3 {
			t.Errorf("ingest after two transient failures = %s after %d attempts, want done after 3", ing.Status, ing.Attempts)
		}
	})
	t.Run("dead letter", func(t *testing.T) {
		db := openStore(t)
		store := &flaky{DB: db, failures: 100}
		s := newService(t, store, db)
		s.MaxAttempts = 3
		rec, err := s.Submit(ctx, service.Submission{Source: "api", Body: body})
		if err != nil {
			t.Fatal(err)
		}
		processAll(t, s, db)
		ing, err := db.Ingest(ctx, rec.IngestID)
		if err != nil {
			t.Fatal(err)
		}
		if ing.Status != sextant.IngestFailed || ing.Attempts != 3 || ing.Error == "" {
			t.Errorf("ingest that always fails = %s after %d attempts (error %q), want failed after 3 with the error", ing.Status, ing.Attempts, ing.Error)
		}
		page, err := db.Ingests(ctx, sextant.IngestFilter{Status: sextant.IngestFailed})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 1 || page.Items[0].ID != rec.IngestID {
			t.Errorf("dead letter listing = %+v, want the failed ingest", page.Items)
		}
	})
}

// A person's status change is audited and re-derives the actions.
func TestSetFindingStatus(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	s := newService(t, db, db)
	path := fixtures.Dir(t, "trivy", "dd", "trivy-image-debian-10.json")
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Submit(ctx, service.Submission{Source: "api", Body: body}); err != nil {
		t.Fatal(err)
	}
	processAll(t, s, db)
	page, err := db.Findings(ctx, sextant.FindingFilter{Limit: 1})
	if err != nil || len(page.Items) == 0 {
		t.Fatalf("Findings: %v, %d items", err, len(page.Items))
	}
	id := page.Items[0].Finding.ID
	rec, err := s.SetFindingStatus(ctx, id, sextant.StatusAcceptedRisk, "compensated by WAF rule 42", "token:alice")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != sextant.StatusAcceptedRisk || len(rec.History) < 2 {
		t.Fatalf("after SetFindingStatus: status %s with %d history entries", rec.Status, len(rec.History))
	}
	for aid, a := range openActions(t, db) {
		if slices.Contains(a.Action.FindingIDs, id) {
			t.Errorf("open action %s still lists the accepted finding", aid)
		}
	}
	found := false
	for e, err := range db.Entries(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Action == "finding.status" && e.Subject == id && e.Actor == "token:alice" {
			found = true
		}
	}
	if !found {
		t.Error("the status change is not on the audit trail")
	}
	res, err := audit.Verify(ctx, db)
	if err != nil || !res.OK() {
		t.Errorf("audit.Verify = %+v, %v; want an intact trail", res, err)
	}
}

// New intel rescores the stored findings and their actions.
func TestRescoreOnNewIntel(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	s := newService(t, db, db)
	body, err := os.ReadFile("../http/testdata/trivy-two-vulns.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Submit(ctx, service.Submission{Source: "api", Body: body}); err != nil {
		t.Fatal(err)
	}
	processAll(t, s, db)
	if res, err := s.Rescore(ctx, "test"); err != nil || res.Changed != 0 || res.Findings != 2 {
		t.Fatalf("Rescore with the same options = %+v, %v; want 2 findings, none changed", res, err)
	}
	before := openActions(t, db)

	// CVE-2024-2961 enters the KEV catalog.
	opts := intake.Options{}
	opts.Triage.KEV = func(cve string) (risk.KEVFact, bool) {
		return risk.KEVFact{DateAdded: "2026-11-20"}, cve == "CVE-2024-2961"
	}
	s.SetIntakeOptions(opts)
	res, err := s.Rescore(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed == 0 || res.Artifacts != 1 {
		t.Fatalf("Rescore after a KEV listing = %+v, want changes in one artifact", res)
	}
	page, err := db.Findings(ctx, sextant.FindingFilter{Vulnerability: "CVE-2024-2961"})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("Findings(CVE-2024-2961) = %v, %v", page.Items, err)
	}
	if p := page.Items[0].Score.Priority; p > sextant.P1 {
		t.Errorf("a KEV-listed critical is %s after rescore, want P0 or P1", p)
	}
	after := openActions(t, db)
	for id, a := range after {
		if b, ok := before[id]; ok && b.Action.Score == a.Action.Score && slices.Contains(a.Action.Vulnerabilities, "CVE-2024-2961") {
			t.Errorf("action %s fixing CVE-2024-2961 kept its score %v after the KEV listing", id, a.Action.Score)
		}
	}
}

// A payload whose worker dies on every attempt (taken back after its
// lease each time) ends in the dead letter instead of being tried forever.
func TestWorkerDeathsEndInDeadLetter(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	s := newService(t, db, db)
	s.MaxAttempts = 2
	body, err := os.ReadFile("../intake/testdata/trivy-clean.json")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := s.Submit(ctx, service.Submission{Source: "api", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, ok, err := db.ClaimIngest(ctx, time.Now()); !ok || err != nil {
			t.Fatalf("ClaimIngest = %v, %v", ok, err)
		}
		// The worker dies; the lease expires.
		if n, err := db.RequeueStale(ctx, time.Now().Add(time.Hour)); n != 1 || err != nil {
			t.Fatalf("RequeueStale = %d, %v", n, err)
		}
	}
	processAll(t, s, db)
	ing, err := db.Ingest(ctx, rec.IngestID)
	if err != nil {
		t.Fatal(err)
	}
	if ing.Status != sextant.IngestFailed || !strings.Contains(ing.Error, "worker stopped") {
		t.Errorf("ingest after its worker died twice = %s (%q), want failed saying why", ing.Status, ing.Error)
	}
}
