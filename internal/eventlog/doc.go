// Package eventlog is Moat's durable event log and shared state, on NATS
// JetStream. It is the only package in Moat that speaks NATS.
//
// # Modes
//
// Open runs nats-server inside the process (embedded mode: JetStream file
// store under Config.DataDir, no TCP listener, in-process connections) or,
// when Config.URL is set, connects to an external NATS server or cluster.
// Everything after Open is the same code in both modes.
//
// # Layout
//
// Each event hub is one stream, <prefix>_hub_<hub>, with one subject per
// partition, <prefix>.hub.<hub>.<partition>, file storage, age-based
// retention (MaxAge, discard old), a Nats-Msg-Id duplicate window, and
// direct gets enabled. Stream sequences are hub-wide: they increase within a
// partition but are not contiguous there. KV buckets are JetStream KV
// buckets named <prefix>_<bucket>; keys are stored as EncodeKey(key).
//
// An event is one message: the body is the payload unchanged, metadata
// travels in headers, each present only when non-empty: Moat-Publisher,
// Moat-Partition-Key, Moat-Props (the Properties map as compact JSON, so key
// case and JSON types survive; numbers read back as json.Number) and
// Nats-Msg-Id. Header values are percent-escaped outside printable ASCII
// (see escape.go), so any string round-trips.
//
// # Reads
//
// Read is stateless on the server: on servers >= 2.11 it is one batched
// direct get (the stream answers from its store, no consumer), on older
// servers a short-lived in-memory consumer. A long poll that finds nothing
// parks a headers-only temporary consumer on the partition, so the server
// wakes it the moment an event is stored; the consumer is deleted when Read
// returns. Consumer groups and checkpoints are the caller's business.
//
// # Durability
//
// Append returns only after JetStream has acknowledged every event (PubAck).
// With one replica, the server acknowledges after writing the message to its
// file store with write(2), so what an acknowledgement guarantees is:
//
//   - Embedded, default: acknowledged events are in the operating system's
//     page cache. They survive a crash or kill -9 of the Moat process (the
//     files are written; JetStream recovers them on the next Open) but not a
//     power loss or kernel crash, which can lose what was written since the
//     last background fsync: up to Config.SyncInterval, 2 minutes by default.
//   - Embedded with Config.SyncAlways: every write is fsynced before it is
//     acknowledged, so acknowledged events also survive power loss, at a
//     large cost in throughput (one fsync per event).
//   - External: the guarantee is the server's own (its sync_interval /
//     sync_always settings; with replicas > 1, a quorum has the event).
//
// KV writes have the same guarantee. Close drains the connections and shuts
// the embedded server down cleanly, flushing the store.
//
// # Errors
//
// Errors wrap the sentinels ErrUnavailable (retry later: HTTP 503), ErrNoHub,
// ErrNoPartition, ErrTooLarge, ErrInvalid, ErrExists and ErrNotFoundKey.
package eventlog
