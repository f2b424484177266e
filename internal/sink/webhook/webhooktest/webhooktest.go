// Package webhooktest is a fake receiver of Standard Webhooks for tests: an
// httptest server that verifies each delivery's signature over the raw
// body, records every delivery, and, like a careful receiver, processes
// each webhook-id once.
//
// It fails the test (t.Errorf) on deliveries no receiver could accept: not
// a POST of application/json, a missing or malformed webhook-id,
// webhook-timestamp or webhook-signature header, a timestamp more than five
// minutes from the fake's clock, a body that is not a JSON event with a
// known type. A well-formed signature made with another secret gets 401
// without failing the test, so that clients can be tested against it.
package webhooktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sextant-dev/sextant/internal/sink/webhook"
)

// Tolerance is how far webhook-timestamp may be from the fake's clock.
const Tolerance = 5 * time.Minute

// Server is a fake webhook receiver. Its methods are safe for concurrent
// use.
type Server struct {
	// URL is the endpoint to deliver to.
	URL string

	t      testing.TB
	srv    *httptest.Server
	secret string
	key    []byte

	mu         sync.Mutex
	now        func() time.Time
	assign     bool
	fails      []Failure
	deliveries []Delivery
	processed  map[string]string // webhook-id → ticket id answered ("" if none)
	order      []string
}

// Failure is a canned answer that replaces the next normal one.
type Failure struct {
	Status int
	// Body is sent as is; RetryAfter, when set, as the Retry-After header.
	Body       string
	RetryAfter string
}

// Delivery is one request the fake received.
type Delivery struct {
	// ID, Timestamp and Signature are the three webhook-* headers.
	ID        string
	Timestamp string
	Signature string
	// Type is the event type read from the body.
	Type string
	// Body is the raw body, as signed.
	Body []byte
	// Status is what the fake answered.
	Status int
}

// New starts a fake receiver that verifies signatures with secret
// ("whsec_…"). It stops when the test ends.
func New(t testing.TB, secret string) *Server {
	t.Helper()
	b64, ok := strings.CutPrefix(secret, "whsec_")
	key, err := base64.StdEncoding.DecodeString(b64)
	if !ok || err != nil {
		t.Fatalf("webhooktest: secret %q is not whsec_<base64>", secret)
	}
	s := &Server{t: t, secret: secret, key: key, now: time.Now, processed: map[string]string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	s.URL = s.srv.URL + "/hooks/sextant"
	return s
}

// Config returns a client configuration for the fake: its URL and secret.
func (s *Server) Config() webhook.Config {
	return webhook.Config{URL: s.URL, Secret: s.secret}
}

// SetClock sets the clock the timestamp window is checked against
// (time.Now by default).
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// AssignIDs makes the fake answer each new ticket.created with
// {"id": "T-<n>", "url": "<URL>/tickets/T-<n>"}, and a repeated one (same
// webhook-id) with the same id, as a receiver that opens tickets would.
func (s *Server) AssignIDs(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.assign = on
}

// FailNext queues f: the next delivery is answered with it instead of
// being processed (after the checks on the request). Failures queue in
// order.
func (s *Server) FailNext(f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fails = append(s.fails, f)
}

// Deliveries returns every delivery received so far, in order, failed
// ones included.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// Processed returns the deliveries the fake processed: the first accepted
// delivery of each webhook-id, in order. Retries of a processed id are
// answered 200 but not processed again.
func (s *Server) Processed() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Delivery
	seen := map[string]bool{}
	for _, d := range s.deliveries {
		if d.Status/100 == 2 && !seen[d.ID] {
			seen[d.ID] = true
			out = append(out, d)
		}
	}
	return out
}

