// Package apierr defines Moat's typed API errors. An Error carries its HTTP
// status and a stable machine-readable reason; packages return them (wrapped
// or not) and the HTTP boundary maps them to a response exactly once, with
// Write. Anything that is not an *Error becomes a 500 "internal" whose detail
// is logged, never sent.
package apierr

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Error is an API error with a status and a reason code.
type Error struct {
	Status     int           // HTTP status
	Reason     string        // stable snake_case code, e.g. "publisher_revoked"
	Message    string        // human-readable, safe to show to the caller
	RetryAfter time.Duration // > 0 adds a Retry-After header
	Err        error         // optional cause, logged, never sent
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Reason, e.Message, e.Err)
	}
	return e.Reason + ": " + e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an Error.
func New(status int, reason, format string, args ...any) *Error {
	return &Error{Status: status, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an Error with a cause.
func Wrap(err error, status int, reason, format string, args ...any) *Error {
	return &Error{Status: status, Reason: reason, Message: fmt.Sprintf(format, args...), Err: err}
}

// Helpers for the common statuses.
func Unauthorized(reason, format string, args ...any) *Error {
	return New(http.StatusUnauthorized, reason, format, args...)
}

// BadRequest returns a 400 error.
func BadRequest(reason, format string, args ...any) *Error {
	return New(http.StatusBadRequest, reason, format, args...)
}

// NotFound returns a 404 error.
func NotFound(reason, format string, args ...any) *Error {
	return New(http.StatusNotFound, reason, format, args...)
}

// Conflict returns a 409 error.
func Conflict(reason, format string, args ...any) *Error {
	return New(http.StatusConflict, reason, format, args...)
}

// Unavailable returns a 503 error asking the client to retry later.
func Unavailable(err error, retryAfter time.Duration, reason, format string, args ...any) *Error {
	e := Wrap(err, http.StatusServiceUnavailable, reason, format, args...)
	e.RetryAfter = retryAfter
	return e
}

// As returns err's *Error, or a 500 internal error wrapping it.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Status: http.StatusInternalServerError, Reason: "internal", Message: "internal server error", Err: err}
}

// Body is the JSON shape of every error response:
//
//	{"error": {"status": 401, "reason": "publisher_revoked", "message": "…"}}
type Body struct {
	Error struct {
		Status  int    `json:"status"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	} `json:"error"`
}

// Write sends err as a JSON error response. Internal errors are logged with
// their cause; the cause is never sent to the client.
func Write(w http.ResponseWriter, log *slog.Logger, err error) {
	e := As(err)
	if e.Status >= 500 && log != nil {
		log.Error("request failed", "status", e.Status, "reason", e.Reason, "err", err)
	}
	var b Body
	b.Error.Status, b.Error.Reason, b.Error.Message = e.Status, e.Reason, e.Message
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(b)
}
