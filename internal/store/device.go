package store

import (
	"context"
	"time"
)

// Device statuses.
const (
	DeviceEnabled          = "enabled"
	DeviceDisabled         = "disabled"
	DeviceQuarantined      = "quarantined"
	DeviceNeedsMaintenance = "needs_maintenance"
)

// Device is a registered device. ID is canonical (lower case); the keys are
// sealed by the caller like rule keys. Policy is the attestation policy as
// JSON, owned and validated by the device registry; the store keeps it
// opaque.
type Device struct {
	ID             string
	Hub            string
	Status         string
	StatusReason   string            // why the status was last changed (operator text or a code)
	Tags           map[string]string // never nil when read
	PrimaryKey     []byte            // sealed; may be empty when the device uses a certificate only
	SecondaryKey   []byte            // sealed
	CertThumbprint string            // lower-case hex SHA-256 of the DER certificate, or ""; unique
	Policy         []byte            // JSON
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// DeviceFilter selects devices in ListDevices. Zero fields match everything.
type DeviceFilter struct {
	Status string
	Hub    string
	TagKey string // devices carrying this tag
	TagVal string // with TagKey: and this value
	After  string // keyset paging: IDs greater than this
	Limit  int    // 1..1000 (the store caps it)
}

// DeviceStore is the device registry's storage. Implemented by every Store.
type DeviceStore interface {
	// PutDevice creates or replaces a device; created reports whether it was new.
	// The device's hub must exist (ErrNotFound otherwise); a thumbprint used by
	// another device is ErrConflict.
	PutDevice(ctx context.Context, d Device) (created bool, err error)
	// PutDevices creates or replaces many devices in one transaction (bulk
	// import); all or nothing.
	PutDevices(ctx context.Context, ds []Device) error
	GetDevice(ctx context.Context, id string) (Device, error)
	GetDeviceByThumbprint(ctx context.Context, thumbprint string) (Device, error)
	// ListDevices returns devices ordered by ID.
	ListDevices(ctx context.Context, f DeviceFilter) ([]Device, error)
	// SetDeviceStatus changes only the status and its reason.
	SetDeviceStatus(ctx context.Context, id, status, reason string) error
	// DeleteDevice removes a device with its tags and its security state
	// (snapshot items, agent figures, baseline values); its security
	// history (events, alerts, response actions) stays. ErrNotFound if absent.
	DeleteDevice(ctx context.Context, id string) error
	// PutLastSeen records when publishers last had an event accepted
	// (hub, publisher → time), keeping the later time per publisher.
	PutLastSeen(ctx context.Context, hub string, seen map[string]time.Time) error
	// GetLastSeen returns a publisher's last accepted event time; ErrNotFound if never.
	GetLastSeen(ctx context.Context, hub, publisher string) (time.Time, error)
}
