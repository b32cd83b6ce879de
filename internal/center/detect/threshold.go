package detect

import (
	"sort"
	"time"

	"github.com/moatsec/moat/internal/center"
	"github.com/moatsec/moat/internal/center/rules"
)

// threshold runs a threshold rule. For each key it keeps the matching
// events of the last two windows (by event time), sorted by time. An event
// within one window of an event already reported (an open episode) is
// reported at once as a growth of it, with its own count. Otherwise the
// windows that hold the new event are summed; when one reaches the
// threshold, its events are reported together (a raise, rate-limited) and
// marked as reported. Each event is thus reported at most once.
type threshold struct {
	ruleBase
	f          *rules.Filter
	ks         keySpec
	window     int64
	thr        int64
	maxEntries int
	keys       *lru[tKey]
}

type tKey struct {
	entries []tEntry // sorted by t
	newest  int64
	alert   string // alert key
	src     string // source address
}

type tEntry struct {
	t, last  int64
	count    int64
	ev       *center.Event
	reported bool
}

func newThreshold(r *rules.Rule, o *Options) *threshold {
	return &threshold{
		ruleBase: newBase(r), f: r.Match, ks: newKeySpec(r.GroupBy),
		window: int64(r.Window), thr: r.Threshold, maxEntries: o.MaxEntriesPerKey,
		keys: newLRU[tKey](o.MaxKeysPerRule),
	}
}

// idle is how long (on the engine's clock) a key without events is kept.
func (t *threshold) idle() int64 { return 2*t.window + int64(time.Minute) }

func (t *threshold) sweep(now int64) {
	if t.keys.expire(now-t.idle()) > 0 {
		t.nkeys.Store(int64(t.keys.len()))
	}
}

func (t *threshold) event(p *pass, e *center.Event) {
	if !t.f.Match(e) {
		return
	}
	t.matched.Add(1)
	t.sweep(p.now)
	p.vals = t.ks.values(p.vals[:0], e)
	p.buf = t.ks.mapKey(p.buf[:0], e.Hub, p.vals)
	it := t.keys.get(p.buf)
	if it == nil {
		var evicted bool
		it, evicted = t.keys.add(string(p.buf), p.now)
		if evicted {
			t.evicted.Add(1)
		}
		it.v.alert, it.v.src = t.ks.alertKey(p.vals), t.ks.source(p.vals)
		t.nkeys.Store(int64(t.keys.len()))
	} else {
		t.keys.touch(it, p.now)
	}
	t.add(p, &it.v, e)
}

// add counts e in the key k.
func (t *threshold) add(p *pass, k *tKey, e *center.Event) {
	ts, last := p.eventTimes(e)
	w := t.window
	if len(k.entries) > 0 && ts < k.newest-w {
		t.late.Add(1) // more than a window older than the key's newest event
		return
	}
	if ts > k.newest || len(k.entries) == 0 {
		k.newest = ts
		t.trim(k)
	}
	ents := k.entries
	i := sort.Search(len(ents), func(j int) bool { return ents[j].t > ts })
	// An event within a window of a reported one grows its episode.
	grows := false
	for j := i - 1; j >= 0 && ts-ents[j].t <= w; j-- {
		if ents[j].reported {
			grows = true
			break
		}
	}
	for j := i; !grows && j < len(ents) && ents[j].t-ts <= w; j++ {
		grows = ents[j].reported
	}
	cnt := eventCount(e)
	k.entries = insertAt(k.entries, i, tEntry{t: ts, last: last, count: cnt, ev: e, reported: grows})
	if len(k.entries) > t.maxEntries {
		k.entries = mergeOldest(k.entries)
		i--
		if i < 0 {
			i = 0
		}
	}
	if grows {
		d := t.detection(e)
		d.Key, d.SourceAddress = k.alert, k.src
		d.Count, d.First, d.Last = cnt, fromNano(ts), fromNano(last)
		d.Evidence = []center.Evidence{evidenceOf(e)}
		t.emit(p, d, false)
		return
	}
	t.cross(p, k, e, i)
}

// cross raises when a window holding the entry i reaches the threshold.
// No entry within a window of i is reported (add checked), so the sums
// count unreported events only.
func (t *threshold) cross(p *pass, k *tKey, e *center.Event, i int) {
	ents, w := k.entries, t.window
	ts := ents[i].t
	lo, hi := i, i
	for lo > 0 && ts-ents[lo-1].t <= w {
		lo--
	}
	for hi+1 < len(ents) && ents[hi+1].t-ts <= w {
		hi++
	}
	var sum int64
	for j := lo; j <= i; j++ {
		sum += ents[j].count
	}
	best, bestA, bestB := int64(-1), 0, 0
	b := i
	for a := lo; a <= i; a++ {
		for b+1 <= hi && ents[b+1].t-ents[a].t <= w {
			b++
			sum += ents[b].count
		}
		if sum > best {
			best, bestA, bestB = sum, a, b
		}
		sum -= ents[a].count
	}
	if best < t.thr {
		return
	}
	if !t.admit(p, true) {
		return // rate-limited: the events stay unreported, a later one may raise
	}
	d := t.detection(e)
	d.Key, d.SourceAddress = k.alert, k.src
	d.Count, d.First = best, fromNano(ents[bestA].t)
	lastNS := ents[bestA].last
	for j := bestA; j <= bestB; j++ {
		lastNS = max(lastNS, ents[j].last)
	}
	d.Last = fromNano(lastNS)
	d.Evidence = entriesEvidence(ents[bestA : bestB+1])
	t.push(p, d)
	for j := bestA; j <= bestB; j++ {
		ents[j].reported = true
	}
}

// trim drops the entries more than two windows older than the newest.
func (t *threshold) trim(k *tKey) {
	cut := k.newest - 2*t.window
	n := 0
	for n < len(k.entries) && k.entries[n].t < cut {
		k.entries[n].ev = nil
		n++
	}
	if n > 0 {
		k.entries = k.entries[n:]
	}
}

// insertAt inserts x at i. Appending (the common case) reuses capacity;
// a slice trimmed from its front is compacted when it grows.
func insertAt(s []tEntry, i int, x tEntry) []tEntry {
	if i == len(s) {
		return append(s, x)
	}
	s = append(s, tEntry{})
	copy(s[i+1:], s[i:])
	s[i] = x
	return s
}

// mergeOldest merges the two oldest entries into one (MaxEntriesPerKey
// reached): their counts add up, the merged entry is reported if either
// was (a growth is then lost rather than counted twice).
func mergeOldest(s []tEntry) []tEntry {
	a, b := s[0], s[1]
	s[1] = tEntry{t: a.t, last: max(a.last, b.last), count: a.count + b.count, ev: a.ev, reported: a.reported || b.reported}
	s[0].ev = nil
	return s[1:]
}

// entriesEvidence returns the evidence of entries: all, or the first and
// the last ones up to center.MaxEvidence.
func entriesEvidence(ents []tEntry) []center.Evidence {
	n := min(len(ents), center.MaxEvidence)
	out := make([]center.Evidence, 0, n)
	if len(ents) <= center.MaxEvidence {
		for _, x := range ents {
			out = append(out, evidenceOf(x.ev))
		}
		return out
	}
	half := center.MaxEvidence / 2
	for _, x := range ents[:half] {
		out = append(out, evidenceOf(x.ev))
	}
	for _, x := range ents[len(ents)-(center.MaxEvidence-half):] {
		out = append(out, evidenceOf(x.ev))
	}
	return out
}
