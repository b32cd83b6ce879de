package tail

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

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

// openPath opens cfg.Path; on the first call, it first looks for the
// checkpointed file to resume in.
func (t *Tailer) openPath() error {
	r := t.resume
	t.resume = nil
	first := !t.started
	t.started = true
	if r != nil && t.resumeAt(*r) {
		return nil
	}
	f, fi, err := openRegular(t.cfg.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	t.use(f, t.cfg.Path, fi)
	if first && r == nil && t.cfg.StartAtEnd && t.skipTo(fi.Size()) {
		t.skipping = !endsWithNewline(f, fi.Size())
	}
	t.event(EventOpened, t.name, t.pos(), "")
	return nil
}

// resumeAt reopens the checkpointed file at r: at the path, or beside it
// under a rotated name (auth.log.1, secure-20261126, …) if it was rotated
// while we were stopped. It reports a gap when the file is gone, shorter
// than r, or not the same file any more (a reused inode).
func (t *Tailer) resumeAt(r Position) bool {
	dir, base := filepath.Split(t.cfg.Path)
	if dir == "" {
		dir = "."
	}
	names := []string{t.cfg.Path}
	if d, err := os.Open(dir); err == nil {
		siblings, _ := d.Readdirnames(maxSiblings)
		d.Close()
		sort.Strings(siblings)
		for _, n := range siblings {
			if strings.HasPrefix(n, base) && n != base {
				names = append(names, filepath.Join(dir, n))
			}
		}
	}
	for _, name := range names {
		f, fi, err := openRegular(name)
		if err != nil {
			continue
		}
		if dev, ino, ok := fileID(fi); !ok || dev != r.Dev || ino != r.Ino {
			f.Close()
			continue
		}
		if r.Offset > fi.Size() {
			f.Close()
			t.event(EventTruncated, name, r, fmt.Sprintf("size %d < checkpoint %d", fi.Size(), r.Offset))
			return false
		}
		t.use(f, name, fi)
		if !t.seek(r) {
			t.f = nil
			f.Close()
			t.event(EventGap, name, r, "the file on the checkpointed inode begins differently")
			return false
		}
		detail := ""
		if name != t.cfg.Path {
			detail = "rotated while stopped"
		}
		t.event(EventResumed, name, t.pos(), detail)
		return true
	}
	t.event(EventGap, t.cfg.Path, r, "checkpointed file not found")
	return false
}

func (t *Tailer) use(f *os.File, name string, fi os.FileInfo) {
	t.f, t.name = f, name
	t.dev, t.ino, t.hasID = fileID(fi)
	t.readOff = 0
	t.head, t.headSum = t.head[:0], 0
	t.skipping = false
	t.resetLine()
}

// openRegular opens name for reading, refusing what is not a regular file
// (opening a FIFO would block), and returns it with its FileInfo.
func openRegular(name string) (*os.File, os.FileInfo, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("tail: %s: %w", name, ErrNotRegular)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, fmt.Errorf("tail: open: %w", err)
	}
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = ErrNotRegular
		}
		return nil, nil, fmt.Errorf("tail: %s: %w", name, err)
	}
	return f, fi, nil
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
