// Package openai is an explain.Model on OpenAI's chat completions API,
// through the official openai-go client. The same wire format serves
// OpenAI, Azure OpenAI (deployment URLs, api-key header, api-version) and
// OpenAI-compatible servers such as Ollama, vLLM and llama.cpp (a /v1 base
// URL).
//
// When a request carries a schema, it is sent as a strict json_schema
// response_format. A refusal, a content-filtered answer or an answer cut
// off at the token limit is an *llm.AnswerError; HTTP failures become
// *sextant.Error codes at this edge (see llm.HTTPError). The client's own
// retries are off: retry policy is llm.Limited's.
package openai

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/explain"
	"github.com/sextant-dev/sextant/internal/llm"
)

// DefaultBaseURL is OpenAI's API.
const DefaultBaseURL = "https://api.openai.com/v1"

// DefaultAzureAPIVersion is the Azure OpenAI data-plane API version used
// when none is configured (the GA version of Microsoft's reference).
const DefaultAzureAPIVersion = "2024-10-21"

// SchemaName names the answer schema in response_format.
const SchemaName = "answer"

// Config configures a Model.
type Config struct {
	// APIKey is sent as "Authorization: Bearer" (OpenAI and compatible
	// servers) or in the "api-key" header (Azure). It may be empty only
	// for a compatible server that needs none.
	APIKey string
	// Model is the model name; for Azure, the deployment name.
	Model string
	// BaseURL is the API's base, up to and including /v1 ("": OpenAI's,
	// DefaultBaseURL). For Ollama: http://localhost:11434/v1.
	BaseURL string
	// Azure, if set, talks to Azure OpenAI instead; BaseURL is ignored.
	Azure *Azure
	// LegacyMaxTokens sends the answer's bound as max_tokens instead of
	// max_completion_tokens, for servers that read only the older field
	// (Ollama). OpenAI's reasoning models reject it.
	LegacyMaxTokens bool
	// HTTPClient makes the requests (nil: the client's default).
	HTTPClient *http.Client
	// Now is the clock, for Retry-After dates (nil: time.Now).
	Now func() time.Time
}

// Azure locates an Azure OpenAI deployment: requests go to
// {Endpoint}/openai/deployments/{Config.Model}/chat/completions?api-version={APIVersion}.
type Azure struct {
	// Endpoint is the resource's endpoint,
	// https://{resource}.openai.azure.com.
	Endpoint string
	// APIVersion is the api-version parameter ("": DefaultAzureAPIVersion).
	APIVersion string
}

// Model is an explain.Model on the chat completions API.
type Model struct {
	c        Config
	provider string
	svc      oai.ChatCompletionService
}

var _ explain.Model = (*Model)(nil)

