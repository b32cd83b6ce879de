package spool

import (
	"time"
)

// QueueStats describes one priority queue.
type QueueStats struct {
	Items int   // pending records
	Bytes int64 // their payload bytes
	// DroppedFull counts records dropped since the last TakeDropped because
	// the spool was full; DroppedCorrupt those found torn or corrupted.
	DroppedFull    uint64
	DroppedCorrupt uint64
}

// Stats describes the spool.
type Stats struct {
	High, Low QueueStats
	// DiskBytes is the size of the segment files, at most Capacity.
	DiskBytes int64
	Capacity  int64
	// OldestAge is the age of the oldest pending record (0 when empty).
	OldestAge time.Duration
}

// Dropped counts dropped records per priority.
type Dropped struct {
	High, Low uint64
}

// Total is High + Low.
func (d Dropped) Total() uint64 { return addSat(d.High, d.Low) }

// Stats returns the current figures. It reads the oldest record's header
// from disk, and walks the index, so it is meant for periodic reporting,
// not for every Put.
func (s *Spool) Stats() (Stats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Stats{}, ErrClosed
	}
	st := Stats{DiskBytes: s.used, Capacity: s.o.Capacity}
	var oldest int64
	for _, q := range s.q {
		qs := QueueStats{DroppedFull: q.st.droppedFull, DroppedCorrupt: q.st.droppedCorrupt}
		var first *segment
		for _, g := range q.segs {
			for _, e := range g.entries[g.head:] {
				qs.Items++
				qs.Bytes += int64(e.size) - headerSize
			}
			if first == nil && g.pending() > 0 {
				first = g
			}
		}
		if first != nil {
			if t, ok := s.recordTime(first, first.entries[first.head]); ok && (oldest == 0 || t < oldest) {
				oldest = t
			}
		}
		if q.prio == High {
			st.High = qs
		} else {
			st.Low = qs
		}
	}
	if oldest != 0 {
		st.OldestAge = max(s.o.Now().Sub(time.Unix(0, oldest)), 0)
	}
	return st, nil
}

// recordTime reads the time in the header of entry e of g.
func (s *Spool) recordTime(g *segment, e entry) (int64, bool) {
	f, err := g.file()
	if err != nil {
		return 0, false
	}
	var b [headerSize]byte
	if _, err := f.ReadAt(b[:], int64(e.off)); err != nil {
		return 0, false
	}
	h, ok := parseHeader(b[:])
	if !ok || h.seq != e.seq {
		return 0, false
	}
	return h.unixNano, true
}

// TakeDropped returns the records dropped since the last call, per
// priority (full and corrupt together), and resets the counters, durably.
// The agent reports them in a DroppedEventsStatistics event.
func (s *Spool) TakeDropped() (Dropped, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Dropped{}, ErrClosed
	}
	h, l := &s.q[High].st, &s.q[Low].st
	d := Dropped{High: addSat(h.droppedFull, h.droppedCorrupt), Low: addSat(l.droppedFull, l.droppedCorrupt)}
	if d.Total() == 0 {
		return d, nil
	}
	h.droppedFull, h.droppedCorrupt, l.droppedFull, l.droppedCorrupt = 0, 0, 0, 0
	return d, s.writeStateLocked()
}
