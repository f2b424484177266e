// Package jiratest is a fake Jira for tests: an httptest server that speaks
// the REST endpoints sextant's Jira client uses, for Jira Cloud (API v3,
// Atlassian Document Format) or Jira Data Center (API v2, wiki markup),
// and keeps issues in memory.
//
// It checks every request as Jira would and as the client must: method and
// path, the Authorization header of the flavor (Basic email:token on Cloud,
// Bearer token on Data Center), Accept and Content-Type, and the shape of
// each body (on Cloud a description or comment is an ADF document of
// version 1 with no empty text node; on Data Center it is a string). A
// request that breaks the protocol fails the test and is answered 400 with
// Jira's error envelope; wrong credentials are answered 401 as Jira would,
// without failing the test.
//
// The workflow has three statuses, To Do (category new), In Progress
// (indeterminate) and Done (done); each transition is named after the
// status it leads to: "In Progress" and "Done" from an open status, "To
// Do" from Done. SetTransitions replaces it.
package jiratest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sextant-dev/sextant/internal/sink/jira"
)

// Credentials and project the fake accepts by default.
const (
	Email   = "sextant-bot@example.com"
	Token   = "jira-test-token-4fd1c2a9e07b"
	Project = "SEC"
)

// Statuses of the default workflow and their categories.
const (
	StatusToDo       = "To Do"
	StatusInProgress = "In Progress"
	StatusDone       = "Done"
)

// Issue is an issue as the fake keeps it.
type Issue struct {
	ID, Key string
	Summary string
	Labels  []string
	// Status is the status name; Category its status category key
	// ("new", "indeterminate", "done").
	Status, Category string
	// Priority and IssueType are the names sent at creation.
	Priority, IssueType string
	Components          []string
	// Description is the description as sent: an ADF document decoded
	// into map[string]any on Cloud, a string on Data Center.
	Description any
	// Fields are all the fields sent at creation, decoded.
	Fields   map[string]any
	Comments []Comment
}

// Comment is a comment on an issue.
type Comment struct {
	ID string
	// Body is the body as sent: ADF (map[string]any) on Cloud, a string on
	// Data Center. Text is its text, paragraphs joined by newlines.
	Body any
	Text string
	// Transition is the name of the transition the comment came with, if
	// it came with one.
	Transition string
}

// Transition is one transition of the fake's workflow.
type Transition struct {
	ID, Name string
	// To is the status it leads to, Category that status's category.
	To, Category string
}

// Request is one request the fake received.
type Request struct {
	Method, Path, Query string
	Body                []byte
}

type failure struct {
	status     int
	retryAfter string
}

// Server is a fake Jira. Its fields are read-only once New returns.
type Server struct {
	// URL is the base URL to configure the client with.
	URL     string
	Flavor  jira.Flavor
	Email   string
	Token   string
	Project string

	t   testing.TB
	srv *httptest.Server

	mu          sync.Mutex
	issues      []*Issue
	requests    []Request
	failures    []failure
	transitions map[string][]Transition // by current status
	nextID      int
	nextComment int
}

// New starts a fake Jira of the flavor, closed when the test ends.
func New(t testing.TB, flavor jira.Flavor) *Server {
	t.Helper()
	if flavor != jira.Cloud && flavor != jira.DataCenter {
		t.Fatalf("jiratest.New: unknown flavor %q", flavor)
	}
	s := &Server{
		Flavor: flavor, Email: Email, Token: Token, Project: Project, t: t,
		nextID: 10000, nextComment: 10200,
	}
	open := []Transition{
		{ID: "21", Name: StatusInProgress, To: StatusInProgress, Category: "indeterminate"},
		{ID: "31", Name: StatusDone, To: StatusDone, Category: "done"},
	}
	s.transitions = map[string][]Transition{
		StatusToDo:       open,
		StatusInProgress: open,
		StatusDone:       {{ID: "11", Name: StatusToDo, To: StatusToDo, Category: "new"}},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Config returns a client configuration for the fake: its flavor, URL,
// project and credentials.
func (s *Server) Config() jira.Config {
	cfg := jira.Config{Flavor: s.Flavor, BaseURL: s.URL, Project: s.Project, Token: s.Token}
	if s.Flavor == jira.Cloud {
		cfg.Email = s.Email
	}
	return cfg
}

// Close stops the server, so that requests fail as on a network error.
func (s *Server) Close() { s.srv.Close() }

// FailNext makes the next n requests fail with status, carrying a
// Retry-After header when retryAfter is not empty. Bodies are Jira's: a
// 400 has an errors map, a 429 the rate-limit headers of the flavor, a 503
// plain text. Calls add up.
func (s *Server) FailNext(n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, failure{status: status, retryAfter: retryAfter})
	}
}

