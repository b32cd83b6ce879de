package eventlog

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Records. A record is one JetStream message holding events of one
// partition from one Append call, at most maxRecordEvents of them and
// (unless it holds one event) at most recordTarget bytes; docs/storage.md
// has the reference:
//
//	byte 0    format version, recordVersion (0x01)
//	uvarint   event count N, 1..maxRecordEvents
//	N times:  uvarint len, publisher bytes
//	          uvarint len, partition-key bytes
//	          uvarint len, properties as a JSON object (len 0: no properties)
//	          uvarint len, body bytes
//
// and nothing after the last event. The message carries the header
// Moat-Count: N and, on a single-event record whose event has a MsgID,
// Nats-Msg-Id (escaped with escapeHeader) so JetStream deduplicates it.
//
// Event sequences are recordSeq<<seqIndexBits | index: the record's stream
// sequence and the event's index in the record.

const (
	recordVersion   = 0x01
	seqIndexBits    = 16
	maxRecordEvents = 1 << seqIndexBits
	// maxRecordSeq is the largest stream sequence whose events have
	// sequences below 2^63, so they fit an int64 (SQL checkpoints, Event
	// Hubs' long sequence numbers). At a million records a second a stream
	// takes over four years to get there.
	maxRecordSeq = 1<<(63-seqIndexBits) - 1
	// maxRecordPrefix is the most bytes a record spends before its first
	// event: the version byte and the count as a uvarint (65536 takes 3).
	maxRecordPrefix = 1 + 3

	hdrCount = "Moat-Count"

	// recordTarget caps the encoded size of a record of several events, so
	// a Read with a small limit never fetches much more than it returns:
	// a partition can only be read record by record, and a Read starting
	// inside a record fetches all of it. A typical request (100 events of
	// 200 B, 20 KB) is one record per partition; a 1 MiB request to one
	// partition is about 16. Measured on 2 cores, 64 KiB instead of
	// max_payload (8 MiB embedded) reads 10,000-event requests 13x faster
	// 100 events at a time and appends 5,000-event batches as fast. An
	// event bigger than this is a record of its own.
	recordTarget = 64 << 10
)

// eventSeq is the sequence of event i of the record stored at recSeq.
func eventSeq(recSeq uint64, i int) uint64 { return recSeq<<seqIndexBits | uint64(i) }

// splitSeq inverts eventSeq.
func splitSeq(seq uint64) (recSeq uint64, i int) {
	return seq >> seqIndexBits, int(seq & (maxRecordEvents - 1))
}

func uvarintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

// fieldSize is the encoded size of a length-prefixed field of n bytes.
func fieldSize(n int) int { return uvarintLen(uint64(n)) + n }

// eventSize is the encoded size of ev in a record; props is its Properties
// as JSON (nil if none).
func eventSize(ev *Event, props []byte) int {
	return fieldSize(len(ev.Publisher)) + fieldSize(len(ev.PartitionKey)) + fieldSize(len(props)) + fieldSize(len(ev.Body))
}

// appendEvent appends the encoding of ev to b.
func appendEvent(b []byte, ev *Event, props []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(ev.Publisher)))
	b = append(b, ev.Publisher...)
	b = binary.AppendUvarint(b, uint64(len(ev.PartitionKey)))
	b = append(b, ev.PartitionKey...)
	b = binary.AppendUvarint(b, uint64(len(props)))
	b = append(b, props...)
	b = binary.AppendUvarint(b, uint64(len(ev.Body)))
	return append(b, ev.Body...)
}

// marshalProps encodes ev.Properties as compact JSON, or returns nil when
// there are none (a nil or empty map).
func marshalProps(ev *Event) ([]byte, error) {
	if len(ev.Properties) == 0 {
		return nil, nil
	}
	js, err := json.Marshal(ev.Properties)
	if err != nil {
		return nil, fmt.Errorf("%w: properties: %w", ErrInvalid, err)
	}
	return js, nil
}

