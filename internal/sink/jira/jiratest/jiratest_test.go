package jiratest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/sextant-dev/sextant/internal/sink/jira"
)

func TestCheckADF(t *testing.T) {
	for _, tc := range []struct {
		name, doc, err string
	}{
		{"valid", `{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"x","marks":[{"type":"code"},{"type":"link","attrs":{"href":"https://x"}}]}]},{"type":"bulletList","content":[{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"y"}]}]}]},{"type":"codeBlock","attrs":{"language":"bash"},"content":[{"type":"text","text":"ls"}]}]}`, ""},
		{"empty doc", `{"type":"doc","version":1,"content":[]}`, ""},
		{"a string", `"h1. x"`, "want a document object"},
		{"no version", `{"type":"doc","content":[]}`, "version"},
		{"version 2", `{"type":"doc","version":2,"content":[]}`, "version"},
		{"empty text", `{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":""}]}]}`, "non-empty text"},
		{"text at the top", `{"type":"doc","version":1,"content":[{"type":"text","text":"x"}]}`, "want a block node"},
		{"marks on a paragraph", `{"type":"doc","version":1,"content":[{"type":"paragraph","marks":[{"type":"strong"}]}]}`, "marks on a paragraph"},
		{"list item outside a list", `{"type":"doc","version":1,"content":[{"type":"listItem","content":[]}]}`, "want a block node"},
		{"empty list", `{"type":"doc","version":1,"content":[{"type":"bulletList","content":[]}]}`, "at least one item"},
		{"bare text in a list item", `{"type":"doc","version":1,"content":[{"type":"bulletList","content":[{"type":"listItem","content":[{"type":"text","text":"x"}]}]}]}`, "starts with a paragraph"},
		{"link without href", `{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"x","marks":[{"type":"link"}]}]}]}`, "href"},
		{"code and strong", `{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"x","marks":[{"type":"code"},{"type":"strong"}]}]}]}`, "combines only with link"},
		{"marked code block", `{"type":"doc","version":1,"content":[{"type":"codeBlock","content":[{"type":"text","text":"x","marks":[{"type":"strong"}]}]}]}`, "no marks"},
		{"heading level 9", `{"type":"doc","version":1,"content":[{"type":"heading","attrs":{"level":9},"content":[{"type":"text","text":"x"}]}]}`, "level"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(tc.doc), &v); err != nil {
				t.Fatal(err)
			}
			err := CheckADF(v)
			if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Errorf("CheckADF(%s) = %v, want an error with %q", tc.doc, err, tc.err)
			}
		})
	}
}

// recorder is a testing.TB that records the fake's complaints instead of
// failing the test.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) complaints() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.errs, "\n")
}

func TestProtocolChecks(t *testing.T) {
	adfDoc := `{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"x"}]}]}`
	emptyText := `{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":""}]}]}`
	create := func(desc string) string {
		return `{"fields":{"project":{"key":"SEC"},"issuetype":{"name":"Bug"},"summary":"s","labels":["sextant"],"description":` + desc + `}}`
	}
	for _, tc := range []struct {
		name                string
		flavor              jira.Flavor
		method, path, body  string
		accept, contentType string
		auth                string // "" for the right one
		status              int
		complaint           string // "" when the fake must not fail the test
	}{
		{"cloud create", jira.Cloud, "POST", "/rest/api/3/issue", create(adfDoc), "application/json", "application/json", "", 201, ""},
		{"cloud empty text node", jira.Cloud, "POST", "/rest/api/3/issue", create(emptyText), "application/json", "application/json", "", 400, "non-empty text"},
		{"cloud string description", jira.Cloud, "POST", "/rest/api/3/issue", create(`"h1. x"`), "application/json", "application/json", "", 400, "want a document object"},
		{"datacenter ADF description", jira.DataCenter, "POST", "/rest/api/2/issue", create(adfDoc), "application/json", "application/json", "", 400, "wiki markup, a string"},
		{"datacenter create", jira.DataCenter, "POST", "/rest/api/2/issue", create(`"h3. x"`), "application/json", "application/json", "", 201, ""},
		{"no Accept", jira.Cloud, "GET", "/rest/api/3/issue/SEC-1", "", "", "", "", 400, "Accept"},
		{"no Content-Type", jira.DataCenter, "POST", "/rest/api/2/issue", create(`"x"`), "application/json", "text/plain", "", 400, "Content-Type"},
		{"wrong API version", jira.Cloud, "POST", "/rest/api/2/issue", create(adfDoc), "application/json", "application/json", "", 400, "not under /rest/api/3"},
		{"removed search", jira.Cloud, "GET", "/rest/api/3/search?jql=x", "", "application/json", "", "", 410, ""},
		{"bad token", jira.DataCenter, "GET", "/rest/api/2/issue/SEC-1", "", "application/json", "", "Bearer nope", 401, ""},
		{"basic on datacenter", jira.DataCenter, "GET", "/rest/api/2/issue/SEC-1", "", "application/json", "", "Basic " + base64.StdEncoding.EncodeToString([]byte(Email+":"+Token)), 401, ""},
		{"unknown issue", jira.Cloud, "GET", "/rest/api/3/issue/SEC-9?fields=status", "", "application/json", "", "", 404, ""},
		{"unknown JQL", jira.DataCenter, "GET", "/rest/api/2/search?jql=text+~+x", "", "application/json", "", "", 400, "JQL"},
		{"summary with a newline", jira.DataCenter, "POST", "/rest/api/2/issue", `{"fields":{"project":{"key":"SEC"},"issuetype":{"name":"Bug"},"summary":"a\nb","description":"x"}}`, "application/json", "application/json", "", 400, "newline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			s := New(rec, tc.flavor)
			req, err := http.NewRequest(tc.method, s.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			auth := tc.auth
			if auth == "" {
				auth = s.authorization()
			}
			req.Header.Set("Authorization", auth)
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("%s %s = %d %s, want %d", tc.method, tc.path, resp.StatusCode, body, tc.status)
			}
			got := rec.complaints()
			if (got == "") != (tc.complaint == "") || !strings.Contains(got, tc.complaint) {
				t.Errorf("%s %s: the fake complained %q, want %q", tc.method, tc.path, got, tc.complaint)
			}
		})
	}
}

func TestFailNext(t *testing.T) {
	s := New(t, jira.DataCenter)
	s.FailNext(1, http.StatusTooManyRequests, "3")
	s.FailNext(1, http.StatusServiceUnavailable, "")
	var statuses []int
	for range 3 {
		req, _ := http.NewRequest("GET", s.URL+"/rest/api/2/issue/SEC-1", nil)
		req.Header.Set("Authorization", s.authorization())
		req.Header.Set("Accept", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
		if resp.StatusCode == 429 && (resp.Header.Get("Retry-After") != "3" || resp.Header.Get("X-RateLimit-Remaining") != "0") {
			t.Errorf("429 headers = %v, want Retry-After 3 and X-RateLimit-Remaining 0", resp.Header)
		}
	}
	if fmt.Sprint(statuses) != "[429 503 404]" || s.Requests() != 3 {
		t.Errorf("statuses %v after %d requests, want [429 503 404] after 3", statuses, s.Requests())
	}
}
