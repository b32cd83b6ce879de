package eventlog

import "time"

// Event is one event of a hub partition.
type Event struct {
	Partition    int
	Publisher    string         // "" if none
	PartitionKey string         // "" if none
	Properties   map[string]any // user properties (JSON-encodable), may be nil
	Body         []byte
	MsgID        string // optional: JetStream Nats-Msg-Id, duplicates within the hub's dedup window are dropped

	// Set by reads.

	// Sequence is the event's position in its partition, opaque to
	// callers: strictly increasing within a partition, with gaps, and never
	// reused. It is recordSeq<<16 | index, the stream sequence of the
	// record holding the event and the event's index in it (see
	// docs/storage.md); pass it, or it + 1, back to Read as from.
	Sequence     uint64
	EnqueuedTime time.Time // JetStream storage time of the event's record, UTC
}
