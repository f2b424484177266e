package openai_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/explain"
	"github.com/sextant-dev/sextant/internal/llm"
	"github.com/sextant-dev/sextant/internal/llm/llmtest"
	"github.com/sextant-dev/sextant/internal/llm/openai"
	"github.com/sextant-dev/sextant/internal/prompt"
)

// sleeper records the waits between retries instead of waiting.
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
	model *openai.Model
	lim   *llm.Limited
	sleep *sleeper
	calls []llm.Call
}

// explainer returns an explainer on the model behind srv, within limits
// whose waits are recorded.
func newSetup(t *testing.T, srv *llmtest.Server, c openai.Config) *setup {
	t.Helper()
	m, err := openai.New(c)
	if err != nil {
		t.Fatal(err)
	}
	s := &setup{srv: srv, model: m, sleep: &sleeper{}}
	s.lim = llm.NewLimited(m, llm.Limits{
		Provider: m.Provider(), Model: c.Model, Sleep: s.sleep.Sleep, Rand: func() float64 { return 0 },
		OnCall: func(x llm.Call) { s.calls = append(s.calls, x) },
	})
	return s
}

func (s *setup) explain(t *testing.T) explain.Explanation {
	t.Helper()
	reg, err := prompt.Load("")
	if err != nil {
		t.Fatal(err)
	}
	e := &explain.Explainer{Model: s.lim, Provider: s.model.Provider(), Prompts: reg, InternalDomains: []string{llmtest.InternalDomain}}
	a, fs := llmtest.Log4j()
	x, err := e.Explain(context.Background(), a, fs)
	if err != nil {
		t.Fatal(err)
	}
	// Whatever happened, nothing planted in the findings left.
	for i, b := range s.srv.Bodies() {
		for _, secret := range llmtest.Secrets() {
			if strings.Contains(b, secret) {
				t.Errorf("request %d carries %q", i, secret)
			}
		}
	}
	return x
}

func openAISetup(t *testing.T, replies ...llmtest.Reply) *setup {
	srv := llmtest.NewOpenAI(t)
	srv.RequireSchema = true
	srv.Script(replies...)
	return newSetup(t, srv, openai.Config{APIKey: llmtest.OpenAIKey, Model: "gpt-4.1-mini", BaseURL: srv.BaseURL})
}

func TestGoodAnswer(t *testing.T) {
	s := openAISetup(t, llmtest.Good())
	x := s.explain(t)
	if !x.Grounded || x.Provider != "openai" || x.Model != "gpt-4.1-mini-2025-04-14" || x.InputTokens == 0 || x.OutputTokens == 0 || len(x.Rejected) != 0 {
		t.Errorf("explanation = provider %q model %q grounded %v tokens %d+%d rejected %v; want a grounded openai answer with tokens",
			x.Provider, x.Model, x.Grounded, x.InputTokens, x.OutputTokens, x.Rejected)
	}
	// The answer is rehydrated: the artifact's name is back.
	if !strings.Contains(x.Text, "org.apache.logging.log4j:log4j-core 2.14.1") || x.PromptID != "action-summary" {
		t.Errorf("text = %q, prompt %q", x.Text, x.PromptID)
	}

	reqs := s.srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	body := reqs[0].JSON()
	if body["model"] != "gpt-4.1-mini" || body["max_completion_tokens"] != 1024.0 {
		t.Errorf("model %v, max_completion_tokens %v", body["model"], body["max_completion_tokens"])
	}
	if _, ok := body["max_tokens"]; ok {
		t.Errorf("max_tokens sent to OpenAI")
	}
	rf := body["response_format"].(map[string]any)
	js := rf["json_schema"].(map[string]any)
	if rf["type"] != "json_schema" || js["strict"] != true || js["name"] != openai.SchemaName {
		t.Errorf("response_format = %v", rf)
	}
	msgs := body["messages"].([]any)
	if len(msgs) != 2 || msgs[0].(map[string]any)["role"] != "system" || msgs[1].(map[string]any)["role"] != "user" ||
		!strings.Contains(msgs[1].(map[string]any)["content"].(string), "<facts>") {
		t.Errorf("messages = %v", msgs)
	}
	if got := reqs[0].Header.Get("Authorization"); got != "Bearer "+llmtest.OpenAIKey {
		t.Errorf("Authorization = %q", got)
	}
	if len(s.calls) != 1 || s.calls[0].Outcome != llm.OutcomeOK || s.calls[0].Model != "gpt-4.1-mini-2025-04-14" || s.calls[0].InputTokens != x.InputTokens {
		t.Errorf("calls = %+v", s.calls)
	}
}

