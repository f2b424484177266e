// Package llmtest provides httptest servers that speak the wire formats of
// OpenAI chat completions (and its Azure OpenAI variant) and Anthropic
// messages, for testing the providers in internal/llm end to end.
//
// A Server checks what a real service would: the method and path, the
// authentication headers (Authorization: Bearer; api-key and api-version
// for Azure; x-api-key and anthropic-version for Anthropic) and the shape
// of the JSON body (model, messages, response_format or tools). A request
// that a real service would not accept fails the test and gets the error a
// real service would send. Replies are scripted (a good answer, 429 with
// Retry-After, 500, malformed content, a refusal, …) and every request is
// recorded, so that tests can check what was sent.
package llmtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sextant-dev/sextant/internal/explain"
)

// Flavor is a wire format.
type Flavor int

// The wire formats a Server speaks.
const (
	// OpenAI: POST {URL}/v1/chat/completions, Authorization: Bearer.
	OpenAI Flavor = iota
	// Azure: POST {URL}/openai/deployments/{Deployment}/chat/completions
	// ?api-version={APIVersion}, api-key header, Azure's error envelope.
	Azure
	// Anthropic: POST {URL}/v1/messages, x-api-key, anthropic-version
	// (2023-06-01, or 2026-10-21 as anthropic-sdk-go v2 sends it; with
	// the latter, sampling parameters are refused).
	Anthropic
)

func (f Flavor) String() string {
	return [...]string{"openai", "azure", "anthropic"}[f]
}

// The keys the servers expect unless told otherwise.
const (
	OpenAIKey    = "sk-test-0123456789abcdefOPENAI"
	AzureKey     = "azure-test-key-0123456789abcdef"
	AnthropicKey = "sk-ant-test-0123456789abcdef"
)

// Server is a fake provider. Set its fields before the first request.
type Server struct {
	// URL is the server's root; BaseURL is what a client is configured
	// with: URL+"/v1" for OpenAI, URL (the endpoint) for Azure and
	// Anthropic.
	URL, BaseURL string
	Flavor       Flavor
	// Key is the API key expected; a request with another gets a 401.
	// Empty: any key or none (a local OpenAI-compatible server).
	Key string
	// Deployment and APIVersion are what an Azure server expects.
	Deployment, APIVersion string
	// Model is the model the answers name ("": the requested one with a
	// snapshot date appended, as the real services report it).
	Model string
	// RequireSchema fails a request that does not ask for structured
	// output (response_format json_schema, or a forced tool).
	RequireSchema bool
	// Respond, if set, chooses the reply to the n-th request (from 0)
	// instead of the script.
	Respond func(n int, r Request) Reply
	// Arrived, if set, receives a value as each request arrives (after
	// it is counted in flight); Hold, if set, makes each request wait for
	// a value (or its closing) before it is answered.
	Arrived chan struct{}
	Hold    chan struct{}

	t   testing.TB
	srv *httptest.Server

	mu          sync.Mutex
	script      []Reply
	requests    []Request
	inFlight    int
	maxInFlight int
}

// Request is a request as the server received it.
type Request struct {
	Method, Path string
	Query        url.Values
	Header       http.Header
	Body         []byte
}

// JSON decodes the request's body.
func (r Request) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// NewOpenAI starts an OpenAI chat-completions server expecting OpenAIKey.
func NewOpenAI(t testing.TB) *Server {
	s := start(t, OpenAI)
	s.Key, s.BaseURL = OpenAIKey, s.URL+"/v1"
	return s
}

// NewAzure starts an Azure OpenAI server for the given deployment and API
// version, expecting AzureKey.
func NewAzure(t testing.TB, deployment, apiVersion string) *Server {
	s := start(t, Azure)
	s.Key, s.BaseURL, s.Deployment, s.APIVersion = AzureKey, s.URL, deployment, apiVersion
	return s
}

