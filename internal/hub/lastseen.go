package hub

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"
	"time"

	"github.com/moatsec/moat/internal/store"
)

// LastSeenStore persists publishers' last accepted event times. The store
// keeps the later time per publisher.
type LastSeenStore interface {
	PutLastSeen(ctx context.Context, hub string, seen map[string]time.Time) error
	GetLastSeen(ctx context.Context, hub, publisher string) (time.Time, error)
}

// lastSeen records when each publisher last had an event accepted: in
// memory on the send path (one sharded map write per request), flushed to
// the store periodically, so the discovery service's maxSilence check needs
// no scan of the log.
type lastSeen struct {
	seed   maphash.Seed
	shards [16]lastSeenShard
}

type lastSeenShard struct {
	mu    sync.Mutex
	seen  map[pubKey]time.Time // everything seen since start (bounded by the fleet size)
	dirty map[pubKey]time.Time // changed since the last flush
}

func newLastSeen() *lastSeen {
	ls := &lastSeen{seed: maphash.MakeSeed()}
	for i := range ls.shards {
		ls.shards[i].seen = map[pubKey]time.Time{}
		ls.shards[i].dirty = map[pubKey]time.Time{}
	}
	return ls
}

func (ls *lastSeen) shard(k pubKey) *lastSeenShard {
	return &ls.shards[maphash.String(ls.seed, k.publisher)%uint64(len(ls.shards))]
}

func (ls *lastSeen) mark(k pubKey, t time.Time) {
	s := ls.shard(k)
	s.mu.Lock()
	if t.After(s.seen[k]) {
		s.seen[k] = t
		s.dirty[k] = t
	}
	s.mu.Unlock()
}

func (ls *lastSeen) get(k pubKey) (time.Time, bool) {
	s := ls.shard(k)
	s.mu.Lock()
	t, ok := s.seen[k]
	s.mu.Unlock()
	return t, ok
}

// take removes and returns the changes since the last flush, by hub.
func (ls *lastSeen) take() map[string]map[string]time.Time {
	out := map[string]map[string]time.Time{}
	for i := range ls.shards {
		s := &ls.shards[i]
		s.mu.Lock()
		for k, t := range s.dirty {
			if out[k.hub] == nil {
				out[k.hub] = map[string]time.Time{}
			}
			out[k.hub][k.publisher] = t
		}
		clear(s.dirty)
		s.mu.Unlock()
	}
	return out
}

// putBack re-queues changes a failed flush could not store.
func (ls *lastSeen) putBack(byHub map[string]map[string]time.Time) {
	for hub, m := range byHub {
		for pub, t := range m {
			k := pubKey{hub, pub}
			s := ls.shard(k)
			s.mu.Lock()
			if t.After(s.dirty[k]) {
				s.dirty[k] = t
			}
			s.mu.Unlock()
		}
	}
}

// LastSeen returns when a publisher last had an event accepted: from memory,
// else from the store. ok is false if it never has.
func (c *Core) LastSeen(ctx context.Context, hub, publisher string) (time.Time, bool, error) {
	if t, ok := c.seen.get(pubKey{hub, publisher}); ok {
		return t, true, nil
	}
	if c.seenStore == nil {
		return time.Time{}, false, nil
	}
	t, err := c.seenStore.GetLastSeen(ctx, hub, publisher)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return time.Time{}, false, nil
		}
		return time.Time{}, false, mapStoreErr(err)
	}
	return t, true, nil
}

// FlushLastSeen writes the last-seen times changed since the previous flush
// to the store. It runs every LastSeenFlush and on Close.
func (c *Core) FlushLastSeen(ctx context.Context) error {
	if c.seenStore == nil {
		return nil
	}
	byHub := c.seen.take()
	var errs []error
	for hub, m := range byHub {
		if err := c.seenStore.PutLastSeen(ctx, hub, m); err != nil {
			errs = append(errs, err)
			c.seen.putBack(map[string]map[string]time.Time{hub: m})
		}
	}
	return errors.Join(errs...)
}

func (c *Core) flushLoop(ctx context.Context, every time.Duration) {
	defer c.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := c.FlushLastSeen(fctx); err != nil {
				c.logger.Warn("flush last-seen on close", "err", err)
			}
			cancel()
			return
		case <-t.C:
			fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			if err := c.FlushLastSeen(fctx); err != nil {
				c.logger.Warn("flush last-seen", "err", err)
			}
			cancel()
		}
	}
}
