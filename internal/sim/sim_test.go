package sim_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/internal/cli"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/hub/httpapi"
	"github.com/moatsec/moat/internal/moattest"
	"github.com/moatsec/moat/internal/sim"
	"github.com/moatsec/moat/secmsg"
	"github.com/moatsec/moat/tokenclient"
)

// fast is a run of five devices on the agent's rhythm sped up: the attack's
// 30 failed logins over 300 ms, flushed every 100 ms.
func fast(s *moattest.Server) sim.Options {
	return sim.Options{
		Server: s.URL(), Conn: s.Root, Hub: "fleet", Partitions: 2, Devices: 5,
		Attack:        sim.Attack{Kind: sim.AttackSSHBruteForce, Device: "sim-0002", Attempts: 30, Success: true},
		TelemetryRate: 20, FlushInterval: 100 * time.Millisecond, AttackWindow: 300 * time.Millisecond,
		StatsInterval: 200 * time.Millisecond,
	}
}

// agentEvent is one agent event of the security stream.
type agentEvent struct {
	device string
	ev     secmsg.Event
}

func securityEvents(t *testing.T, s *moattest.Server, hubName string) []agentEvent {
	t.Helper()
	var out []agentEvent
	for from := uint64(1); ; {
		resp, err := s.Client.ReadSecurity(context.Background(), hubName, "", from, 1000, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range resp.Records {
			if r.Source != hub.SourceAgent {
				continue
			}
			var ar hub.AgentRecord
			if err := json.Unmarshal(r.Data, &ar); err != nil {
				t.Fatal(err)
			}
			m, err := secmsg.Parse(ar.Message)
			if err != nil {
				t.Fatalf("stored record of %s: %v", ar.Device, err)
			}
			for _, ev := range m.Events {
				out = append(out, agentEvent{ar.Device, ev})
			}
		}
		if len(resp.Records) == 0 || resp.Next <= from {
			return out
		}
		from = resp.Next
	}
}

func telemetryEvents(t *testing.T, s *moattest.Server, hubName string) []httpapi.EventView {
	t.Helper()
	h, err := s.Client.GetHub(context.Background(), hubName)
	if err != nil {
		t.Fatal(err)
	}
	var out []httpapi.EventView
	for p := range h.Partitions {
		for from := uint64(1); ; {
			resp, err := s.Client.Read(context.Background(), hubName, p, from, 1000, 0)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, resp.Events...)
			if len(resp.Events) == 0 || resp.Next <= from {
				break
			}
			from = resp.Next
		}
	}
	return out
}