func TestRetriedFailures(t *testing.T) {
	for _, tc := range []struct {
		name      string
		first     llmtest.Reply
		wantWaits []time.Duration
	}{
		{"429 with Retry-After", llmtest.RateLimited("1"), []time.Duration{time.Second}},
		{"429 with retry-after-ms", func() llmtest.Reply {
			r := llmtest.RateLimited("2")
			r.Header.Set("retry-after-ms", "195")
			return r
		}(), []time.Duration{195 * time.Millisecond}},
		{"500", llmtest.ServerError(), []time.Duration{500 * time.Millisecond}},
		{"502 HTML page", llmtest.BadGateway(), []time.Duration{500 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openAISetup(t, tc.first, llmtest.Good())
			x := s.explain(t)
			if !x.Grounded || x.Provider != "openai" || len(x.Rejected) != 0 {
				t.Errorf("explanation: provider %q grounded %v rejected %v, want the model's after a retry", x.Provider, x.Grounded, x.Rejected)
			}
			if n := len(s.srv.Requests()); n != 2 {
				t.Errorf("%d requests, want 2", n)
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
		wantRejected []string // prefixes, in order
	}{
		{"malformed then repaired", []llmtest.Reply{llmtest.Malformed(), llmtest.Good()}, 2, []string{"malformed_json: "}},
		{"malformed twice", []llmtest.Reply{llmtest.Malformed()}, 2, []string{"malformed_json: ", "malformed_json: "}},
		{"refusal", []llmtest.Reply{llmtest.Refusal()}, 1, []string{"model_error: refused: openai gpt-4.1-mini-2025-04-14: I'm sorry"}},
		{"truncated", []llmtest.Reply{{Truncated: true}}, 1, []string{"model_error: truncated: "}},
		{"401", []llmtest.Reply{llmtest.Unauthorized()}, 1, []string{"model_error: openai: HTTP 401 Unauthorized: invalid_request_error/invalid_api_key"}},
		{"quota", []llmtest.Reply{llmtest.QuotaExceeded()}, 1, []string{"model_error: openai: HTTP 429 Too Many Requests: insufficient_quota"}},
		{"404", []llmtest.Reply{llmtest.Status(404)}, 1, []string{"model_error: openai: HTTP 404 Not Found: invalid_request_error/model_not_found"}},
		{"500 x-should-retry false", []llmtest.Reply{{Status: 500, Header: map[string][]string{"X-Should-Retry": {"false"}}}}, 1, []string{"model_error: openai: HTTP 500"}},
		{"500 every time", []llmtest.Reply{llmtest.ServerError()}, 3, []string{"model_error: openai: HTTP 500 Internal Server Error: server_error"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openAISetup(t, tc.replies...)
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
				if strings.Contains(x.Rejected[i], "OPENAI") {
					t.Errorf("rejected[%d] = %q quotes the key", i, x.Rejected[i])
				}
			}
			repaired := len(tc.wantRejected) == 1 && tc.wantRequests == 2
			switch {
			case repaired:
				if x.Provider != "openai" || !x.Grounded {
					t.Errorf("provider %q grounded %v, want the repaired answer", x.Provider, x.Grounded)
				}
			default:
				if x.Provider != explain.OfflineProvider || !x.Grounded || !strings.HasPrefix(x.FallbackFrom, "openai") {
					t.Errorf("provider %q grounded %v fallback_from %q, want the offline templates standing in for openai", x.Provider, x.Grounded, x.FallbackFrom)
				}
			}
		})
	}
}

func TestErrorCodes(t *testing.T) {
	for _, tc := range []struct {
		reply llmtest.Reply
		code  string
	}{
		{llmtest.Unauthorized(), sextant.EUNAUTHORIZED},
		{llmtest.Status(403), sextant.EUNAUTHORIZED},
		{llmtest.Status(400), sextant.EINVALID},
		{llmtest.Status(404), sextant.ENOTFOUND},
		{llmtest.RateLimited("1"), sextant.ERATELIMITED},
		{llmtest.ServerError(), sextant.EUNAVAILABLE},
		{llmtest.Refusal(), sextant.EINVALID},
	} {
		srv := llmtest.NewOpenAI(t)
		srv.Script(tc.reply)
		m, err := openai.New(openai.Config{APIKey: llmtest.OpenAIKey, Model: "gpt-4.1-mini", BaseURL: srv.BaseURL})
		if err != nil {
			t.Fatal(err)
		}
		_, err = m.Complete(context.Background(), explain.Request{System: "s", User: "u"})
		if got := sextant.ErrorCode(err); got != tc.code {
			t.Errorf("HTTP %d: code %q (%v), want %q", tc.reply.Status, got, err, tc.code)
		}
		if n := len(srv.Requests()); n != 1 {
			t.Errorf("HTTP %d: %d requests, want 1: the client must not retry on its own", tc.reply.Status, n)
		}
	}
}

func TestRateLimitedRetryAfter(t *testing.T) {
	srv := llmtest.NewOpenAI(t)
	srv.Script(llmtest.RateLimited("7"))
	m, _ := openai.New(openai.Config{APIKey: llmtest.OpenAIKey, Model: "gpt-4.1-mini", BaseURL: srv.BaseURL})
	_, err := m.Complete(context.Background(), explain.Request{System: "s", User: "u"})
	if sextant.ErrorCode(err) != sextant.ERATELIMITED || sextant.ErrorRetryAfter(err) != 7*time.Second {
		t.Errorf("Complete = %v (retry after %v), want ERATELIMITED after 7s", err, sextant.ErrorRetryAfter(err))
	}
}

func TestWrongKey(t *testing.T) {
	srv := llmtest.NewOpenAI(t)
	m, _ := openai.New(openai.Config{APIKey: "sk-wrong-key-000000000000", Model: "gpt-4.1-mini", BaseURL: srv.BaseURL})
	_, err := m.Complete(context.Background(), explain.Request{System: "s", User: "u"})
	if sextant.ErrorCode(err) != sextant.EUNAUTHORIZED || strings.Contains(err.Error(), "0000") {
		t.Errorf("Complete with a wrong key = %v, want EUNAUTHORIZED without the key", err)
	}
}

func TestAzure(t *testing.T) {
	srv := llmtest.NewAzure(t, "explain-mini", "2024-10-21")
	srv.RequireSchema = true
	srv.Script(func() llmtest.Reply {
		r := llmtest.RateLimited("")
		r.Header.Set("retry-after-ms", "1500")
		return r
	}(), llmtest.Good())
	s := newSetup(t, srv, openai.Config{APIKey: llmtest.AzureKey, Model: "explain-mini", Azure: &openai.Azure{Endpoint: srv.BaseURL}})
	x := s.explain(t)
	if !x.Grounded || x.Provider != "azure" || x.Model != "explain-mini-2025-04-14" || x.InputTokens == 0 {
		t.Errorf("explanation: provider %q model %q grounded %v tokens %d, want azure's grounded answer", x.Provider, x.Model, x.Grounded, x.InputTokens)
	}
	if diff := cmp.Diff([]time.Duration{1500 * time.Millisecond}, s.sleep.Waits()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	r := srv.Requests()[0]
	if r.Header.Get("api-key") != llmtest.AzureKey || r.Header.Get("Authorization") != "" || r.Query.Get("api-version") != "2024-10-21" {
		t.Errorf("azure request: api-key %q, Authorization %q, api-version %q", r.Header.Get("api-key"), r.Header.Get("Authorization"), r.Query.Get("api-version"))
	}
}

func TestAzureContentFilter(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply llmtest.Reply
		want  string
	}{
		{"filtered answer", llmtest.Reply{Filtered: true}, "model_error: refused: azure"},
		{"filtered prompt", llmtest.Reply{Status: 400, ErrCode: "content_filter", Message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy."}, "model_error: azure: HTTP 400 Bad Request: content_filter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := llmtest.NewAzure(t, "explain-mini", openai.DefaultAzureAPIVersion)
			srv.Script(tc.reply)
			s := newSetup(t, srv, openai.Config{APIKey: llmtest.AzureKey, Model: "explain-mini", Azure: &openai.Azure{Endpoint: srv.BaseURL}})
			x := s.explain(t)
			if x.Provider != explain.OfflineProvider || len(x.Rejected) != 1 || !strings.HasPrefix(x.Rejected[0], tc.want) || len(srv.Requests()) != 1 {
				t.Errorf("provider %q rejected %q after %d requests, want one %q and the templates", x.Provider, x.Rejected, len(srv.Requests()), tc.want)
			}
		})
	}
}

func TestCompatibleServer(t *testing.T) {
	// An Ollama-like server: no key, reads max_tokens.
	srv := llmtest.NewOpenAI(t)
	srv.Key = ""
	s := newSetup(t, srv, openai.Config{Model: "llama3.1:8b", BaseURL: srv.BaseURL, LegacyMaxTokens: true})
	x := s.explain(t)
	if !x.Grounded || x.Model != "llama3.1:8b-2025-04-14" {
		t.Errorf("explanation: model %q grounded %v", x.Model, x.Grounded)
	}
	r := srv.Requests()[0]
	body := r.JSON()
	if body["max_tokens"] != 1024.0 || body["max_completion_tokens"] != nil || r.Header.Get("Authorization") != "" {
		t.Errorf("max_tokens %v, max_completion_tokens %v, Authorization %q", body["max_tokens"], body["max_completion_tokens"], r.Header.Get("Authorization"))
	}
}

func TestSchemaSentAsIs(t *testing.T) {
	srv := llmtest.NewOpenAI(t)
	srv.Script(llmtest.Answer(`{"a":"b"}`))
	m, _ := openai.New(openai.Config{APIKey: llmtest.OpenAIKey, Model: "gpt-4.1-mini", BaseURL: srv.BaseURL})
	schema := `{"type":"object","additionalProperties":false,"required":["a"],"properties":{"a":{"type":"string"}}}`
	resp, err := m.Complete(context.Background(), explain.Request{System: "s", User: "u", Schema: json.RawMessage(schema), MaxTokens: 50})
	if err != nil || resp.Text != `{"a":"b"}` {
		t.Fatalf("Complete = %+v, %v", resp, err)
	}
	var body struct {
		ResponseFormat struct {
			JSONSchema struct {
				Schema json.RawMessage `json:"schema"`
			} `json:"json_schema"`
		} `json:"response_format"`
	}
	json.Unmarshal(srv.Requests()[0].Body, &body)
	if string(body.ResponseFormat.JSONSchema.Schema) != schema {
		t.Errorf("schema sent = %s, want %s", body.ResponseFormat.JSONSchema.Schema, schema)
	}
	// Without a schema, no response_format.
	m.Complete(context.Background(), explain.Request{System: "s", User: "u"})
	if _, ok := srv.Requests()[1].JSON()["response_format"]; ok {
		t.Errorf("response_format sent without a schema")
	}
}

func TestConcurrencyLimitAtTheServer(t *testing.T) {
	srv := llmtest.NewOpenAI(t)
	srv.Script(llmtest.Answer(`{}`))
	srv.Arrived, srv.Hold = make(chan struct{}, 16), make(chan struct{})
	m, _ := openai.New(openai.Config{APIKey: llmtest.OpenAIKey, Model: "gpt-4.1-mini", BaseURL: srv.BaseURL})
	lim := llm.NewLimited(m, llm.Limits{MaxConcurrency: 3})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := lim.Complete(context.Background(), explain.Request{System: "s", User: "u"}); err != nil {
				t.Error(err)
			}
		})
	}
	for range 3 {
		<-srv.Arrived
	}
	for i := range 8 {
		srv.Hold <- struct{}{}
		if i < 5 {
			<-srv.Arrived
		}
	}
	wg.Wait()
	if got := srv.MaxInFlight(); got != 3 {
		t.Errorf("at most %d requests in flight at the server, want 3", got)
	}
}

