package servicenow

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
)

// maxErrorText bounds the destination's text quoted in an error.
const maxErrorText = 300

// maxWait bounds a wait the instance asks for, against a clock far off or
// a header gone wrong.
const maxWait = 24 * time.Hour

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
		e.RetryAfter = retryAfter(h, now)
		if e.RetryAfter == 0 {
			e.RetryAfter = resetAfter(h, now)
		}
	case status == http.StatusRequestTimeout || status >= 500:
		e.Code = sextant.EUNAVAILABLE
		e.RetryAfter = retryAfter(h, now)
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
		msg, detail := jsonText(obj.Message), jsonText(obj.Detail)
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

// jsonText is a JSON string's value; any other JSON value (detail is
// sometimes null, sometimes an object) gives "".
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
