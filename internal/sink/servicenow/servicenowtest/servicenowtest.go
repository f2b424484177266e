// Package servicenowtest is an in-memory fake of the ServiceNow Table API
// (/api/now/table/<table>) for tests: an httptest server that keeps records
// in memory, answers as an instance does (string values, the
// {"error":{…},"status":"failure"} envelope, 201 with Location on create,
// journal fields that append), and reports to the test every request that
// breaks the contract a client must keep (Accept and Content-Type headers,
// JSON objects of strings, a sysparm_query it can parse).
//
// Like an instance, it silently drops conditions on fields the table does
// not know (DropQueryField), and refuses to resolve a record without close
// code and close notes (a data policy). FailNext makes the next requests
// fail with a chosen status.
package servicenowtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
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

// Config is what the fake accepts.
type Config struct {
	// Table is the one table the fake serves; "incident" when empty.
	Table string
	// Username and Password are the Basic credentials it accepts; Token,
	// when set, is the bearer token it accepts instead.
	Username string
	Password string
	Token    string
	// ClosedStates are the states that need close_code and close_notes;
	// 6 and 7 (Resolved, Closed) when nil.
	ClosedStates []string
}

// Record is a record as the fake holds it.
type Record struct {
	// Fields are the record's fields, sys_id, number, state,
	// sys_created_on and active included. A journal field holds its
	// latest entry.
	Fields map[string]string
	// Journal lists every entry written to work_notes or comments, oldest
	// first.
	Journal []JournalEntry
}

// JournalEntry is one write to a journal field.
type JournalEntry struct {
	Field string
	Value string
}

// Request is one request the fake received.
type Request struct {
	Method string
	// Path is the URL path; Query its decoded query.
	Path  string
	Query url.Values
	// Body is the decoded JSON body of a write, nil otherwise.
	Body map[string]string
}

// Server is the fake instance. Its methods are safe for concurrent use.
type Server struct {
	t   testing.TB
	cfg Config
	srv *httptest.Server

	mu       sync.Mutex
	records  []*Record
	seq      int
	fails    []failure
	dropped  map[string]bool
	requests []Request
}

type failure struct {
	status int
	header http.Header
	body   string
}

// New starts a fake instance serving cfg.Table; it is closed when the test
// ends.
func New(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.Table == "" {
		cfg.Table = "incident"
	}
	if cfg.ClosedStates == nil {
		cfg.ClosedStates = []string{"6", "7"}
	}
	s := &Server{t: t, cfg: cfg, dropped: map[string]bool{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the instance's base URL, to use as servicenow.Config.BaseURL.
func (s *Server) URL() string { return s.srv.URL }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// FailNext makes the next n requests (after the header checks) fail with
// status, header and the Table API's error envelope for that status.
func (s *Server) FailNext(n, status int, header http.Header) {
	s.FailNextBody(n, status, header, envelope(status))
}

// FailNextBody is FailNext with a body of the caller's choosing.
func (s *Server) FailNextBody(n, status int, header http.Header, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fails = append(s.fails, failure{status: status, header: header.Clone(), body: body})
	}
}

// DropQueryField makes the fake behave as an instance whose table has no
// such field: conditions on it in sysparm_query are silently dropped (so a
// query on it alone returns every row) and writes to it are ignored.
func (s *Server) DropQueryField(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropped[name] = true
}

// Seed inserts a record with the given fields, as if created by someone
// else, and returns its sys_id.
func (s *Server) Seed(fields map[string]string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.insert(fields).Fields["sys_id"]
}

// Record returns a copy of the record with that sys_id.
func (s *Server) Record(sysID string) (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.find(sysID); r != nil {
		return r.clone(), true
	}
	return Record{}, false
}

// Records returns copies of every record, oldest first.
func (s *Server) Records() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Record, len(s.records))
	for i, r := range s.records {
		out[i] = r.clone()
	}
	return out
}

// Requests returns the requests received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func (r *Record) clone() Record {
	f := make(map[string]string, len(r.Fields))
	for k, v := range r.Fields {
		f[k] = v
	}
	return Record{Fields: f, Journal: slices.Clone(r.Journal)}
}

