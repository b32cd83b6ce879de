package tail

import (
	"context"
	"errors"
	"fmt"
	"os"
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

// Position returns the position after the last complete line handed out
// (where a restart should resume), and false while no file is open. A
// consumer that has handed nothing on yet may Commit it so that a restart
// starts there rather than, with StartAtEnd, at the then end of the file.
func (t *Tailer) Position() (Position, bool) {
	if !t.hasID {
		return Position{}, false
	}
	return t.pos(), true
}
