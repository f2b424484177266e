package servicenow_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/sink/servicenow"
	"github.com/sextant-dev/sextant/internal/sink/servicenow/servicenowtest"
)

const (
	user     = "svc-sextant"
	password = "Tr0ub4dor&3-not-in-errors"
	token    = "oauth-token-8c1f5e77d9a44e0f"
)

var now = time.Date(2026, 8, 21, 10, 0, 0, 0, time.UTC)

func content(id string) sextant.TicketContent {
	return sextant.TicketContent{
		Action: sextant.Action{
			ID:               id,
			Priority:         sextant.P1,
			Score:            72.5,
			Title:            "Upgrade libc6 2.36-9+deb12u4 → 2.36-9+deb12u7 in registry.example/payments/api:1.4.2",
			Artifact:         "registry.example/payments/api:1.4.2",
			Kind:             sextant.ActionUpgradePackage,
			Package:          "libc6",
			Ecosystem:        "deb",
			InstalledVersion: "2.36-9+deb12u4",
			TargetVersion:    "2.36-9+deb12u7",
			Commands:         []string{"apt-get update && apt-get install -y --only-upgrade libc6=2.36-9+deb12u7"},
			Vulnerabilities:  []string{"CVE-2024-2961", "CVE-2023-4911"},
		},
		Status:   sextant.ActionOpen,
		Findings: 2,
		Owner:    "team-payments",
	}
}

// setup starts a fake instance and a client for it; cfg's BaseURL and
// credentials are filled in (basic auth) unless already set.
func setup(t *testing.T, fcfg servicenowtest.Config, cfg servicenow.Config) (*servicenowtest.Server, *servicenow.Client) {
	t.Helper()
	if fcfg.Token == "" && fcfg.Username == "" {
		fcfg.Username, fcfg.Password = user, password
	}
	if fcfg.Table == "" {
		fcfg.Table = cfg.Table
	}
	srv := servicenowtest.New(t, fcfg)
	cfg.BaseURL = srv.URL()
	if cfg.Token == "" && cfg.Username == "" {
		cfg.Username, cfg.Password = user, password
	}
	c, err := servicenow.New(cfg, srv.Client())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.Now = func() time.Time { return now }
	return srv, c
}

func TestCreateThenFind(t *testing.T) {
	ctx := context.Background()
	srv, c := setup(t, servicenowtest.Config{}, servicenow.Config{
		AssignmentGroup: "d625dccec0a8016700a222a0f7900d06",
		Fields:          map[string]string{"category": "security", "caller_id": "6816f79cc0a8016401c5a33be04be441"},
	})
	const id = "act_9f2c1e0b7a4d4c21b3e8"

	if ref, ok, err := c.Find(ctx, id); err != nil || ok {
		t.Fatalf("Find before Create = %v, %v, %v; want no ticket", ref, ok, err)
	}
	ref, err := c.Create(ctx, content(id))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	wantURL := srv.URL() + "/nav_to.do?uri=incident.do%3Fsys_id%3D" + ref.ExternalID
	if ref.URL != wantURL {
		t.Errorf("Create URL = %q, want %q", ref.URL, wantURL)
	}
	found, ok, err := c.Find(ctx, id)
	if err != nil || !ok {
		t.Fatalf("Find after Create = %v, %v, %v; want the ticket", found, ok, err)
	}
	if found != ref {
		t.Errorf("Find after Create = %+v, want %+v", found, ref)
	}

	rec, _ := srv.Record(ref.ExternalID)
	want := map[string]string{
		"correlation_id":      sextant.CorrelationKey(id),
		"correlation_display": "sextant",
		"urgency":             "2",
		"impact":              "1",
		"assignment_group":    "d625dccec0a8016700a222a0f7900d06",
		"category":            "security",
		"caller_id":           "6816f79cc0a8016401c5a33be04be441",
		"state":               "1",
	}
	for k, v := range want {
		if rec.Fields[k] != v {
			t.Errorf("record %s = %q, want %q", k, rec.Fields[k], v)
		}
	}

	// The create asked for the fields it reads and no reference links; the
	// find used the correlation key, limit 2.
	var sawCreate, sawFind bool
	for _, r := range srv.Requests() {
		switch r.Method {
		case http.MethodPost:
			sawCreate = true
			if r.Path != "/api/now/table/incident" || r.Query.Get("sysparm_exclude_reference_link") != "true" {
				t.Errorf("create request %s %s?%s", r.Method, r.Path, r.Query.Encode())
			}
		case http.MethodGet:
			sawFind = true
			if q := r.Query.Get("sysparm_query"); !strings.HasPrefix(q, "correlation_id="+sextant.CorrelationKey(id)+"^") {
				t.Errorf("find sysparm_query = %q", q)
			}
			if l := r.Query.Get("sysparm_limit"); l != "2" {
				t.Errorf("find sysparm_limit = %q, want 2", l)
			}
		}
	}
	if !sawCreate || !sawFind {
		t.Errorf("requests %+v: want a create and finds", srv.Requests())
	}
}