// envelope is the Table API's error body for a status.
func envelope(status int) string {
	msg, detail := http.StatusText(status), any(nil)
	switch status {
	case http.StatusBadRequest:
		msg, detail = "Invalid request", "Request body or query is not valid"
	case http.StatusUnauthorized:
		msg, detail = "User Not Authenticated", "Required to provide Auth information"
	case http.StatusForbidden:
		msg, detail = "Operation Failed", "ACL restricts the record update"
	case http.StatusNotFound:
		msg, detail = "No Record found", "Record doesn't exist or ACL restricts the record retrieval"
	case http.StatusTooManyRequests:
		msg, detail = "Rate limit exceeded", "Inbound REST API rate limit rule exceeded"
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "detail": detail}, "status": "failure"})
	return string(b)
}

func (s *Server) fail(w http.ResponseWriter, status int, message string, detail any) {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": message, "detail": detail}, "status": "failure"})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

func (s *Server) reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query()}
	if r.Method == http.MethodPost || r.Method == http.MethodPatch || r.Method == http.MethodPut {
		if err := json.Unmarshal(body, &req.Body); err != nil {
			s.t.Errorf("servicenowtest: %s %s: body is not a JSON object of strings (every Table API value is a string): %v: %s", r.Method, r.URL.Path, err, body)
			s.log(req)
			s.fail(w, http.StatusBadRequest, "Exception while reading request", "The payload is not valid JSON.")
			return
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			s.t.Errorf("servicenowtest: %s %s: Content-Type %q, want application/json", r.Method, r.URL.Path, ct)
			s.log(req)
			s.fail(w, http.StatusUnsupportedMediaType, "Unsupported Media Type", nil)
			return
		}
	}
	s.log(req)
	if a := r.Header.Get("Accept"); a != "application/json" {
		s.t.Errorf("servicenowtest: %s %s: Accept %q, want application/json", r.Method, r.URL.Path, a)
		s.fail(w, http.StatusNotAcceptable, "Not Acceptable", nil)
		return
	}
	if f, ok := s.nextFailure(); ok {
		for k, v := range f.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		io.WriteString(w, f.body)
		return
	}
	if !s.authorized(r) {
		s.fail(w, http.StatusUnauthorized, "User Not Authenticated", "Required to provide Auth information")
		return
	}
	table, id, ok := route(r.URL.Path)
	if !ok {
		s.fail(w, http.StatusBadRequest, "Requested URI does not represent any resource", nil)
		return
	}
	if table != s.cfg.Table {
		s.fail(w, http.StatusBadRequest, "Invalid table "+table, nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case id == "" && r.Method == http.MethodGet:
		s.list(w, r)
	case id == "" && r.Method == http.MethodPost:
		rec := s.insert(s.writable(req.Body))
		w.Header().Set("Location", s.srv.URL+"/api/now/table/"+table+"/"+rec.Fields["sys_id"])
		s.reply(w, http.StatusCreated, map[string]any{"result": project(rec, r.URL.Query().Get("sysparm_fields"))})
	case id != "" && r.Method == http.MethodGet:
		rec := s.find(id)
		if rec == nil {
			s.fail(w, http.StatusNotFound, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")
			return
		}
		s.reply(w, http.StatusOK, map[string]any{"result": project(rec, r.URL.Query().Get("sysparm_fields"))})
	case id != "" && (r.Method == http.MethodPatch || r.Method == http.MethodPut):
		s.update(w, r, id, s.writable(req.Body))
	default:
		s.fail(w, http.StatusMethodNotAllowed, "Method not Supported", nil)
	}
}

func (s *Server) log(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
}

func (s *Server) nextFailure() (failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fails) == 0 {
		return failure{}, false
	}
	f := s.fails[0]
	s.fails = s.fails[1:]
	return f, true
}

func (s *Server) authorized(r *http.Request) bool {
	got := r.Header.Get("Authorization")
	if s.cfg.Token != "" {
		return got == "Bearer "+s.cfg.Token
	}
	return got == "Basic "+base64.StdEncoding.EncodeToString([]byte(s.cfg.Username+":"+s.cfg.Password))
}

