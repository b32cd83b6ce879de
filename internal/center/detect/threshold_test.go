package detect

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/moatsec/moat/internal/center"
)

func TestThresholdWindows(t *testing.T) {
	m := time.Minute
	type ev struct {
		at    time.Duration
		src   string
		count int64
	}
	evs := func(src string, ats ...time.Duration) []ev {
		var out []ev
		for _, a := range ats {
			out = append(out, ev{a, src, 1})
		}
		return out
	}
	tests := []struct {
		name   string
		events []ev // in arrival order
		want   []int64
		late   int64
	}{
		{"four", evs("a", 0, m, 2*m, 3*m), nil, 0},
		{"exactly 5 within 10m", evs("a", 0, 2*m, 4*m, 6*m, 10*m), []int64{5}, 0},
		{"5 within 9m59s", evs("a", 0, 2*m, 4*m, 6*m, 10*m-time.Second), []int64{5}, 0},
		{"5 spread over 10m01s", evs("a", 0, 2*m, 4*m, 6*m, 10*m+time.Second), nil, 0},
		{"5 spread over 10m and 1ns", evs("a", 0, 2*m, 4*m, 6*m, 10*m+1), nil, 0},
		{"sliding: the first falls out", evs("a", 0, 5*m, 6*m, 7*m, 10*m+time.Second, 11*m), []int64{5}, 0},
		{"growth after raise", evs("a", 0, m, 2*m, 3*m, 4*m, 5*m, 6*m), []int64{5, 1, 1}, 0},
		{"growth up to a window after the last reported", evs("a", 0, m, 2*m, 3*m, 4*m, 14*m), []int64{5, 1}, 0},
		{"new episode after the window empties", evs("a", 0, m, 2*m, 3*m, 4*m, 14*m+time.Second, 15*m, 16*m, 17*m, 18*m), []int64{5, 5}, 0},
		{"sources apart", append(evs("a", 0, m, 2*m), evs("b", 3*m, 4*m, 5*m, 6*m)...), nil, 0},
		{"sources each", append(evs("a", 0, m, 2*m, 3*m, 4*m), evs("b", 0, m, 2*m, 3*m, 4*m)...), []int64{5, 5}, 0},
		{"count 9 counts 9", []ev{{0, "a", 9}}, []int64{9}, 0},
		{"counts add up", []ev{{0, "a", 3}, {9 * m, "a", 2}}, []int64{5}, 0},
		{"counts apart", []ev{{0, "a", 3}, {11 * m, "a", 2}}, nil, 0},
		{"growth with a count", []ev{{0, "a", 5}, {m, "a", 7}}, []int64{5, 7}, 0},
		{"out of order", evs("a", 9*m, m, 5*m, 3*m, 7*m), []int64{5}, 0},
		{"out of order across the edge", evs("a", 10*m, 0, 5*m, 6*m, 7*m), []int64{5}, 0},
		{"out of order outside", evs("a", 10*m+time.Second, 0, 5*m, 6*m, 7*m), nil, 1},
		{"late beyond a window is not counted", evs("a", 30*m, 19*m, 0, m, 2*m, 3*m), nil, 5},
		{"late within a window counts", evs("a", 20*m, 10*m, 11*m, 12*m, 13*m), []int64{5}, 0},
		{"a late event grows an open episode", evs("a", 5*m, 6*m, 7*m, 8*m, 9*m, 4*m), []int64{5, 1}, 0},
		{"best window is raised", evs("a", 0, 11*m, 12*m, 13*m, 14*m, 10*m+30*time.Second), []int64{5}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{t: t0}
			en := New(builtinSet(t), Options{Clock: c.Now})
			var ds []center.Detection
			for _, e := range tc.events {
				ds = append(ds, only(run(en, login("dev-1", e.src, "Fail", t0.Add(e.at), e.count)), "ssh-brute-force")...)
			}
			if d := cmp.Diff(tc.want, counts(ds)); d != "" {
				t.Errorf("detection counts (-want +got):\n%s", d)
			}
			if got := stat(en, "ssh-brute-force").Late; got != tc.late {
				t.Errorf("late = %d, want %d", got, tc.late)
			}
		})
	}
}

