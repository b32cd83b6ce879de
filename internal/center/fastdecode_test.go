package center

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/secmsg"
)

const (
	testAgentID = "5f1c2b8e-0d3a-4c6f-9e21-7b4d8a9c0e11"
	testHub     = "hub-1"
	testDevice  = "sensor-042"
)

var (
	// testNow is 09:26:53 on a device two hours east of UTC.
	testNow      = time.Date(2025, 3, 14, 9, 26, 53, 0, time.FixedZone("", 2*3600))
	testReceived = time.Date(2025, 3, 14, 7, 26, 54, 123456789, time.UTC)
	testSeq      uint64
)

// testEvent returns an event named name holding items, with an Id from a
// counter rather than a random one (readable in failures).
func testEvent(name string, items ...secmsg.Item) secmsg.Event {
	testSeq++
	e := secmsg.NewEvent(name, testNow, items...)
	e.ID = fmt.Sprintf("00000000-0000-4000-8000-%012d", testSeq)
	return e
}

func diff(e secmsg.Event) secmsg.Event { e.SnapshotMode = secmsg.SnapshotDiff; return e }
func full(e secmsg.Event) secmsg.Event { e.SnapshotMode = secmsg.SnapshotFull; return e }

// hubRecords returns the records the hub stores for an agent's message
// body: hub.ParseAgentMessage itself, one record per event.
func hubRecords(body []byte, device string) ([]Record, error) {
	items, err := hub.ParseAgentMessage(body, testHub, device, testReceived)
	if err != nil {
		return nil, err
	}
	recs := make([]Record, len(items))
	for i, it := range items {
		recs[i] = Record{Sequence: uint64(i + 1), Time: testReceived, Hub: testHub, Source: SourceAgent,
			Device: "stream-device", Data: it.Data}
	}
	return recs, nil
}

// messageOf encodes events as an agent does.
func messageOf(t testing.TB, events ...secmsg.Event) []byte {
	t.Helper()
	body, err := secmsg.NewMessage("1.0.0", testAgentID, events...).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return body
}

var aggregated = secmsg.Aggregate{HitCount: 6, FirstSeen: "2025-03-14T07:20:01Z", LastSeen: "2025-03-14T07:24:59.5Z"}
var seenOnce = secmsg.Aggregate{HitCount: 1, FirstSeen: "2025-03-14T07:26:40Z", LastSeen: "2025-03-14T07:26:40Z"}

