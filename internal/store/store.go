// Package store defines Moat's metadata store: event hubs, authorization
// rules, consumer-group checkpoints, and the device registry. It is the
// only place that speaks SQL; the backends live in its subpackages
// (sqlite, postgres) and are checked by one conformance suite (storetest).
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors every backend returns (wrapped with %w) so callers can map
// them to HTTP statuses once, at the boundary.
var (
	// ErrNotFound is returned when the addressed record does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict is returned when a write conflicts with existing records: a
	// create-only operation meets an existing record, a unique value (a
	// device's certificate thumbprint) is taken, or a hub that devices
	// belong to is deleted.
	ErrConflict = errors.New("store: conflict")
)

// Hub is an event hub: a named, partitioned stream of events.
type Hub struct {
	Name           string    // canonical (lower-case) hub name
	Partitions     int       // 1..32
	RetentionHours int       // how long events are kept in the log
	CreatedAt      time.Time // set by the store on first insert (UTC)
	UpdatedAt      time.Time // set by the store on every write (UTC)
}

// Rule is a shared access authorization rule. Hub == "" means a namespace-level
// rule; otherwise the rule belongs to that hub and is deleted with it.
// The keys are stored sealed (encrypted by the caller); the store treats them
// as opaque bytes and never sees plaintext.
type Rule struct {
	Hub          string
	Name         string
	Rights       []string // subset of "Manage", "Send", "Listen", in that order
	PrimaryKey   []byte   // sealed
	SecondaryKey []byte   // sealed
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Checkpoint is a consumer group's position in one partition of a hub.
type Checkpoint struct {
	Hub           string
	ConsumerGroup string
	Partition     int
	Sequence      uint64 // next sequence to read
	Metadata      string // free-form client data (<= 1 KiB, enforced by the caller)
	UpdatedAt     time.Time
}

// SettingStore keeps small named JSON documents, such as the fleet's and
// each device's agent configuration. Keys are at most 200 bytes.
type SettingStore interface {
	// PutSetting creates or replaces a setting.
	PutSetting(ctx context.Context, key string, value []byte) error
	// GetSetting returns a setting's value and when it was last written, or ErrNotFound.
	GetSetting(ctx context.Context, key string) ([]byte, time.Time, error)
	// DeleteSetting removes a setting; ErrNotFound if absent.
	DeleteSetting(ctx context.Context, key string) error
}

// Store is the metadata store. All methods are safe for concurrent use.
type Store interface {
	// PutHub creates or updates a hub; created reports whether it was new.
	PutHub(ctx context.Context, h Hub) (created bool, err error)
	GetHub(ctx context.Context, name string) (Hub, error)
	// ListHubs returns every hub ordered by name.
	ListHubs(ctx context.Context) ([]Hub, error)
	// DeleteHub removes the hub with its rules, checkpoints and last-seen
	// times. A hub that devices belong to is not deleted: ErrConflict.
	DeleteHub(ctx context.Context, name string) error

	// PutRule creates or updates a rule; created reports whether it was new.
	// Putting a hub-level rule for a hub that does not exist is ErrNotFound.
	PutRule(ctx context.Context, r Rule) (created bool, err error)
	GetRule(ctx context.Context, hub, name string) (Rule, error)
	// ListRules returns the rules of one scope (hub "" = namespace) ordered by name.
	ListRules(ctx context.Context, hub string) ([]Rule, error)
	// ListAllRules returns every rule of every scope, ordered by hub then name.
	ListAllRules(ctx context.Context) ([]Rule, error)
	DeleteRule(ctx context.Context, hub, name string) error

	// PutCheckpoint creates or replaces a checkpoint. The hub must exist.
	PutCheckpoint(ctx context.Context, c Checkpoint) error
	GetCheckpoint(ctx context.Context, hub, consumerGroup string, partition int) (Checkpoint, error)
	// ListCheckpoints returns the checkpoints of one consumer group ordered by partition.
	ListCheckpoints(ctx context.Context, hub, consumerGroup string) ([]Checkpoint, error)

	DeviceStore
	SettingStore
	SecurityStore

	// Ping reports whether the backend is reachable.
	Ping(ctx context.Context) error
	Close() error
}
