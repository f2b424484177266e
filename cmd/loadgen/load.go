package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sxhttp "github.com/sextant-dev/sextant/internal/http"
)

// Modes: what the load generator posts.
const (
	modeReports = "reports" // POST /v1/reports with an API token
	modeWebhook = "webhook" // POST /v1/webhooks/{source}, HMAC-signed
)

// options is one load run.
type options struct {
	URL    string // the server's base URL
	Token  string // API token, for reports
	Mode   string
	Source string // webhook source name
	Secret []byte // webhook HMAC key
	// Rate is the requests started per second, on a fixed schedule whatever
	// the answers (open loop); 0 means closed loop: Concurrency workers
	// each send their next request when the last is answered.
	Rate        float64
	Concurrency int
	// MaxInFlight bounds the requests outstanding in open loop; a request
	// due while all are taken waits, and its wait counts in its latency.
	MaxInFlight int
	// Duration and Requests end the run, whichever comes first; zero is
	// no bound (one of them must be set).
	Duration time.Duration
	Requests int
	Findings int           // findings per generated report
	Timeout  time.Duration // per request
	PID      int           // the server's process, sampled if > 0
}

// check reports what is wrong with o, if anything.
func (o options) check() error {
	var errs []string
	switch o.Mode {
	case modeReports:
		if o.Token == "" {
			errs = append(errs, "-mode reports needs an API token: -token or SEXTANT_TOKEN")
		}
	case modeWebhook:
		if o.Source == "" {
			errs = append(errs, "-mode webhook needs -webhook-source")
		}
		if len(o.Secret) == 0 {
			errs = append(errs, "-mode webhook needs the HMAC key: -secret-env NAME, with NAME set")
		}
	default:
		errs = append(errs, fmt.Sprintf("-mode %q: want reports or webhook", o.Mode))
	}
	if o.Rate < 0 {
		errs = append(errs, "-rate is negative")
	}
	if o.Rate == 0 && o.Concurrency < 1 {
		errs = append(errs, "-concurrency must be at least 1")
	}
	if o.Rate > 0 && o.MaxInFlight < 1 {
		errs = append(errs, "-max-inflight must be at least 1")
	}
	if o.Duration <= 0 && o.Requests <= 0 {
		errs = append(errs, "give -duration or -requests")
	}
	if o.Findings < 0 {
		errs = append(errs, "-findings is negative")
	}
	if _, err := url.Parse(o.URL); err != nil || !strings.HasPrefix(o.URL, "http") {
		errs = append(errs, fmt.Sprintf("-url %q: want http://host:port", o.URL))
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// loader sends the requests of one run.
type loader struct {
	opts     options
	client   *http.Client
	endpoint string
	gen      *reportGen
	seq      atomic.Uint64 // reports made
	issued   atomic.Int64  // requests claimed against opts.Requests
}

func newLoader(opts options, run string) *loader {
	conns := opts.Concurrency
	if opts.Rate > 0 {
		conns = opts.MaxInFlight
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = conns
	tr.MaxIdleConnsPerHost = conns
	tr.DisableCompression = true
	endpoint := strings.TrimRight(opts.URL, "/") + "/v1/reports"
	if opts.Mode == modeWebhook {
		endpoint = strings.TrimRight(opts.URL, "/") + "/v1/webhooks/" + url.PathEscape(opts.Source)
	}
	return &loader{
		opts:     opts,
		client:   &http.Client{Transport: tr, Timeout: opts.Timeout},
		endpoint: endpoint,
		gen:      newReportGen(run, opts.Findings, time.Now()),
	}
}

// tally is what one worker saw; workers keep their own and they are merged
// at the end, so that recording takes no lock.
type tally struct {
	sent, accepted int
	findings       int
	latencies      []time.Duration // of the 202s
	errors         map[string]int
	errorSamples   map[string]string
}

func newTally() *tally {
	return &tally{errors: map[string]int{}, errorSamples: map[string]string{}}
}

func (t *tally) fail(key, msg string) {
	t.errors[key]++
	if _, ok := t.errorSamples[key]; !ok {
		t.errorSamples[key] = msg
	}
}

// claim reports whether another request may be sent under opts.Requests.
func (l *loader) claim() bool {
	return l.opts.Requests <= 0 || l.issued.Add(1) <= int64(l.opts.Requests)
}

// send sends one request and records it in t. Its latency is counted from
// due: the time it was scheduled to go (open loop) or went (closed loop).
func (l *loader) send(ctx context.Context, t *tally, due time.Time) {
	body := l.gen.report(l.seq.Add(1))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.endpoint, bytes.NewReader(body))
	if err != nil {
		t.sent++
		t.fail("request", err.Error())
		return
	}
	req.Header.Set("Content-Type", "application/json")
	switch l.opts.Mode {
	case modeReports:
		req.Header.Set("Authorization", "Bearer "+l.opts.Token)
	case modeWebhook:
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		req.Header.Set(sxhttp.DefaultTimestampHeader, ts)
		req.Header.Set(sxhttp.DefaultSignatureHeader, "sha256="+hex.EncodeToString(sxhttp.Signature(l.opts.Secret, ts, body)))
	}
	t.sent++
	resp, err := l.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			t.sent-- // interrupted, not answered: not a measurement
			return
		}
		t.fail("transport", err.Error())
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		t.fail(strconv.Itoa(resp.StatusCode), strings.TrimSpace(string(msg)))
		return
	}
	// The receipt, {"ingest_id","status","findings","format"}, says how
	// many findings the server counted.
	var rec struct {
		Findings int `json:"findings"`
	}
	err = json.NewDecoder(resp.Body).Decode(&rec)
	_, _ = io.Copy(io.Discard, resp.Body)
	if err != nil {
		t.fail("bad-receipt", err.Error())
		return
	}
	lat := time.Since(due)
	t.accepted++
	t.findings += rec.Findings
	t.latencies = append(t.latencies, lat)
}

