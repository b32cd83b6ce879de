package tail

import (
	"bytes"
	"testing"
)

// FuzzSplit: whatever the bytes and however they are cut into reads, the
// lines are those of bytes.Split, cut at MaxLine, with exact end offsets;
// a last line without "\n" is held back.
func FuzzSplit(f *testing.F) {
	f.Add([]byte("a\nbb\n\nccc"), []byte{1, 2, 3})
	f.Add([]byte("0123456789abcdefXYZ\nshort\n"), []byte{5, 20})
	f.Add(bytes.Repeat([]byte{0, 0xff, '\n'}, 20), []byte{7})
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		const maxLine = 16
		tl := &Tailer{cfg: Config{MaxLine: maxLine}}
		var got []Line
		rest := data
		for i := 0; len(rest) > 0; i++ {
			n := len(rest)
			if i < len(cuts) && int(cuts[i]) < n {
				n = int(cuts[i])
			}
			tl.split(&got, rest[:n])
			rest = rest[n:]
		}
		parts := bytes.Split(data, []byte("\n"))
		parts = parts[:len(parts)-1] // the unterminated tail is held
		if len(got) != len(parts) {
			t.Fatalf("%d lines, want %d", len(got), len(parts))
		}
		off := int64(0)
		for i, p := range parts {
			off += int64(len(p)) + 1
			w := p
			if len(w) > maxLine {
				w = w[:maxLine]
			}
			l := got[i]
			if !bytes.Equal(l.Text, w) || l.Size != int64(len(p)) || l.Truncated != (len(p) > maxLine) || l.Pos.Offset != off ||
				l.Pos.Head != headHash(data[:min(off, HeadLen)]) {
				t.Fatalf("line %d = %+v, want %q size %d offset %d", i, l, w, len(p), off)
			}
		}
		if held := int64(len(data)) - off; tl.partialSize != held || len(tl.partial) > maxLine {
			t.Fatalf("held %d bytes (%d kept), want %d", tl.partialSize, len(tl.partial), held)
		}
	})
}

func init() { _ = headHash } // keep the import set stable
