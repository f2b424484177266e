// Package githubtest is an in-memory fake of the parts of the GitHub REST
// API that sextant uses, for tests: issues (create, get, update, list with
// labels/state filters and Link pagination), issue and pull-request
// comments (list with pagination, create, update), check runs (create,
// update with accumulating annotations), and what a fix pull request
// needs: repository files on branches (contents get and put), branch refs
// (get, create) and pull requests (list by head, create).
//
// It answers as GitHub does (201 on create, {"message",
// "documentation_url", "errors"} on failure, 401 "Bad credentials", 422
// "Validation Failed") and reports to the test every request that breaks
// the contract a client must keep: Accept: application/vnd.github+json,
// X-GitHub-Api-Version: 2022-11-28, a User-Agent of its own (not Go's
// default), Content-Type: application/json on writes, labels of at most 50
// characters, at most 50 annotations per request. FailNext makes the next
// requests fail with a chosen status and headers (403 with
// X-RateLimit-Remaining: 0, a secondary rate limit, 422, 5xx…).
package githubtest

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// SecondaryRateLimitDoc is the documentation_url GitHub sends with a
// secondary rate limit.
const SecondaryRateLimitDoc = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"

// SecondaryRateLimitBody is GitHub's body for a secondary rate limit, for
// FailNextBody (a 403 with it is rate limiting, not a permission problem).
const SecondaryRateLimitBody = `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"` + SecondaryRateLimitDoc + `"}`

// APIVersion is the X-GitHub-Api-Version the fake requires.
const APIVersion = "2022-11-28"

// Config is what the fake serves and accepts.
type Config struct {
	// Owner and Repo name the one repository the fake serves; other
	// repositories are 404.
	Owner string
	Repo  string
	// Token is the bearer token it accepts.
	Token string
	// User is the login comments and issues are written as; "sextant-bot"
	// when empty.
	User string
}

// Issue is an issue or pull request as the fake holds it.
type Issue struct {
	Number      int
	Title       string
	Body        string
	Labels      []string
	Assignees   []string
	State       string // open or closed
	StateReason string
	PullRequest bool
}

// Comment is an issue or pull-request comment.
type Comment struct {
	ID     int64
	Issue  int
	User   string
	Body   string
	Edited bool
}

// CheckRun is a check run with every annotation it received.
type CheckRun struct {
	ID          int64
	Name        string
	HeadSHA     string
	Status      string
	Conclusion  string
	CompletedAt string
	Title       string
	Summary     string
	Annotations []Annotation
	// Requests counts the create and update requests that built it.
	Requests int
}

// Annotation is a check-run annotation as received.
type Annotation struct {
	Path       string `json:"path"`
	StartLine  int    `json:"start_line"`
	EndLine    int    `json:"end_line"`
	Level      string `json:"annotation_level"`
	Title      string `json:"title,omitempty"`
	Message    string `json:"message"`
	RawDetails string `json:"raw_details,omitempty"`
}

// Request is one request the fake received.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Body   []byte
}

// Server is the fake API. Its methods are safe for concurrent use.
type Server struct {
	t   testing.TB
	cfg Config
	srv *httptest.Server
	mux *http.ServeMux

	mu       sync.Mutex
	issues   []*Issue
	comments []*Comment
	runs     []*CheckRun
	nextID   int64
	// commits holds each commit's files by path; branches each branch's
	// head commit; pulls the head and base of the pull requests made
	// through the API, by number.
	commits  map[string]map[string]string
	branches map[string]string
	pulls    map[int]*pullRefs
	fails    []failure
	requests []Request
}

type failure struct {
	status int
	header http.Header
	body   string
}

// New starts a fake API for cfg's repository; it is closed when the test
// ends.
func New(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.User == "" {
		cfg.User = "sextant-bot"
	}
	s := &Server{t: t, cfg: cfg, mux: http.NewServeMux(), nextID: 1987654320,
		commits: map[string]map[string]string{}, branches: map[string]string{}, pulls: map[int]*pullRefs{}}
	s.mux.HandleFunc("GET /repos/{owner}/{repo}/issues", s.listIssues)
	s.mux.HandleFunc("POST /repos/{owner}/{repo}/issues", s.createIssue)
	s.mux.HandleFunc("GET /repos/{owner}/{repo}/issues/{number}", s.getIssue)
	s.mux.HandleFunc("PATCH /repos/{owner}/{repo}/issues/{number}", s.updateIssue)
	s.mux.HandleFunc("GET /repos/{owner}/{repo}/issues/{number}/comments", s.listComments)
	s.mux.HandleFunc("POST /repos/{owner}/{repo}/issues/{number}/comments", s.createComment)
	s.mux.HandleFunc("PATCH /repos/{owner}/{repo}/issues/comments/{id}", s.updateComment)
	s.mux.HandleFunc("POST /repos/{owner}/{repo}/check-runs", s.createCheckRun)
	s.mux.HandleFunc("PATCH /repos/{owner}/{repo}/check-runs/{id}", s.updateCheckRun)
	s.mux.HandleFunc("GET /repos/{owner}/{repo}/contents/{path...}", s.getContents)
	s.mux.HandleFunc("PUT /repos/{owner}/{repo}/contents/{path...}", s.putContents)
	s.mux.HandleFunc("GET /repos/{owner}/{repo}/git/ref/{ref...}", s.getRef)
	s.mux.HandleFunc("POST /repos/{owner}/{repo}/git/refs", s.createRef)
	s.mux.HandleFunc("GET /repos/{owner}/{repo}/pulls", s.listPulls)
	s.mux.HandleFunc("POST /repos/{owner}/{repo}/pulls", s.createPull)
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the API root, to use as github.Config.BaseURL.
func (s *Server) URL() string { return s.srv.URL }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// FailNext makes the next n requests (after the header checks) fail with
// status and header, and the body GitHub sends for it. For 403 and 429:
// with X-RateLimit-Remaining: 0 in header, the primary rate-limit message;
// for a 429, or a 403 with Retry-After, SecondaryRateLimitBody; for a 403
// otherwise, "Resource not accessible by integration" (a permission
// problem).
func (s *Server) FailNext(n, status int, header http.Header) {
	s.FailNextBody(n, status, header, errorBody(status, header))
}

// FailNextBody is FailNext with a body of the caller's choosing.
func (s *Server) FailNextBody(n, status int, header http.Header, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fails = append(s.fails, failure{status: status, header: header.Clone(), body: body})
	}
}

