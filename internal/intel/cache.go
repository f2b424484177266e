package intel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/sextant-dev/sextant"
)

// Official feed locations. FIRST's EPSS data is served by Empirical
// Security (it moved from epss.cyentia.com); the "current" URL redirects to
// the dated file of the day.
const (
	DefaultKEVURL  = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
	DefaultEPSSURL = "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz"
)

// Defaults for the zero fields of a Cache.
const (
	// DefaultMaxAge is how old a feed may get before Status calls it stale:
	// CISA adds to KEV several times a week and EPSS is rescored daily.
	DefaultMaxAge = 7 * 24 * time.Hour
	// DefaultTimeout bounds one feed's request, download included.
	DefaultTimeout = 5 * time.Minute
	// DefaultMaxBytes bounds one download; today KEV is about 1.3 MB and
	// the compressed EPSS file about 2 MB.
	DefaultMaxBytes = 256 << 20
)

// Feed names, as used in Event.Feed and messages.
const (
	FeedKEV  = "kev"
	FeedEPSS = "epss"
)

// Cache keeps the KEV catalog and the EPSS scores on disk and refreshes them
// from their publishers. Every field is optional.
//
// The directory holds, per feed, the data file exactly as downloaded
// (kev.json; epss.csv.gz, which ReadEPSS also reads when a mirror serves it
// uncompressed) and a sidecar "<file>.meta", a JSON object:
//
//	{"url": "…", "etag": "…", "last_modified": "…",
//	 "fetched_at": "RFC 3339", "downloaded_at": "RFC 3339", "size": 1257565}
//
// fetched_at is the last time the publisher confirmed the file current (a
// download or a 304 Not Modified); downloaded_at the last download. A data
// file is only ever replaced by rename after the new one has been read
// successfully, so an interrupted or invalid download never costs the good
// copy.
type Cache struct {
	// Dir is the cache directory; default os.UserCacheDir()/sextant/intel.
	Dir string
	// Client makes the requests; default http.DefaultClient (which honours
	// the proxy environment variables).
	Client *http.Client
	// Now is the clock; default time.Now.
	Now func() time.Time
	// KEVURL and EPSSURL locate the feeds; default DefaultKEVURL and
	// DefaultEPSSURL.
	KEVURL, EPSSURL string
	// Version is sextant's version, sent as "User-Agent: sextant/<Version>";
	// default "dev".
	Version string
	// KEVMaxAge and EPSSMaxAge are the ages past which Status reports a
	// feed stale; default DefaultMaxAge (7 days) each.
	KEVMaxAge, EPSSMaxAge time.Duration
	// Timeout bounds each feed's request and download; default
	// DefaultTimeout.
	Timeout time.Duration
	// MaxBytes bounds each download; default DefaultMaxBytes.
	MaxBytes int64
}

// EventKind says what an Event reports.
type EventKind string

// Event kinds, in the order a feed goes through them.
const (
	EventChecking    EventKind = "checking"     // request sent
	EventDownloading EventKind = "downloading"  // body arriving; Bytes so far
	EventNotModified EventKind = "not-modified" // cached copy is current
	EventUpdated     EventKind = "updated"      // new copy validated and in place
	EventFailed      EventKind = "failed"       // Err says why; cached copy kept
)

// Event reports the progress of an update to an optional callback.
type Event struct {
	Feed string
	Kind EventKind
	URL  string
	// Bytes is the number of body bytes received so far.
	Bytes int64
	// Total is the announced body size, -1 when unknown.
	Total int64
	// Err is set on EventFailed.
	Err error
}

// Outcome is what an update did to one feed.
type Outcome string

// Update outcomes.
const (
	Updated     Outcome = "updated"
	NotModified Outcome = "not-modified"
	Failed      Outcome = "failed"
)

// FeedResult is the result of updating one feed.
type FeedResult struct {
	Outcome Outcome
	// Bytes is the size of the downloaded file (zero unless Updated).
	Bytes int64
	// FetchedAt is when the publisher last confirmed the cached copy.
	FetchedAt time.Time
	// Err says why the update failed.
	Err error
}

// UpdateResult is the result of updating both feeds.
type UpdateResult struct {
	KEV, EPSS FeedResult
}

