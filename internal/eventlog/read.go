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
// nothing was returned, so it never goes backwards. A limit may stop in the
// middle of a record; next then points inside it and the following Read
// resumes there. Events that aged out are skipped silently.
//
// A stored message that is not a decodable record fails the Read that
// reaches it first with ErrCorrupt (naming the record); the events stored
// before it are returned by the Reads before, never skipped or invented.
//
// When no event is available Read waits up to wait for one (long poll) and
// returns as soon as any arrives, with what is available then. A wait that
// ends empty is not an error. Unknown hub: ErrNoHub; unknown partition:
// ErrNoPartition; ctx done or JetStream unreachable: ErrUnavailable.
//
// On servers >= 2.11 a read is one batched direct get or a few (no consumer
// state on the server); older servers get a short-lived consumer per read. A
// long poll that has to wait always uses a short-lived consumer.
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
	r := newReader(hub, partition, h.subjects[partition], from, limit)
	var deadline time.Time
	if wait > 0 {
		deadline = time.Now().Add(wait)
	}
	for {
		if err := l.fetch(ctx, c, h, r); err != nil {
			return nil, from, err
		}
		if len(r.events) > 0 || wait <= 0 {
			return r.events, r.next(from), nil
		}
		// Nothing at or after r.start yet: let the server wake us when a
		// record arrives, then read from it.
		left := time.Until(deadline)
		if left <= 0 {
			return nil, from, nil
		}
		first, ok, err := l.await(ctx, c, hub, h.stream, r.subj, r.start, left)
		if err != nil || !ok {
			return nil, from, err
		}
		r.start = first
	}
}

// reader collects the events of one Read from the records it is fed.
type reader struct {
	hub       string
	partition int
	subj      string
	limit     int

	// The event at from is event skip of the record stored at first; the
	// records before it, and the first skip events of it, are not wanted.
	first uint64
	skip  int

	start  uint64 // stream sequence to fetch from next
	events []Event
	done   bool // limit reached, or stopped before a corrupt record

	// Seen records, their events and bytes: fetch sizing for the hub.
	records, recEvents, recBytes int
}

func newReader(hub string, partition int, subj string, from uint64, limit int) *reader {
	first, skip := splitSeq(from)
	if first == 0 { // before any event: read from the start
		first, skip = 1, 0
	}
	return &reader{hub: hub, partition: partition, subj: subj, limit: limit, first: first, skip: skip, start: first}
}

// next is the sequence the next Read should start at.
func (r *reader) next(from uint64) uint64 {
	if len(r.events) == 0 {
		return from
	}
	return r.events[len(r.events)-1].Sequence + 1
}

// need is how many more events the next records must hold, counting the
// skipped events of the first record if it has not been seen yet.
func (r *reader) need() int {
	n := r.limit - len(r.events)
	if r.start <= r.first {
		n += r.skip
	}
	return n
}

// add takes the wanted events of the message stored at seq. A record that
// cannot be decoded fails the Read with ErrCorrupt if it is the first
// source of events; after some events it only ends the Read, so they are
// returned and the next Read fails on it.
func (r *reader) add(seq uint64, ts time.Time, h nats.Header, data []byte) error {
	if r.done {
		return nil
	}
	if seq > maxRecordSeq {
		return fmt.Errorf("eventlog: read %s/%d: stream sequence %d is beyond the 2^47 records event sequences can address", r.hub, r.partition, seq)
	}
	before := len(r.events)
	stop := func(err error) error {
		r.events = r.events[:before]
		if before > 0 {
			r.done = true
			return nil
		}
		return corrupt(r.hub, r.partition, seq, err)
	}
	rec, err := storedRecord(h, data)
	if err != nil {
		return stop(err)
	}
	msgID, err := storedMsgID(h, &rec)
	if err != nil {
		return stop(err)
	}
	r.records++
	r.recEvents += rec.n
	r.recBytes += len(data)
	r.start = seq + 1

	i := 0
	if seq == r.first {
		for ; i < r.skip && i < rec.n; i++ {
			rec.skip()
		}
	}
	want := min(rec.n-i, r.limit-len(r.events))
	if want <= 0 {
		return nil
	}
	if r.events == nil {
		r.events = make([]Event, 0, min(r.limit, max(want, 64)))
	}
	ts = ts.UTC()
	for range want {
		ev := Event{Partition: r.partition, MsgID: msgID, Sequence: eventSeq(seq, i), EnqueuedTime: ts}
		if err := rec.next(&ev); err != nil {
			return stop(err)
		}
		r.events = append(r.events, ev)
		i++
	}
	r.done = len(r.events) >= r.limit
	return nil
}

