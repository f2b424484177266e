// Package github writes sextant's actions to GitHub through the REST API:
// issues (Client implements sextant.TicketSink), sticky pull-request
// comments (StickyComment, for sextant ci) and check runs with annotations
// (CreateCheckRun).
//
// It has two halves: pure builders (NewIssue, IssueBody, NewCheckRun,
// EscapeText) that render the markdown and request bodies, and Client, the
// transport. An issue carries its action's sextant.CorrelationKey as a
// label, which is how Find finds it again, and in a hidden Marker in its
// body. The wire format is described in docs/sinks/github.md; githubtest
// is an in-memory fake of the API for tests.
package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
)

// DefaultBaseURL is github.com's API; GitHub Enterprise Server answers at
// https://<host>/api/v3.
const DefaultBaseURL = "https://api.github.com"

// APIVersion is the REST API version the client asks for.
const APIVersion = "2022-11-28"

// UserAgent is the User-Agent the client sends (GitHub requires one).
const UserAgent = "sextant (+https://github.com/sextant-dev/sextant)"

// MaxLabel is the longest label GitHub accepts.
const MaxLabel = 50

// Config says where and how to write. New checks it.
type Config struct {
	// BaseURL is the API root, DefaultBaseURL when empty. It must be
	// https, except on a loopback address (tests).
	BaseURL string
	// Owner and Repo name the repository issues, comments and check runs
	// go to.
	Owner string
	Repo  string
	// Token is sent as "Authorization: Bearer <token>": a fine-grained or
	// classic personal access token, or a GitHub App installation token
	// (which check runs require).
	Token string
	// Labels are put on every issue, besides the action's correlation
	// key; each at most MaxLabel characters.
	Labels []string
	// Assignees are the logins every issue is assigned to.
	Assignees []string
}

var (
	ownerName = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	repoName  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
)

// check reports the first problem of a configuration.
func (cfg Config) check() error {
	invalid := func(format string, args ...any) error {
		return sextant.Errorf(sextant.EINVALID, "github config: "+format, args...)
	}
	if _, err := baseURL(cfg.BaseURL); err != nil {
		return invalid("%s", sextant.ErrorMessage(err))
	}
	if !ownerName.MatchString(cfg.Owner) {
		return invalid("owner %q is not a GitHub user or organisation name", cfg.Owner)
	}
	if !repoName.MatchString(cfg.Repo) || cfg.Repo == "." || cfg.Repo == ".." {
		return invalid("repo %q is not a repository name", cfg.Repo)
	}
	if strings.TrimSpace(cfg.Token) == "" || strings.ContainsAny(cfg.Token, " \t\r\n") {
		return invalid("no token, or a token with white space in it")
	}
	for _, l := range cfg.Labels {
		switch {
		case strings.TrimSpace(l) == "" || l != oneLine(l):
			return invalid("label %q is empty or holds control characters", l)
		case len([]rune(l)) > MaxLabel:
			return invalid("label %q is longer than %d characters", l, MaxLabel)
		case strings.Contains(l, ","):
			return invalid("label %q holds a comma, which the issues API reads as a list", l)
		}
	}
	for _, a := range cfg.Assignees {
		if !ownerName.MatchString(a) {
			return invalid("assignee %q is not a GitHub login", a)
		}
	}
	return nil
}

