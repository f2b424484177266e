package github_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/sink/github"
	"github.com/sextant-dev/sextant/internal/sink/github/githubtest"
)

const token = "ghs_16C7e42F292c6912E7710c838347Ae178B4a"

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

func setup(t *testing.T, cfg github.Config) (*githubtest.Server, *github.Client) {
	t.Helper()
	srv := githubtest.New(t, githubtest.Config{Owner: "acme", Repo: "payments", Token: token})
	cfg.BaseURL = srv.URL()
	if cfg.Owner == "" {
		cfg.Owner, cfg.Repo = "acme", "payments"
	}
	if cfg.Token == "" {
		cfg.Token = token
	}
	c, err := github.New(cfg, srv.Client())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.Now = func() time.Time { return now }
	return srv, c
}

func TestCreateThenFind(t *testing.T) {
	ctx := context.Background()
	srv, c := setup(t, github.Config{Labels: []string{"sextant", "security"}, Assignees: []string{"amy"}})
	const id = "act_9f2c1e0b7a4d4c21b3e8"
	key := sextant.CorrelationKey(id)

	// Noise: an issue and a pull request that are not this action's, and
	// a pull request that carries its label.
	srv.AddIssue("someone's bug", "text", "sextant")
	srv.AddPullRequest("bump deps", key)

	if ref, ok, err := c.Find(ctx, id); err != nil || ok {
		t.Fatalf("Find before Create = %v, %v, %v; want none", ref, ok, err)
	}
	ref, err := c.Create(ctx, content(id))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if ref.ExternalID != "3" || ref.URL != "https://github.com/acme/payments/issues/3" {
		t.Errorf("Create = %+v, want issue 3", ref)
	}
	found, ok, err := c.Find(ctx, id)
	if err != nil || !ok || found != ref {
		t.Fatalf("Find after Create = %+v, %v, %v; want %+v", found, ok, err, ref)
	}

	is, _ := srv.Issue(3)
	if got := strings.Join(is.Labels, ","); got != "sextant,security,"+key {
		t.Errorf("labels = %s", got)
	}
	if len(is.Assignees) != 1 || is.Assignees[0] != "amy" {
		t.Errorf("assignees = %v", is.Assignees)
	}
	if !strings.HasPrefix(is.Body, github.Marker(key)+"\n") || !strings.HasPrefix(is.Title, "[P1] Upgrade libc6") {
		t.Errorf("issue title %q body %q", is.Title, is.Body)
	}
	for _, r := range srv.Requests() {
		if r.Method == http.MethodGet && r.Path == "/repos/acme/payments/issues" {
			if r.Query.Get("labels") != key || r.Query.Get("state") != "all" {
				t.Errorf("Find query %v: want labels=%s and state=all", r.Query, key)
			}
		}
	}

	// A closed issue is still found, so that it can be reopened.
	if err := c.Close(ctx, ref, ""); err != nil {
		t.Fatal(err)
	}
	if found, ok, err := c.Find(ctx, id); err != nil || !ok || found != ref {
		t.Errorf("Find after Close = %+v, %v, %v; want %+v", found, ok, err, ref)
	}
}

func TestFindTwoIssuesIsConflict(t *testing.T) {
	srv, c := setup(t, github.Config{})
	const id = "act_00000000000000000001"
	srv.AddIssue("a", "", sextant.CorrelationKey(id))
	srv.AddIssue("b", "", sextant.CorrelationKey(id))
	_, ok, err := c.Find(context.Background(), id)
	if sextant.ErrorCode(err) != sextant.ECONFLICT || ok {
		t.Fatalf("Find = %v, %v; want ECONFLICT", ok, err)
	}
	if !strings.Contains(err.Error(), "#1") || !strings.Contains(err.Error(), "#2") {
		t.Errorf("Find error %q does not name both issues", err)
	}
}

