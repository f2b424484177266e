package http

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sextant-dev/sextant"
)

func TestStatus(t *testing.T) {
	tests := []struct {
		code string
		want int
	}{
		{sextant.EINVALID, 400},
		{sextant.EUNAUTHORIZED, 401},
		{EFORBIDDEN, 403},
		{sextant.ENOTFOUND, 404},
		{sextant.ECONFLICT, 409},
		{ETOOLARGE, 413},
		{EUNSUPPORTEDMEDIA, 415},
		{sextant.ERATELIMITED, 429},
		{sextant.EUNAVAILABLE, 503},
		{sextant.EINTERNAL, 500},
		{"", 500},
		{"no_such_code", 500},
	}
	for _, tt := range tests {
		if got := Status(tt.code); got != tt.want {
			t.Errorf("Status(%q) = %d, want %d", tt.code, got, tt.want)
		}
	}
}

// decodeError reads a JSON error answer and checks its framing.
func decodeError(t *testing.T, rec *httptest.ResponseRecorder) errorDetail {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var b errorBody
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		t.Fatalf("decode error body: %v", err)
	}
	return b.Error
}

func TestWriteError(t *testing.T) {
	secret := "postgres://admin:hunter2@db"
	tests := []struct {
		name       string
		err        error
		wantStatus int
		want       errorDetail
	}{
		{"invalid", sextant.Errorf(sextant.EINVALID, "bad %s", "input"), 400, errorDetail{"invalid", "bad input"}},
		{"unauthorized", sextant.Errorf(sextant.EUNAUTHORIZED, "no"), 401, errorDetail{"unauthorized", "no"}},
		{"forbidden", sextant.Errorf(EFORBIDDEN, "needs admin"), 403, errorDetail{"forbidden", "needs admin"}},
		{"not found", sextant.Errorf(sextant.ENOTFOUND, "no finding 7"), 404, errorDetail{"not_found", "no finding 7"}},
		{"conflict", sextant.Errorf(sextant.ECONFLICT, "exists"), 409, errorDetail{"conflict", "exists"}},
		{"rate limited", sextant.Errorf(sextant.ERATELIMITED, "slow down"), 429, errorDetail{"rate_limited", "slow down"}},
		{"unavailable", sextant.Errorf(sextant.EUNAVAILABLE, "db down"), 503, errorDetail{"unavailable", "db down"}},
		{"wrapped app error", fmt.Errorf("ingest: %w", sextant.Errorf(sextant.ENOTFOUND, "gone")), 404, errorDetail{"not_found", "gone"}},
		{"max bytes", fmt.Errorf("read: %w", &http.MaxBytesError{Limit: 42}), 413, errorDetail{"too_large", "request body exceeds the limit of 42 bytes"}},
		{"plain error hidden", errors.New("connect " + secret), 500, errorDetail{"internal", "internal error"}},
		{"internal code hidden", sextant.Errorf(sextant.EINTERNAL, "query %s", secret), 500, errorDetail{"internal", "internal error"}},
		{"unknown code hidden", sextant.Errorf("weird", "%s", secret), 500, errorDetail{"internal", "internal error"}},
		{"nil", nil, 500, errorDetail{"internal", "internal error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteError(rec, tt.err)
			if rec.Code != tt.wantStatus {
				t.Errorf("WriteError(%v) status = %d, want %d", tt.err, rec.Code, tt.wantStatus)
			}
			if strings.Contains(rec.Body.String(), "hunter2") {
				t.Errorf("WriteError(%v) leaked internal text: %s", tt.err, rec.Body)
			}
			if diff := cmp.Diff(tt.want, decodeError(t, rec)); diff != "" {
				t.Errorf("WriteError(%v) body mismatch (-want +got):\n%s", tt.err, diff)
			}
		})
	}
}
