package eventlog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The security stream holds what Moat learns about the security of devices:
// the agents' security events, the token service's decisions and the hub's
// authorization failures. It is one stream, P_security, so that the center
// follows the whole namespace with one consumer; each hub's part of it is
// the subjects
//
//	P.security.<hub>.<source>.<device>
//
// source is a short word (agent, discovery, hub) and device is encoded with
// EncodeKey. One message is one record (for agents, one security event),
// stored with Nats-Msg-Id "<hub>/<source>/<device>/<id>" so that a record
// sent twice within the duplicate window (SecurityDedupWindow) is stored
// once.

// SecurityDedupWindow is how long the security stream remembers record ids
// to drop duplicates (an agent resending a batch whose answer it lost).
const SecurityDedupWindow = 2 * time.Hour

// DefaultSecurityRetention is how long security records are kept when
// EnsureSecurity is given no retention.
const DefaultSecurityRetention = 30 * 24 * time.Hour

// SecurityRecord is one record to append to the security stream.
type SecurityRecord struct {
	Hub    string // the device's hub
	Source string // [a-z][a-z0-9-]*: agent, discovery, hub
	Device string // the device (publisher) id; "" = not known
	ID     string // unique per (hub, source, device); "" = no duplicate detection
	Data   []byte
}

// SecurityEntry is one stored record.
type SecurityEntry struct {
	Sequence uint64
	Time     time.Time // when the stream stored it
	Hub      string
	Source   string
	Device   string
	Data     []byte
}

func (l *Log) securityStream() string  { return l.names.prefix + "_security" }
func (l *Log) securitySubject() string { return l.names.prefix + ".security" }

// EnsureSecurity creates the security stream or updates its retention
// (0 = DefaultSecurityRetention). It is idempotent.
func (l *Log) EnsureSecurity(ctx context.Context, retention time.Duration) error {
	if err := l.usable("ensure security stream"); err != nil {
		return err
	}
	if retention < 0 {
		return fmt.Errorf("%w: security retention %s", ErrInvalid, retention)
	}
	if retention == 0 {
		retention = DefaultSecurityRetention
	}
	ctx, cancel := l.withTimeout(ctx)
	defer cancel()
	_, err := l.control().js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        l.securityStream(),
		Description: "Moat security records: agent events, token decisions, authorization failures",
		Subjects:    []string{l.securitySubject() + ".>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      retention,
		Duplicates:  min(SecurityDedupWindow, retention),
		Replicas:    max(l.cfg.Replicas, 1),
	})
	return wrap("ensure security stream", err)
}

func validSource(s string) bool {
	if s == "" || len(s) > 32 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

func (l *Log) securityMsg(r SecurityRecord) (*nats.Msg, error) {
	if !validHub(r.Hub) || !validSource(r.Source) {
		return nil, fmt.Errorf("%w: security record hub %q source %q", ErrInvalid, r.Hub, r.Source)
	}
	dev := EncodeKey(r.Device)
	m := &nats.Msg{Subject: l.securitySubject() + "." + r.Hub + "." + r.Source + "." + dev, Data: r.Data}
	if r.ID != "" {
		m.Header = nats.Header{jetstream.MsgIDHeader: []string{r.Hub + "/" + r.Source + "/" + dev + "/" + r.ID}}
	}
	return m, nil
}

// AppendSecurity stores records and returns once JetStream acknowledged all
// of them, with how many were duplicates (already stored under the same id
// within SecurityDedupWindow, and dropped). On error some records may be
// stored: appending them again is safe, duplicates are dropped.
func (l *Log) AppendSecurity(ctx context.Context, recs []SecurityRecord) (duplicates int, err error) {
	if err := l.usable("security append"); err != nil {
		return 0, err
	}
	msgs := make([]*nats.Msg, len(recs))
	for i, r := range recs {
		if msgs[i], err = l.securityMsg(r); err != nil {
			return 0, err
		}
	}
	c := l.pick()
	if !c.nc.IsConnected() {
		return 0, unavailable("security append", fmt.Errorf("not connected to NATS (%s)", c.nc.Status()))
	}
	ctx, cancel := l.withTimeout(ctx)
	defer cancel()
	futures := make([]jetstream.PubAckFuture, len(msgs))
	for i, m := range msgs {
		if futures[i], err = c.js.PublishMsgAsync(m); err != nil {
			return 0, l.securityErr(err)
		}
	}
	for _, f := range futures {
		select {
		case ack := <-f.Ok():
			if ack.Duplicate {
				duplicates++
			}
		case err := <-f.Err():
			return duplicates, l.securityErr(err)
		case <-ctx.Done():
			return duplicates, unavailable("security append", ctx.Err())
		case <-c.done:
			return duplicates, unavailable("security append", nats.ErrConnectionClosed)
		}
	}
	return duplicates, nil
}

func (l *Log) securityErr(err error) error {
	if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) {
		return unavailable("security append", fmt.Errorf("no security stream (EnsureSecurity not called?): %w", err))
	}
	return unavailable("security append", err)
}

