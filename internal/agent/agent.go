// Package agent is moat-agent's core: it runs the collectors (auth log,
// Linux audit, snapshots), turns what they see into secmsg events,
// aggregates repeated ones, keeps them in the on-disk spool, and has the
// uploader send them to the hub on the schedule of the remote
// configuration. Everything that depends on time goes through a Clock, so
// a simulated day runs in seconds (moat-agent bench footprint).
//
// The agent never imports server-side packages: it talks to Moat over
// HTTPS only, with the public tokenclient and secmsg packages.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/moatsec/moat/internal/agent/aggregate"
	"github.com/moatsec/moat/internal/agent/audit"
	"github.com/moatsec/moat/internal/agent/authlog"
	"github.com/moatsec/moat/internal/agent/convert"
	"github.com/moatsec/moat/internal/agent/spool"
	"github.com/moatsec/moat/internal/agent/tail"
	"github.com/moatsec/moat/internal/agent/upload"
	"github.com/moatsec/moat/internal/agentconf"
	"github.com/moatsec/moat/secmsg"
)

// Version is the agent's version, reported in every message.
var Version = "0.4.0"

// Timing of the agent's own work.
const (
	pollEvery       = time.Second      // auth log and audit events are read this often
	sessionFlush    = 10 * time.Second // idle sshd sessions are settled this often
	statsEvery      = time.Hour        // MessageStatistics
	maxSendBackoff  = 5 * time.Minute  // longest wait between failed uploads
	perEvent        = 50               // payload items per aggregated event
	maxAggregated   = 2000             // distinct items held between flushes
	eventsPerSnapMx = 200              // payload items per snapshot event
)

// Sources are the collectors an agent runs; nil fields are off.
type Sources struct {
	// AuthLog follows the sshd/PAM log.
	AuthLog *tail.Tailer
	// Audit delivers audit events (from its own goroutine).
	Audit *audit.Collector
	// Snapshots produces the items of each snapshot event.
	Snapshots SnapshotSource
}

// SnapshotSource returns the current items of a snapshot event (a secmsg
// Periodic event name).
type SnapshotSource interface {
	Items(ctx context.Context, name string) ([]secmsg.Item, error)
}

// Options configure an Agent.
type Options struct {
	AgentID  string
	Spool    *spool.Spool
	Uploader *upload.Uploader
	Sources  Sources
	// Remote fetches the remote configuration (nil = only Settings).
	Remote func(ctx context.Context) (agentconf.Config, error)
	// Settings is the configuration until the remote one is fetched.
	Settings agentconf.Config
	// SaveRemote keeps a fetched configuration for the next start.
	SaveRemote func(agentconf.Config) error
	ConfigPoll time.Duration
	Clock      Clock
	Logger     *slog.Logger
	// Year context for classic syslog timestamps (default the clock).
	AuthLogLocation *time.Location
}

// Agent is a running agent.
type Agent struct {
	o     Options
	clock Clock
	log   *slog.Logger

	mu  sync.Mutex
	cfg agentconf.Config

	parser   *authlog.Parser
	attempts *authlog.Attempts
	agg      *aggregate.Aggregator
	lastPos  *tail.Position // auth log position of the last line aggregated
	auditCh  chan audit.Event

	snaps       map[string]map[string]convert.Signed // last sent items by name, by key
	lastFull    map[string]time.Time
	failures    int
	nextSend    time.Time
	lastLowSend time.Time
	dropped     map[string]int64 // events the agent dropped itself, by name (Off excluded)
	diags       *aggregate.Aggregator
}

