package spool

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// damage applies f to the contents of path.
func damage(t *testing.T, path string, f func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, f(b), 0o600); err != nil {
		t.Fatal(err)
	}
}

// fiveLow puts L1..L5 (100-byte frames, one segment) and closes the spool.
func fiveLow(t *testing.T, dir string) string {
	t.Helper()
	s := mustOpen(t, dir, Options{})
	putNumbered(t, s, Low, "L", 1, 5)
	mustClose(t, s)
	return lastSegment(t, dir, Low)
}

func TestTornTail(t *testing.T) {
	tests := []struct {
		name    string
		damage  func([]byte) []byte
		want    []string
		corrupt uint64
	}{
		{"cut in payload", func(b []byte) []byte { return b[:len(b)-10] }, namesOf("L", 1, 4), 1},
		{"cut in header", func(b []byte) []byte { return b[:400+10] }, namesOf("L", 1, 4), 1},
		{"cut after magic", func(b []byte) []byte { return b[:400+4] }, namesOf("L", 1, 4), 1},
		{"cut at a frame boundary", func(b []byte) []byte { return b[:400] }, namesOf("L", 1, 4), 0},
		{"garbage appended", func(b []byte) []byte { return append(b, "\x00garbage\xff"...) }, namesOf("L", 1, 5), 1},
		{"zeros appended", func(b []byte) []byte { return append(b, make([]byte, 4096)...) }, namesOf("L", 1, 5), 1},
		{"half frame appended", func(b []byte) []byte { return append(b, b[:60]...) }, namesOf("L", 1, 5), 1},
		{"everything cut", func(b []byte) []byte { return b[:7] }, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			seg := fiveLow(t, dir)
			damage(t, seg, tt.damage)

			s := mustOpen(t, dir, Options{})
			if diff := cmp.Diff(withPrefix("l:", tt.want), pendingNames(t, s)); diff != "" {
				t.Fatalf("pending (-want +got):\n%s", diff)
			}
			if st := mustStats(t, s); st.Low.DroppedCorrupt != tt.corrupt || st.Low.DroppedFull != 0 {
				t.Fatalf("stats = %+v, want %d corrupt", st, tt.corrupt)
			}
			// Appending after the cut works and the next Open finds no
			// new damage.
			putNumbered(t, s, Low, "M", 1, 1)
			mustClose(t, s)

			s = mustOpen(t, dir, Options{})
			defer mustClose(t, s)
			want := withPrefix("l:", append(tt.want, "M1"))
			if diff := cmp.Diff(want, pendingNames(t, s)); diff != "" {
				t.Fatalf("pending after reopen (-want +got):\n%s", diff)
			}
			d, err := s.TakeDropped()
			if err != nil || d != (Dropped{Low: tt.corrupt}) {
				t.Fatalf("TakeDropped = %+v, %v; want %d low", d, err, tt.corrupt)
			}
		})
	}
}

