package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
)

// Headers of a signed request from Slack.
const (
	SignatureHeader = "X-Slack-Signature"
	TimestampHeader = "X-Slack-Request-Timestamp"
)

// MaxClockSkew is how far X-Slack-Request-Timestamp may be from now, in
// either direction, before a request is refused as a possible replay.
const MaxClockSkew = 5 * time.Minute

// VerifyRequest checks that body, as received and before any parsing, was
// signed by Slack with signingSecret (the app's "Signing Secret"): the
// X-Slack-Signature header must be "v0=" and the hex HMAC-SHA256 of
// "v0:" + X-Slack-Request-Timestamp + ":" + body, and the timestamp within
// MaxClockSkew of now. Its errors are EUNAUTHORIZED (EINTERNAL for an empty
// secret) and never repeat the signature.
func VerifyRequest(signingSecret []byte, header http.Header, body []byte, now time.Time) error {
	if len(signingSecret) == 0 {
		return sextant.Errorf(sextant.EINTERNAL, "verify slack request: no signing secret configured")
	}
	sigHeader := header.Get(SignatureHeader)
	if sigHeader == "" {
		return unauthorized("missing %s header", SignatureHeader)
	}
	ts := header.Get(TimestampHeader)
	if ts == "" {
		return unauthorized("missing %s header", TimestampHeader)
	}
	sec, ok := parseUnixSeconds(ts)
	if !ok {
		return unauthorized("malformed %s header: want Unix time in seconds", TimestampHeader)
	}
	// Compare instants rather than a difference, which a far-off
	// timestamp would overflow.
	t := time.Unix(sec, 0)
	if t.Before(now.Add(-MaxClockSkew)) || t.After(now.Add(MaxClockSkew)) {
		return unauthorized("%s is outside the %s window around now", TimestampHeader, MaxClockSkew)
	}
	hexSig, ok := strings.CutPrefix(sigHeader, "v0=")
	if !ok {
		return unauthorized("malformed %s header: want v0=<hex>", SignatureHeader)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return unauthorized("malformed %s header: want v0= and %d hexadecimal digits", SignatureHeader, 2*sha256.Size)
	}
	if !hmac.Equal(got, signature(signingSecret, ts, body)) {
		return unauthorized("%s does not match the request body", SignatureHeader)
	}
	return nil
}

// signature is the HMAC-SHA256 of Slack's v0 base string.
func signature(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("v0:"))
	m.Write([]byte(ts))
	m.Write([]byte{':'})
	m.Write(body)
	return m.Sum(nil)
}

func unauthorized(format string, args ...any) error {
	return sextant.Errorf(sextant.EUNAUTHORIZED, "verify slack request: "+format, args...)
}

// parseUnixSeconds accepts only ASCII digits: the signature covers the
// header text, so no sign, space or exponent may vary it.
func parseUnixSeconds(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// Interaction is a click on a button of a sextant message, as Slack reports
// it in a block_actions payload.
type Interaction struct {
	// UserID and TeamID identify who clicked; authorise on them.
	UserID   string
	UserName string
	TeamID   string
	// ActionID is the button's action_id (ActionApprove, ActionReject);
	// Value its value, the approval ID.
	ActionID string
	Value    string
	// ResponseURL accepts a replacement of the message for 30 minutes.
	ResponseURL string
	// Channel and MessageTS locate the message clicked, for chat.update.
	Channel   string
	MessageTS string
}

// payload is the part of a block_actions payload that ParseInteraction
// reads.
type payload struct {
	Type string `json:"type"`
	User struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		Name     string `json:"name"`
		TeamID   string `json:"team_id"`
	} `json:"user"`
	Team struct {
		ID string `json:"id"`
	} `json:"team"`
	Container struct {
		MessageTS string `json:"message_ts"`
		ChannelID string `json:"channel_id"`
	} `json:"container"`
	Channel struct {
		ID string `json:"id"`
	} `json:"channel"`
	Message struct {
		TS string `json:"ts"`
	} `json:"message"`
	ResponseURL string `json:"response_url"`
	Actions     []struct {
		ActionID string `json:"action_id"`
		Value    string `json:"value"`
	} `json:"actions"`
}

// ParseInteraction decodes the body of an interactivity request, the form
// field payload= holding a block_actions JSON document, into the click it
// reports (the first action). Call it only after VerifyRequest accepted the
// same bytes. Errors are EINVALID: another form, another payload type, no
// user, no action, or a response_url that is not https.
func ParseInteraction(body []byte) (Interaction, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return Interaction{}, invalid("body is not a URL-encoded form")
	}
	vals := form["payload"]
	if len(vals) != 1 {
		return Interaction{}, invalid("want one payload field, got %d", len(vals))
	}
	var p payload
	if err := json.Unmarshal([]byte(vals[0]), &p); err != nil {
		return Interaction{}, invalid("payload is not a JSON object: %v", err)
	}
	if p.Type != "block_actions" {
		return Interaction{}, invalid("payload type is %q, want block_actions", clip(p.Type))
	}
	if p.User.ID == "" {
		return Interaction{}, invalid("payload has no user.id")
	}
	if len(p.Actions) == 0 || p.Actions[0].ActionID == "" {
		return Interaction{}, invalid("payload has no action")
	}
	in := Interaction{
		UserID:      p.User.ID,
		UserName:    first(p.User.Username, p.User.Name),
		TeamID:      first(p.Team.ID, p.User.TeamID),
		ActionID:    p.Actions[0].ActionID,
		Value:       p.Actions[0].Value,
		ResponseURL: p.ResponseURL,
		Channel:     first(p.Container.ChannelID, p.Channel.ID),
		MessageTS:   first(p.Container.MessageTS, p.Message.TS),
	}
	if in.ResponseURL != "" {
		u, err := url.Parse(in.ResponseURL)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return Interaction{}, invalid("payload response_url is not an https URL")
		}
	}
	return in, nil
}

func invalid(format string, args ...any) error {
	return sextant.Errorf(sextant.EINVALID, "parse slack interaction: "+format, args...)
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// clip shortens a value echoed in an error.
func clip(s string) string {
	s = oneLine(s)
	if len(s) > 40 {
		return strings.ToValidUTF8(s[:40], "") + "…"
	}
	return s
}
