package llmtest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/sextant-dev/sextant/internal/llm/llmtest"
)

// recorder is a testing.TB that keeps the errors a server reports, so
// that a test can send it bad requests on purpose.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, a...))
}

func (r *recorder) Errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.errs
}

func post(t *testing.T, url string, header map[string]string, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var doc map[string]any
	json.Unmarshal(b, &doc)
	return resp.StatusCode, resp.Header, doc
}

const chat = `{"model":"gpt-4.1-mini","messages":[{"role":"system","content":"s"},{"role":"user","content":"u"}],"max_completion_tokens":100,
 "response_format":{"type":"json_schema","json_schema":{"name":"answer","strict":true,"schema":{"type":"object","additionalProperties":false,"required":["a"],"properties":{"a":{"type":"string"}}}}}}`

func TestOpenAIChecks(t *testing.T) {
	auth := map[string]string{"Authorization": "Bearer " + llmtest.OpenAIKey}
	for _, tc := range []struct {
		name       string
		path       string
		header     map[string]string
		body       string
		wantStatus int
		wantError  bool // the server reports a request no client should send
	}{
		{"good", "/v1/chat/completions", auth, chat, 200, false},
		{"wrong key", "/v1/chat/completions", map[string]string{"Authorization": "Bearer sk-other"}, chat, 401, false},
		{"no auth", "/v1/chat/completions", nil, chat, 401, true},
		{"wrong path", "/chat/completions", auth, chat, 404, true},
		{"no model", "/v1/chat/completions", auth, `{"messages":[{"role":"user","content":"u"}]}`, 400, true},
		{"bad role", "/v1/chat/completions", auth, `{"model":"m","messages":[{"role":"robot","content":"u"}]}`, 400, true},
		{"bad schema name", "/v1/chat/completions", auth, strings.Replace(chat, `"name":"answer"`, `"name":"an answer"`, 1), 400, true},
		{"strict without additionalProperties", "/v1/chat/completions", auth, strings.Replace(chat, `"additionalProperties":false,`, ``, 1), 400, true},
		{"strict with an optional property", "/v1/chat/completions", auth, strings.Replace(chat, `"required":["a"]`, `"required":[]`, 1), 400, true},
		{"zero max tokens", "/v1/chat/completions", auth, strings.Replace(chat, `"max_completion_tokens":100`, `"max_completion_tokens":0`, 1), 400, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			s := llmtest.NewOpenAI(rec)
			s.Script(llmtest.Answer(`{"a":"b"}`))
			status, _, doc := post(t, s.URL+tc.path, tc.header, tc.body)
			if status != tc.wantStatus {
				t.Errorf("status %d, want %d (%v)", status, tc.wantStatus, doc)
			}
			if got := len(rec.Errors()) > 0; got != tc.wantError {
				t.Errorf("server reported %q, want an error: %v", rec.Errors(), tc.wantError)
			}
			if status != 200 {
				e, _ := doc["error"].(map[string]any)
				if _, ok := e["message"].(string); !ok || !hasKeys(e, "type", "param", "code") {
					t.Errorf("error body %v is not OpenAI's envelope", doc)
				}
			}
		})
	}
}

func hasKeys(m map[string]any, keys ...string) bool {
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			return false
		}
	}
	return true
}

