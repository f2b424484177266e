// Package teamstest is a fake Microsoft Teams Workflows webhook for tests:
// an httptest server at a URL shaped like a real one (…/workflows/<id>/
// triggers/manual/paths/invoke?api-version=…&sig=…) that answers 202 to a
// valid card and Logic Apps error envelopes otherwise.
//
// It fails the test (t.Errorf) on requests the Workflows template would
// refuse or mishandle: not a POST of application/json, a body whose type
// is not "message", no attachments, an attachment that is not an Adaptive
// Card, an action other than Action.OpenUrl (Action.Submit cannot reach
// sextant), a body over MaxBytes. A request with the wrong sig gets 401
// without failing the test, so that clients can be tested against it.
package teamstest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/sextant-dev/sextant/internal/sink/teams"
)

// MaxBytes is the largest body the fake accepts, as a real Workflows
// webhook (about 28 KB).
const MaxBytes = 28 << 10

// Sig is the credential in the fake's URL.
const Sig = "Zm9yZ2UtbWUtbm90LXRlYW1zLXNpZy1zZXh0YW50LXRlc3Q"

const path = "/workflows/6f1c0a7e2b5d4c3e9a8b7c6d5e4f3a2b/triggers/manual/paths/invoke"

// Server is a fake Workflows webhook. Its methods are safe for concurrent
// use.
type Server struct {
	// URL is the webhook URL, sig included.
	URL string

	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	fails    []Failure
	requests []Request
	cards    []json.RawMessage
}

// Failure is a canned answer that replaces the next normal one.
type Failure struct {
	// Status is the HTTP status.
	Status int
	// Code and Message fill the Logic Apps error envelope; the body is
	// empty when Code is.
	Code, Message string
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
}

// Request is a request the server received.
type Request struct {
	Header http.Header
	Query  url.Values
	Body   []byte
}

// New starts a fake Workflows webhook that stops when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	s.URL = s.srv.URL + path + "?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=" + Sig
	return s
}

// Config returns a client configuration for the fake, with approvalURL
// as the base of approval links.
func (s *Server) Config(approvalURL string) teams.Config {
	return teams.Config{URL: s.URL, ApprovalURL: approvalURL}
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

// Cards returns the content (the Adaptive Card) of each attachment
// accepted so far, in order.
func (s *Server) Cards() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]json.RawMessage(nil), s.cards...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.t.Errorf("teamstest: read request body: %v", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{Header: r.Header.Clone(), Query: r.URL.Query(), Body: body})
	fail := func(status int, code, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		s.t.Errorf("teamstest: %s", msg)
		writeError(w, Failure{Status: status, Code: code, Message: msg})
	}
	if r.URL.Path != path {
		writeError(w, Failure{Status: http.StatusNotFound, Code: "WorkflowNotFound", Message: "The workflow could not be found."})
		return
	}
	if r.Method != http.MethodPost {
		fail(http.StatusMethodNotAllowed, "MethodNotAllowed", "method %s, want POST", r.Method)
		return
	}
	if r.URL.Query().Get("sig") != Sig {
		writeError(w, Failure{Status: http.StatusUnauthorized, Code: "DirectApiInvalidAuthorizationSignature", Message: "The provided authorization signature is invalid."})
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		fail(http.StatusBadRequest, "TriggerInputSchemaMismatch", "Content-Type %q, want application/json", ct)
		return
	}
	if len(body) > MaxBytes {
		fail(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "body is %d bytes, limit %d", len(body), MaxBytes)
		return
	}
	var msg struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string          `json:"contentType"`
			Content     json.RawMessage `json:"content"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		fail(http.StatusBadRequest, "InvalidRequestContent", "body is not a JSON object: %v", err)
		return
	}
	if msg.Type != "message" {
		fail(http.StatusBadRequest, "TriggerInputSchemaMismatch", "type is %q, want \"message\"", msg.Type)
		return
	}
	if len(msg.Attachments) == 0 {
		fail(http.StatusBadRequest, "TriggerInputSchemaMismatch", "no attachments (the template's loop fails with \"attachments is of type Null\")")
		return
	}
	for i, a := range msg.Attachments {
		if a.ContentType != "application/vnd.microsoft.card.adaptive" {
			fail(http.StatusBadRequest, "TriggerInputSchemaMismatch", "attachments[%d].contentType is %q, want application/vnd.microsoft.card.adaptive", i, a.ContentType)
			return
		}
		if p := checkCard(a.Content); len(p) > 0 {
			fail(http.StatusBadRequest, "TriggerInputSchemaMismatch", "attachments[%d].content: %s", i, strings.Join(p, "; "))
			return
		}
	}

	if len(s.fails) > 0 {
		f := s.fails[0]
		s.fails = s.fails[1:]
		writeError(w, f)
		return
	}
	for _, a := range msg.Attachments {
		s.cards = append(s.cards, a.Content)
	}
	w.WriteHeader(http.StatusAccepted)
}

// checkCard checks what the fake can of an Adaptive Card: its type and
// version, and that every action is one a Workflows card can use.
func checkCard(raw json.RawMessage) []string {
	var card struct {
		Type    string            `json:"type"`
		Version string            `json:"version"`
		Body    []json.RawMessage `json:"body"`
		Actions []struct {
			Type string `json:"type"`
			URL  string `json:"url"`
		} `json:"actions"`
	}
	if err := json.Unmarshal(raw, &card); err != nil {
		return []string{"not an Adaptive Card: " + err.Error()}
	}
	var p []string
	if card.Type != "AdaptiveCard" {
		p = append(p, fmt.Sprintf("type %q, want AdaptiveCard", card.Type))
	}
	if card.Version == "" {
		p = append(p, "no version")
	}
	if len(card.Body) == 0 {
		p = append(p, "empty body")
	}
	for i, a := range card.Actions {
		switch a.Type {
		case "Action.OpenUrl":
			u, err := url.Parse(a.URL)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				p = append(p, fmt.Sprintf("actions[%d]: url %q is not an absolute http(s) URL", i, a.URL))
			}
		case "Action.ShowCard", "Action.ToggleVisibility":
		default:
			p = append(p, fmt.Sprintf("actions[%d]: %s cannot work in a card posted by a Workflows webhook", i, a.Type))
		}
	}
	return p
}

func writeError(w http.ResponseWriter, f Failure) {
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.Code == "" {
		w.WriteHeader(f.Status)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(f.Status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": f.Code, "message": f.Message}})
}