func TestTimeout(t *testing.T) {
	srv := llmtest.NewOpenAI(t)
	srv.Hold = make(chan struct{}) // never answers
	m, _ := openai.New(openai.Config{APIKey: llmtest.OpenAIKey, Model: "gpt-4.1-mini", BaseURL: srv.BaseURL})
	sl := &sleeper{}
	lim := llm.NewLimited(m, llm.Limits{Timeout: 20 * time.Millisecond, MaxAttempts: 2, Sleep: sl.Sleep})
	_, err := lim.Complete(context.Background(), explain.Request{System: "s", User: "u"})
	if sextant.ErrorCode(err) != sextant.EUNAVAILABLE || !strings.Contains(err.Error(), "no answer within") {
		t.Errorf("Complete = %v, want EUNAVAILABLE no answer within", err)
	}
	if st := lim.Stats(); st.Calls != 2 || st.Outcomes[llm.OutcomeTimeout] != 2 {
		t.Errorf("stats = %+v, want 2 timed-out calls", st)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []openai.Config{
		{APIKey: "k"},
		{APIKey: "k", Model: "m", BaseURL: "localhost:11434"},
		{Model: "m", Azure: &openai.Azure{Endpoint: "https://x.openai.azure.com"}},
		{APIKey: "k", Model: "m", Azure: &openai.Azure{Endpoint: "ftp://x"}},
	} {
		if _, err := openai.New(c); sextant.ErrorCode(err) != sextant.EINVALID {
			t.Errorf("New(%+v) = %v, want EINVALID", c, err)
		}
	}
}
