package spool

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPutPeekAckOrder(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{})
	defer mustClose(t, s)

	if got := peekAll(t, s); len(got) != 0 {
		t.Fatalf("empty spool: Peek = %v", got)
	}
	mustPut(t, s, Low, "a", "b")
	mustPut(t, s, High, "c")
	mustPut(t, s, Low, "d")
	mustPut(t, s, High, "e")

	want := []string{"h:c", "h:e", "l:a", "l:b", "l:d"}
	if diff := cmp.Diff(want, peekAll(t, s)); diff != "" {
		t.Fatalf("Peek (-want +got):\n%s", diff)
	}
	// Peek does not remove.
	if diff := cmp.Diff(want, peekAll(t, s)); diff != "" {
		t.Fatalf("second Peek (-want +got):\n%s", diff)
	}
	items, err := s.Peek(3, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want[:3], names(items)); diff != "" {
		t.Fatalf("Peek(3) (-want +got):\n%s", diff)
	}
	if err := s.Ack(items...); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want[3:], peekAll(t, s)); diff != "" {
		t.Fatalf("after Ack (-want +got):\n%s", diff)
	}
	// Acknowledging again is harmless.
	if err := s.Ack(items...); err != nil {
		t.Fatalf("second Ack: %v", err)
	}
	if diff := cmp.Diff(want[3:], peekAll(t, s)); diff != "" {
		t.Fatalf("after second Ack (-want +got):\n%s", diff)
	}
}

func TestPeekLimits(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{})
	defer mustClose(t, s)
	mustPut(t, s, High, rec("h1", 100), rec("h2", 100))
	mustPut(t, s, Low, rec("l1", 50), rec("l2", 50))

	tests := []struct {
		max, maxBytes int
		want          []string
	}{
		{1, 1 << 20, []string{"h1"}},
		{10, 1, []string{"h1"}}, // the first record comes whatever its size
		{10, 199, []string{"h1"}},
		{10, 200, []string{"h1", "h2"}},
		{10, 299, []string{"h1", "h2", "l1"}},
		{10, 300, []string{"h1", "h2", "l1", "l2"}},
		{3, 300, []string{"h1", "h2", "l1"}},
	}
	for _, tt := range tests {
		items, err := s.Peek(tt.max, tt.maxBytes)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range items {
			got = append(got, string(it.Data[:2]))
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Peek(%d, %d) (-want +got):\n%s", tt.max, tt.maxBytes, diff)
		}
	}
	for _, args := range [][2]int{{0, 10}, {10, 0}, {-1, -1}} {
		if _, err := s.Peek(args[0], args[1]); !errors.Is(err, ErrArgument) {
			t.Errorf("Peek(%d, %d) error = %v, want ErrArgument", args[0], args[1], err)
		}
	}
}

