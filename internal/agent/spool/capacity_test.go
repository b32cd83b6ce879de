package spool

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// frame100 is a payload whose frame takes exactly 100 bytes.
func frame100(name string) string { return rec(name, 100-headerSize) }

func namesOf(prefix string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

// putNumbered puts records named prefix+from..to, one per Put.
func putNumbered(t *testing.T, s *Spool, p Priority, prefix string, from, to int) {
	t.Helper()
	for _, n := range namesOf(prefix, from, to) {
		mustPut(t, s, p, frame100(n))
	}
}

// pendingNames returns the names ("h:H3") of the pending records.
func pendingNames(t *testing.T, s *Spool) []string {
	t.Helper()
	items, err := s.Peek(1<<20, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, it := range items {
		name := string(it.Data)
		for i := range name {
			if name[i] == '.' {
				name = name[:i]
				break
			}
		}
		out = append(out, fmt.Sprintf("%c:%s", it.Prio.String()[0], name))
	}
	return out
}

func withPrefix(p string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = p + n
	}
	return out
}

// One record per segment (SegmentSize = frame size), so drops are exact.
var tenRecords = Options{Capacity: 1000, SegmentSize: 100}

func TestFullDropsOldestLowFirst(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, tenRecords)
	defer mustClose(t, s)

	putNumbered(t, s, Low, "L", 1, 10)
	putNumbered(t, s, High, "H", 1, 5)
	want := append(withPrefix("h:", namesOf("H", 1, 5)), withPrefix("l:", namesOf("L", 6, 10))...)
	if diff := cmp.Diff(want, pendingNames(t, s)); diff != "" {
		t.Fatalf("after 10 low + 5 high (-want +got):\n%s", diff)
	}
	st := mustStats(t, s)
	if st.Low.DroppedFull != 5 || st.High.DroppedFull != 0 || st.DiskBytes != 1000 {
		t.Fatalf("stats = %+v, want 5 low dropped, 1000 disk bytes", st)
	}

	// 6 more high: the 5 remaining low go, then the oldest high.
	putNumbered(t, s, High, "H", 6, 11)
	want = withPrefix("h:", namesOf("H", 2, 11))
	if diff := cmp.Diff(want, pendingNames(t, s)); diff != "" {
		t.Fatalf("after 6 more high (-want +got):\n%s", diff)
	}

	// A low record never displaces a high one: it is dropped itself.
	mustPut(t, s, Low, frame100("L11"))
	if diff := cmp.Diff(want, pendingNames(t, s)); diff != "" {
		t.Fatalf("after low put into a spool full of high (-want +got):\n%s", diff)
	}

	d, err := s.TakeDropped()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Dropped{High: 1, Low: 11}, d); diff != "" {
		t.Fatalf("TakeDropped (-want +got):\n%s", diff)
	}
	if d, err := s.TakeDropped(); err != nil || d.Total() != 0 {
		t.Fatalf("second TakeDropped = %+v, %v; want zero", d, err)
	}
	if st := mustStats(t, s); st.DiskBytes > st.Capacity {
		t.Fatalf("disk bytes %d over capacity %d", st.DiskBytes, st.Capacity)
	}
}

func TestFullOnlyHigh(t *testing.T) {
	s := mustOpen(t, t.TempDir(), tenRecords)
	defer mustClose(t, s)
	putNumbered(t, s, High, "H", 1, 25)
	if diff := cmp.Diff(withPrefix("h:", namesOf("H", 16, 25)), pendingNames(t, s)); diff != "" {
		t.Fatalf("pending (-want +got):\n%s", diff)
	}
	st := mustStats(t, s)
	if st.High.DroppedFull != 15 || st.Low.DroppedFull != 0 || st.High.Items != 10 {
		t.Fatalf("stats = %+v, want 15 high dropped, 10 items", st)
	}
}

func TestFullOneBigPut(t *testing.T) {
	// A single Put larger than the spool keeps its newest records.
	s := mustOpen(t, t.TempDir(), tenRecords)
	defer mustClose(t, s)
	var recs []string
	for _, n := range namesOf("L", 1, 13) {
		recs = append(recs, frame100(n))
	}
	mustPut(t, s, Low, recs...)
	if diff := cmp.Diff(withPrefix("l:", namesOf("L", 4, 13)), pendingNames(t, s)); diff != "" {
		t.Fatalf("pending (-want +got):\n%s", diff)
	}
	if st := mustStats(t, s); st.Low.DroppedFull != 3 {
		t.Fatalf("dropped = %d, want 3", st.Low.DroppedFull)
	}
}

