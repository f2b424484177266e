package slack_test

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
	"github.com/sextant-dev/sextant/internal/sink/slack"
	"github.com/sextant-dev/sextant/internal/sink/slack/slacktest"
)

const (
	token   = "xoxb-1234-5678-SeCrEtBoTtOkEn"
	channel = "C0123SEC"
)

func newClient(t *testing.T, apiURL string) *slack.Client {
	t.Helper()
	c, err := slack.New(slack.Config{Token: token, Channel: channel, APIURL: apiURL})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func TestPostUpdate(t *testing.T) {
	fake := slacktest.New(t, token, channel)
	c, err := slack.New(fake.Config())
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
	if want := channel + ":1724234400.000100"; ref.ExternalID != want {
		t.Errorf("Post ExternalID = %q, want %q", ref.ExternalID, want)
	}

	m.Decided = "Approved by @amy"
	ref2, err := c.Update(ctx, ref, m)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if ref2 != ref {
		t.Errorf("Update ref = %+v, want %+v", ref2, ref)
	}

	msgs := fake.Messages()
	if len(msgs) != 1 || msgs[0].Updates != 1 {
		t.Fatalf("fake holds %+v, want one message updated once", msgs)
	}
	if strings.Contains(string(msgs[0].Blocks), slack.ActionApprove) || !strings.Contains(string(msgs[0].Blocks), "Approved by @amy") {
		t.Errorf("updated blocks %s still have buttons or lack the decision", msgs[0].Blocks)
	}
	var meta slack.Metadata
	if err := json.Unmarshal(msgs[0].Metadata, &meta); err != nil || meta.EventPayload.Key != sextant.CorrelationKey(m.Content.Action.ID) {
		t.Errorf("metadata %s (%v), want key %s", msgs[0].Metadata, err, sextant.CorrelationKey(m.Content.Action.ID))
	}
	reqs := fake.Requests()
	if len(reqs) != 2 || reqs[0].Method != "chat.postMessage" || reqs[1].Method != "chat.update" {
		t.Fatalf("requests = %v, want chat.postMessage then chat.update", reqs)
	}
	if got := reqs[0].Header.Get("Authorization"); got != "Bearer "+token {
		t.Errorf("Authorization = %q, want the bot token", got)
	}
}

// TestPostLarge posts an action far over Block Kit's limits; the fake
// fails the test if any block is too big.
func TestPostLarge(t *testing.T) {
	fake := slacktest.New(t, token, channel)
	c := newClient(t, fake.URL)
	m := sample()
	a := &m.Content.Action
	a.Title = strings.Repeat("Upgrade & <rebuild> ", 100)
	a.Artifact = strings.Repeat("registry.example/very/long/path/", 100)
	a.Vulnerabilities = nil
	for i := range 2000 {
		a.Vulnerabilities = append(a.Vulnerabilities, "CVE-2024-"+string(rune('1'+i%9))+"0000")
	}
	a.Commands = nil
	for range 400 {
		a.Commands = append(a.Commands, "apt-get install -y --only-upgrade libc6=2.36-9+deb12u7 && echo <done>")
	}
	a.Notes = []string{strings.Repeat("<note> ", 2000)}
	m.Content.Summary = strings.Repeat("&", 5000)
	m.Text = strings.Repeat("<!channel>", 100)
	m.ApprovalID = "apr_1"
	if _, err := c.Post(context.Background(), m); err != nil {
		t.Fatalf("Post(large): %v", err)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name      string
		fail      slacktest.Failure
		update    bool
		wantCode  string
		wantWait  time.Duration
		wantInMsg string
	}{
		{"channel not found", slacktest.Failure{Error: "channel_not_found"}, false, sextant.ENOTFOUND, 0, "channel_not_found"},
		{"not in channel", slacktest.Failure{Error: "not_in_channel"}, false, sextant.EUNAUTHORIZED, 0, "not_in_channel"},
		{"invalid auth", slacktest.Failure{Error: "invalid_auth"}, false, sextant.EUNAUTHORIZED, 0, "invalid_auth"},
		{"invalid blocks", slacktest.Failure{Error: "invalid_blocks", Messages: []string{"[ERROR] must be more than 0 characters [json-pointer:/blocks/0/text]"}}, false, sextant.EINVALID, 0, "json-pointer"},
		{"unknown error", slacktest.Failure{Error: "something_new"}, false, sextant.EINVALID, 0, "something_new"},
		{"rate limited", slacktest.Failure{Status: 429, RetryAfter: "7"}, false, sextant.ERATELIMITED, 7 * time.Second, "rate limited"},
		{"rate limited no header", slacktest.Failure{Status: 429}, false, sextant.ERATELIMITED, 0, "429"},
		{"unavailable", slacktest.Failure{Status: 503, Error: "service_unavailable", RetryAfter: "2"}, false, sextant.EUNAVAILABLE, 2 * time.Second, "503"},
		{"internal error", slacktest.Failure{Error: "internal_error"}, false, sextant.EUNAVAILABLE, 0, "internal_error"},
		{"message not found", slacktest.Failure{Error: "message_not_found"}, true, sextant.ENOTFOUND, 0, "message_not_found"},
		{"cant update", slacktest.Failure{Error: "cant_update_message"}, true, sextant.EUNAUTHORIZED, 0, "cant_update_message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := slacktest.New(t, token, channel)
			c := newClient(t, fake.URL)
			ctx := context.Background()
			ref := sextant.TicketRef{ExternalID: channel + ":1724234400.000100"}
			if tt.update {
				var err error
				if ref, err = c.Post(ctx, sample()); err != nil {
					t.Fatal(err)
				}
			}
			fake.FailNext(tt.fail)
			var err error
			if tt.update {
				_, err = c.Update(ctx, ref, sample())
			} else {
				_, err = c.Post(ctx, sample())
			}
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
	if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "SeCrEt") {
		t.Errorf("error %q reveals the token", err)
	}
}

func TestFakeAnswers(t *testing.T) {
	ctx := context.Background()
	fake := slacktest.New(t, token, channel)

	t.Run("wrong token", func(t *testing.T) {
		c, err := slack.New(slack.Config{Token: "xoxb-other-token", Channel: channel, APIURL: fake.URL})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Post(ctx, sample())
		checkErr(t, err, sextant.EUNAUTHORIZED, 0, "invalid_auth")
	})
	t.Run("unknown channel", func(t *testing.T) {
		c, err := slack.New(slack.Config{Token: token, Channel: "C0GONE", APIURL: fake.URL})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Post(ctx, sample())
		checkErr(t, err, sextant.ENOTFOUND, 0, "channel_not_found")
	})
	t.Run("unknown message", func(t *testing.T) {
		_, err := newClient(t, fake.URL).Update(ctx, sextant.TicketRef{ExternalID: channel + ":1.2"}, sample())
		checkErr(t, err, sextant.ENOTFOUND, 0, "message_not_found")
	})
	t.Run("bad reference", func(t *testing.T) {
		_, err := newClient(t, fake.URL).Update(ctx, sextant.TicketRef{ExternalID: "C0123SEC"}, sample())
		checkErr(t, err, sextant.EINVALID, 0, "reference")
	})
}

func TestTransportErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		_, err := newClient(t, srv.URL).Post(ctx, sample())
		checkErr(t, err, sextant.EUNAVAILABLE, 0, "slack chat.postMessage")
	})
	t.Run("proxy page", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("<html>captive portal</html>"))
		}))
		defer srv.Close()
		_, err := newClient(t, srv.URL).Post(ctx, sample())
		checkErr(t, err, sextant.EUNAVAILABLE, 0, "not JSON")
	})
	t.Run("HTTP 401 no body", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
		}))
		defer srv.Close()
		_, err := newClient(t, srv.URL).Post(ctx, sample())
		checkErr(t, err, sextant.EUNAUTHORIZED, 0, "401")
	})
	t.Run("cancelled", func(t *testing.T) {
		fake := slacktest.New(t, token, channel)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := newClient(t, fake.URL).Post(cctx, sample())
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Post(cancelled) = %v, want context.Canceled", err)
		}
	})
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		cfg  slack.Config
	}{
		{"no token", slack.Config{Channel: channel}},
		{"user token", slack.Config{Token: "xoxp-SeCrEt-123", Channel: channel}},
		{"token with space", slack.Config{Token: "xoxb-SeCrEt 123", Channel: channel}},
		{"no channel", slack.Config{Token: token}},
		{"API URL not http", slack.Config{Token: token, Channel: channel, APIURL: "ftp://slack.com/api"}},
		{"API URL with credentials", slack.Config{Token: token, Channel: channel, APIURL: "https://u:p@slack.com/api"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := slack.New(tt.cfg)
			if sextant.ErrorCode(err) != sextant.EINVALID {
				t.Fatalf("New(%s) = %v, want EINVALID", tt.name, err)
			}
			if strings.Contains(err.Error(), "SeCrEt") {
				t.Errorf("New error %q reveals the token", err)
			}
		})
	}
	if _, err := slack.New(slack.Config{Token: token, Channel: channel}); err != nil {
		t.Errorf("New(valid) = %v", err)
	}
}

func TestPostInvalid(t *testing.T) {
	fake := slacktest.New(t, token, channel)
	c := newClient(t, fake.URL)
	m := sample()
	m.ApprovalID = strings.Repeat("a", 2001)
	_, err := c.Post(context.Background(), m)
	checkErr(t, err, sextant.EINVALID, 0, "approval ID")
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("fake received %d requests, want none", n)
	}
}
