package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/hub"
)

// MaxBatchEvents bounds the events of one batch request.
const MaxBatchEvents = 10000

// An Event Hubs batch body is a JSON array of items:
//
//	[{"Body": "…", "UserProperties": {…}, "BrokerProperties": {"PartitionKey": "…"}}, …]
//
// Field names match case-insensitively, as with Event Hubs' own parser.
// Body is usually a JSON string (its text is the event body); any other JSON
// value is stored as its JSON text. Other broker properties (Label,
// MessageId, …) are accepted and ignored. The parser streams tokens with
// jsontext (the upstream of Go's encoding/json/v2), so a batch is validated
// and decoded in one pass with few allocations; invalid UTF-8, duplicate
// fields and unknown item fields are refused.

type brokerProperties struct {
	PartitionKey string `json:"PartitionKey"`
}

// parseBrokerProperties parses a BrokerProperties header.
func parseBrokerProperties(b []byte) (brokerProperties, error) {
	var p brokerProperties
	// Other broker properties are accepted and ignored.
	err := json.Unmarshal(b, &p)
	return p, err
}

func malformed(format string, args ...any) error {
	return apierr.New(http.StatusBadRequest, "malformed_batch", format, args...)
}

// pooledDecoder keeps a decoder with its reader so parsing a batch
// allocates neither.
type pooledDecoder struct {
	r   bytes.Reader
	dec *jsontext.Decoder
}

var decoders = sync.Pool{New: func() any {
	p := &pooledDecoder{}
	p.dec = jsontext.NewDecoder(&p.r)
	return p
}}

// ParseBatch parses an Event Hubs batch body. Every error is a 400
// *apierr.Error with reason malformed_batch (or empty_batch) naming the item.
func ParseBatch(data []byte) ([]hub.Event, error) {
	p := decoders.Get().(*pooledDecoder)
	p.r.Reset(data)
	p.dec.Reset(&p.r)
	dec := p.dec
	defer func() {
		p.r.Reset(nil) // drop the reference to the request body
		p.dec.Reset(&p.r)
		decoders.Put(p)
	}()
	if dec.PeekKind() != '[' {
		if _, err := dec.ReadToken(); err != nil {
			return nil, malformed("batch: %v", err)
		}
		return nil, malformed("batch must be a JSON array")
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, malformed("batch: %v", err)
	}
	out := make([]hub.Event, 0, 16)
	for i := 0; dec.PeekKind() != ']'; i++ {
		if i == MaxBatchEvents {
			return nil, malformed("batch holds more than %d events", MaxBatchEvents)
		}
		ev, err := parseItem(dec, i)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	if _, err := dec.ReadToken(); err != nil { // ']'
		return nil, malformed("batch: %v", err)
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, malformed("unexpected data after the batch array")
	}
	if len(out) == 0 {
		return nil, apierr.BadRequest("empty_batch", "the batch holds no events")
	}
	return out, nil
}

func parseItem(dec *jsontext.Decoder, i int) (hub.Event, error) {
	if dec.PeekKind() != '{' {
		if _, err := dec.ReadToken(); err != nil {
			return hub.Event{}, malformed("item %d: %v", i, err)
		}
		return hub.Event{}, malformed("item %d: must be a JSON object", i)
	}
	if _, err := dec.ReadToken(); err != nil {
		return hub.Event{}, malformed("item %d: %v", i, err)
	}
	var ev hub.Event
	var seen [3]bool
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return hub.Event{}, malformed("item %d: %v", i, err)
		}
		n := name.String() // a token is valid only until the next decoder call
		field := -1
		switch {
		case strings.EqualFold(n, "Body"):
			field = 0
		case strings.EqualFold(n, "UserProperties"):
			field = 1
		case strings.EqualFold(n, "BrokerProperties"):
			field = 2
		default:
			return hub.Event{}, malformed("item %d: unknown field %.64q", i, n)
		}
		if seen[field] {
			return hub.Event{}, malformed("item %d: duplicate field %q", i, n)
		}
		seen[field] = true
		switch field {
		case 0:
			err = parseBody(dec, &ev)
		case 1:
			err = parseUserProperties(dec, &ev)
		case 2:
			err = parseBatchBrokerProperties(dec, &ev)
		}
		if err != nil {
			return hub.Event{}, malformed("item %d: %s: %v", i, n, err)
		}
	}
	if _, err := dec.ReadToken(); err != nil { // '}'
		return hub.Event{}, malformed("item %d: %v", i, err)
	}
	if ev.Body == nil {
		return hub.Event{}, malformed("item %d: Body is required", i)
	}
	return ev, nil
}

var errNull = errors.New("must not be null")

func parseBody(dec *jsontext.Decoder, ev *hub.Event) error {
	switch dec.PeekKind() {
	case '"':
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		ev.Body = []byte(tok.String())
	case 'n':
		if _, err := dec.ReadToken(); err != nil {
			return err
		}
		return errNull
	default:
		v, err := dec.ReadValue()
		if err != nil {
			return err
		}
		ev.Body = bytes.Clone(v)
	}
	return nil
}

func parseUserProperties(dec *jsontext.Decoder, ev *hub.Event) error {
	if isNull, err := openObject(dec); err != nil || isNull {
		return err
	}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return err
		}
		k := name.String()
		if len(k) == 0 || len(k) > 256 {
			return errors.New("property names must be 1..256 bytes")
		}
		if ev.Properties == nil {
			ev.Properties = make(map[string]any, 4)
		}
		if len(ev.Properties) == maxProperties {
			return errors.New("too many properties")
		}
		v, err := propertyValue(dec)
		if err != nil {
			return err
		}
		ev.Properties[k] = v
	}
	_, err := dec.ReadToken()
	return err
}

// propertyValue reads one property value: strings, bools and null as
// themselves, integral numbers as int64, other numbers as float64, arrays
// and objects decoded by encoding/json.
func propertyValue(dec *jsontext.Decoder) (any, error) {
	switch dec.PeekKind() {
	case '[', '{':
		raw, err := dec.ReadValue()
		if err != nil {
			return nil, err
		}
		var v any
		err = json.Unmarshal(raw, &v)
		return v, err
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case '"':
		return tok.String(), nil
	case 't', 'f':
		return tok.Bool(), nil
	case 'n':
		return nil, nil
	}
	s := tok.String() // a number's raw text
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	return tok.Float()
}

func parseBatchBrokerProperties(dec *jsontext.Decoder, ev *hub.Event) error {
	if isNull, err := openObject(dec); err != nil || isNull {
		return err
	}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return err
		}
		if !strings.EqualFold(name.String(), "PartitionKey") {
			if err := dec.SkipValue(); err != nil {
				return err
			}
			continue
		}
		if dec.PeekKind() != '"' {
			if err := dec.SkipValue(); err != nil {
				return err
			}
			return errors.New("PartitionKey must be a string")
		}
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		ev.PartitionKey = tok.String()
	}
	_, err := dec.ReadToken()
	return err
}

// openObject consumes the '{' of an optional object value; null is consumed
// and reported, anything else is an error.
func openObject(dec *jsontext.Decoder) (isNull bool, err error) {
	switch dec.PeekKind() {
	case 'n':
		_, err := dec.ReadToken()
		return true, err
	case '{':
		_, err := dec.ReadToken()
		return false, err
	}
	if _, err := dec.ReadValue(); err != nil {
		return false, err
	}
	return false, errors.New("must be a JSON object")
}
