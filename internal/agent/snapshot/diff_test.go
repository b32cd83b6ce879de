package snapshot

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/internal/agent/snapshot/baseline"
	"github.com/moatsec/moat/internal/agent/snapshot/firewall"
	"github.com/moatsec/moat/internal/agent/snapshot/ports"
	"github.com/moatsec/moat/internal/agent/snapshot/sysinfo"
	"github.com/moatsec/moat/internal/agent/snapshot/users"
)

type item struct{ K, V string }

func ops[T any](cs []Change[T]) []string {
	var out []string
	for _, c := range cs {
		out = append(out, string(c.Op)+" "+c.Key)
	}
	return out
}

func TestDiffGeneric(t *testing.T) {
	key := func(i item) string { return i.K }
	eq := func(a, b item) bool { return a.V == b.V }
	prev := []item{{"b", "1"}, {"a", "1"}, {"dup", "x"}, {"dup", "y"}, {"gone", ""}}
	cur := []item{{"c", "1"}, {"a", "2"}, {"dup", "x"}, {"b", "1"}}
	got := Diff(prev, cur, key, eq)
	want := []string{"changed a", "added c", "removed dup#2", "removed gone"}
	if diff := cmp.Diff(want, ops(got)); diff != "" {
		t.Fatal(diff)
	}
	for _, c := range got {
		switch c.Op {
		case Added:
			if c.Old != nil || c.New == nil {
				t.Errorf("added with %v %v", c.Old, c.New)
			}
		case Removed:
			if c.Old == nil || c.New != nil {
				t.Errorf("removed with %v %v", c.Old, c.New)
			}
		case Changed:
			if c.Old.V != "1" || c.New.V != "2" {
				t.Errorf("changed %v -> %v", c.Old, c.New)
			}
		}
	}
	// Input order does not matter.
	slices.Reverse(cur)
	if diff := cmp.Diff(want, ops(Diff(prev, cur, key, eq))); diff != "" {
		t.Fatal("order-dependent:", diff)
	}
	if Diff(prev, prev, key, eq) != nil {
		t.Fatal("no change expected")
	}
}

func TestDiffPorts(t *testing.T) {
	ssh := ports.Listener{Protocol: "tcp", LocalAddress: "0.0.0.0", LocalPort: 22, AllInterfaces: true, PID: 10, Inode: 1, Comm: "sshd", Executable: "/usr/sbin/sshd"}
	restarted := ssh
	restarted.PID, restarted.Inode = 99, 7
	hijacked := ssh
	hijacked.Comm, hijacked.Executable = "nc", "/bin/nc"
	web := ports.Listener{Protocol: "tcp6", LocalAddress: "::", LocalPort: 80}

	if d := DiffPorts(ports.Snapshot{Listeners: []ports.Listener{ssh}}, ports.Snapshot{Listeners: []ports.Listener{restarted}}); d != nil {
		t.Errorf("restart reported: %v", ops(d))
	}
	d := DiffPorts(ports.Snapshot{Listeners: []ports.Listener{ssh}}, ports.Snapshot{Listeners: []ports.Listener{hijacked, web}})
	if diff := cmp.Diff([]string{"changed tcp 0.0.0.0:22", "added tcp6 [::]:80"}, ops(d)); diff != "" {
		t.Error(diff)
	}
}

func TestDiffUsers(t *testing.T) {
	prev := users.Snapshot{
		Users:  []users.User{{Name: "root", UID: 0}, {Name: "ops", UID: 1000, Groups: []string{"adm"}}},
		Groups: []users.Group{{Name: "sudo", GID: 27}},
	}
	cur := users.Snapshot{
		Users:  []users.User{{Name: "root", UID: 0}, {Name: "ops", UID: 1000, Groups: []string{"adm", "sudo"}, Privileged: true}, {Name: "toor", UID: 0}},
		Groups: []users.Group{{Name: "sudo", GID: 27, Members: []string{"ops"}}},
	}
	d := DiffUsers(prev, cur)
	if diff := cmp.Diff([]string{"changed ops", "added toor"}, ops(d.Users)); diff != "" {
		t.Error(diff)
	}
	if diff := cmp.Diff([]string{"changed sudo"}, ops(d.Groups)); diff != "" {
		t.Error(diff)
	}
}

func chain(policy string, rules ...firewall.Rule) firewall.Chain {
	return firewall.Chain{Family: "inet", Table: "filter", Name: "input", Type: "filter", Hook: "input", Priority: new(int), Policy: policy, Rules: rules}
}

