package center

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/moatsec/moat/internal/store"
	"github.com/prometheus/client_golang/prometheus"
)

// Store is what the center needs of the metadata store.
type Store interface {
	PutSecurityEvents(ctx context.Context, events []store.SecurityEvent) (inserted []bool, err error)
	SecurityEventsSince(ctx context.Context, since time.Time, names []string, fn func(store.SecurityEvent) error) error
	DeleteSecurityEventsBefore(ctx context.Context, t time.Time) (int64, error)
	DeleteClosedAlertsBefore(ctx context.Context, t time.Time) (int64, error)
	ApplySnapshots(ctx context.Context, snaps []store.Snapshot) error
	TouchAgentSeen(ctx context.Context, seen map[string]store.AgentSeen) error
}

// Stream is the security stream (eventlog.Log.ConsumeSecurity through an
// adapter that converts its records).
type Stream interface {
	Consume(ctx context.Context, durable string, maxBatch int, handle func(ctx context.Context, batch []Record) error) error
}

// Detector runs the detection rules (detect.Engine).
type Detector interface {
	Process(ctx context.Context, e *Event) []Detection
	Tick(ctx context.Context, now time.Time) []Detection
	// Warm feeds past events (oldest first) to rebuild window state,
	// emitting nothing.
	Warm(events []*Event)
	// MaxHorizon is the longest time a rule looks back.
	MaxHorizon() time.Duration
	// Forget drops what the detector remembers of a device's baselines.
	Forget(device string)
}

// Notifier is told of every raised or grown alert (notify.Notifier). It
// must not block.
type Notifier interface {
	Notify(a Alert, created bool)
}

// Responder acts on alerts (respond.Responder).
type Responder interface {
	OnAlert(ctx context.Context, a Alert, created bool) error
}

// Options configure a Service.
type Options struct {
	Store     Store
	Stream    Stream
	Detector  Detector
	Alerts    AlertSink
	Notifier  Notifier  // nil = none
	Responder Responder // nil = none
	// Retention of stored events (default 30 days).
	Retention time.Duration
	// AlertRetention is how long a closed (dismissed or resolved) alert
	// is kept after its last change (default 90 days).
	AlertRetention time.Duration
	// Durable is the consumer's name (default "center").
	Durable string
	// Batch is the most records handled at once (default 5000: the event
	// store's transactions and the per-batch state updates cost less per
	// event in large batches; a quiet stream still gets each record at
	// once). The stream also closes a batch at 32 MiB of records.
	Batch      int
	Clock      func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Service is the center's pipeline.
type Service struct {
	o Options

	mu sync.Mutex // serializes handle and tick (the detector is single-threaded)
	m  metrics

	forgetMu sync.Mutex
	forget   map[string]struct{} // devices to forget before the next detection
}

type metrics struct {
	events     *prometheus.CounterVec // by outcome: stored, duplicate, undecodable
	detections prometheus.Counter
	latency    prometheus.Histogram // hub acceptance → alert raised
}

// New returns a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil || o.Stream == nil || o.Detector == nil || o.Alerts == nil {
		return nil, errors.New("center: Store, Stream, Detector and Alerts are required")
	}
	if o.Retention <= 0 {
		o.Retention = 30 * 24 * time.Hour
	}
	if o.AlertRetention <= 0 {
		o.AlertRetention = 90 * 24 * time.Hour
	}
	if o.Durable == "" {
		o.Durable = "center"
	}
	if o.Batch <= 0 {
		o.Batch = 5000
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{o: o}
	s.m = metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "moat", Subsystem: "center", Name: "events_total",
			Help: "Security events seen by the center, by outcome: stored, duplicate (already stored), undecodable (records skipped)."}, []string{"outcome"}),
		detections: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "moat", Subsystem: "center", Name: "detections_total",
			Help: "Detections raised or grown."}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "moat", Subsystem: "center", Name: "detection_latency_seconds",
			Help:    "Time from the hub storing the event that completed a detection to its alert being recorded.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
	}
	if o.Registerer != nil {
		for _, c := range []prometheus.Collector{s.m.events, s.m.detections, s.m.latency} {
			if err := o.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("center: metrics: %w", err)
			}
		}
	}
	return s, nil
}

