package llm_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/llm"
)

func TestHTTPError(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		status     int
		header     map[string]string
		wantCode   string
		wantAfter  time.Duration
		wantRetry  bool
		wantSuffix string
	}{
		{400, nil, sextant.EINVALID, 0, false, ""},
		{401, nil, sextant.EUNAUTHORIZED, 0, false, ""},
		{402, nil, sextant.EUNAUTHORIZED, 0, false, ""},
		{403, nil, sextant.EUNAUTHORIZED, 0, false, ""},
		{404, nil, sextant.ENOTFOUND, 0, false, ""},
		{408, nil, sextant.EUNAVAILABLE, 0, true, ""},
		{409, nil, sextant.EUNAVAILABLE, 0, true, ""},
		{413, nil, sextant.EINVALID, 0, false, ""},
		{422, nil, sextant.EINVALID, 0, false, ""},
		{429, map[string]string{"retry-after": "1"}, sextant.ERATELIMITED, time.Second, true, ""},
		{429, map[string]string{"retry-after-ms": "195", "retry-after": "1"}, sextant.ERATELIMITED, 195 * time.Millisecond, true, ""},
		{429, map[string]string{"retry-after": "0.5"}, sextant.ERATELIMITED, 500 * time.Millisecond, true, ""},
		{429, map[string]string{"retry-after": "Sun, 01 Mar 2026 09:00:37 GMT"}, sextant.ERATELIMITED, 37 * time.Second, true, ""},
		{429, map[string]string{"retry-after": "-3"}, sextant.ERATELIMITED, 0, true, ""},
		{429, map[string]string{"retry-after-ms": "NaN", "retry-after": "2"}, sextant.ERATELIMITED, 2 * time.Second, true, ""},
		{429, map[string]string{"retry-after": "soon"}, sextant.ERATELIMITED, 0, true, ""},
		{500, nil, sextant.EUNAVAILABLE, 0, true, ""},
		{500, map[string]string{"x-should-retry": "false"}, sextant.EUNAVAILABLE, 0, false, ""},
		{400, map[string]string{"x-should-retry": "true"}, sextant.EINVALID, 0, true, ""},
		{503, map[string]string{"retry-after": "3"}, sextant.EUNAVAILABLE, 3 * time.Second, true, ""},
		{529, nil, sextant.EUNAVAILABLE, 0, true, ""},
	} {
		t.Run(fmt.Sprint(tc.status, tc.header), func(t *testing.T) {
			h := http.Header{}
			for k, v := range tc.header {
				h.Set(k, v)
			}
			err := llm.HTTPError("openai", tc.status, h, "tokens/rate_limit_exceeded: slow down", now)
			if got := sextant.ErrorCode(err); got != tc.wantCode {
				t.Errorf("code = %q, want %q", got, tc.wantCode)
			}
			if got := sextant.ErrorRetryAfter(err); got != tc.wantAfter {
				t.Errorf("RetryAfter = %v, want %v", got, tc.wantAfter)
			}
			if got := llm.Retryable(err); got != tc.wantRetry {
				t.Errorf("Retryable = %v, want %v", got, tc.wantRetry)
			}
			want := fmt.Sprintf("openai: HTTP %d", tc.status)
			if got := sextant.ErrorMessage(err); len(got) < len(want) || got[:len(want)] != want {
				t.Errorf("message = %q, want it to start with %q", got, want)
			}
		})
	}
}

