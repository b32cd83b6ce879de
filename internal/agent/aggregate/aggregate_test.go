package aggregate

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/secmsg"
)

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func fail(src string, port, pid int) secmsg.Login {
	return secmsg.Login{ProcessID: pid, UserName: "root", Operation: "Login", Executable: "/usr/sbin/sshd", RemoteAddress: src,
		RemotePort: port, Result: "Fail", AuthMethod: "password", Source: "authlog"}
}

func TestAggregatesLoginsBySource(t *testing.T) {
	g := New(0)
	for i := range 6 {
		g.Add(fail("203.0.113.1", 40000+i, 100+i), t0.Add(time.Duration(i)*time.Second))
	}
	// An item that already stands for 3 attempts (message repeated).
	three := fail("203.0.113.1", 41000, 200)
	three.Aggregate = secmsg.Aggregate{HitCount: 3, FirstSeen: "2026-11-26T09:59:00Z", LastSeen: "2026-11-26T09:59:30Z"}
	g.Add(three, t0.Add(time.Minute))
	g.Add(fail("198.51.100.2", 50000, 300), t0)
	g.Add(secmsg.ProcessCreate{Executable: "/bin/ls", ProcessID: 5, UserID: 0}, t0)
	if g.Len() != 3 {
		t.Fatalf("Len = %d, want 3", g.Len())
	}
	evs := g.Flush(t0.Add(2*time.Minute), 0)
	if len(evs) != 2 || evs[0].Name != "Login" || evs[1].Name != "ProcessCreate" {
		t.Fatalf("events %+v", evs)
	}
	got := evs[0].Payload
	want := []secmsg.Item{
		secmsg.Login{UserName: "root", Operation: "Login", Executable: "/usr/sbin/sshd", RemoteAddress: "203.0.113.1", Result: "Fail",
			AuthMethod: "password", Source: "authlog", Aggregate: secmsg.Aggregate{HitCount: 9, FirstSeen: "2026-11-26T09:59:00Z", LastSeen: "2026-11-26T10:00:05Z"}},
		secmsg.Login{UserName: "root", Operation: "Login", Executable: "/usr/sbin/sshd", RemoteAddress: "198.51.100.2", Result: "Fail",
			AuthMethod: "password", Source: "authlog", Aggregate: secmsg.Aggregate{FirstSeen: "2026-11-26T10:00:00Z", LastSeen: "2026-11-26T10:00:00Z"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	var total int64
	for _, it := range got {
		total += it.(secmsg.Login).Hits()
	}
	if total != 10 {
		t.Errorf("%d attempts after aggregation, want 10 (6 + 3 + 1)", total)
	}
	for _, ev := range evs {
		if err := secmsg.NewMessage("1", secmsg.NewID(), ev).Validate(); err != nil {
			t.Errorf("%s: %v", ev.Name, err)
		}
	}
	if g.Len() != 0 || len(g.Flush(t0, 0)) != 0 {
		t.Error("Flush did not empty the aggregator")
	}
}

func TestFlushChunksAndFull(t *testing.T) {
	g := New(5)
	for i := range 5 {
		g.Add(secmsg.ProcessCreate{Executable: "/bin/x", ProcessID: i + 1}, t0)
	}
	if !g.Full() {
		t.Fatal("not Full at its maximum")
	}
	evs := g.Flush(t0, 2)
	if len(evs) != 3 || len(evs[0].Payload) != 2 || len(evs[2].Payload) != 1 {
		t.Fatalf("chunks: %d events", len(evs))
	}
}
