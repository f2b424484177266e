package teams

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/sextant-dev/sextant/internal/sink/sinkhttp"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
)

// DefaultTimeout bounds one post when Config.HTTPClient is nil.
const DefaultTimeout = 30 * time.Second

// MaxPayloadBytes is the largest body Client sends; Workflows webhooks
// refuse bodies above about 28 KB with HTTP 413.
const MaxPayloadBytes = 28 << 10

// maxResponse bounds the response body read.
const maxResponse = 64 << 10

// Config configures a Client.
type Config struct {
	// URL is the Workflows webhook URL, https://….logic.azure.com/… or
	// https://….environment.api.powerplatform.com/…, as Teams shows it. Its
	// sig= parameter is the credential: treat the whole URL as a secret.
	URL string
	// ApprovalURL is the base of sextant's approval page, e.g.
	// "https://sextant.example/approvals". Approve and Reject open
	// ApprovalURL/<approval ID>?decision=approve|reject. When empty, a
	// message asking for an approval is refused (EINVALID).
	ApprovalURL string
	// HTTPClient sends the requests. When nil, a client with
	// DefaultTimeout that does not follow redirects is used.
	HTTPClient *http.Client
	// Now is the clock, for Retry-After dates; time.Now when nil.
	Now func() time.Time
}

// Client posts cards about actions to one Teams channel through a
// Workflows webhook. It is safe for concurrent use.
type Client struct {
	url         string
	host        string
	secrets     []string // what redact removes: the URL and its sig
	approvalURL string
	hc          *http.Client
	now         func() time.Time
}

var _ sextant.ChatSink = (*Client)(nil)

// New returns a Client for c, or an EINVALID error naming what is wrong
// with it (never the URL's credential). The URL must be https, except on a
// loopback host (for tests); the retired Office 365 connector hosts are
// refused.
func New(c Config) (*Client, error) {
	raw := strings.TrimSpace(c.URL)
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return nil, sextant.Errorf(sextant.EINVALID, "teams: webhook URL is not an absolute URL")
	}
	host := u.Hostname()
	switch {
	case u.Scheme == "http" && !isLoopback(host):
		return nil, sextant.Errorf(sextant.EINVALID, "teams: webhook URL for %s must be https", host)
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, sextant.Errorf(sextant.EINVALID, "teams: webhook URL for %s must be https", host)
	case strings.HasSuffix(host, ".webhook.office.com") || host == "outlook.office.com":
		return nil, sextant.Errorf(sextant.EINVALID, "teams: %s is a retired Office 365 connector URL; create a Workflows webhook (\"Post to a channel when a webhook request is received\") instead", host)
	}
	if c.ApprovalURL != "" && httpURL(c.ApprovalURL) == "" {
		return nil, sextant.Errorf(sextant.EINVALID, "teams: approval URL %q is not an absolute http(s) URL", c.ApprovalURL)
	}
	secrets := []string{raw, u.RawQuery}
	if sig := u.Query().Get("sig"); sig != "" {
		secrets = append(secrets, sig, url.QueryEscape(sig))
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	return &Client{url: raw, host: host, secrets: secrets, approvalURL: c.ApprovalURL, hc: hc, now: now}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Post posts the card for m. Teams returns no message ID, so the reference
// is the action's correlation key, with the action's sextant link as URL:
// dedupe is sextant's job (a retried Post posts the card twice).
func (c *Client) Post(ctx context.Context, m sextant.ChatMessage) (sextant.TicketRef, error) {
	if err := c.post(ctx, "teams post", m); err != nil {
		return sextant.TicketRef{}, err
	}
	return sextant.TicketRef{ExternalID: sextant.CorrelationKey(m.Content.Action.ID), URL: httpURL(m.Content.Link)}, nil
}

// Update cannot edit the posted card (a Workflows webhook only posts), so
// it posts a new card for m, typically showing m.Decided, and returns ref.
func (c *Client) Update(ctx context.Context, ref sextant.TicketRef, m sextant.ChatMessage) (sextant.TicketRef, error) {
	if err := c.post(ctx, "teams update", m); err != nil {
		return sextant.TicketRef{}, err
	}
	if ref.ExternalID == "" {
		ref.ExternalID = sextant.CorrelationKey(m.Content.Action.ID)
	}
	return ref, nil
}

func (c *Client) post(ctx context.Context, op string, m sextant.ChatMessage) error {
	op += " to " + c.host
	if strings.TrimSpace(m.Content.Action.ID) == "" {
		return sextant.Errorf(sextant.EINVALID, "%s: message has no action ID", op)
	}
	if m.ApprovalID != "" && strings.TrimSpace(m.Decided) == "" && c.approvalURL == "" {
		return sextant.Errorf(sextant.EINVALID, "%s: approval requested but no approval URL is configured", op)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(NewPayload(m, c.approvalURL)); err != nil {
		return sextant.Errorf(sextant.EINTERNAL, "%s: encode card: %v", op, err)
	}
	if buf.Len() > MaxPayloadBytes {
		return sextant.Errorf(sextant.EINVALID, "%s: card is %d bytes, over the %d a Workflows webhook accepts", op, buf.Len(), MaxPayloadBytes)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, &buf)
	if err != nil {
		return sextant.Errorf(sextant.EINTERNAL, "%s: %s", op, c.redact(err.Error()))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() == context.Canceled {
			return fmt.Errorf("%s: %w", op, ctx.Err())
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the *url.Error repeats the URL, credential included
		}
		return sextant.Errorf(sextant.EUNAVAILABLE, "%s: %s", op, c.redact(err.Error()))
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return c.statusError(op, resp, raw)
}

// statusError maps a non-2xx answer, reading the Logic Apps error
// envelope {"error": {"code": …, "message": …}} when there is one.
func (c *Client) statusError(op string, resp *http.Response, raw []byte) error {
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(raw, &env) // many gateways answer without it
	// Redact before cutting, so that no prefix of the credential survives
	// a cut.
	detail := ""
	if env.Error.Code != "" {
		detail = ": " + clip(c.redact(oneLine(env.Error.Code)), 100)
		if env.Error.Message != "" {
			detail += ": " + clip(c.redact(oneLine(env.Error.Message)), 300)
		}
	}
	s := resp.StatusCode
	msg := fmt.Sprintf("%s: HTTP %d%s", op, s, detail)
	wait := sinkhttp.RetryAfter(resp.Header, c.now())
	switch {
	case s == http.StatusTooManyRequests:
		return &sextant.Error{Code: sextant.ERATELIMITED, Message: msg, RetryAfter: wait}
	case s >= 500:
		return &sextant.Error{Code: sextant.EUNAVAILABLE, Message: msg, RetryAfter: wait}
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return sextant.Errorf(sextant.EUNAUTHORIZED, "%s", msg)
	case s == http.StatusNotFound || s == http.StatusGone:
		return sextant.Errorf(sextant.ENOTFOUND, "%s (the flow may be deleted or turned off)", msg)
	case s == http.StatusRequestEntityTooLarge:
		return sextant.Errorf(sextant.EINVALID, "%s (card too large)", msg)
	case s >= 300 && s < 400:
		return sextant.Errorf(sextant.EINVALID, "%s (redirected: check the webhook URL)", msg)
	}
	return sextant.Errorf(sextant.EINVALID, "%s", msg)
}

// redact removes the webhook URL and its credential from s.
func (c *Client) redact(s string) string {
	for _, secret := range c.secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "REDACTED")
		}
	}
	return s
}
