package jira

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
)

// maxResponse bounds how much of a response body the client reads.
const maxResponse = 1 << 20

// Client is a Jira destination: it implements sextant.TicketSink over Jira's
// REST API. It is safe for concurrent use.
type Client struct {
	cfg  Config
	http *http.Client
	auth string // the Authorization header
	// Now is the clock Retry-After dates are read against.
	Now func() time.Time
}

var _ sextant.TicketSink = (*Client)(nil)

// New returns a client for cfg, with its defaults applied, sending through
// httpClient (a client with a 30-second timeout when nil). The
// configuration errors are EINVALID.
func New(cfg Config, httpClient *http.Client) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	c := &Client{cfg: cfg, http: httpClient, Now: time.Now}
	if cfg.Flavor == Cloud {
		c.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.Email+":"+cfg.Token))
	} else {
		c.auth = "Bearer " + cfg.Token
	}
	return c, nil
}

// Config returns the client's configuration, defaults applied.
func (c *Client) Config() Config { return c.cfg }

// Preview is the package's Preview for the client's configuration.
func (c *Client) Preview(op string, content sextant.TicketContent, comment string) ([]byte, error) {
	return Preview(c.cfg, op, content, comment)
}

// issueRef is the part of an issue the client reads: from a create
// response, a search hit or an issue.
type issueRef struct {
	ID     string `json:"id"`
	Key    string `json:"key"`
	Fields struct {
		Labels []string `json:"labels"`
		Status *status  `json:"status"`
	} `json:"fields"`
}

type status struct {
	Name           string `json:"name"`
	StatusCategory struct {
		Key string `json:"key"`
	} `json:"statusCategory"`
}

// searchResult is a search page in either flavor: Cloud pages by
// nextPageToken, Data Center by startAt and total; Find reads one page.
type searchResult struct {
	Issues []issueRef `json:"issues"`
}

// Find searches the project for the issue labelled with the action's
// correlation key: JQL `project = "KEY" AND labels = "sextant-…" ORDER BY
// created ASC`, through /rest/api/3/search/jql on Cloud and
// /rest/api/2/search on Data Center. When several issues carry the label,
// the oldest is returned. Jira Cloud's search is eventually consistent: an
// issue created seconds ago may not be found yet.
func (c *Client) Find(ctx context.Context, actionID string) (sextant.TicketRef, bool, error) {
	key, err := correlationKey(actionID)
	if err != nil {
		return sextant.TicketRef{}, false, err
	}
	q := url.Values{}
	q.Set("jql", fmt.Sprintf("project = %s AND labels = %s ORDER BY created ASC", jqlString(c.cfg.Project), jqlString(key)))
	q.Set("fields", "summary,status,labels")
	q.Set("maxResults", "2")
	path := "/search/jql"
	if c.cfg.Flavor == DataCenter {
		path = "/search"
		q.Set("startAt", "0")
	}
	var res searchResult
	if err := c.do(ctx, "find issue labelled "+key, http.MethodGet, path+"?"+q.Encode(), nil, &res); err != nil {
		return sextant.TicketRef{}, false, err
	}
	for _, is := range res.Issues {
		if is.Key != "" {
			return c.ref(is.Key), true, nil
		}
	}
	return sextant.TicketRef{}, false, nil
}

// Create creates the issue BuildCreate describes and returns its key and
// browse URL.
func (c *Client) Create(ctx context.Context, content sextant.TicketContent) (sextant.TicketRef, error) {
	body, err := BuildCreate(c.cfg, content)
	if err != nil {
		return sextant.TicketRef{}, err
	}
	var created issueRef
	op := "create issue in " + c.cfg.Project
	if err := c.do(ctx, op, http.MethodPost, "/issue", body, &created); err != nil {
		return sextant.TicketRef{}, err
	}
	if created.Key == "" {
		return sextant.TicketRef{}, sextant.Errorf(sextant.EUNAVAILABLE, "jira: %s: the response holds no issue key", op)
	}
	return c.ref(created.Key), nil
}

// Comment adds comment to the issue. An empty comment sends nothing: Jira
// refuses empty comments. The description is not rewritten: people may
// have edited it.
func (c *Client) Comment(ctx context.Context, ref sextant.TicketRef, _ sextant.TicketContent, comment string) error {
	key, err := issueKey(ref)
	if err != nil {
		return err
	}
	if len(commentDoc(comment)) == 0 {
		return nil
	}
	body, err := BuildComment(c.cfg, comment)
	if err != nil {
		return err
	}
	return c.do(ctx, "comment on "+key, http.MethodPost, "/issue/"+url.PathEscape(key)+"/comment", body, nil)
}

// Close moves the issue through the configured close transition, with
// comment (if any) added by the transition. An issue whose status is
// already in the done category is left as it is, without the comment: Close
// is retried after failures that may have come after Jira applied it, and
// people close issues themselves.
func (c *Client) Close(ctx context.Context, ref sextant.TicketRef, comment string) error {
	return c.transition(ctx, ref, "close", c.cfg.CloseTransition, true, comment)
}

// Reopen moves the issue through the configured reopen transition, with
// comment (if any). An issue whose status is not in the done category is
// already open and left as it is, without the comment.
func (c *Client) Reopen(ctx context.Context, ref sextant.TicketRef, comment string) error {
	return c.transition(ctx, ref, "reopen", c.cfg.ReopenTransition, false, comment)
}

type transition struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	To   status `json:"to"`
}

