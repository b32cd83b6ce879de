package discovery

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Feed forwards decisions to the hub's security stream in the background,
// so the center can detect on them (token refusals for geofence, network,
// maintenance). The audit journal stays the record of every decision: a
// token is issued only once its decision is durable there. The feed is a
// copy; when its sink cannot keep up or is down, decisions are dropped
// from the feed (never from the journal), counted and logged.
type Feed struct {
	sink   func(ctx context.Context, ds []Decision) error
	logger *slog.Logger
	ch     chan Decision
	done   chan struct{}
	once   sync.Once

	dropped atomic.Int64
	failed  atomic.Int64
}

// FeedBatch is the most decisions handed to the sink at once.
const FeedBatch = 256

// NewFeed starts a feed holding up to capacity pending decisions.
func NewFeed(sink func(ctx context.Context, ds []Decision) error, capacity int, logger *slog.Logger) *Feed {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	f := &Feed{sink: sink, logger: logger, ch: make(chan Decision, max(capacity, 1)), done: make(chan struct{})}
	go f.run()
	return f
}

// Publish queues d without blocking; a full queue drops it (counted).
func (f *Feed) Publish(d Decision) {
	select {
	case f.ch <- d:
	default:
		if f.dropped.Add(1)%1000 == 1 {
			f.logger.Warn("security feed full: decisions dropped from the feed (the audit journal has them)", "dropped", f.dropped.Load())
		}
	}
}

// Dropped reports decisions dropped because the queue was full or the sink
// failed.
func (f *Feed) Dropped() int64 { return f.dropped.Load() + f.failed.Load() }

// Close stops accepting decisions and waits (up to ctx) for the queue to
// drain.
func (f *Feed) Close(ctx context.Context) {
	f.once.Do(func() { close(f.ch) })
	select {
	case <-f.done:
	case <-ctx.Done():
	}
}

func (f *Feed) run() {
	defer close(f.done)
	batch := make([]Decision, 0, FeedBatch)
	for d := range f.ch {
		batch = append(batch[:0], d)
	more:
		for len(batch) < FeedBatch {
			select {
			case d, ok := <-f.ch:
				if !ok {
					break more
				}
				batch = append(batch, d)
			default:
				break more
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := f.sink(ctx, batch); err != nil {
			f.failed.Add(int64(len(batch)))
			f.logger.Warn("security feed: decisions not forwarded (the audit journal has them)", "decisions", len(batch), "err", err)
		}
		cancel()
	}
}
