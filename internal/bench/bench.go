// Package bench measures a Moat server: ingest throughput and latency over
// real HTTP(S) connections, and the raw durable-log append rate on the same
// machine as the ceiling. `moat bench` is a thin wrapper around it.
package bench

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Latencies summarizes request latencies.
type Latencies struct {
	P50, P90, P99, P999, Max time.Duration
}

func summarize(d []time.Duration) Latencies {
	if len(d) == 0 {
		return Latencies{}
	}
	slices.Sort(d)
	at := func(q float64) time.Duration { return d[min(len(d)-1, int(q*float64(len(d))))] }
	return Latencies{P50: at(0.50), P90: at(0.90), P99: at(0.99), P999: at(0.999), Max: d[len(d)-1]}
}

// Result is one benchmark run.
type Result struct {
	Name        string
	Duration    time.Duration
	Requests    int64
	Events      int64
	Bytes       int64
	Errors      map[string]int64
	Latency     Latencies
	Concurrency int
	Unit        string // what Events counts: "events" (default) or "tokens"
}

// EventsPerSec is the durable event rate.
func (r Result) EventsPerSec() float64 { return float64(r.Events) / r.Duration.Seconds() }

// RequestsPerSec is the request rate.
func (r Result) RequestsPerSec() float64 { return float64(r.Requests) / r.Duration.Seconds() }

// Print writes a human-readable report.
func (r Result) Print(w io.Writer) {
	unit := r.Unit
	if unit == "" {
		unit = "events"
	}
	fmt.Fprintf(w, "%s: %d requests, %d %s in %s with %d concurrent clients\n",
		r.Name, r.Requests, r.Events, unit, r.Duration.Round(time.Millisecond), r.Concurrency)
	fmt.Fprintf(w, "  %.0f %s/s, %.0f requests/s", r.EventsPerSec(), unit, r.RequestsPerSec())
	if r.Bytes > 0 {
		fmt.Fprintf(w, ", %.1f MB/s of event bodies", float64(r.Bytes)/r.Duration.Seconds()/1e6)
	}
	fmt.Fprintln(w)
	if r.Latency.Max > 0 {
		fmt.Fprintf(w, "  latency p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n", ms(r.Latency.P50), ms(r.Latency.P90),
			ms(r.Latency.P99), ms(r.Latency.P999), ms(r.Latency.Max))
	}
	if len(r.Errors) > 0 {
		var parts []string
		for k, v := range r.Errors {
			parts = append(parts, fmt.Sprintf("%s=%d", k, v))
		}
		slices.Sort(parts)
		fmt.Fprintf(w, "  errors: %s\n", strings.Join(parts, " "))
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// Machine describes where a benchmark ran.
func Machine() string {
	return fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
}

// window lets the load run for warmup, then sets measuring for duration (or
// until ctx ends) and returns the measured time.
func window(ctx context.Context, warmup, duration time.Duration, measuring *atomic.Bool) time.Duration {
	select {
	case <-time.After(warmup):
	case <-ctx.Done():
	}
	measuring.Store(true)
	start := time.Now()
	select {
	case <-time.After(duration):
	case <-ctx.Done():
	}
	measuring.Store(false)
	return time.Since(start)
}
