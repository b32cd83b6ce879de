package posture

import (
	"net"
	"net/netip"
	"path"
	"strconv"
	"strings"

	"github.com/moatsec/moat/internal/center"
	"github.com/moatsec/moat/internal/store"
	"github.com/moatsec/moat/secmsg"
)

// Event names of the snapshots read here.
const (
	nameListeningPorts = secmsg.NameListeningPorts
	nameFirewall       = secmsg.NameFirewallConfiguration
	nameOSBaseline     = secmsg.NameOSBaseline
)

var recOpenPort = Recommendation{
	ID:       IDOpenPort,
	Title:    "Ports open on every interface",
	Severity: center.SeverityMedium,
	Description: "The device listens on all of its interfaces (0.0.0.0 or ::) on ports outside the allowed list. " +
		"Every network the device reaches can connect to these services, and each one is a way in.",
	Remediation: "Stop the services the device does not need, bind the others to the interface or address that needs them " +
		"(127.0.0.1 for local use), or block the ports in the firewall's input chain. If a port is expected on every " +
		"device, add it to the center's allowed ports (\"proto/port\", e.g. \"tcp/8883\").",
}

// checkPorts reports the device's sockets bound to every interface on a
// port that is not allowed.
func checkPorts(b *builder, device string, items []store.DeviceItem, allowed map[string]bool) {
	for _, it := range items {
		f := it.Fields
		proto := baseProtocol(f["Protocol"])
		if proto == "" || !anyAddress(f["LocalAddress"]) {
			continue
		}
		port, err := parsePortNumber(f["LocalPort"])
		if err != nil || allowed[proto+"/"+strconv.Itoa(port)] {
			continue
		}
		detail := strings.ToLower(f["Protocol"]) + " " + net.JoinHostPort(f["LocalAddress"], strconv.Itoa(port))
		if exe := f["Executable"]; exe != "" {
			detail += " (" + path.Base(exe) + ")"
		}
		b.add(recOpenPort, device, detail)
	}
}

// anyAddress reports whether a bound address is every interface's:
// 0.0.0.0, ::, or ::ffff:0.0.0.0.
func anyAddress(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Unmap().IsUnspecified()
}
