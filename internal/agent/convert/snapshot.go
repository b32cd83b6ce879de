package convert

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/moatsec/moat/internal/agent/snapshot"
	"github.com/moatsec/moat/internal/agent/snapshot/baseline"
	"github.com/moatsec/moat/internal/agent/snapshot/firewall"
	"github.com/moatsec/moat/internal/agent/snapshot/ports"
	"github.com/moatsec/moat/internal/agent/snapshot/sysinfo"
	"github.com/moatsec/moat/internal/agent/snapshot/users"
	"github.com/moatsec/moat/secmsg"
)

// Snapshots turns a snapshot.Collector's kinds into secmsg items; it is the
// agent's SnapshotSource.
type Snapshots struct{ C *snapshot.Collector }

// Items returns the current items of one Periodic event name.
func (s Snapshots) Items(ctx context.Context, name string) ([]secmsg.Item, error) {
	switch name {
	case secmsg.NameListeningPorts:
		return Ports(s.C.Ports(ctx)), nil
	case secmsg.NameFirewallConfiguration:
		rs := s.C.Firewall(ctx)
		if rs.Status == firewall.StatusUnknown {
			// Not "no rules": the rules could not be read. Sending an
			// empty snapshot would report the firewall as gone.
			why := rs.StatusReason
			for _, p := range rs.Problems {
				why += "; " + p.File + ": " + p.Reason
			}
			return nil, fmt.Errorf("firewall not read: %s", why)
		}
		return Firewall(rs), nil
	case secmsg.NameLocalUsers:
		return Users(s.C.Users()), nil
	case secmsg.NameOSBaseline:
		return Baseline(s.C.Baseline()), nil
	case secmsg.NameSystemInformation:
		return System(s.C.System()), nil
	}
	return nil, fmt.Errorf("convert: %q is not a snapshot event", name)
}

// Ports converts listening sockets.
func Ports(p ports.Snapshot) []secmsg.Item {
	out := make([]secmsg.Item, 0, len(p.Listeners))
	for _, l := range p.Listeners {
		if l.LocalPort == 0 {
			continue
		}
		exe := l.Executable
		if exe == "" {
			exe = l.Comm
		}
		out = append(out, secmsg.ListeningPort{Protocol: l.Protocol, LocalAddress: l.LocalAddress, LocalPort: int(l.LocalPort),
			ProcessID: max(l.PID, 0), Executable: clip(exe, 1024)})
	}
	return dedupe(out)
}

var actions = map[string]string{
	"accept": secmsg.ActionAllow, "drop": secmsg.ActionDeny, "reject": secmsg.ActionReject,
	"jump": secmsg.ActionJump, "goto": secmsg.ActionGoto, "return": secmsg.ActionReturn, "log": secmsg.ActionLog,
	"masquerade": secmsg.ActionNAT, "snat": secmsg.ActionNAT, "dnat": secmsg.ActionNAT, "redirect": secmsg.ActionNAT,
}

var directions = map[string]string{"input": secmsg.DirectionIn, "output": secmsg.DirectionOut, "forward": secmsg.DirectionForward}

// Firewall converts a ruleset: each chain's default policy, then its rules.
func Firewall(r firewall.Ruleset) []secmsg.Item {
	backend := secmsg.BackendNftables
	if r.Backend == firewall.BackendIptables {
		backend = secmsg.BackendIptables
	}
	var out []secmsg.Item
	for _, c := range r.Chains {
		base := secmsg.FirewallRule{Backend: backend, Family: c.Family, Table: clip(c.Table, 256), ChainName: clip(c.Name, 256),
			Hook: c.Hook, Direction: directions[c.Hook], Enabled: true}
		if c.Priority != nil {
			base.Priority = *c.Priority
		}
		if c.Policy != "" {
			p := base
			p.IsDefaultPolicy = true
			p.Action = secmsg.ActionAllow
			if c.Policy == "drop" {
				p.Action = secmsg.ActionDeny
			}
			out = append(out, p)
		}
		for _, rule := range c.Rules {
			it := base
			it.Action = actions[rule.Action]
			if it.Action == "" {
				it.Action = secmsg.ActionOther
			}
			if it.Action == secmsg.ActionJump || it.Action == secmsg.ActionGoto {
				if rule.Target == "" {
					it.Action = secmsg.ActionOther
				}
				it.Target = clip(rule.Target, 256)
			}
			it.Protocol = clip(rule.Protocol, 64)
			it.SourceAddress, it.DestinationAddress = clip(rule.Source, 256), clip(rule.Destination, 256)
			it.SourcePort, it.DestinationPort = clip(rule.SourcePort, 256), clip(rule.DestinationPort, 256)
			it.Raw = clip(rule.Text, 1024)
			out = append(out, it)
		}
	}
	return dedupe(out)
}

// Users converts local users, with every group each is in.
func Users(u users.Snapshot) []secmsg.Item {
	out := make([]secmsg.Item, 0, len(u.Users))
	for _, usr := range u.Users {
		groups := slices.Clone(usr.Groups)
		if usr.PrimaryGroup != "" && !slices.Contains(groups, usr.PrimaryGroup) {
			groups = append(groups, usr.PrimaryGroup)
		}
		slices.Sort(groups)
		out = append(out, secmsg.LocalUser{UserName: clip(usr.Name, 256), UserID: int64(usr.UID), GroupID: int64(usr.GID),
			HomeDirectory: clip(usr.Home, 1024), Shell: clip(usr.Shell, 1024), GroupNames: groups})
	}
	return dedupe(out)
}

// Baseline converts baseline checks.
func Baseline(r baseline.Report) []secmsg.Item {
	out := make([]secmsg.Item, 0, len(r.Checks))
	for _, c := range r.Checks {
		it := secmsg.BaselineCheck{CheckID: c.ID, Description: clip(c.Description, 1024), Result: string(c.Result),
			Severity: string(c.Severity), Expected: clip(c.Expected, 1024), Actual: clip(c.Actual, 1024),
			Remediation: clip(c.Remediation, 2048)}
		if c.Result == baseline.Error {
			it.Error = clip(c.Reason, 1024)
			if it.Error == "" {
				it.Error = "the check could not run"
			}
		}
		out = append(out, it)
	}
	return dedupe(out)
}

// System converts system information (one item).
func System(i sysinfo.Info) []secmsg.Item {
	it := secmsg.SystemInformation{OSName: clip(i.OSName, 256), OSVersion: clip(i.OSVersionID, 256), KernelVersion: clip(i.Kernel, 256),
		HostName: clip(i.Hostname, 256), Architecture: i.Arch,
		TotalPhysicalMemoryInKB: int64(i.MemTotalBytes / 1024), FreePhysicalMemoryInKB: int64(i.MemAvailableBytes / 1024)}
	if it.KernelVersion == "" {
		it.KernelVersion = "unknown"
	}
	if it.HostName == "" {
		it.HostName = "unknown"
	}
	if !i.BootTime.IsZero() {
		it.BootTime = i.BootTime.UTC().Truncate(time.Minute).Format(time.RFC3339) // boot time read twice differs by jitter
	}
	return []secmsg.Item{it}
}

// dedupe drops items whose key repeats (the first one wins), so a snapshot
// never holds two items a difference could not tell apart.
func dedupe(items []secmsg.Item) []secmsg.Item {
	seen := make(map[string]bool, len(items))
	out := items[:0]
	for _, it := range items {
		k := it.Key()
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, it)
	}
	return out
}