func TestDiffFirewall(t *testing.T) {
	lo := firewall.Rule{Action: "accept", Text: "iifname lo accept"}
	ssh := firewall.Rule{Action: "accept", Text: "tcp dport 22 accept", Comment: "ssh"}
	sshRenamed := ssh
	sshRenamed.Comment = "ssh (ops)"
	web := firewall.Rule{Action: "accept", Text: "tcp dport 80 accept"}
	rs := func(policy string, rules ...firewall.Rule) firewall.Ruleset {
		r := firewall.Ruleset{Backend: firewall.BackendNftables, Chains: []firewall.Chain{chain(policy, rules...)}}
		r.Assess()
		return r
	}

	// Reordering rules is not a change (position-independent keys).
	if d := DiffFirewall(rs("drop", lo, ssh), rs("drop", ssh, lo)); d.State != nil || d.Chains != nil || d.Rules != nil {
		t.Errorf("reorder reported: %+v", d)
	}
	// The count in the status reason alone is not a state change.
	d := DiffFirewall(rs("drop", lo, ssh), rs("drop", lo, sshRenamed, web))
	if d.State != nil {
		t.Errorf("state changed: %+v", d.State)
	}
	if diff := cmp.Diff([]string{"changed inet filter input tcp dport 22 accept", "added inet filter input tcp dport 80 accept"}, ops(d.Rules)); diff != "" {
		t.Error(diff)
	}
	if d.Rules[1].New.Position != 2 {
		t.Errorf("position = %d", d.Rules[1].New.Position)
	}
	// Policy drop -> accept: chain and state change.
	d = DiffFirewall(rs("drop", lo), rs("accept", lo))
	if d.State == nil || d.State.Old.Status != firewall.StatusFiltering || d.State.New.Status != firewall.StatusOpen || d.State.New.InputPolicy != "accept" {
		t.Errorf("state = %+v", d.State)
	}
	if diff := cmp.Diff([]string{"changed inet filter input"}, ops(d.Chains)); diff != "" {
		t.Error(diff)
	}
	if d.Chains[0].New.Rules != nil {
		t.Error("chain change carries rules")
	}
	// Firewall flushed: everything removed, state none.
	empty := firewall.Ruleset{Backend: firewall.BackendNftables}
	empty.Assess()
	d = DiffFirewall(rs("drop", lo), empty)
	if d.State == nil || d.State.New.Status != firewall.StatusNone || len(d.Chains) != 1 || len(d.Rules) != 1 {
		t.Errorf("flush: %+v", d)
	}
	// Duplicate rules are told apart.
	d = DiffFirewall(rs("drop", lo), rs("drop", lo, lo))
	if diff := cmp.Diff([]string{"added inet filter input iifname lo accept#2"}, ops(d.Rules)); diff != "" {
		t.Error(diff)
	}
	// Priority change.
	moved := rs("drop", lo)
	moved.Chains[0].Priority = new(int)
	*moved.Chains[0].Priority = -10
	if d := DiffFirewall(rs("drop", lo), moved); len(d.Chains) != 1 {
		t.Errorf("priority change not seen: %+v", d)
	}
}

func TestDiffBaseline(t *testing.T) {
	c := func(id string, r baseline.Result, actual, reason string) baseline.Check {
		return baseline.Check{ID: id, Result: r, Actual: actual, Reason: reason, Severity: baseline.High}
	}
	prev := baseline.Report{Checks: []baseline.Check{
		c("a", baseline.Pass, "no", "f:1"), c("b", baseline.Error, "", "permission denied"), c("c", baseline.Pass, "0", "x"),
	}}
	cur := baseline.Report{Checks: []baseline.Check{
		c("a", baseline.Pass, "no", "f:7"), // moved line: not a change
		c("b", baseline.Error, "", "file does not exist"),
		c("c", baseline.Fail, "1", "x"),
		c("d", baseline.Pass, "", ""),
	}}
	if diff := cmp.Diff([]string{"changed b", "changed c", "added d"}, ops(DiffBaseline(prev, cur))); diff != "" {
		t.Error(diff)
	}
}

func TestDiffSystem(t *testing.T) {
	boot := time.Unix(1717171717, 0)
	prev := sysinfo.Info{Hostname: "a", MemTotalBytes: 10, MemAvailableBytes: 5, BootTime: boot}
	cur := prev
	cur.MemAvailableBytes = 1
	cur.BootTime = boot.Add(time.Second)
	if d := DiffSystem(prev, cur); d != nil {
		t.Errorf("jitter or free memory reported: %v", ops(d))
	}
	cur.BootTime = boot.Add(time.Hour)
	cur.Hostname = "b"
	if diff := cmp.Diff([]string{"changed boot_time", "changed hostname"}, ops(DiffSystem(prev, cur))); diff != "" {
		t.Error(diff)
	}
	cur = prev
	cur.BootTime = time.Time{}
	if diff := cmp.Diff([]string{"changed boot_time"}, ops(DiffSystem(prev, cur))); diff != "" {
		t.Error("boot time lost:", diff)
	}
}

func TestTracker(t *testing.T) {
	var tr Tracker
	s1 := Snapshot{System: sysinfo.Info{Hostname: "a"}}
	if d := tr.Delta(s1); !d.Full || d.Empty() {
		t.Fatalf("first delta: %+v", d)
	}
	// Not committed (the send failed): still full.
	if d := tr.Delta(s1); !d.Full {
		t.Fatal("uncommitted reference moved")
	}
	tr.Commit(s1)
	if d := tr.Delta(s1); d.Full || !d.Empty() {
		t.Fatalf("same snapshot: %+v", d)
	}
	s2 := s1
	s2.Ports.Listeners = []ports.Listener{{Protocol: "tcp", LocalAddress: "0.0.0.0", LocalPort: 23}}
	d := tr.Delta(s2)
	if d.Empty() || len(d.Ports) != 1 || d.Ports[0].Op != Added {
		t.Fatalf("new port: %+v", d)
	}
	tr.Commit(s2)
	if d := tr.Delta(s2); !d.Empty() {
		t.Fatal("committed snapshot differs from itself")
	}
	tr.Reset()
	if d := tr.Delta(s2); !d.Full {
		t.Fatal("reset did not force a full snapshot")
	}
}

func TestKinds(t *testing.T) {
	var names []string
	for _, k := range Kinds() {
		names = append(names, string(k))
	}
	if strings.Join(names, ",") != "sysinfo,ports,firewall,users,baseline" {
		t.Fatal(names)
	}
}