// route splits /api/now/[v1/]table/<table>[/<sys_id>].
func route(path string) (table, id string, ok bool) {
	rest, found := strings.CutPrefix(path, "/api/now/table/")
	if !found {
		if rest, found = strings.CutPrefix(path, "/api/now/v1/table/"); !found {
			return "", "", false
		}
	}
	parts := strings.Split(rest, "/")
	switch len(parts) {
	case 1:
		return parts[0], "", parts[0] != ""
	case 2:
		return parts[0], parts[1], parts[0] != "" && parts[1] != ""
	}
	return "", "", false
}

// writable drops the fields the table does not have and those the instance
// sets itself.
func (s *Server) writable(body map[string]string) map[string]string {
	out := make(map[string]string, len(body))
	for k, v := range body {
		switch {
		case s.dropped[k], k == "sys_id", k == "number", k == "sys_created_on", k == "active":
		default:
			out[k] = v
		}
	}
	return out
}

func (s *Server) insert(fields map[string]string) *Record {
	s.seq++
	rec := &Record{Fields: map[string]string{}}
	for k, v := range fields {
		rec.Fields[k] = v
	}
	prefix := "REC"
	if s.cfg.Table == "incident" {
		prefix = "INC"
	}
	rec.Fields["sys_id"] = fmt.Sprintf("%032x", 0x46d44a5a2f0b1010+s.seq)
	rec.Fields["number"] = fmt.Sprintf("%s%07d", prefix, 10230+s.seq)
	rec.Fields["sys_created_on"] = time.Date(2026, 8, 21, 10, 0, 0, 0, time.UTC).Add(time.Duration(s.seq) * time.Second).Format(time.DateTime)
	if rec.Fields["state"] == "" {
		rec.Fields["state"] = "1"
	}
	for _, f := range []string{"work_notes", "comments"} {
		if v := rec.Fields[f]; v != "" {
			rec.Journal = append(rec.Journal, JournalEntry{Field: f, Value: v})
		}
	}
	s.setActive(rec)
	s.records = append(s.records, rec)
	return rec
}

func (s *Server) setActive(rec *Record) {
	rec.Fields["active"] = strconv.FormatBool(!slices.Contains(s.cfg.ClosedStates, rec.Fields["state"]) && rec.Fields["state"] != "8")
}

func (s *Server) find(id string) *Record {
	for _, r := range s.records {
		if r.Fields["sys_id"] == id {
			return r
		}
	}
	return nil
}

func (s *Server) update(w http.ResponseWriter, r *http.Request, id string, fields map[string]string) {
	rec := s.find(id)
	if rec == nil {
		s.fail(w, http.StatusNotFound, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")
		return
	}
	state := rec.Fields["state"]
	if v, ok := fields["state"]; ok {
		state = v
	}
	if slices.Contains(s.cfg.ClosedStates, state) {
		for _, f := range []string{"close_code", "close_notes"} {
			v, ok := fields[f]
			if !ok {
				v = rec.Fields[f]
			}
			if strings.TrimSpace(v) == "" {
				s.fail(w, http.StatusForbidden, "Operation Failed", "Data Policy Exception: \n The following fields are mandatory: Resolution code, Resolution notes")
				return
			}
		}
	}
	for k, v := range fields {
		rec.Fields[k] = v
		if (k == "work_notes" || k == "comments") && v != "" {
			rec.Journal = append(rec.Journal, JournalEntry{Field: k, Value: v})
		}
	}
	s.setActive(rec)
	s.reply(w, http.StatusOK, map[string]any{"result": project(rec, r.URL.Query().Get("sysparm_fields"))})
}

// list answers a GET on the table: sysparm_query (conditions joined by ^,
// ^OR alternatives, =, !=, LIKE, STARTSWITH, ORDERBY and ORDERBYDESC),
// sysparm_limit, sysparm_offset and sysparm_fields, with X-Total-Count.
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	groups, order, err := s.parseQuery(q.Get("sysparm_query"))
	if err != nil {
		s.t.Errorf("servicenowtest: sysparm_query %q: %v", q.Get("sysparm_query"), err)
		s.fail(w, http.StatusBadRequest, "Invalid query", err.Error())
		return
	}
	var rows []*Record
	for _, rec := range s.records {
		if matches(rec, groups) {
			rows = append(rows, rec)
		}
	}
	for i := len(order) - 1; i >= 0; i-- {
		o := order[i]
		slices.SortStableFunc(rows, func(a, b *Record) int {
			c := strings.Compare(a.Fields[o.field], b.Fields[o.field])
			if o.desc {
				c = -c
			}
			return c
		})
	}
	total := len(rows)
	offset, _ := strconv.Atoi(q.Get("sysparm_offset"))
	limit := 10000
	if v := q.Get("sysparm_limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.t.Errorf("servicenowtest: sysparm_limit %q is not a positive number", v)
		} else {
			limit = n
		}
	}
	rows = rows[min(offset, len(rows)):]
	rows = rows[:min(limit, len(rows))]
	out := make([]map[string]string, len(rows))
	for i, rec := range rows {
		out[i] = project(rec, q.Get("sysparm_fields"))
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	s.reply(w, http.StatusOK, map[string]any{"result": out})
}

