package sim

import (
	"testing"
	"time"
)

// BenchmarkSnapshotRequest measures what a device's start costs the
// simulator: building, validating, packing and compressing its five
// snapshots.
func BenchmarkSnapshotRequest(b *testing.B) {
	enc, err := newEncoder(DefaultAgentVersion, agentID("sim-0001"), newGzipPool())
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		req, err := enc.security(snapshots("sim-0001", now, now))
		if err != nil || req.messages != 1 {
			b.Fatal(err, req.messages)
		}
		b.SetBytes(int64(len(req.body)))
	}
}

// BenchmarkBruteForceFlush measures one flush of a large brute force.
func BenchmarkBruteForceFlush(b *testing.B) {
	a := Attack{Kind: AttackSSHBruteForce, Attempts: 1000, From: DefaultAttacker}
	b.ReportAllocs()
	for b.Loop() {
		bf := newBruteForce(a, t0, time.Second, 10*time.Second)
		if f := bf.take(); f.failures != 1000 {
			b.Fatal(f.failures)
		}
	}
}
