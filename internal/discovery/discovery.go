// Package discovery is Moat's token service. A device proves who it is (its
// own key, IoT Hub–style SAS, or a registered client certificate); the
// service checks its status, where the request comes from, where the device
// says it is and when it last sent data, and only then issues a short-lived
// Event Hubs publisher token scoped to that one device. Keys never leave the
// server. Every decision, issued or refused, is recorded for audit.
package discovery

import (
	"context"
	"net/netip"
	"time"

	"github.com/moatsec/moat/internal/discovery/geo"
	"github.com/moatsec/moat/internal/discovery/maint"
)

// Device is what the service needs to know about a registered device.
type Device struct {
	ID             string
	Hub            string
	Status         string // enabled, disabled, quarantined, needs_maintenance
	PrimaryKey     string // base64; "" if the device has none
	SecondaryKey   string
	CertThumbprint string
	CreatedAt      time.Time

	AllowedNetworks []netip.Prefix
	Geofence        *geo.Fence
	MaxSilence      time.Duration // 0 = not checked
	Maintenance     maint.Schedule
	MaintenanceMode bool
	TokenTTL        time.Duration // 0 = the service default
}

// Registry looks devices up and records status changes. ErrUnknownDevice
// (or an error wrapping it) means no such device.
type Registry interface {
	Lookup(ctx context.Context, id string) (Device, error)
	LookupByThumbprint(ctx context.Context, thumbprint string) (Device, error)
	SetStatus(ctx context.Context, id, status, reason string) error
}

// Hub is the part of the hub the service consults.
type Hub interface {
	IsRevoked(hub, publisher string) bool
	LastSeen(ctx context.Context, hub, publisher string) (time.Time, bool, error)
	SigningKey(ctx context.Context, hub string) (name, key string, err error)
}

// Auditor records decisions (append-only).
type Auditor interface {
	Record(ctx context.Context, d Decision) error
}

// Decision is one token request's outcome, as recorded for audit.
type Decision struct {
	ID         string         `json:"id"` // random, unique
	Time       time.Time      `json:"time"`
	DeviceID   string         `json:"deviceId,omitempty"` // "" when the device could not be identified
	Hub        string         `json:"hub,omitempty"`
	Result     string         `json:"result"` // "issued" or a refusal code
	Message    string         `json:"message,omitempty"`
	Source     string         `json:"sourceAddress"`
	Proof      string         `json:"proof"` // "sas" or "certificate"
	Location   *geo.Point     `json:"location,omitempty"`
	Firmware   string         `json:"firmware,omitempty"`
	Metadata   map[string]any `json:"metadata,omitempty"`
	ExpiresAt  *time.Time     `json:"expiresAt,omitempty"`
	DurationMS float64        `json:"durationMs"`
}

// ResultIssued is the Result of a decision that issued a token.
const ResultIssued = "issued"

// Request is a token request as the front door received it.
type Request struct {
	Authorization string     // "SharedAccessSignature sr=NS/devices/ID&sig=…&se=…" or ""
	Thumbprint    string     // SHA-256 of the TLS client certificate (lower-case hex) or ""
	Source        netip.Addr // the client's address, after trusted-proxy resolution
	Location      *geo.Point
	Firmware      string
	Metadata      map[string]any
}

// Grant is an issued token.
type Grant struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
	Hub       string    `json:"hub"`
	Publisher string    `json:"publisher"`
	Endpoint  string    `json:"endpoint"`
}