// New returns an Agent.
func New(o Options) (*Agent, error) {
	if o.AgentID == "" || o.Spool == nil || o.Uploader == nil {
		return nil, errors.New("agent: AgentID, Spool and Uploader are required")
	}
	if o.Clock == nil {
		o.Clock = RealClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ConfigPoll <= 0 {
		o.ConfigPoll = 5 * time.Minute
	}
	a := &Agent{
		o: o, clock: o.Clock, log: o.Logger,
		cfg:      agentconf.Effective(o.Settings, agentconf.Config{}),
		attempts: authlog.NewAttempts(authlog.AttemptsConfig{}),
		agg:      aggregate.New(maxAggregated),
		diags:    aggregate.New(100),
		auditCh:  make(chan audit.Event, 4096),
		snaps:    map[string]map[string]convert.Signed{},
		lastFull: map[string]time.Time{},
		dropped:  map[string]int64{},
	}
	a.parser = authlog.NewParser(authlog.Options{Now: a.clock.Now, Location: o.AuthLogLocation})
	a.o.Uploader.SetMaxMessageSize(a.cfg.MaxMessageSize)
	return a, nil
}

// Config returns the configuration in effect.
func (a *Agent) Config() agentconf.Config {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cfg
}

// task is one periodic duty of the loop.
type task struct {
	name  string
	every func() time.Duration
	next  time.Time
	run   func(ctx context.Context, now time.Time)
}

// Run collects and sends until ctx ends, then flushes what it holds to the
// spool and tries one last upload.
func (a *Agent) Run(ctx context.Context) error {
	if a.o.Sources.Audit != nil {
		actx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			if err := a.o.Sources.Audit.Run(actx, a.onAudit); err != nil {
				a.diag(secmsg.DiagnosticError, "collector/audit", "audit source failed: "+err.Error())
			}
		}()
	}
	now := a.clock.Now()
	tasks := []*task{
		{name: "config", every: func() time.Duration { return a.o.ConfigPoll }, run: a.fetchConfig},
		{name: "poll", every: func() time.Duration { return pollEvery }, run: a.poll},
		{name: "sessions", every: func() time.Duration { return sessionFlush }, run: a.settleSessions},
		{name: "flush", every: func() time.Duration { return a.Config().HighPriorityInterval.D() }, run: a.flushAggregated},
		{name: "send", every: func() time.Duration { return a.Config().HighPriorityInterval.D() }, run: a.send},
		{name: "stats", every: func() time.Duration { return statsEvery }, run: a.stats},
	}
	if a.o.Sources.Snapshots != nil {
		for _, name := range agentconf.SnapshotEvents {
			tasks = append(tasks, &task{name: name,
				every: func() time.Duration { return a.Config().SnapshotIntervals[name].D() },
				run:   func(ctx context.Context, now time.Time) { a.snapshot(ctx, name, now) }})
		}
	}
	for _, t := range tasks {
		t.next = now // everything runs once at start
	}
	a.lastLowSend = now
	for {
		now = a.clock.Now()
		for _, t := range tasks {
			if !now.Before(t.next) {
				t.run(ctx, now)
				t.next = now.Add(max(t.every(), time.Second))
			}
		}
		next := tasks[0].next
		for _, t := range tasks[1:] {
			if t.next.Before(next) {
				next = t.next
			}
		}
		if err := a.clock.WaitUntil(ctx, next); err != nil {
			a.shutdown()
			return nil
		}
	}
}

// shutdown spools what is held and tries to send it once.
func (a *Agent) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now := a.clock.Now()
	a.poll(ctx, now)
	a.flushAggregated(ctx, now)
	if err := a.o.Uploader.Flush(ctx, true); err != nil {
		a.log.Warn("events left in the spool at shutdown", "err", err)
	}
}

func (a *Agent) onAudit(ev audit.Event) {
	select {
	case a.auditCh <- ev:
	default:
		a.mu.Lock()
		a.dropped[string(ev.Kind())]++
		a.mu.Unlock()
	}
}