// Pre-formatted Moat-Count values for small records (no allocation).
var countValues = func() [][]string {
	v := make([][]string, 257)
	for n := 1; n < len(v); n++ {
		v[n] = []string{strconv.Itoa(n)}
	}
	return v
}()

// recordHeader returns the NATS headers of a record of n events; msgID is
// the escaped Nats-Msg-Id or "".
func recordHeader(n int, msgID string) nats.Header {
	if msgID != "" {
		return nats.Header{hdrCount: countValues[1], jetstream.MsgIDHeader: {msgID}}
	}
	if n < len(countValues) {
		return nats.Header{hdrCount: countValues[n]}
	}
	return nats.Header{hdrCount: {strconv.Itoa(n)}}
}

// recordHeaderSize is the size of recordHeader(n, msgID) on the wire, the
// way nats.go counts it against max_payload ("NATS/1.0\r\n", one
// "Key: value\r\n" line per header, "\r\n").
func recordHeaderSize(n int, msgID string) int {
	size := len("NATS/1.0\r\n\r\n") + len(hdrCount+": \r\n") + len(strconv.Itoa(n))
	if msgID != "" {
		size += len(jetstream.MsgIDHeader+": \r\n") + len(msgID)
	}
	return size
}

// maxCountHeaderSize bounds recordHeaderSize(n, "") for any n.
var maxCountHeaderSize = recordHeaderSize(maxRecordEvents, "")

// wireSize is the size nats.go checks against the server's max_payload:
// body plus the encoded header block.
func wireSize(m *nats.Msg) int64 {
	n := len(m.Data)
	if len(m.Header) > 0 {
		n += len("NATS/1.0\r\n\r\n")
		for k, vs := range m.Header {
			for _, v := range vs {
				n += len(k) + len(": \r\n") + len(v)
			}
		}
	}
	return int64(n)
}

// encodeRecord returns the record body holding evs (for tests and tools;
// Append encodes in place).
func encodeRecord(evs []Event) ([]byte, error) {
	props := make([][]byte, len(evs))
	size := 1 + uvarintLen(uint64(len(evs)))
	for i := range evs {
		var err error
		if props[i], err = marshalProps(&evs[i]); err != nil {
			return nil, err
		}
		size += eventSize(&evs[i], props[i])
	}
	b := make([]byte, 0, size)
	b = append(b, recordVersion)
	b = binary.AppendUvarint(b, uint64(len(evs)))
	for i := range evs {
		b = appendEvent(b, &evs[i], props[i])
	}
	return b, nil
}

// errCorruptRecord describes why a record could not be decoded; callers wrap
// it with ErrCorrupt and the record's location.
type errCorruptRecord string

func (e errCorruptRecord) Error() string { return string(e) }

func corruptf(format string, args ...any) error {
	return errCorruptRecord(fmt.Sprintf(format, args...))
}

// recordReader walks the events of a record body whose framing openRecord
// has checked. Bodies of decoded events alias the record (capacity capped,
// so an append by the caller copies instead of overwriting the next event).
type recordReader struct {
	data []byte
	off  int
	n    int // events in the record

	// Last decoded strings, reused when the next event repeats them (a
	// record usually comes from one publisher).
	pub, key string
}

// openRecord checks a record body's framing, treating it as untrusted: the
// version, an event count in range, every length within the body and
// nothing after the last event. It returns a reader at the first event.
func openRecord(data []byte) (recordReader, error) {
	if len(data) == 0 {
		return recordReader{}, corruptf("empty record")
	}
	if data[0] != recordVersion {
		return recordReader{}, corruptf("unknown record format version %d", data[0])
	}
	n, k := binary.Uvarint(data[1:])
	if k <= 0 {
		return recordReader{}, corruptf("bad event count")
	}
	if n == 0 || n > maxRecordEvents {
		return recordReader{}, corruptf("event count %d out of range 1..%d", n, maxRecordEvents)
	}
	r := recordReader{data: data, off: 1 + k, n: int(n)}
	off := r.off
	for i := range r.n {
		for range 4 {
			l, k := binary.Uvarint(data[off:])
			if k <= 0 || l > uint64(len(data)-off-k) {
				return recordReader{}, corruptf("event %d of %d truncated at byte %d", i, n, off)
			}
			off += k + int(l)
		}
	}
	if off != len(data) {
		return recordReader{}, corruptf("%d bytes after the last event", len(data)-off)
	}
	return r, nil
}