// FeedStatus describes one cached feed.
type FeedStatus struct {
	// Present reports whether the feed is cached.
	Present bool
	// Path is the data file.
	Path string
	// URL is where the cached copy came from, when known.
	URL string
	// FetchedAt is when the publisher last confirmed the copy current, or
	// the file's modification time when the sidecar is missing.
	FetchedAt time.Time
	// Age is Now minus FetchedAt (never negative).
	Age time.Duration
	// MaxAge is the age past which the feed is stale.
	MaxAge time.Duration
	// Stale reports whether the feed needs an update: it is absent, or
	// older than MaxAge.
	Stale bool
	// Version is the KEV catalogVersion or the EPSS model_version.
	Version string
	// Err is why a present file could not be read.
	Err error
}

// Status describes what the cache holds.
type Status struct {
	KEV, EPSS FeedStatus
}

// feed binds the per-feed particulars.
type feed struct {
	name     string // FeedKEV or FeedEPSS
	title    string // for messages
	file     string
	url      string
	maxAge   time.Duration
	validate func(io.Reader) (string, error) // returns the version
}

func (c *Cache) feeds() (kev, epss feed) {
	kev = feed{
		name: FeedKEV, title: "KEV catalog", file: "kev.json",
		url: or(c.KEVURL, DefaultKEVURL), maxAge: orDuration(c.KEVMaxAge, DefaultMaxAge),
		validate: func(r io.Reader) (string, error) {
			k, err := ReadKEV(r)
			if err != nil {
				return "", err
			}
			return k.CatalogVersion, nil
		},
	}
	epss = feed{
		name: FeedEPSS, title: "EPSS scores", file: "epss.csv.gz",
		url: or(c.EPSSURL, DefaultEPSSURL), maxAge: orDuration(c.EPSSMaxAge, DefaultMaxAge),
		validate: func(r io.Reader) (string, error) {
			e, err := ReadEPSS(r)
			if err != nil {
				return "", err
			}
			return e.ModelVersion, nil
		},
	}
	return kev, epss
}

// Update refreshes both feeds with conditional requests and reports progress
// to progress, which may be nil. It tries both feeds even when one fails; the
// error joins the failures, each an *sextant.Error (EUNAVAILABLE for network
// and server failures, ERATELIMITED for 429, EINVALID for a download that
// does not parse) or the context's error. A feed that fails keeps its cached
// copy.
func (c *Cache) Update(ctx context.Context, progress func(Event)) (UpdateResult, error) {
	if progress == nil {
		progress = func(Event) {}
	}
	kev, epss := c.feeds()
	var res UpdateResult
	res.KEV = c.update(ctx, kev, progress)
	res.EPSS = c.update(ctx, epss, progress)
	return res, errors.Join(res.KEV.Err, res.EPSS.Err)
}

func (c *Cache) update(ctx context.Context, f feed, progress func(Event)) FeedResult {
	r, err := c.fetch(ctx, f, progress)
	if err != nil {
		progress(Event{Feed: f.name, Kind: EventFailed, URL: redact(f.url), Total: -1, Err: err})
		r.Outcome, r.Err = Failed, err
	}
	return r
}

