package notify

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moatsec/moat/internal/center"
)

// Sizes of the queues.
const (
	DefaultQueueSize = 1024 // alerts waiting for the dispatcher
	ChannelQueueSize = 256  // messages waiting for one channel's worker
	tagsTimeout      = 10 * time.Second
)

// ErrClosed is returned by SetConfig after Close.
var ErrClosed = errors.New("notify: notifier closed")

// Tagger gives a device's tags (for rules with deviceTags).
type Tagger interface {
	Tags(ctx context.Context, device string) (map[string]string, error)
}

// Dialer opens the TCP connections to SMTP servers (*net.Dialer is one).
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// Options are the notifier's collaborators; every field is optional.
type Options struct {
	Clock  Clock        // default RealClock
	Logger *slog.Logger // default: discard
	Tags   Tagger       // required when a rule has deviceTags
	// HTTPClient sends webhooks (default: its own client that does not
	// follow redirects). Each attempt also has the channel's timeout.
	HTTPClient *http.Client
	Dialer     Dialer         // SMTP connections (default *net.Dialer)
	RootCAs    *x509.CertPool // SMTP server roots (default: the system's)
	QueueSize  int            // default DefaultQueueSize
	// Link returns the URL of an alert for emails; nil prints a
	// "moat alerts show ID" hint instead.
	Link func(alertID string) string
	// OnDelivery is called by a channel's worker after each message is
	// delivered or given up (keep it quick).
	OnDelivery func(Delivery)

	afterDispatch func(center.Alert) // tests: called once an alert is routed
}

// Message kinds.
const (
	KindAlert  = "alert"
	KindDigest = "digest"
)

// Delivery is the outcome of one message.
type Delivery struct {
	Channel  string
	Kind     string   // KindAlert or KindDigest
	AlertIDs []string // the alert, or the digest's alerts
	Attempts int
	Err      error // nil = delivered; never holds a secret
}

// Stats are the notifier's counters since New.
type Stats struct {
	Queued    int    // alerts waiting for the dispatcher now
	Received  uint64 // alerts accepted by Notify
	Overflow  uint64 // alerts refused by Notify: queue full (or closed)
	Unrouted  uint64 // alerts no rule matched
	TagErrors uint64 // device tag lookups that failed (tag rules did not match)
	Channels  map[string]ChannelStats
}

// ChannelStats are one channel's counters (kept across SetConfig while the
// channel keeps its name).
type ChannelStats struct {
	Pending       int    // messages waiting for the worker
	DigestPending int    // alerts waiting for the next digest
	Sent          uint64 // alert messages delivered
	DigestsSent   uint64 // digests delivered
	Failed        uint64 // messages given up
	Retries       uint64 // attempts after the first
	Throttled     uint64 // re-notifications held back by throttle.perAlert (to the digest)
	RateLimited   uint64 // messages over throttle.perChannel (to the digest)
	Digested      uint64 // alerts put into the digest, for any reason
	Dropped       uint64 // lost: worker queue or digest full, channel removed, Close cut short
	LastError     string
	LastErrorAt   time.Time
}

// Notifier routes alerts to channels and delivers them. Safe for
// concurrent use.
type Notifier struct {
	opts  Options
	clock Clock
	log   *slog.Logger
	http  *http.Client
	dial  Dialer

	ctx    context.Context // deliveries; cancelled when Close gives up
	cancel context.CancelFunc

	qmu     sync.RWMutex // Notify against Close
	qclosed bool
	queue   chan item

	mu          sync.Mutex // cfg, workers, closed, schedCancel
	cfg         *compiled
	workers     map[string]*worker // replaced, never modified in place
	closed      bool
	schedCancel context.CancelFunc

	th *throttle // dispatcher's own
	dg *digests

	received, overflow, unrouted, tagErrors atomic.Uint64
	overflowLog                             logLimiter

	wg           sync.WaitGroup // workers
	dispatchDone chan struct{}
	schedDone    chan struct{}
}

type item struct {
	alert   center.Alert
	created bool
}

