package secmsg

// Values of FirewallRule.Backend.
const (
	BackendNftables = "nftables"
	BackendIptables = "iptables" // iptables and ip6tables (legacy or nft-based)
)

// Values of FirewallRule.Family (nftables' families; iptables rules are
// "ip", ip6tables rules "ip6").
const (
	FamilyIP     = "ip"
	FamilyIP6    = "ip6"
	FamilyInet   = "inet"
	FamilyARP    = "arp"
	FamilyBridge = "bridge"
	FamilyNetdev = "netdev"
)

// Values of FirewallRule.Hook (lower case, as nftables writes them).
const (
	HookPrerouting  = "prerouting"
	HookInput       = "input"
	HookForward     = "forward"
	HookOutput      = "output"
	HookPostrouting = "postrouting"
	HookIngress     = "ingress"
	HookEgress      = "egress"
)

// Values of FirewallRule.Action.
const (
	ActionAllow  = "Allow"  // accept
	ActionDeny   = "Deny"   // drop
	ActionReject = "Reject" // reject with an answer
	ActionJump   = "Jump"   // jump to the chain Target
	ActionGoto   = "Goto"   // go to the chain Target
	ActionReturn = "Return" // return to the calling chain
	ActionLog    = "Log"    // log and continue
	ActionNAT    = "Nat"    // snat, dnat, masquerade, redirect
	ActionOther  = "Other"  // anything else (mark, counter, queue…); see Raw
)

// Values of BaselineCheck.Result.
const (
	CheckPass  = "Pass"
	CheckFail  = "Fail"
	CheckError = "Error" // the check could not run; Error says why
)

// Values of BaselineCheck.Severity.
const (
	SeverityCritical      = "Critical"
	SeverityHigh          = "High"
	SeverityMedium        = "Medium"
	SeverityLow           = "Low"
	SeverityInformational = "Informational"
)

// ListeningPort is one listening socket (ListeningPorts snapshot).
type ListeningPort struct {
	Protocol      string `json:"Protocol"`     // required: ProtocolTCP…
	LocalAddress  string `json:"LocalAddress"` // required: IP address ("0.0.0.0", "::" for any)
	LocalPort     int    `json:"LocalPort"`    // required, 1–65535
	RemoteAddress string `json:"RemoteAddress,omitempty"`
	RemotePort    int    `json:"RemotePort,omitempty"`
	ProcessID     int    `json:"ProcessId,omitempty"`  // owner, when the agent could read it
	Executable    string `json:"Executable,omitempty"` // owner, when the agent could read it
	Change        string `json:"Change,omitempty"`     // in a Diff snapshot: ChangeAdded…
}

// FirewallRule is one firewall rule or one chain's default policy
// (FirewallConfiguration snapshot).
type FirewallRule struct {
	Backend   string `json:"Backend"`   // required: BackendNftables or BackendIptables
	Family    string `json:"Family"`    // required: FamilyIP…
	Table     string `json:"Table"`     // required: e.g. "filter"
	ChainName string `json:"ChainName"` // required: e.g. "INPUT", "input"
	Hook      string `json:"Hook,omitempty"`
	Priority  int    `json:"Priority,omitempty"` // the chain's priority (nftables)
	// IsDefaultPolicy marks the chain's policy rather than a rule; its
	// Action is then ActionAllow or ActionDeny and it has no match fields.
	IsDefaultPolicy    bool   `json:"IsDefaultPolicy,omitempty"`
	Action             string `json:"Action"`           // required: ActionAllow…
	Target             string `json:"Target,omitempty"` // the chain of a Jump or Goto (required for them)
	Protocol           string `json:"Protocol,omitempty"`
	SourceAddress      string `json:"SourceAddress,omitempty"`      // as the backend writes it: "10.0.0.0/8", "!192.0.2.1"…
	SourcePort         string `json:"SourcePort,omitempty"`         // "22", "1000-2000", "{ 80, 443 }"…
	DestinationAddress string `json:"DestinationAddress,omitempty"` // like SourceAddress
	DestinationPort    string `json:"DestinationPort,omitempty"`    // like SourcePort
	Direction          string `json:"Direction,omitempty"`          // DirectionIn, DirectionOut or DirectionForward
	// Enabled is always written. Rules and policies read from the active
	// ruleset are enabled; false is for a rule a backend holds but does
	// not apply.
	Enabled bool   `json:"Enabled"`
	Raw     string `json:"Raw,omitempty"`    // the rule as the backend prints it
	Change  string `json:"Change,omitempty"` // in a Diff snapshot: ChangeAdded…
}

