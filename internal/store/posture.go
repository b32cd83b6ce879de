package store

import (
	"context"
	"time"
)

// Snapshot changes of a Diff (secmsg's).
const (
	ItemAdded   = "Added"
	ItemRemoved = "Removed"
	ItemChanged = "Changed"
)

// DeviceItem is one item of a device's latest snapshot of an event name
// (a listening port, a user, a firewall rule, a baseline check).
type DeviceItem struct {
	Name   string // the snapshot's event name; set when read
	Key    string // identifies the item within the name (e.g. "tcp/0.0.0.0/22")
	Fields map[string]string
	// Change is the item's change in a Diff: ItemRemoved deletes it,
	// anything else adds or replaces it. Ignored in a Full snapshot and
	// not stored.
	Change    string
	UpdatedAt time.Time // set by the store
}

// AgentSeen is what a device's agent has sent: TouchAgentSeen adds a
// batch's figures, ListAgentSeen returns the totals.
type AgentSeen struct {
	Device    string
	Hub       string    // the latest non-empty
	FirstSeen time.Time // earliest (zero in a touch: now)
	LastSeen  time.Time // latest (zero in a touch: now)
	Messages  int64     // security messages
	Events    int64     // events in them
	Bytes     int64     // message bytes
}

// BaselineValue is a value a new-value detection has seen on a device.
type BaselineValue struct {
	Device    string
	Rule      string
	Value     string
	FirstSeen time.Time // set by the store
}

// Snapshot is one snapshot for ApplySnapshots: the items of one event name
// of a device, in full or a difference.
type Snapshot struct {
	Device, Name string
	Full         bool
	Items        []DeviceItem
}

// PostureStore keeps the devices' latest state.
type PostureStore interface {
	// ApplySnapshot applies a snapshot of one event name to a device's
	// items in one transaction: a full snapshot replaces all the items of
	// that name, a diff adds or replaces its items and deletes those
	// Removed. When a key occurs more than once the last occurrence wins.
	ApplySnapshot(ctx context.Context, device, name string, full bool, items []DeviceItem) error
	// ApplySnapshots applies several snapshots in one transaction, as
	// ApplySnapshot would one after another: all or none.
	ApplySnapshots(ctx context.Context, snaps []Snapshot) error
	// ListDeviceItems returns a device's items of one name ("" = all
	// names) ordered by name then key.
	ListDeviceItems(ctx context.Context, device, name string) ([]DeviceItem, error)
	// ListDevicesWithItems returns the IDs of the devices holding items, in order.
	ListDevicesWithItems(ctx context.Context) ([]string, error)
	// TouchAgentSeen adds the figures of a batch per device (the map's
	// key; AgentSeen.Device is ignored): counters are added, FirstSeen
	// and LastSeen widened.
	TouchAgentSeen(ctx context.Context, seen map[string]AgentSeen) error
	// ListAgentSeen returns every device's totals ordered by device.
	ListAgentSeen(ctx context.Context) ([]AgentSeen, error)
	// RememberValues records values in one transaction and reports, per
	// value, whether it was new (not stored, and not earlier in the batch).
	RememberValues(ctx context.Context, values []BaselineValue) (isNew []bool, err error)
}