func (c *Cache) fetch(ctx context.Context, f feed, progress func(Event)) (FeedResult, error) {
	dir, err := c.dir()
	if err != nil {
		return FeedResult{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return FeedResult{}, sextant.Errorf(sextant.EUNAVAILABLE, "update %s: %v", f.title, err)
	}
	path := filepath.Join(dir, f.file)
	m, _ := readMeta(path + ".meta")

	ctx, cancel := context.WithTimeout(ctx, orDuration(c.Timeout, DefaultTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url, nil)
	if err != nil {
		return FeedResult{}, sextant.Errorf(sextant.EINVALID, "update %s: bad URL %q: %v", f.title, redact(f.url), err)
	}
	req.Header.Set("User-Agent", "sextant/"+or(c.Version, "dev"))
	// Only ask "changed since?" about a file we got from this URL and can
	// still read; otherwise a 304 would pin a broken or foreign copy.
	conditional := false
	if m.URL == f.url && (m.ETag != "" || m.LastModified != "") && validFile(path, f) {
		conditional = true
		if m.ETag != "" {
			req.Header.Set("If-None-Match", m.ETag)
		}
		if m.LastModified != "" {
			req.Header.Set("If-Modified-Since", m.LastModified)
		}
	}
	progress(Event{Feed: f.name, Kind: EventChecking, URL: redact(f.url), Total: -1})
	client := c.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return FeedResult{}, c.netError(ctx, f, err)
	}
	defer resp.Body.Close()

	now := c.now()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		if !conditional {
			return FeedResult{}, sextant.Errorf(sextant.EUNAVAILABLE, "update %s: GET %s: 304 Not Modified to an unconditional request", f.title, redact(f.url))
		}
		m.FetchedAt = now
		if err := writeMeta(path+".meta", m); err != nil {
			return FeedResult{}, sextant.Errorf(sextant.EUNAVAILABLE, "update %s: %v", f.title, err)
		}
		progress(Event{Feed: f.name, Kind: EventNotModified, URL: redact(f.url), Total: -1})
		return FeedResult{Outcome: NotModified, FetchedAt: now}, nil
	case resp.StatusCode == http.StatusTooManyRequests:
		return FeedResult{}, sextant.Errorf(sextant.ERATELIMITED, "update %s: GET %s: %s", f.title, redact(f.url), resp.Status)
	case resp.StatusCode != http.StatusOK:
		return FeedResult{}, sextant.Errorf(sextant.EUNAVAILABLE, "update %s: GET %s: %s", f.title, redact(f.url), resp.Status)
	}

	n, err := c.download(ctx, f, dir, path, resp, progress)
	if err != nil {
		return FeedResult{}, err
	}
	// The data file is renamed into place before its sidecar is written:
	// a crash in between leaves an old ETag beside a new file, which costs
	// one needless download, never a 304 pinning stale data.
	m = meta{
		URL:          f.url,
		ETag:         resp.Header.Get("ETag"),
		LastModified: resp.Header.Get("Last-Modified"),
		FetchedAt:    now,
		DownloadedAt: now,
		Size:         n,
	}
	if err := writeMeta(path+".meta", m); err != nil {
		return FeedResult{}, sextant.Errorf(sextant.EUNAVAILABLE, "update %s: %v", f.title, err)
	}
	progress(Event{Feed: f.name, Kind: EventUpdated, URL: redact(f.url), Bytes: n, Total: n})
	return FeedResult{Outcome: Updated, Bytes: n, FetchedAt: now}, nil
}

