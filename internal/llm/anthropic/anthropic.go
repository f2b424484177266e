// Package anthropic is an explain.Model on Anthropic's Messages API,
// through the official anthropic-sdk-go client.
//
// When a request carries a schema, the answer is asked for as the input of
// one forced tool (tool_choice {type: tool}) whose input_schema is the
// schema, and the tool call's input JSON is the answer's text. A refusal
// (stop_reason "refusal") or an answer cut off at max_tokens is an
// *llm.AnswerError; HTTP failures become *sextant.Error codes at this edge
// (see llm.HTTPError). The client's own retries are off: retry policy is
// llm.Limited's.
package anthropic

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	ant "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/explain"
	"github.com/sextant-dev/sextant/internal/llm"
)

// DefaultBaseURL is Anthropic's API; requests go to {base}/v1/messages.
const DefaultBaseURL = "https://api.anthropic.com"

// ToolName names the one tool through which the answer is asked for.
const ToolName = "record_answer"

// Config configures a Model.
type Config struct {
	// APIKey is sent in the x-api-key header.
	APIKey string
	// Model is the model name ("claude-haiku-4-5").
	Model string
	// BaseURL is the API's base, without /v1 ("": DefaultBaseURL).
	BaseURL string
	// HTTPClient makes the requests (nil: the client's default).
	HTTPClient *http.Client
	// Now is the clock, for Retry-After dates (nil: time.Now).
	Now func() time.Time
}

// Model is an explain.Model on the Messages API.
type Model struct {
	c      Config
	client ant.Client
}

var _ explain.Model = (*Model)(nil)

// New returns a Model for c.
func New(c Config) (*Model, error) {
	if c.Model == "" {
		return nil, sextant.Errorf(sextant.EINVALID, "anthropic: no model configured")
	}
	if c.APIKey == "" {
		return nil, sextant.Errorf(sextant.EINVALID, "anthropic: no API key configured")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	base := c.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(strings.TrimSpace(base))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, sextant.Errorf(sextant.EINVALID, "anthropic: base URL %q is not an http(s) URL", base)
	}
	// Explicit options only: no ANTHROPIC_* variable, profile or
	// credential file changes what sextant sends or where. The key goes
	// in x-api-key, the API's documented header, which gateways and
	// proxies in front of it expect too; the client's WithAPIKey would
	// send it as a Bearer token.
	opts := []option.RequestOption{
		option.WithoutEnvironmentDefaults(),
		option.WithHeader("x-api-key", c.APIKey),
		option.WithBaseURL(u.String()),
		option.WithMaxRetries(0),
	}
	if c.HTTPClient != nil {
		opts = append(opts, option.WithHTTPClient(c.HTTPClient))
	}
	return &Model{c: c, client: ant.NewClient(opts...)}, nil
}

