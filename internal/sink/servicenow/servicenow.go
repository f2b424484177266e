// Package servicenow tracks sextant's actions as records of a ServiceNow
// table (incident by default) through the Table API.
//
// It has two halves: pure builders (CreateRecord, CommentRecord,
// CloseRecord, ReopenRecord, Description) that turn an action into the
// record fields, and Client, the transport, which implements
// sextant.TicketSink. A record carries the action's sextant.CorrelationKey
// in correlation_id, which is how Find finds it again. The wire format is
// described in docs/sinks/servicenow.md; servicenowtest is an in-memory
// fake of the Table API for tests.
package servicenow

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
)

// Defaults of Config.
const (
	DefaultTable         = "incident"
	DefaultCommentField  = "work_notes"
	DefaultResolvedState = "6"                    // incident: Resolved
	DefaultReopenState   = "2"                    // incident: In Progress
	DefaultCloseCode     = "Solved (Permanently)" // an incident close_code choice
)

// DefaultUrgency and DefaultImpact map sextant priorities to the incident
// table's urgency and impact (1 High, 2 Medium, 3 Low). With ServiceNow's
// default priority lookup they give P0 → 1 Critical, P1 → 2 High,
// P2 → 3 Moderate, P3 → 5 Planning.
var (
	DefaultUrgency = map[sextant.Priority]string{sextant.P0: "1", sextant.P1: "2", sextant.P2: "2", sextant.P3: "3"}
	DefaultImpact  = map[sextant.Priority]string{sextant.P0: "1", sextant.P1: "1", sextant.P2: "2", sextant.P3: "3"}
)

// Config says where and how to write records. Zero fields take the
// defaults above; New checks it.
type Config struct {
	// BaseURL is the instance, e.g. https://acme.service-now.com. It must
	// be https, except on a loopback address (tests).
	BaseURL string
	// Table is the table the records go to, e.g. incident (the default)
	// or sn_vul_vulnerable_item. It must have correlation_id (every table
	// extending task has).
	Table string
	// Username and Password authenticate with HTTP Basic; Token, instead,
	// with an OAuth bearer token. Exactly one of the two must be given.
	Username string
	Password string
	Token    string
	// AssignmentGroup is the sys_id of the group records are assigned
	// to; empty leaves it to the instance's assignment rules.
	AssignmentGroup string
	// UrgencyMap and ImpactMap give the urgency and impact of each
	// priority; entries missing from them take DefaultUrgency and
	// DefaultImpact.
	UrgencyMap map[sextant.Priority]string
	ImpactMap  map[sextant.Priority]string
	// Fields are extra fields set on create (caller_id, category,
	// subcategory, cmdb_ci, u_… fields). They may not name a field sextant
	// sets itself.
	Fields map[string]string
	// CommentField is the journal field comments go to: work_notes (the
	// default, internal) or comments (visible to the caller).
	CommentField string
	// ResolvedState is the state Close sets (default 6, Resolved), with
	// CloseCode (default "Solved (Permanently)") and the comment as
	// close_notes. ReopenState is the state Reopen sets (default 2, In
	// Progress).
	ResolvedState string
	ReopenState   string
	CloseCode     string
}

// reserved are the fields sextant writes itself; Config.Fields may not
// set them.
var reserved = map[string]bool{
	"short_description": true, "description": true, "urgency": true, "impact": true,
	"correlation_id": true, "correlation_display": true, "assignment_group": true,
	"state": true, "close_code": true, "close_notes": true, "work_notes": true, "comments": true,
	"sys_id": true, "number": true,
}

