package eventlog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Append stores events in hub and returns their sequences, in the order of
// events, once JetStream has acknowledged every record holding them (see
// the package comment for what an acknowledgement guarantees). Events may
// target different partitions; within a partition they are stored in the
// order given, so their sequences increase in that order.
//
// The events of each partition are stored as few records as possible (at
// most 65,536 events and one NATS message each); an event with a MsgID is a
// record of its own carrying Nats-Msg-Id, and a duplicate of it within the
// hub's dedup window is not stored again: the original event's sequence is
// returned.
//
// All records are published asynchronously on one pooled connection before
// any ack is awaited, so a call costs about one round trip. Errors:
// ErrNoHub, ErrNoPartition, ErrTooLarge and ErrInvalid are checked before
// anything is sent; everything else (no responders, timeout, storage full,
// ctx done, closed Log) wraps ErrUnavailable. After an ErrUnavailable some
// of the records may have been stored: retry with MsgIDs to avoid
// duplicates.
func (l *Log) Append(ctx context.Context, hub string, events []Event) ([]uint64, error) {
	if err := l.usable("append"); err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return []uint64{}, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, unavailable("append", err)
	}
	maxP := 0
	for i := range events {
		maxP = max(maxP, events[i].Partition)
		if events[i].Partition < 0 {
			return nil, fmt.Errorf("%w: hub %s: partition %d", ErrNoPartition, hub, events[i].Partition)
		}
	}
	h, err := l.partition(ctx, hub, maxP)
	if err != nil {
		return nil, wrap("append", err)
	}

	c := l.pick()
	if !c.nc.IsConnected() {
		// While the client reconnects, a publish would sit in its reconnect
		// buffer until the deadline: refuse at once so the caller can answer
		// 503 and the device retry later.
		return nil, unavailable("append", fmt.Errorf("not connected to NATS (%s)", c.nc.Status()))
	}
	maxPayload := int(c.nc.MaxPayload())
	if l.maxRecord > 0 { // tests
		maxPayload = min(maxPayload, l.maxRecord)
	}
	b, err := buildRecords(events, h.subjects, maxPayload, recordTarget)
	if err != nil {
		return nil, err
	}

	ctx, cancel := l.withTimeout(ctx)
	defer cancel()
	futures := make([]jetstream.PubAckFuture, len(b.msgs))
	for i := range b.msgs {
		if futures[i], err = c.js.PublishMsgAsync(&b.msgs[i]); err != nil {
			return nil, l.appendFailed(ctx, hub, err)
		}
	}
	seqs := make([]uint64, len(events))
	for r, f := range futures {
		var ack *jetstream.PubAck
		select {
		case ack = <-f.Ok():
		case err := <-f.Err():
			return nil, l.appendFailed(ctx, hub, err)
		case <-ctx.Done():
			return nil, unavailable("append", ctx.Err())
		case <-c.done:
			return nil, unavailable("append", nats.ErrConnectionClosed)
		}
		if ack.Sequence > maxRecordSeq {
			return nil, fmt.Errorf("eventlog: append: hub %s: stream sequence %d is beyond the 2^47 records event sequences can address", hub, ack.Sequence)
		}
		// A duplicate is a single-event record: the ack carries the
		// original record's sequence.
		for j, i := range b.recordEvents(r) {
			seqs[i] = eventSeq(ack.Sequence, j)
		}
	}
	return seqs, nil
}

// records is the batch of records one Append publishes.
type records struct {
	msgs  []nats.Msg
	order []int32 // input indexes of the events, record after record
	ends  []int32 // ends[r]: end of record r's events in order
}

// recordEvents returns the input indexes of record r's events, in order.
func (b *records) recordEvents(r int) []int32 {
	start := int32(0)
	if r > 0 {
		start = b.ends[r-1]
	}
	return b.order[start:b.ends[r]]
}

