// Package sas parses, creates and verifies Shared Access Signature (SAS)
// tokens in the format used by Azure Event Hubs, Service Bus and IoT Hub, and
// parses the connection strings that carry SAS credentials.
//
// A token has the form
//
//	SharedAccessSignature sr=<resource>&sig=<signature>&se=<expiry>&skn=<key name>
//
// where sig is the standard base64 encoding of HMAC-SHA256 over the string
// sr + "\n" + se, computed with a shared key. Event Hubs and Service Bus use
// the key text itself as the HMAC key ([Sign], [Token.Verify]); IoT Hub first
// base64-decodes it ([SignIoTHub], [Token.VerifyIoTHub]).
//
// A typical verifier does, in this order:
//
//	tok, err := sas.Parse(header)               // syntax only
//	if tok.Expired(now, sas.DefaultSkew) { ... } // cheap, before any HMAC
//	i := tok.Verify(primary, secondary)         // -1: no key matched
//	scope, err := tok.Scope(namespace)          // what the token grants
//	if !sas.Covers(scope, requestPath) { ... }
//
// [Token.Check] combines the first three steps. Every function in this package
// treats its input as hostile: none panics, lengths are bounded, and nothing
// from the input is echoed into error messages except the names of fields.
//
// docs/sas.md in the Moat repository describes the format in full, including
// where Moat is stricter than Azure.
package sas

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Prefix is the scheme word that starts every token. [Parse] requires it,
// with exactly this case, followed by a single space.
const Prefix = "SharedAccessSignature"

// MaxTokenLen is the longest token, in bytes, that [Parse] accepts.
const MaxTokenLen = 4096

// Sentinel errors. Errors returned by this package wrap one of them; test with
// [errors.Is].
var (
	// ErrMalformed reports a token, resource or connection string that is
	// not well formed. The wrapping error says what is wrong.
	ErrMalformed = errors.New("sas: malformed")

	// ErrExpired reports a token whose expiry has passed. [Token.Check]
	// returns it; callers combining [Token.Expired] themselves may use it too.
	ErrExpired = errors.New("sas: token expired")

	// ErrBadSignature reports a token whose signature matches none of the
	// keys. [Token.Check] returns it.
	ErrBadSignature = errors.New("sas: signature does not match any key")

	// ErrWrongNamespace reports a token whose resource names a host other
	// than the expected namespace, or an unusable namespace argument.
	ErrWrongNamespace = errors.New("sas: resource is outside the namespace")

	// ErrInvalidKey reports a key that cannot be used for signing, such as
	// an IoT Hub key that is not canonical standard base64.
	ErrInvalidKey = errors.New("sas: invalid key")
)

// Token is a parsed SAS token. The zero Token is not valid: it never verifies
// and is always expired.
type Token struct {
	// Resource is the sr field exactly as received, still URL-encoded.
	// The signature is computed over this text, so it is never decoded
	// before verification; [Token.Scope] decodes it for authorization.
	Resource string

	// Signature is the sig field, URL-decoded: the standard, padded base64
	// text of a 32-byte HMAC-SHA256 value.
	Signature string

	// Expiry is the se field: Unix time in seconds after which the token is
	// no longer valid. Parse only accepts values > 0.
	Expiry int64

	// KeyName is the skn field, URL-decoded: the name of the shared access
	// policy whose key signed the token. It is "" when the token has no skn
	// field, as for IoT Hub device tokens.
	KeyName string
}