func TestFleetWithAttack(t *testing.T) {
	s := moattest.Start(t, moattest.Options{})
	o := fast(s)
	res, err := sim.Run(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 0 || len(res.Errors) != 0 {
		t.Fatalf("%d sends failed: %v", res.Failed, res.Errors)
	}
	if res.New != 5 || res.Reused != 0 {
		t.Errorf("new %d, reused %d: want 5 new", res.New, res.Reused)
	}
	a := res.Attack
	if a == nil || a.Reported != 30 || a.Refused != 0 || a.Success != "accepted" || a.LastAccepted.IsZero() {
		t.Fatalf("attack report %+v: want 30 failures and the success accepted", a)
	}
	if a.Next == nil || !a.Next.Accepted || a.FirstRefusal != nil {
		t.Errorf("next send after the attack: %+v, first refusal %+v: want one, accepted, and no refusal (nothing quarantines here)",
			a.Next, a.FirstRefusal)
	}

	evs := securityEvents(t, s, "fleet")
	snaps := map[string][]string{}
	var failures, successes, stats int64
	for _, e := range evs {
		switch e.ev.Name {
		case secmsg.NameListeningPorts, secmsg.NameFirewallConfiguration, secmsg.NameLocalUsers,
			secmsg.NameOSBaseline, secmsg.NameSystemInformation:
			if e.ev.SnapshotMode != secmsg.SnapshotFull {
				t.Errorf("%s of %s: SnapshotMode %q", e.ev.Name, e.device, e.ev.SnapshotMode)
			}
			snaps[e.device] = append(snaps[e.device], e.ev.Name)
		case secmsg.NameLogin:
			for _, it := range e.ev.Payload {
				l := it.(secmsg.Login)
				if e.device != "sim-0002" || l.RemoteAddress != sim.DefaultAttacker {
					t.Errorf("login of %s from %s: only the target reports logins, from the attacker", e.device, l.RemoteAddress)
				}
				if l.Result == secmsg.ResultFail {
					failures += l.Hits()
				} else {
					successes += l.Hits()
				}
			}
		case secmsg.NameMessageStatistics:
			stats++
		default:
			t.Errorf("unexpected event %s from %s", e.ev.Name, e.device)
		}
	}
	want := []string{secmsg.NameFirewallConfiguration, secmsg.NameListeningPorts, secmsg.NameLocalUsers,
		secmsg.NameOSBaseline, secmsg.NameSystemInformation}
	for i := 1; i <= 5; i++ {
		id := "sim-000" + string(rune('0'+i))
		got := slices.Sorted(slices.Values(snaps[id]))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("snapshots of %s (-want +got):\n%s", id, diff)
		}
	}
	if failures != 30 || successes != 1 {
		t.Errorf("the stream holds %d failed and %d successful logins from the attacker, want 30 and 1", failures, successes)
	}
	if stats == 0 {
		t.Error("no MessageStatistics in the stream")
	}
	if int64(len(evs)) != res.SecurityEvents {
		t.Errorf("%d agent events stored, the sim counted %d", len(evs), res.SecurityEvents)
	}

	tel := telemetryEvents(t, s, "fleet")
	if int64(len(tel)) != res.Telemetry || len(tel) == 0 {
		t.Fatalf("%d telemetry events in the partitions, the sim counted %d", len(tel), res.Telemetry)
	}
	per := map[string]int{}
	for _, e := range tel {
		var body struct {
			Device string `json:"deviceId"`
		}
		if err := json.Unmarshal(e.Body, &body); err != nil || body.Device != e.Publisher {
			t.Fatalf("telemetry %q from publisher %s: %v", e.Body, e.Publisher, err)
		}
		per[e.Publisher]++
	}
	if len(per) != 5 {
		t.Errorf("telemetry from %d devices, want 5: %v", len(per), per)
	}

	// A second run reuses the devices: the import gives them new keys.
	o.Attack = sim.Attack{}
	again, err := sim.Run(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if again.New != 0 || again.Reused != 5 || again.Failed != 0 {
		t.Errorf("second run: new %d, reused %d, errors %v: want the 5 devices reused without error", again.New, again.Reused, again.Errors)
	}
}

func TestQuarantinedMidRun(t *testing.T) {
	s := moattest.Start(t, moattest.Options{})
	o := fast(s)
	o.Duration = 1500 * time.Millisecond
	var mu sync.Mutex
	var quarantinedAt time.Time
	var progress []sim.Progress
	o.OnProgress = func(p sim.Progress) {
		mu.Lock()
		defer mu.Unlock()
		progress = append(progress, p)
		if p.Send.Kind == sim.KindLoginFailures && p.Reported == p.Planned && quarantinedAt.IsZero() {
			if _, err := s.Client.QuarantineDevice(context.Background(), p.Device, "brute force"); err != nil {
				t.Errorf("quarantine: %v", err)
			}
			quarantinedAt = time.Now()
		}
	}
	res, err := sim.Run(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	a := res.Attack
	if quarantinedAt.IsZero() || a.Reported != 30 {
		t.Fatalf("attack %+v: the 30 failures were not all accepted", a)
	}
	// The hook quarantined the target before it sent again.
	if a.Next == nil || a.Next.Accepted || a.FirstRefusal == nil || *a.FirstRefusal != *a.Next {
		t.Fatalf("next send after the attack %+v, first refusal %+v: want the same, refused", a.Next, a.FirstRefusal)
	}
	if a.Next.Reason != tokenclient.ReasonQuarantined && a.Next.Reason != tokenclient.ReasonPublisherRevoked {
		t.Errorf("refusal reason %q: want quarantined or publisher_revoked", a.Next.Reason)
	}
	if a.Success == "accepted" || a.Success == "" {
		t.Errorf("success %q: want the refusal", a.Success)
	}
	if res.Errors[a.Next.Reason] < 2 {
		t.Errorf("errors %v: the target should keep being refused (success, then telemetry)", res.Errors)
	}
	var refusals []sim.Progress
	for _, p := range progress {
		if p.Refusal {
			refusals = append(refusals, p)
		}
	}
	if len(refusals) != 1 || refusals[0].Send != *a.FirstRefusal || !refusals[0].AfterAttack {
		t.Errorf("refusals reported as progress %+v: want one, the report's %+v", refusals, *a.FirstRefusal)
	}

	// The others carried on: telemetry after the quarantine from each.
	after := map[string]bool{}
	for _, e := range telemetryEvents(t, s, "fleet") {
		if e.EnqueuedTime.After(quarantinedAt) {
			after[e.Publisher] = true
		}
	}
	if after["sim-0002"] || len(after) != 4 {
		t.Errorf("telemetry after the quarantine from %v: want the 4 other devices only", after)
	}
}

func TestCommand(t *testing.T) {
	s := moattest.Start(t, moattest.Options{})
	run := func(args ...string) (int, string, string) {
		var stdout, stderr strings.Builder
		code := cli.Main(append([]string{"--server", s.URL(), "--data", s.Data}, args...), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	code, out, errOut := run("sim", "--devices", "3", "--hub", "demo", "--attack", "ssh-brute-force:2", "--success",
		"--attack-window", "300ms", "--flush-interval", "100ms", "--telemetry-rate", "20", "--stats-interval", "200ms")
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	for _, want := range []string{
		"sim: 3 devices on hub demo (3 new, 0 reused)",
		"0 refused or failed",
		"sim-0002 reported 10 failed SSH logins (30/30 accepted): accepted",
		"attack ssh-brute-force on sim-0002 from 198.51.100.66: 30 of 30 failed logins accepted; successful login accepted",
		"no send refused after it",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	code, out, errOut = run("-o", "json", "sim", "--devices", "2", "--hub", "demo", "--telemetry-rate", "0")
	var res sim.Result
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Reused != 2 || res.Attack != nil || res.Telemetry != 0 {
		t.Errorf("json run: exit %d, %+v:\n%s%s", code, res, out, errOut)
	}

	for _, bad := range [][]string{
		{"sim", "--attempts", "5"},
		{"sim", "--attack", "port-scan"},
		{"sim", "--attack", "ssh-brute-force:sim-0009", "--devices", "3"},
		{"sim", "--devices", "0"},
	} {
		if code, _, _ := run(bad...); code == 0 {
			t.Errorf("%v: exit 0", bad)
		}
	}
}

func TestServerGoneMidRun(t *testing.T) {
	s := moattest.Start(t, moattest.Options{})
	o := fast(s)
	o.Duration = time.Second
	var once sync.Once
	closed := make(chan struct{})
	o.OnProgress = func(p sim.Progress) {
		once.Do(func() {
			go func() {
				defer close(closed)
				_ = s.Close(context.Background())
			}()
		})
	}
	res, err := sim.Run(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	<-closed
	if res.Errors[sim.ReasonUnreachable] == 0 || res.Requests == 0 {
		t.Errorf("%d sends accepted, errors %v: want some accepted, then unreachable ones", res.Requests, res.Errors)
	}
	if a := res.Attack; a.Reported+a.Refused > a.Planned || a.Reported == 0 {
		t.Errorf("attack %+v", a)
	}
}