func TestThresholdDetection(t *testing.T) {
	en := New(builtinSet(t), Options{Clock: (&clock{t: t0}).Now})
	var evs []*center.Event
	for i := range 4 {
		evs = append(evs, fail("dev-1", "::ffff:203.0.113.7", t0.Add(time.Duration(i)*time.Minute)))
	}
	last := login("dev-1", "203.0.113.7", "Fail", t0.Add(4*time.Minute), 2)
	last.LastTime = last.Time.Add(30 * time.Second)
	evs = append(evs, last)
	ds := run(en, evs...)
	if len(ds) != 1 {
		t.Fatalf("detections %+v", ds)
	}
	d := ds[0]
	want := center.Detection{
		Rule: "ssh-brute-force", Title: "SSH brute force", Severity: "High", Technique: "T1110.001",
		Remediation: d.Remediation, DeviceID: "dev-1", Hub: "fleet", Key: "203.0.113.7", SourceAddress: "203.0.113.7",
		Count: 6, First: t0, Last: t0.Add(4*time.Minute + 30*time.Second), Trigger: last,
	}
	for _, e := range evs {
		want.Evidence = append(want.Evidence, center.Evidence{EventID: e.ID, Time: e.Time, Excerpt: excerpt(e)})
	}
	if d := cmp.Diff(want, d); d != "" {
		t.Errorf("detection (-want +got):\n%s", d)
	}
	if d.Remediation == "" || want.Evidence[4].Excerpt != "Login Result=Fail Operation=Login UserName=admin RemoteAddress=203.0.113.7 ×2" {
		t.Errorf("remediation %q, excerpt %q", d.Remediation, want.Evidence[4].Excerpt)
	}
}

func TestThresholdEvidenceBounded(t *testing.T) {
	en := New(ruleSet(t, "id: ssh-brute-force\nseverity: High\nkind: threshold\nmatch: {name: Login}\ngroupBy: [device]\nwindow: 1h\nthreshold: 50\n"), Options{Clock: (&clock{t: t0}).Now})
	var evs []*center.Event
	for i := range 50 {
		evs = append(evs, fail("d", "x", t0.Add(time.Duration(i)*time.Second)))
	}
	ds := only(run(en, evs...), "ssh-brute-force")
	if len(ds) != 1 || len(ds[0].Evidence) != center.MaxEvidence || ds[0].Key != "" || ds[0].SourceAddress != "" {
		t.Fatalf("detections %+v", ds)
	}
	ev := ds[0].Evidence
	if ev[0].EventID != evs[0].ID || ev[9].EventID != evs[9].ID || ev[10].EventID != evs[40].ID || ev[19].EventID != evs[49].ID {
		t.Errorf("evidence is not the first 10 and the last 10: %v", ev)
	}
}

func TestThresholdMaxKeys(t *testing.T) {
	en := New(builtinSet(t), Options{Clock: (&clock{t: t0}).Now, MaxKeysPerRule: 3})
	for _, src := range []string{"a", "b", "c", "d", "e"} {
		run(en, fail("dev", src, t0))
	}
	s := stat(en, "ssh-brute-force")
	if s.Keys != 3 || s.Evicted != 2 {
		t.Errorf("stats %+v, want 3 keys and 2 evicted", s)
	}
	// "a" was evicted: its 4 new failures do not reach 5 with the old one.
	var ds []center.Detection
	for i := range 4 {
		ds = append(ds, run(en, fail("dev", "a", t0.Add(time.Duration(i+1)*time.Second)))...)
	}
	if len(only(ds, "ssh-brute-force")) != 0 {
		t.Errorf("an evicted key kept its count: %v", ds)
	}
}

func TestThresholdMaxEntries(t *testing.T) {
	en := New(builtinSet(t), Options{Clock: (&clock{t: t0}).Now, MaxEntriesPerKey: 8})
	var total int64
	for i := range 100 {
		for _, d := range only(run(en, fail("dev", "a", t0.Add(time.Duration(i)*time.Second))), "ssh-brute-force") {
			total += d.Count
		}
	}
	if total != 100 {
		t.Errorf("reported %d failures of 100 with 8 entries per key", total)
	}
}

func TestThresholdIdleKeysExpire(t *testing.T) {
	c := &clock{t: t0}
	en := New(builtinSet(t), Options{Clock: c.Now})
	run(en, fail("dev", "a", t0), fail("dev", "b", t0))
	c.Add(22 * time.Minute) // more than 2 windows and a minute
	en.Tick(context.Background(), c.Now())
	if s := stat(en, "ssh-brute-force"); s.Keys != 0 {
		t.Errorf("keys %d after they idled", s.Keys)
	}
}