// AddIssue adds an issue, as if opened by someone, and returns its number.
func (s *Server) AddIssue(title, body string, labels ...string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addIssue(&Issue{Title: title, Body: body, Labels: labels, State: "open"})
}

// AddPullRequest adds a pull request (which shares the issues' numbers and
// appears in the issues list) and returns its number.
func (s *Server) AddPullRequest(title string, labels ...string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addIssue(&Issue{Title: title, Labels: labels, State: "open", PullRequest: true})
}

// AddComment adds a comment by user on issue or pull request number and
// returns its ID.
func (s *Server) AddComment(number int, user, body string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addComment(number, user, body).ID
}

// Issue returns a copy of issue number.
func (s *Server) Issue(number int) (Issue, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.issue(number); i != nil {
		return i.clone(), true
	}
	return Issue{}, false
}

// Issues returns copies of every issue and pull request, by number.
func (s *Server) Issues() []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Issue, len(s.issues))
	for i, is := range s.issues {
		out[i] = is.clone()
	}
	return out
}

// Comments returns copies of the comments on issue or pull request
// number, oldest first.
func (s *Server) Comments(number int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, c := range s.comments {
		if c.Issue == number {
			out = append(out, *c)
		}
	}
	return out
}

// CheckRuns returns copies of every check run, oldest first.
func (s *Server) CheckRuns() []CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]CheckRun, len(s.runs))
	for i, r := range s.runs {
		out[i] = *r
		out[i].Annotations = slices.Clone(r.Annotations)
	}
	return out
}

// Requests returns the requests received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func (i *Issue) clone() Issue {
	c := *i
	c.Labels = slices.Clone(i.Labels)
	c.Assignees = slices.Clone(i.Assignees)
	return c
}

func (s *Server) addIssue(i *Issue) int {
	i.Number = len(s.issues) + 1
	s.issues = append(s.issues, i)
	return i.Number
}

func (s *Server) addComment(number int, user, body string) *Comment {
	s.nextID++
	c := &Comment{ID: s.nextID, Issue: number, User: user, Body: body}
	s.comments = append(s.comments, c)
	return c
}

func (s *Server) issue(number int) *Issue {
	if number < 1 || number > len(s.issues) {
		return nil
	}
	return s.issues[number-1]
}

// errorBody is GitHub's error body for a status.
func errorBody(status int, header http.Header) string {
	doc := "https://docs.github.com/rest"
	msg := http.StatusText(status)
	switch status {
	case http.StatusUnauthorized:
		msg = "Bad credentials"
	case http.StatusForbidden, http.StatusTooManyRequests:
		switch {
		case header.Get("X-RateLimit-Remaining") == "0":
			msg = "API rate limit exceeded for installation ID 4242."
			doc = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit"
		case status == http.StatusTooManyRequests || header.Get("Retry-After") != "":
			return SecondaryRateLimitBody
		default:
			msg = "Resource not accessible by integration"
		}
	case http.StatusNotFound:
		msg = "Not Found"
	case http.StatusGone:
		msg = "Issues are disabled for this repo"
	case http.StatusUnprocessableEntity:
		b, _ := json.Marshal(map[string]any{
			"message":           "Validation Failed",
			"errors":            []map[string]string{{"resource": "Issue", "field": "title", "code": "missing_field"}},
			"documentation_url": "https://docs.github.com/rest/issues/issues#create-an-issue",
		})
		return string(b)
	}
	b, _ := json.Marshal(map[string]string{"message": msg, "documentation_url": doc})
	return string(b)
}

func (s *Server) reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *Server) fail(w http.ResponseWriter, status int, message string) {
	s.reply(w, status, map[string]string{"message": message, "documentation_url": "https://docs.github.com/rest"})
}

