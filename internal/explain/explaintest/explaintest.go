// Package explaintest provides a scripted explain.Model for tests: it
// answers from a script and records every request, so that tests can check
// what would have been sent to a provider.
package explaintest

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/sextant-dev/sextant/internal/explain"
)

// Model answers each request with Respond, or else with the next of
// Answers (the last one repeats). It is safe for concurrent use.
type Model struct {
	// Name is reported as the answering model ("fake-1" if "").
	Name string
	// Answers are the texts returned in turn.
	Answers []string
	// Respond, if set, computes the answer from the request instead.
	Respond func(req explain.Request) (string, error)
	// Err, if set, is returned for every request.
	Err error

	mu       sync.Mutex
	requests []explain.Request
}

var _ explain.Model = (*Model)(nil)

// Complete records req and returns the scripted answer.
func (m *Model) Complete(ctx context.Context, req explain.Request) (explain.Response, error) {
	m.mu.Lock()
	n := len(m.requests)
	m.requests = append(m.requests, req)
	m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return explain.Response{}, err
	}
	if m.Err != nil {
		return explain.Response{}, m.Err
	}
	name := m.Name
	if name == "" {
		name = "fake-1"
	}
	var text string
	switch {
	case m.Respond != nil:
		t, err := m.Respond(req)
		if err != nil {
			return explain.Response{}, err
		}
		text = t
	case len(m.Answers) > 0:
		text = m.Answers[min(n, len(m.Answers)-1)]
	}
	return explain.Response{Text: text, InputTokens: len(req.System+req.User) / 4, OutputTokens: len(text) / 4, Model: name}, nil
}

// Requests returns the requests received so far.
func (m *Model) Requests() []explain.Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]explain.Request(nil), m.requests...)
}

// Answer returns the JSON text of an answer with the given fields.
func Answer(risk, why, what, verify string, cited ...string) string {
	if cited == nil {
		cited = []string{}
	}
	b, _ := json.Marshal(explain.Answer{Risk: risk, WhyPriority: why, WhatToDo: what, HowToVerify: verify, CitedFacts: cited})
	return string(b)
}
