package agent_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/moatsec/moat/internal/agent"
	"github.com/moatsec/moat/internal/agent/agenttest"
	"github.com/moatsec/moat/internal/agent/snapshot/firewall"
	"github.com/moatsec/moat/internal/agent/snapshot/snapshottest"
)

// TestFootprintIdleDay: issue 4's volume target. The real agent runs a
// simulated day on the typical-device fixture against a real HTTPS server
// and must send at most 1 MB (bytes on the wire, both directions, TLS,
// headers and the day's token requests included).
func TestFootprintIdleDay(t *testing.T) {
	e := agenttest.StartTLS(t)
	f, err := snapshottest.Open(snapshottest.IoTDevice)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := f.Materialize(root); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "var/log"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := e.Config(t.TempDir())
	cfg.Root = root
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	r, err := agent.Footprint(context.Background(), cfg, agent.FootprintOptions{Firewall: &firewall.Options{File: f.FirewallFile}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", r)
	if r.WireBytesPerDay > 1e6 {
		t.Errorf("an idle device sends %.0f bytes a day, over 1 MB", r.WireBytesPerDay)
	}
	// It did send: the full snapshots at start, then statistics.
	if r.Events < 5 || r.Sends < 2 || r.TokenRequestBytes == 0 {
		t.Errorf("implausibly little: %+v", r)
	}
	evs := e.Events(t)
	names := map[string]int{}
	for _, ev := range evs {
		names[ev.Event.Name]++
	}
	for _, n := range []string{"ListeningPorts", "FirewallConfiguration", "LocalUsers", "OSBaseline", "SystemInformation"} {
		if names[n] == 0 {
			t.Errorf("no %s snapshot reached the hub (%v)", n, names)
		}
	}
}
