package tail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Defaults of Config.
const (
	DefaultMaxLine      = 64 << 10
	DefaultMaxPollBytes = 1 << 20
	readChunk           = 64 << 10
	maxSiblings         = 1000
)

// ErrNotRegular: the path names something other than a regular file (a
// FIFO would block the reader, a directory has no lines).
var ErrNotRegular = errors.New("tail: not a regular file")

// ErrBadCheckpoint: the state file is unreadable as a checkpoint of this
// path. Open then starts as if there were none (and reports EventBadCheckpoint).
var ErrBadCheckpoint = errors.New("tail: invalid checkpoint")

// Line is a complete line of the file.
type Line struct {
	// Text is the line without its "\n", at most MaxLine bytes. It stays
	// valid after later Polls.
	Text []byte
	// Pos is the position just after the line's "\n": Commit it once the
	// line has been durably handed on, and a restart resumes after it.
	Pos Position
	// Truncated: the line was longer than MaxLine; Text is its beginning
	// and Size its full length.
	Truncated bool
	Size      int64
}

// EventKind says what happened to the followed file.
type EventKind int

// Events reported through Config.OnEvent.
const (
	EventOpened        EventKind = iota // started following a file at Pos
	EventResumed                        // reopened the checkpointed file at Pos
	EventRotated                        // the path names another file; the old one was drained to Pos
	EventRemoved                        // the path is gone; the old file was drained to Pos
	EventTruncated                      // the file shrank below Pos (copytruncate); reading restarts at 0
	EventGap                            // the checkpointed file is gone: its lines after Pos are lost
	EventLineCut                        // a line longer than MaxLine was cut (Detail: its size)
	EventBadCheckpoint                  // the state file was unusable (Detail: why) and is ignored
)

var eventNames = [...]string{"opened", "resumed", "rotated", "removed", "truncated", "gap", "line_cut", "bad_checkpoint"}

// String returns the event's name.
func (k EventKind) String() string {
	if k >= 0 && int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "unknown"
}

// Event is a notice about the followed file.
type Event struct {
	Kind   EventKind
	File   string // the file's name when the event happened
	Pos    Position
	Detail string
}

// Config configures a Tailer.
type Config struct {
	// Path of the file to follow, e.g. /var/log/auth.log or /var/log/secure.
	Path string
	// StateDir holds the checkpoint; "" disables checkpoints.
	StateDir string
	// MaxLine bounds a line; longer lines are cut (DefaultMaxLine if 0).
	MaxLine int
	// MaxPollBytes bounds what one Poll reads (DefaultMaxPollBytes if 0).
	MaxPollBytes int
	// StartAtEnd: with no checkpoint, skip what the file holds when it is
	// first opened (the first line read is the next complete one). Files
	// that appear later, after a rotation, are always read from their start.
	StartAtEnd bool
	// OnEvent, if set, is called from Poll for every Event.
	OnEvent func(Event)
}

// Tailer follows one path. Poll and Run must not be called concurrently;
// Commit may be called from any goroutine.
type Tailer struct {
	cfg       Config
	stateFile string

	f       *os.File
	name    string // name f was opened by
	dev     uint64
	ino     uint64
	hasID   bool
	readOff int64  // bytes of f consumed into the line buffer
	head    []byte // f's first min(readOff, HeadLen) bytes
	headSum uint64 // headHash(head) once len(head) == HeadLen

	partial     []byte // current line's first MaxLine bytes
	partialSize int64  // current line's length so far
	skipping    bool   // drop the current line (StartAtEnd mid-line)

	started bool // the first file was opened (or found absent) once
	resume  *Position
	more    bool // the last Poll stopped at MaxPollBytes
	chunk   []byte
	arena   []byte

	commitMu  sync.Mutex
	committed Position
	hasCommit bool
}

// Open prepares a Tailer for cfg.Path and loads its checkpoint. The file
// need not exist yet: Poll waits for it.
func Open(cfg Config) (*Tailer, error) {
	if cfg.Path == "" {
		return nil, errors.New("tail: no path")
	}
	if cfg.MaxLine <= 0 {
		cfg.MaxLine = DefaultMaxLine
	}
	if cfg.MaxPollBytes <= 0 {
		cfg.MaxPollBytes = DefaultMaxPollBytes
	}
	t := &Tailer{cfg: cfg, chunk: make([]byte, readChunk)}
	if cfg.StateDir != "" {
		if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
			return nil, fmt.Errorf("tail: state dir: %w", err)
		}
		t.stateFile = stateFile(cfg.StateDir, cfg.Path)
		p, ok, err := loadCheckpoint(t.stateFile, cfg.Path)
		switch {
		case errors.Is(err, ErrBadCheckpoint):
			t.event(EventBadCheckpoint, cfg.Path, Position{}, err.Error())
		case err != nil:
			return nil, err
		case ok:
			t.resume = &p
			t.committed, t.hasCommit = p, true
		}
	}
	return t, nil
}

