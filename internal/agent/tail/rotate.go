package tail

import (
	"bytes"
	"errors"
	"fmt"
	"os"
)

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
