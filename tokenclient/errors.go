package tokenclient

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Reasons the discovery service gives for refusing a token ([Refusal.Reason]).
const (
	ReasonBadProof           = "bad_proof"           // 401: the proof is malformed, unsigned by the device's keys, too long-lived or replayed
	ReasonExpiredProof       = "expired_proof"       // 401: the proof expired; the device clock is probably wrong
	ReasonUnknownDevice      = "unknown_device"      // 404
	ReasonDeviceDisabled     = "device_disabled"     // 403
	ReasonQuarantined        = "quarantined"         // 403
	ReasonNeedsMaintenance   = "needs_maintenance"   // 403
	ReasonNetworkNotAllowed  = "network_not_allowed" // 403
	ReasonOutsideGeofence    = "outside_geofence"    // 403
	ReasonLocationRequired   = "location_required"   // 403: set Config.Location
	ReasonPublisherRevoked   = "publisher_revoked"   // 403
	ReasonRateLimited        = "rate_limited"        // 429, with Retry-After
	ReasonInvalidRequest     = "invalid_request"     // 400
	ReasonServiceUnavailable = "service_unavailable" // 503, with Retry-After
)

// Refusal is the discovery service's answer when it did not issue a token:
// any response other than 200. Use [errors.As] to get it from an error.
type Refusal struct {
	Status  int    // HTTP status
	Reason  string // one of the Reason* constants; "" if the answer had no Moat error body
	Message string // the service's explanation, safe to log
	// RetryAfter is the wait the service asked for (Retry-After), or 0.
	RetryAfter time.Duration
}

func (r *Refusal) Error() string {
	s := fmt.Sprintf("tokenclient: token refused: %d", r.Status)
	if r.Reason != "" {
		s += " " + r.Reason
	}
	if r.Message != "" {
		s += ": " + r.Message
	}
	if r.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", r.RetryAfter)
	}
	return s
}

// Permanent reports whether the refusal will stand until something changes
// on the server or the device (its status, policy, keys, clock or
// location): any 4xx other than 429. Retrying does no harm — [Client]
// backs off — but is unlikely to help soon.
func (r *Refusal) Permanent() bool {
	return r.Status >= 400 && r.Status < 500 && r.Status != http.StatusTooManyRequests
}

// HubError is the hub's refusal of an event sent by [Client.Send].
type HubError struct {
	Status     int    // HTTP status
	Reason     string // Moat's reason code, e.g. "body_too_large"; "" if none
	Message    string
	RetryAfter time.Duration // the Retry-After the hub asked for, or 0
}

func (e *HubError) Error() string {
	s := fmt.Sprintf("tokenclient: send refused: %d", e.Status)
	if e.Reason != "" {
		s += " " + e.Reason
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// errorBody is the JSON shape of Moat's error responses.
type errorBody struct {
	Error struct {
		Status  int    `json:"status"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	} `json:"error"`
}

// readError reads a non-success response: status, reason, message and
// Retry-After.
func readError(resp *http.Response, now time.Time) (status int, reason, message string, retry time.Duration) {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
	var b errorBody
	if json.Unmarshal(data, &b) == nil && b.Error.Reason != "" {
		reason, message = b.Error.Reason, b.Error.Message
	} else {
		message = http.StatusText(resp.StatusCode)
	}
	return resp.StatusCode, reason, message, retryAfter(resp.Header.Get("Retry-After"), now)
}

func readRefusal(resp *http.Response, now time.Time) *Refusal {
	status, reason, message, retry := readError(resp, now)
	return &Refusal{Status: status, Reason: reason, Message: message, RetryAfter: retry}
}

// maxRetryAfter caps a Retry-After, so that a broken answer cannot silence
// a device for days.
const maxRetryAfter = time.Hour

// retryAfter parses a Retry-After value: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return max(0, min(d, maxRetryAfter))
}
