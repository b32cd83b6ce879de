package agent_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/internal/agent"
)

// TestRotationUnderAgent rotates the auth log under the running agent the
// ways logrotate does (rename with create, copytruncate), with lines
// written around each step, and checks that every attempt reaches the hub
// once. Each phase has its own source address, so a loss or a double count
// names the step that caused it. The writes stay within the tailer's
// documented guarantees (docs/agent-authlog.md, Limits): rsyslog reopens
// within a poll of the rename, and copytruncate copies after a poll.
func TestRotationUnderAgent(t *testing.T) {
	h := newHarness(t)
	h.start(agent.BuildOptions{})
	want := map[string]int64{}
	write := func(path string, pid int, ip string, n int) {
		t.Helper()
		var lines []string
		for i := range n {
			lines = append(lines, failed(h.now(), pid, "root", ip, 50000+i))
		}
		appendFile(t, path, lines...)
		want[ip] += int64(n)
	}
	old := h.authLog + ".1"

	// Before any rotation.
	write(h.authLog, 1001, "203.0.113.1", 3)
	h.step(time.Second)

	// Rename rotation: auth.log becomes auth.log.1 and a new auth.log is
	// created; rsyslog still appends to the old file until its HUP, while
	// sshd's next lines land in the new one.
	if err := os.Rename(h.authLog, old); err != nil {
		t.Fatal(err)
	}
	write(old, 1002, "203.0.113.2", 2)
	writeFile(t, h.authLog, "")
	write(h.authLog, 1003, "203.0.113.3", 4)
	write(old, 1002, "203.0.113.2", 1) // still the old file's writer
	h.step(time.Second)
	write(h.authLog, 1003, "203.0.113.3", 2)
	h.step(time.Second)
	h.steps(10, time.Second) // a flush in between

	// copytruncate: the log is copied after our last poll, truncated, and
	// written again.
	write(h.authLog, 1004, "203.0.113.4", 2)
	h.step(time.Second)
	copyTruncate(t, h.authLog, h.authLog+".2")
	write(h.authLog, 1005, "203.0.113.5", 3)
	h.step(time.Second)

	// copytruncate again, then more written than the file held before the
	// next poll: the size alone would not show the truncation, its first
	// bytes do.
	write(h.authLog, 1006, "203.0.113.6", 1)
	h.step(time.Second)
	size := fileSize(t, h.authLog)
	copyTruncate(t, h.authLog, h.authLog+".3")
	n := 0
	for fileSize(t, h.authLog) <= size+100 {
		write(h.authLog, 1007, "203.0.113.7", 1)
		n++
	}
	h.step(time.Second)

	// Delete and recreate (a log cleaner), then a last line.
	if err := os.Remove(h.authLog); err != nil {
		t.Fatal(err)
	}
	h.step(time.Second)
	write(h.authLog, 1008, "203.0.113.8", 2)
	h.steps(12, time.Second)

	evs := h.events()
	uniqueIDs(t, evs)
	got, _ := attempts(evs)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failed attempts per source (-written +security stream):\n%s\nagent log:\n%s", diff, h.logs.String())
	}
	for _, ev := range []string{"rotated", "truncated", "removed"} {
		if !strings.Contains(h.logs.String(), "auth log: "+ev) {
			t.Errorf("the agent did not log the auth log being %s", ev)
		}
	}
}

// TestRestartResumesExactly stops the agent cleanly while sshd sessions
// are still open (their lines are recent), writes to the log and rotates it
// while the agent is down, and starts it again on the same state
// directory: the attempts written before, during and after the downtime
// each reach the hub once.
func TestRestartResumesExactly(t *testing.T) {
	h := newHarness(t)
	h.start(agent.BuildOptions{})
	want := map[string]int64{}
	write := func(path string, pid int, ip string, n int) {
		t.Helper()
		var lines []string
		for i := range n {
			lines = append(lines, failed(h.now(), pid, "root", ip, 50000+i))
		}
		appendFile(t, path, lines...)
		want[ip] += int64(n)
	}

	// A first burst, long settled: its sessions ended, the log position
	// was committed at a quiet point.
	write(h.authLog, 2000, "198.51.100.10", 2)
	h.steps(4*6+1, 10*time.Second)
	// A second burst whose sessions are still open when the agent stops.
	write(h.authLog, 2001, "198.51.100.1", 3)
	h.steps(11, time.Second)
	if got, _ := attempts(h.events()); got["198.51.100.1"] != 3 {
		t.Fatalf("before the restart: %v", got)
	}
	h.stop()

	// While the agent is down: more lines, then a rename rotation with
	// lines in the new file.
	h.clock.Advance(t, 30*time.Second)
	write(h.authLog, 2002, "198.51.100.2", 2)
	if err := os.Rename(h.authLog, h.authLog+".1"); err != nil {
		t.Fatal(err)
	}
	write(h.authLog, 2003, "198.51.100.3", 2)

	h.start(agent.BuildOptions{})
	h.step(time.Second)
	write(h.authLog, 2004, "198.51.100.4", 1)
	h.steps(12, time.Second)
	// A restart within the same second as the first token request signs
	// the same proof, which discovery refuses as replayed; the token
	// client retries a second later (real time). The restarted agent's
	// full snapshots come after what it spooled before them.
	h.stepUntil(10*time.Second, "the restarted agent's first upload", func() bool {
		return len(byName(h.events(), "ListeningPorts")) == 2
	})
	h.steps(2, 10*time.Second)

	evs := h.events()
	uniqueIDs(t, evs)
	got, _ := attempts(evs)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failed attempts per source (-written +security stream):\n%s\nagent log:\n%s", diff, h.logs.String())
	}
}

func copyTruncate(t *testing.T, path, copyTo string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, copyTo, string(data))
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
