package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	sxhttp "github.com/sextant-dev/sextant/internal/http"
	"github.com/sextant-dev/sextant/internal/intake"
)

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one sample", []time.Duration{7}, 99, 7},
		{"p50 of 1..100", hundred, 50, 50 * time.Millisecond},
		{"p90 of 1..100", hundred, 90, 90 * time.Millisecond},
		{"p99 of 1..100", hundred, 99, 99 * time.Millisecond},
		{"p100 of 1..100", hundred, 100, 100 * time.Millisecond},
		{"p99 of 10 is the largest", hundred[:10], 99, 10 * time.Millisecond},
		{"p50 of 3 is the middle", []time.Duration{1, 2, 3}, 50, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%d samples, %v) = %v, want %v", len(tt.sorted), tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarise(t *testing.T) {
	// 1..100 ms split unevenly and out of order across two workers.
	a, b := newTally(), newTally()
	for i := 100; i >= 1; i-- {
		tl := a
		if i%3 == 0 {
			tl = b
		}
		tl.sent++
		tl.accepted++
		tl.findings += 2
		tl.latencies = append(tl.latencies, time.Duration(i)*time.Millisecond)
	}
	b.sent += 5
	b.fail("503", "first")
	b.fail("503", "second")
	a.fail("transport", "refused")
	b.fail("503", "third")
	b.fail("transport", "reset")
	opts := options{Mode: modeReports, Concurrency: 2, Findings: 2}
	got := summarise(opts, []*tally{a, b}, 10*time.Second)
	want := Result{
		Mode: modeReports, Concurrency: 2, FindingsPerPayload: 2, Seconds: 10,
		Sent: 105, Accepted: 100, FindingsAccepted: 200,
		Errors:            map[string]int{"503": 3, "transport": 2},
		ErrorSamples:      map[string]string{"503": "first", "transport": "refused"},
		RequestsPerSecond: 10.5, PayloadsPerSecond: 10, FindingsPerSecond: 20,
		Latency: Latency{Samples: 100, P50: 50, P90: 90, P99: 99, Max: 100},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summarise() mismatch (-want +got):\n%s", diff)
	}
}

// receiver is an httptest server that answers as sextant does: it reads
// each payload with the real intake reader and answers 202 with a receipt,
// except every failEvery-th request, which gets a 503.
type receiver struct {
	t         *testing.T
	failEvery int64
	calls     atomic.Int64
	mu        sync.Mutex
	artifacts map[string]bool
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := rc.calls.Add(1)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		rc.t.Errorf("read body: %v", err)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		rc.t.Errorf("Content-Type = %q, want application/json", ct)
	}
	rep, err := intake.Read("payload", bytes.NewReader(body), "check", intake.Options{})
	if err != nil {
		rc.t.Errorf("intake.Read(generated report) = %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if rep.Format != "trivy-json" || len(rep.Scans) != 1 {
		rc.t.Errorf("intake.Read(generated report): format %q, %d scans; want trivy-json, 1", rep.Format, len(rep.Scans))
	} else {
		rc.mu.Lock()
		rc.artifacts[rep.Scans[0].Record.Artifact.Key()] = true
		rc.mu.Unlock()
	}
	if rc.failEvery > 0 && n%rc.failEvery == 0 {
		http.Error(w, `{"error":{"code":"unavailable","message":"database away"}}`, http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintf(w, `{"ingest_id":"ing_%d","status":"queued","findings":%d,"format":%q}`, n, rep.Findings, rep.Format)
}

func TestMeasureReportsClosedLoop(t *testing.T) {
	rc := &receiver{t: t, failEvery: 5, artifacts: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/reports" || r.Header.Get("Authorization") != "Bearer sxt_test" {
			t.Errorf("%s %s with Authorization %q, want POST /v1/reports with the token", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		}
		rc.ServeHTTP(w, r)
	}))
	defer srv.Close()
	o := options{URL: srv.URL, Token: "sxt_test", Mode: modeReports, Concurrency: 4, Requests: 50, Findings: 30, Timeout: time.Minute}
	if err := o.check(); err != nil {
		t.Fatalf("check() = %v", err)
	}
	res, err := measure(context.Background(), o, "test")
	if err != nil {
		t.Fatalf("measure() = %v", err)
	}
	if res.Sent != 50 || res.Accepted != 40 || res.FindingsAccepted != 40*30 || res.Latency.Samples != 40 {
		t.Errorf("measure() sent %d, accepted %d, findings %d, samples %d; want 50, 40, 1200, 40",
			res.Sent, res.Accepted, res.FindingsAccepted, res.Latency.Samples)
	}
	if diff := cmp.Diff(map[string]int{"503": 10}, res.Errors); diff != "" {
		t.Errorf("measure() errors (-want +got):\n%s", diff)
	}
	if len(rc.artifacts) != 50 {
		t.Errorf("the 50 reports named %d distinct artifacts, want 50", len(rc.artifacts))
	}
	if l := res.Latency; !(l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max) {
		t.Errorf("latency percentiles out of order: %+v", l)
	}
	var text bytes.Buffer
	if err := res.writeText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"50 sent, 40 accepted (202), errors: 503×10", "(1200 in all)", "database away"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("writeText() = %q, want it to contain %q", text.String(), want)
		}
	}
}

