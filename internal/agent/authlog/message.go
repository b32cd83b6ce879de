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

// disconnecting (after "Disconnecting"):
//
//	": Too many authentication failures[ for [invalid user ]U]"
//	" authenticating user U A port P: Too many authentication failures"
//	" invalid user U A port P: Too many authentication failures"
func (p *Parser) disconnecting(r *Record, m []byte) {
	if rest, ok := cut(m, tooMany); ok {
		r.Kind = KindTooManyFailures
		if u, ok := cut(rest, " for "); ok {
			if v, ok := cut(u, invalidUser); ok {
				u, r.InvalidUser = v, true
			}
			r.User = p.str(r, &p.fields, u)
		}
		return
	}
	i := bytes.LastIndex(m, sTooMany)
	if i < 0 || len(m) == 0 || m[0] != ' ' {
		return
	}
	if !p.whoAddrPort(r, m[1:i]) {
		return
	}
	r.Kind = KindTooManyFailures
}

// closedBy: "[authenticating user U |invalid user U |user U ]A[ port P]".
func (p *Parser) closedBy(r *Record, m []byte, kind Kind) {
	if p.whoAddrPort(r, m) {
		r.Kind = kind
	}
}

// whoAddrPort parses "[authenticating user U |invalid user U |user U ]A[ port P]"
// from the right, so that a user name holding spaces cannot shift A or P.
func (p *Parser) whoAddrPort(r *Record, m []byte) bool {
	port := 0
	if i := bytes.LastIndex(m, sPort); i >= 0 {
		n, ok := atoiBounded(m[i+len(sPort):], 65535)
		if !ok {
			return false
		}
		port, m = n, m[:i]
	}
	var who []byte
	if sp := bytes.LastIndexByte(m, ' '); sp >= 0 {
		who, m = m[:sp], m[sp+1:]
	}
	if !validAddr(m) {
		return false
	}
	switch {
	case who == nil:
	case bytes.HasPrefix(who, sAuthingU):
		who = who[len(sAuthingU):]
	case bytes.HasPrefix(who, sInvalidU):
		who, r.InvalidUser = who[len(sInvalidU):], true
	case bytes.HasPrefix(who, sUserSp):
		who = who[len(sUserSp):]
	default:
		return false
	}
	r.User = p.str(r, &p.fields, who)
	r.RemoteAddr = p.str(r, &p.fields, m)
	r.Port = port
	return true
}

// hostPort: "A[ port P]" and nothing after.
func (p *Parser) hostPort(r *Record, m []byte, kind Kind) {
	addr, port, ok := addrPort(m, false)
	if !ok {
		return
	}
	r.Kind = kind
	r.RemoteAddr = p.str(r, &p.fields, addr)
	r.Port = port
}

// receivedDisconnect: "A port P:CODE: TEXT" or (older) "A: CODE: TEXT".
func (p *Parser) receivedDisconnect(r *Record, m []byte) {
	var addr []byte
	port := 0
	if i := bytes.Index(m, sPort); i > 0 {
		addr = m[:i]
		rest := m[i+len(sPort):]
		c := bytes.IndexByte(rest, ':')
		if c <= 0 {
			return
		}
		n, ok := atoiBounded(rest[:c], 65535)
		if !ok {
			return
		}
		port = n
	} else {
		i := bytes.Index(m, sColonSp)
		if i <= 0 {
			return
		}
		addr = m[:i]
	}
	if !validAddr(addr) {
		return
	}
	r.Kind = KindDisconnected
	r.RemoteAddr = p.str(r, &p.fields, addr)
	r.Port = port
}

// pamFields reads "… rhost=H[  user=U]" after "authentication failure;".
func (p *Parser) pamFields(r *Record, m []byte, kind Kind, count int) {
	i := bytes.Index(m, sRhost)
	if i < 0 {
		return
	}
	rest := m[i+len(sRhost):]
	host := rest
	if sp := bytes.IndexByte(rest, ' '); sp >= 0 {
		host, rest = rest[:sp], rest[sp:]
	} else {
		rest = nil
	}
	if len(host) > 0 && !validAddr(host) {
		return
	}
	if j := bytes.Index(rest, sUser); j >= 0 {
		r.User = p.str(r, &p.fields, bytes.TrimRight(rest[j+len(sUser):], " "))
	}
	r.Kind = kind
	r.RemoteAddr = p.str(r, &p.fields, host)
	r.Count = count
}

