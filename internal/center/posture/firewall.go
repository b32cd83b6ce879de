package posture

import (
	"strconv"
	"strings"

	"github.com/moatsec/moat/internal/center"
	"github.com/moatsec/moat/internal/store"
	"github.com/moatsec/moat/secmsg"
)

var recFirewallDefaultAccept = Recommendation{
	ID:       IDFirewallDefaultAccept,
	Title:    "Inbound traffic accepted by default",
	Severity: center.SeverityHigh,
	Description: "The device accepts every inbound packet that no rule refuses: the default policy of an input chain is accept " +
		"and no other input chain drops by default, or the device reports no firewall at all (no rules, or no input chain). " +
		"Every service the device runs is then reachable from every network it is on.",
	Remediation: "Give the input chain a drop policy and accept only what the device needs: loopback, established and related " +
		"connections, and its own services from the sources that use them. Add those accept rules first, or the change cuts " +
		"your own SSH session. nftables: `nft 'add chain inet filter input { type filter hook input priority 0; policy drop; }'`; " +
		"iptables: `iptables -P INPUT DROP` and `ip6tables -P INPUT DROP`. Make it persistent (/etc/nftables.conf, " +
		"iptables-persistent).",
}

var recFirewallPermissiveRule = Recommendation{
	ID:       IDFirewallPermissiveRule,
	Title:    "Firewall rule accepting all inbound traffic",
	Severity: center.SeverityMedium,
	Description: "A rule of an input chain accepts packets from any source to any port, so the chain's policy never applies " +
		"to what it matches. Rules accepting loopback traffic, established or related connections, or ICMP only are not counted.",
	Remediation: "Narrow the rule to the destination ports and source addresses that need it (nftables `tcp dport 8883 ip saddr " +
		"192.168.1.0/24 accept`, iptables `-p tcp --dport 8883 -s 192.168.1.0/24 -j ACCEPT`), or delete it.",
}

// Tables whose chains do not filter (iptables' other tables, and the usual
// names of nftables tables holding nat chains).
var nonFilterTables = map[string]bool{"nat": true, "mangle": true, "raw": true, "security": true}

// checkFirewall reports a device whose inbound traffic is accepted by
// default (or that has no firewall) and its rules accepting everything.
func checkFirewall(b *builder, device string, items map[string][]store.DeviceItem) {
	fw := items[nameFirewall]
	if len(fw) == 0 {
		if len(items) > 0 { // other snapshots arrived, but no firewall
			b.add(recFirewallDefaultAccept, device, "no firewall rules")
		}
		return
	}
	var input []map[string]string
	denied := map[int]bool{} // IP versions whose input policy is drop somewhere
	for _, it := range fw {
		f := it.Fields
		if !inputFilter(f) {
			continue
		}
		input = append(input, f)
		if f["IsDefaultPolicy"] == "true" && f["Action"] == secmsg.ActionDeny {
			for _, v := range ipVersions(f["Family"]) {
				denied[v] = true
			}
		}
	}
	if len(input) == 0 {
		b.add(recFirewallDefaultAccept, device, "no input chain")
		return
	}
	for _, f := range input {
		switch {
		case f["IsDefaultPolicy"] == "true":
			if f["Action"] != secmsg.ActionAllow {
				continue
			}
			var open []int
			for _, v := range ipVersions(f["Family"]) {
				if !denied[v] {
					open = append(open, v)
				}
			}
			if len(open) == 0 {
				continue
			}
			detail := chainName(f) + " policy accept"
			if len(open) < len(ipVersions(f["Family"])) {
				detail += " (IPv" + strconv.Itoa(open[0]) + ")"
			}
			b.add(recFirewallDefaultAccept, device, detail)
		case acceptsAll(f):
			what := f["Raw"]
			if what == "" {
				what = strings.TrimSpace(f["Protocol"] + " accept")
			}
			b.add(recFirewallPermissiveRule, device, chainName(f)+": "+what)
		}
	}
}

// inputFilter reports whether an item belongs to an IP filtering chain on
// the input hook.
func inputFilter(f map[string]string) bool {
	return f["Hook"] == secmsg.HookInput && len(ipVersions(f["Family"])) > 0 &&
		!nonFilterTables[strings.ToLower(f["Table"])]
}

// ipVersions returns the IP versions a family's chains see.
func ipVersions(family string) []int {
	switch family {
	case secmsg.FamilyIP:
		return []int{4}
	case secmsg.FamilyIP6:
		return []int{6}
	case secmsg.FamilyInet:
		return []int{4, 6}
	}
	return nil
}

func chainName(f map[string]string) string {
	return f["Backend"] + " " + f["Family"] + " " + f["Table"] + "/" + f["ChainName"]
}

// acceptsAll reports whether a rule accepts everything: from any source,
// to any port, of any protocol but ICMP, not only loopback and not only
// established or related connections.
func acceptsAll(f map[string]string) bool {
	if f["Action"] != secmsg.ActionAllow || f["DestinationPort"] != "" || !anySource(f["SourceAddress"]) {
		return false
	}
	return !icmpOnly(f["Protocol"]) && !restricted(f["Raw"])
}

func anySource(s string) bool {
	switch strings.TrimSpace(s) {
	case "", "0.0.0.0/0", "::/0":
		return true
	}
	return false
}

// icmpOnly reports whether a protocol match (a name, or a set such as
// "{ icmp, ipv6-icmp }") names ICMP protocols only.
func icmpOnly(proto string) bool {
	words := strings.FieldsFunc(strings.ToLower(proto), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-')
	})
	for _, w := range words {
		switch w {
		case "icmp", "icmpv6", "ipv6-icmp", "1", "58":
		default:
			return false
		}
	}
	return len(words) > 0
}

// restricted reports whether a rule's text matches only loopback traffic
// (nftables iif/iifname lo, iptables -i lo) or only established and
// related connections (nftables ct state, iptables --state/--ctstate).
func restricted(raw string) bool {
	toks := strings.Fields(strings.ToLower(raw))
	for i, t := range toks {
		switch t {
		case "iif", "iifname", "-i", "--in-interface":
			if i+1 < len(toks) && strings.Trim(toks[i+1], `"'`) == "lo" {
				return true
			}
		case "state", "--state", "--ctstate":
			if onlyEstablished(toks[i+1:]) {
				return true
			}
		}
	}
	return false
}

// onlyEstablished reads the connection states that start toks
// ("established,related", "{ established, related }") and reports whether
// there are some and all are established or related.
func onlyEstablished(toks []string) bool {
	seen := false
	for _, t := range toks {
		words := strings.FieldsFunc(t, func(r rune) bool { return r == ',' || r == '{' || r == '}' })
		if len(words) == 0 { // a lone brace
			continue
		}
		for _, w := range words {
			switch w {
			case "established", "related":
				seen = true
			case "new", "invalid", "untracked":
				return false
			default:
				return seen // the states ended
			}
		}
	}
	return seen
}
