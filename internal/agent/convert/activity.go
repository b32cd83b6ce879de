// Package convert turns what the agent's collectors produce (auth-log login
// attempts, audit events, snapshots and their differences) into secmsg
// payload items.
package convert

import (
	"net/netip"
	"strings"

	"github.com/moatsec/moat/internal/agent/audit"
	"github.com/moatsec/moat/internal/agent/authlog"
	"github.com/moatsec/moat/secmsg"
)

// SSHD is the Executable reported for logins read from the auth log.
const SSHD = "/usr/sbin/sshd"

// Attempt converts login attempts counted from the auth log. A failed
// attempt standing for several (Count) carries them as HitCount, so the
// center counts each attempt once.
func Attempt(a authlog.Attempt) secmsg.Login {
	l := secmsg.Login{
		ProcessID:     a.PID,
		UserName:      clip(a.User, 256),
		Operation:     secmsg.OperationLogin,
		Executable:    SSHD,
		RemoteAddress: remote(a.Source),
		RemotePort:    port(a.Port),
		Result:        secmsg.ResultFail,
		AuthMethod:    method(a.Method),
		InvalidUser:   a.InvalidUser,
		Source:        secmsg.SourceAuthLog,
	}
	if a.Success {
		l.Result = secmsg.ResultSuccess
	}
	if a.Count > 1 {
		t := a.Time.UTC().Format(timeLayout)
		l.HitCount, l.FirstSeen, l.LastSeen = int64(a.Count), t, t
	}
	return l
}

const timeLayout = "2006-01-02T15:04:05Z07:00"

// Audit converts an audit event; ok is false for events that have no
// secmsg counterpart (login steps other than authentication and login,
// connections whose outcome is unknown).
func Audit(ev audit.Event) (secmsg.Item, bool) {
	switch e := ev.(type) {
	case *audit.ProcessCreate:
		if e.PID <= 0 || e.Executable == "" {
			return nil, false
		}
		return secmsg.ProcessCreate{
			Executable: clip(e.Executable, 1024), ProcessID: e.PID, ParentProcessID: max(e.PPID, 0),
			UserID: max(e.UID, 0), UserName: clip(e.User, 256), CommandLine: clip(e.CommandLine, 2048),
		}, true
	case *audit.ProcessTerminate:
		if e.PID <= 0 {
			return nil, false
		}
		return secmsg.ProcessTerminate{Executable: clip(e.Executable, 1024), ProcessID: e.PID, ExitStatus: e.ExitCode}, true
	case *audit.ConnectionCreate:
		if e.Pending || e.RemotePort < 1 || e.RemotePort > 65535 {
			return nil, false
		}
		addr, err := netip.ParseAddr(e.RemoteIP)
		if err != nil {
			return nil, false
		}
		proto := secmsg.ProtocolTCP
		if addr.Is6() && !addr.Is4In6() {
			proto = secmsg.ProtocolTCP6
		}
		dir := secmsg.DirectionOut
		if e.Direction == audit.DirectionIn {
			dir = secmsg.DirectionIn
		}
		return secmsg.ConnectionCreate{
			Executable: clip(e.Executable, 1024), ProcessID: max(e.PID, 0), UserID: max(e.UID, 0),
			RemoteAddress: addr.Unmap().String(), RemotePort: e.RemotePort, Protocol: proto, Direction: dir,
		}, true
	case *audit.Login:
		// One USER_AUTH per password attempt; USER_LOGIN for a session.
		op := secmsg.OperationLogin
		switch e.RecordType {
		case "USER_AUTH", "USER_LOGIN":
		case "USER_LOGOUT":
			op = secmsg.OperationLogout
		default:
			return nil, false
		}
		l := secmsg.Login{
			ProcessID: max(e.PID, 0), UserName: clip(e.User, 256), Operation: op, Executable: clip(e.Executable, 1024),
			RemoteAddress: remote(firstNonEmpty(e.RemoteAddr, e.Hostname)), Result: secmsg.ResultFail, Source: secmsg.SourceAudit,
		}
		if e.Result == audit.ResultSuccess {
			l.Result = secmsg.ResultSuccess
		}
		return l, true
	}
	return nil, false
}

// remote keeps an address as written when it is an IP address or a host
// name secmsg accepts, and drops anything else ("?" and "UNKNOWN" among
// them): one item secmsg refuses would drop the whole aggregated event.
func remote(s string) string {
	if s == "" || s == "?" || strings.EqualFold(s, "unknown") {
		return ""
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().String()
	}
	if len(s) > 253 {
		return ""
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return ""
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return ""
			}
		}
	}
	return s
}

func port(p int) int {
	if p < 0 || p > 65535 {
		return 0
	}
	return p
}

// method normalizes sshd's method names to a short lower-case token
// ("keyboard-interactive/pam" → "keyboard-interactive").
func method(m string) string {
	m, _, _ = strings.Cut(strings.ToLower(m), "/")
	if len(m) > 32 {
		return ""
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return ""
		}
	}
	return m
}

func firstNonEmpty(a, b string) string {
	if a != "" && a != "?" {
		return a
	}
	return b
}

// clip cuts s to at most n bytes on a UTF-8 boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
