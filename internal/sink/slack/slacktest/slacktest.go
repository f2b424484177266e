// Package slacktest is a fake Slack for tests: an httptest server speaking
// the Web API methods chat.postMessage and chat.update as Slack does (HTTP
// 200 with {"ok": false, "error": …} for application errors, 429 with
// Retry-After when rate limited), and helpers that sign inbound
// interactivity requests the way Slack signs them.
//
// The server fails the test (t.Errorf) on requests that real Slack would
// refuse or mishandle: no "Authorization: Bearer xoxb-…", a body that is
// not JSON with a charset, no channel, a ts that is not a string, blocks
// over Block Kit's limits. A well-formed request with the wrong token gets
// invalid_auth without failing the test, so that clients can be tested
// against it.
package slacktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sextant-dev/sextant/internal/sink/slack"
)

// Server is a fake Slack Web API. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base of the fake Web API ("http://127.0.0.1:port/api"), to
	// use as the client's API URL.
	URL string

	t        testing.TB
	srv      *httptest.Server
	token    string
	channels map[string]bool
	first    string

	mu       sync.Mutex
	fails    []Failure
	requests []Request
	messages []*Message
	seq      int
}

// Failure is a canned answer that replaces the next normal one.
type Failure struct {
	// Status is the HTTP status, 200 when zero (Slack's usual status for
	// application errors).
	Status int
	// Error is the Slack error string ("channel_not_found"); "ratelimited"
	// when empty and Status is 429.
	Error string
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
	// Messages, when set, are sent as response_metadata.messages.
	Messages []string
}

// Request is a request the server received.
type Request struct {
	// Method is the Web API method, "chat.postMessage" or "chat.update".
	Method string
	Header http.Header
	Body   []byte
}

// Message is a message as the fake channel holds it now.
type Message struct {
	Channel  string
	TS       string
	Text     string
	Blocks   json.RawMessage
	Metadata json.RawMessage
	// Updates counts the chat.update calls that changed it.
	Updates int
}