// poll reads new auth-log lines and audit events into the aggregator.
func (a *Agent) poll(ctx context.Context, now time.Time) {
	cfg := a.Config()
	if t := a.o.Sources.AuthLog; t != nil {
		for range 64 { // a poll reads at most 1 MiB; catch up, but not forever
			lines, err := t.Poll()
			var atts []authlog.Attempt
			for _, l := range lines {
				r, err := a.parser.Parse(l.Text)
				if err == nil {
					atts = a.attempts.Add(atts, &r)
				}
				pos := l.Pos
				a.lastPos = &pos
			}
			a.addAttempts(atts, cfg)
			if err != nil { // the lines read before the error count
				a.diag(secmsg.DiagnosticWarning, "collector/authlog", "reading the auth log: "+err.Error())
				break
			}
			if len(lines) == 0 {
				break
			}
			if a.agg.Full() {
				a.flushAggregated(ctx, now)
			}
		}
		if _, ok := t.Committed(); !ok && a.lastPos == nil {
			// Nothing read yet on a first run: remember where reading
			// started, so lines written while the agent is down later are
			// not skipped by StartAtEnd.
			if p, ok := t.Position(); ok {
				if err := t.Commit(p); err != nil {
					a.log.Warn("auth log checkpoint", "err", err)
				}
			}
		}
	}
	for {
		select {
		case ev := <-a.auditCh:
			if a.o.Sources.AuthLog != nil {
				if _, ok := ev.(*audit.Login); ok {
					continue // logins come from the auth log, counted once there
				}
			}
			it, ok := convert.Audit(ev)
			if !ok || cfg.PriorityOf(it.EventName()) == agentconf.Off {
				continue
			}
			a.agg.Add(it, ev.Meta().Time)
			if a.agg.Full() {
				a.flushAggregated(ctx, now)
			}
		default:
			return
		}
	}
}

func (a *Agent) addAttempts(atts []authlog.Attempt, cfg agentconf.Config) {
	if cfg.PriorityOf(secmsg.NameLogin) == agentconf.Off {
		return
	}
	for _, at := range atts {
		a.agg.Add(convert.Attempt(at), at.Time)
	}
}

// settleSessions emits the attempts of sshd sessions that went quiet.
func (a *Agent) settleSessions(_ context.Context, now time.Time) {
	a.addAttempts(a.attempts.Flush(nil, now), a.Config())
}

// flushAggregated moves the aggregated events to the spool, then
// checkpoints the auth log: lines are committed only once what they said is
// durable.
func (a *Agent) flushAggregated(_ context.Context, now time.Time) {
	evs := a.agg.Flush(now, perEvent)
	a.mu.Lock()
	evs = append(evs, a.diags.Flush(now, perEvent)...)
	a.mu.Unlock()
	if !a.put(evs) {
		return // not committed: the lines are read again after a restart
	}
	if a.lastPos != nil && a.o.Sources.AuthLog != nil {
		// Commit after every hand-off (docs/agent-authlog.md): attempts
		// leave as their lines arrive, so lines re-read after a restart
		// would be counted twice, and with no checkpoint yet a restart
		// would skip what was written while the agent was down. A restart
		// forgets the sessions still open: PAM-only failures they report
		// later are not counted (see authlog.Attempts).
		if err := a.o.Sources.AuthLog.Commit(*a.lastPos); err != nil {
			a.log.Warn("auth log checkpoint", "err", err)
		}
	}
}

// put encodes events and stores them in the spool by priority; it reports
// whether everything was stored.
func (a *Agent) put(evs []secmsg.Event) bool {
	cfg := a.Config()
	var high, low [][]byte
	for _, ev := range evs {
		p := cfg.PriorityOf(ev.Name)
		if p == agentconf.Off {
			continue
		}
		b, err := upload.Encode(Version, a.o.AgentID, ev)
		if err != nil {
			a.log.Error("event not sent: invalid", "event", ev.Name, "err", err)
			a.mu.Lock()
			a.dropped[ev.Name]++
			a.mu.Unlock()
			continue
		}
		if p == agentconf.High {
			high = append(high, b)
		} else {
			low = append(low, b)
		}
	}
	ok := true
	if len(high) > 0 {
		if err := a.o.Spool.Put(spool.High, high...); err != nil {
			a.log.Error("spool", "err", err)
			ok = false
		}
	}
	if len(low) > 0 {
		if err := a.o.Spool.Put(spool.Low, low...); err != nil {
			a.log.Error("spool", "err", err)
			ok = false
		}
	}
	return ok
}

