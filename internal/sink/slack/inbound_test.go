package slack_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/sink/slack"
	"github.com/sextant-dev/sextant/internal/sink/slack/slacktest"
)

var signingSecret = []byte("8f742231b10e8888abcd99yyyzzz85a5")

// TestVerifyRequestVectors checks VerifyRequest against signatures computed
// by others: slack-go/slack's security_test.go and Slack's own documentation
// ("Verifying requests from Slack").
func TestVerifyRequestVectors(t *testing.T) {
	tests := []struct {
		name, secret, ts, body, sig string
	}{
		{
			"slack-go",
			"e6b19c573432dcc6b075501d51b51bb8",
			"1531431954",
			`{"token":"aF5ynEYQH0dFN9imlgcADxDB","team_id":"XXXXXXXXX","api_app_id":"YYYYYYYYY","event":{"type":"app_mention","user":"AAAAAAAAA","text":"<@EEEEEEEEE> hello world","client_msg_id":"477cc591-ch73-a14z-4db8-g0cd76321bec","ts":"1531431954.000073","channel":"TTTTTTTTT","event_ts":"1531431954.000073"},"type":"event_callback","event_id":"TvBP7LRED7","event_time":1531431954,"authed_users":["EEEEEEEEE"]}`,
			"v0=adada4ed31709aef585c2580ca3267678c6a8eaeb7e0c1aca3ee57b656886b2c",
		},
		{
			"slack docs",
			"8f742231b10e8888abcd99yyyzzz85a5",
			"1531420618",
			"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
			"v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			h.Set(slack.TimestampHeader, tt.ts)
			h.Set(slack.SignatureHeader, tt.sig)
			sent := time.Unix(mustAtoi(t, tt.ts), 0)
			now := sent.Add(90 * time.Second)
			if err := slack.VerifyRequest([]byte(tt.secret), h, []byte(tt.body), now); err != nil {
				t.Errorf("VerifyRequest(%s vector) = %v, want nil", tt.name, err)
			}
			// And the fake signs the same way.
			if got := slacktest.Sign([]byte(tt.secret), sent, []byte(tt.body)); got != tt.sig {
				t.Errorf("slacktest.Sign(%s vector) = %s, want %s", tt.name, got, tt.sig)
			}
		})
	}
}

func mustAtoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var clock = time.Date(2026, 8, 21, 10, 4, 15, 0, time.UTC)

func click() slacktest.Click {
	return slacktest.Click{
		UserID: "U0AMY", UserName: "amy", TeamID: "T0ACME",
		ActionID: slack.ActionApprove, Value: "apr_5e1f0c8a",
		Channel: channel, MessageTS: "1724234400.000200",
		ResponseURL: "https://hooks.slack.com/actions/T0ACME/1234567890/AbCdEfGh",
	}
}

func TestInteractionRoundTrip(t *testing.T) {
	h, body := slacktest.SignedInteraction(signingSecret, slacktest.BlockActions(click()), clock.Add(-30*time.Second))
	if err := slack.VerifyRequest(signingSecret, h, body, clock); err != nil {
		t.Fatalf("VerifyRequest(signed by slacktest) = %v", err)
	}
	got, err := slack.ParseInteraction(body)
	if err != nil {
		t.Fatalf("ParseInteraction: %v", err)
	}
	want := slack.Interaction{
		UserID: "U0AMY", UserName: "amy", TeamID: "T0ACME",
		ActionID: slack.ActionApprove, Value: "apr_5e1f0c8a",
		ResponseURL: "https://hooks.slack.com/actions/T0ACME/1234567890/AbCdEfGh",
		Channel:     channel, MessageTS: "1724234400.000200",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseInteraction differs (-want +got):\n%s", diff)
	}
}

