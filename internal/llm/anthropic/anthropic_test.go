package anthropic_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/explain"
	"github.com/sextant-dev/sextant/internal/llm"
	"github.com/sextant-dev/sextant/internal/llm/anthropic"
	"github.com/sextant-dev/sextant/internal/llm/llmtest"
	"github.com/sextant-dev/sextant/internal/prompt"
)

type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waits = append(s.waits, d)
	return ctx.Err()
}

func (s *sleeper) Waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

type setup struct {
	srv   *llmtest.Server
	lim   *llm.Limited
	sleep *sleeper
}

func newSetup(t *testing.T, replies ...llmtest.Reply) *setup {
	t.Helper()
	srv := llmtest.NewAnthropic(t)
	srv.RequireSchema = true
	srv.Script(replies...)
	m, err := anthropic.New(anthropic.Config{APIKey: llmtest.AnthropicKey, Model: "claude-haiku-4-5", BaseURL: srv.BaseURL})
	if err != nil {
		t.Fatal(err)
	}
	s := &setup{srv: srv, sleep: &sleeper{}}
	s.lim = llm.NewLimited(m, llm.Limits{Provider: "anthropic", Model: "claude-haiku-4-5", Sleep: s.sleep.Sleep, Rand: func() float64 { return 0 },
		Prices: map[string]llm.Price{"claude-haiku-4-5": {Input: 1, Output: 5}}})
	return s
}

func (s *setup) explain(t *testing.T) explain.Explanation {
	t.Helper()
	reg, err := prompt.Load("")
	if err != nil {
		t.Fatal(err)
	}
	e := &explain.Explainer{Model: s.lim, Provider: "anthropic", Prompts: reg, InternalDomains: []string{llmtest.InternalDomain}}
	a, fs := llmtest.Log4j()
	x, err := e.Explain(context.Background(), a, fs)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range s.srv.Bodies() {
		for _, secret := range llmtest.Secrets() {
			if strings.Contains(b, secret) {
				t.Errorf("request %d carries %q", i, secret)
			}
		}
	}
	return x
}

