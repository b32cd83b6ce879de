package authlog

import "bytes"

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