var eventTypes = map[string]bool{"ticket.created": true, "ticket.commented": true, "ticket.closed": true, "ticket.reopened": true}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.t.Errorf("webhooktest: read request body: %v", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := Delivery{ID: r.Header.Get("webhook-id"), Timestamp: r.Header.Get("webhook-timestamp"), Signature: r.Header.Get("webhook-signature"), Body: body}
	answer := func(status int, body string) {
		d.Status = status
		s.deliveries = append(s.deliveries, d)
		if body != "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
	reject := func(status int, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		s.t.Errorf("webhooktest: %s", msg)
		answer(status, "")
	}
	if r.Method != http.MethodPost {
		reject(http.StatusMethodNotAllowed, "method %s, want POST", r.Method)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		reject(http.StatusUnsupportedMediaType, "Content-Type %q, want application/json", ct)
		return
	}
	if d.ID == "" || d.Timestamp == "" || d.Signature == "" {
		reject(http.StatusBadRequest, "missing webhook-id, webhook-timestamp or webhook-signature (got %q, %q, %q)", d.ID, d.Timestamp, d.Signature)
		return
	}
	sec, err := strconv.ParseInt(d.Timestamp, 10, 64)
	if err != nil || strconv.FormatInt(sec, 10) != d.Timestamp {
		reject(http.StatusBadRequest, "webhook-timestamp %q is not Unix seconds", d.Timestamp)
		return
	}
	if at, now := time.Unix(sec, 0), s.now(); at.Before(now.Add(-Tolerance)) || at.After(now.Add(Tolerance)) {
		reject(http.StatusBadRequest, "webhook-timestamp %s is more than %s from now (%s)", at.UTC(), Tolerance, now.UTC())
		return
	}
	sigs, ok := parseSignatures(d.Signature)
	if !ok {
		reject(http.StatusBadRequest, "webhook-signature %q is not space-separated v1,<base64 of 32 bytes>", d.Signature)
		return
	}
	var ev struct {
		Type      string          `json:"type"`
		Timestamp string          `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		reject(http.StatusBadRequest, "body is not a JSON object: %v", err)
		return
	}
	d.Type = ev.Type
	if !eventTypes[ev.Type] || ev.Timestamp == "" || len(ev.Data) == 0 {
		reject(http.StatusBadRequest, "body %s is not an event: want a known type, a timestamp and data", body)
		return
	}

	want := Sign(s.key, d.ID, d.Timestamp, body)
	verified := false
	for _, sig := range sigs {
		verified = verified || hmac.Equal(sig, want)
	}
	if !verified {
		answer(http.StatusUnauthorized, `{"error":"signature mismatch"}`)
		return
	}
	if len(s.fails) > 0 {
		f := s.fails[0]
		s.fails = s.fails[1:]
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		answer(f.Status, f.Body)
		return
	}
	id, seen := s.processed[d.ID]
	if !seen {
		if s.assign && ev.Type == "ticket.created" {
			id = fmt.Sprintf("T-%d", len(s.order)+1)
		}
		s.processed[d.ID] = id
		s.order = append(s.order, d.ID)
	}
	if id == "" {
		answer(http.StatusNoContent, "")
		return
	}
	b, _ := json.Marshal(map[string]string{"id": id, "url": s.srv.URL + "/tickets/" + id})
	answer(http.StatusOK, string(b))
}

// parseSignatures reads the space-separated "v1,<base64>" entries of a
// webhook-signature header. Entries of other versions are skipped.
func parseSignatures(h string) ([][]byte, bool) {
	var sigs [][]byte
	for _, f := range strings.Fields(h) {
		v, b64, ok := strings.Cut(f, ",")
		if !ok {
			return nil, false
		}
		if v != "v1" {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(sig) != sha256.Size {
			return nil, false
		}
		sigs = append(sigs, sig)
	}
	return sigs, len(sigs) > 0
}

// Sign returns the HMAC-SHA256, keyed with key, of "<id>.<timestamp>.<body>":
// the bytes a v1 webhook-signature encodes.
func Sign(key []byte, id, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + timestamp + "."))
	m.Write(body)
	return m.Sum(nil)
}
