package snapshot

import (
	"sync"

	"github.com/moatsec/moat/internal/agent/snapshot/baseline"
	"github.com/moatsec/moat/internal/agent/snapshot/ports"
	"github.com/moatsec/moat/internal/agent/snapshot/sysinfo"
)

// Delta is what changed between two snapshots, kind by kind. Full is true
// when there was nothing to compare with: the whole snapshot is to be sent.
type Delta struct {
	Full     bool                     `json:"full"`
	System   []Change[sysinfo.Field]  `json:"system,omitempty"`
	Ports    []Change[ports.Listener] `json:"ports,omitempty"`
	Firewall FirewallDiff             `json:"firewall"`
	Users    UsersDiff                `json:"users"`
	Baseline []Change[baseline.Check] `json:"baseline,omitempty"`
}

// Empty reports whether nothing changed (and the delta is not Full).
func (d Delta) Empty() bool {
	return !d.Full && len(d.System) == 0 && len(d.Ports) == 0 &&
		d.Firewall.State == nil && len(d.Firewall.Chains) == 0 && len(d.Firewall.Rules) == 0 &&
		len(d.Users.Users) == 0 && len(d.Users.Groups) == 0 && len(d.Baseline) == 0
}

// DiffAll compares every kind of two snapshots. Problems are diagnostics
// and are not compared.
func DiffAll(prev, cur Snapshot) Delta {
	return Delta{
		System:   DiffSystem(prev.System, cur.System),
		Ports:    DiffPorts(prev.Ports, cur.Ports),
		Firewall: DiffFirewall(prev.Firewall, cur.Firewall),
		Users:    DiffUsers(prev.Users, cur.Users),
		Baseline: DiffBaseline(prev.Baseline, cur.Baseline),
	}
}

// Tracker remembers the last snapshot the agent delivered, so that it
// sends a full snapshot once and then only deltas. Delta does not move the
// reference: call Commit once the delta (or full snapshot) was delivered,
// so a failed send is retried against the same reference. Safe for
// concurrent use.
type Tracker struct {
	mu   sync.Mutex
	last *Snapshot
}

// Delta compares cur with the last committed snapshot.
func (t *Tracker) Delta(cur Snapshot) Delta {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last == nil {
		return Delta{Full: true}
	}
	return DiffAll(*t.last, cur)
}

// Commit makes cur the reference for the next Delta.
func (t *Tracker) Commit(cur Snapshot) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.last = &cur
}

// Reset forgets the reference: the next Delta is Full (e.g. after the
// hub asked for a resync).
func (t *Tracker) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.last = nil
}