// LocalUser is one local account (LocalUsers snapshot). Its groups are a
// list in the user's item (there is no separate group event): adding a user
// to a group shows as a Change "Changed" of the user.
type LocalUser struct {
	UserName      string   `json:"UserName"` // required
	UserID        int64    `json:"UserId"`   // always written (0 is root)
	GroupID       int64    `json:"GroupId"`  // primary group; always written
	HomeDirectory string   `json:"HomeDirectory,omitempty"`
	Shell         string   `json:"Shell,omitempty"`
	GroupNames    []string `json:"GroupNames,omitempty"` // every group the user is in, primary included, sorted
	Change        string   `json:"Change,omitempty"`     // in a Diff snapshot: ChangeAdded…
}

// BaselineCheck is the result of one OS baseline check (OSBaseline
// snapshot).
type BaselineCheck struct {
	CheckID     string `json:"CheckId"` // required: stable identifier, e.g. "ssh.permit-root-login"
	Description string `json:"Description,omitempty"`
	Result      string `json:"Result"`   // required: CheckPass, CheckFail or CheckError
	Severity    string `json:"Severity"` // required: SeverityCritical…
	Expected    string `json:"Expected,omitempty"`
	Actual      string `json:"Actual,omitempty"`
	Error       string `json:"Error,omitempty"` // required when Result is CheckError
	Remediation string `json:"Remediation,omitempty"`
	Change      string `json:"Change,omitempty"` // in a Diff snapshot: ChangeAdded…
}

// SystemInformation describes the device (SystemInformation snapshot, one
// item).
type SystemInformation struct {
	OSName                  string `json:"OSName,omitempty"`    // os-release NAME
	OSVersion               string `json:"OSVersion,omitempty"` // os-release VERSION_ID
	KernelVersion           string `json:"KernelVersion"`       // required: uname release
	HostName                string `json:"HostName"`            // required
	Architecture            string `json:"Architecture"`        // required: uname machine, e.g. "aarch64"
	Model                   string `json:"Model,omitempty"`     // hardware model, e.g. from the device tree
	TotalPhysicalMemoryInKB int64  `json:"TotalPhysicalMemoryInKB,omitempty"`
	FreePhysicalMemoryInKB  int64  `json:"FreePhysicalMemoryInKB,omitempty"`
	BootTime                string `json:"BootTime,omitempty"` // RFC 3339 UTC
	Change                  string `json:"Change,omitempty"`   // in a Diff snapshot: ChangeAdded…
}

// EventName implements Item.
func (ListeningPort) EventName() string { return NameListeningPorts }

// EventName implements Item.
func (FirewallRule) EventName() string { return NameFirewallConfiguration }

// EventName implements Item.
func (LocalUser) EventName() string { return NameLocalUsers }

// EventName implements Item.
func (BaselineCheck) EventName() string { return NameOSBaseline }

// EventName implements Item.
func (SystemInformation) EventName() string { return NameSystemInformation }

// Key implements Item: Protocol|LocalAddress|LocalPort.
func (p ListeningPort) Key() string { return key(p.Protocol, p.LocalAddress, itoa(p.LocalPort)) }

// Key implements Item. A default policy is identified by its chain
// ("policy|Backend|Family|Table|ChainName"), so that a policy turned from
// Deny to Allow is "Changed"; a rule by everything it matches and does
// ("rule|Backend|Family|Table|ChainName|Action|Target|Protocol|…|Raw"), so
// that an edited rule is a removal and an addition. Rules have no position:
// two identical rules in a chain share a key.
func (r FirewallRule) Key() string {
	if r.IsDefaultPolicy {
		return key("policy", r.Backend, r.Family, r.Table, r.ChainName)
	}
	return key("rule", r.Backend, r.Family, r.Table, r.ChainName, r.Action, r.Target, r.Protocol,
		r.SourceAddress, r.SourcePort, r.DestinationAddress, r.DestinationPort, r.Direction, r.Raw)
}

// Key implements Item: the user name.
func (u LocalUser) Key() string { return key(u.UserName) }

// Key implements Item: the check id.
func (b BaselineCheck) Key() string { return key(b.CheckID) }