func TestFindTwoRecordsIsConflict(t *testing.T) {
	srv, c := setup(t, servicenowtest.Config{}, servicenow.Config{})
	const id = "act_00000000000000000001"
	key := sextant.CorrelationKey(id)
	a := srv.Seed(map[string]string{"correlation_id": key, "short_description": "first"})
	b := srv.Seed(map[string]string{"correlation_id": key, "short_description": "second"})
	_, ok, err := c.Find(context.Background(), id)
	if code := sextant.ErrorCode(err); code != sextant.ECONFLICT || ok {
		t.Fatalf("Find = %v, %v; want ECONFLICT", ok, err)
	}
	for _, want := range []string{a, b, "INC0010231", "INC0010232"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Find error %q does not name %s", err, want)
		}
	}
}

func TestFindClosedRecord(t *testing.T) {
	srv, c := setup(t, servicenowtest.Config{}, servicenow.Config{})
	const id = "act_00000000000000000002"
	srv.Seed(map[string]string{"correlation_id": "sextant-someotheraction", "short_description": "other"})
	closed := srv.Seed(map[string]string{"correlation_id": sextant.CorrelationKey(id), "state": "7", "close_code": "x", "close_notes": "y"})
	ref, ok, err := c.Find(context.Background(), id)
	if err != nil || !ok || ref.ExternalID != closed {
		t.Fatalf("Find = %+v, %v, %v; want the closed record %s (so that it can be reopened)", ref, ok, err, closed)
	}
}

// An instance drops conditions on unknown fields and returns every row: a
// table without correlation_id must not look like "no ticket".
func TestFindIgnoredQueryIsInvalid(t *testing.T) {
	srv, c := setup(t, servicenowtest.Config{}, servicenow.Config{})
	srv.DropQueryField("correlation_id")
	srv.Seed(map[string]string{"short_description": "someone else's incident"})
	_, ok, err := c.Find(context.Background(), "act_00000000000000000003")
	if code := sextant.ErrorCode(err); code != sextant.EINVALID || ok {
		t.Fatalf("Find on a table ignoring correlation_id = %v, %v; want EINVALID", ok, err)
	}
	if !strings.Contains(err.Error(), "correlation_id") {
		t.Errorf("Find error %q does not explain the ignored condition", err)
	}
}

func TestCommentCloseReopen(t *testing.T) {
	ctx := context.Background()
	srv, c := setup(t, servicenowtest.Config{}, servicenow.Config{})
	const id = "act_00000000000000000004"
	ref, err := c.Create(ctx, content(id))
	if err != nil {
		t.Fatal(err)
	}

	changed := content(id)
	changed.Action.Priority = sextant.P0
	changed.Action.Vulnerabilities = append(changed.Action.Vulnerabilities, "CVE-2025-4802")
	if err := c.Comment(ctx, ref, changed, "New in scan 2026-08-22: CVE-2025-4802."); err != nil {
		t.Fatalf("Comment: %v", err)
	}
	if err := c.Comment(ctx, ref, changed, "Still present in scan 2026-08-23."); err != nil {
		t.Fatalf("Comment: %v", err)
	}
	rec, _ := srv.Record(ref.ExternalID)
	if rec.Fields["urgency"] != "1" || !strings.Contains(rec.Fields["description"], "CVE-2025-4802") {
		t.Errorf("after Comment urgency %q, description %q; want the action as it is now", rec.Fields["urgency"], rec.Fields["description"])
	}

	if err := c.Close(ctx, ref, "Fixed: no longer seen in 3 consecutive scans."); err != nil {
		t.Fatalf("Close: %v", err)
	}
	rec, _ = srv.Record(ref.ExternalID)
	if rec.Fields["state"] != "6" || rec.Fields["close_code"] != "Solved (Permanently)" || rec.Fields["close_notes"] != "Fixed: no longer seen in 3 consecutive scans." || rec.Fields["active"] != "false" {
		t.Errorf("after Close %v; want state 6 with close code and notes", rec.Fields)
	}

	if err := c.Reopen(ctx, ref, "CVE-2024-2961 is back."); err != nil {
		t.Fatalf("Reopen: %v", err)
	}
	rec, _ = srv.Record(ref.ExternalID)
	if rec.Fields["state"] != "2" || rec.Fields["active"] != "true" {
		t.Errorf("after Reopen state %q active %q, want 2 true", rec.Fields["state"], rec.Fields["active"])
	}
	want := []servicenowtest.JournalEntry{
		{Field: "work_notes", Value: "New in scan 2026-08-22: CVE-2025-4802."},
		{Field: "work_notes", Value: "Still present in scan 2026-08-23."},
		{Field: "work_notes", Value: "CVE-2024-2961 is back."},
	}
	if d := cmp.Diff(want, rec.Journal); d != "" {
		t.Errorf("journal (-want +got):\n%s", d)
	}
}

