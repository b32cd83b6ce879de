package baseline

import (
	"fmt"
	"strings"
)

func kernelChecks() []definition {
	return []definition{
		{
			id: "net.ip_forward", severity: Medium,
			description: "The device does not route IPv4 packets between interfaces",
			expected:    "net.ipv4.ip_forward = 0",
			remediation: "Unless the device is a router, set net.ipv4.ip_forward = 0 in /etc/sysctl.d/ and run sysctl --system.",
			run:         sysctl("proc/sys/net/ipv4/ip_forward", "0", "1"),
		},
		{
			id: "kernel.randomize_va_space", severity: Medium,
			description: "Address space layout randomisation is fully on",
			expected:    "kernel.randomize_va_space = 2",
			remediation: "Set kernel.randomize_va_space = 2 in /etc/sysctl.d/ and run sysctl --system.",
			run:         sysctl("proc/sys/kernel/randomize_va_space", "2", "0", "1"),
		},
	}
}

// sysctl passes on the good value, fails on a known bad one, and is an
// Error on anything else (unreadable or unexpected).
func sysctl(file, good string, bad ...string) func(*env) outcome {
	return func(e *env) outcome {
		data, err := e.root.ReadFile(file)
		if err != nil {
			return errored(err)
		}
		v := strings.TrimSpace(string(data))
		if v == good {
			return pass(v, file)
		}
		for _, b := range bad {
			if v == b {
				return fail(v, file)
			}
		}
		return outcome{Error, clean(v), fmt.Sprintf("%s: unexpected value", file)}
	}
}
