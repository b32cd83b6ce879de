package posture

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/moatsec/moat/internal/center"
	"github.com/moatsec/moat/internal/store"
	"github.com/moatsec/moat/secmsg"
)

// FuzzCompute feeds hostile field values (what a device put in its
// snapshots) and agent figures to Compute and checks it neither panics nor
// breaks its promises: one recommendation per ID, each with devices, in
// order, with bounded valid details, and scores within 0–100.
func FuzzCompute(f *testing.F) {
	f.Add("tcp6", "::", "1883", "/usr/sbin/mosquitto", "inet", "input", "Allow", "true", "", "", "ct state established accept",
		"ssh.x", "Fail", "Critical", "tcp/22", int64(1000), int64(100_000), int64(3600))
	f.Add("udp", "0.0.0.0", "99999", "\xff\xfe", "ip", "input", "Allow", "false", "::/0", "", "-i lo -j ACCEPT",
		"", "Fail", "Bogus", "udp6/68", int64(-1), int64(-1), int64(-1))
	f.Add("TCP", "::ffff:0.0.0.0", "+22", strings.Repeat("é", 600), "ip6", "INPUT", "Deny", "true", "0.0.0.0/0", "22",
		"ct state { established, related", "a", "Pass", "Low", "tcp/", int64(1<<62), int64(1<<62), int64(-1<<62))
	f.Fuzz(func(t *testing.T, proto, addr, lport, exe, family, hook, action, isPolicy, saddr, dport, raw,
		checkID, result, severity, allowed string, messages, bytes, firstAgo int64) {
		its := join(
			items(secmsg.NameListeningPorts, f2("Protocol", proto, "LocalAddress", addr, "LocalPort", lport, "Executable", exe)),
			items(secmsg.NameFirewallConfiguration, f2("Backend", "nftables", "Family", family, "Table", "filter",
				"ChainName", hook, "Hook", hook, "Action", action, "IsDefaultPolicy", isPolicy, "SourceAddress", saddr,
				"DestinationPort", dport, "Raw", raw, "Protocol", proto)),
			items(secmsg.NameOSBaseline, f2("CheckId", checkID, "Result", result, "Severity", severity, "Actual", exe,
				"Remediation", raw, "Description", exe)),
		)
		in := Input{Now: now,
			Devices: []Device{{ID: "d1", Hub: "h"}, {ID: "d2", Hub: "h", CreatedAt: now.Add(-time.Duration(firstAgo))}},
			Items:   map[string][]store.DeviceItem{"d1": its, "d2": its[:1]},
			Agents: map[string]store.AgentSeen{"d1": {FirstSeen: now.Add(-time.Duration(firstAgo)), LastSeen: now.Add(-time.Duration(firstAgo) / 2),
				Messages: messages, Bytes: bytes}},
			SharedSendRules: []SharedRule{{Hub: exe, Name: raw}},
			Config:          Config{AllowedPorts: []string{allowed}},
		}
		recs := Compute(in)
		ids := map[string]bool{}
		for i, r := range recs {
			if ids[r.ID] {
				t.Fatalf("ID %q twice", r.ID)
			}
			ids[r.ID] = true
			if center.SeverityRank(r.Severity) < 0 || len(r.Devices) == 0 {
				t.Fatalf("recommendation %+v", r)
			}
			if i > 0 && center.SeverityRank(recs[i-1].Severity) < center.SeverityRank(r.Severity) {
				t.Fatalf("not sorted by severity: %s before %s", recs[i-1].ID, r.ID)
			}
			if !slices.IsSortedFunc(r.Devices, func(a, b Affected) int { return strings.Compare(a.Device, b.Device) }) {
				t.Fatalf("devices not sorted: %v", r.Devices)
			}
			for _, a := range r.Devices {
				if !utf8.ValidString(a.Detail) || len(a.Detail) > (maxDetails+1)*(maxDetailBytes+8) {
					t.Fatalf("detail %q", a.Detail)
				}
			}
		}
		for dev, s := range Scores(in, recs) {
			if s.Score < 0 || s.Score > 100 {
				t.Fatalf("%s scored %d", dev, s.Score)
			}
		}
	})
}

// f2 builds a field map from pairs, leaving out empty values as the
// center's flattening does.
func f2(kv ...string) map[string]string {
	m := f(kv...)
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	return m
}
