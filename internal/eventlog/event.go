package eventlog

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Event is one event of a hub partition.
type Event struct {
	Partition    int
	Publisher    string         // "" if none
	PartitionKey string         // "" if none
	Properties   map[string]any // user properties (JSON-encodable), may be nil
	Body         []byte
	MsgID        string // optional: JetStream Nats-Msg-Id, duplicates within the hub's dedup window are dropped

	// Set by reads.
	Sequence     uint64    // stream sequence (hub-wide, increasing within a partition)
	EnqueuedTime time.Time // JetStream storage time, UTC
}

// Message headers carrying event metadata. Values are escaped with
// escapeHeader; Moat-Props is the JSON object of Properties.
const (
	hdrPublisher    = "Moat-Publisher"
	hdrPartitionKey = "Moat-Partition-Key"
	hdrProps        = "Moat-Props"
)

// Headers the server adds to direct-get replies.
const (
	hdrSequence   = "Nats-Sequence"
	hdrTimeStamp  = "Nats-Time-Stamp"
	hdrNumPending = "Nats-Num-Pending"
	hdrStatus     = "Status"
	hdrDesc       = "Description"
)

// encode fills m (subject already set) from ev. Events without metadata are
// sent without headers, which is the cheapest wire form.
func (ev *Event) encode(m *nats.Msg) error {
	m.Data = ev.Body
	n := 0
	if ev.Publisher != "" {
		n++
	}
	if ev.PartitionKey != "" {
		n++
	}
	if len(ev.Properties) > 0 {
		n++
	}
	if ev.MsgID != "" {
		n++
	}
	if n == 0 {
		return nil
	}
	// One backing array for all header value slices.
	vals := make([]string, 0, n)
	h := make(nats.Header, n)
	add := func(k, v string) {
		vals = append(vals, v)
		h[k] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	if ev.Publisher != "" {
		add(hdrPublisher, escapeHeader(ev.Publisher))
	}
	if ev.PartitionKey != "" {
		add(hdrPartitionKey, escapeHeader(ev.PartitionKey))
	}
	if len(ev.Properties) > 0 {
		js, err := json.Marshal(ev.Properties)
		if err != nil {
			return fmt.Errorf("%w: properties: %w", ErrInvalid, err)
		}
		add(hdrProps, escapeHeader(string(js)))
	}
	if ev.MsgID != "" {
		add(jetstream.MsgIDHeader, escapeHeader(ev.MsgID))
	}
	m.Header = h
	return nil
}

// sameHeaders reports whether ev encodes to the same headers as prev without
// comparing property maps (events with properties or a MsgID never match).
func (ev *Event) sameHeaders(prev *Event) bool {
	return ev.Publisher == prev.Publisher && ev.PartitionKey == prev.PartitionKey &&
		len(ev.Properties) == 0 && len(prev.Properties) == 0 && ev.MsgID == "" && prev.MsgID == ""
}

// wireSize is the size nats.go checks against the server's max_payload:
// body plus the encoded header block ("NATS/1.0\r\n", "K: V\r\n"..., "\r\n").
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

// decodeDirect builds an Event from a direct-get reply, whose server
// headers carry the sequence and storage time.
func decodeDirect(m *nats.Msg, partition int) (Event, error) {
	seq, err := strconv.ParseUint(m.Header.Get(hdrSequence), 10, 64)
	if err != nil {
		return Event{}, fmt.Errorf("bad %s header: %w", hdrSequence, err)
	}
	ts, err := time.Parse(time.RFC3339Nano, m.Header.Get(hdrTimeStamp))
	if err != nil {
		return Event{}, fmt.Errorf("bad %s header: %w", hdrTimeStamp, err)
	}
	return decodeEvent(m.Header, m.Data, seq, ts, partition)
}

// decodeEvent builds an Event from a stored message's parts.
func decodeEvent(h nats.Header, body []byte, seq uint64, ts time.Time, partition int) (Event, error) {
	ev := Event{Partition: partition, Body: body, Sequence: seq, EnqueuedTime: ts.UTC()}
	var err error
	if ev.Publisher, err = unescapeHeader(h.Get(hdrPublisher)); err != nil {
		return ev, err
	}
	if ev.PartitionKey, err = unescapeHeader(h.Get(hdrPartitionKey)); err != nil {
		return ev, err
	}
	if ev.MsgID, err = unescapeHeader(h.Get(jetstream.MsgIDHeader)); err != nil {
		return ev, err
	}
	if raw := h.Get(hdrProps); raw != "" {
		js, err := unescapeHeader(raw)
		if err != nil {
			return ev, err
		}
		d := json.NewDecoder(strings.NewReader(js))
		d.UseNumber() // numbers keep their exact text (no float64 rounding)
		if err := d.Decode(&ev.Properties); err != nil {
			return ev, fmt.Errorf("bad %s header: %w", hdrProps, err)
		}
	}
	return ev, nil
}
