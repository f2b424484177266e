package jira_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/sink/jira"
	"github.com/sextant-dev/sextant/internal/sink/jira/jiratest"
)

var flavors = []jira.Flavor{jira.Cloud, jira.DataCenter}

func newClient(t *testing.T, srv *jiratest.Server, edit func(*jira.Config)) *jira.Client {
	t.Helper()
	cfg := srv.Config()
	cfg.Labels = []string{"security"}
	if edit != nil {
		edit(&cfg)
	}
	c, err := jira.New(cfg, nil)
	if err != nil {
		t.Fatalf("New(%v): %v", cfg, err)
	}
	return c
}

func TestLifecycle(t *testing.T) {
	for _, f := range flavors {
		t.Run(string(f), func(t *testing.T) {
			ctx := context.Background()
			srv := jiratest.New(t, f)
			c := newClient(t, srv, nil)
			content := sampleContent()
			id := content.Action.ID
			key := sextant.CorrelationKey(id)

			if ref, ok, err := c.Find(ctx, id); err != nil || ok {
				t.Fatalf("Find before Create = %v, %v, %v; want not found", ref, ok, err)
			}
			ref, err := c.Create(ctx, content)
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			want := sextant.TicketRef{ExternalID: "SEC-1", URL: srv.URL + "/browse/SEC-1"}
			if ref != want {
				t.Errorf("Create = %+v, want %+v", ref, want)
			}
			is, ok := srv.Issue("SEC-1")
			if !ok {
				t.Fatal("the fake has no SEC-1 after Create")
			}
			if diff := cmp.Diff([]string{"security", "sextant", key}, is.Labels); diff != "" {
				t.Errorf("issue labels (-want +got):\n%s", diff)
			}
			if is.Priority != "High" || is.IssueType != "Bug" || is.Summary != jira.Summary(content) {
				t.Errorf("issue priority, type, summary = %q, %q, %q; want High, Bug, %q", is.Priority, is.IssueType, is.Summary, jira.Summary(content))
			}
			if txt := jiratest.Text(is.Description); !strings.Contains(txt, "apt-get update && apt-get install -y --only-upgrade libc6=2.36-9+deb12u7") {
				t.Errorf("issue description lacks the fix command:\n%s", txt)
			}

			got, ok, err := c.Find(ctx, id)
			if err != nil || !ok || got != want {
				t.Errorf("Find after Create = %+v, %v, %v; want %+v, true", got, ok, err, want)
			}
			other := sextant.ActionID(sextant.ActionUpgradePackage, artifact, "deb/openssl")
			if got, ok, err := c.Find(ctx, other); err != nil || ok {
				t.Errorf("Find(another action) = %+v, %v, %v; want not found", got, ok, err)
			}

			if err := c.Comment(ctx, ref, content, "Still open after the rescan of 2026-08-21."); err != nil {
				t.Fatalf("Comment: %v", err)
			}
			n := srv.Requests()
			if err := c.Comment(ctx, ref, content, "  \n "); err != nil {
				t.Fatalf("Comment(blank): %v", err)
			}
			if srv.Requests() != n {
				t.Errorf("Comment(blank) sent %d requests, want none", srv.Requests()-n)
			}

			if err := c.Close(ctx, ref, "Resolved: no longer reported."); err != nil {
				t.Fatalf("Close: %v", err)
			}
			is, _ = srv.Issue("SEC-1")
			if is.Status != jiratest.StatusDone {
				t.Errorf("status after Close = %q, want %q", is.Status, jiratest.StatusDone)
			}
			// Closing again is a no-op: one request to read the status.
			n = srv.Requests()
			if err := c.Close(ctx, ref, "Resolved again."); err != nil {
				t.Fatalf("Close(closed issue): %v", err)
			}
			if d := srv.Requests() - n; d != 1 {
				t.Errorf("Close(closed issue) sent %d requests, want 1 (read status)", d)
			}

			if err := c.Reopen(ctx, ref, "Reopened: CVE-2024-2961 came back."); err != nil {
				t.Fatalf("Reopen: %v", err)
			}
			if err := c.Reopen(ctx, ref, "Reopened again."); err != nil {
				t.Fatalf("Reopen(open issue): %v", err)
			}
			is, _ = srv.Issue("SEC-1")
			if is.Status != jiratest.StatusToDo {
				t.Errorf("status after Reopen = %q, want %q", is.Status, jiratest.StatusToDo)
			}
			type comment struct{ Text, Transition string }
			var comments []comment
			for _, c := range is.Comments {
				comments = append(comments, comment{c.Text, c.Transition})
			}
			wantComments := []comment{
				{"Still open after the rescan of 2026-08-21.", ""},
				{"Resolved: no longer reported.", jiratest.StatusDone},
				{"Reopened: CVE-2024-2961 came back.", jiratest.StatusToDo},
			}
			if f == jira.DataCenter { // wiki markup, with - escaped
				wantComments[0].Text = `Still open after the rescan of 2026\-08\-21.`
				wantComments[2].Text = `Reopened: CVE\-2024\-2961 came back.`
			}
			if diff := cmp.Diff(wantComments, comments); diff != "" {
				t.Errorf("comments (-want +got):\n%s", diff)
			}
			if len(srv.Issues()) != 1 {
				t.Errorf("the fake has %d issues, want 1", len(srv.Issues()))
			}
		})
	}
}

