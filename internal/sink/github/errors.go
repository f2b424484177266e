package github

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
)

// maxErrorText bounds the text of GitHub's quoted in an error.
const maxErrorText = 300

// maxWait bounds a wait GitHub asks for, against a clock far off or a
// header gone wrong.
const maxWait = 24 * time.Hour

// secondaryWait is how long to wait after a secondary rate limit that says
// nothing else, as GitHub's documentation asks.
const secondaryWait = time.Minute

// apiError is GitHub's error body.
type apiError struct {
	Message          string
	DocumentationURL string
	Errors           []string
}

// statusError maps a non-2xx answer of the REST API to sextant's error
// codes. A rate limit is a 429, or a 403 with X-RateLimit-Remaining: 0
// (primary) or with a documentation_url about secondary rate limits:
// ERATELIMITED, waiting Retry-After, else until X-RateLimit-Reset, else a
// minute. Otherwise 401 and 403 are EUNAUTHORIZED, 404 ENOTFOUND, 409
// ECONFLICT, 410 (issues disabled), 400, 422 and the other 4xx EINVALID
// with GitHub's text, and 5xx EUNAVAILABLE.
func statusError(status int, h http.Header, body []byte, now time.Time) *sextant.Error {
	ae := decodeError(body)
	text := ae.Message
	if text == "" {
		text = http.StatusText(status)
	}
	if len(ae.Errors) > 0 {
		text += ": " + strings.Join(ae.Errors, "; ")
	}
	e := &sextant.Error{Message: fmt.Sprintf("HTTP %d: %s", status, truncate(text, maxErrorText, "…"))}
	limited := status == http.StatusTooManyRequests ||
		(status == http.StatusForbidden && (strings.TrimSpace(h.Get("X-RateLimit-Remaining")) == "0" || secondary(ae.DocumentationURL)))
	switch {
	case limited:
		e.Code = sextant.ERATELIMITED
		if e.RetryAfter = retryAfter(h, now); e.RetryAfter == 0 {
			if e.RetryAfter = resetAfter(h, now); e.RetryAfter == 0 {
				e.RetryAfter = secondaryWait
			}
		}
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Code = sextant.EUNAUTHORIZED
	case status == http.StatusNotFound:
		e.Code = sextant.ENOTFOUND
	case status == http.StatusConflict:
		e.Code = sextant.ECONFLICT
	case status == http.StatusRequestTimeout || status >= 500:
		e.Code = sextant.EUNAVAILABLE
		e.RetryAfter = retryAfter(h, now)
	default:
		e.Code = sextant.EINVALID
	}
	return e
}

// secondary reports whether a documentation_url points at the secondary
// (formerly "abuse") rate limits.
func secondary(doc string) bool {
	return strings.HasSuffix(doc, "secondary-rate-limits") || strings.HasSuffix(doc, "#abuse-rate-limits")
}

// decodeError reads GitHub's error body, {"message", "errors",
// "documentation_url"}, where each of "errors" is an object (resource,
// field, code, message) or a plain string. Every text is one clean line;
// a body that is not JSON gives the zero apiError.
func decodeError(body []byte) apiError {
	var raw struct {
		Message          json.RawMessage   `json:"message"`
		DocumentationURL json.RawMessage   `json:"documentation_url"`
		Errors           []json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &raw) != nil {
		// "errors" of another shape still leaves the message.
		raw.Errors = nil
		var m struct {
			Message          json.RawMessage `json:"message"`
			DocumentationURL json.RawMessage `json:"documentation_url"`
		}
		if json.Unmarshal(body, &m) != nil {
			return apiError{}
		}
		raw.Message, raw.DocumentationURL = m.Message, m.DocumentationURL
	}
	ae := apiError{
		Message:          truncate(oneLine(jsonText(raw.Message)), maxErrorText, "…"),
		DocumentationURL: truncate(oneLine(jsonText(raw.DocumentationURL)), maxErrorText, "…"),
	}
	for i, e := range raw.Errors {
		if i == 5 {
			ae.Errors = append(ae.Errors, fmt.Sprintf("and %d more", len(raw.Errors)-i))
			break
		}
		var s string
		var obj struct {
			Resource json.RawMessage `json:"resource"`
			Field    json.RawMessage `json:"field"`
			Code     json.RawMessage `json:"code"`
			Message  json.RawMessage `json:"message"`
		}
		switch {
		case json.Unmarshal(e, &s) == nil:
		case json.Unmarshal(e, &obj) == nil:
			s = jsonText(obj.Message)
			if s == "" {
				where := strings.Trim(jsonText(obj.Resource)+"."+jsonText(obj.Field), ".")
				s = strings.TrimSpace(where + " " + jsonText(obj.Code))
			}
		}
		if s = truncate(oneLine(s), 100, "…"); s != "" {
			ae.Errors = append(ae.Errors, s)
		}
	}
	return ae
}

// jsonText is a JSON string's value; any other JSON value gives "".
func jsonText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// retryAfter reads Retry-After, in seconds or as an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return wait(time.Duration(min(n, int64(maxWait/time.Second))) * time.Second)
	}
	if t, err := http.ParseTime(v); err == nil {
		return wait(t.Sub(now))
	}
	return 0
}

// resetAfter reads X-RateLimit-Reset (Unix seconds) as a wait from now.
func resetAfter(h http.Header, now time.Time) time.Duration {
	n, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-RateLimit-Reset")), 10, 64)
	if err != nil || n <= 0 || n > now.Unix()+int64(maxWait/time.Second) {
		return 0
	}
	return wait(time.Unix(n, 0).Sub(now))
}

// wait rounds d up to whole seconds, at least one, at most maxWait.
func wait(d time.Duration) time.Duration {
	if d < time.Second {
		return time.Second
	}
	if d > maxWait {
		return maxWait
	}
	return (d + time.Second - 1).Truncate(time.Second)
}
