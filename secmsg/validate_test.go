package secmsg_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/moatsec/moat/secmsg"
)

// edit returns a mutation that changes item j of event ev, of type T.
func edit[T secmsg.Item](ev, j int, f func(*T)) func(*secmsg.Message) {
	return func(m *secmsg.Message) {
		v := m.Events[ev].Payload[j].(T)
		f(&v)
		m.Events[ev].Payload[j] = v
	}
}

func event(ev int, f func(*secmsg.Event)) func(*secmsg.Message) {
	return func(m *secmsg.Message) { f(&m.Events[ev]) }
}

var allReasons = []string{
	secmsg.ReasonBadJSON, secmsg.ReasonUnknownField, secmsg.ReasonMissingField, secmsg.ReasonBadValue,
	secmsg.ReasonTooLarge, secmsg.ReasonUnknownEvent, secmsg.ReasonInconsistent, secmsg.ReasonDuplicateID,
	secmsg.ReasonUnsupportedVersion,
}

// checkErr asserts err is a *ValidationError with path and reason.
func checkErr(t *testing.T, err error, path, reason string) {
	t.Helper()
	var ve *secmsg.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T), want a *ValidationError %s at %q", err, err, reason, path)
	}
	if ve.Path != path || ve.Reason != reason {
		t.Errorf("got %s at %q (%v), want %s at %q", ve.Reason, ve.Path, ve, reason, path)
	}
}