// Parse parses token text of the form
//
//	SharedAccessSignature sr=…&sig=…&se=…[&skn=…]
//
// Fields may appear in any order. The prefix is case-sensitive and followed by
// exactly one space; field names are lower-case. sr, sig and se are required
// and skn is optional. Parse returns an error wrapping [ErrMalformed] if the
// text is longer than [MaxTokenLen]; contains a byte outside printable ASCII
// (so no spaces, tabs or line breaks after the prefix); has an empty, unknown
// or repeated field, a field without "=", or an empty value; has an se that is
// not a positive decimal integer without leading zeros fitting in an int64; has
// a sig that does not URL-decode to the padded standard base64 encoding of 32
// bytes; or has an skn that does not URL-decode to valid UTF-8 free of control
// characters.
//
// sr is kept exactly as received (see [Token.Resource]). sig is percent-decoded
// with "+" kept as "+", since base64 text never contains a space; skn is
// decoded as a query value, so "+" means space.
//
// Parse only checks syntax: it does not verify the signature, the expiry or
// the resource.
func Parse(s string) (Token, error) {
	if len(s) > MaxTokenLen {
		return Token{}, errTokenTooLong
	}
	rest, ok := strings.CutPrefix(s, Prefix+" ")
	if !ok {
		return Token{}, errNoPrefix
	}
	if !printableASCII(rest) {
		return Token{}, errNotPrintable
	}
	var (
		t    Token
		seen [numFields]bool
	)
	for rest != "" {
		var field string
		field, rest, ok = strings.Cut(rest, "&")
		if field == "" || (ok && rest == "") {
			return Token{}, errEmptyField
		}
		name, value, ok := strings.Cut(field, "=")
		if !ok {
			return Token{}, errNoEquals
		}
		f := fieldIndex(name)
		switch {
		case f < 0:
			return Token{}, fmt.Errorf("%w token: unknown field %q", ErrMalformed, truncate(name, 16))
		case seen[f]:
			return Token{}, errDuplicate[f]
		case value == "":
			return Token{}, errEmpty[f]
		}
		seen[f] = true
		switch f {
		case fResource:
			t.Resource = value
		case fSignature:
			if t.Signature, ok = parseSignature(value); !ok {
				return Token{}, errBadSig
			}
		case fExpiry:
			if t.Expiry, ok = parseExpiry(value); !ok {
				return Token{}, errBadExpiry
			}
		case fKeyName:
			if t.KeyName, ok = parseKeyName(value); !ok {
				return Token{}, errBadKeyName
			}
		}
	}
	for _, f := range [...]int{fResource, fSignature, fExpiry} {
		if !seen[f] {
			return Token{}, errMissing[f]
		}
	}
	return t, nil
}

// Token fields, indexing fieldNames.
const (
	fResource = iota
	fSignature
	fExpiry
	fKeyName
	numFields
)

// fieldNames are the field names as they appear in token text.
var fieldNames = [numFields]string{"sr", "sig", "se", "skn"}

// fieldIndex returns the index of the field called name, or -1.
func fieldIndex(name string) int {
	switch name {
	case "sr":
		return fResource
	case "sig":
		return fSignature
	case "se":
		return fExpiry
	case "skn":
		return fKeyName
	}
	return -1
}

// Parse's errors are allocated once, so that rejecting a token allocates
// nothing (except for unknown fields, whose error names the field).
var (
	errTokenTooLong = fmt.Errorf("%w token: longer than %d bytes", ErrMalformed, MaxTokenLen)
	errNoPrefix     = fmt.Errorf("%w token: does not start with %q", ErrMalformed, Prefix+" ")
	errNotPrintable = fmt.Errorf("%w token: contains a byte that is not printable ASCII", ErrMalformed)
	errEmptyField   = fmt.Errorf("%w token: empty field", ErrMalformed)
	errNoEquals     = fmt.Errorf("%w token: field without '='", ErrMalformed)
	errBadSig       = fmt.Errorf("%w token: sig is not the base64 encoding of a 32-byte HMAC-SHA256", ErrMalformed)
	errBadExpiry    = fmt.Errorf("%w token: se is not a positive decimal integer", ErrMalformed)
	errBadKeyName   = fmt.Errorf("%w token: skn is not a valid URL-encoded name", ErrMalformed)
	errDuplicate    = fieldErrors("duplicate %s field")
	errEmpty        = fieldErrors("empty %s value")
	errMissing      = fieldErrors("missing %s field")
)

func fieldErrors(format string) (errs [numFields]error) {
	for i, name := range fieldNames {
		errs[i] = fmt.Errorf("%w token: "+format, ErrMalformed, name)
	}
	return errs
}

