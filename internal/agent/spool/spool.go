package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Priority is a record's queue. High records are delivered before Low ones
// and are dropped only to make room for newer High records.
type Priority uint8

// The priorities. The zero value is Low.
const (
	Low Priority = iota
	High
	numPrio
)

// priorities lists the queues in delivery order.
var priorities = [numPrio]Priority{High, Low}

func (p Priority) String() string {
	switch p {
	case Low:
		return "low"
	case High:
		return "high"
	}
	return fmt.Sprintf("Priority(%d)", uint8(p))
}

func (p Priority) valid() bool { return p < numPrio }

// Errors returned by the spool. RecordTooLargeError unwraps to ErrTooLarge.
var (
	ErrClosed   = errors.New("spool: closed")
	ErrLocked   = errors.New("spool: directory in use by another spool")
	ErrPriority = errors.New("spool: invalid priority")
	ErrTooLarge = errors.New("spool: record too large")
	ErrAck      = errors.New("spool: invalid acknowledgement")
	ErrArgument = errors.New("spool: invalid argument")
)

// RecordTooLargeError refuses a record longer than Options.MaxRecord (or
// whose frame would not fit in Options.Capacity). Nothing of the Put was
// stored.
type RecordTooLargeError struct {
	Index int // position of the record in the Put call
	Size  int // its length in bytes
	Limit int // the largest length accepted
}

func (e *RecordTooLargeError) Error() string {
	return fmt.Sprintf("spool: record %d is %d bytes, limit %d", e.Index, e.Size, e.Limit)
}

// Unwrap makes errors.Is(err, ErrTooLarge) true.
func (e *RecordTooLargeError) Unwrap() error { return ErrTooLarge }

// Item is a record returned by Peek.
type Item struct {
	Prio Priority
	Seq  uint64    // sequence number, increasing within a priority
	Time time.Time // when it was put
	Data []byte    // the record; owned by the caller
}

// entry locates one valid frame in a segment file.
type entry struct {
	seq  uint64
	off  uint32
	size uint32 // frame size, header included
}

// segment is one append-only file of a queue.
type segment struct {
	id      uint64
	path    string
	size    int64   // bytes in the file; all of them count against Capacity
	entries []entry // valid frames in file order
	head    int     // entries[head:] are pending (not acknowledged or dropped)
	f       *os.File
	dirty   bool // written since the last fsync
	broken  bool // a failed write could not be undone: append no more
}

func (g *segment) pending() int { return len(g.entries) - g.head }

func (g *segment) file() (*os.File, error) {
	if g.f == nil {
		f, err := os.OpenFile(g.path, os.O_RDWR, 0)
		if err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
		g.f = f
	}
	return g.f, nil
}

func (g *segment) close() error {
	if g.f == nil {
		return nil
	}
	err := g.f.Close()
	g.f = nil
	return err
}

// queue is the segments of one priority, oldest first; the last one is the
// tail that Put appends to. Only the tail may have no pending entries.
type queue struct {
	prio    Priority
	segs    []*segment
	nextSeq uint64
	nextID  uint64
	st      queueState // st.head is unused: see head()
}

// head is the sequence number of the oldest pending record, or the next
// one to be put when the queue is empty.
func (q *queue) head() uint64 {
	for _, g := range q.segs {
		if g.pending() > 0 {
			return g.entries[g.head].seq
		}
	}
	return q.nextSeq
}

func (q *queue) tail() *segment {
	if len(q.segs) == 0 {
		return nil
	}
	return q.segs[len(q.segs)-1]
}

// Spool is a bounded, crash-safe, on-disk queue of records. It is safe for
// concurrent use.
type Spool struct {
	dir string
	o   Options

	stop chan struct{} // closed by Close to stop the group-fsync loop
	done chan struct{} // closed when the loop has returned

	mu         sync.Mutex
	q          [numPrio]*queue
	used       int64 // bytes in segment files
	closed     bool
	lock       *os.File
	dirDirty   bool  // files created since the last directory fsync
	stateDirty bool  // state changed since it was last written
	syncErr    error // error of the last background fsync, reported once
	frame      []byte
}