// SetTransitions sets the transitions available from a status.
func (s *Server) SetTransitions(from string, ts ...Transition) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.transitions[from] = slices.Clone(ts)
}

// SetStatus moves an issue to a status, as a person would in Jira.
func (s *Server) SetStatus(key, status, category string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issue(key)
	if is == nil {
		s.t.Fatalf("jiratest: SetStatus: no issue %s", key)
		return
	}
	is.Status, is.Category = status, category
}

// Issue returns a copy of the issue with the key.
func (s *Server) Issue(key string) (Issue, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issue(key)
	if is == nil {
		return Issue{}, false
	}
	return copyIssue(is), true
}

// Issues returns copies of every issue, in creation order.
func (s *Server) Issues() []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Issue, 0, len(s.issues))
	for _, is := range s.issues {
		out = append(out, copyIssue(is))
	}
	return out
}

// Requests returns how many requests the fake received, failed ones
// included.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// Log returns the requests received, in order.
func (s *Server) Log() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func copyIssue(is *Issue) Issue {
	c := *is
	c.Labels = slices.Clone(is.Labels)
	c.Components = slices.Clone(is.Components)
	c.Comments = slices.Clone(is.Comments)
	return c
}

func (s *Server) issue(key string) *Issue {
	for _, is := range s.issues {
		if is.Key == key || is.ID == key {
			return is
		}
	}
	return nil
}

func (s *Server) api() string {
	if s.Flavor == jira.Cloud {
		return "/rest/api/3"
	}
	return "/rest/api/2"
}

var (
	issuePathRE = regexp.MustCompile(`^/issue/([^/]+)(/comment|/transitions)?$`)
	jqlRE       = regexp.MustCompile(`^project = "?([A-Za-z][A-Za-z0-9_]*)"? AND labels = "((?:[^"\\]|\\.)+)"(?: ORDER BY created (?:ASC|DESC))?$`)
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		s.t.Errorf("jiratest: read body of %s %s: %v", r.Method, r.URL.Path, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: body})

	if len(s.failures) > 0 {
		f := s.failures[0]
		s.failures = s.failures[1:]
		s.fail(w, f)
		return
	}
	if r.Header.Get("Authorization") != s.authorization() {
		// Jira answers bad credentials 401; a test may send them on
		// purpose, so this is not a protocol error.
		writeError(w, http.StatusUnauthorized, []string{"Client must be authenticated to access this resource."}, nil)
		return
	}
	if !strings.Contains(r.Header.Get("Accept"), "application/json") {
		s.protocol(w, "%s %s: Accept is %q, want application/json", r.Method, r.URL.Path, r.Header.Get("Accept"))
		return
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			s.protocol(w, "%s %s: Content-Type is %q, want application/json", r.Method, r.URL.Path, ct)
			return
		}
	}
	if s.Flavor == jira.Cloud && (r.URL.Path == "/rest/api/3/search" || r.URL.Path == "/rest/api/2/search") {
		writeError(w, http.StatusGone, []string{"The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"}, nil)
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, s.api())
	if !ok {
		s.protocol(w, "%s %s: not under %s, the API of Jira %s", r.Method, r.URL.Path, s.api(), s.Flavor)
		return
	}
	switch {
	case path == "/issue" && r.Method == http.MethodPost:
		s.create(w, body)
	case (path == "/search/jql" && s.Flavor == jira.Cloud || path == "/search" && s.Flavor == jira.DataCenter) && r.Method == http.MethodGet:
		s.search(w, r)
	default:
		m := issuePathRE.FindStringSubmatch(path)
		if m == nil {
			s.protocol(w, "%s %s: no such endpoint in the fake", r.Method, r.URL.Path)
			return
		}
		is := s.issue(m[1])
		switch {
		case m[2] == "" && r.Method == http.MethodGet:
			if is == nil {
				notFound(w)
				return
			}
			s.get(w, r, is)
		case m[2] == "/comment" && r.Method == http.MethodPost:
			if is == nil {
				notFound(w)
				return
			}
			s.comment(w, is, body)
		case m[2] == "/transitions" && r.Method == http.MethodGet:
			if is == nil {
				notFound(w)
				return
			}
			s.listTransitions(w, is)
		case m[2] == "/transitions" && r.Method == http.MethodPost:
			if is == nil {
				notFound(w)
				return
			}
			s.transition(w, is, body)
		default:
			s.protocol(w, "%s %s: method not allowed", r.Method, r.URL.Path)
		}
	}
}