// Complete sends one Messages request.
func (m *Model) Complete(ctx context.Context, req explain.Request) (explain.Response, error) {
	maxTokens := req.MaxTokens
	if maxTokens <= 0 {
		maxTokens = 1024
	}
	p := ant.MessageNewParams{
		Model:     m.c.Model,
		MaxTokens: int64(maxTokens),
		Messages:  []ant.MessageParam{ant.NewUserMessage(ant.NewTextBlock(req.User))},
	}
	if req.System != "" {
		p.System = []ant.TextBlockParam{{Text: req.System}}
	}
	if len(req.Schema) > 0 {
		schema, err := inputSchema(req.Schema)
		if err != nil {
			return explain.Response{}, err
		}
		p.Tools = []ant.ToolUnionParam{{OfTool: &ant.ToolParam{
			Name:        ToolName,
			Description: ant.String("Record the answer, in exactly the requested shape."),
			InputSchema: schema,
		}}}
		p.ToolChoice = ant.ToolChoiceUnionParam{OfTool: &ant.ToolChoiceToolParam{Name: ToolName}}
	}
	res, err := m.client.Messages.New(ctx, p)
	if err != nil {
		return explain.Response{}, m.edgeError(ctx, err)
	}
	u := llm.Usage{Model: res.Model, InputTokens: int(res.Usage.InputTokens), OutputTokens: int(res.Usage.OutputTokens)}
	if u.Model == "" {
		u.Model = m.c.Model
	}
	answerErr := func(kind, msg string) error {
		return &llm.AnswerError{Kind: kind, Provider: "anthropic", Message: llm.Clip(msg, 200), Usage: u}
	}
	// Blocks are searched by type: a text block may come before the tool
	// call.
	var text, tool string
	for _, b := range res.Content {
		switch b.Type {
		case "tool_use":
			if b.Name == ToolName && tool == "" {
				tool = string(b.Input)
			}
		case "text":
			text += b.Text
		}
	}
	switch res.StopReason {
	case ant.StopReasonRefusal:
		msg := strings.TrimSpace(cmp.Or(strings.TrimSpace(res.StopDetails.Explanation), text))
		if msg == "" {
			msg = "the model declined to answer"
		}
		return explain.Response{}, answerErr(llm.Refused, msg)
	case ant.StopReasonMaxTokens:
		return explain.Response{}, answerErr(llm.Truncated, "the answer reached max_tokens")
	}
	out := tool
	if out == "" {
		out = text
	}
	if strings.TrimSpace(out) == "" {
		return explain.Response{}, answerErr(llm.Empty, "the answer has neither a tool call nor text")
	}
	return explain.Response{Text: out, InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, Model: u.Model}, nil
}

// inputSchema turns a JSON Schema into a tool's input_schema: its
// properties and required list, and every other keyword as is.
func inputSchema(raw json.RawMessage) (ant.ToolInputSchemaParam, error) {
	var s map[string]any
	if err := json.Unmarshal(raw, &s); err != nil {
		return ant.ToolInputSchemaParam{}, sextant.Errorf(sextant.EINVALID, "anthropic: the answer schema is not a JSON object: %v", err)
	}
	if t, ok := s["type"]; ok && t != "object" {
		return ant.ToolInputSchemaParam{}, sextant.Errorf(sextant.EINVALID, "anthropic: a tool's input schema must be of type object, not %v", t)
	}
	var out ant.ToolInputSchemaParam
	out.Properties = s["properties"]
	if req, ok := s["required"].([]any); ok {
		for _, r := range req {
			if name, ok := r.(string); ok {
				out.Required = append(out.Required, name)
			}
		}
	}
	for k, v := range s {
		switch k {
		case "type", "properties", "required":
		default:
			if out.ExtraFields == nil {
				out.ExtraFields = map[string]any{}
			}
			out.ExtraFields[k] = v
		}
	}
	return out, nil
}

// edgeError translates a client error into sextant's codes.
func (m *Model) edgeError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var apiErr *ant.Error
	if !errors.As(err, &apiErr) {
		return llm.TransportError("anthropic", errors.New(llm.Scrub(err.Error(), m.c.APIKey)))
	}
	var h http.Header
	if apiErr.Response != nil {
		h = apiErr.Response.Header
	}
	detail := string(apiErr.Type())
	if code := string(apiErr.ErrorCode()); code != "" {
		detail = strings.TrimPrefix(detail+"/"+code, "/")
	}
	if apiErr.StatusCode != http.StatusUnauthorized && apiErr.StatusCode != http.StatusForbidden && apiErr.Message != "" {
		detail = strings.TrimPrefix(detail+": "+apiErr.Message, ": ")
	}
	e := llm.HTTPError("anthropic", apiErr.StatusCode, h, llm.Scrub(detail, m.c.APIKey), m.c.Now())
	// A spend limit holds until a human raises it or the month ends.
	if apiErr.StatusCode == http.StatusTooManyRequests && apiErr.ErrorCode() == "enforced_spend_limit_reached" {
		return llm.NoRetry(e)
	}
	return e
}