func TestFindPaths(t *testing.T) {
	for _, tc := range []struct {
		flavor jira.Flavor
		path   string
	}{
		{jira.Cloud, "/rest/api/3/search/jql"},
		{jira.DataCenter, "/rest/api/2/search"},
	} {
		srv := jiratest.New(t, tc.flavor)
		c := newClient(t, srv, nil)
		id := sampleContent().Action.ID
		if _, _, err := c.Find(context.Background(), id); err != nil {
			t.Fatalf("Find(%s): %v", tc.flavor, err)
		}
		log := srv.Log()
		if len(log) != 1 || log[0].Method != http.MethodGet || log[0].Path != tc.path {
			t.Fatalf("Find(%s) sent %+v, want one GET %s", tc.flavor, log, tc.path)
		}
		wantJQL := fmt.Sprintf(`jql=project+%%3D+%%22SEC%%22+AND+labels+%%3D+%%22%s%%22+ORDER+BY+created+ASC`, sextant.CorrelationKey(id))
		if !strings.Contains(log[0].Query, wantJQL) {
			t.Errorf("Find(%s) query = %q, want it to hold %q", tc.flavor, log[0].Query, wantJQL)
		}
	}
}

func TestFindOldestOfDuplicates(t *testing.T) {
	srv := jiratest.New(t, jira.DataCenter)
	c := newClient(t, srv, nil)
	content := sampleContent()
	for range 2 {
		if _, err := c.Create(context.Background(), content); err != nil {
			t.Fatal(err)
		}
	}
	ref, ok, err := c.Find(context.Background(), content.Action.ID)
	if err != nil || !ok || ref.ExternalID != "SEC-1" {
		t.Errorf("Find with two issues labelled = %+v, %v, %v; want SEC-1", ref, ok, err)
	}
}

func TestTransitionByStatusName(t *testing.T) {
	srv := jiratest.New(t, jira.Cloud)
	srv.SetTransitions(jiratest.StatusToDo,
		jiratest.Transition{ID: "5", Name: "Start work", To: "In Progress", Category: "indeterminate"},
		jiratest.Transition{ID: "7", Name: "Resolve issue", To: "Done", Category: "done"},
	)
	c := newClient(t, srv, func(cfg *jira.Config) { cfg.CloseTransition = "done" })
	ref, err := c.Create(context.Background(), sampleContent())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(context.Background(), ref, ""); err != nil {
		t.Fatalf("Close by status name: %v", err)
	}
	if is, _ := srv.Issue(ref.ExternalID); is.Status != "Done" || len(is.Comments) != 0 {
		t.Errorf("after Close: status %q, %d comments; want Done, none", is.Status, len(is.Comments))
	}
}

