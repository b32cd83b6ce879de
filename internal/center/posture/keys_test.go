package posture

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/internal/store"
)

func TestSharedSendKey(t *testing.T) {
	devices := []Device{{ID: "a1", Hub: "alpha"}, {ID: "b1", Hub: "beta"}, {ID: "a2", Hub: "alpha"}}
	tests := []struct {
		name  string
		rules []SharedRule
		want  []Affected
	}{
		{"no rule", nil, nil},
		{"hub rule: that hub's devices", []SharedRule{{Hub: "alpha", Name: "devices"}},
			[]Affected{{"a1", "hub rule alpha/devices"}, {"a2", "hub rule alpha/devices"}}},
		{"rule of a hub without devices", []SharedRule{{Hub: "gamma", Name: "x"}}, nil},
		{"namespace rule: every device", []SharedRule{{Name: "ops"}},
			[]Affected{{"a1", "namespace rule ops"}, {"a2", "namespace rule ops"}, {"b1", "namespace rule ops"}}},
		{"both, listed per device", []SharedRule{{Hub: "beta", Name: "s2"}, {Name: "ops"}, {Hub: "beta", Name: "s1"}},
			[]Affected{{"a1", "namespace rule ops"}, {"a2", "namespace rule ops"},
				{"b1", "hub rule beta/s1; hub rule beta/s2; namespace rule ops"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Now: now, Devices: devices, SharedSendRules: tc.rules, Agents: map[string]store.AgentSeen{}}
			for _, d := range devices {
				in.Agents[d.ID] = store.AgentSeen{FirstSeen: now, LastSeen: now}
			}
			recs := Compute(in)
			if diff := cmp.Diff(tc.want, affected(t, recs, IDSharedSendKey)); diff != "" {
				t.Errorf("shared-send-key devices (-want +got):\n%s", diff)
			}
			if r, ok := find(recs, IDSharedSendKey); ok && r.Severity != "Medium" {
				t.Errorf("severity %s, want Medium", r.Severity)
			}
		})
	}
}
