package sas

import (
	"fmt"
	"net/netip"
	"strings"
)

// Scope decodes t.Resource and returns the path it grants access to, after
// checking that its host is namespace.
//
// The resource may be URL-encoded (with upper- or lower-case hex digits) or
// not, and may start with one of the schemes sb://, amqps://, https:// or
// http:// (case-insensitive). These all have host "ns" and path
// "/hub/publishers/dev1":
//
//	sb%3a%2f%2fns%2fhub%2fpublishers%2fdev1
//	https%3A%2F%2Fns%2Fhub%2Fpublishers%2Fdev1
//	ns/hub/publishers/dev1
//
// Percent-decoding is applied exactly once: "%252F" becomes the three
// characters "%2f" inside a segment, never a separator. "+" is kept as "+".
// After decoding, the resource must consist of printable ASCII other than
// "\", "?" and "#"; it must have a non-empty host, optionally with a port or
// as a bracketed IPv6 address, and no user information. Its path must not
// contain empty, "." or ".." segments. Otherwise Scope returns an error
// wrapping [ErrMalformed].
//
// namespace is a host name, optionally with a port ("ns.example.com",
// "ns.example.com:5671", "[::1]:5671", "::1"). Ports are ignored on both
// sides and host names compare ASCII case-insensitively; IPv6 addresses
// compare as addresses. If the hosts differ, or namespace is not a valid
// host, Scope returns an error wrapping [ErrWrongNamespace].
//
// The returned path is canonical, as [CanonicalPath] returns: lower-case,
// with a leading "/" and no trailing "/"; the namespace root is "/". Scope
// does not verify the signature.
func (t Token) Scope(namespace string) (path string, err error) {
	dec, err := decodeResource(t.Resource)
	if err != nil {
		return "", err
	}
	host, path, err := splitResource(dec)
	if err != nil {
		return "", err
	}
	want, ok := parseHostPort(namespace, true)
	if !ok {
		return "", fmt.Errorf("%w: invalid namespace argument", ErrWrongNamespace)
	}
	if !asciiEqualFold(host, want) {
		return "", ErrWrongNamespace
	}
	return path, nil
}

// Covers reports whether a token whose scope is scope (as returned by
// [Token.Scope]) grants access to path: whether scope equals path or is an
// ancestor of it by whole segments, ignoring ASCII case. Thus "/hub" covers
// "/hub" and "/hub/publishers/a" but not "/hubx", and "/" covers every path.
//
// Both arguments must be in the form [CanonicalPath] returns, except that
// case does not matter; if either is not, Covers returns false. It never
// interprets "." or "..", so a path like "/hub/../other" is rejected rather
// than resolved. Callers should pass request paths through CanonicalPath.
func Covers(scope, path string) bool {
	if !isCanonical(scope) || !isCanonical(path) {
		return false
	}
	if scope == "/" {
		return true
	}
	return len(path) >= len(scope) &&
		asciiEqualFold(path[:len(scope)], scope) &&
		(len(path) == len(scope) || path[len(scope)] == '/')
}

// CanonicalPath returns the canonical form of an already-decoded entity
// path, such as the path of a request URL: lower-case, with a single leading
// "/" and no trailing "/". "" and "/" become "/"; a missing leading "/" is
// added, so "Hub/Publishers/A" becomes "/hub/publishers/a". It returns an error
// wrapping [ErrMalformed] if p contains empty, "." or ".." segments, or bytes
// other than printable ASCII excluding "\", "?" and "#". CanonicalPath does not
// percent-decode: "%2F" stays a literal part of a segment, as it does in a
// scope.
func CanonicalPath(p string) (string, error) {
	if len(p) > MaxTokenLen {
		return "", fmt.Errorf("%w path: longer than %d bytes", ErrMalformed, MaxTokenLen)
	}
	for i := 0; i < len(p); i++ {
		if !pathByte(p[i]) {
			return "", fmt.Errorf("%w path: byte %#04x at offset %d is not allowed", ErrMalformed, p[i], i)
		}
	}
	return canonicalizePath(p)
}

// decodeResource percent-decodes sr once and checks the bytes of the result.
func decodeResource(sr string) (string, error) {
	if sr == "" {
		return "", fmt.Errorf("%w resource: empty", ErrMalformed)
	}
	if len(sr) > MaxTokenLen {
		return "", fmt.Errorf("%w resource: longer than %d bytes", ErrMalformed, MaxTokenLen)
	}
	dec := sr
	if strings.IndexByte(sr, '%') >= 0 {
		buf := make([]byte, 0, len(sr))
		for i := 0; i < len(sr); i++ {
			c := sr[i]
			if c == '%' {
				if i+2 >= len(sr) {
					return "", fmt.Errorf("%w resource: truncated percent escape", ErrMalformed)
				}
				h, ok1 := unhex(sr[i+1])
				l, ok2 := unhex(sr[i+2])
				if !ok1 || !ok2 {
					return "", fmt.Errorf("%w resource: invalid percent escape", ErrMalformed)
				}
				c = h<<4 | l
				i += 2
			}
			buf = append(buf, c)
		}
		dec = string(buf)
	}
	for i := 0; i < len(dec); i++ {
		if !pathByte(dec[i]) {
			return "", fmt.Errorf("%w resource: decoded byte %#04x is not allowed", ErrMalformed, dec[i])
		}
	}
	return dec, nil
}

