package webhooktest

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// recorder catches the fake's complaints instead of failing the test.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// TestSignVector checks Sign against the Standard Webhooks reference
// vector.
func TestSignVector(t *testing.T) {
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	got := "v1," + base64.StdEncoding.EncodeToString(Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", []byte(`{"test": 2432232314}`)))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("Sign(reference vector) = %s, want %s", got, want)
	}
}

func TestProtocolChecks(t *testing.T) {
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	now := time.Unix(1787306400, 0)
	const body = `{"type":"ticket.closed","timestamp":"2026-08-21T10:00:00Z","data":{"comment":"done"}}`
	sig := func(k []byte, ts int64, body string) string {
		return "v1," + base64.StdEncoding.EncodeToString(Sign(k, "msg_1", strconv.FormatInt(ts, 10), []byte(body)))
	}
	other := []byte(strings.Repeat("k", 24))
	tests := []struct {
		name          string
		ts            int64
		signature     string
		body          string
		wantComplaint string
		wantStatus    int
	}{
		{"valid", now.Unix(), sig(key, now.Unix(), body), body, "", 204},
		{"rotation", now.Unix(), sig(other, now.Unix(), body) + " " + sig(key, now.Unix(), body), body, "", 204},
		{"wrong secret", now.Unix(), sig(other, now.Unix(), body), body, "", 401},
		{"body changed", now.Unix(), sig(key, now.Unix(), body), strings.Replace(body, "done", "undone", 1), "", 401},
		{"stale", now.Unix() - 301, sig(key, now.Unix()-301, body), body, "more than", 400},
		{"no signature", now.Unix(), "", body, "missing", 400},
		{"malformed signature", now.Unix(), "v1=abc", body, "not space-separated", 400},
		{"unknown event", now.Unix(), sig(key, now.Unix(), `{"type":"finding.opened","timestamp":"x","data":{}}`), `{"type":"finding.opened","timestamp":"x","data":{}}`, "not an event", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			s := New(rec, secret)
			s.SetClock(func() time.Time { return now })
			req, _ := http.NewRequest(http.MethodPost, s.URL, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("webhook-id", "msg_1")
			req.Header.Set("webhook-timestamp", strconv.FormatInt(tt.ts, 10))
			if tt.signature != "" {
				req.Header.Set("webhook-signature", tt.signature)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			complaints := strings.Join(rec.errs, "\n")
			if tt.wantComplaint == "" && complaints != "" || !strings.Contains(complaints, tt.wantComplaint) {
				t.Errorf("fake complained %q, want a complaint about %q", complaints, tt.wantComplaint)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("fake answered %d, want %d", resp.StatusCode, tt.wantStatus)
			}
		})
	}
}
