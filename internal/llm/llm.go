// Package llm holds what every language-model provider shares. At the
// provider's edge: the translation of HTTP failures into sextant's error
// codes (HTTPError, with Retry-After), and the error of an answer that was
// paid for but cannot be used (AnswerError: refused, truncated, empty).
// Around any provider: Limited, an explain.Model that adds retries, a
// concurrency limit, a per-call timeout, token budgets and accounting.
//
// The providers live in subpackages, one per wire format (openai for
// OpenAI, Azure OpenAI and OpenAI-compatible servers; anthropic), and
// cmd/sextant wires them. Providers never retry by themselves: retry
// policy is Limited's, in one place.
package llm

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
)

// Usage is what one call to a provider consumed.
type Usage struct {
	// Model is the model that answered, as the provider names it.
	Model                     string
	InputTokens, OutputTokens int
}

// Kinds of AnswerError.
const (
	// Refused: the model declined to answer (OpenAI's refusal field,
	// Anthropic's stop_reason "refusal", Azure's content filter).
	Refused = "refused"
	// Truncated: the answer hit the token limit and was cut off.
	Truncated = "truncated"
	// Empty: the provider answered with no text at all.
	Empty = "empty"
)

// AnswerError is a call the provider answered, and billed, but whose
// answer cannot be used. It is not retried: asking again gives the same.
// Its code is EINVALID; the explainer records it as a rejected answer and
// falls back to the offline templates.
type AnswerError struct {
	// Kind is Refused, Truncated or Empty.
	Kind string
	// Provider names the provider ("openai").
	Provider string
	// Message is the model's refusal text or what was wrong, clipped.
	Message string
	// Usage is what the call consumed.
	Usage Usage
}

// Error returns "refused: openai gpt-4.1-mini: I can't help with that".
func (e *AnswerError) Error() string {
	return e.Kind + ": " + strings.TrimSpace(e.Provider+" "+e.Usage.Model) + ": " + e.Message
}

// Unwrap gives the error its sextant code, EINVALID.
func (e *AnswerError) Unwrap() error {
	return &sextant.Error{Code: sextant.EINVALID, Message: e.Error()}
}

// IsRefused reports whether err is a model's refusal to answer.
func IsRefused(err error) bool {
	var a *AnswerError
	return errors.As(err, &a) && a.Kind == Refused
}

// retryOverride is an error whose retryability the provider stated (an
// x-should-retry header, a quota that only a human can raise).
type retryOverride struct {
	err   error
	retry bool
}

func (e *retryOverride) Error() string { return e.err.Error() }
func (e *retryOverride) Unwrap() error { return e.err }

// NoRetry marks err as not worth retrying whatever its code: a 429 for an
// exhausted quota or spend limit, a response with "x-should-retry: false".
func NoRetry(err error) error {
	if err == nil {
		return nil
	}
	return &retryOverride{err: err, retry: false}
}

// Retryable reports whether a failed call may succeed if made again: its
// code is ERATELIMITED or EUNAVAILABLE, unless the provider said otherwise.
func Retryable(err error) bool {
	var o *retryOverride
	if errors.As(err, &o) {
		return o.retry
	}
	switch sextant.ErrorCode(err) {
	case sextant.ERATELIMITED, sextant.EUNAVAILABLE:
		return true
	}
	return false
}

// HTTPError translates a provider's error response into a *sextant.Error
// (possibly wrapped to carry the provider's retry advice):
//
//	401, 402, 403        EUNAUTHORIZED
//	404                  ENOTFOUND
//	408, 409             EUNAVAILABLE (transient: retried)
//	429                  ERATELIMITED, RetryAfter from the headers
//	500 and above (529)  EUNAVAILABLE, RetryAfter from the headers
//	other 4xx            EINVALID
//
// detail is what the provider said, already stripped of anything secret;
// it is appended to the message. An "x-should-retry" header overrides the
// status, as the providers' own SDKs do. now resolves a Retry-After given
// as an HTTP date.
func HTTPError(provider string, status int, h http.Header, detail string, now time.Time) error {
	code := sextant.EINVALID
	switch {
	case status == http.StatusUnauthorized || status == http.StatusPaymentRequired || status == http.StatusForbidden:
		code = sextant.EUNAUTHORIZED
	case status == http.StatusNotFound:
		code = sextant.ENOTFOUND
	case status == http.StatusRequestTimeout || status == http.StatusConflict:
		code = sextant.EUNAVAILABLE
	case status == http.StatusTooManyRequests:
		code = sextant.ERATELIMITED
	case status >= 500:
		code = sextant.EUNAVAILABLE
	}
	msg := fmt.Sprintf("%s: HTTP %d", provider, status)
	if t := http.StatusText(status); t != "" {
		msg += " " + t
	}
	if detail = strings.TrimSpace(detail); detail != "" {
		msg += ": " + Clip(detail, 300)
	}
	var err error = &sextant.Error{Code: code, Message: msg, RetryAfter: RetryAfter(h, now)}
	switch strings.ToLower(h.Get("x-should-retry")) {
	case "true":
		err = &retryOverride{err: err, retry: true}
	case "false":
		err = &retryOverride{err: err, retry: false}
	}
	return err
}

// RetryAfter returns how long the response headers ask to wait: the
// "retry-after-ms" header (milliseconds) first, then "retry-after"
// (seconds, fractions allowed, or an HTTP date). Absent, negative, NaN or
// infinite values give zero; more than a day gives a day.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	if h == nil {
		return 0
	}
	for _, x := range []struct {
		name string
		unit time.Duration
	}{{"retry-after-ms", time.Millisecond}, {"retry-after", time.Second}} {
		v := strings.TrimSpace(h.Get(x.name))
		if v == "" {
			continue
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
				continue
			}
			// Beyond a day is no advice anyone will follow; cap it so the
			// conversion cannot overflow.
			return time.Duration(min(f, float64(24*time.Hour/x.unit)) * float64(x.unit))
		}
		if x.name == "retry-after" {
			if t, err := http.ParseTime(v); err == nil {
				return min(max(t.Sub(now), 0), 24*time.Hour)
			}
		}
	}
	return 0
}

// TransportError translates a failure to reach the provider (no HTTP
// response: refused connection, reset, DNS) into EUNAVAILABLE.
func TransportError(provider string, err error) error {
	return &sextant.Error{Code: sextant.EUNAVAILABLE, Message: fmt.Sprintf("%s: no response: %s", provider, Clip(err.Error(), 300))}
}

// Clip shortens s to at most n bytes, on a rune boundary, marking the cut.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !isRuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// Scrub replaces every occurrence of the given secrets in s, so that a
// provider's message that echoes a key never reaches a log or an output.
func Scrub(s string, secrets ...string) string {
	for _, x := range secrets {
		if len(x) >= 4 {
			s = strings.ReplaceAll(s, x, "[redacted]")
		}
	}
	return s
}
