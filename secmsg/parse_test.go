package secmsg_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/secmsg"
)

// loginMessage is a valid message with one Login event; the test cases
// below change it with strings.Replace.
const loginMessage = `{
  "AgentVersion": "1.0.0",
  "AgentId": "5f1c2b8e-0d3a-4c6f-9e21-7b4d8a9c0e11",
  "MessageSchemaVersion": "1.0",
  "Events": [
    {
      "EventType": "Security",
      "Category": "Triggered",
      "Name": "Login",
      "IsEmpty": false,
      "PayloadSchemaVersion": "1.0",
      "Id": "00000000-0000-4000-8000-000000000001",
      "TimestampLocal": "2025-03-14T09:26:53+02:00",
      "TimestampUTC": "2025-03-14T07:26:53Z",
      ` + loginPayload + `
    }
  ]
}`

const loginPayload = `"Payload": [
        {"UserName": "root", "Operation": "Login", "RemoteAddress": "203.0.113.7", "RemotePort": 50022,
         "Result": "Fail", "HitCount": 5, "FirstSeen": "2025-03-14T07:20:00Z", "LastSeen": "2025-03-14T07:25:00Z"}
      ]`

// replace returns loginMessage with old replaced by new, which must occur.
func replace(old, new string) string {
	if !strings.Contains(loginMessage, old) {
		panic("test case does not match the template: " + old)
	}
	return strings.Replace(loginMessage, old, new, 1)
}

func repeat(s string, n int) string { return strings.TrimSuffix(strings.Repeat(s+",", n), ",") }

var parseTests = []struct {
	name   string
	data   string
	path   string
	reason string
}{
	{"empty", "", "", secmsg.ReasonBadJSON},
	{"too large", `{"AgentVersion": "` + strings.Repeat("a", secmsg.MaxMessageSize) + `"}`, "", secmsg.ReasonTooLarge},
	{"not utf-8", replace(`"root"`, "\"r\xffot\""), "", secmsg.ReasonBadJSON},
	{"an array", `[` + loginMessage + `]`, "", secmsg.ReasonBadJSON},
	{"null", `null`, "", secmsg.ReasonBadJSON},
	{"syntax error", strings.TrimSuffix(loginMessage, "}"), "", secmsg.ReasonBadJSON},
	{"trailing data", loginMessage + `{}`, "", secmsg.ReasonBadJSON},
	{"trailing brace", loginMessage + `}`, "", secmsg.ReasonBadJSON},
	{"wrong type in envelope", replace(`"AgentVersion": "1.0.0"`, `"AgentVersion": 1`), "AgentVersion", secmsg.ReasonBadJSON},
	{"events not an array", `{"Events": {}}`, "Events", secmsg.ReasonBadJSON},
	{"unknown envelope field", replace(`"AgentVersion"`, `"DeviceId": "x", "AgentVersion"`), "DeviceId", secmsg.ReasonUnknownField},
	{"unknown event field", replace(`"IsEmpty"`, `"Priority": 1, "IsEmpty"`), "Events[0].Priority", secmsg.ReasonUnknownField},
	{"event not an object", replace(`"Events": [`, `"Events": [null, `), "Events[0]", secmsg.ReasonBadJSON},
	{"is empty not a bool", replace(`"IsEmpty": false`, `"IsEmpty": "false"`), "Events[0].IsEmpty", secmsg.ReasonBadJSON},
	{"no name", replace(`"Name": "Login",`, ``), "Events[0].Name", secmsg.ReasonMissingField},
	{"unknown name", replace(`"Name": "Login"`, `"Name": "Logon"`), "Events[0].Name", secmsg.ReasonUnknownEvent},
	{"no payload", replace(",\n      "+loginPayload, ""), "Events[0].Payload", secmsg.ReasonMissingField},
	{"null payload", replace(loginPayload, `"Payload": null`), "Events[0].Payload", secmsg.ReasonMissingField},
	{"item not an object", replace(`"Payload": [`, `"Payload": ["root", `), "Events[0].Payload[0]", secmsg.ReasonBadJSON},
	{"null item", replace(`"Payload": [`, `"Payload": [null, `), "Events[0].Payload[0]", secmsg.ReasonBadJSON},
	{"port as a string", replace(`"RemotePort": 50022`, `"RemotePort": "50022"`), "Events[0].Payload[0].RemotePort", secmsg.ReasonBadJSON},
	{"port as a fraction", replace(`"RemotePort": 50022`, `"RemotePort": 50022.5`), "Events[0].Payload[0].RemotePort", secmsg.ReasonBadJSON},
	{"port overflowing", replace(`"RemotePort": 50022`, `"RemotePort": 1e400`), "Events[0].Payload[0].RemotePort", secmsg.ReasonBadJSON},
	{"hit count as a string", replace(`"HitCount": 5`, `"HitCount": "5"`), "Events[0].Payload[0].HitCount", secmsg.ReasonBadJSON},
	{"port out of range", replace(`"RemotePort": 50022`, `"RemotePort": 650220`), "Events[0].Payload[0].RemotePort", secmsg.ReasonBadValue},
	{"too many events", `{"Events": [` + repeat(`{}`, secmsg.MaxEvents+1) + `]}`, "Events", secmsg.ReasonTooLarge},
	{"too many items", replace(`"Payload": [`, `"Payload": [`+repeat(`{}`, secmsg.MaxItems)+`,`), "Events[0].Payload", secmsg.ReasonTooLarge},
	{"schema version", replace(`"MessageSchemaVersion": "1.0"`, `"MessageSchemaVersion": "1.1"`), "MessageSchemaVersion", secmsg.ReasonUnsupportedVersion},
	{"is empty with items", replace(`"IsEmpty": false`, `"IsEmpty": true`), "Events[0].IsEmpty", secmsg.ReasonInconsistent},
}

