package e2e_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/moatsec/moat/internal/agent/agenttest"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/secmsg"
)

// events returns the agent events the hub stored, as agenttest.Env.Events
// does, but retrying a read the server answers with an error (a 503 the
// embedded event log may give under load) for up to 10 s instead of
// failing at once: the tests poll the stream while the agent writes to it.
func events(t *testing.T, env *agenttest.Env) []agenttest.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs, err := tryEvents(env)
		if err == nil {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("reading the security stream: %v", err)
		}
		t.Logf("reading the security stream (retrying): %v", err)
		time.Sleep(500 * time.Millisecond)
	}
}

func tryEvents(env *agenttest.Env) ([]agenttest.Event, error) {
	var out []agenttest.Event
	var from uint64 = 1
	for {
		resp, err := env.S.Client.ReadSecurity(context.Background(), env.Hub, env.Device, from, 1000, 0)
		if err != nil {
			return nil, err
		}
		for _, r := range resp.Records {
			if r.Source != hub.SourceAgent {
				continue
			}
			var ar hub.AgentRecord
			if err := json.Unmarshal(r.Data, &ar); err != nil {
				return nil, err
			}
			m, err := secmsg.Parse(ar.Message)
			if err != nil {
				return nil, err
			}
			out = append(out, agenttest.Event{Sequence: r.Sequence, AgentID: m.AgentID, Event: m.Events[0]})
		}
		if len(resp.Records) == 0 {
			return out, nil
		}
		from = resp.Next
	}
}