// pamMore: "N more authentication failure[s]; …".
func (p *Parser) pamMore(r *Record, m []byte) {
	sp := bytes.IndexByte(m, ' ')
	if sp <= 0 {
		return
	}
	n, clamped, ok := countBounded(m[:sp])
	if !ok || n == 0 {
		return
	}
	body, ok := cut(m[sp:], " more authentication failure")
	if !ok {
		return
	}
	if len(body) > 0 && body[0] == 's' {
		body = body[1:]
	}
	if len(body) == 0 || body[0] != ';' {
		return
	}
	p.pamFields(r, body[1:], KindPAMMoreFailures, n)
	if r.Kind == KindPAMMoreFailures && clamped {
		r.Flags |= FlagCountClamped
	}
}

// pamError: "Authentication failure for [illegal user ]U from A" (sshd's
// own report of a PAM verdict).
func (p *Parser) pamError(r *Record, m []byte) {
	rest, ok := cut(m, "Authentication failure for ")
	if !ok {
		return
	}
	if v, ok := cut(rest, illegalUser); ok {
		rest, r.InvalidUser = v, true
	}
	j := bytes.LastIndex(rest, sFrom)
	if j < 0 {
		r.InvalidUser = false
		return
	}
	addr := rest[j+len(sFrom):]
	if !validAddr(addr) {
		r.InvalidUser = false
		return
	}
	r.Kind = KindPAMError
	r.User = p.str(r, &p.fields, rest[:j])
	r.RemoteAddr = p.str(r, &p.fields, addr)
	r.Count = 1
}

// method returns the auth method name, without allocating for known ones.
func (p *Parser) method(r *Record, b []byte) string {
	switch string(b) {
	case "password":
		return "password"
	case "publickey":
		return "publickey"
	case "none":
		return "none"
	case "keyboard-interactive/pam":
		return "keyboard-interactive/pam"
	case "keyboard-interactive":
		return "keyboard-interactive"
	case "hostbased":
		return "hostbased"
	case "gssapi-with-mic":
		return "gssapi-with-mic"
	}
	return p.str(r, &p.fields, b)
}

// addrPort reads "A port P[ …]" (needPort) or "A[ port P]" (end of message).
func addrPort(m []byte, needPort bool) (addr []byte, port int, ok bool) {
	sp := bytes.IndexByte(m, ' ')
	if sp < 0 {
		if needPort || !validAddr(m) {
			return nil, 0, false
		}
		return m, 0, true
	}
	addr = m[:sp]
	if !validAddr(addr) {
		return nil, 0, false
	}
	rest, ok := cut(m[sp:], " port ")
	if !ok {
		return nil, 0, false
	}
	end := 0
	for end < len(rest) && isDigit(rest[end]) {
		end++
	}
	if end < len(rest) && (rest[end] != ' ' || !needPort) {
		return nil, 0, false
	}
	n, ok := atoiBounded(rest[:end], 65535)
	if !ok {
		return nil, 0, false
	}
	return addr, n, true
}

// validAddr accepts what sshd and PAM write for a peer: an IPv4 or IPv6
// address (with zone) or a DNS name.
func validAddr(b []byte) bool {
	if len(b) == 0 || len(b) > 255 {
		return false
	}
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c == '.', c == ':', c == '-', c == '_', c == '%':
		default:
			return false
		}
	}
	return true
}

// countBounded parses a decimal count, clamping it at MaxCount.
func countBounded(b []byte) (n int, clamped, ok bool) {
	if len(b) == 0 {
		return 0, false, false
	}
	for _, c := range b {
		if !isDigit(c) {
			return 0, false, false
		}
		if !clamped {
			n = n*10 + int(c-'0')
			if n > MaxCount {
				n, clamped = MaxCount, true
			}
		}
	}
	return n, clamped, true
}

// cut returns what follows prefix in m.
func cut(m []byte, prefix string) ([]byte, bool) {
	if len(m) >= len(prefix) && string(m[:len(prefix)]) == prefix {
		return m[len(prefix):], true
	}
	return m, false
}
