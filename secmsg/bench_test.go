package secmsg_test

import (
	"fmt"
	"testing"

	"github.com/moatsec/moat/secmsg"
)

// typicalMessage is about 4 KB: what an agent packs into one message
// (failed logins, process and connection events, a diff of ports).
func typicalMessage(b *testing.B) []byte {
	var events []secmsg.Event
	for i := range 3 {
		events = append(events, secmsg.NewEvent(secmsg.NameLogin, fixedNow,
			secmsg.Login{
				UserName: fmt.Sprintf("user%d", i), Operation: "Login", Executable: "/usr/sbin/sshd",
				RemoteAddress: fmt.Sprintf("203.0.113.%d", i+1), LocalPort: 22, Result: "Fail", AuthMethod: "password",
				InvalidUser: true, Source: "authlog",
				Aggregate: secmsg.Aggregate{HitCount: 7, FirstSeen: "2025-03-14T07:20:01Z", LastSeen: "2025-03-14T07:24:59Z"},
			}))
	}
	for i := range 2 {
		events = append(events, secmsg.NewEvent(secmsg.NameProcessCreate, fixedNow,
			secmsg.ProcessCreate{
				Executable: "/usr/bin/python3", ProcessID: 5000 + i, ParentProcessID: 1, UserID: 1000, UserName: "pi",
				CommandLine: "python3 /opt/sensor/collect.py --interval 10 --output /var/lib/sensor",
				Aggregate:   secmsg.Aggregate{HitCount: 1, FirstSeen: "2025-03-14T07:26:40Z", LastSeen: "2025-03-14T07:26:40Z"},
			},
			secmsg.ProcessCreate{Executable: "/bin/sh", ProcessID: 6000 + i, ParentProcessID: 5000 + i, UserID: 1000, CommandLine: "sh -c uptime"}))
		events = append(events, secmsg.NewEvent(secmsg.NameConnectionCreate, fixedNow,
			secmsg.ConnectionCreate{
				Executable: "/usr/bin/python3", ProcessID: 5000 + i, UserID: 1000, RemoteAddress: "198.51.100.20", RemotePort: 443,
				LocalAddress: "10.0.0.5", LocalPort: 40000 + i, Protocol: "tcp", Direction: "Out",
			}))
	}
	diff := secmsg.NewEvent(secmsg.NameListeningPorts, fixedNow,
		secmsg.ListeningPort{Protocol: "tcp", LocalAddress: "0.0.0.0", LocalPort: 4444, ProcessID: 4301, Executable: "/tmp/nc", Change: "Added"})
	diff.SnapshotMode = secmsg.SnapshotDiff
	events = append(events, diff)
	data, err := secmsg.NewMessage("1.0.0", agentID, events...).Marshal()
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func BenchmarkParse(b *testing.B) {
	data := typicalMessage(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := secmsg.Parse(data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(data)), "msg-bytes")
}