func TestCorruptMiddle(t *testing.T) {
	flip := func(off int) func([]byte) []byte {
		return func(b []byte) []byte { b[off] ^= 0xFF; return b }
	}
	tests := []struct {
		name    string
		damage  func([]byte) []byte
		want    []string
		corrupt uint64
	}{
		{"payload byte", flip(250), []string{"L1", "L2", "L4", "L5"}, 1},
		{"crc byte", flip(200 + 24), []string{"L1", "L2", "L4", "L5"}, 1},
		{"magic byte", flip(200), []string{"L1", "L2", "L4", "L5"}, 1},
		{"length byte", flip(200 + 4), []string{"L1", "L2", "L4", "L5"}, 1},
		{"length made short", func(b []byte) []byte { b[200+4] = 10; return b }, []string{"L1", "L2", "L4", "L5"}, 1},
		{"two records", func(b []byte) []byte { b[150] ^= 1; b[250] ^= 1; return b }, []string{"L1", "L4", "L5"}, 2},
		{"first record", flip(50), []string{"L2", "L3", "L4", "L5"}, 1},
		{"zeroed range", func(b []byte) []byte { clear(b[120:330]); return b }, []string{"L1", "L5"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			// A first Open with state, so that a damaged first record is
			// seen as a gap after the persisted head.
			mustClose(t, mustOpen(t, dir, Options{}))
			seg := fiveLow(t, dir)
			damage(t, seg, tt.damage)

			for round := range 2 { // the second Open must not count again
				s := mustOpen(t, dir, Options{})
				if diff := cmp.Diff(withPrefix("l:", tt.want), pendingNames(t, s)); diff != "" {
					t.Fatalf("round %d: pending (-want +got):\n%s", round, diff)
				}
				if st := mustStats(t, s); st.Low.DroppedCorrupt != tt.corrupt {
					t.Fatalf("round %d: corrupt = %d, want %d", round, st.Low.DroppedCorrupt, tt.corrupt)
				}
				mustClose(t, s)
			}
			// Once everything is acknowledged, the next Open deletes the
			// damaged segment and counts nothing more.
			s := mustOpen(t, dir, Options{})
			items, err := s.Peek(100, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Ack(items...); err != nil {
				t.Fatal(err)
			}
			mustClose(t, s)
			s = mustOpen(t, dir, Options{})
			defer mustClose(t, s)
			if n := len(segments(t, dir, Low)); n != 0 {
				t.Fatalf("%d segments left after acknowledging everything", n)
			}
			if d, err := s.TakeDropped(); err != nil || d != (Dropped{Low: tt.corrupt}) {
				t.Fatalf("TakeDropped = %+v, %v; want %d low", d, err, tt.corrupt)
			}
			putNumbered(t, s, Low, "M", 1, 1)
			if diff := cmp.Diff([]string{"l:M1"}, pendingNames(t, s)); diff != "" {
				t.Fatalf("after Ack (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCorruptEndOfOlderSegment(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{Capacity: 10000, SegmentSize: 300}) // 3 records per segment
	putNumbered(t, s, Low, "L", 1, 7)
	mustClose(t, s)
	segs := segments(t, dir, Low)
	if len(segs) != 3 {
		t.Fatalf("%d segments, want 3", len(segs))
	}
	damage(t, segs[0], func(b []byte) []byte { return b[:250] }) // L3 torn in an older segment
	damage(t, segs[1], func(b []byte) []byte { b[299] ^= 1; return b })

	for round := range 2 {
		s = mustOpen(t, dir, Options{Capacity: 10000, SegmentSize: 300})
		want := withPrefix("l:", []string{"L1", "L2", "L4", "L5", "L7"})
		if diff := cmp.Diff(want, pendingNames(t, s)); diff != "" {
			t.Fatalf("round %d: pending (-want +got):\n%s", round, diff)
		}
		if st := mustStats(t, s); st.Low.DroppedCorrupt != 2 {
			t.Fatalf("round %d: corrupt = %d, want 2", round, st.Low.DroppedCorrupt)
		}
		mustClose(t, s)
	}
}

func TestCorruptWhileOpen(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	putNumbered(t, s, Low, "L", 1, 5)
	seg := lastSegment(t, dir, Low)
	damage(t, seg, func(b []byte) []byte { b[250] ^= 1; b[450] ^= 1; return b }) // L3 and L5
	want := withPrefix("l:", []string{"L1", "L2", "L4"})
	if diff := cmp.Diff(want, pendingNames(t, s)); diff != "" {
		t.Fatalf("pending (-want +got):\n%s", diff)
	}
	if st := mustStats(t, s); st.Low.DroppedCorrupt != 2 || st.Low.Items != 3 {
		t.Fatalf("stats = %+v, want 2 corrupt, 3 items", st)
	}
	mustClose(t, s)
	// The next Open sees the same damage (L3 as a gap, L5 as a torn tail)
	// and does not count it again.
	s = mustOpen(t, dir, Options{})
	defer mustClose(t, s)
	if diff := cmp.Diff(want, pendingNames(t, s)); diff != "" {
		t.Fatalf("pending after reopen (-want +got):\n%s", diff)
	}
	if st := mustStats(t, s); st.Low.DroppedCorrupt != 2 {
		t.Fatalf("corrupt after reopen = %d, want 2", st.Low.DroppedCorrupt)
	}
}

func TestBadStateFile(t *testing.T) {
	for _, name := range []string{"garbage", "flipped", "empty", "missing"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := mustOpen(t, dir, Options{})
			putNumbered(t, s, Low, "L", 1, 3)
			items, _ := s.Peek(2, 1<<20)
			if err := s.Ack(items...); err != nil {
				t.Fatal(err)
			}
			mustClose(t, s)
			path := filepath.Join(dir, stateName)
			switch name {
			case "garbage":
				damage(t, path, func([]byte) []byte { return []byte("not a state file") })
			case "flipped":
				damage(t, path, func(b []byte) []byte { b[10] ^= 1; return b })
			case "empty":
				damage(t, path, func([]byte) []byte { return nil })
			case "missing":
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
			}
			// The acknowledged position is lost: the records still on
			// disk are delivered again (at-least-once), nothing is counted.
			s = mustOpen(t, dir, Options{})
			defer mustClose(t, s)
			if diff := cmp.Diff(withPrefix("l:", namesOf("L", 1, 3)), pendingNames(t, s)); diff != "" {
				t.Fatalf("pending (-want +got):\n%s", diff)
			}
			if d, _ := s.TakeDropped(); d.Total() != 0 {
				t.Fatalf("dropped = %+v", d)
			}
		})
	}
}

func TestForeignFilesIgnored(t *testing.T) {
	dir := t.TempDir()
	seg := fiveLow(t, dir)
	for _, name := range []string{"low-ABC.seg", "low-00000000000000AB.seg", "high-1.seg", "notes.txt", stateTmpName} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "high-0000000000000009.seg"), 0o700); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, dir, Options{})
	defer mustClose(t, s)
	if diff := cmp.Diff(withPrefix("l:", namesOf("L", 1, 5)), pendingNames(t, s)); diff != "" {
		t.Fatalf("pending (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(dir, stateTmpName)); !os.IsNotExist(err) {
		t.Errorf("%s left behind: %v", stateTmpName, err)
	}
	if fileSize(t, seg) != 500 {
		t.Errorf("segment changed")
	}
}

func TestTornAcknowledgedRecordNotCounted(t *testing.T) {
	// With group fsync a power cut can tear a record that was already
	// delivered and acknowledged: it is not a loss.
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	putNumbered(t, s, Low, "L", 1, 3)
	items, _ := s.Peek(10, 1<<20)
	if err := s.Ack(items...); err != nil {
		t.Fatal(err)
	}
	mustClose(t, s)
	damage(t, lastSegment(t, dir, Low), func(b []byte) []byte { return b[:250] })
	s = mustOpen(t, dir, Options{})
	defer mustClose(t, s)
	if d, err := s.TakeDropped(); err != nil || d.Total() != 0 {
		t.Fatalf("dropped %+v, %v; want nothing", d, err)
	}
	if got := pendingNames(t, s); len(got) != 0 {
		t.Fatalf("pending %v", got)
	}
}
