package detect

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/moatsec/moat/internal/center"
	"github.com/moatsec/moat/internal/center/rules"
)

func TestSequenceBruteForceSuccess(t *testing.T) {
	m := time.Minute
	brute := func(dev, src string, from time.Duration) []*center.Event {
		var out []*center.Event
		for i := range 5 {
			out = append(out, fail(dev, src, t0.Add(from+time.Duration(i)*m)))
		}
		return out
	}
	success := func(dev, src string, at time.Duration) *center.Event {
		return login(dev, src, "Success", t0.Add(at), 1)
	}
	tests := []struct {
		name   string
		events []*center.Event
		want   int
	}{
		{"success after brute force", append(brute("d", "a", 0), success("d", "a", 10*m)), 1},
		{"success exactly 30m after", append(brute("d", "a", 0), success("d", "a", 34*m)), 1},
		{"success 30m01s after", append(brute("d", "a", 0), success("d", "a", 34*m+time.Second)), 0},
		{"success during the attack, before the threshold", append(append(brute("d", "a", 0)[:4], success("d", "a", 3*m+time.Second)), fail("d", "a", t0.Add(4*m))), 0},
		{"success from another source", append(brute("d", "a", 0), success("d", "b", 10*m)), 0},
		{"success on another device", append(brute("d", "a", 0), success("e", "a", 10*m)), 0},
		{"success arrives first", append([]*center.Event{success("d", "a", 10*m)}, brute("d", "a", 0)...), 1},
		{"two successes", append(brute("d", "a", 0), success("d", "a", 10*m), success("d", "a", 11*m)), 2},
		{"growth after the success does not repeat it", append(append(brute("d", "a", 0), success("d", "a", 10*m)), fail("d", "a", t0.Add(12*m)), fail("d", "a", t0.Add(13*m))), 1},
		{"no brute force", []*center.Event{fail("d", "a", t0), success("d", "a", m)}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			en := New(builtinSet(t), Options{})
			ds := only(run(en, tc.events...), "ssh-brute-force-success")
			if len(ds) != tc.want {
				t.Fatalf("%d detections, want %d: %+v", len(ds), tc.want, ds)
			}
			if tc.want == 0 {
				return
			}
			d := ds[0]
			if d.Key != "a" || d.SourceAddress != "a" || d.DeviceID != "d" || d.Severity != "High" || d.Technique != "T1110" || d.Count != 1 {
				t.Errorf("detection %+v", d)
			}
			if d.Trigger == nil || d.Trigger.Fields["Result"] != "Success" || len(d.Evidence) < 2 {
				t.Errorf("trigger %+v, evidence %v", d.Trigger, d.Evidence)
			}
			if last := d.Evidence[len(d.Evidence)-1]; last.EventID != d.Trigger.ID {
				t.Errorf("the last evidence is not the success: %v", d.Evidence)
			}
		})
	}
}

func TestSequenceOfMatches(t *testing.T) {
	src := `id: port-then-tool
severity: High
kind: sequence
within: 5m
steps:
  - match: {name: ListeningPorts, change: Added}
  - rule: attack-tool-executed
  - match: {name: ProcessCreate, fields: {Executable: {prefix: /tmp/}}}
`
	en := New(ruleSet(t, src), Options{})
	port := item("d", "ListeningPorts", "Diff", "Added", t0, map[string]string{"Protocol": "tcp", "LocalPort": "4444"})
	nmap := item("d", "ProcessCreate", "", "", t0.Add(time.Minute), map[string]string{"Executable": "/usr/bin/nmap"})
	tmp := item("d", "ProcessCreate", "", "", t0.Add(2*time.Minute), map[string]string{"Executable": "/tmp/x"})
	if ds := only(run(en, nmap, tmp), "port-then-tool"); len(ds) != 0 {
		t.Fatalf("out of order steps: %v", ds)
	}
	ds := only(run(en, port), "port-then-tool")
	if len(ds) != 1 || ds[0].Trigger != tmp || len(ds[0].Evidence) != 3 || ds[0].First != t0 || ds[0].Last != tmp.Time {
		t.Fatalf("detections %+v", ds)
	}
}