// NewAnthropic starts an Anthropic messages server expecting AnthropicKey.
func NewAnthropic(t testing.TB) *Server {
	s := start(t, Anthropic)
	s.Key, s.BaseURL = AnthropicKey, s.URL
	return s
}

func start(t testing.TB, f Flavor) *Server {
	s := &Server{Flavor: f, t: t}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Script sets the replies to the coming requests, in order; the last one
// repeats. With no script, every request gets Good().
func (s *Server) Script(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append([]Reply(nil), replies...)
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Bodies returns the bodies of the requests received so far, as text.
func (s *Server) Bodies() []string {
	var out []string
	for _, r := range s.Requests() {
		out = append(out, string(r.Body))
	}
	return out
}

// MaxInFlight returns the most requests that were being answered at once.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInFlight
}

// Reply is what the server answers to one request.
type Reply struct {
	// Status is the HTTP status (0: 200).
	Status int
	// Text is the answer of a 200. Empty: a grounded answer written from
	// the facts in the request (GroundedAnswer), as a well-behaved model
	// would.
	Text string
	// Refusal makes a 200 a refusal with this text.
	Refusal string
	// Filtered makes a 200 an answer withheld by Azure's content filter
	// (finish_reason "content_filter").
	Filtered bool
	// Truncated cuts the answer in half and says it hit the token limit.
	Truncated bool
	// ErrType, ErrCode and Message fill the error envelope of a non-2xx
	// reply (defaults by status). Details, for Anthropic, is
	// error.details.
	ErrType, ErrCode, Message string
	Details                   map[string]any
	// Header is added to the response (retry-after, x-should-retry).
	Header http.Header
	// RawBody, if set, is sent instead of the rendered body (a gateway's
	// HTML page).
	RawBody string
	// InputTokens and OutputTokens are the usage reported (0: a quarter
	// of the request's and the answer's bytes).
	InputTokens, OutputTokens int
}

// Good is a 200 with a grounded answer.
func Good() Reply { return Reply{} }

// Answer is a 200 whose answer is text.
func Answer(text string) Reply { return Reply{Text: text} }

// Malformed is a 200 whose answer is not the JSON object asked for.
func Malformed() Reply {
	return Reply{Text: `Here is the explanation you asked for: {"risk": "high", "why_priority": `}
}

// Refusal is a 200 in which the model declines to answer.
func Refusal() Reply { return Reply{Refusal: "I'm sorry, but I can't help with that request."} }

// RateLimited is a 429 with the given retry-after header (seconds; ""
// for none) and the rate-limit headers the service sends.
func RateLimited(retryAfter string) Reply {
	h := http.Header{}
	if retryAfter != "" {
		h.Set("retry-after", retryAfter)
	}
	h.Set("x-ratelimit-limit-requests", "500")
	h.Set("x-ratelimit-remaining-requests", "499")
	h.Set("x-ratelimit-limit-tokens", "200000")
	h.Set("x-ratelimit-remaining-tokens", "0")
	return Reply{Status: http.StatusTooManyRequests, Header: h}
}

// QuotaExceeded is a 429 that no wait cures: OpenAI's insufficient_quota,
// Anthropic's spend limit; no retry-after.
func QuotaExceeded() Reply {
	return Reply{Status: http.StatusTooManyRequests, ErrType: "insufficient_quota", ErrCode: "insufficient_quota",
		Message: "You exceeded your current quota, please check your plan and billing details.",
		Details: map[string]any{"error_code": "enforced_spend_limit_reached"}}
}

// ServerError is a 500.
func ServerError() Reply { return Reply{Status: http.StatusInternalServerError} }

// BadGateway is a 502 with an HTML body, as a gateway sends it.
func BadGateway() Reply {
	return Reply{Status: http.StatusBadGateway, RawBody: "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>"}
}

// Overloaded is Anthropic's 529.
func Overloaded() Reply { return Reply{Status: 529} }

// Unauthorized is a 401, as for a wrong key.
func Unauthorized() Reply { return Reply{Status: http.StatusUnauthorized} }

// Status is an error reply with the given status and the default
// envelope.
func Status(code int) Reply { return Reply{Status: code} }

var schemaNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body}
	s.mu.Lock()
	n := len(s.requests)
	s.requests = append(s.requests, rec)
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	var reply Reply
	switch {
	case s.Respond != nil:
	case len(s.script) > 0:
		reply = s.script[min(n, len(s.script)-1)]
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()
	if s.Arrived != nil {
		s.Arrived <- struct{}{}
	}
	if s.Hold != nil {
		select {
		case <-s.Hold:
		case <-r.Context().Done():
			return
		}
	}
	if s.Respond != nil {
		reply = s.Respond(n, rec)
	}

	var doc map[string]any
	if status, msg := s.check(r, body, &doc); status != 0 {
		s.writeError(w, Reply{Status: status, Message: msg})
		return
	}
	if reply.Status != 0 && reply.Status != http.StatusOK {
		s.writeError(w, reply)
		return
	}
	s.writeAnswer(w, reply, doc, len(body), r.Header.Get("anthropic-version"))
}

