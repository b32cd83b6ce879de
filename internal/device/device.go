// Package device is Moat's device registry: which devices exist, the hub
// each sends to (as the publisher named by its ID), its status, tags, keys
// or certificate, and the policy the discovery service enforces before it
// issues the device a token.
//
// The registry keeps a device's status and its hub's revocation list in
// step: quarantining or disabling a device revokes its publisher, so it is
// refused at once whatever token it holds; releasing or enabling it restores
// the publisher. Keys are stored sealed under the master key.
//
// Service methods return *apierr.Error values ready for the HTTP boundary;
// not-found errors also wrap store.ErrNotFound.
package device

import (
	"net/netip"
	"strings"
	"time"

	"github.com/moatsec/moat/internal/discovery/geo"
	"github.com/moatsec/moat/internal/discovery/maint"
)

// Device is a registered device as the API shows it. The keys are present
// only where the caller is entitled to them (Get, Put, RotateKey, Lookup,
// Export); lists and status changes leave them out.
type Device struct {
	ID string `json:"id"`
	Spec
	CreatedAt time.Time `json:"createdAt,omitzero"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// Spec is what an operator sets on a device.
type Spec struct {
	Hub            string            `json:"hub"`
	Status         string            `json:"status,omitempty"`       // store.Device* constants
	StatusReason   string            `json:"statusReason,omitempty"` // why the status was last changed
	Tags           map[string]string `json:"tags,omitempty"`
	PrimaryKey     string            `json:"primaryKey,omitempty"` // standard base64 text
	SecondaryKey   string            `json:"secondaryKey,omitempty"`
	CertThumbprint string            `json:"certThumbprint,omitempty"` // lower-case hex SHA-256 of the DER certificate
	Policy         Policy            `json:"policy,omitzero"`
}

// Policy is what the discovery service checks before it issues a device a
// token. The zero value allows everything, with the default token lifetime.
type Policy struct {
	// AllowedNetworks are the networks token requests may come from, as
	// canonical CIDR prefixes; none = any.
	AllowedNetworks []string `json:"allowedNetworks,omitempty"`
	// Geofence is where the device must report being; nil = anywhere.
	Geofence *geo.Fence `json:"geofence,omitempty"`
	// MaxSilence is how long the device may go without an accepted event
	// before it needs maintenance; 0 = unchecked.
	MaxSilence Duration `json:"maxSilence,omitempty"`
	// Maintenance is when silence is expected.
	Maintenance maint.Schedule `json:"maintenance,omitzero"`
	// MaintenanceMode suspends the silence check until it is turned off.
	MaintenanceMode bool `json:"maintenanceMode,omitempty"`
	// TokenTTL is the lifetime of the device's tokens.
	TokenTTL Duration `json:"tokenTTL,omitempty"`
}

// normalize drops empty lists, so that a policy that sets nothing encodes
// as nothing ("maintenance": {"windows": []} is no maintenance at all).
func (p *Policy) normalize() {
	if len(p.AllowedNetworks) == 0 {
		p.AllowedNetworks = nil
	}
	if len(p.Maintenance.Windows) == 0 {
		p.Maintenance.Windows = nil
	}
	if len(p.Maintenance.Ranges) == 0 {
		p.Maintenance.Ranges = nil
	}
}

// Networks returns AllowedNetworks parsed. The registry stores only
// prefixes that parse, so nothing is dropped for a policy it returned.
func (p Policy) Networks() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(p.AllowedNetworks))
	for _, s := range p.AllowedNetworks {
		if n, err := netip.ParsePrefix(s); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// Duration is a time.Duration that JSON writes and reads as Go duration
// text: "5m", "1h30m", "10s".
type Duration time.Duration

// String returns the duration as Go writes it, without zero trailing
// units: "5m" rather than "5m0s", "1h" rather than "1h0m0s".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler: any text
// time.ParseDuration accepts.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