// Open opens (creating it if needed) the spool in dir, recovering from
// whatever a crash left: a torn record at the end of a segment is cut off,
// corrupted records are skipped, and both are counted as dropped.
func Open(dir string, o Options) (*Spool, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Spool{dir: dir, o: o, lock: lock}
	if err := s.recover(); err != nil {
		s.closeFiles()
		unlockDir(lock)
		return nil, err
	}
	if o.SyncInterval > 0 {
		s.stop = make(chan struct{})
		s.done = make(chan struct{})
		go s.syncLoop(o.SyncInterval)
	}
	return s, nil
}

// Dir returns the spool directory.
func (s *Spool) Dir() string { return s.dir }

// Options returns the options in effect, defaults filled in.
func (s *Spool) Options() Options { return s.o }

// Sync makes every record put so far and the acknowledged position durable.
// It is only needed with group fsync (Options.SyncInterval > 0).
func (s *Spool) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return errors.Join(s.takeSyncErr(), s.syncLocked())
}

// Close syncs and closes the spool. Further calls return ErrClosed.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.mu.Unlock()
	if s.stop != nil {
		close(s.stop)
		<-s.done
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	err := errors.Join(s.takeSyncErr(), s.syncLocked(), s.closeFiles())
	unlockDir(s.lock)
	return err
}

func (s *Spool) closeFiles() error {
	var errs []error
	for _, q := range s.q {
		if q == nil {
			continue
		}
		for _, g := range q.segs {
			errs = append(errs, g.close())
		}
	}
	return errors.Join(errs...)
}

func (s *Spool) syncLoop(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			if err := s.syncLocked(); err != nil {
				s.syncErr = err
			}
			s.mu.Unlock()
		}
	}
}

func (s *Spool) takeSyncErr() error {
	err := s.syncErr
	s.syncErr = nil
	if err != nil {
		return fmt.Errorf("spool: background sync: %w", err)
	}
	return nil
}

// syncLocked fsyncs the segments written since the last call, the
// directory if files were created, and writes the state file if it changed.
func (s *Spool) syncLocked() error {
	var errs []error
	for _, q := range s.q {
		for _, g := range q.segs {
			if !g.dirty || g.f == nil {
				continue
			}
			if err := s.fsync(g.f); err != nil {
				errs = append(errs, fmt.Errorf("spool: fsync %s: %w", g.path, err))
				continue
			}
			g.dirty = false
		}
	}
	if s.dirDirty {
		if err := s.syncDir(); err != nil {
			errs = append(errs, err)
		} else {
			s.dirDirty = false
		}
	}
	if s.stateDirty {
		errs = append(errs, s.writeStateLocked())
	}
	return errors.Join(errs...)
}

func (s *Spool) writeStateLocked() error {
	var p persisted
	for _, q := range s.q {
		p.q[q.prio] = q.st
		p.q[q.prio].head = q.head()
	}
	if err := s.writeState(p); err != nil {
		s.stateDirty = true
		return err
	}
	s.stateDirty = false
	return nil
}

// newSegment creates an empty segment file at the end of queue q.
func (s *Spool) newSegment(q *queue) (*segment, error) {
	for range 100 {
		id := q.nextID
		q.nextID++
		path := filepath.Join(s.dir, segmentName(q.prio, id))
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("spool: create segment: %w", err)
		}
		g := &segment{id: id, path: path, f: f}
		q.segs = append(q.segs, g)
		s.dirDirty = true
		return g, nil
	}
	return nil, fmt.Errorf("spool: create segment: no free name in %s", s.dir)
}

// removeSegment deletes segment i of q, which no longer holds anything
// needed (or whose records are being dropped).
func (s *Spool) removeSegment(q *queue, i int) error {
	g := q.segs[i]
	q.segs = append(q.segs[:i], q.segs[i+1:]...)
	s.used -= g.size
	cerr := g.close()
	rerr := os.Remove(g.path)
	if errors.Is(rerr, os.ErrNotExist) {
		rerr = nil
	}
	if err := errors.Join(cerr, rerr); err != nil {
		return fmt.Errorf("spool: remove segment: %w", err)
	}
	return nil
}

// removeConsumed deletes the segments of q without pending entries, but
// keeps the tail (Put appends to it).
func (s *Spool) removeConsumed(q *queue) error {
	var errs []error
	for i := 0; i < len(q.segs)-1; {
		if q.segs[i].pending() == 0 {
			errs = append(errs, s.removeSegment(q, i))
			continue
		}
		i++
	}
	return errors.Join(errs...)
}

func segmentName(p Priority, id uint64) string {
	return fmt.Sprintf("%s-%016x.seg", p, id)
}
