package secmsg

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
)

// Marshal validates m and encodes it as compact JSON, with the field names
// of the schema, an empty Payload as [], and <, > and & unescaped. It
// refuses (with a *ValidationError) an invalid message and one whose
// encoding exceeds MaxMessageSize.
func (m *Message) Marshal() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	b, err := encode(normalized(m))
	if err != nil {
		return nil, fmt.Errorf("secmsg: encoding: %w", err)
	}
	if len(b) > MaxMessageSize {
		return nil, &ValidationError{Reason: ReasonTooLarge, Detail: fmt.Sprintf("%d bytes encoded, at most %d", len(b), MaxMessageSize)}
	}
	return b, nil
}

// EncodedSize returns the number of bytes Marshal writes for m (valid or
// not). The size of a message is that of its envelope with no event plus,
// for n events, the sum of their EncodedSize and n-1 separating commas:
//
//	NewMessage(v, id).EncodedSize() + Σ e.EncodedSize() + n - 1
//
// which lets an agent pack events up to a size without encoding twice.
func (m *Message) EncodedSize() int {
	b, err := encode(normalized(m))
	if err != nil {
		return math.MaxInt // cannot happen: the types of this package always encode
	}
	return len(b)
}

// EncodedSize returns the number of bytes of e inside a message Marshal
// writes (see Message.EncodedSize).
func (e Event) EncodedSize() int {
	if e.Payload == nil {
		e.Payload = []Item{}
	}
	b, err := encode(e)
	if err != nil {
		return math.MaxInt // cannot happen: the types of this package always encode
	}
	return len(b)
}

// normalized returns m, or a copy of it with Events and payloads written
// [] rather than null when nil.
func normalized(m *Message) *Message {
	if m == nil {
		m = &Message{}
	}
	ok := m.Events != nil
	for i := range m.Events {
		ok = ok && m.Events[i].Payload != nil
	}
	if ok {
		return m
	}
	c := *m
	c.Events = make([]Event, len(m.Events))
	copy(c.Events, m.Events)
	for j := range c.Events {
		if c.Events[j].Payload == nil {
			c.Events[j].Payload = []Item{}
		}
	}
	return &c
}

func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
