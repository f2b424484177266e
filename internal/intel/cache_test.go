package intel

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/fixtures"
)

// feedServer serves feed files the way CISA's and FIRST's servers do: with
// an ETag and/or Last-Modified, answering conditional requests with 304.
type feedServer struct {
	mu       sync.Mutex
	files    map[string]*served
	requests []http.Header // by arrival
	paths    []string
}

type served struct {
	body         []byte
	etag         string
	lastModified string
	status       int  // when non-zero, answer this status and nothing else
	short        bool // announce the full length, send half, hang up
	block        bool // wait until the client gives up
}

func newFeedServer(t *testing.T, files map[string]*served) (*feedServer, *httptest.Server) {
	t.Helper()
	fs := &feedServer{files: files}
	srv := httptest.NewServer(fs)
	t.Cleanup(srv.Close)
	return fs, srv
}

func (s *feedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Header.Clone())
	s.paths = append(s.paths, r.URL.Path)
	f, ok := s.files[r.URL.Path]
	var cp served
	if ok {
		cp = *f
	}
	s.mu.Unlock()
	switch {
	case !ok:
		http.NotFound(w, r)
		return
	case cp.block:
		<-r.Context().Done()
		return
	case cp.status != 0:
		http.Error(w, http.StatusText(cp.status), cp.status)
		return
	}
	if cp.etag != "" {
		w.Header().Set("ETag", cp.etag)
		if r.Header.Get("If-None-Match") == cp.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	if cp.lastModified != "" {
		w.Header().Set("Last-Modified", cp.lastModified)
		if cp.etag == "" && r.Header.Get("If-Modified-Since") == cp.lastModified {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(cp.body)))
	if cp.short {
		w.Write(cp.body[:len(cp.body)/2])
		return
	}
	w.Write(cp.body)
}

func (s *feedServer) set(path string, f *served) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path] = f
}

// lastRequest returns the headers of the last request for path.
func (s *feedServer) lastRequest(path string) http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.paths) - 1; i >= 0; i-- {
		if s.paths[i] == path {
			return s.requests[i]
		}
	}
	return nil
}