func TestNewValue(t *testing.T) {
	m := time.Minute
	port := func(p string) map[string]string {
		return map[string]string{"Protocol": "tcp", "LocalAddress": "0.0.0.0", "LocalPort": p}
	}
	user := func(name, groups string) map[string]string {
		return map[string]string{"UserName": name, "GroupNames": groups}
	}
	b := NewMemoryBaseline()
	en := New(builtinSet(t), Options{Baseline: b})
	type step struct {
		name   string
		events []*center.Event
		want   map[string][]string // rule → keys
	}
	steps := []step{
		{"first Full learns", append(snapshot("d", "ListeningPorts", t0, port("22"), port("80")),
			snapshot("d", "LocalUsers", t0, user("root", "root"), user("pi", "adm,pi,sudo"))...), nil},
		{"Diff Added new port", []*center.Event{item("d", "ListeningPorts", "Diff", "Added", t0.Add(m), port("4444"))},
			map[string][]string{"new-listening-port": {"tcp|4444"}}},
		{"Diff Added known port (other address)", []*center.Event{item("d", "ListeningPorts", "Diff", "Added", t0.Add(m), map[string]string{"Protocol": "tcp", "LocalAddress": "::", "LocalPort": "22"})}, nil},
		{"Removed is never new", []*center.Event{item("d", "ListeningPorts", "Diff", "Removed", t0.Add(m), port("5555"))}, nil},
		{"Changed port is not considered", []*center.Event{item("d", "ListeningPorts", "Diff", "Changed", t0.Add(m), port("6666"))}, nil},
		{"later Full reports new values", snapshot("d", "ListeningPorts", t0.Add(2*m), port("22"), port("80"), port("4444"), port("8080")),
			map[string][]string{"new-listening-port": {"tcp|8080"}}},
		{"another device learns its first Full", snapshot("e", "ListeningPorts", t0, port("22"), port("9999")), nil},
		{"new user", []*center.Event{item("d", "LocalUsers", "Diff", "Added", t0.Add(3*m), user("eve", "eve"))},
			map[string][]string{"new-local-user": {"eve"}}},
		{"user added to privileged groups", []*center.Event{item("d", "LocalUsers", "Diff", "Changed", t0.Add(4*m), user("pi", "adm,docker,pi,sudo,wheel"))},
			map[string][]string{"user-added-to-privileged-group": {"pi|docker", "pi|wheel"}}},
		{"new user created privileged", []*center.Event{item("d", "LocalUsers", "Diff", "Added", t0.Add(5*m), user("mallory", "mallory,sudo"))},
			map[string][]string{"new-local-user": {"mallory"}, "user-added-to-privileged-group": {"mallory|sudo"}}},
		{"unprivileged group change", []*center.Event{item("d", "LocalUsers", "Diff", "Changed", t0.Add(6*m), user("eve", "eve,video"))}, nil},
	}
	for _, st := range steps {
		got := map[string][]string{}
		for _, d := range run(en, st.events...) {
			got[d.Rule] = append(got[d.Rule], d.Key)
			if d.DeviceID == "" || d.Count != 1 || len(d.Evidence) != 1 {
				t.Errorf("%s: detection %+v", st.name, d)
			}
		}
		if len(got) == 0 {
			got = nil
		}
		if d := cmp.Diff(st.want, got); d != "" {
			t.Errorf("%s: (-want +got):\n%s", st.name, d)
		}
	}
	// A restart: the baseline persists, the device is known: a Full reports
	// its new values.
	en = New(builtinSet(t), Options{Baseline: b})
	ds := run(en, snapshot("d", "ListeningPorts", t0.Add(time.Hour), port("22"), port("7777"))...)
	if len(ds) != 1 || ds[0].Key != "tcp|7777" {
		t.Errorf("after restart: %+v", ds)
	}

	// The device deleted (its baseline with it) and registered again:
	// once the engine forgets it, its first Full is learned again.
	b.forgetDevice("d")
	en.Forget("d")
	if ds := run(en, snapshot("d", "ListeningPorts", t0.Add(2*time.Hour), port("22"), port("3333"))...); len(ds) != 0 {
		t.Errorf("first Full after Forget: %+v, want it learned", ds)
	}
	if ds := run(en, item("d", "ListeningPorts", "Diff", "Added", t0.Add(3*time.Hour), port("7777"))); len(ds) != 1 || ds[0].Key != "tcp|7777" {
		t.Errorf("a port of the old baseline after Forget: %+v, want it new", ds)
	}
}