func TestItemFields(t *testing.T) {
	clk := newClock(t0)
	s := mustOpen(t, t.TempDir(), Options{Now: clk.Now})
	defer mustClose(t, s)
	mustPut(t, s, Low, "x")
	clk.Add(time.Second)
	mustPut(t, s, Low, "y")
	mustPut(t, s, High, "z")
	items, err := s.Peek(10, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	want := []Item{
		{Prio: High, Seq: 1, Time: t0.Add(time.Second), Data: []byte("z")},
		{Prio: Low, Seq: 1, Time: t0, Data: []byte("x")},
		{Prio: Low, Seq: 2, Time: t0.Add(time.Second), Data: []byte("y")},
	}
	if diff := cmp.Diff(want, items); diff != "" {
		t.Fatalf("items (-want +got):\n%s", diff)
	}
}

func TestReopenAtLeastOnce(t *testing.T) {
	for _, o := range []Options{{}, {SyncInterval: time.Hour}} {
		t.Run("sync="+o.SyncInterval.String(), func(t *testing.T) {
			dir := t.TempDir()
			s := mustOpen(t, dir, o)
			mustPut(t, s, High, "h1", "h2", "h3")
			mustPut(t, s, Low, "l1", "l2", "l3")
			items, err := s.Peek(4, 1<<20) // h1 h2 h3 l1
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Ack(items[:2]...); err != nil {
				t.Fatal(err)
			}
			mustClose(t, s)

			s = mustOpen(t, dir, o)
			want := []string{"h:h3", "l:l1", "l:l2", "l:l3"}
			if diff := cmp.Diff(want, peekAll(t, s)); diff != "" {
				t.Fatalf("after reopen (-want +got):\n%s", diff)
			}
			// New records continue the sequence; old acknowledgements stay.
			mustPut(t, s, High, "h4")
			items, err = s.Peek(2, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if items[0].Seq != 3 || items[1].Seq != 4 {
				t.Fatalf("seqs after reopen = %d, %d; want 3, 4", items[0].Seq, items[1].Seq)
			}
			if err := s.Ack(items...); err != nil {
				t.Fatal(err)
			}
			mustClose(t, s)

			s = mustOpen(t, dir, o)
			defer mustClose(t, s)
			want = []string{"l:l1", "l:l2", "l:l3"}
			if diff := cmp.Diff(want, peekAll(t, s)); diff != "" {
				t.Fatalf("after second reopen (-want +got):\n%s", diff)
			}
			if st := mustStats(t, s); st.High.DroppedCorrupt+st.Low.DroppedCorrupt+st.High.DroppedFull+st.Low.DroppedFull != 0 {
				t.Fatalf("clean reopen counted drops: %+v", st)
			}
		})
	}
}

func TestAckDeletesSegments(t *testing.T) {
	dir := t.TempDir()
	// 4 records of 100-byte frames per segment.
	s := mustOpen(t, dir, Options{Capacity: 10000, SegmentSize: 400})
	defer mustClose(t, s)
	for i := range 10 {
		mustPut(t, s, Low, rec(string(rune('a'+i)), 72))
	}
	if n := len(segments(t, dir, Low)); n != 3 {
		t.Fatalf("%d segments, want 3", n)
	}
	items, err := s.Peek(9, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(items...); err != nil {
		t.Fatal(err)
	}
	if n := len(segments(t, dir, Low)); n != 1 {
		t.Fatalf("%d segments after acknowledging 9 of 10, want 1", n)
	}
	st := mustStats(t, s)
	if st.Low.Items != 1 || st.DiskBytes != 200 {
		t.Fatalf("stats = %+v, want 1 item, 200 disk bytes", st)
	}
}

func TestAckErrors(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{})
	defer mustClose(t, s)
	mustPut(t, s, Low, "a", "b", "c")
	items, err := s.Peek(10, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		items []Item
		want  error
	}{
		{"gap", []Item{items[0], items[2]}, ErrAck},
		{"skips the oldest", []Item{items[1]}, ErrAck},
		{"never put", []Item{{Prio: Low, Seq: 99}}, ErrAck},
		{"never put high", []Item{{Prio: High, Seq: 1}}, ErrAck},
		{"bad priority", []Item{{Prio: 7, Seq: 1}}, ErrPriority},
	}
	for _, tt := range tests {
		if err := s.Ack(tt.items...); !errors.Is(err, tt.want) {
			t.Errorf("%s: Ack error = %v, want %v", tt.name, err, tt.want)
		}
	}
	// Nothing was acknowledged by the failed calls.
	if diff := cmp.Diff([]string{"l:a", "l:b", "l:c"}, peekAll(t, s)); diff != "" {
		t.Fatalf("after failed Acks (-want +got):\n%s", diff)
	}
	// Order of items does not matter, nor duplicates.
	if err := s.Ack(items[1], items[0], items[1]); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"l:c"}, peekAll(t, s)); diff != "" {
		t.Fatalf("after Ack (-want +got):\n%s", diff)
	}
}

func TestPriorityErrors(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{})
	defer mustClose(t, s)
	if err := s.Put(Priority(2), []byte("x")); !errors.Is(err, ErrPriority) {
		t.Fatalf("Put(2) error = %v, want ErrPriority", err)
	}
}

