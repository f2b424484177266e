package slacktest

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// recorder catches the fake's complaints instead of failing the test.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestProtocolChecks(t *testing.T) {
	const token = "xoxb-test"
	tests := []struct {
		name, method, auth, ctype, body string
		wantComplaint                   string
		wantError                       string
	}{
		{"valid", "chat.postMessage", "Bearer " + token, "application/json; charset=utf-8", `{"channel":"C1","text":"hi"}`, "", ""},
		{"no bearer", "chat.postMessage", token, "application/json; charset=utf-8", `{"channel":"C1","text":"hi"}`, "Bearer", "not_authed"},
		{"no charset", "chat.postMessage", "Bearer " + token, "application/json", `{"channel":"C1","text":"hi"}`, "charset", "invalid_form_data"},
		{"no channel", "chat.postMessage", "Bearer " + token, "application/json; charset=utf-8", `{"text":"hi"}`, "no channel", "channel_not_found"},
		{"numeric ts", "chat.update", "Bearer " + token, "application/json; charset=utf-8", `{"channel":"C1","ts":1724234400.0001,"text":"hi"}`, "ts must be", "invalid_arguments"},
		{"header too long", "chat.postMessage", "Bearer " + token, "application/json; charset=utf-8", `{"channel":"C1","text":"hi","blocks":[{"type":"header","text":{"type":"plain_text","text":"` + strings.Repeat("x", 151) + `"}}]}`, "limit 150", "invalid_blocks"},
		{"bad button style", "chat.postMessage", "Bearer " + token, "application/json; charset=utf-8", `{"channel":"C1","text":"hi","blocks":[{"type":"actions","elements":[{"type":"button","action_id":"a","text":{"type":"plain_text","text":"A"},"style":"warning","value":"v"}]}]}`, "style", "invalid_blocks"},
		{"wrong token", "chat.postMessage", "Bearer xoxb-other", "application/json; charset=utf-8", `{"channel":"C1","text":"hi"}`, "", "invalid_auth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			s := New(rec, token, "C1")
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/"+tt.method, strings.NewReader(tt.body))
			req.Header.Set("Authorization", tt.auth)
			req.Header.Set("Content-Type", tt.ctype)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			complaints := strings.Join(rec.errs, "\n")
			if tt.wantComplaint == "" && complaints != "" || !strings.Contains(complaints, tt.wantComplaint) {
				t.Errorf("fake complained %q, want a complaint about %q", complaints, tt.wantComplaint)
			}
			if tt.wantError == "" && !strings.Contains(string(b), `"ok":true`) || tt.wantError != "" && !strings.Contains(string(b), `"error":"`+tt.wantError+`"`) {
				t.Errorf("fake answered %s, want error %q", b, tt.wantError)
			}
		})
	}
}
