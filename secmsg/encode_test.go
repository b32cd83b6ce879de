package secmsg_test

import (
	"bytes"
	"regexp"
	"testing"
	"time"

	"github.com/moatsec/moat/secmsg"
)

func TestNewEvent(t *testing.T) {
	for _, name := range secmsg.Names() {
		e := secmsg.NewEvent(name, fixedNow)
		typ, cat, ok := secmsg.Classify(name)
		if !ok || e.EventType != typ || e.Category != cat || e.Name != name {
			t.Errorf("NewEvent(%s) = %s/%s/%s, want %s/%s", name, e.EventType, e.Category, e.Name, typ, cat)
		}
		if !e.IsEmpty || e.Payload == nil || len(e.Payload) != 0 {
			t.Errorf("NewEvent(%s) with no items: IsEmpty %t, Payload %#v", name, e.IsEmpty, e.Payload)
		}
	}
	e := secmsg.NewEvent(secmsg.NameDiagnostic, fixedNow, secmsg.Diagnostic{Severity: "Error", Message: "x"})
	if e.IsEmpty || len(e.Payload) != 1 {
		t.Errorf("IsEmpty %t with %d items", e.IsEmpty, len(e.Payload))
	}
	if e.TimestampLocal != "2025-03-14T09:26:53+02:00" || e.TimestampUTC != "2025-03-14T07:26:53Z" {
		t.Errorf("timestamps %s, %s", e.TimestampLocal, e.TimestampUTC)
	}
	if _, _, ok := secmsg.Classify("Nope"); ok {
		t.Error("Classify(Nope) ok")
	}
	if err := secmsg.NewMessage("1", secmsg.NewID(), secmsg.NewEvent("Nope", fixedNow)).Validate(); err == nil {
		t.Error("an event of an unknown name validates")
	}
}

func TestNewID(t *testing.T) {
	v4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := secmsg.NewID()
		if !v4.MatchString(id) {
			t.Fatalf("NewID() = %s, not a v4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %s", id)
		}
		seen[id] = true
	}
}

func TestTimeHelpers(t *testing.T) {
	s := secmsg.FormatTime(fixedNow)
	if s != "2025-03-14T07:26:53Z" {
		t.Errorf("FormatTime = %s", s)
	}
	got, err := secmsg.ParseTime("2025-03-14T09:26:53.5+02:00")
	if err != nil || !got.Equal(fixedNow.Add(500*time.Millisecond)) {
		t.Errorf("ParseTime = %v, %v", got, err)
	}
}

// TestEncodedSize: the size formula of Message.EncodedSize holds, and is what
// Marshal writes.
func TestEncodedSize(t *testing.T) {
	m := fullMessage()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if m.EncodedSize() != len(b) {
		t.Errorf("EncodedSize %d, Marshal wrote %d bytes", m.EncodedSize(), len(b))
	}
	sum := secmsg.NewMessage(m.AgentVersion, m.AgentID).EncodedSize() + len(m.Events) - 1
	for _, e := range m.Events {
		sum += e.EncodedSize()
	}
	if sum != len(b) {
		t.Errorf("envelope + events + commas = %d, want %d", sum, len(b))
	}
}

// TestMarshalEmptyPayload: a nil Payload is written [] (which Parse
// accepts), not null, and the caller's message is left as it was.
func TestMarshalEmptyPayload(t *testing.T) {
	m := fullMessage()
	m.Events[evLocalUsers].Payload, m.Events[evLocalUsers].IsEmpty = nil, true
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("null")) || !bytes.Contains(b, []byte(`"Payload":[]`)) {
		t.Errorf("empty payload not written as []: %s", b)
	}
	if m.Events[evLocalUsers].Payload != nil {
		t.Error("Marshal changed the message")
	}
	if _, err := secmsg.Parse(b); err != nil {
		t.Error(err)
	}
	if got := m.Events[evLocalUsers].EncodedSize(); got != len(`{"EventType":"Security","Category":"Periodic","Name":"LocalUsers","IsEmpty":true,"PayloadSchemaVersion":"1.0","Id":"00000000-0000-4000-8000-000000000007","TimestampLocal":"2025-03-14T09:26:53+02:00","TimestampUTC":"2025-03-14T07:26:53Z","Payload":[]}`) {
		t.Errorf("EncodedSize of an empty event = %d", got)
	}
}

// TestMarshalNoHTMLEscape: <, > and & are written as they are.
func TestMarshalNoHTMLEscape(t *testing.T) {
	b, err := fullMessage().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`echo a|b && true`)) {
		t.Errorf("& escaped: %s", b)
	}
}

func TestMarshalTooLarge(t *testing.T) {
	m := fullMessage()
	big := make([]secmsg.Item, 100)
	for i := range big {
		big[i] = secmsg.Diagnostic{Severity: "Error", Message: string(bytes.Repeat([]byte("x"), secmsg.MaxStringLen))}
	}
	m.Events[evDiagnostic].Payload = big
	if _, err := m.Marshal(); err == nil {
		t.Fatal("Marshal accepted a message over MaxMessageSize")
	} else {
		checkErr(t, err, "", secmsg.ReasonTooLarge)
	}
}
