// Package sim simulates a fleet of devices running moat-agent against a
// Moat server, for demos, tests and load: it registers devices, obtains
// each one's publisher token from discovery as a device does, and sends
// what an agent sends — the five Full snapshots at start, gzip-compressed
// security messages marked as such, periodic MessageStatistics — plus the
// devices' own telemetry. It can play an SSH brute force on one device and
// report whether that device was refused afterwards (quarantined by the
// center). `moat sim` is a thin wrapper around Run.
package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moatsec/moat/internal/client"
	"github.com/moatsec/moat/secmsg"
	"github.com/moatsec/moat/tokenclient"
)

// simDevice is one simulated device. Only the worker running its step
// touches it (it is queued at most once).
type simDevice struct {
	id     string
	tc     *tokenclient.Client
	enc    *encoder
	target bool

	started       bool
	nextTelemetry time.Time // zero = no telemetry
	nextStats     time.Time
	seq           int64
	temp          float64
	stats         secmsg.MessageStatistics // since the last report
	attack        *bruteForce              // the target's, once its snapshots are sent
	attackOver    bool
}

// runner is one run.
type runner struct {
	o     Options
	clock Clock
	queue *queue

	requests, messages, events, telemetry, bytes, failed, skipped atomic.Int64
	maxLag                                                        atomic.Int64

	mu   sync.Mutex
	errs map[string]int64

	attack *AttackReport // touched by the target's steps only

	pending atomic.Int64 // snapshots and attack still to send
	settled chan struct{}
	once    sync.Once
}

// Run registers the devices and plays the fleet until the run ends (see
// Options.Duration) or ctx ends. Setup errors (the hub, the import) end
// it with an error; errors during the run are counted by reason in the
// Result. When ctx ends, Run returns the Result so far and ctx's error.
func Run(ctx context.Context, o Options) (Result, error) {
	o, err := o.withDefaults()
	if err != nil {
		return Result{}, err
	}
	admin, err := client.New(client.Options{Server: o.Server, TLS: o.TLS, Tokens: client.NewTokens(o.Conn, time.Hour)})
	if err != nil {
		return Result{}, fmt.Errorf("sim: %w", err)
	}
	if err := ensureHub(ctx, admin, o.Hub, o.Partitions); err != nil {
		return Result{}, err
	}
	ids, existing, err := register(ctx, admin, o)
	if err != nil {
		return Result{}, err
	}
	r := &runner{o: o, clock: o.Clock, queue: newQueue(), errs: map[string]int64{}, settled: make(chan struct{})}
	devs, err := r.devices(ids)
	if err != nil {
		return Result{}, err
	}
	res := Result{Hub: o.Hub, Devices: o.Devices, New: o.Devices - existing, Reused: existing}
	if o.Attack.Kind != "" {
		r.attack = &AttackReport{Kind: o.Attack.Kind, Device: o.Attack.Device, From: o.Attack.From, Planned: o.Attack.Attempts}
		r.pending.Add(1)
	}
	r.pending.Add(int64(len(devs)))
	// The first token of a hub makes the server create the hub's signing
	// rule: one device asks alone first, so that the others do not race
	// to create it. Its error, if any, shows on its first send.
	_, _ = devs[0].tc.Token(ctx)
	res.Started = r.clock.Now()
	for i, d := range devs {
		r.queue.push(res.Started.Add(o.Ramp*time.Duration(i)/time.Duration(len(devs))), d)
	}
	r.play(ctx)
	res.Duration = r.clock.Now().Sub(res.Started)
	r.fill(&res)
	return res, ctx.Err()
}

// devices builds the simulated devices, sharing one HTTP client.
func (r *runner) devices(ids []identity) ([]*simDevice, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if r.o.TLS != nil {
		tr.TLSClientConfig = r.o.TLS.Clone()
	}
	tr.ForceAttemptHTTP2 = true
	tr.MaxIdleConnsPerHost = r.o.Concurrency
	hc := &http.Client{Transport: tr}
	ns := r.o.Conn.Namespace()
	zp := newGzipPool()
	devs := make([]*simDevice, len(ids))
	for i, id := range ids {
		tc, err := tokenclient.New(tokenclient.Config{Server: r.o.Server, Namespace: ns, DeviceID: id.id, Key: id.key,
			HTTPClient: hc, Clock: r.clock.Now, Firmware: r.o.AgentVersion})
		if err != nil {
			return nil, fmt.Errorf("sim: device %s: %w", id.id, err)
		}
		enc, err := newEncoder(r.o.AgentVersion, agentID(id.id), zp)
		if err != nil {
			return nil, err
		}
		devs[i] = &simDevice{id: id.id, tc: tc, enc: enc, target: id.id == r.o.Attack.Device && r.o.Attack.Kind != "",
			temp: 18 + 8*rand.Float64()}
	}
	return devs, nil
}

