package detect

import (
	"context"
	"testing"
	"time"

	"github.com/moatsec/moat/internal/center"
)

// FuzzProcess feeds hostile events (any field values, times, counts,
// snapshot modes) through every built-in rule: the engine must not panic,
// and what it reports stays within bounds.
func FuzzProcess(f *testing.F) {
	f.Add("Login", "Fail", "::ffff:203.0.113.7", "d", "", "", int64(3), int64(0), int64(0), uint8(5))
	f.Add("ListeningPorts", "tcp", "0.0.0.0", "d", "Full", "", int64(1), int64(-1<<62), int64(1<<62), uint8(3))
	f.Add("LocalUsers", "a|b\\c", "adm,sudo,,", "", "Diff", "Changed", int64(-5), int64(1), int64(-1), uint8(2))
	f.Add("FirewallConfiguration", "", "", "d", "Full", "", int64(0), int64(0), int64(0), uint8(1))
	set := builtinSet(f)
	f.Fuzz(func(t *testing.T, name, a, b, dev, mode, change string, count, tsec, lsec int64, n uint8) {
		en := New(set, Options{Clock: func() time.Time { return t0 }, Baseline: NewMemoryBaseline(), MaxKeysPerRule: 4, MaxEntriesPerKey: 3})
		for i := range int(n%16) + 1 {
			e := &center.Event{
				ID: name + "/" + a, Device: dev, Hub: "h", Source: center.SourceAgent, Name: name,
				Time: time.Unix(tsec+int64(i), 0), LastTime: time.Unix(lsec, 0), Count: count,
				SnapshotMode: mode, Change: change,
				Fields: map[string]string{"Result": a, "RemoteAddress": b, "Protocol": a, "LocalPort": b, "UserName": a,
					"GroupNames": b, "Executable": b, "IsDefaultPolicy": "true", "Hook": "input", "Action": "Allow"},
			}
			for _, d := range en.Process(context.Background(), e) {
				if d.Count < 1 || d.Count > MaxCount*int64(n%16+1) || len(d.Evidence) > center.MaxEvidence || d.Rule == "" {
					t.Fatalf("detection %+v", d)
				}
			}
		}
		en.Tick(context.Background(), t0.Add(48*time.Hour))
	})
}
