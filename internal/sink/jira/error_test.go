package jira

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sextant-dev/sextant"
)

var now = time.Date(2026, 8, 21, 10, 0, 0, 0, time.UTC)

func TestDecodeError(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		header  map[string]string
		body    string
		code    string
		wait    time.Duration
		message string
	}{
		{"field errors", 400, nil, `{"errorMessages": [], "errors": {"summary": "You must specify a summary of the issue.", "priority": "Priority name 'Urgent' is not valid"}}`,
			sextant.EINVALID, 0, "jira: create: HTTP 400 Bad Request: priority: Priority name 'Urgent' is not valid; summary: You must specify a summary of the issue."},
		{"both keys", 400, nil, `{"errorMessages": ["Field 'x' cannot be set."], "errors": {"labels": "bad"}}`,
			sextant.EINVALID, 0, "jira: create: HTTP 400 Bad Request: Field 'x' cannot be set.; labels: bad"},
		{"non-string field error", 400, nil, `{"errors": {"customfield_1": {"reason": "x"}}}`,
			sextant.EINVALID, 0, `jira: create: HTTP 400 Bad Request: customfield_1: {"reason":"x"}`},
		{"unprocessable", 422, nil, `{}`, sextant.EINVALID, 0, "jira: create: HTTP 422 Unprocessable Entity"},
		{"removed API", 410, nil, `{"errorMessages":["The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. ..."]}`,
			sextant.EINVALID, 0, "jira: create: HTTP 410 Gone: The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. ..."},
		{"unauthorized", 401, nil, "", sextant.EUNAUTHORIZED, 0, "jira: create: HTTP 401 Unauthorized"},
		{"forbidden", 403, nil, `{"errorMessages":["You do not have permission"]}`, sextant.EUNAUTHORIZED, 0, "jira: create: HTTP 403 Forbidden: You do not have permission"},
		{"not found", 404, nil, `{"errorMessages":["Issue does not exist or you do not have permission to see it."],"errors":{}}`,
			sextant.ENOTFOUND, 0, "jira: create: HTTP 404 Not Found: Issue does not exist or you do not have permission to see it."},
		{"conflict", 409, nil, "", sextant.ECONFLICT, 0, "jira: create: HTTP 409 Conflict"},
		{"rate limited", 429, map[string]string{"Retry-After": "5", "RateLimit-Reason": "jira-per-issue-on-write"}, "",
			sextant.ERATELIMITED, 5 * time.Second, "jira: create: HTTP 429 Too Many Requests (rate limit: jira-per-issue-on-write)"},
		{"rate limited until reset", 429, map[string]string{"X-RateLimit-Reset": "2026-08-21T10:02Z"}, "", sextant.ERATELIMITED, 2 * time.Minute, "HTTP 429"},
		{"rate limited until a date", 429, map[string]string{"Retry-After": "Fri, 21 Aug 2026 10:01:00 GMT"}, "", sextant.ERATELIMITED, time.Minute, "HTTP 429"},
		{"Retry-After in the past", 429, map[string]string{"Retry-After": "Fri, 21 Aug 2026 09:00:00 GMT"}, "", sextant.ERATELIMITED, 0, "HTTP 429"},
		{"absurd Retry-After", 429, map[string]string{"Retry-After": "99999999999999999999"}, "", sextant.ERATELIMITED, maxRetryAfter, "HTTP 429"},
		{"negative Retry-After", 429, map[string]string{"Retry-After": "-3"}, "", sextant.ERATELIMITED, 0, "HTTP 429"},
		{"unavailable", 503, map[string]string{"Retry-After": "30"}, "upstream connect error", sextant.EUNAVAILABLE, 30 * time.Second, "jira: create: HTTP 503 Service Unavailable: upstream connect error"},
		{"bad gateway page", 502, nil, "<html><body>Bad gateway</body></html>", sextant.EUNAVAILABLE, 0, "jira: create: HTTP 502 Bad Gateway"},
		{"4xx ignores Retry-After", 400, map[string]string{"Retry-After": "5"}, "", sextant.EINVALID, 0, "HTTP 400"},
		{"unexpected status", 302, nil, "", sextant.EUNAVAILABLE, 0, "jira: create: HTTP 302 Found"},
		{"control characters", 400, nil, "{\"errorMessages\":[\"line\\nbreak\\u0000 \\u202eevil\"]}", sextant.EINVALID, 0, "jira: create: HTTP 400 Bad Request: line break evil"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tc.header {
				h.Set(k, v)
			}
			e := decodeError("create", tc.status, h, []byte(tc.body), now)
			if e.Code != tc.code || e.RetryAfter != tc.wait || !strings.Contains(e.Message, tc.message) {
				t.Errorf("decodeError(%d, %q) = {%s, %q, %v}, want {%s, …%q…, %v}", tc.status, tc.body, e.Code, e.Message, e.RetryAfter, tc.code, tc.message, tc.wait)
			}
		})
	}
}