// invalid answers 422 Validation Failed for one field.
func (s *Server) invalid(w http.ResponseWriter, resource, field, code string) {
	s.reply(w, http.StatusUnprocessableEntity, map[string]any{
		"message":           "Validation Failed",
		"errors":            []map[string]string{{"resource": resource, "field": field, "code": code}},
		"documentation_url": "https://docs.github.com/rest",
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: body})
	s.mu.Unlock()

	where := r.Method + " " + r.URL.Path
	if got := r.Header.Get("Accept"); got != "application/vnd.github+json" {
		s.t.Errorf("githubtest: %s: Accept %q, want application/vnd.github+json", where, got)
	}
	if got := r.Header.Get("X-GitHub-Api-Version"); got != APIVersion {
		s.t.Errorf("githubtest: %s: X-GitHub-Api-Version %q, want %s", where, got, APIVersion)
		s.fail(w, http.StatusBadRequest, "Invalid API version")
		return
	}
	if ua := r.Header.Get("User-Agent"); ua == "" || strings.HasPrefix(ua, "Go-http-client/") {
		s.t.Errorf("githubtest: %s: User-Agent %q: GitHub requires one, and it should name the client", where, ua)
		s.fail(w, http.StatusForbidden, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header")
		return
	}
	if len(body) > 0 || r.Method == http.MethodPost || r.Method == http.MethodPatch || r.Method == http.MethodPut {
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			s.t.Errorf("githubtest: %s: Content-Type %q, want application/json", where, ct)
		}
		var v map[string]any
		if err := json.Unmarshal(body, &v); err != nil {
			s.t.Errorf("githubtest: %s: body is not a JSON object: %v", where, err)
			s.fail(w, http.StatusBadRequest, "Problems parsing JSON")
			return
		}
	}

	s.mu.Lock()
	var f *failure
	if len(s.fails) > 0 {
		f = &s.fails[0]
		s.fails = s.fails[1:]
	}
	s.mu.Unlock()
	h := w.Header()
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Resource", "core")
	if f != nil {
		h.Set("X-RateLimit-Remaining", "4999")
		for k, v := range f.header {
			h[k] = v
		}
		h.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(f.status)
		io.WriteString(w, f.body)
		return
	}
	h.Set("X-RateLimit-Remaining", "4999")
	if r.Header.Get("Authorization") != "Bearer "+s.cfg.Token {
		s.reply(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
		return
	}
	s.mux.ServeHTTP(w, r)
}

// repo reports whether the request names the served repository, and
// answers 404 when it does not.
func (s *Server) repo(w http.ResponseWriter, r *http.Request) bool {
	if r.PathValue("owner") != s.cfg.Owner || r.PathValue("repo") != s.cfg.Repo {
		s.fail(w, http.StatusNotFound, "Not Found")
		return false
	}
	return true
}

func (s *Server) issueJSON(i *Issue) map[string]any {
	kind := "issues"
	if i.PullRequest {
		kind = "pull"
	}
	labels := make([]map[string]any, len(i.Labels))
	for k, l := range i.Labels {
		labels[k] = map[string]any{"name": l, "color": "ededed"}
	}
	assignees := make([]map[string]any, len(i.Assignees))
	for k, a := range i.Assignees {
		assignees[k] = map[string]any{"login": a}
	}
	m := map[string]any{
		"id":           7000000000 + i.Number,
		"number":       i.Number,
		"title":        i.Title,
		"body":         i.Body,
		"state":        i.State,
		"state_reason": nil,
		"labels":       labels,
		"assignees":    assignees,
		"html_url":     fmt.Sprintf("https://github.com/%s/%s/%s/%d", s.cfg.Owner, s.cfg.Repo, kind, i.Number),
		"user":         map[string]any{"login": s.cfg.User},
		"created_at":   created(i.Number),
	}
	if i.StateReason != "" {
		m["state_reason"] = i.StateReason
	}
	if i.PullRequest {
		m["pull_request"] = map[string]any{"url": fmt.Sprintf("%s/repos/%s/%s/pulls/%d", s.srv.URL, s.cfg.Owner, s.cfg.Repo, i.Number)}
	}
	return m
}

func created(n int) string {
	return time.Date(2026, 8, 21, 10, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Minute).Format(time.RFC3339)
}

func (s *Server) commentJSON(c *Comment) map[string]any {
	kind := "issues"
	if i := s.issue(c.Issue); i != nil && i.PullRequest {
		kind = "pull"
	}
	return map[string]any{
		"id":         c.ID,
		"body":       c.Body,
		"user":       map[string]any{"login": c.User, "type": "Bot"},
		"html_url":   fmt.Sprintf("https://github.com/%s/%s/%s/%d#issuecomment-%d", s.cfg.Owner, s.cfg.Repo, kind, c.Issue, c.ID),
		"created_at": created(int(c.ID % 1000)),
		"updated_at": created(int(c.ID % 1000)),
	}
}

// page cuts items to the page the query asks for (per_page at most 100,
// 30 by default) and sets the Link header GitHub sends.
func page[T any](s *Server, w http.ResponseWriter, r *http.Request, items []T) []T {
	q := r.URL.Query()
	per := 30
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.t.Errorf("githubtest: per_page %q", v)
		} else {
			per = min(n, 100)
		}
	}
	p := 1
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.t.Errorf("githubtest: page %q", v)
		} else {
			p = n
		}
	}
	last := max(1, (len(items)+per-1)/per)
	link := func(n int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		q.Set("per_page", strconv.Itoa(per))
		return "<" + s.srv.URL + r.URL.Path + "?" + q.Encode() + ">"
	}
	var rels []string
	if p < last {
		rels = append(rels, link(p+1)+`; rel="next"`, link(last)+`; rel="last"`)
	}
	if p > 1 {
		rels = append(rels, link(1)+`; rel="first"`, link(p-1)+`; rel="prev"`)
	}
	if len(rels) > 0 {
		w.Header().Set("Link", strings.Join(rels, ", "))
	}
	lo := min((p-1)*per, len(items))
	return items[lo:min(lo+per, len(items))]
}