// field returns the next length-prefixed field. The framing was checked.
func (r *recordReader) field() []byte {
	l, k := binary.Uvarint(r.data[r.off:])
	start := r.off + k
	r.off = start + int(l)
	return r.data[start:r.off:r.off]
}

// skip steps over the next event.
func (r *recordReader) skip() {
	for range 4 {
		r.field()
	}
}

// next decodes the next event's publisher, partition key, properties and
// body into ev.
func (r *recordReader) next(ev *Event) error {
	if pub := r.field(); string(pub) != r.pub {
		r.pub = string(pub)
	}
	if key := r.field(); string(key) != r.key {
		r.key = string(key)
	}
	ev.Publisher, ev.PartitionKey = r.pub, r.key
	props, body := r.field(), r.field()
	if len(props) > 0 {
		var err error
		if ev.Properties, err = decodeProps(props); err != nil {
			return err
		}
	}
	if len(body) > 0 {
		ev.Body = body
	}
	return nil
}

// decodeProps parses a properties field: exactly one JSON object. Numbers
// keep their exact text as json.Number (no float64 rounding).
func decodeProps(js []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(js))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, corruptf("properties: %v", err)
	}
	if m == nil {
		return nil, corruptf("properties: not a JSON object")
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, corruptf("properties: data after the JSON object")
	}
	return m, nil
}

// storedRecord checks that a stored message is a Moat record, its
// Moat-Count header agreeing with the body, and returns a reader on it.
func storedRecord(h nats.Header, data []byte) (recordReader, error) {
	v := h.Get(hdrCount)
	if v == "" {
		return recordReader{}, corruptf("no %s header: not a Moat record", hdrCount)
	}
	r, err := openRecord(data)
	if err != nil {
		return r, err
	}
	if v != strconv.Itoa(r.n) {
		return recordReader{}, corruptf("%s header %q, but the record holds %d events", hdrCount, v, r.n)
	}
	return r, nil
}

// storedMsgID returns the MsgID of a single-event record (the unescaped
// Nats-Msg-Id header), or "".
func storedMsgID(h nats.Header, r *recordReader) (string, error) {
	id := h.Get(jetstream.MsgIDHeader)
	if id == "" || r.n != 1 {
		return "", nil
	}
	s, err := unescapeHeader(id)
	if err != nil {
		return "", corruptf("%s header: %v", jetstream.MsgIDHeader, err)
	}
	return s, nil
}

// decodeRecord decodes every event of a record body (Sequence and
// EnqueuedTime left zero). Used by tests, the fuzzer and tools.
func decodeRecord(data []byte) ([]Event, error) {
	r, err := openRecord(data)
	if err != nil {
		return nil, err
	}
	evs := make([]Event, r.n)
	for i := range evs {
		if err := r.next(&evs[i]); err != nil {
			return nil, err
		}
	}
	return evs, nil
}

// corrupt wraps the decoding failure of the record stored at recSeq in a
// partition as ErrCorrupt.
func corrupt(hub string, partition int, recSeq uint64, cause error) error {
	if !errors.As(cause, new(errCorruptRecord)) {
		return cause
	}
	return fmt.Errorf("%w: hub %s partition %d, record %d (event sequences from %d): %w",
		ErrCorrupt, hub, partition, recSeq, eventSeq(recSeq, 0), cause)
}
