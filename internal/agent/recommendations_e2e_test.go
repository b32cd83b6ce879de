package agent_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/moatsec/moat/internal/agent"
	"github.com/moatsec/moat/internal/agent/agenttest"
	"github.com/moatsec/moat/internal/center/posture"
	"github.com/moatsec/moat/internal/config"
	"github.com/moatsec/moat/internal/moattest"
)

// TestRecommendationsFollowServerSettings: the agent's snapshots of the
// iotdevice fixture reach the center, and GET /api/v1/recommendations
// reports its open ports against the server's postureAllowedPorts, here
// allowing every port of the fixture but avahi's (the defaults would
// report MQTT and mDNS too).
func TestRecommendationsFollowServerSettings(t *testing.T) {
	env := agenttest.StartWith(t, moattest.Options{Config: func(c *config.Server) {
		c.PostureAllowedPorts = "tcp/22, udp/68, tcp/8883, udp/5353"
	}})
	h := newHarnessOn(t, env)
	h.start(agent.BuildOptions{})
	h.step(10 * time.Second) // the first snapshots leave

	// The snapshots arrive in several records (ports, firewall, users,
	// baseline), so the recommendations settle once all are applied: a
	// ListeningPorts snapshot is applied whole, and a firewall not yet
	// known reads as "no firewall rules" until its snapshot is.
	want := map[string][]string{posture.IDOpenPort: {env.Device + " | udp 0.0.0.0:41234 (avahi-daemon)"}}
	var got map[string][]string // recommendation → "device | detail"
	deadline := time.Now().Add(15 * time.Second)
	for {
		raw, err := env.S.Client.Recommendations(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Recommendations []posture.Recommendation `json:"recommendations"`
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatal(err)
		}
		got = map[string][]string{}
		for _, r := range body.Recommendations {
			for _, a := range r.Devices {
				got[r.ID] = append(got[r.ID], a.Device+" | "+a.Detail)
			}
		}
		if cmp.Equal(want, got) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("recommendations (-want +got):\n%s", d)
	}
}
