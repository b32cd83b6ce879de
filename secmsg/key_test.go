package secmsg_test

import (
	"testing"

	"github.com/moatsec/moat/secmsg"
)

func TestKeys(t *testing.T) {
	m := fullMessage()
	tests := []struct {
		item secmsg.Item
		want string
	}{
		{m.Events[evListeningPorts].Payload[0], "tcp|0.0.0.0|4444"},
		{m.Events[evListeningPorts].Payload[1], "udp6|::|5353"},
		{m.Events[evFirewall].Payload[0], "policy|nftables|inet|filter|input"},
		{m.Events[evFirewall].Payload[1], "rule|nftables|inet|filter|input|Allow||tcp|10.0.0.0/8|||22|In|ip saddr 10.0.0.0/8 tcp dport 22 accept"},
		{m.Events[evLocalUsers].Payload[1], "pi"},
		{m.Events[evOSBaseline].Payload[0], "ssh.permit-root-login"},
		{m.Events[evSystemInformation].Payload[0], "SystemInformation"},
		{m.Events[evMessageStatistics].Payload[0], "MessageStatistics"},
		{m.Events[evDropped].Payload[0], "ProcessCreate|Low|queue_full"},
		{m.Events[evProcessCreate].Payload[1], `/bin/sh|4243|4242|1000|pi|sh -c 'echo a\|b && true'`},
		{m.Events[evProcessTerminate].Payload[1], "/bin/sh|4243|127"},
		{m.Events[evLogin].Payload[0], "0|admin|Login|/usr/sbin/sshd|203.0.113.7|0|22|Fail|password|true|authlog"},
		{m.Events[evConnectionCreate].Payload[0], "/usr/bin/curl|4242|curl -fsS http://192.0.2.10/install.sh|0|192.0.2.10|80|10.0.0.5|40112|tcp|Out"},
		{m.Events[evDiagnostic].Payload[0], "Warning|collector/audit|audit netlink socket busy: falling back to /var/log/audit/audit.log|812"},
		{m.Events[evConfigurationError].Payload[0], "snapshot.interval|OutOfBounds|1m|5s is below the minimum of 1m"},
	}
	for _, tt := range tests {
		if got := tt.item.Key(); got != tt.want {
			t.Errorf("%T.Key() = %q, want %q", tt.item, got, tt.want)
		}
	}
}

// TestKeyIgnores: what the key leaves out does not change it; what it
// covers does.
func TestKeyIgnores(t *testing.T) {
	p := secmsg.ListeningPort{Protocol: "tcp", LocalAddress: "::", LocalPort: 22, ProcessID: 1, Executable: "/usr/sbin/sshd"}
	q := p
	q.ProcessID, q.Executable, q.Change = 2, "/usr/sbin/dropbear", secmsg.ChangeChanged
	if p.Key() != q.Key() {
		t.Errorf("owner or Change changed a listening port's key: %s, %s", p.Key(), q.Key())
	}
	q.LocalPort = 2222
	if p.Key() == q.Key() {
		t.Error("a listening port's key ignores the port")
	}

	l := secmsg.Login{Operation: "Login", Result: "Fail", RemoteAddress: "192.0.2.1",
		Aggregate: secmsg.Aggregate{HitCount: 1, FirstSeen: "2025-01-01T00:00:00Z", LastSeen: "2025-01-01T00:00:00Z"}}
	k := l
	k.Aggregate = secmsg.Aggregate{HitCount: 9, FirstSeen: "2025-01-01T00:00:00Z", LastSeen: "2025-01-01T00:01:00Z"}
	if l.Key() != k.Key() {
		t.Errorf("aggregation fields changed a login's key: %s, %s", l.Key(), k.Key())
	}
	if l.Hits() != 1 || k.Hits() != 9 || (secmsg.Aggregate{}).Hits() != 1 {
		t.Errorf("Hits: %d, %d", l.Hits(), k.Hits())
	}

	policy := secmsg.FirewallRule{Backend: "nftables", Family: "inet", Table: "filter", ChainName: "input", IsDefaultPolicy: true, Action: "Deny"}
	opened := policy
	opened.Action = secmsg.ActionAllow
	if policy.Key() != opened.Key() {
		t.Error("a policy's key depends on its action: a policy change would not be Changed")
	}
}

// TestKeyInjective: fields holding the separator or the escape do not make
// two different items collide.
func TestKeyInjective(t *testing.T) {
	pairs := [][2]secmsg.Item{
		{secmsg.LocalUser{UserName: `a|b`}, secmsg.LocalUser{UserName: `a\|b`}},
		{secmsg.DroppedEvents{Event: "a|b", Queue: "c"}, secmsg.DroppedEvents{Event: "a", Queue: "b|c"}},
		{secmsg.DroppedEvents{Event: `a\`, Queue: "b"}, secmsg.DroppedEvents{Event: "a", Queue: `\b`}},
		{secmsg.ListeningPort{Protocol: "tcp", LocalAddress: "1|2", LocalPort: 3}, secmsg.ListeningPort{Protocol: "tcp|1", LocalAddress: "2", LocalPort: 3}},
	}
	for _, p := range pairs {
		if p[0].Key() == p[1].Key() {
			t.Errorf("%#v and %#v share the key %q", p[0], p[1], p[0].Key())
		}
	}
}

// TestItemsNameTheirEvent: every name has a payload type, which Classify and
// EventName agree on.
func TestItemsNameTheirEvent(t *testing.T) {
	m := fullMessage()
	for i, name := range secmsg.Names() {
		for _, it := range m.Events[i].Payload {
			if it.EventName() != name {
				t.Errorf("%T.EventName() = %s, want %s", it, it.EventName(), name)
			}
		}
	}
}