// A vulnerability table with its own states, comments visible to the
// caller, and a bearer token.
func TestCustomTableStatesAndToken(t *testing.T) {
	ctx := context.Background()
	srv, c := setup(t,
		servicenowtest.Config{Token: token, ClosedStates: []string{"3"}},
		servicenow.Config{Table: "sn_vul_vulnerable_item", Token: token, CommentField: "comments", ResolvedState: "3", ReopenState: "1", CloseCode: "Fixed"})
	ref, err := c.Create(ctx, content("act_00000000000000000005"))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if !strings.Contains(ref.URL, "uri=sn_vul_vulnerable_item.do") {
		t.Errorf("URL %q does not open the vulnerable item", ref.URL)
	}
	if err := c.Comment(ctx, ref, content("act_00000000000000000005"), "hello"); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx, ref, ""); err != nil {
		t.Fatalf("Close: %v", err)
	}
	rec, _ := srv.Record(ref.ExternalID)
	if rec.Fields["state"] != "3" || rec.Fields["close_code"] != "Fixed" || rec.Fields["close_notes"] != servicenow.DefaultCloseNotes {
		t.Errorf("after Close %v", rec.Fields)
	}
	if err := c.Reopen(ctx, ref, ""); err != nil {
		t.Fatal(err)
	}
	rec, _ = srv.Record(ref.ExternalID)
	want := []servicenowtest.JournalEntry{{Field: "comments", Value: "hello"}, {Field: "comments", Value: servicenow.DefaultReopenComment}}
	if rec.Fields["state"] != "1" || !cmp.Equal(rec.Journal, want) {
		t.Errorf("after Reopen state %q journal %v", rec.Fields["state"], rec.Journal)
	}
}