// decodeCases are messages of every event name, as agents send them.
func decodeCases() []struct {
	name   string
	events []secmsg.Event
	device string // the envelope's deviceId; "" falls back to the stream's
} {
	type tc = struct {
		name   string
		events []secmsg.Event
		device string
	}
	return []tc{
		{"ProcessCreate", []secmsg.Event{testEvent(secmsg.NameProcessCreate,
			secmsg.ProcessCreate{Executable: "/usr/bin/curl", ProcessID: 4242, ParentProcessID: 4100, UserID: 0, UserName: "root",
				CommandLine: "curl -fsS http://192.0.2.10/install.sh", Aggregate: seenOnce},
			secmsg.ProcessCreate{Executable: "/bin/sh", ProcessID: 4243, ParentProcessID: 4242, UserID: 1000, UserName: "pi",
				CommandLine: `sh -c 'echo a|b && true' "quoted" back\slash <tag> tab	newline` + "\n" + `nul` + "\x00" + ` sep` + "\u2028"},
			secmsg.ProcessCreate{Executable: "/usr/bin/python3", ProcessID: 1 << 22, UserID: 1<<32 - 1, Aggregate: aggregated})}, testDevice},
		{"ProcessTerminate", []secmsg.Event{testEvent(secmsg.NameProcessTerminate,
			secmsg.ProcessTerminate{Executable: "/usr/bin/curl", ProcessID: 4242, ExitStatus: 0},
			secmsg.ProcessTerminate{ProcessID: 4243, ExitStatus: 127, Aggregate: aggregated},
			secmsg.ProcessTerminate{Executable: "/bin/false", ProcessID: 7, ExitStatus: -1})}, testDevice},
		{"Login", []secmsg.Event{testEvent(secmsg.NameLogin,
			secmsg.Login{UserName: "admin", Operation: secmsg.OperationLogin, Executable: "/usr/sbin/sshd",
				RemoteAddress: "203.0.113.7", LocalPort: 22, Result: secmsg.ResultFail, AuthMethod: secmsg.AuthPassword,
				InvalidUser: true, Source: secmsg.SourceAuthLog, Aggregate: aggregated},
			secmsg.Login{ProcessID: 3810, UserName: "pi", Operation: secmsg.OperationLogin, Executable: "/usr/sbin/sshd",
				RemoteAddress: "gateway.example.net", RemotePort: 51022, LocalPort: 22, Result: secmsg.ResultSuccess,
				AuthMethod: secmsg.AuthPublicKey, Source: secmsg.SourceAudit, Aggregate: seenOnce},
			secmsg.Login{UserName: "jürgen|<&>\\", Operation: secmsg.OperationLogout, Result: secmsg.ResultSuccess},
			secmsg.Login{Operation: secmsg.OperationLogin, Result: secmsg.ResultFail, RemoteAddress: "2001:db8::1",
				RemotePort: 65535, AuthMethod: "keyboard-interactive", Aggregate: secmsg.Aggregate{HitCount: math.MaxInt64,
					FirstSeen: "2025-03-14T07:00:00.123456789Z", LastSeen: "2025-03-14T07:26:00Z"}})}, testDevice},
		{"ConnectionCreate", []secmsg.Event{testEvent(secmsg.NameConnectionCreate,
			secmsg.ConnectionCreate{Executable: "/usr/bin/curl", ProcessID: 4242, CommandLine: "curl -fsS http://192.0.2.10/install.sh",
				UserID: 0, RemoteAddress: "192.0.2.10", RemotePort: 80, LocalAddress: "10.0.0.5", LocalPort: 40112,
				Protocol: secmsg.ProtocolTCP, Direction: secmsg.DirectionOut, Aggregate: seenOnce},
			secmsg.ConnectionCreate{UserID: 4294967295, RemoteAddress: "::ffff:192.0.2.1", RemotePort: 1,
				Protocol: secmsg.ProtocolUDP6, Direction: secmsg.DirectionIn})}, testDevice},
		{"ListeningPorts Diff", []secmsg.Event{diff(testEvent(secmsg.NameListeningPorts,
			secmsg.ListeningPort{Protocol: secmsg.ProtocolTCP, LocalAddress: "0.0.0.0", LocalPort: 4444, ProcessID: 4301,
				Executable: "/tmp/.x/nc", Change: secmsg.ChangeAdded},
			secmsg.ListeningPort{Protocol: secmsg.ProtocolUDP6, LocalAddress: "::", LocalPort: 5353, Change: secmsg.ChangeRemoved},
			secmsg.ListeningPort{Protocol: secmsg.ProtocolTCP6, LocalAddress: "::1", LocalPort: 631, RemoteAddress: "::",
				RemotePort: 0, ProcessID: 1, Executable: "/usr/sbin/cupsd", Change: secmsg.ChangeChanged}))}, testDevice},
		{"ListeningPorts Periodic", []secmsg.Event{
			testEvent(secmsg.NameListeningPorts,
				secmsg.ListeningPort{Protocol: secmsg.ProtocolTCP, LocalAddress: "0.0.0.0", LocalPort: 22, ProcessID: 612, Executable: "/usr/sbin/sshd"}),
			full(testEvent(secmsg.NameListeningPorts,
				secmsg.ListeningPort{Protocol: secmsg.ProtocolUDP, LocalAddress: "127.0.0.1", LocalPort: 53})),
			testEvent(secmsg.NameListeningPorts),
		}, testDevice},
		{"FirewallConfiguration", []secmsg.Event{full(testEvent(secmsg.NameFirewallConfiguration,
			secmsg.FirewallRule{Backend: secmsg.BackendNftables, Family: secmsg.FamilyInet, Table: "filter", ChainName: "input",
				Hook: secmsg.HookInput, Priority: -150, IsDefaultPolicy: true, Action: secmsg.ActionDeny, Direction: secmsg.DirectionIn, Enabled: true},
			secmsg.FirewallRule{Backend: secmsg.BackendNftables, Family: secmsg.FamilyInet, Table: "filter", ChainName: "input",
				Hook: secmsg.HookInput, Action: secmsg.ActionAllow, Protocol: "tcp", SourceAddress: "10.0.0.0/8",
				DestinationPort: "22", Direction: secmsg.DirectionIn, Enabled: true, Raw: `ip saddr 10.0.0.0/8 tcp dport 22 accept`},
			secmsg.FirewallRule{Backend: secmsg.BackendIptables, Family: secmsg.FamilyIP, Table: "filter", ChainName: "INPUT",
				Action: secmsg.ActionJump, Target: "f2b-sshd", Protocol: "tcp", SourcePort: "{ 80, 443 }", DestinationAddress: "!192.0.2.1",
				Raw: "-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd"})),
			diff(testEvent(secmsg.NameFirewallConfiguration,
				secmsg.FirewallRule{Backend: secmsg.BackendNftables, Family: secmsg.FamilyIP6, Table: "nat", ChainName: "postrouting",
					Action: secmsg.ActionNAT, Enabled: true, Change: secmsg.ChangeAdded}))}, testDevice},
		{"LocalUsers", []secmsg.Event{
			testEvent(secmsg.NameLocalUsers,
				secmsg.LocalUser{UserName: "root", UserID: 0, GroupID: 0, HomeDirectory: "/root", Shell: "/bin/bash", GroupNames: []string{"root"}},
				secmsg.LocalUser{UserName: "pi", UserID: 1000, GroupID: 1000, HomeDirectory: "/home/pi", Shell: "/bin/bash",
					GroupNames: []string{"adm", "pi", "sudo"}},
				secmsg.LocalUser{UserName: "nobody", UserID: 65534, GroupID: 65534, GroupNames: []string{}},
				secmsg.LocalUser{UserName: "José Ünïcødé 日本", UserID: 1<<32 - 1, GroupID: 1 << 31, GroupNames: []string{"a,b", "é|\\"}}),
			diff(testEvent(secmsg.NameLocalUsers,
				secmsg.LocalUser{UserName: "backdoor", UserID: 0, GroupID: 0, Shell: "/bin/sh", GroupNames: []string{"root", "sudo"}, Change: secmsg.ChangeAdded},
				secmsg.LocalUser{UserName: "pi", UserID: 1000, GroupID: 1000, Change: secmsg.ChangeChanged}))}, testDevice},
		{"OSBaseline", []secmsg.Event{
			testEvent(secmsg.NameOSBaseline,
				secmsg.BaselineCheck{CheckID: "ssh.permit-root-login", Description: "SSH does not accept root logins", Result: secmsg.CheckFail,
					Severity: secmsg.SeverityHigh, Expected: "PermitRootLogin no", Actual: "PermitRootLogin yes",
					Remediation: "Set PermitRootLogin no in /etc/ssh/sshd_config and reload sshd."},
				secmsg.BaselineCheck{CheckID: "fs.shadow-permissions", Result: secmsg.CheckError, Severity: secmsg.SeverityMedium,
					Error: "stat /etc/shadow: permission denied"}),
			diff(testEvent(secmsg.NameOSBaseline,
				secmsg.BaselineCheck{CheckID: "ssh.permit-root-login", Result: secmsg.CheckPass, Severity: secmsg.SeverityHigh, Change: secmsg.ChangeChanged},
				secmsg.BaselineCheck{CheckID: "kernel.aslr", Result: secmsg.CheckPass, Severity: secmsg.SeverityInformational, Change: secmsg.ChangeRemoved}))}, testDevice},
		{"SystemInformation", []secmsg.Event{
			testEvent(secmsg.NameSystemInformation,
				secmsg.SystemInformation{OSName: "Debian GNU/Linux", OSVersion: "12", KernelVersion: "6.1.0-rpi7-rpi-v8", HostName: "sensor-042",
					Architecture: "aarch64", Model: "Raspberry Pi 4 Model B Rev 1.4",
					TotalPhysicalMemoryInKB: 3884096, FreePhysicalMemoryInKB: 2710412, BootTime: "2025-03-10T06:00:12Z"}),
			diff(testEvent(secmsg.NameSystemInformation,
				// Beyond 2^53 Flatten's float64 rounds: 9007199254740993 reads 9007199254740992.
				secmsg.SystemInformation{KernelVersion: "6.6.0", HostName: "big", Architecture: "x86_64",
					TotalPhysicalMemoryInKB: 1<<53 + 1, FreePhysicalMemoryInKB: 1<<53 - 1, Change: secmsg.ChangeChanged})),
			testEvent(secmsg.NameSystemInformation,
				secmsg.SystemInformation{KernelVersion: "6.6.0", HostName: "huge", Architecture: "x86_64", TotalPhysicalMemoryInKB: math.MaxInt64}),
		}, testDevice},
		{"Diagnostic", []secmsg.Event{testEvent(secmsg.NameDiagnostic,
			secmsg.Diagnostic{Severity: secmsg.DiagnosticWarning, Component: "collector/audit", ProcessID: 812,
				Message: "audit netlink socket busy: falling back to /var/log/audit/audit.log", Aggregate: aggregated},
			secmsg.Diagnostic{Severity: secmsg.DiagnosticError, Message: "ärger: \"quoted\" <b>"})}, testDevice},
		{"ConfigurationError", []secmsg.Event{testEvent(secmsg.NameConfigurationError,
			secmsg.ConfigurationError{ConfigurationName: "snapshot.interval", ErrorType: secmsg.ConfigOutOfBounds, UsedConfiguration: "1m",
				Message: "5s is below the minimum of 1m"},
			secmsg.ConfigurationError{ConfigurationName: "x", ErrorType: secmsg.ConfigOther, Aggregate: seenOnce})}, testDevice},
		{"DroppedEventsStatistics", []secmsg.Event{testEvent(secmsg.NameDroppedEventsStatistics,
			secmsg.DroppedEvents{Event: secmsg.NameProcessCreate, Queue: secmsg.QueueLow, DroppedEvents: 120, Reason: "queue_full"},
			secmsg.DroppedEvents{Event: secmsg.AnyEvent, Queue: secmsg.QueueHigh, DroppedEvents: 0})}, testDevice},
		{"MessageStatistics", []secmsg.Event{
			testEvent(secmsg.NameMessageStatistics,
				secmsg.MessageStatistics{MessagesSent: 52, MessagesFailed: 2, EventsSent: 310, BytesSent: 198211}),
			testEvent(secmsg.NameMessageStatistics, secmsg.MessageStatistics{}), // every field omitted: no fields
		}, testDevice},
		{"empty payloads", func() []secmsg.Event {
			var evs []secmsg.Event
			for _, name := range secmsg.Names() {
				evs = append(evs, testEvent(name))
			}
			evs = append(evs, full(testEvent(secmsg.NameLocalUsers)))
			return evs
		}(), testDevice},
		{"no deviceId", []secmsg.Event{testEvent(secmsg.NameLogin,
			secmsg.Login{Operation: secmsg.OperationLogin, Result: secmsg.ResultSuccess, UserName: "pi"})}, ""},
		{"unicode device", []secmsg.Event{testEvent(secmsg.NameLogin,
			secmsg.Login{Operation: secmsg.OperationLogin, Result: secmsg.ResultSuccess})}, "gerät-<7>&\"x\""},
	}
}

