package agent_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moatsec/moat/internal/agent"
	"github.com/moatsec/moat/internal/agent/agenttest"
	"github.com/moatsec/moat/internal/agent/snapshot/firewall"
	"github.com/moatsec/moat/internal/agent/snapshot/snapshottest"
	"github.com/moatsec/moat/secmsg"
)

// start0 is when the simulated runs begin (local time, as syslog writes).
var start0 = time.Date(2025, 12, 10, 6, 50, 0, 0, time.Local)

// authLogRel is where the fixture device's sshd logs, under its root.
const authLogRel = "/var/log/auth.log"

// harness is a real server with device dev-1, a fixture device tree with an
// auth log, and an agent built on it that runs on a stepClock in its own
// goroutine.
type harness struct {
	t       *testing.T
	env     *agenttest.Env
	root    string
	authLog string
	fw      firewall.Options
	cfg     agent.Config
	clock   *stepClock
	logs    *syncBuffer

	b      *agent.Built
	cancel context.CancelFunc
	done   chan error
}

// newHarness materializes the iotdevice fixture with an auth log holding
// what sshd wrote before the agent was installed (it must not be counted:
// the agent starts at the end of the log).
func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessOn(t, agenttest.Start(t))
}

// newHarnessOn is newHarness on a server the test started.
func newHarnessOn(t *testing.T, env *agenttest.Env) *harness {
	t.Helper()
	h := &harness{t: t, env: env, root: materialize(t), clock: newStepClock(start0), logs: &syncBuffer{}}
	h.authLog = filepath.Join(h.root, authLogRel)
	fx, err := snapshottest.Open(snapshottest.IoTDevice)
	if err != nil {
		t.Fatal(err)
	}
	h.fw = firewall.Options{File: fx.FirewallFile}
	before := start0.Add(-time.Hour)
	writeFile(t, h.authLog, failed(before, 100, "root", "192.0.2.99", 40000)+
		failed(before.Add(time.Second), 100, "root", "192.0.2.99", 40000))
	h.cfg = env.Config(t.TempDir())
	h.cfg.Root, h.cfg.AuthLog = h.root, authLogRel
	return h
}

// materialize writes the iotdevice fixture into a fresh directory.
func materialize(t testing.TB) string { t.Helper(); return agenttest.Fixture(t) }

// start builds the agent from h.cfg and runs it until stop; it returns once
// the agent did its work of the first instant (fetch the configuration,
// take the snapshots, send).
func (h *harness) start(bo agent.BuildOptions) {
	h.t.Helper()
	if err := h.cfg.Validate(); err != nil {
		h.t.Fatal(err)
	}
	bo.Clock = h.clock
	bo.NoAudit = true
	if bo.Logger == nil {
		bo.Logger = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if bo.Firewall == nil {
		bo.Firewall = &h.fw
	}
	b, err := agent.Build(h.cfg, bo)
	if err != nil {
		h.t.Fatal(err)
	}
	h.b = b
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	h.clock.mu.Lock()
	h.clock.exited = false
	h.clock.mu.Unlock()
	go func() {
		err := b.Run(ctx)
		h.clock.exit()
		h.done <- err
	}()
	h.t.Cleanup(h.stop)
	h.clock.settle(h.t)
}

// stop ends Run (which spools what it holds and tries one last upload) and
// closes the agent. It may be called more than once.
func (h *harness) stop() {
	if h.b == nil {
		return
	}
	h.cancel()
	if err := <-h.done; err != nil {
		h.t.Errorf("Run: %v", err)
	}
	if err := h.b.Close(); err != nil {
		h.t.Errorf("Close: %v", err)
	}
	h.b = nil
}

// running reports whether Run is still going.
func (h *harness) running() bool {
	select {
	case err := <-h.done:
		h.done <- err
		return false
	default:
		return true
	}
}

// step advances the agent's time by d.
func (h *harness) step(d time.Duration) {
	h.t.Helper()
	h.clock.Advance(h.t, d)
}

// steps advances the agent's time n times by d.
func (h *harness) steps(n int, d time.Duration) {
	h.t.Helper()
	for range n {
		h.clock.Advance(h.t, d)
	}
}

// stepUntil advances the agent's time by d until cond holds, for outcomes
// that also wait on real time (the token client backs off on the real
// clock); it fails after a generous real-time deadline.
func (h *harness) stepUntil(d time.Duration, what string, cond func() bool) {
	h.t.Helper()
	limit := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(limit) {
			h.t.Fatalf("%s: not after 30s (agent time %s); agent log:\n%s", what, h.clock.Now().Format(time.TimeOnly), h.logs.String())
		}
		h.clock.Advance(h.t, d)
		time.Sleep(20 * time.Millisecond) // let real time pass for the token client's backoff
	}
}

