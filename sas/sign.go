package sas

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"
)

const (
	macLen    = sha256.Size      // bytes in an HMAC-SHA256 value
	sigLen    = 44               // base64 characters encoding macLen bytes
	blockSize = sha256.BlockSize // HMAC key block

	// maxExpiryDigits is the longest decimal int64.
	maxExpiryDigits = 19

	// stackMsgLen is the message buffer that verification keeps on the
	// stack: a key block, then sr "\n" se for any token Parse accepts.
	stackMsgLen = blockSize + MaxTokenLen + 1 + maxExpiryDigits

	// stackKeyLen is the decoded IoT Hub key length verification keeps on
	// the stack. Azure's keys decode to 32 bytes; longer keys work but allocate.
	stackKeyLen = 96
)

// DefaultSkew is the clock-skew allowance Moat applies to token expiry.
//
// Devices in a fleet keep time with NTP or a cellular network and are rarely
// more than a few seconds off, while every second of allowance is a second in
// which an expired — possibly leaked — token is still honoured. 30 seconds
// absorbs ordinary drift plus network and queueing delay without extending
// short-lived tokens noticeably. Deployments with poorly synchronised devices
// may pass a larger value to [Token.Expired] or [Token.Check].
const DefaultSkew = 30 * time.Second

// Sign returns an Event Hubs–style token for uri, valid until expiry, signed
// with key as written (its bytes are the HMAC key, as Event Hubs and Service
// Bus do with the SharedAccessKey of a connection string).
//
// sr is [url.QueryEscape](uri); the signature is base64(HMAC-SHA256(key,
// sr + "\n" + se)) where se is expiry in Unix seconds. The token is
//
//	SharedAccessSignature sr=<sr>&sig=<sig>&se=<se>&skn=<keyName>
//
// with sig and keyName query-escaped; skn is left out when keyName is "".
// The token only parses if expiry is after the Unix epoch and the result is
// at most [MaxTokenLen] bytes, and it only verifies if key is not "".
func Sign(uri, keyName, key string, expiry time.Time) string {
	return sign(uri, keyName, key, expiry)
}

// SignIoTHub returns an IoT Hub–style token: as [Sign], but base64Key is
// decoded from standard, padded base64 and the decoded bytes are the HMAC key.
// keyName is "" for device tokens, which then carry no skn field. It returns
// an error wrapping [ErrInvalidKey] if base64Key is empty or not canonical
// standard base64.
func SignIoTHub(uri, keyName, base64Key string, expiry time.Time) (string, error) {
	key, ok := decodeBase64(nil, base64Key)
	if !ok || len(key) == 0 {
		return "", fmt.Errorf("%w: IoT Hub key is empty or not canonical standard base64", ErrInvalidKey)
	}
	return sign(uri, keyName, key, expiry), nil
}

func sign[K string | []byte](uri, keyName string, key K, expiry time.Time) string {
	t := Token{Resource: url.QueryEscape(uri), Expiry: expiry.Unix(), KeyName: keyName}
	msg := t.message(nil)
	k := keyBlock(key)
	mac := hmacSHA256(&k, msg)
	t.Signature = base64.StdEncoding.EncodeToString(mac[:])
	return t.String()
}

// Verify reports which of keys signed t, Event Hubs style: each key's text
// is the HMAC key. It returns the index of the first matching key, or -1 if
// none matches. Pass the primary and secondary key of a policy to accept both
// during key rotation.
//
// The signature is computed over t.Resource exactly as received and compared
// in constant time. Empty keys never match, so an unset secondary key cannot
// be used to forge tokens. Verify does not check expiry or scope. It does not
// allocate for tokens that [Parse] accepts and keys up to 64 bytes.
func (t Token) Verify(keys ...string) int {
	want, ok := t.mac()
	if !ok {
		return -1
	}
	var stack [stackMsgLen]byte
	msg := t.message(stack[:0])
	for i, key := range keys {
		if key == "" {
			continue
		}
		k := keyBlock(key)
		if got := hmacSHA256(&k, msg); hmac.Equal(got[:], want[:]) {
			return i
		}
	}
	return -1
}