// check validates a request as the real service would. It returns the
// status and message of the error to send, or 0. A request no sextant
// client should ever send fails the test too; a wrong key does not (a
// test may mean it).
func (s *Server) check(r *http.Request, body []byte, doc *map[string]any) (int, string) {
	bad := func(status int, format string, a ...any) (int, string) {
		msg := fmt.Sprintf(format, a...)
		s.t.Errorf("llmtest %s server: %s %s: %s", s.Flavor, r.Method, r.URL.Path, msg)
		return status, msg
	}
	if r.Method != http.MethodPost {
		return bad(http.StatusMethodNotAllowed, "method %s, want POST", r.Method)
	}
	switch s.Flavor {
	case OpenAI:
		if r.URL.Path != "/v1/chat/completions" {
			return bad(http.StatusNotFound, "path %q, want /v1/chat/completions", r.URL.Path)
		}
		if s.Key != "" {
			auth := r.Header.Get("Authorization")
			if !strings.HasPrefix(auth, "Bearer ") {
				return bad(http.StatusUnauthorized, "Authorization %q, want Bearer <key>", mask(auth))
			}
			if strings.TrimPrefix(auth, "Bearer ") != s.Key {
				return http.StatusUnauthorized, "Incorrect API key provided: " + mask(strings.TrimPrefix(auth, "Bearer ")) + ". You can find your API key at https://platform.openai.com/account/api-keys."
			}
		}
	case Azure:
		want := "/openai/deployments/" + s.Deployment + "/chat/completions"
		if r.URL.Path != want {
			// As Azure answers a wrong deployment.
			s.t.Errorf("llmtest azure server: path %q, want %q", r.URL.Path, want)
			return http.StatusNotFound, "The API deployment for this resource does not exist."
		}
		if v := r.URL.Query().Get("api-version"); v != s.APIVersion {
			return bad(http.StatusNotFound, "api-version %q, want %q", v, s.APIVersion)
		}
		if r.Header.Get("Authorization") != "" {
			return bad(http.StatusBadRequest, "both api-key and Authorization sent; send exactly one")
		}
		if k := r.Header.Get("api-key"); k == "" {
			return bad(http.StatusUnauthorized, "no api-key header")
		} else if k != s.Key {
			return http.StatusUnauthorized, "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."
		}
	case Anthropic:
		if r.URL.Path != "/v1/messages" {
			return bad(http.StatusNotFound, "path %q, want /v1/messages", r.URL.Path)
		}
		// 2023-06-01 is the version of the wire-format reference;
		// anthropic-sdk-go v2 pins 2026-10-21.
		if v := r.Header.Get("anthropic-version"); v != "2023-06-01" && v != "2026-10-21" {
			return bad(http.StatusBadRequest, "anthropic-version %q, want 2023-06-01 or 2026-10-21", v)
		}
		// x-api-key is the documented header; anthropic-sdk-go v2's
		// WithAPIKey sends the key as a Bearer token instead.
		k := r.Header.Get("x-api-key")
		if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			if k != "" {
				return bad(http.StatusBadRequest, "both x-api-key and Authorization sent; send one")
			}
			k = bearer
		}
		if k == "" {
			return bad(http.StatusUnauthorized, "no x-api-key header")
		} else if k != s.Key {
			return http.StatusUnauthorized, "invalid x-api-key"
		}
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return bad(http.StatusBadRequest, "Content-Type %q, want application/json", ct)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(doc); err != nil || *doc == nil {
		return bad(http.StatusBadRequest, "the body is not a JSON object: %v", err)
	}
	if s.Flavor == Anthropic {
		if msg := checkAnthropic(*doc, r.Header.Get("anthropic-version"), s.RequireSchema); msg != "" {
			return bad(http.StatusBadRequest, "%s", msg)
		}
	} else if msg := checkOpenAI(*doc, s.Flavor == Azure, s.RequireSchema); msg != "" {
		return bad(http.StatusBadRequest, "%s", msg)
	}
	return 0, ""
}

