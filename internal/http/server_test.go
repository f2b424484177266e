package http_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/audit"
	sxhttp "github.com/sextant-dev/sextant/internal/http"
	"github.com/sextant-dev/sextant/internal/intake"
	"github.com/sextant-dev/sextant/internal/service"
	"github.com/sextant-dev/sextant/internal/sqlite"
)

const webhookKey = "whsec-server-test"

type env struct {
	t      *testing.T
	db     *sqlite.DB
	svc    *service.Service
	srv    *httptest.Server
	tokens map[string]string // role → secret
	now    time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "sextant.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	reg := prometheus.NewRegistry()
	metrics := service.NewMetrics(reg)
	svc := service.New(db, audit.NewLog(db), intake.Options{})
	svc.Metrics = metrics
	svc.PollInterval = 10 * time.Millisecond
	t.Setenv("SEXTANT_TEST_WEBHOOK_KEY", webhookKey)
	hook, err := sxhttp.SourceConfig{Name: "wiz", Scheme: sxhttp.SchemeHMAC, Secret: sxhttp.SecretRef{Env: "SEXTANT_TEST_WEBHOOK_KEY"}, MaxBodyBytes: 1 << 20}.Load()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, svc: svc, tokens: map[string]string{}, now: time.Now()}
	api := &sxhttp.Server{
		Service: svc, Store: db, Tokens: db,
		Webhooks:       map[string]sxhttp.Config{"wiz": hook},
		MaxReportBytes: 2 << 20,
		Ready:          db.Ping,
		Metrics:        metrics, Gatherer: reg,
	}
	e.srv = httptest.NewServer(api.Handler())
	t.Cleanup(e.srv.Close)
	for _, role := range []sextant.Role{sextant.RoleViewer, sextant.RoleAnalyst, sextant.RoleAdmin} {
		e.tokens[string(role)] = e.token(string(role), role, time.Time{})
	}
	return e
}

func (e *env) token(name string, role sextant.Role, expires time.Time) string {
	e.t.Helper()
	secret, hash, err := sextant.NewTokenSecret()
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.db.CreateToken(context.Background(), sextant.Token{Name: name, Role: role, CreatedBy: "test", ExpiresAt: expires}, hash); err != nil {
		e.t.Fatal(err)
	}
	return secret
}

func (e *env) do(method, path, token, contentType string, body []byte) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// errorOf decodes an error answer, failing unless it has the JSON shape.
func errorOf(t *testing.T, b []byte) (code, msg string) {
	t.Helper()
	var body struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(b, &body); err != nil || body.Error.Code == "" || body.Error.Message == "" {
		t.Fatalf("error body %q is not {\"error\":{\"code\",\"message\"}}", b)
	}
	return body.Error.Code, body.Error.Message
}

func (e *env) auditActions() []string {
	var out []string
	for en, err := range e.db.Entries(context.Background()) {
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, en.Action+" "+en.Actor)
	}
	return out
}