// download writes the body to a temporary file beside path, reads it back
// with the feed's parser, and only then renames it over path.
func (c *Cache) download(ctx context.Context, f feed, dir, path string, resp *http.Response, progress func(Event)) (int64, error) {
	tmp, err := os.CreateTemp(dir, "."+f.file+".*.tmp")
	if err != nil {
		return 0, sextant.Errorf(sextant.EUNAVAILABLE, "update %s: %v", f.title, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	defer tmp.Close()

	limit := c.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	pr := &progressReader{r: resp.Body, every: 256 << 10, report: func(n int64) {
		progress(Event{Feed: f.name, Kind: EventDownloading, URL: redact(f.url), Bytes: n, Total: resp.ContentLength})
	}}
	n, err := io.Copy(tmp, io.LimitReader(pr, limit+1))
	if err != nil {
		return 0, c.netError(ctx, f, fmt.Errorf("GET %s: download interrupted after %d bytes: %w", redact(f.url), n, err))
	}
	if n > limit {
		return 0, sextant.Errorf(sextant.EINVALID, "update %s: GET %s: body larger than %d bytes; kept the cached copy", f.title, redact(f.url), limit)
	}
	pr.report(n)
	if err := tmp.Sync(); err != nil {
		return 0, sextant.Errorf(sextant.EUNAVAILABLE, "update %s: %v", f.title, err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return 0, sextant.Errorf(sextant.EUNAVAILABLE, "update %s: %v", f.title, err)
	}
	if _, err := f.validate(tmp); err != nil {
		return 0, sextant.Errorf(sextant.EINVALID, "update %s: download from %s is not valid, kept the cached copy: %s", f.title, redact(f.url), sextant.ErrorMessage(err))
	}
	if err := tmp.Close(); err != nil {
		return 0, sextant.Errorf(sextant.EUNAVAILABLE, "update %s: %v", f.title, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return 0, sextant.Errorf(sextant.EUNAVAILABLE, "update %s: %v", f.title, err)
	}
	return n, nil
}

// netError classifies a failed request: the caller's own cancellation is
// returned as such, everything else (including our Timeout) is EUNAVAILABLE.
func (c *Cache) netError(ctx context.Context, f feed, err error) error {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.DeadlineExceeded) {
		return fmt.Errorf("update %s: %w", f.title, cause)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return sextant.Errorf(sextant.EUNAVAILABLE, "update %s: GET %s: timed out: %v", f.title, redact(f.url), err)
	}
	return sextant.Errorf(sextant.EUNAVAILABLE, "update %s: %v", f.title, err)
}

// Load reads what the cache holds. A feed that is not cached is nil, with
// Status saying so; that is not an error. A cached file that cannot be read
// is nil too, with the reason in its FeedStatus.Err and in the returned
// error (the other feed is still returned), so that callers can warn and go
// on without it.
func (c *Cache) Load() (*KEV, *EPSS, Status, error) {
	dir, err := c.dir()
	if err != nil {
		return nil, nil, Status{}, err
	}
	kf, ef := c.feeds()
	var st Status
	var kev *KEV
	var epss *EPSS
	st.KEV = c.status(dir, kf)
	if st.KEV.Present {
		kev, st.KEV.Err = LoadKEVFile(st.KEV.Path)
		if kev != nil {
			st.KEV.Version = kev.CatalogVersion
		}
	}
	st.EPSS = c.status(dir, ef)
	if st.EPSS.Present {
		epss, st.EPSS.Err = LoadEPSSFile(st.EPSS.Path)
		if epss != nil {
			st.EPSS.Version = epss.ModelVersion
		}
	}
	return kev, epss, st, errors.Join(st.KEV.Err, st.EPSS.Err)
}

// status describes a feed's files without parsing the data.
func (c *Cache) status(dir string, f feed) FeedStatus {
	s := FeedStatus{Path: filepath.Join(dir, f.file), MaxAge: f.maxAge, Stale: true}
	fi, err := os.Stat(s.Path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.Err = sextant.Errorf(sextant.EUNAVAILABLE, "read %s: %v", f.title, err)
		}
		return s
	}
	s.Present = true
	s.FetchedAt = fi.ModTime()
	if m, err := readMeta(s.Path + ".meta"); err == nil && !m.FetchedAt.IsZero() {
		s.URL, s.FetchedAt = m.URL, m.FetchedAt
	}
	s.Age = max(c.now().Sub(s.FetchedAt), 0)
	s.Stale = s.Age > s.MaxAge
	return s
}

// LoadKEVFile reads a KEV catalog from a JSON file, as for a --kev flag.
func LoadKEVFile(path string) (*KEV, error) {
	f, err := openFeedFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	k, err := ReadKEV(f)
	if err != nil {
		return nil, withPath(path, err)
	}
	return k, nil
}

// LoadEPSSFile reads EPSS scores from a CSV file, plain or gzip, as for an
// --epss flag.
func LoadEPSSFile(path string) (*EPSS, error) {
	f, err := openFeedFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	e, err := ReadEPSS(f)
	if err != nil {
		return nil, withPath(path, err)
	}
	return e, nil
}

func openFeedFile(path string) (*os.File, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, sextant.Errorf(sextant.ENOTFOUND, "%s: no such file", path)
	}
	if err != nil {
		return nil, sextant.Errorf(sextant.EUNAVAILABLE, "%v", err)
	}
	return f, nil
}

// withPath puts the file name in front of a parse error, keeping its code.
func withPath(path string, err error) error {
	return sextant.Errorf(sextant.ErrorCode(err), "%s: %s", path, sextant.ErrorMessage(err))
}

// validFile reports whether the cached data file exists and parses.
func validFile(path string, f feed) bool {
	fh, err := os.Open(path)
	if err != nil {
		return false
	}
	defer fh.Close()
	_, err = f.validate(fh)
	return err == nil
}

// meta is the sidecar of a cached data file; see Cache.
type meta struct {
	URL          string    `json:"url"`
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	FetchedAt    time.Time `json:"fetched_at"`
	DownloadedAt time.Time `json:"downloaded_at"`
	Size         int64     `json:"size"`
}

func readMeta(path string) (meta, error) {
	var m meta
	b, err := os.ReadFile(path)
	if err != nil {
		return m, err
	}
	err = json.Unmarshal(b, &m)
	return m, err
}

// writeMeta replaces the sidecar atomically, like the data file.
func writeMeta(path string, m meta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func (c *Cache) dir() (string, error) {
	if c.Dir != "" {
		return c.Dir, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", sextant.Errorf(sextant.EINVALID, "no cache directory for threat intel (%v); set one", err)
	}
	return filepath.Join(base, "sextant", "intel"), nil
}

func (c *Cache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// progressReader reports the running byte count at most every `every`
// bytes, so that a callback is not called for each small read.
type progressReader struct {
	r      io.Reader
	n      int64
	next   int64
	every  int64
	report func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if p.n >= p.next {
		p.report(p.n)
		p.next = p.n + p.every
	}
	return n, err
}

// redact hides a password in a URL before it goes into a message.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Redacted()
}

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

func orDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
