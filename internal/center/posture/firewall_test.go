package posture

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/internal/store"
	"github.com/moatsec/moat/secmsg"
)

func TestFirewallDefaultAccept(t *testing.T) {
	fw := func(fields ...map[string]string) []store.DeviceItem {
		return items(secmsg.NameFirewallConfiguration, fields...)
	}
	tests := []struct {
		name string
		its  []store.DeviceItem
		want []Affected
	}{
		{"nothing sent at all: nothing to say", nil, nil},
		{"other snapshots but no firewall", sysinfo, []Affected{{"d1", "no firewall rules"}}},
		{"drop policy", join(sysinfo, dropInput), nil},
		{"iptables INPUT ACCEPT", fw(policy("iptables", "ip", "filter", "INPUT", "input", "Allow")),
			[]Affected{{"d1", "iptables ip filter/INPUT policy accept"}}},
		{"accept output and forward are fine", fw(policy("nftables", "inet", "filter", "input", "input", "Deny"),
			policy("nftables", "inet", "filter", "output", "output", "Allow"),
			policy("nftables", "inet", "filter", "forward", "forward", "Allow")), nil},
		{"nat and mangle INPUT chains do not filter", fw(policy("iptables", "ip", "filter", "INPUT", "input", "Deny"),
			policy("iptables", "ip", "nat", "INPUT", "input", "Allow"),
			policy("iptables", "ip", "mangle", "INPUT", "input", "Allow")), nil},
		{"only a nat table: no input chain", fw(policy("iptables", "ip", "nat", "PREROUTING", "prerouting", "Allow"),
			policy("iptables", "ip", "nat", "INPUT", "input", "Allow")), []Affected{{"d1", "no input chain"}}},
		{"arp input is not IP", fw(policy("nftables", "arp", "filter", "input", "input", "Allow"),
			policy("nftables", "ip", "filter", "input", "input", "Deny")), nil},
		{"inet accept but ip drop: IPv6 open", fw(policy("nftables", "inet", "filter", "input", "input", "Allow"),
			policy("nftables", "ip", "fw4", "input", "input", "Deny")),
			[]Affected{{"d1", "nftables inet filter/input policy accept (IPv6)"}}},
		{"inet accept and inet drop in another table", fw(policy("nftables", "inet", "filter", "input", "input", "Allow"),
			policy("nftables", "inet", "guard", "in", "input", "Deny")), nil},
		{"ip and ip6 both accept", fw(policy("iptables", "ip", "filter", "INPUT", "input", "Allow"),
			policy("iptables", "ip6", "filter", "INPUT", "input", "Allow")),
			[]Affected{{"d1", "iptables ip filter/INPUT policy accept; iptables ip6 filter/INPUT policy accept"}}},
		{"ip6 drop does not close ip", fw(policy("iptables", "ip", "filter", "INPUT", "input", "Allow"),
			policy("iptables", "ip6", "filter", "INPUT", "input", "Deny")),
			[]Affected{{"d1", "iptables ip filter/INPUT policy accept"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs := Compute(oneDevice(tc.its...))
			if diff := cmp.Diff(tc.want, affected(t, recs, IDFirewallDefaultAccept)); diff != "" {
				t.Errorf("firewall-default-accept devices (-want +got):\n%s", diff)
			}
			if r, ok := find(recs, IDFirewallDefaultAccept); ok && r.Severity != "High" {
				t.Errorf("severity %s, want High", r.Severity)
			}
		})
	}
}

func TestFirewallPermissiveRule(t *testing.T) {
	tests := []struct {
		name string
		rule map[string]string
		want string // the detail, "" = not reported
	}{
		{"accept everything", nftRule("Allow", "accept"), "nftables inet filter/input: accept"},
		{"any source prefix", nftRule("Allow", "ip saddr 0.0.0.0/0 accept", "SourceAddress", "0.0.0.0/0"),
			"nftables inet filter/input: ip saddr 0.0.0.0/0 accept"},
		{"IPv6 any source", nftRule("Allow", "", "SourceAddress", "::/0", "Protocol", "tcp"), "nftables inet filter/input: tcp accept"},
		{"all of tcp", nftRule("Allow", "meta l4proto tcp accept", "Protocol", "tcp"), "nftables inet filter/input: meta l4proto tcp accept"},
		{"an interface that is not loopback", nftRule("Allow", `iifname "eth0" accept`), `nftables inet filter/input: iifname "eth0" accept`},
		{"new connections", nftRule("Allow", "ct state new,established accept"), "nftables inet filter/input: ct state new,established accept"},
		{"iptables accept all", f("Backend", "iptables", "Family", "ip", "Table", "filter", "ChainName", "INPUT", "Hook", "input",
			"Action", "Allow", "Raw", "-j ACCEPT"), "iptables ip filter/INPUT: -j ACCEPT"},
		{"a port", nftRule("Allow", "tcp dport 22 accept", "Protocol", "tcp", "DestinationPort", "22"), ""},
		{"a source", nftRule("Allow", "ip saddr 10.0.0.0/8 accept", "SourceAddress", "10.0.0.0/8"), ""},
		{"loopback nft", nftRule("Allow", "iifname lo accept"), ""},
		{"loopback nft quoted", nftRule("Allow", `iif "lo" accept`), ""},
		{"loopback iptables", nftRule("Allow", "-i lo -j ACCEPT"), ""},
		{"established nft", nftRule("Allow", "ct state established,related accept"), ""},
		{"established nft set", nftRule("Allow", "ct state { established, related } counter packets 5 bytes 300 accept"), ""},
		{"established iptables", nftRule("Allow", "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"), ""},
		{"established iptables state", nftRule("Allow", "-m state --state ESTABLISHED -j ACCEPT"), ""},
		{"icmp only", nftRule("Allow", "meta l4proto { icmp, ipv6-icmp } accept", "Protocol", "{ icmp, ipv6-icmp }"), ""},
		{"drop", nftRule("Deny", "drop"), ""},
		{"output chain", nftRule("Allow", "accept", "Hook", "output", "ChainName", "output"), ""},
		{"regular chain", nftRule("Allow", "accept", "Hook", ""), ""},
		{"nat table", nftRule("Allow", "accept", "Table", "nat"), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			its := items(secmsg.NameFirewallConfiguration, policy("nftables", "inet", "filter", "input", "input", "Deny"), tc.rule)
			recs := Compute(oneDevice(its...))
			var want []Affected
			if tc.want != "" {
				want = []Affected{{"d1", tc.want}}
			}
			if diff := cmp.Diff(want, affected(t, recs, IDFirewallPermissiveRule)); diff != "" {
				t.Errorf("firewall-permissive-rule devices (-want +got):\n%s", diff)
			}
			if r, ok := find(recs, IDFirewallPermissiveRule); ok && r.Severity != "Medium" {
				t.Errorf("severity %s, want Medium", r.Severity)
			}
			if _, ok := find(recs, IDFirewallDefaultAccept); ok {
				t.Errorf("a drop policy reported as accept")
			}
		})
	}
}