// VerifyIoTHub is like [Token.Verify] for IoT Hub–style keys: each key is
// decoded from standard, padded base64 and the decoded bytes are the HMAC
// key. Keys that are empty or not canonical base64 never match.
func (t Token) VerifyIoTHub(base64Keys ...string) int {
	want, ok := t.mac()
	if !ok {
		return -1
	}
	var stack [stackMsgLen]byte
	msg := t.message(stack[:0])
	var kbuf [stackKeyLen]byte
	for i, key := range base64Keys {
		raw, ok := decodeBase64(kbuf[:0], key)
		if !ok || len(raw) == 0 {
			continue
		}
		k := keyBlock(raw)
		if got := hmacSHA256(&k, msg); hmac.Equal(got[:], want[:]) {
			return i
		}
	}
	return -1
}

// Check validates t at now: it returns an error wrapping [ErrExpired] if t
// has expired (allowing skew, as [Token.Expired]), an error wrapping
// [ErrBadSignature] if none of keys signed it (as [Token.Verify]), and
// otherwise the index of the matching key. Expiry is checked first so that
// expired tokens cost no HMAC computation. Check does not check the scope.
func (t Token) Check(now time.Time, skew time.Duration, keys ...string) (int, error) {
	if t.Expired(now, skew) {
		return -1, ErrExpired
	}
	if i := t.Verify(keys...); i >= 0 {
		return i, nil
	}
	return -1, ErrBadSignature
}

// CheckIoTHub is [Token.Check] with IoT Hub–style keys, as
// [Token.VerifyIoTHub].
func (t Token) CheckIoTHub(now time.Time, skew time.Duration, base64Keys ...string) (int, error) {
	if t.Expired(now, skew) {
		return -1, ErrExpired
	}
	if i := t.VerifyIoTHub(base64Keys...); i >= 0 {
		return i, nil
	}
	return -1, ErrBadSignature
}

// Expired reports whether t has expired at now, allowing skew for clock
// differences: it is expired if and only if now is strictly later than
// Expiry + skew. A token is thus still valid at exactly Expiry + skew. A
// negative skew makes tokens expire early. Tokens with Expiry <= 0 are
// always expired. Expired does not overflow for any Expiry or skew.
func (t Token) Expired(now time.Time, skew time.Duration) bool {
	if t.Expiry <= 0 {
		return true
	}
	// Split skew into whole seconds and a nanosecond remainder in
	// [0, 1e9), rounding towards minus infinity.
	sec := int64(skew / time.Second)
	nsec := int64(skew % time.Second)
	if nsec < 0 {
		nsec += int64(time.Second)
		sec--
	}
	if sec > 0 && t.Expiry > 1<<63-1-sec {
		return false // the deadline is beyond any representable time
	}
	deadline := t.Expiry + sec // cannot overflow: Expiry > 0, |sec| < 1e10
	nowSec := now.Unix()
	return nowSec > deadline || (nowSec == deadline && int64(now.Nanosecond()) > nsec)
}

// mac decodes t.Signature, failing for tokens that cannot verify.
func (t Token) mac() ([macLen]byte, bool) {
	if t.Resource == "" || t.Expiry <= 0 {
		return [macLen]byte{}, false
	}
	return decodeMAC(t.Signature)
}

// message appends a blockSize scratch area followed by the string to sign,
// sr "\n" se, to buf[:0]. hmacSHA256 fills the scratch area with the inner
// key pad so that the inner hash needs a single contiguous buffer.
func (t Token) message(buf []byte) []byte {
	need := blockSize + len(t.Resource) + 1 + maxExpiryDigits + 1
	if cap(buf) < need {
		buf = make([]byte, 0, need)
	}
	buf = buf[:blockSize]
	buf = append(buf, t.Resource...)
	buf = append(buf, '\n')
	return strconv.AppendInt(buf, t.Expiry, 10)
}

// keyBlock returns key as an HMAC-SHA256 key block: hashed if longer than a
// block, zero-padded otherwise (RFC 2104).
func keyBlock[K string | []byte](key K) [blockSize]byte {
	var k [blockSize]byte
	if len(key) > blockSize {
		sum := sha256.Sum256([]byte(key))
		copy(k[:], sum[:])
		return k
	}
	copy(k[:], key)
	return k
}

