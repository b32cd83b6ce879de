package sas

import (
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, tt := range validTokens {
		f.Add(tt.in)
	}
	for _, tt := range malformedTokens {
		f.Add(tt.in)
	}
	f.Add(lowerHexToken)
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrMalformed", s, err)
			}
			if tok != (Token{}) {
				t.Fatalf("Parse(%q) returned %+v with an error", s, tok)
			}
			return
		}
		if tok.Resource == "" || tok.Expiry <= 0 {
			t.Fatalf("Parse(%q) = %+v without resource or expiry", s, tok)
		}
		if _, ok := decodeMAC(tok.Signature); !ok {
			t.Fatalf("Parse(%q) accepted signature %q", s, tok.Signature)
		}
		again, err := Parse(tok.String())
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", s, tok.String(), err)
		}
		if again != tok {
			t.Fatalf("round trip of %q: %+v != %+v", s, again, tok)
		}
		// Exercise the rest of the API on every valid token.
		_ = tok.Verify("key", "")
		_ = tok.VerifyIoTHub("c2VjcmV0", "!")
		_ = tok.Expired(testTime, DefaultSkew)
		if scope, err := tok.Scope(testNS); err == nil && !Covers(scope, scope) {
			t.Fatalf("scope %q of %q does not cover itself", scope, s)
		}
	})
}

func FuzzParseConnectionString(f *testing.F) {
	for _, tt := range validConnectionStrings {
		f.Add(tt.in)
	}
	for _, tt := range malformedConnectionStrings {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseConnectionString(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseConnectionString(%q) error %v does not wrap ErrMalformed", s, err)
			}
			if c != (ConnectionString{}) {
				t.Fatalf("ParseConnectionString(%q) returned %+v with an error", s, c)
			}
			return
		}
		again, err := ParseConnectionString(c.String())
		if err != nil {
			t.Fatalf("ParseConnectionString(%q).String() = %q does not parse: %v", s, c.String(), err)
		}
		if again != c {
			t.Fatalf("round trip of %q: %+v != %+v", s, again, c)
		}
		if c.Namespace() == "" {
			t.Fatalf("ParseConnectionString(%q) accepted endpoint %q without a namespace", s, c.Endpoint)
		}
		if _, err := ParseConnectionString(c.Redacted()); err != nil && c.SharedAccessSignature == "" {
			t.Fatalf("Redacted() = %q of %q does not parse: %v", c.Redacted(), s, err)
		}
	})
}

func FuzzScope(f *testing.F) {
	for _, tt := range scopeTests {
		f.Add(tt.sr, tt.ns)
	}
	f.Fuzz(func(t *testing.T, sr, ns string) {
		tok := Token{Resource: sr}
		path, err := tok.Scope(ns)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrWrongNamespace) {
				t.Fatalf("Scope(%q, %q) error %v wraps no sentinel", sr, ns, err)
			}
			if path != "" {
				t.Fatalf("Scope(%q, %q) = %q with an error", sr, ns, path)
			}
			return
		}
		if canon, err := CanonicalPath(path); err != nil || canon != path {
			t.Fatalf("Scope(%q, %q) = %q, not canonical (%q, %v)", sr, ns, path, canon, err)
		}
		if path != strings.ToLower(path) {
			t.Fatalf("Scope(%q, %q) = %q, not lower-case", sr, ns, path)
		}
		if !Covers(path, path) || !Covers("/", path) {
			t.Fatalf("Covers rejects scope %q", path)
		}
		if again, err := tok.Scope(strings.ToUpper(ns)); err != nil || again != path {
			t.Fatalf("Scope(%q, upper-case %q) = %q, %v; want %q", sr, ns, again, err, path)
		}
	})
}

func FuzzCovers(f *testing.F) {
	for _, tt := range coversTests {
		f.Add(tt.scope, tt.path)
	}
	f.Fuzz(func(t *testing.T, scope, path string) {
		got := Covers(scope, path)
		cs, errS := CanonicalPath(scope)
		cp, errP := CanonicalPath(path)
		canonical := errS == nil && errP == nil && cs == strings.ToLower(scope) && cp == strings.ToLower(path)
		want := canonical && (cs == "/" || cp == cs || strings.HasPrefix(cp, cs+"/"))
		if got != want {
			t.Fatalf("Covers(%q, %q) = %v, want %v", scope, path, got, want)
		}
	})
}

// FuzzHMAC checks the allocation-free HMAC and base64 decoder against the
// standard library.
func FuzzHMAC(f *testing.F) {
	f.Add([]byte("key"), []byte("audience\n1578099723"))
	f.Add([]byte(strings.Repeat("k", 65)), []byte{})
	f.Add([]byte(validSig), []byte("c2VjcmV0"))
	f.Fuzz(func(t *testing.T, key, msg []byte) {
		want := stdHMAC(key, string(msg))
		k := keyBlock(key)
		got := hmacSHA256(&k, append(make([]byte, blockSize), msg...))
		if !hmac.Equal(got[:], want) {
			t.Fatalf("hmacSHA256(%q, %q) = %x, want %x", key, msg, got, want)
		}
		if keyBlock(string(key)) != k {
			t.Fatalf("keyBlock differs for string and []byte %q", key)
		}
		checkDecodeBase64(t, string(key))
		checkDecodeBase64(t, string(msg))
	})
}

// FuzzDecoders checks the hand-written scanners against straightforward
// reference implementations.
func FuzzDecoders(f *testing.F) {
	for _, s := range []string{
		validSig, validSigEsc, "%2B%2f" + validSigEsc[2:], validSig[:43] + "%3d", validSig[:42] + "h=",
		"1578099723", "0", "01", "9223372036854775807", "9223372036854775808",
		"abcdefgh", "abcdefg\x7f", "abc def", "\x80\x81", "!~!~!~!~!~!~!~!~!~",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		wantPrintable := true
		for i := 0; i < len(s); i++ {
			if s[i] < 0x21 || s[i] > 0x7e {
				wantPrintable = false
			}
		}
		if got := printableASCII(s); got != wantPrintable {
			t.Fatalf("printableASCII(%q) = %v", s, got)
		}

		sig, ok := parseSignature(s)
		ref, err := url.PathUnescape(s) // keeps "+" as "+"
		wantOK := err == nil
		if wantOK {
			raw, err := base64.StdEncoding.Strict().DecodeString(ref)
			wantOK = err == nil && len(raw) == macLen && !strings.ContainsAny(ref, "\r\n")
		}
		if ok != wantOK || (ok && sig != ref) {
			t.Fatalf("parseSignature(%q) = %q, %v; want %q, %v", s, sig, ok, ref, wantOK)
		}

		se, ok := parseExpiry(s)
		n, err := strconv.ParseInt(s, 10, 64)
		wantOK = err == nil && n > 0 && strconv.FormatInt(n, 10) == s
		if ok != wantOK || (ok && se != n) {
			t.Fatalf("parseExpiry(%q) = %d, %v; want %d, %v", s, se, ok, n, wantOK)
		}

		checkDecodeBase64(t, s)
	})
}