// compareDecoders decodes r both ways and reports any difference. It
// returns the fast decoder's error, nil when it decoded r.
func compareDecoders(t *testing.T, r Record) error {
	t.Helper()
	want, wantMsg, wantErr := decodeAgentStrict(r)
	got, gotMsg, err := decodeAgentFast(r)
	if err != nil {
		// A refusal: decodeAgent takes the strict path.
		evs, msg, derr := decodeAgent(r)
		if (derr != nil) != (wantErr != nil) || !cmp.Equal(evs, want) || !cmp.Equal(msg, wantMsg) {
			t.Errorf("decodeAgent after a refusal (%v) differs from the strict path", err)
		}
		return err
	}
	if wantErr != nil {
		t.Fatalf("fast decoder accepted a record the strict path refuses (%v):\n%q", wantErr, r.Data)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("events differ (-strict +fast):\n%s\nrecord: %s", d, r.Data)
	}
	if d := cmp.Diff(wantMsg, gotMsg); d != "" {
		t.Fatalf("agent message differs (-strict +fast):\n%s\nrecord: %s", d, r.Data)
	}
	return nil
}

// TestFastDecodeMatchesStrict: for messages of every event name, stored
// as the hub stores them, the fast decoder decodes every record and gives
// what the strict path gives.
func TestFastDecodeMatchesStrict(t *testing.T) {
	for _, tt := range decodeCases() {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := hubRecords(messageOf(t, tt.events...), tt.device)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				if err := compareDecoders(t, r); err != nil {
					t.Errorf("the fast decoder refused a record the hub wrote: %v\n%s", err, r.Data)
				}
				evs, _, _ := decodeAgent(r)
				if tt.device == "" && evs[0].Device != r.Device {
					t.Errorf("Device = %q, want the stream's %q", evs[0].Device, r.Device)
				}
			}
		})
	}
}