// FuzzDecodeError checks that any response maps to an error of the status's
// class, with a bounded one-line message and a bounded wait.
func FuzzDecodeError(f *testing.F) {
	f.Add(400, []byte(`{"errorMessages": [], "errors": {"summary": "You must specify a summary of the issue."}}`), "", "")
	f.Add(410, []byte(`{"errorMessages":["The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. ..."]}`), "", "")
	f.Add(429, []byte(`{"errorMessages":["Rate limit exceeded."]}`), "1", "2026-08-21T10:02Z")
	f.Add(503, []byte("<html>down</html>"), "Fri, 21 Aug 2026 10:01:00 GMT", "")
	f.Add(404, []byte(`{"errors": {"a": [1, {"b": null}]}, "errorMessages": null}`), "1e999", "garbage")
	f.Add(500, []byte("\xff\xfe\x00plain"), "NaN", "")
	f.Fuzz(func(t *testing.T, status int, body []byte, retry, reset string) {
		h := http.Header{}
		h.Set("Retry-After", retry)
		h.Set("X-RateLimit-Reset", reset)
		e := decodeError("create issue in SEC", status, h, body, now)
		want := map[int]string{400: sextant.EINVALID, 401: sextant.EUNAUTHORIZED, 403: sextant.EUNAUTHORIZED, 404: sextant.ENOTFOUND,
			409: sextant.ECONFLICT, 429: sextant.ERATELIMITED, 500: sextant.EUNAVAILABLE, 503: sextant.EUNAVAILABLE}
		if w, ok := want[status]; ok && e.Code != w {
			t.Errorf("decodeError(%d) code = %s, want %s", status, e.Code, w)
		}
		switch e.Code {
		case sextant.EINVALID, sextant.EUNAUTHORIZED, sextant.ENOTFOUND, sextant.ECONFLICT, sextant.ERATELIMITED, sextant.EUNAVAILABLE:
		default:
			t.Errorf("decodeError(%d) code = %q", status, e.Code)
		}
		if n := utf8.RuneCountInString(e.Message); n > maxErrorMessage || !utf8.ValidString(e.Message) {
			t.Errorf("decodeError message is %d characters or invalid UTF-8", n)
		}
		if strings.ContainsFunc(e.Message, unicode.IsControl) {
			t.Errorf("decodeError message %q holds control characters", e.Message)
		}
		if !strings.HasPrefix(e.Message, "jira: create issue in SEC: HTTP ") {
			t.Errorf("decodeError message %q does not name the operation", e.Message)
		}
		if e.RetryAfter < 0 || e.RetryAfter > maxRetryAfter || (e.RetryAfter > 0 && status != 429 && status < 500) {
			t.Errorf("decodeError(%d, Retry-After %q, reset %q) RetryAfter = %v", status, retry, reset, e.RetryAfter)
		}
	})
}