func TestWrongCredentials(t *testing.T) {
	srv := servicenowtest.New(t, servicenowtest.Config{Username: user, Password: password})
	c, err := servicenow.New(servicenow.Config{BaseURL: srv.URL(), Username: user, Password: "wrong-password"}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Find(context.Background(), "act_00000000000000000006")
	if code := sextant.ErrorCode(err); code != sextant.EUNAUTHORIZED {
		t.Fatalf("Find with a wrong password = %v, want EUNAUTHORIZED", err)
	}
	if !strings.Contains(err.Error(), "User Not Authenticated") {
		t.Errorf("error %q does not quote the instance", err)
	}
}

// calls are the four operations that reach the instance, each as a
// function of a client and a record that exists.
var calls = map[string]func(context.Context, *servicenow.Client, sextant.TicketRef) error{
	"Find": func(ctx context.Context, c *servicenow.Client, _ sextant.TicketRef) error {
		_, _, err := c.Find(ctx, "act_00000000000000000007")
		return err
	},
	"Create": func(ctx context.Context, c *servicenow.Client, _ sextant.TicketRef) error {
		_, err := c.Create(ctx, content("act_00000000000000000007"))
		return err
	},
	"Comment": func(ctx context.Context, c *servicenow.Client, ref sextant.TicketRef) error {
		return c.Comment(ctx, ref, content("act_00000000000000000007"), "note")
	},
	"Close": func(ctx context.Context, c *servicenow.Client, ref sextant.TicketRef) error {
		return c.Close(ctx, ref, "done")
	},
	"Reopen": func(ctx context.Context, c *servicenow.Client, ref sextant.TicketRef) error {
		return c.Reopen(ctx, ref, "again")
	},
}

func TestFailures(t *testing.T) {
	reset := now.Add(95 * time.Second).Unix()
	tests := []struct {
		name       string
		status     int
		header     http.Header
		body       string
		code       string
		retryAfter time.Duration
		text       string
	}{
		{name: "400", status: 400, code: sextant.EINVALID, body: `{"error":{"message":"Invalid table foo","detail":null},"status":"failure"}`, text: "Invalid table foo"},
		{name: "401", status: 401, code: sextant.EUNAUTHORIZED, text: "User Not Authenticated"},
		{name: "403", status: 403, code: sextant.EUNAUTHORIZED, text: "Operation Failed"},
		{name: "404", status: 404, code: sextant.ENOTFOUND, text: "No Record found"},
		{name: "409", status: 409, code: sextant.ECONFLICT},
		{name: "422", status: 422, code: sextant.EINVALID},
		{name: "429 Retry-After", status: 429, header: http.Header{"Retry-After": {"7"}}, code: sextant.ERATELIMITED, retryAfter: 7 * time.Second, text: "Rate limit exceeded"},
		{name: "429 reset", status: 429, header: http.Header{"X-Ratelimit-Limit": {"1000"}, "X-Ratelimit-Reset": {itoa(reset)}, "X-Ratelimit-Rule": {"8b6bd5a1db5210100f0e7d5b8a961976"}}, code: sextant.ERATELIMITED, retryAfter: 95 * time.Second},
		{name: "429 no hint", status: 429, code: sextant.ERATELIMITED},
		{name: "500", status: 500, code: sextant.EUNAVAILABLE},
		{name: "502 html", status: 502, body: "<html><body>Bad Gateway</body></html>", code: sextant.EUNAVAILABLE, text: "Bad Gateway"},
		{name: "503 Retry-After", status: 503, header: http.Header{"Retry-After": {"3"}}, code: sextant.EUNAVAILABLE, retryAfter: 3 * time.Second},
		{name: "200 html", status: 200, body: "<html>Your instance is hibernating</html>", code: sextant.EUNAVAILABLE},
	}
	for _, tt := range tests {
		for name, call := range calls {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				ctx := context.Background()
				srv, c := setup(t, servicenowtest.Config{}, servicenow.Config{})
				ref, err := c.Create(ctx, content("act_00000000000000000008"))
				if err != nil {
					t.Fatal(err)
				}
				if tt.body != "" {
					srv.FailNextBody(1, tt.status, tt.header, tt.body)
				} else {
					srv.FailNext(1, tt.status, tt.header)
				}
				err = call(ctx, c, ref)
				if tt.status == 200 && (name == "Comment" || name == "Close" || name == "Reopen") {
					// Updates do not read the answer.
					if err != nil {
						t.Fatalf("%s = %v, want nil", name, err)
					}
					return
				}
				var e *sextant.Error
				if !errors.As(err, &e) {
					t.Fatalf("%s = %v (%T), want a *sextant.Error", name, err, err)
				}
				if e.Code != tt.code || e.RetryAfter != tt.retryAfter {
					t.Errorf("%s = code %s, RetryAfter %v (%v); want %s, %v", name, e.Code, e.RetryAfter, err, tt.code, tt.retryAfter)
				}
				if tt.text != "" && !strings.Contains(e.Message, tt.text) {
					t.Errorf("%s error %q does not quote %q", name, e.Message, tt.text)
				}
				// The next request succeeds: the failure was one-off.
				if err := call(ctx, c, ref); err != nil && name != "Find" {
					t.Errorf("%s after the failure: %v", name, err)
				}
			})
		}
	}
}

