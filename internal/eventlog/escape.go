package eventlog

import (
	"fmt"
	"strings"
)

const hexDigits = "0123456789ABCDEF"

// Header value escaping. A NATS header value is one line of text: CR/LF
// would break the framing and parsers trim leading spaces. So '%' and every
// byte outside '!'..'~' (controls, space, DEL and each byte of non-ASCII
// UTF-8) are percent-encoded as %XX with upper-case hex; the rest is kept.
// Printable ASCII values, the common case, are returned as is without
// allocating.

func headerByteNeedsEscape(c byte) bool { return c <= ' ' || c >= 0x7f || c == '%' }

func escapeHeader(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if headerByteNeedsEscape(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if headerByteNeedsEscape(c) {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func unescapeHeader(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 {
		return s, nil
	}
	return unescapeHex(s, '%')
}

// unescapeHex decodes esc-XX sequences (upper- or lower-case hex) in s.
func unescapeHex(s string, esc byte) (string, error) {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != esc {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("eventlog: truncated escape in %q", s)
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", fmt.Errorf("eventlog: bad escape in %q", s)
		}
		b.WriteByte(hi<<4 | lo)
		i += 2
	}
	return b.String(), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
