package posture

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/internal/store"
)

func TestAgentRules(t *testing.T) {
	old := now.Add(-30 * 24 * time.Hour)
	seen := func(first, last time.Duration, messages, bytes int64) *store.AgentSeen {
		return &store.AgentSeen{FirstSeen: now.Add(-first), LastSeen: now.Add(-last), Messages: messages, Bytes: bytes}
	}
	tests := []struct {
		name    string
		dev     Device
		seen    *store.AgentSeen // nil: never sent
		cfg     Config
		missing string // detail of agent-missing, "" = absent
		silent  string // detail of agent-silent
		small   string // detail of agent-small-messages
	}{
		{name: "never sent", dev: Device{ID: "d1", CreatedAt: old}, missing: "never sent, registered 2026-02-12T12:00:00Z"},
		{name: "never sent, no creation time", dev: Device{ID: "d1"}, missing: "never sent"},
		{name: "registered a minute ago", dev: Device{ID: "d1", CreatedAt: now.Add(-time.Minute)}},
		{name: "disabled", dev: Device{ID: "d1", Status: store.DeviceDisabled, CreatedAt: old}},
		{name: "quarantined", dev: Device{ID: "d1", Status: store.DeviceQuarantined, CreatedAt: old}},
		{name: "needs maintenance still should send", dev: Device{ID: "d1", Status: store.DeviceNeedsMaintenance, CreatedAt: old},
			missing: "never sent, registered 2026-02-12T12:00:00Z"},
		{name: "sending", dev: Device{ID: "d1", CreatedAt: old}, seen: seen(48*time.Hour, time.Minute, 100, 400_000)},
		{name: "silent for 3h12m", dev: Device{ID: "d1", CreatedAt: old}, seen: seen(48*time.Hour, 3*time.Hour+12*time.Minute+30*time.Second, 100, 400_000),
			silent: "last message 3h12m ago (2026-03-14T08:47:30Z)"},
		{name: "silent for days", dev: Device{ID: "d1", CreatedAt: old}, seen: seen(20*24*time.Hour, 3*24*time.Hour+5*time.Hour, 100, 400_000),
			silent: "last message 3d5h ago (2026-03-11T07:00:00Z)"},
		{name: "exactly at the limit is not silent", dev: Device{ID: "d1", CreatedAt: old}, seen: seen(48*time.Hour, time.Hour, 100, 400_000)},
		{name: "silence limit configured", dev: Device{ID: "d1", CreatedAt: old}, seen: seen(48*time.Hour, 10*time.Minute, 100, 400_000),
			cfg: Config{SilentAfter: 5 * time.Minute}, silent: "last message 10m ago (2026-03-14T11:50:00Z)"},
		{name: "quarantined and silent", dev: Device{ID: "d1", Status: store.DeviceQuarantined}, seen: seen(48*time.Hour, 5*time.Hour, 100, 400_000)},
		{name: "many small messages", dev: Device{ID: "d1"}, seen: seen(2*24*time.Hour, time.Minute, 2000, 600_000),
			small: "2000 messages since 2026-03-12T12:00:00Z (1000 a day), 300 bytes each on average"},
		{name: "many but large", dev: Device{ID: "d1"}, seen: seen(2*24*time.Hour, time.Minute, 2000, 4_000_000)},
		{name: "small but few", dev: Device{ID: "d1"}, seen: seen(2*24*time.Hour, time.Minute, 900, 90_000)},
		{name: "first hours are averaged over a day", dev: Device{ID: "d1"}, seen: seen(time.Hour, time.Minute, 400, 40_000)},
		{name: "a busy first day", dev: Device{ID: "d1"}, seen: seen(time.Hour, time.Minute, 600, 60_000),
			small: "600 messages since 2026-03-14T11:00:00Z (600 a day), 100 bytes each on average"},
		{name: "thresholds configured", dev: Device{ID: "d1"}, seen: seen(2*24*time.Hour, time.Minute, 200, 100_000),
			cfg: Config{SmallMessageBytes: 1000, ManyMessagesPerDay: 50}, small: "200 messages since 2026-03-12T12:00:00Z (100 a day), 500 bytes each on average"},
		{name: "no messages counted", dev: Device{ID: "d1"}, seen: seen(2*24*time.Hour, time.Minute, 0, 0)},
		{name: "negative figures", dev: Device{ID: "d1"}, seen: seen(2*24*time.Hour, time.Minute, -5, -100)},
		{name: "clock skew: seen in the future", dev: Device{ID: "d1"}, seen: seen(-time.Hour, -time.Hour, 10, 10_000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Now: now, Devices: []Device{tc.dev}, Config: tc.cfg, Items: map[string][]store.DeviceItem{"d1": dropInput}}
			if tc.seen != nil {
				in.Agents = map[string]store.AgentSeen{"d1": *tc.seen}
			}
			recs := Compute(in)
			for _, c := range []struct{ id, want string }{{IDAgentMissing, tc.missing}, {IDAgentSilent, tc.silent}, {IDAgentSmallMessages, tc.small}} {
				var want []Affected
				if c.want != "" {
					want = []Affected{{"d1", c.want}}
				}
				if diff := cmp.Diff(want, affected(t, recs, c.id)); diff != "" {
					t.Errorf("%s (-want +got):\n%s", c.id, diff)
				}
			}
		})
	}
}
