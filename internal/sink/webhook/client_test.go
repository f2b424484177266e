package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/sink/webhook"
	"github.com/sextant-dev/sextant/internal/sink/webhook/webhooktest"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func content() sextant.TicketContent {
	id := sextant.ActionID(sextant.ActionUpgradePackage, "registry.example/payments/api@sha256:9f2c", "deb/libc6")
	return sextant.TicketContent{
		Action: sextant.Action{
			ID: id, Priority: sextant.P0, Score: 91.5,
			Title:    "Upgrade libc6 2.36-9+deb12u4 → 2.36-9+deb12u7 in registry.example/payments/api:1.4.2 (fixes 2 CVEs)",
			Artifact: "registry.example/payments/api:1.4.2", Kind: sextant.ActionUpgradePackage,
			Package: "libc6", InstalledVersion: "2.36-9+deb12u4", TargetVersion: "2.36-9+deb12u7",
			Commands:        []string{"apt-get update && apt-get install -y --only-upgrade libc6=2.36-9+deb12u7"},
			Vulnerabilities: []string{"CVE-2023-4911", "CVE-2024-2961"},
			FindingIDs:      []string{"fnd_1", "fnd_2"},
		},
		Status: sextant.ActionOpen, Findings: 2, Owner: "team-payments",
		Link: "https://sextant.example/actions/" + id,
	}
}

