// Package explain writes the words around an action: what the risk is, why
// the action has its priority, what to do and how to verify it. The
// decisions (priority, score, versions, commands) are made by code before
// this package sees the action; an explanation never changes them.
//
// An Explainer builds the action's Facts, redacts them (internal/redact),
// renders a versioned prompt (internal/prompt) with the facts and, fenced
// apart, the untrusted text of advisories, and asks a Model. The answer
// must be one JSON object of the prompt's schema and must be grounded:
// every CVE or GHSA ID, version, package name and command in it must appear
// in the facts that were sent, it must not name another priority, and it
// must not dismiss or approve the action. An answer that fails gets one
// repair attempt; if that fails too, the offline templates write the
// explanation instead. Without a Model the offline templates are used
// directly, and nothing leaves the machine.
//
// An Explainer makes at most one request per action, and one more to
// repair a rejected answer; with a Cache, none for an action whose
// redacted input, prompt and model are those of an answer cached before.
// Requests are not batched across actions: one structured answer per
// action keeps its grounding to its own facts, and an unchanged action
// still costs nothing thanks to the cache.
package explain

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/prompt"
	"github.com/sextant-dev/sextant/internal/redact"
)

// Model is a language model behind some provider. Providers implement it;
// explain only ever sends it redacted text.
type Model interface {
	Complete(ctx context.Context, req Request) (Response, error)
}

// Request is one completion request.
type Request struct {
	// System holds the prompt's instructions; User the facts and the
	// fenced untrusted text.
	System, User string
	// Schema is the JSON Schema the answer must follow, for providers that
	// can enforce it.
	Schema json.RawMessage
	// MaxTokens bounds the answer.
	MaxTokens int
	// Trace says what the request was made from, for audit trails.
	// Providers ignore it; it holds no text of the request.
	Trace Trace
}

// Trace identifies what a Request was made from: the action, the prompt
// and the redacted input, never any of their text.
type Trace struct {
	ActionID      string
	PromptID      string
	PromptVersion int
	PromptHash    string
	// InputHash is Explanation.InputHash; Redaction what was redacted
	// from the input, per kind.
	InputHash string
	Redaction redact.Report
	// Repair is set on the request that asks again after a rejected
	// answer.
	Repair bool
}

// Response is a model's answer.
type Response struct {
	Text                      string
	InputTokens, OutputTokens int
	// Model is the model that answered, as the provider names it.
	Model string
}

// Explanation is the explanation of one action, with what is needed to
// trace and reproduce it. Its JSON form is the "explanation" object of the
// sextant.triage/v1 output (docs/output.md).
type Explanation struct {
	// Text is the four parts below as one paragraph.
	Text        string `json:"text"`
	Risk        string `json:"risk"`
	WhyPriority string `json:"why_priority"`
	WhatToDo    string `json:"what_to_do"`
	HowToVerify string `json:"how_to_verify"`
	// CitedFacts are the fact keys the text rests on.
	CitedFacts []string `json:"cited_facts"`
	// Provider and Model wrote the text: "offline" and "template-v1" for
	// the templates.
	Provider string `json:"provider"`
	Model    string `json:"model"`
	// PromptID, PromptVersion and PromptHash identify the prompt sent (none
	// for the offline templates, which send nothing).
	PromptID      string `json:"prompt_id,omitempty"`
	PromptVersion int    `json:"prompt_version,omitzero"`
	PromptHash    string `json:"prompt_hash,omitempty"`
	// InputHash is the hex SHA-256 of the redacted facts and untrusted
	// text: the same input gives the same hash, whatever the prompt.
	InputHash string `json:"input_hash"`
	// Redaction counts what was redacted from the input, per kind.
	Redaction redact.Report `json:"redaction"`
	// Grounded reports that the text passed the grounding checks.
	Grounded bool `json:"grounded"`
	// Rejected lists why model answers were rejected, "reason: detail"
	// each (reasons: the Reject constants).
	Rejected []string `json:"rejected,omitempty"`
	// FallbackFrom names the provider and model whose answers were
	// rejected when the offline templates had to step in.
	FallbackFrom string `json:"fallback_from,omitempty"`
	InputTokens  int    `json:"input_tokens,omitzero"`
	OutputTokens int    `json:"output_tokens,omitzero"`
	// Cached reports that the model's answer came from the Explainer's
	// Cache: no call was made now, and the tokens are those spent when
	// the answer was first written.
	Cached bool `json:"cached,omitempty"`
}

