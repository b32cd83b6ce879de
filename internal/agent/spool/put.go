package spool

import (
	"errors"
	"fmt"
)

// Put appends records to the queue of priority prio. With the default
// policy (Options.SyncInterval == 0) the records are fsynced when Put
// returns nil; with group fsync they are written (safe from a crash of the
// agent) and fsynced within SyncInterval.
//
// Put makes room when the spool is full: first by deleting the oldest
// segment of Low records, then, for a High record only, the oldest segment
// of High records. A Low record for which there is no room (the spool is
// full of High records) is dropped. Every dropped record is counted.
//
// A record longer than Options.MaxRecord is refused with a
// *RecordTooLargeError before anything is stored. On an I/O error the
// records before the failing one may have been stored.
func (s *Spool) Put(prio Priority, recs ...[]byte) error {
	if !prio.valid() {
		return fmt.Errorf("%w: %d", ErrPriority, prio)
	}
	for i, r := range recs {
		if len(r) > s.o.MaxRecord {
			return &RecordTooLargeError{Index: i, Size: len(r), Limit: s.o.MaxRecord}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.takeSyncErr(); err != nil {
		return err
	}
	now := s.o.Now().UnixNano()
	q := s.q[prio]
	var err error
	for _, r := range recs {
		ok, _, merr := s.makeRoom(prio, headerSize+int64(len(r)))
		if merr != nil {
			err = merr
			break
		}
		if !ok {
			q.st.droppedFull = addSat(q.st.droppedFull, 1)
			s.stateDirty = true
			continue
		}
		if err = s.appendRecord(q, r, now); err != nil {
			break
		}
	}
	if s.o.SyncInterval == 0 {
		err = errors.Join(err, s.syncLocked())
	}
	return err
}

// makeRoom frees space until need more bytes fit within Capacity, in this
// order: a tail segment without pending records, the oldest Low segment,
// and (when prio is High) the oldest High segment. ok is false when that is
// not enough; dropped reports whether records were dropped.
func (s *Spool) makeRoom(prio Priority, need int64) (ok, dropped bool, err error) {
	for s.used+need > s.o.Capacity {
		if s.removeEmptyTail() {
			continue
		}
		victim := s.q[Low]
		if len(victim.segs) == 0 {
			if prio == Low {
				return false, dropped, nil
			}
			victim = s.q[High]
			if len(victim.segs) == 0 {
				return false, dropped, nil
			}
		}
		g := victim.segs[0]
		if n := g.pending(); n > 0 {
			victim.st.droppedFull = addSat(victim.st.droppedFull, uint64(n))
			s.stateDirty = true
			dropped = true
		}
		// Deleting before the state file records the new head is safe: if
		// the agent dies in between, Open sees the missing records as a gap
		// and counts them again.
		if err := s.removeSegment(victim, 0); err != nil {
			return false, dropped, err
		}
	}
	return true, dropped, nil
}

// removeEmptyTail deletes one tail segment that has no pending records and
// takes space. It reports whether it did.
func (s *Spool) removeEmptyTail() bool {
	for _, q := range s.q {
		if g := q.tail(); g != nil && g.pending() == 0 && g.size > 0 {
			// An error leaves a file we no longer count; Open reclaims it.
			_ = s.removeSegment(q, len(q.segs)-1)
			return true
		}
	}
	return false
}

// appendRecord writes one record at the end of q's tail segment, starting
// a new segment when the tail is full.
func (s *Spool) appendRecord(q *queue, rec []byte, unixNano int64) error {
	if q.nextSeq >= maxSeq {
		if err := s.resetQueue(q); err != nil {
			return err
		}
	}
	need := int64(headerSize + len(rec))
	g := q.tail()
	if g == nil || g.broken || (g.size > 0 && g.size+need > s.o.SegmentSize) || g.size+need > maxSegmentFile {
		if g != nil && g.pending() == 0 {
			if err := s.removeSegment(q, len(q.segs)-1); err != nil {
				return err
			}
		}
		var err error
		if g, err = s.newSegment(q); err != nil {
			return err
		}
	}
	f, err := g.file()
	if err != nil {
		return err
	}
	s.frame = appendFrame(s.frame[:0], q.nextSeq, unixNano, rec)
	if n, err := f.WriteAt(s.frame, g.size); err != nil {
		if n > 0 {
			if terr := f.Truncate(g.size); terr != nil {
				g.broken = true
			}
		}
		return fmt.Errorf("spool: write %s: %w", g.path, err)
	}
	g.entries = append(g.entries, entry{seq: q.nextSeq, off: uint32(g.size), size: uint32(need)})
	g.size += need
	g.dirty = true
	s.used += need
	q.nextSeq++
	return nil
}

// resetQueue starts the sequence numbers of q again from 1. It is only
// reached when a forged or corrupted file claimed a sequence number near
// 2^62 (a real agent would need millions of years to get there). The
// records of q are dropped (counted as corrupt), and the new head is made
// durable before any record with a small sequence number is written.
func (s *Spool) resetQueue(q *queue) error {
	for len(q.segs) > 0 {
		q.st.droppedCorrupt = addSat(q.st.droppedCorrupt, uint64(q.segs[0].pending()))
		if err := s.removeSegment(q, 0); err != nil {
			return err
		}
	}
	q.nextSeq = 1
	q.st.lostThrough = 0
	return s.writeStateLocked()
}

// addSat adds without wrapping around.
func addSat(a, b uint64) uint64 {
	if a+b < a {
		return ^uint64(0)
	}
	return a + b
}
