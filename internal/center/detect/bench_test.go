package detect

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/moatsec/moat/internal/center"
)

// benchEvents makes a realistic mix: mostly failed logins (some sources
// attack a few devices hard, the rest is background noise from many
// sources against many devices), successes, snapshot diffs of ports and
// users, process starts (a few from /tmp, a few tools), token decisions.
func benchEvents(n int) []*center.Event {
	r := rand.New(rand.NewPCG(1, 2))
	const devices, attackers = 2000, 50
	out := make([]*center.Event, n)
	for i := range out {
		dev := fmt.Sprintf("dev-%d", r.IntN(devices))
		e := &center.Event{ID: fmt.Sprintf("e%d/0", i), Device: dev, Hub: "fleet", Source: center.SourceAgent, Count: 1}
		switch x := r.IntN(100); {
		case x < 45: // attack: few sources, few devices
			e.Device = fmt.Sprintf("dev-%d", r.IntN(20))
			e.Name = "Login"
			e.Fields = map[string]string{"Result": "Fail", "RemoteAddress": fmt.Sprintf("203.0.113.%d", r.IntN(attackers)), "UserName": "root", "Operation": "Login"}
			e.Count = int64(1 + r.IntN(3))
		case x < 75: // background noise: 20,000 addresses
			e.Name = "Login"
			e.Fields = map[string]string{"Result": "Fail", "RemoteAddress": fmt.Sprintf("198.51.%d.%d", r.IntN(80), r.IntN(250)), "UserName": "admin", "Operation": "Login"}
		case x < 78:
			e.Name = "Login"
			e.Fields = map[string]string{"Result": "Success", "RemoteAddress": fmt.Sprintf("203.0.113.%d", r.IntN(attackers*4)), "UserName": "pi", "Operation": "Login"}
		case x < 86:
			e.Name, e.SnapshotMode, e.Change = "ListeningPorts", "Diff", "Added"
			e.Fields = map[string]string{"Protocol": "tcp", "LocalAddress": "0.0.0.0", "LocalPort": fmt.Sprint(r.IntN(50) + 8000)}
		case x < 90:
			e.Name, e.SnapshotMode, e.Change = "LocalUsers", "Diff", "Changed"
			e.Fields = map[string]string{"UserName": "pi", "GroupNames": "adm,pi,video"}
		case x < 98:
			e.Name = "ProcessCreate"
			exe := []string{"/usr/bin/curl", "/bin/sh", "/usr/sbin/cron", "/usr/bin/python3", "/tmp/.x/kworker", "/usr/bin/nmap"}[r.IntN(6)]
			e.Fields = map[string]string{"Executable": exe, "ProcessId": fmt.Sprint(r.IntN(30000) + 1), "UserId": "0"}
		default:
			e.Source, e.Name = center.SourceDiscovery, "TokenDecision"
			e.Fields = map[string]string{"result": []string{"issued", "outside_geofence"}[r.IntN(2)], "sourceAddress": "192.0.2.1"}
		}
		out[i] = e
	}
	return out
}

// BenchmarkEngine measures events/s through Process with every built-in
// rule on. Event times advance 1 ms per event (1,000 events/s of fleet
// time: windows hold 600,000 events), and the engine's clock follows them.
// The prepared events are reused round after round with new times (the
// engine only reads an event's time when it processes it).
func BenchmarkEngine(b *testing.B) {
	evs := benchEvents(1 << 16)
	now := t0
	en := New(builtinSet(b), Options{Clock: func() time.Time { return now }, Baseline: NewMemoryBaseline()})
	ctx := context.Background()
	detections := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		e := evs[i&(len(evs)-1)]
		now = now.Add(time.Millisecond)
		e.Time, e.LastTime, e.Received = now, now, now
		detections += len(en.Process(ctx, e))
		if i%10000 == 0 {
			en.Tick(ctx, now)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(detections)/float64(b.N), "detections/event")
}