func (s *Server) authorization() string {
	if s.Flavor == jira.Cloud {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(s.Email+":"+s.Token))
	}
	return "Bearer " + s.Token
}

// protocol fails the test and answers 400 as Jira does.
func (s *Server) protocol(w http.ResponseWriter, format string, args ...any) {
	s.t.Helper()
	msg := fmt.Sprintf(format, args...)
	s.t.Errorf("jiratest: %s", msg)
	writeError(w, http.StatusBadRequest, []string{msg}, nil)
}

func (s *Server) fail(w http.ResponseWriter, f failure) {
	if f.retryAfter != "" {
		w.Header().Set("Retry-After", f.retryAfter)
	}
	switch f.status {
	case http.StatusBadRequest:
		writeError(w, f.status, nil, map[string]string{"summary": "You must specify a summary of the issue."})
	case http.StatusUnauthorized:
		writeError(w, f.status, []string{"Client must be authenticated to access this resource."}, nil)
	case http.StatusForbidden:
		writeError(w, f.status, []string{"You do not have permission to create issues in this project."}, nil)
	case http.StatusNotFound:
		notFound(w)
	case http.StatusConflict:
		writeError(w, f.status, []string{"The issue was changed by another request."}, nil)
	case http.StatusTooManyRequests:
		if s.Flavor == jira.Cloud {
			w.Header().Set("X-RateLimit-Limit", "350")
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("RateLimit-Reason", "jira-burst-based")
		} else {
			w.Header().Set("X-RateLimit-Limit", "100")
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Interval-Seconds", "60")
			w.Header().Set("X-RateLimit-FillRate", "10")
		}
		writeError(w, f.status, []string{"Rate limit exceeded."}, nil)
	default:
		if f.status >= 500 {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(f.status)
			fmt.Fprintf(w, "%d %s: the service is temporarily unavailable", f.status, http.StatusText(f.status))
			return
		}
		writeError(w, f.status, []string{http.StatusText(f.status)}, nil)
	}
}

func notFound(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, []string{"Issue does not exist or you do not have permission to see it."}, nil)
}

func writeError(w http.ResponseWriter, status int, messages []string, fields map[string]string) {
	if messages == nil {
		messages = []string{}
	}
	if fields == nil {
		fields = map[string]string{}
	}
	writeJSON(w, status, map[string]any{"errorMessages": messages, "errors": fields})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decode decodes a JSON object body, failing the test when it is not one.
func (s *Server) decode(w http.ResponseWriter, body []byte, v any) bool {
	s.t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		s.protocol(w, "body is not a JSON object: %v: %.200s", err, body)
		return false
	}
	return true
}

// fieldErrors answers 400 with Jira's errors map and fails the test.
func (s *Server) fieldErrors(w http.ResponseWriter, errs map[string]string) {
	s.t.Helper()
	s.t.Errorf("jiratest: invalid fields: %v", errs)
	writeError(w, http.StatusBadRequest, nil, errs)
}