// TestFastDecodeExpectations spells out some of what both decoders give,
// so that the equivalence above is not that of two wrong answers.
func TestFastDecodeExpectations(t *testing.T) {
	ports := diff(testEvent(secmsg.NameListeningPorts,
		secmsg.ListeningPort{Protocol: "tcp", LocalAddress: "0.0.0.0", LocalPort: 4444, ProcessID: 4301, Executable: "/tmp/nc", Change: "Added"}))
	users := testEvent(secmsg.NameLocalUsers, secmsg.LocalUser{UserName: "pi", UserID: 1000, GroupID: 0, GroupNames: []string{"adm", "sudo"}})
	login := testEvent(secmsg.NameLogin, secmsg.Login{Operation: "Login", Result: "Fail", RemoteAddress: "203.0.113.7",
		RemotePort: 50022, InvalidUser: true, Aggregate: aggregated})
	sys := testEvent(secmsg.NameSystemInformation, secmsg.SystemInformation{KernelVersion: "6", HostName: "h", Architecture: "a",
		TotalPhysicalMemoryInKB: 1<<53 + 1})
	empty := testEvent(secmsg.NameFirewallConfiguration)
	recs, err := hubRecords(messageOf(t, ports, users, login, sys, empty), testDevice)
	if err != nil {
		t.Fatal(err)
	}
	first := time.Date(2025, 3, 14, 7, 20, 1, 0, time.UTC)
	ts := time.Date(2025, 3, 14, 7, 26, 53, 0, time.UTC)
	want := []Event{
		{ID: ports.ID + "/0", Device: testDevice, Hub: testHub, Source: SourceAgent, Name: secmsg.NameListeningPorts,
			Time: ts, LastTime: ts, Count: 1, SnapshotMode: "Diff", Change: "Added", ItemKey: "tcp|0.0.0.0|4444",
			Fields: map[string]string{"Protocol": "tcp", "LocalAddress": "0.0.0.0", "LocalPort": "4444", "ProcessId": "4301", "Executable": "/tmp/nc"}},
		{ID: users.ID + "/0", Device: testDevice, Hub: testHub, Source: SourceAgent, Name: secmsg.NameLocalUsers,
			Time: ts, LastTime: ts, Count: 1, SnapshotMode: "Full", ItemKey: "pi",
			Fields: map[string]string{"UserName": "pi", "UserId": "1000", "GroupId": "0", "GroupNames": "adm,sudo"}},
		{ID: login.ID + "/0", Device: testDevice, Hub: testHub, Source: SourceAgent, Name: secmsg.NameLogin,
			Time: first, LastTime: first.Add(4*time.Minute + 58500*time.Millisecond), Count: 6,
			ItemKey: "0||Login||203.0.113.7|50022|0|Fail||true|",
			Fields:  map[string]string{"Operation": "Login", "Result": "Fail", "RemoteAddress": "203.0.113.7", "RemotePort": "50022", "InvalidUser": "true"}},
		{ID: sys.ID + "/0", Device: testDevice, Hub: testHub, Source: SourceAgent, Name: secmsg.NameSystemInformation,
			Time: ts, LastTime: ts, Count: 1, SnapshotMode: "Full", ItemKey: "SystemInformation",
			Fields: map[string]string{"KernelVersion": "6", "HostName": "h", "Architecture": "a", "TotalPhysicalMemoryInKB": "9007199254740992"}},
		{ID: empty.ID + "/0", Device: testDevice, Hub: testHub, Source: SourceAgent, Name: secmsg.NameFirewallConfiguration,
			Time: ts, LastTime: ts, Count: 1, SnapshotMode: "Full", Fields: map[string]string{}},
	}
	for i, r := range recs {
		for _, dec := range []struct {
			name string
			f    func(Record) ([]Event, *AgentMessage, error)
		}{{"strict", decodeAgentStrict}, {"fast", decodeAgentFast}} {
			got, msg, err := dec.f(r)
			if err != nil {
				t.Fatalf("%s: %v", dec.name, err)
			}
			w := want[i]
			w.Received = testReceived
			if d := cmp.Diff([]Event{w}, got); d != "" {
				t.Errorf("%s: record %d (-want +got):\n%s", dec.name, i, d)
			}
			var ar agentRecord
			if err := json.Unmarshal(r.Data, &ar); err != nil {
				t.Fatal(err)
			}
			if wantMsg := (AgentMessage{Device: testDevice, Hub: testHub, Bytes: len(ar.Message), Events: 1}); *msg != wantMsg {
				t.Errorf("%s: agent message %+v, want %+v", dec.name, *msg, wantMsg)
			}
		}
	}
}