func TestCommentCloseReopen(t *testing.T) {
	ctx := context.Background()
	srv, c := setup(t, github.Config{})
	const id = "act_00000000000000000002"
	ref, err := c.Create(ctx, content(id))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(ref.ExternalID)

	changed := content(id)
	changed.Action.Priority = sextant.P0
	changed.Action.Vulnerabilities = append(changed.Action.Vulnerabilities, "CVE-2025-4802")
	if err := c.Comment(ctx, ref, changed, "New in scan 2026-08-22: CVE-2025-4802, reported by @mallory <!-- sextant:key=x -->"); err != nil {
		t.Fatalf("Comment: %v", err)
	}
	if err := c.Comment(ctx, ref, changed, ""); err != nil {
		t.Fatalf("Comment without text: %v", err)
	}
	is, _ := srv.Issue(n)
	if !strings.HasPrefix(is.Title, "[P0]") || !strings.Contains(is.Body, "CVE-2025-4802") {
		t.Errorf("after Comment title %q body %q; want the action as it is now", is.Title, is.Body)
	}
	cs := srv.Comments(n)
	if len(cs) != 1 {
		t.Fatalf("%d comments after Comment with text and without, want 1", len(cs))
	}
	if strings.Contains(cs[0].Body, "@mallory") || strings.Contains(cs[0].Body, "<!--") || !strings.Contains(cs[0].Body, "CVE-2025-4802") {
		t.Errorf("comment %q is not escaped plain text", cs[0].Body)
	}

	if err := c.Close(ctx, ref, "Fixed: no longer seen in 3 consecutive scans."); err != nil {
		t.Fatalf("Close: %v", err)
	}
	is, _ = srv.Issue(n)
	if is.State != "closed" || is.StateReason != "completed" {
		t.Errorf("after Close state %q reason %q", is.State, is.StateReason)
	}
	if err := c.Reopen(ctx, ref, "CVE-2024-2961 is back."); err != nil {
		t.Fatalf("Reopen: %v", err)
	}
	is, _ = srv.Issue(n)
	if is.State != "open" || is.StateReason != "reopened" {
		t.Errorf("after Reopen state %q reason %q", is.State, is.StateReason)
	}
	var bodies []string
	for _, c := range srv.Comments(n) {
		bodies = append(bodies, c.Body)
	}
	if len(bodies) != 3 || bodies[1] != "Fixed: no longer seen in 3 consecutive scans." || bodies[2] != "CVE-2024-2961 is back." {
		t.Errorf("comments = %q", bodies)
	}
}

func TestStickyComment(t *testing.T) {
	ctx := context.Background()
	srv, c := setup(t, github.Config{})
	pr := srv.AddPullRequest("bump libc6")
	// Someone else quotes the marker mid-comment, and another sticky
	// comment with a longer marker exists: neither is ours.
	srv.AddComment(pr, "amy", "what is this <!-- sextant:key=ci --> thing?")
	srv.AddComment(pr, "sextant-bot", github.Marker("ci-nightly")+"\nnightly")

	first, err := c.StickyComment(ctx, pr, "ci", "**1 new** high-risk finding")
	if err != nil {
		t.Fatalf("StickyComment: %v", err)
	}
	second, err := c.StickyComment(ctx, pr, "ci", "**0 new**, 1 resolved")
	if err != nil {
		t.Fatalf("StickyComment again: %v", err)
	}
	if first.ExternalID != second.ExternalID || first.URL == "" {
		t.Errorf("StickyComment refs %+v then %+v, want the same comment", first, second)
	}
	cs := srv.Comments(pr)
	if len(cs) != 3 {
		t.Fatalf("%d comments, want 3 (the sticky one updated, not duplicated)", len(cs))
	}
	if got := cs[2].Body; got != github.Marker("ci")+"\n**0 new**, 1 resolved" || !cs[2].Edited {
		t.Errorf("sticky comment = %q (edited %v)", got, cs[2].Edited)
	}
	if cs[0].Edited || cs[1].Edited {
		t.Errorf("other comments were edited: %+v", cs[:2])
	}

	// The same body again is not sent.
	before := len(srv.Requests())
	if _, err := c.StickyComment(ctx, pr, "ci", "**0 new**, 1 resolved"); err != nil {
		t.Fatal(err)
	}
	for _, r := range srv.Requests()[before:] {
		if r.Method != http.MethodGet {
			t.Errorf("unchanged sticky comment sent %s %s", r.Method, r.Path)
		}
	}
}