// run sends the load and returns the tallies of its workers and how long
// it took, from the first request to the last answer.
func (l *loader) run(ctx context.Context) ([]*tally, time.Duration) {
	start := time.Now()
	var tallies []*tally
	if l.opts.Rate > 0 {
		tallies = l.openLoop(ctx, start)
	} else {
		tallies = l.closedLoop(ctx, start)
	}
	return tallies, time.Since(start)
}

// closedLoop runs opts.Concurrency workers, each sending its next request
// as soon as the last is answered, until the run ends.
func (l *loader) closedLoop(ctx context.Context, start time.Time) []*tally {
	end := time.Time{}
	if l.opts.Duration > 0 {
		end = start.Add(l.opts.Duration)
	}
	tallies := make([]*tally, l.opts.Concurrency)
	var wg sync.WaitGroup
	for i := range tallies {
		t := newTally()
		tallies[i] = t
		wg.Go(func() {
			for ctx.Err() == nil && (end.IsZero() || time.Now().Before(end)) && l.claim() {
				l.send(ctx, t, time.Now())
			}
		})
	}
	wg.Wait()
	return tallies
}

// openLoop starts requests at opts.Rate per second on a fixed schedule,
// whatever the answers, on a pool of opts.MaxInFlight workers. Request i is
// due at start + i/rate; its latency runs from then, so time spent waiting
// for a free worker, or for a slow server, is counted rather than omitted.
func (l *loader) openLoop(ctx context.Context, start time.Time) []*tally {
	due := make(chan time.Time, l.opts.MaxInFlight)
	tallies := make([]*tally, l.opts.MaxInFlight)
	var wg sync.WaitGroup
	for i := range tallies {
		t := newTally()
		tallies[i] = t
		wg.Go(func() {
			for d := range due {
				l.send(ctx, t, d)
			}
		})
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
schedule:
	for i := 0; ; i++ {
		at := start.Add(time.Duration(float64(i) * float64(time.Second) / l.opts.Rate))
		if l.opts.Duration > 0 && at.Sub(start) >= l.opts.Duration || !l.claim() {
			break
		}
		if wait := time.Until(at); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				break schedule
			case <-timer.C:
			}
		}
		select {
		case due <- at:
		case <-ctx.Done():
			break schedule
		}
	}
	close(due)
	wg.Wait()
	return tallies
}
