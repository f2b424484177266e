package teamstest

import (
	"fmt"
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
	const card = `{"type":"AdaptiveCard","version":"1.4","body":[{"type":"TextBlock","text":"hi"}]}`
	tests := []struct {
		name, body    string
		sig           string
		wantComplaint string
		wantStatus    int
	}{
		{"valid", `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","content":` + card + `}]}`, Sig, "", 202},
		{"not a message", `{"type":"card","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","content":` + card + `}]}`, Sig, `want "message"`, 400},
		{"no attachments", `{"type":"message","attachments":null}`, Sig, "no attachments", 400},
		{"hero card", `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.hero","content":{}}]}`, Sig, "contentType", 400},
		{"submit action", `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","content":{"type":"AdaptiveCard","version":"1.4","body":[{}],"actions":[{"type":"Action.Submit"}]}}]}`, Sig, "Action.Submit", 400},
		{"too large", `{"type":"message","x":"` + strings.Repeat("x", MaxBytes) + `"}`, Sig, "limit", 413},
		{"wrong sig", `{"type":"message"}`, "d3Jvbmc", "", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			s := New(rec)
			resp, err := http.Post(strings.Replace(s.URL, Sig, tt.sig, 1), "application/json", strings.NewReader(tt.body))
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