// New starts a notifier: its dispatcher, one worker per channel and the
// digest scheduler. Stop it with Close.
func New(cfg Config, opts Options) (*Notifier, error) {
	cc, err := compile(cfg)
	if err != nil {
		return nil, err
	}
	if cc.needsTags && opts.Tags == nil {
		return nil, &FieldError{Field: "rules", Message: "a rule has deviceTags but the notifier has no tag source"}
	}
	n := &Notifier{
		opts:         opts,
		clock:        opts.Clock,
		log:          opts.Logger,
		http:         opts.HTTPClient,
		dial:         opts.Dialer,
		cfg:          cc,
		workers:      map[string]*worker{},
		th:           newThrottle(),
		dg:           newDigests(),
		dispatchDone: make(chan struct{}),
		schedDone:    make(chan struct{}),
	}
	if n.clock == nil {
		n.clock = RealClock{}
	}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	if n.http == nil {
		n.http = &http.Client{
			Transport:     http.DefaultTransport.(*http.Transport).Clone(),
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if n.dial == nil {
		n.dial = &net.Dialer{}
	}
	size := opts.QueueSize
	if size <= 0 {
		size = DefaultQueueSize
	}
	n.queue = make(chan item, size)
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.workers = n.reconcile(nil, cc)
	go n.dispatchLoop()
	go n.scheduleLoop()
	return n, nil
}

// Notify hands an alert over for notification; created says it is new
// (not a grown one). It never blocks: when the queue is full the alert is
// counted in Stats.Overflow and logged.
func (n *Notifier) Notify(alert center.Alert, created bool) {
	alert.Evidence = slices.Clone(alert.Evidence)
	n.qmu.RLock()
	defer n.qmu.RUnlock()
	if !n.qclosed {
		select {
		case n.queue <- item{alert: alert, created: created}:
			n.received.Add(1)
			return
		default:
		}
	}
	total := n.overflow.Add(1)
	if n.overflowLog.allow(n.clock.Now()) {
		n.log.Warn("notify: queue full, alert not notified", "alert", alert.ID, "rule", alert.Rule, "overflowTotal", total, "closed", n.qclosed)
	}
}

// SetConfig replaces the configuration. Channels that keep their name keep
// their queue and counters (in-flight deliveries finish with the old
// settings); removed channels lose their pending messages and digest.
func (n *Notifier) SetConfig(cfg Config) error {
	cc, err := compile(cfg)
	if err != nil {
		return err
	}
	if cc.needsTags && n.opts.Tags == nil {
		return &FieldError{Field: "rules", Message: "a rule has deviceTags but the notifier has no tag source"}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return ErrClosed
	}
	n.cfg = cc
	n.workers = n.reconcile(n.workers, cc)
	if lost := n.dg.drop(cc.channels); lost > 0 {
		n.log.Warn("notify: removed channels had alerts waiting for the digest", "alerts", lost)
	}
	if n.schedCancel != nil {
		n.schedCancel() // the digest time may have changed
	}
	return nil
}

// Config returns the current configuration (secrets included; show its View).
func (n *Notifier) Config() Config {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cfg.cfg.clone()
}

// Close stops taking alerts, delivers what is queued and waits for the
// workers. When ctx ends first, deliveries in flight are abandoned, the
// rest is counted dropped and ctx's error returned. Alerts waiting for a
// digest are not sent.
func (n *Notifier) Close(ctx context.Context) error {
	n.mu.Lock()
	already := n.closed
	n.closed = true
	if n.schedCancel != nil {
		n.schedCancel()
	}
	n.mu.Unlock()
	if !already {
		n.qmu.Lock()
		n.qclosed = true
		close(n.queue)
		n.qmu.Unlock()
	}
	done := make(chan struct{})
	go func() {
		<-n.dispatchDone
		<-n.schedDone
		n.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		n.cancel()
		return nil
	case <-ctx.Done():
		n.cancel()
		<-done
		return ctx.Err()
	}
}

// Stats returns the counters.
func (n *Notifier) Stats() Stats {
	n.mu.Lock()
	ws := n.workers
	n.mu.Unlock()
	s := Stats{
		Queued:    len(n.queue),
		Received:  n.received.Load(),
		Overflow:  n.overflow.Load(),
		Unrouted:  n.unrouted.Load(),
		TagErrors: n.tagErrors.Load(),
		Channels:  make(map[string]ChannelStats, len(ws)),
	}
	for name, w := range ws {
		cs := w.c.snapshot()
		cs.Pending = len(w.jobs)
		cs.DigestPending = n.dg.pending(name)
		s.Channels[name] = cs
	}
	return s
}

// reconcile returns the workers for cc: existing ones whose channel is
// still there (with the new settings), new ones started, removed ones
// stopped. Called with n.mu held (or before the notifier runs).
func (n *Notifier) reconcile(old map[string]*worker, cc *compiled) map[string]*worker {
	out := make(map[string]*worker, len(cc.channels))
	for name, ch := range cc.channels {
		ch := ch
		if w := old[name]; w != nil {
			w.ch.Store(&ch)
			out[name] = w
			continue
		}
		w := newWorker(n.ctx, name, &ch)
		out[name] = w
		n.wg.Add(1)
		go n.runWorker(w)
	}
	for name, w := range old {
		if _, ok := out[name]; !ok {
			w.cancel()
		}
	}
	return out
}

// dispatchLoop routes queued alerts until Close, then lets the workers
// drain.
func (n *Notifier) dispatchLoop() {
	defer close(n.dispatchDone)
	var last *compiled
	for it := range n.queue {
		n.mu.Lock()
		cc, ws := n.cfg, n.workers
		n.mu.Unlock()
		if cc != last {
			n.th.forget(cc.channels)
			last = cc
		}
		n.dispatch(cc, ws, it)
		if n.opts.afterDispatch != nil {
			n.opts.afterDispatch(it.alert)
		}
	}
	n.mu.Lock()
	for _, w := range n.workers {
		close(w.jobs)
	}
	n.mu.Unlock()
}

func (n *Notifier) dispatch(cc *compiled, ws map[string]*worker, it item) {
	a := &it.alert
	routes := cc.route(a, func() (map[string]string, bool) { return n.deviceTags(a.DeviceID) })
	if len(routes) == 0 {
		n.unrouted.Add(1)
		return
	}
	now := n.clock.Now()
	rank := center.SeverityRank(a.Severity)
	for _, name := range slices.Sorted(maps.Keys(routes)) {
		w := ws[name]
		if w == nil {
			continue
		}
		switch {
		case routes[name]:
			n.toDigest(w, it, ReasonDigest, now)
		case !it.created && !n.th.alertAllowed(name, a.ID, rank, now, cc.perAlert):
			w.c.throttled.Add(1)
			n.toDigest(w, it, ReasonThrottled, now)
		case !n.th.rateAllow(name, now, cc.perChannel):
			w.c.rateLimited.Add(1)
			n.toDigest(w, it, ReasonRateLimited, now)
		default:
			n.th.sent(name, a.ID, rank, now, cc.perAlert)
			if n.ctx.Err() != nil {
				w.c.dropped.Add(1)
				continue
			}
			select {
			case w.jobs <- job{kind: KindAlert, alert: it.alert, created: it.created}:
			default:
				w.c.dropped.Add(1)
				if w.dropLog.allow(now) {
					n.log.Warn("notify: channel queue full, alert dropped", "channel", name, "alert", a.ID)
				}
			}
		}
	}
}

func (n *Notifier) toDigest(w *worker, it item, reason string, now time.Time) {
	if n.dg.add(w.name, it.alert, it.created, reason) {
		w.c.digested.Add(1)
		return
	}
	w.c.dropped.Add(1)
	if w.dropLog.allow(now) {
		n.log.Warn("notify: digest full, alert dropped", "channel", w.name, "alert", it.alert.ID, "max", MaxDigestAlerts)
	}
}

func (n *Notifier) deviceTags(device string) (map[string]string, bool) {
	if n.opts.Tags == nil {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(n.ctx, tagsTimeout)
	defer cancel()
	tags, err := n.opts.Tags.Tags(ctx, device)
	if err != nil {
		n.tagErrors.Add(1)
		n.log.Warn("notify: device tags unavailable; rules with deviceTags do not match", "device", device, "err", err)
		return nil, false
	}
	return tags, true
}

// scheduleLoop sends the digests at the configured time every day.
func (n *Notifier) scheduleLoop() {
	defer close(n.schedDone)
	last := n.clock.Now()
	for {
		n.mu.Lock()
		if n.closed {
			n.mu.Unlock()
			return
		}
		cc := n.cfg
		ctx, cancel := context.WithCancel(n.ctx)
		n.schedCancel = cancel
		n.mu.Unlock()
		at := nextDigest(n.clock.Now(), cc.hour, cc.min, cc.loc)
		err := n.clock.WaitUntil(ctx, at)
		cancel()
		if err != nil {
			continue // closed (checked above) or rescheduled
		}
		n.flushDigests(last, at)
		last = at
	}
}

// flushDigests hands each channel's non-empty digest to its worker.
func (n *Notifier) flushDigests(since, until time.Time) {
	n.mu.Lock()
	ws, loc := n.workers, n.cfg.loc
	n.mu.Unlock()
	for _, name := range slices.Sorted(maps.Keys(ws)) {
		w := ws[name]
		entries := n.dg.take(name)
		if len(entries) == 0 {
			continue
		}
		select {
		case w.digest <- job{kind: KindDigest, entries: entries, since: since, until: until, loc: loc}:
		default:
			w.c.dropped.Add(uint64(len(entries)))
			n.log.Warn("notify: previous digest still undelivered, this one dropped", "channel", name, "alerts", len(entries))
		}
	}
}

// logLimiter lets one log line through per minute.
type logLimiter struct {
	mu   sync.Mutex
	last time.Time
}

func (l *logLimiter) allow(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.Sub(l.last) < time.Minute && now.Sub(l.last) >= 0 {
		return false
	}
	l.last = now
	return true
}
