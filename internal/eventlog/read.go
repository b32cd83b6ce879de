package eventlog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// MaxReadLimit caps the limit of one Read.
const MaxReadLimit = 10_000

// Read returns up to limit (at most MaxReadLimit) events of one partition
// with sequence >= from, in sequence order (from 0 is read as 1). next is the
// sequence to ask for next time: the last returned sequence + 1, or from when
// nothing was returned, so it never goes backwards. Events that aged out are
// skipped silently.
//
// When no event is available Read waits up to wait for one (long poll) and
// returns as soon as any arrives, with what is available then. A wait that
// ends empty is not an error. Unknown hub: ErrNoHub; unknown partition:
// ErrNoPartition; ctx done or JetStream unreachable: ErrUnavailable.
//
// On servers >= 2.11 a read is one batched direct get (no consumer state on
// the server); older servers get a short-lived consumer per read. A long poll
// that has to wait always uses a short-lived consumer.
func (l *Log) Read(ctx context.Context, hub string, partition int, from uint64, limit int, wait time.Duration) ([]Event, uint64, error) {
	from = max(from, 1)
	if err := l.usable("read"); err != nil {
		return nil, from, err
	}
	if limit < 1 {
		return nil, from, fmt.Errorf("%w: limit %d", ErrInvalid, limit)
	}
	limit = min(limit, MaxReadLimit)
	h, err := l.partition(ctx, hub, partition)
	if err != nil {
		return nil, from, wrap("read", err)
	}
	c := l.pick()
	q := directQuery{stream: h.stream, subj: h.subjects[partition], seq: from, limit: limit}
	events, err := l.get(ctx, c, hub, partition, q)
	if err != nil || len(events) > 0 || wait <= 0 {
		return events, nextSeq(events, from), err
	}

	first, ok, err := l.await(ctx, c, hub, q, wait)
	if err != nil || !ok {
		return nil, from, err
	}
	q.seq = first
	events, err = l.get(ctx, c, hub, partition, q)
	return events, nextSeq(events, from), err
}

func nextSeq(events []Event, from uint64) uint64 {
	if len(events) == 0 {
		return from
	}
	return events[len(events)-1].Sequence + 1
}

// get runs q and decodes the events.
func (l *Log) get(ctx context.Context, c *conn, hub string, partition int, q directQuery) ([]Event, error) {
	if !c.batchGet && !q.last && q.limit > 1 {
		return l.consumerGet(ctx, c, hub, partition, q)
	}
	gctx, cancel := l.withTimeout(ctx)
	defer cancel()
	msgs, err := directGet(gctx, c.nc, q)
	if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		// The stream may be gone (old servers do not even answer "no
		// responders" to direct gets, hence the timeout case).
		return nil, l.diagnose(ctx, "read", hub, err)
	}
	if err != nil {
		return nil, wrap("read", err)
	}
	events := make([]Event, len(msgs))
	for i, m := range msgs {
		if events[i], err = decodeDirect(m, partition); err != nil {
			return nil, fmt.Errorf("eventlog: read %s/%d: %w", hub, partition, err)
		}
	}
	return events, nil
}

// consumerGet answers q through a short-lived consumer: three round trips
// (create, fetch, delete) instead of one per event on servers that ignore
// batched direct gets.
func (l *Log) consumerGet(ctx context.Context, c *conn, hub string, partition int, q directQuery) ([]Event, error) {
	cons, err := l.tempConsumer(ctx, c, hub, q, false)
	if err != nil {
		return nil, err
	}
	defer l.deleteConsumer(ctx, c, q.stream, cons)
	batch, err := cons.FetchNoWait(q.limit)
	if err != nil {
		return nil, wrap("read", err)
	}
	var events []Event
	for m := range batch.Messages() {
		md, err := m.Metadata()
		if err != nil {
			return nil, fmt.Errorf("eventlog: read %s/%d: %w", hub, partition, err)
		}
		ev, err := decodeEvent(m.Headers(), m.Data(), md.Sequence.Stream, md.Timestamp, partition)
		if err != nil {
			return nil, fmt.Errorf("eventlog: read %s/%d: %w", hub, partition, err)
		}
		events = append(events, ev)
	}
	if err := batch.Error(); err != nil {
		return nil, wrap("read", err)
	}
	return events, nil
}

// tempConsumerTTL lets the server reap a short-lived consumer whose client
// vanished without deleting it.
const tempConsumerTTL = 30 * time.Second

// tempConsumer creates an ephemeral, in-memory, unacknowledged pull consumer
// on partition q.subj starting at q.seq.
func (l *Log) tempConsumer(ctx context.Context, c *conn, hub string, q directQuery, headersOnly bool) (jetstream.Consumer, error) {
	cctx, cancel := l.withTimeout(ctx)
	defer cancel()
	cons, err := c.js.CreateConsumer(cctx, q.stream, jetstream.ConsumerConfig{
		Description:       "moat read",
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       q.seq,
		FilterSubject:     q.subj,
		AckPolicy:         jetstream.AckNonePolicy,
		HeadersOnly:       headersOnly,
		MemoryStorage:     true,
		Replicas:          1,
		InactiveThreshold: tempConsumerTTL,
	})
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, l.diagnose(ctx, "read", hub, err)
	}
	if err != nil {
		return nil, wrap("read", err)
	}
	return cons, nil
}

// deleteConsumer removes a temporary consumer, even if ctx is already done.
func (l *Log) deleteConsumer(ctx context.Context, c *conn, stream string, cons jetstream.Consumer) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.cfg.Timeout)
	defer cancel()
	err := c.js.DeleteConsumer(dctx, stream, cons.CachedInfo().Name)
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) && !errors.Is(err, nats.ErrConnectionClosed) {
		l.log.Debug("eventlog: delete temporary consumer", "stream", stream, "err", err)
	}
}

// await blocks until partition q.subj has a message with sequence >= q.seq
// and returns that sequence, or ok=false once wait has passed. The server
// does the waiting: a headers-only temporary consumer starting at q.seq is
// asked for one message, so a message stored at any moment (before or
// during the wait) is seen without races.
func (l *Log) await(ctx context.Context, c *conn, hub string, q directQuery, wait time.Duration) (uint64, bool, error) {
	cons, err := l.tempConsumer(ctx, c, hub, q, true)
	if err != nil {
		return 0, false, err
	}
	defer l.deleteConsumer(ctx, c, q.stream, cons)

	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	batch, err := cons.Fetch(1, jetstream.FetchContext(wctx))
	if err != nil {
		if ctx.Err() != nil {
			return 0, false, unavailable("read", ctx.Err())
		}
		if wctx.Err() != nil || errors.Is(err, jetstream.ErrInvalidOption) {
			return 0, false, nil // wait already over (or too short to send)
		}
		return 0, false, wrap("read", err)
	}
	if m, ok := <-batch.Messages(); ok {
		md, err := m.Metadata()
		if err != nil {
			return 0, false, fmt.Errorf("eventlog: read: %w", err)
		}
		return md.Sequence.Stream, true, nil
	}
	if ctx.Err() != nil {
		return 0, false, unavailable("read", ctx.Err())
	}
	if err := batch.Error(); err != nil && wctx.Err() == nil {
		return 0, false, wrap("read", err)
	}
	return 0, false, nil
}
