package main

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/explain"
	"github.com/sextant-dev/sextant/internal/llm"
	"github.com/sextant-dev/sextant/internal/llm/anthropic"
	"github.com/sextant-dev/sextant/internal/llm/openai"
)

// The language-model providers SEXTANT_LLM names (docs/ai.md,
// "Providers"). Offline is the default: nothing leaves the machine unless
// a provider is asked for.
const (
	llmOffline    = "offline"
	llmOpenAI     = "openai"
	llmCompatible = "openai-compatible"
	llmAzure      = "azure"
	llmAnthropic  = "anthropic"
)

var llmProviders = []string{llmOffline, llmOpenAI, llmCompatible, llmAzure, llmAnthropic}

// defaultLLMModels are the models used unless SEXTANT_LLM_MODEL names
// another: small, current models that follow a JSON schema well. For
// Azure it is the deployment name, which is the model's name when the
// deployment was created with the portal's default. An OpenAI-compatible
// server has no default: its models are whatever it serves.
var defaultLLMModels = map[string]string{
	llmOpenAI:    "gpt-4.1-mini",
	llmAzure:     "gpt-4.1-mini",
	llmAnthropic: "claude-haiku-4-5",
}

// Defaults of the limits around a provider.
const (
	defaultLLMConcurrency = 4
	defaultLLMTimeout     = 60 * time.Second
)

// llmConfig is the language-model configuration, read from the
// environment.
type llmConfig struct {
	// provider is one of llmProviders.
	provider string
	model    string
	// baseURL is the API's base (OpenAI, compatible servers, Anthropic)
	// or the resource endpoint (Azure); "" for the provider's default.
	baseURL    string
	apiKey     string
	apiVersion string
	limits     llm.Limits
}

// llmConfig reads SEXTANT_LLM and what the provider it names needs. It
// fails on an unknown provider, a provider without its key, or a limit
// that is not a number, naming the variable and never printing a key.
func (m *Main) llmConfig() (llmConfig, error) {
	env := func(k string) string { return strings.TrimSpace(m.Getenv(k)) }
	c := llmConfig{provider: strings.ToLower(env("SEXTANT_LLM"))}
	if c.provider == "" {
		c.provider = llmOffline
	}
	known := false
	for _, p := range llmProviders {
		known = known || p == c.provider
	}
	if !known {
		return llmConfig{}, sextant.Errorf(sextant.EINVALID, "SEXTANT_LLM=%q: unknown provider; use one of %s", c.provider, strings.Join(llmProviders, ", "))
	}
	if c.provider == llmOffline {
		return c, nil
	}

	c.model = env("SEXTANT_LLM_MODEL")
	if c.model == "" {
		c.model = defaultLLMModels[c.provider]
	}
	c.baseURL = env("SEXTANT_LLM_BASE_URL")
	keyVar := map[string]string{llmOpenAI: "OPENAI_API_KEY", llmCompatible: "OPENAI_API_KEY", llmAzure: "AZURE_OPENAI_API_KEY", llmAnthropic: "ANTHROPIC_API_KEY"}[c.provider]
	c.apiKey = env(keyVar)
	switch c.provider {
	case llmCompatible:
		if c.baseURL == "" {
			return llmConfig{}, sextant.Errorf(sextant.EINVALID, "SEXTANT_LLM=openai-compatible needs SEXTANT_LLM_BASE_URL, the server's /v1 base (Ollama: http://localhost:11434/v1)")
		}
		if c.model == "" {
			return llmConfig{}, sextant.Errorf(sextant.EINVALID, "SEXTANT_LLM=openai-compatible needs SEXTANT_LLM_MODEL, a model the server serves")
		}
	case llmAzure:
		if c.baseURL == "" {
			c.baseURL = env("AZURE_OPENAI_ENDPOINT")
		}
		if c.baseURL == "" {
			return llmConfig{}, sextant.Errorf(sextant.EINVALID, "SEXTANT_LLM=azure needs AZURE_OPENAI_ENDPOINT, the resource's endpoint (https://RESOURCE.openai.azure.com)")
		}
		c.apiVersion = env("SEXTANT_LLM_API_VERSION")
	}
	// A compatible server may need no key (Ollama); the others do.
	if c.apiKey == "" && c.provider != llmCompatible {
		return llmConfig{}, sextant.Errorf(sextant.EINVALID, "SEXTANT_LLM=%s needs an API key in %s", c.provider, keyVar)
	}
	if c.baseURL != "" {
		if u, err := url.Parse(c.baseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v := "SEXTANT_LLM_BASE_URL"
			if c.provider == llmAzure && env("SEXTANT_LLM_BASE_URL") == "" {
				v = "AZURE_OPENAI_ENDPOINT"
			}
			return llmConfig{}, sextant.Errorf(sextant.EINVALID, "%s=%q is not an http(s) URL", v, c.baseURL)
		}
	}

	c.limits = llm.Limits{Provider: c.provider, Model: c.model, MaxConcurrency: defaultLLMConcurrency, Timeout: defaultLLMTimeout}
	var err error
	for _, x := range []struct {
		name string
		dst  *int
	}{
		{"SEXTANT_LLM_MAX_CONCURRENCY", &c.limits.MaxConcurrency},
		{"SEXTANT_LLM_TOKENS_PER_HOUR", &c.limits.TokensPerHour},
		{"SEXTANT_LLM_TOKENS_PER_DAY", &c.limits.TokensPerDay},
	} {
		v := env(x.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return llmConfig{}, sextant.Errorf(sextant.EINVALID, "%s=%q: want a whole number, 0 or more (0: no limit)", x.name, v)
		}
		*x.dst = n
	}
	if v := env("SEXTANT_LLM_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return llmConfig{}, sextant.Errorf(sextant.EINVALID, "SEXTANT_LLM_TIMEOUT=%q: want a duration such as 30s or 2m (0: none)", v)
		}
		c.limits.Timeout = d
	}
	if v := env("SEXTANT_LLM_PRICES"); v != "" {
		if c.limits.Prices, err = llm.ParsePrices(v); err != nil {
			return llmConfig{}, sextant.Errorf(sextant.EINVALID, "SEXTANT_LLM_PRICES: %s", sextant.ErrorMessage(err))
		}
	}
	return c, nil
}

// newModel returns the configured provider's model, within its limits;
// nil when offline.
func (c llmConfig) newModel() (*llm.Limited, error) {
	var (
		model explain.Model
		err   error
	)
	switch c.provider {
	case llmOffline:
		return nil, nil
	case llmOpenAI, llmCompatible:
		// A server other than OpenAI's may read only max_tokens (Ollama).
		model, err = openai.New(openai.Config{APIKey: c.apiKey, Model: c.model, BaseURL: c.baseURL, LegacyMaxTokens: c.provider == llmCompatible})
	case llmAzure:
		model, err = openai.New(openai.Config{APIKey: c.apiKey, Model: c.model, Azure: &openai.Azure{Endpoint: c.baseURL, APIVersion: c.apiVersion}})
	case llmAnthropic:
		model, err = anthropic.New(anthropic.Config{APIKey: c.apiKey, Model: c.model, BaseURL: c.baseURL})
	}
	if err != nil {
		return nil, err
	}
	return llm.NewLimited(model, c.limits), nil
}