// splitResource splits a decoded resource into its host (without port) and
// canonical path.
func splitResource(dec string) (host, path string, err error) {
	rest := dec
	if i := strings.Index(rest, "://"); i >= 0 && strings.IndexByte(rest[:i], '/') < 0 {
		if !knownScheme(rest[:i]) {
			return "", "", fmt.Errorf("%w resource: unsupported scheme", ErrMalformed)
		}
		rest = rest[i+len("://"):]
	}
	authority := rest
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		authority, rest = rest[:j], rest[j:]
	} else {
		rest = ""
	}
	host, ok := parseHostPort(authority, false)
	if !ok {
		return "", "", fmt.Errorf("%w resource: invalid host", ErrMalformed)
	}
	path, err = canonicalizePath(rest)
	if err != nil {
		return "", "", err
	}
	return host, path, nil
}

// knownScheme reports whether s is a scheme Scope and connection string
// endpoints accept.
func knownScheme(s string) bool {
	for _, k := range [...]string{"sb", "amqps", "https", "http"} {
		if asciiEqualFold(s, k) {
			return true
		}
	}
	return false
}

// parseHostPort parses "host", "host:port" or "[ipv6]" / "[ipv6]:port" and
// returns the host: as written for names, in canonical text form for IPv6
// addresses. With bareIPv6, an unbracketed IPv6 address is accepted too.
func parseHostPort(s string, bareIPv6 bool) (string, bool) {
	if s == "" || len(s) > 300 {
		return "", false
	}
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", false
		}
		if rest := s[end+1:]; rest != "" && (rest[0] != ':' || !validPort(rest[1:])) {
			return "", false
		}
		return parseIPv6(s[1:end])
	}
	if bareIPv6 && strings.Count(s, ":") > 1 {
		return parseIPv6(s)
	}
	host, port, hasPort := strings.Cut(s, ":")
	if hasPort && !validPort(port) {
		return "", false
	}
	if !validHostname(host) {
		return "", false
	}
	return host, true
}

// parseIPv6 returns the canonical text of an IPv6 address without zone.
func parseIPv6(s string) (string, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() || a.Zone() != "" {
		return "", false
	}
	return a.String(), true
}

// validHostname reports whether s is a plausible DNS name or IPv4 address:
// 1 to 253 bytes of letters, digits, '-', '.' and '_'.
func validHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// validPort reports whether s is a decimal port number in [0, 65535].
func validPort(s string) bool {
	if s == "" || len(s) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n <= 65535
}

// pathByte reports whether c may appear in a decoded resource or path:
// printable ASCII except '\', '?' and '#'. Backslashes are separators to some
// software, and query or fragment delimiters have no meaning in a scope.
func pathByte(c byte) bool {
	return c > ' ' && c < 0x7f && c != '\\' && c != '?' && c != '#'
}

// canonicalizePath canonicalizes a path whose bytes pathByte accepts.
func canonicalizePath(p string) (string, error) {
	rest := strings.TrimPrefix(p, "/")
	if rest == "" {
		return "/", nil
	}
	rest = strings.TrimSuffix(rest, "/")
	if problem := segmentProblem(rest); problem != "" {
		return "", fmt.Errorf("%w path: %s", ErrMalformed, problem)
	}
	if p[0] == '/' && !hasUpper(rest) {
		return p[:1+len(rest)], nil
	}
	b := make([]byte, 1+len(rest))
	b[0] = '/'
	for i := 0; i < len(rest); i++ {
		b[1+i] = lower(rest[i])
	}
	return string(b), nil
}

// segmentProblem says what is wrong with the "/"-separated segments of p
// (which has no leading or trailing "/"), or returns "" if none is empty,
// "." or "..".
func segmentProblem(p string) string {
	for {
		seg, rest, more := strings.Cut(p, "/")
		switch seg {
		case "":
			return "empty segment"
		case ".", "..":
			return "dot segment"
		}
		if !more {
			return ""
		}
		p = rest
	}
}

// isCanonical reports whether p is in the form CanonicalPath returns,
// ignoring case.
func isCanonical(p string) bool {
	if p == "" || p[0] != '/' || len(p) > MaxTokenLen {
		return false
	}
	if p == "/" {
		return true
	}
	for i := 0; i < len(p); i++ {
		if !pathByte(p[i]) {
			return false
		}
	}
	return p[len(p)-1] != '/' && segmentProblem(p[1:]) == ""
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// asciiEqualFold reports whether a and b are equal ignoring ASCII case only.
// Unlike strings.EqualFold it does not apply Unicode folding, under which
// "K" (U+212A KELVIN SIGN) would equal "k".
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}