// TestFastDecodeRefuses: records outside the hub's canonical form that
// the strict path accepts are refused by the fast decoder (decodeAgent
// then gives the strict path's result), and records the strict path
// refuses are refused by both.
func TestFastDecodeRefuses(t *testing.T) {
	login := testEvent(secmsg.NameLogin, secmsg.Login{UserName: "root", Operation: "Login", RemoteAddress: "203.0.113.7",
		RemotePort: 50022, Result: "Fail", Aggregate: aggregated})
	recs, err := hubRecords(messageOf(t, login), testDevice)
	if err != nil {
		t.Fatal(err)
	}
	canonical := string(recs[0].Data)
	second := testEvent(secmsg.NameLogin, secmsg.Login{Operation: "Logout", Result: "Success"})
	twoEvents, err := json.Marshal(agentRecord{Device: testDevice, Hub: testHub, ReceivedAt: testReceived,
		Message: messageOf(t, login, second)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, old, new string
		strictOK       bool
	}{
		{"lower-case item field", `"UserName":`, `"username":`, true},
		{"lower-case event field", `"Category":`, `"category":`, true},
		{"lower-case envelope field", `"deviceId":`, `"DeviceID":`, true},
		{"unknown item field", `"UserName":`, `"Shell":"/bin/sh","UserName":`, true},
		{"unknown envelope field", `"hub":`, `"partition":3,"hub":`, true},
		{"null item field", `"UserName":"root"`, `"UserName":null,"AuthMethod":null`, true},
		{"null deviceId", `"deviceId":"sensor-042"`, `"deviceId":null`, true},
		{"repeated item field", `"UserName":"root"`, `"UserName":"admin","UserName":"root"`, true},
		{"field after the payload", `"LastSeen":"2025-03-14T07:24:59.5Z"}]`, `"LastSeen":"2025-03-14T07:24:59.5Z"}],"SnapshotMode":""`, true},
		{"lone surrogate", `"UserName":"root"`, `"UserName":"ro\ud800ot"`, true},
		{"invalid UTF-8 in the envelope", `"hub":"hub-1"`, "\"hub\":\"h\xffb\"", true},
		{"HitCount as a float", `"HitCount":6`, `"HitCount":6.0`, false},
		{"port as a string", `"RemotePort":50022`, `"RemotePort":"50022"`, false},
		{"port out of range", `"RemotePort":50022`, `"RemotePort":650220`, false},
		{"unknown event name", `"Name":"Login"`, `"Name":"Logon"`, false},
		{"bad receivedAt", `"receivedAt":"2025-03-14T07:26:54.123456789Z"`, `"receivedAt":"2025-03-14 07:26:54Z"`, false},
		{"escaped receivedAt", `"receivedAt":"2025-03-14T07:26:54.123456789Z"`, `"receivedAt":"2025-03-14T07:26:54.123456789\u005a"`, false},
		{"bad IsEmpty", `"IsEmpty":false`, `"IsEmpty":true`, false},
		{"no message", `,"message":{`, `,"massage":{`, false},
		{"trailing data", canonical, canonical + `{}`, false},
		{"two events", canonical, string(twoEvents), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(canonical, tt.old) {
				t.Fatalf("%s is not in the record %s", tt.old, canonical)
			}
			r := recs[0]
			r.Data = []byte(strings.Replace(canonical, tt.old, tt.new, 1))
			_, _, strictErr := decodeAgentStrict(r)
			if (strictErr == nil) != tt.strictOK {
				t.Fatalf("strict path: %v, want it to accept: %t", strictErr, tt.strictOK)
			}
			if err := compareDecoders(t, r); err == nil {
				t.Errorf("the fast decoder accepted %s", r.Data)
			}
		})
	}
}