func (e *env) drain() {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); e.svc.RunWorkers(ctx, 2) }()
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := e.db.IngestCounts(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		if c[sextant.IngestQueued]+c[sextant.IngestProcessing] == 0 {
			break
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("ingests pending after a minute: %v", c)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	wg.Wait()
}

func report(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/trivy-two-vulns.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReportIntakeAndReads(t *testing.T) {
	e := newEnv(t)
	resp, body := e.do("POST", "/v1/reports", e.tokens["analyst"], "application/json", report(t))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /v1/reports = %d %s, want 202", resp.StatusCode, body)
	}
	var rec struct {
		IngestID string `json:"ingest_id"`
		Status   string `json:"status"`
		Findings int    `json:"findings"`
	}
	if err := json.Unmarshal(body, &rec); err != nil || rec.IngestID == "" || rec.Findings != 2 || rec.Status != "queued" {
		t.Fatalf("POST /v1/reports body = %s, want ingest_id, queued, 2 findings", body)
	}
	if loc := resp.Header.Get("Location"); loc != "/v1/ingests/"+rec.IngestID {
		t.Errorf("Location = %q", loc)
	}
	e.drain()

	resp, body = e.do("GET", "/v1/ingests/"+rec.IngestID, e.tokens["viewer"], "", nil)
	var ing sextant.Ingest
	if resp.StatusCode != 200 || json.Unmarshal(body, &ing) != nil || ing.Status != sextant.IngestDone || ing.Findings != 2 {
		t.Fatalf("GET ingest = %d %s, want done with 2 findings", resp.StatusCode, body)
	}

	resp, body = e.do("GET", "/v1/findings?status=open&limit=1", e.tokens["viewer"], "", nil)
	var page sextant.Page[sextant.FindingRecord]
	if resp.StatusCode != 200 || json.Unmarshal(body, &page) != nil || len(page.Items) != 1 || page.Next == "" {
		t.Fatalf("GET /v1/findings?limit=1 = %d %s, want one item and a cursor", resp.StatusCode, body)
	}
	first := page.Items[0]
	resp, body = e.do("GET", "/v1/findings?status=open&limit=1&cursor="+page.Next, e.tokens["viewer"], "", nil)
	page = sextant.Page[sextant.FindingRecord]{}
	if resp.StatusCode != 200 || json.Unmarshal(body, &page) != nil || len(page.Items) != 1 || page.Items[0].Finding.ID == first.Finding.ID || page.Next != "" {
		t.Fatalf("second page = %d %s, want the other finding", resp.StatusCode, body)
	}
	if first.Score.Value < page.Items[0].Score.Value {
		t.Errorf("findings not sorted by score: %v then %v", first.Score.Value, page.Items[0].Score.Value)
	}

	resp, body = e.do("GET", "/v1/actions", e.tokens["viewer"], "", nil)
	var actions sextant.Page[sextant.ActionRecord]
	if resp.StatusCode != 200 || json.Unmarshal(body, &actions) != nil || len(actions.Items) == 0 {
		t.Fatalf("GET /v1/actions = %d %s, want actions", resp.StatusCode, body)
	}
	a := actions.Items[0]
	resp, body = e.do("GET", "/v1/actions/"+a.Action.ID, e.tokens["viewer"], "", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), a.Action.ID) {
		t.Fatalf("GET /v1/actions/{id} = %d %s", resp.StatusCode, body)
	}

	// A status change by an analyst, with its history.
	id := first.Finding.ID
	resp, body = e.do("PATCH", "/v1/findings/"+id, e.tokens["analyst"], "application/json",
		[]byte(`{"status":"false_positive","reason":"the vulnerable function is not reachable"}`))
	if resp.StatusCode != 200 {
		t.Fatalf("PATCH = %d %s", resp.StatusCode, body)
	}
	resp, body = e.do("GET", "/v1/findings/"+id, e.tokens["viewer"], "", nil)
	var rec2 sextant.FindingRecord
	if resp.StatusCode != 200 || json.Unmarshal(body, &rec2) != nil {
		t.Fatalf("GET finding = %d %s", resp.StatusCode, body)
	}
	if rec2.Status != sextant.StatusFalsePositive || len(rec2.History) != 2 || rec2.History[1].Actor != "token:analyst" || len(rec2.Attributions) != 1 {
		t.Errorf("finding after PATCH = status %s, history %+v, attributions %d", rec2.Status, rec2.History, len(rec2.Attributions))
	}
	resp, _ = e.do("GET", "/v1/findings?status=false_positive", e.tokens["viewer"], "", nil)
	if resp.StatusCode != 200 {
		t.Errorf("filter by status = %d", resp.StatusCode)
	}

	trail := e.auditActions()
	for _, want := range []string{"ingest.receive token:analyst", "ingest.process sextant", "finding.status token:analyst"} {
		found := false
		for _, got := range trail {
			found = found || got == want
		}
		if !found {
			t.Errorf("audit trail %q lacks %q", trail, want)
		}
	}
}

