package eventlog

import (
	"fmt"
	"log/slog"
	"time"
)

// Defaults applied by Open to zero Config fields.
const (
	DefaultPrefix  = "moat"
	DefaultConns   = 4
	DefaultTimeout = 10 * time.Second

	// embeddedMaxMemory caps JetStream memory storage in embedded mode. Moat
	// keeps everything on disk; memory storage only backs the short-lived
	// consumers of long polls, so a small cap is plenty. It is a limit, not a
	// reservation.
	embeddedMaxMemory = 256 << 20

	// embeddedMaxPayload is the largest message (headers + body) the embedded
	// server accepts, so the largest record: the events of a 1 MiB HTTP
	// request (at most 10,000, with their metadata) fit in one record except
	// in contrived cases, which Append splits. External servers use their
	// own max_payload (1 MiB by default) and get more, smaller records.
	// 8 MiB is the most the server takes without a warning.
	embeddedMaxPayload = 8 << 20
)

// Config configures Open. The zero value (apart from DataDir) runs an embedded
// server with defaults.
type Config struct {
	// DataDir is the embedded server's data directory; JetStream keeps its
	// file store under DataDir/jetstream. Required unless URL is set.
	DataDir string

	// URL, if set, connects to this external NATS server or cluster
	// (for example nats://127.0.0.1:4222, credentials may be embedded in the
	// URL) instead of running an embedded server.
	URL string

	// Logger receives connection events and, in embedded mode, the server's
	// own log (its notices at Debug level). Nil discards.
	Logger *slog.Logger

	// SyncAlways makes the embedded server fsync every write before it
	// acknowledges it (power-loss durability, at a large throughput cost).
	SyncAlways bool

	// SyncInterval is how often the embedded server fsyncs in the background
	// when SyncAlways is false. Zero keeps the server default (2 minutes).
	SyncInterval time.Duration

	// MaxStore caps the embedded server's file store in bytes. Zero lets the
	// server derive it (75% of the free disk space under DataDir at start).
	MaxStore int64

	// Prefix namespaces every stream, subject and bucket this Log touches so
	// several Moat deployments (or test runs) can share one NATS account.
	// Letters, digits and '-' only, at most 32 characters. Default "moat".
	Prefix string

	// Conns is the number of NATS connections in the pool that Append and
	// Read spread over. Default 4.
	Conns int

	// Replicas is the replication factor of hub streams and KV buckets.
	// Only meaningful for an external JetStream cluster; default 1.
	Replicas int

	// Timeout bounds each operation whose context has no deadline.
	// Default 10s.
	Timeout time.Duration
}

func (c Config) withDefaults() (Config, error) {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if !validPrefix(c.Prefix) {
		return c, fmt.Errorf("%w: prefix %q: want 1-32 letters, digits or '-'", ErrInvalid, c.Prefix)
	}
	if c.URL == "" && c.DataDir == "" {
		return c, fmt.Errorf("%w: DataDir is required in embedded mode", ErrInvalid)
	}
	if c.Conns <= 0 {
		c.Conns = DefaultConns
	}
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxStore < 0 || c.SyncInterval < 0 {
		return c, fmt.Errorf("%w: negative MaxStore or SyncInterval", ErrInvalid)
	}
	return c, nil
}
