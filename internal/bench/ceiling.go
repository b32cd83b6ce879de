package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moatsec/moat/internal/eventlog"
)

// CeilingOptions configures a raw log run.
type CeilingOptions struct {
	Log         eventlog.Config // embedded under DataDir, or URL for an external server
	Batch       int
	Size        int
	Concurrency int
	Duration    time.Duration
	Partitions  int
}

// Ceiling measures durable appends straight into the event log (no HTTP,
// no authorization): the rate the hub could reach at best on this machine.
func Ceiling(ctx context.Context, o CeilingOptions) (Result, error) {
	l, err := eventlog.Open(ctx, o.Log)
	if err != nil {
		return Result{}, err
	}
	defer l.Close()
	const hubName = "ceiling"
	if err := l.EnsureHub(ctx, eventlog.HubSpec{Name: hubName, Partitions: o.Partitions, Retention: time.Hour}); err != nil {
		return Result{}, err
	}
	defer l.DeleteHub(context.Background(), hubName)
	body := []byte(strings.Repeat("x", o.Size))
	var requests, events atomic.Int64
	lat := make([][]time.Duration, o.Concurrency)
	runCtx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for w := range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			evs := make([]eventlog.Event, o.Batch)
			for i := range evs {
				evs[i] = eventlog.Event{Partition: w % o.Partitions, Body: body}
			}
			for runCtx.Err() == nil {
				t0 := time.Now()
				if _, err := l.Append(runCtx, hubName, evs); err != nil {
					if runCtx.Err() == nil {
						firstErr.CompareAndSwap(nil, err)
					}
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
				requests.Add(1)
				events.Add(int64(o.Batch))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, _ := firstErr.Load().(error); err != nil {
		return Result{}, fmt.Errorf("bench: append: %w", err)
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	return Result{Name: fmt.Sprintf("log ceiling (eventlog.Append) batch=%d size=%dB", o.Batch, o.Size), Duration: elapsed,
		Requests: requests.Load(), Events: events.Load(), Bytes: events.Load() * int64(o.Size),
		Latency: summarize(all), Concurrency: o.Concurrency}, nil
}