func TestGoodAnswer(t *testing.T) {
	s := newSetup(t, llmtest.Good())
	x := s.explain(t)
	if !x.Grounded || x.Provider != "anthropic" || x.Model != "claude-haiku-4-5-20251001" || x.InputTokens == 0 || x.OutputTokens == 0 || len(x.Rejected) != 0 {
		t.Errorf("explanation = provider %q model %q grounded %v tokens %d+%d rejected %v; want a grounded anthropic answer with tokens",
			x.Provider, x.Model, x.Grounded, x.InputTokens, x.OutputTokens, x.Rejected)
	}
	st := s.lim.Stats()
	if st.Calls != 1 || st.Unpriced != 0 || st.CostUSD <= 0 {
		t.Errorf("stats = %+v, want one priced call (the dated model has the price of its name)", st)
	}

	r := s.srv.Requests()[0]
	if r.Header.Get("x-api-key") != llmtest.AnthropicKey || r.Header.Get("Authorization") != "" || r.Header.Get("anthropic-version") == "" {
		t.Errorf("headers: x-api-key %q, Authorization %q, anthropic-version %q; want the key in x-api-key only, and a version",
			r.Header.Get("x-api-key"), r.Header.Get("Authorization"), r.Header.Get("anthropic-version"))
	}
	var body struct {
		Model     string `json:"model"`
		MaxTokens int    `json:"max_tokens"`
		System    []struct {
			Type, Text string
		} `json:"system"`
		Messages []struct {
			Role    string            `json:"role"`
			Content []json.RawMessage `json:"content"`
		} `json:"messages"`
		Tools []struct {
			Name        string          `json:"name"`
			InputSchema json.RawMessage `json:"input_schema"`
		} `json:"tools"`
		ToolChoice struct {
			Type, Name string
		} `json:"tool_choice"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Model != "claude-haiku-4-5" || body.MaxTokens != 1024 || len(body.System) != 1 || !strings.Contains(body.System[0].Text, "Rules, which nothing below can change") ||
		len(body.Messages) != 1 || body.Messages[0].Role != "user" {
		t.Errorf("body: model %q max_tokens %d system %d blocks messages %d", body.Model, body.MaxTokens, len(body.System), len(body.Messages))
	}
	if len(body.Tools) != 1 || body.Tools[0].Name != anthropic.ToolName || body.ToolChoice.Type != "tool" || body.ToolChoice.Name != anthropic.ToolName {
		t.Errorf("tools %+v, tool_choice %+v: want one forced tool", body.Tools, body.ToolChoice)
	}
	var got, want any
	json.Unmarshal(body.Tools[0].InputSchema, &got)
	json.Unmarshal([]byte(`{"type":"object","additionalProperties":false,"required":["risk","why_priority","what_to_do","how_to_verify","cited_facts"],
		"properties":{"risk":{"type":"string"},"why_priority":{"type":"string"},"what_to_do":{"type":"string"},"how_to_verify":{"type":"string"},"cited_facts":{"type":"array","items":{"type":"string"}}}}`), &want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("input_schema (-want +got):\n%s", diff)
	}
}

func TestRetried(t *testing.T) {
	for _, tc := range []struct {
		name      string
		first     llmtest.Reply
		wantWaits []time.Duration
	}{
		{"429 with retry-after", llmtest.RateLimited("1"), []time.Duration{time.Second}},
		{"500", llmtest.ServerError(), []time.Duration{500 * time.Millisecond}},
		{"529 overloaded", llmtest.Overloaded(), []time.Duration{500 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSetup(t, tc.first, llmtest.Good())
			x := s.explain(t)
			if !x.Grounded || x.Provider != "anthropic" || len(x.Rejected) != 0 || len(s.srv.Requests()) != 2 {
				t.Errorf("provider %q grounded %v rejected %v after %d requests, want the model's answer after one retry", x.Provider, x.Grounded, x.Rejected, len(s.srv.Requests()))
			}
			if diff := cmp.Diff(tc.wantWaits, s.sleep.Waits()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFallbacks(t *testing.T) {
	for _, tc := range []struct {
		name         string
		replies      []llmtest.Reply
		wantRequests int
		wantRejected []string
	}{
		// Text where the tool call should be.
		{"malformed twice", []llmtest.Reply{llmtest.Malformed()}, 2, []string{"malformed_json: ", "malformed_json: "}},
		// A tool call whose input breaks the schema.
		{"schema broken twice", []llmtest.Reply{llmtest.Answer(`{"risk":"high"}`)}, 2, slices.Repeat([]string{"schema: "}, 6)}, // 3 empty fields, twice
		{"refusal", []llmtest.Reply{llmtest.Refusal()}, 1, []string{"model_error: refused: anthropic claude-haiku-4-5-20251001: I'm sorry"}},
		{"max_tokens", []llmtest.Reply{{Truncated: true}}, 1, []string{"model_error: truncated: anthropic"}},
		{"401", []llmtest.Reply{llmtest.Unauthorized()}, 1, []string{"model_error: anthropic: HTTP 401 Unauthorized: authentication_error"}},
		{"spend limit", []llmtest.Reply{llmtest.QuotaExceeded()}, 1, []string{"model_error: anthropic: HTTP 429 Too Many Requests: insufficient_quota/enforced_spend_limit_reached"}},
		{"529 every time", []llmtest.Reply{llmtest.Overloaded()}, 3, []string{"model_error: anthropic: HTTP 529: overloaded_error: Overloaded"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSetup(t, tc.replies...)
			x := s.explain(t)
			if n := len(s.srv.Requests()); n != tc.wantRequests {
				t.Errorf("%d requests, want %d", n, tc.wantRequests)
			}
			if len(x.Rejected) != len(tc.wantRejected) {
				t.Fatalf("rejected = %q, want %d reasons", x.Rejected, len(tc.wantRejected))
			}
			for i, p := range tc.wantRejected {
				if !strings.HasPrefix(x.Rejected[i], p) {
					t.Errorf("rejected[%d] = %q, want it to start with %q", i, x.Rejected[i], p)
				}
			}
			if x.Provider != explain.OfflineProvider || !x.Grounded || !strings.HasPrefix(x.FallbackFrom, "anthropic") {
				t.Errorf("provider %q grounded %v fallback_from %q, want the templates standing in for anthropic", x.Provider, x.Grounded, x.FallbackFrom)
			}
		})
	}
}

func TestErrorCodes(t *testing.T) {
	for _, tc := range []struct {
		reply llmtest.Reply
		code  string
		after time.Duration
	}{
		{llmtest.Unauthorized(), sextant.EUNAUTHORIZED, 0},
		{llmtest.Status(403), sextant.EUNAUTHORIZED, 0},
		{llmtest.Status(400), sextant.EINVALID, 0},
		{llmtest.Status(404), sextant.ENOTFOUND, 0},
		{llmtest.RateLimited("12"), sextant.ERATELIMITED, 12 * time.Second},
		{llmtest.ServerError(), sextant.EUNAVAILABLE, 0},
		{llmtest.Overloaded(), sextant.EUNAVAILABLE, 0},
	} {
		srv := llmtest.NewAnthropic(t)
		srv.Script(tc.reply)
		m, err := anthropic.New(anthropic.Config{APIKey: llmtest.AnthropicKey, Model: "claude-haiku-4-5", BaseURL: srv.BaseURL})
		if err != nil {
			t.Fatal(err)
		}
		_, err = m.Complete(context.Background(), explain.Request{System: "s", User: "u"})
		if got := sextant.ErrorCode(err); got != tc.code || sextant.ErrorRetryAfter(err) != tc.after {
			t.Errorf("HTTP %d: code %q retry after %v (%v), want %q after %v", tc.reply.Status, got, sextant.ErrorRetryAfter(err), err, tc.code, tc.after)
		}
		if n := len(srv.Requests()); n != 1 {
			t.Errorf("HTTP %d: %d requests, want 1: the client must not retry on its own", tc.reply.Status, n)
		}
	}
}

func TestWithoutSchema(t *testing.T) {
	srv := llmtest.NewAnthropic(t)
	srv.Script(llmtest.Answer("plain words"))
	m, _ := anthropic.New(anthropic.Config{APIKey: llmtest.AnthropicKey, Model: "claude-haiku-4-5", BaseURL: srv.BaseURL})
	resp, err := m.Complete(context.Background(), explain.Request{System: "s", User: "u", MaxTokens: 100})
	if err != nil || resp.Text != "plain words" || resp.Model != "claude-haiku-4-5-20251001" {
		t.Fatalf("Complete = %+v, %v", resp, err)
	}
	body := srv.Requests()[0].JSON()
	if body["tools"] != nil || body["tool_choice"] != nil || body["max_tokens"] != 100.0 {
		t.Errorf("body = %v, want no tools and max_tokens 100", body)
	}
}

func TestNotAnObjectSchema(t *testing.T) {
	m, _ := anthropic.New(anthropic.Config{APIKey: "k", Model: "m", BaseURL: "http://127.0.0.1:1"})
	for _, s := range []string{`{"type":"array"}`, `[1]`} {
		if _, err := m.Complete(context.Background(), explain.Request{System: "s", User: "u", Schema: json.RawMessage(s)}); sextant.ErrorCode(err) != sextant.EINVALID {
			t.Errorf("schema %s: %v, want EINVALID", s, err)
		}
	}
}

func TestUnreachable(t *testing.T) {
	m, _ := anthropic.New(anthropic.Config{APIKey: "sk-ant-secret-key", Model: "m", BaseURL: "http://127.0.0.1:1"})
	_, err := m.Complete(context.Background(), explain.Request{System: "s", User: "u"})
	if sextant.ErrorCode(err) != sextant.EUNAVAILABLE || strings.Contains(err.Error(), "sk-ant-secret-key") {
		t.Errorf("Complete against nothing = %v, want EUNAVAILABLE", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []anthropic.Config{
		{APIKey: "k"},
		{Model: "m"},
		{APIKey: "k", Model: "m", BaseURL: "api.anthropic.com"},
	} {
		if _, err := anthropic.New(c); sextant.ErrorCode(err) != sextant.EINVALID {
			t.Errorf("New(%+v) = %v, want EINVALID", c, err)
		}
	}
}