func TestValidateFullMessage(t *testing.T) {
	if err := fullMessage().Validate(); err != nil {
		t.Fatal(err)
	}
	var m *secmsg.Message
	checkErr(t, m.Validate(), "", secmsg.ReasonMissingField)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*secmsg.Message)
		path   string
		reason string
	}{
		// Envelope.
		{"no agent version", func(m *secmsg.Message) { m.AgentVersion = "" }, "AgentVersion", secmsg.ReasonMissingField},
		{"agent id not a uuid", func(m *secmsg.Message) { m.AgentID = "sensor-042" }, "AgentId", secmsg.ReasonBadValue},
		{"agent id one digit short", func(m *secmsg.Message) { m.AgentID = m.AgentID[:35] }, "AgentId", secmsg.ReasonBadValue},
		{"agent id misplaced dash", func(m *secmsg.Message) { m.AgentID = "5f1c2b8e0-d3a-4c6f-9e21-7b4d8a9c0e11" }, "AgentId", secmsg.ReasonBadValue},
		{"schema version", func(m *secmsg.Message) { m.MessageSchemaVersion = "2.0" }, "MessageSchemaVersion", secmsg.ReasonUnsupportedVersion},
		{"no schema version", func(m *secmsg.Message) { m.MessageSchemaVersion = "" }, "MessageSchemaVersion", secmsg.ReasonMissingField},
		{"no events", func(m *secmsg.Message) { m.Events = nil }, "Events", secmsg.ReasonMissingField},
		{"zero events", func(m *secmsg.Message) { m.Events = []secmsg.Event{} }, "Events", secmsg.ReasonBadValue},
		{"too many events", func(m *secmsg.Message) {
			m.Events = make([]secmsg.Event, secmsg.MaxEvents+1)
			for i := range m.Events {
				m.Events[i] = secmsg.NewEvent(secmsg.NameLogin, fixedNow, secmsg.Login{Operation: "Login", Result: "Fail"})
			}
		}, "Events", secmsg.ReasonTooLarge},
		{"too many items", func(m *secmsg.Message) {
			items := make([]secmsg.Item, secmsg.MaxItems-len(m.Events[0].Payload)+1)
			for i := range items {
				items[i] = secmsg.Login{Operation: "Login", Result: "Fail"}
			}
			m.Events[evLogin].Payload = append(m.Events[evLogin].Payload, items...)
		}, "Events[2].Payload", secmsg.ReasonTooLarge},

		// Events.
		{"no name", event(0, func(e *secmsg.Event) { e.Name = "" }), "Events[0].Name", secmsg.ReasonMissingField},
		{"unknown name", event(0, func(e *secmsg.Event) { e.Name = "ProcessStart" }), "Events[0].Name", secmsg.ReasonUnknownEvent},
		{"event type of another name", event(evDiagnostic, func(e *secmsg.Event) { e.EventType = secmsg.TypeSecurity }), "Events[9].EventType", secmsg.ReasonInconsistent},
		{"unknown event type", event(0, func(e *secmsg.Event) { e.EventType = "security" }), "Events[0].EventType", secmsg.ReasonBadValue},
		{"no event type", event(0, func(e *secmsg.Event) { e.EventType = "" }), "Events[0].EventType", secmsg.ReasonMissingField},
		{"category of another name", event(evLogin, func(e *secmsg.Event) { e.Category = secmsg.CategoryPeriodic }), "Events[2].Category", secmsg.ReasonInconsistent},
		{"unknown category", event(evLogin, func(e *secmsg.Event) { e.Category = "Scheduled" }), "Events[2].Category", secmsg.ReasonBadValue},
		{"payload schema version", event(1, func(e *secmsg.Event) { e.PayloadSchemaVersion = "1.1" }), "Events[1].PayloadSchemaVersion", secmsg.ReasonUnsupportedVersion},
		{"no id", event(1, func(e *secmsg.Event) { e.ID = "" }), "Events[1].Id", secmsg.ReasonMissingField},
		{"id not a uuid", event(1, func(e *secmsg.Event) { e.ID = "00000000-0000-4000-8000-00000000000g" }), "Events[1].Id", secmsg.ReasonBadValue},
		{"duplicate id", event(4, func(e *secmsg.Event) { e.ID = "00000000-0000-4000-8000-000000000002" }), "Events[4].Id", secmsg.ReasonDuplicateID},
		{"duplicate id in another case", func(m *secmsg.Message) {
			m.Events[0].ID = "ABCDEF00-0000-4000-8000-000000000001"
			m.Events[3].ID = "abcdef00-0000-4000-8000-000000000001"
		}, "Events[3].Id", secmsg.ReasonDuplicateID},
		{"local timestamp not rfc 3339", event(0, func(e *secmsg.Event) { e.TimestampLocal = "2025-03-14 09:26:53" }), "Events[0].TimestampLocal", secmsg.ReasonBadValue},
		{"no local timestamp", event(0, func(e *secmsg.Event) { e.TimestampLocal = "" }), "Events[0].TimestampLocal", secmsg.ReasonMissingField},
		{"utc timestamp with offset", event(0, func(e *secmsg.Event) { e.TimestampUTC = "2025-03-14T07:26:53+00:00" }), "Events[0].TimestampUTC", secmsg.ReasonBadValue},
		{"utc timestamp out of range", event(0, func(e *secmsg.Event) { e.TimestampUTC = "2025-02-30T07:26:53Z" }), "Events[0].TimestampUTC", secmsg.ReasonBadValue},
		{"timestamps apart", event(0, func(e *secmsg.Event) { e.TimestampUTC = "2025-03-14T09:26:53Z" }), "Events[0].TimestampUTC", secmsg.ReasonInconsistent},
		{"snapshot mode on a triggered event", event(0, func(e *secmsg.Event) { e.SnapshotMode = secmsg.SnapshotFull }), "Events[0].SnapshotMode", secmsg.ReasonInconsistent},
		{"unknown snapshot mode", event(evLocalUsers, func(e *secmsg.Event) { e.SnapshotMode = "Delta" }), "Events[6].SnapshotMode", secmsg.ReasonBadValue},
		{"empty diff", event(evListeningPorts, func(e *secmsg.Event) { e.Payload, e.IsEmpty = nil, true }), "Events[4].SnapshotMode", secmsg.ReasonInconsistent},
		{"is empty with items", event(0, func(e *secmsg.Event) { e.IsEmpty = true }), "Events[0].IsEmpty", secmsg.ReasonInconsistent},
		{"not empty without items", event(evLocalUsers, func(e *secmsg.Event) { e.Payload = []secmsg.Item{} }), "Events[6].IsEmpty", secmsg.ReasonInconsistent},
		{"nil item", event(0, func(e *secmsg.Event) { e.Payload[1] = nil }), "Events[0].Payload[1]", secmsg.ReasonMissingField},
		{"item of another event", event(0, func(e *secmsg.Event) { e.Payload[1] = secmsg.ProcessTerminate{ProcessID: 1} }), "Events[0].Payload[1]", secmsg.ReasonInconsistent},

		// Snapshot differences.
		{"change in a full snapshot", edit(evLocalUsers, 0, func(u *secmsg.LocalUser) { u.Change = secmsg.ChangeAdded }), "Events[6].Payload[0].Change", secmsg.ReasonInconsistent},
		{"no change in a diff", edit(evListeningPorts, 1, func(p *secmsg.ListeningPort) { p.Change = "" }), "Events[4].Payload[1].Change", secmsg.ReasonMissingField},
		{"unknown change", edit(evListeningPorts, 0, func(p *secmsg.ListeningPort) { p.Change = "Modified" }), "Events[4].Payload[0].Change", secmsg.ReasonBadValue},

		// Aggregation.
		{"negative hit count", edit(evLogin, 0, func(l *secmsg.Login) { l.HitCount = -1 }), "Events[2].Payload[0].HitCount", secmsg.ReasonBadValue},
		{"hit count without window", edit(evLogin, 0, func(l *secmsg.Login) { l.FirstSeen, l.LastSeen = "", "" }), "Events[2].Payload[0].FirstSeen", secmsg.ReasonMissingField},
		{"first seen alone", edit(evLogin, 1, func(l *secmsg.Login) { l.LastSeen = "" }), "Events[2].Payload[1].LastSeen", secmsg.ReasonMissingField},
		{"last seen alone", edit(evLogin, 1, func(l *secmsg.Login) { l.FirstSeen = "" }), "Events[2].Payload[1].FirstSeen", secmsg.ReasonMissingField},
		{"last seen before first", edit(evLogin, 0, func(l *secmsg.Login) { l.LastSeen = "2025-03-14T07:20:00.999Z" }), "Events[2].Payload[0].LastSeen", secmsg.ReasonInconsistent},
		{"first seen not utc", edit(evDiagnostic, 0, func(d *secmsg.Diagnostic) { d.FirstSeen = "2025-03-14T09:00:00+02:00" }), "Events[9].Payload[0].FirstSeen", secmsg.ReasonBadValue},

		// Strings.
		{"string too long", edit(evProcessCreate, 0, func(p *secmsg.ProcessCreate) { p.CommandLine = strings.Repeat("a", secmsg.MaxStringLen+1) }), "Events[0].Payload[0].CommandLine", secmsg.ReasonTooLarge},
		{"string not utf-8", edit(evProcessCreate, 0, func(p *secmsg.ProcessCreate) { p.CommandLine = "cat \xff\xfe" }), "Events[0].Payload[0].CommandLine", secmsg.ReasonBadValue},
		{"too many groups", edit(evLocalUsers, 1, func(u *secmsg.LocalUser) { u.GroupNames = make([]string, secmsg.MaxListLen+1) }), "Events[6].Payload[1].GroupNames", secmsg.ReasonTooLarge},
		{"empty group name", edit(evLocalUsers, 1, func(u *secmsg.LocalUser) { u.GroupNames[1] = "" }), "Events[6].Payload[1].GroupNames[1]", secmsg.ReasonMissingField},
		{"auth method not a token", edit(evLogin, 0, func(l *secmsg.Login) { l.AuthMethod = "Password" }), "Events[2].Payload[0].AuthMethod", secmsg.ReasonBadValue},
		{"auth method too long", edit(evLogin, 0, func(l *secmsg.Login) { l.AuthMethod = strings.Repeat("a", secmsg.MaxTokenLen+1) }), "Events[2].Payload[0].AuthMethod", secmsg.ReasonTooLarge},

		// Numbers and addresses.
		{"port above 65535", edit(evConnectionCreate, 0, func(c *secmsg.ConnectionCreate) { c.RemotePort = 70000 }), "Events[3].Payload[0].RemotePort", secmsg.ReasonBadValue},
		{"negative port", edit(evLogin, 1, func(l *secmsg.Login) { l.LocalPort = -22 }), "Events[2].Payload[1].LocalPort", secmsg.ReasonBadValue},
		{"no remote port", edit(evConnectionCreate, 0, func(c *secmsg.ConnectionCreate) { c.RemotePort = 0 }), "Events[3].Payload[0].RemotePort", secmsg.ReasonMissingField},
		{"no local port", edit(evListeningPorts, 0, func(p *secmsg.ListeningPort) { p.LocalPort = 0 }), "Events[4].Payload[0].LocalPort", secmsg.ReasonMissingField},
		{"no process id", edit(evProcessTerminate, 0, func(p *secmsg.ProcessTerminate) { p.ProcessID = 0 }), "Events[1].Payload[0].ProcessId", secmsg.ReasonMissingField},
		{"process id above pid max", edit(evProcessCreate, 1, func(p *secmsg.ProcessCreate) { p.ParentProcessID = 1<<22 + 1 }), "Events[0].Payload[1].ParentProcessId", secmsg.ReasonBadValue},
		{"negative user id", edit(evProcessCreate, 1, func(p *secmsg.ProcessCreate) { p.UserID = -1 }), "Events[0].Payload[1].UserId", secmsg.ReasonBadValue},
		{"user id above 32 bits", edit(evLocalUsers, 1, func(u *secmsg.LocalUser) { u.GroupID = 1 << 32 }), "Events[6].Payload[1].GroupId", secmsg.ReasonBadValue},
		{"connection to a host name", edit(evConnectionCreate, 0, func(c *secmsg.ConnectionCreate) { c.RemoteAddress = "example.com" }), "Events[3].Payload[0].RemoteAddress", secmsg.ReasonBadValue},
		{"listening on a bad address", edit(evListeningPorts, 0, func(p *secmsg.ListeningPort) { p.LocalAddress = "0.0.0.0.0" }), "Events[4].Payload[0].LocalAddress", secmsg.ReasonBadValue},
		{"login from a bad host", edit(evLogin, 1, func(l *secmsg.Login) { l.RemoteAddress = "gw ay;rm -rf" }), "Events[2].Payload[1].RemoteAddress", secmsg.ReasonBadValue},
		{"login from an empty label", edit(evLogin, 1, func(l *secmsg.Login) { l.RemoteAddress = "gw..example" }), "Events[2].Payload[1].RemoteAddress", secmsg.ReasonBadValue},
		{"negative counter", edit(evMessageStatistics, 0, func(s *secmsg.MessageStatistics) { s.BytesSent = -5 }), "Events[12].Payload[0].BytesSent", secmsg.ReasonBadValue},
		{"negative dropped", edit(evDropped, 0, func(d *secmsg.DroppedEvents) { d.DroppedEvents = -1 }), "Events[11].Payload[0].DroppedEvents", secmsg.ReasonBadValue},

		// Enumerations and required fields per payload type.
		{"login result", edit(evLogin, 0, func(l *secmsg.Login) { l.Result = "Failure" }), "Events[2].Payload[0].Result", secmsg.ReasonBadValue},
		{"login operation", edit(evLogin, 0, func(l *secmsg.Login) { l.Operation = "" }), "Events[2].Payload[0].Operation", secmsg.ReasonMissingField},
		{"login source", edit(evLogin, 0, func(l *secmsg.Login) { l.Source = "journal" }), "Events[2].Payload[0].Source", secmsg.ReasonBadValue},
		{"process executable", edit(evProcessCreate, 0, func(p *secmsg.ProcessCreate) { p.Executable = "" }), "Events[0].Payload[0].Executable", secmsg.ReasonMissingField},
		{"connection direction", edit(evConnectionCreate, 0, func(c *secmsg.ConnectionCreate) { c.Direction = secmsg.DirectionForward }), "Events[3].Payload[0].Direction", secmsg.ReasonBadValue},
		{"connection protocol", edit(evConnectionCreate, 0, func(c *secmsg.ConnectionCreate) { c.Protocol = "TCP" }), "Events[3].Payload[0].Protocol", secmsg.ReasonBadValue},
		{"firewall family", edit(evFirewall, 1, func(r *secmsg.FirewallRule) { r.Family = "ipv4" }), "Events[5].Payload[1].Family", secmsg.ReasonBadValue},
		{"firewall backend", edit(evFirewall, 1, func(r *secmsg.FirewallRule) { r.Backend = "" }), "Events[5].Payload[1].Backend", secmsg.ReasonMissingField},
		{"jump without target", edit(evFirewall, 2, func(r *secmsg.FirewallRule) { r.Target = "" }), "Events[5].Payload[2].Target", secmsg.ReasonMissingField},
		{"rejecting policy", edit(evFirewall, 0, func(r *secmsg.FirewallRule) { r.Action = secmsg.ActionReject }), "Events[5].Payload[0].Action", secmsg.ReasonInconsistent},
		{"policy with a match", edit(evFirewall, 0, func(r *secmsg.FirewallRule) { r.SourceAddress = "10.0.0.0/8" }), "Events[5].Payload[0]", secmsg.ReasonInconsistent},
		{"baseline error without error", edit(evOSBaseline, 1, func(b *secmsg.BaselineCheck) { b.Error = "" }), "Events[7].Payload[1].Error", secmsg.ReasonMissingField},
		{"baseline severity", edit(evOSBaseline, 0, func(b *secmsg.BaselineCheck) { b.Severity = "Severe" }), "Events[7].Payload[0].Severity", secmsg.ReasonBadValue},
		{"free above total memory", edit(evSystemInformation, 0, func(s *secmsg.SystemInformation) { s.FreePhysicalMemoryInKB = s.TotalPhysicalMemoryInKB + 1 }), "Events[8].Payload[0].FreePhysicalMemoryInKB", secmsg.ReasonInconsistent},
		{"boot time", edit(evSystemInformation, 0, func(s *secmsg.SystemInformation) { s.BootTime = "yesterday" }), "Events[8].Payload[0].BootTime", secmsg.ReasonBadValue},
		{"diagnostic message", edit(evDiagnostic, 0, func(d *secmsg.Diagnostic) { d.Message = "" }), "Events[9].Payload[0].Message", secmsg.ReasonMissingField},
		{"configuration error type", edit(evConfigurationError, 0, func(e *secmsg.ConfigurationError) { e.ErrorType = "Bad" }), "Events[10].Payload[0].ErrorType", secmsg.ReasonBadValue},
		{"dropped events of an unknown name", edit(evDropped, 0, func(d *secmsg.DroppedEvents) { d.Event = "Everything" }), "Events[11].Payload[0].EventName", secmsg.ReasonUnknownEvent},
		{"dropped events queue", edit(evDropped, 0, func(d *secmsg.DroppedEvents) { d.Queue = "" }), "Events[11].Payload[0].Queue", secmsg.ReasonMissingField},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := fullMessage()
			tt.mutate(m)
			checkErr(t, m.Validate(), tt.path, tt.reason)
			_, err := m.Marshal()
			checkErr(t, err, tt.path, tt.reason)
		})
		seen[tt.reason] = true
	}
	for _, tt := range parseTests {
		seen[tt.reason] = true
	}
	for _, r := range allReasons {
		if !seen[r] {
			t.Errorf("no test gives reason %s", r)
		}
	}
}

