package secmsg

// Values of Login.Operation.
const (
	OperationLogin  = "Login"
	OperationLogout = "Logout"
)

// Values of Login.Result.
const (
	ResultSuccess = "Success"
	ResultFail    = "Fail"
)

// Common values of Login.AuthMethod (sshd's names; any short lower-case
// token is accepted).
const (
	AuthPassword            = "password"
	AuthPublicKey           = "publickey"
	AuthKeyboardInteractive = "keyboard-interactive"
	AuthHostBased           = "hostbased"
	AuthGSSAPI              = "gssapi-with-mic"
	AuthNone                = "none"
)

// Values of Login.Source (a Moat extension): where the agent read the login.
const (
	SourceAuthLog = "authlog" // sshd/PAM lines of the system log (auth.log, secure, journal)
	SourceAudit   = "audit"   // Linux audit records (USER_AUTH, USER_LOGIN…)
)

// Values of ConnectionCreate.Protocol and ListeningPort.Protocol.
const (
	ProtocolTCP  = "tcp"
	ProtocolTCP6 = "tcp6"
	ProtocolUDP  = "udp"
	ProtocolUDP6 = "udp6"
)

// Values of ConnectionCreate.Direction and FirewallRule.Direction.
const (
	DirectionIn      = "In"
	DirectionOut     = "Out"
	DirectionForward = "Forward" // firewall rules only
)

// ProcessCreate is a process started (execve).
type ProcessCreate struct {
	Executable      string `json:"Executable"`                // required: path of the executable
	ProcessID       int    `json:"ProcessId"`                 // required, > 0
	ParentProcessID int    `json:"ParentProcessId,omitempty"` // 0 when unknown
	UserID          int64  `json:"UserId"`                    // real user id; always written (0 is root)
	UserName        string `json:"UserName,omitempty"`
	CommandLine     string `json:"CommandLine,omitempty"` // arguments joined by spaces
	Aggregate
}

// ProcessTerminate is a process that exited.
type ProcessTerminate struct {
	Executable string `json:"Executable,omitempty"`
	ProcessID  int    `json:"ProcessId"`  // required, > 0
	ExitStatus int    `json:"ExitStatus"` // always written (0 is success)
	Aggregate
}

// Login is a login or logout attempt, successful or not. Its Moat
// extensions are AuthMethod, InvalidUser and Source.
type Login struct {
	ProcessID  int    `json:"ProcessId,omitempty"`  // the authenticating process (sshd's child)
	UserName   string `json:"UserName,omitempty"`   // the name given, even if no such user exists
	Operation  string `json:"Operation"`            // required: OperationLogin or OperationLogout
	Executable string `json:"Executable,omitempty"` // e.g. /usr/sbin/sshd
	// RemoteAddress is an IP address or, when PAM reported the peer by
	// name (sshd with UseDNS), a host name. Empty for a local login.
	RemoteAddress string `json:"RemoteAddress,omitempty"`
	RemotePort    int    `json:"RemotePort,omitempty"`
	LocalPort     int    `json:"LocalPort,omitempty"`
	Result        string `json:"Result"`                // required: ResultSuccess or ResultFail
	AuthMethod    string `json:"AuthMethod,omitempty"`  // e.g. AuthPassword
	InvalidUser   bool   `json:"InvalidUser,omitempty"` // the user name does not exist on the device
	Source        string `json:"Source,omitempty"`      // SourceAuthLog or SourceAudit
	Aggregate
}

// ConnectionCreate is a network connection opened (Out) or accepted (In).
type ConnectionCreate struct {
	Executable    string `json:"Executable,omitempty"`
	ProcessID     int    `json:"ProcessId,omitempty"`
	CommandLine   string `json:"CommandLine,omitempty"`
	UserID        int64  `json:"UserId"`        // always written (0 is root)
	RemoteAddress string `json:"RemoteAddress"` // required: IP address
	RemotePort    int    `json:"RemotePort"`    // required, 1–65535
	LocalAddress  string `json:"LocalAddress,omitempty"`
	LocalPort     int    `json:"LocalPort,omitempty"`
	Protocol      string `json:"Protocol"`  // required: ProtocolTCP…
	Direction     string `json:"Direction"` // required: DirectionIn or DirectionOut
	Aggregate
}