// Key implements Item: a constant, the device has one.
func (SystemInformation) Key() string { return NameSystemInformation }

func (p ListeningPort) check(c *checker) {
	c.enum("Protocol", p.Protocol, true, ProtocolTCP, ProtocolTCP6, ProtocolUDP, ProtocolUDP6)
	c.ip("LocalAddress", p.LocalAddress, true)
	c.port("LocalPort", p.LocalPort, true)
	c.ip("RemoteAddress", p.RemoteAddress, false)
	c.port("RemotePort", p.RemotePort, false)
	c.pid("ProcessId", p.ProcessID, false)
	c.str("Executable", p.Executable, false)
	c.change(p.Change)
}

func (r FirewallRule) check(c *checker) {
	c.enum("Backend", r.Backend, true, BackendNftables, BackendIptables)
	c.enum("Family", r.Family, true, FamilyIP, FamilyIP6, FamilyInet, FamilyARP, FamilyBridge, FamilyNetdev)
	c.str("Table", r.Table, true)
	c.str("ChainName", r.ChainName, true)
	c.enum("Hook", r.Hook, false, HookPrerouting, HookInput, HookForward, HookOutput, HookPostrouting, HookIngress, HookEgress)
	c.enum("Action", r.Action, true, ActionAllow, ActionDeny, ActionReject, ActionJump, ActionGoto,
		ActionReturn, ActionLog, ActionNAT, ActionOther)
	c.str("Target", r.Target, r.Action == ActionJump || r.Action == ActionGoto)
	c.str("Protocol", r.Protocol, false)
	c.str("SourceAddress", r.SourceAddress, false)
	c.str("SourcePort", r.SourcePort, false)
	c.str("DestinationAddress", r.DestinationAddress, false)
	c.str("DestinationPort", r.DestinationPort, false)
	c.enum("Direction", r.Direction, false, DirectionIn, DirectionOut, DirectionForward)
	c.str("Raw", r.Raw, false)
	if r.IsDefaultPolicy {
		if r.Action != ActionAllow && r.Action != ActionDeny {
			c.fail("Action", ReasonInconsistent, "a default policy is Allow or Deny, not %s", quote(r.Action))
		}
		if r.Target != "" || r.Protocol != "" || r.SourceAddress != "" || r.SourcePort != "" ||
			r.DestinationAddress != "" || r.DestinationPort != "" {
			c.fail("", ReasonInconsistent, "a default policy has no Target and no match fields")
		}
	}
	c.change(r.Change)
}

func (u LocalUser) check(c *checker) {
	c.str("UserName", u.UserName, true)
	c.uid("UserId", u.UserID)
	c.uid("GroupId", u.GroupID)
	c.str("HomeDirectory", u.HomeDirectory, false)
	c.str("Shell", u.Shell, false)
	c.strs("GroupNames", u.GroupNames)
	c.change(u.Change)
}

func (b BaselineCheck) check(c *checker) {
	c.str("CheckId", b.CheckID, true)
	c.str("Description", b.Description, false)
	c.enum("Result", b.Result, true, CheckPass, CheckFail, CheckError)
	c.enum("Severity", b.Severity, true, SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityInformational)
	c.str("Expected", b.Expected, false)
	c.str("Actual", b.Actual, false)
	c.str("Error", b.Error, b.Result == CheckError)
	c.str("Remediation", b.Remediation, false)
	c.change(b.Change)
}

func (s SystemInformation) check(c *checker) {
	c.str("OSName", s.OSName, false)
	c.str("OSVersion", s.OSVersion, false)
	c.str("KernelVersion", s.KernelVersion, true)
	c.str("HostName", s.HostName, true)
	c.str("Architecture", s.Architecture, true)
	c.str("Model", s.Model, false)
	c.count("TotalPhysicalMemoryInKB", s.TotalPhysicalMemoryInKB)
	c.count("FreePhysicalMemoryInKB", s.FreePhysicalMemoryInKB)
	if s.FreePhysicalMemoryInKB > s.TotalPhysicalMemoryInKB && s.TotalPhysicalMemoryInKB > 0 {
		c.fail("FreePhysicalMemoryInKB", ReasonInconsistent, "more than TotalPhysicalMemoryInKB")
	}
	c.utc("BootTime", s.BootTime, false)
	c.change(s.Change)
}
