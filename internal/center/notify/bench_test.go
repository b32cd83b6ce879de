package notify

import (
	"context"
	"fmt"
	"testing"

	"github.com/moatsec/moat/internal/center"
)

// BenchmarkNotify is the cost detection pays per alert: a copy and a
// non-blocking enqueue.
func BenchmarkNotify(b *testing.B) {
	cfg := Config{Channels: []Channel{hookCh("c")}, Rules: []Rule{{Name: "r", Channels: []string{"c"}, Digest: true}}}
	n, err := New(cfg, Options{Clock: newFakeClock(t0, 0), QueueSize: 1 << 16})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close(context.Background())
	a := testAlert("a-1", "ssh-brute-force", center.SeverityHigh, "dev-1", "203.0.113.9")
	b.ReportAllocs()
	for b.Loop() {
		n.Notify(a, false)
	}
}

// BenchmarkRoute routes an alert through 50 rules (10 with device tags).
func BenchmarkRoute(b *testing.B) {
	cfg := Config{Channels: []Channel{hookCh("c"), hookCh("d")}}
	for i := range 50 {
		r := Rule{Name: fmt.Sprint("r", i), MinSeverity: center.SeverityMedium, Rules: []string{fmt.Sprint("rule-", i), "ssh-brute-force"}, Channels: []string{"c", "d"}}
		if i%5 == 0 {
			r.DeviceTags = map[string]string{"site": "paris"}
		}
		cfg.Rules = append(cfg.Rules, r)
	}
	cc, err := compile(cfg)
	if err != nil {
		b.Fatal(err)
	}
	a := testAlert("a-1", "ssh-brute-force", center.SeverityHigh, "dev-1", "203.0.113.9")
	tags := map[string]string{"site": "paris"}
	b.ReportAllocs()
	for b.Loop() {
		if len(cc.route(&a, func() (map[string]string, bool) { return tags, true })) != 2 {
			b.Fatal("route")
		}
	}
}
