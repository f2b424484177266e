package llm

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
)

// Outcomes of a call that are not error codes. A failed call's outcome is
// its AnswerError kind (Refused, Truncated, Empty) or its sextant error
// code (sextant.ERATELIMITED, sextant.EUNAUTHORIZED, …).
const (
	OutcomeOK       = "ok"
	OutcomeBudget   = "budget_exhausted" // refused by Limited's token budget; the provider was not called
	OutcomeTimeout  = "timeout"          // Limited's per-call timeout ran out
	OutcomeCanceled = "canceled"         // the caller's context ended
)

// Call is the record of one call to a provider (one attempt: a retried
// request makes several calls), or of one request the token budget
// refused.
type Call struct {
	// At is when the call started.
	At       time.Time
	Provider string
	// Model is the model that answered, or the configured one when the
	// call failed before any answer named one.
	Model                     string
	InputTokens, OutputTokens int
	Latency                   time.Duration
	// Outcome is OutcomeOK or why the call failed (see the Outcome
	// constants).
	Outcome string
	// Attempt counts the calls for one request, from 1.
	Attempt int
	// CostUSD is the call's cost from the price table; nil when the model
	// has no price (unknown, not zero).
	CostUSD *float64
}

// Stats are the totals of a Limited since it was made.
type Stats struct {
	// Calls counts the calls made to the provider; Failed those that
	// failed and Retries those that repeated an earlier failed call.
	Calls, Failed, Retries int
	// BudgetRejected counts requests the token budget refused without
	// calling the provider.
	BudgetRejected int
	// Outcomes counts calls (and budget refusals) by outcome.
	Outcomes                  map[string]int
	InputTokens, OutputTokens int
	// CostUSD sums the cost of the calls whose model has a price.
	// Unpriced counts the calls that used tokens of a model without one:
	// when it is not zero, CostUSD is a lower bound.
	CostUSD  float64
	Unpriced int
	// LastHour and LastDay are the tokens the budget counts now, over the
	// rolling hour and day.
	LastHour, LastDay int
}

// Price is what a model costs, in US dollars per million tokens.
type Price struct {
	Input, Output float64
}

// Cost returns the cost of a call with the given token counts.
func (p Price) Cost(in, out int) float64 {
	return (float64(in)*p.Input + float64(out)*p.Output) / 1e6
}

// datedSuffix matches the snapshot date providers append to the model
// they report: "gpt-4.1-mini-2025-04-14", "claude-haiku-4-5-20251001".
var datedSuffix = regexp.MustCompile(`-(?:\d{4}-\d{2}-\d{2}|\d{8})$`)

// PriceOf returns the price of model in prices: the entry of its exact
// name, or else of its name without a snapshot date, so that a price for
// "gpt-4.1-mini" covers "gpt-4.1-mini-2025-04-14" but not "gpt-4.1".
func PriceOf(prices map[string]Price, model string) (Price, bool) {
	if p, ok := prices[model]; ok {
		return p, true
	}
	if base := datedSuffix.ReplaceAllString(model, ""); base != model {
		p, ok := prices[base]
		return p, ok
	}
	return Price{}, false
}

// ParsePrices reads a price table written as comma-separated
// MODEL=INPUT/OUTPUT entries, in US dollars per million tokens:
// "gpt-4.1-mini=0.40/1.60,claude-haiku-4-5=1/5".
func ParsePrices(s string) (map[string]Price, error) {
	out := map[string]Price{}
	for _, e := range strings.Split(s, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		model, rest, ok := strings.Cut(e, "=")
		in, outp, ok2 := strings.Cut(rest, "/")
		model = strings.TrimSpace(model)
		if !ok || !ok2 || model == "" {
			return nil, sextant.Errorf(sextant.EINVALID, "price %q: want MODEL=INPUT/OUTPUT in USD per million tokens, such as gpt-4.1-mini=0.40/1.60", e)
		}
		pi, err1 := strconv.ParseFloat(strings.TrimSpace(in), 64)
		po, err2 := strconv.ParseFloat(strings.TrimSpace(outp), 64)
		if err1 != nil || err2 != nil || !(pi >= 0) || !(po >= 0) || math.IsInf(pi, 0) || math.IsInf(po, 0) {
			return nil, sextant.Errorf(sextant.EINVALID, "price %q: the prices must be non-negative numbers", e)
		}
		out[model] = Price{Input: pi, Output: po}
	}
	return out, nil
}

// outcome names how a call ended.
func outcome(err error) string {
	if err == nil {
		return OutcomeOK
	}
	var a *AnswerError
	if errors.As(err, &a) {
		return a.Kind
	}
	return sextant.ErrorCode(err)
}

// String summarises the stats in one line: "3 calls (1 retry), 1200 input
// + 300 output tokens, $0.0010".
func (s Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d call%s", s.Calls, plural(s.Calls))
	var notes []string
	if s.Retries > 0 {
		notes = append(notes, fmt.Sprintf("%d retr%s", s.Retries, map[bool]string{true: "y", false: "ies"}[s.Retries == 1]))
	}
	var failed []string
	for o, n := range s.Outcomes {
		if o != OutcomeOK && o != OutcomeBudget {
			failed = append(failed, fmt.Sprintf("%d %s", n, o))
		}
	}
	sort.Strings(failed)
	notes = append(notes, failed...)
	if s.BudgetRejected > 0 {
		notes = append(notes, fmt.Sprintf("%d refused by the token budget", s.BudgetRejected))
	}
	if len(notes) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(notes, ", "))
	}
	fmt.Fprintf(&b, ", %d input + %d output tokens", s.InputTokens, s.OutputTokens)
	switch {
	case s.Unpriced > 0 && s.CostUSD > 0:
		fmt.Fprintf(&b, ", at least $%.4f (%d call%s of unpriced models)", s.CostUSD, s.Unpriced, plural(s.Unpriced))
	case s.Unpriced > 0:
		b.WriteString(", cost unknown (no price for the model)")
	case s.InputTokens+s.OutputTokens > 0:
		fmt.Fprintf(&b, ", $%.4f", s.CostUSD)
	}
	return b.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
