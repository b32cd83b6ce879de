package detect

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/moatsec/moat/internal/center"
	"github.com/moatsec/moat/internal/center/rules"
)

// Defaults of Options.
const (
	DefaultMaxKeysPerRule   = 100_000
	DefaultMaxEntriesPerKey = 4096
	DefaultDeviceRefresh    = time.Minute
)

// Options configure an Engine. The zero value works: the real clock, no
// baseline (newvalue rules report nothing), no registry.
type Options struct {
	// Clock is the engine's time: rate limits and the expiry of idle keys
	// (event times come from the events). Default time.Now.
	Clock func() time.Time
	// Baseline holds the values of newvalue rules.
	Baseline Baseline
	// Devices lists the registered devices, for absence rules.
	Devices Devices
	Logger  *slog.Logger
	// MaxKeysPerRule bounds the keys (sources, devices…) a rule keeps
	// state for; the least recently used is evicted and counted.
	MaxKeysPerRule int
	// MaxEntriesPerKey bounds the events a threshold key (or the
	// occurrences a sequence step) keeps; the two oldest are merged.
	MaxEntriesPerKey int
	// DeviceRefresh is how often Tick asks Devices for the registry.
	DeviceRefresh time.Duration
}

// Engine runs detection rules on events. Process, Tick and Warm must be
// called from one goroutine; SetRules and Stats from any.
type Engine struct {
	o       Options
	pending atomic.Pointer[rules.Set]
	cur     atomic.Pointer[program] // for Stats
	prog    *program                // the processing goroutine's
	p       pass
	reg     *registry
}

// program is a compiled rule set.
type program struct {
	set       *rules.Set
	runners   []runner
	byID      map[string]runner
	byName    map[string][]runner // event-fed runners by event name
	anyName   []runner            // event-fed runners of every name
	followers map[string][]*sequence
	absences  []*absence
	sweepers  []interface{ sweep(now int64) }
}

// New returns an engine running the active rules of set.
func New(set *rules.Set, o Options) *Engine {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxKeysPerRule <= 0 {
		o.MaxKeysPerRule = DefaultMaxKeysPerRule
	}
	if o.MaxEntriesPerKey <= 1 {
		o.MaxEntriesPerKey = DefaultMaxEntriesPerKey
	}
	if o.DeviceRefresh <= 0 {
		o.DeviceRefresh = DefaultDeviceRefresh
	}
	en := &Engine{o: o}
	en.p.eng = en
	en.prog = compile(set, nil, &en.o)
	en.cur.Store(en.prog)
	return en
}

// SetRules replaces the rules (safe from any goroutine); the next Process
// or Tick applies it. Rules whose StateKey did not change keep their state
// (windows, sequences, learning), with their new title, severity…; the
// others start empty.
func (en *Engine) SetRules(set *rules.Set) {
	en.pending.Store(set)
}

// load applies pending rules and returns the program.
func (en *Engine) load() *program {
	if set := en.pending.Swap(nil); set != nil {
		en.prog = compile(set, en.prog, &en.o)
		en.cur.Store(en.prog)
	}
	return en.prog
}

func compile(set *rules.Set, old *program, o *Options) *program {
	pr := &program{set: set, byID: map[string]runner{}, byName: map[string][]runner{}, followers: map[string][]*sequence{}}
	if set == nil {
		return pr
	}
	for _, r := range set.Rules() {
		var rn runner
		if old != nil {
			if x := old.byID[r.ID]; x != nil && x.base().stateKey == r.StateKey() {
				x.base().rule = r
				rn = x
			}
		}
		if rn == nil {
			switch r.Kind {
			case rules.KindThreshold:
				rn = newThreshold(r, o)
			case rules.KindSequence:
				rn = newSequence(r, o)
			case rules.KindNewValue:
				rn = newNewValue(r, o)
			case rules.KindMatch:
				rn = newMatch(r)
			case rules.KindAbsence:
				rn = newAbsence(r, o)
			default:
				continue
			}
		}
		pr.runners = append(pr.runners, rn)
		pr.byID[r.ID] = rn
		if s, ok := rn.(interface{ sweep(int64) }); ok {
			pr.sweepers = append(pr.sweepers, s)
		}
		var names []string
		all := false
		switch x := rn.(type) {
		case *sequence:
			for _, st := range x.steps {
				if st.rule != "" {
					pr.followers[st.rule] = append(pr.followers[st.rule], x)
				}
			}
			var ok bool
			names, ok = x.eventNames()
			all = !ok
		case *absence:
			pr.absences = append(pr.absences, x)
			var ok bool
			names, ok = r.Match.Names()
			all = !ok
		default:
			var ok bool
			names, ok = r.Match.Names()
			all = !ok
		}
		if all {
			pr.anyName = append(pr.anyName, rn)
			continue
		}
		for _, n := range names {
			if !containsRunner(pr.byName[n], rn) {
				pr.byName[n] = append(pr.byName[n], rn)
			}
		}
	}
	return pr
}

func containsRunner(list []runner, r runner) bool {
	for _, x := range list {
		if x == r {
			return true
		}
	}
	return false
}

