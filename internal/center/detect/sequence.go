package detect

import (
	"sort"
	"time"

	"github.com/moatsec/moat/internal/center"
	"github.com/moatsec/moat/internal/center/rules"
)

// sequence runs a sequence rule. For each key (its By values) it keeps the
// occurrences of each step of the last two Within (by event time), sorted
// by time. An occurrence of the last step completes the sequence when
// occurrences of the steps before it happened in order, at or before it,
// the first no more than Within before it; each occurrence of the last
// step completes at most one sequence (it is then used). Occurrences may
// arrive in any order: an early step arriving late completes the last
// steps already held.
type sequence struct {
	ruleBase
	steps      []seqStep
	ks         keySpec
	within     int64
	maxEntries int
	keys       *lru[sKey]
}

type seqStep struct {
	rule string        // detections of this rule, or
	f    *rules.Filter // events this filter matches
}

type sKey struct {
	occ        [][]occurrence // per step, sorted by t
	newest     int64
	alert, src string
}

type occurrence struct {
	t, first    int64
	count       int64
	used        bool
	device, hub string
	ev          *center.Event     // an event step's event (evidence made when needed)
	evidence    []center.Evidence // a detection step's evidence
	trigger     *center.Event
}

func newSequence(r *rules.Rule, o *Options) *sequence {
	s := &sequence{
		ruleBase: newBase(r), ks: newKeySpec(r.By), within: int64(r.Within),
		maxEntries: o.MaxEntriesPerKey, keys: newLRU[sKey](o.MaxKeysPerRule),
	}
	for _, st := range r.Steps {
		s.steps = append(s.steps, seqStep{rule: st.Rule, f: st.Match})
	}
	return s
}

func (s *sequence) idle() int64 { return 2*s.within + int64(time.Minute) }

func (s *sequence) sweep(now int64) {
	if s.keys.expire(now-s.idle()) > 0 {
		s.nkeys.Store(int64(s.keys.len()))
	}
}

// eventNames returns the names of the events its steps match, and false
// when a step matches events of any name.
func (s *sequence) eventNames() (names []string, ok bool) {
	for _, st := range s.steps {
		if st.f == nil {
			continue
		}
		n, ok := st.f.Names()
		if !ok {
			return nil, false
		}
		names = append(names, n...)
	}
	return names, true
}

func (s *sequence) event(p *pass, e *center.Event) {
	for i, st := range s.steps {
		if st.f == nil || !st.f.Match(e) {
			continue
		}
		s.matched.Add(1)
		t, _ := p.eventTimes(e)
		p.vals = s.ks.values(p.vals[:0], e)
		s.add(p, e.Hub, i, occurrence{t: t, first: t, count: eventCount(e), device: e.Device, hub: e.Hub, ev: e, trigger: e})
	}
}

// onDetection feeds a detection of another rule.
func (s *sequence) onDetection(p *pass, d *center.Detection) {
	for i, st := range s.steps {
		if st.rule != d.Rule {
			continue
		}
		s.matched.Add(1)
		p.vals = p.vals[:0]
		for j, f := range s.ks.fields {
			var v string
			switch {
			case f == "device":
				v = d.DeviceID
			case f == "hub":
				v = d.Hub
			case d.Trigger != nil:
				v = d.Trigger.Field(f)
				if s.ks.addr[j] {
					v = unmap(v)
				}
			}
			p.vals = append(p.vals, v)
		}
		t := unixNano(d.Last, p.now)
		s.add(p, d.Hub, i, occurrence{t: t, first: unixNano(d.First, t), count: max(d.Count, 1),
			device: d.DeviceID, hub: d.Hub, evidence: d.Evidence, trigger: d.Trigger})
	}
}

// add records an occurrence of step i for the key of p.vals.
func (s *sequence) add(p *pass, hub string, i int, o occurrence) {
	s.sweep(p.now)
	p.buf = s.ks.mapKey(p.buf[:0], hub, p.vals)
	it := s.keys.get(p.buf)
	if it == nil {
		var evicted bool
		it, evicted = s.keys.add(string(p.buf), p.now)
		if evicted {
			s.evicted.Add(1)
		}
		it.v.occ = make([][]occurrence, len(s.steps))
		it.v.alert, it.v.src = s.ks.alertKey(p.vals), s.ks.source(p.vals)
		s.nkeys.Store(int64(s.keys.len()))
	} else {
		s.keys.touch(it, p.now)
	}
	k := &it.v
	if k.newest != 0 && o.t < k.newest-s.within {
		s.late.Add(1)
		return
	}
	if o.t > k.newest {
		k.newest = o.t
		cut := k.newest - 2*s.within
		for j, list := range k.occ {
			n := 0
			for n < len(list) && list[n].t < cut {
				n++
			}
			k.occ[j] = list[n:]
		}
	}
	list := k.occ[i]
	at := sort.Search(len(list), func(j int) bool { return list[j].t > o.t })
	list = append(list, occurrence{})
	copy(list[at+1:], list[at:])
	list[at] = o
	if len(list) > s.maxEntries {
		list = list[1:]
		at--
	}
	k.occ[i] = list
	last := len(s.steps) - 1
	if i == last {
		if at >= 0 {
			s.complete(p, k, at)
		}
		return
	}
	for j := range k.occ[last] {
		if f := &k.occ[last][j]; !f.used && f.t >= o.t {
			s.complete(p, k, j)
		}
	}
}

// complete reports the sequence ending with the occurrence j of the last
// step, if the steps before it happened in order within Within.
func (s *sequence) complete(p *pass, k *sKey, j int) {
	last := len(s.steps) - 1
	f := &k.occ[last][j]
	var chain [rules.MaxSteps]int
	cur := f.t
	for st := last - 1; st >= 0; st-- {
		list := k.occ[st]
		x := sort.Search(len(list), func(y int) bool { return list[y].t > cur }) - 1
		if x < 0 {
			return
		}
		chain[st], cur = x, list[x].t
	}
	if f.t-cur > s.within || !s.admit(p, true) {
		return
	}
	f.used = true
	d := s.detection(f.trigger)
	d.DeviceID, d.Hub = f.device, f.hub
	d.Key, d.SourceAddress = k.alert, k.src
	d.Count = f.count
	d.First, d.Last = fromNano(k.occ[0][chain[0]].first), fromNano(f.t)
	for st := 0; st < last; st++ {
		d.Evidence = appendEvidence(d.Evidence, &k.occ[st][chain[st]], center.MaxEvidence-1)
	}
	d.Evidence = appendEvidence(d.Evidence, f, center.MaxEvidence)
	s.push(p, d)
}

// appendEvidence appends the evidence of o to dst, up to limit in all.
func appendEvidence(dst []center.Evidence, o *occurrence, limit int) []center.Evidence {
	if o.ev != nil {
		if len(dst) < limit {
			dst = append(dst, evidenceOf(o.ev))
		}
		return dst
	}
	for _, ev := range o.evidence {
		if len(dst) >= limit {
			break
		}
		dst = append(dst, ev)
	}
	return dst
}
