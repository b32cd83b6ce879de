package firewall

import (
	"github.com/moatsec/moat/internal/agent/snapshot/hostfs"
)

// Status says whether the ruleset filters anything.
type Status string

const (
	// StatusNone: no tables or no chains: no firewall at all.
	StatusNone Status = "none"
	// StatusOpen: chains exist but every policy is accept and no rule
	// drops or rejects: the firewall lets everything through.
	StatusOpen Status = "open"
	// StatusFiltering: some policy drops or some rule drops or rejects.
	StatusFiltering Status = "filtering"
	// StatusUnknown: no source could be read; see Problems.
	StatusUnknown Status = "unknown"
)

// Backends.
const (
	BackendNftables = "nftables"
	BackendIptables = "iptables"
)

// Ruleset is a device's firewall.
type Ruleset struct {
	Backend      string `json:"backend,omitempty"` // BackendNftables, BackendIptables or ""
	Source       string `json:"source,omitempty"`  // command line or "file PATH"
	Status       Status `json:"status"`
	StatusReason string `json:"statusReason"`
	// InputPolicy is "drop" when any base chain at the input hook drops
	// by default (a packet must pass every such chain), "accept" when
	// input chains exist and all accept, "" when there is none.
	InputPolicy string           `json:"inputPolicy,omitempty"`
	Tables      []Table          `json:"tables,omitempty"`
	Chains      []Chain          `json:"chains,omitempty"`
	Problems    []hostfs.Problem `json:"problems,omitempty"`
}

// Table is a table, listed so that tables without chains still count.
type Table struct {
	Family string `json:"family"`
	Name   string `json:"name"`
}

// Chain is a chain with its rules in order. Base chains (attached to a
// hook) have Type, Hook, Priority and Policy; regular chains only rules.
type Chain struct {
	Family   string `json:"family"` // ip, ip6, inet, arp, bridge, netdev
	Table    string `json:"table"`
	Name     string `json:"name"`
	Type     string `json:"type,omitempty"` // filter, nat, route
	Hook     string `json:"hook,omitempty"` // prerouting, input, forward, output, postrouting, ingress, egress
	Priority *int   `json:"priority,omitempty"`
	Policy   string `json:"policy,omitempty"` // accept or drop
	Rules    []Rule `json:"rules,omitempty"`
}

// Key identifies a chain across snapshots: "family table name".
func (c Chain) Key() string { return c.Family + " " + c.Table + " " + c.Name }

// Rule is one rule. Fields other than Text are filled when the rule
// expresses them simply (a single match); Text always holds the whole rule
// without counters, in the backend's own syntax.
type Rule struct {
	Action          string `json:"action,omitempty"` // accept, drop, reject, jump, goto, return, log, masquerade, …; "" when the rule only counts or marks
	Target          string `json:"target,omitempty"` // chain of jump/goto
	Protocol        string `json:"protocol,omitempty"`
	Source          string `json:"source,omitempty"`
	Destination     string `json:"destination,omitempty"`
	SourcePort      string `json:"sourcePort,omitempty"`
	DestinationPort string `json:"destinationPort,omitempty"`
	InInterface     string `json:"inInterface,omitempty"`
	OutInterface    string `json:"outInterface,omitempty"`
	State           string `json:"state,omitempty"` // conntrack states, e.g. "established,related"
	Comment         string `json:"comment,omitempty"`
	Text            string `json:"text"`
}

// builtinChain gives the hook, type and priority of iptables' built-in chains.
func builtinChain(table, chain string) (hook, typ string, prio int, ok bool) {
	hooks := map[string]string{"PREROUTING": "prerouting", "INPUT": "input", "FORWARD": "forward", "OUTPUT": "output", "POSTROUTING": "postrouting"}
	hook, ok = hooks[chain]
	if !ok {
		return "", "", 0, false
	}
	switch table {
	case "filter":
		return hook, "filter", 0, hook == "input" || hook == "forward" || hook == "output"
	case "nat":
		if hook == "forward" {
			return "", "", 0, false
		}
		if hook == "prerouting" || hook == "output" {
			return hook, "nat", -100, true
		}
		return hook, "nat", 100, true
	case "mangle":
		if hook == "output" {
			return hook, "route", -150, true
		}
		return hook, "filter", -150, true
	case "raw":
		return hook, "filter", -300, hook == "prerouting" || hook == "output"
	case "security":
		return hook, "filter", 50, hook == "input" || hook == "forward" || hook == "output"
	}
	return "", "", 0, false
}