func checkOpenAI(d map[string]any, azure, requireSchema bool) string {
	if m, ok := d["model"].(string); !azure && (!ok || m == "") {
		return "model: a non-empty string is required"
	}
	msgs, ok := d["messages"].([]any)
	if !ok || len(msgs) == 0 {
		return "messages: a non-empty array is required"
	}
	for i, x := range msgs {
		m, _ := x.(map[string]any)
		switch m["role"] {
		case "system", "developer", "user", "assistant":
		default:
			return fmt.Sprintf("messages[%d].role %v is not one of system, developer, user, assistant", i, m["role"])
		}
		switch m["content"].(type) {
		case string, []any:
		default:
			return fmt.Sprintf("messages[%d].content must be a string or an array of parts", i)
		}
	}
	for _, k := range []string{"max_completion_tokens", "max_tokens"} {
		if v, ok := d[k]; ok {
			if n, err := v.(json.Number).Int64(); err != nil || n <= 0 {
				return k + " must be a positive integer"
			}
		}
	}
	if d["stream"] == true {
		return "stream: this server does not stream"
	}
	rf, ok := d["response_format"].(map[string]any)
	if !ok {
		if _, present := d["response_format"]; present {
			return "response_format must be an object"
		}
		if requireSchema {
			return "response_format: json_schema expected"
		}
		return ""
	}
	switch rf["type"] {
	case "json_schema":
		js, _ := rf["json_schema"].(map[string]any)
		name, _ := js["name"].(string)
		if !schemaNameRE.MatchString(name) {
			return fmt.Sprintf("response_format.json_schema.name %q: a-zA-Z0-9_- only, at most 64 characters", name)
		}
		sch, ok := js["schema"].(map[string]any)
		if !ok {
			return "response_format.json_schema.schema must be an object"
		}
		if strict, _ := js["strict"].(bool); strict {
			if msg := checkStrict(sch, "schema"); msg != "" {
				return "Invalid schema for response_format '" + name + "': " + msg
			}
		}
	case "json_object", "text":
		if requireSchema {
			return "response_format: json_schema expected"
		}
	default:
		return fmt.Sprintf("response_format.type %v is not one of text, json_object, json_schema", rf["type"])
	}
	return ""
}

// checkStrict holds a schema to what strict structured outputs accept:
// objects with additionalProperties false and every property required.
func checkStrict(s map[string]any, path string) string {
	if s["type"] == "object" {
		if s["additionalProperties"] != false {
			return path + ": additionalProperties must be false"
		}
		props, _ := s["properties"].(map[string]any)
		req := map[string]bool{}
		if r, ok := s["required"].([]any); ok {
			for _, x := range r {
				if n, ok := x.(string); ok {
					req[n] = true
				}
			}
		}
		for k, v := range props {
			if !req[k] {
				return path + ": property " + k + " must be required"
			}
			if sub, ok := v.(map[string]any); ok {
				if msg := checkStrict(sub, path+"."+k); msg != "" {
					return msg
				}
			}
		}
	}
	if items, ok := s["items"].(map[string]any); ok {
		return checkStrict(items, path+"[]")
	}
	return ""
}