// TestValidateAccepts: values at the edges of what is allowed.
func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*secmsg.Message)
	}{
		{"port 65535", edit(evConnectionCreate, 0, func(c *secmsg.ConnectionCreate) { c.RemotePort = 65535 })},
		{"user id 4294967295", edit(evProcessCreate, 0, func(p *secmsg.ProcessCreate) { p.UserID = 1<<32 - 1 })},
		{"ipv6 with zone", edit(evListeningPorts, 0, func(p *secmsg.ListeningPort) { p.LocalAddress = "fe80::1%eth0" })},
		{"ipv4-mapped login source", edit(evLogin, 0, func(l *secmsg.Login) { l.RemoteAddress = "::ffff:203.0.113.7" })},
		{"login host name with underscore", edit(evLogin, 1, func(l *secmsg.Login) { l.RemoteAddress = "my_host.local" })},
		{"local login", edit(evLogin, 1, func(l *secmsg.Login) { l.RemoteAddress, l.RemotePort = "", 0 })},
		{"string of max length", edit(evProcessCreate, 0, func(p *secmsg.ProcessCreate) { p.CommandLine = strings.Repeat("é", secmsg.MaxStringLen/2) })},
		{"single occurrence without window", edit(evProcessCreate, 0, func(p *secmsg.ProcessCreate) { p.Aggregate = secmsg.Aggregate{} })},
		{"fractional seconds and offsets", event(0, func(e *secmsg.Event) {
			e.TimestampLocal, e.TimestampUTC = "2025-03-13T21:26:53.25-10:00", "2025-03-14T07:26:53.250Z"
		})},
		{"empty full snapshot", event(evLocalUsers, func(e *secmsg.Event) { e.Payload, e.IsEmpty = nil, true })},
		{"uppercase ids", event(0, func(e *secmsg.Event) { e.ID = "ABCDEF00-0000-4000-8000-000000000001" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := fullMessage()
			tt.mutate(m)
			if err := m.Validate(); err != nil {
				t.Fatal(err)
			}
			b, err := m.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := secmsg.Parse(b); err != nil {
				t.Fatalf("Parse(Marshal()): %v", err)
			}
		})
	}
}

func TestValidationErrorText(t *testing.T) {
	m := fullMessage()
	m.Events[3].Payload[0] = secmsg.ConnectionCreate{}
	err := m.Validate()
	const want = "secmsg: Events[3].Payload[0].RemoteAddress: missing_field"
	if err == nil || err.Error() != want {
		t.Errorf("Error() = %v, want %s", err, want)
	}
	m = fullMessage()
	m.AgentID = strings.Repeat("x", 1000)
	err = m.Validate()
	if err == nil || len(err.Error()) > 200 {
		t.Errorf("Error() echoes the whole hostile value: %v", err)
	}
}