// Bounds on sends: each one, and those still under way when the run ends.
const (
	sendTimeout = 30 * time.Second
	stopGrace   = 5 * time.Second
)

// play runs the workers until the run ends, then gives the sends under way
// stopGrace to finish before cancelling them.
func (r *runner) play(parent context.Context) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	stop := make(chan struct{})
	work := make(chan *simDevice)
	var wg sync.WaitGroup
	for range r.o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range work {
				if next, ok := r.step(ctx, d); ok {
					r.queue.push(next, d)
				}
			}
		}()
	}
	dispatched := make(chan struct{})
	go func() {
		defer close(dispatched)
		r.queue.dispatch(r.clock, stop, work, func(lag time.Duration) {
			for {
				old := r.maxLag.Load()
				if int64(lag) <= old || r.maxLag.CompareAndSwap(old, int64(lag)) {
					return
				}
			}
		})
	}()
	r.waitEnd(parent)
	close(stop)
	<-dispatched
	finished := make(chan struct{})
	go func() {
		wg.Wait()
		close(finished)
	}()
	select {
	case <-finished:
	case <-r.clock.After(stopGrace):
		cancel()
		<-finished
	}
}

// waitEnd returns when the run is over: after Duration, or once the
// snapshots and the attack are sent plus one telemetry round, or when ctx
// ends.
func (r *runner) waitEnd(ctx context.Context) {
	if r.o.Duration > 0 {
		select {
		case <-r.clock.After(r.o.Duration):
		case <-ctx.Done():
		}
		return
	}
	select {
	case <-r.settled:
	case <-ctx.Done():
		return
	}
	if r.o.TelemetryRate > 0 {
		select {
		case <-r.clock.After(time.Duration(float64(time.Second) / r.o.TelemetryRate)):
		case <-ctx.Done():
		}
	}
}

// milestone counts down the snapshots and the attack.
func (r *runner) milestone() {
	if r.pending.Add(-1) == 0 {
		r.once.Do(func() { close(r.settled) })
	}
}

// step does what d has due and returns when it next acts.
func (r *runner) step(ctx context.Context, d *simDevice) (time.Time, bool) {
	if ctx.Err() != nil {
		return time.Time{}, false
	}
	now := r.clock.Now()
	if !d.started {
		d.started = true
		r.sendSecurity(ctx, d, KindSnapshots, snapshots(d.id, now, now.Add(-72*time.Hour)), flushed{})
		r.milestone()
		now = r.clock.Now()
		d.nextStats = now.Add(r.o.StatsInterval)
		if r.o.TelemetryRate > 0 {
			d.nextTelemetry = now.Add(time.Duration(rand.Float64() * float64(time.Second) / r.o.TelemetryRate))
		}
		if d.target {
			d.attack = newBruteForce(r.o.Attack, now, r.o.AttackWindow, r.o.FlushInterval)
		}
	}
	if a := d.attack; a != nil {
		for a.due(now) && ctx.Err() == nil {
			f := a.take()
			switch {
			case f.failures > 0:
				r.sendSecurity(ctx, d, KindLoginFailures, []secmsg.Event{secmsg.NewEvent(secmsg.NameLogin, r.clock.Now(), f.items...)}, f)
			case f.success:
				r.sendSecurity(ctx, d, KindLoginSuccess, []secmsg.Event{secmsg.NewEvent(secmsg.NameLogin, r.clock.Now(), f.items...)}, f)
			}
			if a.done() && !d.attackOver {
				d.attackOver = true
				r.milestone()
			}
		}
	}
	if !now.Before(d.nextStats) {
		d.nextStats = later(d.nextStats, now, r.o.StatsInterval)
		if st := d.stats; st != (secmsg.MessageStatistics{}) {
			d.stats = secmsg.MessageStatistics{}
			r.sendSecurity(ctx, d, KindStats, []secmsg.Event{secmsg.NewEvent(secmsg.NameMessageStatistics, r.clock.Now(), st)}, flushed{})
		}
	}
	if !d.nextTelemetry.IsZero() && !now.Before(d.nextTelemetry) {
		d.seq++
		d.temp += rand.Float64() - 0.5
		t := r.clock.Now()
		r.send(ctx, d, KindTelemetry, telemetry(d.id, d.seq, t, round1(d.temp), round1(40+20*rand.Float64())), flushed{})
		interval := time.Duration(float64(time.Second) / r.o.TelemetryRate)
		if next := d.nextTelemetry.Add(interval); next.After(now) {
			d.nextTelemetry = next
		} else {
			r.skipped.Add(int64(now.Sub(d.nextTelemetry) / interval))
			d.nextTelemetry = now.Add(interval)
		}
	}
	next := d.nextStats
	if !d.nextTelemetry.IsZero() && d.nextTelemetry.Before(next) {
		next = d.nextTelemetry
	}
	if a := d.attack; a != nil && !a.done() && a.nextFlush.Before(next) {
		next = a.nextFlush
	}
	return next, true
}

