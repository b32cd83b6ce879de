package agent_test

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/internal/agent"
	"github.com/moatsec/moat/internal/agent/agenttest"
	"github.com/moatsec/moat/secmsg"
)

// openSSH2k is 2,000 lines of a real OpenSSH server log from the loghub
// collection, https://github.com/logpai/loghub (OpenSSH/OpenSSH_2k.log).
const openSSH2k = "/work/shared/data/ssh/OpenSSH_2k.log"

// independentCount counts failed attempts per source address straight from
// the raw lines: a "Failed <method> for … from IP" line is one, "message
// repeated N times: [ Failed … from IP" is N.
func independentCount(data []byte) map[string]int64 {
	failed := regexp.MustCompile(`sshd\[\d+\]: (?:message repeated (\d+) times: \[ )?Failed \S+ for (?:invalid user )?.* from (\S+) port \d+`)
	out := map[string]int64{}
	for _, line := range bytes.Split(data, []byte("\n")) {
		m := failed.FindSubmatch(line)
		if m == nil {
			continue
		}
		n := int64(1)
		if len(m[1]) > 0 {
			n, _ = strconv.ParseInt(string(m[1]), 10, 64)
		}
		out[string(m[2])] += n
	}
	return out
}

// TestReplayOpenSSH2k is issue 4's acceptance test: replaying the real log
// through the agent lands Login events in the hub's security stream whose
// failed-attempt counts per source address match an independent count.
func TestReplayOpenSSH2k(t *testing.T) {
	data, err := os.ReadFile(openSSH2k)
	if os.IsNotExist(err) {
		t.Skip(openSSH2k + " absent")
	}
	e := agenttest.Start(t)
	cfg := e.Config(t.TempDir())
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	vc := agent.NewVirtualClock(time.Time{}, time.Time{})
	b, err := agent.Build(cfg, agent.BuildOptions{Clock: vc, NoAuthLog: true, NoAudit: true, NoSnapshots: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	st, err := b.Replay(context.Background(), agent.ReplayOptions{AuthLog: bytes.NewReader(data),
		Reference: time.Date(2018, 1, 15, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	want := independentCount(data)
	got := map[string]int64{}
	var successes int
	evs := e.Events(t)
	for _, ev := range evs {
		if ev.Event.Name != secmsg.NameLogin {
			continue
		}
		for _, it := range ev.Event.Payload {
			l := it.(secmsg.Login)
			if l.Result == secmsg.ResultFail {
				got[l.RemoteAddress] += l.Hits()
			} else {
				successes++
			}
			if l.FirstSeen == "" || l.FirstSeen[:4] != "2017" {
				t.Errorf("login item without its original time: %+v", l)
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failed attempts per source (-independent +security stream):\n%s", diff)
	}
	var total int64
	for _, n := range want {
		total += n
	}
	if st.FailedAttempts != total || successes != 1 {
		t.Errorf("replay counted %d failed attempts (independent: %d), %d successful logins in the stream (want 1)", st.FailedAttempts, total, successes)
	}
	if st.Requests == 0 || st.Requests > 2000 {
		t.Errorf("%d requests for the replay", st.Requests)
	}
	t.Logf("replayed %d lines spanning %s: %d failed attempts from %d sources in %d events, %d requests",
		st.Lines, st.Last.Sub(st.First), total, len(want), len(evs), st.Requests)
}
