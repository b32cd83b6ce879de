package storetest

import (
	"fmt"
	"testing"

	"github.com/moatsec/moat/internal/store"
)

// Benchmark measures the hot paths: hub lookups (every request), loading all
// rules (authorization cache refresh) and checkpoint writes (consumers), and
// the bulk import of 100,000 devices. open is as for Run.
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
	b.Run("PutDevices100k", func(b *testing.B) { benchPutDevices(b, seed(b, open(b)), 100_000) })
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

// benchPutDevices imports n new devices per iteration in one PutDevices call
// and reports devices/s. The devices look like a registry's: sealed keys,
// two tags, a small policy, and a certificate thumbprint on every fourth.
func benchPutDevices(b *testing.B, s store.Store, n int) {
	key := make([]byte, 73) // the size of a sealed 44-character base64 key
	policy := []byte(`{"allowedNetworks":["10.0.0.0/8"],"maxSilence":"1h","tokenTTL":"5m"}`)
	var round int
	for b.Loop() {
		b.StopTimer()
		ds := make([]store.Device, n)
		for i := range ds {
			id := fmt.Sprintf("r%d-dev-%06d", round, i)
			ds[i] = store.Device{ID: id, Hub: "hub-1", Status: store.DeviceEnabled, PrimaryKey: key, SecondaryKey: key,
				Tags: map[string]string{"site": fmt.Sprint("site-", i%50), "model": "m2"}, Policy: policy}
			if i%4 == 0 {
				ds[i].CertThumbprint = fmt.Sprintf("%064x", round*n+i)
			}
		}
		round++
		b.StartTimer()
		if err := s.PutDevices(b.Context(), ds); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "devices/s")
}