func (s *Server) listIssues(w http.ResponseWriter, r *http.Request) {
	if !s.repo(w, r) {
		return
	}
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var want []string
	if l := q.Get("labels"); l != "" {
		want = strings.Split(l, ",")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	// Newest first, as GitHub sorts by default.
	for k := len(s.issues) - 1; k >= 0; k-- {
		i := s.issues[k]
		if state != "all" && i.State != state {
			continue
		}
		ok := true
		for _, l := range want {
			if !slices.ContainsFunc(i.Labels, func(x string) bool { return strings.EqualFold(x, strings.TrimSpace(l)) }) {
				ok = false
			}
		}
		if ok {
			out = append(out, s.issueJSON(i))
		}
	}
	out = page(s, w, r, out)
	if out == nil {
		out = []map[string]any{}
	}
	s.reply(w, http.StatusOK, out)
}

type issueBody struct {
	Title       *string   `json:"title"`
	Body        *string   `json:"body"`
	Labels      *[]string `json:"labels"`
	Assignees   *[]string `json:"assignees"`
	State       *string   `json:"state"`
	StateReason *string   `json:"state_reason"`
}

func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		s.t.Errorf("githubtest: %s %s: body: %v", r.Method, r.URL.Path, err)
		s.fail(w, http.StatusBadRequest, "Problems parsing JSON")
		return false
	}
	return true
}

// checkIssue validates an issue body as GitHub does, answering 422.
func (s *Server) checkIssue(w http.ResponseWriter, b issueBody, create bool) bool {
	switch {
	case create && (b.Title == nil || strings.TrimSpace(*b.Title) == ""):
		s.invalid(w, "Issue", "title", "missing_field")
		return false
	case b.Title != nil && len([]rune(*b.Title)) > 256:
		s.invalid(w, "Issue", "title", "invalid")
		return false
	case b.Body != nil && len([]rune(*b.Body)) > 65536:
		s.invalid(w, "Issue", "body", "custom")
		return false
	case b.State != nil && *b.State != "open" && *b.State != "closed":
		s.invalid(w, "Issue", "state", "invalid")
		return false
	case b.StateReason != nil && *b.StateReason != "completed" && *b.StateReason != "not_planned" && *b.StateReason != "reopened":
		s.invalid(w, "Issue", "state_reason", "invalid")
		return false
	}
	if b.Labels != nil {
		for _, l := range *b.Labels {
			if l == "" || len([]rune(l)) > 50 {
				s.t.Errorf("githubtest: label %q: GitHub labels are 1 to 50 characters", l)
				s.invalid(w, "Label", "name", "invalid")
				return false
			}
		}
	}
	return true
}

func (s *Server) createIssue(w http.ResponseWriter, r *http.Request) {
	if !s.repo(w, r) {
		return
	}
	var b issueBody
	if !s.decode(w, r, &b) || !s.checkIssue(w, b, true) {
		return
	}
	i := &Issue{Title: *b.Title, State: "open"}
	if b.Body != nil {
		i.Body = *b.Body
	}
	if b.Labels != nil {
		i.Labels = slices.Clone(*b.Labels)
	}
	if b.Assignees != nil {
		i.Assignees = slices.Clone(*b.Assignees)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addIssue(i)
	w.Header().Set("Location", fmt.Sprintf("%s/repos/%s/%s/issues/%d", s.srv.URL, s.cfg.Owner, s.cfg.Repo, i.Number))
	s.reply(w, http.StatusCreated, s.issueJSON(i))
}

// lookup finds the issue named by the path, answering 404 when there is
// none.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) *Issue {
	n, err := strconv.Atoi(r.PathValue("number"))
	i := s.issue(n)
	if err != nil || i == nil {
		s.fail(w, http.StatusNotFound, "Not Found")
		return nil
	}
	return i
}

func (s *Server) getIssue(w http.ResponseWriter, r *http.Request) {
	if !s.repo(w, r) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.lookup(w, r); i != nil {
		s.reply(w, http.StatusOK, s.issueJSON(i))
	}
}