func newClient(t *testing.T, url string, now func() time.Time) *webhook.Client {
	t.Helper()
	c, err := webhook.New(webhook.Config{URL: url, Secret: secret, Now: now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func TestLifecycle(t *testing.T) {
	fake := webhooktest.New(t, secret)
	c, err := webhook.New(fake.Config())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tc := content()

	if ref, ok, err := c.Find(ctx, tc.Action.ID); ok || err != nil || ref != (sextant.TicketRef{}) {
		t.Errorf("Find = %+v, %v, %v; want nothing", ref, ok, err)
	}
	ref, err := c.Create(ctx, tc)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if want := (sextant.TicketRef{ExternalID: sextant.CorrelationKey(tc.Action.ID), URL: tc.Link}); ref != want {
		t.Errorf("Create ref = %+v, want %+v (the receiver gave no id)", ref, want)
	}
	if err := c.Comment(ctx, ref, tc, "Still present in scan 2026-08-21."); err != nil {
		t.Fatalf("Comment: %v", err)
	}
	if err := c.Close(ctx, ref, "Resolved."); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Reopen(ctx, ref, "Seen again."); err != nil {
		t.Fatalf("Reopen: %v", err)
	}
	var types []string
	for _, d := range fake.Processed() {
		types = append(types, d.Type)
		var ev webhook.Event
		if err := json.Unmarshal(d.Body, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Data.Key != sextant.CorrelationKey(tc.Action.ID) {
			t.Errorf("%s data.key = %q, want %q", d.Type, ev.Data.Key, sextant.CorrelationKey(tc.Action.ID))
		}
		if d.Type != webhook.EventCreated && (ev.Data.Ticket == nil || *ev.Data.Ticket != ref) {
			t.Errorf("%s data.ticket = %+v, want %+v", d.Type, ev.Data.Ticket, ref)
		}
	}
	want := []string{webhook.EventCreated, webhook.EventCommented, webhook.EventClosed, webhook.EventReopened}
	if strings.Join(types, " ") != strings.Join(want, " ") {
		t.Errorf("processed events %v, want %v", types, want)
	}
}

// TestRetrySameID is the receiver answering 500, then 200: the retry,
// from a new process a minute later, carries the same webhook-id with a
// new timestamp and a valid signature, and is processed once.
func TestRetrySameID(t *testing.T) {
	fake := webhooktest.New(t, secret)
	fake.AssignIDs(true)
	ctx := context.Background()
	t0 := time.Now()
	first := newClient(t, fake.URL, func() time.Time { return t0 })
	fake.FailNext(webhooktest.Failure{Status: 500, Body: "upstream database down"})
	_, err := first.Create(ctx, content())
	if sextant.ErrorCode(err) != sextant.EUNAVAILABLE {
		t.Fatalf("Create (receiver 500) = %v, want EUNAVAILABLE", err)
	}
	if !strings.Contains(err.Error(), "upstream database down") {
		t.Errorf("error %q does not show the receiver's answer", err)
	}

	second := newClient(t, fake.URL, func() time.Time { return t0.Add(time.Minute) })
	ref, err := second.Create(ctx, content())
	if err != nil {
		t.Fatalf("Create (retry) = %v", err)
	}
	if want := (sextant.TicketRef{ExternalID: "T-1", URL: strings.TrimSuffix(fake.URL, "/hooks/sextant") + "/tickets/T-1"}); ref != want {
		t.Errorf("Create ref = %+v, want the receiver's %+v", ref, want)
	}
	// A third create (say, the outbox lost the reference) is a duplicate
	// to the receiver, which answers with the same ticket.
	again, err := second.Create(ctx, content())
	if err != nil || again != ref {
		t.Errorf("Create (duplicate) = %+v, %v; want %+v", again, err, ref)
	}

	ds := fake.Deliveries()
	if len(ds) != 3 {
		t.Fatalf("fake got %d deliveries, want 3", len(ds))
	}
	if ds[0].Status != 500 || ds[1].Status != 200 {
		t.Errorf("fake answered %d then %d, want 500 then 200", ds[0].Status, ds[1].Status)
	}
	if ds[0].ID != ds[1].ID || ds[1].ID != ds[2].ID {
		t.Errorf("webhook-ids %s, %s, %s; want one id for every attempt", ds[0].ID, ds[1].ID, ds[2].ID)
	}
	if ds[0].Timestamp == ds[1].Timestamp {
		t.Errorf("both attempts have webhook-timestamp %s, want a new one per attempt", ds[0].Timestamp)
	}
	if n := len(fake.Processed()); n != 1 {
		t.Errorf("fake processed %d events, want 1", n)
	}
}

func TestDeliveryKey(t *testing.T) {
	fake := webhooktest.New(t, secret)
	c := newClient(t, fake.URL, nil)
	ctx := context.Background()
	ref := sextant.TicketRef{ExternalID: "T-7"}
	// Closed, reopened, closed again with the same words: only the
	// delivery keys tell the two closes apart.
	for i, step := range []struct {
		key   string
		close bool
	}{{"row-1", true}, {"row-2", false}, {"row-3", true}} {
		kctx := webhook.WithDeliveryKey(ctx, step.key)
		var err error
		if step.close {
			err = c.Close(kctx, ref, "Resolved.")
		} else {
			err = c.Reopen(kctx, ref, "Resolved.")
		}
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if n := len(fake.Processed()); n != 3 {
		t.Errorf("fake processed %d events, want 3", n)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name     string
		fail     webhooktest.Failure
		wantCode string
		wantWait time.Duration
	}{
		{"bad request", webhooktest.Failure{Status: 400, Body: `{"error":"unknown field"}`}, sextant.EINVALID, 0},
		{"unprocessable", webhooktest.Failure{Status: 422}, sextant.EINVALID, 0},
		{"too large", webhooktest.Failure{Status: 413}, sextant.EINVALID, 0},
		{"unauthorized", webhooktest.Failure{Status: 401}, sextant.EUNAUTHORIZED, 0},
		{"forbidden", webhooktest.Failure{Status: 403}, sextant.EUNAUTHORIZED, 0},
		{"not found", webhooktest.Failure{Status: 404}, sextant.ENOTFOUND, 0},
		{"gone", webhooktest.Failure{Status: 410}, sextant.ENOTFOUND, 0},
		{"conflict", webhooktest.Failure{Status: 409}, sextant.ECONFLICT, 0},
		{"rate limited", webhooktest.Failure{Status: 429, RetryAfter: "12"}, sextant.ERATELIMITED, 12 * time.Second},
		{"unavailable", webhooktest.Failure{Status: 503, RetryAfter: "Fri, 21 Aug 2026 10:00:30 GMT"}, sextant.EUNAVAILABLE, 30 * time.Second},
		{"bad gateway", webhooktest.Failure{Status: 502}, sextant.EUNAVAILABLE, 0},
	}
	now := time.Date(2026, 8, 21, 10, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := webhooktest.New(t, secret)
			fake.SetClock(func() time.Time { return now })
			c := newClient(t, fake.URL+"?token=SeCrEtToKeN", func() time.Time { return now })
			fake.FailNext(tt.fail)
			err := c.Close(context.Background(), sextant.TicketRef{ExternalID: "T-1"}, "done")
			checkErr(t, err, tt.wantCode, tt.wantWait)
		})
	}
}

func checkErr(t *testing.T, err error, code string, wait time.Duration) {
	t.Helper()
	if got := sextant.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q), want code %q", err, got, code)
	}
	if got := sextant.ErrorRetryAfter(err); got != wait {
		t.Errorf("RetryAfter = %v, want %v", got, wait)
	}
	for _, s := range []string{"SeCrEtToKeN", strings.TrimPrefix(secret, "whsec_")} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q reveals a secret", err)
		}
	}
}

