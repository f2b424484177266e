// Package storetest is the conformance suite of sextant.Store: every
// implementation (internal/sqlite, internal/postgres) runs Run from its
// tests and must pass it unchanged, RunTokens for sextant.TokenStore,
// RunIngests and RunIngestReplicas for sextant.IngestStore, and RunActions
// for sextant.ActionStore.
//
// It is imported from _test.go files only.
package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/fixtures"
	"github.com/sextant-dev/sextant/internal/source/sourcetest"
	"github.com/sextant-dev/sextant/internal/source/trivy"
)

// Run runs the suite. open returns a new, empty store for one test; it
// closes the store in a t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) sextant.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s sextant.Store)
	}{
		{"UpsertIdempotent", testUpsertIdempotent},
		{"TwoSources", testTwoSources},
		{"InvalidScan", testInvalidScan},
		{"ResolveFixture", testResolveFixture},
		{"ResolveNeedsEverySource", testResolveNeedsEverySource},
		{"OlderScanResolvesNothing", testOlderScan},
		{"PeopleStatusesSurviveScans", testPeopleStatuses},
		{"SetStatus", testSetStatus},
		{"UpdateScores", testUpdateScores},
		{"Pagination", testPagination},
		{"Filters", testFilters},
		{"Owner", testOwner},
		{"Concurrent", testConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

// t0 is the time of the first scan of every test; it has no sub-microsecond
// part, which stores do not keep.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func at(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }

var image = sextant.Artifact{
	Name:       "registry.example/shop/api:1.4",
	Type:       "container_image",
	Repository: "registry.example/shop/api",
	Tags:       []string{"1.4"},
	Digest:     "sha256:" + fmt.Sprintf("%064x", 42),
}

// finding returns a vulnerability finding of pkg@version in artifact a,
// as scanner reported it.
func finding(a sextant.Artifact, scanner, cve, pkg, version string) *sextant.Finding {
	f := &sextant.Finding{
		Kind:            sextant.KindVulnerability,
		VulnerabilityID: cve,
		Title:           cve + " in " + pkg,
		Package:         sextant.Package{Ecosystem: "deb", Type: "debian", Name: pkg, Version: version},
		FixedVersions:   []string{version + "+fix1"},
		FixState:        "fixed",
		Severity:        sextant.SeverityHigh,
		Severities:      []sextant.SourcedSeverity{{Source: "debian", Severity: sextant.SeverityHigh, Text: "high"}},
		CVSS:            []sextant.CVSS{{Source: "nvd", Version: "3.1", Score: 7.5}},
		Artifact:        a,
		Source:          sextant.Source{Scanner: scanner, Format: scanner + "-json"},
	}
	f.ID = sextant.Fingerprint(f)
	return f
}

// findings returns n findings CVE-2026-1000… in package pkgN of a.
func findings(a sextant.Artifact, scanner string, n int) []*sextant.Finding {
	var out []*sextant.Finding
	for i := range n {
		out = append(out, finding(a, scanner, fmt.Sprintf("CVE-2026-%d", 1000+i), fmt.Sprintf("pkg%d", i), "1.0"))
	}
	return out
}

func scan(id, scanner string, a sextant.Artifact, when time.Time, complete bool) sextant.ScanRecord {
	return sextant.ScanRecord{
		ID:        id,
		Artifact:  a,
		Source:    sextant.Source{Scanner: scanner},
		ScannedAt: when,
		Complete:  complete,
	}
}

func record(t *testing.T, s sextant.Store, sc sextant.ScanRecord, fs []*sextant.Finding) sextant.ScanResult {
	t.Helper()
	res, err := s.RecordScan(context.Background(), sc, fs)
	if err != nil {
		t.Fatalf("RecordScan(%q) error: %v", sc.ID, err)
	}
	return res
}

func get(t *testing.T, s sextant.Store, id string) sextant.FindingRecord {
	t.Helper()
	rec, err := s.Finding(context.Background(), id)
	if err != nil {
		t.Fatalf("Finding(%q) error: %v", id, err)
	}
	return rec
}

// all lists every finding matching filter, walking every page.
func all(t *testing.T, s sextant.Store, filter sextant.FindingFilter) []sextant.FindingRecord {
	t.Helper()
	var out []sextant.FindingRecord
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("Findings: more than 10000 pages; the cursor does not advance")
		}
		page, err := s.Findings(context.Background(), filter)
		if err != nil {
			t.Fatalf("Findings(%+v) error: %v", filter, err)
		}
		out = append(out, page.Items...)
		if page.Next == "" {
			return out
		}
		filter.Cursor = page.Next
	}
}

