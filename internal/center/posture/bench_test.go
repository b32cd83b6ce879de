package posture

import (
	"strconv"
	"testing"
	"time"

	"github.com/moatsec/moat/internal/store"
	"github.com/moatsec/moat/secmsg"
)

// BenchmarkCompute: a fleet of 10,000 devices with 8 ports, 6 firewall
// items and 15 baseline checks each (a third of them failing).
func BenchmarkCompute(b *testing.B) {
	in := Input{Now: now, Items: map[string][]store.DeviceItem{}, Agents: map[string]store.AgentSeen{},
		SharedSendRules: []SharedRule{{Hub: "h0", Name: "send"}}}
	for i := range 10_000 {
		id := "dev-" + strconv.Itoa(i)
		in.Devices = append(in.Devices, Device{ID: id, Hub: "h" + strconv.Itoa(i%4)})
		var ports, fw, checks []map[string]string
		for p := range 8 {
			ports = append(ports, port("tcp", "0.0.0.0", 20+p*1000, "/usr/sbin/d"+strconv.Itoa(p)))
		}
		fw = append(fw, policy("nftables", "inet", "filter", "input", "input", []string{"Deny", "Allow"}[i%2]),
			nftRule("Allow", "iifname lo accept"), nftRule("Allow", "ct state established,related accept"),
			nftRule("Allow", "tcp dport 22 accept", "DestinationPort", "22"), nftRule("Allow", "accept"),
			policy("nftables", "inet", "filter", "output", "output", "Allow"))
		for c := range 15 {
			checks = append(checks, check("c"+strconv.Itoa(c), []string{"Pass", "Pass", "Fail"}[(i+c)%3], "High"))
		}
		in.Items[id] = join(items(secmsg.NameListeningPorts, ports...), items(secmsg.NameFirewallConfiguration, fw...),
			items(secmsg.NameOSBaseline, checks...))
		in.Agents[id] = store.AgentSeen{FirstSeen: now.Add(-48 * time.Hour), LastSeen: now.Add(-time.Duration(i) * time.Second),
			Messages: int64(i), Bytes: int64(i) * 700}
	}
	b.ReportAllocs()
	for b.Loop() {
		recs := Compute(in)
		_ = Scores(in, recs)
	}
}