// TestFastDecodeReadsVariants: JSON that is not the hub's canonical form
// but that the fast decoder reads exactly as encoding/json does (escaped
// names and strings, whitespace, other field orders, -0) is decoded, and
// decoded alike.
func TestFastDecodeReadsVariants(t *testing.T) {
	login := testEvent(secmsg.NameLogin, secmsg.Login{UserName: "root", Operation: "Login", RemoteAddress: "203.0.113.7",
		RemotePort: 50022, Result: "Fail", Aggregate: aggregated})
	recs, err := hubRecords(messageOf(t, login), testDevice)
	if err != nil {
		t.Fatal(err)
	}
	// replace returns an edit replacing old (which must occur) by new.
	replace := func(old, new string) func(string) string {
		return func(s string) string {
			if !strings.Contains(s, old) {
				t.Fatalf("%s is not in the record %s", old, s)
			}
			return strings.Replace(s, old, new, 1)
		}
	}
	tests := []struct {
		name string
		edit func(string) string
	}{
		{"escaped name", replace(`"UserName":`, `"User\u004eame":`)},
		{"escaped string", replace(`"root"`, `"\u0072o\/ot\n"`)},
		{"escaped device", replace(`"deviceId":"sensor-042"`, `"deviceId":"sensor\u002d042"`)},
		{"whitespace", replace(`,"message":{"AgentVersion":`, " ,\n\t\"message\" :\r\n { \"AgentVersion\"\t: ")},
		{"item fields reordered", replace(`"UserName":"root","Operation":"Login"`, `"Operation":"Login","UserName":"root"`)},
		{"event fields reordered", replace(`"EventType":"Security","Category":"Triggered"`, `"Category":"Triggered","EventType":"Security"`)},
		{"message first", func(s string) string {
			s = replace(`{"deviceId":"sensor-042","hub":"hub-1",`, `{`)(s)
			return strings.TrimSuffix(s, "}") + `,"deviceId":"sensor-042","hub":"hub-1"}`
		}},
		{"negative zero", replace(`"RemotePort":50022`, `"RemotePort":-0,"LocalPort":0`)},
		{"no deviceId", replace(`"deviceId":"sensor-042",`, ``)},
		{"no receivedAt", replace(`"receivedAt":"2025-03-14T07:26:54.123456789Z",`, ``)},
	}
	for _, tt := range tests {
		r := recs[0]
		r.Data = []byte(tt.edit(string(recs[0].Data)))
		t.Run(tt.name, func(t *testing.T) {
			if err := compareDecoders(t, r); err != nil {
				t.Errorf("the fast decoder refused %s: %v", r.Data, err)
			}
		})
	}
}

// TestItemTablesMatchTypes: the field tables are those of secmsg's types
// (JSON names, Go kinds, omitempty, order, the aggregation fields of
// exactly the Triggered types, Change of exactly the Periodic ones), and
// build puts every value in its field. A field added to secmsg fails here
// (and the fast decoder refuses items holding it until its table has it).
func TestItemTablesMatchTypes(t *testing.T) {
	if len(itemTypes) != len(secmsg.Names()) {
		t.Errorf("%d item tables for %d event names", len(itemTypes), len(secmsg.Names()))
	}
	for _, name := range secmsg.Names() {
		typ := itemTypes[name]
		if typ == nil {
			t.Errorf("%s: no item table", name)
			continue
		}
		if len(typ.fields) > maxItemFields {
			t.Fatalf("%s: %d fields, more than maxItemFields", name, len(typ.fields))
		}
		var v itemValues
		for i, f := range typ.fields {
			switch f.kind {
			case kindString:
				v[i].s = fmt.Sprintf("s%d", i)
			case kindInt, kindInt64:
				v[i].n = int64(i + 1)
			case kindBool:
				v[i].b = true
			case kindStrings:
				v[i].list = []string{fmt.Sprintf("a%d", i), "b"}
			}
		}
		it := typ.build(&v)
		if it.EventName() != name {
			t.Errorf("%s: the table builds %T", name, it)
		}
		_, triggered := secmsg.AggregateOf(it)
		_, category, _ := secmsg.Classify(name)
		if triggered != (category == secmsg.CategoryTriggered) || triggered != (typ.change < 0) {
			t.Errorf("%s: AggregateOf %t, category %s, Change at %d", name, triggered, category, typ.change)
		}
		var fields []itemField
		var values []any
		var walk func(rv reflect.Value, agg bool)
		walk = func(rv reflect.Value, agg bool) {
			for i := range rv.NumField() {
				sf, fv := rv.Type().Field(i), rv.Field(i)
				if sf.Anonymous {
					walk(fv, true)
					continue
				}
				jsonName, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
				f := itemField{name: jsonName, omitempty: opts == "omitempty", agg: agg}
				switch {
				case sf.Type.Kind() == reflect.String:
					f.kind = kindString
					values = append(values, fv.String())
				case sf.Type.Kind() == reflect.Int:
					f.kind = kindInt
					values = append(values, fv.Int())
				case sf.Type.Kind() == reflect.Int64:
					f.kind = kindInt64
					values = append(values, fv.Int())
				case sf.Type.Kind() == reflect.Bool:
					f.kind = kindBool
					values = append(values, fv.Bool())
				case sf.Type == reflect.TypeFor[[]string]():
					f.kind = kindStrings
					values = append(values, fv.Interface())
				default:
					t.Errorf("%s: field %s of type %s has no kind", name, sf.Name, sf.Type)
				}
				fields = append(fields, f)
			}
		}
		walk(reflect.ValueOf(it), false)
		if d := cmp.Diff(fields, typ.fields, cmp.AllowUnexported(itemField{})); d != "" {
			t.Errorf("%s: table (-struct +table):\n%s", name, d)
			continue
		}
		for i, f := range typ.fields {
			var want any
			switch f.kind {
			case kindString:
				want = v[i].s
			case kindInt, kindInt64:
				want = v[i].n
			case kindBool:
				want = v[i].b
			case kindStrings:
				want = v[i].list
			}
			if !cmp.Equal(values[i], want) {
				t.Errorf("%s: build puts %v in %s, want %v", name, values[i], f.name, want)
			}
		}
		if typ.change >= 0 && typ.fields[typ.change].name != "Change" {
			t.Errorf("%s: Change at %d is %s", name, typ.change, typ.fields[typ.change].name)
		}
	}
}