func ids(recs []sextant.FindingRecord) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Finding.ID)
	}
	return out
}

func statuses(t *testing.T, s sextant.Store, artifact string) map[string]sextant.Status {
	t.Helper()
	out := map[string]sextant.Status{}
	for _, r := range all(t, s, sextant.FindingFilter{Artifact: artifact, Limit: sextant.MaxPageSize}) {
		out[r.Finding.ID] = r.Status
	}
	return out
}

func wantCode(t *testing.T, call string, err error, code string) {
	t.Helper()
	if sextant.ErrorCode(err) != code {
		t.Errorf("%s error = %v (code %q), want code %q", call, err, sextant.ErrorCode(err), code)
	}
}

var equateEmpty = cmpopts.EquateEmpty()

func testUpsertIdempotent(t *testing.T, s sextant.Store) {
	fs := findings(image, "trivy", 3)
	res := record(t, s, scan("scan-1", "trivy", image, at(0), true), fs)
	if diff := cmp.Diff(sextant.ScanResult{ScanID: "scan-1", Findings: 3, New: 3}, res, equateEmpty); diff != "" {
		t.Errorf("first RecordScan result (-want +got):\n%s", diff)
	}
	res = record(t, s, scan("scan-2", "trivy", image, at(10), true), fs)
	if diff := cmp.Diff(sextant.ScanResult{ScanID: "scan-2", Findings: 3, New: 0}, res, equateEmpty); diff != "" {
		t.Errorf("second RecordScan of the same findings (-want +got):\n%s", diff)
	}
	got := all(t, s, sextant.FindingFilter{})
	if len(got) != 3 {
		t.Fatalf("after the same scan twice: %d findings, want 3", len(got))
	}
	for _, f := range fs {
		rec := get(t, s, f.ID)
		if diff := cmp.Diff(f, rec.Finding, equateEmpty); diff != "" {
			t.Errorf("Finding(%s).Finding differs from what was recorded (-want +got):\n%s", f.ID, diff)
		}
		want := []sextant.Attribution{{Source: "trivy", FirstSeen: at(0), LastSeen: at(10), ScanID: "scan-2"}}
		if diff := cmp.Diff(want, rec.Attributions); diff != "" {
			t.Errorf("Finding(%s).Attributions (-want +got):\n%s", f.ID, diff)
		}
		if rec.Status != sextant.StatusOpen || !rec.FirstSeen.Equal(at(0)) || !rec.LastSeen.Equal(at(10)) {
			t.Errorf("Finding(%s) = status %s, seen %v–%v; want open, seen %v–%v",
				f.ID, rec.Status, rec.FirstSeen, rec.LastSeen, at(0), at(10))
		}
		if len(rec.History) != 1 || rec.History[0].To != sextant.StatusOpen || rec.History[0].ScanID != "scan-1" {
			t.Errorf("Finding(%s).History = %+v, want one entry: open by scan-1", f.ID, rec.History)
		}
	}
	_, err := s.RecordScan(context.Background(), scan("scan-1", "trivy", image, at(20), true), fs)
	wantCode(t, `RecordScan of an ID recorded before`, err, sextant.ECONFLICT)

	// A store-chosen scan ID is returned and recorded in the attribution.
	res = record(t, s, scan("", "trivy", image, at(30), false), fs[:1])
	if res.ScanID == "" {
		t.Fatal("RecordScan with no scan ID returned no ScanID")
	}
	if got := get(t, s, fs[0].ID).Attributions[0].ScanID; got != res.ScanID {
		t.Errorf("attribution ScanID = %q, want the store-chosen %q", got, res.ScanID)
	}
}

