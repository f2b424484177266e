package webhook

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode"
)

// FuzzReceiverRef checks that whatever a receiver answers to a create,
// receiverRef never panics and returns only a usable reference: a short,
// printable id and an http(s) URL or none.
func FuzzReceiverRef(f *testing.F) {
	for _, s := range []string{
		`{"id":"INC-7","url":"https://tickets.example/INC-7"}`,
		`{"id":42}`, `{"id":4.2e1}`, `{"id":null}`, `{"id":""}`, `{"id":["a"]}`,
		`{"id":"a\u0000b"}`, `{"id":"x","url":"javascript:alert(1)"}`,
		`[]`, `ok`, ``, `{"id":"` + strings.Repeat("9", 300) + `"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ref, ok := receiverRef(raw)
		if !ok {
			return
		}
		if ref.ExternalID == "" || len(ref.ExternalID) > 255 || strings.IndexFunc(ref.ExternalID, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
			t.Fatalf("receiverRef(%q) id = %q: empty, long or not printable", raw, ref.ExternalID)
		}
		if ref.URL != "" {
			u, err := url.Parse(ref.URL)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
				t.Fatalf("receiverRef(%q) url = %q, want http(s)", raw, ref.URL)
			}
		}
	})
}

// FuzzStatusError checks that an error answer, whatever it echoes, never
// gets the endpoint's token into the error message.
func FuzzStatusError(f *testing.F) {
	const token = "tok_8f3a9c2e71d64b05"
	f.Add(400, []byte(`{"error":"bad token tok_8f3a9c2e71d64b05"}`))
	f.Add(500, []byte(`POST https://hooks.example/in/sextant?token=tok_8f3a9c2e71d64b05 failed`))
	f.Add(404, []byte(strings.Repeat("x", 190)+token))
	c, err := New(Config{URL: "https://hooks.example/in/sextant?token=" + token, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		status = 300 + (status%300+300)%300
		err := c.statusError("webhook ticket.created", &http.Response{StatusCode: status, Header: http.Header{}}, body, time.Unix(0, 0))
		if err == nil {
			t.Fatalf("statusError(%d, %q) = nil", status, body)
		}
		if strings.Contains(err.Error(), token) {
			t.Fatalf("statusError(%d, %q) = %q: reveals the token", status, body, err)
		}
	})
}
