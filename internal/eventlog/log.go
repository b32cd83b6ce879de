package eventlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Log is Moat's handle on JetStream: hub streams, reads and KV buckets.
// It is safe for concurrent use.
type Log struct {
	cfg   Config
	log   *slog.Logger
	names names
	srv   *server.Server // nil in external mode
	conns []*conn
	next  atomic.Uint32 // round-robin cursor over conns
	hubs  hubCache

	maxRecord int // if > 0, caps record size below max_payload (tests)

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// conn is one pooled NATS connection with its JetStream context.
type conn struct {
	nc       *nats.Conn
	js       jetstream.JetStream
	done     chan struct{} // closed once nc is closed
	batchGet bool          // server answers batched direct gets (>= 2.11)
}

const (
	// maxPendingAcks bounds unacknowledged async publishes per connection.
	// Past it PublishMsgAsync stalls briefly and then fails, which Append
	// reports as ErrUnavailable (back-pressure). The whole pool stays well
	// under a stream's default ingest queue (100k messages), beyond which the
	// server rejects publishes with 429.
	maxPendingAcks = 8192
	// ackTimeout drops an async publish that never got an ack (lost
	// reply in a cluster fail-over) so it cannot leak. Append waits with its
	// own, usually shorter, deadline.
	ackTimeout  = time.Minute
	drainWait   = 10 * time.Second
	reconnWait  = 250 * time.Millisecond
	connectWait = 5 * time.Second
)

// Open starts the embedded server (or connects to cfg.URL), dials the
// connection pool and checks that JetStream answers.
func Open(ctx context.Context, cfg Config) (*Log, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	l := &Log{cfg: cfg, log: cfg.Logger, names: names{prefix: cfg.Prefix}}
	if cfg.URL == "" {
		if l.srv, err = startEmbedded(ctx, cfg); err != nil {
			return nil, err
		}
	}
	for i := range cfg.Conns {
		c, err := l.dial(i)
		if err != nil {
			_ = l.Close()
			return nil, unavailable("connect", err)
		}
		l.conns = append(l.conns, c)
	}
	if err := l.Ping(ctx); err != nil {
		_ = l.Close()
		return nil, err
	}
	return l, nil
}

func (l *Log) dial(i int) (*conn, error) {
	c := &conn{done: make(chan struct{})}
	log := l.log.With(slog.Int("conn", i))
	opts := []nats.Option{
		nats.Name("moat"),
		nats.Timeout(connectWait),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(reconnWait),
		nats.DrainTimeout(drainWait),
		nats.ClosedHandler(func(*nats.Conn) { close(c.done) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", slog.Any("err", err))
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected", slog.String("url", nc.ConnectedUrlRedacted()))
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			log.Warn("nats async error", slog.String("subject", subj), slog.Any("err", err))
		}),
	}
	url := l.cfg.URL
	if l.srv != nil {
		url = ""
		opts = append(opts, nats.InProcessServer(l.srv))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, err
	}
	c.nc = nc
	c.batchGet = versionAtLeast(nc.ConnectedServerVersion(), 2, 11)
	c.js, err = jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(maxPendingAcks),
		jetstream.WithPublishAsyncTimeout(ackTimeout),
		jetstream.WithDefaultTimeout(l.cfg.Timeout),
	)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// pick returns the next pooled connection, round-robin.
func (l *Log) pick() *conn {
	return l.conns[int(l.next.Add(1))%len(l.conns)]
}

// control is the connection used for administrative calls and KV.
func (l *Log) control() *conn { return l.conns[0] }

// usable fails with ErrUnavailable once Close has been called.
func (l *Log) usable(op string) error {
	if l.closed.Load() {
		return unavailable(op, errClosed)
	}
	return nil
}

// withTimeout applies the default operation timeout when ctx has no deadline.
func (l *Log) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, l.cfg.Timeout)
}

// Ping checks that JetStream is reachable and enabled for the account.
func (l *Log) Ping(ctx context.Context) error {
	if err := l.usable("ping"); err != nil {
		return err
	}
	ctx, cancel := l.withTimeout(ctx)
	defer cancel()
	if _, err := l.control().js.AccountInfo(ctx); err != nil {
		return unavailable("ping", err)
	}
	return nil
}

// MaxPayload is the largest NATS message (headers plus body) the server
// accepts, so the largest record. An event must fit in a record of its own
// (MaxPayload less a few dozen bytes of record framing and headers, more
// with a long MsgID); Append rejects bigger events with ErrTooLarge and
// splits bigger batches into several records.
func (l *Log) MaxPayload() int64 { return l.control().nc.MaxPayload() }

// Close drains every connection (in-flight acks and replies are delivered)
// and then, in embedded mode, shuts the server down and waits for it, which
// flushes the file store. Later calls fail with ErrUnavailable. Close is
// idempotent.
func (l *Log) Close() error {
	l.closeOnce.Do(func() {
		l.closed.Store(true)
		var errs []error
		for _, c := range l.conns {
			if err := c.nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
				errs = append(errs, err)
			}
		}
		for _, c := range l.conns {
			select {
			case <-c.done:
			case <-time.After(drainWait + time.Second):
				c.nc.Close()
				errs = append(errs, errors.New("drain timed out"))
			}
		}
		if l.srv != nil {
			l.srv.Shutdown()
			l.srv.WaitForShutdown()
		}
		if err := errors.Join(errs...); err != nil {
			l.closeErr = fmt.Errorf("eventlog: close: %w", err)
		}
	})
	return l.closeErr
}

// versionAtLeast reports whether server version v ("2.11.3", "2.12.0-RC.1")
// is at least major.minor.
func versionAtLeast(v string, major, minor int) bool {
	var ma, mi int
	if _, err := fmt.Sscanf(v, "%d.%d", &ma, &mi); err != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}
