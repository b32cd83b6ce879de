// Package secfeed forwards records to a sink in the background, in
// batches, without ever blocking the producer: the copies of token
// decisions and authorization failures that go to the security stream. The
// producer's own record (the audit journal, the HTTP answer) stays the
// authority; when the sink lags or fails, copies are dropped and counted.
package secfeed

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Batch is the most records handed to the sink at once.
const Batch = 256

// Feed forwards values of type T to a sink.
type Feed[T any] struct {
	name   string
	sink   func(ctx context.Context, batch []T) error
	logger *slog.Logger
	ch     chan T
	done   chan struct{}
	once   sync.Once

	dropped atomic.Int64 // queue full
	failed  atomic.Int64 // sink errors
}

// New starts a feed named name (for logs) holding up to capacity pending
// values.
func New[T any](name string, capacity int, sink func(ctx context.Context, batch []T) error, logger *slog.Logger) *Feed[T] {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	f := &Feed[T]{name: name, sink: sink, logger: logger, ch: make(chan T, max(capacity, 1)), done: make(chan struct{})}
	go f.run()
	return f
}

// Publish queues v without blocking; a full queue drops it (counted).
func (f *Feed[T]) Publish(v T) {
	select {
	case f.ch <- v:
	default:
		if f.dropped.Add(1)%1000 == 1 {
			f.logger.Warn(f.name+": queue full, records dropped from the feed", "dropped", f.dropped.Load())
		}
	}
}

// Dropped reports the values dropped because the queue was full or the
// sink failed.
func (f *Feed[T]) Dropped() int64 { return f.dropped.Load() + f.failed.Load() }

// Close stops accepting values and waits (up to ctx) for the queue to drain.
func (f *Feed[T]) Close(ctx context.Context) {
	f.once.Do(func() { close(f.ch) })
	select {
	case <-f.done:
	case <-ctx.Done():
	}
}

func (f *Feed[T]) run() {
	defer close(f.done)
	batch := make([]T, 0, Batch)
	for v := range f.ch {
		batch = append(batch[:0], v)
	more:
		for len(batch) < Batch {
			select {
			case v, ok := <-f.ch:
				if !ok {
					break more
				}
				batch = append(batch, v)
			default:
				break more
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := f.sink(ctx, batch); err != nil {
			f.failed.Add(int64(len(batch)))
			f.logger.Warn(f.name+": records not forwarded", "records", len(batch), "err", err)
		}
		cancel()
	}
}
