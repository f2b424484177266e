// Package sinkhttp holds what every HTTP destination reads the same way:
// how long a server asks to be left alone. The destinations
// (internal/sink/…) do not import each other; they import this.
package sinkhttp

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxWait bounds a wait a server asks for, against a clock far off or a
// hostile header.
const MaxWait = 24 * time.Hour

// RetryAfter reads Retry-After, in seconds or as an HTTP date, as a wait
// from now (see Wait); zero when absent or unreadable.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return Wait(time.Duration(min(n, int64(MaxWait/time.Second))) * time.Second)
	}
	if t, err := http.ParseTime(v); err == nil {
		return Wait(t.Sub(now))
	}
	return 0
}

// ResetAfter reads a rate-limit reset header in Unix seconds (GitHub's
// X-RateLimit-Reset) as a wait from now; zero when absent or unreadable.
func ResetAfter(h http.Header, name string, now time.Time) time.Duration {
	n, err := strconv.ParseInt(strings.TrimSpace(h.Get(name)), 10, 64)
	if err != nil || n <= 0 || n > now.Unix()+int64(MaxWait/time.Second) {
		return 0
	}
	return Wait(time.Unix(n, 0).Sub(now))
}

// Wait rounds d up to whole seconds, at least one, at most MaxWait.
func Wait(d time.Duration) time.Duration {
	if d < time.Second {
		return time.Second
	}
	if d > MaxWait {
		return MaxWait
	}
	return (d + time.Second - 1).Truncate(time.Second)
}

// JSONText is a JSON string's value; any other JSON value (an error detail
// is sometimes null, sometimes an object) gives "".
func JSONText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}