func TestNetworkFailure(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, err := servicenow.New(servicenow.Config{BaseURL: url, Username: user, Password: password}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range calls {
		err := call(context.Background(), c, sextant.TicketRef{ExternalID: strings.Repeat("a", 32)})
		if code := sextant.ErrorCode(err); code != sextant.EUNAVAILABLE {
			t.Errorf("%s on a closed port = %v, want EUNAVAILABLE", name, err)
		}
	}
}

func TestBadReference(t *testing.T) {
	srv, c := setup(t, servicenowtest.Config{}, servicenow.Config{})
	for _, id := range []string{"", "../../sys_user", "46d44a5a2f0b1010b6a5d9f52799b6f1/../x", "INC0010231"} {
		err := c.Close(context.Background(), sextant.TicketRef{ExternalID: id}, "x")
		if code := sextant.ErrorCode(err); code != sextant.EINVALID {
			t.Errorf("Close(%q) = %v, want EINVALID", id, err)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent for bad references, want none", n)
	}
}

// No error text may hold the password, the token or the Authorization
// header, even when the instance or a proxy echoes them.
func TestNoSecretInErrors(t *testing.T) {
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	for _, tc := range []struct {
		name    string
		fcfg    servicenowtest.Config
		cfg     servicenow.Config
		secrets []string
	}{
		{"basic", servicenowtest.Config{}, servicenow.Config{}, []string{password, basic}},
		{"token", servicenowtest.Config{Token: token}, servicenow.Config{Token: token}, []string{token}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, c := setup(t, tc.fcfg, tc.cfg)
			echo := `{"error":{"message":"bad credentials ` + password + ` / ` + token + `","detail":"Authorization: Basic ` + basic + `"},"status":"failure"}`
			for _, status := range []int{400, 401, 403, 404, 429, 500} {
				srv.FailNextBody(1, status, nil, echo)
				_, _, err := c.Find(context.Background(), "act_00000000000000000009")
				if err == nil {
					t.Fatalf("Find with a %d = nil", status)
				}
				for _, secret := range tc.secrets {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error of a %d holds a secret: %q", status, err)
					}
				}
			}
		})
	}
}

func TestNew(t *testing.T) {
	ok := servicenow.Config{BaseURL: "https://acme.service-now.com", Username: user, Password: password}
	tests := []struct {
		name string
		edit func(*servicenow.Config)
	}{
		{"no base URL", func(c *servicenow.Config) { c.BaseURL = "" }},
		{"relative base URL", func(c *servicenow.Config) { c.BaseURL = "acme.service-now.com" }},
		{"plain http", func(c *servicenow.Config) { c.BaseURL = "http://acme.service-now.com" }},
		{"credentials in URL", func(c *servicenow.Config) { c.BaseURL = "https://u:" + password + "@acme.service-now.com" }},
		{"no credentials", func(c *servicenow.Config) { c.Username, c.Password = "", "" }},
		{"no password", func(c *servicenow.Config) { c.Password = "" }},
		{"basic and token", func(c *servicenow.Config) { c.Token = token }},
		{"bad table", func(c *servicenow.Config) { c.Table = "incident/../sys_user" }},
		{"bad comment field", func(c *servicenow.Config) { c.CommentField = "description" }},
		{"reserved field", func(c *servicenow.Config) { c.Fields = map[string]string{"correlation_id": "x"} }},
		{"bad field name", func(c *servicenow.Config) { c.Fields = map[string]string{"Bad Field": "x"} }},
		{"empty urgency", func(c *servicenow.Config) { c.UrgencyMap = map[sextant.Priority]string{sextant.P2: " "} }},
		{"unknown priority", func(c *servicenow.Config) { c.ImpactMap = map[sextant.Priority]string{7: "1"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.edit(&cfg)
			_, err := servicenow.New(cfg, nil)
			if code := sextant.ErrorCode(err); code != sextant.EINVALID {
				t.Fatalf("New = %v, want EINVALID", err)
			}
			if strings.Contains(err.Error(), password) || strings.Contains(err.Error(), token) {
				t.Errorf("New error holds a secret: %q", err)
			}
		})
	}
	c, err := servicenow.New(ok, nil)
	if err != nil {
		t.Fatalf("New(%+v) = %v", ok, err)
	}
	got := c.Config()
	if got.Table != "incident" || got.CommentField != "work_notes" || got.ResolvedState != "6" || got.ReopenState != "2" || got.CloseCode != "Solved (Permanently)" {
		t.Errorf("defaults = %+v", got)
	}
	if _, err := servicenow.New(servicenow.Config{BaseURL: "http://127.0.0.1:8080/", Token: token}, nil); err != nil {
		t.Errorf("New with loopback http = %v, want nil", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