// Close closes the followed file. It does not commit.
func (t *Tailer) Close() error {
	if t.f == nil {
		return nil
	}
	err := t.f.Close()
	t.f = nil
	return err
}

// Commit persists p (the Pos of the last line durably handed on) so that a
// restart resumes after it. Without a StateDir it only remembers p.
func (t *Tailer) Commit(p Position) error {
	t.commitMu.Lock()
	defer t.commitMu.Unlock()
	if t.hasCommit && p == t.committed {
		return nil
	}
	if t.stateFile != "" {
		if err := saveCheckpoint(t.stateFile, t.cfg.Path, p); err != nil {
			return err
		}
	}
	t.committed, t.hasCommit = p, true
	return nil
}

// Committed returns the last committed position.
func (t *Tailer) Committed() (Position, bool) {
	t.commitMu.Lock()
	defer t.commitMu.Unlock()
	return t.committed, t.hasCommit
}

// Run polls on every tick until ctx ends, handing each batch of lines to
// handle (and polling again at once while a Poll stopped at MaxPollBytes).
// handle commits when it has passed the lines on. Errors of Poll or handle
// end Run.
func (t *Tailer) Run(ctx context.Context, tick <-chan time.Time, handle func([]Line) error) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick:
		}
		for {
			lines, err := t.Poll()
			if err != nil {
				return err
			}
			if len(lines) > 0 {
				if err := handle(lines); err != nil {
					return err
				}
			}
			if !t.more || ctx.Err() != nil {
				break
			}
		}
	}
}

// Poll reads what the file gained since the last Poll (at most
// MaxPollBytes), follows rotations, and returns the complete lines. A last
// line without its "\n" is held until it is complete. A missing file is
// not an error: Poll waits for it.
func (t *Tailer) Poll() ([]Line, error) {
	t.arena = nil
	t.more = false
	var lines []Line
	if t.f == nil {
		if err := t.openPath(); err != nil {
			return nil, err
		}
		if t.f == nil {
			return nil, nil
		}
	}
	budget := t.cfg.MaxPollBytes
	for {
		if err := t.checkTruncated(); err != nil {
			return lines, err
		}
		n, eof, err := t.read(&lines, budget)
		if err != nil {
			return lines, err
		}
		budget -= n
		if !eof {
			t.more = true
			return lines, nil
		}
		switched, err := t.checkPath(&lines, n > 0)
		if err != nil || !switched || t.f == nil {
			return lines, err
		}
	}
}

// read reads f until EOF or budget and splits lines. eof is true when it
// reached the end of the file.
func (t *Tailer) read(lines *[]Line, budget int) (n int, eof bool, err error) {
	for n < budget {
		buf := t.chunk
		if len(buf) > budget-n {
			buf = buf[:budget-n]
		}
		k, err := t.f.ReadAt(buf, t.readOff)
		if k > 0 {
			t.split(lines, buf[:k])
			n += k
		}
		if errors.Is(err, io.EOF) {
			return n, true, nil
		}
		if err != nil {
			return n, false, fmt.Errorf("tail: read %s: %w", t.name, err)
		}
	}
	return n, false, nil
}

// split cuts data, read at t.readOff, into lines.
func (t *Tailer) split(lines *[]Line, data []byte) {
	if t.readOff < HeadLen {
		t.head = append(t.head, data[:min(len(data), HeadLen-int(t.readOff))]...)
		if len(t.head) == HeadLen {
			t.headSum = headHash(t.head)
		}
	}
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			t.grow(data)
			t.readOff += int64(len(data))
			return
		}
		t.grow(data[:i])
		t.readOff += int64(i + 1)
		t.emit(lines)
		data = data[i+1:]
	}
}

// grow adds b to the current line, keeping at most MaxLine bytes.
func (t *Tailer) grow(b []byte) {
	t.partialSize += int64(len(b))
	if t.skipping {
		return
	}
	if room := t.cfg.MaxLine - len(t.partial); room > 0 {
		if len(b) > room {
			b = b[:room]
		}
		t.partial = append(t.partial, b...)
	}
}

