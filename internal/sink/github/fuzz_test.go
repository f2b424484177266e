package github

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sextant-dev/sextant"
)

// FuzzDecodeError holds the error-body decoder to its promise on any
// bytes: no panic, clean single-line texts of bounded length, and a status
// mapping that does not depend on the body except for the rate-limit
// marker. The seeds in testdata/fuzz/FuzzDecodeError are bodies GitHub
// sends.
func FuzzDecodeError(f *testing.F) {
	for _, s := range []string{
		`{"message":"Validation Failed","errors":[{"resource":"Issue","field":"title","code":"missing_field"}],"documentation_url":"https://docs.github.com/rest/issues/issues#create-an-issue"}`,
		`{"message":"Validation Failed","errors":["Label does not exist"]}`,
		`{"message":"You have exceeded a secondary rate limit.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`,
		`{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`,
		`{"message":7,"errors":{"x":1}}`,
		`<html>Unicorn!</html>`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ae := decodeError(body)
		texts := append([]string{ae.Message, ae.DocumentationURL}, ae.Errors...)
		for _, s := range texts {
			if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxErrorText {
				t.Fatalf("decodeError(%q) text %q: invalid or too long", body, s)
			}
			for _, r := range s {
				if unicode.IsControl(r) || isBidi(r) {
					t.Fatalf("decodeError(%q) text %q holds %U", body, s, r)
				}
			}
		}
		if len(ae.Errors) > 6 {
			t.Fatalf("decodeError(%q) kept %d errors", body, len(ae.Errors))
		}
		for status, want := range map[int]string{401: sextant.EUNAUTHORIZED, 404: sextant.ENOTFOUND, 422: sextant.EINVALID, 502: sextant.EUNAVAILABLE, 429: sextant.ERATELIMITED} {
			if e := statusError(status, http.Header{}, body, time.Unix(0, 0)); e.Code != want || strings.ContainsAny(e.Message, "\n\r") {
				t.Fatalf("statusError(%d, %q) = %+v, want %s on one line", status, body, e, want)
			}
		}
		if e := statusError(403, http.Header{}, body, time.Unix(0, 0)); e.Code != sextant.EUNAUTHORIZED && !secondary(ae.DocumentationURL) {
			t.Fatalf("statusError(403, %q) = %+v without a rate-limit marker", body, e)
		}
	})
}

var (
	mention   = regexp.MustCompile(`@[A-Za-z0-9_-]`)
	reference = regexp.MustCompile(`#[0-9]`)
)

// FuzzEscapeText holds EscapeText to its promise on any text: nothing that
// renders as a mention, an issue reference, HTML or an HTML comment, an
// entity, a link, or a code span; no control characters.
func FuzzEscapeText(f *testing.F) {
	for _, s := range []string{
		"@octocat", "<!-- sextant:key=x -->", "&commat;x &#64;y", "[a](b)", "`code`", "#12", "a\r\nb\x00\u202e",
		"\\<!--", "@\u200bx", "\xff@x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := EscapeText(s)
		if !utf8.ValidString(got) {
			t.Fatalf("EscapeText(%q) = %q, not UTF-8", s, got)
		}
		for _, r := range got {
			if (unicode.IsControl(r) && r != '\n' && r != '\t') || isBidi(r) {
				t.Fatalf("EscapeText(%q) = %q holds %U", s, got, r)
			}
		}
		if m := mention.FindString(got); m != "" {
			t.Fatalf("EscapeText(%q) = %q mentions (%q)", s, got, m)
		}
		if m := reference.FindString(got); m != "" {
			t.Fatalf("EscapeText(%q) = %q references an issue (%q)", s, got, m)
		}
		if strings.Contains(got, "<") {
			t.Fatalf("EscapeText(%q) = %q holds <", s, got)
		}
		// Every &, [, ], ` and \ is escaped: removing the escapes leaves
		// none of them bare.
		rest := strings.NewReplacer(`\\`, "", "\\`", "", `\[`, "", `\]`, "", "&amp;", "", "&lt;", "").Replace(got)
		if strings.ContainsAny(rest, "&[]`\\") {
			t.Fatalf("EscapeText(%q) = %q leaves a bare markdown character (%q)", s, got, rest)
		}
		if l := IssueTitle(sextant.TicketContent{Action: sextant.Action{Title: s}}); strings.ContainsAny(l, "\n\r") || mention.MatchString(l) || reference.MatchString(l) {
			t.Fatalf("IssueTitle(%q) = %q", s, l)
		}
		if c := codeSpan(s); c != "" && (strings.Contains(c, "\n") || !strings.HasPrefix(c, "`")) {
			t.Fatalf("codeSpan(%q) = %q", s, c)
		}
	})
}

// FuzzParseLink: no panic on any Link header, and every URL comes from
// between angle brackets.
func FuzzParseLink(f *testing.F) {
	f.Add(`<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last"`)
	f.Add(`<>; rel=next`)
	f.Add(`<a>;rel="next prev"`)
	f.Fuzz(func(t *testing.T, h string) {
		for rel, u := range parseLink(h) {
			if !strings.Contains(h, "<"+u+">") {
				t.Fatalf("parseLink(%q)[%q] = %q, not from the header", h, rel, u)
			}
		}
	})
}