// clock is an adjustable Now.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time          { return c.t }
func (c *clock) Advance(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock                   { return &clock{t: time.Date(2025, 8, 26, 9, 0, 0, 0, time.UTC)} }
func newCache(srv *httptest.Server, c *clock, dir string) *Cache {
	return &Cache{
		Dir:     dir,
		Client:  srv.Client(),
		Now:     c.Now,
		KEVURL:  srv.URL + "/kev.json",
		EPSSURL: srv.URL + "/epss.csv.gz",
		Version: "1.2.3",
	}
}

func smallFeeds(t *testing.T) (kev, epss []byte) {
	t.Helper()
	kev, err := os.ReadFile(filepath.Join("testdata", "kev-small.json"))
	if err != nil {
		t.Fatal(err)
	}
	csv, err := os.ReadFile(filepath.Join("testdata", "epss-small.csv"))
	if err != nil {
		t.Fatal(err)
	}
	return kev, gzipBytes(t, csv)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestUpdateRealSnapshots serves the real KEV snapshot and an EPSS file with
// ETags and checks the download, the conditional second request and Load.
func TestUpdateRealSnapshots(t *testing.T) {
	kevBytes := readFile(t, filepath.Join(fixtures.Dir(t, "intel", "cisa-kev"), "known_exploited_vulnerabilities.json"))
	epssBytes := gzipBytes(t, readFile(t, filepath.Join(fixtures.Dir(t, "intel", "epss"), "epss-derived-from-grype-reports.csv")))
	fs, srv := newFeedServer(t, map[string]*served{
		"/kev.json":    {body: kevBytes, etag: `"kev-2025.08.25"`, lastModified: "Mon, 25 Aug 2025 17:05:00 GMT"},
		"/epss.csv.gz": {body: epssBytes, etag: `W/"epss-1"`},
	})
	clk := newClock()
	dir := t.TempDir()
	c := newCache(srv, clk, dir)

	var events []Event
	res, err := c.Update(t.Context(), func(e Event) { events = append(events, e) })
	if err != nil {
		t.Fatalf("Update() error: %v", err)
	}
	want := UpdateResult{
		KEV:  FeedResult{Outcome: Updated, Bytes: int64(len(kevBytes)), FetchedAt: clk.Now()},
		EPSS: FeedResult{Outcome: Updated, Bytes: int64(len(epssBytes)), FetchedAt: clk.Now()},
	}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("Update() result mismatch (-want +got):\n%s", diff)
	}
	if got := readFile(t, filepath.Join(dir, "kev.json")); !bytes.Equal(got, kevBytes) {
		t.Errorf("cached kev.json = %d bytes, want the %d served", len(got), len(kevBytes))
	}
	if got := readFile(t, filepath.Join(dir, "epss.csv.gz")); !bytes.Equal(got, epssBytes) {
		t.Errorf("cached epss.csv.gz = %d bytes, want the %d served", len(got), len(epssBytes))
	}
	if ua := fs.lastRequest("/kev.json").Get("User-Agent"); ua != "sextant/1.2.3" {
		t.Errorf("User-Agent = %q, want %q", ua, "sextant/1.2.3")
	}
	if h := fs.lastRequest("/kev.json"); h.Get("If-None-Match") != "" || h.Get("If-Modified-Since") != "" {
		t.Errorf("first request sent conditional headers %v, want none", h)
	}
	var kinds []EventKind
	for _, e := range events {
		if e.Feed == FeedKEV && (len(kinds) == 0 || kinds[len(kinds)-1] != e.Kind) {
			kinds = append(kinds, e.Kind)
		}
	}
	if diff := cmp.Diff([]EventKind{EventChecking, EventDownloading, EventUpdated}, kinds); diff != "" {
		t.Errorf("KEV event kinds mismatch (-want +got):\n%s", diff)
	}

	// A day later nothing has changed: both requests are conditional and
	// answered 304, and fetched_at moves on.
	clk.Advance(24 * time.Hour)
	events = nil
	res, err = c.Update(t.Context(), func(e Event) { events = append(events, e) })
	if err != nil {
		t.Fatalf("second Update() error: %v", err)
	}
	want = UpdateResult{
		KEV:  FeedResult{Outcome: NotModified, FetchedAt: clk.Now()},
		EPSS: FeedResult{Outcome: NotModified, FetchedAt: clk.Now()},
	}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("second Update() result mismatch (-want +got):\n%s", diff)
	}
	h := fs.lastRequest("/kev.json")
	if got := h.Get("If-None-Match"); got != `"kev-2025.08.25"` {
		t.Errorf("second KEV request If-None-Match = %q, want %q", got, `"kev-2025.08.25"`)
	}
	if got := h.Get("If-Modified-Since"); got != "Mon, 25 Aug 2025 17:05:00 GMT" {
		t.Errorf("second KEV request If-Modified-Since = %q, want %q", got, "Mon, 25 Aug 2025 17:05:00 GMT")
	}
	if got := fs.lastRequest("/epss.csv.gz").Get("If-None-Match"); got != `W/"epss-1"` {
		t.Errorf("second EPSS request If-None-Match = %q, want %q", got, `W/"epss-1"`)
	}
	if len(events) == 0 || events[len(events)-1].Kind != EventNotModified {
		t.Errorf("last event = %+v, want kind %q", events, EventNotModified)
	}

	kev, epss, st, err := c.Load()
	if err != nil {
		t.Fatalf("Load() error: %v", err)
	}
	if kev.Len() != 1404 || kev.CatalogVersion != "2025.08.25" {
		t.Errorf("Load() KEV: Len() = %d, CatalogVersion = %q, want 1404 and 2025.08.25", kev.Len(), kev.CatalogVersion)
	}
	if _, ok := epss.Lookup("CVE-2005-2541"); !ok {
		t.Errorf("Load() EPSS Lookup(%q) found = false, want true", "CVE-2005-2541")
	}
	wantSt := FeedStatus{Present: true, Path: filepath.Join(dir, "kev.json"), URL: srv.URL + "/kev.json",
		FetchedAt: clk.Now(), MaxAge: DefaultMaxAge, Version: "2025.08.25"}
	if diff := cmp.Diff(wantSt, st.KEV); diff != "" {
		t.Errorf("Load() KEV status mismatch (-want +got):\n%s", diff)
	}
}

func TestUpdateLastModifiedOnly(t *testing.T) {
	kev, epss := smallFeeds(t)
	const lm = "Tue, 26 Aug 2025 00:00:00 GMT"
	fs, srv := newFeedServer(t, map[string]*served{
		"/kev.json":    {body: kev, lastModified: lm},
		"/epss.csv.gz": {body: epss, lastModified: lm},
	})
	c := newCache(srv, newClock(), t.TempDir())
	for i, want := range []Outcome{Updated, NotModified} {
		res, err := c.Update(t.Context(), nil)
		if err != nil {
			t.Fatalf("Update() #%d error: %v", i+1, err)
		}
		if res.KEV.Outcome != want || res.EPSS.Outcome != want {
			t.Errorf("Update() #%d outcomes = %q, %q, want %q", i+1, res.KEV.Outcome, res.EPSS.Outcome, want)
		}
	}
	h := fs.lastRequest("/epss.csv.gz")
	if got := h.Get("If-Modified-Since"); got != lm {
		t.Errorf("second request If-Modified-Since = %q, want %q", got, lm)
	}
	if got := h.Get("If-None-Match"); got != "" {
		t.Errorf("second request If-None-Match = %q, want none (no ETag was served)", got)
	}
}

