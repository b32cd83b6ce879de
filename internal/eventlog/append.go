package eventlog

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Append stores events in hub and returns their stream sequences, in order,
// once JetStream has acknowledged every one of them (see the package comment
// for what an acknowledgement guarantees). Events may target different
// partitions. A duplicate MsgID within the dedup window is not stored again;
// its original sequence is returned.
//
// All events are published asynchronously on one pooled connection before
// any ack is awaited, so a batch costs about one round trip. Errors:
// ErrNoHub, ErrNoPartition, ErrTooLarge and ErrInvalid are checked before
// anything is sent; everything else (no responders, timeout, storage full,
// ctx done, closed Log) wraps ErrUnavailable. After an ErrUnavailable some
// of the events may have been stored: retry with MsgIDs to avoid duplicates.
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
	limit := c.nc.MaxPayload()
	msgs := make([]nats.Msg, len(events))
	for i := range events {
		m := &msgs[i]
		m.Subject = h.subjects[events[i].Partition]
		if i > 0 && events[i].sameHeaders(&events[i-1]) {
			// Share the (read-only) header map: a batch from one device
			// usually carries the same metadata on every event.
			m.Data, m.Header = events[i].Body, msgs[i-1].Header
		} else if err := events[i].encode(m); err != nil {
			return nil, err
		}
		if size := wireSize(m); size > limit {
			return nil, fmt.Errorf("%w: event %d is %d bytes, limit %d", ErrTooLarge, i, size, limit)
		}
	}

	ctx, cancel := l.withTimeout(ctx)
	defer cancel()
	futures := make([]jetstream.PubAckFuture, len(msgs))
	for i := range msgs {
		if futures[i], err = c.js.PublishMsgAsync(&msgs[i]); err != nil {
			return nil, l.appendFailed(ctx, hub, err)
		}
	}
	seqs := make([]uint64, len(futures))
	for i, f := range futures {
		select {
		case ack := <-f.Ok():
			seqs[i] = ack.Sequence
		case err := <-f.Err():
			return nil, l.appendFailed(ctx, hub, err)
		case <-ctx.Done():
			return nil, unavailable("append", ctx.Err())
		case <-c.done:
			return nil, unavailable("append", nats.ErrConnectionClosed)
		}
	}
	return seqs, nil
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
