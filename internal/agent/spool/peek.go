package spool

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Peek returns up to max of the oldest pending records, all High ones
// before any Low one, oldest first within a priority, without removing
// them: they come back from every Peek (and after a restart) until
// acknowledged with Ack. The payloads total at most maxBytes, except that
// the first record is returned whatever its size. Peek returns no items and
// no error when the spool is empty.
//
// A record found corrupted while reading is skipped and counted as dropped.
func (s *Spool) Peek(max, maxBytes int) ([]Item, error) {
	if max <= 0 || maxBytes <= 0 {
		return nil, fmt.Errorf("%w: Peek(%d, %d)", ErrArgument, max, maxBytes)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	p := peeker{s: s, max: max, maxBytes: maxBytes}
	for _, prio := range priorities {
		for _, g := range s.q[prio].segs {
			if err := p.segment(s.q[prio], g); err != nil || p.full {
				return p.items, err
			}
		}
	}
	return p.items, nil
}

type peeker struct {
	s             *Spool
	max, maxBytes int
	bytes         int
	items         []Item
	full          bool // the count or byte budget is exhausted
}

// segment appends the pending records of g that fit the budget, reading
// them with one read.
func (p *peeker) segment(q *queue, g *segment) error {
	i := g.head
	j := i
	for j < len(g.entries) {
		n := int(g.entries[j].size) - headerSize
		if len(p.items)+(j-i) >= p.max || (len(p.items)+(j-i) > 0 && p.bytes+n > p.maxBytes) {
			p.full = true
			break
		}
		p.bytes += n
		j++
	}
	if j == i {
		return nil
	}
	first, last := g.entries[i], g.entries[j-1]
	start := int64(first.off)
	buf := make([]byte, int64(last.off)+int64(last.size)-start)
	f, err := g.file()
	if err != nil {
		return err
	}
	if _, err := f.ReadAt(buf, start); err != nil {
		return fmt.Errorf("spool: read %s: %w", g.path, err)
	}
	var bad []int
	for k := i; k < j; k++ {
		e := g.entries[k]
		frame := buf[int64(e.off)-start : int64(e.off)-start+int64(e.size)]
		h, ok := parseHeader(frame)
		if !ok || h.seq != e.seq || !checkFrame(h, frame) {
			bad = append(bad, k)
			continue
		}
		p.items = append(p.items, Item{
			Prio: q.prio,
			Seq:  e.seq,
			Time: time.Unix(0, h.unixNano),
			Data: frame[headerSize:len(frame):len(frame)],
		})
	}
	// Forget the records that went bad since Open, and make sure the next
	// Open does not count them again.
	for _, k := range slices.Backward(bad) {
		q.st.droppedCorrupt = addSat(q.st.droppedCorrupt, 1)
		q.st.lostThrough = max(q.st.lostThrough, g.entries[k].seq+1)
		g.entries = slices.Delete(g.entries, k, k+1)
		p.s.stateDirty = true
	}
	return nil
}

// Ack removes delivered records, durably: when it returns nil, they will
// not come back after a restart. Items are normally a slice returned by
// Peek; their order does not matter. For each priority, every pending
// record up to the newest acknowledged one must be among items, otherwise
// nothing is acknowledged and the error wraps ErrAck. Items already
// acknowledged, or dropped since the Peek, are ignored.
func (s *Spool) Ack(items ...Item) error {
	if len(items) == 0 {
		return nil
	}
	var seqs [numPrio][]uint64
	for _, it := range items {
		if !it.Prio.valid() {
			return fmt.Errorf("%w: %d", ErrPriority, it.Prio)
		}
		seqs[it.Prio] = append(seqs[it.Prio], it.Seq)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	var cut [numPrio]int
	for _, prio := range priorities {
		n, err := s.q[prio].ackable(seqs[prio])
		if err != nil {
			return err
		}
		cut[prio] = n
	}
	changed := false
	for _, prio := range priorities {
		if cut[prio] > 0 {
			s.q[prio].advance(cut[prio])
			changed = true
		}
	}
	if !changed {
		return nil
	}
	if err := s.writeStateLocked(); err != nil {
		return err
	}
	var errs []error
	for _, q := range s.q {
		errs = append(errs, s.removeConsumed(q))
	}
	return errors.Join(errs...)
}

// ackable checks that seqs acknowledge a prefix of q's pending records and
// returns its length.
func (q *queue) ackable(seqs []uint64) (int, error) {
	if len(seqs) == 0 {
		return 0, nil
	}
	slices.Sort(seqs)
	newest := seqs[len(seqs)-1]
	if newest >= q.nextSeq {
		return 0, fmt.Errorf("%w: %s record %d was never put", ErrAck, q.prio, newest)
	}
	n, j := 0, 0
	for _, g := range q.segs {
		for _, e := range g.entries[g.head:] {
			if e.seq > newest {
				return n, nil
			}
			for j < len(seqs) && seqs[j] < e.seq {
				j++
			}
			if j == len(seqs) || seqs[j] != e.seq {
				return 0, fmt.Errorf("%w: %s record %d is pending but %d is acknowledged", ErrAck, q.prio, e.seq, newest)
			}
			n++
		}
	}
	return n, nil
}

// advance marks the n oldest pending records of q as gone.
func (q *queue) advance(n int) {
	for _, g := range q.segs {
		k := min(n, g.pending())
		g.head += k
		n -= k
		if n == 0 {
			return
		}
	}
}