func TestWrongSecret(t *testing.T) {
	fake := webhooktest.New(t, "whsec_"+strings.Repeat("QUJD", 8))
	_, err := newClient(t, fake.URL, nil).Create(context.Background(), content())
	checkErr(t, err, sextant.EUNAUTHORIZED, 0)
}

func TestTransportErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		_, err := newClient(t, srv.URL+"/hook?token=SeCrEtToKeN", nil).Create(ctx, content())
		checkErr(t, err, sextant.EUNAVAILABLE, 0)
	})
	t.Run("redirect", func(t *testing.T) {
		var hits int
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits++
			http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
		}))
		defer srv.Close()
		_, err := newClient(t, srv.URL, nil).Create(ctx, content())
		checkErr(t, err, sextant.EINVALID, 0)
		if hits != 1 {
			t.Errorf("server hit %d times, want 1 (no redirect followed)", hits)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		fake := webhooktest.New(t, secret)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := newClient(t, fake.URL, nil).Create(cctx, content())
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Create(cancelled) = %v, want context.Canceled", err)
		}
	})
}

func TestReceiverIDs(t *testing.T) {
	tests := []struct {
		name, body string
		want       sextant.TicketRef
	}{
		{"string id", `{"id":"INC-7","url":"https://tickets.example/INC-7"}`, sextant.TicketRef{ExternalID: "INC-7", URL: "https://tickets.example/INC-7"}},
		{"number id", `{"id":42}`, sextant.TicketRef{ExternalID: "42"}},
		{"javascript url", `{"id":"INC-7","url":"javascript:alert(1)"}`, sextant.TicketRef{ExternalID: "INC-7"}},
		{"empty body", ``, sextant.TicketRef{ExternalID: sextant.CorrelationKey(content().Action.ID), URL: content().Link}},
		{"not JSON", `ok`, sextant.TicketRef{ExternalID: sextant.CorrelationKey(content().Action.ID), URL: content().Link}},
		{"control characters", `{"id":"a\nb"}`, sextant.TicketRef{ExternalID: sextant.CorrelationKey(content().Action.ID), URL: content().Link}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			got, err := newClient(t, srv.URL, nil).Create(context.Background(), content())
			if err != nil || got != tt.want {
				t.Errorf("Create (receiver answers %s) = %+v, %v; want %+v", tt.body, got, err, tt.want)
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		cfg  webhook.Config
	}{
		{"no URL", webhook.Config{Secret: secret}},
		{"relative URL", webhook.Config{URL: "/hooks", Secret: secret}},
		{"no secret", webhook.Config{URL: "https://hooks.example/x"}},
		{"no prefix", webhook.Config{URL: "https://hooks.example/x", Secret: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
		{"not base64", webhook.Config{URL: "https://hooks.example/x", Secret: "whsec_SeCrEt!!!"}},
		{"too short", webhook.Config{URL: "https://hooks.example/x", Secret: "whsec_U2VDckV0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := webhook.New(tt.cfg)
			if sextant.ErrorCode(err) != sextant.EINVALID {
				t.Fatalf("New(%s) = %v, want EINVALID", tt.name, err)
			}
			if s := strings.TrimPrefix(tt.cfg.Secret, "whsec_"); s != "" && strings.Contains(err.Error(), s) {
				t.Errorf("New error %q reveals the secret", err)
			}
		})
	}
}