func TestRateLimit(t *testing.T) {
	c := &clock{t: t0}
	en := New(ruleSet(t, "id: everything\nseverity: Low\nkind: match\nmatch: {}\nmaxAlertsPerMinute: 3\n"), Options{Clock: c.Now})
	var got []center.Detection
	for i := range 10 {
		got = append(got, only(run(en, item("d", "SystemInformation", "Full", "", t0.Add(time.Duration(i)), map[string]string{"HostName": "h"})), "everything")...)
	}
	if len(got) != 3 || stat(en, "everything").Dropped != 7 {
		t.Fatalf("%d detections, stats %+v; want 3 and 7 dropped", len(got), stat(en, "everything"))
	}
	c.Add(20 * time.Second) // one token back
	got = only(run(en, item("d", "SystemInformation", "Full", "", t0, map[string]string{"HostName": "h"}),
		item("d", "SystemInformation", "Full", "", t0, map[string]string{"HostName": "h"})), "everything")
	if len(got) != 1 {
		t.Errorf("%d detections 20 s later, want 1", len(got))
	}
	c.Add(time.Hour) // the bucket holds at most 3
	n := 0
	for range 10 {
		n += len(only(run(en, item("d", "SystemInformation", "Full", "", t0, map[string]string{"HostName": "h"})), "everything"))
	}
	if n != 3 {
		t.Errorf("%d detections after an hour, want 3", n)
	}
}

func TestRateLimitThreshold(t *testing.T) {
	c := &clock{t: t0}
	en := New(ruleSet(t, "id: ssh-brute-force\nseverity: High\nkind: threshold\nmatch: {name: Login}\ngroupBy: [device, RemoteAddress]\nwindow: 10m\nthreshold: 2\nmaxAlertsPerMinute: 1\n"), Options{Clock: c.Now})
	// Source a raises (the token), then grows without limit.
	ds := only(run(en, fail("d", "a", t0), fail("d", "a", t0), fail("d", "a", t0), fail("d", "a", t0)), "ssh-brute-force")
	if d := cmp.Diff([]int64{2, 1, 1}, counts(ds)); d != "" {
		t.Errorf("source a (-want +got):\n%s", d)
	}
	// Source b cannot raise now; its failures wait, unreported.
	ds = only(run(en, fail("d", "b", t0), fail("d", "b", t0), fail("d", "b", t0)), "ssh-brute-force")
	if len(ds) != 0 || stat(en, "ssh-brute-force").Dropped != 2 {
		t.Errorf("source b: %v, stats %+v", counts(ds), stat(en, "ssh-brute-force"))
	}
	// A minute later, the next failure raises with all of them.
	c.Add(time.Minute)
	ds = only(run(en, fail("d", "b", t0.Add(time.Second))), "ssh-brute-force")
	if d := cmp.Diff([]int64{4}, counts(ds)); d != "" {
		t.Errorf("source b later (-want +got):\n%s", d)
	}
}

func TestWarm(t *testing.T) {
	m := time.Minute
	var evs []*center.Event
	for i := range 7 {
		evs = append(evs, fail("dev", "a", t0.Add(time.Duration(i)*m)))
	}
	for _, cut := range []int{1, 3, 4, 5, 6} {
		// The reference: one engine sees everything.
		ref := only(run(New(builtinSet(t), Options{}), evs...), "ssh-brute-force")
		// A restart after cut events: the new engine is warmed with them.
		before := only(run(New(builtinSet(t), Options{}), evs[:cut]...), "ssh-brute-force")
		en := New(builtinSet(t), Options{})
		en.Warm(evs[:cut])
		after := only(run(en, evs[cut:]...), "ssh-brute-force")
		if d := cmp.Diff(counts(ref), append(counts(before), counts(after)...)); d != "" {
			t.Errorf("restart after %d events: detections (-uninterrupted +restarted):\n%s", cut, d)
		}
		var sum int64
		for _, d := range append(before, after...) {
			sum += d.Count
		}
		if sum != 7 {
			t.Errorf("restart after %d events: %d failures reported, want 7", cut, sum)
		}
	}
	// Warming reports nothing and takes no rate-limit token.
	en := New(ruleSet(t, "id: all\nseverity: Low\nkind: match\nmatch: {name: Login}\nmaxAlertsPerMinute: 1\n"), Options{})
	en.Warm(evs)
	if s := stat(en, "all"); s.Detections != 0 || s.Dropped != 0 {
		t.Errorf("warm: stats %+v", s)
	}
	if ds := only(run(en, evs[0]), "all"); len(ds) != 1 {
		t.Errorf("after warm: %v", ds)
	}
}

func TestWarmSequence(t *testing.T) {
	var evs []*center.Event
	for i := range 6 {
		evs = append(evs, fail("dev", "a", t0.Add(time.Duration(i)*time.Minute)))
	}
	en := New(builtinSet(t), Options{})
	en.Warm(evs)
	ds := run(en, login("dev", "a", "Success", t0.Add(20*time.Minute), 1))
	if len(ds) != 1 || ds[0].Rule != "ssh-brute-force-success" {
		t.Fatalf("success after a warmed brute force: %+v", ds)
	}
	if h := en.MaxHorizon(); h != 30*time.Minute {
		t.Errorf("MaxHorizon = %s, want 30m (ssh-brute-force-success)", h)
	}
}