// TestUpdateKeepsGoodCopy checks that no failed or invalid download
// replaces the cached file or its sidecar, and that failures carry the
// right code.
func TestUpdateKeepsGoodCopy(t *testing.T) {
	kev, epss := smallFeeds(t)
	tests := []struct {
		name     string
		kev      *served
		maxBytes int64
		code     string
		msg      string
	}{
		{"truncated JSON", &served{body: kev[:len(kev)/2], etag: `"v2"`}, 0, sextant.EINVALID, "download from"},
		{"not JSON", &served{body: []byte("<html>maintenance</html>"), etag: `"v2"`}, 0, sextant.EINVALID, "byte offset 0"},
		{"valid JSON, no catalog", &served{body: []byte(`{"error": "gone"}`), etag: `"v2"`}, 0, sextant.EINVALID, "no vulnerabilities array"},
		{"server error", &served{status: http.StatusInternalServerError}, 0, sextant.EUNAVAILABLE, "500 Internal Server Error"},
		{"bad gateway", &served{status: http.StatusBadGateway}, 0, sextant.EUNAVAILABLE, "502"},
		{"not found", &served{status: http.StatusNotFound}, 0, sextant.EUNAVAILABLE, "404"},
		{"rate limited", &served{status: http.StatusTooManyRequests}, 0, sextant.ERATELIMITED, "429"},
		{"connection dropped", &served{body: kev, etag: `"v2"`, short: true}, 0, sextant.EUNAVAILABLE, "download interrupted"},
		{"too large", &served{body: kev, etag: `"v2"`}, 100, sextant.EINVALID, "larger than 100 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, srv := newFeedServer(t, map[string]*served{
				"/kev.json":    {body: kev, etag: `"v1"`},
				"/epss.csv.gz": {body: epss, etag: `"e1"`},
			})
			clk := newClock()
			dir := t.TempDir()
			c := newCache(srv, clk, dir)
			if _, err := c.Update(t.Context(), nil); err != nil {
				t.Fatalf("first Update() error: %v", err)
			}
			kevPath := filepath.Join(dir, "kev.json")
			before, beforeMeta := readFile(t, kevPath), readFile(t, kevPath+".meta")

			fs.set("/kev.json", tt.kev)
			c.MaxBytes = tt.maxBytes
			clk.Advance(time.Hour)
			var failed []Event
			res, err := c.Update(t.Context(), func(e Event) {
				if e.Kind == EventFailed {
					failed = append(failed, e)
				}
			})
			if code := sextant.ErrorCode(err); code != tt.code {
				t.Errorf("Update() error = %v (code %q), want code %q", err, code, tt.code)
			}
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Update() error = %v, want it to contain %q", err, tt.msg)
			}
			if res.KEV.Outcome != Failed || res.KEV.Err == nil {
				t.Errorf("Update() KEV result = %+v, want Failed with an error", res.KEV)
			}
			if res.EPSS.Outcome != NotModified {
				t.Errorf("Update() EPSS outcome = %q, want %q (one failing feed must not stop the other)", res.EPSS.Outcome, NotModified)
			}
			if len(failed) != 1 || failed[0].Feed != FeedKEV || failed[0].Err == nil {
				t.Errorf("failed events = %+v, want one for %q with its error", failed, FeedKEV)
			}
			if after := readFile(t, kevPath); !bytes.Equal(after, before) {
				t.Errorf("kev.json changed after a failed update: %d bytes, want the original %d", len(after), len(before))
			}
			if after := readFile(t, kevPath+".meta"); !bytes.Equal(after, beforeMeta) {
				t.Errorf("kev.json.meta = %s after a failed update, want %s", after, beforeMeta)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if diff := cmp.Diff([]string{"epss.csv.gz", "epss.csv.gz.meta", "kev.json", "kev.json.meta"}, names); diff != "" {
				t.Errorf("cache directory mismatch, temporary files left? (-want +got):\n%s", diff)
			}
			if k, _, _, err := c.Load(); err != nil || k.Len() != 3 {
				t.Errorf("Load() after failed update = %d entries, %v, want the 3 cached ones", k.Len(), err)
			}
		})
	}
}

