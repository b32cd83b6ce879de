package detect

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/moatsec/moat/internal/center"
	"github.com/moatsec/moat/internal/center/rules"
)

// runner runs one rule.
type runner interface {
	base() *ruleBase
	// event looks at one event (the runner applies its own filter).
	event(p *pass, e *center.Event)
}

// pass is the context of one Process, Tick or Warm call.
type pass struct {
	ctx   context.Context
	now   int64 // the engine's clock, Unix ns
	warm  bool  // rebuilding state: detections are computed, not reported
	out   []center.Detection
	buf   []byte   // scratch for map keys
	vals  []string // scratch for key values
	eng   *Engine
	items []string // scratch for newvalue values
}

// ruleBase is what every runner has: the rule, its rate limit and
// counters (read by Stats from any goroutine).
type ruleBase struct {
	id       string      // immutable
	stateKey string      // immutable
	rule     *rules.Rule // replaced by SetRules when only metadata changed
	limit    bucket

	matched, detections, dropped, late, evicted, nkeys, errors atomic.Int64
}

func newBase(r *rules.Rule) ruleBase {
	return ruleBase{id: r.ID, stateKey: r.StateKey(), rule: r, limit: newBucket(r.MaxAlertsPerMinute)}
}

func (b *ruleBase) base() *ruleBase { return b }

// detection returns a detection of the rule triggered by e (nil for
// absence), with the rule's metadata and e's device and hub.
func (b *ruleBase) detection(e *center.Event) center.Detection {
	d := center.Detection{
		Rule: b.rule.ID, Title: b.rule.Title, Severity: b.rule.Severity,
		Technique: b.rule.Technique, Remediation: b.rule.Remediation, Trigger: e,
	}
	if e != nil {
		d.DeviceID, d.Hub = e.Device, e.Hub
	}
	return d
}

// admit decides whether a detection may be reported. One that opens an
// alert (limited) takes a token of the rule's rate limit; without one it
// is dropped and counted. Detections that grow an open episode are not
// limited. While warming, everything is admitted and no token is taken.
func (b *ruleBase) admit(p *pass, limited bool) bool {
	if p.warm || !limited || b.limit.allow(p.now) {
		return true
	}
	b.dropped.Add(1)
	return false
}

// push reports d. While warming, detections are kept for the sequences
// of this pass but never returned.
func (b *ruleBase) push(p *pass, d center.Detection) {
	if !p.warm {
		b.detections.Add(1)
	}
	p.out = append(p.out, d)
}

// emit admits and pushes d; it reports whether d was admitted.
func (b *ruleBase) emit(p *pass, d center.Detection, limited bool) bool {
	if !b.admit(p, limited) {
		return false
	}
	b.push(p, d)
	return true
}

// bucket is a token bucket refilled with n tokens a minute, holding at
// most n.
type bucket struct {
	tokens, capacity float64
	perNS            float64
	last             int64
}

func newBucket(perMinute int) bucket {
	n := float64(max(perMinute, 1))
	return bucket{tokens: n, capacity: n, perNS: n / float64(time.Minute)}
}

// available refills the bucket and reports whether it holds a token.
func (b *bucket) available(now int64) bool {
	if b.last == 0 {
		b.last = now
	}
	if d := now - b.last; d > 0 {
		b.tokens = min(b.capacity, b.tokens+float64(d)*b.perNS)
		b.last = now
	}
	return b.tokens >= 1
}

// allow takes a token if there is one.
func (b *bucket) allow(now int64) bool {
	if !b.available(now) {
		return false
	}
	b.tokens--
	return true
}

// Bounds of event times and counts: hostile values are clamped.
var (
	minTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// MaxCount bounds the count one event stands for.
const MaxCount = 1_000_000_000

// unixNano returns t in Unix ns, clamped to 1970–2200; zero gives def.
func unixNano(t time.Time, def int64) int64 {
	switch {
	case t.IsZero():
		return def
	case t.Before(minTime):
		return 0
	case t.After(maxTime):
		return maxTime.UnixNano()
	}
	return t.UnixNano()
}

// eventTimes returns when e happened (Time, else Received, else now) and
// when it ended (LastTime when later).
func (p *pass) eventTimes(e *center.Event) (t, last int64) {
	t = unixNano(e.Time, unixNano(e.Received, p.now))
	last = unixNano(e.LastTime, t)
	if last < t {
		last = t
	}
	return t, last
}

func eventCount(e *center.Event) int64 {
	return min(max(e.Count, 1), MaxCount)
}

func fromNano(ns int64) time.Time { return time.Unix(0, ns).UTC() }