func TestTransitionMissing(t *testing.T) {
	for _, f := range flavors {
		srv := jiratest.New(t, f)
		srv.SetTransitions(jiratest.StatusToDo,
			jiratest.Transition{ID: "5", Name: "Start work", To: "In Progress", Category: "indeterminate"},
			jiratest.Transition{ID: "7", Name: "Send to review", To: "In Review", Category: "indeterminate"},
		)
		c := newClient(t, srv, nil)
		ref, err := c.Create(context.Background(), sampleContent())
		if err != nil {
			t.Fatal(err)
		}
		n := srv.Requests()
		err = c.Close(context.Background(), ref, "closing")
		if sextant.ErrorCode(err) != sextant.EINVALID {
			t.Fatalf("Close without a Done transition: %v, want %s", err, sextant.EINVALID)
		}
		for _, want := range []string{`"Done"`, `"Start work" (to In Progress)`, `"Send to review" (to In Review)`, `status "To Do"`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Close error %q does not name %s", err, want)
			}
		}
		if d := srv.Requests() - n; d != 2 {
			t.Errorf("Close sent %d requests, want 2 (status, transitions) and no transition", d)
		}
	}
}

func TestReopenHumanClosed(t *testing.T) {
	srv := jiratest.New(t, jira.DataCenter)
	c := newClient(t, srv, nil)
	ref, err := c.Create(context.Background(), sampleContent())
	if err != nil {
		t.Fatal(err)
	}
	srv.SetStatus(ref.ExternalID, jiratest.StatusDone, "done")
	// Close after a person closed it: nothing to do.
	if err := c.Close(context.Background(), ref, "x"); err != nil {
		t.Fatalf("Close(closed by a person): %v", err)
	}
	if err := c.Reopen(context.Background(), ref, "back"); err != nil {
		t.Fatalf("Reopen: %v", err)
	}
	if is, _ := srv.Issue(ref.ExternalID); is.Status != jiratest.StatusToDo || len(is.Comments) != 1 {
		t.Errorf("after Reopen: %q with %d comments, want To Do with 1", is.Status, len(is.Comments))
	}
}

func TestErrors(t *testing.T) {
	now := time.Date(2026, 8, 21, 10, 0, 0, 0, time.UTC)
	for _, f := range flavors {
		for _, tc := range []struct {
			status     int
			retryAfter string
			code       string
			wait       time.Duration
			msg        string
		}{
			{400, "", sextant.EINVALID, 0, "summary: You must specify a summary of the issue."},
			{401, "", sextant.EUNAUTHORIZED, 0, "Client must be authenticated"},
			{403, "", sextant.EUNAUTHORIZED, 0, "permission"},
			{404, "", sextant.ENOTFOUND, 0, "Issue does not exist"},
			{409, "", sextant.ECONFLICT, 0, "HTTP 409"},
			{429, "1", sextant.ERATELIMITED, time.Second, "Rate limit exceeded."},
			{429, "Fri, 21 Aug 2026 10:00:30 GMT", sextant.ERATELIMITED, 30 * time.Second, "HTTP 429"},
			{429, "", sextant.ERATELIMITED, 0, "HTTP 429"},
			{503, "7", sextant.EUNAVAILABLE, 7 * time.Second, "temporarily unavailable"},
			{500, "", sextant.EUNAVAILABLE, 0, "HTTP 500"},
		} {
			t.Run(fmt.Sprintf("%s/%d/%s", f, tc.status, tc.retryAfter), func(t *testing.T) {
				srv := jiratest.New(t, f)
				c := newClient(t, srv, nil)
				c.Now = func() time.Time { return now }
				ctx := context.Background()
				ref := sextant.TicketRef{ExternalID: "SEC-1"}
				calls := map[string]func() error{
					"find":    func() error { _, _, err := c.Find(ctx, "act_1"); return err },
					"create":  func() error { _, err := c.Create(ctx, sampleContent()); return err },
					"comment": func() error { return c.Comment(ctx, ref, sextant.TicketContent{}, "x") },
					"close":   func() error { return c.Close(ctx, ref, "x") },
					"reopen":  func() error { return c.Reopen(ctx, ref, "x") },
				}
				for name, call := range calls {
					srv.FailNext(1, tc.status, tc.retryAfter)
					err := call()
					if code := sextant.ErrorCode(err); code != tc.code {
						t.Errorf("%s after %d: error %v (%s), want %s", name, tc.status, err, code, tc.code)
					}
					if ra := sextant.ErrorRetryAfter(err); ra != tc.wait {
						t.Errorf("%s after %d Retry-After %q: RetryAfter = %v, want %v", name, tc.status, tc.retryAfter, ra, tc.wait)
					}
					if err != nil && !strings.Contains(err.Error(), tc.msg) {
						t.Errorf("%s after %d: error %q does not say %q", name, tc.status, err, tc.msg)
					}
					checkNoToken(t, err, srv.Token)
				}
			})
		}
	}
}