func TestStickyCommentPaginates(t *testing.T) {
	ctx := context.Background()
	srv, c := setup(t, github.Config{})
	pr := srv.AddPullRequest("big discussion")
	for i := range 230 {
		srv.AddComment(pr, "amy", fmt.Sprintf("comment %d", i))
	}
	id := srv.AddComment(pr, "sextant-bot", github.Marker("ci")+"\nold report")
	srv.AddComment(pr, "amy", "later comment")

	ref, err := c.StickyComment(ctx, pr, "ci", "new report")
	if err != nil {
		t.Fatalf("StickyComment: %v", err)
	}
	if ref.ExternalID != strconv.FormatInt(id, 10) {
		t.Errorf("StickyComment = %+v, want comment %d on page 3", ref, id)
	}
	if n := len(srv.Comments(pr)); n != 232 {
		t.Errorf("%d comments, want 232 (none added)", n)
	}
	var pages []string
	for _, r := range srv.Requests() {
		if r.Method == http.MethodGet {
			pages = append(pages, r.Query.Get("page"))
		}
	}
	if strings.Join(pages, ",") != ",2,3" {
		t.Errorf("pages read: %q, want first, 2 and 3", pages)
	}

	// On a pull request without it, every page is read, then one comment
	// created.
	other := srv.AddPullRequest("other")
	for i := range 150 {
		srv.AddComment(other, "amy", fmt.Sprintf("c%d", i))
	}
	if _, err := c.StickyComment(ctx, other, "ci", "report"); err != nil {
		t.Fatal(err)
	}
	if cs := srv.Comments(other); len(cs) != 151 || cs[150].Body != github.Marker("ci")+"\nreport" {
		t.Errorf("after StickyComment on a new PR: %d comments, last %q", len(cs), cs[len(cs)-1].Body)
	}
}

// A next-page link to another host is not followed with the token.
func TestStickyCommentRefusesForeignNextPage(t *testing.T) {
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		w.Header().Set("Link", `<https://evil.example/steal?page=2>; rel="next"`)
		w.Write([]byte(`[]`))
	}))
	defer srv.Close()
	c, err := github.New(github.Config{BaseURL: srv.URL, Owner: "acme", Repo: "payments", Token: token}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.StickyComment(context.Background(), 7, "ci", "x")
	if sextant.ErrorCode(err) != sextant.EUNAVAILABLE || hits != 1 {
		t.Errorf("StickyComment with a foreign next link = %v after %d requests; want EUNAVAILABLE after 1", err, hits)
	}
}