// send uploads when high-priority events wait or the low-priority interval
// passed, backing off after failures.
func (a *Agent) send(ctx context.Context, now time.Time) {
	if now.Before(a.nextSend) {
		return
	}
	cfg := a.Config()
	lowDue := now.Sub(a.lastLowSend) >= cfg.LowPriorityInterval.D()
	high, err := a.o.Uploader.Pending(spool.High)
	if err != nil {
		a.log.Error("spool", "err", err)
		return
	}
	if !high && !lowDue {
		return
	}
	if err := a.o.Uploader.Flush(ctx, true); err != nil {
		a.failures++
		wait := min(cfg.HighPriorityInterval.D()<<min(a.failures, 10), maxSendBackoff)
		a.nextSend = now.Add(wait)
		a.log.Warn("upload failed; events stay in the spool", "err", err, "retry_in", wait)
		if a.failures == 1 || a.failures%10 == 0 {
			a.diag(secmsg.DiagnosticWarning, "uploader", "upload failed: "+err.Error())
		}
		return
	}
	if a.failures > 0 {
		a.log.Info("upload recovered", "after_failures", a.failures)
	}
	a.failures = 0
	a.lastLowSend = now
}

// snapshot takes one snapshot kind and spools it in full, or its
// differences since the last one sent.
func (a *Agent) snapshot(ctx context.Context, name string, now time.Time) {
	cfg := a.Config()
	if cfg.PriorityOf(name) == agentconf.Off {
		return
	}
	items, err := a.o.Sources.Snapshots.Items(ctx, name)
	if err != nil {
		a.diag(secmsg.DiagnosticWarning, "collector/snapshot", name+": "+err.Error())
		return
	}
	cur := make(map[string]convert.Signed, len(items))
	for _, it := range items {
		cur[it.Key()] = convert.Signed{Item: it, Sig: convert.Signature(it)}
	}
	prev, seen := a.snaps[name]
	full := !seen || now.Sub(a.lastFull[name]) >= cfg.FullSnapshotInterval.D()
	var evs []secmsg.Event
	if full {
		evs = chunkEvents(name, now, secmsg.SnapshotFull, items)
		a.lastFull[name] = now
	} else {
		changes := convert.Diff(prev, cur)
		if len(changes) == 0 {
			a.snaps[name] = cur
			return
		}
		evs = chunkEvents(name, now, secmsg.SnapshotDiff, changes)
	}
	if a.put(evs) {
		a.snaps[name] = cur
	}
}

func chunkEvents(name string, now time.Time, mode string, items []secmsg.Item) []secmsg.Event {
	if len(items) == 0 {
		ev := secmsg.NewEvent(name, now)
		ev.SnapshotMode = mode
		return []secmsg.Event{ev}
	}
	var out []secmsg.Event
	for i := 0; i < len(items); i += eventsPerSnapMx {
		ev := secmsg.NewEvent(name, now, items[i:min(i+eventsPerSnapMx, len(items))]...)
		ev.SnapshotMode = mode
		out = append(out, ev)
	}
	return out
}