func TestFailNextCounts(t *testing.T) {
	srv := jiratest.New(t, jira.Cloud)
	c := newClient(t, srv, nil)
	srv.FailNext(2, http.StatusServiceUnavailable, "")
	for i := range 3 {
		_, _, err := c.Find(context.Background(), "act_1")
		if want := []string{sextant.EUNAVAILABLE, sextant.EUNAVAILABLE, ""}[i]; sextant.ErrorCode(err) != want {
			t.Errorf("Find #%d: %v, want code %q", i+1, err, want)
		}
	}
	if srv.Requests() != 3 {
		t.Errorf("Requests() = %d, want 3", srv.Requests())
	}
}

func TestNetworkError(t *testing.T) {
	srv := jiratest.New(t, jira.DataCenter)
	c := newClient(t, srv, nil)
	srv.Close()
	_, err := c.Create(context.Background(), sampleContent())
	if sextant.ErrorCode(err) != sextant.EUNAVAILABLE {
		t.Errorf("Create with the server down: %v, want %s", err, sextant.EUNAVAILABLE)
	}
	checkNoToken(t, err, srv.Token)
}

func TestWrongCredentials(t *testing.T) {
	for _, f := range flavors {
		srv := jiratest.New(t, f)
		c := newClient(t, srv, func(cfg *jira.Config) { cfg.Token = "wrong-token-0123456789" })
		_, err := c.Create(context.Background(), sampleContent())
		if sextant.ErrorCode(err) != sextant.EUNAUTHORIZED {
			t.Errorf("Create(%s) with a wrong token: %v, want %s", f, err, sextant.EUNAUTHORIZED)
		}
		checkNoToken(t, err, "wrong-token-0123456789")
	}
}

// TestTokenNeverShown echoes the request's credentials back in every error
// body a proxy might send, and checks that no error, no formatting of the
// configuration and no log line shows them.
func TestTokenNeverShown(t *testing.T) {
	const token = "s3cr3t-t0ken-ATATT3xFfGF0"
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status := map[string]int{"GET": 502, "POST": 400}[r.Method]
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(status)
		fmt.Fprintf(w, "bad gateway: Authorization=%s token=%s", r.Header.Get("Authorization"), token)
	}))
	defer echo.Close()
	for _, f := range flavors {
		cfg := jira.Config{Flavor: f, BaseURL: echo.URL, Project: "SEC", Email: jiratest.Email, Token: token}
		c, err := jira.New(cfg, echo.Client())
		if err != nil {
			t.Fatal(err)
		}
		_, _, err1 := c.Find(context.Background(), "act_1")
		_, err2 := c.Create(context.Background(), sampleContent())
		for _, err := range []error{err1, err2} {
			if err == nil {
				t.Fatalf("%s: no error from the echoing server", f)
			}
			checkNoToken(t, err, token)
			if !strings.Contains(err.Error(), "[REDACTED]") {
				t.Errorf("%s: error %q does not show where the token was removed", f, err)
			}
		}
		var logs bytes.Buffer
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "jira", cfg)
		for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", &cfg), logs.String(), fmt.Sprint(c.Config())} {
			if strings.Contains(s, token) {
				t.Errorf("%s: %q shows the token", f, s)
			}
		}
	}
	_, err := jira.New(jira.Config{Flavor: jira.Cloud, BaseURL: "http://jira.example.com", Project: "SEC", Email: "a@b", Token: token}, nil)
	checkNoToken(t, err, token)
}