// EventName implements Item.
func (ProcessCreate) EventName() string { return NameProcessCreate }

// EventName implements Item.
func (ProcessTerminate) EventName() string { return NameProcessTerminate }

// EventName implements Item.
func (Login) EventName() string { return NameLogin }

// EventName implements Item.
func (ConnectionCreate) EventName() string { return NameConnectionCreate }

// Key implements Item: every field but the aggregation fields.
func (p ProcessCreate) Key() string {
	return key(p.Executable, itoa(p.ProcessID), itoa(p.ParentProcessID), itoa(p.UserID), p.UserName, p.CommandLine)
}

// Key implements Item: every field but the aggregation fields.
func (p ProcessTerminate) Key() string {
	return key(p.Executable, itoa(p.ProcessID), itoa(p.ExitStatus))
}

// Key implements Item: every field but the aggregation fields. An agent
// that aggregates failed logins from one source clears what varies between
// attempts (ProcessID, RemotePort) first.
func (l Login) Key() string {
	return key(itoa(l.ProcessID), l.UserName, l.Operation, l.Executable, l.RemoteAddress,
		itoa(l.RemotePort), itoa(l.LocalPort), l.Result, l.AuthMethod, btoa(l.InvalidUser), l.Source)
}

// Key implements Item: every field but the aggregation fields.
func (c ConnectionCreate) Key() string {
	return key(c.Executable, itoa(c.ProcessID), c.CommandLine, itoa(c.UserID), c.RemoteAddress,
		itoa(c.RemotePort), c.LocalAddress, itoa(c.LocalPort), c.Protocol, c.Direction)
}

func (p ProcessCreate) check(c *checker) {
	c.str("Executable", p.Executable, true)
	c.pid("ProcessId", p.ProcessID, true)
	c.pid("ParentProcessId", p.ParentProcessID, false)
	c.uid("UserId", p.UserID)
	c.str("UserName", p.UserName, false)
	c.str("CommandLine", p.CommandLine, false)
	c.aggregate(p.Aggregate)
}

func (p ProcessTerminate) check(c *checker) {
	c.str("Executable", p.Executable, false)
	c.pid("ProcessId", p.ProcessID, true)
	c.aggregate(p.Aggregate)
}

func (l Login) check(c *checker) {
	c.pid("ProcessId", l.ProcessID, false)
	c.str("UserName", l.UserName, false)
	c.enum("Operation", l.Operation, true, OperationLogin, OperationLogout)
	c.str("Executable", l.Executable, false)
	c.hostOrIP("RemoteAddress", l.RemoteAddress, false)
	c.port("RemotePort", l.RemotePort, false)
	c.port("LocalPort", l.LocalPort, false)
	c.enum("Result", l.Result, true, ResultSuccess, ResultFail)
	c.token("AuthMethod", l.AuthMethod)
	c.enum("Source", l.Source, false, SourceAuthLog, SourceAudit)
	c.aggregate(l.Aggregate)
}

func (cc ConnectionCreate) check(c *checker) {
	c.str("Executable", cc.Executable, false)
	c.pid("ProcessId", cc.ProcessID, false)
	c.str("CommandLine", cc.CommandLine, false)
	c.uid("UserId", cc.UserID)
	c.ip("RemoteAddress", cc.RemoteAddress, true)
	c.port("RemotePort", cc.RemotePort, true)
	c.ip("LocalAddress", cc.LocalAddress, false)
	c.port("LocalPort", cc.LocalPort, false)
	c.enum("Protocol", cc.Protocol, true, ProtocolTCP, ProtocolTCP6, ProtocolUDP, ProtocolUDP6)
	c.enum("Direction", cc.Direction, true, DirectionIn, DirectionOut)
	c.aggregate(cc.Aggregate)
}
