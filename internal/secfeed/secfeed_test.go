package secfeed

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
)

func TestFeedDeliversInOrderAndDrains(t *testing.T) {
	var mu sync.Mutex
	var got []int
	f := New("test", 1000, func(_ context.Context, b []int) error {
		mu.Lock()
		got = append(got, b...)
		mu.Unlock()
		return nil
	}, nil)
	for i := range 500 {
		f.Publish(i)
	}
	f.Close(context.Background())
	want := make([]int, 500)
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(got, want) || f.Dropped() != 0 {
		t.Fatalf("got %d values (dropped %d)", len(got), f.Dropped())
	}
}

func TestFeedNeverBlocksAndCounts(t *testing.T) {
	block := make(chan struct{})
	f := New("test", 2, func(_ context.Context, b []int) error { <-block; return errors.New("sink down") }, nil)
	for i := range 100 { // must return at once although the sink is stuck
		f.Publish(i)
	}
	close(block)
	f.Close(context.Background())
	if f.Dropped() != 100 { // 97+ dropped at the door, the rest failed in the sink
		t.Fatalf("dropped %d, want 100", f.Dropped())
	}
}