func checkNoToken(t *testing.T, err error, token string) {
	t.Helper()
	if err == nil {
		return
	}
	basic := base64.StdEncoding.EncodeToString([]byte(jiratest.Email + ":" + token))
	for _, secret := range []string{token, basic} {
		if strings.Contains(err.Error(), secret) || strings.Contains(fmt.Sprintf("%#v", err), secret) {
			t.Errorf("error %q shows a credential", err)
		}
	}
}

func TestNew(t *testing.T) {
	ok := jira.Config{Flavor: jira.Cloud, BaseURL: "https://example.atlassian.net/", Project: "SEC", Email: "bot@example.com", Token: "t0ken"}
	for _, tc := range []struct {
		name string
		edit func(*jira.Config)
		want string // error code, "" for none
	}{
		{"cloud", func(*jira.Config) {}, ""},
		{"data center with context path", func(c *jira.Config) {
			c.Flavor, c.BaseURL, c.Email = jira.DataCenter, "https://jira.corp.example/jira", ""
		}, ""},
		{"http on loopback", func(c *jira.Config) { c.BaseURL = "http://127.0.0.1:8080" }, ""},
		{"http elsewhere", func(c *jira.Config) { c.BaseURL = "http://jira.corp.example" }, sextant.EINVALID},
		{"ftp", func(c *jira.Config) { c.BaseURL = "ftp://jira.corp.example" }, sextant.EINVALID},
		{"no base URL", func(c *jira.Config) { c.BaseURL = "" }, sextant.EINVALID},
		{"user info", func(c *jira.Config) { c.BaseURL = "https://bot:pw@example.atlassian.net" }, sextant.EINVALID},
		{"query", func(c *jira.Config) { c.BaseURL = "https://example.atlassian.net?x=1" }, sextant.EINVALID},
		{"bad browse URL", func(c *jira.Config) { c.BrowseURL = "javascript:alert(1)" }, sextant.EINVALID},
		{"no token", func(c *jira.Config) { c.Token = "" }, sextant.EINVALID},
		{"token with newline", func(c *jira.Config) { c.Token = "a\r\nX-Evil: 1" }, sextant.EINVALID},
		{"cloud without email", func(c *jira.Config) { c.Email = "" }, sextant.EINVALID},
		{"no project", func(c *jira.Config) { c.Project = "" }, sextant.EINVALID},
		{"unknown flavor", func(c *jira.Config) { c.Flavor = "onprem" }, sextant.EINVALID},
		{"flavor in upper case", func(c *jira.Config) { c.Flavor = "Cloud" }, ""},
		{"owned custom field", func(c *jira.Config) { c.CustomFields = map[string]any{"labels": []string{"x"}} }, sextant.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			_, err := jira.New(cfg, nil)
			if got := sextant.ErrorCode(err); got != tc.want {
				t.Errorf("New(%v) error = %v (%q), want code %q", cfg, err, got, tc.want)
			}
		})
	}
}