// Every refusal answers the right status with a clear JSON message and
// stores nothing but an audit entry.
func TestRefusals(t *testing.T) {
	e := newEnv(t)
	expired := e.token("old", sextant.RoleAdmin, time.Now().Add(-time.Hour))
	revoked := e.token("gone", sextant.RoleAdmin, time.Time{})
	toks, _ := e.db.Tokens(context.Background())
	for _, tk := range toks {
		if tk.Name == "gone" {
			if err := e.db.RevokeToken(context.Background(), tk.ID, "test"); err != nil {
				t.Fatal(err)
			}
		}
	}
	big := bytes.Repeat([]byte(" "), 3<<20)
	tests := []struct {
		name, method, path, token, ctype string
		body                             []byte
		status                           int
		code, msg                        string
	}{
		{"no token", "POST", "/v1/reports", "", "application/json", report(t), 401, "unauthorized", "missing Authorization"},
		{"unknown token", "POST", "/v1/reports", "sxt_nope", "application/json", report(t), 401, "unauthorized", "unknown API token"},
		{"expired token", "POST", "/v1/reports", expired, "application/json", report(t), 401, "unauthorized", "expired"},
		{"revoked token", "GET", "/v1/findings", revoked, "", nil, 401, "unauthorized", "revoked"},
		{"viewer pushes", "POST", "/v1/reports", e.tokens["viewer"], "application/json", report(t), 403, "forbidden", "needs analyst"},
		{"viewer patches", "PATCH", "/v1/findings/x", e.tokens["viewer"], "application/json", []byte(`{}`), 403, "forbidden", "needs analyst"},
		{"malformed JSON", "POST", "/v1/reports", e.tokens["analyst"], "application/json", []byte(`{"SchemaVersion": 2, "Results": [{`), 400, "invalid", "parse trivy report: unexpected end of input at byte 34"},
		{"unknown format", "POST", "/v1/reports", e.tokens["analyst"], "application/json", []byte(`{"hello": 1}`), 400, "invalid", ""},
		{"empty body", "POST", "/v1/reports", e.tokens["analyst"], "application/json", nil, 400, "invalid", "empty"},
		{"wrong content type", "POST", "/v1/reports", e.tokens["analyst"], "text/html", report(t), 415, "unsupported_media_type", "text/html"},
		{"oversized", "POST", "/v1/reports", e.tokens["analyst"], "application/json", big, 413, "too_large", "limit"},
		{"bad status", "PATCH", "/v1/findings/x", e.tokens["analyst"], "application/json", []byte(`{"status":"gone","reason":"r"}`), 400, "invalid", "gone"},
		{"no reason", "PATCH", "/v1/findings/x", e.tokens["analyst"], "application/json", []byte(`{"status":"resolved"}`), 400, "invalid", "reason"},
		{"unknown field", "PATCH", "/v1/findings/x", e.tokens["analyst"], "application/json", []byte(`{"status":"resolved","reason":"r","x":1}`), 400, "invalid", "unknown field"},
		{"unknown finding", "PATCH", "/v1/findings/nope", e.tokens["analyst"], "application/json", []byte(`{"status":"resolved","reason":"r"}`), 404, "not_found", "nope"},
		{"bad priority", "GET", "/v1/findings?priority=P9", e.tokens["viewer"], "", nil, 400, "invalid", "P9"},
		{"unknown parameter", "GET", "/v1/findings?stauts=open", e.tokens["viewer"], "", nil, 400, "invalid", "stauts"},
		{"bad cursor", "GET", "/v1/findings?cursor=bm9wZQ", e.tokens["viewer"], "", nil, 400, "invalid", "cursor"},
		{"malformed query", "GET", "/v1/findings?cursor=%%%", e.tokens["viewer"], "", nil, 400, "invalid", "malformed query"},
		{"unknown ingest", "GET", "/v1/ingests/ing_nope", e.tokens["viewer"], "", nil, 404, "not_found", "ing_nope"},
		{"unknown route", "GET", "/v2/things", e.tokens["viewer"], "", nil, 404, "not_found", "no route"},
		{"unknown webhook", "POST", "/v1/webhooks/orca", "", "application/json", report(t), 404, "not_found", "orca"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.auditActions())
			resp, body := e.do(tt.method, tt.path, tt.token, tt.ctype, tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, resp.StatusCode, body, tt.status)
			}
			code, msg := errorOf(t, body)
			if code != tt.code || !strings.Contains(msg, tt.msg) {
				t.Errorf("error = %s %q, want %s containing %q", code, msg, tt.code, tt.msg)
			}
			if tt.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if tt.status == 401 || tt.status == 403 || tt.method == "POST" {
				if after := len(e.auditActions()); after != before+1 {
					t.Errorf("audit entries: %d → %d, want one entry for the refusal", before, after)
				}
			}
		})
	}
	counts, err := e.db.IngestCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for st, n := range counts {
		if n != 0 {
			t.Errorf("refused requests left %d ingests %s", n, st)
		}
	}
	if res, err := audit.Verify(context.Background(), e.db); err != nil || !res.OK() {
		t.Errorf("audit trail after refusals: %+v, %v", res, err)
	}
}