func TestStickyCommentInvalid(t *testing.T) {
	srv, c := setup(t, github.Config{})
	for _, tc := range []struct {
		pr     int
		marker string
	}{{0, "ci"}, {1, ""}, {1, "ci -->"}, {1, "a b"}, {1, strings.Repeat("x", 101)}} {
		if _, err := c.StickyComment(context.Background(), tc.pr, tc.marker, "x"); sextant.ErrorCode(err) != sextant.EINVALID {
			t.Errorf("StickyComment(%d, %q) = %v, want EINVALID", tc.pr, tc.marker, err)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
}

func TestCreateCheckRun(t *testing.T) {
	srv, c := setup(t, github.Config{})
	var as []github.Annotation
	for i := range 120 {
		as = append(as, github.Annotation{Path: "deploy/api.yaml", StartLine: i + 1, Level: github.LevelFailure, Title: "CVE-2024-2961", Message: "libc6 2.36-9+deb12u4"})
	}
	sha := "ce587453ced02b1526dfb4cb910479d431683101"
	ref, err := c.CreateCheckRun(context.Background(), sha, "sextant", "failure", "2 new high-risk findings\n\ndetails", as)
	if err != nil {
		t.Fatalf("CreateCheckRun: %v", err)
	}
	runs := srv.CheckRuns()
	if len(runs) != 1 {
		t.Fatalf("%d check runs, want 1", len(runs))
	}
	r := runs[0]
	if ref.ExternalID != "1" || ref.URL != "https://github.com/acme/payments/runs/1" {
		t.Errorf("CreateCheckRun = %+v", ref)
	}
	if r.HeadSHA != sha || r.Name != "sextant" || r.Status != "completed" || r.Conclusion != "failure" ||
		r.CompletedAt != "2026-08-21T10:00:00Z" || r.Title != "2 new high-risk findings" || len(r.Annotations) != 120 || r.Requests != 3 {
		t.Errorf("check run = %+v (%d annotations)", r, len(r.Annotations))
	}

	// An invalid run is refused before any request.
	before := len(srv.Requests())
	if _, err := c.CreateCheckRun(context.Background(), sha, "sextant", "done", "", nil); sextant.ErrorCode(err) != sextant.EINVALID {
		t.Errorf("CreateCheckRun with conclusion done = %v, want EINVALID", err)
	}
	if len(srv.Requests()) != before {
		t.Errorf("an invalid check run was sent")
	}
}

// A failing annotation batch returns the check run with the error.
func TestCreateCheckRunPartialFailure(t *testing.T) {
	srv := githubtest.New(t, githubtest.Config{Owner: "acme", Repo: "payments", Token: token})
	// The create goes through; the update that adds annotations 51-60
	// meets a 502.
	c, err := github.New(github.Config{BaseURL: srv.URL(), Owner: "acme", Repo: "payments", Token: token},
		&http.Client{Transport: failPatches{srv}})
	if err != nil {
		t.Fatal(err)
	}
	var as []github.Annotation
	for i := range 60 {
		as = append(as, github.Annotation{Path: "a", StartLine: i + 1, Message: "m"})
	}
	ref, err := c.CreateCheckRun(context.Background(), strings.Repeat("b", 40), "sextant", "success", "ok", as)
	if sextant.ErrorCode(err) != sextant.EUNAVAILABLE || ref.ExternalID != "1" {
		t.Errorf("CreateCheckRun with a failing update = %+v, %v; want run 1 and EUNAVAILABLE", ref, err)
	}
	if err != nil && !strings.Contains(err.Error(), "annotations 51-60") {
		t.Errorf("error %q does not say which annotations were lost", err)
	}
}

// failPatches makes the fake fail every PATCH with a 502.
type failPatches struct{ srv *githubtest.Server }

func (f failPatches) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPatch {
		f.srv.FailNext(1, http.StatusBadGateway, nil)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// calls are the operations that reach GitHub, each as a function of a
// client and an issue that exists.
var calls = map[string]func(context.Context, *github.Client, sextant.TicketRef) error{
	"Find": func(ctx context.Context, c *github.Client, _ sextant.TicketRef) error {
		_, _, err := c.Find(ctx, "act_00000000000000000003")
		return err
	},
	"Create": func(ctx context.Context, c *github.Client, _ sextant.TicketRef) error {
		_, err := c.Create(ctx, content("act_00000000000000000003"))
		return err
	},
	"Comment": func(ctx context.Context, c *github.Client, ref sextant.TicketRef) error {
		return c.Comment(ctx, ref, content("act_00000000000000000003"), "note")
	},
	"Close": func(ctx context.Context, c *github.Client, ref sextant.TicketRef) error {
		return c.Close(ctx, ref, "done")
	},
	"Reopen": func(ctx context.Context, c *github.Client, ref sextant.TicketRef) error {
		return c.Reopen(ctx, ref, "again")
	},
	"StickyComment": func(ctx context.Context, c *github.Client, ref sextant.TicketRef) error {
		n, _ := strconv.Atoi(ref.ExternalID)
		_, err := c.StickyComment(ctx, n, "ci", "report")
		return err
	},
	"CreateCheckRun": func(ctx context.Context, c *github.Client, _ sextant.TicketRef) error {
		_, err := c.CreateCheckRun(ctx, strings.Repeat("c", 40), "sextant", "success", "ok", nil)
		return err
	},
}

func TestFailures(t *testing.T) {
	reset := strconv.FormatInt(now.Add(42*time.Minute).Unix(), 10)
	tests := []struct {
		name       string
		status     int
		header     http.Header
		body       string
		code       string
		retryAfter time.Duration
		text       string
	}{
		{name: "401", status: 401, code: sextant.EUNAUTHORIZED, text: "Bad credentials"},
		{name: "403 permission", status: 403, code: sextant.EUNAUTHORIZED, text: "Resource not accessible by integration"},
		{name: "403 primary", status: 403, header: http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {reset}}, code: sextant.ERATELIMITED, retryAfter: 42 * time.Minute, text: "API rate limit exceeded"},
		{name: "429 primary", status: 429, header: http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {reset}}, code: sextant.ERATELIMITED, retryAfter: 42 * time.Minute},
		{name: "403 secondary Retry-After", status: 403, header: http.Header{"Retry-After": {"30"}}, code: sextant.ERATELIMITED, retryAfter: 30 * time.Second, text: "secondary rate limit"},
		{name: "403 secondary reset", status: 403, header: http.Header{"X-Ratelimit-Reset": {reset}}, body: githubtest.SecondaryRateLimitBody, code: sextant.ERATELIMITED, retryAfter: 42 * time.Minute},
		{name: "403 secondary bare", status: 403, body: githubtest.SecondaryRateLimitBody, code: sextant.ERATELIMITED, retryAfter: time.Minute},
		{name: "403 abuse (old)", status: 403, body: `{"message":"You have triggered an abuse detection mechanism.","documentation_url":"https://docs.github.com/rest#abuse-rate-limits"}`, code: sextant.ERATELIMITED, retryAfter: time.Minute},
		{name: "429 Retry-After", status: 429, header: http.Header{"Retry-After": {"5"}}, code: sextant.ERATELIMITED, retryAfter: 5 * time.Second},
		{name: "404", status: 404, code: sextant.ENOTFOUND, text: "Not Found"},
		{name: "409", status: 409, code: sextant.ECONFLICT},
		{name: "410", status: 410, code: sextant.EINVALID, text: "Issues are disabled"},
		{name: "422", status: 422, code: sextant.EINVALID, text: "Validation Failed: Issue.title missing_field"},
		{name: "422 string errors", status: 422, body: `{"message":"Validation Failed","errors":["Label does not exist"]}`, code: sextant.EINVALID, text: "Validation Failed: Label does not exist"},
		{name: "500", status: 500, code: sextant.EUNAVAILABLE},
		{name: "502 html", status: 502, body: "<html>bad gateway</html>", code: sextant.EUNAVAILABLE, text: "Bad Gateway"},
		{name: "503 Retry-After", status: 503, header: http.Header{"Retry-After": {"2"}}, code: sextant.EUNAVAILABLE, retryAfter: 2 * time.Second},
		{name: "200 html", status: 200, body: "<html>captive portal</html>", code: sextant.EUNAVAILABLE},
	}
	for _, tt := range tests {
		for name, call := range calls {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				ctx := context.Background()
				srv, c := setup(t, github.Config{})
				ref, err := c.Create(ctx, content("act_00000000000000000004"))
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
					// Updates do not read the answer: the comment that
					// follows goes through.
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
				if err := call(ctx, c, ref); err != nil && name != "Find" {
					t.Errorf("%s after the failure: %v", name, err)
				}
			})
		}
	}
}