// hmacSHA256 computes HMAC-SHA256 (RFC 2104) with key block k over
// msg[blockSize:], overwriting msg[:blockSize]. Unlike crypto/hmac it does
// not allocate, and it works for keys of any length in every FIPS 140 mode
// (crypto/hmac panics on short keys under GODEBUG=fips140=only). The
// differential tests check it against crypto/hmac.
func hmacSHA256(k *[blockSize]byte, msg []byte) [macLen]byte {
	for i := range blockSize {
		msg[i] = k[i] ^ 0x36
	}
	inner := sha256.Sum256(msg)
	var outer [blockSize + macLen]byte
	for i := range blockSize {
		outer[i] = k[i] ^ 0x5c
	}
	copy(outer[blockSize:], inner[:])
	return sha256.Sum256(outer[:])
}

// decodeMAC decodes the canonical base64 text of a 32-byte MAC.
func decodeMAC(s string) ([macLen]byte, bool) {
	var out [macLen]byte
	// 44 characters with exactly one "=" encode exactly 32 bytes.
	if len(s) != sigLen || s[sigLen-1] != '=' || s[sigLen-2] == '=' {
		return out, false
	}
	_, ok := decodeBase64(out[:0], s)
	return out, ok
}

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// b64Value maps a byte to its value in the standard base64 alphabet, or to
// 0xff if it is not in the alphabet.
var b64Value = func() [256]byte {
	var t [256]byte
	for i := range t {
		t[i] = 0xff
	}
	for i := range len(b64Alphabet) {
		t[b64Alphabet[i]] = byte(i)
	}
	return t
}()

// decodeBase64 appends to dst the bytes that s encodes in canonical standard
// base64: padded to a multiple of 4, no whitespace, and unused trailing bits
// zero (what [base64.StdEncoding.Strict] accepts, minus its tolerance of
// line breaks). Canonical form means each byte string has exactly one
// encoding. It works on a string so that callers need no []byte conversion,
// and allocates only if dst lacks capacity.
func decodeBase64(dst []byte, s string) ([]byte, bool) {
	if len(s)%4 != 0 {
		return dst, false
	}
	if len(s) == 0 {
		return dst, true
	}
	pad := 0
	if s[len(s)-1] == '=' {
		pad = 1
		if s[len(s)-2] == '=' {
			pad = 2
		}
	}
	n := len(s)/4*3 - pad
	dst = slices.Grow(dst, n)
	out := dst[len(dst) : len(dst)+n]
	j := 0
	body, last := s[:len(s)-4], s[len(s)-4:]
	for i := 0; i+4 <= len(body); i += 4 {
		q := body[i : i+4]
		a, b, c, d := b64Value[q[0]], b64Value[q[1]], b64Value[q[2]], b64Value[q[3]]
		if a|b|c|d > 63 { // 0xff marks bytes outside the alphabet
			return dst, false
		}
		v := uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6 | uint32(d)
		o := out[j : j+3]
		o[0], o[1], o[2] = byte(v>>16), byte(v>>8), byte(v)
		j += 3
	}
	a, b := b64Value[last[0]], b64Value[last[1]]
	var c, d byte
	switch pad {
	case 0:
		c, d = b64Value[last[2]], b64Value[last[3]]
	case 1:
		c = b64Value[last[2]]
		if c&0x03 != 0 {
			return dst, false
		}
	case 2:
		if b&0x0f != 0 {
			return dst, false
		}
	}
	if a|b|c|d > 63 {
		return dst, false
	}
	v := uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6 | uint32(d)
	o := out[j:]
	switch pad {
	case 0:
		o[0], o[1], o[2] = byte(v>>16), byte(v>>8), byte(v)
	case 1:
		o[0], o[1] = byte(v>>16), byte(v>>8)
	case 2:
		o[0] = byte(v >> 16)
	}
	return dst[:len(dst)+n], true
}

// validMACText reports whether s is the canonical base64 text of a 32-byte
// MAC, like decodeMAC but without decoding.
func validMACText(s string) bool {
	return len(s) == sigLen && s[sigLen-1] == '=' && validMACPrefix(s[:sigLen-1])
}

// validMACPrefix reports whether p is the first 43 characters of the
// canonical base64 text of a 32-byte MAC: alphabet characters, the last
// carrying two zero bits.
func validMACPrefix(p string) bool {
	if len(p) != sigLen-1 {
		return false
	}
	var acc byte
	for i := 0; i < len(p); i++ {
		acc |= b64Value[p[i]]
	}
	return acc <= 63 && b64Value[p[sigLen-2]]&0x03 == 0
}