func testTwoSources(t *testing.T, s sextant.Store) {
	tv := finding(image, "trivy", "CVE-2026-1", "openssl", "3.0.1")
	gr := finding(image, "grype", "CVE-2026-1", "openssl", "3.0.1")
	if tv.ID != gr.ID {
		t.Fatal("test setup: trivy and grype findings should share a fingerprint")
	}
	record(t, s, scan("t1", "trivy", image, at(0), true), []*sextant.Finding{tv})
	res := record(t, s, scan("g1", "grype", image, at(5), true), []*sextant.Finding{gr})
	if res.New != 0 {
		t.Errorf("grype's sighting of a known finding: New = %d, want 0", res.New)
	}
	rec := get(t, s, tv.ID)
	want := []sextant.Attribution{
		{Source: "grype", FirstSeen: at(5), LastSeen: at(5), ScanID: "g1"},
		{Source: "trivy", FirstSeen: at(0), LastSeen: at(0), ScanID: "t1"},
	}
	if diff := cmp.Diff(want, rec.Attributions); diff != "" {
		t.Errorf("attributions of a finding two sources reported (-want +got):\n%s", diff)
	}
	if rec.Finding.Source.Scanner != "grype" {
		t.Errorf("finding data is from %q, want the latest sighting's (grype)", rec.Finding.Source.Scanner)
	}
	if n := len(all(t, s, sextant.FindingFilter{})); n != 1 {
		t.Errorf("two sources, one fingerprint: %d findings, want 1", n)
	}
}

func testInvalidScan(t *testing.T, s sextant.Store) {
	ctx := context.Background()
	other := image
	other.Digest = "sha256:" + fmt.Sprintf("%064x", 7)
	for _, tc := range []struct {
		name string
		scan sextant.ScanRecord
		fs   []*sextant.Finding
	}{
		{"no scanner", scan("x1", "", image, at(0), true), findings(image, "trivy", 1)},
		{"no artifact", scan("x2", "trivy", sextant.Artifact{}, at(0), true), nil},
		{"finding of another artifact", scan("x3", "trivy", image, at(0), true), findings(other, "trivy", 1)},
		{"nil finding", scan("x4", "trivy", image, at(0), true), []*sextant.Finding{nil}},
	} {
		_, err := s.RecordScan(ctx, tc.scan, tc.fs)
		wantCode(t, "RecordScan with "+tc.name, err, sextant.EINVALID)
	}
	if n := len(all(t, s, sextant.FindingFilter{})); n != 0 {
		t.Errorf("after invalid scans: %d findings stored, want 0", n)
	}
	_, err := s.Finding(ctx, "no-such-finding")
	wantCode(t, `Finding("no-such-finding")`, err, sextant.ENOTFOUND)
}

// parseReport parses a Trivy report and returns its findings, failing the
// test unless they all belong to one artifact.
func parseReport(t *testing.T, path string) ([]*sextant.Finding, sextant.ReportInfo) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fs, info := sourcetest.ParseAll(t, trivy.Parse, f, filepath.Base(path))
	if len(fs) == 0 {
		t.Fatalf("%s: no findings", path)
	}
	for _, x := range fs[1:] {
		if x.Artifact.Key() != fs[0].Artifact.Key() {
			t.Fatalf("%s: findings of two artifacts, %q and %q", path, fs[0].Artifact.Key(), x.Artifact.Key())
		}
	}
	return fs, info
}

// withoutVulnerabilities writes a copy of the Trivy report at path to a
// temporary file, with every third vulnerability of every result removed,
// and returns its path.
func withoutVulnerabilities(t *testing.T, path string) string {
	t.Helper()
	b := sourcetest.Read(t, path)
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
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "reduced.json")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func idSet(fs []*sextant.Finding) map[string]bool {
	m := map[string]bool{}
	for _, f := range fs {
		m[f.ID] = true
	}
	return m
}