// forgetDevice drops a device's values, as deleting a device does in the
// store.
func (b *MemoryBaseline) forgetDevice(device string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k := range b.values {
		if k[0] == device {
			delete(b.values, k)
		}
	}
}

type failingBaseline struct{}

func (failingBaseline) Remember(context.Context, string, string, string) (bool, error) {
	return false, errors.New("db down")
}
func (failingBaseline) Learned(context.Context, string, string) (bool, error) { return true, nil }

func TestNewValueBaselineErrors(t *testing.T) {
	en := New(builtinSet(t), Options{Baseline: failingBaseline{}})
	ds := run(en, item("d", "ListeningPorts", "Diff", "Added", t0, map[string]string{"Protocol": "tcp", "LocalPort": "1"}))
	if len(ds) != 0 || stat(en, "new-listening-port").Errors != 1 {
		t.Errorf("detections %v, stats %+v", ds, stat(en, "new-listening-port"))
	}
}

func TestMatchBuiltins(t *testing.T) {
	ev := func(source, name, mode, change string, f map[string]string) *center.Event {
		e := item("d", name, mode, change, t0, f)
		e.Source = source
		return e
	}
	agent := func(name, mode, change string, f map[string]string) *center.Event {
		return ev(center.SourceAgent, name, mode, change, f)
	}
	policy := func(action, hook string) map[string]string {
		return map[string]string{"Backend": "nftables", "Family": "inet", "Table": "filter", "ChainName": "input", "Hook": hook, "IsDefaultPolicy": "true", "Action": action}
	}
	tests := []struct {
		name string
		ev   *center.Event
		rule string // "" for none
		key  string
	}{
		{"policy turned to accept", agent("FirewallConfiguration", "Diff", "Changed", policy("Allow", "input")), "firewall-disabled", ""},
		{"input chain removed", agent("FirewallConfiguration", "Diff", "Removed", policy("Deny", "input")), "firewall-disabled", ""},
		{"empty Full firewall", agent("FirewallConfiguration", "Full", "", nil), "firewall-disabled", ""},
		{"accept policy in a Full is posture", agent("FirewallConfiguration", "Full", "", policy("Allow", "input")), "", ""},
		{"output policy accept", agent("FirewallConfiguration", "Diff", "Changed", policy("Allow", "output")), "", ""},
		{"policy turned to drop", agent("FirewallConfiguration", "Diff", "Changed", policy("Deny", "input")), "", ""},
		{"auditd missing", agent("OSBaseline", "Full", "", map[string]string{"CheckId": "audit.auditd_installed", "Result": "Fail"}), "auditd-disabled", ""},
		{"auditd present", agent("OSBaseline", "Full", "", map[string]string{"CheckId": "audit.auditd_installed", "Result": "Pass"}), "", ""},
		{"audit kernel disabled", agent("Diagnostic", "", "", map[string]string{"Component": "collector/audit", "Message": "Warning audit.kernel.disabled: auditing was turned off"}), "auditd-disabled", ""},
		{"audit rules not installed is a setup problem", agent("Diagnostic", "", "", map[string]string{"Component": "collector/audit", "Message": "Warning audit.rules.not_installed: audit rules not installed: …"}), "", ""},
		{"auth log gap", agent("Diagnostic", "", "", map[string]string{"Component": "collector/authlog", "Message": "auth log /var/log/auth.log: gap 1234 bytes lost"}), "log-files-removed", ""},
		{"auth log line cut", agent("Diagnostic", "", "", map[string]string{"Component": "collector/authlog", "Message": "auth log /var/log/auth.log: line_cut 70000"}), "", ""},
		{"nmap", agent("ProcessCreate", "", "", map[string]string{"Executable": "/usr/bin/nmap", "CommandLine": "nmap -sS 10.0.0.0/24"}), "attack-tool-executed", "/usr/bin/nmap"},
		{"netcat", agent("ProcessCreate", "", "", map[string]string{"Executable": "/bin/nc.traditional"}), "attack-tool-executed", "/bin/nc.traditional"},
		{"not a tool", agent("ProcessCreate", "", "", map[string]string{"Executable": "/usr/bin/ncdu"}), "", ""},
		{"exec from /dev/shm", agent("ProcessCreate", "", "", map[string]string{"Executable": "/dev/shm/.x/miner"}), "exec-from-temp", "/dev/shm/.x/miner"},
		{"exec from /usr", agent("ProcessCreate", "", "", map[string]string{"Executable": "/usr/bin/curl"}), "", ""},
		{"token refused outside geofence", ev(center.SourceDiscovery, "TokenDecision", "", "", map[string]string{"result": "outside_geofence", "sourceAddress": "198.51.100.7"}), "token-refused-location", "outside_geofence"},
		{"token issued", ev(center.SourceDiscovery, "TokenDecision", "", "", map[string]string{"result": "issued"}), "", ""},
		{"needs maintenance", ev(center.SourceDiscovery, "TokenDecision", "", "", map[string]string{"result": "needs_maintenance"}), "device-needs-maintenance", ""},
		{"revoked publisher sends", ev(center.SourceHub, "AuthFailure", "", "", map[string]string{"reason": "publisher_revoked", "sourceAddress": "::ffff:198.51.100.7"}), "revoked-publisher-active", "198.51.100.7"},
		{"revoked publisher asks a token", ev(center.SourceDiscovery, "TokenDecision", "", "", map[string]string{"result": "publisher_revoked", "sourceAddress": "198.51.100.8"}), "revoked-publisher-active", "198.51.100.8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			en := New(builtinSet(t), Options{})
			ds := run(en, tc.ev)
			if tc.rule == "" {
				if len(ds) != 0 {
					t.Errorf("detections %+v", ds)
				}
				return
			}
			if len(ds) != 1 || ds[0].Rule != tc.rule || ds[0].Key != tc.key || ds[0].Trigger != tc.ev || ds[0].Technique == "" {
				t.Fatalf("detections %+v, want one of %s with key %q", ds, tc.rule, tc.key)
			}
		})
	}
}