var (
	fieldName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,79}$`)
	sysID     = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// withDefaults returns cfg with its zero fields set to the defaults and the
// priority maps completed.
func (cfg Config) withDefaults() Config {
	if cfg.Table == "" {
		cfg.Table = DefaultTable
	}
	if cfg.CommentField == "" {
		cfg.CommentField = DefaultCommentField
	}
	if cfg.ResolvedState == "" {
		cfg.ResolvedState = DefaultResolvedState
	}
	if cfg.ReopenState == "" {
		cfg.ReopenState = DefaultReopenState
	}
	if cfg.CloseCode == "" {
		cfg.CloseCode = DefaultCloseCode
	}
	cfg.UrgencyMap = complete(cfg.UrgencyMap, DefaultUrgency)
	cfg.ImpactMap = complete(cfg.ImpactMap, DefaultImpact)
	cfg.Fields = maps.Clone(cfg.Fields)
	return cfg
}

func complete(m, defaults map[sextant.Priority]string) map[sextant.Priority]string {
	out := make(map[sextant.Priority]string, len(defaults))
	for p, v := range defaults {
		out[p] = v
	}
	for p, v := range m {
		out[p] = v
	}
	return out
}

// check reports the first problem of a defaulted configuration.
func (cfg Config) check() error {
	invalid := func(format string, args ...any) error {
		return sextant.Errorf(sextant.EINVALID, "servicenow config: "+format, args...)
	}
	if _, err := baseURL(cfg.BaseURL); err != nil {
		return invalid("%s", sextant.ErrorMessage(err))
	}
	if !fieldName.MatchString(cfg.Table) {
		return invalid("table %q is not a table name (lower-case letters, digits and _)", cfg.Table)
	}
	basic := cfg.Username != "" || cfg.Password != ""
	switch {
	case basic && cfg.Token != "":
		return invalid("give either username and password or a token, not both")
	case basic && (cfg.Username == "" || cfg.Password == ""):
		return invalid("basic authentication needs both a username and a password")
	case !basic && cfg.Token == "":
		return invalid("no credentials: give a username and password, or a token")
	case strings.Contains(cfg.Username, ":"):
		return invalid("the username may not contain ':'")
	}
	if cfg.CommentField != "work_notes" && cfg.CommentField != "comments" {
		return invalid("comment_field %q: want work_notes or comments", cfg.CommentField)
	}
	for name, v := range map[string]string{"resolved_state": cfg.ResolvedState, "reopen_state": cfg.ReopenState, "close_code": cfg.CloseCode} {
		if strings.TrimSpace(v) == "" || v != clean(v) {
			return invalid("%s %q is empty or holds control characters", name, v)
		}
	}
	for _, p := range []sextant.Priority{sextant.P0, sextant.P1, sextant.P2, sextant.P3} {
		if strings.TrimSpace(cfg.UrgencyMap[p]) == "" || strings.TrimSpace(cfg.ImpactMap[p]) == "" {
			return invalid("urgency and impact of %s may not be empty", p)
		}
	}
	for p := range cfg.UrgencyMap {
		if p < sextant.P0 || p > sextant.P3 {
			return invalid("urgency map: unknown priority %d", int(p))
		}
	}
	for p := range cfg.ImpactMap {
		if p < sextant.P0 || p > sextant.P3 {
			return invalid("impact map: unknown priority %d", int(p))
		}
	}
	for k := range cfg.Fields {
		switch {
		case !fieldName.MatchString(k):
			return invalid("field %q is not a field name (lower-case letters, digits and _)", k)
		case reserved[k]:
			return invalid("field %q is set by sextant and may not be configured", k)
		}
	}
	return nil
}

// baseURL parses the instance URL: absolute, https (or http on a loopback
// address), without credentials, query or fragment.
func baseURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", sextant.Errorf(sextant.EINVALID, "base URL %q is not an absolute http(s) URL", redactURL(raw))
	}
	if u.User != nil {
		return "", sextant.Errorf(sextant.EINVALID, "base URL %q may not hold credentials: use username and password or token", redactURL(raw))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", sextant.Errorf(sextant.EINVALID, "base URL %q may not have a query or fragment", u.Redacted())
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return "", sextant.Errorf(sextant.EINVALID, "base URL %q is plain http: credentials would travel in clear; use https", u.Redacted())
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// redactURL drops whatever could be a credential from a URL that failed to
// parse or holds user info.
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "(unparsable)"
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Client writes records to one table of one instance. It implements
// sextant.TicketSink; it is safe for concurrent use.
type Client struct {
	cfg  Config
	base string
	auth string
	http *http.Client
	// Now returns the current time; it turns X-RateLimit-Reset into
	// Error.RetryAfter. New sets time.Now.
	Now func() time.Time
}

var _ sextant.TicketSink = (*Client)(nil)

// New checks cfg, applies its defaults and returns a client that sends
// requests with hc (a client with a 30-second timeout when nil). Errors are
// EINVALID.
func New(cfg Config, hc *http.Client) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	base, _ := baseURL(cfg.BaseURL)
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	auth := "Bearer " + cfg.Token
	if cfg.Token == "" {
		auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+cfg.Password))
	}
	return &Client{cfg: cfg, base: base, auth: auth, http: hc, Now: time.Now}, nil
}

// Config returns a copy of the client's configuration with its defaults
// applied.
func (c *Client) Config() Config { return c.cfg.withDefaults() }

// row is a record as the client reads it back (sysparm_fields below,
// reference links excluded so that every value is a string).
type row struct {
	SysID         string `json:"sys_id"`
	Number        string `json:"number"`
	State         string `json:"state"`
	CorrelationID string `json:"correlation_id"`
}

const rowFields = "sys_id,number,state,correlation_id"

// Find looks the action's record up by correlation_id. Rows whose
// correlation_id is not the key mean the instance ignored the condition
// (ServiceNow drops conditions on unknown fields and returns every row):
// that is EINVALID rather than a miss, so that a table without
// correlation_id cannot make sextant create duplicates. Two records with
// the key are ECONFLICT.
func (c *Client) Find(ctx context.Context, actionID string) (sextant.TicketRef, bool, error) {
	key := sextant.CorrelationKey(actionID)
	op := fmt.Sprintf("servicenow: find %s record %s", c.cfg.Table, key)
	q := url.Values{
		"sysparm_query":                  {"correlation_id=" + key + "^ORDERBYDESCsys_created_on"},
		"sysparm_fields":                 {rowFields},
		"sysparm_limit":                  {"2"},
		"sysparm_exclude_reference_link": {"true"},
	}
	var resp struct {
		Result []row `json:"result"`
	}
	if err := c.do(ctx, op, http.MethodGet, c.tablePath(""), q, nil, &resp); err != nil {
		return sextant.TicketRef{}, false, err
	}
	for _, r := range resp.Result {
		if r.CorrelationID != key {
			return sextant.TicketRef{}, false, sextant.Errorf(sextant.EINVALID,
				"%s: the instance ignored the correlation_id condition (it returned %s, whose correlation_id is %q); does table %s have a correlation_id field?",
				op, describe(r), oneLine(r.CorrelationID), c.cfg.Table)
		}
		if !sysID.MatchString(r.SysID) {
			return sextant.TicketRef{}, false, sextant.Errorf(sextant.EUNAVAILABLE, "%s: the instance returned a record without a valid sys_id", op)
		}
	}
	switch len(resp.Result) {
	case 0:
		return sextant.TicketRef{}, false, nil
	case 1:
		return c.ref(resp.Result[0].SysID), true, nil
	}
	return sextant.TicketRef{}, false, sextant.Errorf(sextant.ECONFLICT,
		"%s: two records carry the key, %s and %s; close or re-key one of them",
		op, describe(resp.Result[0]), describe(resp.Result[1]))
}

func describe(r row) string {
	if r.Number != "" {
		return fmt.Sprintf("%s (sys_id %s)", oneLine(r.Number), oneLine(r.SysID))
	}
	return "sys_id " + oneLine(r.SysID)
}

// Create inserts a record for the action (CreateRecord) and returns its
// sys_id and its URL in the instance.
func (c *Client) Create(ctx context.Context, content sextant.TicketContent) (sextant.TicketRef, error) {
	op := fmt.Sprintf("servicenow: create %s record %s", c.cfg.Table, sextant.CorrelationKey(content.Action.ID))
	q := url.Values{
		"sysparm_fields":                 {rowFields},
		"sysparm_exclude_reference_link": {"true"},
	}
	var resp struct {
		Result row `json:"result"`
	}
	if err := c.do(ctx, op, http.MethodPost, c.tablePath(""), q, CreateRecord(c.cfg, content), &resp); err != nil {
		return sextant.TicketRef{}, err
	}
	if !sysID.MatchString(resp.Result.SysID) {
		return sextant.TicketRef{}, sextant.Errorf(sextant.EUNAVAILABLE, "%s: the instance answered without a valid sys_id", op)
	}
	return c.ref(resp.Result.SysID), nil
}

// Comment appends comment to the record's journal and refreshes the fields
// sextant owns (CommentRecord), in one request.
func (c *Client) Comment(ctx context.Context, ref sextant.TicketRef, content sextant.TicketContent, comment string) error {
	return c.update(ctx, "comment on", ref, CommentRecord(c.cfg, content, comment))
}

// Close sets the record to the resolved state with the close code and the
// comment as close notes (CloseRecord).
func (c *Client) Close(ctx context.Context, ref sextant.TicketRef, comment string) error {
	return c.update(ctx, "close", ref, CloseRecord(c.cfg, comment))
}

// Reopen sets the record back to the reopen state with the comment in its
// journal (ReopenRecord).
func (c *Client) Reopen(ctx context.Context, ref sextant.TicketRef, comment string) error {
	return c.update(ctx, "reopen", ref, ReopenRecord(c.cfg, comment))
}

func (c *Client) update(ctx context.Context, verb string, ref sextant.TicketRef, rec Record) error {
	op := fmt.Sprintf("servicenow: %s %s record %s", verb, c.cfg.Table, oneLine(ref.ExternalID))
	if !sysID.MatchString(ref.ExternalID) {
		return sextant.Errorf(sextant.EINVALID, "%s: %q is not a sys_id (32 hex digits)", op, oneLine(ref.ExternalID))
	}
	q := url.Values{"sysparm_fields": {"sys_id"}, "sysparm_exclude_reference_link": {"true"}}
	return c.do(ctx, op, http.MethodPatch, c.tablePath(ref.ExternalID), q, rec, nil)
}

// ref is the reference to a record: its sys_id, and the classic UI form
// as its URL.
func (c *Client) ref(id string) sextant.TicketRef {
	return sextant.TicketRef{
		ExternalID: id,
		URL:        c.base + "/nav_to.do?uri=" + url.QueryEscape(c.cfg.Table+".do?sys_id="+id),
	}
}

func (c *Client) tablePath(id string) string {
	p := "/api/now/table/" + c.cfg.Table
	if id != "" {
		p += "/" + id
	}
	return p
}

// maxResponse bounds how much of a response the client reads.
const maxResponse = 4 << 20

// do sends one request and decodes a 2xx JSON answer into out (when not
// nil); any other answer, or a failure to reach the instance, becomes a
// *sextant.Error whose text never holds the credentials.
func (c *Client) do(ctx context.Context, op, method, path string, q url.Values, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := encode(body)
		if err != nil {
			return sextant.Errorf(sextant.EINTERNAL, "%s: encode request: %v", op, err)
		}
		rd = bytes.NewReader(b)
	}
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return sextant.Errorf(sextant.EINTERNAL, "%s: %s", op, c.redact(err.Error()))
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("User-Agent", "sextant")
	resp, err := c.http.Do(req)
	if err != nil {
		return sextant.Errorf(sextant.EUNAVAILABLE, "%s: %s", op, c.redact(networkError(err)))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return sextant.Errorf(sextant.EUNAVAILABLE, "%s: read response: %s", op, c.redact(networkError(err)))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := statusError(resp.StatusCode, resp.Header, data, c.Now())
		e.Message = c.redact(op + ": " + e.Message)
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		// A hibernating developer instance or a proxy answers 200 with an
		// HTML page: the instance is not there, so it is worth a retry.
		return sextant.Errorf(sextant.EUNAVAILABLE, "%s: HTTP %d with a body that is not the Table API's JSON (%s)", op, resp.StatusCode, oneLine(resp.Header.Get("Content-Type")))
	}
	return nil
}

// encode is the JSON of a request body, with <, > and & as they are (the
// golden files show exactly what is sent).
func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// networkError describes a transport failure without the request URL.
func networkError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return oneLine(err.Error())
}

// redact removes the credentials from a message, in case the other side
// (or a proxy) echoed them.
func (c *Client) redact(s string) string {
	for _, secret := range []string{c.cfg.Password, c.cfg.Token, strings.TrimPrefix(strings.TrimPrefix(c.auth, "Basic "), "Bearer ")} {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}