// transition reads the issue's status, and unless it is already where
// toDone says, takes the transition named name: matched on the transition
// names first, then on the names of the statuses they lead to. When none
// matches, the error is EINVALID and lists those available.
func (c *Client) transition(ctx context.Context, ref sextant.TicketRef, verb, name string, toDone bool, comment string) error {
	key, err := issueKey(ref)
	if err != nil {
		return err
	}
	op := verb + " " + key
	issuePath := "/issue/" + url.PathEscape(key)
	var is issueRef
	if err := c.do(ctx, op+": read status", http.MethodGet, issuePath+"?fields=status", nil, &is); err != nil {
		return err
	}
	if is.Fields.Status == nil || is.Fields.Status.StatusCategory.Key == "" {
		return sextant.Errorf(sextant.EUNAVAILABLE, "jira: %s: the response holds no status category", op)
	}
	if (is.Fields.Status.StatusCategory.Key == "done") == toDone {
		return nil
	}
	var list struct {
		Transitions []transition `json:"transitions"`
	}
	if err := c.do(ctx, op+": list transitions", http.MethodGet, issuePath+"/transitions", nil, &list); err != nil {
		return err
	}
	t, ok := pickTransition(list.Transitions, name)
	if !ok {
		var avail []string
		for _, t := range list.Transitions {
			avail = append(avail, fmt.Sprintf("%q (to %s)", oneLine(t.Name, 80), oneLine(t.To.Name, 80)))
		}
		if len(avail) == 0 {
			avail = []string{"none"}
		}
		return sextant.Errorf(sextant.EINVALID, "jira: %s: no transition named %q from status %q; available: %s (set the %s transition in the configuration)",
			op, name, oneLine(is.Fields.Status.Name, 80), strings.Join(avail, ", "), verb)
	}
	body, err := BuildTransition(c.cfg, t.ID, comment)
	if err != nil {
		return err
	}
	return c.do(ctx, op+": transition "+fmt.Sprintf("%q", oneLine(t.Name, 80)), http.MethodPost, issuePath+"/transitions", body, nil)
}

// pickTransition finds the transition called name, else the one that
// leads to a status called name, ignoring case.
func pickTransition(ts []transition, name string) (transition, bool) {
	for _, t := range ts {
		if strings.EqualFold(strings.TrimSpace(t.Name), name) && t.ID != "" {
			return t, true
		}
	}
	for _, t := range ts {
		if strings.EqualFold(strings.TrimSpace(t.To.Name), name) && t.ID != "" {
			return t, true
		}
	}
	return transition{}, false
}

// ref returns the key and browse URL of an issue.
func (c *Client) ref(key string) sextant.TicketRef {
	base := c.cfg.BrowseURL
	if base == "" {
		base = c.cfg.BaseURL
	}
	return sextant.TicketRef{ExternalID: key, URL: base + "/browse/" + url.PathEscape(key)}
}

func issueKey(ref sextant.TicketRef) (string, error) {
	key := strings.TrimSpace(ref.ExternalID)
	if key == "" || strings.ContainsFunc(key, func(r rune) bool { return r <= ' ' || r == '/' || r == '?' || r == '#' }) {
		return "", sextant.Errorf(sextant.EINVALID, "jira: %q is not an issue key", oneLine(ref.ExternalID, 80))
	}
	return key, nil
}

// jqlString quotes s as a JQL string.
func jqlString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// do sends one request to the flavor's API and decodes a 2xx response into
// out (unless out is nil). Every error is a *sextant.Error without the
// token.
func (c *Client) do(ctx context.Context, op, method, path string, body []byte, out any) error {
	err := c.roundTrip(ctx, op, method, path, body, out)
	if err == nil {
		return nil
	}
	return c.scrub(err)
}

func (c *Client) roundTrip(ctx context.Context, op, method, path string, body []byte, out any) *sextant.Error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.cfg.BaseURL+c.cfg.Flavor.apiPrefix()+path, rd)
	if err != nil {
		return sextant.Errorf(sextant.EINVALID, "jira: %s: %v", op, err)
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// A network failure or timeout: the request may or may not have
		// been applied; the caller looks up before creating again.
		return sextant.Errorf(sextant.EUNAVAILABLE, "jira: %s: %v", op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	// Drain what is left so that the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return decodeError(op, resp.StatusCode, resp.Header, data, c.now())
	}
	if err != nil {
		return sextant.Errorf(sextant.EUNAVAILABLE, "jira: %s: read response: %v", op, err)
	}
	if len(data) > maxResponse {
		return sextant.Errorf(sextant.EUNAVAILABLE, "jira: %s: response over %d bytes", op, maxResponse)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return sextant.Errorf(sextant.EUNAVAILABLE, "jira: %s: HTTP %d with a body that is not Jira's JSON: %v", op, resp.StatusCode, err)
	}
	return nil
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// scrub removes the token (and the Basic credential made from it) from an
// error's message. Jira does not echo credentials, but a proxy's error page
// or a transport error might.
func (c *Client) scrub(e *sextant.Error) *sextant.Error {
	for _, secret := range []string{c.cfg.Token, strings.TrimPrefix(strings.TrimPrefix(c.auth, "Basic "), "Bearer ")} {
		if len(secret) >= 4 && strings.Contains(e.Message, secret) {
			e.Message = strings.ReplaceAll(e.Message, secret, "[REDACTED]")
		}
	}
	return e
}
