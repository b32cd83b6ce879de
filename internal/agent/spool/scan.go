package spool

import (
	"bytes"
	"fmt"
	"io"
)

// scanChunk is how much of a segment the scanner reads at once.
const scanChunk = 64 << 10

// window serves byte ranges of a file through one reusable buffer, so that
// scanning a segment holds at most one frame (≤ 1 MiB) plus a chunk in
// memory, whatever the file size.
type window struct {
	r     io.ReaderAt
	size  int64
	start int64
	buf   []byte
}

// get returns file[off:off+n]; the slice is valid until the next call.
func (w *window) get(off int64, n int) ([]byte, error) {
	if off >= w.start && off+int64(n) <= w.start+int64(len(w.buf)) {
		return w.buf[off-w.start : off-w.start+int64(n)], nil
	}
	sz := int64(max(n, scanChunk))
	sz = min(sz, w.size-off)
	if sz < int64(n) {
		return nil, io.ErrUnexpectedEOF
	}
	if int64(cap(w.buf)) < sz {
		w.buf = make([]byte, sz)
	}
	got, err := w.r.ReadAt(w.buf[:sz], off)
	w.buf, w.start = w.buf[:got], off
	if err != nil && err != io.EOF {
		return nil, err
	}
	if got < n { // the file shrank under us
		return nil, io.ErrUnexpectedEOF
	}
	return w.buf[:n], nil
}

// found is one valid frame found by scanSegment.
type found struct {
	entry
	unixNano int64
}

// scanResult is what scanSegment learnt about a segment file.
type scanResult struct {
	frames   []found
	validEnd int64 // end of the last valid frame (0 if none)
	skipped  int64 // bytes between valid frames that were not a valid frame
}

// scanSegment walks a segment file of the given size and returns its valid
// frames in file order. Bytes that are not a valid frame are skipped by
// searching for the next magic, so the walk always advances and ends.
func scanSegment(r io.ReaderAt, size int64) (scanResult, error) {
	w := &window{r: r, size: size}
	var res scanResult
	var off int64
	for off < size {
		f, ok, err := tryFrame(w, off)
		if err != nil {
			return res, err
		}
		if ok {
			res.frames = append(res.frames, f)
			off += int64(f.size)
			res.validEnd = off
			continue
		}
		next, err := findMagic(w, off+1)
		if err != nil {
			return res, err
		}
		res.skipped += next - off
		off = next
	}
	// Bytes after the last valid frame are a tail, not "skipped between".
	res.skipped -= size - res.validEnd
	if res.skipped < 0 {
		res.skipped = 0
	}
	return res, nil
}

// tryFrame checks whether a valid frame starts at off.
func tryFrame(w *window, off int64) (found, bool, error) {
	if w.size-off < headerSize {
		return found{}, false, nil
	}
	b, err := w.get(off, headerSize)
	if err != nil {
		return found{}, false, fmt.Errorf("read header at %d: %w", off, err)
	}
	h, ok := parseHeader(b)
	if !ok || w.size-off-headerSize < int64(h.length) {
		return found{}, false, nil
	}
	n := headerSize + int(h.length)
	frame, err := w.get(off, n)
	if err != nil {
		return found{}, false, fmt.Errorf("read frame at %d: %w", off, err)
	}
	if !checkFrame(h, frame) {
		return found{}, false, nil
	}
	return found{entry: entry{seq: h.seq, off: uint32(off), size: uint32(n)}, unixNano: h.unixNano}, true, nil
}

// findMagic returns the offset of the next magic at or after off, or the
// file size when there is none.
func findMagic(w *window, off int64) (int64, error) {
	for off < w.size {
		n := int(min(int64(scanChunk), w.size-off))
		b, err := w.get(off, n)
		if err != nil {
			return 0, fmt.Errorf("read at %d: %w", off, err)
		}
		if i := bytes.Index(b, magic[:]); i >= 0 {
			return off + int64(i), nil
		}
		if off+int64(n) >= w.size {
			break
		}
		// Keep the last bytes: a magic may straddle two chunks.
		off += int64(n - (len(magic) - 1))
	}
	return w.size, nil
}
