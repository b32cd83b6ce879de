package notify

import (
	"time"
)

// maxMarks bounds the per-alert throttle's memory; past it, marks older
// than the throttle period (which no longer suppress anything) are
// forgotten first, then arbitrary ones.
const maxMarks = 100_000

// throttle holds the per-alert and per-channel state. Only the dispatcher
// goroutine uses it.
type throttle struct {
	marks map[markKey]mark
	rates map[string]*rate
}

type markKey struct{ channel, alert string }

// mark is the last time an alert was sent on a channel, and its severity
// rank then.
type mark struct {
	at   time.Time
	rank int
}

func newThrottle() *throttle {
	return &throttle{marks: map[markKey]mark{}, rates: map[string]*rate{}}
}

// alertAllowed reports whether an alert may be sent on a channel now: it
// is new there, its severity rose since it was last sent, or per has
// passed since.
func (t *throttle) alertAllowed(channel, alertID string, rank int, now time.Time, per time.Duration) bool {
	m, ok := t.marks[markKey{channel, alertID}]
	return !ok || rank > m.rank || now.Sub(m.at) >= per
}

// sent records that an alert was sent on a channel.
func (t *throttle) sent(channel, alertID string, rank int, now time.Time, per time.Duration) {
	if len(t.marks) >= maxMarks {
		t.prune(now, per)
	}
	t.marks[markKey{channel, alertID}] = mark{at: now, rank: rank}
}

func (t *throttle) prune(now time.Time, per time.Duration) {
	for k, m := range t.marks {
		if now.Sub(m.at) >= per {
			delete(t.marks, k)
		}
	}
	for k := range t.marks {
		if len(t.marks) < maxMarks/2 {
			break
		}
		delete(t.marks, k)
	}
}

// rateAllow takes one of a channel's limit messages per minute, reporting
// false when the minute's are spent.
func (t *throttle) rateAllow(channel string, now time.Time, limit int) bool {
	r := t.rates[channel]
	if r == nil || len(r.times) != limit {
		r = &rate{times: make([]time.Time, limit)}
		t.rates[channel] = r
	}
	return r.allow(now)
}

// forget drops the state of channels not in keep.
func (t *throttle) forget(keep map[string]Channel) {
	for name := range t.rates {
		if _, ok := keep[name]; !ok {
			delete(t.rates, name)
		}
	}
	for k := range t.marks {
		if _, ok := keep[k.channel]; !ok {
			delete(t.marks, k)
		}
	}
}

// rate is a sliding one-minute window: the times of the last len(times)
// messages in a ring.
type rate struct {
	times []time.Time
	next  int // index of the oldest
	n     int // used slots
}

func (r *rate) allow(now time.Time) bool {
	if r.n < len(r.times) {
		r.times[(r.next+r.n)%len(r.times)] = now
		r.n++
		return true
	}
	if now.Sub(r.times[r.next]) < time.Minute {
		return false
	}
	r.times[r.next] = now
	r.next = (r.next + 1) % len(r.times)
	return true
}
