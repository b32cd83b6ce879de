package eventlog

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestRecordRoundTrip(t *testing.T) {
	t.Parallel()
	in := []Event{
		{Body: []byte("plain")},
		{Publisher: "dev-01", PartitionKey: "k\r\n\x00ü", Body: []byte{0, 0xff}},
		{Publisher: "dev-01", Properties: map[string]any{"n": json.Number("9007199254740993"), "s": "<&>", "o": map[string]any{"a": []any{true, nil}}}},
		{Properties: map[string]any{}, Body: bytes.Repeat([]byte("x"), 300)}, // an empty map is not stored
	}
	data, err := encodeRecord(in)
	if err != nil {
		t.Fatal(err)
	}
	if data[0] != recordVersion || data[1] != byte(len(in)) {
		t.Fatalf("record starts % x", data[:2])
	}
	out, err := decodeRecord(data)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(in)
	want[3].Properties = nil
	if diff := cmp.Diff(want, out, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if out[2].Publisher != "dev-01" || out[2].Body != nil {
		t.Errorf("event 2 = %+v", out[2])
	}
	// A body aliases the record but cannot be appended into the next event.
	_ = append(out[0].Body, "OVERWRITE"...)
	if again, err := decodeRecord(data); err != nil || !cmp.Equal(again, out, cmpopts.EquateEmpty()) {
		t.Errorf("appending to a decoded body changed the record: %v", err)
	}
}

// A hand-written record, byte by byte as docs/storage.md describes it.
func TestRecordLayout(t *testing.T) {
	t.Parallel()
	data, err := encodeRecord([]Event{
		{Publisher: "p", PartitionKey: "k", Properties: map[string]any{"a": 1}, Body: []byte("hi")},
		{Body: []byte("x")},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{
		0x01,                    // version
		0x02,                    // 2 events
		0x01, 'p', 0x01, 'k', 7, // publisher, partition key
		'{', '"', 'a', '"', ':', '1', '}', // properties
		0x02, 'h', 'i', // body
		0x00, 0x00, 0x00, 0x01, 'x', // no publisher, key, properties; body "x"
	}
	if !bytes.Equal(data, want) {
		t.Errorf("record\n got % x\nwant % x", data, want)
	}
}

func TestDecodeRecordRejects(t *testing.T) {
	t.Parallel()
	good, err := encodeRecord([]Event{{Publisher: "p", Body: []byte("body")}})
	if err != nil {
		t.Fatal(err)
	}
	rec := func(count uint64, fields ...string) []byte {
		b := binary.AppendUvarint([]byte{recordVersion}, count)
		for _, f := range fields {
			b = binary.AppendUvarint(b, uint64(len(f)))
			b = append(b, f...)
		}
		return b
	}
	for name, data := range map[string][]byte{
		"empty":             nil,
		"version 0":         append([]byte{0}, good[1:]...),
		"version 2":         append([]byte{2}, good[1:]...),
		"no count":          {recordVersion},
		"count 0":           rec(0),
		"count too big":     rec(maxRecordEvents+1, "", "", "", "x"),
		"count overflow":    append([]byte{recordVersion}, bytes.Repeat([]byte{0xff}, 11)...),
		"missing event":     rec(2, "", "", "", "x"),
		"missing field":     rec(1, "", "", ""),
		"truncated":         good[:len(good)-1],
		"trailing byte":     append(slices.Clone(good), 0),
		"length past end":   append(rec(1, "", "", ""), 0x05, 'a'),
		"huge length":       append(rec(1, "", "", ""), binary.AppendUvarint(nil, 1<<63)...),
		"props not json":    rec(1, "", "", "{nope", ""),
		"props null":        rec(1, "", "", "null", ""),
		"props array":       rec(1, "", "", "[1]", ""),
		"props trailing":    rec(1, "", "", `{"a":1}x`, ""),
		"props two objects": rec(1, "", "", `{}{}`, ""),
	} {
		if evs, err := decodeRecord(data); err == nil {
			t.Errorf("%s: decoded %d events, want an error", name, len(evs))
		} else if !errors.As(err, new(errCorruptRecord)) {
			t.Errorf("%s: err = %v (%T), want errCorruptRecord", name, err, err)
		} else if werr := corrupt("h", 1, 42, err); !errors.Is(werr, ErrCorrupt) || !strings.Contains(werr.Error(), "record 42") {
			t.Errorf("%s: wrapped = %v", name, werr)
		}
	}
}

func TestStoredRecordHeader(t *testing.T) {
	t.Parallel()
	data, _ := encodeRecord([]Event{{Body: []byte("a")}, {Body: []byte("b")}})
	for name, h := range map[string]nats.Header{
		"no header":   nil,
		"no count":    {"Other": {"x"}},
		"wrong count": {hdrCount: {"3"}},
		"not number":  {hdrCount: {"two"}},
	} {
		if _, err := storedRecord(h, data); !errors.As(err, new(errCorruptRecord)) {
			t.Errorf("%s: err = %v, want errCorruptRecord", name, err)
		}
	}
	if r, err := storedRecord(nats.Header{hdrCount: {"2"}}, data); err != nil || r.n != 2 {
		t.Errorf("good record: %d events, %v", r.n, err)
	}
}

func TestSequences(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		rec uint64
		i   int
	}{{1, 0}, {1, 65535}, {7, 3}, {maxRecordSeq, 65535}} {
		s := eventSeq(c.rec, c.i)
		if r, i := splitSeq(s); r != c.rec || i != c.i {
			t.Errorf("splitSeq(eventSeq(%d, %d)) = %d, %d", c.rec, c.i, r, i)
		}
	}
	if eventSeq(2, 0) <= eventSeq(1, 65535) {
		t.Error("sequences of a later record are not greater")
	}
}

// buildRecords: grouping by partition in input order, MsgID events alone,
// splitting on max_payload and on the 65,536-event cap.
func TestBuildRecords(t *testing.T) {
	t.Parallel()
	subjects := []string{"s0", "s1", "s2"}
	check := func(t *testing.T, evs []Event, maxPayload, target int) *records {
		t.Helper()
		b, err := buildRecords(evs, subjects, maxPayload, target)
		if err != nil {
			t.Fatal(err)
		}
		seen := make([]bool, len(evs))
		for r := range b.msgs {
			m := &b.msgs[r]
			if size := wireSize(m); size > int64(maxPayload) {
				t.Errorf("record %d: %d bytes on the wire, limit %d", r, size, maxPayload)
			}
			idx := b.recordEvents(r)
			if len(idx) > 1 && len(m.Data) > target {
				t.Errorf("record %d: %d events in %d bytes, target %d", r, len(idx), len(m.Data), target)
			}
			got, err := storedRecord(m.Header, m.Data)
			if err != nil {
				t.Fatalf("record %d: %v", r, err)
			}
			if got.n != len(idx) || got.n > maxRecordEvents {
				t.Errorf("record %d holds %d events, index lists %d", r, got.n, len(idx))
			}
			if id := m.Header.Get(jetstream.MsgIDHeader); id != "" && got.n != 1 {
				t.Errorf("record %d has a MsgID and %d events", r, got.n)
			}
			for j, i := range idx {
				var ev Event
				if err := got.next(&ev); err != nil {
					t.Fatal(err)
				}
				in := evs[i]
				if m.Subject != subjects[in.Partition] || !bytes.Equal(ev.Body, in.Body) || ev.Publisher != in.Publisher {
					t.Errorf("record %d event %d is not input event %d", r, j, i)
				}
				if j > 0 && idx[j-1] >= i {
					t.Errorf("record %d: input order lost (%v)", r, idx)
				}
				seen[i] = true
			}
		}
		if slices.Contains(seen, false) {
			t.Error("some events are in no record")
		}
		return b
	}

	t.Run("Partitions", func(t *testing.T) {
		var evs []Event
		for i := range 30 {
			evs = append(evs, Event{Partition: (i * 7) % 3, Body: fmt.Appendf(nil, "%d", i)})
		}
		evs[4].MsgID, evs[5].MsgID = "a", "b"
		b := check(t, evs, 1<<20, recordTarget)
		// 3 partitions, 2 of the events alone: 3 + 2 records, plus 1 or
		// 2 records split around each lone event.
		if len(b.msgs) < 5 || len(b.msgs) > 9 {
			t.Errorf("%d records", len(b.msgs))
		}
	})
	t.Run("MaxPayload", func(t *testing.T) {
		evs := make([]Event, 100)
		for i := range evs {
			evs[i] = Event{Publisher: "p", Body: bytes.Repeat([]byte{byte(i)}, 100)}
		}
		b := check(t, evs, 1000, recordTarget)
		if len(b.msgs) < 11 {
			t.Errorf("%d records for 10 KB at 1000 B each", len(b.msgs))
		}
	})
	t.Run("ExactFit", func(t *testing.T) {
		// The largest event that fits, alone.
		limit := 600
		n := limit
		for 2+3+fieldSize(n)+recordHeaderSize(1, "") > limit {
			n--
		}
		body := make([]byte, n)
		evs := []Event{{Body: body}, {Body: body}}
		check(t, evs, limit, recordTarget)
		evs[0].Body = append(body, 'x')
		if _, err := buildRecords(evs, subjects, limit, recordTarget); !errors.Is(err, ErrTooLarge) {
			t.Errorf("one byte more: err = %v, want ErrTooLarge", err)
		}
	})
	t.Run("Target", func(t *testing.T) {
		// 300 events of 1 KB: records of about 64 KiB; events bigger than
		// the target alone, up to max_payload.
		evs := make([]Event, 300)
		for i := range evs {
			evs[i] = Event{Body: bytes.Repeat([]byte{byte(i)}, 1000)}
		}
		evs[100].Body = make([]byte, 3*recordTarget)
		b := check(t, evs, 8<<20, recordTarget)
		if len(b.msgs) != 7 {
			t.Errorf("%d records, want 7", len(b.msgs))
		}
		if got := b.recordEvents(2); len(got) != 1 || got[0] != 100 {
			t.Errorf("record 2 holds events %v, want only the big event 100", got)
		}
	})
	t.Run("MaxEvents", func(t *testing.T) {
		evs := make([]Event, maxRecordEvents+10)
		b := check(t, evs, 8<<20, 8<<20)
		if len(b.msgs) != 2 || len(b.recordEvents(0)) != maxRecordEvents {
			t.Errorf("%d records, first of %d events", len(b.msgs), len(b.recordEvents(0)))
		}
	})
	t.Run("Invalid", func(t *testing.T) {
		evs := []Event{{}, {Properties: map[string]any{"f": func() {}}}}
		if _, err := buildRecords(evs, subjects, 1<<20, recordTarget); !errors.Is(err, ErrInvalid) {
			t.Errorf("err = %v, want ErrInvalid", err)
		}
	})
}

// FuzzDecodeRecord feeds arbitrary bytes to the decoder: it must never
// panic, and whatever it accepts must encode back to a record that decodes
// to the same events.
func FuzzDecodeRecord(f *testing.F) {
	for _, evs := range [][]Event{
		{{Body: []byte("x")}},
		{{Publisher: "p", PartitionKey: "k", Properties: map[string]any{"a": 1.5, "b": []any{"c"}}, Body: []byte("body")}, {}},
		make([]Event, 300),
	} {
		data, err := encodeRecord(evs)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{recordVersion, 1, 0, 0, 4, 'n', 'u', 'l', 'l', 0})
	f.Add([]byte{recordVersion, 0x80, 0x80, 0x04})
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := decodeRecord(data)
		if err != nil {
			if !errors.As(err, new(errCorruptRecord)) {
				t.Fatalf("error %v is not errCorruptRecord", err)
			}
			return
		}
		if len(evs) == 0 || len(evs) > maxRecordEvents {
			t.Fatalf("decoded %d events", len(evs))
		}
		again, err := encodeRecord(evs)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		back, err := decodeRecord(again)
		if err != nil {
			t.Fatalf("decode of re-encoded record: %v", err)
		}
		if diff := cmp.Diff(evs, back, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

// How many records a Read asks for at once.
func TestReadBatchSizing(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		perRecord, bytesPerRecord int64
		from                      uint64
		limit, want               int
	}{
		{0, 0, 1, 100, 64},                           // nothing seen yet: firstBatch
		{0, 0, 1, 10, 10},                            // never more than limit records
		{100, 20_000, 1, 100, 1},                     // records of 100: one
		{100, 20_000, eventSeq(5, 100), 100, 2},      // the first record's 100 are skipped
		{100, 20_000, eventSeq(5, 50), 100, 2},       // half of it skipped
		{1, 200, eventSeq(5, 60_000), 100, 101},      // a skip beyond the guess: limit+1 at most
		{1, 200, 1, 10_000, 10_000},                  // single-event records
		{1, 4 << 20, 1, 10_000, 2},                   // 4 MiB records: maxBatchBytes
		{1, 16 << 20, 1, 10_000, 1},                  // bigger than maxBatchBytes
		{30_000, 8 << 20, eventSeq(9, 1), 10_000, 1}, // one big record
	} {
		h := &hubInfo{}
		h.eventsPerRecord.Store(c.perRecord)
		h.bytesPerRecord.Store(c.bytesPerRecord)
		r := newReader("h", 0, "s", c.from, c.limit)
		if got := h.batch(r); got != c.want {
			t.Errorf("%+v: batch = %d, want %d", c, got, c.want)
		}
	}
}