// emit ends the current line at t.readOff.
func (t *Tailer) emit(lines *[]Line) {
	if t.skipping {
		t.skipping = false
		t.resetLine()
		return
	}
	start := len(t.arena)
	t.arena = append(t.arena, t.partial...)
	l := Line{
		Text:      t.arena[start:len(t.arena):len(t.arena)],
		Pos:       t.posAt(t.readOff),
		Truncated: t.partialSize > int64(len(t.partial)),
		Size:      t.partialSize,
	}
	if l.Truncated {
		t.event(EventLineCut, t.name, l.Pos, fmt.Sprintf("line of %d bytes cut to %d", l.Size, len(l.Text)))
	}
	*lines = append(*lines, l)
	t.resetLine()
}

func (t *Tailer) resetLine() {
	t.partial = t.partial[:0]
	t.partialSize = 0
	if cap(t.partial) > 2*readChunk {
		t.partial = nil // do not keep a huge buffer for the next line
	}
}

// checkPath runs at the end of the current file: it follows a rotation
// (once the old file stayed quiet for a whole Poll, it is left for the new
// one) or a removal. switched is true when a new file was
// opened and should be read now.
func (t *Tailer) checkPath(lines *[]Line, readNow bool) (switched bool, err error) {
	fi, err := os.Stat(t.cfg.Path)
	if errors.Is(err, os.ErrNotExist) {
		if readNow {
			return false, nil // the old file may still be written to
		}
		t.finishOld(lines)
		t.event(EventRemoved, t.name, t.pos(), "")
		t.f = nil
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("tail: stat %s: %w", t.cfg.Path, err)
	}
	dev, ino, hasID := fileID(fi)
	if hasID && t.hasID && (dev != t.dev || ino != t.ino) {
		if readNow {
			return false, nil
		}
		t.finishOld(lines)
		t.event(EventRotated, t.name, t.pos(), "")
		t.f = nil
		if err := t.openPath(); err != nil {
			return false, err
		}
		return t.f != nil, nil
	}
	return false, nil
}

// checkTruncated restarts at the beginning of f if it shrank below our
// offset or its first bytes changed (copytruncate, or a rewrite).
func (t *Tailer) checkTruncated() error {
	cur, err := t.f.Stat()
	if err != nil {
		return fmt.Errorf("tail: stat %s: %w", t.name, err)
	}
	why := ""
	switch {
	case cur.Size() < t.readOff:
		why = fmt.Sprintf("size %d < offset %d", cur.Size(), t.readOff)
	case t.headChanged():
		why = "first bytes rewritten"
	}
	if why != "" {
		t.event(EventTruncated, t.name, t.pos(), why)
		t.readOff = 0
		t.head, t.headSum = t.head[:0], 0
		t.skipping = false
		t.resetLine()
	}
	return nil
}

// headChanged reports whether f no longer begins with the bytes read from
// it: truncated and written again beyond our offset between two Polls.
func (t *Tailer) headChanged() bool {
	if len(t.head) == 0 {
		return false
	}
	var buf [HeadLen]byte
	k, _ := t.f.ReadAt(buf[:len(t.head)], 0)
	return !bytes.Equal(buf[:k], t.head)
}

// finishOld closes the drained old file. A last line without "\n" in it is
// complete now: nothing more is appended to a file that was rotated away
// and stayed quiet for a whole Poll.
func (t *Tailer) finishOld(lines *[]Line) {
	if t.partialSize > 0 {
		t.emit(lines)
	}
	t.skipping = false
	t.f.Close()
}

// pos is the position after the last complete line.
func (t *Tailer) pos() Position { return t.posAt(t.readOff - t.partialSize) }

// posAt is the position of offset off (≤ readOff) in the current file.
func (t *Tailer) posAt(off int64) Position {
	p := Position{Dev: t.dev, Ino: t.ino, Offset: off}
	if off >= HeadLen {
		p.Head = t.headSum
	} else {
		p.Head = headHash(t.head[:off])
	}
	return p
}

// seek continues reading f at the checkpointed r if f's head matches it.
func (t *Tailer) seek(r Position) bool {
	if !t.skipTo(r.Offset) || t.pos().Head != r.Head {
		t.readOff, t.head, t.headSum = 0, t.head[:0], 0
		return false
	}
	return true
}

// skipTo continues reading f at off, loading f's head before it.
func (t *Tailer) skipTo(off int64) bool {
	n := min(off, HeadLen)
	head := make([]byte, n)
	if k, _ := t.f.ReadAt(head, 0); int64(k) != n {
		return false
	}
	t.readOff, t.head, t.headSum = off, head, 0
	if len(head) == HeadLen {
		t.headSum = headHash(head)
	}
	return true
}

