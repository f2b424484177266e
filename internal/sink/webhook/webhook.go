// Package webhook sends sextant's ticket events to any HTTP endpoint as
// signed JSON, following Standard Webhooks (standardwebhooks.com): each
// delivery carries webhook-id, webhook-timestamp and webhook-signature
// ("v1," and the base64 HMAC-SHA256 of "<id>.<timestamp>.<body>", keyed
// with the decoded "whsec_…" secret).
//
// Client implements sextant.TicketSink as four events: ticket.created,
// ticket.commented, ticket.closed and ticket.reopened. The webhook-id is
// derived from what the event is about, never from the attempt, so a
// delivery retried (even by a new process after a crash) carries the same
// id and the receiver can drop duplicates. Find cannot ask an endpoint
// anything and always answers "not found"; the deterministic id of
// ticket.created is what keeps an action from being ticketed twice. The
// format is described in docs/sinks/webhook.md.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/sextant-dev/sextant/internal/sink/sinkhttp"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/sextant-dev/sextant"
)

// Event types.
const (
	EventCreated   = "ticket.created"
	EventCommented = "ticket.commented"
	EventClosed    = "ticket.closed"
	EventReopened  = "ticket.reopened"
)

// Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts a Standard Webhooks secret: "whsec_" and the base64
// of the HMAC key.
const SecretPrefix = "whsec_"

// DefaultTimeout bounds one delivery when Config.HTTPClient is nil.
const DefaultTimeout = 30 * time.Second

// maxResponse bounds the response body read.
const maxResponse = 64 << 10

// Event is the JSON body of a delivery.
type Event struct {
	// Type is one of the Event… constants.
	Type string `json:"type"`
	// Timestamp is when this attempt was sent, UTC.
	Timestamp time.Time `json:"timestamp"`
	Data      EventData `json:"data"`
}

// EventData is what an event is about.
type EventData struct {
	// Key is the action's correlation key. Events that name only a
	// ticket (closed, reopened) carry it when the ticket reference is the
	// key itself.
	Key string `json:"key,omitempty"`
	// Ticket is the ticket the event is about; absent from ticket.created.
	Ticket *sextant.TicketRef `json:"ticket,omitempty"`
	// Comment is the comment of commented, closed and reopened events.
	Comment string `json:"comment,omitempty"`
	// Content is the action as it is now, in created and commented events.
	Content *sextant.TicketContent `json:"content,omitempty"`
}

// Config configures a Client.
type Config struct {
	// URL is the endpoint events are POSTed to. It may hold a credential
	// (in its path or query), so errors name only its host.
	URL string
	// Secret is the signing secret, "whsec_" and the base64 of 24 to 64
	// random bytes.
	Secret string
	// HTTPClient sends the requests. When nil, a client with
	// DefaultTimeout that does not follow redirects is used.
	HTTPClient *http.Client
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Client delivers ticket events to one endpoint. It is safe for concurrent
// use.
type Client struct {
	url     string
	host    string
	secrets []string // what redact removes: the URL's credential-like parts
	key     []byte
	hc      *http.Client
	now     func() time.Time
}

var _ sextant.TicketSink = (*Client)(nil)

// New returns a Client for c, or an EINVALID error naming what is wrong
// with it (never the secret).
func New(c Config) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(c.URL))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, sextant.Errorf(sextant.EINVALID, "webhook: URL must be an absolute http(s) URL")
	}
	key, err := DecodeSecret(c.Secret)
	if err != nil {
		return nil, err
	}
	hc := c.HTTPClient
	if hc == nil {
		// A redirect would send the event, and its signature, somewhere
		// nobody configured.
		hc = &http.Client{Timeout: DefaultTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	return &Client{url: u.String(), host: u.Host, secrets: urlSecrets(u), key: key, hc: hc, now: now}, nil
}

// urlSecrets lists the parts of u that may be a credential, longest first:
// the URL, its query, its password, query values and long path segments.
func urlSecrets(u *url.URL) []string {
	s := []string{u.String(), u.RawQuery}
	if p, ok := u.User.Password(); ok {
		s = append(s, p)
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			if len(v) >= 8 {
				s = append(s, v, url.QueryEscape(v))
			}
		}
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if len(seg) >= 16 {
			s = append(s, seg)
		}
	}
	slices.SortFunc(s, func(a, b string) int { return len(b) - len(a) })
	return slices.DeleteFunc(s, func(x string) bool { return x == "" })
}

// redact removes the URL's credential-like parts from s.
func (c *Client) redact(s string) string {
	for _, secret := range c.secrets {
		s = strings.ReplaceAll(s, secret, "REDACTED")
	}
	return s
}

