package authlog

import "bytes"

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
