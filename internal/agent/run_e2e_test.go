package agent_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/internal/agent"
	"github.com/moatsec/moat/internal/agentconf"
	"github.com/moatsec/moat/secmsg"
)

// TestRunEndToEnd runs the whole agent (auth-log tailer, parser, attempt
// counting, aggregation, spool, uploader, snapshots, remote configuration)
// on the iotdevice fixture against a real server, and reads what the hub's
// security stream received: Login events with every failed attempt
// counted once per source, each snapshot in full once, then only the
// differences.
func TestRunEndToEnd(t *testing.T) {
	h := newHarness(t)
	h.start(agent.BuildOptions{})
	if !h.running() {
		t.Fatal("Run returned at start")
	}

	t0 := h.now()
	h.appendLog(
		failed(t0, 24200, "root", "203.0.113.9", 51000),
		failed(t0, 24200, "root", "203.0.113.9", 51000),
		repeated(t0, 24200, 3, "root", "203.0.113.9", 51000),
		failedInvalid(t0, 24201, "admin", "198.51.100.7", 40022),
		accepted(t0, 24202, "ops", "192.0.2.10", 50100),
	)
	h.step(time.Second)
	t1 := h.now()
	h.appendLog(
		failed(t1, 24203, "pi", "198.51.100.7", 40023),
		failed(t1, 24203, "pi", "198.51.100.7", 40023),
		closed(t1, 24203, "pi", "198.51.100.7", 40023),
	)
	h.steps(10, time.Second) // past the first flush and send (10s)

	evs := h.events()
	uniqueIDs(t, evs)
	got, successes := attempts(evs)
	want := map[string]int64{"203.0.113.9": 5, "198.51.100.7": 3} // 192.0.2.99's lines predate the agent
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failed attempts per source (-written +security stream):\n%s", diff)
	}
	if successes != 1 {
		t.Errorf("%d successful logins, want 1", successes)
	}
	var sawInvalid bool
	for _, ev := range byName(evs, secmsg.NameLogin) {
		for _, it := range ev.Payload {
			l := it.(secmsg.Login)
			if l.Executable != "/usr/sbin/sshd" || l.Source != secmsg.SourceAuthLog || l.FirstSeen == "" {
				t.Errorf("login item: %+v", l)
			}
			if l.UserName == "admin" {
				sawInvalid = l.InvalidUser && l.AuthMethod == "password" && l.Result == secmsg.ResultFail
			}
		}
	}
	if !sawInvalid {
		t.Error("no failed password login of invalid user admin")
	}

	id, err := os.ReadFile(filepath.Join(h.cfg.State, "agent-id"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.AgentID != strings.TrimSpace(string(id)) {
			t.Fatalf("event from agent %q, want the state directory's %q", ev.AgentID, id)
		}
	}

	// Every snapshot once, in full, with what the fixture holds.
	for _, name := range agentconf.SnapshotEvents {
		snaps := byName(evs, name)
		if len(snaps) != 1 || snaps[0].SnapshotMode == secmsg.SnapshotDiff || len(snaps[0].Payload) == 0 {
			t.Errorf("%s: %d events %+v, want one full non-empty snapshot", name, len(snaps), snaps)
		}
	}
	users := byName(evs, secmsg.NameLocalUsers)
	if len(users) == 1 && !hasUser(users[0], "ops", "") {
		t.Errorf("the full LocalUsers snapshot lacks ops: %+v", users[0].Payload)
	}

	// A new user: a LocalUsers Diff at the next LocalUsers snapshot (5m),
	// and nothing else for the snapshots that did not change.
	f, err := os.OpenFile(filepath.Join(h.root, "etc", "passwd"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("mallory:x:1001:1001::/home/mallory:/bin/sh\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	h.steps(31, 10*time.Second)
	evs = h.events()
	uniqueIDs(t, evs)
	users = byName(evs, secmsg.NameLocalUsers)
	if len(users) != 2 {
		t.Fatalf("%d LocalUsers events after adding a user, want the full one and a diff", len(users))
	}
	d := users[1]
	if d.SnapshotMode != secmsg.SnapshotDiff || len(d.Payload) != 1 || !hasUser(d, "mallory", secmsg.ChangeAdded) {
		t.Errorf("LocalUsers diff: mode %q, payload %+v; want one item mallory Added", d.SnapshotMode, d.Payload)
	}
	for _, name := range agentconf.SnapshotEvents {
		if n := len(byName(evs, name)); name != secmsg.NameLocalUsers && n != 1 {
			t.Errorf("%s: %d events after 5 unchanged minutes, want still 1", name, n)
		}
	}
	if got2, _ := attempts(evs); !cmp.Equal(got, got2) {
		t.Errorf("login counts changed without new lines: %v → %v", got, got2)
	}

	h.stop()
	if after := h.events(); len(after) < len(evs) {
		t.Errorf("events lost at shutdown: %d → %d", len(evs), len(after))
	}
}

func hasUser(ev secmsg.Event, name, change string) bool {
	for _, it := range ev.Payload {
		if u, ok := it.(secmsg.LocalUser); ok && u.UserName == name && u.Change == change {
			return true
		}
	}
	return false
}
