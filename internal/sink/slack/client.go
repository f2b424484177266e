package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/sextant-dev/sextant/internal/sink/sinkhttp"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
)

// DefaultAPIURL is the base of Slack's Web API.
const DefaultAPIURL = "https://slack.com/api"

// DefaultTimeout bounds one call when Config.HTTPClient is nil.
const DefaultTimeout = 30 * time.Second

// maxResponse bounds the response body read from Slack.
const maxResponse = 1 << 20

// Config configures a Client.
type Config struct {
	// Token is the bot token, "xoxb-…", with the chat:write scope. It is a
	// secret: it goes in the Authorization header and nowhere else.
	Token string
	// Channel is the ID of the channel to post to ("C0123SEC"). The bot
	// must be a member of it.
	Channel string
	// APIURL is the base of the Web API, DefaultAPIURL when empty; tests
	// point it at a slacktest.Server.
	APIURL string
	// HTTPClient sends the requests. When nil, a client with
	// DefaultTimeout that does not follow redirects is used.
	HTTPClient *http.Client
	// Now is the clock, for Retry-After dates; time.Now when nil.
	Now func() time.Time
}

// Client posts and updates messages about actions in one Slack channel.
// It is safe for concurrent use.
type Client struct {
	token   string
	channel string
	api     string
	hc      *http.Client
	now     func() time.Time
}

var _ sextant.ChatSink = (*Client)(nil)

