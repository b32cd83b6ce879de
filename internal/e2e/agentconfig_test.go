package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCLIAgentConfig drives moat agent-config and moat device agent-config
// against a live server: fleet layer, device layer from stdin, resync,
// clear, and a refused layer.
func TestCLIAgentConfig(t *testing.T) {
	data, addr := t.TempDir(), freePort(t)
	startServe(t, data, addr)
	cli := cliRunner{t: t, addr: addr, data: data}
	must := cli.must
	must("", "hub", "create", "fleet")
	must("", "device", "create", "dev-1", "--hub", "fleet")

	must(`{"lowPriorityInterval": "30m"}`, "agent-config", "--set", "-")
	must(`{"eventPriorities": {"ProcessCreate": "Off"}}`, "device", "agent-config", "dev-1", "--set", "-")
	type view struct {
		Version string
		Config  struct {
			LowPriorityInterval string
			EventPriorities     map[string]string
			Resync              string
		}
	}
	get := func() view {
		var v view
		if err := json.Unmarshal([]byte(must("", "device", "agent-config", "dev-1", "-o", "json")), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	v1 := get()
	if v1.Config.LowPriorityInterval != "30m0s" || v1.Config.EventPriorities["ProcessCreate"] != "Off" || v1.Config.EventPriorities["Login"] != "High" {
		t.Fatalf("effective configuration: %+v", v1)
	}
	must("", "device", "agent-config", "dev-1", "--resync")
	v2 := get()
	if v2.Config.Resync == "" || v2.Version == v1.Version || v2.Config.EventPriorities["ProcessCreate"] != "Off" {
		t.Fatalf("after --resync: %+v (before %+v)", v2, v1)
	}
	must("", "device", "agent-config", "dev-1", "--clear")
	if v3 := get(); v3.Config.EventPriorities["ProcessCreate"] != "Low" || v3.Config.LowPriorityInterval != "30m0s" {
		t.Fatalf("after --clear: %+v", v3)
	}
	if _, err := cli.run(`{"highPriorityInterval": "2h"}`, "device", "agent-config", "dev-1", "--set", "-"); err == nil ||
		!strings.Contains(err.Error(), "invalid_agent_config") || !strings.Contains(err.Error(), "highPriorityInterval") {
		t.Fatalf("bad layer: %v", err)
	}
}
