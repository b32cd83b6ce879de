package eventlog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// DefaultDedupWindow is the Nats-Msg-Id duplicate window of a hub when
// HubSpec.DedupWindow is zero (capped at the retention).
const DefaultDedupWindow = 2 * time.Minute

// HubSpec describes an event hub's stream.
type HubSpec struct {
	Name        string        // [a-z0-9][a-z0-9_-]{0,63}
	Partitions  int           // >= 1
	Retention   time.Duration // events older than this are discarded (> 0)
	DedupWindow time.Duration // Event.MsgID dedup window; 0 = DefaultDedupWindow
}

func (l *Log) streamConfig(spec HubSpec) (jetstream.StreamConfig, error) {
	if !validHub(spec.Name) {
		return jetstream.StreamConfig{}, fmt.Errorf("%w: hub name %q", ErrInvalid, spec.Name)
	}
	if spec.Partitions < 1 {
		return jetstream.StreamConfig{}, fmt.Errorf("%w: hub %s: %d partitions", ErrInvalid, spec.Name, spec.Partitions)
	}
	if spec.Retention <= 0 || spec.DedupWindow < 0 {
		return jetstream.StreamConfig{}, fmt.Errorf("%w: hub %s: retention %v, dedup window %v", ErrInvalid, spec.Name, spec.Retention, spec.DedupWindow)
	}
	dedup := spec.DedupWindow
	if dedup == 0 {
		dedup = DefaultDedupWindow
	}
	return jetstream.StreamConfig{
		Name:        l.names.stream(spec.Name),
		Description: "Moat event hub " + spec.Name,
		Subjects:    l.names.subjects(spec.Name, spec.Partitions),
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      spec.Retention,
		Duplicates:  min(dedup, spec.Retention),
		Storage:     jetstream.FileStorage,
		Replicas:    l.cfg.Replicas,
		AllowDirect: true, // Read uses direct gets
	}, nil
}

// EnsureHub creates the hub's stream or updates it to spec (partitions,
// retention, dedup window). It is idempotent. Shrinking Partitions hides the
// removed partitions from Append and Read; their events age out.
func (l *Log) EnsureHub(ctx context.Context, spec HubSpec) error {
	if err := l.usable("ensure hub"); err != nil {
		return err
	}
	cfg, err := l.streamConfig(spec)
	if err != nil {
		return err
	}
	ctx, cancel := l.withTimeout(ctx)
	defer cancel()
	if _, err := l.control().js.CreateOrUpdateStream(ctx, cfg); err != nil {
		return wrap("ensure hub "+spec.Name, err)
	}
	l.hubs.put(spec.Name, l.newHubInfo(spec.Name, spec.Partitions))
	return nil
}

// DeleteHub deletes the hub's stream and all its events. ErrNoHub if absent.
func (l *Log) DeleteHub(ctx context.Context, name string) error {
	if err := l.usable("delete hub"); err != nil {
		return err
	}
	if !validHub(name) {
		return fmt.Errorf("%w: hub name %q", ErrInvalid, name)
	}
	ctx, cancel := l.withTimeout(ctx)
	defer cancel()
	l.hubs.drop(name)
	err := l.control().js.DeleteStream(ctx, l.names.stream(name))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("%w: %s", ErrNoHub, name)
	}
	return wrap("delete hub "+name, err)
}

// hubInfo is what Append and Read need to know about a hub.
type hubInfo struct {
	stream   string
	subjects []string // index = partition

	// What recent Reads saw, to size their fetches (see batch).
	eventsPerRecord, bytesPerRecord atomic.Int64
}

func (l *Log) newHubInfo(name string, partitions int) *hubInfo {
	return &hubInfo{stream: l.names.stream(name), subjects: l.names.subjects(name, partitions)}
}

// hubCache remembers hub layouts so the hot paths need no API call. Entries
// are refreshed from the server whenever they might be stale: an unknown
// partition, or no responders for a hub's subjects.
type hubCache struct{ m sync.Map } // hub name -> *hubInfo

func (c *hubCache) get(name string) *hubInfo {
	if v, ok := c.m.Load(name); ok {
		return v.(*hubInfo)
	}
	return nil
}
func (c *hubCache) put(name string, h *hubInfo) { c.m.Store(name, h) }
func (c *hubCache) drop(name string)            { c.m.Delete(name) }

// hub returns the layout of hub name, looking it up on the server when it is
// not cached or refresh is set. ErrNoHub if the stream does not exist.
func (l *Log) hub(ctx context.Context, name string, refresh bool) (*hubInfo, error) {
	if !validHub(name) {
		return nil, fmt.Errorf("%w: hub name %q", ErrInvalid, name)
	}
	if h := l.hubs.get(name); h != nil && !refresh {
		return h, nil
	}
	ctx, cancel := l.withTimeout(ctx)
	defer cancel()
	s, err := l.control().js.Stream(ctx, l.names.stream(name))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		l.hubs.drop(name)
		return nil, fmt.Errorf("%w: %s", ErrNoHub, name)
	}
	if err != nil {
		return nil, err
	}
	h := l.newHubInfo(name, len(s.CachedInfo().Config.Subjects))
	l.hubs.put(name, h)
	return h, nil
}

// partition returns the hub layout after checking that partition p exists,
// refreshing a cached layout once before answering ErrNoPartition.
func (l *Log) partition(ctx context.Context, name string, p int) (*hubInfo, error) {
	if p < 0 {
		return nil, fmt.Errorf("%w: hub %s: partition %d", ErrNoPartition, name, p)
	}
	h, err := l.hub(ctx, name, false)
	if err == nil && p >= len(h.subjects) {
		h, err = l.hub(ctx, name, true)
	}
	if err != nil {
		return nil, err
	}
	if p >= len(h.subjects) {
		return nil, fmt.Errorf("%w: hub %s has %d partitions, not %d", ErrNoPartition, name, len(h.subjects), p)
	}
	return h, nil
}

// diagnose explains a "nobody answered" failure on hub name: ErrNoHub if its
// stream is gone, else cause as ErrUnavailable.
func (l *Log) diagnose(ctx context.Context, op, name string, cause error) error {
	l.hubs.drop(name)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.cfg.Timeout)
	defer cancel()
	if _, err := l.hub(ctx, name, true); errors.Is(err, ErrNoHub) {
		return err
	}
	return unavailable(op, cause)
}
