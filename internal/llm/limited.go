package llm

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/explain"
)

// Limits configure a Limited model. The zero value makes up to three
// attempts per request, with no concurrency limit, no timeout and no token
// budget.
type Limits struct {
	// Provider and Model name the provider and the configured model in
	// the accounting; a call's Model is the one that answered when known.
	Provider, Model string

	// MaxAttempts bounds the calls made for one request, the first one
	// included (0: 3; 1: no retries). Only ERATELIMITED and EUNAVAILABLE
	// failures are retried (see Retryable).
	MaxAttempts int
	// BaseDelay is the wait before the first retry when the provider did
	// not say how long to wait (0: 500ms). It doubles with each retry, up
	// to MaxDelay (0: 8s), less a random jitter of up to a quarter.
	BaseDelay, MaxDelay time.Duration
	// MaxRetryAfter is the longest Retry-After honoured (0: 1 minute): a
	// provider that asks for a longer wait gets no retry, and its error is
	// returned at once.
	MaxRetryAfter time.Duration

	// MaxConcurrency bounds the calls in flight at once (0: no limit).
	// Waiting for a slot respects the context; a call waiting to retry
	// does not hold one.
	MaxConcurrency int
	// Timeout bounds each call (0: none). A call that runs out of it
	// fails with EUNAVAILABLE and is retried like an unavailable provider.
	Timeout time.Duration

	// TokensPerHour and TokensPerDay bound the tokens spent over any
	// rolling hour and day (0: no bound). A call is made only if its
	// estimated input (a quarter of the prompt's bytes) and its whole
	// MaxTokens fit in what is left, counting the calls in flight; else
	// the request fails with ERATELIMITED "token budget exhausted" and
	// the provider is not called. What is spent is counted from the
	// providers' responses.
	TokensPerHour, TokensPerDay int

	// Prices gives each model's price (see PriceOf), for the cost in the
	// accounting; a model without a price has an unknown cost.
	Prices map[string]Price
	// OnCall, if set, receives the record of every call and of every
	// request the budget refused. It is called synchronously, from the
	// goroutine that made the call, and must not block.
	OnCall func(Call)

	// Now is the clock (nil: time.Now). Sleep waits for d or until ctx
	// ends (nil: a timer). Rand returns a number in [0, 1) for the jitter
	// (nil: math/rand/v2). Tests replace them.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	Rand  func() float64
}

// Limited is an explain.Model that calls another one within limits: it
// retries transient failures, bounds concurrency, times calls out, keeps
// token budgets and accounts for every call. It is safe for concurrent
// use.
type Limited struct {
	model explain.Model
	l     Limits
	sem   chan struct{}

	mu     sync.Mutex
	budget budget
	stats  Stats
}

var _ explain.Model = (*Limited)(nil)

// NewLimited returns m within the limits l.
func NewLimited(m explain.Model, l Limits) *Limited {
	if l.MaxAttempts <= 0 {
		l.MaxAttempts = 3
	}
	if l.BaseDelay <= 0 {
		l.BaseDelay = 500 * time.Millisecond
	}
	if l.MaxDelay <= 0 {
		l.MaxDelay = 8 * time.Second
	}
	if l.MaxRetryAfter <= 0 {
		l.MaxRetryAfter = time.Minute
	}
	if l.Now == nil {
		l.Now = time.Now
	}
	if l.Sleep == nil {
		l.Sleep = sleep
	}
	if l.Rand == nil {
		l.Rand = rand.Float64
	}
	x := &Limited{model: m, l: l, budget: budget{perHour: l.TokensPerHour, perDay: l.TokensPerDay}}
	x.stats.Outcomes = map[string]int{}
	if l.MaxConcurrency > 0 {
		x.sem = make(chan struct{}, l.MaxConcurrency)
	}
	return x
}

// Complete asks the model, within the limits. It returns the first
// answer, or the last failure once the attempts are used up or the failure
// is not worth retrying; a budget refusal or a Retry-After beyond
// MaxRetryAfter returns at once.
func (x *Limited) Complete(ctx context.Context, req explain.Request) (explain.Response, error) {
	need := estimate(req)
	for attempt := 1; ; attempt++ {
		resp, err := x.call(ctx, req, need, attempt)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return explain.Response{}, err
		}
		if attempt >= x.l.MaxAttempts || !Retryable(err) {
			return explain.Response{}, err
		}
		wait := sextant.ErrorRetryAfter(err)
		if wait > x.l.MaxRetryAfter {
			return explain.Response{}, err
		}
		if wait <= 0 {
			wait = x.backoff(attempt)
		}
		if serr := x.l.Sleep(ctx, wait); serr != nil {
			return explain.Response{}, fmt.Errorf("%w (while waiting %v to retry after: %v)", serr, wait, err)
		}
	}
}