// DefaultPrompt is the prompt an Explainer uses unless told otherwise.
const DefaultPrompt = "action-summary"

// Explainer explains actions.
type Explainer struct {
	// Model writes the words; nil means the offline templates.
	Model Model
	// Provider names the Model's provider in explanations ("openai").
	Provider string
	// Prompts is the prompt registry, needed with a Model.
	Prompts *prompt.Registry
	// PromptID selects the prompt (DefaultPrompt if ""), in its latest
	// version unless PromptVersion is set.
	PromptID      string
	PromptVersion int
	// InternalDomains and RegistryHosts configure redaction (see
	// redact.Redactor).
	InternalDomains []string
	RegistryHosts   []string
	// MaxTokens bounds each answer (0: 1024).
	MaxTokens int
	// ModelName is the configured model ("gpt-4.1-mini"), part of the
	// cache key: the model that answers is known only after the call.
	ModelName string
	// Cache, if set, keeps the Model's answers (see Cache): an action
	// whose redacted input, prompt and model are unchanged is explained
	// again without a call. The offline templates are never cached; they
	// cost less than a lookup.
	Cache Cache
}

// Explain explains action a (complete, as triage.Result.Explain returns
// it), given the findings it resolves that the caller has. It fails only
// when it is misconfigured (an unknown prompt or schema) or ctx ends; a
// model that fails or answers badly is recorded in Rejected and replaced by
// the offline templates.
func (e *Explainer) Explain(ctx context.Context, a sextant.Action, findings []sextant.Finding) (Explanation, error) {
	facts := BuildFacts(a, findings)
	// A fresh redactor per action: placeholders are consistent within the
	// facts of one action and say nothing across actions.
	r := &redact.Redactor{InternalDomains: e.InternalDomains, RegistryHosts: e.RegistryHosts, Keep: facts.versions()}
	sent, rep := facts.Redacted(r)
	factsJSON, err := json.MarshalIndent(sent, "", " ")
	if err != nil {
		return Explanation{}, err
	}
	// encoding/json writes <, > and & as \u escapes, so no text in the
	// data can close a fence.
	untrustedJSON, err := json.MarshalIndent(sent.Untrusted, "", " ")
	if err != nil {
		return Explanation{}, err
	}
	h := sha256.New()
	h.Write(factsJSON)
	h.Write([]byte{0})
	h.Write(untrustedJSON)
	x := Explanation{InputHash: hex.EncodeToString(h.Sum(nil)), Redaction: rep}

	if e.Model == nil {
		return offline(&facts, x), nil
	}
	p, err := e.prompt()
	if err != nil {
		return Explanation{}, err
	}
	schema, ok := schemas[p.Schema]
	if !ok {
		return Explanation{}, sextant.Errorf(sextant.EINVALID, "prompt %s asks for answers of schema %q, which this sextant does not know", p.Ref(), p.Schema)
	}
	system, user, err := p.Render(map[string]string{"Facts": string(factsJSON), "Untrusted": string(untrustedJSON)})
	if err != nil {
		return Explanation{}, err
	}
	x.PromptID, x.PromptVersion, x.PromptHash = p.ID, p.Version, p.Hash
	maxTokens := e.MaxTokens
	if maxTokens <= 0 {
		maxTokens = 1024
	}
	trace := Trace{ActionID: a.ID, PromptID: p.ID, PromptVersion: p.Version, PromptHash: p.Hash, InputHash: x.InputHash, Redaction: rep}
	req := Request{System: system, User: user, Schema: schema, MaxTokens: maxTokens, Trace: trace}
	g := newGroundSet(&sent)
	key := ""
	if e.Cache != nil {
		key = CacheKey(e.Provider, e.ModelName, p.ID, p.Version, p.Hash, x.InputHash)
		if y, ok := e.fromCache(ctx, key, &facts, g, x, r); ok {
			return y, nil
		}
	}
	model := ""
	var last Answer // the model's latest answer, rejected
	failed := false
	for attempt := 0; attempt < 2; attempt++ {
		req.Trace.Repair = attempt > 0
		resp, err := e.Model.Complete(ctx, req)
		if err != nil {
			if ctx.Err() != nil {
				return Explanation{}, ctx.Err()
			}
			// Retrying a failed call is the provider's business; a second
			// call here would only double the wait.
			x.Rejected = append(x.Rejected, RejectModelError+": "+clip(err.Error(), 200))
			failed = true
			break
		}
		x.InputTokens += resp.InputTokens
		x.OutputTokens += resp.OutputTokens
		model = resp.Model
		ans, perr := parseAnswer(resp.Text)
		var problems []string
		if perr != nil {
			problems = []string{RejectMalformed + ": " + clip(perr.Error(), 80)}
		} else {
			problems = groundWith(ans, g)
		}
		if len(problems) == 0 {
			x.Provider, x.Model, x.Grounded = e.Provider, model, true
			if key != "" {
				e.store(ctx, key, x, ans)
			}
			x.Risk, x.WhyPriority = r.Rehydrate(ans.Risk), r.Rehydrate(ans.WhyPriority)
			x.WhatToDo, x.HowToVerify = r.Rehydrate(ans.WhatToDo), r.Rehydrate(ans.HowToVerify)
			x.CitedFacts = ans.CitedFacts
			x.Text = paragraph(x.Risk, x.WhyPriority, x.WhatToDo, x.HowToVerify)
			return x, nil
		}
		x.Rejected = append(x.Rejected, problems...)
		last = ans
		req.User = user + "\n\nYour previous answer was rejected: " + strings.Join(problems, "; ") +
			". Answer again with one JSON object of the requested shape and nothing else. Name only identifiers, versions, package names and commands that appear in the facts, and keep the priority as the facts give it."
	}
	x.FallbackFrom = strings.Trim(e.Provider+"/"+model, "/")
	if key != "" && !failed {
		// Answered twice, rejected twice: asking again would most likely
		// cost two more calls for the same (see Cache).
		c := x
		c.Provider, c.Model = e.Provider, model
		e.store(ctx, key, c, last)
	}
	return offline(&facts, x), nil
}

