package posture

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/internal/center"
	"github.com/moatsec/moat/secmsg"
)

func TestOpenPorts(t *testing.T) {
	lp := func(fields ...map[string]string) Input {
		return oneDevice(join(dropInput, items(secmsg.NameListeningPorts, fields...))...)
	}
	tests := []struct {
		name    string
		in      Input
		allowed []string // nil: the default
		want    []Affected
	}{
		{"ssh and dhcp are allowed by default", lp(port("tcp", "0.0.0.0", 22, "/usr/sbin/sshd"),
			port("tcp6", "::", 22, "/usr/sbin/sshd"), port("udp", "0.0.0.0", 68, "/usr/sbin/dhclient")), nil, nil},
		{"mqtt on every interface", lp(port("tcp", "0.0.0.0", 1883, "/usr/sbin/mosquitto")), nil,
			[]Affected{{"d1", "tcp 0.0.0.0:1883 (mosquitto)"}}},
		{"tcp6 on :: counts as tcp", lp(port("tcp6", "::", 8883, "/opt/t/telemetryd")), nil,
			[]Affected{{"d1", "tcp6 [::]:8883 (telemetryd)"}}},
		{"tcp6 :: port 22 is allowed as tcp/22", lp(port("tcp6", "::", 22, "")), nil, nil},
		{"IPv4-mapped any address", lp(port("udp6", "::ffff:0.0.0.0", 5353, "")), nil,
			[]Affected{{"d1", "udp6 [::ffff:0.0.0.0]:5353"}}},
		{"loopback and one address are not every interface", lp(port("tcp", "127.0.0.1", 8080, "x"),
			port("tcp6", "::1", 8080, "x"), port("tcp", "192.168.1.5", 1883, "x")), nil, nil},
		{"allowlist replaces the default", lp(port("tcp", "0.0.0.0", 22, "/usr/sbin/sshd"),
			port("tcp", "0.0.0.0", 1883, "")), []string{"tcp/1883"}, []Affected{{"d1", "tcp 0.0.0.0:22 (sshd)"}}},
		{"allowlist tcp6 entry allows tcp", lp(port("tcp", "0.0.0.0", 8883, "")), []string{"TCP6/8883"}, nil},
		{"udp is not tcp", lp(port("udp", "0.0.0.0", 22, "")), nil, []Affected{{"d1", "udp 0.0.0.0:22"}}},
		{"empty allowlist allows nothing", lp(port("tcp", "0.0.0.0", 22, "")), []string{}, []Affected{{"d1", "tcp 0.0.0.0:22"}}},
		{"several ports on one device: one entry, sorted", lp(port("udp", "0.0.0.0", 5353, "/usr/sbin/avahi-daemon"),
			port("tcp", "0.0.0.0", 23, "/bin/busybox"), port("tcp", "0.0.0.0", 23, "/bin/busybox")), nil,
			[]Affected{{"d1", "tcp 0.0.0.0:23 (busybox); udp 0.0.0.0:5353 (avahi-daemon)"}}},
		{"garbage is skipped", lp(port("sctp", "0.0.0.0", 9, ""), port("tcp", "0.0.0.0", 0, ""),
			f("Protocol", "tcp", "LocalAddress", "0.0.0.0", "LocalPort", "99999"),
			f("Protocol", "tcp", "LocalAddress", "everywhere", "LocalPort", "80"),
			f("Protocol", "tcp", "LocalAddress", "0.0.0.0", "LocalPort", "http")), nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Config.AllowedPorts = tc.allowed
			recs := Compute(tc.in)
			if diff := cmp.Diff(tc.want, affected(t, recs, IDOpenPort)); diff != "" {
				t.Errorf("open-port devices (-want +got):\n%s", diff)
			}
			if r, ok := find(recs, IDOpenPort); ok && r.Severity != center.SeverityMedium {
				t.Errorf("severity %s, want Medium", r.Severity)
			}
		})
	}
}