// baseURL parses the API root: absolute, https (or http on a loopback
// address), without credentials, query or fragment.
func baseURL(raw string) (*url.URL, error) {
	if strings.TrimSpace(raw) == "" {
		raw = DefaultBaseURL
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, sextant.Errorf(sextant.EINVALID, "base URL %q is not an absolute http(s) URL", redactURL(raw))
	}
	if u.User != nil {
		return nil, sextant.Errorf(sextant.EINVALID, "base URL %q may not hold credentials: use token", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, sextant.Errorf(sextant.EINVALID, "base URL %q may not have a query or fragment", u.Redacted())
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return nil, sextant.Errorf(sextant.EINVALID, "base URL %q is plain http: the token would travel in clear; use https", u.Redacted())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

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

// Client writes to one repository. It implements sextant.TicketSink; it is
// safe for concurrent use.
type Client struct {
	cfg  Config
	base *url.URL
	http *http.Client
	// Now returns the current time: the completion time of check runs,
	// and what X-RateLimit-Reset is counted from. New sets time.Now.
	Now func() time.Time
}

var _ sextant.TicketSink = (*Client)(nil)

// New checks cfg and returns a client that sends requests with hc (a client
// with a 30-second timeout when nil). Errors are EINVALID.
func New(cfg Config, hc *http.Client) (*Client, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	base, _ := baseURL(cfg.BaseURL)
	cfg.BaseURL = base.String()
	cfg.Labels, cfg.Assignees = slices.Clone(cfg.Labels), slices.Clone(cfg.Assignees)
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{cfg: cfg, base: base, http: hc, Now: time.Now}, nil
}

// Config returns a copy of the client's configuration, BaseURL filled in.
func (c *Client) Config() Config {
	cfg := c.cfg
	cfg.Labels, cfg.Assignees = slices.Clone(cfg.Labels), slices.Clone(cfg.Assignees)
	return cfg
}

// issue is an issue as the client reads it.
type issue struct {
	Number      int             `json:"number"`
	HTMLURL     string          `json:"html_url"`
	State       string          `json:"state"`
	PullRequest json.RawMessage `json:"pull_request"`
}

func (i issue) ref() sextant.TicketRef {
	return sextant.TicketRef{ExternalID: strconv.Itoa(i.Number), URL: i.HTMLURL}
}

// Find lists the repository's issues, open and closed, that carry the
// action's CorrelationKey as a label (the issues list is read from the
// database, unlike search, which lags behind writes). Pull requests are
// skipped. Two issues with the label are ECONFLICT.
func (c *Client) Find(ctx context.Context, actionID string) (sextant.TicketRef, bool, error) {
	key := sextant.CorrelationKey(actionID)
	op := "github: find issue " + key
	q := url.Values{"labels": {key}, "state": {"all"}, "per_page": {"100"}}
	var list []issue
	if _, err := c.do(ctx, op, http.MethodGet, c.url(c.repoPath("/issues"), q), nil, &list); err != nil {
		return sextant.TicketRef{}, false, err
	}
	var hits []issue
	for _, i := range list {
		if len(i.PullRequest) == 0 && i.Number > 0 {
			hits = append(hits, i)
		}
	}
	switch len(hits) {
	case 0:
		return sextant.TicketRef{}, false, nil
	case 1:
		return hits[0].ref(), true, nil
	}
	return sextant.TicketRef{}, false, sextant.Errorf(sextant.ECONFLICT,
		"%s: issues #%d and #%d both carry the label; close one and remove its label", op, hits[0].Number, hits[1].Number)
}

// Create opens an issue for the action (NewIssue). The token needs write
// (triage) access for the labels to stick: without it GitHub drops them
// silently, and Find cannot find the issue again.
func (c *Client) Create(ctx context.Context, content sextant.TicketContent) (sextant.TicketRef, error) {
	op := "github: create issue " + sextant.CorrelationKey(content.Action.ID)
	var got issue
	if _, err := c.do(ctx, op, http.MethodPost, c.url(c.repoPath("/issues"), nil), NewIssue(c.cfg, content), &got); err != nil {
		return sextant.TicketRef{}, err
	}
	if got.Number <= 0 {
		return sextant.TicketRef{}, sextant.Errorf(sextant.EUNAVAILABLE, "%s: GitHub answered without an issue number", op)
	}
	return got.ref(), nil
}

// Comment rewrites the issue's title and body to the action as it is now,
// then adds comment (escaped as plain text) unless it is empty. The
// rewrite goes first because it is idempotent: a retry after a failed
// comment does not post the comment twice.
func (c *Client) Comment(ctx context.Context, ref sextant.TicketRef, content sextant.TicketContent, comment string) error {
	n, err := number("github: comment on issue", ref)
	if err != nil {
		return err
	}
	op := fmt.Sprintf("github: update issue #%d", n)
	if _, err := c.do(ctx, op, http.MethodPatch, c.url(c.repoPath("/issues/"+strconv.Itoa(n)), nil), IssueRequest{Title: IssueTitle(content), Body: IssueBody(content)}, nil); err != nil {
		return err
	}
	return c.comment(ctx, n, comment)
}

// Close closes the issue as completed, then adds comment unless empty.
func (c *Client) Close(ctx context.Context, ref sextant.TicketRef, comment string) error {
	return c.setState(ctx, "close", ref, IssueRequest{State: "closed", StateReason: "completed"}, comment)
}

// Reopen reopens the issue, then adds comment unless empty.
func (c *Client) Reopen(ctx context.Context, ref sextant.TicketRef, comment string) error {
	return c.setState(ctx, "reopen", ref, IssueRequest{State: "open"}, comment)
}

func (c *Client) setState(ctx context.Context, verb string, ref sextant.TicketRef, req IssueRequest, comment string) error {
	n, err := number("github: "+verb+" issue", ref)
	if err != nil {
		return err
	}
	op := fmt.Sprintf("github: %s issue #%d", verb, n)
	if _, err := c.do(ctx, op, http.MethodPatch, c.url(c.repoPath("/issues/"+strconv.Itoa(n)), nil), req, nil); err != nil {
		return err
	}
	return c.comment(ctx, n, comment)
}

// comment posts comment, as escaped plain text, on issue or pull request n.
func (c *Client) comment(ctx context.Context, n int, comment string) error {
	body := strings.TrimSpace(EscapeText(comment))
	if body == "" {
		return nil
	}
	op := fmt.Sprintf("github: comment on issue #%d", n)
	_, err := c.do(ctx, op, http.MethodPost, c.url(c.repoPath(fmt.Sprintf("/issues/%d/comments", n)), nil),
		map[string]string{"body": truncate(body, MaxBody, "…")}, nil)
	return err
}

// number reads an issue number from a reference.
func number(op string, ref sextant.TicketRef) (int, error) {
	n, err := strconv.Atoi(ref.ExternalID)
	if err != nil || n <= 0 || strconv.Itoa(n) != ref.ExternalID {
		return 0, sextant.Errorf(sextant.EINVALID, "%s: %q is not an issue number", op, oneLine(ref.ExternalID))
	}
	return n, nil
}

func (c *Client) repoPath(p string) string {
	return "/repos/" + c.cfg.Owner + "/" + c.cfg.Repo + p
}

// url is the API URL of path with query q.
func (c *Client) url(path string, q url.Values) string {
	u := *c.base
	u.Path += path
	u.RawQuery = q.Encode()
	return u.String()
}

// maxResponse bounds how much of a response the client reads.
const maxResponse = 8 << 20

// do sends one request and decodes a 2xx JSON answer into out (when not
// nil), returning the response headers; any other answer, or a failure to
// reach GitHub, becomes a *sextant.Error whose text never holds the token.
func (c *Client) do(ctx context.Context, op, method, rawURL string, body, out any) (http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, err := encode(body)
		if err != nil {
			return nil, sextant.Errorf(sextant.EINTERNAL, "%s: encode request: %v", op, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return nil, sextant.Errorf(sextant.EINTERNAL, "%s: %s", op, c.redact(err.Error()))
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", APIVersion)
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, sextant.Errorf(sextant.EUNAVAILABLE, "%s: %s", op, c.redact(networkError(err)))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, sextant.Errorf(sextant.EUNAVAILABLE, "%s: read response: %s", op, c.redact(networkError(err)))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := statusError(resp.StatusCode, resp.Header, data, c.Now())
		e.Message = c.redact(op + ": " + e.Message)
		return nil, e
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return nil, sextant.Errorf(sextant.EUNAVAILABLE, "%s: HTTP %d with a body that is not the API's JSON (%s)", op, resp.StatusCode, oneLine(resp.Header.Get("Content-Type")))
		}
	}
	return resp.Header, nil
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

// redact removes the token from a message, in case GitHub or a proxy
// echoed it.
func (c *Client) redact(s string) string {
	if len(c.cfg.Token) >= 4 {
		s = strings.ReplaceAll(s, c.cfg.Token, "[redacted]")
	}
	return s
}
