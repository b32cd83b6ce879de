package eventlog

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/moatsec/moat/internal/eventlog/natstest"
)

// testLogger reports warnings and errors through t.Log, so a noisy server or
// client shows up in failing tests only.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// randomPrefix gives each test its own namespace on a shared server.
func randomPrefix() string { return natstest.Prefix() }

func openEmbedded(t testing.TB, dir string) *Log {
	t.Helper()
	l, err := Open(context.Background(), Config{DataDir: dir, Logger: testLogger(t), Prefix: randomPrefix()})
	if err != nil {
		t.Fatalf("Open embedded: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// openEmbeddedAt reopens a data dir with a known prefix (persistence tests).
func openEmbeddedAt(t testing.TB, dir, prefix string) *Log {
	t.Helper()
	l, err := Open(context.Background(), Config{DataDir: dir, Logger: testLogger(t), Prefix: prefix})
	if err != nil {
		t.Fatalf("Open embedded: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// openExternal connects to the machine's NATS server (natstest) with a fresh
// prefix whose streams are deleted when the test ends.
func openExternal(t testing.TB) *Log {
	t.Helper()
	url, prefix := natstest.URL(t), randomPrefix()
	natstest.Cleanup(t, url, prefix)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := Open(ctx, Config{URL: url, Logger: testLogger(t), Prefix: prefix, Conns: 2})
	if err != nil {
		t.Fatalf("external NATS %s: %v", url, err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// consumers returns the number of consumers on hub's stream.
func consumers(t testing.TB, l *Log, hub string) int {
	t.Helper()
	s, err := l.control().js.Stream(context.Background(), l.names.stream(hub))
	if err != nil {
		t.Fatalf("stream info: %v", err)
	}
	return s.CachedInfo().State.Consumers
}

// awaitConsumers polls until hub's stream has n consumers: it is how tests
// know a long poll is parked on the server. Polling is a wait, not a timing
// assertion; a hang is caught by the deadline.
func awaitConsumers(t testing.TB, l *Log, hub string, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for consumers(t, l, hub) != n {
		if time.Now().After(deadline) {
			t.Fatalf("hub %s never had %d consumers", hub, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func ensureHub(t testing.TB, l *Log, name string, partitions int) {
	t.Helper()
	if err := l.EnsureHub(context.Background(), HubSpec{Name: name, Partitions: partitions, Retention: time.Hour}); err != nil {
		t.Fatalf("EnsureHub(%s): %v", name, err)
	}
}

func mustAppend(t testing.TB, l *Log, hub string, events ...Event) []uint64 {
	t.Helper()
	seqs, err := l.Append(context.Background(), hub, events)
	if err != nil {
		t.Fatalf("Append(%s): %v", hub, err)
	}
	if len(seqs) != len(events) {
		t.Fatalf("Append(%s) returned %d sequences for %d events", hub, len(seqs), len(events))
	}
	return seqs
}

func mustRead(t testing.TB, l *Log, hub string, partition int, from uint64, limit int) ([]Event, uint64) {
	t.Helper()
	evs, next, err := l.Read(context.Background(), hub, partition, from, limit, 0)
	if err != nil {
		t.Fatalf("Read(%s/%d from %d): %v", hub, partition, from, err)
	}
	return evs, next
}

func bodies(evs []Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = string(e.Body)
	}
	return out
}

func seqsOf(evs []Event) []uint64 {
	out := make([]uint64, len(evs))
	for i, e := range evs {
		out[i] = e.Sequence
	}
	return out
}

// result carries a Read's outcome out of a goroutine.
type readResult struct {
	events []Event
	next   uint64
	err    error
}

func readAsync(ctx context.Context, l *Log, hub string, partition int, from uint64, limit int, wait time.Duration) <-chan readResult {
	ch := make(chan readResult, 1)
	go func() {
		evs, next, err := l.Read(ctx, hub, partition, from, limit, wait)
		ch <- readResult{evs, next, err}
	}()
	return ch
}

// receive waits for a Read started by readAsync; the deadline only guards
// against a hang.
func receive(t testing.TB, ch <-chan readResult) readResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(time.Minute):
		t.Fatal("Read did not return")
		return readResult{}
	}
}
