package posture

import (
	"strconv"
	"testing"
	"time"

	"github.com/moatsec/moat/internal/store"
	"github.com/moatsec/moat/secmsg"
)

var now = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

// f builds a field map from pairs.
func f(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// items builds snapshot items of one name.
func items(name string, fields ...map[string]string) []store.DeviceItem {
	out := make([]store.DeviceItem, len(fields))
	for i, fl := range fields {
		out[i] = store.DeviceItem{Name: name, Key: name + "/" + strconv.Itoa(i), Fields: fl}
	}
	return out
}

func port(proto, addr string, p int, exe string) map[string]string {
	m := f("Protocol", proto, "LocalAddress", addr, "LocalPort", strconv.Itoa(p))
	if exe != "" {
		m["Executable"] = exe
	}
	return m
}

// policy is a chain's default policy (action Allow or Deny).
func policy(backend, family, table, chain, hook, action string) map[string]string {
	return f("Backend", backend, "Family", family, "Table", table, "ChainName", chain, "Hook", hook,
		"IsDefaultPolicy", "true", "Action", action, "Enabled", "true")
}

// nftRule is a rule of the inet filter input chain; extra adds fields.
func nftRule(action, raw string, extra ...string) map[string]string {
	m := f("Backend", "nftables", "Family", "inet", "Table", "filter", "ChainName", "input", "Hook", "input",
		"Direction", "In", "Action", action, "Enabled", "true", "Raw", raw)
	for k, v := range f(extra...) {
		m[k] = v
	}
	return m
}

func check(id, result, severity string) map[string]string {
	return f("CheckId", id, "Result", result, "Severity", severity, "Description", "check "+id,
		"Remediation", "fix "+id, "Actual", "bad", "Expected", "good")
}

// sysinfo is a device's SystemInformation snapshot, so it has sent something.
var sysinfo = items(secmsg.NameSystemInformation, f("HostName", "h", "KernelVersion", "6.1", "Architecture", "aarch64"))

// dropInput is a firewall with a drop input policy and nothing else.
var dropInput = items(secmsg.NameFirewallConfiguration, policy("nftables", "inet", "filter", "input", "input", "Deny"))

// join concatenates item lists.
func join(lists ...[]store.DeviceItem) []store.DeviceItem {
	var out []store.DeviceItem
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// oneDevice is an input with device "d1" (hub "h", created long ago, agent
// sending normally) holding items.
func oneDevice(its ...store.DeviceItem) Input {
	return Input{
		Now:     now,
		Devices: []Device{{ID: "d1", Hub: "h", Status: store.DeviceEnabled, CreatedAt: now.Add(-30 * 24 * time.Hour)}},
		Items:   map[string][]store.DeviceItem{"d1": its},
		Agents: map[string]store.AgentSeen{"d1": {Device: "d1", FirstSeen: now.Add(-10 * 24 * time.Hour),
			LastSeen: now.Add(-time.Minute), Messages: 1000, Events: 5000, Bytes: 4_000_000}},
	}
}

// affected returns the devices of the recommendation id, or nil when it
// is absent; it fails the test when the ID occurs twice.
func affected(t *testing.T, recs []Recommendation, id string) []Affected {
	t.Helper()
	var out []Affected
	n := 0
	for _, r := range recs {
		if r.ID == id {
			out = r.Devices
			n++
		}
	}
	if n > 1 {
		t.Errorf("recommendation %s occurs %d times", id, n)
	}
	return out
}

func find(recs []Recommendation, id string) (Recommendation, bool) {
	for _, r := range recs {
		if r.ID == id {
			return r, true
		}
	}
	return Recommendation{}, false
}
