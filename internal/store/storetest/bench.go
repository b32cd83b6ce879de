package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/moatsec/moat/internal/store"
)

// Benchmark measures the hot paths: hub lookups (every request), loading all
// rules (authorization cache refresh) and checkpoint writes (consumers), the
// bulk import of 100,000 devices, and the security center's event writes.
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
	b.Run("PutDevices100k", func(b *testing.B) { benchPutDevices(b, seed(b, open(b)), 100_000) })
	b.Run("PutSecurityEvents/alone", func(b *testing.B) { benchPutSecurityEvents(b, open(b), 500, 1) })
	b.Run("PutSecurityEvents/groups-of-10", func(b *testing.B) { benchPutSecurityEvents(b, open(b), 2500, 10) })
	b.Run("TopSecurityEvents/200k", func(b *testing.B) { benchTopSecurityEvents(b, open(b)) })
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

// benchEvents returns the round-th batch of n events of the security
// benchmarks. The events look like an agent's: failed logins of 100
// devices from 1,000 addresses, with the fields of a Login event, in
// groups of group (the items of one agent event, a second apart; 1 = each
// on its own).
func benchEvents(round, n, group int) []store.SecurityEvent {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	evs := make([]store.SecurityEvent, n)
	for i := range evs {
		k := round*n + i
		at := base.Add(time.Duration(k) * time.Millisecond)
		addr := fmt.Sprintf("203.0.113.%d", k%1000%250)
		g := k / group
		received := at
		if group > 1 {
			received = base.Add(time.Duration(g) * time.Millisecond)
			at = received.Add(-time.Duration(k%group) * time.Second)
		}
		evs[i] = store.SecurityEvent{
			ID: fmt.Sprintf("%08x-4f2e-4c1a-9d3b-%012x/%d", g*2654435761%(1<<32), g, k%group), Device: fmt.Sprint("device-", g%100),
			Hub: "hub-1", Source: "agent", Name: "Login", Time: at, LastTime: at, Count: 1,
			RemoteAddress: addr, Result: "Fail", Received: received,
			Fields: map[string]string{"Operation": "Login", "Result": "Fail", "UserName": "root",
				"RemoteAddress": addr, "RemotePort": "52814", "Executable": "/usr/sbin/sshd", "ProcessId": "1234"},
		}
		if group > 1 {
			evs[i].Group = fmt.Sprintf("%08x-4f2e-4c1a-9d3b-%012x", g*2654435761%(1<<32), g)
		}
	}
	return evs
}

// benchPutSecurityEvents stores batches of n new events (benchEvents) per
// iteration, as the center's pipeline does, and reports events/s.
func benchPutSecurityEvents(b *testing.B, s store.Store, n, group int) {
	var round int
	for b.Loop() {
		b.StopTimer()
		evs := benchEvents(round, n, group)
		round++
		b.StartTimer()
		if _, err := s.PutSecurityEvents(b.Context(), evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
}

// benchTopSecurityEvents stores 200,000 events in groups of 10 and asks for
// the top attacking sources over all of them (the overview's heaviest
// query), reporting the events summed per second.
func benchTopSecurityEvents(b *testing.B, s store.Store) {
	const batches, n = 80, 2500
	for r := range batches {
		if _, err := s.PutSecurityEvents(b.Context(), benchEvents(r, n, 10)); err != nil {
			b.Fatal(err)
		}
	}
	q := store.TopQuery{Name: "Login", Result: "Fail", Since: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC), By: store.TopByRemoteAddress}
	b.ResetTimer()
	for b.Loop() {
		top, err := s.TopSecurityEvents(b.Context(), q)
		if err != nil || len(top) != 10 || top[0].Events != batches*n/250 {
			b.Fatalf("top = %+v, %v", top, err)
		}
	}
	b.ReportMetric(float64(batches*n*b.N)/b.Elapsed().Seconds(), "events/s")
}