func checkAnthropic(d map[string]any, version string, requireSchema bool) string {
	if m, ok := d["model"].(string); !ok || m == "" {
		return "model: Field required"
	}
	if version >= "2026-10-21" {
		for _, k := range []string{"temperature", "top_p", "top_k"} {
			if _, ok := d[k]; ok {
				return k + ": not supported in API version " + version
			}
		}
	}
	if n, ok := d["max_tokens"].(json.Number); !ok {
		return "max_tokens: Field required"
	} else if v, err := n.Int64(); err != nil || v <= 0 {
		return "max_tokens: must be a positive integer"
	}
	msgs, ok := d["messages"].([]any)
	if !ok || len(msgs) == 0 {
		return "messages: Field required"
	}
	for i, x := range msgs {
		m, _ := x.(map[string]any)
		if m["role"] != "user" && m["role"] != "assistant" {
			return fmt.Sprintf("messages.%d.role: Input should be 'user' or 'assistant'", i)
		}
		switch c := m["content"].(type) {
		case string:
		case []any:
			for j, b := range c {
				if bm, _ := b.(map[string]any); bm["type"] == nil {
					return fmt.Sprintf("messages.%d.content.%d.type: Field required", i, j)
				}
			}
		default:
			return fmt.Sprintf("messages.%d.content: a string or a list of blocks is required", i)
		}
	}
	switch sys := d["system"].(type) {
	case nil, string:
	case []any:
		for i, b := range sys {
			if bm, _ := b.(map[string]any); bm["type"] != "text" {
				return fmt.Sprintf("system.%d.type: Input should be 'text'", i)
			}
		}
	default:
		return "system: a string or a list of text blocks is required"
	}
	tools := map[string]bool{}
	if ts, ok := d["tools"].([]any); ok {
		for i, x := range ts {
			t, _ := x.(map[string]any)
			name, _ := t["name"].(string)
			if name == "" {
				return fmt.Sprintf("tools.%d.name: Field required", i)
			}
			sch, ok := t["input_schema"].(map[string]any)
			if !ok || sch["type"] != "object" {
				return fmt.Sprintf("tools.%d.input_schema: an object schema of type object is required", i)
			}
			tools[name] = true
		}
	}
	forced := false
	if tc, ok := d["tool_choice"].(map[string]any); ok {
		switch tc["type"] {
		case "tool":
			name, _ := tc["name"].(string)
			if !tools[name] {
				return fmt.Sprintf("tool_choice.name %q names no tool in tools", name)
			}
			forced = true
		case "auto", "any", "none":
		default:
			return fmt.Sprintf("tool_choice.type %v is not one of auto, any, tool, none", tc["type"])
		}
	}
	if requireSchema && !forced {
		return "tool_choice: a forced tool ({type: tool, name}) expected"
	}
	return ""
}

func (s *Server) model(doc map[string]any) string {
	if s.Model != "" {
		return s.Model
	}
	m, _ := doc["model"].(string)
	if m == "" {
		m = s.Deployment
	}
	if s.Flavor == Anthropic {
		return m + "-20251001"
	}
	return m + "-2025-04-14"
}

