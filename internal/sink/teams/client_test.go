package teams_test

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
	"github.com/sextant-dev/sextant/internal/sink/teams"
	"github.com/sextant-dev/sextant/internal/sink/teams/teamstest"
)

func newClient(t *testing.T, url string) *teams.Client {
	t.Helper()
	c, err := teams.New(teams.Config{URL: url, ApprovalURL: approvalURL})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func TestPostUpdate(t *testing.T) {
	fake := teamstest.New(t)
	c, err := teams.New(fake.Config(approvalURL))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m := sample()
	m.ApprovalID = "apr_5e1f0c8a"
	ref, err := c.Post(ctx, m)
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	want := sextant.TicketRef{ExternalID: sextant.CorrelationKey(m.Content.Action.ID), URL: m.Content.Link}
	if ref != want {
		t.Errorf("Post ref = %+v, want %+v", ref, want)
	}
	m.Decided = "Approved by Amy"
	ref2, err := c.Update(ctx, ref, m)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if ref2 != ref {
		t.Errorf("Update ref = %+v, want %+v", ref2, ref)
	}
	cards := fake.Cards()
	if len(cards) != 2 {
		t.Fatalf("fake got %d cards, want 2 (Update posts anew)", len(cards))
	}
	var first, second teams.Card
	if err := json.Unmarshal(cards[0], &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(cards[1], &second); err != nil {
		t.Fatal(err)
	}
	if len(first.Actions) != 3 || len(second.Actions) != 1 {
		t.Errorf("cards have %d and %d actions, want 3 (approve, reject, open) then 1 (open)", len(first.Actions), len(second.Actions))
	}
	if !strings.Contains(string(cards[1]), "Approved by Amy") {
		t.Errorf("second card %s does not show the decision", cards[1])
	}
}

func TestPostLarge(t *testing.T) {
	fake := teamstest.New(t)
	c := newClient(t, fake.URL)
	m := sample()
	a := &m.Content.Action
	a.Title = strings.Repeat("Upgrade ", 1000)
	for range 3000 {
		a.Vulnerabilities = append(a.Vulnerabilities, "CVE-2024-12345")
		a.Commands = append(a.Commands, "apt-get install -y --only-upgrade libc6=2.36-9+deb12u7")
		a.Notes = append(a.Notes, "note")
	}
	m.Content.Summary = strings.Repeat("word ", 10000)
	if _, err := c.Post(context.Background(), m); err != nil {
		t.Fatalf("Post(large): %v", err)
	}
}

func TestErrors(t *testing.T) {
	echo := "The request to " + "https://example.logic.azure.com/workflows/x/triggers/manual/paths/invoke?sig=" + teamstest.Sig + " failed"
	tests := []struct {
		name      string
		fail      teamstest.Failure
		wantCode  string
		wantWait  time.Duration
		wantInMsg string
	}{
		{"schema mismatch", teamstest.Failure{Status: 400, Code: "TriggerInputSchemaMismatch", Message: "The input body for trigger 'manual' of type 'Request' did not match its schema definition."}, sextant.EINVALID, 0, "TriggerInputSchemaMismatch"},
		{"too large", teamstest.Failure{Status: 413, Code: "RequestEntityTooLarge", Message: "too large"}, sextant.EINVALID, 0, "413"},
		{"throttled", teamstest.Failure{Status: 429, Code: "WorkflowRequestsThrottled", RetryAfter: "30"}, sextant.ERATELIMITED, 30 * time.Second, "429"},
		{"throttled no body", teamstest.Failure{Status: 429}, sextant.ERATELIMITED, 0, "429"},
		{"unauthorized", teamstest.Failure{Status: 401, Code: "DirectApiAuthorizationRequired", Message: "auth required"}, sextant.EUNAUTHORIZED, 0, "401"},
		{"flow off", teamstest.Failure{Status: 404, Code: "WorkflowNotFound", Message: "The workflow could not be found."}, sextant.ENOTFOUND, 0, "404"},
		{"server error", teamstest.Failure{Status: 502, RetryAfter: "5"}, sextant.EUNAVAILABLE, 5 * time.Second, "502"},
		{"error echoes URL", teamstest.Failure{Status: 400, Code: "BadRequest", Message: echo}, sextant.EINVALID, 0, "REDACTED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := teamstest.New(t)
			c := newClient(t, fake.URL)
			fake.FailNext(tt.fail)
			_, err := c.Post(context.Background(), sample())
			checkErr(t, err, tt.wantCode, tt.wantWait, tt.wantInMsg)
		})
	}
}

func checkErr(t *testing.T, err error, code string, wait time.Duration, inMsg string) {
	t.Helper()
	if got := sextant.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q), want code %q", err, got, code)
	}
	if got := sextant.ErrorRetryAfter(err); got != wait {
		t.Errorf("RetryAfter = %v, want %v", got, wait)
	}
	if !strings.Contains(err.Error(), inMsg) {
		t.Errorf("error %q does not mention %q", err, inMsg)
	}
	if strings.Contains(err.Error(), teamstest.Sig) {
		t.Errorf("error %q reveals the webhook credential", err)
	}
}

