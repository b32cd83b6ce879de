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

// Journal is an append-only stream of records (such as audit decisions),
// each filed under a few key tokens so it can be queried by them, e.g.
// result and device. With prefix P and name N its stream is P_journal_N and
// a record with tokens [a, b] has the subject P.journal.N.a.b, tokens
// encoded with EncodeKey. Records expire after the journal's retention.
type Journal struct {
	l       *Log
	name    string
	stream  string
	subject string // P.journal.N
	tokens  int
}

// JournalEntry is one stored record.
type JournalEntry struct {
	Sequence uint64
	Time     time.Time
	Tokens   []string
	Data     []byte
}

// Journal creates or binds the journal named name whose records carry
// exactly tokens key tokens, keeping them for retention.
func (l *Log) Journal(ctx context.Context, name string, tokens int, retention time.Duration) (*Journal, error) {
	if err := l.usable("journal"); err != nil {
		return nil, err
	}
	if !validBucket(name) || tokens < 1 || tokens > 8 || retention <= 0 {
		return nil, fmt.Errorf("%w: journal %q (%d tokens, retention %s)", ErrInvalid, name, tokens, retention)
	}
	j := &Journal{l: l, name: name, stream: l.names.prefix + "_journal_" + name,
		subject: l.names.prefix + ".journal." + name, tokens: tokens}
	ctx, cancel := l.withTimeout(ctx)
	defer cancel()
	_, err := l.control().js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        j.stream,
		Description: "Moat journal " + name,
		Subjects:    []string{j.subject + ".>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      retention,
		Replicas:    max(l.cfg.Replicas, 1),
	})
	if err != nil {
		return nil, wrap("journal "+name, err)
	}
	return j, nil
}

// Append stores one record and returns once JetStream acknowledged it.
func (j *Journal) Append(ctx context.Context, tokens []string, data []byte) (uint64, error) {
	if len(tokens) != j.tokens {
		return 0, fmt.Errorf("%w: journal %s takes %d tokens, got %d", ErrInvalid, j.name, j.tokens, len(tokens))
	}
	if err := j.l.usable("journal append"); err != nil {
		return 0, err
	}
	c := j.l.pick()
	if !c.nc.IsConnected() {
		return 0, unavailable("journal append", fmt.Errorf("not connected to NATS (%s)", c.nc.Status()))
	}
	ctx, cancel := j.l.withTimeout(ctx)
	defer cancel()
	// An asynchronous publish shares the connection's reply subscription; a
	// synchronous one would set up a request/reply exchange per record.
	f, err := c.js.PublishMsgAsync(&nats.Msg{Subject: j.subjectOf(tokens), Data: data})
	if err != nil {
		return 0, unavailable("journal append", err)
	}
	select {
	case ack := <-f.Ok():
		return ack.Sequence, nil
	case err := <-f.Err():
		return 0, unavailable("journal append", err)
	case <-ctx.Done():
		return 0, unavailable("journal append", ctx.Err())
	case <-c.done:
		return 0, unavailable("journal append", nats.ErrConnectionClosed)
	}
}

func (j *Journal) subjectOf(tokens []string) string {
	var b strings.Builder
	b.WriteString(j.subject)
	for _, t := range tokens {
		b.WriteByte('.')
		if t == "" {
			b.WriteString(EncodeKey("")) // never an empty token
		} else {
			b.WriteString(EncodeKey(t))
		}
	}
	return b.String()
}

// Query returns up to limit records stored at or after since, oldest first,
// whose tokens equal filter where the filter token is not "" ("" matches
// any value).
func (j *Journal) Query(ctx context.Context, filter []string, since time.Time, limit int) ([]JournalEntry, error) {
	if len(filter) != j.tokens || limit < 1 {
		return nil, fmt.Errorf("%w: journal %s query: %d filter tokens, limit %d", ErrInvalid, j.name, len(filter), limit)
	}
	if err := j.l.usable("journal query"); err != nil {
		return nil, err
	}
	parts := make([]string, len(filter))
	for i, f := range filter {
		if f == "" {
			parts[i] = "*"
		} else {
			parts[i] = EncodeKey(f)
		}
	}
	ctx, cancel := j.l.withTimeout(ctx)
	defer cancel()
	js := j.l.control().js
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{j.subject + "." + strings.Join(parts, ".")}}
	if !since.IsZero() {
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	}
	cons, err := js.OrderedConsumer(ctx, j.stream, cfg)
	if err != nil {
		return nil, wrap("journal query", err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return nil, wrap("journal query", err)
	}
	want := min(limit, int(info.NumPending))
	out := make([]JournalEntry, 0, want)
	for len(out) < want {
		batch, err := cons.Fetch(want-len(out), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, wrap("journal query", err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			md, err := m.Metadata()
			if err != nil {
				return nil, wrap("journal query", err)
			}
			e := JournalEntry{Sequence: md.Sequence.Stream, Time: md.Timestamp.UTC(), Data: m.Data()}
			for _, t := range strings.Split(strings.TrimPrefix(m.Subject(), j.subject+"."), ".") {
				dt, err := DecodeKey(t)
				if err != nil {
					return nil, fmt.Errorf("%w: journal subject %q", ErrCorrupt, m.Subject())
				}
				e.Tokens = append(e.Tokens, dt)
			}
			out = append(out, e)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return nil, wrap("journal query", err)
		}
		if n == 0 {
			break
		}
	}
	return out, nil
}
