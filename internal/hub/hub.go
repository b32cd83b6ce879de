// Package hub is the core of Moat's Event Hubs–compatible ingest: it
// authorizes requests by SAS token, keeps the revocation set, administers hubs
// and authorization rules, and appends events to the durable log. The HTTP
// (and later MQTT) front doors are thin adapters over Core, so authorization
// and publishing are written once.
package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moatsec/moat/internal/eventlog"
	"github.com/moatsec/moat/internal/secret"
	"github.com/moatsec/moat/internal/store"
	"github.com/prometheus/client_golang/prometheus"
)

// Log is the part of the durable event log the hub needs.
type Log interface {
	EnsureHub(ctx context.Context, spec eventlog.HubSpec) error
	DeleteHub(ctx context.Context, name string) error
	Append(ctx context.Context, hub string, events []eventlog.Event) ([]uint64, error)
	Read(ctx context.Context, hub string, partition int, from uint64, limit int, wait time.Duration) ([]eventlog.Event, uint64, error)
	PartitionInfo(ctx context.Context, hub string, partition int) (eventlog.PartitionInfo, error)
	AppendSecurity(ctx context.Context, recs []eventlog.SecurityRecord) (duplicates int, err error)
	ReadSecurity(ctx context.Context, f eventlog.SecurityFilter, from uint64, limit int, wait time.Duration) ([]eventlog.SecurityEntry, uint64, error)
	PurgeSecurity(ctx context.Context, hub string) error
	SecurityEnd(ctx context.Context) (uint64, error)
}

// KV is a replicated key-value bucket (JetStream KV): revocations and change
// notifications live there so every node sees them.
type KV interface {
	Create(ctx context.Context, key string, value []byte) error
	Put(ctx context.Context, key string, value []byte) error
	Get(ctx context.Context, key string) ([]byte, error)
	Delete(ctx context.Context, key string) error
	Keys(ctx context.Context) ([]string, error)
	Watch(ctx context.Context, fn func(key string, value []byte, deleted bool)) (<-chan struct{}, error)
}

// Options configures a Core.
type Options struct {
	Namespace   string           // host that tokens must be scoped to
	Store       store.Store      // metadata
	Log         Log              // durable events
	Revocations KV               // revoked publishers, shared by all nodes
	State       KV               // change notifications (rules, hubs) between nodes
	Box         *secret.Box      // seals rule keys at rest
	Clock       func() time.Time // nil = time.Now
	ClockSkew   time.Duration    // allowance when checking token expiry
	Logger      *slog.Logger     // nil = discard
	Registerer  prometheus.Registerer
	AppendLimit time.Duration // longest a send waits for the log (default 60s)
	// LastSeen persists publishers' last accepted event times (nil = memory
	// only), flushed every LastSeenFlush (default 10s) and on Close.
	LastSeen      LastSeenStore
	LastSeenFlush time.Duration
	// SecurityParser validates security messages (sends marked with
	// SecurityProperty); nil = they are refused.
	SecurityParser SecurityParser
}

// Core is the hub. It is safe for concurrent use.
type Core struct {
	ns     string
	store  store.Store
	log    Log
	revKV  KV
	state  KV
	box    *secret.Box
	clock  func() time.Time
	skew   time.Duration
	logger *slog.Logger
	m      *metrics
	limit  time.Duration

	rules atomic.Pointer[ruleSet]
	hubs  atomic.Pointer[map[string]store.Hub]
	rr    atomic.Uint32 // round-robin partition for unkeyed sends

	revMu   sync.RWMutex
	revoked map[pubKey]time.Time

	seen      *lastSeen
	seenStore LastSeenStore

	parseSecurity SecurityParser

	reloadMu  sync.Mutex // serializes snapshot reloads
	signingMu sync.Mutex // serializes the creation of discovery signing rules
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

type pubKey struct{ hub, publisher string }

// New builds a Core, loads rules, hubs and revocations, and starts watching
// for changes made by other nodes. Close stops the watchers.
func New(ctx context.Context, o Options) (*Core, error) {
	if o.Store == nil || o.Log == nil || o.Revocations == nil || o.State == nil || o.Box == nil {
		return nil, errors.New("hub: Store, Log, Revocations, State and Box are required")
	}
	c := &Core{
		ns: o.Namespace, store: o.Store, log: o.Log, revKV: o.Revocations, state: o.State, box: o.Box,
		clock: o.Clock, skew: o.ClockSkew, logger: o.Logger, limit: o.AppendLimit,
		revoked: map[pubKey]time.Time{}, seen: newLastSeen(), seenStore: o.LastSeen,
		parseSecurity: o.SecurityParser,
	}
	if c.clock == nil {
		c.clock = time.Now
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.limit <= 0 {
		c.limit = 60 * time.Second
	}
	reg := o.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	c.m = m
	if err := c.reloadRules(ctx); err != nil {
		return nil, err
	}
	if err := c.reloadHubs(ctx); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	revReady, err := c.revKV.Watch(wctx, c.onRevocation)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("hub: watch revocations: %w", err)
	}
	stateReady, err := c.state.Watch(wctx, c.onStateChange)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("hub: watch state: %w", err)
	}
	for _, ready := range []<-chan struct{}{revReady, stateReady} {
		select {
		case <-ready:
		case <-ctx.Done():
			cancel()
			return nil, ctx.Err()
		}
	}
	every := o.LastSeenFlush
	if every <= 0 {
		every = 10 * time.Second
	}
	c.wg.Add(1)
	go c.flushLoop(wctx, every)
	return c, nil
}

// Close stops background watchers and flushes last-seen times. It does not
// close the store or the log.
func (c *Core) Close() {
	c.cancel()
	c.wg.Wait()
}

// Namespace returns the namespace host tokens are scoped to.
func (c *Core) Namespace() string { return c.ns }

// Now returns the core's clock reading.
func (c *Core) Now() time.Time { return c.clock() }

// State keys announcing a change that other nodes must reload.
const (
	stateRules = "rules-changed"
	stateHubs  = "hubs-changed"
)

func (c *Core) onStateChange(key string, _ []byte, _ bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	switch key {
	case stateRules:
		err = c.reloadRules(ctx)
	case stateHubs:
		err = c.reloadHubs(ctx)
	}
	if err != nil {
		c.logger.Error("reload after change notification", "key", key, "err", err)
	}
}

// announce tells other nodes (and, through the watch, this one) to reload.
// The local reload has already happened, so a failure here only delays
// other nodes; it is logged rather than failing the operator's request.
func (c *Core) announce(ctx context.Context, key string) {
	if err := c.state.Put(ctx, key, []byte(c.clock().UTC().Format(time.RFC3339Nano))); err != nil {
		c.logger.Warn("announce change to other nodes", "key", key, "err", err)
	}
}

func (c *Core) reloadHubs(ctx context.Context) error {
	c.reloadMu.Lock()
	defer c.reloadMu.Unlock()
	hs, err := c.store.ListHubs(ctx)
	if err != nil {
		return mapStoreErr(fmt.Errorf("hub: load hubs: %w", err))
	}
	m := make(map[string]store.Hub, len(hs))
	for _, h := range hs {
		m[h.Name] = h
	}
	c.hubs.Store(&m)
	return nil
}

func (c *Core) lookupHub(name string) (store.Hub, bool) {
	h, ok := (*c.hubs.Load())[name]
	return h, ok
}