// call makes one attempt: slot, budget, timeout, call, accounting. The
// slot comes first, so that requests waiting for one hold no part of the
// budget.
func (x *Limited) call(ctx context.Context, req explain.Request, need, attempt int) (explain.Response, error) {
	if x.sem != nil {
		select {
		case x.sem <- struct{}{}:
			defer func() { <-x.sem }()
		case <-ctx.Done():
			return explain.Response{}, ctx.Err()
		}
	}

	x.mu.Lock()
	err := x.budget.reserve(x.l.Now(), need)
	if err != nil {
		x.stats.BudgetRejected++
		x.stats.Outcomes[OutcomeBudget]++
		x.mu.Unlock()
		x.report(Call{At: x.l.Now(), Provider: x.l.Provider, Model: x.l.Model, Outcome: OutcomeBudget, Attempt: attempt})
		return explain.Response{}, err
	}
	x.mu.Unlock()
	// The reservation gives way to what the call spent, whatever happens.
	spent := 0
	defer func() {
		x.mu.Lock()
		x.budget.settle(x.l.Now(), need, spent)
		x.mu.Unlock()
	}()

	cctx, cancel := ctx, context.CancelFunc(func() {})
	if x.l.Timeout > 0 {
		cctx, cancel = context.WithTimeout(ctx, x.l.Timeout)
	}
	start := x.l.Now()
	resp, err := x.model.Complete(cctx, req)
	timedOut := err != nil && ctx.Err() == nil && cctx.Err() != nil
	cancel()
	latency := x.l.Now().Sub(start)

	c := Call{At: start, Provider: x.l.Provider, Model: x.l.Model, Latency: latency, Attempt: attempt, Outcome: outcome(err)}
	var aerr *AnswerError
	switch {
	case err == nil:
		c.Model, c.InputTokens, c.OutputTokens = resp.Model, resp.InputTokens, resp.OutputTokens
	case errors.As(err, &aerr):
		c.InputTokens, c.OutputTokens = aerr.Usage.InputTokens, aerr.Usage.OutputTokens
		if aerr.Usage.Model != "" {
			c.Model = aerr.Usage.Model
		}
	case timedOut:
		c.Outcome = OutcomeTimeout
		err = &sextant.Error{Code: sextant.EUNAVAILABLE, Message: fmt.Sprintf("%s: no answer within %v", x.l.Provider, x.l.Timeout)}
	case ctx.Err() != nil:
		c.Outcome = OutcomeCanceled
	}
	if c.Model == "" {
		c.Model = x.l.Model
	}
	if p, ok := PriceOf(x.l.Prices, c.Model); ok {
		cost := p.Cost(c.InputTokens, c.OutputTokens)
		c.CostUSD = &cost
	}
	spent = c.InputTokens + c.OutputTokens

	x.mu.Lock()
	s := &x.stats
	s.Calls++
	if attempt > 1 {
		s.Retries++
	}
	if err != nil {
		s.Failed++
	}
	s.Outcomes[c.Outcome]++
	s.InputTokens += c.InputTokens
	s.OutputTokens += c.OutputTokens
	if c.CostUSD != nil {
		s.CostUSD += *c.CostUSD
	} else if c.InputTokens+c.OutputTokens > 0 {
		s.Unpriced++
	}
	x.mu.Unlock()
	x.report(c)
	return resp, err
}

func (x *Limited) report(c Call) {
	if x.l.OnCall != nil {
		x.l.OnCall(c)
	}
}

// Limits returns the limits x keeps, defaults filled in.
func (x *Limited) Limits() Limits { return x.l }

// Stats returns a snapshot of the totals.
func (x *Limited) Stats() Stats {
	x.mu.Lock()
	defer x.mu.Unlock()
	s := x.stats
	s.Outcomes = make(map[string]int, len(x.stats.Outcomes))
	for k, v := range x.stats.Outcomes {
		s.Outcomes[k] = v
	}
	now := x.l.Now()
	x.budget.prune(now)
	s.LastHour, s.LastDay = x.budget.used(now, time.Hour), x.budget.used(now, 24*time.Hour)
	return s
}

// backoff is the wait before retry number attempt (1 for the first):
// exponential, capped, with jitter so that many callers turned away at
// once do not come back at once.
func (x *Limited) backoff(attempt int) time.Duration {
	d := x.l.BaseDelay
	for i := 1; i < attempt && d < x.l.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, x.l.MaxDelay)
	return d - time.Duration(x.l.Rand()*float64(d/4))
}

// estimate is what a request may spend: its input, at about four bytes a
// token, and all of its answer.
func estimate(req explain.Request) int {
	out := req.MaxTokens
	if out <= 0 {
		out = 1024
	}
	return (len(req.System)+len(req.User)+len(req.Schema))/4 + out
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
