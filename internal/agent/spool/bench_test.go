package spool

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// BenchmarkPut measures Put of one record per call into a spool that is
// not full (Capacity is raised so that no drops happen), with the default
// fsync on every Put and with group fsync.
func BenchmarkPut(b *testing.B) {
	for _, mode := range []struct {
		name string
		sync time.Duration
	}{{"fsync", 0}, {"group", time.Second}} {
		for _, size := range []int{256, 4096} {
			b.Run(fmt.Sprintf("%s/%dB", mode.name, size), func(b *testing.B) {
				s := mustOpen(b, b.TempDir(), Options{Capacity: 1 << 30, SyncInterval: mode.sync})
				defer mustClose(b, s)
				rec := bytes.Repeat([]byte("x"), size)
				b.SetBytes(int64(size))
				b.ResetTimer()
				for b.Loop() {
					if err := s.Put(Low, rec); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			})
		}
	}
}

// BenchmarkPutBatch measures Put of 100 records per call with fsync.
func BenchmarkPutBatch(b *testing.B) {
	s := mustOpen(b, b.TempDir(), Options{Capacity: 1 << 30})
	defer mustClose(b, s)
	recs := make([][]byte, 100)
	for i := range recs {
		recs[i] = bytes.Repeat([]byte("x"), 256)
	}
	b.SetBytes(100 * 256)
	for b.Loop() {
		if err := s.Put(Low, recs...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkPeekAck measures taking batches of 100 records of 256 bytes
// and acknowledging them (one durable state write per Ack). The spool is
// refilled, off the clock, when empty.
func BenchmarkPeekAck(b *testing.B) {
	s := mustOpen(b, b.TempDir(), Options{SyncInterval: time.Hour})
	defer mustClose(b, s)
	rec := bytes.Repeat([]byte("x"), 256)
	fill := func() {
		for range 100 {
			recs := make([][]byte, 100)
			for i := range recs {
				recs[i] = rec
			}
			if err := s.Put(Low, recs...); err != nil {
				b.Fatal(err)
			}
		}
	}
	records := 0
	for b.Loop() {
		items, err := s.Peek(100, 1<<20)
		if err != nil {
			b.Fatal(err)
		}
		if len(items) == 0 {
			b.StopTimer()
			fill()
			b.StartTimer()
			continue
		}
		if err := s.Ack(items...); err != nil {
			b.Fatal(err)
		}
		records += len(items)
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}