// New returns a Model for c.
func New(c Config) (*Model, error) {
	if c.Model == "" {
		return nil, sextant.Errorf(sextant.EINVALID, "openai: no model configured")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	// The client is built from explicit options only: no OPENAI_*
	// environment variable changes what sextant sends or where.
	opts := []option.RequestOption{option.WithMaxRetries(0)}
	if c.HTTPClient != nil {
		opts = append(opts, option.WithHTTPClient(c.HTTPClient))
	}
	m := &Model{c: c, provider: "openai"}
	if c.Azure != nil {
		m.provider = "azure"
		u, err := parseBase(c.Azure.Endpoint)
		if err != nil {
			return nil, err
		}
		u.Path = strings.TrimSuffix(u.Path, "/") + "/openai/deployments/" + url.PathEscape(c.Model) + "/"
		version := c.Azure.APIVersion
		if version == "" {
			version = DefaultAzureAPIVersion
		}
		if c.APIKey == "" {
			return nil, sextant.Errorf(sextant.EINVALID, "azure: no API key configured")
		}
		opts = append(opts, option.WithBaseURL(u.String()), option.WithQuery("api-version", version), option.WithHeader("api-key", c.APIKey))
	} else {
		base := c.BaseURL
		if base == "" {
			base = DefaultBaseURL
		}
		u, err := parseBase(base)
		if err != nil {
			return nil, err
		}
		opts = append(opts, option.WithBaseURL(u.String()))
		if c.APIKey != "" {
			opts = append(opts, option.WithAPIKey(c.APIKey))
		}
	}
	m.svc = oai.NewChatCompletionService(opts...)
	return m, nil
}

func parseBase(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, sextant.Errorf(sextant.EINVALID, "openai: base URL %q is not an http(s) URL", s)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u, nil
}

// Provider returns "openai", or "azure" for Azure OpenAI.
func (m *Model) Provider() string { return m.provider }

// Complete sends one chat completion request.
func (m *Model) Complete(ctx context.Context, req explain.Request) (explain.Response, error) {
	p := oai.ChatCompletionNewParams{
		Model: shared.ChatModel(m.c.Model),
		// "system" rather than "developer": OpenAI maps it for newer
		// models, and every compatible server knows it.
		Messages: []oai.ChatCompletionMessageParamUnion{oai.SystemMessage(req.System), oai.UserMessage(req.User)},
	}
	if req.MaxTokens > 0 {
		if m.c.LegacyMaxTokens {
			p.MaxTokens = oai.Int(int64(req.MaxTokens))
		} else {
			p.MaxCompletionTokens = oai.Int(int64(req.MaxTokens))
		}
	}
	if len(req.Schema) > 0 {
		if !json.Valid(req.Schema) {
			return explain.Response{}, sextant.Errorf(sextant.EINVALID, "%s: the answer schema is not JSON", m.provider)
		}
		p.ResponseFormat = oai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
			JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: SchemaName, Strict: oai.Bool(true), Schema: req.Schema},
		}}
	}
	res, err := m.svc.New(ctx, p)
	if err != nil {
		return explain.Response{}, m.edgeError(ctx, err)
	}
	u := llm.Usage{Model: res.Model, InputTokens: int(res.Usage.PromptTokens), OutputTokens: int(res.Usage.CompletionTokens)}
	if u.Model == "" {
		u.Model = m.c.Model
	}
	answerErr := func(kind, msg string) error {
		return &llm.AnswerError{Kind: kind, Provider: m.provider, Message: llm.Clip(msg, 200), Usage: u}
	}
	if len(res.Choices) == 0 {
		return explain.Response{}, answerErr(llm.Empty, "the response has no choices")
	}
	ch := res.Choices[0]
	switch {
	case ch.Message.Refusal != "":
		return explain.Response{}, answerErr(llm.Refused, ch.Message.Refusal)
	case ch.FinishReason == "content_filter":
		return explain.Response{}, answerErr(llm.Refused, "the answer was withheld by the content filter")
	case ch.FinishReason == "length":
		return explain.Response{}, answerErr(llm.Truncated, "the answer reached the token limit")
	case strings.TrimSpace(ch.Message.Content) == "":
		return explain.Response{}, answerErr(llm.Empty, "the answer has no content")
	}
	return explain.Response{Text: ch.Message.Content, InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, Model: u.Model}, nil
}

// edgeError translates a client error into sextant's codes.
func (m *Model) edgeError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var apiErr *oai.Error
	if !errors.As(err, &apiErr) {
		return llm.TransportError(m.provider, errors.New(llm.Scrub(err.Error(), m.c.APIKey)))
	}
	var h http.Header
	if apiErr.Response != nil {
		h = apiErr.Response.Header
	}
	var kinds []string
	for _, s := range []string{apiErr.Type, apiErr.Code} {
		if s != "" && s != "null" && s != strconv.Itoa(apiErr.StatusCode) && !slices.Contains(kinds, s) {
			kinds = append(kinds, s)
		}
	}
	detail := strings.Join(kinds, "/")
	// An authentication failure's message quotes part of the key; it
	// says nothing the status does not.
	if apiErr.StatusCode != http.StatusUnauthorized && apiErr.StatusCode != http.StatusForbidden && apiErr.Message != "" {
		detail = strings.TrimPrefix(detail+": "+apiErr.Message, ": ")
	}
	e := llm.HTTPError(m.provider, apiErr.StatusCode, h, llm.Scrub(detail, m.c.APIKey), m.c.Now())
	// An exhausted quota waits for a human, not for a minute.
	if apiErr.StatusCode == http.StatusTooManyRequests && (apiErr.Code == "insufficient_quota" || apiErr.Type == "insufficient_quota") {
		return llm.NoRetry(e)
	}
	return e
}
