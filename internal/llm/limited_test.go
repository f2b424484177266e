package llm_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/explain"
	"github.com/sextant-dev/sextant/internal/llm"
)

// clock is a fake clock whose Sleep records the wait and moves time on.
type clock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

func (c *clock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

// script is a model that returns its results in turn (the last repeats).
type script struct {
	mu      sync.Mutex
	results []result
	calls   int
}

type result struct {
	resp explain.Response
	err  error
}

func ok(in, out int) result {
	return result{resp: explain.Response{Text: "{}", InputTokens: in, OutputTokens: out, Model: "gpt-4.1-mini-2025-04-14"}}
}

func fail(err error) result { return result{err: err} }

func (s *script) Complete(ctx context.Context, req explain.Request) (explain.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.results[min(s.calls, len(s.results)-1)]
	s.calls++
	return r.resp, r.err
}

func (s *script) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func limits(c *clock) llm.Limits {
	return llm.Limits{Provider: "openai", Model: "gpt-4.1-mini", Now: c.Now, Sleep: c.Sleep, Rand: func() float64 { return 0 }}
}

var req = explain.Request{System: strings.Repeat("s", 400), User: strings.Repeat("u", 3600), MaxTokens: 1000}

func rateLimited(after time.Duration) error {
	return &sextant.Error{Code: sextant.ERATELIMITED, Message: "openai: HTTP 429", RetryAfter: after}
}

var unavailable = sextant.Errorf(sextant.EUNAVAILABLE, "openai: HTTP 500")

func TestLimitedRetries(t *testing.T) {
	for _, tc := range []struct {
		name      string
		results   []result
		limits    func(*llm.Limits)
		wantCalls int
		wantSlept []time.Duration
		wantCode  string
	}{
		{"ok", []result{ok(10, 5)}, nil, 1, nil, ""},
		{"429 honours Retry-After", []result{fail(rateLimited(2 * time.Second)), ok(10, 5)}, nil, 2, []time.Duration{2 * time.Second}, ""},
		{"500 backs off", []result{fail(unavailable), ok(10, 5)}, nil, 2, []time.Duration{500 * time.Millisecond}, ""},
		{"429 without Retry-After backs off", []result{fail(rateLimited(0)), fail(rateLimited(0)), ok(1, 1)}, nil, 3, []time.Duration{500 * time.Millisecond, time.Second}, ""},
		{"attempts bounded", []result{fail(unavailable)}, nil, 3, []time.Duration{500 * time.Millisecond, time.Second}, sextant.EUNAVAILABLE},
		{"backoff doubles to the cap", []result{fail(unavailable)}, func(l *llm.Limits) { l.MaxAttempts = 6; l.MaxDelay = 3 * time.Second },
			6, []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}, sextant.EUNAVAILABLE},
		{"no retries with one attempt", []result{fail(unavailable)}, func(l *llm.Limits) { l.MaxAttempts = 1 }, 1, nil, sextant.EUNAVAILABLE},
		{"401 not retried", []result{fail(sextant.Errorf(sextant.EUNAUTHORIZED, "openai: HTTP 401"))}, nil, 1, nil, sextant.EUNAUTHORIZED},
		{"400 not retried", []result{fail(sextant.Errorf(sextant.EINVALID, "openai: HTTP 400"))}, nil, 1, nil, sextant.EINVALID},
		{"refusal not retried", []result{fail(&llm.AnswerError{Kind: llm.Refused, Provider: "openai", Message: "no"})}, nil, 1, nil, sextant.EINVALID},
		{"quota not retried", []result{fail(llm.NoRetry(rateLimited(0)))}, nil, 1, nil, sextant.ERATELIMITED},
		{"Retry-After too long not waited for", []result{fail(rateLimited(10 * time.Minute)), ok(1, 1)}, nil, 1, nil, sextant.ERATELIMITED},
		{"unknown error not retried", []result{fail(errors.New("boom"))}, nil, 1, nil, sextant.EINTERNAL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			l := limits(c)
			if tc.limits != nil {
				tc.limits(&l)
			}
			m := &script{results: tc.results}
			_, err := llm.NewLimited(m, l).Complete(context.Background(), req)
			if got := sextant.ErrorCode(err); got != tc.wantCode {
				t.Errorf("Complete error = %v (code %q), want code %q", err, got, tc.wantCode)
			}
			if m.Calls() != tc.wantCalls {
				t.Errorf("%d calls, want %d", m.Calls(), tc.wantCalls)
			}
			if diff := cmp.Diff(tc.wantSlept, c.Slept()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLimitedJitter(t *testing.T) {
	c := newClock()
	l := limits(c)
	l.Rand = func() float64 { return 0.999 }
	llm.NewLimited(&script{results: []result{fail(unavailable), ok(1, 1)}}, l).Complete(context.Background(), req)
	got := c.Slept()
	if len(got) != 1 || got[0] > 500*time.Millisecond || got[0] <= 375*time.Millisecond {
		t.Errorf("waits = %v, want one in (375ms, 500ms]", got)
	}
}

func TestLimitedContextEndsWhileWaiting(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	l := llm.Limits{Sleep: func(ctx context.Context, d time.Duration) error { cancel(); return ctx.Err() }}
	m := &script{results: []result{fail(rateLimited(time.Second)), ok(1, 1)}}
	_, err := llm.NewLimited(m, l).Complete(ctx, req)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Complete = %v, want context.Canceled", err)
	}
	if m.Calls() != 1 {
		t.Errorf("%d calls after the context ended, want 1", m.Calls())
	}
}

// blocking is a model that waits for its context to end.
type blocking struct{}

func (blocking) Complete(ctx context.Context, req explain.Request) (explain.Response, error) {
	<-ctx.Done()
	return explain.Response{}, ctx.Err()
}

func TestLimitedTimeout(t *testing.T) {
	c := newClock()
	l := limits(c)
	l.Timeout, l.MaxAttempts = time.Millisecond, 2
	var calls []llm.Call
	l.OnCall = func(x llm.Call) { calls = append(calls, x) }
	_, err := llm.NewLimited(blocking{}, l).Complete(context.Background(), req)
	if sextant.ErrorCode(err) != sextant.EUNAVAILABLE || !strings.Contains(err.Error(), "no answer within 1ms") {
		t.Errorf("Complete = %v, want EUNAVAILABLE no answer within 1ms", err)
	}
	if len(calls) != 2 || calls[0].Outcome != llm.OutcomeTimeout {
		t.Errorf("calls = %+v, want 2 timeouts (the timeout is retried)", calls)
	}
}

func TestLimitedBudget(t *testing.T) {
	c := newClock()
	l := limits(c)
	// req is estimated at 1000 input + 1000 output tokens.
	l.TokensPerHour, l.TokensPerDay = 5000, 6000
	m := &script{results: []result{ok(1000, 600)}}
	x := llm.NewLimited(m, l)
	ctx := context.Background()
	for i := range 2 {
		if _, err := x.Complete(ctx, req); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		c.Advance(10 * time.Minute)
	}
	// 3200 spent this hour; 2000 more may not fit.
	_, err := x.Complete(ctx, req)
	if sextant.ErrorCode(err) != sextant.ERATELIMITED || !strings.HasPrefix(sextant.ErrorMessage(err), "token budget exhausted") {
		t.Fatalf("third call = %v, want ERATELIMITED token budget exhausted", err)
	}
	if m.Calls() != 2 {
		t.Errorf("the provider was called %d times, want 2: a call over the budget must not reach it", m.Calls())
	}
	// The first 1600 age out an hour after they were spent, 40 minutes on.
	if got := sextant.ErrorRetryAfter(err); got != 40*time.Minute {
		t.Errorf("RetryAfter = %v, want 40m", got)
	}
	if llm.Retryable(err) {
		t.Errorf("a budget refusal is retryable; Limited would wait an hour")
	}
	if len(c.Slept()) != 0 {
		t.Errorf("waited %v on a budget refusal", c.Slept())
	}

	c.Advance(40 * time.Minute)
	if _, err := x.Complete(ctx, req); err != nil {
		t.Fatalf("after the hour: %v", err)
	}
	// The day has 4800 spent: 2000 more would pass 6000.
	c.Advance(2 * time.Hour)
	if _, err := x.Complete(ctx, req); sextant.ErrorCode(err) != sextant.ERATELIMITED || !strings.Contains(err.Error(), "per day") {
		t.Errorf("over the daily budget: %v, want token budget exhausted per day", err)
	}
	s := x.Stats()
	if s.Calls != 3 || s.BudgetRejected != 2 || s.LastDay != 4800 || s.LastHour != 0 {
		t.Errorf("stats = %+v, want 3 calls, 2 budget refusals, 4800 tokens today, 0 this hour", s)
	}
	c.Advance(24 * time.Hour)
	if _, err := x.Complete(ctx, req); err != nil {
		t.Errorf("the next day: %v", err)
	}
}

func TestLimitedBudgetSmallerThanOneCall(t *testing.T) {
	l := limits(newClock())
	l.TokensPerHour = 1500
	m := &script{results: []result{ok(1, 1)}}
	_, err := llm.NewLimited(m, l).Complete(context.Background(), req)
	if sextant.ErrorCode(err) != sextant.ERATELIMITED || !strings.Contains(err.Error(), "more than the 1500 tokens per hour") || m.Calls() != 0 {
		t.Errorf("Complete = %v after %d calls, want a refusal naming the budget and no call", err, m.Calls())
	}
}

// gate is a model that counts the calls in flight and holds each until
// released.
type gate struct {
	mu          sync.Mutex
	inFlight    int
	maxInFlight int
	arrived     chan struct{}
	release     chan struct{}
}

func (g *gate) Complete(ctx context.Context, req explain.Request) (explain.Response, error) {
	g.mu.Lock()
	g.inFlight++
	g.maxInFlight = max(g.maxInFlight, g.inFlight)
	g.mu.Unlock()
	g.arrived <- struct{}{}
	<-g.release
	g.mu.Lock()
	g.inFlight--
	g.mu.Unlock()
	return explain.Response{Text: "{}", InputTokens: 1, OutputTokens: 1}, nil
}

func TestLimitedConcurrency(t *testing.T) {
	g := &gate{arrived: make(chan struct{}, 16), release: make(chan struct{})}
	x := llm.NewLimited(g, llm.Limits{MaxConcurrency: 2})
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			if _, err := x.Complete(context.Background(), req); err != nil {
				t.Error(err)
			}
		})
	}
	// Two calls get in; each one released lets one more in.
	<-g.arrived
	<-g.arrived
	for i := range 6 {
		g.release <- struct{}{}
		if i < 4 {
			<-g.arrived
		}
	}
	wg.Wait()
	if g.maxInFlight != 2 {
		t.Errorf("at most %d calls in flight, want 2", g.maxInFlight)
	}
}

