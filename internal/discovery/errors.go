package discovery

import (
	"errors"
	"net/http"
	"time"

	"github.com/moatsec/moat/internal/apierr"
)

// ErrUnknownDevice is what a Registry returns for a device it does not know.
var ErrUnknownDevice = errors.New("discovery: unknown device")

// Refusal codes: the "reason" of a refused token request.
const (
	CodeBadProof           = "bad_proof"
	CodeExpiredProof       = "expired_proof"
	CodeUnknownDevice      = "unknown_device"
	CodeDeviceDisabled     = "device_disabled"
	CodeQuarantined        = "quarantined"
	CodeNeedsMaintenance   = "needs_maintenance"
	CodeNetworkNotAllowed  = "network_not_allowed"
	CodeOutsideGeofence    = "outside_geofence"
	CodeLocationRequired   = "location_required"
	CodePublisherRevoked   = "publisher_revoked"
	CodeRateLimited        = "rate_limited"
	CodeInvalidRequest     = "invalid_request"
	CodeServiceUnavailable = "service_unavailable"
)

func refuse(status int, code, format string, args ...any) *apierr.Error {
	return apierr.New(status, code, format, args...)
}

func badProof(format string, args ...any) *apierr.Error {
	return refuse(http.StatusUnauthorized, CodeBadProof, format, args...)
}

func forbidden(code, format string, args ...any) *apierr.Error {
	return refuse(http.StatusForbidden, code, format, args...)
}

func rateLimited(retry time.Duration) *apierr.Error {
	e := refuse(http.StatusTooManyRequests, CodeRateLimited, "too many token requests for this device; retry later")
	e.RetryAfter = retry
	return e
}