// randomValue fills v (a payload item or one of its fields) with values
// that encoding/json reads back unchanged: valid UTF-8 with escapes and
// separators, integers of either sign and beyond float64's precision.
func randomValue(rng *rand.Rand, v reflect.Value) {
	pieces := []string{"a", "root", "é", "日本", "|", `\`, `"`, "<", ">", "&", "\n", "\t", "\x00", "\u2028", "\U0001F600", ",", " ", "/"}
	ints := []int64{0, 1, -1, 22, 99, 100, 65535, 65536, 1 << 22, 1<<32 - 1, 1 << 53, 1<<53 + 1, -(1<<53 + 1),
		math.MaxInt64, math.MinInt64, math.MaxInt32, math.MinInt32}
	str := func() string {
		if rng.IntN(3) == 0 {
			return ""
		}
		var b strings.Builder
		for range rng.IntN(6) + 1 {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			randomValue(rng, v.Field(i))
		}
	case reflect.String:
		v.SetString(str())
	case reflect.Int, reflect.Int64:
		n := ints[rng.IntN(len(ints))]
		if rng.IntN(3) == 0 {
			n = rng.Int64() >> rng.IntN(64)
			if rng.IntN(2) == 0 {
				n = -n
			}
		}
		v.SetInt(n)
	case reflect.Bool:
		v.SetBool(rng.IntN(2) == 0)
	case reflect.Slice:
		switch rng.IntN(3) {
		case 0: // nil
		case 1:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		default:
			n := rng.IntN(4) + 1
			s := reflect.MakeSlice(v.Type(), n, n)
			for i := range n {
				randomValue(rng, s.Index(i))
			}
			v.Set(s)
		}
	default:
		panic("randomValue: " + v.Type().String())
	}
}

// itemDecoder returns a fast decoder reading data.
func itemDecoder(data []byte) *fastDecoder {
	d := fastDecoders.New().(*fastDecoder)
	d.buf = *bytes.NewBuffer(data)
	d.dec.Reset(&d.buf, allowDuplicates)
	return d
}

// TestItemDecodeMatchesStrict: on random items of every type (valid or
// not: the values need not pass Validate), the fast decoder's item is the
// one encoding/json decodes as secmsg.Parse does, its fields are
// Flatten's (Change apart; numbers beyond 2^53 and negative included) and
// its key is the typed item's Key.
func TestItemDecodeMatchesStrict(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, name := range secmsg.Names() {
		typ := itemTypes[name]
		goType := reflect.TypeOf(typ.build(&itemValues{}))
		for range 3000 {
			rv := reflect.New(goType).Elem()
			randomValue(rng, rv)
			data, err := json.Marshal(rv.Interface())
			if err != nil {
				t.Fatal(err)
			}
			// What secmsg.Parse does with an item (decodeItems).
			strict := reflect.New(goType)
			if err := json.Unmarshal(data, strict.Interface()); err != nil {
				t.Fatal(err)
			}
			if u, ok := strict.Interface().(*secmsg.LocalUser); ok && len(u.GroupNames) == 0 {
				u.GroupNames = nil
			}
			want := strict.Elem().Interface().(secmsg.Item)

			d := itemDecoder(data)
			got, err := d.item(typ)
			if err != nil {
				t.Fatalf("%s: %v\n%s", name, err, data)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("%s: item (-strict +fast):\n%s\n%s", name, d, data)
			}
			wantFields := Flatten(want)
			wantChange := wantFields["Change"]
			delete(wantFields, "Change")
			fields, change := typ.flatten(&d.vals)
			if d := cmp.Diff(wantFields, fields); d != "" || change != wantChange {
				t.Fatalf("%s: fields (-Flatten +fast):\n%s\nChange %q, want %q\n%s", name, d, change, wantChange, data)
			}
			if key, wantKey := d.key(typ, got), want.Key(); key != wantKey {
				t.Fatalf("%s: key %q, want %q\n%s", name, key, wantKey, data)
			}
		}
	}
}

// fuzzEnvelope wraps a message's JSON text as the hub's record does,
// without re-encoding it.
func fuzzEnvelope(message []byte) []byte {
	return []byte(`{"deviceId":"` + testDevice + `","hub":"` + testHub + `","receivedAt":"2025-03-14T07:26:54Z","message":` +
		string(message) + `}`)
}

// FuzzFastDecodeMatchesStrict: a message secmsg accepts, stored by the
// hub, is decoded by the fast decoder exactly as by the strict path; and
// any bytes, as a record or as the message of one, are either refused by
// the fast decoder or decoded as the strict path decodes them.
func FuzzFastDecodeMatchesStrict(f *testing.F) {
	seeds, err := filepath.Glob("../../secmsg/testdata/*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, tt := range decodeCases() {
		body := messageOf(f, tt.events...)
		f.Add(body)
		recs, err := hubRecords(body, tt.device)
		if err != nil {
			f.Fatal(err)
		}
		for _, r := range recs {
			f.Add(r.Data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := secmsg.Parse(data); err == nil {
			recs, err := hubRecords(data, testDevice)
			if err == nil {
				for _, r := range recs {
					_, _, strictErr := decodeAgentStrict(r)
					if err := compareDecoders(t, r); err != nil && strictErr == nil {
						t.Errorf("the fast decoder refused a record the hub wrote: %v\n%s", err, r.Data)
					}
				}
			}
		}
		r := Record{Sequence: 1, Time: testReceived, Hub: testHub, Source: SourceAgent, Device: "stream-device", Data: data}
		compareDecoders(t, r)
		if json.Valid(data) {
			r.Data = fuzzEnvelope(data)
			compareDecoders(t, r)
		}
	})
}

// benchRecords are the records of two typical events: a Login of 10
// aggregated failed logins from distinct sources, and a ListeningPorts
// Diff of 3 items.
func benchRecords(b *testing.B) []struct {
	name string
	r    Record
} {
	users := []string{"root", "admin", "pi", "ubuntu", "test", "oracle", "git", "postgres", "user", "guest"}
	var logins []secmsg.Item
	for i, u := range users {
		first := testNow.Add(-time.Duration(10-i) * time.Minute)
		logins = append(logins, secmsg.Login{
			UserName: u, Operation: secmsg.OperationLogin, Executable: "/usr/sbin/sshd",
			RemoteAddress: fmt.Sprintf("203.0.113.%d", 10+i*7), LocalPort: 22, Result: secmsg.ResultFail,
			AuthMethod: secmsg.AuthPassword, InvalidUser: i%3 == 1, Source: secmsg.SourceAuthLog,
			Aggregate: secmsg.Aggregate{HitCount: int64(3 + i), FirstSeen: secmsg.FormatTime(first),
				LastSeen: secmsg.FormatTime(first.Add(time.Duration(40+i) * time.Second))},
		})
	}
	ports := diff(testEvent(secmsg.NameListeningPorts,
		secmsg.ListeningPort{Protocol: secmsg.ProtocolTCP, LocalAddress: "0.0.0.0", LocalPort: 4444, ProcessID: 4301,
			Executable: "/tmp/.x/nc", Change: secmsg.ChangeAdded},
		secmsg.ListeningPort{Protocol: secmsg.ProtocolTCP6, LocalAddress: "::", LocalPort: 8080, ProcessID: 977,
			Executable: "/usr/bin/python3", Change: secmsg.ChangeChanged},
		secmsg.ListeningPort{Protocol: secmsg.ProtocolUDP, LocalAddress: "0.0.0.0", LocalPort: 5353, Change: secmsg.ChangeRemoved}))
	recs, err := hubRecords(messageOf(b, testEvent(secmsg.NameLogin, logins...), ports), testDevice)
	if err != nil {
		b.Fatal(err)
	}
	return []struct {
		name string
		r    Record
	}{{"login10", recs[0]}, {"portsdiff", recs[1]}}
}

func BenchmarkDecodeAgent(b *testing.B) {
	recs := benchRecords(b)
	for _, dec := range []struct {
		name string
		f    func(Record) ([]Event, *AgentMessage, error)
	}{{"strict", decodeAgentStrict}, {"fast", decodeAgentFast}} {
		b.Run(dec.name, func(b *testing.B) {
			for _, rc := range recs {
				b.Run(rc.name, func(b *testing.B) {
					b.SetBytes(int64(len(rc.r.Data)))
					b.ReportAllocs()
					for b.Loop() {
						if _, _, err := dec.f(rc.r); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
