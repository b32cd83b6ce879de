package posture

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/internal/agent/convert"
	"github.com/moatsec/moat/internal/agent/snapshot"
	"github.com/moatsec/moat/internal/agent/snapshot/firewall"
	"github.com/moatsec/moat/internal/agent/snapshot/snapshottest"
	"github.com/moatsec/moat/internal/center"
	"github.com/moatsec/moat/internal/store"
	"github.com/moatsec/moat/secmsg"
)

// fixtureItems snapshots a fixture device tree with the agent's code and
// flattens the items as the center stores them.
func fixtureItems(t *testing.T, name string) []store.DeviceItem {
	t.Helper()
	fx, err := snapshottest.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := fx.MapFS()
	if err != nil {
		t.Fatal(err)
	}
	src := convert.Snapshots{C: snapshot.New(snapshot.Options{FS: fsys, Arch: fx.Arch, ByteOrder: binary.LittleEndian,
		Firewall: firewall.Options{File: fx.FirewallFile}})}
	var out []store.DeviceItem
	for _, n := range []string{secmsg.NameListeningPorts, secmsg.NameFirewallConfiguration, secmsg.NameLocalUsers,
		secmsg.NameOSBaseline, secmsg.NameSystemInformation} {
		its, err := src.Items(context.Background(), n)
		if err != nil {
			t.Fatalf("%s %s: %v", name, n, err)
		}
		for _, it := range its {
			out = append(out, store.DeviceItem{Name: n, Key: it.Key(), Fields: center.Flatten(it)})
		}
	}
	return out
}

// TestFixtureDevices runs the rules on the agent's fixture devices: the
// hardened gateway has only its extra ports to fix, the neglected device
// has an open firewall, open telnet and MQTT, and its failed checks.
func TestFixtureDevices(t *testing.T) {
	in := Input{Now: now,
		Devices: []Device{{ID: "good", Hub: "h"}, {ID: "bad", Hub: "h"}},
		Items:   map[string][]store.DeviceItem{"good": fixtureItems(t, snapshottest.IoTDevice), "bad": fixtureItems(t, snapshottest.BadDevice)},
		Agents:  map[string]store.AgentSeen{"good": {FirstSeen: now, LastSeen: now}, "bad": {FirstSeen: now, LastSeen: now}},
		Config:  Config{AllowedPorts: []string{"tcp/22", "udp/68", "tcp/8883", "udp/5353"}},
	}
	recs := Compute(in)
	got := map[string][]string{} // device → "ID detail"
	for _, r := range recs {
		for _, a := range r.Devices {
			got[a.Device] = append(got[a.Device], r.ID+" | "+a.Detail)
		}
	}
	want := map[string][]string{
		"bad": {
			"baseline:accounts.empty_passwords | actual: empty: guest",
			"baseline:accounts.uid0_only_root | actual: uid 0: root, toor",
			"baseline:fs.path_world_writable | actual: /usr/local/bin (0777)",
			"baseline:fs.shadow_permissions | actual: owner 0:42, mode 0644",
			"baseline:ssh.permit_root_login | actual: yes",
			"baseline:ssh.protocol | actual: 2,1",
			"firewall-default-accept | iptables ip filter/INPUT policy accept",
			"baseline:kernel.randomize_va_space | actual: 0",
			"baseline:net.ip_forward | actual: 1",
			"baseline:ssh.max_auth_tries | actual: 10",
			"baseline:ssh.password_authentication | actual: yes (default)",
			"open-port | tcp 0.0.0.0:1883 (mosquitto); tcp 0.0.0.0:23 (busybox); tcp 0.0.0.0:5555",
			"baseline:audit.auditd_installed | actual: not found",
			"baseline:ssh.x11_forwarding | actual: yes",
		},
		"good": {"open-port | udp 0.0.0.0:41234 (avahi-daemon)"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("recommendations by device (-want +got):\n%s", diff)
	}
	scores := Scores(in, recs)
	if diff := cmp.Diff(map[string]Score{
		"good": {Score: 90, Failed: Counts{Medium: 1}},
		"bad":  {Score: 0, Failed: Counts{High: 7, Medium: 5, Low: 2}},
	}, scores); diff != "" {
		t.Errorf("scores (-want +got):\n%s", diff)
	}
}
