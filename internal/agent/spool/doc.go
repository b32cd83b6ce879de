// Package spool is the agent's bounded, crash-safe on-disk queue of security
// records waiting to be uploaded.
//
// Records are opaque byte slices with a [Priority]. Each priority has its own
// queue of append-only segment files in the spool directory; every record is
// framed (magic, length, sequence number, time, CRC-32C) so that a torn write
// left by kill -9 or a power cut is detected and cut off on [Open], and a
// corrupted record in the middle of a file is skipped and counted. The
// position up to which records were acknowledged lives in a small state file
// replaced by atomic rename.
//
// Delivery is at-least-once: [Spool.Peek] returns the oldest records (High
// first) without removing them, and only [Spool.Ack] removes them, durably.
// When the spool is full, the oldest Low records are dropped first; High
// records are only dropped to make room for newer High records. Every dropped
// record is counted per priority ([Spool.TakeDropped]).
//
// The file formats, limits and error cases are described in
// docs/agent-spool.md.
package spool