func testResolveFixture(t *testing.T, s sextant.Store) {
	path := fixtures.Dir(t, "trivy", "dd", "trivy-image-debian-10.json")
	full, info := parseReport(t, path)
	if !info.Complete {
		t.Fatalf("%s: report says it is partial; the test needs a complete scan", path)
	}
	reduced, _ := parseReport(t, withoutVulnerabilities(t, path))
	art := full[0].Artifact
	key := art.Key()
	in := idSet(reduced)
	var gone []string
	for id := range idSet(full) {
		if !in[id] {
			gone = append(gone, id)
		}
	}
	slices.Sort(gone)
	if len(gone) == 0 || len(reduced) == 0 {
		t.Fatalf("test setup: %d findings dropped, %d kept; want some of each", len(gone), len(reduced))
	}

	record(t, s, scan("A", "trivy", art, at(0), true), full)

	// A partial scan lacking the findings resolves nothing.
	res := record(t, s, scan("B-partial", "trivy", art, at(10), false), reduced)
	if len(res.Resolved) != 0 {
		t.Errorf("partial scan resolved %v, want nothing", res.Resolved)
	}
	for id, st := range statuses(t, s, key) {
		if st != sextant.StatusOpen {
			t.Errorf("after a partial scan, finding %s is %s, want open", id, st)
		}
	}

	// A complete scan lacking them resolves exactly those.
	res = record(t, s, scan("B", "trivy", art, at(20), true), reduced)
	if diff := cmp.Diff(gone, res.Resolved, equateEmpty); diff != "" {
		t.Errorf("complete scan B: Resolved (-want +got):\n%s", diff)
	}
	for id, st := range statuses(t, s, key) {
		want := sextant.StatusOpen
		if slices.Contains(gone, id) {
			want = sextant.StatusResolved
		}
		if st != want {
			t.Errorf("after complete scan B, finding %s is %s, want %s", id, st, want)
		}
	}
	rec := get(t, s, gone[0])
	if a := rec.Attributions[0]; a.ClosedBy != "B" || !a.ClosedAt.Equal(at(20)) || a.ScanID != "A" {
		t.Errorf("attribution of a resolved finding = %+v, want last seen by A, closed by B at %v", a, at(20))
	}

	// Nothing is deleted: resolved findings are still listed.
	if n := len(all(t, s, sextant.FindingFilter{Artifact: key})); n != len(idSet(full)) {
		t.Errorf("after resolution: %d findings listed, want all %d", n, len(idSet(full)))
	}

	// The full report again reopens them.
	res = record(t, s, scan("C", "trivy", art, at(30), true), full)
	if diff := cmp.Diff(gone, res.Reopened, equateEmpty); diff != "" {
		t.Errorf("scan C with the findings back: Reopened (-want +got):\n%s", diff)
	}
	if len(res.Resolved) != 0 {
		t.Errorf("scan C resolved %v, want nothing", res.Resolved)
	}
	rec = get(t, s, gone[0])
	var hist []sextant.Status
	for _, h := range rec.History {
		hist = append(hist, h.To)
	}
	if diff := cmp.Diff([]sextant.Status{sextant.StatusOpen, sextant.StatusResolved, sextant.StatusOpen}, hist); diff != "" {
		t.Errorf("history of a resolved and reopened finding (-want +got):\n%s", diff)
	}
	if h := rec.History[1]; h.ScanID != "B" || h.Actor != sextant.SystemActor || h.Reason == "" {
		t.Errorf("resolution history entry = %+v, want scan B, actor %q, a reason", h, sextant.SystemActor)
	}
	if a := rec.Attributions[0]; a.ClosedBy != "" || !a.ClosedAt.IsZero() || a.ScanID != "C" {
		t.Errorf("attribution of a reopened finding = %+v, want live, last seen by C", a)
	}
}

func testResolveNeedsEverySource(t *testing.T, s sextant.Store) {
	tv := finding(image, "trivy", "CVE-2026-7", "zlib", "1.2")
	gr := finding(image, "grype", "CVE-2026-7", "zlib", "1.2")
	record(t, s, scan("t1", "trivy", image, at(0), true), []*sextant.Finding{tv})
	record(t, s, scan("g1", "grype", image, at(1), true), []*sextant.Finding{gr})
	res := record(t, s, scan("t2", "trivy", image, at(2), true), nil)
	if len(res.Resolved) != 0 {
		t.Errorf("trivy's complete scan without the finding resolved %v; grype still reports it", res.Resolved)
	}
	if st := get(t, s, tv.ID).Status; st != sextant.StatusOpen {
		t.Errorf("finding is %s after one of two sources stopped reporting it, want open", st)
	}
	res = record(t, s, scan("g2", "grype", image, at(3), true), nil)
	if diff := cmp.Diff([]string{tv.ID}, res.Resolved); diff != "" {
		t.Errorf("grype's complete scan without the finding: Resolved (-want +got):\n%s", diff)
	}
	// A partial scan that sees it again reopens it.
	res = record(t, s, scan("g3", "grype", image, at(4), false), []*sextant.Finding{gr})
	if diff := cmp.Diff([]string{tv.ID}, res.Reopened); diff != "" {
		t.Errorf("partial scan with the finding back: Reopened (-want +got):\n%s", diff)
	}
}

func testOlderScan(t *testing.T, s sextant.Store) {
	fs := findings(image, "trivy", 2)
	record(t, s, scan("new", "trivy", image, at(10), true), fs)
	// A complete scan that ran before the last sighting arrives late.
	res := record(t, s, scan("old", "trivy", image, at(5), true), fs[:1])
	if len(res.Resolved) != 0 {
		t.Errorf("a complete scan older than the last sighting resolved %v, want nothing", res.Resolved)
	}
	a := get(t, s, fs[0].ID).Attributions[0]
	want := sextant.Attribution{Source: "trivy", FirstSeen: at(5), LastSeen: at(10), ScanID: "new"}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("attribution after a late older scan (-want +got):\n%s", diff)
	}
}

