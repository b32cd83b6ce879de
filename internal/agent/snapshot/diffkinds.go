package snapshot

import (
	"slices"
	"time"

	"github.com/moatsec/moat/internal/agent/snapshot/baseline"
	"github.com/moatsec/moat/internal/agent/snapshot/firewall"
	"github.com/moatsec/moat/internal/agent/snapshot/ports"
	"github.com/moatsec/moat/internal/agent/snapshot/sysinfo"
	"github.com/moatsec/moat/internal/agent/snapshot/users"
)

// DiffPorts keys listeners by protocol, address and port. A listener
// changes when another program (comm, executable) or user owns it; a new
// PID or inode alone (the same program restarted) is not a change.
func DiffPorts(prev, cur ports.Snapshot) []Change[ports.Listener] {
	return Diff(prev.Listeners, cur.Listeners, ports.Listener.Key, func(a, b ports.Listener) bool {
		return a.Comm == b.Comm && a.Executable == b.Executable && a.UID == b.UID && a.AllInterfaces == b.AllInterfaces
	})
}

// UsersDiff is the change of accounts and groups, each keyed by name.
type UsersDiff struct {
	Users  []Change[users.User]  `json:"users,omitempty"`
	Groups []Change[users.Group] `json:"groups,omitempty"`
}

// DiffUsers compares every field of users and groups.
func DiffUsers(prev, cur users.Snapshot) UsersDiff {
	return UsersDiff{
		Users: Diff(prev.Users, cur.Users, func(u users.User) string { return u.Name }, func(a, b users.User) bool {
			return a.UID == b.UID && a.GID == b.GID && a.PrimaryGroup == b.PrimaryGroup &&
				slices.Equal(a.Groups, b.Groups) && a.GECOS == b.GECOS && a.Home == b.Home &&
				a.Shell == b.Shell && a.LoginCapable == b.LoginCapable && a.Privileged == b.Privileged &&
				slices.Equal(a.PrivilegedBy, b.PrivilegedBy)
		}),
		Groups: Diff(prev.Groups, cur.Groups, func(g users.Group) string { return g.Name }, func(a, b users.Group) bool {
			return a.GID == b.GID && slices.Equal(a.Members, b.Members) && a.Privileged == b.Privileged
		}),
	}
}

// FirewallState is the part of a ruleset that says whether it filters.
type FirewallState struct {
	Backend      string          `json:"backend,omitempty"`
	Status       firewall.Status `json:"status"`
	StatusReason string          `json:"statusReason"`
	InputPolicy  string          `json:"inputPolicy,omitempty"`
}

// RuleEntry is a rule with the chain it is in.
type RuleEntry struct {
	Family   string        `json:"family"`
	Table    string        `json:"table"`
	Chain    string        `json:"chain"`
	Position int           `json:"position"` // 0-based, informative: not part of the key
	Rule     firewall.Rule `json:"rule"`
}

// Key is "family table chain rule-text": a rule that only moves within its
// chain keeps its key.
func (r RuleEntry) Key() string { return r.Family + " " + r.Table + " " + r.Chain + " " + r.Rule.Text }

// FirewallDiff is the change of a ruleset: its state (nil when the same),
// its chains (hook, priority, policy; keyed "family table name") and its
// rules (keyed by RuleEntry.Key).
type FirewallDiff struct {
	State  *Change[FirewallState]   `json:"state,omitempty"`
	Chains []Change[firewall.Chain] `json:"chains,omitempty"`
	Rules  []Change[RuleEntry]      `json:"rules,omitempty"`
}

// DiffFirewall compares two rulesets. A state change is the backend,
// status or input policy changing (the reason's counts alone are not).
func DiffFirewall(prev, cur firewall.Ruleset) FirewallDiff {
	var d FirewallDiff
	ps, cs := stateOf(prev), stateOf(cur)
	if ps.Backend != cs.Backend || ps.Status != cs.Status || ps.InputPolicy != cs.InputPolicy {
		d.State = &Change[FirewallState]{Op: Changed, Key: "state", Old: &ps, New: &cs}
	}
	d.Chains = Diff(heads(prev.Chains), heads(cur.Chains), firewall.Chain.Key, func(a, b firewall.Chain) bool {
		return a.Type == b.Type && a.Hook == b.Hook && a.Policy == b.Policy && samePrio(a.Priority, b.Priority)
	})
	d.Rules = Diff(rules(prev.Chains), rules(cur.Chains), RuleEntry.Key, func(a, b RuleEntry) bool {
		return a.Rule == b.Rule
	})
	return d
}

func stateOf(r firewall.Ruleset) FirewallState {
	return FirewallState{Backend: r.Backend, Status: r.Status, StatusReason: r.StatusReason, InputPolicy: r.InputPolicy}
}

func heads(chains []firewall.Chain) []firewall.Chain {
	out := make([]firewall.Chain, len(chains))
	for i, c := range chains {
		c.Rules = nil
		out[i] = c
	}
	return out
}

func rules(chains []firewall.Chain) []RuleEntry {
	var out []RuleEntry
	for _, c := range chains {
		for i, r := range c.Rules {
			out = append(out, RuleEntry{Family: c.Family, Table: c.Table, Chain: c.Name, Position: i, Rule: r})
		}
	}
	return out
}

func samePrio(a, b *int) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// DiffBaseline keys checks by id. A check changes when its result,
// severity, expectation or actual value does, or, for an Error, its reason.
func DiffBaseline(prev, cur baseline.Report) []Change[baseline.Check] {
	return Diff(prev.Checks, cur.Checks, func(c baseline.Check) string { return c.ID }, func(a, b baseline.Check) bool {
		same := a.Result == b.Result && a.Severity == b.Severity && a.Expected == b.Expected && a.Actual == b.Actual
		if same && a.Result == baseline.Error {
			same = a.Reason == b.Reason
		}
		return same
	})
}

// bootTimeJitter: the kernel derives btime from the wall clock, so it can
// move by a second between reads of the same boot.
const bootTimeJitter = 2 * time.Second

// DiffSystem keys system information by field name (sysinfo.Info.Fields:
// free memory is not compared). Boot times within bootTimeJitter are the
// same boot.
func DiffSystem(prev, cur sysinfo.Info) []Change[sysinfo.Field] {
	return Diff(prev.Fields(), cur.Fields(), func(f sysinfo.Field) string { return f.Name }, func(a, b sysinfo.Field) bool {
		if a.Name == "boot_time" && a.Value != "" && b.Value != "" {
			ta, errA := time.Parse(time.RFC3339, a.Value)
			tb, errB := time.Parse(time.RFC3339, b.Value)
			if errA == nil && errB == nil {
				d := ta.Sub(tb)
				return d <= bootTimeJitter && d >= -bootTimeJitter
			}
		}
		return a.Value == b.Value
	})
}