func TestLimitedConcurrencyWaitRespectsContext(t *testing.T) {
	g := &gate{arrived: make(chan struct{}, 1), release: make(chan struct{})}
	x := llm.NewLimited(g, llm.Limits{MaxConcurrency: 1})
	done := make(chan struct{})
	go func() {
		x.Complete(context.Background(), req)
		close(done)
	}()
	<-g.arrived
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := x.Complete(ctx, req); !errors.Is(err, context.Canceled) {
		t.Errorf("waiting for a slot with an ended context = %v, want context.Canceled", err)
	}
	close(g.release)
	<-done
}

func TestLimitedAccounting(t *testing.T) {
	c := newClock()
	l := limits(c)
	l.Prices = map[string]llm.Price{"gpt-4.1-mini": {Input: 0.40, Output: 1.60}}
	var calls []llm.Call
	l.OnCall = func(x llm.Call) { calls = append(calls, x) }
	refusal := &llm.AnswerError{Kind: llm.Refused, Provider: "openai", Message: "no", Usage: llm.Usage{Model: "gpt-4.1-mini-2025-04-14", InputTokens: 100, OutputTokens: 10}}
	m := &script{results: []result{fail(rateLimited(time.Second)), ok(1000, 500), fail(refusal), {resp: explain.Response{Text: "{}", InputTokens: 7, OutputTokens: 3, Model: "llama3.1:8b"}}}}
	x := llm.NewLimited(m, l)
	x.Complete(context.Background(), req)
	x.Complete(context.Background(), req)
	x.Complete(context.Background(), req)

	cost := func(f float64) *float64 { return &f }
	want := []llm.Call{
		{Provider: "openai", Model: "gpt-4.1-mini", Outcome: sextant.ERATELIMITED, Attempt: 1, CostUSD: cost(0)},
		{Provider: "openai", Model: "gpt-4.1-mini-2025-04-14", InputTokens: 1000, OutputTokens: 500, Outcome: llm.OutcomeOK, Attempt: 2, CostUSD: cost(0.0012)},
		{Provider: "openai", Model: "gpt-4.1-mini-2025-04-14", InputTokens: 100, OutputTokens: 10, Outcome: llm.Refused, Attempt: 1, CostUSD: cost(0.000056)},
		{Provider: "openai", Model: "llama3.1:8b", InputTokens: 7, OutputTokens: 3, Outcome: llm.OutcomeOK, Attempt: 1},
	}
	if diff := cmp.Diff(want, calls, cmp.Comparer(func(a, b time.Time) bool { return true }), cmp.Comparer(func(a, b *float64) bool {
		if a == nil || b == nil {
			return a == b
		}
		return *a-*b < 1e-12 && *b-*a < 1e-12
	})); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	s := x.Stats()
	if s.Calls != 4 || s.Retries != 1 || s.Failed != 2 || s.InputTokens != 1107 || s.OutputTokens != 513 || s.Unpriced != 1 ||
		s.Outcomes[llm.OutcomeOK] != 2 || s.Outcomes[llm.Refused] != 1 || s.Outcomes[sextant.ERATELIMITED] != 1 {
		t.Errorf("stats = %+v", s)
	}
	if s.CostUSD < 0.001256-1e-9 || s.CostUSD > 0.001256+1e-9 {
		t.Errorf("cost = %v, want 0.001256", s.CostUSD)
	}
	if got, want := s.String(), "4 calls (1 retry, 1 rate_limited, 1 refused), 1107 input + 513 output tokens, at least $0.0013 (1 call of unpriced models)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
