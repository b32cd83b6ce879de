package authlog

import "bytes"

// Byte strings the message parser searches for.
var (
	sFrom      = []byte(" from ")
	sPort      = []byte(" port ")
	sFor       = []byte(" for ")
	sPreauth   = []byte(" [preauth]")
	sTooMany   = []byte(tooMany)
	sRhost     = []byte(" rhost=")
	sUser      = []byte(" user=")
	sAuthingU  = []byte(authingUser)
	sInvalidU  = []byte(invalidUser)
	sUserSp    = []byte("user ")
	sColonSp   = []byte(": ")
	sPAMAuthSv = []byte(":auth): ")
)

// Prefixes the message parser cuts.
const (
	tooMany     = ": Too many authentication failures"
	authFail    = "authentication failure;"
	invalidUser = "invalid user "
	illegalUser = "illegal user "
	authingUser = "authenticating user "
)

// parseMessage classifies an sshd message and fills r. top is false inside
// "message repeated N times: [ … ]", which does not nest.
func (p *Parser) parseMessage(r *Record, m []byte, top bool) {
	if bytes.HasSuffix(m, sPreauth) {
		m = m[:len(m)-len(sPreauth)]
		r.Flags |= FlagPreauth
	}
	if rest, ok := cut(m, "error: "); ok {
		m = rest
	}
	if len(m) == 0 {
		return
	}
	switch m[0] {
	case 'F':
		if rest, ok := cut(m, "Failed "); ok {
			p.authResult(r, rest, KindFailedAuth)
		}
	case 'A':
		if rest, ok := cut(m, "Accepted "); ok {
			p.authResult(r, rest, KindAccepted)
		}
	case 'I':
		if rest, ok := cut(m, "Invalid user "); ok {
			p.invalidUser(r, rest)
		}
	case 'm':
		if rest, ok := cut(m, "message repeated "); ok && top {
			p.repeated(r, rest)
		} else if rest, ok := cut(m, "maximum authentication attempts exceeded for "); ok {
			p.maxAttempts(r, rest)
		}
	case 'p':
		if rest, ok := cut(m, "pam_"); ok {
			// pam_MODULE(SERVICE:auth): authentication failure; …
			if i := bytes.Index(rest, sPAMAuthSv); i > 0 && bytes.IndexByte(rest[:i], ' ') < 0 {
				if body, ok := cut(rest[i+len(sPAMAuthSv):], authFail); ok {
					p.pamFields(r, body, KindPAMFailure, 1)
				}
			}
		}
	case 'a':
		// sshd(pam_unix)[pid]: authentication failure; … (old Linux-PAM)
		if body, ok := cut(m, authFail); ok {
			p.pamFields(r, body, KindPAMFailure, 1)
		}
	case 'P':
		if rest, ok := cut(m, "PAM: "); ok {
			p.pamError(r, rest)
		} else if rest, ok := cut(m, "PAM "); ok {
			p.pamMore(r, rest)
		}
	case 'D':
		if rest, ok := cut(m, "Disconnecting"); ok {
			p.disconnecting(r, rest)
		} else if rest, ok := cut(m, "Did not receive identification string from "); ok {
			p.hostPort(r, rest, KindNoIdentification)
		} else if rest, ok := cut(m, "Disconnected from "); ok {
			p.closedBy(r, rest, KindDisconnected)
		}
	case 'C':
		if rest, ok := cut(m, "Connection closed by "); ok {
			p.closedBy(r, rest, KindConnectionClosed)
		} else if rest, ok := cut(m, "Connection reset by "); ok {
			p.closedBy(r, rest, KindConnectionClosed)
		}
	case 'R':
		if rest, ok := cut(m, "Received disconnect from "); ok {
			p.receivedDisconnect(r, rest)
		}
	case 'T':
		if rest, ok := cut(m, "Timeout before authentication for "); ok {
			p.closedBy(r, rest, KindDisconnected)
		}
	}
}

// authResult: "<method> for [invalid user ]U from A port P ssh2[: …]".
func (p *Parser) authResult(r *Record, m []byte, kind Kind) {
	i := bytes.Index(m, sFor)
	if i <= 0 || bytes.IndexByte(m[:i], ' ') >= 0 {
		return
	}
	method := m[:i]
	m = m[i+len(sFor):]
	invalid := false
	if rest, ok := cut(m, invalidUser); ok {
		m, invalid = rest, true
	}
	j := bytes.LastIndex(m, sFrom)
	if j < 0 {
		return
	}
	addr, port, ok := addrPort(m[j+len(sFrom):], true)
	if !ok || port == 0 {
		return
	}
	r.Kind = kind
	r.Method = p.method(r, method)
	r.User = p.str(r, &p.fields, m[:j])
	r.InvalidUser = invalid
	r.RemoteAddr = p.str(r, &p.fields, addr)
	r.Port = port
	r.Count = 1
}

// invalidUser: "U from A[ port P]".
func (p *Parser) invalidUser(r *Record, m []byte) {
	j := bytes.LastIndex(m, sFrom)
	if j < 0 {
		return
	}
	addr, port, ok := addrPort(m[j+len(sFrom):], false)
	if !ok {
		return
	}
	r.Kind = KindInvalidUser
	r.User = p.str(r, &p.fields, m[:j])
	r.InvalidUser = true
	r.RemoteAddr = p.str(r, &p.fields, addr)
	r.Port = port
	r.Count = 1
}

// repeated: "N times: [ MESSAGE]" (rsyslog's repeated-message reduction).
func (p *Parser) repeated(r *Record, m []byte) {
	sp := bytes.IndexByte(m, ' ')
	if sp <= 0 {
		return
	}
	n, clamped, ok := countBounded(m[:sp])
	if !ok || n == 0 {
		return
	}
	body, ok := cut(m[sp:], " times: [")
	if !ok || len(body) == 0 || body[len(body)-1] != ']' {
		return
	}
	body = bytes.TrimSpace(body[:len(body)-1])
	p.parseMessage(r, body, false)
	if r.Kind == KindOther {
		r.Flags &^= FlagPreauth
		return
	}
	r.Repeated = n
	if clamped {
		r.Flags |= FlagCountClamped
	}
	total := r.Count * n
	if total > MaxCount {
		total = MaxCount
		r.Flags |= FlagCountClamped
	}
	r.Count = total
}

// maxAttempts: "[invalid user ]U from A port P ssh2".
func (p *Parser) maxAttempts(r *Record, m []byte) {
	invalid := false
	if rest, ok := cut(m, invalidUser); ok {
		m, invalid = rest, true
	}
	j := bytes.LastIndex(m, sFrom)
	if j < 0 {
		return
	}
	addr, port, ok := addrPort(m[j+len(sFrom):], true)
	if !ok {
		return
	}
	r.Kind = KindTooManyFailures
	r.User = p.str(r, &p.fields, m[:j])
	r.InvalidUser = invalid
	r.RemoteAddr = p.str(r, &p.fields, addr)
	r.Port = port
}