func TestClosed(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{})
	mustClose(t, s)
	calls := map[string]error{
		"Put":   s.Put(Low, []byte("x")),
		"Ack":   s.Ack(Item{Prio: Low, Seq: 1}),
		"Sync":  s.Sync(),
		"Close": s.Close(),
	}
	_, calls["Peek"] = s.Peek(1, 1)
	_, calls["Stats"] = s.Stats()
	_, calls["TakeDropped"] = s.TakeDropped()
	for name, err := range calls {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open error = %v, want ErrLocked", err)
	}
	mustClose(t, s)
	s = mustOpen(t, dir, Options{})
	mustClose(t, s)
}

func TestOptions(t *testing.T) {
	bad := []Options{
		{Capacity: -1},
		{Capacity: headerSize},
		{SegmentSize: -1},
		{MaxRecord: -1},
		{MaxRecord: MaxRecordLimit + 1},
		{SyncInterval: -time.Second},
	}
	for _, o := range bad {
		if _, err := Open(t.TempDir(), o); !errors.Is(err, ErrOptions) {
			t.Errorf("Open(%+v) error = %v, want ErrOptions", o, err)
		}
	}
	tests := []struct {
		in                Options
		capacity, segment int64
		maxRecord         int
	}{
		{Options{}, 10 << 20, 320 << 10, 256 << 10},
		{Options{Capacity: 1 << 30}, 1 << 30, 1 << 20, 256 << 10},
		{Options{Capacity: 64 << 10}, 64 << 10, 4 << 10, 64<<10 - headerSize},
		{Options{Capacity: 1000, SegmentSize: 5000, MaxRecord: 100}, 1000, 1000, 100},
		{Options{Capacity: 100 << 20, SegmentSize: 10}, 100 << 20, 100 << 10, 256 << 10},
	}
	for _, tt := range tests {
		s := mustOpen(t, t.TempDir(), tt.in)
		o := s.Options()
		if o.Capacity != tt.capacity || o.SegmentSize != tt.segment || o.MaxRecord != tt.maxRecord || o.Now == nil {
			t.Errorf("Options(%+v) = capacity %d segment %d maxRecord %d; want %d %d %d",
				tt.in, o.Capacity, o.SegmentSize, o.MaxRecord, tt.capacity, tt.segment, tt.maxRecord)
		}
		mustClose(t, s)
	}
}

func TestStatsAge(t *testing.T) {
	clk := newClock(t0)
	s := mustOpen(t, t.TempDir(), Options{Now: clk.Now})
	defer mustClose(t, s)
	if st := mustStats(t, s); st.OldestAge != 0 || st.Low.Items != 0 {
		t.Fatalf("empty stats = %+v", st)
	}
	mustPut(t, s, Low, "12345")
	clk.Add(time.Minute)
	mustPut(t, s, High, "123")
	clk.Add(time.Minute)
	want := Stats{
		High:      QueueStats{Items: 1, Bytes: 3},
		Low:       QueueStats{Items: 1, Bytes: 5},
		DiskBytes: 2*headerSize + 8,
		Capacity:  DefaultCapacity,
		OldestAge: 2 * time.Minute,
	}
	if diff := cmp.Diff(want, mustStats(t, s)); diff != "" {
		t.Fatalf("stats (-want +got):\n%s", diff)
	}
	// A clock that went backwards gives age 0, not a negative one.
	clk.Add(-time.Hour)
	if st := mustStats(t, s); st.OldestAge != 0 {
		t.Fatalf("age with clock behind = %v", st.OldestAge)
	}
}

func TestGroupSync(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{SyncInterval: time.Millisecond})
	for range 50 {
		mustPut(t, s, Low, "x")
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	mustClose(t, s)
	s = mustOpen(t, dir, Options{})
	defer mustClose(t, s)
	if st := mustStats(t, s); st.Low.Items != 50 {
		t.Fatalf("items after group-sync reopen = %d, want 50", st.Low.Items)
	}
}