// SecurityFilter selects records by hub, source and device ("" = any).
type SecurityFilter struct{ Hub, Source, Device string }

func (l *Log) securityFilterSubject(f SecurityFilter) (string, error) {
	tok := func(s string, ok func(string) bool) (string, error) {
		if s == "" {
			return "*", nil
		}
		if !ok(s) {
			return "", fmt.Errorf("%w: security filter %+v", ErrInvalid, f)
		}
		return s, nil
	}
	h, err := tok(f.Hub, validHub)
	if err != nil {
		return "", err
	}
	s, err := tok(f.Source, validSource)
	if err != nil {
		return "", err
	}
	d := "*"
	if f.Device != "" {
		d = EncodeKey(f.Device)
	}
	return l.securitySubject() + "." + h + "." + s + "." + d, nil
}

// ReadSecurity returns up to limit (at most MaxReadLimit) records matching f
// with sequence >= from (0 reads as 1), oldest first, and the sequence to
// read from next. When none is available it waits up to wait for one.
func (l *Log) ReadSecurity(ctx context.Context, f SecurityFilter, from uint64, limit int, wait time.Duration) ([]SecurityEntry, uint64, error) {
	from = max(from, 1)
	if err := l.usable("security read"); err != nil {
		return nil, from, err
	}
	if limit < 1 {
		return nil, from, fmt.Errorf("%w: limit %d", ErrInvalid, limit)
	}
	limit = min(limit, MaxReadLimit)
	subj, err := l.securityFilterSubject(f)
	if err != nil {
		return nil, from, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.cfg.Timeout+max(wait, 0))
		defer cancel()
	}
	cons, err := l.control().js.OrderedConsumer(ctx, l.securityStream(), jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subj}, DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: from,
	})
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, from, nil // nothing was ever recorded
	}
	if err != nil {
		return nil, from, wrap("security read", err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return nil, from, wrap("security read", err)
	}
	var msgs []jetstream.Msg
	if info.NumPending == 0 {
		if wait <= 0 {
			return nil, from, nil
		}
		// Wait for the first record, then take what else is there.
		m, err := cons.Next(jetstream.FetchMaxWait(wait))
		if errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
			return nil, from, nil
		}
		if err != nil {
			return nil, from, wrap("security read", err)
		}
		msgs = append(msgs, m)
	}
	if want := min(limit, int(info.NumPending)) - len(msgs); want > 0 {
		// Every pending record is stored: the fetch ends when it has them.
		batch, err := cons.Fetch(want, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, from, wrap("security read", err)
		}
		for m := range batch.Messages() {
			msgs = append(msgs, m)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			return nil, from, wrap("security read", err)
		}
	}
	out := make([]SecurityEntry, 0, len(msgs))
	next := from
	for _, m := range msgs {
		md, err := m.Metadata()
		if err != nil {
			return nil, from, wrap("security read", err)
		}
		e := SecurityEntry{Sequence: md.Sequence.Stream, Time: md.Timestamp.UTC(), Data: m.Data()}
		parts := strings.Split(strings.TrimPrefix(m.Subject(), l.securitySubject()+"."), ".")
		if len(parts) != 3 {
			return nil, from, fmt.Errorf("%w: security subject %q", ErrCorrupt, m.Subject())
		}
		e.Hub, e.Source = parts[0], parts[1]
		if e.Device, err = DecodeKey(parts[2]); err != nil {
			return nil, from, fmt.Errorf("%w: security subject %q", ErrCorrupt, m.Subject())
		}
		out = append(out, e)
		next = e.Sequence + 1
	}
	return out, next, nil
}

// PurgeSecurity removes the records of one hub (when the hub is deleted).
func (l *Log) PurgeSecurity(ctx context.Context, hub string) error {
	if !validHub(hub) {
		return fmt.Errorf("%w: hub name %q", ErrInvalid, hub)
	}
	ctx, cancel := l.withTimeout(ctx)
	defer cancel()
	s, err := l.control().js.Stream(ctx, l.securityStream())
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return wrap("security purge", err)
	}
	return wrap("security purge", s.Purge(ctx, jetstream.WithPurgeSubject(l.securitySubject()+"."+hub+".>")))
}

// SecurityEnd returns the sequence the next security record will get (the
// last stored sequence + 1): reading from it returns only newer records.
func (l *Log) SecurityEnd(ctx context.Context) (uint64, error) {
	if err := l.usable("security end"); err != nil {
		return 0, err
	}
	ctx, cancel := l.withTimeout(ctx)
	defer cancel()
	s, err := l.control().js.Stream(ctx, l.securityStream())
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 1, nil
	}
	if err != nil {
		return 0, wrap("security end", err)
	}
	return s.CachedInfo().State.LastSeq + 1, nil
}

