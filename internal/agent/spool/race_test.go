package spool

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestConcurrentPutPeekAck runs producers, a consumer and a stats reader
// at once (run it with -race) and checks every record is delivered exactly
// once, in order within its producer and priority.
func TestConcurrentPutPeekAck(t *testing.T) {
	for _, tt := range []struct {
		name string
		o    Options
		per  int
	}{
		{"fsync", Options{}, 60},
		{"group", Options{SyncInterval: time.Millisecond}, 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			const producers = 4
			s := mustOpen(t, t.TempDir(), tt.o)
			defer mustClose(t, s)

			var wg sync.WaitGroup
			for p := range producers {
				wg.Go(func() {
					for i := 0; i < tt.per; {
						prio := Low
						if i%4 == 0 {
							prio = High
						}
						var recs [][]byte
						for range 1 + i%3 {
							if i < tt.per {
								recs = append(recs, fmt.Appendf(nil, "%d %d", p, i))
								i++
							}
						}
						if err := s.Put(prio, recs...); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()

			statsDone := make(chan struct{})
			go func() {
				defer close(statsDone)
				for {
					select {
					case <-done:
						return
					default:
					}
					if _, err := s.Stats(); err != nil {
						t.Error(err)
						return
					}
					runtime.Gosched()
				}
			}()

			got := map[string]int{}
			last := map[string]int{} // producer/priority -> last index
			for finished := false; ; {
				select {
				case <-done:
					finished = true
				default:
				}
				items, err := s.Peek(50, 2048)
				if err != nil {
					t.Fatal(err)
				}
				if len(items) == 0 {
					if finished {
						break
					}
					runtime.Gosched()
					continue
				}
				for _, it := range items {
					var p, i int
					if _, err := fmt.Sscanf(string(it.Data), "%d %d", &p, &i); err != nil {
						t.Fatalf("record %q: %v", it.Data, err)
					}
					got[string(it.Data)]++
					key := fmt.Sprintf("%d/%s", p, it.Prio)
					if prev, ok := last[key]; ok && i <= prev {
						t.Fatalf("%s: record %d after %d", key, i, prev)
					}
					last[key] = i
				}
				if err := s.Ack(items...); err != nil {
					t.Fatal(err)
				}
			}
			<-statsDone
			if len(got) != producers*tt.per {
				t.Fatalf("received %d distinct records, want %d", len(got), producers*tt.per)
			}
			for r, n := range got {
				if n != 1 {
					t.Fatalf("record %q received %d times", r, n)
				}
			}
			if d, err := s.TakeDropped(); err != nil || d.Total() != 0 {
				t.Fatalf("dropped %+v, %v", d, err)
			}
		})
	}
}

// TestConcurrentFull is the same race under constant eviction: nothing is
// checked but the absence of races, panics and errors, and the capacity.
func TestConcurrentFull(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{Capacity: 8 << 10, SegmentSize: 1 << 10, SyncInterval: time.Millisecond})
	defer mustClose(t, s)
	var wg sync.WaitGroup
	for p := range 3 {
		wg.Go(func() {
			for i := range 300 {
				if err := s.Put(Priority(i%2), fmt.Appendf(nil, "%d %d %0200d", p, i, 0)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 300 {
			items, err := s.Peek(7, 1<<20)
			if err != nil {
				t.Error(err)
				return
			}
			if err := s.Ack(items...); err != nil {
				t.Error(err)
				return
			}
			if _, err := s.TakeDropped(); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	if st := mustStats(t, s); st.DiskBytes > st.Capacity {
		t.Fatalf("disk bytes %d over capacity %d", st.DiskBytes, st.Capacity)
	}
}
