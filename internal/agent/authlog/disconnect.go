package authlog

import "bytes"

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