// SecurityHandler processes a batch of security records in stream order.
// Returning nil acknowledges the batch. An error means "not processed, try
// again": the same batch is handed again after a back-off, before anything
// newer (acknowledging a later record would acknowledge it too), so a
// handler returns errors only for transient failures and skips records it
// can never process. After a crash, records handled but not yet
// acknowledged come again: handlers must tolerate seeing records twice.
type SecurityHandler func(ctx context.Context, batch []SecurityEntry) error

// DefaultSecurityBatchBytes is ConsumeSecurity's bound on the data of a
// batch when the caller sets none: records are up to about 270 KiB each.
const DefaultSecurityBatchBytes = 32 << 20

// ConsumeSecurity follows the security stream with the durable consumer
// named durable (created if missing, resuming where it stopped), handing
// records to handle in batches of at most maxBatch records, closed once
// their data reaches maxBytes (≤ 0: DefaultSecurityBatchBytes): as many as
// are available at once, so a quiet stream gets each record at once and a
// busy one gets full batches. It returns when ctx ends (nil) or the stream is
// unusable (an error).
func (l *Log) ConsumeSecurity(ctx context.Context, durable string, maxBatch, maxBytes int, handle SecurityHandler) error {
	if maxBytes <= 0 {
		maxBytes = DefaultSecurityBatchBytes
	}
	if !validBucket(durable) || maxBatch < 1 {
		return fmt.Errorf("%w: security consumer %q, batch %d", ErrInvalid, durable, maxBatch)
	}
	if err := l.usable("security consume"); err != nil {
		return err
	}
	js := l.control().js
	cctx, cancel := l.withTimeout(ctx)
	cons, err := js.CreateOrUpdateConsumer(cctx, l.securityStream(), jetstream.ConsumerConfig{
		Durable:     durable,
		Description: "Moat security center",
		// Every record is acknowledged on its own: with AckAll, acknowledging
		// a later record would also acknowledge one that reached a
		// consumer that then died (a pull of a stopped run, a crash), and
		// it would be lost rather than redelivered after AckWait.
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxAckPending: 100_000,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		FilterSubject: l.securitySubject() + ".>",
	})
	cancel()
	if err != nil {
		return wrap("security consumer", err)
	}
	prefix := l.securitySubject() + "."
	var buf []SecurityEntry
	var msgs []jetstream.Msg
	bufBytes := 0
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		for wait := 100 * time.Millisecond; ; wait = min(2*wait, 30*time.Second) {
			// Records in hand are handled even while stopping.
			hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			err := handle(hctx, buf)
			cancel()
			if err == nil {
				break
			}
			l.log.Warn("security consumer: handler failed; retrying the batch", "records", len(buf), "err", err, "retry_in", wait)
			if err := sleepCtx(ctx, wait); err != nil {
				return err // stopping: the batch stays unacknowledged
			}
			// Keep the batch from being redelivered while we retry.
			for _, m := range msgs {
				_ = m.InProgress()
			}
		}
		for _, m := range msgs {
			if err := m.Ack(); err != nil {
				l.log.Warn("security consumer: ack", "err", err)
				break
			}
		}
		buf, msgs, bufBytes = buf[:0], msgs[:0], 0
		return nil
	}
	for ctx.Err() == nil {
		batch, err := cons.Fetch(maxBatch, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			l.log.Warn("security consumer: fetch", "err", err)
			if err := sleepCtx(ctx, time.Second); err != nil {
				return nil
			}
			continue
		}
		ch := batch.Messages()
		for open := true; open; {
			var m jetstream.Msg
			if len(buf) == 0 {
				// Records the server already sent to this pull are taken
				// even when stopping: left alone they would wait AckWait
				// before redelivery. The pull ends within FetchMaxWait.
				m, open = <-ch
			} else {
				select {
				case m, open = <-ch:
				default: // nothing more right now: handle what we have
					if err := flush(); err != nil {
						return nil // ctx ended
					}
					continue
				}
			}
			if !open {
				break
			}
			e, ok := securityEntry(m, prefix)
			if !ok {
				l.log.Warn("security consumer: foreign subject skipped", "subject", m.Subject())
				_ = m.Term()
				continue
			}
			buf, msgs = append(buf, e), append(msgs, m)
			if bufBytes += len(e.Data); bufBytes >= maxBytes {
				if err := flush(); err != nil {
					return nil // ctx ended
				}
			}
		}
		if err := flush(); err != nil {
			return nil // ctx ended
		}
	}
	return nil
}

func securityEntry(m jetstream.Msg, prefix string) (SecurityEntry, bool) {
	md, err := m.Metadata()
	if err != nil {
		return SecurityEntry{}, false
	}
	parts := strings.Split(strings.TrimPrefix(m.Subject(), prefix), ".")
	if len(parts) != 3 {
		return SecurityEntry{}, false
	}
	dev, err := DecodeKey(parts[2])
	if err != nil {
		return SecurityEntry{}, false
	}
	return SecurityEntry{Sequence: md.Sequence.Stream, Time: md.Timestamp.UTC(), Hub: parts[0], Source: parts[1], Device: dev, Data: m.Data()}, true
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