func (s *Server) writeAnswer(w http.ResponseWriter, rep Reply, doc map[string]any, reqBytes int, version string) {
	text := rep.Text
	if text == "" && rep.Refusal == "" && !rep.Filtered {
		var err error
		if text, err = GroundedAnswer(userText(doc)); err != nil {
			s.t.Errorf("llmtest %s server: cannot write a grounded answer: %v", s.Flavor, err)
			text = "{}"
		}
	}
	if rep.Truncated {
		text = text[:len(text)/2]
	}
	in, out := rep.InputTokens, rep.OutputTokens
	if in == 0 {
		in = reqBytes/4 + 1
	}
	if out == 0 {
		out = len(text)/4 + 1
	}
	for k, vs := range rep.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	model := s.model(doc)
	var resp any
	if s.Flavor == Anthropic {
		w.Header().Set("request-id", "req_011CSHoEeqs5C35K2UUqR7Fy")
		var content []any
		var stopDetails any
		stop := "end_turn"
		tool := ""
		if tc, ok := doc["tool_choice"].(map[string]any); ok {
			tool, _ = tc["name"].(string)
		}
		switch {
		case rep.Refusal != "":
			stop = "refusal"
			content = []any{map[string]any{"type": "text", "text": rep.Refusal}}
			if version >= "2026-10-21" {
				stopDetails = map[string]any{"type": "refusal", "category": nil, "explanation": rep.Refusal}
			}
		case rep.Truncated:
			stop = "max_tokens"
			content = []any{map[string]any{"type": "text", "text": text}}
		case tool != "" && json.Valid([]byte(text)) && strings.HasPrefix(strings.TrimSpace(text), "{"):
			stop = "tool_use"
			content = []any{map[string]any{"type": "tool_use", "id": "toolu_01Lr6sWq9YbD3nVc8KxJ2HfA", "name": tool, "input": json.RawMessage(text)}}
		default:
			content = []any{map[string]any{"type": "text", "text": text}}
		}
		resp = map[string]any{
			"id": "msg_01HvQ8mZ3kPz7Xw2NcRb5TfY", "type": "message", "role": "assistant", "model": model,
			"content": content, "stop_reason": stop, "stop_details": stopDetails, "stop_sequence": nil,
			"usage": map[string]any{"input_tokens": in, "output_tokens": out, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "service_tier": "standard"},
		}
	} else {
		w.Header().Set("x-request-id", "req_4b1c2f0a9d8e47c6b3a1e5f7d9c0b2a4")
		w.Header().Set("openai-processing-ms", "412")
		msg := map[string]any{"role": "assistant", "content": text, "refusal": nil, "annotations": []any{}}
		finish := "stop"
		switch {
		case rep.Refusal != "":
			msg["content"], msg["refusal"] = nil, rep.Refusal
		case rep.Filtered:
			msg["content"], finish = nil, "content_filter"
		case rep.Truncated:
			finish = "length"
		}
		choice := map[string]any{"index": 0, "message": msg, "logprobs": nil, "finish_reason": finish}
		r := map[string]any{
			"id": "chatcmpl-CX41bEq9wTn2Yp7uR0aKf3LmZs8dH", "object": "chat.completion", "created": 1764121530, "model": model,
			"choices": []any{choice},
			"usage": map[string]any{"prompt_tokens": in, "completion_tokens": out, "total_tokens": in + out,
				"prompt_tokens_details":     map[string]any{"cached_tokens": 0, "audio_tokens": 0},
				"completion_tokens_details": map[string]any{"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}},
			"service_tier": "default", "system_fingerprint": "fp_6f2eabb9a5",
		}
		if s.Flavor == Azure {
			safe := map[string]any{"filtered": false, "severity": "safe"}
			filters := map[string]any{"hate": safe, "self_harm": safe, "sexual": safe, "violence": safe}
			r["prompt_filter_results"] = []any{map[string]any{"prompt_index": 0, "content_filter_results": filters}}
			choice["content_filter_results"] = filters
		}
		resp = r
	}
	_ = json.NewEncoder(w).Encode(resp)
}

func (s *Server) writeError(w http.ResponseWriter, rep Reply) {
	for k, vs := range rep.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if rep.RawBody != "" {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(rep.Status)
		_, _ = io.WriteString(w, rep.RawBody)
		return
	}
	typ, code, msg := rep.ErrType, rep.ErrCode, rep.Message
	dt, dc, dm := defaults(s.Flavor, rep.Status)
	if typ == "" {
		typ = dt
	}
	if code == "" {
		code = dc
	}
	if msg == "" {
		msg = dm
	}
	var body any
	switch s.Flavor {
	case OpenAI:
		var c any
		if code != "" {
			c = code
		}
		body = map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": c}}
	case Azure:
		// Azure's envelope: the status as a string code, often no type.
		if rep.ErrCode == "" {
			code = strconv.Itoa(rep.Status)
		}
		body = map[string]any{"error": map[string]any{"code": code, "message": msg}}
	case Anthropic:
		e := map[string]any{"type": typ, "message": msg}
		if rep.Details != nil && rep.Status == http.StatusTooManyRequests {
			e["details"] = rep.Details
		}
		w.Header().Set("request-id", "req_011CSHoEeqs5C35K2UUqR7Fy")
		body = map[string]any{"type": "error", "error": e, "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.Status)
	_ = json.NewEncoder(w).Encode(body)
}

// defaults returns the error type, code and message a service sends with
// a status.
func defaults(f Flavor, status int) (typ, code, msg string) {
	if f == Anthropic {
		switch status {
		case 400:
			return "invalid_request_error", "", "invalid request"
		case 401:
			return "authentication_error", "", "invalid x-api-key"
		case 402:
			return "billing_error", "", "billing error"
		case 403:
			return "permission_error", "", "permission denied"
		case 404:
			return "not_found_error", "", "model: not found"
		case 429:
			return "rate_limit_error", "", "This request would exceed the rate limit for your organization of 20,000 input tokens per minute."
		case 529:
			return "overloaded_error", "", "Overloaded"
		case 504:
			return "timeout_error", "", "Request timed out"
		}
		return "api_error", "", "Internal server error"
	}
	switch status {
	case 400:
		return "invalid_request_error", "", "Invalid request."
	case 401:
		return "invalid_request_error", "invalid_api_key", "Incorrect API key provided: sk-test-************OPENAI."
	case 403:
		return "invalid_request_error", "unsupported_country_region_territory", "Country, region, or territory not supported"
	case 404:
		return "invalid_request_error", "model_not_found", "The model does not exist or you do not have access to it."
	case 429:
		if f == Azure {
			return "", "429", "Rate limit is exceeded. Try again in 1 seconds."
		}
		return "tokens", "rate_limit_exceeded", "Rate limit reached for gpt-4.1-mini in organization org-7Qk2 on tokens per min (TPM): Limit 200000, Used 199120, Requested 1532. Please try again in 195ms."
	}
	return "server_error", "", "The server had an error while processing your request. Sorry about that!"
}

// mask shows only the ends of a key, as OpenAI's messages do.
func mask(k string) string {
	if len(k) <= 8 {
		return strings.Repeat("*", len(k))
	}
	return k[:3] + strings.Repeat("*", len(k)-7) + k[len(k)-4:]
}

// userText returns the text of the request's user messages.
func userText(doc map[string]any) string {
	var b strings.Builder
	msgs, _ := doc["messages"].([]any)
	for _, x := range msgs {
		m, _ := x.(map[string]any)
		if m["role"] != "user" {
			continue
		}
		switch c := m["content"].(type) {
		case string:
			b.WriteString(c)
		case []any:
			for _, p := range c {
				if pm, ok := p.(map[string]any); ok {
					if t, ok := pm["text"].(string); ok {
						b.WriteString(t)
					}
				}
			}
		}
	}
	return b.String()
}

// GroundedAnswer writes the answer a well-behaved model would give to an
// explain prompt: from the facts between <facts> and </facts> alone, as the
// offline templates write it, placeholders and all.
func GroundedAnswer(user string) (string, error) {
	_, rest, ok := strings.Cut(user, "<facts>")
	facts, _, ok2 := strings.Cut(rest, "</facts>")
	if !ok || !ok2 {
		return "", fmt.Errorf("no <facts> in the prompt")
	}
	var f explain.Facts
	if err := json.Unmarshal([]byte(facts), &f); err != nil {
		return "", fmt.Errorf("facts: %v", err)
	}
	b, err := json.Marshal(explain.Offline(&f))
	return string(b), err
}
