package detect

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/moatsec/moat/internal/center"
	"github.com/moatsec/moat/internal/center/rules"
)

var t0 = time.Date(2026, 11, 26, 22, 0, 0, 0, time.UTC)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func builtinSet(tb testing.TB) *rules.Set {
	tb.Helper()
	rs, err := rules.Builtin()
	if err != nil {
		tb.Fatal(err)
	}
	s, err := rules.NewSet(rs, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// ruleSet is the built-in rules plus (or overridden by) src.
func ruleSet(tb testing.TB, src string) *rules.Set {
	tb.Helper()
	b, err := rules.Builtin()
	if err != nil {
		tb.Fatal(err)
	}
	u, err := rules.Parse("test.yaml", []byte(src))
	if err != nil {
		tb.Fatal(err)
	}
	s, err := rules.NewSet(b, u)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

var evSeq int

func nextID() string {
	evSeq++
	return fmt.Sprintf("ev-%d/0", evSeq)
}

func login(dev, src, result string, at time.Time, count int64) *center.Event {
	return &center.Event{
		ID: nextID(), Device: dev, Hub: "fleet", Source: center.SourceAgent, Name: "Login",
		Time: at, LastTime: at, Count: count, Received: at.Add(10 * time.Second),
		Fields: map[string]string{"Result": result, "RemoteAddress": src, "UserName": "admin", "Operation": "Login"},
	}
}

func fail(dev, src string, at time.Time) *center.Event { return login(dev, src, "Fail", at, 1) }

func item(dev, name, mode, change string, at time.Time, fields map[string]string) *center.Event {
	return &center.Event{ID: nextID(), Device: dev, Hub: "fleet", Source: center.SourceAgent, Name: name,
		Time: at, LastTime: at, Count: 1, SnapshotMode: mode, Change: change, Received: at, Fields: fields}
}

// snapshot returns the items of one Full snapshot: one event id with item
// indexes.
func snapshot(dev, name string, at time.Time, items ...map[string]string) []*center.Event {
	id := nextID()
	var out []*center.Event
	for i, f := range items {
		e := item(dev, name, "Full", "", at, f)
		e.ID = fmt.Sprintf("%s/%d", id, i)
		out = append(out, e)
	}
	return out
}

func run(en *Engine, evs ...*center.Event) []center.Detection {
	var out []center.Detection
	for _, e := range evs {
		out = append(out, en.Process(context.Background(), e)...)
	}
	return out
}

// only keeps the detections of rule.
func only(ds []center.Detection, rule string) []center.Detection {
	var out []center.Detection
	for _, d := range ds {
		if d.Rule == rule {
			out = append(out, d)
		}
	}
	return out
}

func counts(ds []center.Detection) []int64 {
	var out []int64
	for _, d := range ds {
		out = append(out, d.Count)
	}
	return out
}

func stat(en *Engine, rule string) RuleStats {
	for _, s := range en.Stats() {
		if s.Rule == rule {
			return s
		}
	}
	return RuleStats{}
}
