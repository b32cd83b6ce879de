// Package eventlog is Moat's durable event log and shared state, on NATS
// JetStream. It is the only package in Moat that speaks NATS.
//
// # Modes
//
// Open runs nats-server inside the process (embedded mode: JetStream file
// store under Config.DataDir, no TCP listener, in-process connections,
// max_payload 8 MiB) or, when Config.URL is set, connects to an external
// NATS server or cluster. Everything after Open is the same code in both
// modes.
//
// # Layout
//
// Each event hub is one stream, <prefix>_hub_<hub>, with one subject per
// partition, <prefix>.hub.<hub>.<partition>, file storage, age-based
// retention (MaxAge, discard old), a Nats-Msg-Id duplicate window, and
// direct gets enabled. KV buckets are JetStream KV buckets named
// <prefix>_<bucket>; keys are stored as EncodeKey(key). docs/storage.md is
// the operator's reference for all of it.
//
// # Records
//
// The unit of storage is the record: one JetStream message holding events
// of one partition from one Append call, so JetStream writes and
// acknowledges once per record instead of once per event. Append groups a
// call's events by partition, in their order, and splits each group into
// records of at most 65,536 events and 64 KiB (recordTarget; a bigger
// event is a record of its own, up to max_payload). An event with a MsgID
// is a record of its own carrying Nats-Msg-Id, so JetStream deduplicates
// it as before.
//
// A record is a small binary format (version byte 0x01, uvarint event
// count, then per event the length-prefixed publisher, partition key,
// properties JSON and body; see record.go) with the header Moat-Count: N.
// Properties are stored as a compact JSON object, so key case and JSON
// types survive; numbers read back as json.Number. Stored bytes are
// untrusted: a message that does not decode fails the Read that reaches it
// with ErrCorrupt instead of being skipped.
//
// # Sequences
//
// An event's sequence is recordSeq<<16 | index: the stream sequence of its
// record and its index there. Sequences are opaque to callers; they
// increase strictly within a partition, have gaps (stream sequences are
// hub-wide, and a record of n events uses n of the 65,536 indexes of its
// record sequence), are never reused, and stay below 2^63. Read(from)
// returns the events with sequence >= from, wherever from points: a record
// boundary, the middle of a record, or a sequence of another partition.
//
// # Reads
//
// Read is stateless on the server: on servers >= 2.11 it is one batched
// direct get, or a few (the stream answers from its store, no consumer),
// sized from the records recently seen on the hub; on older servers a
// short-lived in-memory consumer. A long poll that finds nothing parks a
// headers-only temporary consumer on the partition, so the server wakes it
// the moment a record is stored; the consumer is deleted when Read
// returns. Consumer groups and checkpoints are the caller's business.
//
// # Durability
//
// Append returns only after JetStream has acknowledged every record
// holding the call's events (PubAck). With one replica, the server
// acknowledges after writing the record to its file store with write(2),
// so what an acknowledgement guarantees is:
//
//   - Embedded, default: acknowledged events are in the operating system's
//     page cache. They survive a crash or kill -9 of the Moat process (the
//     files are written; JetStream recovers them on the next Open) but not a
//     power loss or kernel crash, which can lose what was written since the
//     last background fsync: up to Config.SyncInterval, 2 minutes by default.
//   - Embedded with Config.SyncAlways: every write is fsynced before it is
//     acknowledged, so acknowledged events also survive power loss, at a
//     large cost in throughput (one fsync per record).
//   - External: the guarantee is the server's own (its sync_interval /
//     sync_always settings; with replicas > 1, a quorum has the record).
//
// A record is written whole or not at all, so the events of one record are
// stored together; a call whose events span several records (several
// partitions, MsgIDs, large batches) can fail after some of them were
// stored. KV writes have the same guarantee. Close drains the connections
// and shuts the embedded server down cleanly, flushing the store.
//
// # Errors
//
// Errors wrap the sentinels ErrUnavailable (retry later: HTTP 503), ErrNoHub,
// ErrNoPartition, ErrTooLarge, ErrInvalid, ErrExists, ErrNotFoundKey and
// ErrCorrupt.
package eventlog