// New returns a Client for c, or an EINVALID error naming what is wrong
// with it (never the token itself).
func New(c Config) (*Client, error) {
	if !strings.HasPrefix(c.Token, "xoxb-") || len(c.Token) < len("xoxb-")+4 || strings.ContainsAny(c.Token, " \t\r\n") {
		return nil, sextant.Errorf(sextant.EINVALID, "slack: token must be a bot token (xoxb-…)")
	}
	channel := strings.TrimSpace(c.Channel)
	if channel == "" || strings.ContainsAny(channel, " \t\r\n:") {
		return nil, sextant.Errorf(sextant.EINVALID, "slack: channel must be a channel ID such as C0123SEC, got %q", c.Channel)
	}
	api := c.APIURL
	if api == "" {
		api = DefaultAPIURL
	}
	u, err := url.Parse(api)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.User != nil {
		return nil, sextant.Errorf(sextant.EINVALID, "slack: API URL must be an http(s) URL with no query or credentials")
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout, CheckRedirect: noRedirect}
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	return &Client{token: c.Token, channel: channel, api: strings.TrimSuffix(api, "/"), hc: hc, now: now}, nil
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Post posts m to the channel with chat.postMessage. The returned
// reference's ExternalID is "<channel ID>:<ts>", which Update takes back.
// Slack has no idempotency key: a Post retried after a timeout may post
// twice, so callers record the reference as soon as it returns.
func (c *Client) Post(ctx context.Context, m sextant.ChatMessage) (sextant.TicketRef, error) {
	const op = "slack chat.postMessage"
	if err := checkMessage(op, m); err != nil {
		return sextant.TicketRef{}, err
	}
	var r response
	if err := c.call(ctx, "chat.postMessage", NewMessage(c.channel, m), &r); err != nil {
		return sextant.TicketRef{}, err
	}
	channel := r.Channel
	if channel == "" {
		channel = c.channel
	}
	if r.TS == "" {
		return sextant.TicketRef{}, sextant.Errorf(sextant.EINTERNAL, "%s: response has no ts", op)
	}
	return sextant.TicketRef{ExternalID: channel + ":" + r.TS}, nil
}

// Update replaces the message ref points to with m, using chat.update: after
// a decision, m.Decided replaces the buttons. A message that no longer
// exists is ENOTFOUND.
func (c *Client) Update(ctx context.Context, ref sextant.TicketRef, m sextant.ChatMessage) (sextant.TicketRef, error) {
	const op = "slack chat.update"
	channel, ts, ok := strings.Cut(ref.ExternalID, ":")
	if !ok || channel == "" || ts == "" {
		return sextant.TicketRef{}, sextant.Errorf(sextant.EINVALID, "%s: reference %q is not <channel>:<ts>", op, ref.ExternalID)
	}
	if err := checkMessage(op, m); err != nil {
		return sextant.TicketRef{}, err
	}
	msg := NewMessage(channel, m)
	msg.TS = ts
	var r response
	if err := c.call(ctx, "chat.update", msg, &r); err != nil {
		return sextant.TicketRef{}, err
	}
	if r.Channel != "" {
		channel = r.Channel
	}
	if r.TS != "" {
		ts = r.TS
	}
	return sextant.TicketRef{ExternalID: channel + ":" + ts, URL: ref.URL}, nil
}

func checkMessage(op string, m sextant.ChatMessage) error {
	switch {
	case strings.TrimSpace(m.Content.Action.ID) == "":
		return sextant.Errorf(sextant.EINVALID, "%s: message has no action ID", op)
	case len(m.ApprovalID) > maxButtonValue:
		return sextant.Errorf(sextant.EINVALID, "%s: approval ID is longer than %d bytes", op, maxButtonValue)
	}
	return nil
}

// response is the part of every Web API answer that Client reads.
type response struct {
	OK               bool   `json:"ok"`
	Error            string `json:"error"`
	Channel          string `json:"channel"`
	TS               string `json:"ts"`
	ResponseMetadata struct {
		Messages []string `json:"messages"`
	} `json:"response_metadata"`
}

// call sends one Web API method and decodes its answer into out, mapping
// failures to sextant error codes.
func (c *Client) call(ctx context.Context, method string, in any, out *response) error {
	op := "slack " + method
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(in); err != nil {
		return sextant.Errorf(sextant.EINTERNAL, "%s: encode request: %v", op, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.api+"/"+method, &buf)
	if err != nil {
		return sextant.Errorf(sextant.EINTERNAL, "%s: %v", op, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return transportError(ctx, op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return sextant.Errorf(sextant.EUNAVAILABLE, "%s: read response: %v", op, transportCause(err))
	}
	// Slack answers application errors with 200 and ok:false; a non-JSON
	// 200 comes from something in between (a proxy, a captive portal).
	jsonErr := json.Unmarshal(raw, out)
	if resp.StatusCode/100 != 2 {
		return statusError(op, resp, out, c.now())
	}
	if jsonErr != nil {
		return sextant.Errorf(sextant.EUNAVAILABLE, "%s: unexpected response: HTTP %d, not JSON", op, resp.StatusCode)
	}
	if !out.OK {
		return apiError(op, out, resp.Header, c.now())
	}
	return nil
}

// statusError maps a non-2xx answer. 429 is a rate limit whatever the body
// says; other statuses defer to Slack's error code when the body has one.
func statusError(op string, resp *http.Response, r *response, now time.Time) error {
	wait := sinkhttp.RetryAfter(resp.Header, now)
	switch s := resp.StatusCode; {
	case s == http.StatusTooManyRequests:
		return &sextant.Error{Code: sextant.ERATELIMITED, Message: fmt.Sprintf("%s: rate limited (HTTP 429)", op), RetryAfter: wait}
	case s >= 500:
		return &sextant.Error{Code: sextant.EUNAVAILABLE, Message: fmt.Sprintf("%s: Slack is unavailable (HTTP %d)", op, s), RetryAfter: wait}
	case r.Error != "":
		return apiError(op, r, resp.Header, now)
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return sextant.Errorf(sextant.EUNAUTHORIZED, "%s: HTTP %d", op, s)
	case s == http.StatusNotFound:
		return sextant.Errorf(sextant.ENOTFOUND, "%s: HTTP 404: check the API URL", op)
	case s >= 300 && s < 400:
		return sextant.Errorf(sextant.EINVALID, "%s: redirected (HTTP %d): check the API URL", op, s)
	}
	return sextant.Errorf(sextant.EINVALID, "%s: HTTP %d", op, resp.StatusCode)
}

// errorCodes maps Slack's error strings (docs.slack.dev, chat.postMessage
// and chat.update "Errors") to sextant codes. Any other error is EINVALID:
// Slack refused the request, and sending it again will not help.
var errorCodes = map[string]string{
	"not_authed":              sextant.EUNAUTHORIZED,
	"invalid_auth":            sextant.EUNAUTHORIZED,
	"account_inactive":        sextant.EUNAUTHORIZED,
	"token_revoked":           sextant.EUNAUTHORIZED,
	"token_expired":           sextant.EUNAUTHORIZED,
	"no_permission":           sextant.EUNAUTHORIZED,
	"missing_scope":           sextant.EUNAUTHORIZED,
	"not_allowed_token_type":  sextant.EUNAUTHORIZED,
	"ekm_access_denied":       sextant.EUNAUTHORIZED,
	"team_access_not_granted": sextant.EUNAUTHORIZED,
	"org_login_required":      sextant.EUNAUTHORIZED,
	"not_in_channel":          sextant.EUNAUTHORIZED,
	"restricted_action":       sextant.EUNAUTHORIZED,
	"cant_update_message":     sextant.EUNAUTHORIZED,
	"channel_not_found":       sextant.ENOTFOUND,
	"message_not_found":       sextant.ENOTFOUND,
	"ratelimited":             sextant.ERATELIMITED,
	"rate_limited":            sextant.ERATELIMITED,
	"internal_error":          sextant.EUNAVAILABLE,
	"fatal_error":             sextant.EUNAVAILABLE,
	"service_unavailable":     sextant.EUNAVAILABLE,
	"request_timeout":         sextant.EUNAVAILABLE,
}

// apiError maps {"ok": false, "error": …}. The details Slack gives for
// invalid_blocks (response_metadata.messages) are kept in the message.
func apiError(op string, r *response, h http.Header, now time.Time) error {
	name := r.Error
	if name == "" {
		name = "unknown error"
	}
	code, ok := errorCodes[r.Error]
	if !ok {
		code = sextant.EINVALID
	}
	msg := fmt.Sprintf("%s: %s", op, oneLine(name))
	if len(r.ResponseMetadata.Messages) > 0 {
		detail := oneLine(strings.Join(r.ResponseMetadata.Messages, "; "))
		if len(detail) > 500 {
			detail = strings.ToValidUTF8(detail[:500], "") + "…"
		}
		msg += " (" + detail + ")"
	}
	e := &sextant.Error{Code: code, Message: msg}
	if code == sextant.ERATELIMITED || code == sextant.EUNAVAILABLE {
		e.RetryAfter = sinkhttp.RetryAfter(h, now)
	}
	return e
}

// transportError maps a failure to get an answer at all. A cancelled
// context is returned as such (the caller gave up); anything else,
// including a timeout, is EUNAVAILABLE.
func transportError(ctx context.Context, op string, err error) error {
	if ctx.Err() == context.Canceled {
		return fmt.Errorf("%s: %w", op, ctx.Err())
	}
	return sextant.Errorf(sextant.EUNAVAILABLE, "%s: %v", op, transportCause(err))
}

// transportCause drops the *url.Error wrapper, which repeats the URL.
func transportCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