func TestParseFlavor(t *testing.T) {
	for in, want := range map[string]jira.Flavor{"cloud": jira.Cloud, " Cloud ": jira.Cloud, "datacenter": jira.DataCenter, "server": jira.DataCenter, "dc": jira.DataCenter} {
		if got, err := jira.ParseFlavor(in); err != nil || got != want {
			t.Errorf("ParseFlavor(%q) = %q, %v, want %q", in, got, err, want)
		}
	}
	if _, err := jira.ParseFlavor("jira"); sextant.ErrorCode(err) != sextant.EINVALID {
		t.Errorf("ParseFlavor(jira) error = %v, want %s", err, sextant.EINVALID)
	}
}

// rawServer answers every request with status and body, recording paths.
func rawServer(t *testing.T, status int, body []byte, paths *[]string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*paths = append(*paths, r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestResponses(t *testing.T) {
	big := append([]byte(`{"issues": [], "pad": "`), bytes.Repeat([]byte("x"), 2<<20)...)
	big = append(big, `"}`...)
	for _, tc := range []struct {
		name   string
		status int
		body   []byte
		code   string
	}{
		{"not JSON", 200, []byte("<html>Log in to continue</html>"), sextant.EUNAVAILABLE},
		{"too large", 200, big, sextant.EUNAVAILABLE},
		{"created without a key", 201, []byte(`{"id": "10001"}`), sextant.EUNAVAILABLE},
		{"removed API", 410, []byte(`{"errorMessages":["The requested API has been removed. Please migrate to the /rest/api/3/search/jql API."]}`), sextant.EINVALID},
		{"huge error", 400, big, sextant.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var paths []string
			srv := rawServer(t, tc.status, tc.body, &paths)
			c, err := jira.New(jira.Config{Flavor: jira.DataCenter, BaseURL: srv.URL + "/jira/", Project: "SEC", Token: "t0ken"}, srv.Client())
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Create(context.Background(), sampleContent())
			if got := sextant.ErrorCode(err); got != tc.code {
				t.Errorf("Create answered %d %.40q: error %v (%s), want %s", tc.status, tc.body, err, got, tc.code)
			}
			if err != nil && len(err.Error()) > 1100 {
				t.Errorf("Create error is %d bytes long, want it bounded", len(err.Error()))
			}
			if !slices.Equal(paths, []string{"/jira/rest/api/2/issue"}) {
				t.Errorf("Create posted to %q, want /jira/rest/api/2/issue (the context path kept)", paths)
			}
		})
	}
}

func TestBrowseURL(t *testing.T) {
	srv := jiratest.New(t, jira.Cloud)
	c := newClient(t, srv, func(cfg *jira.Config) { cfg.BrowseURL = "https://example.atlassian.net/" })
	ref, err := c.Create(context.Background(), sampleContent())
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://example.atlassian.net/browse/SEC-1"; ref.URL != want {
		t.Errorf("Create URL = %q, want %q", ref.URL, want)
	}
}

func TestInvalidRef(t *testing.T) {
	srv := jiratest.New(t, jira.Cloud)
	c := newClient(t, srv, nil)
	for _, key := range []string{"", "SEC-1/../../admin", "SEC 1"} {
		ref := sextant.TicketRef{ExternalID: key}
		for name, err := range map[string]error{
			"Comment": c.Comment(context.Background(), ref, sextant.TicketContent{}, "x"),
			"Close":   c.Close(context.Background(), ref, ""),
			"Reopen":  c.Reopen(context.Background(), ref, ""),
		} {
			if sextant.ErrorCode(err) != sextant.EINVALID {
				t.Errorf("%s(%q) error = %v, want %s", name, key, err, sextant.EINVALID)
			}
		}
	}
	if srv.Requests() != 0 {
		t.Errorf("invalid refs sent %d requests, want none", srv.Requests())
	}
	if err := c.Comment(context.Background(), sextant.TicketRef{ExternalID: "SEC-404"}, sextant.TicketContent{}, "x"); sextant.ErrorCode(err) != sextant.ENOTFOUND {
		t.Errorf("Comment(SEC-404) error = %v, want %s", err, sextant.ENOTFOUND)
	}
}