func (e *Explainer) prompt() (prompt.Prompt, error) {
	if e.Prompts == nil {
		return prompt.Prompt{}, sextant.Errorf(sextant.EINVALID, "explainer has a model but no prompt registry")
	}
	id := e.PromptID
	if id == "" {
		id = DefaultPrompt
	}
	if e.PromptVersion > 0 {
		return e.Prompts.GetVersion(id, e.PromptVersion)
	}
	return e.Prompts.Get(id)
}

// offline fills x with the offline templates' explanation of f.
func offline(f *Facts, x Explanation) Explanation {
	ans := Offline(f)
	x.Provider, x.Model = OfflineProvider, OfflineModel
	x.PromptID, x.PromptVersion, x.PromptHash = "", 0, ""
	x.Risk, x.WhyPriority, x.WhatToDo, x.HowToVerify = ans.Risk, ans.WhyPriority, ans.WhatToDo, ans.HowToVerify
	x.CitedFacts = ans.CitedFacts
	x.Text = paragraph(ans.Risk, ans.WhyPriority, ans.WhatToDo, ans.HowToVerify)
	// The templates use nothing but the facts; checking them anyway keeps
	// the checks and the templates honest with each other.
	x.Grounded = len(ground(ans, f)) == 0
	return x
}

// paragraph joins sentences into one paragraph, ending each with a period
// if it has no closing punctuation.
func paragraph(parts ...string) string {
	var out []string
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !strings.ContainsAny(p[len(p)-1:], ".!?") {
			p += "."
		}
		out = append(out, p)
	}
	return strings.Join(out, " ")
}
