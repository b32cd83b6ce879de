package detect

import (
	"context"
	"time"

	"github.com/moatsec/moat/internal/center"
	"github.com/moatsec/moat/internal/center/rules"
)

// Devices lists the registered devices (the device registry implements
// it). Without it, device-silent only knows the devices the engine saw
// and device-without-agent never reports.
type Devices interface {
	Registered(ctx context.Context) ([]RegisteredDevice, error)
}

// RegisteredDevice is a device of the registry.
type RegisteredDevice struct {
	ID, Hub string
	Created time.Time // when it was registered; zero if unknown (long ago)
	// LastAgentEvent is the time (hub reception) of its latest agent event
	// the store holds, zero if none: it lets absence rules know, after a
	// restart, the devices that sent before.
	LastAgentEvent time.Time
}

// absence runs an absence rule, evaluated by Tick. "silent": a device that
// sent matching events whose latest (by hub reception time) is older than
// For is reported once, until it sends again. "never": a registered
// device registered for longer than For that never sent one is reported
// once.
type absence struct {
	ruleBase
	f        *rules.Filter
	mode     string
	forNS    int64
	seen     *lru[devState]
	reported map[string]bool // "never": devices reported
}

type devState struct {
	hub      string
	last     int64 // reception of the latest matching event, Unix ns
	lastID   string
	lastName string
	lastTime time.Time
	reported bool // "silent": reported for the current silence
}

func newAbsence(r *rules.Rule, o *Options) *absence {
	return &absence{ruleBase: newBase(r), f: r.Match, mode: r.Absence, forNS: int64(r.For),
		seen: newLRU[devState](o.MaxKeysPerRule), reported: map[string]bool{}}
}

func (a *absence) event(p *pass, e *center.Event) {
	if e.Device == "" || !a.f.Match(e) {
		return
	}
	a.matched.Add(1)
	at := unixNano(e.Received, p.now)
	it := a.seen.getString(e.Device)
	if it == nil {
		var evicted bool
		it, evicted = a.seen.add(e.Device, at)
		if evicted {
			a.evicted.Add(1)
		}
		a.nkeys.Store(int64(a.seen.len()))
	} else {
		a.seen.touch(it, at)
	}
	s := &it.v
	s.hub, s.reported = e.Hub, false
	if at >= s.last {
		s.last, s.lastID, s.lastName, s.lastTime = at, e.ID, e.Name, e.Time
	}
}

// tick reports the devices absent at p.now. reg is the registry (nil when
// unknown).
func (a *absence) tick(p *pass, reg *registry) {
	if reg != nil {
		for i := range reg.list {
			d := &reg.list[i]
			if d.LastAgentEvent.IsZero() || a.seen.getString(d.ID) != nil {
				continue
			}
			it, _ := a.seen.add(d.ID, unixNano(d.LastAgentEvent, 0))
			it.v.hub, it.v.last = d.Hub, unixNano(d.LastAgentEvent, 0)
		}
		a.nkeys.Store(int64(a.seen.len()))
	}
	switch a.mode {
	case rules.AbsenceSilent:
		cut := p.now - a.forNS
		a.seen.each(func(it *lruItem[devState]) {
			s := &it.v
			if s.reported || s.last >= cut || (reg != nil && !reg.has(it.key)) {
				return
			}
			if !a.admit(p, true) {
				return
			}
			s.reported = true
			d := a.detection(nil)
			d.DeviceID, d.Hub, d.Count = it.key, s.hub, 1
			d.First, d.Last = fromNano(s.last), fromNano(p.now)
			if s.lastID != "" {
				d.Evidence = []center.Evidence{{EventID: s.lastID, Time: s.lastTime, Excerpt: "last event: " + s.lastName}}
			}
			a.push(p, d)
		})
	case rules.AbsenceNever:
		if reg == nil {
			return
		}
		for i := range reg.list {
			dev := &reg.list[i]
			if a.reported[dev.ID] || !dev.LastAgentEvent.IsZero() || a.seen.getString(dev.ID) != nil {
				continue
			}
			created := unixNano(dev.Created, 0)
			if p.now-created < a.forNS || !a.admit(p, true) {
				continue
			}
			a.reported[dev.ID] = true
			d := a.detection(nil)
			d.DeviceID, d.Hub, d.Count = dev.ID, dev.Hub, 1
			d.First, d.Last = fromNano(created), fromNano(p.now)
			a.push(p, d)
		}
		for id := range a.reported {
			if !reg.has(id) {
				delete(a.reported, id)
			}
		}
	}
}

// registry is the latest list of registered devices.
type registry struct {
	list    []RegisteredDevice
	ids     map[string]bool
	fetched int64
}

func (r *registry) has(id string) bool { return r.ids[id] }
