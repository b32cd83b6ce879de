package hub_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/secmsg"
)

// TestAgentRecordKeepsTheMessageAsValidated: a record holds the event's
// canonical encoding byte for byte, HTML characters included, so that a
// message at the size limit still parses at the center (json.Marshal
// would have written each <, > and & as six bytes).
func TestAgentRecordKeepsTheMessageAsValidated(t *testing.T) {
	at := time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)
	agentID := secmsg.NewID()
	name := strings.Repeat("<&>", 200)
	var items []secmsg.Item
	ev := secmsg.NewEvent(secmsg.NameLogin, at)
	for {
		// Fill the message up to the limit.
		next := append(items, secmsg.Login{Operation: secmsg.OperationLogin, UserName: name, Result: secmsg.ResultFail})
		probe := secmsg.NewEvent(secmsg.NameLogin, at, next...)
		probe.ID = ev.ID
		if secmsg.NewMessage("1.0", agentID, probe).EncodedSize() > secmsg.MaxMessageSize {
			break
		}
		items = next
	}
	ev = secmsg.NewEvent(secmsg.NameLogin, at, items...)
	m := secmsg.NewMessage("1.0", agentID, ev)
	body, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if len(body) < secmsg.MaxMessageSize-1000 {
		t.Fatalf("message of %d bytes, want close to %d", len(body), secmsg.MaxMessageSize)
	}
	recs, err := hub.ParseAgentMessage(body, "h", "dev-1", at)
	if err != nil || len(recs) != 1 {
		t.Fatalf("ParseAgentMessage: %d records, %v", len(recs), err)
	}
	var r hub.AgentRecord
	if err := json.Unmarshal(recs[0].Data, &r); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.Message, body) {
		t.Fatalf("record's message (%d bytes) differs from the canonical encoding (%d bytes)", len(r.Message), len(body))
	}
	if _, err := secmsg.Parse(r.Message); err != nil {
		t.Errorf("the stored message does not parse again: %v", err)
	}
}
