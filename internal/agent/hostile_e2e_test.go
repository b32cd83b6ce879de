package agent_test

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/internal/agent"
	"github.com/moatsec/moat/internal/agent/authlog"
	"github.com/moatsec/moat/secmsg"
)

// TestHostileAuthLog writes garbage into the auth log between valid lines,
// all within one flush window so that a bad line cannot hide behind a
// flush: binary noise, a 100 KB line, NUL bytes, lines cut short, invalid
// UTF-8, absurd numbers, CRLF endings and a last line completed later. The
// agent keeps running and counts exactly the attempts of the valid lines,
// by the parser's documented rules for the doubtful ones.
func TestHostileAuthLog(t *testing.T) {
	h := newHarness(t)
	h.start(agent.BuildOptions{})
	now := h.now()
	ts := stamp(now)
	rng := rand.New(rand.NewPCG(4, 2))
	noise := make([]byte, 8<<10)
	for i := range noise {
		noise[i] = byte(rng.IntN(256))
	}

	h.appendLog(
		failed(now, 7000, "root", "203.0.113.20", 50000),
		string(noise)+"\n",
		failed(now, 7001, "root", "203.0.113.21", 50001),
		strings.Repeat("A", 100<<10)+"\n",
		// sshd's wording with a 100 KB user name: cut at 64 KiB, the
		// source is gone.
		ts+" gw01 sshd[7002]: Failed password for invalid user "+strings.Repeat("x", 100<<10)+" from 203.0.113.66 port 50002 ssh2\n",
		failed(now, 7003, "root", "203.0.113.22", 50003),
		"\x00\x00\x00\x00"+failed(now, 7004, "root", "203.0.113.23", 50004), // NULs left by a crash before a line
		ts+" gw01 sshd[7005]: Failed password for ro\x00ot from 203.0.113.67 port 50005 ssh2\n",
		ts+" gw01 sshd[7006]: Failed password for root from 203.0.113.68 po\n",
		ts+" gw01 sshd[7007]: Failed password for root from 203.0.\n",
		ts+" gw01 sshd[7008]: Failed passw\n",
		ts[:7]+"\n",
		failed(now, 7009, "root", "203.0.113.24", 50009),
		ts+" gw01 sshd[7015]: Failed password for root from 203..113 port 50015 ssh2\n",
		ts+" gw01 sshd[7016]: Failed password for root from -evil- port 50016 ssh2\n",
		ts+" gw01 sshd[7017]: Failed password for root from 203.0.113. port 50017 ssh2\n",
		// The user name is the attacker's: sshd writes it as given.
		ts+" gw01 sshd[7018]: Failed password for invalid user x from 203..113 port 1 ssh2 from 203.0.113.30 port 50018 ssh2\n",
		ts+" gw01 sshd[7010]: Failed password for invalid user \xff\xfe\xc0 from 203.0.113.25 port 50010 ssh2\n",
		ts+" gw01 sshd[99999999999999999999999]: Failed password for root from 203.0.113.26 port 99999999 ssh2\n",
		ts+" gw01 sshd[7011]: message repeated 18446744073709551617 times: [ Failed password for root from 203.0.113.69 port 50011 ssh2]\n",
		ts+" gw01 sshd[7012]: message repeated 2 times: [ Failed password for root from 203.0.113.27 port 50012 ssh2]\n",
		strings.TrimSuffix(failed(now, 7013, "root", "203.0.113.28", 50013), "\n")+"\r\n",
		"\n\n\r\n",
		strings.TrimSuffix(failed(now, 7014, "root", "203.0.113.29", 50014), "\n"), // no newline yet
	)
	h.step(time.Second)
	h.appendLog("\n")
	h.steps(12, time.Second)
	if !h.running() {
		t.Fatalf("the agent stopped on hostile log content:\n%s", h.logs.String())
	}

	got, _ := attempts(h.events())
	// Lines cut short, over 64 KiB (refused unparsed), or with a PID
	// above 2^31-1 (not a header: docs/agent-authlog.md) count nothing.
	want := map[string]int64{
		"203.0.113.20": 1, "203.0.113.21": 1, "203.0.113.22": 1, "203.0.113.23": 1, "203.0.113.24": 1,
		"203.0.113.25": 1, // a user name of invalid UTF-8 is still an attempt
		"203.0.113.27": 2, "203.0.113.28": 1, "203.0.113.29": 1,
		"203.0.113.67": 1,                // a NUL inside the user name does not hide the attempt
		"203.0.113.69": authlog.MaxCount, // an absurd repeat count is clamped
		"203.0.113.30": 1,                // the source is sshd's last "from", not one inside the user name
		"":             3,                // attempts from addresses that are no address nor host name
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failed attempts per source (-valid lines +security stream):\n%s\nagent log:\n%s", diff, h.logs.String())
	}
	var cut int
	for _, ev := range byName(h.events(), secmsg.NameDiagnostic) {
		for _, it := range ev.Payload {
			if d := it.(secmsg.Diagnostic); strings.Contains(d.Message, "line_cut") {
				cut += int(d.Hits())
			}
		}
	}
	if cut != 2 {
		t.Errorf("%d cut lines reported in Diagnostic events, want 2", cut)
	}
}
