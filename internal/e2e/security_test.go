package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestCLIConsumeSecurity: moat consume --security prints a hub's security
// stream, one record per line: here the token decision of a device.
func TestCLIConsumeSecurity(t *testing.T) {
	data, addr := t.TempDir(), freePort(t)
	startServe(t, data, addr)
	cli := cliRunner{t: t, addr: addr, data: data}
	must := cli.must
	must("", "hub", "create", "fleet")
	out := must("", "device", "create", "dev-1", "--hub", "fleet", "-o", "json")
	var d struct{ PrimaryKey string }
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	must("", "device", "token", "dev-1", "--key", d.PrimaryKey)
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := must("", "consume", "--hub", "fleet", "--security", "--from-start")
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var rec struct {
				Source, Device string
				Data           struct{ Result string }
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Source == "discovery" && rec.Device == "dev-1" && rec.Data.Result == "issued" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no issued decision in moat consume --security:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