func TestHTTPErrorMessage(t *testing.T) {
	err := llm.HTTPError("anthropic", 529, nil, "overloaded_error: Overloaded", time.Time{})
	if got, want := err.Error(), "anthropic: HTTP 529: overloaded_error: Overloaded"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	err = llm.HTTPError("openai", 429, nil, "", time.Time{})
	if got, want := err.Error(), "openai: HTTP 429 Too Many Requests"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestAnswerError(t *testing.T) {
	var err error = &llm.AnswerError{Kind: llm.Refused, Provider: "openai", Message: "I can't help with that.", Usage: llm.Usage{Model: "gpt-4.1-mini"}}
	if got, want := err.Error(), "refused: openai gpt-4.1-mini: I can't help with that."; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if sextant.ErrorCode(err) != sextant.EINVALID || llm.Retryable(err) || !llm.IsRefused(fmt.Errorf("explain: %w", err)) {
		t.Errorf("a refusal: code %q, retryable %v, refused %v; want EINVALID, false, true", sextant.ErrorCode(err), llm.Retryable(err), llm.IsRefused(err))
	}
	if llm.IsRefused(&llm.AnswerError{Kind: llm.Truncated}) || llm.IsRefused(errors.New("refused")) {
		t.Errorf("IsRefused is true for something that is not a refusal")
	}
}

func TestNoRetry(t *testing.T) {
	err := llm.NoRetry(&sextant.Error{Code: sextant.ERATELIMITED, Message: "quota"})
	if llm.Retryable(err) || sextant.ErrorCode(err) != sextant.ERATELIMITED || err.Error() != "quota" {
		t.Errorf("NoRetry: retryable %v, code %q, message %q", llm.Retryable(err), sextant.ErrorCode(err), err.Error())
	}
	if llm.NoRetry(nil) != nil {
		t.Errorf("NoRetry(nil) != nil")
	}
}

func TestPrices(t *testing.T) {
	got, err := llm.ParsePrices(" gpt-4.1-mini=0.40/1.60, claude-haiku-4-5=1/5,")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]llm.Price{"gpt-4.1-mini": {0.40, 1.60}, "claude-haiku-4-5": {1, 5}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParsePrices (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"gpt-4.1-mini", "gpt=1", "=1/2", "gpt=a/2", "gpt=-1/2"} {
		if _, err := llm.ParsePrices(bad); sextant.ErrorCode(err) != sextant.EINVALID {
			t.Errorf("ParsePrices(%q) = %v, want EINVALID", bad, err)
		}
	}
	for _, tc := range []struct {
		model string
		ok    bool
	}{
		{"gpt-4.1-mini", true},
		{"gpt-4.1-mini-2025-04-14", true},
		{"claude-haiku-4-5-20251001", true},
		{"gpt-4.1", false},
		{"gpt-4.1-mini-high", false},
		{"llama3.1:8b", false},
	} {
		if _, ok := llm.PriceOf(want, tc.model); ok != tc.ok {
			t.Errorf("PriceOf(%q) found = %v, want %v", tc.model, ok, tc.ok)
		}
	}
	if c := (llm.Price{Input: 0.4, Output: 1.6}).Cost(1_000_000, 500_000); c != 1.2 {
		t.Errorf("Cost = %v, want 1.2", c)
	}
}

func TestClipAndScrub(t *testing.T) {
	if got := llm.Clip("héllo", 2); got != "h…" {
		t.Errorf("Clip = %q, want h…", got)
	}
	if got := llm.Clip("hello", 5); got != "hello" {
		t.Errorf("Clip = %q", got)
	}
	if got := llm.Scrub("bad key sk-abc123 given", "sk-abc123", ""); got != "bad key [redacted] given" {
		t.Errorf("Scrub = %q", got)
	}
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"1", "0.5", "-1", "NaN", "Inf", "1e308", "Sun, 01 Mar 2026 09:00:37 GMT", "soon", ""} {
		f.Add(s, "")
		f.Add("", s)
	}
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, ms, s string) {
		h := http.Header{}
		h.Set("retry-after-ms", ms)
		h.Set("retry-after", s)
		if d := llm.RetryAfter(h, now); d < 0 || d > 24*time.Hour+time.Hour {
			t.Errorf("RetryAfter(%q, %q) = %v, want between 0 and a day", ms, s, d)
		}
	})
}

func FuzzParsePrices(f *testing.F) {
	for _, s := range []string{"gpt-4.1-mini=0.40/1.60,claude-haiku-4-5=1/5", "a=1/2,", "=/", "a=NaN/1", "a=1e400/1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		prices, err := llm.ParsePrices(s)
		if err != nil {
			return
		}
		for m, p := range prices {
			if m == "" || !(p.Input >= 0) || !(p.Output >= 0) {
				t.Errorf("ParsePrices(%q): %q = %+v", s, m, p)
			}
		}
	})
}
