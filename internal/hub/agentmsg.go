package hub

import (
	"bytes"
	"encoding/json"
	"errors"
	"time"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/secmsg"
)

// AgentRecord is how one security event an agent sent is stored in the
// security stream (source "agent"): the event, re-encoded as a secmsg
// message of its own (so secmsg.Parse reads it back), with who sent it and
// when the hub accepted it.
type AgentRecord struct {
	Device     string          `json:"deviceId"`
	Hub        string          `json:"hub"`
	ReceivedAt time.Time       `json:"receivedAt"`
	Message    json.RawMessage `json:"message"` // a secmsg message holding exactly one event
}

// ReasonInvalidSecurityMessage is the 400 reason of a security message that
// secmsg refuses; the error message carries the field path and secmsg's
// reason.
const ReasonInvalidSecurityMessage = "invalid_security_message"

// ParseAgentMessage is the SecurityParser of agents' messages: it validates
// body with secmsg and stores each event as an AgentRecord, identified by
// its Id. A message repeating an event Id is refused (secmsg checks it).
func ParseAgentMessage(body []byte, hub, device string, received time.Time) ([]SecurityItem, error) {
	m, err := secmsg.Parse(body)
	if err != nil {
		var ve *secmsg.ValidationError
		if errors.As(err, &ve) {
			return nil, apierr.Wrap(err, 400, ReasonInvalidSecurityMessage, "%s", ve.Error())
		}
		return nil, apierr.Wrap(err, 400, ReasonInvalidSecurityMessage, "%v", err)
	}
	items := make([]SecurityItem, 0, len(m.Events))
	for _, ev := range m.Events {
		one := secmsg.NewMessage(m.AgentVersion, m.AgentID, ev)
		one.MessageSchemaVersion = m.MessageSchemaVersion
		enc, err := one.Marshal()
		if err != nil {
			return nil, apierr.Wrap(err, 400, ReasonInvalidSecurityMessage, "event %s: %v", ev.ID, err)
		}
		data, err := encodeRecord(AgentRecord{Device: device, Hub: hub, ReceivedAt: received.UTC(), Message: enc})
		if err != nil {
			return nil, err
		}
		items = append(items, SecurityItem{ID: ev.ID, Data: data})
	}
	return items, nil
}

// encodeRecord encodes r without escaping <, > and & (json.Marshal would,
// inside the message too, which would make it longer than what was
// validated).
func encodeRecord(r AgentRecord) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
