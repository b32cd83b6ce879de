package notify

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moatsec/moat/internal/center"
)

// worker delivers one channel's messages, one at a time, so that a slow
// or dead channel only delays itself.
type worker struct {
	name   string
	ch     atomic.Pointer[Channel]
	jobs   chan job // closed by the dispatcher at Close
	digest chan job // at most one digest waiting
	ctx    context.Context
	cancel context.CancelFunc // the channel was removed, or Close gave up
	c      counters
	// dropLog limits the dispatcher's warnings about this channel.
	dropLog logLimiter
}

type job struct {
	kind         string
	alert        center.Alert
	created      bool
	entries      []DigestEntry
	since, until time.Time
	loc          *time.Location // the digest's time zone
}

func (j *job) alertIDs() []string {
	if j.kind == KindAlert {
		return []string{j.alert.ID}
	}
	ids := make([]string, len(j.entries))
	for i, e := range j.entries {
		ids[i] = e.Alert.ID
	}
	return ids
}

func newWorker(parent context.Context, name string, ch *Channel) *worker {
	w := &worker{name: name, jobs: make(chan job, ChannelQueueSize), digest: make(chan job, 1)}
	w.ch.Store(ch)
	w.ctx, w.cancel = context.WithCancel(parent)
	return w
}

func (n *Notifier) runWorker(w *worker) {
	defer n.wg.Done()
	for {
		select {
		case <-w.ctx.Done():
			w.dropQueued()
			return
		case j := <-w.digest:
			n.deliver(w, j)
		case j, ok := <-w.jobs:
			if !ok {
				select {
				case j := <-w.digest:
					n.deliver(w, j)
				default:
				}
				return
			}
			n.deliver(w, j)
		}
	}
}

// dropQueued counts what a stopped worker leaves behind.
func (w *worker) dropQueued() {
	for {
		select {
		case j, ok := <-w.jobs:
			if !ok {
				return
			}
			w.c.dropped.Add(uint64(max(1, len(j.entries))))
		case j := <-w.digest:
			w.c.dropped.Add(uint64(len(j.entries)))
		default:
			return
		}
	}
}

func (n *Notifier) deliver(w *worker, j job) {
	if w.ctx.Err() != nil {
		w.c.dropped.Add(uint64(max(1, len(j.entries))))
		return
	}
	ch := w.ch.Load()
	var attempts int
	var err error
	switch ch.Type {
	case TypeEmail:
		attempts, err = n.sendEmail(w.ctx, ch.Email, j)
	case TypeWebhook:
		attempts, err = n.sendWebhook(w.ctx, ch.Webhook, j)
	default:
		err = errors.New("unknown channel type")
	}
	if attempts > 1 {
		w.c.retries.Add(uint64(attempts - 1))
	}
	ids := j.alertIDs()
	first := ""
	if len(ids) > 0 {
		first = ids[0]
	}
	if err != nil {
		w.c.failed.Add(1)
		w.c.setError(err.Error(), n.clock.Now())
		n.log.Warn("notify: delivery failed", "channel", w.name, "type", ch.Type, "kind", j.kind, "alerts", len(ids), "firstAlert", first, "attempts", attempts, "err", err.Error())
	} else {
		if j.kind == KindDigest {
			w.c.digestsSent.Add(1)
		} else {
			w.c.sent.Add(1)
		}
		n.log.Debug("notify: delivered", "channel", w.name, "type", ch.Type, "kind", j.kind, "alerts", len(ids), "attempts", attempts)
	}
	if n.opts.OnDelivery != nil {
		n.opts.OnDelivery(Delivery{Channel: w.name, Kind: j.kind, AlertIDs: ids, Attempts: attempts, Err: err})
	}
}

// counters are a channel's statistics.
type counters struct {
	sent, digestsSent, failed, retries, throttled, rateLimited, digested, dropped atomic.Uint64

	mu        sync.Mutex
	lastErr   string
	lastErrAt time.Time
}

func (c *counters) setError(msg string, at time.Time) {
	c.mu.Lock()
	c.lastErr, c.lastErrAt = msg, at
	c.mu.Unlock()
}

func (c *counters) snapshot() ChannelStats {
	c.mu.Lock()
	lastErr, lastAt := c.lastErr, c.lastErrAt
	c.mu.Unlock()
	return ChannelStats{
		Sent:        c.sent.Load(),
		DigestsSent: c.digestsSent.Load(),
		Failed:      c.failed.Load(),
		Retries:     c.retries.Load(),
		Throttled:   c.throttled.Load(),
		RateLimited: c.rateLimited.Load(),
		Digested:    c.digested.Load(),
		Dropped:     c.dropped.Load(),
		LastError:   lastErr,
		LastErrorAt: lastAt,
	}
}