func TestUpdateRefetchesBrokenOrForeignCopy(t *testing.T) {
	kev, epss := smallFeeds(t)
	tests := []struct {
		name  string
		spoil func(t *testing.T, c *Cache, kevPath string)
	}{
		{"cached file corrupted", func(t *testing.T, c *Cache, kevPath string) {
			if err := os.WriteFile(kevPath, []byte("{"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"cached file deleted", func(t *testing.T, c *Cache, kevPath string) {
			if err := os.Remove(kevPath); err != nil {
				t.Fatal(err)
			}
		}},
		{"URL changed", func(t *testing.T, c *Cache, kevPath string) {
			c.KEVURL += "?mirror=1"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, srv := newFeedServer(t, map[string]*served{
				"/kev.json":    {body: kev, etag: `"v1"`},
				"/epss.csv.gz": {body: epss, etag: `"e1"`},
			})
			dir := t.TempDir()
			c := newCache(srv, newClock(), dir)
			if _, err := c.Update(t.Context(), nil); err != nil {
				t.Fatalf("first Update() error: %v", err)
			}
			kevPath := filepath.Join(dir, "kev.json")
			tt.spoil(t, c, kevPath)
			res, err := c.Update(t.Context(), nil)
			if err != nil {
				t.Fatalf("second Update() error: %v", err)
			}
			if got := fs.lastRequest("/kev.json").Get("If-None-Match"); got != "" {
				t.Errorf("second request If-None-Match = %q, want none", got)
			}
			if res.KEV.Outcome != Updated {
				t.Errorf("second Update() KEV outcome = %q, want %q", res.KEV.Outcome, Updated)
			}
			if got := readFile(t, kevPath); !bytes.Equal(got, kev) {
				t.Errorf("kev.json = %d bytes after refetch, want %d", len(got), len(kev))
			}
		})
	}
}

func TestUpdateUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	c := newCache(srv, newClock(), t.TempDir())
	res, err := c.Update(t.Context(), nil)
	if code := sextant.ErrorCode(err); code != sextant.EUNAVAILABLE {
		t.Errorf("Update() against a closed server: error = %v (code %q), want %q", err, code, sextant.EUNAVAILABLE)
	}
	if res.KEV.Outcome != Failed || res.EPSS.Outcome != Failed {
		t.Errorf("Update() outcomes = %q, %q, want both %q", res.KEV.Outcome, res.EPSS.Outcome, Failed)
	}
}

func TestUpdateTimeoutAndCancel(t *testing.T) {
	kev, _ := smallFeeds(t)
	_, srv := newFeedServer(t, map[string]*served{
		"/kev.json":    {body: kev, block: true},
		"/epss.csv.gz": {block: true},
	})
	c := newCache(srv, newClock(), t.TempDir())
	c.Timeout = 50 * time.Millisecond
	_, err := c.Update(t.Context(), nil)
	if code := sextant.ErrorCode(err); code != sextant.EUNAVAILABLE || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("Update() against a silent server = %v (code %q), want %q saying it timed out", err, code, sextant.EUNAVAILABLE)
	}

	c.Timeout = time.Minute
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = c.Update(ctx, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update(canceled ctx) error = %v, want context.Canceled", err)
	}
}

func TestLoadStatus(t *testing.T) {
	kev, epss := smallFeeds(t)
	_, srv := newFeedServer(t, map[string]*served{
		"/kev.json":    {body: kev, etag: `"v1"`},
		"/epss.csv.gz": {body: epss, etag: `"e1"`},
	})
	tests := []struct {
		name                 string
		age                  time.Duration
		kevMaxAge, epMaxAge  time.Duration
		wantKEVStale, wantEP bool
	}{
		{"fresh", 0, 0, 0, false, false},
		{"six days", 6 * 24 * time.Hour, 0, 0, false, false},
		{"exactly seven days", 7 * 24 * time.Hour, 0, 0, false, false},
		{"twelve days", 12 * 24 * time.Hour, 0, 0, true, true},
		{"custom thresholds", 2 * 24 * time.Hour, 24 * time.Hour, 3 * 24 * time.Hour, true, false},
		{"clock went back", -time.Hour, 0, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			dir := t.TempDir()
			c := newCache(srv, clk, dir)
			if _, err := c.Update(t.Context(), nil); err != nil {
				t.Fatalf("Update() error: %v", err)
			}
			fetched := clk.Now()
			clk.Advance(tt.age)
			c.KEVMaxAge, c.EPSSMaxAge = tt.kevMaxAge, tt.epMaxAge
			k, e, st, err := c.Load()
			if err != nil || k.Len() != 3 || e.Len() != 6 {
				t.Fatalf("Load() = %d KEV entries, %d EPSS rows, %v; want 3, 6, nil", k.Len(), e.Len(), err)
			}
			if st.KEV.Stale != tt.wantKEVStale || st.EPSS.Stale != tt.wantEP {
				t.Errorf("Load() at age %v: Stale = %v (KEV), %v (EPSS), want %v, %v", tt.age, st.KEV.Stale, st.EPSS.Stale, tt.wantKEVStale, tt.wantEP)
			}
			if want := max(tt.age, 0); st.KEV.Age != want || st.EPSS.Age != want {
				t.Errorf("Load() Age = %v, %v, want %v", st.KEV.Age, st.EPSS.Age, want)
			}
			if !st.KEV.FetchedAt.Equal(fetched) {
				t.Errorf("Load() KEV FetchedAt = %v, want %v", st.KEV.FetchedAt, fetched)
			}
			if st.EPSS.Version != "v2025.03.14" {
				t.Errorf("Load() EPSS Version = %q, want %q", st.EPSS.Version, "v2025.03.14")
			}
		})
	}
}

