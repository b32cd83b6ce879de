package eventlog

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Benchmarks report events/s. Run, for example:
//
//	go test -run '^$' -bench . -benchtime 200x ./internal/eventlog/
//
// "external" variants use the machine's NATS (MOAT_TEST_NATS) and are
// skipped when it is unreachable.

const (
	benchBatch      = 100
	benchBodySize   = 200
	benchPartitions = 4
)

var benchModes = []struct {
	name string
	open func(testing.TB) *Log
}{
	{"embedded", func(tb testing.TB) *Log { return openEmbedded(tb, tb.TempDir()) }},
	{"external", func(tb testing.TB) *Log { return openExternal(tb) }},
}

func reportEventsPerSec(b *testing.B, events int) {
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

func benchEvents(n, offset int) []Event {
	body := []byte(strings.Repeat("b", benchBodySize))
	evs := make([]Event, n)
	for i := range evs {
		evs[i] = Event{Partition: (offset + i) % benchPartitions, Publisher: "bench-device", Body: body}
	}
	return evs
}

// BenchmarkAppend: batches of 100 events of 200 B from many concurrent
// callers (like HTTP requests), each call waiting for all its acks.
func BenchmarkAppend(b *testing.B) {
	for _, mode := range benchModes {
		b.Run(mode.name, func(b *testing.B) {
			benchAppend(b, mode.open(b), benchBatch)
		})
	}
}

// BenchmarkAppendSingle: one event per Append call, many concurrent callers.
func BenchmarkAppendSingle(b *testing.B) {
	for _, mode := range benchModes {
		b.Run(mode.name, func(b *testing.B) {
			benchAppend(b, mode.open(b), 1)
		})
	}
}

func benchAppend(b *testing.B, l *Log, batch int) {
	ensureHub(b, l, "bench", benchPartitions)
	ctx := context.Background()
	var offset sync.Mutex
	next := 0
	b.SetParallelism(8) // 8 callers per core
	b.SetBytes(int64(batch * benchBodySize))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		offset.Lock()
		evs := benchEvents(batch, next)
		next++
		offset.Unlock()
		for pb.Next() {
			if _, err := l.Append(ctx, "bench", evs); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportEventsPerSec(b, b.N*batch)
}

// BenchmarkRawPublish is the ceiling of one message per event: plain
// JetStream async publishes of 200 B bodies with nats.go's default settings
// (4000 acks in flight), one publisher per pooled connection, waiting only
// once at the end for all acks. A publisher that finds 4000 acks pending
// waits for room (up to a minute) instead of failing after nats.go's default
// 200 ms, which a busy 2-core machine exceeds.
func BenchmarkRawPublish(b *testing.B) {
	for _, mode := range benchModes {
		b.Run(mode.name, func(b *testing.B) {
			l := mode.open(b)
			ensureHub(b, l, "raw", benchPartitions)
			h := l.hubs.get("raw")
			body := []byte(strings.Repeat("b", benchBodySize))
			b.SetBytes(benchBodySize)
			b.ResetTimer()
			var wg sync.WaitGroup
			for ci, c := range l.conns {
				n := b.N / len(l.conns)
				if ci == 0 {
					n += b.N % len(l.conns)
				}
				js, err := jetstream.New(c.nc)
				if err != nil {
					b.Fatal(err)
				}
				wg.Go(func() {
					for i := range n {
						m := &nats.Msg{Subject: h.subjects[i%benchPartitions], Data: body}
						if _, err := js.PublishMsgAsync(m, jetstream.WithStallWait(time.Minute)); err != nil {
							b.Error(err)
							return
						}
					}
					<-js.PublishAsyncComplete()
				})
			}
			wg.Wait()
			reportEventsPerSec(b, b.N)
		})
	}
}

// BenchmarkRead: sequential reads of 100 events (200 B) from one partition,
// the way a consumer catches up: each read starts at the previous one's next.
// The partition holds 100 records of 100 events.
func BenchmarkRead(b *testing.B) {
	for _, mode := range benchModes {
		b.Run(mode.name, func(b *testing.B) {
			l := mode.open(b)
			ensureHub(b, l, "read", 1)
			evs := benchEvents(benchBatch, 0)
			for i := range evs {
				evs[i].Partition = 0
			}
			for range 100 {
				mustAppend(b, l, "read", evs...)
			}
			ctx := context.Background()
			b.SetBytes(benchBatch * benchBodySize)
			b.ResetTimer()
			from := uint64(1)
			for range b.N {
				got, next, err := l.Read(ctx, "read", 0, from, benchBatch, 0)
				if err == nil && len(got) == 0 { // at the end: start over
					from = 1
					got, next, err = l.Read(ctx, "read", 0, from, benchBatch, 0)
				}
				if err != nil || len(got) != benchBatch {
					b.Fatalf("Read: %d events, %v", len(got), err)
				}
				from = next
			}
			reportEventsPerSec(b, b.N*benchBatch)
		})
	}
}

// BenchmarkReadBigRecords: the same sequential reads of 100 events from
// records of 10,000 events (one HTTP request of 10,000 events to one
// partition), so each read fetches a 2 MB record to return 2% of it.
func BenchmarkReadBigRecords(b *testing.B) {
	for _, mode := range benchModes {
		b.Run(mode.name, func(b *testing.B) {
			l := mode.open(b)
			ensureHub(b, l, "readbig", 1)
			evs := benchEvents(10_000, 0)
			for i := range evs {
				evs[i].Partition = 0
			}
			for range 3 {
				mustAppend(b, l, "readbig", evs...)
			}
			ctx := context.Background()
			b.SetBytes(benchBatch * benchBodySize)
			b.ResetTimer()
			from := uint64(1)
			for range b.N {
				got, next, err := l.Read(ctx, "readbig", 0, from, benchBatch, 0)
				if err == nil && len(got) == 0 { // at the end: start over
					from = 1
					got, next, err = l.Read(ctx, "readbig", 0, from, benchBatch, 0)
				}
				if err != nil || len(got) != benchBatch {
					b.Fatalf("Read: %d events, %v", len(got), err)
				}
				from = next
			}
			reportEventsPerSec(b, b.N*benchBatch)
		})
	}
}