// buildRecords groups events by partition (keeping their relative order),
// splits each group into records of at most maxRecordEvents events and
// target bytes (an event with a MsgID, or bigger than target,
// gets a record of its own, up to maxPayload bytes on the wire), and encodes
// them into one buffer. ErrInvalid (properties that do
// not encode) and ErrTooLarge (an event that does not fit in a record
// alone) are reported before anything is built.
func buildRecords(events []Event, subjects []string, maxPayload, target int) (*records, error) {
	// Properties JSON and the encoded size of every event.
	var props [][]byte
	sizes := make([]int, len(events))
	nparts := 0
	for i := range events {
		ev := &events[i]
		nparts = max(nparts, ev.Partition+1)
		var pj []byte
		if len(ev.Properties) > 0 {
			var err error
			if pj, err = marshalProps(ev); err != nil {
				return nil, err
			}
			if props == nil {
				props = make([][]byte, len(events))
			}
			props[i] = pj
		}
		sizes[i] = eventSize(ev, pj)
		// Alone in a record: version byte, count 1, the event, headers.
		alone := 2 + sizes[i] + recordHeaderSize(1, escapeHeader(ev.MsgID))
		if alone > maxPayload {
			return nil, fmt.Errorf("%w: event %d is %d bytes as a record, limit %d", ErrTooLarge, i, alone, maxPayload)
		}
	}

	// Counting sort by partition: order lists the events partition by
	// partition, each partition's in input order.
	b := &records{order: make([]int32, len(events))}
	pos := make([]int32, nparts+1)
	for i := range events {
		pos[events[i].Partition+1]++
	}
	for p := 1; p <= nparts; p++ {
		pos[p] += pos[p-1]
	}
	for i := range events {
		p := events[i].Partition
		b.order[pos[p]] = int32(i)
		pos[p]++
	}

	// Split into records. Events are added to a record while it stays
	// within target bytes and, with room for the largest count
	// header and count prefix, within maxPayload; an event that passed the
	// check above always fits in a record alone, however large.
	budget := min(maxPayload-maxCountHeaderSize, target)
	total := 0
	var start, size int // current record: order[start:j], encoded size
	flush := func(end int) {
		if end > start {
			b.ends = append(b.ends, int32(end))
			total += 1 + uvarintLen(uint64(end-start)) + size
			start, size = end, 0
		}
	}
	for j, i := range b.order {
		ev := &events[i]
		if j > start && (ev.Partition != events[b.order[start]].Partition || ev.MsgID != "" ||
			events[b.order[j-1]].MsgID != "" || j-start == maxRecordEvents ||
			maxRecordPrefix+size+sizes[i] > budget) {
			flush(j)
		}
		size += sizes[i]
	}
	flush(len(b.order))

	// Encode every record into one buffer of the exact total size.
	buf := make([]byte, 0, total)
	b.msgs = make([]nats.Msg, len(b.ends))
	for r := range b.msgs {
		idx := b.recordEvents(r)
		first := &events[idx[0]]
		begin := len(buf)
		buf = append(buf, recordVersion)
		buf = binary.AppendUvarint(buf, uint64(len(idx)))
		for _, i := range idx {
			var pj []byte
			if props != nil {
				pj = props[i]
			}
			buf = appendEvent(buf, &events[i], pj)
		}
		b.msgs[r] = nats.Msg{
			Subject: subjects[first.Partition],
			Data:    buf[begin:len(buf):len(buf)],
			Header:  recordHeader(len(idx), escapeHeader(first.MsgID)),
		}
	}
	return b, nil
}

// appendFailed turns a publish error into the error Append returns.
func (l *Log) appendFailed(ctx context.Context, hub string, err error) error {
	switch {
	case errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, nats.ErrNoResponders):
		// The hub may have been deleted (or shrunk) since it was cached.
		return l.diagnose(ctx, "append", hub, err)
	case errors.Is(err, nats.ErrMaxPayload):
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	}
	return unavailable("append", err)
}