func TestLoadAbsentAndBroken(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	c := &Cache{Dir: dir, Now: clk.Now}
	k, e, st, err := c.Load()
	if err != nil || k != nil || e != nil {
		t.Fatalf("Load() on an empty cache = %v, %v, %v; want nil, nil, nil", k, e, err)
	}
	want := Status{
		KEV:  FeedStatus{Path: filepath.Join(dir, "kev.json"), MaxAge: DefaultMaxAge, Stale: true},
		EPSS: FeedStatus{Path: filepath.Join(dir, "epss.csv.gz"), MaxAge: DefaultMaxAge, Stale: true},
	}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("Load() status on an empty cache mismatch (-want +got):\n%s", diff)
	}

	// A file put there by hand (no sidecar) is dated by its mtime; a broken
	// one is reported, and the other feed still loads.
	if err := os.WriteFile(filepath.Join(dir, "kev.json"), []byte(`{"vulnerabilities": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	epssPath := filepath.Join(dir, "epss.csv.gz")
	if err := os.WriteFile(epssPath, readFile(t, filepath.Join("testdata", "epss-small.csv")), 0o644); err != nil {
		t.Fatal(err)
	}
	mtime := clk.Now().Add(-10 * 24 * time.Hour)
	if err := os.Chtimes(epssPath, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	k, e, st, err = c.Load()
	if sextant.ErrorCode(err) != sextant.EINVALID || !strings.Contains(err.Error(), "kev.json") {
		t.Errorf("Load() with a broken kev.json: error = %v, want EINVALID naming the file", err)
	}
	if k != nil || st.KEV.Err == nil || !st.KEV.Present {
		t.Errorf("Load() KEV = %v, status %+v; want nil with Present and Err set", k, st.KEV)
	}
	if e.Len() != 6 || st.EPSS.Err != nil {
		t.Errorf("Load() EPSS = %d rows, Err %v; want 6 rows, no error", e.Len(), st.EPSS.Err)
	}
	if !st.EPSS.FetchedAt.Equal(mtime) || !st.EPSS.Stale || st.EPSS.Age != 10*24*time.Hour {
		t.Errorf("Load() EPSS status = %+v, want FetchedAt %v (mtime), Age 240h, Stale", st.EPSS, mtime)
	}
}

func TestCacheDefaults(t *testing.T) {
	base := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", base)
	t.Setenv("HOME", base)
	want, err := os.UserCacheDir()
	if err != nil {
		t.Skipf("no user cache dir on this system: %v", err)
	}
	var c Cache
	dir, err := c.dir()
	if err != nil {
		t.Fatalf("Cache{}.dir() error: %v", err)
	}
	if w := filepath.Join(want, "sextant", "intel"); dir != w {
		t.Errorf("Cache{}.dir() = %q, want %q", dir, w)
	}
	kev, epss := c.feeds()
	if kev.url != DefaultKEVURL || epss.url != DefaultEPSSURL {
		t.Errorf("Cache{} URLs = %q, %q, want %q, %q", kev.url, epss.url, DefaultKEVURL, DefaultEPSSURL)
	}
	if kev.maxAge != 7*24*time.Hour || epss.maxAge != 7*24*time.Hour {
		t.Errorf("Cache{} max ages = %v, %v, want 168h each", kev.maxAge, epss.maxAge)
	}
}
