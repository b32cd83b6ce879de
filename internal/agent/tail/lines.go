package tail

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

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
