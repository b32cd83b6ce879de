package audit

import "time"

// Kind names an event type.
type Kind string

// The event kinds this package produces.
const (
	KindLogin            Kind = "Login"
	KindProcessCreate    Kind = "ProcessCreate"
	KindConnectionCreate Kind = "ConnectionCreate"
	KindProcessTerminate Kind = "ProcessTerminate"
)

// Event is one of *Login, *ProcessCreate, *ConnectionCreate,
// *ProcessTerminate.
type Event interface {
	Kind() Kind
	// Meta returns the fields every event has.
	Meta() Header
}

// Header holds what every event carries.
type Header struct {
	Time   time.Time `json:"time"`           // timestamp of the audit event (kernel or PAM clock)
	Serial uint32    `json:"serial"`         // audit event serial, msg=audit(TIME:SERIAL)
	Node   string    `json:"node,omitempty"` // node= prefix of the log line, when auditd writes one
}

// Result is the outcome of a login step.
type Result string

// Login results.
const (
	ResultSuccess Result = "success"
	ResultFailure Result = "failure"
)

// Direction of a connection seen from this device.
type Direction string

// Connection directions.
const (
	DirectionOut Direction = "Out" // connect
	DirectionIn  Direction = "In"  // accept, accept4
)

// Unknown is the value of numeric identity fields (UIDs, AUIDs) that the
// record does not carry or marks unset (4294967295).
const Unknown int64 = -1

// Login is one PAM or sshd record about an authentication or session step:
// USER_AUTH, USER_ACCT, USER_LOGIN, USER_LOGOUT, USER_ERR, USER_START,
// USER_END. One password attempt yields one USER_AUTH; see the doc for which
// records to count.
type Login struct {
	Header
	RecordType string `json:"recordType"`           // e.g. USER_AUTH
	Op         string `json:"op,omitempty"`         // e.g. PAM:authentication, login
	User       string `json:"user,omitempty"`       // account name (acct=, or id= resolved)
	UserID     int64  `json:"userId"`               // id= of USER_LOGIN, else Unknown
	Result     Result `json:"result"`               // success or failure
	RemoteAddr string `json:"remoteAddr,omitempty"` // addr=
	Hostname   string `json:"hostname,omitempty"`   // hostname=
	Terminal   string `json:"terminal,omitempty"`   // terminal=
	Executable string `json:"executable,omitempty"` // exe= of the reporting program (sshd, login, su)
	PID        int    `json:"pid,omitempty"`        // pid of the reporting program
	UID        int64  `json:"uid"`                  // uid of the reporting program
	AUID       int64  `json:"auid"`                 // login uid of the reporting program
	Session    string `json:"session,omitempty"`    // ses=
}

// ProcessCreate is a successful execve or execveat.
type ProcessCreate struct {
	Header
	Executable  string   `json:"executable"`
	CommandLine string   `json:"commandLine"`         // Args joined; arguments needing it are single-quoted
	Args        []string `json:"args,omitempty"`      // argv, decoded from hex where the kernel encoded it
	Truncated   bool     `json:"truncated,omitempty"` // Args or CommandLine were cut to the configured limits
	CWD         string   `json:"cwd,omitempty"`
	PID         int      `json:"pid"`
	PPID        int      `json:"ppid"`
	UID         int64    `json:"uid"`
	EUID        int64    `json:"euid"`
	AUID        int64    `json:"auid"` // login uid: who logged in, across su and sudo
	User        string   `json:"user,omitempty"`
	AuditUser   string   `json:"auditUser,omitempty"`
	Comm        string   `json:"comm,omitempty"`
	Syscall     string   `json:"syscall"` // execve or execveat
}

// ConnectionCreate is an IPv4 or IPv6 connect (Out) or accept (In).
type ConnectionCreate struct {
	Header
	Direction  Direction `json:"direction"`
	Family     string    `json:"family"` // ipv4 or ipv6
	RemoteIP   string    `json:"remoteIp"`
	RemotePort int       `json:"remotePort"`
	// Pending is true for a non-blocking connect that returned EINPROGRESS:
	// the connection was initiated, its outcome is not audited.
	Pending    bool   `json:"pending,omitempty"`
	Executable string `json:"executable,omitempty"`
	Comm       string `json:"comm,omitempty"`
	PID        int    `json:"pid"`
	PPID       int    `json:"ppid"`
	UID        int64  `json:"uid"`
	AUID       int64  `json:"auid"`
	User       string `json:"user,omitempty"`
	Syscall    string `json:"syscall"`
}

// ProcessTerminate is an audited exit_group.
type ProcessTerminate struct {
	Header
	Executable string `json:"executable,omitempty"`
	Comm       string `json:"comm,omitempty"`
	PID        int    `json:"pid"`
	PPID       int    `json:"ppid"`
	ExitCode   int    `json:"exitCode"` // status & 0xff, as the parent sees it
	UID        int64  `json:"uid"`
	AUID       int64  `json:"auid"`
}

// Kind implements Event.
func (*Login) Kind() Kind { return KindLogin }

// Kind implements Event.
func (*ProcessCreate) Kind() Kind { return KindProcessCreate }

// Kind implements Event.
func (*ConnectionCreate) Kind() Kind { return KindConnectionCreate }

// Kind implements Event.
func (*ProcessTerminate) Kind() Kind { return KindProcessTerminate }

// Meta implements Event.
func (e *Login) Meta() Header { return e.Header }

// Meta implements Event.
func (e *ProcessCreate) Meta() Header { return e.Header }

// Meta implements Event.
func (e *ConnectionCreate) Meta() Header { return e.Header }

// Meta implements Event.
func (e *ProcessTerminate) Meta() Header { return e.Header }