// batch is how many records r should ask for next: enough for the events
// it still needs at the hub's observed events per record, never more than
// could be useful (every record holds an event, the first may be all
// skipped), and not much more than maxBatchBytes at the hub's observed
// record size.
func (h *hubInfo) batch(r *reader) int {
	perRecord := max(h.eventsPerRecord.Load(), 1)
	n := (int64(r.need()) + perRecord - 1) / perRecord
	n = min(n, int64(r.limit-len(r.events)+1))
	if size := h.bytesPerRecord.Load(); size > 0 {
		n = min(n, maxBatchBytes/size)
	} else {
		n = min(n, firstBatch)
	}
	return int(max(n, 1))
}

// firstBatch caps the records asked for before the hub's record size is
// known.
const firstBatch = 64

// observe records the records a Read saw, to size the next fetches.
func (h *hubInfo) observe(r *reader) {
	if r.records > 0 {
		h.eventsPerRecord.Store(int64(r.recEvents / r.records))
		h.bytesPerRecord.Store(int64(r.recBytes / r.records))
	}
}

// fetch feeds r the records of its partition from r.start on until it has
// its events or the partition has no more.
func (l *Log) fetch(ctx context.Context, c *conn, h *hubInfo, r *reader) error {
	defer h.observe(r)
	if !c.batchGet && r.limit > 1 {
		return l.consumerFetch(ctx, c, h, r)
	}
	gctx, cancel := l.withTimeout(ctx)
	defer cancel()
	g, err := newDirectGetter(c.nc, h.stream)
	if err != nil {
		return wrap("read", err)
	}
	defer g.close()
	for !r.done {
		msgs, more, err := g.next(gctx, r.subj, r.start, h.batch(r))
		if err != nil {
			return l.directFailed(ctx, "read", r.hub, err)
		}
		for _, m := range msgs {
			seq, ts, err := directMeta(m)
			if err != nil {
				return fmt.Errorf("eventlog: read %s/%d: %w", r.hub, r.partition, err)
			}
			if err := r.add(seq, ts, m.Header, m.Data); err != nil {
				return err
			}
		}
		if len(msgs) == 0 || !more {
			return nil
		}
	}
	return nil
}

// directFailed turns a direct-get error into the error to return.
func (l *Log) directFailed(ctx context.Context, op, hub string, err error) error {
	if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		// The stream may be gone (old servers do not even answer "no
		// responders" to direct gets, hence the timeout case).
		return l.diagnose(ctx, op, hub, err)
	}
	return wrap(op, err)
}

// consumerFetch feeds r through a short-lived consumer: a few round trips
// (create, fetches, delete) instead of one per record on servers that
// ignore batched direct gets.
func (l *Log) consumerFetch(ctx context.Context, c *conn, h *hubInfo, r *reader) error {
	cons, err := l.tempConsumer(ctx, c, r.hub, h.stream, r.subj, r.start, false)
	if err != nil {
		return err
	}
	defer l.deleteConsumer(ctx, c, h.stream, cons)
	for !r.done {
		n := h.batch(r)
		batch, err := cons.FetchNoWait(n)
		if err != nil {
			return wrap("read", err)
		}
		got := 0
		var addErr error
		for m := range batch.Messages() {
			got++
			if addErr != nil {
				continue // drain
			}
			md, err := m.Metadata()
			if err != nil {
				addErr = fmt.Errorf("eventlog: read %s/%d: %w", r.hub, r.partition, err)
				continue
			}
			addErr = r.add(md.Sequence.Stream, md.Timestamp, m.Headers(), m.Data())
		}
		if addErr != nil {
			return addErr
		}
		if err := batch.Error(); err != nil {
			return wrap("read", err)
		}
		if got < n {
			return nil
		}
	}
	return nil
}

// tempConsumerTTL lets the server reap a short-lived consumer whose client
// vanished without deleting it.
const tempConsumerTTL = 30 * time.Second

// tempConsumer creates an ephemeral, in-memory, unacknowledged pull consumer
// on subject subj of stream starting at stream sequence seq.
func (l *Log) tempConsumer(ctx context.Context, c *conn, hub, stream, subj string, seq uint64, headersOnly bool) (jetstream.Consumer, error) {
	cctx, cancel := l.withTimeout(ctx)
	defer cancel()
	cons, err := c.js.CreateConsumer(cctx, stream, jetstream.ConsumerConfig{
		Description:       "moat read",
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       seq,
		FilterSubject:     subj,
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

// await blocks until subject subj has a record with stream sequence >= seq
// and returns that sequence, or ok=false once wait has passed. The server
// does the waiting: a headers-only temporary consumer starting at seq is
// asked for one message, so a record stored at any moment (before or
// during the wait) is seen without races.
func (l *Log) await(ctx context.Context, c *conn, hub, stream, subj string, seq uint64, wait time.Duration) (uint64, bool, error) {
	cons, err := l.tempConsumer(ctx, c, hub, stream, subj, seq, true)
	if err != nil {
		return 0, false, err
	}
	defer l.deleteConsumer(ctx, c, stream, cons)

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