func TestWrongSig(t *testing.T) {
	fake := teamstest.New(t)
	c := newClient(t, strings.Replace(fake.URL, teamstest.Sig, "d3Jvbmctc2lnbmF0dXJlLWZvci10ZXN0aW5nLW9ubHk", 1))
	_, err := c.Post(context.Background(), sample())
	checkErr(t, err, sextant.EUNAUTHORIZED, 0, "DirectApiInvalidAuthorizationSignature")
	if strings.Contains(err.Error(), "d3Jvbmc") {
		t.Errorf("error %q reveals the webhook credential", err)
	}
}

func TestTransportErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		_, err := newClient(t, srv.URL+"/workflows/x/triggers/manual/paths/invoke?sig="+teamstest.Sig).Post(ctx, sample())
		checkErr(t, err, sextant.EUNAVAILABLE, 0, "teams post")
	})
	t.Run("redirect", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://login.example/?next="+r.URL.String(), http.StatusFound)
		}))
		defer srv.Close()
		_, err := newClient(t, srv.URL+"/invoke?sig="+teamstest.Sig).Post(ctx, sample())
		checkErr(t, err, sextant.EINVALID, 0, "302")
	})
	t.Run("cancelled", func(t *testing.T) {
		fake := teamstest.New(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := newClient(t, fake.URL).Post(cctx, sample())
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Post(cancelled) = %v, want context.Canceled", err)
		}
	})
}

func TestApprovalWithoutURL(t *testing.T) {
	fake := teamstest.New(t)
	c, err := teams.New(teams.Config{URL: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	m := sample()
	m.ApprovalID = "apr_1"
	_, err = c.Post(context.Background(), m)
	checkErr(t, err, sextant.EINVALID, 0, "approval URL")
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("fake received %d requests, want none", n)
	}
}

func TestNew(t *testing.T) {
	const sig = "c2VjcmV0LXNpZ25hdHVyZS1mb3ItdGVzdGluZy0xMjM0NTY"
	tests := []struct {
		name string
		cfg  teams.Config
	}{
		{"empty", teams.Config{}},
		{"relative", teams.Config{URL: "/workflows/x?sig=" + sig}},
		{"plain http", teams.Config{URL: "http://prod-12.westeurope.logic.azure.com/workflows/x/triggers/manual/paths/invoke?sig=" + sig}},
		{"office connector", teams.Config{URL: "https://acme.webhook.office.com/webhookb2/x/IncomingWebhook/y/z?sig=" + sig}},
		{"bad approval URL", teams.Config{URL: "https://prod-12.westeurope.logic.azure.com/workflows/x?sig=" + sig, ApprovalURL: "sextant.example/approvals"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := teams.New(tt.cfg)
			if sextant.ErrorCode(err) != sextant.EINVALID {
				t.Fatalf("New(%s) = %v, want EINVALID", tt.name, err)
			}
			if strings.Contains(err.Error(), sig) {
				t.Errorf("New error %q reveals the credential", err)
			}
		})
	}
	if _, err := teams.New(teams.Config{URL: "https://prod-12.westeurope.logic.azure.com:443/workflows/x/triggers/manual/paths/invoke?api-version=2016-06-01&sig=" + sig}); err != nil {
		t.Errorf("New(valid) = %v", err)
	}
}
