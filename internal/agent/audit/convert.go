package audit

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/elastic/go-libaudit/v2/aucoalesce"
	"github.com/elastic/go-libaudit/v2/auparse"
)

// convertLogin maps a PAM or sshd record to a Login.
func (d *Decoder) convertLogin(rec *record) (Event, SkipReason) {
	ev, err := aucoalesce.CoalesceMessages([]*auparse.AuditMessage{rec.msg})
	if err != nil || ev == nil {
		return nil, SkipUnparsable
	}
	d.stats.Warnings += uint64(len(ev.Warnings))
	if ev.Result != "success" && ev.Result != "fail" {
		// Truncated or malformed: never count it as a failed login.
		return nil, SkipNoResult
	}
	l := &Login{
		Header:     header(rec),
		RecordType: rec.msg.RecordType.String(),
		Op:         clean(ev.Data["op"]),
		User:       clean(ev.Data["acct"]),
		UserID:     parseID(ev.Data["id"]),
		Result:     ResultFailure,
		RemoteAddr: clean(ev.Data["addr"]),
		Hostname:   clean(ev.Data["hostname"]),
		Terminal:   clean(ev.Data["terminal"]),
		Executable: clean(ev.Process.Exe),
		PID:        parseInt(ev.Process.PID),
		UID:        parseID(ev.User.IDs["uid"]),
		AUID:       parseID(ev.User.IDs["auid"]),
		Session:    session(ev.Session),
	}
	if ev.Result == "success" {
		l.Result = ResultSuccess
	}
	if l.RemoteAddr == "" && ev.Source != nil {
		l.RemoteAddr = clean(ev.Source.IP) // aucoalesce moves addr= there
	}
	if l.User == "" && l.UserID != Unknown {
		l.User = d.userName(rec, "ID", l.UserID)
	}
	return l, ""
}

// convertGroup maps the records of one syscall event.
func (d *Decoder) convertGroup(recs []*record) (Event, SkipReason) {
	var sys *record
	var argv argv
	var hasExecve bool
	msgs := make([]*auparse.AuditMessage, 1, len(recs))
	for _, r := range recs {
		switch r.msg.RecordType {
		case auparse.AUDIT_SYSCALL:
			if sys == nil {
				sys = r
			}
		case auparse.AUDIT_EXECVE:
			// auparse cannot join split arguments: decoded here.
			hasExecve = true
			argv.addRecord(recordText(r.msg), d.cfg.MaxArgs, d.cfg.MaxCommandLine)
		default:
			msgs = append(msgs, r.msg)
		}
	}
	if sys == nil {
		return nil, SkipIncomplete
	}
	msgs[0] = sys.msg // aucoalesce wants SYSCALL first
	ev, err := aucoalesce.CoalesceMessages(msgs)
	if err != nil || ev == nil {
		return nil, SkipUnparsable
	}
	d.stats.Warnings += uint64(len(ev.Warnings))
	if parseInt(ev.Process.PID) == 0 {
		return nil, SkipNoPID
	}
	syscall := ev.Data["syscall"]
	switch syscall {
	case "execve", "execveat":
		if ev.Result != "success" {
			return nil, ""
		}
		if hasExecve {
			argv.finish()
		}
		return d.processCreate(sys, ev, syscall, argv, hasExecve), ""
	case "connect", "accept", "accept4":
		return d.connection(sys, ev, syscall)
	case "exit_group":
		return d.processTerminate(sys, ev), ""
	}
	return nil, ""
}

func (d *Decoder) processCreate(sys *record, ev *aucoalesce.Event, syscall string, a argv, hasExecve bool) Event {
	p := &ProcessCreate{
		Header:     header(sys),
		Executable: clean(ev.Process.Exe),
		CWD:        clean(ev.Process.CWD),
		PID:        parseInt(ev.Process.PID),
		PPID:       parseInt(ev.Process.PPID),
		UID:        parseID(ev.User.IDs["uid"]),
		EUID:       parseID(ev.User.IDs["euid"]),
		AUID:       parseID(ev.User.IDs["auid"]),
		Comm:       clean(ev.Process.Name),
		Syscall:    syscall,
		Truncated:  a.truncated,
	}
	if hasExecve {
		p.Args = make([]string, len(a.args))
		for i, s := range a.args {
			p.Args[i] = clean(s)
		}
		p.CommandLine = commandLine(p.Args)
	} else {
		// No EXECVE record (rule without it, or lost): the process title,
		// whose arguments the kernel joins with spaces, is all there is.
		p.CommandLine = clean(ev.Process.Title)
	}
	if len(p.CommandLine) > d.cfg.MaxCommandLine {
		p.CommandLine = clean(p.CommandLine[:d.cfg.MaxCommandLine])
		p.Truncated = true
	}
	p.User = d.userName(sys, "UID", p.UID)
	p.AuditUser = d.userName(sys, "AUID", p.AUID)
	return p
}