// stats reports what was sent and dropped since the last report.
func (a *Agent) stats(_ context.Context, now time.Time) {
	var evs []secmsg.Event
	st := a.o.Uploader.TakeStats()
	if st.Requests+st.MessagesFailed+st.MessagesRejected > 0 {
		evs = append(evs, secmsg.NewEvent(secmsg.NameMessageStatistics, now, secmsg.MessageStatistics{
			MessagesSent: st.MessagesSent, MessagesFailed: st.MessagesFailed, MessagesRejected: st.MessagesRejected,
			EventsSent: st.EventsSent, BytesSent: st.BytesSent}))
	}
	var items []secmsg.Item
	if d, err := a.o.Spool.TakeDropped(); err == nil {
		// The spool drops whole records without reading them: their names
		// are not known, so the queue's count is reported under "*".
		if d.High > 0 {
			items = append(items, secmsg.DroppedEvents{Event: secmsg.AnyEvent, Queue: secmsg.QueueHigh, DroppedEvents: int64(d.High), Reason: "spool_full"})
		}
		if d.Low > 0 {
			items = append(items, secmsg.DroppedEvents{Event: secmsg.AnyEvent, Queue: secmsg.QueueLow, DroppedEvents: int64(d.Low), Reason: "spool_full"})
		}
	}
	a.mu.Lock()
	for name, n := range a.dropped {
		q := secmsg.QueueLow
		if a.cfg.PriorityOf(name) == agentconf.High {
			q = secmsg.QueueHigh
		}
		items = append(items, secmsg.DroppedEvents{Event: name, Queue: q, DroppedEvents: n, Reason: "agent_queue_full_or_invalid"})
	}
	clear(a.dropped)
	a.mu.Unlock()
	if len(items) > 0 {
		evs = append(evs, secmsg.NewEvent(secmsg.NameDroppedEventsStatistics, now, items...))
	}
	a.put(evs)
}

// fetchConfig applies the remote configuration when it changed.
func (a *Agent) fetchConfig(ctx context.Context, _ time.Time) {
	if a.o.Remote == nil {
		return
	}
	c, err := a.o.Remote(ctx)
	if err != nil {
		a.log.Debug("remote configuration not fetched; keeping the current one", "err", err)
		return
	}
	if err := c.Validate(); err != nil {
		a.diag(secmsg.DiagnosticWarning, "config", "remote configuration refused: "+err.Error())
		return
	}
	a.mu.Lock()
	old := a.cfg
	a.cfg = c
	a.mu.Unlock()
	if old.Resync != c.Resync && c.Resync != "" {
		a.log.Info("full snapshots requested", "resync", c.Resync)
		clear(a.snaps) // the next snapshot of every kind is sent in full
		now := a.clock.Now()
		if a.o.Sources.Snapshots != nil {
			for _, name := range agentconf.SnapshotEvents {
				a.snapshot(ctx, name, now)
			}
		}
	}
	if old.Version() != c.Version() {
		a.log.Info("remote configuration applied", "version", c.Version())
		if a.o.SaveRemote != nil {
			if err := a.o.SaveRemote(c); err != nil {
				a.log.Warn("remote configuration not saved for the next start", "err", err)
			}
		}
		a.o.Uploader.SetMaxMessageSize(c.MaxMessageSize)
		if int64(c.CacheSize) != a.o.Spool.Options().Capacity {
			a.log.Info("cacheSize changes apply at the next start", "cacheSize", c.CacheSize)
		}
	}
}

// diag logs a problem and reports it in a Diagnostic event (aggregated).
func (a *Agent) diag(severity, component, msg string) {
	switch severity {
	case secmsg.DiagnosticError:
		a.log.Error(msg, "component", component)
	case secmsg.DiagnosticWarning:
		a.log.Warn(msg, "component", component)
	default:
		a.log.Info(msg, "component", component)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.diags.Add(secmsg.Diagnostic{Severity: severity, Component: component, Message: clip(msg, 1000), ProcessID: os.Getpid()}, a.clock.Now())
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// AgentID returns the agent's id, stored in dir (created on first use).
func AgentID(dir string) (string, error) {
	p := filepath.Join(dir, "agent-id")
	if b, err := os.ReadFile(p); err == nil {
		if id := strings.TrimSpace(string(b)); len(id) == 36 {
			return id, nil
		}
	}
	id := secmsg.NewID()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("agent: state directory: %w", err)
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(id+"\n"), 0o600); err != nil {
		return "", err
	}
	return id, os.Rename(tmp, p)
}