func testPeopleStatuses(t *testing.T, s sextant.Store) {
	ctx := context.Background()
	fs := findings(image, "trivy", 2)
	record(t, s, scan("s1", "trivy", image, at(0), true), fs)
	if err := s.SetStatus(ctx, fs[0].ID, sextant.StatusAcceptedRisk, "not reachable", "alice"); err != nil {
		t.Fatal(err)
	}
	res := record(t, s, scan("s2", "trivy", image, at(1), true), nil)
	if diff := cmp.Diff([]string{fs[1].ID}, res.Resolved); diff != "" {
		t.Errorf("complete empty scan: Resolved (-want +got):\n%s", diff)
	}
	rec := get(t, s, fs[0].ID)
	if rec.Status != sextant.StatusAcceptedRisk {
		t.Errorf("accepted-risk finding absent from a complete scan is %s, want accepted_risk", rec.Status)
	}
	if rec.Attributions[0].ClosedBy != "s2" {
		t.Errorf("its attribution is closed by %q, want s2", rec.Attributions[0].ClosedBy)
	}
	res = record(t, s, scan("s3", "trivy", image, at(2), true), fs)
	if diff := cmp.Diff([]string{fs[1].ID}, res.Reopened); diff != "" {
		t.Errorf("scan with both back: Reopened (-want +got):\n%s", diff)
	}
	if st := get(t, s, fs[0].ID).Status; st != sextant.StatusAcceptedRisk {
		t.Errorf("accepted-risk finding seen again is %s, want accepted_risk", st)
	}
}

