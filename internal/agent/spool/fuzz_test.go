package spool

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpen writes arbitrary bytes as two Low segments and the state file,
// then checks that Open succeeds, that draining the spool ends, and that
// after acknowledging everything and putting one record, the next Open
// finds exactly that record and counts no new damage.
func FuzzOpen(f *testing.F) {
	var valid []byte
	for i := range 5 {
		valid = appendFrame(valid, uint64(i+1), int64(i), []byte(`{"event":"x"}`))
	}
	state := persisted{}
	state.q[Low] = queueState{head: 3, lostThrough: 2, droppedFull: 1}
	f.Add(valid, []byte(nil), []byte(nil))
	f.Add(valid[:len(valid)-5], appendFrame(nil, 9, 0, []byte("a")), state.encode())
	f.Add(valid, valid, state.encode())
	f.Add(append(append([]byte{}, valid...), magic[:]...), []byte("garbage"), []byte("MSPS"))
	flipped := append([]byte{}, valid...)
	flipped[60] ^= 0xFF
	f.Add(flipped, valid[:30], []byte(nil))
	f.Add([]byte{0xF5, 'S', 'P', 1, 0xff, 0xff, 0xff, 0xff}, []byte{0xF5}, []byte(nil))
	f.Add(appendFrame(nil, maxSeq-1, 0, nil), appendFrame(nil, 1, 0, nil), []byte(nil))

	f.Fuzz(func(t *testing.T, seg1, seg2, st []byte) {
		dir := t.TempDir()
		write := func(name string, b []byte) {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		write(segmentName(Low, 1), seg1)
		write(segmentName(Low, 2), seg2)
		if len(st) > 0 {
			write(stateName, st)
		}
		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		for range len(seg1) + len(seg2) + 1 {
			items, err := s.Peek(16, 4096)
			if err != nil {
				t.Fatalf("Peek: %v", err)
			}
			if len(items) == 0 {
				break
			}
			if err := s.Ack(items...); err != nil {
				t.Fatalf("Ack: %v", err)
			}
		}
		if st := mustStats(t, s); st.Low.Items != 0 || st.High.Items != 0 {
			t.Fatalf("not drained: %+v", st)
		}
		if _, err := s.TakeDropped(); err != nil {
			t.Fatal(err)
		}
		mustPut(t, s, Low, "after")
		mustClose(t, s)

		s = mustOpen(t, dir, Options{})
		defer mustClose(t, s)
		items, err := s.Peek(16, 4096)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 1 || string(items[0].Data) != "after" {
			t.Fatalf("after reopen: %v, want the one record put", names(items))
		}
		if d, err := s.TakeDropped(); err != nil || d.Total() != 0 {
			t.Fatalf("reopen counted %+v (%v)", d, err)
		}
	})
}

// FuzzScanSegment checks the segment scanner alone (no files, so it runs
// fast): it ends, and what it returns are valid, ordered, non-overlapping
// frames inside the data.
func FuzzScanSegment(f *testing.F) {
	var valid []byte
	for i := range 4 {
		valid = appendFrame(valid, uint64(i+1), 0, bytes.Repeat([]byte{'x'}, i*10))
	}
	f.Add(valid)
	f.Add(valid[:len(valid)-3])
	f.Add(append(append([]byte("junk"), valid...), magic[:]...))
	f.Add(bytes.Repeat(magic[:], 100))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := scanSegment(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		var end int64
		for _, fr := range res.frames {
			off := int64(fr.off)
			if off < end || off+int64(fr.size) > int64(len(data)) {
				t.Fatalf("frame at %d size %d overlaps or overflows (end %d, len %d)", off, fr.size, end, len(data))
			}
			frame := data[off : off+int64(fr.size)]
			h, ok := parseHeader(frame)
			if !ok || h.seq != fr.seq || !checkFrame(h, frame) {
				t.Fatalf("invalid frame returned at %d", off)
			}
			end = off + int64(fr.size)
		}
		if res.validEnd != end {
			t.Fatalf("validEnd %d, last frame ends at %d", res.validEnd, end)
		}
	})
}
