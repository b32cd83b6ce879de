package sim

import (
	"time"

	"github.com/moatsec/moat/secmsg"
)

// bruteForce is the plan and progress of an SSH brute force on one device,
// played as moat-agent reports it: the attempts are spread evenly over the
// attack window, and every flush interval the ones seen since the previous
// flush leave as one Login event, aggregated per user name (HitCount,
// FirstSeen, LastSeen). The optional successful login comes one flush
// interval after the last failure, so it always leaves in a later flush.
type bruteForce struct {
	from     string
	attempts []time.Time // when each failed attempt happened
	flush    time.Duration
	success  time.Time // zero = no success

	next        int       // attempts[next:] are not flushed yet
	nextFlush   time.Time // when the next flush is due
	successSent bool
}

func newBruteForce(a Attack, start time.Time, window, flush time.Duration) *bruteForce {
	b := &bruteForce{from: a.From, flush: flush, nextFlush: start.Add(flush)}
	step := window / time.Duration(a.Attempts)
	b.attempts = make([]time.Time, a.Attempts)
	for i := range b.attempts {
		b.attempts[i] = start.Add(time.Duration(i) * step)
	}
	if a.Success {
		b.success = b.attempts[len(b.attempts)-1].Add(flush)
	}
	return b
}

// done reports whether every attempt (and the success) has been flushed.
func (b *bruteForce) done() bool {
	return b.next == len(b.attempts) && (b.success.IsZero() || b.successSent)
}

// due reports whether a flush is due at now.
func (b *bruteForce) due(now time.Time) bool { return !b.done() && !now.Before(b.nextFlush) }

// flushed is what one flush reports.
type flushed struct {
	items    []secmsg.Item // Login items; empty when nothing happened since the last flush
	failures int           // failed attempts they stand for
	success  bool          // the successful login is among them
}

// take returns the flush due at b.nextFlush (attempts before it that were
// not flushed yet) and moves to the next flush.
func (b *bruteForce) take() flushed {
	at := b.nextFlush
	b.nextFlush = at.Add(b.flush)
	var f flushed
	type agg struct {
		hits        int64
		first, last time.Time
	}
	var order []string
	byUser := map[string]*agg{}
	for b.next < len(b.attempts) && b.attempts[b.next].Before(at) {
		t := b.attempts[b.next]
		u := bruteForceUsers[b.next%len(bruteForceUsers)]
		g, ok := byUser[u]
		if !ok {
			g = &agg{first: t}
			byUser[u] = g
			order = append(order, u)
		}
		g.hits++
		g.last = t
		b.next++
		f.failures++
	}
	for _, u := range order {
		g := byUser[u]
		l := failedLogin(u, b.from)
		l.FirstSeen, l.LastSeen = secmsg.FormatTime(g.first), secmsg.FormatTime(g.last)
		if g.hits > 1 {
			l.HitCount = g.hits
		}
		f.items = append(f.items, l)
	}
	if !b.success.IsZero() && !b.successSent && b.success.Before(at) {
		b.successSent = true
		f.success = true
		f.items = append(f.items, successLogin(b.from, b.success))
	}
	return f
}
