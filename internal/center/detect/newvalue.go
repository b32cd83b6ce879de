package detect

import (
	"context"
	"strconv"
	"strings"

	"github.com/moatsec/moat/internal/center"
	"github.com/moatsec/moat/internal/center/rules"
)

// Baseline remembers the values each device has had, per rule: the store
// implements it (persistently), tests use NewMemoryBaseline.
type Baseline interface {
	// Remember adds value to the baseline of the device for the rule and
	// reports whether it was not there.
	Remember(ctx context.Context, device, rule, value string) (isNew bool, err error)
	// Learned reports whether the device has a baseline for the rule (any
	// value remembered).
	Learned(ctx context.Context, device, rule string) (bool, error)
}

// newValue runs a newvalue rule: each value of a matching event is
// remembered in the device's baseline; a value that was not there is
// reported. The items of a device's first Full snapshot for the rule (the
// device has no baseline yet) are learned without being reported. Diff
// items are considered when their Change is in the rule's changes;
// Removed items never. Events that are not snapshot items (ProcessCreate…)
// are considered like Added items.
type newValue struct {
	ruleBase
	f       *rules.Filter
	value   []string
	split   *rules.Split
	changes []string
	ns      string // the baseline's rule name: id and value fields
	learn   *lru[learnState]
}

type learnState struct {
	checked bool   // the baseline was asked whether it knows the device
	snap    string // the snapshot being learned, "" when none
}

func newNewValue(r *rules.Rule, o *Options) *newValue {
	ns := r.ID + "/" + strings.Join(r.Value, "+")
	if r.Split != nil {
		ns += "/" + r.Split.Field + ":" + strings.Join(r.Split.Keep, ",")
	}
	return &newValue{
		ruleBase: newBase(r), f: r.Match, value: r.Value, split: r.Split, changes: r.Changes,
		ns: ns, learn: newLRU[learnState](o.MaxKeysPerRule),
	}
}

func (n *newValue) event(p *pass, e *center.Event) {
	if !n.f.Match(e) {
		return
	}
	n.matched.Add(1)
	if p.warm || p.eng.o.Baseline == nil || e.Device == "" || len(e.Fields) == 0 {
		return // warming: the baseline is the store's, it survived the restart
	}
	learning := false
	switch e.SnapshotMode {
	case "Diff":
		if !containsStr(n.changes, e.Change) {
			return
		}
	case "Full":
		it := n.learn.getString(e.Device)
		if it == nil {
			var evicted bool
			it, evicted = n.learn.add(e.Device, p.now)
			if evicted {
				n.evicted.Add(1)
			}
			n.nkeys.Store(int64(n.learn.len()))
		} else {
			n.learn.touch(it, p.now)
		}
		snap := snapshotID(e)
		if !it.v.checked {
			known, err := p.eng.o.Baseline.Learned(p.ctx, e.Device, n.ns)
			if err != nil {
				n.errors.Add(1)
				p.eng.o.Logger.Warn("detect: baseline", "rule", n.id, "device", e.Device, "err", err)
				return
			}
			it.v.checked = true
			if !known {
				it.v.snap = snap
			}
		}
		learning = it.v.snap != "" && it.v.snap == snap
	}
	p.items = n.values(p.items[:0], e)
	for _, v := range p.items {
		if !learning && !n.limit.available(p.now) {
			// Rate-limited: the value is not remembered, so that it is
			// reported when seen again (the next Full snapshot).
			n.dropped.Add(1)
			continue
		}
		isNew, err := p.eng.o.Baseline.Remember(p.ctx, e.Device, n.ns, v)
		if err != nil {
			n.errors.Add(1)
			p.eng.o.Logger.Warn("detect: baseline", "rule", n.id, "device", e.Device, "err", err)
			continue
		}
		if !isNew || learning {
			continue
		}
		d := n.detection(e)
		d.Key = v
		d.Count = eventCount(e)
		t, last := p.eventTimes(e)
		d.First, d.Last = fromNano(t), fromNano(last)
		d.Evidence = []center.Evidence{evidenceOf(e)}
		n.emit(p, d, true) // a token is available (checked above)
	}
}

// values returns the values of e: its value fields joined with "|", one
// per kept item of the split field.
func (n *newValue) values(dst []string, e *center.Event) []string {
	vals := make([]string, len(n.value))
	for i, f := range n.value {
		vals[i] = unmap(e.Field(f))
	}
	if n.split == nil {
		return append(dst, joinValues(vals))
	}
	at := -1
	for i, f := range n.value {
		if f == n.split.Field {
			at = i
		}
	}
	rules.SplitItems(e.Field(n.split.Field), n.split.Keep, func(item string) {
		vals[at] = item
		dst = append(dst, joinValues(vals))
	})
	return dst
}

// snapshotID names the snapshot an item belongs to: its event id without
// the item index ("<uuid>/<n>"), else its time.
func snapshotID(e *center.Event) string {
	if i := strings.LastIndexByte(e.ID, '/'); i > 0 {
		return e.ID[:i]
	}
	return "t" + strconv.FormatInt(e.Time.UnixNano(), 10)
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