// parseSignature percent-decodes a sig value ("+" stays "+") and checks that
// the result is the canonical base64 text of a 32-byte MAC. It allocates
// only when the value contains escapes.
func parseSignature(v string) (string, bool) {
	switch {
	case len(v) == sigLen:
		return v, validMACText(v)
	case len(v) == sigLen+2 && (v[sigLen-1:] == "%3D" || v[sigLen-1:] == "%3d") && validMACPrefix(v[:sigLen-1]):
		// Nearly every client escapes only the padding.
		return v[:sigLen-1] + "=", true
	case len(v) > 3*sigLen:
		return "", false
	}
	var buf [sigLen]byte
	n := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '%' {
			if i+2 >= len(v) {
				return "", false
			}
			h, ok1 := unhex(v[i+1])
			l, ok2 := unhex(v[i+2])
			if !ok1 || !ok2 {
				return "", false
			}
			c = h<<4 | l
			i += 2
		}
		if n == len(buf) {
			return "", false
		}
		buf[n] = c
		n++
	}
	if n != len(buf) || buf[sigLen-1] != '=' {
		return "", false
	}
	// Check before converting, so that rejected input costs no allocation.
	var acc byte
	for _, c := range buf[:sigLen-1] {
		acc |= b64Value[c]
	}
	if acc > 63 || b64Value[buf[sigLen-2]]&0x03 != 0 {
		return "", false
	}
	return string(buf[:]), true
}

// parseExpiry parses a positive decimal int64 written without sign or leading
// zeros. Canonical form matters: the signature covers se as written, and
// Verify formats Expiry back to text.
func parseExpiry(v string) (int64, bool) {
	if len(v) == 0 || len(v) > 19 || v[0] < '1' || v[0] > '9' {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (1<<63-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// parseKeyName decodes an skn value as a URL query value ("+" is a space) and
// requires valid UTF-8 without control characters.
func parseKeyName(v string) (string, bool) {
	if strings.IndexByte(v, '%') < 0 && strings.IndexByte(v, '+') < 0 {
		return v, true // printable ASCII, already checked by Parse
	}
	name, err := url.QueryUnescape(v)
	if err != nil || name == "" || !utf8.ValidString(name) {
		return "", false
	}
	for _, r := range name {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
			return "", false
		}
	}
	return name, true
}

// String formats t as canonical token text: the fields in the order sr, sig,
// se, skn, with sig and skn URL-encoded as by [url.QueryEscape] and sr
// written exactly as stored. skn is omitted when KeyName is "". For every
// token returned by [Parse], Parse(t.String()) returns t again.
//
// The result is a bearer credential until the token expires; use
// [Token.Redacted] for logs.
func (t Token) String() string {
	return t.format(url.QueryEscape(t.Signature))
}

// Redacted is like [Token.String] but replaces the signature with
// "REDACTED", so that the result is safe to log.
func (t Token) Redacted() string {
	return t.format("REDACTED")
}

func (t Token) format(sig string) string {
	var b strings.Builder
	skn := ""
	if t.KeyName != "" {
		skn = url.QueryEscape(t.KeyName)
	}
	b.Grow(len(Prefix) + len(" sr=&sig=&se=&skn=") + len(t.Resource) + len(sig) + 20 + len(skn))
	b.WriteString(Prefix)
	b.WriteString(" sr=")
	b.WriteString(t.Resource)
	b.WriteString("&sig=")
	b.WriteString(sig)
	b.WriteString("&se=")
	var num [20]byte
	b.Write(strconv.AppendInt(num[:0], t.Expiry, 10))
	if skn != "" {
		b.WriteString("&skn=")
		b.WriteString(skn)
	}
	return b.String()
}

// printableASCII reports whether every byte of s is in the range 0x21 to
// 0x7e: printable ASCII without space. It tests eight bytes at a time.
func printableASCII(s string) bool {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
	)
	i := 0
	for ; i+8 <= len(s); i += 8 {
		b := s[i : i+8]
		w := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		// A byte's top bit is set in w if it is >= 0x80, in w+ones if it
		// is 0x7f, and in (w-0x21*ones)&^w if it is < 0x21. Carries and
		// borrows between bytes only start at a byte already caught, so
		// the test is exact for the word as a whole.
		if (w|(w+ones)|((w-0x21*ones)&^w))&high != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// unhex returns the value of the hexadecimal digit c.
func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// truncate shortens s to at most n bytes for use in error messages, which
// quote it with %q so that control characters cannot reach logs raw.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