func TestParseRefuses(t *testing.T) {
	for _, tt := range parseTests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := secmsg.Parse([]byte(tt.data))
			if m != nil {
				t.Errorf("Parse returned a message with error %v", err)
			}
			checkErr(t, err, tt.path, tt.reason)
		})
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name string
		data string
		want func(*secmsg.Message)
	}{
		{"template", loginMessage, nil},
		{"surrounding whitespace", "\n\t " + loginMessage + "\r\n", nil},
		{"unknown payload fields are dropped", replace(`"UserName": "root"`, `"UserName": "root", "Tty": "ssh", "Nested": {"a": [1, 2]}`), nil},
		{"field names in another case", replace(`"RemotePort"`, `"remoteport"`), nil},
		{"repeated key: the last counts", replace(`"Result": "Fail"`, `"Result": "Success", "Result": "Fail"`), nil},
		{"escaped strings", replace(`"root"`, `"r\u006f\u006ft"`), nil},
		{"absent hit count reads as 1", replace(`"HitCount": 5, "FirstSeen": "2025-03-14T07:20:00Z", "LastSeen": "2025-03-14T07:25:00Z"`, `"HitCount": 0`),
			func(m *secmsg.Message) {
				l := m.Events[0].Payload[0].(secmsg.Login)
				l.Aggregate = secmsg.Aggregate{}
				m.Events[0].Payload[0] = l
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := secmsg.Parse([]byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			want, err := secmsg.Parse([]byte(loginMessage))
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != nil {
				tt.want(want)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseEmptyList: an empty GroupNames reads as an absent one, so that
// what Parse returns re-encodes and re-parses to an equal value.
func TestParseEmptyList(t *testing.T) {
	const data = `{"AgentVersion":"1","AgentId":"5f1c2b8e-0d3a-4c6f-9e21-7b4d8a9c0e11","MessageSchemaVersion":"1.0",
"Events":[{"EventType":"Security","Category":"Periodic","Name":"LocalUsers","IsEmpty":false,"PayloadSchemaVersion":"1.0",
"Id":"00000000-0000-4000-8000-000000000001","TimestampLocal":"2025-03-14T07:26:53Z","TimestampUTC":"2025-03-14T07:26:53Z",
"Payload":[{"UserName":"pi","UserId":1000,"GroupId":1000,"GroupNames":[]}]}]}`
	m, err := secmsg.Parse([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if g := m.Events[0].Payload[0].(secmsg.LocalUser).GroupNames; g != nil {
		t.Errorf("GroupNames = %#v, want nil", g)
	}
}

// TestParseErrorsAreShort: an error never echoes a large hostile value.
func TestParseErrorsAreShort(t *testing.T) {
	long := strings.Repeat("9", 100000)
	for _, data := range []string{
		replace(`"RemotePort": 50022`, `"RemotePort": `+long),
		replace(`"Name": "Login"`, `"Name": "`+long+`"`),
		replace(`"IsEmpty"`, `"`+long+`": 1, "IsEmpty"`),
		replace(`"AgentId": "5f1c2b8e-0d3a-4c6f-9e21-7b4d8a9c0e11"`, `"AgentId": "`+long+`"`),
	} {
		_, err := secmsg.Parse([]byte(data))
		if err == nil {
			t.Fatal("accepted")
		}
		if len(err.Error()) > 300 {
			t.Errorf("error of %d bytes: %.300s…", len(err.Error()), err)
		}
	}
}

func TestParseDropsUnknownPayloadFields(t *testing.T) {
	m, err := secmsg.Parse([]byte(replace(`"UserName": "root"`, `"UserName": "root", "Tty": "ssh"`)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("Tty")) {
		t.Errorf("re-encoding kept an unknown field: %s", b)
	}
}