func (s *Server) updateIssue(w http.ResponseWriter, r *http.Request) {
	if !s.repo(w, r) {
		return
	}
	var b issueBody
	if !s.decode(w, r, &b) || !s.checkIssue(w, b, false) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.lookup(w, r)
	if i == nil {
		return
	}
	if b.Title != nil {
		i.Title = *b.Title
	}
	if b.Body != nil {
		i.Body = *b.Body
	}
	if b.Labels != nil {
		i.Labels = slices.Clone(*b.Labels)
	}
	if b.Assignees != nil {
		i.Assignees = slices.Clone(*b.Assignees)
	}
	if b.State != nil {
		switch {
		case *b.State == "closed":
			i.State, i.StateReason = "closed", "completed"
			if b.StateReason != nil {
				i.StateReason = *b.StateReason
			}
		case i.State == "closed":
			i.State, i.StateReason = "open", "reopened"
		}
	}
	s.reply(w, http.StatusOK, s.issueJSON(i))
}

func (s *Server) listComments(w http.ResponseWriter, r *http.Request) {
	if !s.repo(w, r) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.lookup(w, r)
	if i == nil {
		return
	}
	var out []map[string]any
	for _, c := range s.comments {
		if c.Issue == i.Number {
			out = append(out, s.commentJSON(c))
		}
	}
	out = page(s, w, r, out)
	if out == nil {
		out = []map[string]any{}
	}
	s.reply(w, http.StatusOK, out)
}

type commentBody struct {
	Body *string `json:"body"`
}

func (s *Server) checkComment(w http.ResponseWriter, b commentBody) bool {
	switch {
	case b.Body == nil || strings.TrimSpace(*b.Body) == "":
		s.invalid(w, "IssueComment", "body", "missing_field")
		return false
	case len([]rune(*b.Body)) > 65536:
		s.invalid(w, "IssueComment", "body", "custom")
		return false
	}
	return true
}

func (s *Server) createComment(w http.ResponseWriter, r *http.Request) {
	if !s.repo(w, r) {
		return
	}
	var b commentBody
	if !s.decode(w, r, &b) || !s.checkComment(w, b) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.lookup(w, r)
	if i == nil {
		return
	}
	c := s.addComment(i.Number, s.cfg.User, *b.Body)
	s.reply(w, http.StatusCreated, s.commentJSON(c))
}

func (s *Server) updateComment(w http.ResponseWriter, r *http.Request) {
	if !s.repo(w, r) {
		return
	}
	var b commentBody
	if !s.decode(w, r, &b) || !s.checkComment(w, b) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	for _, c := range s.comments {
		if c.ID == id {
			c.Body, c.Edited = *b.Body, true
			s.reply(w, http.StatusOK, s.commentJSON(c))
			return
		}
	}
	s.fail(w, http.StatusNotFound, "Not Found")
}

type checkRunBody struct {
	Name        *string `json:"name"`
	HeadSHA     *string `json:"head_sha"`
	Status      *string `json:"status"`
	Conclusion  *string `json:"conclusion"`
	CompletedAt *string `json:"completed_at"`
	Output      *struct {
		Title       *string      `json:"title"`
		Summary     *string      `json:"summary"`
		Annotations []Annotation `json:"annotations"`
	} `json:"output"`
}

var conclusions = []string{"success", "failure", "neutral", "cancelled", "skipped", "timed_out", "action_required"}

// checkRun validates a check-run body as GitHub does, answering 422.
func (s *Server) checkRun(w http.ResponseWriter, b checkRunBody, create bool) bool {
	bad := func(field string) bool {
		s.invalid(w, "CheckRun", field, "invalid")
		return false
	}
	if create && (b.Name == nil || *b.Name == "" || b.HeadSHA == nil || *b.HeadSHA == "") {
		s.invalid(w, "CheckRun", "name", "missing_field")
		return false
	}
	if b.Status != nil && *b.Status == "completed" && (b.Conclusion == nil || !slices.Contains(conclusions, *b.Conclusion)) {
		return bad("conclusion")
	}
	if b.CompletedAt != nil {
		if _, err := time.Parse(time.RFC3339, *b.CompletedAt); err != nil {
			return bad("completed_at")
		}
	}
	if o := b.Output; o != nil {
		if o.Title == nil || o.Summary == nil || *o.Summary == "" {
			return bad("output")
		}
		if len(o.Annotations) > 50 {
			s.t.Errorf("githubtest: %d annotations in one request; GitHub takes at most 50", len(o.Annotations))
			return bad("annotations")
		}
		for _, a := range o.Annotations {
			if a.Path == "" || a.StartLine < 1 || a.EndLine < a.StartLine || a.Message == "" ||
				(a.Level != "notice" && a.Level != "warning" && a.Level != "failure") {
				return bad("annotations")
			}
		}
	}
	return true
}

