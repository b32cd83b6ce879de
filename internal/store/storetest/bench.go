package storetest

import (
	"fmt"
	"testing"

	"github.com/moatsec/moat/internal/store"
)

// Benchmark measures the hot paths: hub lookups (every request), loading all
// rules (authorization cache refresh) and checkpoint writes (consumers).
// open is as for Run.
func Benchmark(b *testing.B, open func(b *testing.B) store.Store) {
	b.Run("GetHub", func(b *testing.B) {
		s := seed(b, open(b))
		for b.Loop() {
			if _, err := s.GetHub(b.Context(), "hub-5"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("GetHubParallel", func(b *testing.B) {
		s := seed(b, open(b))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.GetHub(b.Context(), "hub-5"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("ListAllRules", func(b *testing.B) {
		s := seed(b, open(b))
		for b.Loop() {
			if _, err := s.ListAllRules(b.Context()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("PutCheckpoint", func(b *testing.B) {
		s := seed(b, open(b))
		var seq uint64
		for b.Loop() {
			seq++
			cp := store.Checkpoint{Hub: "hub-5", ConsumerGroup: "g", Partition: int(seq % 4), Sequence: seq, Metadata: "m"}
			if err := s.PutCheckpoint(b.Context(), cp); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// seed fills s with the benchmark data set, 10 hubs with 10 rules each plus
// 10 namespace rules, and resets the timer.
func seed(b *testing.B, s store.Store) store.Store {
	b.Helper()
	ctx := b.Context()
	key := make([]byte, 60) // the size of a sealed 32-byte key
	put := func(hub, name string) {
		r := store.Rule{Hub: hub, Name: name, Rights: []string{store.RightSend}, PrimaryKey: key, SecondaryKey: key}
		if _, err := s.PutRule(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	for h := range 10 {
		name := fmt.Sprint("hub-", h)
		if _, err := s.PutHub(ctx, hub(name)); err != nil {
			b.Fatal(err)
		}
		put("", fmt.Sprint("ns-", h))
		for r := range 10 {
			put(name, fmt.Sprint("rule-", r))
		}
	}
	b.ResetTimer()
	return s
}
