package servicenow

import (
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sextant-dev/sextant"
)

// FuzzDecodeError holds the error-body decoder to its promise on any
// bytes: no panic, and one clean line of bounded length. The seeds in
// testdata/fuzz/FuzzDecodeError are the envelopes an instance sends.
func FuzzDecodeError(f *testing.F) {
	for _, s := range []string{
		`{"error":{"message":"No Record found","detail":"Record doesn't exist or ACL restricts the record retrieval"},"status":"failure"}`,
		`{"error":{"message":"User Not Authenticated","detail":"Required to provide Auth information"},"status":"failure"}`,
		`{"error":{"message":"Invalid table foo","detail":null},"status":"failure"}`,
		`{"error":"plain string"}`,
		`<html><body>503 Service Unavailable</body></html>`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got := decodeError(body)
		if !utf8.ValidString(got) {
			t.Fatalf("decodeError(%q) = %q, not UTF-8", body, got)
		}
		if n := utf8.RuneCountInString(got); n > maxErrorText {
			t.Fatalf("decodeError(%q) has %d characters, want at most %d", body, n, maxErrorText)
		}
		for _, r := range got {
			if unicode.IsControl(r) || isBidi(r) {
				t.Fatalf("decodeError(%q) = %q holds %U", body, got, r)
			}
		}
		e := statusError(400, http.Header{}, body, time.Unix(0, 0))
		if e.Code != sextant.EINVALID || !strings.HasPrefix(e.Message, "HTTP 400: ") {
			t.Fatalf("statusError(400, %q) = %+v", body, e)
		}
	})
}

// FuzzClean holds the plain-text cleaning to its promise: valid UTF-8, no
// control character but newline and tab, no [code] tag in any case.
func FuzzClean(f *testing.F) {
	for _, s := range []string{"plain", "a\r\nb", "[code]<b>x</b>[/code]", "[CoDe][[code]code]", "\x00\x1b[31m\u202e", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := clean(s)
		if !utf8.ValidString(got) {
			t.Fatalf("clean(%q) = %q, not UTF-8", s, got)
		}
		lower := strings.ToLower(got)
		if strings.Contains(lower, "[code]") || strings.Contains(lower, "[/code]") {
			t.Fatalf("clean(%q) = %q holds a [code] tag", s, got)
		}
		for _, r := range got {
			if (unicode.IsControl(r) && r != '\n' && r != '\t') || isBidi(r) {
				t.Fatalf("clean(%q) = %q holds %U", s, got, r)
			}
		}
		if l := oneLine(s); strings.ContainsAny(l, "\n\t") {
			t.Fatalf("oneLine(%q) = %q spans lines", s, l)
		}
	})
}