// FuzzEscapeWiki checks that escaped text holds no markup character but
// escaped ones, no line break, and no backslash that is not an escape.
func FuzzEscapeWiki(f *testing.F) {
	for _, s := range []string{"{code}x{code}", `[a|http://evil] !img.png! \\ \`, "h1. x", "a\nb\r\nc", "libc6=2.36-9+deb12u7", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := escapeWiki(oneLine(s, 1000))
		if strings.ContainsAny(got, "\r\n") {
			t.Errorf("escapeWiki(%q) = %q holds a line break", s, got)
		}
		for i := 0; i < len(got); i++ {
			switch {
			case got[i] == '\\':
				if i+1 >= len(got) || !strings.ContainsRune(wikiSpecial, rune(got[i+1])) {
					t.Fatalf("escapeWiki(%q) = %q: backslash at %d escapes nothing", s, got, i)
				}
				i++
			case strings.IndexByte(wikiSpecial, got[i]) >= 0:
				t.Fatalf("escapeWiki(%q) = %q: unescaped %q at %d", s, got, got[i], i)
			}
		}
		if l := inertLine(got); blockMarkerRE.MatchString(l) {
			t.Errorf("inertLine(%q) = %q starts with a block marker", got, l)
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzResponse feeds any status and body to every client operation: the
// client must not panic, and must return nil or a *sextant.Error.
func FuzzResponse(f *testing.F) {
	f.Add(200, []byte(`{"issues": [{"id": "10042", "key": "SEC-117"}], "isLast": true}`))
	f.Add(201, []byte(`{"id": "10042", "key": "SEC-117", "self": "https://example.atlassian.net/rest/api/3/issue/10042"}`))
	f.Add(200, []byte(`{"id": "1", "key": "SEC-1", "fields": {"status": {"name": "Done", "statusCategory": {"key": "done"}}}}`))
	f.Add(200, []byte(`{"transitions": [{"id": "31", "name": "Done", "to": {"name": "Done", "statusCategory": {"key": "done"}}}]}`))
	f.Add(204, []byte{})
	f.Add(200, []byte(`{"issues": null, "fields": [], "transitions": {}}`))
	f.Add(429, []byte(`{"errorMessages": ["slow down"]}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			return // net/http refuses such status lines
		}
		for _, fl := range []Flavor{Cloud, DataCenter} {
			hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
			})}
			c, err := New(Config{Flavor: fl, BaseURL: "https://jira.example.com", Project: "SEC", Email: "a@example.com", Token: "t0ken-xyz"}, hc)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			ref := sextant.TicketRef{ExternalID: "SEC-1"}
			_, _, e1 := c.Find(ctx, "act_1")
			_, e2 := c.Create(ctx, sextant.TicketContent{Action: sextant.Action{ID: "act_1", Title: "t"}})
			e3 := c.Comment(ctx, ref, sextant.TicketContent{}, "c")
			e4 := c.Close(ctx, ref, "c")
			e5 := c.Reopen(ctx, ref, "c")
			for _, err := range []error{e1, e2, e3, e4, e5} {
				if err == nil {
					continue
				}
				if _, ok := err.(*sextant.Error); !ok {
					t.Errorf("error %v is %T, want *sextant.Error", err, err)
				}
				if strings.Contains(err.Error(), "t0ken-xyz") {
					t.Errorf("error %q shows the token", err)
				}
			}
		}
	})
}

func TestPickTransition(t *testing.T) {
	ts := []transition{
		{ID: "11", Name: "Close issue", To: status{Name: "Done"}},
		{ID: "21", Name: "done ", To: status{Name: "Resolved"}},
		{ID: "", Name: "To Do"},
		{ID: "41", Name: "Back to backlog", To: status{Name: "To Do"}},
	}
	for _, tc := range []struct {
		name, want string
	}{
		{"Done", "21"},      // a transition name wins over a status name
		{"DONE", "21"},      // case does not matter
		{"resolved", "21"},  // by status name
		{"To Do", "41"},     // a transition without an ID is skipped
		{"In Progress", ""}, // none
	} {
		got, ok := pickTransition(ts, tc.name)
		if got.ID != tc.want || ok != (tc.want != "") {
			t.Errorf("pickTransition(%q) = %q, %v; want %q", tc.name, got.ID, ok, tc.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		s    string
		max  int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "ab…"},
		{"ab cd", 4, "ab…"},
		{"ééé", 2, "é…"},
	} {
		if got := truncate(tc.s, tc.max); got != tc.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.s, tc.max, got, tc.want)
		}
	}
}
