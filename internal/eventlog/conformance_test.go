package eventlog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/nats-io/nats.go"
)

// TestEmbedded runs the conformance suite on a fresh embedded server per
// subtest.
func TestEmbedded(t *testing.T) {
	t.Parallel()
	testConformance(t, func(t *testing.T) *Log { return openEmbedded(t, t.TempDir()) })
}

// TestEmbeddedWithoutBatchGet runs the suite with batched direct gets
// turned off, exercising the consumer-based reads used for servers < 2.11
// even when no such external server is available.
func TestEmbeddedWithoutBatchGet(t *testing.T) {
	t.Parallel()
	testConformance(t, func(t *testing.T) *Log {
		l := openEmbedded(t, t.TempDir())
		for _, c := range l.conns {
			c.batchGet = false
		}
		return l
	})
}

// TestExternal runs the conformance suite on the machine's NATS server
// (MOAT_TEST_NATS, default nats://127.0.0.1:4222).
func TestExternal(t *testing.T) {
	t.Parallel()
	openExternal(t) // skip (or fail) early if unreachable
	testConformance(t, func(t *testing.T) *Log { return openExternal(t) })
}

// testConformance is the behaviour every deployment of the log must have.
func testConformance(t *testing.T, newLog func(t *testing.T) *Log) {
	ctx := context.Background()

	t.Run("EnsureHubIdempotentAndUpdates", func(t *testing.T) {
		l := newLog(t)
		spec := HubSpec{Name: "h1", Partitions: 2, Retention: time.Hour}
		for range 2 {
			if err := l.EnsureHub(ctx, spec); err != nil {
				t.Fatalf("EnsureHub: %v", err)
			}
		}
		if _, err := l.Append(ctx, "h1", []Event{{Partition: 3}}); !errors.Is(err, ErrNoPartition) {
			t.Fatalf("Append to partition 3 of 2: err = %v, want ErrNoPartition", err)
		}

		spec.Partitions, spec.Retention = 4, 2*time.Hour
		if err := l.EnsureHub(ctx, spec); err != nil {
			t.Fatalf("EnsureHub grow: %v", err)
		}
		mustAppend(t, l, "h1", Event{Partition: 3, Body: []byte("p3")})
		info, err := l.control().js.Stream(ctx, l.names.stream("h1"))
		if err != nil {
			t.Fatal(err)
		}
		cfg := info.CachedInfo().Config
		if len(cfg.Subjects) != 4 || cfg.MaxAge != 2*time.Hour || cfg.Duplicates != DefaultDedupWindow {
			t.Errorf("stream config: subjects %v, max age %v, duplicates %v", cfg.Subjects, cfg.MaxAge, cfg.Duplicates)
		}

		spec.Partitions = 1
		if err := l.EnsureHub(ctx, spec); err != nil {
			t.Fatalf("EnsureHub shrink: %v", err)
		}
		if _, _, err := l.Read(ctx, "h1", 3, 1, 10, 0); !errors.Is(err, ErrNoPartition) {
			t.Errorf("Read partition 3 after shrink: err = %v, want ErrNoPartition", err)
		}

		// A short retention caps the dedup window.
		if err := l.EnsureHub(ctx, HubSpec{Name: "short", Partitions: 1, Retention: time.Minute}); err != nil {
			t.Fatalf("EnsureHub short: %v", err)
		}

		for _, bad := range []HubSpec{
			{Name: "Upper", Partitions: 1, Retention: time.Hour},
			{Name: "a.b", Partitions: 1, Retention: time.Hour},
			{Name: "", Partitions: 1, Retention: time.Hour},
			{Name: "ok", Partitions: 0, Retention: time.Hour},
			{Name: "ok", Partitions: 1},
		} {
			if err := l.EnsureHub(ctx, bad); !errors.Is(err, ErrInvalid) {
				t.Errorf("EnsureHub(%+v): err = %v, want ErrInvalid", bad, err)
			}
		}
	})

	t.Run("DeleteHub", func(t *testing.T) {
		l := newLog(t)
		ensureHub(t, l, "gone", 1)
		mustAppend(t, l, "gone", Event{Body: []byte("x")})
		if err := l.DeleteHub(ctx, "gone"); err != nil {
			t.Fatalf("DeleteHub: %v", err)
		}
		if err := l.DeleteHub(ctx, "gone"); !errors.Is(err, ErrNoHub) {
			t.Errorf("DeleteHub twice: err = %v, want ErrNoHub", err)
		}
		if _, err := l.Append(ctx, "gone", []Event{{Body: []byte("x")}}); !errors.Is(err, ErrNoHub) {
			t.Errorf("Append after delete: err = %v, want ErrNoHub", err)
		}
		// Recreated hubs start empty.
		ensureHub(t, l, "gone", 1)
		if evs, _ := mustRead(t, l, "gone", 0, 1, 10); len(evs) != 0 {
			t.Errorf("recreated hub has %d events", len(evs))
		}
	})

	t.Run("RoundTripPreservesEverything", func(t *testing.T) {
		l := newLog(t)
		ensureHub(t, l, "rt", 2)
		in := []Event{
			{Partition: 1, Body: []byte("plain")},
			{
				Partition:    1,
				Publisher:    "dev-01",
				PartitionKey: " key with spaces, 100% ünïcode\r\nand: newline ",
				Properties: map[string]any{
					"Key":    "upper",
					"key":    "lower",
					"int":    int64(9007199254740993), // beyond float64 precision
					"float":  1.5,
					"bool":   true,
					"null":   nil,
					"nested": map[string]any{"a": []any{"x", 2}},
					"text":   "line1\nline2 \t%41",
				},
				Body: []byte{0, 1, 2, '\r', '\n', 0xff},
			},
			{Partition: 1, Publisher: "pub", Body: nil},
			{Partition: 1, Properties: map[string]any{}, Body: []byte("empty props")},
		}
		seqs := mustAppend(t, l, "rt", in...)
		if !slices.IsSorted(seqs) || seqs[0] == 0 {
			t.Fatalf("sequences %v not increasing from 1", seqs)
		}
		out, next := mustRead(t, l, "rt", 1, 1, 100)
		if next != seqs[len(seqs)-1]+1 {
			t.Errorf("next = %d, want %d", next, seqs[len(seqs)-1]+1)
		}
		if got := seqsOf(out); !slices.Equal(got, seqs) {
			t.Errorf("read sequences %v, appended %v", got, seqs)
		}
		for _, ev := range out {
			if ev.EnqueuedTime.IsZero() || ev.EnqueuedTime.Location() != time.UTC {
				t.Errorf("EnqueuedTime %v: want non-zero UTC", ev.EnqueuedTime)
			}
		}
		// Properties come back as JSON types; numbers as json.Number.
		want := slices.Clone(in)
		want[1].Properties = map[string]any{
			"Key": "upper", "key": "lower",
			"int": json.Number("9007199254740993"), "float": json.Number("1.5"),
			"bool": true, "null": nil,
			"nested": map[string]any{"a": []any{"x", json.Number("2")}},
			"text":   "line1\nline2 \t%41",
		}
		want[3].Properties = nil // an empty map is not sent
		opts := cmp.Options{
			cmpopts.IgnoreFields(Event{}, "Sequence", "EnqueuedTime"),
			cmpopts.EquateEmpty(),
		}
		if diff := cmp.Diff(want, out, opts); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	})

	t.Run("PartitionIsolation", func(t *testing.T) {
		l := newLog(t)
		ensureHub(t, l, "iso", 3)
		var batch []Event
		for i := range 12 {
			batch = append(batch, Event{Partition: i % 3, Body: fmt.Appendf(nil, "p%d-%d", i%3, i)})
		}
		mustAppend(t, l, "iso", batch...)
		for p := range 3 {
			evs, _ := mustRead(t, l, "iso", p, 1, 100)
			var want []string
			for i := p; i < 12; i += 3 {
				want = append(want, fmt.Sprintf("p%d-%d", p, i))
			}
			if diff := cmp.Diff(want, bodies(evs)); diff != "" {
				t.Errorf("partition %d (-want +got):\n%s", p, diff)
			}
			for _, e := range evs {
				if e.Partition != p {
					t.Errorf("partition %d returned an event of partition %d", p, e.Partition)
				}
			}
		}
	})

	t.Run("ReadFromLimitNext", func(t *testing.T) {
		l := newLog(t)
		ensureHub(t, l, "rd", 2)
		var batch []Event
		for i := range 10 {
			batch = append(batch, Event{Partition: 0, Body: fmt.Appendf(nil, "%d", i)})
			batch = append(batch, Event{Partition: 1, Body: []byte("other")})
		}
		all := mustAppend(t, l, "rd", batch...)
		var p0 []uint64
		for i, s := range all {
			if i%2 == 0 {
				p0 = append(p0, s)
			}
		}

		// Page through partition 0 three at a time, starting at 0 (= 1).
		var got []uint64
		from := uint64(0)
		for page := 0; ; page++ {
			evs, next := mustRead(t, l, "rd", 0, from, 3)
			if len(evs) > 3 {
				t.Fatalf("page %d: %d events, limit 3", page, len(evs))
			}
			if next < from {
				t.Fatalf("next %d went backwards from %d", next, from)
			}
			if len(evs) == 0 {
				if next != max(from, 1) {
					t.Errorf("empty read: next = %d, want from %d", next, from)
				}
				break
			}
			if next != evs[len(evs)-1].Sequence+1 {
				t.Errorf("next = %d, want last+1 = %d", next, evs[len(evs)-1].Sequence+1)
			}
			got = append(got, seqsOf(evs)...)
			from = next
		}
		if diff := cmp.Diff(p0, got); diff != "" {
			t.Errorf("paged sequences (-want +got):\n%s", diff)
		}

		// From inside the record: that event on.
		evs, _ := mustRead(t, l, "rd", 0, p0[4], 2)
		if diff := cmp.Diff(p0[4:6], seqsOf(evs)); diff != "" {
			t.Errorf("Read from p0[4] (-want +got):\n%s", diff)
		}
		// From a sequence of another partition stored later: the next event
		// of partition 0 after it.
		p1 := mustAppend(t, l, "rd", Event{Partition: 1, Body: []byte("between")})
		later := mustAppend(t, l, "rd", Event{Partition: 0, Body: []byte("later")})
		evs, _ = mustRead(t, l, "rd", 0, p1[0], 5)
		if diff := cmp.Diff(later, seqsOf(evs)); diff != "" {
			t.Errorf("Read from a partition-1 sequence (-want +got):\n%s", diff)
		}
		// Beyond the end.
		evs, next := mustRead(t, l, "rd", 0, 1<<40, 5)
		if len(evs) != 0 || next != 1<<40 {
			t.Errorf("Read beyond end = %d events, next %d", len(evs), next)
		}
		if _, _, err := l.Read(ctx, "rd", 0, 1, 0, 0); !errors.Is(err, ErrInvalid) {
			t.Errorf("limit 0: err = %v, want ErrInvalid", err)
		}
	})

	t.Run("ReadLargeBatch", func(t *testing.T) {
		l := newLog(t)
		ensureHub(t, l, "big", 1)
		body := []byte(strings.Repeat("x", 200))
		batch := make([]Event, 500)
		for i := range batch {
			batch[i] = Event{Body: body}
		}
		seqs := mustAppend(t, l, "big", batch...)
		evs, next := mustRead(t, l, "big", 0, 1, 1000)
		if !slices.Equal(seqsOf(evs), seqs) || next != seqs[len(seqs)-1]+1 {
			t.Errorf("read %d events (next %d), want %d", len(evs), next, len(seqs))
		}
	})

	t.Run("LongPollWakesOnAppend", func(t *testing.T) {
		l := newLog(t)
		ensureHub(t, l, "lp", 2)
		old := mustAppend(t, l, "lp", Event{Partition: 0, Body: []byte("old")})
		from := old[0] + 1

		res := readAsync(ctx, l, "lp", 0, from, 10, time.Hour)
		awaitConsumers(t, l, "lp", 1) // the Read is parked on the server
		mustAppend(t, l, "lp", Event{Partition: 1, Body: []byte("elsewhere")})
		seqs := mustAppend(t, l, "lp", Event{Partition: 0, Body: []byte("new")}, Event{Partition: 0, Body: []byte("newer")})

		r := receive(t, res)
		if r.err != nil {
			t.Fatalf("long poll: %v", r.err)
		}
		if len(r.events) == 0 || r.events[0].Sequence != seqs[0] || string(r.events[0].Body) != "new" {
			t.Fatalf("long poll returned %v (%q), want first sequence %d", seqsOf(r.events), bodies(r.events), seqs[0])
		}
		if r.next != r.events[len(r.events)-1].Sequence+1 {
			t.Errorf("next = %d", r.next)
		}
		if n := consumers(t, l, "lp"); n != 0 {
			t.Errorf("%d consumers left after long poll", n)
		}
	})

	t.Run("LongPollReturnsAvailableAtOnce", func(t *testing.T) {
		l := newLog(t)
		ensureHub(t, l, "lpa", 1)
		seqs := mustAppend(t, l, "lpa", Event{Body: []byte("a")})
		evs, next, err := l.Read(ctx, "lpa", 0, 1, 10, time.Hour)
		if err != nil || len(evs) != 1 || next != seqs[0]+1 {
			t.Fatalf("Read = %v, %d, %v", seqsOf(evs), next, err)
		}
	})

	t.Run("LongPollExpiresEmpty", func(t *testing.T) {
		l := newLog(t)
		ensureHub(t, l, "lpe", 1)
		evs, next, err := l.Read(ctx, "lpe", 0, 7, 10, 20*time.Millisecond)
		if err != nil || len(evs) != 0 || next != 7 {
			t.Fatalf("Read = %v, next %d, %v; want nothing, 7, nil", seqsOf(evs), next, err)
		}
		if n := consumers(t, l, "lpe"); n != 0 {
			t.Errorf("%d consumers left after long poll", n)
		}
	})

	t.Run("LongPollContextCancel", func(t *testing.T) {
		l := newLog(t)
		ensureHub(t, l, "lpc", 1)
		cctx, cancel := context.WithCancel(ctx)
		res := readAsync(cctx, l, "lpc", 0, 1, 10, time.Hour)
		awaitConsumers(t, l, "lpc", 1)
		cancel()
		r := receive(t, res)
		if !errors.Is(r.err, ErrUnavailable) || !errors.Is(r.err, context.Canceled) {
			t.Fatalf("err = %v, want ErrUnavailable and context.Canceled", r.err)
		}
		if r.next != 1 {
			t.Errorf("next = %d, want 1", r.next)
		}
	})

	t.Run("UnknownHubAndPartition", func(t *testing.T) {
		l := newLog(t)
		if _, err := l.Append(ctx, "nope", []Event{{Body: []byte("x")}}); !errors.Is(err, ErrNoHub) {
			t.Errorf("Append: err = %v, want ErrNoHub", err)
		}
		if _, _, err := l.Read(ctx, "nope", 0, 1, 10, time.Hour); !errors.Is(err, ErrNoHub) {
			t.Errorf("Read: err = %v, want ErrNoHub", err)
		}
		if _, err := l.PartitionInfo(ctx, "nope", 0); !errors.Is(err, ErrNoHub) {
			t.Errorf("PartitionInfo: err = %v, want ErrNoHub", err)
		}
		if err := l.DeleteHub(ctx, "nope"); !errors.Is(err, ErrNoHub) {
			t.Errorf("DeleteHub: err = %v, want ErrNoHub", err)
		}
		if _, _, err := l.Read(ctx, "Bad.Name", 0, 1, 10, 0); !errors.Is(err, ErrInvalid) {
			t.Errorf("Read bad name: err = %v, want ErrInvalid", err)
		}
		ensureHub(t, l, "two", 2)
		for _, p := range []int{-1, 2} {
			if _, err := l.Append(ctx, "two", []Event{{Partition: p}}); !errors.Is(err, ErrNoPartition) {
				t.Errorf("Append partition %d: err = %v, want ErrNoPartition", p, err)
			}
			if _, _, err := l.Read(ctx, "two", p, 1, 10, 0); !errors.Is(err, ErrNoPartition) {
				t.Errorf("Read partition %d: err = %v, want ErrNoPartition", p, err)
			}
		}
	})

	t.Run("StaleHubCache", func(t *testing.T) {
		// Another node deletes and recreates a hub behind this Log's back.
		l := newLog(t)
		l.cfg.Timeout = 2 * time.Second // pre-2.10 servers make a read of a deleted stream time out
		js := l.control().js
		ensureHub(t, l, "shared", 1)
		mustAppend(t, l, "shared", Event{Body: []byte("x")})
		if err := js.DeleteStream(ctx, l.names.stream("shared")); err != nil {
			t.Fatal(err)
		}
		if _, _, err := l.Read(ctx, "shared", 0, 1, 10, 0); !errors.Is(err, ErrNoHub) {
			t.Errorf("Read of hub deleted elsewhere: err = %v, want ErrNoHub", err)
		}
	})

	t.Run("StaleHubCacheAppend", func(t *testing.T) {
		l := newLog(t)
		js := l.control().js
		ensureHub(t, l, "shared", 1)
		mustAppend(t, l, "shared", Event{Body: []byte("x")})
		if err := js.DeleteStream(ctx, l.names.stream("shared")); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Append(ctx, "shared", []Event{{Body: []byte("x")}}); !errors.Is(err, ErrNoHub) {
			t.Errorf("Append to hub deleted elsewhere: err = %v, want ErrNoHub", err)
		}
		cfg, err := l.streamConfig(HubSpec{Name: "shared", Partitions: 3, Retention: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.CreateStream(ctx, cfg); err != nil {
			t.Fatal(err)
		}
		mustAppend(t, l, "shared", Event{Partition: 2, Body: []byte("grown elsewhere")})
	})

	t.Run("MsgIDDedup", func(t *testing.T) {
		l := newLog(t)
		ensureHub(t, l, "dd", 1)
		first := mustAppend(t, l, "dd", Event{Body: []byte("a"), MsgID: "id-1"}, Event{Body: []byte("b"), MsgID: "id 2/ü"})
		again := mustAppend(t, l, "dd", Event{Body: []byte("a again"), MsgID: "id-1"}, Event{Body: []byte("c")})
		if again[0] != first[0] {
			t.Errorf("duplicate got sequence %d, original %d", again[0], first[0])
		}
		evs, _ := mustRead(t, l, "dd", 0, 1, 10)
		if diff := cmp.Diff([]string{"a", "b", "c"}, bodies(evs)); diff != "" {
			t.Errorf("stored bodies (-want +got):\n%s", diff)
		}
		if evs[1].MsgID != "id 2/ü" {
			t.Errorf("MsgID = %q", evs[1].MsgID)
		}
	})

	t.Run("PartitionInfo", func(t *testing.T) {
		l := newLog(t)
		ensureHub(t, l, "pi", 2)
		info, err := l.PartitionInfo(ctx, "pi", 0)
		if err != nil || !info.Empty {
			t.Fatalf("empty partition: %+v, %v", info, err)
		}
		seqs := mustAppend(t, l, "pi", Event{Partition: 1}, Event{Partition: 0}, Event{Partition: 1}, Event{Partition: 0})
		info, err = l.PartitionInfo(ctx, "pi", 1)
		if err != nil {
			t.Fatal(err)
		}
		if info.Empty || info.FirstSequence != seqs[0] || info.LastSequence != seqs[2] || info.LastEnqueuedTime.IsZero() {
			t.Errorf("PartitionInfo = %+v, want first %d last %d", info, seqs[0], seqs[2])
		}
	})

	t.Run("TooLarge", func(t *testing.T) {
		l := newLog(t)
		ensureHub(t, l, "tl", 1)
		big := make([]byte, l.MaxPayload()+1)
		_, err := l.Append(ctx, "tl", []Event{{Body: []byte("fits")}, {Body: big}})
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
		if evs, _ := mustRead(t, l, "tl", 0, 1, 10); len(evs) != 0 {
			t.Errorf("a rejected batch stored %d events", len(evs))
		}
	})

	t.Run("AppendEdgeCases", func(t *testing.T) {
		l := newLog(t)
		ensureHub(t, l, "ec", 1)
		if seqs, err := l.Append(ctx, "ec", nil); err != nil || len(seqs) != 0 {
			t.Errorf("empty Append = %v, %v", seqs, err)
		}
		_, err := l.Append(ctx, "ec", []Event{{Properties: map[string]any{"f": func() {}}}})
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("unencodable properties: err = %v, want ErrInvalid", err)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err = l.Append(cctx, "ec", []Event{{Body: []byte("x")}})
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled ctx: err = %v, want ErrUnavailable and context.Canceled", err)
		}
	})

	t.Run("ConcurrentAppends", func(t *testing.T) {
		l := newLog(t)
		ensureHub(t, l, "cc", 4)
		const writers, batches, size = 8, 10, 25
		var mu sync.Mutex
		var all []uint64
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for range batches {
					batch := make([]Event, size)
					for i := range batch {
						batch[i] = Event{Partition: (w + i) % 4, Publisher: fmt.Sprint("w", w), Body: []byte("x")}
					}
					seqs, err := l.Append(ctx, "cc", batch)
					if err != nil {
						t.Error(err)
						return
					}
					for p := range 4 {
						var ps []uint64
						for i, e := range batch {
							if e.Partition == p {
								ps = append(ps, seqs[i])
							}
						}
						if !slices.IsSorted(ps) {
							t.Errorf("partition %d sequences not in order: %v", p, ps)
						}
					}
					mu.Lock()
					all = append(all, seqs...)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		slices.Sort(all)
		if len(slices.Compact(all)) != writers*batches*size {
			t.Errorf("got %d distinct sequences, want %d", len(all), writers*batches*size)
		}
	})

	t.Run("AppendAcrossPartitions", func(t *testing.T) {
		l := newLog(t)
		ensureHub(t, l, "ap", 3)
		var batch []Event
		for i := range 40 {
			batch = append(batch, Event{Partition: (i*5 + i/7) % 3, Body: fmt.Appendf(nil, "%d", i)})
		}
		seqs := mustAppend(t, l, "ap", batch...)
		// Each partition reads back its events in input order, with the
		// sequences Append returned for them at their input positions.
		for p := range 3 {
			var want []uint64
			var wantBodies []string
			for i, e := range batch {
				if e.Partition == p {
					want = append(want, seqs[i])
					wantBodies = append(wantBodies, string(e.Body))
				}
			}
			evs, _ := mustRead(t, l, "ap", p, 0, 100)
			if diff := cmp.Diff(want, seqsOf(evs)); diff != "" {
				t.Errorf("partition %d sequences (-returned by Append +read):\n%s", p, diff)
			}
			if diff := cmp.Diff(wantBodies, bodies(evs)); diff != "" {
				t.Errorf("partition %d bodies (-want +got):\n%s", p, diff)
			}
			for i := 1; i < len(want); i++ {
				if want[i] <= want[i-1] {
					t.Errorf("partition %d: sequences not increasing: %v", p, want)
				}
			}
		}
	})

	t.Run("RecordSplitAtMaxPayload", func(t *testing.T) {
		l := newLog(t)
		l.maxRecord = 4 << 10 // as if the server's max_payload were 4 KiB
		ensureHub(t, l, "split", 2)
		var batch []Event
		for i := range 100 {
			batch = append(batch, Event{Publisher: "dev", Body: fmt.Appendf(nil, "%03d%s", i, strings.Repeat("x", 197))})
			if i%30 == 0 {
				batch = append(batch, Event{Partition: 1, Body: []byte("p1")})
			}
		}
		seqs := mustAppend(t, l, "split", batch...)
		var want []uint64
		records := map[uint64]bool{}
		for i, e := range batch {
			if e.Partition == 0 {
				want = append(want, seqs[i])
				records[seqs[i]>>16] = true
			}
		}
		if len(records) < 5 {
			t.Errorf("100 events of 200 B in %d records of at most 4 KiB", len(records))
		}
		evs, _ := mustRead(t, l, "split", 0, 0, 1000)
		if diff := cmp.Diff(want, seqsOf(evs)); diff != "" {
			t.Errorf("sequences (-appended +read):\n%s", diff)
		}
		for i, e := range evs {
			if !strings.HasPrefix(string(e.Body), fmt.Sprintf("%03d", i)) || e.Publisher != "dev" {
				t.Fatalf("event %d: %q from %q", i, e.Body[:3], e.Publisher)
			}
		}
		// An event that does not fit in a record alone.
		_, err := l.Append(ctx, "split", []Event{{Body: make([]byte, 4<<10)}})
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("event of 4 KiB: err = %v, want ErrTooLarge", err)
		}
	})

	t.Run("BigBatch", func(t *testing.T) {
		// 10,000 events of 200 B (219 B as stored): records of at most
		// recordTarget bytes.
		l := newLog(t)
		ensureHub(t, l, "bb", 1)
		batch := make([]Event, 10_000)
		for i := range batch {
			batch[i] = Event{Publisher: "publisher-0001", Body: fmt.Appendf(nil, "%05d%s", i, strings.Repeat("b", 195))}
		}
		seqs := mustAppend(t, l, "bb", batch...)
		records := map[uint64]bool{}
		for _, s := range seqs {
			records[s>>16] = true
		}
		if want := len(batch) * 219 / recordTarget; len(records) < want || len(records) > want+2 {
			t.Errorf("%d records of at most %d bytes, want about %d", len(records), recordTarget, want+1)
		}
		evs, next := mustRead(t, l, "bb", 0, 0, MaxReadLimit)
		if !slices.Equal(seqsOf(evs), seqs) || next != seqs[len(seqs)-1]+1 {
			t.Fatalf("read %d events, next %d", len(evs), next)
		}
		for i, e := range evs {
			if string(e.Body[:5]) != fmt.Sprintf("%05d", i) {
				t.Fatalf("event %d: body %q", i, e.Body[:5])
			}
		}
	})

	t.Run("SmallLimitsResume", func(t *testing.T) {
		l := newLog(t)
		ensureHub(t, l, "sl", 2)
		var want []string
		for n := 1; n <= 12; n++ { // records of 1..12 events, some single MsgID ones
			var batch []Event
			for i := range n {
				body := fmt.Sprintf("%d.%d", n, i)
				ev := Event{Body: []byte(body)}
				if n%5 == 0 {
					ev.MsgID = body
				}
				batch = append(batch, ev, Event{Partition: 1, Body: []byte("other")})
				want = append(want, body)
			}
			mustAppend(t, l, "sl", batch...)
		}
		for _, limit := range []int{1, 2, 3, 5, 7, 13, 100} {
			var got []string
			var last uint64
			from := uint64(0)
			for {
				evs, next := mustRead(t, l, "sl", 0, from, limit)
				if len(evs) == 0 {
					break
				}
				if len(evs) > limit {
					t.Fatalf("limit %d: %d events", limit, len(evs))
				}
				for _, e := range evs {
					if e.Sequence <= last {
						t.Fatalf("limit %d: sequence %d after %d", limit, e.Sequence, last)
					}
					last = e.Sequence
				}
				if next != last+1 {
					t.Fatalf("limit %d: next %d, last %d", limit, next, last)
				}
				got = append(got, bodies(evs)...)
				from = next
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("limit %d: events read (-want +got):\n%s", limit, diff)
			}
		}
		// Reading from any event's sequence starts at that event; from
		// sequence+1, at the next one.
		all, _ := mustRead(t, l, "sl", 0, 0, 1000)
		for i, e := range all {
			evs, _ := mustRead(t, l, "sl", 0, e.Sequence, 2)
			if len(evs) == 0 || evs[0].Sequence != e.Sequence {
				t.Fatalf("from %d (event %d): got %v", e.Sequence, i, seqsOf(evs))
			}
			evs, _ = mustRead(t, l, "sl", 0, e.Sequence+1, 1)
			switch {
			case i+1 < len(all) && (len(evs) != 1 || evs[0].Sequence != all[i+1].Sequence):
				t.Fatalf("from %d+1 (event %d): got %v, want %d", e.Sequence, i, seqsOf(evs), all[i+1].Sequence)
			case i+1 == len(all) && len(evs) != 0:
				t.Fatalf("from after the last event: got %v", seqsOf(evs))
			}
		}
	})

	t.Run("PartitionInfoMatchesReads", func(t *testing.T) {
		l := newLog(t)
		ensureHub(t, l, "pim", 2)
		for n := range 4 {
			batch := make([]Event, 3+n*5)
			for i := range batch {
				batch[i] = Event{Partition: i % 2, Body: fmt.Appendf(nil, "%d", i)}
			}
			mustAppend(t, l, "pim", batch...)
		}
		for p := range 2 {
			info, err := l.PartitionInfo(ctx, "pim", p)
			if err != nil {
				t.Fatal(err)
			}
			evs, _ := mustRead(t, l, "pim", p, 0, 1000)
			first, last := evs[0], evs[len(evs)-1]
			if info.Empty || info.FirstSequence != first.Sequence || info.LastSequence != last.Sequence || !info.LastEnqueuedTime.Equal(last.EnqueuedTime) {
				t.Errorf("partition %d: info %+v; read first %d, last %d at %v", p, info, first.Sequence, last.Sequence, last.EnqueuedTime)
			}
			// Reading from LastSequence+1 sees only later events.
			if evs, _ := mustRead(t, l, "pim", p, info.LastSequence+1, 10); len(evs) != 0 {
				t.Errorf("partition %d: read %v after the last sequence", p, seqsOf(evs))
			}
			later := mustAppend(t, l, "pim", Event{Partition: p, Body: []byte("later")})
			if evs, _ := mustRead(t, l, "pim", p, info.LastSequence+1, 10); !slices.Equal(seqsOf(evs), later) {
				t.Errorf("partition %d: read %v after the last sequence, want %v", p, seqsOf(evs), later)
			}
		}
	})

	t.Run("CorruptRecord", func(t *testing.T) {
		l := newLog(t)
		ensureHub(t, l, "bad", 1)
		js := l.control().js
		subj := l.names.subject("bad", 0)
		before := mustAppend(t, l, "bad", Event{Body: []byte("before 1")}, Event{Body: []byte("before 2")})
		// Foreign data on the partition: a message that is no record, then
		// a record whose properties are not JSON.
		plain, err := js.Publish(ctx, subj, []byte("not a record"))
		if err != nil {
			t.Fatal(err)
		}
		badProps, err := js.PublishMsg(ctx, &nats.Msg{Subject: subj, Header: nats.Header{hdrCount: {"1"}},
			Data: []byte{recordVersion, 1, 0, 0, 2, '{', '[', 0}})
		if err != nil {
			t.Fatal(err)
		}
		after := mustAppend(t, l, "bad", Event{Body: []byte("after")})

		// A read returns the events stored before a corrupt record...
		evs, next := mustRead(t, l, "bad", 0, 0, 100)
		if !slices.Equal(seqsOf(evs), before) {
			t.Fatalf("read %v (%q), want %v", seqsOf(evs), bodies(evs), before)
		}
		// ...and the read that starts at it fails, naming it.
		for _, wait := range []time.Duration{0, time.Hour} {
			evs, n, err := l.Read(ctx, "bad", 0, next, 100, wait)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), fmt.Sprintf("record %d ", plain.Sequence)) || len(evs) != 0 || n != next {
				t.Fatalf("read at the corrupt record: %d events, next %d, err %v; want ErrCorrupt naming record %d", len(evs), n, err, plain.Sequence)
			}
		}
		// Skipping it as ErrCorrupt's doc says reaches the next one, then
		// the good record after.
		_, _, err = l.Read(ctx, "bad", 0, (plain.Sequence+1)<<16, 100, 0)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), fmt.Sprintf("record %d ", badProps.Sequence)) {
			t.Fatalf("read at the second corrupt record: err %v", err)
		}
		evs, _ = mustRead(t, l, "bad", 0, (badProps.Sequence+1)<<16, 100)
		if !slices.Equal(seqsOf(evs), after) {
			t.Errorf("read after the corrupt records: %v, want %v", seqsOf(evs), after)
		}
		// PartitionInfo needs only the last record to be sound.
		if info, err := l.PartitionInfo(ctx, "bad", 0); err != nil || info.LastSequence != after[0] || info.FirstSequence != before[0] {
			t.Errorf("PartitionInfo = %+v, %v", info, err)
		}
		truncated, err := js.PublishMsg(ctx, &nats.Msg{Subject: subj, Header: nats.Header{hdrCount: {"1"}},
			Data: []byte{recordVersion, 1, 0, 0, 0, 9, 'x'}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.PartitionInfo(ctx, "bad", 0); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), fmt.Sprintf("record %d ", truncated.Sequence)) {
			t.Errorf("PartitionInfo with a corrupt last record: err = %v, want ErrCorrupt", err)
		}
	})

	t.Run("KV", func(t *testing.T) {
		l := newLog(t)
		kv, err := l.KV(ctx, "state")
		if err != nil {
			t.Fatalf("KV: %v", err)
		}
		if keys, err := kv.Keys(ctx); err != nil || keys == nil || len(keys) != 0 {
			t.Fatalf("Keys of empty bucket = %#v, %v; want empty slice", keys, err)
		}
		odd := "hub.one/pub 1=é"
		if err := kv.Create(ctx, odd, []byte("v1")); err != nil {
			t.Fatalf("Create: %v", err)
		}
		if err := kv.Create(ctx, odd, []byte("v2")); !errors.Is(err, ErrExists) {
			t.Errorf("Create existing: err = %v, want ErrExists", err)
		}
		if err := kv.Put(ctx, odd, []byte("v3")); err != nil {
			t.Fatalf("Put: %v", err)
		}
		if err := kv.Put(ctx, "", []byte("empty key")); err != nil {
			t.Fatalf("Put empty key: %v", err)
		}
		if v, err := kv.Get(ctx, odd); err != nil || string(v) != "v3" {
			t.Errorf("Get = %q, %v; want v3", v, err)
		}
		if _, err := kv.Get(ctx, "missing"); !errors.Is(err, ErrNotFoundKey) {
			t.Errorf("Get missing: err = %v, want ErrNotFoundKey", err)
		}
		keys, err := kv.Keys(ctx)
		if diff := cmp.Diff([]string{"", odd}, keys); err != nil || diff != "" {
			t.Errorf("Keys (-want +got), err %v:\n%s", err, diff)
		}
		if err := kv.Delete(ctx, odd); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if err := kv.Delete(ctx, odd); !errors.Is(err, ErrNotFoundKey) {
			t.Errorf("Delete twice: err = %v, want ErrNotFoundKey", err)
		}
		if _, err := kv.Get(ctx, odd); !errors.Is(err, ErrNotFoundKey) {
			t.Errorf("Get deleted: err = %v, want ErrNotFoundKey", err)
		}
		if err := kv.Create(ctx, odd, []byte("again")); err != nil {
			t.Errorf("Create after delete: %v", err)
		}
		// Binding again sees the same data.
		kv2, err := l.KV(ctx, "state")
		if err != nil {
			t.Fatal(err)
		}
		if v, err := kv2.Get(ctx, odd); err != nil || string(v) != "again" {
			t.Errorf("second handle Get = %q, %v", v, err)
		}
		if _, err := l.KV(ctx, "bad.name"); !errors.Is(err, ErrInvalid) {
			t.Errorf("bad bucket name: err = %v, want ErrInvalid", err)
		}
		if err := l.DeleteKV(ctx, "state"); err != nil {
			t.Errorf("DeleteKV: %v", err)
		}
	})

	t.Run("KVWatch", func(t *testing.T) {
		l := newLog(t)
		kv, err := l.KV(ctx, "watched")
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"a", "b", "gone"} {
			if err := kv.Put(ctx, k, []byte(k+"0")); err != nil {
				t.Fatal(err)
			}
		}
		if err := kv.Delete(ctx, "gone"); err != nil {
			t.Fatal(err)
		}

		type change struct {
			Key, Value string
			Deleted    bool
		}
		changes := make(chan change, 100)
		wctx, stop := context.WithCancel(ctx)
		defer stop()
		ready, err := kv.Watch(wctx, func(k string, v []byte, deleted bool) {
			changes <- change{k, string(v), deleted}
		})
		if err != nil {
			t.Fatalf("Watch: %v", err)
		}
		select {
		case <-ready:
		case <-time.After(time.Minute):
			t.Fatal("watch never became ready")
		}
		var initial []change
		for len(changes) > 0 {
			initial = append(initial, <-changes)
		}
		wantInitial := []change{{"a", "a0", false}, {"b", "b0", false}}
		if diff := cmp.Diff(wantInitial, initial, cmpopts.SortSlices(func(x, y change) bool { return x.Key < y.Key })); diff != "" {
			t.Errorf("initial entries (-want +got):\n%s", diff)
		}

		if err := kv.Put(ctx, "c", []byte("c1")); err != nil {
			t.Fatal(err)
		}
		if err := kv.Delete(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if err := kv.Put(ctx, "b", []byte("b1")); err != nil {
			t.Fatal(err)
		}
		var later []change
		for len(later) < 3 {
			select {
			case c := <-changes:
				later = append(later, c)
			case <-time.After(time.Minute):
				t.Fatalf("watch saw only %v", later)
			}
		}
		wantLater := []change{{"c", "c1", false}, {"a", "", true}, {"b", "b1", false}}
		if diff := cmp.Diff(wantLater, later); diff != "" {
			t.Errorf("later changes (-want +got):\n%s", diff)
		}

		// An empty bucket is ready at once.
		empty, err := l.KV(ctx, "empty")
		if err != nil {
			t.Fatal(err)
		}
		ready, err = empty.Watch(wctx, func(string, []byte, bool) { t.Error("callback on empty bucket") })
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-ready:
		case <-time.After(time.Minute):
			t.Fatal("empty watch never became ready")
		}
	})

	t.Run("SecurityStream", func(t *testing.T) {
		l := newLog(t)
		// Reading before the stream exists finds nothing, without error.
		if got, next, err := l.ReadSecurity(ctx, SecurityFilter{}, 0, 10, 0); err != nil || len(got) != 0 || next != 1 {
			t.Fatalf("ReadSecurity before EnsureSecurity = %v, %d, %v", got, next, err)
		}
		if err := l.EnsureSecurity(ctx, 0); err != nil {
			t.Fatalf("EnsureSecurity: %v", err)
		}
		if err := l.EnsureSecurity(ctx, time.Hour); err != nil {
			t.Fatalf("EnsureSecurity again: %v", err)
		}
		recs := []SecurityRecord{
			{Hub: "h1", Source: "agent", Device: "dev.1/é", ID: "e1", Data: []byte("one")},
			{Hub: "h1", Source: "agent", Device: "dev.1/é", ID: "e2", Data: []byte("two")},
			{Hub: "h2", Source: "discovery", Device: "dev2", Data: []byte("three")},
			{Hub: "h1", Source: "agent", Device: "", ID: "e1", Data: []byte("four")}, // another device, same id
		}
		if dup, err := l.AppendSecurity(ctx, recs); err != nil || dup != 0 {
			t.Fatalf("AppendSecurity = %d duplicates, %v", dup, err)
		}
		// A resent record (same hub, source, device and id) is dropped.
		if dup, err := l.AppendSecurity(ctx, recs[:2]); err != nil || dup != 2 {
			t.Fatalf("AppendSecurity resend = %d duplicates, %v; want 2", dup, err)
		}
		all, next, err := l.ReadSecurity(ctx, SecurityFilter{}, 0, 100, 0)
		if err != nil {
			t.Fatal(err)
		}
		type rec struct{ Hub, Source, Device, Data string }
		var got []rec
		for _, e := range all {
			got = append(got, rec{e.Hub, e.Source, e.Device, string(e.Data)})
		}
		want := []rec{{"h1", "agent", "dev.1/é", "one"}, {"h1", "agent", "dev.1/é", "two"}, {"h2", "discovery", "dev2", "three"}, {"h1", "agent", "", "four"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("ReadSecurity all (-want +got):\n%s", diff)
		}
		if next != all[len(all)-1].Sequence+1 {
			t.Errorf("next = %d after sequence %d", next, all[len(all)-1].Sequence)
		}
		for _, tc := range []struct {
			f    SecurityFilter
			want int
		}{
			{SecurityFilter{Hub: "h1"}, 3},
			{SecurityFilter{Hub: "h2"}, 1},
			{SecurityFilter{Source: "discovery"}, 1},
			{SecurityFilter{Hub: "h1", Device: "dev.1/é"}, 2},
			{SecurityFilter{Hub: "h3"}, 0},
		} {
			got, _, err := l.ReadSecurity(ctx, tc.f, 0, 100, 0)
			if err != nil || len(got) != tc.want {
				t.Errorf("ReadSecurity(%+v) = %d records, %v; want %d", tc.f, len(got), err, tc.want)
			}
		}
		// Paging: from the second record, limit 1.
		page, next2, err := l.ReadSecurity(ctx, SecurityFilter{}, all[1].Sequence, 1, 0)
		if err != nil || len(page) != 1 || string(page[0].Data) != "two" || next2 != all[1].Sequence+1 {
			t.Errorf("page = %v, next %d, %v", page, next2, err)
		}
		if end, err := l.SecurityEnd(ctx); err != nil || end != next {
			t.Errorf("SecurityEnd = %d, %v; want %d", end, err, next)
		}
		// Long poll: nothing after the end until a record arrives.
		done := make(chan []SecurityEntry)
		go func() {
			es, _, err := l.ReadSecurity(ctx, SecurityFilter{Hub: "h2"}, next, 10, 10*time.Second)
			if err != nil {
				t.Error(err)
			}
			done <- es
		}()
		time.Sleep(50 * time.Millisecond) // let the reader start waiting (not a timing assertion)
		if _, err := l.AppendSecurity(ctx, []SecurityRecord{{Hub: "h2", Source: "hub", Device: "d", Data: []byte("late")}}); err != nil {
			t.Fatal(err)
		}
		if es := <-done; len(es) != 1 || string(es[0].Data) != "late" {
			t.Errorf("long poll got %v", es)
		}
		// Purging a hub removes its records only.
		if err := l.PurgeSecurity(ctx, "h1"); err != nil {
			t.Fatal(err)
		}
		if left, _, _ := l.ReadSecurity(ctx, SecurityFilter{}, 0, 100, 0); len(left) != 2 {
			t.Errorf("after purging h1: %d records, want 2 (h2's)", len(left))
		}
		for _, bad := range []SecurityRecord{{Hub: "Bad", Source: "agent"}, {Hub: "h1", Source: "Agent"}, {Hub: "h1", Source: ""}, {Hub: "h1", Source: "a.b"}} {
			if _, err := l.AppendSecurity(ctx, []SecurityRecord{bad}); !errors.Is(err, ErrInvalid) {
				t.Errorf("AppendSecurity(%+v): err = %v, want ErrInvalid", bad, err)
			}
		}
		if _, _, err := l.ReadSecurity(ctx, SecurityFilter{Hub: "a.b"}, 0, 1, 0); !errors.Is(err, ErrInvalid) {
			t.Errorf("ReadSecurity bad filter: err = %v, want ErrInvalid", err)
		}
	})

	t.Run("ConsumeSecurity", func(t *testing.T) {
		l := newLog(t)
		if err := l.EnsureSecurity(ctx, 0); err != nil {
			t.Fatal(err)
		}
		put := func(from, to int) {
			t.Helper()
			var recs []SecurityRecord
			for i := from; i < to; i++ {
				recs = append(recs, SecurityRecord{Hub: "h", Source: "agent", Device: "d", ID: fmt.Sprint(i), Data: []byte(fmt.Sprint(i))})
			}
			if _, err := l.AppendSecurity(ctx, recs); err != nil {
				t.Fatal(err)
			}
		}
		put(0, 50)
		// consume runs a consumer until want records were handled (in
		// order), failing the first call when fail is set.
		consume := func(want int, fail bool, during func()) []string {
			t.Helper()
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			var got []string
			var mu sync.Mutex
			done := make(chan error, 1)
			calls := 0
			go func() {
				done <- l.ConsumeSecurity(cctx, "center", 20, 0, func(_ context.Context, batch []SecurityEntry) error {
					mu.Lock()
					defer mu.Unlock()
					calls++
					if fail && calls == 1 {
						return errors.New("database down")
					}
					if len(batch) > 20 {
						t.Errorf("batch of %d, max 20", len(batch))
					}
					for _, e := range batch {
						got = append(got, string(e.Data))
					}
					if len(got) >= want {
						cancel()
					}
					return nil
				})
			}()
			if during != nil {
				during()
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("ConsumeSecurity: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("consumed %d of %d records", len(got), want)
			}
			return got
		}
		want := func(from, to int) []string {
			var out []string
			for i := from; i < to; i++ {
				out = append(out, fmt.Sprint(i))
			}
			return out
		}
		// A failing first batch is handed again: nothing lost, in order.
		if diff := cmp.Diff(want(0, 50), consume(50, true, nil)); diff != "" {
			t.Fatalf("first run (-want +got):\n%s", diff)
		}
		// A restarted consumer resumes after what was acknowledged, and
		// records appended while it runs arrive.
		put(50, 60)
		got := consume(20, false, func() { put(60, 70) })
		if diff := cmp.Diff(want(50, 70), got); diff != "" {
			t.Fatalf("second run (-want +got):\n%s", diff)
		}
		// A batch closes once its data reaches maxBytes, whatever the
		// record count allows.
		var big []SecurityRecord
		for i := range 30 {
			big = append(big, SecurityRecord{Hub: "h", Source: "agent", Device: "d", ID: fmt.Sprint("big-", i), Data: bytes.Repeat([]byte{'x'}, 100)})
		}
		if _, err := l.AppendSecurity(ctx, big); err != nil {
			t.Fatal(err)
		}
		bctx, bcancel := context.WithCancel(ctx)
		seen, most := 0, 0
		err := l.ConsumeSecurity(bctx, "bytes", 1000, 350, func(_ context.Context, batch []SecurityEntry) error {
			n := 0
			for _, e := range batch {
				n += len(e.Data)
				if len(e.Data) == 100 {
					seen++
				}
			}
			most = max(most, n)
			if seen == 30 {
				bcancel()
			}
			return nil
		})
		bcancel()
		if err != nil || seen != 30 || most >= 350+100 {
			t.Errorf("batches bounded by 350 bytes: err %v, %d of 30 records, largest batch %d bytes (want < 450)", err, seen, most)
		}
		if err := l.ConsumeSecurity(ctx, "bad.name", 1, 0, nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("bad durable name: %v", err)
		}
	})

	t.Run("Notify", func(t *testing.T) {
		l := newLog(t)
		got := make(chan string, 10)
		stop, err := l.OnNotify("devices", func(data []byte) { got <- string(data) })
		if err != nil {
			t.Fatalf("OnNotify: %v", err)
		}
		other, err := l.OnNotify("other", func(data []byte) { got <- "other:" + string(data) })
		if err != nil {
			t.Fatalf("OnNotify other: %v", err)
		}
		defer other()
		for _, m := range []string{"a", "b"} {
			if err := l.Notify("devices", []byte(m)); err != nil {
				t.Fatalf("Notify: %v", err)
			}
		}
		for _, want := range []string{"a", "b"} {
			select {
			case m := <-got:
				if m != want {
					t.Fatalf("notification %q, want %q", m, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("notification %q never arrived", want)
			}
		}
		stop()
		if err := l.Notify("devices", []byte("after stop")); err != nil {
			t.Fatal(err)
		}
		// "other" is delivered on the same connection after "after stop"
		// would have been: receiving it first proves the stopped
		// subscription dropped its message.
		if err := l.Notify("other", []byte("x")); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-got:
			if m != "other:x" {
				t.Errorf("got %q after stop, want only other:x", m)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("notification on other topic never arrived")
		}
		for _, bad := range []string{"", "a.b", "a*", strings.Repeat("x", 65)} {
			if err := l.Notify(bad, nil); !errors.Is(err, ErrInvalid) {
				t.Errorf("Notify(%q): err = %v, want ErrInvalid", bad, err)
			}
			if _, err := l.OnNotify(bad, func([]byte) {}); !errors.Is(err, ErrInvalid) {
				t.Errorf("OnNotify(%q): err = %v, want ErrInvalid", bad, err)
			}
		}
	})

	t.Run("ClosedLog", func(t *testing.T) {
		l := newLog(t)
		ensureHub(t, l, "cl", 1)
		kv, err := l.KV(ctx, "cl")
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := l.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if _, err := l.Append(ctx, "cl", []Event{{Body: []byte("x")}}); !errors.Is(err, ErrUnavailable) {
			t.Errorf("Append after Close: err = %v, want ErrUnavailable", err)
		}
		if _, _, err := l.Read(ctx, "cl", 0, 1, 1, 0); !errors.Is(err, ErrUnavailable) {
			t.Errorf("Read after Close: err = %v, want ErrUnavailable", err)
		}
		if err := l.Ping(ctx); !errors.Is(err, ErrUnavailable) {
			t.Errorf("Ping after Close: err = %v, want ErrUnavailable", err)
		}
		if err := kv.Put(ctx, "k", nil); !errors.Is(err, ErrUnavailable) {
			t.Errorf("KV Put after Close: err = %v, want ErrUnavailable", err)
		}
	})
}