// New starts a fake Slack that accepts token (a bot token, "xoxb-…") and
// knows the given channel IDs; posting anywhere else is channel_not_found.
// It stops when the test ends.
func New(t testing.TB, token string, channels ...string) *Server {
	t.Helper()
	s := &Server{t: t, token: token, channels: map[string]bool{}}
	for _, c := range channels {
		s.channels[c] = true
	}
	if len(channels) > 0 {
		s.first = channels[0]
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	s.URL = s.srv.URL + "/api"
	return s
}

// Config returns a client configuration for the fake: its token, its
// first channel and its URL.
func (s *Server) Config() slack.Config {
	return slack.Config{Token: s.token, Channel: s.first, APIURL: s.URL}
}

// FailNext queues f: the next request is answered with it instead of its
// normal answer (after the checks on the request). Failures queue in order.
func (s *Server) FailNext(f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fails = append(s.fails, f)
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Messages returns the messages posted so far, in order, as they are now.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		out[i] = *m
	}
	return out
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	method, ok := strings.CutPrefix(r.URL.Path, "/api/")
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.t.Errorf("slacktest: read request body: %v", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{Method: method, Header: r.Header.Clone(), Body: body})
	if !ok || (method != "chat.postMessage" && method != "chat.update") {
		s.t.Errorf("slacktest: %s %s: unknown Web API method", r.Method, r.URL.Path)
		writeJSON(w, http.StatusNotFound, map[string]any{"ok": false, "error": "unknown_method"})
		return
	}
	if r.Method != http.MethodPost {
		s.t.Errorf("slacktest: %s: method %s, want POST", method, r.Method)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"ok": false, "error": "method_not_allowed"})
		return
	}
	tok, isBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !isBearer || !strings.HasPrefix(tok, "xoxb-") {
		s.t.Errorf("slacktest: %s: Authorization header is not \"Bearer xoxb-…\"", method)
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "not_authed"})
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		s.t.Errorf("slacktest: %s: Content-Type %q, want \"application/json; charset=utf-8\"", method, ct)
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_form_data"})
		return
	}
	var req struct {
		Channel  *string         `json:"channel"`
		TS       json.RawMessage `json:"ts"`
		Text     string          `json:"text"`
		Blocks   json.RawMessage `json:"blocks"`
		Metadata json.RawMessage `json:"metadata"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		s.t.Errorf("slacktest: %s: body is not a JSON object: %v", method, err)
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_json"})
		return
	}
	if req.Channel == nil || *req.Channel == "" {
		s.t.Errorf("slacktest: %s: no channel in %s", method, body)
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "channel_not_found"})
		return
	}
	var ts string
	if method == "chat.update" {
		if err := json.Unmarshal(req.TS, &ts); err != nil || ts == "" {
			s.t.Errorf("slacktest: chat.update: ts must be a non-empty JSON string, got %s", req.TS)
			writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_arguments"})
			return
		}
	}
	if problems := checkBlocks(req.Blocks); len(problems) > 0 {
		s.t.Errorf("slacktest: %s: invalid blocks: %s", method, strings.Join(problems, "; "))
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_blocks", "response_metadata": map[string]any{"messages": problems}})
		return
	}
	if req.Text == "" && len(req.Blocks) == 0 {
		s.t.Errorf("slacktest: %s: neither text nor blocks", method)
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "no_text"})
		return
	}

	if len(s.fails) > 0 {
		f := s.fails[0]
		s.fails = s.fails[1:]
		writeFailure(w, f)
		return
	}
	if tok != s.token {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	channel := *req.Channel
	if !s.channels[channel] {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "channel_not_found"})
		return
	}
	switch method {
	case "chat.postMessage":
		s.seq++
		m := &Message{Channel: channel, TS: fmt.Sprintf("1724234400.%06d", 100*s.seq), Text: req.Text, Blocks: req.Blocks, Metadata: req.Metadata}
		s.messages = append(s.messages, m)
		writeJSON(w, http.StatusOK, map[string]any{
			"ok": true, "channel": channel, "ts": m.TS,
			"message": map[string]any{"type": "message", "bot_id": "B0SEXTANT", "text": m.Text, "ts": m.TS},
		})
	case "chat.update":
		for _, m := range s.messages {
			if m.Channel == channel && m.TS == ts {
				m.Text, m.Blocks, m.Updates = req.Text, req.Blocks, m.Updates+1
				if len(req.Metadata) > 0 {
					m.Metadata = req.Metadata
				}
				writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": channel, "ts": ts, "text": m.Text})
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "message_not_found"})
	}
}

func writeFailure(w http.ResponseWriter, f Failure) {
	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	name := f.Error
	if name == "" && status == http.StatusTooManyRequests {
		name = "ratelimited"
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	body := map[string]any{"ok": false, "error": name}
	if len(f.Messages) > 0 {
		body["response_metadata"] = map[string]any{"messages": f.Messages}
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// checkBlocks checks blocks against Block Kit's limits, as Slack does
// before answering invalid_blocks.
func checkBlocks(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	type text struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	var blocks []struct {
		Type     string            `json:"type"`
		Text     *text             `json:"text"`
		Fields   []text            `json:"fields"`
		Elements []json.RawMessage `json:"elements"`
	}
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return []string{"blocks is not an array of blocks: " + err.Error()}
	}
	var p []string
	bad := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	textOK := func(where string, t *text, kinds string, limit int) {
		switch {
		case t == nil:
			bad("%s: missing text", where)
		case !strings.Contains(kinds, t.Type) || t.Type == "":
			bad("%s: text type %q, want %s", where, t.Type, kinds)
		case t.Text == "":
			bad("%s: empty text", where)
		case utf8.RuneCountInString(t.Text) > limit:
			bad("%s: text is %d characters, limit %d", where, utf8.RuneCountInString(t.Text), limit)
		}
	}
	if len(blocks) > 50 {
		bad("%d blocks, limit 50", len(blocks))
	}
	for i, b := range blocks {
		where := fmt.Sprintf("blocks[%d] (%s)", i, b.Type)
		switch b.Type {
		case "header":
			textOK(where, b.Text, "plain_text", 150)
		case "section":
			if b.Text == nil && len(b.Fields) == 0 {
				bad("%s: neither text nor fields", where)
			}
			if b.Text != nil {
				textOK(where, b.Text, "plain_text|mrkdwn", 3000)
			}
			if len(b.Fields) > 10 {
				bad("%s: %d fields, limit 10", where, len(b.Fields))
			}
			for j := range b.Fields {
				textOK(fmt.Sprintf("%s.fields[%d]", where, j), &b.Fields[j], "plain_text|mrkdwn", 2000)
			}
		case "context":
			if len(b.Elements) == 0 || len(b.Elements) > 10 {
				bad("%s: %d elements, want 1 to 10", where, len(b.Elements))
			}
			for j, e := range b.Elements {
				var t text
				if err := json.Unmarshal(e, &t); err != nil {
					bad("%s.elements[%d]: %v", where, j, err)
					continue
				}
				textOK(fmt.Sprintf("%s.elements[%d]", where, j), &t, "plain_text|mrkdwn", 3000)
			}
		case "actions":
			if len(b.Elements) == 0 || len(b.Elements) > 25 {
				bad("%s: %d elements, want 1 to 25", where, len(b.Elements))
			}
			for j, e := range b.Elements {
				var btn struct {
					Type     string `json:"type"`
					ActionID string `json:"action_id"`
					Text     *text  `json:"text"`
					Style    string `json:"style"`
					Value    string `json:"value"`
					URL      string `json:"url"`
				}
				ew := fmt.Sprintf("%s.elements[%d]", where, j)
				if err := json.Unmarshal(e, &btn); err != nil {
					bad("%s: %v", ew, err)
					continue
				}
				if btn.Type != "button" {
					bad("%s: type %q, want button", ew, btn.Type)
					continue
				}
				textOK(ew, btn.Text, "plain_text", 75)
				switch {
				case btn.ActionID == "" || len(btn.ActionID) > 255:
					bad("%s: action_id must have 1 to 255 characters", ew)
				case btn.Style != "" && btn.Style != "primary" && btn.Style != "danger":
					bad("%s: style %q, want primary or danger", ew, btn.Style)
				case utf8.RuneCountInString(btn.Value) > 2000:
					bad("%s: value over 2000 characters", ew)
				case utf8.RuneCountInString(btn.URL) > 3000:
					bad("%s: url over 3000 characters", ew)
				}
			}
		default:
			bad("%s: block type not expected from sextant", where)
		}
	}
	return p
}

// Sign returns Slack's X-Slack-Signature for body sent at ts: "v0=" and
// the hex HMAC-SHA256, keyed with secret, of "v0:<unix ts>:<body>".
func Sign(secret []byte, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, secret)
	fmt.Fprintf(m, "v0:%d:", ts.Unix())
	m.Write(body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

// SignedInteraction returns the headers and body of the interactivity
// request Slack sends for payload (a block_actions JSON document, see
// BlockActions) at ts: a form with the single field payload=, signed with
// secret.
func SignedInteraction(secret, payload []byte, ts time.Time) (http.Header, []byte) {
	body := []byte("payload=" + url.QueryEscape(string(payload)))
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("X-Slack-Signature", Sign(secret, ts, body))
	return h, body
}

// Click describes a button click, for BlockActions.
type Click struct {
	UserID, UserName, TeamID string
	// ActionID and Value are the button's action_id and value.
	ActionID, Value string
	// Channel and MessageTS locate the message; ResponseURL is Slack's.
	Channel, MessageTS, ResponseURL string
}

// BlockActions returns the block_actions payload Slack sends for c, with
// every field a real one has.
func BlockActions(c Click) []byte {
	label := "Approve"
	if c.ActionID == "sextant_reject" {
		label = "Reject"
	}
	p := map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": c.UserID, "username": c.UserName, "name": c.UserName, "team_id": c.TeamID},
		"api_app_id":   "A0SEXTANT",
		"token":        "legacy-verification-token",
		"trigger_id":   "1234567890.987654321.abcdef",
		"team":         map[string]any{"id": c.TeamID, "domain": "acme"},
		"container":    map[string]any{"type": "message", "message_ts": c.MessageTS, "channel_id": c.Channel, "is_ephemeral": false},
		"channel":      map[string]any{"id": c.Channel, "name": "sec-alerts"},
		"message":      map[string]any{"type": "message", "ts": c.MessageTS, "text": "sextant action"},
		"state":        map[string]any{"values": map[string]any{}},
		"response_url": c.ResponseURL,
		"actions": []any{map[string]any{
			"type": "button", "action_id": c.ActionID, "block_id": "sextant_approval",
			"text":  map[string]any{"type": "plain_text", "text": label, "emoji": true},
			"value": c.Value, "action_ts": "1724234455.123456",
		}},
	}
	b, err := json.Marshal(p)
	if err != nil {
		panic(err) // only maps of strings and bools
	}
	return b
}