func TestFullDropsWholeSegments(t *testing.T) {
	// 4 records per segment: room is made a segment at a time.
	s := mustOpen(t, t.TempDir(), Options{Capacity: 1200, SegmentSize: 400})
	defer mustClose(t, s)
	putNumbered(t, s, Low, "L", 1, 12)
	putNumbered(t, s, High, "H", 1, 1)
	want := append([]string{"h:H1"}, withPrefix("l:", namesOf("L", 5, 12))...)
	if diff := cmp.Diff(want, pendingNames(t, s)); diff != "" {
		t.Fatalf("pending (-want +got):\n%s", diff)
	}
	if st := mustStats(t, s); st.Low.DroppedFull != 4 || st.DiskBytes != 900 {
		t.Fatalf("stats = %+v, want 4 low dropped, 900 disk bytes", st)
	}
}

func TestFullReclaimsAcknowledgedSpaceFirst(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{Capacity: 1000, SegmentSize: 1000})
	defer mustClose(t, s)
	putNumbered(t, s, Low, "L", 1, 10)
	items, err := s.Peek(10, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(items...); err != nil {
		t.Fatal(err)
	}
	putNumbered(t, s, Low, "L", 11, 12)
	if diff := cmp.Diff(withPrefix("l:", namesOf("L", 11, 12)), pendingNames(t, s)); diff != "" {
		t.Fatalf("pending (-want +got):\n%s", diff)
	}
	if st := mustStats(t, s); st.Low.DroppedFull != 0 || st.DiskBytes != 200 {
		t.Fatalf("stats = %+v, want nothing dropped, 200 disk bytes", st)
	}
}

func TestFullCountersSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, tenRecords)
	putNumbered(t, s, Low, "L", 1, 12)
	mustClose(t, s)
	s = mustOpen(t, dir, tenRecords)
	defer mustClose(t, s)
	d, err := s.TakeDropped()
	if err != nil || d != (Dropped{Low: 2}) {
		t.Fatalf("TakeDropped after restart = %+v, %v; want 2 low", d, err)
	}
}

func TestCapacityLoweredBetweenRuns(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, tenRecords)
	putNumbered(t, s, Low, "L", 1, 10)
	mustClose(t, s)
	o := tenRecords
	o.Capacity = 500
	s = mustOpen(t, dir, o)
	defer mustClose(t, s)
	if diff := cmp.Diff(withPrefix("l:", namesOf("L", 6, 10)), pendingNames(t, s)); diff != "" {
		t.Fatalf("pending (-want +got):\n%s", diff)
	}
	if st := mustStats(t, s); st.DiskBytes != 500 || st.Low.DroppedFull != 5 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestTooLarge(t *testing.T) {
	tests := []struct {
		o     Options
		size  int
		limit int
	}{
		{Options{}, 256<<10 + 1, 256 << 10},
		{Options{MaxRecord: 1000}, 1001, 1000},
		{Options{Capacity: 1000}, 1000 - headerSize + 1, 1000 - headerSize},
	}
	for _, tt := range tests {
		s := mustOpen(t, t.TempDir(), tt.o)
		err := s.Put(Low, []byte("ok"), make([]byte, tt.size))
		var tl *RecordTooLargeError
		if !errors.As(err, &tl) || !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Put of %d bytes: error = %v, want *RecordTooLargeError", tt.size, err)
		}
		if diff := cmp.Diff(RecordTooLargeError{Index: 1, Size: tt.size, Limit: tt.limit}, *tl); diff != "" {
			t.Errorf("error (-want +got):\n%s", diff)
		}
		if st := mustStats(t, s); st.Low.Items != 0 {
			t.Errorf("refused Put stored %d records", st.Low.Items)
		}
		// The limit itself is accepted.
		if err := s.Put(High, make([]byte, tt.limit)); err != nil {
			t.Errorf("Put of %d bytes: %v", tt.limit, err)
		}
		mustClose(t, s)
	}
}