func TestMeasureWebhookOpenLoop(t *testing.T) {
	t.Setenv("LOADGEN_TEST_SECRET", "s3cret-hmac-key")
	src, err := sxhttp.SourceConfig{Name: "bench", Scheme: sxhttp.SchemeHMAC, Secret: sxhttp.SecretRef{Env: "LOADGEN_TEST_SECRET"}}.Load()
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{t: t, artifacts: map[string]bool{}}
	mux := http.NewServeMux()
	// The real signature check: a bad signature is a 401, counted as an error.
	mux.Handle("POST /v1/webhooks/bench", sxhttp.Authenticate(src, rc))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	o := options{URL: srv.URL, Mode: modeWebhook, Source: "bench", Secret: []byte("s3cret-hmac-key"),
		Rate: 2000, MaxInFlight: 4, Requests: 20, Findings: 1, Timeout: time.Minute}
	if err := o.check(); err != nil {
		t.Fatalf("check() = %v", err)
	}
	res, err := measure(context.Background(), o, "test")
	if err != nil {
		t.Fatalf("measure() = %v", err)
	}
	if res.Sent != 20 || res.Accepted != 20 || res.FindingsAccepted != 20 || len(res.Errors) != 0 {
		t.Errorf("measure() sent %d, accepted %d, findings %d, errors %v (%v); want 20, 20, 20, none",
			res.Sent, res.Accepted, res.FindingsAccepted, res.Errors, res.ErrorSamples)
	}

	// A wrong key is refused by the server and counted by status.
	o.Secret = []byte("wrong")
	o.Requests = 3
	res, err = measure(context.Background(), o, "test-wrong")
	if err != nil {
		t.Fatalf("measure() = %v", err)
	}
	if res.Accepted != 0 || res.Errors["401"] != 3 {
		t.Errorf("measure() with a wrong key: accepted %d, errors %v; want 0, 401×3", res.Accepted, res.Errors)
	}
}

func TestRunFlags(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name string
		args []string
	}{
		{"reports without a token", []string{"-mode", "reports"}},
		{"webhook without a source", []string{"-mode", "webhook", "-secret-env", "X"}},
		{"webhook with an unset secret", []string{"-mode", "webhook", "-webhook-source", "bench", "-secret-env", "UNSET"}},
		{"unknown mode", []string{"-mode", "grpc", "-token", "t"}},
		{"no bound", []string{"-token", "t", "-duration", "0"}},
		{"bad output", []string{"-token", "t", "-o", "yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := run(context.Background(), append(tt.args, "-url", "http://127.0.0.1:1"), getenv, io.Discard); err == nil {
				t.Errorf("run(%q) = nil, want an error", tt.args)
			}
		})
	}
}

func TestProcSampling(t *testing.T) {
	rss, err := readRSS(os.Getpid())
	if err != nil || rss <= 0 {
		t.Errorf("readRSS(self) = %d, %v; want a positive size", rss, err)
	}
	if _, err := readCPU(os.Getpid()); err != nil {
		t.Errorf("readCPU(self) = %v", err)
	}
	s, err := startSampler(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	ps := s.Stop()
	if ps.Samples < 2 || len(ps.RSSMiB) != ps.Samples || ps.RSSMaxMiB < ps.RSSStartMiB || ps.RSSMaxMiB < ps.RSSEndMiB {
		t.Errorf("sampler: %+v; want at least 2 samples, each in RSSMiB, and max ≥ start, end", ps)
	}
}
