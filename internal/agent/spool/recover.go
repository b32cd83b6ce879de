package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// recover rebuilds the in-memory index from the files in s.dir.
func (s *Spool) recover() error {
	st, haveState, err := readState(s.dir)
	if errors.Is(err, errBadState) {
		// Start over: every record present is delivered again.
		haveState, err = false, nil
	}
	if err != nil {
		return err
	}
	if !haveState {
		s.stateDirty = true
	}
	names, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	var ids [numPrio][]uint64
	for _, de := range names {
		if de.Name() == stateTmpName {
			_ = os.Remove(filepath.Join(s.dir, stateTmpName))
			continue
		}
		if p, id, ok := parseSegmentName(de.Name()); ok && de.Type().IsRegular() {
			ids[p] = append(ids[p], id)
		}
	}
	for _, p := range priorities {
		slices.Sort(ids[p])
		q := &queue{prio: p, st: st.q[p], nextID: 1}
		s.q[p] = q
		if err := s.recoverQueue(q, ids[p], haveState); err != nil {
			return err
		}
	}
	// Capacity may have been lowered since the files were written.
	if _, _, err := s.makeRoom(High, 0); err != nil {
		return err
	}
	if s.stateDirty {
		if err := s.writeStateLocked(); err != nil {
			return err
		}
	}
	var errs []error
	for _, q := range s.q {
		errs = append(errs, s.removeConsumed(q))
		if g := q.tail(); g != nil && g.pending() == 0 {
			errs = append(errs, s.removeSegment(q, len(q.segs)-1))
		}
	}
	return errors.Join(errs...)
}

// recoverQueue scans the segments of q (ids sorted) and indexes their
// pending records. Records below the persisted head are acknowledged; a
// gap in the sequence numbers is records lost to corruption, counted once
// (lostThrough remembers what was counted); bytes after the last valid
// frame of the last segment are a torn write, cut off and counted as one
// record.
func (s *Spool) recoverQueue(q *queue, ids []uint64, haveState bool) error {
	head := uint64(0) // 0: unknown, no gap can be counted before the first record
	if haveState {
		head = q.st.head
	}
	expected := head
	var lastSeq uint64
	for i, id := range ids {
		g := &segment{id: id, path: filepath.Join(s.dir, segmentName(q.prio, id))}
		q.segs = append(q.segs, g)
		q.nextID = id + 1
		f, err := g.file()
		if err != nil {
			return err
		}
		fi, err := f.Stat()
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		size := min(fi.Size(), maxSegmentFile)
		res, err := scanSegment(f, size)
		if err != nil {
			return fmt.Errorf("spool: scan %s: %w", g.path, err)
		}
		for _, fr := range res.frames {
			if fr.seq <= lastSeq {
				continue // out of order: not written by this queue's Put
			}
			lastSeq = fr.seq
			if fr.seq < head {
				continue // acknowledged or dropped
			}
			if expected != 0 && fr.seq > expected {
				if from := max(expected, q.st.lostThrough); fr.seq > from {
					q.st.droppedCorrupt += fr.seq - from
					s.stateDirty = true
				}
				if fr.seq > q.st.lostThrough {
					q.st.lostThrough = fr.seq
					s.stateDirty = true
				}
			}
			expected = fr.seq + 1
			g.entries = append(g.entries, fr.entry)
		}
		g.size = fi.Size()
		if i == len(ids)-1 && res.validEnd < fi.Size() {
			if err := s.cutTail(q, g, res.validEnd, head); err != nil {
				return err
			}
		}
		s.used += g.size
		if i < len(ids)-1 {
			if err := g.close(); err != nil {
				return fmt.Errorf("spool: %w", err)
			}
		}
	}
	q.nextSeq = max(lastSeq+1, head, q.st.lostThrough, 1)
	return nil
}

// cutTail truncates the last segment of q after its last valid frame: the
// bytes there are a write torn by a crash. It counts one lost record,
// unless the torn frame's header shows a record already counted (see Peek)
// or acknowledged (with group fsync, a power cut can tear a record that was
// delivered).
func (s *Spool) cutTail(q *queue, g *segment, validEnd int64, head uint64) error {
	var h [headerSize]byte
	counted := false
	if n, _ := g.f.ReadAt(h[:], validEnd); n == headerSize {
		if hd, ok := parseHeader(h[:]); ok && (hd.seq < q.st.lostThrough || hd.seq < head) {
			counted = true
		}
	}
	if err := g.f.Truncate(validEnd); err != nil {
		return fmt.Errorf("spool: cut torn tail of %s: %w", g.path, err)
	}
	if err := s.fsync(g.f); err != nil {
		return fmt.Errorf("spool: cut torn tail of %s: %w", g.path, err)
	}
	g.size = validEnd
	if !counted {
		q.st.droppedCorrupt++
		s.stateDirty = true
	}
	return nil
}

// parseSegmentName parses "<priority>-<16 hex digits>.seg".
func parseSegmentName(name string) (Priority, uint64, bool) {
	base, ok := strings.CutSuffix(name, ".seg")
	if !ok {
		return 0, 0, false
	}
	for _, p := range priorities {
		hex, ok := strings.CutPrefix(base, p.String()+"-")
		if !ok || len(hex) != 16 {
			continue
		}
		id, err := strconv.ParseUint(hex, 16, 64)
		if err != nil || id >= maxSeq || segmentName(p, id) != name {
			return 0, 0, false
		}
		return p, id, true
	}
	return 0, 0, false
}