type cond struct {
	field, op, value string
}

type orderBy struct {
	field string
	desc  bool
}

// parseQuery parses an encoded query into groups of alternatives (the
// conditions of a group are ORed, the groups ANDed) and an ordering.
// Conditions on dropped fields are left out, as an instance does.
func (s *Server) parseQuery(query string) ([][]cond, []orderBy, error) {
	var groups [][]cond
	var order []orderBy
	if query == "" {
		return nil, nil, nil
	}
	if strings.Contains(query, "^NQ") {
		return nil, nil, fmt.Errorf("^NQ is not supported by the fake")
	}
	for i, part := range strings.Split(query, "^") {
		or := false
		if i > 0 && strings.HasPrefix(part, "OR") && !strings.HasPrefix(part, "ORDERBY") {
			or, part = true, strings.TrimPrefix(part, "OR")
		}
		switch {
		case strings.HasPrefix(part, "ORDERBYDESC"):
			order = append(order, orderBy{field: strings.TrimPrefix(part, "ORDERBYDESC"), desc: true})
			continue
		case strings.HasPrefix(part, "ORDERBY"):
			order = append(order, orderBy{field: strings.TrimPrefix(part, "ORDERBY")})
			continue
		case part == "":
			return nil, nil, fmt.Errorf("empty condition")
		}
		c, err := parseCond(part)
		if err != nil {
			return nil, nil, err
		}
		if s.dropped[c.field] {
			continue
		}
		if or && len(groups) > 0 {
			groups[len(groups)-1] = append(groups[len(groups)-1], c)
		} else {
			groups = append(groups, []cond{c})
		}
	}
	return groups, order, nil
}

func parseCond(part string) (cond, error) {
	for _, op := range []string{"!=", "STARTSWITH", "LIKE", "="} {
		if i := strings.Index(part, op); i > 0 {
			return cond{field: part[:i], op: op, value: part[i+len(op):]}, nil
		}
	}
	return cond{}, fmt.Errorf("condition %q has no operator the fake knows (=, !=, LIKE, STARTSWITH)", part)
}

func matches(rec *Record, groups [][]cond) bool {
	for _, g := range groups {
		ok := false
		for _, c := range g {
			v := rec.Fields[c.field]
			switch c.op {
			case "=":
				ok = v == c.value
			case "!=":
				ok = v != c.value
			case "LIKE":
				ok = strings.Contains(v, c.value)
			case "STARTSWITH":
				ok = strings.HasPrefix(v, c.value)
			}
			if ok {
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// project keeps the fields listed in sysparm_fields (all when empty).
func project(rec *Record, fields string) map[string]string {
	out := map[string]string{}
	if fields == "" {
		for k, v := range rec.Fields {
			out[k] = v
		}
		return out
	}
	for _, f := range strings.Split(fields, ",") {
		out[f] = rec.Fields[f]
	}
	return out
}