func TestAuthFailures(t *testing.T) {
	en := New(builtinSet(t), Options{})
	var ds []center.Detection
	for i := range 12 {
		e := item("pub-1", "AuthFailure", "", "", t0.Add(time.Duration(i)*20*time.Second), map[string]string{"reason": "bad_signature"})
		e.Source = center.SourceHub
		ds = append(ds, run(en, e)...)
	}
	unknown := item("", "AuthFailure", "", "", t0, map[string]string{"reason": "bad_signature"})
	unknown.Source = center.SourceHub
	for range 20 {
		ds = append(ds, run(en, unknown)...)
	}
	if d := cmp.Diff([]int64{10, 1, 1}, counts(only(ds, "auth-failures"))); d != "" || ds[0].DeviceID != "pub-1" {
		t.Errorf("auth-failures (-want +got):\n%s%+v", d, ds)
	}
}

type fakeDevices struct {
	list  []RegisteredDevice
	calls int
}

func (f *fakeDevices) Registered(context.Context) ([]RegisteredDevice, error) {
	f.calls++
	return f.list, nil
}

func TestAbsence(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: t0}
	devs := &fakeDevices{list: []RegisteredDevice{
		{ID: "sends", Hub: "fleet", Created: t0.Add(-48 * time.Hour)},
		{ID: "never", Hub: "fleet", Created: t0.Add(-48 * time.Hour)},
		{ID: "new", Hub: "fleet", Created: t0.Add(-time.Hour)},
		{ID: "before-restart", Hub: "fleet", Created: t0.Add(-48 * time.Hour), LastAgentEvent: t0.Add(-30 * time.Minute)},
	}}
	en := New(builtinSet(t), Options{Clock: c.Now, Devices: devs})
	e := fail("sends", "a", t0)
	e.Received = t0
	run(en, e)
	tick := func(at time.Duration) map[string][]string {
		got := map[string][]string{}
		for _, d := range en.Tick(ctx, t0.Add(at)) {
			got[d.Rule] = append(got[d.Rule], d.DeviceID)
			if d.Trigger != nil || d.Count != 1 || d.Last != t0.Add(at) {
				t.Errorf("absence detection %+v", d)
			}
		}
		return got
	}
	if d := cmp.Diff(map[string][]string{"device-without-agent": {"never"}}, tick(0)); d != "" {
		t.Errorf("tick 0 (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string][]string{"device-silent": {"before-restart"}}, tick(31*time.Minute)); d != "" {
		t.Errorf("tick 31m (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string][]string{}, tick(59*time.Minute)); d != "" {
		t.Errorf("tick 59m (-want +got):\n%s", d)
	}
	got := en.Tick(ctx, t0.Add(61*time.Minute))
	if len(got) != 1 || got[0].Rule != "device-silent" || got[0].DeviceID != "sends" || got[0].First != t0 ||
		len(got[0].Evidence) != 1 || got[0].Evidence[0].EventID != e.ID {
		t.Errorf("tick 61m: %+v", got)
	}
	if d := cmp.Diff(map[string][]string{}, tick(2*time.Hour)); d != "" {
		t.Errorf("tick 2h: reported twice (-want +got):\n%s", d)
	}
	// It sends again, then falls silent again.
	e2 := fail("sends", "a", t0.Add(3*time.Hour))
	e2.Received = t0.Add(3 * time.Hour)
	run(en, e2)
	if d := cmp.Diff(map[string][]string{"device-silent": {"sends"}}, tick(4*time.Hour+time.Second)); d != "" {
		t.Errorf("second silence (-want +got):\n%s", d)
	}
	// "new" is 25 h old now: reported once.
	if d := cmp.Diff(map[string][]string{"device-without-agent": {"new"}}, tick(24*time.Hour)); d != "" {
		t.Errorf("tick 24h (-want +got):\n%s", d)
	}
	if devs.calls < 2 || devs.calls > 8 {
		t.Errorf("registry asked %d times", devs.calls)
	}
}

func TestAbsenceWithoutRegistry(t *testing.T) {
	en := New(builtinSet(t), Options{})
	e := fail("d", "a", t0)
	e.Received = t0
	run(en, e)
	ds := en.Tick(context.Background(), t0.Add(2*time.Hour))
	if len(ds) != 1 || ds[0].Rule != "device-silent" {
		t.Errorf("detections %+v", ds)
	}
}

func TestSetRules(t *testing.T) {
	en := New(builtinSet(t), Options{})
	m := time.Minute
	run(en, fail("d", "a", t0), fail("d", "a", t0.Add(m)), fail("d", "a", t0.Add(2*m)), fail("d", "a", t0.Add(3*m)))
	// Same computation, other title and severity: the window is kept.
	en.SetRules(ruleSet(t, "id: ssh-brute-force\ntitle: Renamed\nseverity: Medium\nkind: threshold\nmatch: {source: agent, name: Login, fields: {Result: Fail}}\ngroupBy: [device, RemoteAddress]\nwindow: 10m\nthreshold: 5\n"))
	ds := only(run(en, fail("d", "a", t0.Add(4*m))), "ssh-brute-force")
	if len(ds) != 1 || ds[0].Count != 5 || ds[0].Title != "Renamed" || ds[0].Severity != "Medium" {
		t.Fatalf("after a metadata change: %+v", ds)
	}
	// Another threshold: the state starts over.
	en.SetRules(ruleSet(t, "id: ssh-brute-force\nseverity: High\nkind: threshold\nmatch: {source: agent, name: Login, fields: {Result: Fail}}\ngroupBy: [device, RemoteAddress]\nwindow: 10m\nthreshold: 3\n"))
	ds = only(run(en, fail("d", "a", t0.Add(5*m)), fail("d", "a", t0.Add(6*m))), "ssh-brute-force")
	if len(ds) != 0 {
		t.Fatalf("a changed rule kept its state: %+v", ds)
	}
	if ds = only(run(en, fail("d", "a", t0.Add(7*m))), "ssh-brute-force"); len(ds) != 1 || ds[0].Count != 3 {
		t.Fatalf("changed rule: %+v", ds)
	}
	// Disabled: nothing.
	en.SetRules(ruleSet(t, "id: ssh-brute-force\nenabled: false\n"))
	for i := range 10 {
		if ds := run(en, fail("d", "b", t0.Add(time.Duration(i)*time.Second))); len(ds) != 0 {
			t.Fatalf("disabled rule: %+v", ds)
		}
	}
	for _, s := range en.Stats() {
		if s.Rule == "ssh-brute-force" || s.Rule == "ssh-brute-force-success" {
			t.Errorf("stats of an inactive rule: %+v", s)
		}
	}
}

func TestSetRulesConcurrent(t *testing.T) {
	en := New(builtinSet(t), Options{})
	sets := []*rules.Set{builtinSet(t), ruleSet(t, "id: ssh-brute-force\nenabled: false\n")}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range 200 {
			en.SetRules(sets[i%2])
		}
	}()
	go func() {
		defer wg.Done()
		for range 200 {
			_ = en.Stats()
		}
	}()
	for i := range 2000 {
		run(en, fail("d", "a", t0.Add(time.Duration(i)*time.Second)))
	}
	wg.Wait()
}