// ForgetDevice makes the detector forget what it remembers of a device's
// baselines before it detects again (a device deleted, maybe registered
// again). It never waits for detection: it is called from device changes,
// which a response made during detection may cause.
func (s *Service) ForgetDevice(device string) {
	s.forgetMu.Lock()
	defer s.forgetMu.Unlock()
	if s.forget == nil {
		s.forget = map[string]struct{}{}
	}
	s.forget[device] = struct{}{}
}

// applyForget hands the devices to forget to the detector (s.mu held).
func (s *Service) applyForget() {
	s.forgetMu.Lock()
	devices := s.forget
	s.forget = nil
	s.forgetMu.Unlock()
	for d := range devices {
		s.o.Detector.Forget(d)
	}
}

// Run warms the detector from the stored events, then follows the security
// stream until ctx ends, evaluating absence rules and applying retention
// on the side.
func (s *Service) Run(ctx context.Context) error {
	if err := s.warm(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.housekeeping(ctx)
	}()
	err := s.o.Stream.Consume(ctx, s.o.Durable, s.o.Batch, s.handle)
	wg.Wait()
	return err
}

// warm rebuilds the detector's windows from the events stored over the
// longest window, so a restart in the middle of a window loses no counts.
func (s *Service) warm(ctx context.Context) error {
	since := s.o.Clock().Add(-s.o.Detector.MaxHorizon())
	var evs []*Event
	err := s.o.Store.SecurityEventsSince(ctx, since, nil, func(se store.SecurityEvent) error {
		e := fromStore(se)
		evs = append(evs, &e)
		return nil
	})
	if err != nil {
		return fmt.Errorf("center: warm-up: %w", err)
	}
	s.o.Detector.Warm(evs)
	s.o.Logger.Info("center: detection state rebuilt", "events", len(evs), "since", since)
	return nil
}

func (s *Service) housekeeping(ctx context.Context) {
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	lastPurge := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := s.o.Clock()
		s.mu.Lock()
		s.applyForget()
		dets := s.o.Detector.Tick(ctx, now)
		s.raise(ctx, dets)
		s.mu.Unlock()
		if now.Sub(lastPurge) >= time.Hour {
			lastPurge = now
			if n, err := s.o.Store.DeleteSecurityEventsBefore(ctx, now.Add(-s.o.Retention)); err != nil {
				s.o.Logger.Warn("center: retention", "err", err)
			} else if n > 0 {
				s.o.Logger.Info("center: old security events deleted", "events", n)
			}
			if n, err := s.o.Store.DeleteClosedAlertsBefore(ctx, now.Add(-s.o.AlertRetention)); err != nil {
				s.o.Logger.Warn("center: alert retention", "err", err)
			} else if n > 0 {
				s.o.Logger.Info("center: old closed alerts deleted", "alerts", n)
			}
		}
	}
}

// handle processes one batch of records: decode, store (dropping events
// already stored), keep the devices' snapshot state and agent figures,
// detect, raise alerts, notify and respond. An error (the store is down)
// makes the consumer hand the same batch again.
func (s *Service) handle(ctx context.Context, batch []Record) error {
	// Three stages in a row: a goroutine decodes chunks of records, a
	// second stores them (the event store has one writer), and this one
	// detects on each stored chunk while the next is stored and the one
	// after decoded.
	chunks := make(chan decodedChunk, 1)
	stored := make(chan storedChunk, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(chunks)
		for lo := 0; lo < len(batch); lo += chunkRecords {
			var c decodedChunk
			for i := lo; i < min(lo+chunkRecords, len(batch)); i++ {
				s.decodeRecord(&c, &batch[i])
			}
			select {
			case chunks <- c:
			case <-stop:
				return
			}
		}
	}()
	go func() {
		defer close(stored)
		for c := range chunks {
			sc := storedChunk{decodedChunk: c}
			if len(c.events) > 0 {
				if sc.inserted, sc.err = s.o.Store.PutSecurityEvents(ctx, c.rows); sc.err != nil {
					sc.err = fmt.Errorf("center: store events: %w", sc.err)
				}
			}
			select {
			case stored <- sc:
			case <-stop:
				return
			}
			if sc.err != nil {
				return
			}
		}
	}()
	// The agent figures and the snapshot state are written once per
	// batch (fewer transactions on the store's single writer). They are
	// derived data: a failure is logged, not retried, because a retried
	// batch finds its events stored and would skip their detection.
	agents := map[string]store.AgentSeen{}
	var snaps []Event
	for sc := range stored {
		if sc.err != nil {
			return sc.err
		}
		s.detectChunk(ctx, sc, agents, &snaps)
	}
	if len(agents) > 0 {
		if err := s.o.Store.TouchAgentSeen(ctx, agents); err != nil {
			s.o.Logger.Error("center: agent figures not recorded", "devices", len(agents), "err", err)
		}
	}
	if err := s.applySnapshots(ctx, snaps); err != nil {
		s.o.Logger.Error("center: snapshot state not recorded", "err", err)
	}
	return nil
}