func testSetStatus(t *testing.T, s sextant.Store) {
	ctx := context.Background()
	f := findings(image, "trivy", 1)[0]
	record(t, s, scan("s1", "trivy", image, at(0), true), []*sextant.Finding{f})

	steps := []struct {
		status        sextant.Status
		reason, actor string
	}{
		{sextant.StatusSuppressed, "waiting for the vendor", "alice"},
		{sextant.StatusFalsePositive, "binary not shipped", "bob"},
		{sextant.StatusFalsePositive, "said twice", "bob"}, // no change, not recorded
		{sextant.StatusOpen, "shipped after all", "carol"},
	}
	for _, st := range steps {
		if err := s.SetStatus(ctx, f.ID, st.status, st.reason, st.actor); err != nil {
			t.Fatalf("SetStatus(%s, %s) error: %v", f.ID, st.status, err)
		}
	}
	rec := get(t, s, f.ID)
	if rec.Status != sextant.StatusOpen {
		t.Errorf("status = %s, want open", rec.Status)
	}
	type change struct {
		From, To      sextant.Status
		Reason, Actor string
	}
	var got []change
	for _, h := range rec.History {
		if h.At.IsZero() {
			t.Errorf("history entry %+v has no time", h)
		}
		got = append(got, change{h.From, h.To, h.Reason, h.Actor})
	}
	want := []change{
		{"", sextant.StatusOpen, "first reported by trivy in scan s1", sextant.SystemActor},
		{sextant.StatusOpen, sextant.StatusSuppressed, "waiting for the vendor", "alice"},
		{sextant.StatusSuppressed, sextant.StatusFalsePositive, "binary not shipped", "bob"},
		{sextant.StatusFalsePositive, sextant.StatusOpen, "shipped after all", "carol"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status history (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		id            string
		status        sextant.Status
		reason, actor string
		code          string
	}{
		{"nope", sextant.StatusSuppressed, "r", "a", sextant.ENOTFOUND},
		{f.ID, "fixed", "r", "a", sextant.EINVALID},
		{f.ID, sextant.StatusSuppressed, "", "a", sextant.EINVALID},
		{f.ID, sextant.StatusSuppressed, "r", " ", sextant.EINVALID},
	} {
		err := s.SetStatus(ctx, tc.id, tc.status, tc.reason, tc.actor)
		wantCode(t, fmt.Sprintf("SetStatus(%q, %q, %q, %q)", tc.id, tc.status, tc.reason, tc.actor), err, tc.code)
	}
	if n := len(get(t, s, f.ID).History); n != len(want) {
		t.Errorf("after rejected changes: %d history entries, want %d", n, len(want))
	}
}

func testPagination(t *testing.T, s sextant.Store) {
	ctx := context.Background()
	fs := findings(image, "trivy", 23)
	sc := scan("s1", "trivy", image, at(0), true)
	sc.Scores = map[string]sextant.Score{}
	// Scores with ties, so that the ID order within a score is exercised.
	for i, f := range fs {
		v := float64(i%5) * 12.5
		sc.Scores[f.ID] = sextant.Score{Value: v, Priority: sextant.Priority(3 - i%4),
			Factors: []sextant.Factor{{Name: "cvss", Value: 7.5, Weight: 1, Contribution: v}}}
	}
	record(t, s, sc, fs)
	want := make([]string, 0, len(fs))
	for _, f := range fs {
		want = append(want, f.ID)
	}
	slices.SortFunc(want, func(a, b string) int {
		if sa, sb := sc.Scores[a].Value, sc.Scores[b].Value; sa != sb {
			if sa > sb {
				return -1
			}
			return 1
		}
		if a < b {
			return -1
		}
		return 1
	})
	for _, limit := range []int{1, 5, 7, 23, 100} {
		var got []string
		filter := sextant.FindingFilter{Limit: limit}
		for pages := 0; ; pages++ {
			page, err := s.Findings(ctx, filter)
			if err != nil {
				t.Fatalf("Findings(limit %d) error: %v", limit, err)
			}
			if len(page.Items) > limit {
				t.Fatalf("Findings(limit %d) returned %d items", limit, len(page.Items))
			}
			if page.Next != "" && len(page.Items) != limit {
				t.Errorf("Findings(limit %d): a page of %d items with a next cursor", limit, len(page.Items))
			}
			got = append(got, ids(page.Items)...)
			if page.Next == "" || pages > len(fs) {
				break
			}
			filter.Cursor = page.Next
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("findings paged by %d, in order (-want +got):\n%s", limit, diff)
		}
	}
	// The score reads back as it was given.
	rec := get(t, s, want[0])
	if diff := cmp.Diff(sc.Scores[want[0]], rec.Score); diff != "" {
		t.Errorf("stored score (-want +got):\n%s", diff)
	}
	// A rescan without scores keeps them.
	record(t, s, scan("s2", "trivy", image, at(1), true), fs)
	if got := get(t, s, want[0]).Score.Value; got != sc.Scores[want[0]].Value {
		t.Errorf("score after a rescan without scores = %v, want %v kept", got, sc.Scores[want[0]].Value)
	}

	_, err := s.Findings(ctx, sextant.FindingFilter{Cursor: "not a cursor!"})
	wantCode(t, "Findings with a bad cursor", err, sextant.EINVALID)
	_, err = s.Findings(ctx, sextant.FindingFilter{Limit: -1})
	wantCode(t, "Findings with limit -1", err, sextant.EINVALID)
	_, err = s.Findings(ctx, sextant.FindingFilter{Status: "closed"})
	wantCode(t, `Findings with status "closed"`, err, sextant.EINVALID)
}

func testFilters(t *testing.T, s sextant.Store) {
	ctx := context.Background()
	other := sextant.Artifact{Name: "redis:7", Repository: "redis", Tags: []string{"7"}}
	a := findings(image, "trivy", 3)
	b := []*sextant.Finding{finding(other, "grype", "GHSA-aaaa-bbbb-cccc", "redis", "7.0")}
	b[0].Aliases = []string{"CVE-2026-1001"}
	b[0].ID = sextant.Fingerprint(b[0])
	s1 := scan("s1", "trivy", image, at(0), true)
	// a[2] and b[0] have no score: P3.
	s1.Scores = map[string]sextant.Score{a[0].ID: {Value: 95, Priority: sextant.P0}, a[1].ID: {Value: 70, Priority: sextant.P1}}
	record(t, s, s1, a)
	record(t, s, scan("s2", "grype", other, at(0), true), b)
	priority := func(p sextant.Priority) *sextant.Priority { return &p }
	if err := s.SetStatus(ctx, a[0].ID, sextant.StatusSuppressed, "r", "alice"); err != nil {
		t.Fatal(err)
	}
	sorted := func(ss ...string) []string { slices.Sort(ss); return ss }
	for _, tc := range []struct {
		name   string
		filter sextant.FindingFilter
		want   []string
	}{
		{"all", sextant.FindingFilter{}, sorted(a[0].ID, a[1].ID, a[2].ID, b[0].ID)},
		{"artifact", sextant.FindingFilter{Artifact: other.Key()}, []string{b[0].ID}},
		{"source", sextant.FindingFilter{Source: "trivy"}, sorted(a[0].ID, a[1].ID, a[2].ID)},
		{"status", sextant.FindingFilter{Status: sextant.StatusSuppressed}, []string{a[0].ID}},
		{"vulnerability", sextant.FindingFilter{Vulnerability: "cve-2026-1001"}, sorted(a[1].ID, b[0].ID)},
		{"combined", sextant.FindingFilter{Vulnerability: "CVE-2026-1001", Source: "grype"}, []string{b[0].ID}},
		{"P0", sextant.FindingFilter{Priority: priority(sextant.P0)}, []string{a[0].ID}},
		{"P1", sextant.FindingFilter{Priority: priority(sextant.P1)}, []string{a[1].ID}},
		{"P2", sextant.FindingFilter{Priority: priority(sextant.P2)}, nil},
		{"P3", sextant.FindingFilter{Priority: priority(sextant.P3)}, sorted(a[2].ID, b[0].ID)},
		{"P3 of an artifact", sextant.FindingFilter{Priority: priority(sextant.P3), Artifact: image.Key()}, []string{a[2].ID}},
		{"none", sextant.FindingFilter{Source: "wiz"}, nil},
	} {
		got := ids(all(t, s, tc.filter))
		slices.Sort(got)
		if diff := cmp.Diff(tc.want, got, equateEmpty); diff != "" {
			t.Errorf("Findings(%s) IDs (-want +got):\n%s", tc.name, diff)
		}
	}
	page, err := s.Findings(ctx, sextant.FindingFilter{Artifact: other.Key()})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || len(page.Items[0].Attributions) != 1 || page.Items[0].History != nil {
		t.Errorf("Findings item = %+v, want attributions and no history", page.Items)
	}
	for _, p := range []sextant.Priority{-1, 4} {
		_, err := s.Findings(ctx, sextant.FindingFilter{Priority: &p})
		wantCode(t, fmt.Sprintf("Findings with priority %d", int(p)), err, sextant.EINVALID)
	}
}

// testOwner checks that the findings of an artifact carry the owner of its
// latest scan, whichever findings that scan reported.
func testOwner(t *testing.T, s sextant.Store) {
	other := sextant.Artifact{Name: "redis:7", Repository: "redis", Tags: []string{"7"}}
	owned := func(sc sextant.ScanRecord, owner string) sextant.ScanRecord {
		sc.Owner = owner
		return sc
	}
	fs := findings(image, "trivy", 3)
	record(t, s, owned(scan("s1", "trivy", image, at(0), true), "team-a"), fs)
	record(t, s, owned(scan("o1", "trivy", other, at(0), true), "team-x"), findings(other, "trivy", 1))
	owners := func() map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, r := range all(t, s, sextant.FindingFilter{}) {
			out[r.Finding.ID] = r.Owner
			if got := get(t, s, r.Finding.ID).Owner; got != r.Owner {
				t.Errorf("Finding(%s).Owner = %q, Findings says %q", r.Finding.ID, got, r.Owner)
			}
		}
		return out
	}
	want := func(imageOwner string, extra ...*sextant.Finding) map[string]string {
		m := map[string]string{findings(other, "trivy", 1)[0].ID: "team-x"}
		for _, f := range append(slices.Clone(fs), extra...) {
			m[f.ID] = imageOwner
		}
		return m
	}
	if diff := cmp.Diff(want("team-a"), owners()); diff != "" {
		t.Errorf("owners after the first scans (-want +got):\n%s", diff)
	}

	// A newer partial scan that reports one finding gives its owner to all.
	record(t, s, owned(scan("s2", "trivy", image, at(10), false), "team-b"), fs[:1])
	if diff := cmp.Diff(want("team-b"), owners()); diff != "" {
		t.Errorf("owners after a newer scan of one finding by another team (-want +got):\n%s", diff)
	}

	// An older scan arriving late changes no owner, and a finding it is
	// first to report gets the owner of the latest scan.
	late := finding(image, "grype", "CVE-2026-9", "curl", "8.0")
	record(t, s, owned(scan("g0", "grype", image, at(5), false), "team-old"), []*sextant.Finding{late})
	if diff := cmp.Diff(want("team-b", late), owners()); diff != "" {
		t.Errorf("owners after a late older scan (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		owner string
		want  int
	}{{"team-b", 4}, {"team-x", 1}, {"team-a", 0}, {"team-old", 0}} {
		got := all(t, s, sextant.FindingFilter{Owner: tc.owner})
		if len(got) != tc.want {
			t.Errorf("Findings(owner %q) = %d findings, want %d", tc.owner, len(got), tc.want)
		}
		for _, r := range got {
			if r.Owner != tc.owner {
				t.Errorf("Findings(owner %q) returned %s of owner %q", tc.owner, r.Finding.ID, r.Owner)
			}
		}
	}
}

// testConcurrent records overlapping scans from several goroutines: two
// sources and two artifacts, the same findings over and over.
func testConcurrent(t *testing.T, s sextant.Store) {
	const workers, rounds, n = 6, 5, 40
	arts := []sextant.Artifact{image, {Name: "redis:7", Repository: "redis", Tags: []string{"7"}}}
	sources := []string{"trivy", "grype"}
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				art, src := arts[(w+r)%2], sources[w%2]
				// Partial scans, so that no worker resolves another's findings.
				sc := scan(fmt.Sprintf("w%d-r%d", w, r), src, art, at(r), false)
				if _, err := s.RecordScan(context.Background(), sc, findings(art, src, n)); err != nil {
					errs <- fmt.Errorf("RecordScan(%s): %w", sc.ID, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := all(t, s, sextant.FindingFilter{Limit: 17})
	if len(got) != len(arts)*n {
		t.Errorf("after concurrent scans: %d findings, want %d", len(got), len(arts)*n)
	}
	seen := map[string]bool{}
	for _, r := range got {
		if seen[r.Finding.ID] {
			t.Errorf("finding %s listed twice", r.Finding.ID)
		}
		seen[r.Finding.ID] = true
		if len(r.Attributions) != len(sources) {
			t.Errorf("finding %s has %d attributions, want %d", r.Finding.ID, len(r.Attributions), len(sources))
		}
		if r.Status != sextant.StatusOpen {
			t.Errorf("finding %s is %s, want open", r.Finding.ID, r.Status)
		}
	}
	rec := get(t, s, got[0].Finding.ID)
	if len(rec.History) != 1 {
		t.Errorf("finding %s has %d history entries after concurrent first sightings, want 1", rec.Finding.ID, len(rec.History))
	}
}

func testUpdateScores(t *testing.T, s sextant.Store) {
	ctx := context.Background()
	fs := findings(image, "trivy", 3)
	sc := scan("s1", "trivy", image, at(0), true)
	sc.Scores = map[string]sextant.Score{}
	for i, f := range fs {
		f.ID = sextant.Fingerprint(f)
		sc.Scores[f.ID] = sextant.Score{Value: float64(10 * (i + 1)), Priority: sextant.P3}
	}
	record(t, s, sc, fs)
	raised := sextant.Score{Value: 95, Priority: sextant.P0, Factors: []sextant.Factor{{Name: "kev", Value: true, Weight: 1, Contribution: 40}}}
	changed, err := s.UpdateScores(ctx, map[string]sextant.Score{
		fs[0].ID:  raised,
		fs[1].ID:  sc.Scores[fs[1].ID], // unchanged
		"unknown": {Value: 50, Priority: sextant.P1},
	})
	if err != nil {
		t.Fatalf("UpdateScores error: %v", err)
	}
	if want := []string{fs[0].ID}; !slices.Equal(changed, want) {
		t.Errorf("UpdateScores changed %v, want %v", changed, want)
	}
	rec := get(t, s, fs[0].ID)
	if rec.Score.Value != 95 || rec.Score.Priority != sextant.P0 || len(rec.Score.Factors) != 1 {
		t.Errorf("score after UpdateScores = %+v, want 95 P0 with its factor", rec.Score)
	}
	page, err := s.Findings(ctx, sextant.FindingFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 3 || page.Items[0].Finding.ID != fs[0].ID {
		t.Errorf("after raising its score, %s is not listed first", fs[0].ID)
	}
	p0 := sextant.P0
	page, err = s.Findings(ctx, sextant.FindingFilter{Priority: &p0})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 {
		t.Errorf("P0 findings after UpdateScores = %d, want 1", len(page.Items))
	}
	if changed, err := s.UpdateScores(ctx, nil); err != nil || len(changed) != 0 {
		t.Errorf("UpdateScores(nil) = %v, %v", changed, err)
	}
}