// begin prepares the pass of one call.
func (en *Engine) begin(ctx context.Context, now time.Time, warm bool) *pass {
	p := &en.p
	p.ctx, p.now, p.warm, p.out = ctx, unixNano(now, 0), warm, nil
	return p
}

// Process runs the rules on one event and returns its detections (nil
// when none), those of the sequences that follow them included. The engine
// keeps a reference to events in open windows: they must not be modified
// afterwards.
func (en *Engine) Process(ctx context.Context, e *center.Event) []center.Detection {
	if e == nil {
		return nil
	}
	prog := en.load()
	p := en.begin(ctx, en.o.Clock(), false)
	feed(prog, p, e)
	out := p.out
	p.out, p.ctx = nil, nil
	return out
}

// Warm feeds past events (from the store: those received within the
// longest window before now, in the order they were received) to rebuild
// the state of threshold, sequence and absence rules after a restart,
// without reporting anything: detections they would have caused were
// reported before the restart, and the events they counted will not be
// counted again. Newvalue rules are skipped (their baseline is the
// store's).
func (en *Engine) Warm(events []*center.Event) {
	prog := en.load()
	p := en.begin(context.Background(), en.o.Clock(), true)
	for _, e := range events {
		if e == nil {
			continue
		}
		feed(prog, p, e)
		p.out = p.out[:0]
	}
	p.out, p.ctx = nil, nil
}

// Forget drops what the engine remembers of a device's baselines (whether
// the newvalue rules have asked the baseline about it, and the snapshot
// being learned), so that a device deleted and registered again learns a
// new baseline from its first full snapshot. Like Process, it runs on the
// processing goroutine.
func (en *Engine) Forget(device string) {
	for _, rn := range en.load().runners {
		if nv, ok := rn.(*newValue); ok {
			if it := nv.learn.getString(device); it != nil {
				nv.learn.remove(it)
				nv.nkeys.Store(int64(nv.learn.len()))
			}
		}
	}
}

// MaxHorizon returns the longest window of the active rules: how far back
// Warm needs events.
func (en *Engine) MaxHorizon() time.Duration {
	var h time.Duration
	if prog := en.cur.Load(); prog.set != nil {
		for _, r := range prog.set.Rules() {
			h = max(h, r.Horizon())
		}
	}
	return h
}

func feed(prog *program, p *pass, e *center.Event) {
	for _, r := range prog.byName[e.Name] {
		r.event(p, e)
	}
	for _, r := range prog.anyName {
		r.event(p, e)
	}
	follow(prog, p, 0)
}

// follow feeds the detections of p from index i on to the sequences that
// follow their rules (and theirs, in turn: rules.NewSet refuses cycles).
func follow(prog *program, p *pass, i int) {
	for ; i < len(p.out); i++ {
		seqs := prog.followers[p.out[i].Rule]
		if len(seqs) == 0 {
			continue
		}
		d := p.out[i]
		for _, s := range seqs {
			s.onDetection(p, &d)
		}
	}
}

// Tick evaluates the absence rules at now (call it every few seconds, on
// the processing goroutine) and expires idle state.
func (en *Engine) Tick(ctx context.Context, now time.Time) []center.Detection {
	prog := en.load()
	p := en.begin(ctx, now, false)
	if len(prog.absences) > 0 && en.o.Devices != nil && (en.reg == nil || p.now-en.reg.fetched >= int64(en.o.DeviceRefresh)) {
		list, err := en.o.Devices.Registered(ctx)
		if err != nil {
			en.o.Logger.Warn("detect: registered devices", "err", err)
		} else {
			reg := &registry{list: list, ids: make(map[string]bool, len(list)), fetched: p.now}
			for _, d := range list {
				reg.ids[d.ID] = true
			}
			en.reg = reg
		}
	}
	for _, a := range prog.absences {
		a.tick(p, en.reg)
	}
	for _, s := range prog.sweepers {
		s.sweep(p.now)
	}
	follow(prog, p, 0)
	out := p.out
	p.out, p.ctx = nil, nil
	return out
}

// RuleStats are the counters of one rule.
type RuleStats struct {
	Rule       string
	Matched    int64 // events (or detections) the rule looked at and matched
	Detections int64 // detections reported
	Dropped    int64 // detections dropped by maxAlertsPerMinute
	Late       int64 // events older than a window before their key's newest, not counted
	Evicted    int64 // keys evicted by MaxKeysPerRule
	Keys       int64 // keys held
	Errors     int64 // baseline errors
}

// Stats returns the counters of the active rules (safe from any
// goroutine; rules replaced by SetRules show from the next Process).
func (en *Engine) Stats() []RuleStats {
	prog := en.cur.Load()
	out := make([]RuleStats, 0, len(prog.runners))
	for _, r := range prog.runners {
		b := r.base()
		out = append(out, RuleStats{
			Rule: b.id, Matched: b.matched.Load(), Detections: b.detections.Load(), Dropped: b.dropped.Load(),
			Late: b.late.Load(), Evicted: b.evicted.Load(), Keys: b.nkeys.Load(), Errors: b.errors.Load(),
		})
	}
	return out
}