// storedChunk is a decoded chunk after the store: which of its events
// were new, or the store's error.
type storedChunk struct {
	decodedChunk
	inserted []bool
	err      error
}

// chunkRecords is the size of the chunks a batch is decoded, stored and
// detected in, so that the three stages overlap. (Chunks of about 1,000
// events whatever the records' sizes measured slower: fewer, larger store
// calls overlapped less.)
const chunkRecords = 250

// decodedChunk is a chunk of records decoded and converted for the store.
type decodedChunk struct {
	events []Event
	rows   []store.SecurityEvent
	msgOf  []int // events per record, to credit agent messages
	msgs   []*AgentMessage
}

// decodeRecord decodes one record into c, converted for the store.
func (s *Service) decodeRecord(c *decodedChunk, r *Record) {
	evs, am, err := Decode(*r)
	if err != nil {
		s.m.events.WithLabelValues("undecodable").Inc()
		s.o.Logger.Warn("center: record skipped", "sequence", r.Sequence, "source", r.Source, "err", err)
		return
	}
	c.events = append(c.events, evs...)
	c.msgOf = append(c.msgOf, len(evs))
	c.msgs = append(c.msgs, am)
	for i := range evs {
		c.rows = append(c.rows, toStore(&evs[i]))
	}
}

// detectChunk detects on a stored chunk's new events, adding to the
// batch's agent figures and new snapshot events.
func (s *Service) detectChunk(ctx context.Context, c storedChunk, agents map[string]store.AgentSeen, snaps *[]Event) {
	events, msgOf, msgs, inserted := c.events, c.msgOf, c.msgs, c.inserted
	if len(events) == 0 {
		return
	}
	// Agent figures, for the records with at least one new event (a
	// redelivered record is not counted twice).
	at := 0
	for i, n := range msgOf {
		isNew := false
		for j := at; j < at+n; j++ {
			isNew = isNew || inserted[j]
		}
		at += n
		if am := msgs[i]; am != nil && isNew && am.Device != "" {
			a := agents[am.Device]
			a.Hub = am.Hub
			a.Messages++
			a.Events += int64(am.Events)
			a.Bytes += int64(am.Bytes)
			t := events[at-n].Received
			if a.FirstSeen.IsZero() || t.Before(a.FirstSeen) {
				a.FirstSeen = t
			}
			if t.After(a.LastSeen) {
				a.LastSeen = t
			}
			agents[am.Device] = a
		}
	}
	for i := range events {
		if inserted[i] && events[i].SnapshotMode != "" && events[i].Source == SourceAgent {
			*snaps = append(*snaps, events[i])
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.applyForget()
	stored := 0
	for i := range events {
		if !inserted[i] {
			continue
		}
		stored++
		s.raise(ctx, s.o.Detector.Process(ctx, &events[i]))
	}
	s.m.events.WithLabelValues("stored").Add(float64(stored))
	s.m.events.WithLabelValues("duplicate").Add(float64(len(events) - stored))
}

// applySnapshots keeps each device's latest snapshot items: the new
// snapshot events of a batch, grouped by device, name and mode, in one
// transaction (one commit a batch on the store's single writer).
func (s *Service) applySnapshots(ctx context.Context, events []Event) error {
	type group struct {
		device, name string
		full         bool
	}
	var order []group
	items := map[group][]store.DeviceItem{}
	for i := range events {
		e := &events[i]
		if e.SnapshotMode == "" || e.Source != SourceAgent {
			continue
		}
		if e.Name == "DroppedEventsStatistics" || e.Name == "MessageStatistics" {
			continue // operational, not state
		}
		g := group{e.Device, e.Name, e.SnapshotMode == "Full"}
		if _, ok := items[g]; !ok {
			order = append(order, g)
			items[g] = nil
		}
		if len(e.Fields) == 0 && e.ItemKey == "" {
			continue // an empty Full snapshot: nothing of that name
		}
		items[g] = append(items[g], store.DeviceItem{Key: e.ItemKey, Fields: e.Fields, Change: e.Change})
	}
	snaps := make([]store.Snapshot, len(order))
	for i, g := range order {
		snaps[i] = store.Snapshot{Device: g.device, Name: g.name, Full: g.full, Items: items[g]}
	}
	if err := s.o.Store.ApplySnapshots(ctx, snaps); err != nil {
		return fmt.Errorf("center: snapshot state: %w", err)
	}
	return nil
}

// raise records detections as alerts and hands them on (s.mu held).
func (s *Service) raise(ctx context.Context, dets []Detection) {
	for _, d := range dets {
		a, created, err := s.o.Alerts.Raise(ctx, d)
		if err != nil {
			s.o.Logger.Error("center: alert not recorded", "rule", d.Rule, "device", d.DeviceID, "err", err)
			continue
		}
		s.m.detections.Inc()
		if d.Trigger != nil && !d.Trigger.Received.IsZero() {
			s.m.latency.Observe(s.o.Clock().Sub(d.Trigger.Received).Seconds())
		}
		if s.o.Responder != nil {
			if err := s.o.Responder.OnAlert(ctx, a, created); err != nil {
				s.o.Logger.Error("center: response failed", "alert", a.ID, "device", a.DeviceID, "err", err)
			}
		}
		if s.o.Notifier != nil {
			s.o.Notifier.Notify(a, created)
		}
	}
}

func toStore(e *Event) store.SecurityEvent {
	se := store.SecurityEvent{ID: e.ID, Device: e.Device, Hub: e.Hub, Source: e.Source, Name: e.Name, Time: e.Time,
		LastTime: e.LastTime, Count: e.Count, SnapshotMode: e.SnapshotMode, Change: e.Change, Fields: e.Fields, Received: e.Received}
	if e.Source == SourceAgent {
		// The items of one agent event ("<event Id>/<n>") are stored
		// together, several to a row.
		if i := strings.LastIndexByte(e.ID, '/'); i > 0 {
			se.Group = e.ID[:i]
		}
	}
	switch e.Name {
	case "Login":
		se.RemoteAddress, se.Result = e.Fields["RemoteAddress"], e.Fields["Result"]
	case NameTokenDecision, NameAuthFailure:
		se.RemoteAddress, se.Result = e.Fields["sourceAddress"], e.Fields["result"]
		if e.Name == NameAuthFailure {
			se.Result = e.Fields["reason"]
		}
	}
	if e.ItemKey != "" { // stored with the fields, on a copy: rules never see it
		f := make(map[string]string, len(e.Fields)+1)
		for k, v := range e.Fields {
			f[k] = v
		}
		f["_key"] = e.ItemKey
		se.Fields = f
	}
	return se
}

func fromStore(se store.SecurityEvent) Event {
	e := Event{ID: se.ID, Device: se.Device, Hub: se.Hub, Source: se.Source, Name: se.Name, Time: se.Time, LastTime: se.LastTime,
		Count: se.Count, SnapshotMode: se.SnapshotMode, Change: se.Change, Fields: se.Fields, Received: se.Received}
	if k, ok := e.Fields["_key"]; ok {
		e.ItemKey = k
		delete(e.Fields, "_key")
	}
	return e
}