func TestNilAndHostileEvents(t *testing.T) {
	en := New(builtinSet(t), Options{Baseline: NewMemoryBaseline()})
	if ds := en.Process(context.Background(), nil); ds != nil {
		t.Error(ds)
	}
	far := fail("d", "a", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
	far.Count = 1 << 62
	zero := fail("d", "a", time.Time{})
	zero.Received = time.Time{}
	ds := run(en, far, zero, &center.Event{Name: "Login"}, &center.Event{Name: "ListeningPorts", SnapshotMode: "Diff", Change: "Added", Device: "d"})
	for _, d := range ds {
		if d.Count > MaxCount {
			t.Errorf("count %d", d.Count)
		}
	}
	en.Warm([]*center.Event{nil, far})
}

func TestNewValueRateLimit(t *testing.T) {
	c := &clock{t: t0}
	src := "id: new-listening-port\nseverity: Medium\nkind: newvalue\nmatch: {name: ListeningPorts}\nvalue: [Protocol, LocalPort]\nmaxAlertsPerMinute: 1\n"
	en := New(ruleSet(t, src), Options{Clock: c.Now, Baseline: NewMemoryBaseline()})
	port := func(p string) map[string]string { return map[string]string{"Protocol": "tcp", "LocalPort": p} }
	// Learning takes no token.
	if ds := run(en, snapshot("d", "ListeningPorts", t0, port("1"), port("2"), port("3"))...); len(ds) != 0 {
		t.Fatalf("learning: %v", ds)
	}
	ds := run(en, item("d", "ListeningPorts", "Diff", "Added", t0, port("10")), item("d", "ListeningPorts", "Diff", "Added", t0, port("11")))
	if len(ds) != 1 || ds[0].Key != "tcp|10" || stat(en, "new-listening-port").Dropped != 1 {
		t.Fatalf("detections %+v, stats %+v", ds, stat(en, "new-listening-port"))
	}
	// The dropped value was not remembered: the next Full reports it.
	c.Add(time.Minute)
	ds = run(en, snapshot("d", "ListeningPorts", t0.Add(time.Minute), port("1"), port("10"), port("11"))...)
	if len(ds) != 1 || ds[0].Key != "tcp|11" {
		t.Fatalf("next Full: %+v", ds)
	}
}