// DecodeSecret returns the HMAC key of a "whsec_…" secret, or an EINVALID
// error that does not repeat it.
func DecodeSecret(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(strings.TrimSpace(secret), SecretPrefix)
	if !ok {
		return nil, sextant.Errorf(sextant.EINVALID, "webhook: secret must start with %q", SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, sextant.Errorf(sextant.EINVALID, "webhook: secret after %q is not standard base64", SecretPrefix)
	}
	if len(key) < 24 || len(key) > 64 {
		return nil, sextant.Errorf(sextant.EINVALID, "webhook: secret must encode 24 to 64 bytes, got %d", len(key))
	}
	return key, nil
}

// WithDeliveryKey returns a context that makes Comment, Close and Reopen
// derive their webhook-id from key (say, the outbox row that asked for the
// delivery) instead of from the event's content: retries of one row then
// share an id, and two rows never do, even with identical comments.
// Create ignores it: an action has one ticket.created id per endpoint.
func WithDeliveryKey(ctx context.Context, key string) context.Context {
	return sextant.WithDeliveryKey(ctx, key)
}

// Find reports no ticket: an endpoint cannot be searched. A create retried
// after a crash carries the same webhook-id, so a receiver that dedupes on
// it opens no second ticket (and, if it answers creates with an id,
// answers the same id again).
func (c *Client) Find(ctx context.Context, actionID string) (sextant.TicketRef, bool, error) {
	return sextant.TicketRef{}, false, nil
}

// Create sends ticket.created with the action's content. When the receiver
// answers with a JSON object holding "id" (and optionally "url"), that is
// the ticket reference; otherwise the reference is the correlation key and
// the action's sextant link.
func (c *Client) Create(ctx context.Context, tc sextant.TicketContent) (sextant.TicketRef, error) {
	if strings.TrimSpace(tc.Action.ID) == "" {
		return sextant.TicketRef{}, sextant.Errorf(sextant.EINVALID, "webhook %s: content has no action ID", EventCreated)
	}
	id, data := createdEvent(tc)
	resp, err := c.deliver(ctx, EventCreated, id, data)
	if err != nil {
		return sextant.TicketRef{}, err
	}
	if ref, ok := receiverRef(resp); ok {
		return ref, nil
	}
	ref := sextant.TicketRef{ExternalID: data.Key}
	if isHTTPURL(tc.Link) {
		ref.URL = tc.Link
	}
	return ref, nil
}

// createdEvent is the webhook-id and data of ticket.created: one id per
// action, whatever its content.
func createdEvent(tc sextant.TicketContent) (string, EventData) {
	key := sextant.CorrelationKey(tc.Action.ID)
	return messageID(EventCreated, key), EventData{Key: key, Content: &tc}
}

// Comment sends ticket.commented with the comment and the content as it is
// now.
func (c *Client) Comment(ctx context.Context, ref sextant.TicketRef, tc sextant.TicketContent, comment string) error {
	if err := checkRef(EventCommented, ref); err != nil {
		return err
	}
	id, data := commentedEvent(ctx, ref, tc, comment)
	_, err := c.deliver(ctx, EventCommented, id, data)
	return err
}

// commentedEvent is the webhook-id and data of ticket.commented.
func commentedEvent(ctx context.Context, ref sextant.TicketRef, tc sextant.TicketContent, comment string) (string, EventData) {
	// A content that cannot be encoded fails again, and is reported, when
	// the event is encoded.
	content, _ := json.Marshal(tc)
	data := EventData{Ticket: &ref, Comment: comment, Content: &tc}
	if tc.Action.ID != "" {
		data.Key = sextant.CorrelationKey(tc.Action.ID)
	}
	return messageID(EventCommented, ref.ExternalID, discriminator(ctx, comment, string(content))), data
}

// Close sends ticket.closed with the comment.
func (c *Client) Close(ctx context.Context, ref sextant.TicketRef, comment string) error {
	return c.transition(ctx, EventClosed, ref, comment)
}

// Reopen sends ticket.reopened with the comment.
func (c *Client) Reopen(ctx context.Context, ref sextant.TicketRef, comment string) error {
	return c.transition(ctx, EventReopened, ref, comment)
}

func (c *Client) transition(ctx context.Context, event string, ref sextant.TicketRef, comment string) error {
	if err := checkRef(event, ref); err != nil {
		return err
	}
	id, data := transitionEvent(ctx, event, ref, comment)
	_, err := c.deliver(ctx, event, id, data)
	return err
}

// transitionEvent is the webhook-id and data of ticket.closed and
// ticket.reopened.
func transitionEvent(ctx context.Context, event string, ref sextant.TicketRef, comment string) (string, EventData) {
	data := EventData{Ticket: &ref, Comment: comment}
	if strings.HasPrefix(ref.ExternalID, "sextant-") {
		data.Key = ref.ExternalID
	}
	return messageID(event, ref.ExternalID, discriminator(ctx, comment)), data
}

func checkRef(event string, ref sextant.TicketRef) error {
	if strings.TrimSpace(ref.ExternalID) == "" {
		return sextant.Errorf(sextant.EINVALID, "webhook %s: empty ticket reference", event)
	}
	return nil
}

// discriminator tells apart events of one kind about one ticket: the
// delivery key when the caller gave one, else the event's content.
func discriminator(ctx context.Context, content ...string) string {
	if k := sextant.DeliveryKey(ctx); k != "" {
		return "delivery:" + k
	}
	h := sha256.New()
	for _, s := range content {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "content:" + hex.EncodeToString(h.Sum(nil))
}

// messageID is the webhook-id of an event: "msg_" and 32 hex digits of a
// hash of its parts, so the same event always gets the same id.
func messageID(event string, parts ...string) string {
	h := sha256.New()
	for _, s := range append([]string{"sextant.webhook/v1", event}, parts...) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "msg_" + hex.EncodeToString(h.Sum(nil)[:16])
}

// sign returns the webhook-signature value for one delivery.
func sign(key []byte, id string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%d.", id, ts)
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// encodeEvent is the JSON body of an event sent at now.
func encodeEvent(event string, now time.Time, data EventData) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(Event{Type: event, Timestamp: now.UTC().Truncate(time.Second), Data: data}); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// deliver sends one event and returns the response body of a 2xx answer.
func (c *Client) deliver(ctx context.Context, event, id string, data EventData) ([]byte, error) {
	op := fmt.Sprintf("webhook %s to %s", event, c.host)
	now := c.now()
	// Encode once and sign exactly the bytes sent.
	body, err := encodeEvent(event, now, data)
	if err != nil {
		return nil, sextant.Errorf(sextant.EINTERNAL, "%s: encode event: %v", op, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, sextant.Errorf(sextant.EINTERNAL, "%s: build request", op)
	}
	ts := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "sextant-webhook/1")
	req.Header.Set(HeaderID, id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, sign(c.key, id, ts, body))
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() == context.Canceled {
			return nil, fmt.Errorf("%s: %w", op, ctx.Err())
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the *url.Error repeats the URL, which may hold a credential
		}
		return nil, sextant.Errorf(sextant.EUNAVAILABLE, "%s: %s", op, c.redact(err.Error()))
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode/100 == 2 {
		return raw, nil
	}
	return nil, c.statusError(op, resp, raw, now)
}

// statusError maps a non-2xx answer (docs/sinks/webhook.md has the table).
func (c *Client) statusError(op string, resp *http.Response, raw []byte, now time.Time) error {
	s := resp.StatusCode
	msg := fmt.Sprintf("%s: HTTP %d", op, s)
	if snippet := snippet(raw, c.redact); snippet != "" {
		msg += ": " + snippet
	}
	wait := sinkhttp.RetryAfter(resp.Header, now)
	switch {
	case s == http.StatusTooManyRequests:
		return &sextant.Error{Code: sextant.ERATELIMITED, Message: msg, RetryAfter: wait}
	case s >= 500 || s == http.StatusRequestTimeout:
		return &sextant.Error{Code: sextant.EUNAVAILABLE, Message: msg, RetryAfter: wait}
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return sextant.Errorf(sextant.EUNAUTHORIZED, "%s", msg)
	case s == http.StatusNotFound || s == http.StatusGone:
		return sextant.Errorf(sextant.ENOTFOUND, "%s", msg)
	case s == http.StatusConflict:
		return sextant.Errorf(sextant.ECONFLICT, "%s", msg)
	case s >= 300 && s < 400:
		return sextant.Errorf(sextant.EINVALID, "%s (redirects are not followed: configure the final URL)", msg)
	}
	return sextant.Errorf(sextant.EINVALID, "%s", msg)
}

// snippet is the start of a response body, on one printable line and
// redacted, for an error message.
func snippet(raw []byte, redact func(string) string) string {
	s := strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(string(raw), ""))
	s = redact(strings.Join(strings.Fields(s), " "))
	if r := []rune(s); len(r) > 200 {
		s = string(r[:199]) + "…"
	}
	return s
}

// receiverRef reads {"id": …, "url": …} from a create's answer. An id
// that is empty, over 255 bytes or not printable is ignored, as is a url
// that is not http(s).
func receiverRef(raw []byte) (sextant.TicketRef, bool) {
	var r struct {
		ID  json.RawMessage `json:"id"`
		URL string          `json:"url"`
	}
	if len(bytes.TrimSpace(raw)) == 0 || json.Unmarshal(raw, &r) != nil {
		return sextant.TicketRef{}, false
	}
	var id string
	if json.Unmarshal(r.ID, &id) != nil {
		// Many receivers number their tickets.
		var n json.Number
		if json.Unmarshal(r.ID, &n) != nil {
			return sextant.TicketRef{}, false
		}
		id = n.String()
	}
	if id == "" || len(id) > 255 || strings.IndexFunc(id, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return sextant.TicketRef{}, false
	}
	ref := sextant.TicketRef{ExternalID: id}
	if isHTTPURL(r.URL) {
		ref.URL = r.URL
	}
	return ref, true
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