// reencode decodes the form and its JSON payload and encodes them again, as
// a proxy or framework might: same meaning, different bytes.
func reencode(t *testing.T, body []byte) []byte {
	t.Helper()
	form, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal([]byte(form.Get("payload")), &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return []byte(url.Values{"payload": {string(b)}}.Encode())
}

func TestVerifyRequestRejects(t *testing.T) {
	payload := slacktest.BlockActions(click())
	tests := []struct {
		name   string
		secret []byte
		mutate func(h http.Header, body []byte) (http.Header, []byte)
		code   string
	}{
		{"forged signature", []byte("not-the-signing-secret"), nil, sextant.EUNAUTHORIZED},
		{"stale timestamp", nil, func(h http.Header, body []byte) (http.Header, []byte) {
			return slacktest.SignedInteraction(signingSecret, payload, clock.Add(-5*time.Minute-time.Second))
		}, sextant.EUNAUTHORIZED},
		{"future timestamp", nil, func(h http.Header, body []byte) (http.Header, []byte) {
			return slacktest.SignedInteraction(signingSecret, payload, clock.Add(5*time.Minute+time.Second))
		}, sextant.EUNAUTHORIZED},
		{"timestamp changed", nil, func(h http.Header, body []byte) (http.Header, []byte) {
			h.Set(slack.TimestampHeader, strconv.FormatInt(clock.Unix()+1, 10))
			return h, body
		}, sextant.EUNAUTHORIZED},
		{"body re-encoded", nil, func(h http.Header, body []byte) (http.Header, []byte) {
			return h, reencode(t, body)
		}, sextant.EUNAUTHORIZED},
		{"approval ID swapped", nil, func(h http.Header, body []byte) (http.Header, []byte) {
			return h, []byte(strings.Replace(string(body), "apr_5e1f0c8a", "apr_00000000", 1))
		}, sextant.EUNAUTHORIZED},
		{"no signature", nil, func(h http.Header, body []byte) (http.Header, []byte) {
			h.Del(slack.SignatureHeader)
			return h, body
		}, sextant.EUNAUTHORIZED},
		{"no timestamp", nil, func(h http.Header, body []byte) (http.Header, []byte) {
			h.Del(slack.TimestampHeader)
			return h, body
		}, sextant.EUNAUTHORIZED},
		{"timestamp not digits", nil, func(h http.Header, body []byte) (http.Header, []byte) {
			h.Set(slack.TimestampHeader, "+"+strconv.FormatInt(clock.Unix(), 10))
			return h, body
		}, sextant.EUNAUTHORIZED},
		{"wrong version", nil, func(h http.Header, body []byte) (http.Header, []byte) {
			h.Set(slack.SignatureHeader, "v1="+strings.TrimPrefix(h.Get(slack.SignatureHeader), "v0="))
			return h, body
		}, sextant.EUNAUTHORIZED},
		{"short signature", nil, func(h http.Header, body []byte) (http.Header, []byte) {
			h.Set(slack.SignatureHeader, h.Get(slack.SignatureHeader)[:40])
			return h, body
		}, sextant.EUNAUTHORIZED},
		{"no secret configured", []byte{}, nil, sextant.EINTERNAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, body := slacktest.SignedInteraction(signingSecret, payload, clock)
			sig := h.Get(slack.SignatureHeader)
			if tt.mutate != nil {
				h, body = tt.mutate(h, body)
			}
			secret := signingSecret
			if tt.secret != nil {
				secret = tt.secret
			}
			err := slack.VerifyRequest(secret, h, body, clock)
			if got := sextant.ErrorCode(err); got != tt.code {
				t.Fatalf("VerifyRequest(%s) = %v (code %q), want code %q", tt.name, err, got, tt.code)
			}
			if strings.Contains(err.Error(), strings.TrimPrefix(sig, "v0=")[:16]) {
				t.Errorf("VerifyRequest error %q repeats the signature", err)
			}
		})
	}
	t.Run("window edge", func(t *testing.T) {
		h, body := slacktest.SignedInteraction(signingSecret, payload, clock.Add(-5*time.Minute))
		if err := slack.VerifyRequest(signingSecret, h, body, clock); err != nil {
			t.Errorf("VerifyRequest(exactly 5 minutes old) = %v, want nil", err)
		}
	})
}

func TestParseInteractionRejects(t *testing.T) {
	form := func(payload string) []byte { return []byte(url.Values{"payload": {payload}}.Encode()) }
	valid := string(slacktest.BlockActions(click()))
	tests := []struct {
		name string
		body []byte
	}{
		{"empty", nil},
		{"bad form", []byte("payload=%zz")},
		{"no payload", []byte("token=abc")},
		{"two payloads", []byte("payload=%7B%7D&payload=%7B%7D")},
		{"not JSON", form("{not json")},
		{"JSON array", form("[]")},
		{"view submission", form(strings.Replace(valid, `"block_actions"`, `"view_submission"`, 1))},
		{"no user", form(`{"type":"block_actions","actions":[{"action_id":"sextant_approve","value":"apr_1"}]}`)},
		{"no actions", form(`{"type":"block_actions","user":{"id":"U1"},"actions":[]}`)},
		{"plain http response_url", form(strings.Replace(valid, "https://hooks.slack.com", "http://hooks.slack.com", 1))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := slack.ParseInteraction(tt.body)
			if sextant.ErrorCode(err) != sextant.EINVALID {
				t.Errorf("ParseInteraction(%q) = %+v, %v; want EINVALID", tt.body, got, err)
			}
		})
	}
}

// TestParseInteractionFallbacks reads the channel and ts from the top-level
// fields when the container lacks them, as in older payloads.
func TestParseInteractionFallbacks(t *testing.T) {
	p := `{"type":"block_actions","user":{"id":"U1","name":"bob","team_id":"T9"},"channel":{"id":"C9"},"message":{"ts":"1.5"},"actions":[{"action_id":"sextant_reject","value":"apr_2"}]}`
	got, err := slack.ParseInteraction([]byte(url.Values{"payload": {p}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	want := slack.Interaction{UserID: "U1", UserName: "bob", TeamID: "T9", ActionID: slack.ActionReject, Value: "apr_2", Channel: "C9", MessageTS: "1.5"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseInteraction differs (-want +got):\n%s", diff)
	}
}
