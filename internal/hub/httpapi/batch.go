package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/hub"
)

// MaxBatchEvents bounds the events of one batch request.
const MaxBatchEvents = 10000

// batchItem is one element of an Event Hubs batch:
//
//	[{"Body": "…", "UserProperties": {…}, "BrokerProperties": {"PartitionKey": "…"}}, …]
//
// Body is usually a JSON string (its text is the event body); any other JSON
// value is stored as its JSON text.
type batchItem struct {
	Body             json.RawMessage `json:"Body"`
	UserProperties   map[string]any  `json:"UserProperties"`
	BrokerProperties json.RawMessage `json:"BrokerProperties"`
}

type brokerProperties struct {
	PartitionKey string `json:"PartitionKey"`
}

func parseBrokerProperties(b []byte) (brokerProperties, error) {
	var p brokerProperties
	// Other broker properties (Label, MessageId, …) are accepted and ignored.
	if err := json.Unmarshal(b, &p); err != nil {
		return p, err
	}
	return p, nil
}

func malformed(format string, args ...any) error {
	return apierr.New(http.StatusBadRequest, "malformed_batch", format, args...)
}

// ParseBatch parses an Event Hubs batch body. Every error is a 400
// *apierr.Error with reason malformed_batch (or empty_batch) naming the item.
func ParseBatch(data []byte) ([]hub.Event, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, malformed("batch: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, malformed("batch must be a JSON array")
	}
	var out []hub.Event
	for i := 0; dec.More(); i++ {
		if i == MaxBatchEvents {
			return nil, malformed("batch holds more than %d events", MaxBatchEvents)
		}
		var it batchItem
		if err := dec.Decode(&it); err != nil {
			return nil, malformed("item %d: %v", i, err)
		}
		ev, err := it.event(i)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	if _, err := dec.Token(); err != nil {
		return nil, malformed("batch: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, malformed("unexpected data after the batch array")
	}
	if len(out) == 0 {
		return nil, apierr.BadRequest("empty_batch", "the batch holds no events")
	}
	return out, nil
}

func (it batchItem) event(i int) (hub.Event, error) {
	body := bytes.TrimSpace(it.Body)
	if len(body) == 0 || bytes.Equal(body, []byte("null")) {
		return hub.Event{}, malformed("item %d: Body is required", i)
	}
	ev := hub.Event{}
	if body[0] == '"' {
		var s string
		if err := json.Unmarshal(body, &s); err != nil {
			return hub.Event{}, malformed("item %d: Body: %v", i, err)
		}
		ev.Body = []byte(s)
	} else {
		ev.Body = bytes.Clone(body)
	}
	if len(it.UserProperties) > maxProperties {
		return hub.Event{}, malformed("item %d: at most %d user properties", i, maxProperties)
	}
	if len(it.UserProperties) > 0 {
		ev.Properties = make(map[string]any, len(it.UserProperties))
		for k, v := range it.UserProperties {
			if len(k) == 0 || len(k) > 256 {
				return hub.Event{}, malformed("item %d: property names must be 1..256 bytes", i)
			}
			ev.Properties[k] = number(v)
		}
	}
	if len(it.BrokerProperties) > 0 && !bytes.Equal(it.BrokerProperties, []byte("null")) {
		p, err := parseBrokerProperties(it.BrokerProperties)
		if err != nil {
			return hub.Event{}, malformed("item %d: BrokerProperties: %v", i, err)
		}
		ev.PartitionKey = p.PartitionKey
	}
	return ev, nil
}

// number turns json.Number into int64 when integral, else float64, so
// property types survive the round trip.
func number(v any) any {
	n, ok := v.(json.Number)
	if !ok {
		return v
	}
	if i, err := n.Int64(); err == nil {
		return i
	}
	f, err := n.Float64()
	if err != nil {
		return n.String()
	}
	return f
}
