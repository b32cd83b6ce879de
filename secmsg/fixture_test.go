package secmsg_test

import (
	"fmt"
	"time"

	"github.com/moatsec/moat/secmsg"
)

// Indices of the events of fullMessage, one per name, in the order of
// secmsg.Names().
const (
	evProcessCreate = iota
	evProcessTerminate
	evLogin
	evConnectionCreate
	evListeningPorts
	evFirewall
	evLocalUsers
	evOSBaseline
	evSystemInformation
	evDiagnostic
	evConfigurationError
	evDropped
	evMessageStatistics
)

// fixedNow is 09:26:53 on a device two hours east of UTC.
var fixedNow = time.Date(2025, 3, 14, 9, 26, 53, 0, time.FixedZone("", 2*3600))

const agentID = "5f1c2b8e-0d3a-4c6f-9e21-7b4d8a9c0e11"

// fullMessage returns a fresh valid message with one event of each name and
// fixed Ids.
func fullMessage() *secmsg.Message {
	seen := secmsg.Aggregate{HitCount: 1, FirstSeen: "2025-03-14T07:26:40Z", LastSeen: "2025-03-14T07:26:40Z"}
	events := []secmsg.Event{
		secmsg.NewEvent(secmsg.NameProcessCreate, fixedNow,
			secmsg.ProcessCreate{
				Executable: "/usr/bin/curl", ProcessID: 4242, ParentProcessID: 4100, UserID: 0, UserName: "root",
				CommandLine: "curl -fsS http://192.0.2.10/install.sh", Aggregate: seen,
			},
			secmsg.ProcessCreate{
				Executable: "/bin/sh", ProcessID: 4243, ParentProcessID: 4242, UserID: 1000, UserName: "pi",
				CommandLine: "sh -c 'echo a|b && true'",
			}),
		secmsg.NewEvent(secmsg.NameProcessTerminate, fixedNow,
			secmsg.ProcessTerminate{Executable: "/usr/bin/curl", ProcessID: 4242, ExitStatus: 0},
			secmsg.ProcessTerminate{Executable: "/bin/sh", ProcessID: 4243, ExitStatus: 127}),
		secmsg.NewEvent(secmsg.NameLogin, fixedNow,
			secmsg.Login{
				UserName: "admin", Operation: secmsg.OperationLogin, Executable: "/usr/sbin/sshd",
				RemoteAddress: "203.0.113.7", LocalPort: 22, Result: secmsg.ResultFail,
				AuthMethod: secmsg.AuthPassword, InvalidUser: true, Source: secmsg.SourceAuthLog,
				Aggregate: secmsg.Aggregate{HitCount: 6, FirstSeen: "2025-03-14T07:20:01Z", LastSeen: "2025-03-14T07:24:59.5Z"},
			},
			secmsg.Login{
				ProcessID: 3810, UserName: "pi", Operation: secmsg.OperationLogin, Executable: "/usr/sbin/sshd",
				RemoteAddress: "gateway.example.net", RemotePort: 51022, LocalPort: 22, Result: secmsg.ResultSuccess,
				AuthMethod: secmsg.AuthPublicKey, Source: secmsg.SourceAudit, Aggregate: seen,
			}),
		secmsg.NewEvent(secmsg.NameConnectionCreate, fixedNow,
			secmsg.ConnectionCreate{
				Executable: "/usr/bin/curl", ProcessID: 4242, CommandLine: "curl -fsS http://192.0.2.10/install.sh",
				UserID: 0, RemoteAddress: "192.0.2.10", RemotePort: 80, LocalAddress: "10.0.0.5", LocalPort: 40112,
				Protocol: secmsg.ProtocolTCP, Direction: secmsg.DirectionOut, Aggregate: seen,
			}),
		secmsg.NewEvent(secmsg.NameListeningPorts, fixedNow,
			secmsg.ListeningPort{
				Protocol: secmsg.ProtocolTCP, LocalAddress: "0.0.0.0", LocalPort: 4444, ProcessID: 4301,
				Executable: "/tmp/.x/nc", Change: secmsg.ChangeAdded,
			},
			secmsg.ListeningPort{Protocol: secmsg.ProtocolUDP6, LocalAddress: "::", LocalPort: 5353, Change: secmsg.ChangeRemoved}),
		secmsg.NewEvent(secmsg.NameFirewallConfiguration, fixedNow,
			secmsg.FirewallRule{
				Backend: secmsg.BackendNftables, Family: secmsg.FamilyInet, Table: "filter", ChainName: "input",
				Hook: secmsg.HookInput, IsDefaultPolicy: true, Action: secmsg.ActionDeny, Direction: secmsg.DirectionIn, Enabled: true,
			},
			secmsg.FirewallRule{
				Backend: secmsg.BackendNftables, Family: secmsg.FamilyInet, Table: "filter", ChainName: "input",
				Hook: secmsg.HookInput, Action: secmsg.ActionAllow, Protocol: "tcp", SourceAddress: "10.0.0.0/8",
				DestinationPort: "22", Direction: secmsg.DirectionIn, Enabled: true,
				Raw: `ip saddr 10.0.0.0/8 tcp dport 22 accept`,
			},
			secmsg.FirewallRule{
				Backend: secmsg.BackendIptables, Family: secmsg.FamilyIP, Table: "filter", ChainName: "INPUT",
				Hook: secmsg.HookInput, Action: secmsg.ActionJump, Target: "f2b-sshd", Protocol: "tcp",
				DestinationPort: "22", Direction: secmsg.DirectionIn, Enabled: true, Raw: "-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd",
			}),
		secmsg.NewEvent(secmsg.NameLocalUsers, fixedNow,
			secmsg.LocalUser{UserName: "root", UserID: 0, GroupID: 0, HomeDirectory: "/root", Shell: "/bin/bash", GroupNames: []string{"root"}},
			secmsg.LocalUser{
				UserName: "pi", UserID: 1000, GroupID: 1000, HomeDirectory: "/home/pi", Shell: "/bin/bash",
				GroupNames: []string{"adm", "pi", "sudo"},
			}),
		secmsg.NewEvent(secmsg.NameOSBaseline, fixedNow,
			secmsg.BaselineCheck{
				CheckID: "ssh.permit-root-login", Description: "SSH does not accept root logins", Result: secmsg.CheckFail,
				Severity: secmsg.SeverityHigh, Expected: "PermitRootLogin no", Actual: "PermitRootLogin yes",
				Remediation: "Set PermitRootLogin no in /etc/ssh/sshd_config and reload sshd.",
			},
			secmsg.BaselineCheck{
				CheckID: "fs.shadow-permissions", Result: secmsg.CheckError, Severity: secmsg.SeverityMedium,
				Error: "stat /etc/shadow: permission denied",
			}),
		secmsg.NewEvent(secmsg.NameSystemInformation, fixedNow,
			secmsg.SystemInformation{
				OSName: "Debian GNU/Linux", OSVersion: "12", KernelVersion: "6.1.0-rpi7-rpi-v8", HostName: "sensor-042",
				Architecture: "aarch64", Model: "Raspberry Pi 4 Model B Rev 1.4",
				TotalPhysicalMemoryInKB: 3884096, FreePhysicalMemoryInKB: 2710412, BootTime: "2025-03-10T06:00:12Z",
			}),
		secmsg.NewEvent(secmsg.NameDiagnostic, fixedNow,
			secmsg.Diagnostic{
				Severity: secmsg.DiagnosticWarning, Component: "collector/audit", ProcessID: 812,
				Message:   "audit netlink socket busy: falling back to /var/log/audit/audit.log",
				Aggregate: secmsg.Aggregate{HitCount: 3, FirstSeen: "2025-03-14T07:00:00Z", LastSeen: "2025-03-14T07:20:00Z"},
			}),
		secmsg.NewEvent(secmsg.NameConfigurationError, fixedNow,
			secmsg.ConfigurationError{
				ConfigurationName: "snapshot.interval", ErrorType: secmsg.ConfigOutOfBounds, UsedConfiguration: "1m",
				Message: "5s is below the minimum of 1m",
			}),
		secmsg.NewEvent(secmsg.NameDroppedEventsStatistics, fixedNow,
			secmsg.DroppedEvents{Event: secmsg.NameProcessCreate, Queue: secmsg.QueueLow, DroppedEvents: 120, Reason: "queue_full"}),
		secmsg.NewEvent(secmsg.NameMessageStatistics, fixedNow,
			secmsg.MessageStatistics{MessagesSent: 52, MessagesFailed: 2, EventsSent: 310, BytesSent: 198211}),
	}
	events[evListeningPorts].SnapshotMode = secmsg.SnapshotDiff
	events[evFirewall].SnapshotMode = secmsg.SnapshotFull
	for i := range events {
		events[i].ID = fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1)
	}
	return secmsg.NewMessage("1.0.0", agentID, events...)
}
