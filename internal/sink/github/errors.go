package github

import (
	"encoding/json"
	"fmt"
	"github.com/sextant-dev/sextant/internal/sink/sinkhttp"
	"net/http"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
)

// maxErrorText bounds the text of GitHub's quoted in an error.
const maxErrorText = 300

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
		if e.RetryAfter = sinkhttp.RetryAfter(h, now); e.RetryAfter == 0 {
			if e.RetryAfter = sinkhttp.ResetAfter(h, "X-RateLimit-Reset", now); e.RetryAfter == 0 {
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
		e.RetryAfter = sinkhttp.RetryAfter(h, now)
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
		Message:          truncate(oneLine(sinkhttp.JSONText(raw.Message)), maxErrorText, "…"),
		DocumentationURL: truncate(oneLine(sinkhttp.JSONText(raw.DocumentationURL)), maxErrorText, "…"),
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
			s = sinkhttp.JSONText(obj.Message)
			if s == "" {
				where := strings.Trim(sinkhttp.JSONText(obj.Resource)+"."+sinkhttp.JSONText(obj.Field), ".")
				s = strings.TrimSpace(where + " " + sinkhttp.JSONText(obj.Code))
			}
		}
		if s = truncate(oneLine(s), 100, "…"); s != "" {
			ae.Errors = append(ae.Errors, s)
		}
	}
	return ae
}