func signed(t *testing.T, body []byte, ts time.Time, key string) http.Header {
	h := http.Header{}
	stamp := strconv.FormatInt(ts.Unix(), 10)
	h.Set("X-Sextant-Timestamp", stamp)
	h.Set("X-Sextant-Signature", "sha256="+hex.EncodeToString(sxhttp.Signature([]byte(key), stamp, body)))
	h.Set("Content-Type", "application/json")
	return h
}

func TestWebhooks(t *testing.T) {
	e := newEnv(t)
	body := report(t)
	post := func(h http.Header, b []byte) (int, []byte) {
		req, _ := http.NewRequest("POST", e.srv.URL+"/v1/webhooks/wiz", bytes.NewReader(b))
		req.Header = h
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}
	if code, out := post(signed(t, body, time.Now(), webhookKey), body); code != 202 || !strings.Contains(string(out), `"findings":2`) {
		t.Fatalf("signed delivery = %d %s, want 202 with 2 findings", code, out)
	}
	tampered := append(bytes.Clone(body[:len(body)-2]), ' ', '}')
	cases := []struct {
		name string
		h    http.Header
		b    []byte
		want int
	}{
		{"forged", signed(t, body, time.Now(), "not-the-key"), body, 401},
		{"stale", signed(t, body, time.Now().Add(-time.Hour), webhookKey), body, 401},
		{"body changed", signed(t, body, time.Now(), webhookKey), tampered, 401},
		{"not json", func() http.Header {
			h := signed(t, body, time.Now(), webhookKey)
			h.Set("Content-Type", "text/plain")
			return h
		}(), body, 415},
		{"bad payload", signed(t, []byte(`{"x":1}`), time.Now(), webhookKey), []byte(`{"x":1}`), 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(e.auditActions())
			code, out := post(c.h, c.b)
			if code != c.want {
				t.Fatalf("delivery = %d %s, want %d", code, out, c.want)
			}
			errorOf(t, out)
			if after := len(e.auditActions()); after != before+1 {
				t.Errorf("audit entries %d → %d, want one for the refusal", before, after)
			}
		})
	}
	c, err := e.db.IngestCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c[sextant.IngestQueued] != 1 {
		t.Errorf("queued ingests = %d, want only the signed delivery", c[sextant.IngestQueued])
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, body := e.do("GET", p, "", "", nil)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s = %d %s", p, resp.StatusCode, body)
		}
	}
	e.do("POST", "/v1/reports", e.tokens["analyst"], "application/json", report(t))
	e.do("POST", "/v1/reports", "", "application/json", report(t))
	resp, body := e.do("GET", "/metrics", "", "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics = %d", resp.StatusCode)
	}
	for _, want := range []string{
		`sextant_intake_payloads_total{source="api"} 1`,
		`sextant_intake_findings_total 2`,
		`sextant_errors_total{code="unauthorized"} 1`,
		`sextant_http_request_seconds_count{code="202",route="POST /v1/reports"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	e.db.Close()
	resp, body = e.do("GET", "/readyz", "", "", nil)
	if resp.StatusCode != 503 {
		t.Errorf("GET /readyz with the database closed = %d %s, want 503", resp.StatusCode, body)
	}
}

func FuzzDecodeStatusChange(f *testing.F) {
	for _, s := range []string{`{"status":"resolved","reason":"fixed"}`, `{}`, `[]`, `{"status":1}`, `{"status":"open","reason":"r"} {}`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := sxhttp.DecodeStatusChange(b)
		if err != nil {
			if sextant.ErrorCode(err) != sextant.EINVALID {
				t.Fatalf("DecodeStatusChange(%q) error code %s, want invalid", b, sextant.ErrorCode(err))
			}
			return
		}
		if !c.Status.Valid() || strings.TrimSpace(c.Reason) == "" {
			t.Fatalf("DecodeStatusChange(%q) accepted %+v", b, c)
		}
	})
}

var _ = fmt.Sprintf
