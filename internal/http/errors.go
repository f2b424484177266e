package http

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/sextant-dev/sextant"
)

// Error codes that only the HTTP layer produces. They complete the root codes
// in sextant's error.go and follow the same convention; EFORBIDDEN is for
// role checks (a valid token without the role an endpoint needs) and belongs
// in the root once a package outside the HTTP layer needs it.
const (
	EFORBIDDEN        = "forbidden"
	ETOOLARGE         = "too_large"
	EUNSUPPORTEDMEDIA = "unsupported_media_type"
)

// statusByCode is the one code→status table of sextant's HTTP layer.
var statusByCode = map[string]int{
	sextant.EINVALID:      http.StatusBadRequest,
	sextant.EUNAUTHORIZED: http.StatusUnauthorized,
	EFORBIDDEN:            http.StatusForbidden,
	sextant.ENOTFOUND:     http.StatusNotFound,
	sextant.ECONFLICT:     http.StatusConflict,
	ETOOLARGE:             http.StatusRequestEntityTooLarge,
	EUNSUPPORTEDMEDIA:     http.StatusUnsupportedMediaType,
	sextant.ERATELIMITED:  http.StatusTooManyRequests,
	sextant.EUNAVAILABLE:  http.StatusServiceUnavailable,
	sextant.EINTERNAL:     http.StatusInternalServerError,
}

// Status returns the HTTP status for an application error code, and 500 for
// any code it does not know.
func Status(code string) int {
	if s, ok := statusByCode[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// WriteError answers err as {"error":{"code","message"}} with the status
// Status gives for its code. A *sextant.Error keeps its code and message; an
// *http.MaxBytesError answers 413; anything else, and any code that maps to
// 500, answers "internal error" so that internal text never reaches a client.
func WriteError(w http.ResponseWriter, err error) {
	code, msg := classify(err)
	status := Status(code)
	if status == http.StatusInternalServerError {
		code, msg = sextant.EINTERNAL, "internal error"
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	// A failed write means the client is gone; there is no one left to tell.
	_ = json.NewEncoder(w).Encode(errorBody{Error: errorDetail{Code: code, Message: msg}})
}

// classify finds the code and message of err by type, never by its text.
func classify(err error) (code, msg string) {
	var e *sextant.Error
	if errors.As(err, &e) {
		return e.Code, e.Message
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return ETOOLARGE, tooLargeMessage(mbe.Limit)
	}
	return sextant.EINTERNAL, ""
}

func tooLargeMessage(limit int64) string {
	return fmt.Sprintf("request body exceeds the limit of %d bytes", limit)
}
