package sim

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/internal/agent/upload"
	"github.com/moatsec/moat/secmsg"
	"github.com/moatsec/moat/tokenclient"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestParseAttack(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Attack
		wantErr bool
	}{
		{"", Attack{}, false},
		{"ssh-brute-force", Attack{Kind: AttackSSHBruteForce}, false},
		{"ssh-brute-force:sim-0003", Attack{Kind: AttackSSHBruteForce, Device: "sim-0003"}, false},
		{"ssh-brute-force:3", Attack{Kind: AttackSSHBruteForce, Device: "3"}, false},
		{"ssh-brute-force:", Attack{}, true},
		{"port-scan", Attack{}, true},
		{"SSH-BRUTE-FORCE", Attack{}, true},
		{":sim-0001", Attack{}, true},
	} {
		got, err := ParseAttack(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseAttack(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestTargetID(t *testing.T) {
	for _, tc := range []struct {
		spec  string
		total int
		want  string // "" = an error
	}{
		{"", 5, "sim-0001"},
		{"3", 5, "sim-0003"},
		{"5", 5, "sim-0005"},
		{"6", 5, ""},
		{"0", 5, ""},
		{"-1", 5, ""},
		{"sim-0004", 5, "sim-0004"},
		{"SIM-0004", 5, "sim-0004"},
		{"sim-4", 5, ""},    // not the ID of device 4
		{"sim-0006", 5, ""}, // not in the run
		{"other-0001", 5, ""},
		{"12345", 20000, "sim-12345"},
		{"sim-00001", 20000, "sim-00001"},
	} {
		got, err := targetID("sim", tc.total, tc.spec)
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("targetID(%q, %d) = %q, %v; want %q", tc.spec, tc.total, got, err, tc.want)
		}
	}
}

func TestOptionsChecked(t *testing.T) {
	ok := Options{Server: "http://127.0.0.1:1", Devices: 5}
	for _, tc := range []struct {
		name string
		edit func(*Options)
	}{
		{"no devices", func(o *Options) { o.Devices = 0 }},
		{"too many devices", func(o *Options) { o.Devices = MaxDevices + 1 }},
		{"bad hub", func(o *Options) { o.Hub = "api" }},
		{"bad prefix", func(o *Options) { o.Prefix = "a/b" }},
		{"negative rate", func(o *Options) { o.TelemetryRate = -1 }},
		{"NaN rate", func(o *Options) { o.TelemetryRate = nanRate() }},
		{"negative duration", func(o *Options) { o.Duration = -time.Second }},
		{"unknown attack", func(o *Options) { o.Attack = Attack{Kind: "port-scan"} }},
		{"too many attempts", func(o *Options) { o.Attack = Attack{Kind: AttackSSHBruteForce, Attempts: MaxAttempts + 1} }},
		{"bad attacker", func(o *Options) { o.Attack = Attack{Kind: AttackSSHBruteForce, From: "evil.example"} }},
		{"target outside the run", func(o *Options) { o.Attack = Attack{Kind: AttackSSHBruteForce, Device: "sim-0009"} }},
	} {
		o := ok
		tc.edit(&o)
		if _, err := o.withDefaults(); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	o, err := Options{Server: "http://x:1", Devices: 3, Prefix: "Lab", Attack: Attack{Kind: AttackSSHBruteForce}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.Hub != DefaultHub || o.Prefix != "lab" || o.Concurrency != 3 || o.Attack.Device != "lab-0001" ||
		o.Attack.Attempts != DefaultAttempts || o.Attack.From != DefaultAttacker || o.Ramp != 6*time.Millisecond {
		t.Errorf("defaults: %+v", o)
	}
}

func nanRate() float64 { z := 0.0; return z / z }

func TestDeviceID(t *testing.T) {
	for _, tc := range []struct {
		n, total int
		want     string
	}{{1, 5, "sim-0001"}, {9999, 9999, "sim-9999"}, {1, 10000, "sim-00001"}, {100000, 100000, "sim-100000"}} {
		if got := deviceID("sim", tc.n, tc.total); got != tc.want {
			t.Errorf("deviceID(%d, %d) = %q, want %q", tc.n, tc.total, got, tc.want)
		}
	}
}

// flushAll plays a brute force to its end and returns every flush.
func flushAll(t *testing.T, a Attack, window, flush time.Duration) []flushed {
	t.Helper()
	b := newBruteForce(a, t0, window, flush)
	var out []flushed
	for now := t0; !b.done(); now = now.Add(flush / 3) {
		for b.due(now) {
			out = append(out, b.take())
		}
		if now.After(t0.Add(window + 3*flush)) {
			t.Fatal("the attack never ends")
		}
	}
	return out
}

func TestBruteForce(t *testing.T) {
	for _, tc := range []struct {
		attempts      int
		success       bool
		window, flush time.Duration
		flushes       int // flushes that report something
	}{
		{30, true, time.Minute, 10 * time.Second, 7},
		{30, false, time.Minute, 10 * time.Second, 6},
		{5, false, time.Minute, 10 * time.Second, 5}, // one every 12 s: one per flush, one flush empty
		{1, true, time.Minute, 10 * time.Second, 2},
		{1000, false, time.Second, 10 * time.Second, 1},
		{7, true, time.Nanosecond, time.Millisecond, 2}, // window shorter than the attempts: all at once
	} {
		name := fmt.Sprintf("%d in %s by %s, success %v", tc.attempts, tc.window, tc.flush, tc.success)
		a := Attack{Kind: AttackSSHBruteForce, Attempts: tc.attempts, Success: tc.success, From: "198.51.100.66"}
		var failures, successes int64
		var reported int
		lastFailure := -1
		for i, f := range flushAll(t, a, tc.window, tc.flush) {
			if len(f.items) == 0 {
				continue
			}
			reported++
			// Each flush is a valid Login event of the agent's shape.
			ev := secmsg.NewEvent(secmsg.NameLogin, t0.Add(tc.window+2*tc.flush), f.items...)
			if err := secmsg.NewMessage("1.0", "0f6c1c7e-6a43-4a53-9d0e-2f6a2b9c1d11", ev).Validate(); err != nil {
				t.Fatalf("%s: flush %d: %v", name, i, err)
			}
			var inFlush int64
			seen := map[string]bool{}
			for _, it := range f.items {
				l := it.(secmsg.Login)
				if l.RemoteAddress != a.From || l.ProcessID != 0 || l.RemotePort != 0 || l.FirstSeen > l.LastSeen {
					t.Errorf("%s: item %+v", name, l)
				}
				if l.Result == secmsg.ResultSuccess {
					successes++
					if lastFailure == i {
						t.Errorf("%s: the success is in the flush of the last failures", name)
					}
					continue
				}
				if seen[l.UserName] {
					t.Errorf("%s: user %s twice in one flush: not aggregated", name, l.UserName)
				}
				seen[l.UserName] = true
				if l.InvalidUser != (l.UserName != "root" && l.UserName != "pi") {
					t.Errorf("%s: %s InvalidUser %v", name, l.UserName, l.InvalidUser)
				}
				inFlush += l.Hits()
			}
			if inFlush != int64(f.failures) {
				t.Errorf("%s: flush %d counts %d failures, its items %d", name, i, f.failures, inFlush)
			}
			if inFlush > 0 {
				lastFailure = i
			}
			failures += inFlush
		}
		want := int64(0)
		if tc.success {
			want = 1
		}
		if failures != int64(tc.attempts) || successes != want || reported != tc.flushes {
			t.Errorf("%s: %d failures, %d successes in %d flushes; want %d, %d in %d", name, failures, successes, reported,
				tc.attempts, want, tc.flushes)
		}
	}
}

func TestSnapshots(t *testing.T) {
	evs := snapshots("sim-0001", t0, t0.Add(-time.Hour))
	var names []string
	for _, ev := range evs {
		names = append(names, ev.Name)
		if ev.SnapshotMode != secmsg.SnapshotFull || ev.IsEmpty {
			t.Errorf("%s: mode %q, empty %v", ev.Name, ev.SnapshotMode, ev.IsEmpty)
		}
	}
	if err := secmsg.NewMessage("1.0", agentID("sim-0001"), evs...).Validate(); err != nil {
		t.Fatal(err)
	}
	want := []string{secmsg.NameListeningPorts, secmsg.NameFirewallConfiguration, secmsg.NameLocalUsers,
		secmsg.NameOSBaseline, secmsg.NameSystemInformation}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	var ports []int
	for _, it := range evs[0].Payload {
		ports = append(ports, it.(secmsg.ListeningPort).LocalPort)
	}
	if diff := cmp.Diff([]int{22, 1883, 5353}, ports); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}
	var policy *secmsg.FirewallRule
	for _, it := range evs[1].Payload {
		if r := it.(secmsg.FirewallRule); r.IsDefaultPolicy && r.Hook == secmsg.HookInput {
			policy = &r
		}
	}
	if policy == nil || policy.Action != secmsg.ActionDeny {
		t.Errorf("input policy %+v: want Deny", policy)
	}
	fails := 0
	for _, it := range evs[3].Payload {
		if it.(secmsg.BaselineCheck).Result == secmsg.CheckFail {
			fails++
		}
	}
	if fails != 1 || len(evs[3].Payload) < 3 {
		t.Errorf("baseline: %d checks, %d failing; want a few, one failing", len(evs[3].Payload), fails)
	}
}

func TestAgentID(t *testing.T) {
	a, b := agentID("sim-0001"), agentID("sim-0002")
	if a == b || a != agentID("sim-0001") {
		t.Errorf("agent IDs %s, %s: want stable and distinct", a, b)
	}
	ev := secmsg.NewEvent(secmsg.NameMessageStatistics, t0, secmsg.MessageStatistics{MessagesSent: 1})
	if err := secmsg.NewMessage("1.0", a, ev).Validate(); err != nil {
		t.Errorf("agent ID %s: %v", a, err)
	}
}

// decode undoes a security request: the messages it carries.
func decode(t *testing.T, req request) [][]byte {
	t.Helper()
	if req.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("header %v: not gzip", req.header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(req.body))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if req.header.Get("Content-Type") != upload.BatchContentType {
		if req.header.Get(upload.InterfaceIDHeader) != upload.SecurityAgentID {
			t.Fatalf("header %v: not marked as a security message", req.header)
		}
		return [][]byte{raw}
	}
	var batch []struct {
		Body           string
		UserProperties map[string]string
	}
	if err := json.Unmarshal(raw, &batch); err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, b := range batch {
		if b.UserProperties[upload.InterfaceIDHeader] != upload.SecurityAgentID {
			t.Fatalf("batch item %v: not marked", b.UserProperties)
		}
		out = append(out, []byte(b.Body))
	}
	return out
}

func TestEncoderPacks(t *testing.T) {
	enc, err := newEncoder("1.0", agentID("sim-0001"), newGzipPool())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		events  []secmsg.Event
		batched bool
	}{
		{"one event", []secmsg.Event{secmsg.NewEvent(secmsg.NameMessageStatistics, t0, secmsg.MessageStatistics{EventsSent: 3})}, false},
		{"snapshots", snapshots("sim-0001", t0, t0), false}, // about 3 KB: one message
		{"many logins", func() []secmsg.Event {
			var evs []secmsg.Event
			for i := range 40 {
				evs = append(evs, secmsg.NewEvent(secmsg.NameLogin, t0, failedLogin(fmt.Sprint("user", i), "198.51.100.66")))
			}
			return evs
		}(), true},
	} {
		req, err := enc.security(tc.events)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		msgs := decode(t, req)
		if (len(msgs) > 1) != tc.batched || req.messages != len(msgs) || req.events != len(tc.events) {
			t.Errorf("%s: %d messages (counted %d), %d events: batched %v?", tc.name, len(msgs), req.messages, req.events, tc.batched)
		}
		n := 0
		for _, m := range msgs {
			if len(m) > maxMessage {
				t.Errorf("%s: a message of %d bytes", tc.name, len(m))
			}
			pm, err := secmsg.Parse(m)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			for _, ev := range pm.Events {
				if ev.ID != tc.events[n].ID {
					t.Errorf("%s: event %d is %s, want %s (order kept)", tc.name, n, ev.ID, tc.events[n].ID)
				}
				n++
			}
		}
		if n != len(tc.events) {
			t.Errorf("%s: %d events decoded, want %d", tc.name, n, len(tc.events))
		}
	}
	if _, err := enc.security(nil); err == nil {
		t.Error("no events: encoded")
	}
	bad := secmsg.NewEvent(secmsg.NameLogin, t0, secmsg.Login{}) // no Operation or Result
	if _, err := enc.security([]secmsg.Event{bad}); err == nil {
		t.Error("an invalid event: encoded")
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		reason string
	}{
		{fmt.Errorf("x: %w", &tokenclient.Refusal{Status: 403, Reason: tokenclient.ReasonQuarantined, Message: "m"}), 403, "quarantined"},
		{&tokenclient.HubError{Status: 401, Reason: "publisher_revoked"}, 401, "publisher_revoked"},
		{&tokenclient.HubError{Status: 502}, 502, "http_502"},
		{&tokenclient.Refusal{Status: 429, Reason: tokenclient.ReasonRateLimited}, 429, "rate_limited"},
		{fmt.Errorf("send: %w", errors.New("dial tcp: connection refused")), 0, ReasonUnreachable},
		{fmt.Errorf("send: %w", errCanceled()), 0, ReasonCanceled},
		{fmt.Errorf("send: %w", context.DeadlineExceeded), 0, ReasonTimeout},
	} {
		status, reason, _ := classify(tc.err)
		if status != tc.status || reason != tc.reason {
			t.Errorf("classify(%v) = %d %s, want %d %s", tc.err, status, reason, tc.status, tc.reason)
		}
	}
	if s, r, m := classify(nil); s != 0 || r != "" || m != "" {
		t.Errorf("classify(nil) = %d %q %q", s, r, m)
	}
	_, _, m := classify(errors.New(strings.Repeat("x", 10_000)))
	if len(m) > 300 {
		t.Errorf("a %d-byte message kept", len(m))
	}
}

func errCanceled() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx.Err()
}

func TestResultPrint(t *testing.T) {
	last := t0.Add(62 * time.Second)
	r := Result{Hub: "sim", Devices: 5, New: 3, Reused: 2, Duration: 73*time.Second + 4*time.Millisecond,
		Requests: 52, Messages: 14, SecurityEvents: 33, Telemetry: 38, Bytes: 23_456, Failed: 3,
		Errors: map[string]int64{"quarantined": 2, "publisher_revoked": 1},
		Attack: &AttackReport{Kind: AttackSSHBruteForce, Device: "sim-0001", From: "198.51.100.66", Planned: 30, Reported: 10,
			Refused: 20, Success: "refused 403 quarantined", LastAccepted: last,
			Next: &SendResult{Kind: KindTelemetry, At: last.Add(400 * time.Millisecond), Accepted: true},
			FirstRefusal: &SendResult{Kind: KindLoginFailures, At: last.Add(9800 * time.Millisecond), Status: 401, Reason: "publisher_revoked",
				Message: "publisher sim-0001 is revoked"}}}
	var b strings.Builder
	r.Print(&b)
	want := `sim: 5 devices on hub sim (3 new, 2 reused), 1m13.004s
  sends: 52 accepted, 3 refused or failed; 14 security messages (33 events), 38 telemetry events, 22.9 KB
  errors: publisher_revoked=1 quarantined=2
  attack ssh-brute-force on sim-0001 from 198.51.100.66: 10 of 30 failed logins accepted, 20 not delivered; successful login refused 403 quarantined
    last attack event accepted at 12:01:02.000Z
    next send (telemetry) at 12:01:02.400Z, 400ms later: accepted
    first refusal (login-failures) at 12:01:11.800Z, 9.8s later: refused 401 publisher_revoked: publisher sim-0001 is revoked
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("Print (-want +got):\n%s", diff)
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatal(err)
	}
}

func TestSendResultString(t *testing.T) {
	for _, tc := range []struct {
		r    SendResult
		want string
	}{
		{SendResult{Accepted: true}, "accepted"},
		{SendResult{Status: 403, Reason: "quarantined"}, "refused 403 quarantined"},
		{SendResult{Reason: ReasonUnreachable, Message: "dial tcp"}, "failed unreachable: dial tcp"},
	} {
		if got := tc.r.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.r, got, tc.want)
		}
	}
}

func TestTelemetryBody(t *testing.T) {
	req := telemetry("sim-0001", 7, t0, 21.5, 40.1)
	var got map[string]any
	if err := json.Unmarshal(req.body, &got); err != nil {
		t.Fatal(err)
	}
	if got["deviceId"] != "sim-0001" || got["seq"] != 7.0 || req.header.Get(upload.InterfaceIDHeader) != "" ||
		req.header.Get("Content-Type") != "application/json" || req.messages != 0 || req.events != 1 {
		t.Errorf("telemetry %s %v", req.body, req.header)
	}
}

func FuzzParseAttack(f *testing.F) {
	for _, s := range []string{"", "ssh-brute-force", "ssh-brute-force:sim-0001", "ssh-brute-force:", ":", "x:y:z", "ssh-brute-force:\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAttack(s)
		if err != nil {
			return
		}
		if s == "" {
			if a != (Attack{}) {
				t.Fatalf("%q: %+v", s, a)
			}
			return
		}
		if a.Kind != AttackSSHBruteForce {
			t.Fatalf("%q: kind %q", s, a.Kind)
		}
		// The target is then resolved against the run, never panicking.
		_, _ = targetID("sim", 5, a.Device)
	})
}

func TestResultPrintAfterAttack(t *testing.T) {
	last := t0
	refused := &SendResult{Kind: KindLoginSuccess, At: last.Add(time.Second), Status: 403, Reason: "quarantined"}
	for _, tc := range []struct {
		name       string
		next, refs *SendResult
		want       string
	}{
		{"refused at once", refused, refused, "    next send (login-success) at 12:00:01.000Z, 1s later: refused 403 quarantined\n"},
		{"never refused", &SendResult{Kind: KindTelemetry, At: last.Add(time.Second), Accepted: true}, nil,
			"    next send (telemetry) at 12:00:01.000Z, 1s later: accepted\n    no send refused after it\n"},
		{"no send after", nil, nil, "    no send after it before the run ended\n"},
	} {
		r := Result{Attack: &AttackReport{Kind: AttackSSHBruteForce, Device: "d", From: "a", Planned: 1, Reported: 1,
			LastAccepted: last, Next: tc.next, FirstRefusal: tc.refs}}
		var b strings.Builder
		r.Print(&b)
		_, got, _ := strings.Cut(b.String(), "last attack event accepted at 12:00:00.000Z\n")
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}