func (s *Server) create(w http.ResponseWriter, body []byte) {
	var req struct {
		Fields map[string]json.RawMessage `json:"fields"`
	}
	if !s.decode(w, body, &req) {
		return
	}
	if req.Fields == nil {
		s.protocol(w, "create issue: no fields object")
		return
	}
	errs := map[string]string{}
	var is Issue
	var project struct{ Key string }
	if json.Unmarshal(req.Fields["project"], &project) != nil || project.Key == "" {
		errs["project"] = "project is required"
	} else if project.Key != s.Project {
		errs["project"] = fmt.Sprintf("valid project is required (got %q)", project.Key)
	}
	var issuetype struct{ Name string }
	if json.Unmarshal(req.Fields["issuetype"], &issuetype) != nil || issuetype.Name == "" {
		errs["issuetype"] = "issue type is required"
	}
	is.IssueType = issuetype.Name
	if json.Unmarshal(req.Fields["summary"], &is.Summary) != nil || strings.TrimSpace(is.Summary) == "" {
		errs["summary"] = "You must specify a summary of the issue."
	} else if len([]rune(is.Summary)) > 255 {
		errs["summary"] = "Summary must be less than 255 characters."
	} else if strings.ContainsAny(is.Summary, "\r\n") {
		errs["summary"] = "The summary is invalid because it contains newline characters."
	}
	if raw, ok := req.Fields["labels"]; ok {
		if json.Unmarshal(raw, &is.Labels) != nil {
			errs["labels"] = "labels must be an array of strings"
		}
		for _, l := range is.Labels {
			if l == "" || strings.ContainsAny(l, " \t\r\n") || len(l) > 255 {
				errs["labels"] = fmt.Sprintf("The label '%s' contains spaces which is invalid.", l)
			}
		}
	}
	if raw, ok := req.Fields["priority"]; ok {
		var p struct{ Name, ID string }
		if json.Unmarshal(raw, &p) != nil || p.Name == "" && p.ID == "" {
			errs["priority"] = "priority must be an object with a name or id"
		}
		is.Priority = p.Name
	}
	if raw, ok := req.Fields["components"]; ok {
		var cs []struct{ Name, ID string }
		if json.Unmarshal(raw, &cs) != nil {
			errs["components"] = "components must be an array of objects"
		}
		for _, c := range cs {
			if c.Name == "" && c.ID == "" {
				errs["components"] = "a component needs a name or id"
			}
			is.Components = append(is.Components, c.Name)
		}
	}
	if raw, ok := req.Fields["description"]; ok {
		d, err := s.richText(raw)
		if err != nil {
			errs["description"] = err.Error()
		}
		is.Description = d
	}
	if len(errs) > 0 {
		s.fieldErrors(w, errs)
		return
	}
	is.Fields = map[string]any{}
	for k, raw := range req.Fields {
		var v any
		_ = json.Unmarshal(raw, &v)
		is.Fields[k] = v
	}
	s.nextID++
	is.ID = strconv.Itoa(s.nextID)
	is.Key = fmt.Sprintf("%s-%d", s.Project, len(s.issues)+1)
	is.Status, is.Category = StatusToDo, "new"
	s.issues = append(s.issues, &is)
	writeJSON(w, http.StatusCreated, map[string]string{"id": is.ID, "key": is.Key, "self": s.self(&is)})
}

func (s *Server) self(is *Issue) string {
	return s.URL + s.api() + "/issue/" + is.ID
}

// richText checks a description or comment body for the flavor and
// returns it decoded.
func (s *Server) richText(raw json.RawMessage) (any, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("not JSON: %v", err)
	}
	if s.Flavor == jira.DataCenter {
		str, ok := v.(string)
		if !ok {
			return v, fmt.Errorf("Jira Data Center wants wiki markup, a string; got %T", v)
		}
		return str, nil
	}
	if err := CheckADF(v); err != nil {
		return v, err
	}
	return v, nil
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	jql := q.Get("jql")
	m := jqlRE.FindStringSubmatch(jql)
	if m == nil {
		s.protocol(w, "search: the fake does not understand the JQL %q", jql)
		return
	}
	if s.Flavor == jira.Cloud && q.Has("startAt") {
		s.protocol(w, "search: /search/jql has no startAt (it pages by nextPageToken)")
		return
	}
	max := 50
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, []string{"maxResults must be a number"}, nil)
			return
		}
		max = n
	}
	label := strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(m[2])
	var fields []string
	if f := q.Get("fields"); f != "" {
		fields = strings.Split(f, ",")
	}
	var hits []map[string]any
	total := 0
	for _, is := range s.issues {
		if !strings.EqualFold(m[1], s.Project) || !slices.Contains(is.Labels, label) {
			continue
		}
		total++
		if len(hits) >= max {
			continue
		}
		hit := map[string]any{"id": is.ID, "key": is.Key, "self": s.self(is)}
		fs := map[string]any{}
		for _, f := range fields {
			switch f {
			case "summary":
				fs["summary"] = is.Summary
			case "labels":
				fs["labels"] = is.Labels
			case "status":
				fs["status"] = statusJSON(is.Status, is.Category)
			}
		}
		if len(fields) > 0 {
			hit["fields"] = fs
		}
		hits = append(hits, hit)
	}
	if hits == nil {
		hits = []map[string]any{}
	}
	if s.Flavor == jira.Cloud {
		writeJSON(w, http.StatusOK, map[string]any{"issues": hits, "isLast": total <= max})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"startAt": 0, "maxResults": max, "total": total, "issues": hits})
}