func (s *Server) runJSON(run *CheckRun) map[string]any {
	return map[string]any{
		"id":          run.ID,
		"name":        run.Name,
		"head_sha":    run.HeadSHA,
		"status":      run.Status,
		"conclusion":  run.Conclusion,
		"html_url":    fmt.Sprintf("https://github.com/%s/%s/runs/%d", s.cfg.Owner, s.cfg.Repo, run.ID),
		"output":      map[string]any{"title": run.Title, "summary": run.Summary, "annotations_count": len(run.Annotations)},
		"external_id": "",
	}
}

func (s *Server) applyRun(run *CheckRun, b checkRunBody) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&run.Name, b.Name)
	set(&run.HeadSHA, b.HeadSHA)
	set(&run.Status, b.Status)
	set(&run.Conclusion, b.Conclusion)
	set(&run.CompletedAt, b.CompletedAt)
	if o := b.Output; o != nil {
		set(&run.Title, o.Title)
		set(&run.Summary, o.Summary)
		run.Annotations = append(run.Annotations, o.Annotations...)
	}
	run.Requests++
}

func (s *Server) createCheckRun(w http.ResponseWriter, r *http.Request) {
	if !s.repo(w, r) {
		return
	}
	var b checkRunBody
	if !s.decode(w, r, &b) || !s.checkRun(w, b, true) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	run := &CheckRun{ID: int64(len(s.runs) + 1), Status: "queued"}
	s.applyRun(run, b)
	s.runs = append(s.runs, run)
	s.reply(w, http.StatusCreated, s.runJSON(run))
}

func (s *Server) updateCheckRun(w http.ResponseWriter, r *http.Request) {
	if !s.repo(w, r) {
		return
	}
	var b checkRunBody
	if !s.decode(w, r, &b) || !s.checkRun(w, b, false) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if id < 1 || id > int64(len(s.runs)) {
		s.fail(w, http.StatusNotFound, "Not Found")
		return
	}
	run := s.runs[id-1]
	s.applyRun(run, b)
	s.reply(w, http.StatusOK, s.runJSON(run))
}

// Pull is a pull request as the fake holds it. Head and Base are empty for
// one added with AddPullRequest.
type Pull struct {
	Number int
	Title  string
	Body   string
	Head   string
	Base   string
	State  string // open or closed
}

type pullRefs struct {
	head, base string
}

// DefaultBranch is the branch the contents API reads when no ref is given.
const DefaultBranch = "main"

// AddFile commits content at path on branch, creating the branch (with
// no other file) if it does not exist.
func (s *Server) AddFile(branch, path, content string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commit(branch, path, content)
}

// File returns the content of path on branch.
func (s *Server) File(branch, path string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	head, ok := s.branches[branch]
	if !ok {
		return "", false
	}
	c, ok := s.commits[head][path]
	return c, ok
}

// Branches returns the branches and their head commits.
func (s *Server) Branches() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.branches))
	for b, sha := range s.branches {
		out[b] = sha
	}
	return out
}

// Pulls returns copies of every pull request, by number.
func (s *Server) Pulls() []Pull {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Pull
	for _, i := range s.issues {
		if i.PullRequest {
			out = append(out, s.pull(i))
		}
	}
	return out
}

func (s *Server) pull(i *Issue) Pull {
	p := Pull{Number: i.Number, Title: i.Title, Body: i.Body, State: i.State}
	if r := s.pulls[i.Number]; r != nil {
		p.Head, p.Base = r.head, r.base
	}
	return p
}

// commit makes a commit on branch that sets path to content, and returns
// its SHA.
func (s *Server) commit(branch, path, content string) string {
	files := map[string]string{}
	for p, c := range s.commits[s.branches[branch]] {
		files[p] = c
	}
	files[path] = content
	sum := sha1.Sum([]byte(fmt.Sprintf("commit %d %s %s", len(s.commits), branch, path)))
	sha := hex.EncodeToString(sum[:])
	s.commits[sha] = files
	s.branches[branch] = sha
	return sha
}

// blobSHA is git's object ID of a blob with content.
func blobSHA(content string) string {
	sum := sha1.Sum([]byte(fmt.Sprintf("blob %d\x00%s", len(content), content)))
	return hex.EncodeToString(sum[:])
}

// base64Lines encodes as the contents API does: base64 in lines of 60
// characters, each ending in a newline.
func base64Lines(content string) string {
	enc := base64.StdEncoding.EncodeToString([]byte(content))
	var b strings.Builder
	for len(enc) > 60 {
		b.WriteString(enc[:60] + "\n")
		enc = enc[60:]
	}
	b.WriteString(enc + "\n")
	return b.String()
}

