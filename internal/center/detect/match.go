package detect

import (
	"github.com/moatsec/moat/internal/center"
	"github.com/moatsec/moat/internal/center/rules"
)

// match runs a match rule: every matching event is a detection, keyed by
// the rule's groupBy values (none: one alert per device).
type match struct {
	ruleBase
	f  *rules.Filter
	ks keySpec
}

func newMatch(r *rules.Rule) *match {
	return &match{ruleBase: newBase(r), f: r.Match, ks: newKeySpec(r.GroupBy)}
}

func (m *match) event(p *pass, e *center.Event) {
	if !m.f.Match(e) {
		return
	}
	m.matched.Add(1)
	if !m.admit(p, true) {
		return
	}
	d := m.detection(e)
	if len(m.ks.fields) > 0 {
		p.vals = m.ks.values(p.vals[:0], e)
		d.Key, d.SourceAddress = m.ks.alertKey(p.vals), m.ks.source(p.vals)
	}
	t, last := p.eventTimes(e)
	d.Count, d.First, d.Last = eventCount(e), fromNano(t), fromNano(last)
	d.Evidence = []center.Evidence{evidenceOf(e)}
	m.push(p, d)
}
