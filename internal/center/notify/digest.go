package notify

import (
	"slices"
	"sync"
	"time"

	"github.com/moatsec/moat/internal/center"
)

// Why an alert is in a digest.
const (
	ReasonDigest      = "digest"       // a digest rule routed it there
	ReasonThrottled   = "throttled"    // a re-notification within throttle.perAlert
	ReasonRateLimited = "rate-limited" // over the channel's throttle.perChannel
)

// MaxDigestAlerts bounds the alerts one channel's digest holds; later ones
// are counted dropped.
const MaxDigestAlerts = 1000

// DigestEntry is one alert in a digest: its latest state, and how many
// times it was routed to the digest since the last one.
type DigestEntry struct {
	Alert   center.Alert `json:"alert"`
	Created bool         `json:"created"` // it was new at least once in the period
	Reason  string       `json:"reason"`  // the first reason in the period
	Updates int          `json:"updates"`
}

// digests holds each channel's pending digest. Safe for concurrent use.
type digests struct {
	mu   sync.Mutex
	bufs map[string]*digestBuf
}

type digestBuf struct {
	entries map[string]*DigestEntry
	order   []string // alert ids in arrival order
}

func newDigests() *digests { return &digests{bufs: map[string]*digestBuf{}} }

// add puts an alert into a channel's digest, or updates its entry. It
// returns false when the digest is full.
func (d *digests) add(channel string, a center.Alert, created bool, reason string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	b := d.bufs[channel]
	if b == nil {
		b = &digestBuf{entries: map[string]*DigestEntry{}}
		d.bufs[channel] = b
	}
	if e := b.entries[a.ID]; e != nil {
		e.Alert = a
		e.Created = e.Created || created
		e.Updates++
		return true
	}
	if len(b.order) >= MaxDigestAlerts {
		return false
	}
	b.entries[a.ID] = &DigestEntry{Alert: a, Created: created, Reason: reason, Updates: 1}
	b.order = append(b.order, a.ID)
	return true
}

// take empties a channel's digest and returns its entries, most severe
// first (then in arrival order).
func (d *digests) take(channel string) []DigestEntry {
	d.mu.Lock()
	b := d.bufs[channel]
	delete(d.bufs, channel)
	d.mu.Unlock()
	if b == nil || len(b.order) == 0 {
		return nil
	}
	out := make([]DigestEntry, 0, len(b.order))
	for _, id := range b.order {
		out = append(out, *b.entries[id])
	}
	slices.SortStableFunc(out, func(x, y DigestEntry) int {
		return center.SeverityRank(y.Alert.Severity) - center.SeverityRank(x.Alert.Severity)
	})
	return out
}

// drop forgets the digests of channels not in keep, returning how many
// alerts were pending in them.
func (d *digests) drop(keep map[string]Channel) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for name, b := range d.bufs {
		if _, ok := keep[name]; !ok {
			n += len(b.order)
			delete(d.bufs, name)
		}
	}
	return n
}

// pending returns how many alerts wait in a channel's digest.
func (d *digests) pending(channel string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if b := d.bufs[channel]; b != nil {
		return len(b.order)
	}
	return 0
}

// nextDigest returns the first hour:min in loc strictly after now.
func nextDigest(now time.Time, hour, min int, loc *time.Location) time.Time {
	l := now.In(loc)
	t := time.Date(l.Year(), l.Month(), l.Day(), hour, min, 0, 0, loc)
	for i := 1; !t.After(now) && i <= 3; i++ {
		t = time.Date(l.Year(), l.Month(), l.Day()+i, hour, min, 0, 0, loc)
	}
	return t
}