// openPath opens cfg.Path, or on the first call the file to resume: the
// checkpointed file, found at the path or under a rotated name beside it.
func (t *Tailer) openPath() error {
	first := !t.started
	t.started = true
	f, err := openRegular(t.cfg.Path)
	if errors.Is(err, os.ErrNotExist) {
		if first && t.resume != nil {
			if t.openRotated(*t.resume) {
				t.resume = nil
				return nil
			}
			t.event(EventGap, t.cfg.Path, *t.resume, "checkpointed file not found")
			t.resume = nil
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("tail: open: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("tail: stat %s: %w", t.cfg.Path, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return fmt.Errorf("tail: %s: %w", t.cfg.Path, ErrNotRegular)
	}
	dev, ino, hasID := fileID(fi)
	t.use(f, t.cfg.Path, dev, ino, hasID)
	if !first && t.resume == nil {
		t.event(EventOpened, t.name, t.pos(), "")
		return nil
	}
	if r := t.resume; r != nil {
		t.resume = nil
		switch {
		case hasID && (r.Dev != dev || r.Ino != ino):
			// Rotated while we were down: drain the old file first.
			f.Close()
			t.f = nil
			if t.openRotated(*r) {
				return nil
			}
			t.event(EventGap, t.cfg.Path, *r, "checkpointed file not found")
			return t.reopenFresh()
		case r.Offset > fi.Size():
			t.event(EventTruncated, t.name, *r, fmt.Sprintf("size %d < checkpoint %d", fi.Size(), r.Offset))
		case !t.seek(*r):
			t.event(EventGap, t.name, *r, "the file on the checkpointed inode begins differently")
		default:
			t.event(EventResumed, t.name, t.pos(), "")
			return nil
		}
	} else if t.cfg.StartAtEnd && t.skipTo(fi.Size()) {
		t.skipping = !endsWithNewline(f, fi.Size())
	}
	t.event(EventOpened, t.name, t.pos(), "")
	return nil
}

func (t *Tailer) reopenFresh() error {
	f, err := openRegular(t.cfg.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("tail: open: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("tail: stat %s: %w", t.cfg.Path, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return fmt.Errorf("tail: %s: %w", t.cfg.Path, ErrNotRegular)
	}
	dev, ino, hasID := fileID(fi)
	t.use(f, t.cfg.Path, dev, ino, hasID)
	t.event(EventOpened, t.name, t.pos(), "")
	return nil
}

// openRotated looks beside the path for the checkpointed file under a
// rotated name (auth.log.1, secure-20261126, …) and resumes in it.
func (t *Tailer) openRotated(r Position) bool {
	dir, base := filepath.Split(t.cfg.Path)
	if dir == "" {
		dir = "."
	}
	d, err := os.Open(dir)
	if err != nil {
		return false
	}
	names, _ := d.Readdirnames(maxSiblings)
	d.Close()
	for _, n := range names {
		if !strings.HasPrefix(n, base) || n == base {
			continue
		}
		name := filepath.Join(dir, n)
		f, err := openRegular(name)
		if err != nil {
			continue
		}
		fi, err := f.Stat()
		dev, ino, ok := fileID(fi)
		if err != nil || !ok || dev != r.Dev || ino != r.Ino || r.Offset > fi.Size() {
			f.Close()
			continue
		}
		t.use(f, name, dev, ino, true)
		if !t.seek(r) {
			t.f = nil
			f.Close()
			continue
		}
		t.event(EventResumed, name, t.pos(), "rotated while stopped")
		return true
	}
	return false
}

func (t *Tailer) use(f *os.File, name string, dev, ino uint64, hasID bool) {
	t.f, t.name, t.dev, t.ino, t.hasID = f, name, dev, ino, hasID
	t.readOff = 0
	t.head, t.headSum = t.head[:0], 0
	t.skipping = false
	t.resetLine()
}

// openRegular opens name for reading, refusing what is not a regular file
// before opening it (opening a FIFO blocks).
func openRegular(name string) (*os.File, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("tail: %s: %w", name, ErrNotRegular)
	}
	return os.Open(name)
}

func endsWithNewline(f *os.File, size int64) bool {
	if size == 0 {
		return true
	}
	var b [1]byte
	_, err := f.ReadAt(b[:], size-1)
	return err == nil && b[0] == '\n'
}

func (t *Tailer) event(k EventKind, file string, p Position, detail string) {
	if t.cfg.OnEvent != nil {
		t.cfg.OnEvent(Event{Kind: k, File: file, Pos: p, Detail: detail})
	}
}
