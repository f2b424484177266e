package sinkhttp

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		v    string
		want time.Duration
	}{
		{"", 0}, {"0", 0}, {"-5", 0}, {"soon", 0},
		{"1", time.Second}, {"30", 30 * time.Second},
		{"99999999999", MaxWait},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), time.Second},
	} {
		h := http.Header{}
		if tt.v != "" {
			h.Set("Retry-After", tt.v)
		}
		if got := RetryAfter(h, now); got != tt.want {
			t.Errorf("RetryAfter(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
	h := http.Header{}
	h.Set("X-RateLimit-Reset", "1795694460") // now + 60s
	if got := ResetAfter(h, "X-RateLimit-Reset", now); got != 60*time.Second {
		t.Errorf("ResetAfter = %v, want 1m", got)
	}
	if got := Wait(1500 * time.Millisecond); got != 2*time.Second {
		t.Errorf("Wait(1.5s) = %v, want 2s", got)
	}
	if JSONText(json.RawMessage(`"x"`)) != "x" || JSONText(json.RawMessage(`{"a":1}`)) != "" {
		t.Error("JSONText")
	}
}
