package snapshot_test

import (
	"context"
	"testing"

	"github.com/moatsec/moat/internal/agent/snapshot"
	"github.com/moatsec/moat/internal/agent/snapshot/snapshottest"
)

// BenchmarkCollect takes a full snapshot of the iotdevice fixture, from
// memory (parsing cost alone) and from a directory on disk (with the
// system calls a real device pays).
func BenchmarkCollect(b *testing.B) {
	f := fixture(b, snapshottest.IoTDevice)
	b.Run("mapfs", func(b *testing.B) {
		c := snapshot.New(options(b, f))
		b.ReportAllocs()
		for b.Loop() {
			c.Collect(context.Background())
		}
	})
	b.Run("disk", func(b *testing.B) {
		dir := b.TempDir()
		if err := f.Materialize(dir); err != nil {
			b.Fatal(err)
		}
		opts := options(b, f)
		opts.FS, opts.Root = nil, dir
		c := snapshot.New(opts)
		b.ReportAllocs()
		for b.Loop() {
			c.Collect(context.Background())
		}
	})
}

// BenchmarkDiffAll compares the two fixture snapshots.
func BenchmarkDiffAll(b *testing.B) {
	good := collect(b, options(b, fixture(b, snapshottest.IoTDevice)))
	bad := collect(b, options(b, fixture(b, snapshottest.BadDevice)))
	b.ReportAllocs()
	for b.Loop() {
		snapshot.DiffAll(good, bad)
	}
}