func (s *Server) getContents(w http.ResponseWriter, r *http.Request) {
	if !s.repo(w, r) {
		return
	}
	path := r.PathValue("path")
	ref := r.URL.Query().Get("ref")
	if ref == "" {
		ref = DefaultBranch
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	head, ok := s.branches[ref]
	if !ok {
		s.fail(w, http.StatusNotFound, "No commit found for the ref "+ref)
		return
	}
	files := s.commits[head]
	content, ok := files[path]
	if !ok {
		// A directory lists its entries.
		var entries []map[string]any
		for p := range files {
			if rest, ok := strings.CutPrefix(p, path+"/"); ok {
				name, _, _ := strings.Cut(rest, "/")
				entries = append(entries, map[string]any{"type": "dir", "name": name, "path": path + "/" + name})
			}
		}
		if len(entries) == 0 {
			s.fail(w, http.StatusNotFound, "Not Found")
			return
		}
		s.reply(w, http.StatusOK, entries)
		return
	}
	name := path[strings.LastIndex(path, "/")+1:]
	s.reply(w, http.StatusOK, map[string]any{
		"type":     "file",
		"encoding": "base64",
		"size":     len(content),
		"name":     name,
		"path":     path,
		"content":  base64Lines(content),
		"sha":      blobSHA(content),
		"html_url": fmt.Sprintf("https://github.com/%s/%s/blob/%s/%s", s.cfg.Owner, s.cfg.Repo, ref, path),
	})
}

type putBody struct {
	Message *string `json:"message"`
	Content *string `json:"content"`
	SHA     *string `json:"sha"`
	Branch  *string `json:"branch"`
}

func (s *Server) putContents(w http.ResponseWriter, r *http.Request) {
	if !s.repo(w, r) {
		return
	}
	path := r.PathValue("path")
	var b putBody
	if !s.decode(w, r, &b) {
		return
	}
	switch {
	case b.Message == nil || strings.TrimSpace(*b.Message) == "":
		s.invalid(w, "Commit", "message", "missing_field")
		return
	case b.Content == nil:
		s.invalid(w, "Commit", "content", "missing_field")
		return
	case b.Branch == nil || *b.Branch == "":
		// GitHub would commit to the default branch: never what a fix
		// pull request wants.
		s.t.Errorf("githubtest: PUT contents/%s without a branch: GitHub would commit to the default branch", path)
		s.invalid(w, "Commit", "branch", "missing_field")
		return
	}
	raw, err := base64.StdEncoding.DecodeString(*b.Content)
	if err != nil {
		s.t.Errorf("githubtest: PUT contents/%s: content is not base64: %v", path, err)
		s.invalid(w, "Commit", "content", "invalid")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	head, ok := s.branches[*b.Branch]
	if !ok {
		s.fail(w, http.StatusNotFound, "Branch "+*b.Branch+" not found")
		return
	}
	old, exists := s.commits[head][path]
	status := http.StatusCreated
	if exists {
		if b.SHA == nil || *b.SHA == "" {
			s.reply(w, http.StatusUnprocessableEntity, map[string]string{"message": "Invalid request.\n\n\"sha\" wasn't supplied.", "documentation_url": "https://docs.github.com/rest/repos/contents#create-or-update-file-contents"})
			return
		}
		if *b.SHA != blobSHA(old) {
			s.fail(w, http.StatusConflict, fmt.Sprintf("%s does not match %s", path, *b.SHA))
			return
		}
		status = http.StatusOK
	}
	sha := s.commit(*b.Branch, path, string(raw))
	s.reply(w, status, map[string]any{
		"content": map[string]any{"name": path[strings.LastIndex(path, "/")+1:], "path": path, "sha": blobSHA(string(raw))},
		"commit":  map[string]any{"sha": sha, "message": *b.Message},
	})
}

func (s *Server) refJSON(branch, sha string) map[string]any {
	return map[string]any{
		"ref":     "refs/heads/" + branch,
		"node_id": "REF_" + sha[:12],
		"url":     fmt.Sprintf("%s/repos/%s/%s/git/refs/heads/%s", s.srv.URL, s.cfg.Owner, s.cfg.Repo, branch),
		"object":  map[string]any{"sha": sha, "type": "commit"},
	}
}

func (s *Server) getRef(w http.ResponseWriter, r *http.Request) {
	if !s.repo(w, r) {
		return
	}
	branch, ok := strings.CutPrefix(r.PathValue("ref"), "heads/")
	s.mu.Lock()
	defer s.mu.Unlock()
	sha, found := s.branches[branch]
	if !ok || !found {
		s.fail(w, http.StatusNotFound, "Not Found")
		return
	}
	s.reply(w, http.StatusOK, s.refJSON(branch, sha))
}

func (s *Server) createRef(w http.ResponseWriter, r *http.Request) {
	if !s.repo(w, r) {
		return
	}
	var b struct {
		Ref *string `json:"ref"`
		SHA *string `json:"sha"`
	}
	if !s.decode(w, r, &b) {
		return
	}
	if b.Ref == nil || b.SHA == nil {
		s.invalid(w, "Reference", "ref", "missing_field")
		return
	}
	branch, ok := strings.CutPrefix(*b.Ref, "refs/heads/")
	if !ok || branch == "" {
		s.t.Errorf("githubtest: create ref %q: want refs/heads/NAME", *b.Ref)
		s.reply(w, http.StatusUnprocessableEntity, map[string]string{"message": "Reference name must start with 'refs/' and have at least two slashes.", "documentation_url": "https://docs.github.com/rest/git/refs#create-a-reference"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.commits[*b.SHA]; !ok {
		s.reply(w, http.StatusUnprocessableEntity, map[string]string{"message": "Object does not exist", "documentation_url": "https://docs.github.com/rest/git/refs#create-a-reference"})
		return
	}
	if _, ok := s.branches[branch]; ok {
		s.reply(w, http.StatusUnprocessableEntity, map[string]string{"message": "Reference already exists", "documentation_url": "https://docs.github.com/rest/git/refs#create-a-reference"})
		return
	}
	s.branches[branch] = *b.SHA
	s.reply(w, http.StatusCreated, s.refJSON(branch, *b.SHA))
}

func (s *Server) pullJSON(i *Issue) map[string]any {
	p := s.pull(i)
	m := s.issueJSON(i)
	delete(m, "pull_request")
	delete(m, "state_reason")
	m["head"] = map[string]any{"ref": p.Head, "label": s.cfg.Owner + ":" + p.Head, "sha": s.branches[p.Head]}
	m["base"] = map[string]any{"ref": p.Base, "label": s.cfg.Owner + ":" + p.Base, "sha": s.branches[p.Base]}
	m["draft"] = false
	m["merged_at"] = nil
	return m
}

func (s *Server) listPulls(w http.ResponseWriter, r *http.Request) {
	if !s.repo(w, r) {
		return
	}
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	head := q.Get("head")
	if head != "" && !strings.Contains(head, ":") {
		// GitHub ignores such a filter and lists every pull request.
		s.t.Errorf("githubtest: GET pulls?head=%s: GitHub wants user:ref-name, and ignores the filter otherwise", head)
		head = ""
	}
	owner, branch, _ := strings.Cut(head, ":")
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for k := len(s.issues) - 1; k >= 0; k-- {
		i := s.issues[k]
		if !i.PullRequest || (state != "all" && i.State != state) {
			continue
		}
		if head != "" && (owner != s.cfg.Owner || s.pull(i).Head != branch) {
			continue
		}
		if base := q.Get("base"); base != "" && s.pull(i).Base != base {
			continue
		}
		out = append(out, s.pullJSON(i))
	}
	out = page(s, w, r, out)
	if out == nil {
		out = []map[string]any{}
	}
	s.reply(w, http.StatusOK, out)
}

func (s *Server) createPull(w http.ResponseWriter, r *http.Request) {
	if !s.repo(w, r) {
		return
	}
	var b struct {
		Title *string `json:"title"`
		Head  *string `json:"head"`
		Base  *string `json:"base"`
		Body  *string `json:"body"`
	}
	if !s.decode(w, r, &b) {
		return
	}
	switch {
	case b.Title == nil || strings.TrimSpace(*b.Title) == "":
		s.invalid(w, "PullRequest", "title", "missing_field")
		return
	case b.Head == nil || *b.Head == "":
		s.invalid(w, "PullRequest", "head", "missing_field")
		return
	case b.Base == nil || *b.Base == "":
		s.invalid(w, "PullRequest", "base", "missing_field")
		return
	case len([]rune(*b.Title)) > 256:
		s.invalid(w, "PullRequest", "title", "invalid")
		return
	case b.Body != nil && len([]rune(*b.Body)) > 65536:
		s.invalid(w, "PullRequest", "body", "custom")
		return
	}
	head := *b.Head
	if owner, branch, ok := strings.Cut(head, ":"); ok {
		if owner != s.cfg.Owner {
			s.invalid(w, "PullRequest", "head", "invalid")
			return
		}
		head = branch
	}
	base := *b.Base
	s.mu.Lock()
	defer s.mu.Unlock()
	headSHA, okHead := s.branches[head]
	baseSHA, okBase := s.branches[base]
	switch {
	case !okHead:
		s.invalid(w, "PullRequest", "head", "invalid")
		return
	case !okBase:
		s.invalid(w, "PullRequest", "base", "invalid")
		return
	case maps.Equal(s.commits[headSHA], s.commits[baseSHA]):
		s.reply(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed",
			"errors":            []map[string]string{{"resource": "PullRequest", "code": "custom", "message": "No commits between " + base + " and " + head}},
			"documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request"})
		return
	}
	for _, i := range s.issues {
		if p := s.pull(i); i.PullRequest && i.State == "open" && p.Head == head && p.Base == base {
			s.reply(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed",
				"errors":            []map[string]string{{"resource": "PullRequest", "code": "custom", "message": "A pull request already exists for " + s.cfg.Owner + ":" + head + "."}},
				"documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request"})
			return
		}
	}
	i := &Issue{Title: *b.Title, State: "open", PullRequest: true}
	if b.Body != nil {
		i.Body = *b.Body
	}
	s.addIssue(i)
	s.pulls[i.Number] = &pullRefs{head: head, base: base}
	w.Header().Set("Location", fmt.Sprintf("%s/repos/%s/%s/pulls/%d", s.srv.URL, s.cfg.Owner, s.cfg.Repo, i.Number))
	s.reply(w, http.StatusCreated, s.pullJSON(i))
}