// later returns the next tick of a period after now.
func later(tick, now time.Time, period time.Duration) time.Time {
	if next := tick.Add(period); next.After(now) {
		return next
	}
	return now.Add(period)
}

func round1(v float64) float64 { return float64(int64(v*10)) / 10 }

// sendSecurity encodes and sends security events; the device counts them
// in its MessageStatistics.
func (r *runner) sendSecurity(ctx context.Context, d *simDevice, kind string, evs []secmsg.Event, f flushed) {
	req, err := d.enc.security(evs)
	if err != nil { // a bug of the simulator: the events are ours
		r.count(SendResult{Kind: kind, Reason: "encode", Message: err.Error()})
		return
	}
	res := r.send(ctx, d, kind, req, f)
	if res.Accepted {
		d.stats.MessagesSent += int64(req.messages)
		d.stats.EventsSent += int64(req.events)
		d.stats.BytesSent += int64(len(req.body))
	} else {
		d.stats.MessagesFailed += int64(req.messages)
	}
}

// send makes one request as the device and counts its outcome.
func (r *runner) send(ctx context.Context, d *simDevice, kind string, req request, f flushed) SendResult {
	sctx, cancel := context.WithTimeout(ctx, sendTimeout)
	err := d.tc.SendWithHeader(sctx, req.body, req.header)
	cancel()
	res := SendResult{Kind: kind, At: r.clock.Now(), Accepted: err == nil}
	res.Status, res.Reason, res.Message = classify(err)
	if res.Accepted {
		r.requests.Add(1)
		r.bytes.Add(int64(len(req.body)))
		if req.messages > 0 {
			r.messages.Add(int64(req.messages))
			r.events.Add(int64(req.events))
		} else {
			r.telemetry.Add(int64(req.events))
		}
	}
	r.count(res)
	if d.target && d.attack != nil {
		r.noteTarget(d, res, f)
	}
	return res
}

func (r *runner) count(res SendResult) {
	if res.Accepted {
		return
	}
	r.failed.Add(1)
	r.mu.Lock()
	r.errs[res.Reason]++
	r.mu.Unlock()
}

// noteTarget follows the attack's target: what its attack sends became,
// and its first send after the last accepted one.
func (r *runner) noteTarget(d *simDevice, res SendResult, f flushed) {
	a := r.attack
	attack := res.Kind == KindLoginFailures || res.Kind == KindLoginSuccess
	p := Progress{Device: d.id, Send: res, Planned: a.Planned}
	switch {
	case attack && res.Accepted:
		a.Reported += f.failures
		a.LastAccepted, a.Next, a.FirstRefusal = res.At, nil, nil
	case a.LastAccepted.IsZero():
	default:
		if a.Next == nil {
			next := res
			a.Next, p.AfterAttack = &next, true
		}
		if !res.Accepted && a.FirstRefusal == nil {
			refusal := res
			a.FirstRefusal, p.Refusal = &refusal, true
		}
	}
	if attack {
		p.Failures = f.failures
		if !res.Accepted {
			a.Refused += f.failures
		}
		if f.success {
			a.Success = res.String()
		}
	}
	p.Reported = a.Reported
	p.AttackOver = d.attack.done()
	if r.o.OnProgress != nil && (attack || p.AfterAttack || p.Refusal) {
		r.o.OnProgress(p)
	}
}

// fill copies the counters into res.
func (r *runner) fill(res *Result) {
	res.Requests, res.Messages, res.SecurityEvents = r.requests.Load(), r.messages.Load(), r.events.Load()
	res.Telemetry, res.Bytes, res.Failed = r.telemetry.Load(), r.bytes.Load(), r.failed.Load()
	res.Skipped, res.MaxLag = r.skipped.Load(), time.Duration(r.maxLag.Load())
	r.mu.Lock()
	res.Errors = make(map[string]int64, len(r.errs))
	for k, v := range r.errs {
		res.Errors[k] = v
	}
	r.mu.Unlock()
	if r.attack != nil {
		a := *r.attack
		res.Attack = &a
	}
}