// now is the agent's time.
func (h *harness) now() time.Time { return h.clock.Now() }

// appendLog appends lines to the auth log (creating it if needed).
func (h *harness) appendLog(lines ...string) { appendFile(h.t, h.authLog, lines...) }

// events returns the agent events the hub stored.
func (h *harness) events() []agenttest.Event {
	h.t.Helper()
	return h.env.Events(h.t)
}

func writeFile(t testing.TB, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t testing.TB, path string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(strings.Join(lines, "")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// The lines below are in OpenSSH's own wording, as rsyslog writes them.

const logHost = "gw01"

func stamp(at time.Time) string { return at.In(time.Local).Format(time.Stamp) }

// failed is one failed password attempt.
func failed(at time.Time, pid int, user, ip string, port int) string {
	return fmt.Sprintf("%s %s sshd[%d]: Failed password for %s from %s port %d ssh2\n", stamp(at), logHost, pid, user, ip, port)
}

// failedInvalid is a failed attempt for a user the device does not have.
func failedInvalid(at time.Time, pid int, user, ip string, port int) string {
	return fmt.Sprintf("%s %s sshd[%d]: Invalid user %s from %s port %d\n", stamp(at), logHost, pid, user, ip, port) +
		fmt.Sprintf("%s %s sshd[%d]: Failed password for invalid user %s from %s port %d ssh2\n", stamp(at), logHost, pid, user, ip, port)
}

// repeated is rsyslog's "message repeated N times" for N more failures.
func repeated(at time.Time, pid, n int, user, ip string, port int) string {
	return fmt.Sprintf("%s %s sshd[%d]: message repeated %d times: [ Failed password for %s from %s port %d ssh2]\n", stamp(at), logHost, pid, n, user, ip, port)
}

// accepted is a successful public key login.
func accepted(at time.Time, pid int, user, ip string, port int) string {
	return fmt.Sprintf("%s %s sshd[%d]: Accepted publickey for %s from %s port %d ssh2: ED25519 SHA256:Yh4y0i1dA5YQ2GZ3v0lK2o0bq0xj1uJzq1oJzWbR0cE\n", stamp(at), logHost, pid, user, ip, port)
}

// closed ends a session before authentication.
func closed(at time.Time, pid int, user, ip string, port int) string {
	return fmt.Sprintf("%s %s sshd[%d]: Connection closed by authenticating user %s %s port %d [preauth]\n", stamp(at), logHost, pid, user, ip, port)
}

// attempts counts, per source address, the failed attempts of the Login
// events in evs (HitCount included), and the successful logins.
func attempts(evs []agenttest.Event) (failedBySource map[string]int64, successes int64) {
	failedBySource = map[string]int64{}
	for _, ev := range evs {
		if ev.Event.Name != secmsg.NameLogin {
			continue
		}
		for _, it := range ev.Event.Payload {
			l := it.(secmsg.Login)
			if l.Result == secmsg.ResultFail {
				failedBySource[l.RemoteAddress] += l.Hits()
			} else {
				successes += l.Hits()
			}
		}
	}
	return failedBySource, successes
}

// total sums counts.
func total(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// uniqueIDs fails the test if an event Id appears twice in the stream (the
// hub drops a resent event).
func uniqueIDs(t testing.TB, evs []agenttest.Event) {
	t.Helper()
	seen := map[string]bool{}
	for _, ev := range evs {
		if seen[ev.Event.ID] {
			t.Errorf("event %s (%s) stored twice", ev.Event.ID, ev.Event.Name)
		}
		seen[ev.Event.ID] = true
	}
}

// byName returns the events named name.
func byName(evs []agenttest.Event, name string) []secmsg.Event {
	var out []secmsg.Event
	for _, ev := range evs {
		if ev.Event.Name == name {
			out = append(out, ev.Event)
		}
	}
	return out
}

// spoolBytes is the size of the agent's spool files on disk.
func spoolBytes(t testing.TB, state string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(filepath.Join(state, "spool"), func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			n += fi.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// syncBuffer is a log sink safe for the agent's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
