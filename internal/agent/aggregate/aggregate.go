// Package aggregate collapses repeated triggered security events: items of
// one event name with equal secmsg keys, seen within one window, leave as a
// single item with a hit count and the first and last time.
package aggregate

import (
	"slices"
	"time"

	"github.com/moatsec/moat/secmsg"
)

// Aggregator collects triggered items between flushes. It is not safe for
// concurrent use.
type Aggregator struct {
	max    int // distinct items held; past it a flush is due
	groups map[string]*group
	order  []string // keys in arrival order
	items  int
}

type group struct {
	name        string
	item        secmsg.Item
	hits        int64
	first, last time.Time
}

// New returns an Aggregator holding at most max distinct items (default
// 1000) before Full reports true.
func New(max int) *Aggregator {
	if max <= 0 {
		max = 1000
	}
	return &Aggregator{max: max, groups: map[string]*group{}}
}

// normalize clears the fields that differ between otherwise identical
// occurrences, so that they aggregate: an sshd child's PID and source port
// for logins.
func normalize(it secmsg.Item) secmsg.Item {
	if l, ok := it.(secmsg.Login); ok {
		l.ProcessID, l.RemotePort = 0, 0
		return l
	}
	return it
}

// hitsOf returns how many occurrences an item already stands for, and its
// time span.
func hitsOf(it secmsg.Item, at time.Time) (int64, time.Time, time.Time) {
	a, _ := secmsg.AggregateOf(it)
	first, last := at, at
	if t, err := time.Parse(time.RFC3339, a.FirstSeen); err == nil {
		first = t
	}
	if t, err := time.Parse(time.RFC3339, a.LastSeen); err == nil {
		last = t
	}
	return a.Hits(), first, last
}

func withHits(it secmsg.Item, hits int64, first, last time.Time) secmsg.Item {
	// The times are written even for a single occurrence: the event's own
	// timestamp is when it was flushed, up to an interval later.
	a := secmsg.Aggregate{FirstSeen: first.UTC().Format(time.RFC3339), LastSeen: last.UTC().Format(time.RFC3339)}
	if hits > 1 {
		a.HitCount = hits
	}
	return secmsg.WithAggregate(it, a)
}

// Add records one item that happened at t.
func (g *Aggregator) Add(it secmsg.Item, at time.Time) {
	hits, first, last := hitsOf(it, at)
	it = normalize(it)
	k := it.EventName() + "\x00" + it.Key()
	if gr, ok := g.groups[k]; ok {
		gr.hits += hits
		gr.first = minTime(gr.first, first)
		gr.last = maxTime(gr.last, last)
		return
	}
	g.groups[k] = &group{name: it.EventName(), item: it, hits: hits, first: first, last: last}
	g.order = append(g.order, k)
	g.items++
}

// Len is the number of distinct items held.
func (g *Aggregator) Len() int { return g.items }

// Full reports whether the aggregator holds its maximum of distinct items.
func (g *Aggregator) Full() bool { return g.items >= g.max }

// Flush returns the held items as events (one per event name, in order of
// first arrival, at most perEvent items each), stamped now, and empties
// the aggregator.
func (g *Aggregator) Flush(now time.Time, perEvent int) []secmsg.Event {
	if perEvent <= 0 {
		perEvent = 50
	}
	byName := map[string][]secmsg.Item{}
	var names []string
	for _, k := range g.order {
		gr := g.groups[k]
		if _, ok := byName[gr.name]; !ok {
			names = append(names, gr.name)
		}
		byName[gr.name] = append(byName[gr.name], withHits(gr.item, gr.hits, gr.first, gr.last))
	}
	var out []secmsg.Event
	for _, n := range names {
		for chunk := range slices.Chunk(byName[n], perEvent) {
			out = append(out, secmsg.NewEvent(n, now, chunk...))
		}
	}
	clear(g.groups)
	g.order, g.items = g.order[:0], 0
	return out
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
