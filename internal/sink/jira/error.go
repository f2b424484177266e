package jira

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
)

// maxRetryAfter bounds the wait a response can ask for, so that a broken
// header cannot overflow a time.Duration or park a delivery for a year.
const maxRetryAfter = 24 * time.Hour

// maxErrorMessage bounds the message of an error built from a response.
const maxErrorMessage = 1000

// apiError is Jira's error envelope, the same in both flavors: messages,
// and messages by field. Either may be missing or empty.
type apiError struct {
	ErrorMessages []string       `json:"errorMessages"`
	Errors        map[string]any `json:"errors"`
}

// decodeError maps a failed response to a sextant error: 400 and other
// client errors EINVALID (with Jira's messages), 401 and 403
// EUNAUTHORIZED, 404 ENOTFOUND, 409 ECONFLICT, 429 ERATELIMITED, 5xx
// EUNAVAILABLE. A 429 or 5xx carries the wait Jira asked for in RetryAfter
// (Retry-After in seconds or as an HTTP date; for a 429 without it,
// X-RateLimit-Reset). op names what was attempted; now is the time the
// response arrived.
func decodeError(op string, status int, h http.Header, body []byte, now time.Time) *sextant.Error {
	var code string
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		code = sextant.EUNAUTHORIZED
	case status == http.StatusNotFound:
		code = sextant.ENOTFOUND
	case status == http.StatusConflict:
		code = sextant.ECONFLICT
	case status == http.StatusTooManyRequests:
		code = sextant.ERATELIMITED
	case status >= 400 && status < 500:
		// 400, 422, and 410 from an API Jira has removed: sending the
		// same request again cannot succeed.
		code = sextant.EINVALID
	default:
		code = sextant.EUNAVAILABLE
	}
	msg := fmt.Sprintf("jira: %s: HTTP %d", op, status)
	if t := http.StatusText(status); t != "" {
		msg += " " + t
	}
	if d := errorDetails(body); d != "" {
		msg += ": " + d
	}
	e := &sextant.Error{Code: code, Message: truncate(msg, maxErrorMessage)}
	if status == http.StatusTooManyRequests || status >= 500 {
		e.RetryAfter = retryAfter(h, now)
		if status == http.StatusTooManyRequests && e.RetryAfter == 0 {
			e.RetryAfter = rateLimitReset(h.Get("X-RateLimit-Reset"), now)
		}
		if r := h.Get("RateLimit-Reason"); r != "" && status == http.StatusTooManyRequests {
			e.Message = truncate(e.Message+" (rate limit: "+oneLine(r, 60)+")", maxErrorMessage)
		}
	}
	return e
}

// errorDetails returns Jira's messages from an error body on one line, or
// a short excerpt of a body that is not Jira's envelope (a proxy's plain
// text); HTML pages are left out.
func errorDetails(body []byte) string {
	var ae apiError
	if err := json.Unmarshal(body, &ae); err == nil {
		var parts []string
		for _, m := range ae.ErrorMessages {
			if m = oneLine(m, 300); m != "" && len(parts) < 10 {
				parts = append(parts, m)
			}
		}
		fields := make([]string, 0, len(ae.Errors))
		for k := range ae.Errors {
			fields = append(fields, k)
		}
		slices.Sort(fields)
		for _, k := range fields {
			if len(parts) >= 20 {
				break
			}
			v := ae.Errors[k]
			s, ok := v.(string)
			if !ok {
				b, _ := json.Marshal(v)
				s = string(b)
			}
			parts = append(parts, oneLine(k, 80)+": "+oneLine(s, 300))
		}
		return strings.Join(parts, "; ")
	}
	s := oneLine(string(body[:min(len(body), 4096)]), 200)
	if strings.HasPrefix(s, "<") {
		return ""
	}
	return s
}

// retryAfter reads Retry-After: a number of seconds or an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n != n || n <= 0 { // NaN or not a wait
			return 0
		}
		if n >= maxRetryAfter.Seconds() {
			return maxRetryAfter
		}
		return time.Duration(n * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return clampWait(t.Sub(now))
	}
	return 0
}

// rateLimitReset reads Jira Cloud's X-RateLimit-Reset, an ISO-8601 time
// ("2026-08-21T10:15Z", or with seconds and an offset).
func rateLimitReset(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	for _, layout := range []string{"2006-01-02T15:04Z07:00", time.RFC3339, time.RFC3339Nano} {
		if t, err := time.Parse(layout, v); err == nil {
			return clampWait(t.Sub(now))
		}
	}
	return 0
}

func clampWait(d time.Duration) time.Duration {
	return min(max(d, 0), maxRetryAfter)
}