func TestOpenAIReplies(t *testing.T) {
	s := llmtest.NewOpenAI(t)
	s.Script(llmtest.Answer(`{"a":"b"}`), llmtest.Refusal(), llmtest.RateLimited("1"), llmtest.Reply{Text: `{"a":"bcdefgh"}`, Truncated: true})
	auth := map[string]string{"Authorization": "Bearer " + llmtest.OpenAIKey}

	_, _, doc := post(t, s.URL+"/v1/chat/completions", auth, chat)
	ch := doc["choices"].([]any)[0].(map[string]any)
	msg := ch["message"].(map[string]any)
	if msg["content"] != `{"a":"b"}` || ch["finish_reason"] != "stop" || doc["model"] != "gpt-4.1-mini-2025-04-14" || doc["usage"].(map[string]any)["total_tokens"] == nil {
		t.Errorf("answer = %v", doc)
	}
	_, _, doc = post(t, s.URL+"/v1/chat/completions", auth, chat)
	msg = doc["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)
	if msg["content"] != nil || msg["refusal"] == nil {
		t.Errorf("refusal = %v", msg)
	}
	status, h, doc := post(t, s.URL+"/v1/chat/completions", auth, chat)
	if status != 429 || h.Get("retry-after") != "1" || h.Get("x-ratelimit-remaining-tokens") != "0" || doc["error"].(map[string]any)["code"] != "rate_limit_exceeded" {
		t.Errorf("429: status %d headers %v body %v", status, h, doc)
	}
	_, _, doc = post(t, s.URL+"/v1/chat/completions", auth, chat)
	ch = doc["choices"].([]any)[0].(map[string]any)
	if ch["finish_reason"] != "length" || json.Valid([]byte(ch["message"].(map[string]any)["content"].(string))) {
		t.Errorf("truncated = %v", ch)
	}
	if n := len(s.Requests()); n != 4 {
		t.Errorf("%d requests recorded, want 4", n)
	}
}

func TestAzure(t *testing.T) {
	rec := &recorder{TB: t}
	s := llmtest.NewAzure(rec, "dep", "2024-10-21")
	s.Script(llmtest.Good(), llmtest.RateLimited("2"))
	url := s.URL + "/openai/deployments/dep/chat/completions?api-version=2024-10-21"
	body := `{"messages":[{"role":"user","content":"<facts>{\"priority\":\"P1\",\"vulns\":[],\"factors\":[],\"commands\":[],\"verify_commands\":[\"a\",\"b\"]}</facts>"}]}`
	status, _, doc := post(t, url, map[string]string{"api-key": llmtest.AzureKey}, body)
	if status != 200 || doc["prompt_filter_results"] == nil {
		t.Errorf("status %d body %v, want Azure's answer with filter results", status, doc)
	}
	status, _, doc = post(t, url, map[string]string{"api-key": llmtest.AzureKey}, body)
	if e := doc["error"].(map[string]any); status != 429 || e["code"] != "429" || hasKeys(e, "type") {
		t.Errorf("429: status %d body %v, want Azure's envelope", status, doc)
	}
	for _, bad := range []struct {
		url    string
		header map[string]string
	}{
		{s.URL + "/openai/deployments/other/chat/completions?api-version=2024-10-21", map[string]string{"api-key": llmtest.AzureKey}},
		{s.URL + "/openai/deployments/dep/chat/completions", map[string]string{"api-key": llmtest.AzureKey}},
		{url, map[string]string{"api-key": llmtest.AzureKey, "Authorization": "Bearer x"}},
		{url, nil},
	} {
		before := len(rec.Errors())
		if status, _, _ := post(t, bad.url, bad.header, body); status < 400 || len(rec.Errors()) == before {
			t.Errorf("POST %s %v: status %d, errors %q; want it refused and reported", bad.url, bad.header, status, rec.Errors()[before:])
		}
	}
}

const messages = `{"model":"claude-haiku-4-5","max_tokens":100,"system":[{"type":"text","text":"s"}],"messages":[{"role":"user","content":[{"type":"text","text":"u"}]}],
 "tools":[{"name":"record_answer","input_schema":{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}}],"tool_choice":{"type":"tool","name":"record_answer"}}`

func TestAnthropic(t *testing.T) {
	hdr := map[string]string{"x-api-key": llmtest.AnthropicKey, "anthropic-version": "2023-06-01"}
	for _, tc := range []struct {
		name       string
		header     map[string]string
		body       string
		wantStatus int
		wantError  bool
	}{
		{"good", hdr, messages, 200, false},
		{"wrong key", map[string]string{"x-api-key": "sk-ant-other", "anthropic-version": "2023-06-01"}, messages, 401, false},
		{"no version", map[string]string{"x-api-key": llmtest.AnthropicKey}, messages, 400, true},
		{"no max_tokens", hdr, strings.Replace(messages, `"max_tokens":100,`, ``, 1), 400, true},
		{"system role in messages", hdr, strings.Replace(messages, `"role":"user"`, `"role":"system"`, 1), 400, true},
		{"tool_choice names no tool", hdr, strings.Replace(messages, `"name":"record_answer"}}`, `"name":"other"}}`, 1), 400, true},
		{"temperature in 2026-10-21", map[string]string{"x-api-key": llmtest.AnthropicKey, "anthropic-version": "2026-10-21"}, strings.Replace(messages, `"max_tokens":100,`, `"max_tokens":100,"temperature":0.2,`, 1), 400, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			s := llmtest.NewAnthropic(rec)
			s.Script(llmtest.Answer(`{"a":"b"}`))
			status, _, doc := post(t, s.URL+"/v1/messages", tc.header, tc.body)
			if status != tc.wantStatus {
				t.Errorf("status %d, want %d (%v)", status, tc.wantStatus, doc)
			}
			if got := len(rec.Errors()) > 0; got != tc.wantError {
				t.Errorf("server reported %q, want an error: %v", rec.Errors(), tc.wantError)
			}
			if status == 200 {
				block := doc["content"].([]any)[0].(map[string]any)
				if doc["stop_reason"] != "tool_use" || block["type"] != "tool_use" || block["name"] != "record_answer" || block["input"].(map[string]any)["a"] != "b" {
					t.Errorf("answer = %v, want the tool call with the answer as its input", doc)
				}
			} else if doc["type"] != "error" || doc["error"].(map[string]any)["type"] == nil {
				t.Errorf("error body %v is not Anthropic's envelope", doc)
			}
		})
	}
}

func TestGroundedAnswer(t *testing.T) {
	user := "Explain.\n\n<facts>\n{\"action\":{\"id\":\"a\",\"kind\":\"upgrade-package\",\"title\":\"t\"},\"priority\":\"P1\",\"score\":70,\"artifact\":\"[REGISTRY_1]/x:1\"," +
		"\"package\":{\"name\":\"lodash\",\"from\":\"4.17.20\",\"to\":\"4.17.21\"},\"vulns\":[{\"id\":\"CVE-2021-23337\",\"severity\":\"HIGH\"}],\"vuln_count\":1,\"finding_count\":1," +
		"\"factors\":[{\"name\":\"impact\",\"value\":7.2,\"contribution\":21.6}],\"commands\":[\"npm install lodash@4.17.21\"],\"verify_commands\":[\"trivy image x\",\"sextant triage rescan.json\"]}\n</facts>"
	got, err := llmtest.GroundedAnswer(user)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"lodash 4.17.20 in [REGISTRY_1]/x:1", "npm install lodash@4.17.21", "P1 with a score of 70"} {
		if !strings.Contains(got, want) {
			t.Errorf("GroundedAnswer = %s, want it to contain %q", got, want)
		}
	}
	if _, err := llmtest.GroundedAnswer("no facts here"); err == nil {
		t.Errorf("GroundedAnswer without facts: no error")
	}
}
