package agent_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/internal/agent"
)

// TestUnreachableHub takes the hub away under a running agent (connections
// refused, open ones cut), lets events pile up in the spool for simulated
// minutes, restarts the server on its data directory and brings it back at
// the same address: everything written while it was away arrives, once.
func TestUnreachableHub(t *testing.T) {
	env, proxy := startBehindProxy(t)
	h := newHarnessOn(t, env)
	h.cfg.Server, h.cfg.Namespace = proxy.URL(), "localhost"
	h.start(agent.BuildOptions{})
	want := map[string]int64{}
	write := func(pid int, ip string, n int) {
		t.Helper()
		for range n {
			h.appendLog(failed(h.now(), pid, "root", ip, 50000+pid))
		}
		want[ip] += int64(n)
	}

	write(3000, "203.0.113.10", 2)
	h.steps(11, time.Second)
	if got, _ := attempts(h.events()); got["203.0.113.10"] != 2 {
		t.Fatalf("before the outage: %v\n%s", got, h.logs.String())
	}
	spooled := spoolBytes(t, h.cfg.State)

	proxy.down()
	write(3001, "203.0.113.11", 3)
	h.steps(11, time.Second)
	write(3002, "203.0.113.12", 4)
	h.steps(30, 10*time.Second) // five minutes without a hub: retries back off
	write(3001, "203.0.113.11", 1)
	h.steps(2, 10*time.Second)
	if !h.running() {
		t.Fatal("the agent stopped while the hub was unreachable")
	}
	if got, _ := attempts(h.events()); got["203.0.113.11"] != 0 || got["203.0.113.12"] != 0 {
		t.Fatalf("events reached a hub that was down: %v", got)
	}
	if n := spoolBytes(t, h.cfg.State); n <= spooled {
		t.Errorf("spool holds %d bytes during the outage, %d before: the events are not spooled", n, spooled)
	}
	if !strings.Contains(h.logs.String(), "upload failed; events stay in the spool") {
		t.Errorf("the agent did not log the failed uploads:\n%s", h.logs.String())
	}

	// The server restarts on its data directory (another port behind the
	// same public address) and the proxy comes back.
	env.S = env.S.Restart(t)
	proxy.up(t, env.S.Addr().String())
	h.stepUntil(10*time.Second, "the spooled events after the outage", func() bool {
		got, _ := attempts(h.events())
		return got["203.0.113.11"] >= want["203.0.113.11"] && got["203.0.113.12"] >= want["203.0.113.12"]
	})
	write(3003, "203.0.113.13", 1)
	h.steps(3, 10*time.Second)

	evs := h.events()
	uniqueIDs(t, evs)
	got, _ := attempts(evs)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failed attempts per source (-written +security stream):\n%s", diff)
	}
	if !strings.Contains(h.logs.String(), "upload recovered") {
		t.Error("the agent did not log its recovery")
	}
}

// TestRefusedToken quarantines the device under a running agent: the hub
// and discovery refuse it, the agent keeps running, says why, and keeps its
// events spooled; once the device is released they arrive, once.
func TestRefusedToken(t *testing.T) {
	h := newHarness(t)
	h.start(agent.BuildOptions{})
	ctx := context.Background()
	want := map[string]int64{}
	write := func(pid int, ip string, n int) {
		t.Helper()
		for range n {
			h.appendLog(failed(h.now(), pid, "root", ip, 50000+pid))
		}
		want[ip] += int64(n)
	}

	write(4000, "198.51.100.40", 1)
	h.steps(11, time.Second)
	if got, _ := attempts(h.events()); got["198.51.100.40"] != 1 {
		t.Fatalf("before the quarantine: %v\n%s", got, h.logs.String())
	}

	spooled := spoolBytes(t, h.cfg.State)
	if _, err := h.env.S.Client.QuarantineDevice(ctx, h.env.Device, "e2e: suspected compromise"); err != nil {
		t.Fatal(err)
	}
	write(4001, "198.51.100.41", 3)
	h.stepUntil(10*time.Second, "the refusal in the agent's log", func() bool {
		return strings.Contains(h.logs.String(), "quarantined")
	})
	h.steps(30, 10*time.Second)
	if !h.running() {
		t.Fatal("the agent stopped when its token was refused")
	}
	if got, _ := attempts(h.events()); got["198.51.100.41"] != 0 {
		t.Fatalf("a quarantined device's events were stored: %v", got)
	}
	if n := spoolBytes(t, h.cfg.State); n <= spooled {
		t.Errorf("spool holds %d bytes during the quarantine, %d before: the events are not spooled", n, spooled)
	}
	if !strings.Contains(h.logs.String(), "403 quarantined") {
		t.Errorf("the refusal's reason is not in the log:\n%s", h.logs.String())
	}

	if _, err := h.env.S.Client.ReleaseDevice(ctx, h.env.Device); err != nil {
		t.Fatal(err)
	}
	h.stepUntil(10*time.Second, "the spooled events after the release", func() bool {
		got, _ := attempts(h.events())
		return got["198.51.100.41"] >= want["198.51.100.41"]
	})
	write(4002, "198.51.100.42", 2)
	h.steps(3, 10*time.Second)

	evs := h.events()
	uniqueIDs(t, evs)
	got, _ := attempts(evs)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failed attempts per source (-written +security stream):\n%s", diff)
	}
}

// TestQuietFirstRunThenDown: an agent that never read a line and was
// stopped must not skip, at its next start, the lines written while it
// was down (StartAtEnd applies to the very first start only).
func TestQuietFirstRunThenDown(t *testing.T) {
	h := newHarness(t)
	appendFile(t, h.authLog, failed(h.now(), 3000, "root", "198.51.100.70", 40000)) // history, before the first start: not counted
	h.start(agent.BuildOptions{})
	h.steps(3, time.Second)
	h.stop()
	h.clock.Advance(t, time.Minute)
	appendFile(t, h.authLog, failed(h.now(), 3001, "root", "198.51.100.71", 40001), failed(h.now(), 3001, "root", "198.51.100.71", 40002))
	h.start(agent.BuildOptions{})
	h.stepUntil(10*time.Second, "the attempts written while the agent was down", func() bool {
		got, _ := attempts(h.events())
		return got["198.51.100.71"] == 2
	})
	if got, _ := attempts(h.events()); got["198.51.100.70"] != 0 {
		t.Errorf("history before the first start was sent: %v", got)
	}
}
