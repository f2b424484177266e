package servicenow

import (
	"encoding/json"
	"fmt"
	"github.com/sextant-dev/sextant/internal/sink/sinkhttp"
	"net/http"
	"time"

	"github.com/sextant-dev/sextant"
)

// maxErrorText bounds the destination's text quoted in an error.
const maxErrorText = 300

// statusError maps a non-2xx answer of the Table API to sextant's error
// codes: 400/422 (and the other 4xx) EINVALID with the instance's error
// text, 401 and 403 EUNAUTHORIZED, 404 ENOTFOUND, 409 ECONFLICT, 429
// ERATELIMITED and 5xx EUNAVAILABLE, with RetryAfter from Retry-After or
// X-RateLimit-Reset (Unix seconds).
func statusError(status int, h http.Header, body []byte, now time.Time) *sextant.Error {
	text := decodeError(body)
	if text == "" {
		text = http.StatusText(status)
	}
	e := &sextant.Error{Message: fmt.Sprintf("HTTP %d: %s", status, text)}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Code = sextant.EUNAUTHORIZED
	case status == http.StatusNotFound:
		e.Code = sextant.ENOTFOUND
	case status == http.StatusConflict:
		e.Code = sextant.ECONFLICT
	case status == http.StatusTooManyRequests:
		e.Code = sextant.ERATELIMITED
		e.RetryAfter = sinkhttp.RetryAfter(h, now)
		if e.RetryAfter == 0 {
			e.RetryAfter = sinkhttp.ResetAfter(h, "X-RateLimit-Reset", now)
		}
	case status == http.StatusRequestTimeout || status >= 500:
		e.Code = sextant.EUNAVAILABLE
		e.RetryAfter = sinkhttp.RetryAfter(h, now)
	default:
		e.Code = sextant.EINVALID
	}
	return e
}

// decodeError returns the text of a Table API error body,
// {"error":{"message":…,"detail":…},"status":"failure"}, as one clean line
// of at most maxErrorText characters; "" when the body is not one.
func decodeError(body []byte) string {
	var env struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &env) != nil || len(env.Error) == 0 {
		return ""
	}
	var text string
	var obj struct {
		Message json.RawMessage `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	}
	var s string
	switch {
	case json.Unmarshal(env.Error, &s) == nil:
		text = s
	case json.Unmarshal(env.Error, &obj) == nil:
		msg, detail := sinkhttp.JSONText(obj.Message), sinkhttp.JSONText(obj.Detail)
		switch {
		case msg != "" && detail != "" && detail != msg:
			text = msg + " (" + detail + ")"
		case msg != "":
			text = msg
		default:
			text = detail
		}
	}
	return truncate(oneLine(text), maxErrorText, "…")
}