func (d *Decoder) connection(sys *record, ev *aucoalesce.Event, syscall string) (Event, SkipReason) {
	pending := syscall == "connect" && ev.Data["exit"] == "EINPROGRESS"
	if ev.Result != "success" && !pending {
		return nil, ""
	}
	family := ev.Data["socket_family"]
	if family != "ipv4" && family != "ipv6" {
		if family == "" {
			return nil, SkipNoAddress
		}
		return nil, "" // unix, netlink…: local plumbing, not a connection
	}
	c := &ConnectionCreate{
		Header:     header(sys),
		Family:     family,
		Pending:    pending,
		Executable: clean(ev.Process.Exe),
		Comm:       clean(ev.Process.Name),
		PID:        parseInt(ev.Process.PID),
		PPID:       parseInt(ev.Process.PPID),
		UID:        parseID(ev.User.IDs["uid"]),
		AUID:       parseID(ev.User.IDs["auid"]),
		Syscall:    syscall,
	}
	addr := ev.Dest
	c.Direction = DirectionOut
	if syscall != "connect" {
		addr = ev.Source
		c.Direction = DirectionIn
	}
	if addr == nil || addr.IP == "" {
		return nil, SkipNoAddress
	}
	c.RemoteIP = clean(addr.IP)
	if port, err := strconv.ParseUint(addr.Port, 10, 16); err == nil {
		c.RemotePort = int(port)
	}
	c.User = d.userName(sys, "UID", c.UID)
	return c, ""
}

func (d *Decoder) processTerminate(sys *record, ev *aucoalesce.Event) Event {
	t := &ProcessTerminate{
		Header:     header(sys),
		Executable: clean(ev.Process.Exe),
		Comm:       clean(ev.Process.Name),
		PID:        parseInt(ev.Process.PID),
		PPID:       parseInt(ev.Process.PPID),
		UID:        parseID(ev.User.IDs["uid"]),
		AUID:       parseID(ev.User.IDs["auid"]),
	}
	if code, err := strconv.ParseUint(ev.Data["a0"], 16, 64); err == nil {
		t.ExitCode = int(code & 0xff)
	}
	return t
}

// userName names uid from the record's ENRICHED field key, else through
// the configured resolver.
func (d *Decoder) userName(r *record, key string, uid int64) string {
	if uid == Unknown {
		return ""
	}
	if n := r.names[key]; n != "" && n != "unset" && !strings.HasPrefix(n, "unknown(") {
		return clean(n)
	}
	if d.cfg.UserName != nil {
		if n, ok := d.cfg.UserName(uid); ok {
			return clean(n)
		}
	}
	return ""
}

func session(s string) string {
	if s == "unset" {
		return ""
	}
	return clean(s)
}

func header(r *record) Header {
	return Header{Time: r.msg.Timestamp, Serial: r.msg.Sequence, Node: clean(r.node)}
}

// recordText is the text of a record after its "audit(…):" header.
func recordText(m *auparse.AuditMessage) string {
	s := m.RawData
	if i := strings.IndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimPrefix(s, ":")
}

// parseID reads a uid-like field; unset (4294967295, -1) and junk are
// Unknown.
func parseID(s string) int64 {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 4294967295 {
		return Unknown
	}
	return int64(n)
}

func parseInt(s string) int {
	n, err := strconv.ParseUint(s, 10, 31)
	if err != nil {
		return 0
	}
	return int(n)
}

// clean makes a field safe to forward: valid UTF-8.
func clean(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