func statusJSON(name, category string) map[string]any {
	return map[string]any{"name": name, "statusCategory": map[string]any{"key": category}}
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, is *Issue) {
	fs := map[string]any{}
	for _, f := range strings.Split(r.URL.Query().Get("fields"), ",") {
		switch f {
		case "status":
			fs["status"] = statusJSON(is.Status, is.Category)
		case "summary":
			fs["summary"] = is.Summary
		case "labels":
			fs["labels"] = is.Labels
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": is.ID, "key": is.Key, "self": s.self(is), "fields": fs})
}

func (s *Server) comment(w http.ResponseWriter, is *Issue, body []byte) {
	var req struct {
		Body json.RawMessage `json:"body"`
	}
	if !s.decode(w, body, &req) {
		return
	}
	if req.Body == nil {
		s.fieldErrors(w, map[string]string{"comment": "Comment body can not be empty!"})
		return
	}
	c, err := s.newComment(req.Body, "")
	if err != nil {
		s.fieldErrors(w, map[string]string{"comment": err.Error()})
		return
	}
	is.Comments = append(is.Comments, c)
	writeJSON(w, http.StatusCreated, map[string]any{"id": c.ID, "self": s.self(is) + "/comment/" + c.ID, "body": c.Body})
}

func (s *Server) newComment(raw json.RawMessage, transition string) (Comment, error) {
	b, err := s.richText(raw)
	if err != nil {
		return Comment{}, err
	}
	txt := Text(b)
	if strings.TrimSpace(txt) == "" {
		return Comment{}, fmt.Errorf("Comment body can not be empty!")
	}
	s.nextComment++
	return Comment{ID: strconv.Itoa(s.nextComment), Body: b, Text: txt, Transition: transition}, nil
}

func (s *Server) listTransitions(w http.ResponseWriter, is *Issue) {
	var out []map[string]any
	for _, t := range s.transitions[is.Status] {
		out = append(out, map[string]any{
			"id": t.ID, "name": t.Name, "hasScreen": false,
			"to": map[string]any{"name": t.To, "statusCategory": map[string]any{"key": t.Category}},
		})
	}
	if out == nil {
		out = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"transitions": out})
}

func (s *Server) transition(w http.ResponseWriter, is *Issue, body []byte) {
	var req struct {
		Transition *struct {
			ID string `json:"id"`
		} `json:"transition"`
		Update *struct {
			Comment []struct {
				Add *struct {
					Body json.RawMessage `json:"body"`
				} `json:"add"`
			} `json:"comment"`
		} `json:"update"`
	}
	if !s.decode(w, body, &req) {
		return
	}
	if req.Transition == nil || req.Transition.ID == "" {
		s.protocol(w, "transition %s: no transition id", is.Key)
		return
	}
	var t *Transition
	for _, c := range s.transitions[is.Status] {
		if c.ID == req.Transition.ID {
			t = &c
			break
		}
	}
	if t == nil {
		// Jira answers this without any protocol fault: the workflow
		// may have changed since the transitions were listed.
		writeError(w, http.StatusBadRequest, []string{fmt.Sprintf("Transition id '%s' is not valid for this issue.", req.Transition.ID)}, nil)
		return
	}
	var comments []Comment
	if req.Update != nil {
		for _, op := range req.Update.Comment {
			if op.Add == nil || op.Add.Body == nil {
				s.protocol(w, "transition %s: comment update without add.body", is.Key)
				return
			}
			c, err := s.newComment(op.Add.Body, t.Name)
			if err != nil {
				s.fieldErrors(w, map[string]string{"comment": err.Error()})
				return
			}
			comments = append(comments, c)
		}
	}
	is.Comments = append(is.Comments, comments...)
	is.Status, is.Category = t.To, t.Category
	w.WriteHeader(http.StatusNoContent)
}
