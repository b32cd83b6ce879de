package eventlog

import "fmt"

// KV key encoding. JetStream KV keys are subject tokens limited to
// [-/_=.A-Za-z0-9] (no leading or trailing '.'), while Moat keys are
// arbitrary user strings. EncodeKey maps any string to a valid key,
// reversibly and readably:
//
//   - bytes in [A-Za-z0-9_-] are kept as they are;
//   - every other byte b (including '.', '/', '=' and each byte of non-ASCII
//     UTF-8) becomes "=XX", XX being b in upper-case hex;
//   - the empty string becomes "=".
//
// So "telemetry" stays "telemetry", "dev.1/a" becomes "dev=2E1=2Fa" and "é"
// becomes "=C3=A9". Keys are case-sensitive. Distinct strings give distinct
// keys, and a key never contains '.', so it is always a single token. The KV
// methods apply this encoding themselves; it is exported for tools and
// operators inspecting buckets with the nats CLI.

// EncodeKey returns the KV key that stores s.
func EncodeKey(s string) string {
	if s == "" {
		return "="
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !keyByteKept(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if keyByteKept(c) {
			b = append(b, c)
		} else {
			b = append(b, '=', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return string(b)
}

// DecodeKey inverts EncodeKey. It rejects keys EncodeKey cannot produce.
func DecodeKey(k string) (string, error) {
	if k == "=" {
		return "", nil
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if keyByteKept(c) {
			continue
		}
		if c != '=' || i+2 >= len(k) || !isUpperHex(k[i+1]) || !isUpperHex(k[i+2]) {
			return "", fmt.Errorf("%w: not an encoded key: %q", ErrInvalid, k)
		}
		if keyByteKept(unhexPair(k[i+1], k[i+2])) { // not canonical
			return "", fmt.Errorf("%w: not an encoded key: %q", ErrInvalid, k)
		}
		i += 2
	}
	if k == "" {
		return "", fmt.Errorf("%w: empty key", ErrInvalid)
	}
	return unescapeHex(k, '=')
}

func keyByteKept(c byte) bool { return isAlnum(c) || c == '_' || c == '-' }

func isUpperHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' }

func unhexPair(hi, lo byte) byte {
	h, _ := unhex(hi)
	l, _ := unhex(lo)
	return h<<4 | l
}