func TestWrongToken(t *testing.T) {
	srv := githubtest.New(t, githubtest.Config{Owner: "acme", Repo: "payments", Token: token})
	c, err := github.New(github.Config{BaseURL: srv.URL(), Owner: "acme", Repo: "payments", Token: "ghp_wrong"}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Find(context.Background(), "act_1"); sextant.ErrorCode(err) != sextant.EUNAUTHORIZED {
		t.Errorf("Find with a wrong token = %v, want EUNAUTHORIZED", err)
	}
	other, err := github.New(github.Config{BaseURL: srv.URL(), Owner: "acme", Repo: "private", Token: token}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Create(context.Background(), content("act_1")); sextant.ErrorCode(err) != sextant.ENOTFOUND {
		t.Errorf("Create in a repository the token cannot see = %v, want ENOTFOUND", err)
	}
}

func TestNetworkFailure(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, err := github.New(github.Config{BaseURL: url, Owner: "acme", Repo: "payments", Token: token}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range calls {
		err := call(context.Background(), c, sextant.TicketRef{ExternalID: "1"})
		if sextant.ErrorCode(err) != sextant.EUNAVAILABLE {
			t.Errorf("%s on a closed port = %v, want EUNAVAILABLE", name, err)
		}
		if strings.Contains(fmt.Sprint(err), token) {
			t.Errorf("%s error holds the token: %v", name, err)
		}
	}
}

func TestBadReference(t *testing.T) {
	srv, c := setup(t, github.Config{})
	for _, id := range []string{"", "0", "-1", "1/../../x", "01", "42 "} {
		if err := c.Close(context.Background(), sextant.TicketRef{ExternalID: id}, "x"); sextant.ErrorCode(err) != sextant.EINVALID {
			t.Errorf("Close(%q) = %v, want EINVALID", id, err)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent for bad references, want none", n)
	}
}

// No error text holds the token, even when GitHub or a proxy echoes it.
func TestNoSecretInErrors(t *testing.T) {
	srv, c := setup(t, github.Config{})
	ref, err := c.Create(context.Background(), content("act_00000000000000000005"))
	if err != nil {
		t.Fatal(err)
	}
	echo := `{"message":"token ` + token + ` is bad","errors":["Authorization: Bearer ` + token + `"],"documentation_url":"https://docs.github.com/rest"}`
	for _, status := range []int{400, 401, 403, 404, 422, 429, 500} {
		for name, call := range calls {
			srv.FailNextBody(1, status, nil, echo)
			err := call(context.Background(), c, ref)
			if err == nil {
				t.Fatalf("%s with a %d = nil", name, status)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("%s error of a %d holds the token: %q", name, status, err)
			}
		}
	}
}

func TestNew(t *testing.T) {
	ok := github.Config{Owner: "acme", Repo: "payments", Token: token}
	tests := []struct {
		name string
		edit func(*github.Config)
	}{
		{"plain http", func(c *github.Config) { c.BaseURL = "http://api.github.com" }},
		{"credentials in URL", func(c *github.Config) { c.BaseURL = "https://x:" + token + "@api.github.com" }},
		{"relative URL", func(c *github.Config) { c.BaseURL = "api.github.com" }},
		{"no owner", func(c *github.Config) { c.Owner = "" }},
		{"bad owner", func(c *github.Config) { c.Owner = "acme/../x" }},
		{"bad repo", func(c *github.Config) { c.Repo = ".." }},
		{"no token", func(c *github.Config) { c.Token = "" }},
		{"long label", func(c *github.Config) { c.Labels = []string{strings.Repeat("l", 51)} }},
		{"comma label", func(c *github.Config) { c.Labels = []string{"a,b"} }},
		{"empty label", func(c *github.Config) { c.Labels = []string{" "} }},
		{"bad assignee", func(c *github.Config) { c.Assignees = []string{"@amy"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.edit(&cfg)
			_, err := github.New(cfg, nil)
			if sextant.ErrorCode(err) != sextant.EINVALID {
				t.Fatalf("New = %v, want EINVALID", err)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("New error holds the token: %q", err)
			}
		})
	}
	c, err := github.New(ok, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Config().BaseURL; got != github.DefaultBaseURL {
		t.Errorf("BaseURL = %q, want %q", got, github.DefaultBaseURL)
	}
	ghes, err := github.New(github.Config{BaseURL: "https://github.acme.internal/api/v3/", Owner: "acme", Repo: "payments", Token: token}, nil)
	if err != nil || ghes.Config().BaseURL != "https://github.acme.internal/api/v3" {
		t.Errorf("New(GHES) = %v, %v", ghes, err)
	}
}
