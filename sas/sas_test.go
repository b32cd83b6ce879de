package sas

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// Official Azure test vectors.
const (
	ehToken  = "SharedAccessSignature sr=audience&sig=8UM0iIfFCfeBSqxSdBMW8pUbhAm7mnjSUaIZTZx8V0g%3D&se=1578099723&skn=keyName"
	iotToken = "SharedAccessSignature sr=test.azure-devices.net&sig=uux4PSAK1s9efNcBHin0pm7O5oENedTWkhqGp8JAyFY%3D&se=1546308061"
)

// lowerHexToken was signed by an independent implementation over an sr whose
// escapes use lower-case hex ("%2f"), as some clients produce, with key
// "secretkey". upperHexSig is the signature the same key gives over the
// upper-case spelling of the same resource.
const (
	lowerHexSR    = "myns.servicebus.windows.net%2fhub%2fpublishers%2fdev1"
	lowerHexToken = "SharedAccessSignature sr=" + lowerHexSR + "&sig=tMUTU0wntxScvKB7EkcFsjXfdaiy2BkmX97NV1rwOuY%3D&se=1700000000&skn=send"
	upperHexSig   = "3llu41JroVzxYd9lUXzYRgqja9Jbv4/GUwt7pp9eRf8="
)

// testTime is a fixed time at which tests sign tokens.
var testTime = time.Unix(1_800_000_000, 0)

// A syntactically valid signature and its escaped form.
const (
	validSig    = "8UM0iIfFCfeBSqxSdBMW8pUbhAm7mnjSUaIZTZx8V0g="
	validSigEsc = "8UM0iIfFCfeBSqxSdBMW8pUbhAm7mnjSUaIZTZx8V0g%3D"
)

func TestSignEventHubsVector(t *testing.T) {
	got := Sign("audience", "keyName", "key", time.Unix(1578099723, 0))
	if got != ehToken {
		t.Fatalf("Sign = %q, want %q", got, ehToken)
	}
	if !strings.Contains(got, "sig=8UM0iIfFCfeBSqxSdBMW8pUbhAm7mnjSUaIZTZx8V0g%3D") {
		t.Fatalf("Sign = %q lacks the official signature", got)
	}
	tok, err := Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if i := tok.Verify("key"); i != 0 {
		t.Errorf("Verify(key) = %d, want 0", i)
	}
	if i := tok.Verify("other", "key"); i != 1 {
		t.Errorf("Verify(other, key) = %d, want 1", i)
	}
	if i := tok.Verify("kez"); i != -1 {
		t.Errorf("Verify(kez) = %d, want -1", i)
	}
}

func TestSignIoTHubVector(t *testing.T) {
	got, err := SignIoTHub("test.azure-devices.net", "", "c2VjcmV0", time.Unix(1546308061, 0))
	if err != nil {
		t.Fatal(err)
	}
	if got != iotToken {
		t.Fatalf("SignIoTHub = %q, want %q", got, iotToken)
	}
	tok, err := Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if tok.KeyName != "" {
		t.Errorf("KeyName = %q, want empty", tok.KeyName)
	}
	if i := tok.VerifyIoTHub("c2VjcmV0"); i != 0 {
		t.Errorf("VerifyIoTHub = %d, want 0", i)
	}
	// The key text itself is not the HMAC key for IoT Hub.
	if i := tok.Verify("c2VjcmV0"); i != -1 {
		t.Errorf("Verify(base64 text) = %d, want -1", i)
	}
	if i := tok.Verify("secret"); i != 0 {
		t.Errorf("Verify(decoded key) = %d, want 0", i)
	}
	withName, err := SignIoTHub("test.azure-devices.net", "iothubowner", "c2VjcmV0", time.Unix(1546308061, 0))
	if err != nil {
		t.Fatal(err)
	}
	if want := iotToken + "&skn=iothubowner"; withName != want {
		t.Errorf("SignIoTHub with key name = %q, want %q", withName, want)
	}
}

func TestSignIoTHubBadKey(t *testing.T) {
	for _, key := range []string{"", "c2VjcmV0\n", "c2VjcmV", "c2VjcmV0=", "c2Vj cmV0", "-_-_"} {
		if _, err := SignIoTHub("ns", "", key, time.Unix(1, 0)); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("SignIoTHub(key %q) error = %v, want ErrInvalidKey", key, err)
		}
	}
}

func TestVerifyReceivedResource(t *testing.T) {
	tok, err := Parse(lowerHexToken)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Resource != lowerHexSR {
		t.Fatalf("Resource = %q, want it as received: %q", tok.Resource, lowerHexSR)
	}
	if i := tok.Verify("secretkey"); i != 0 {
		t.Errorf("lower-case hex token: Verify = %d, want 0", i)
	}
	// The same resource spelled with upper-case hex is different signed text.
	upper := tok
	upper.Resource = strings.ReplaceAll(lowerHexSR, "%2f", "%2F")
	if i := upper.Verify("secretkey"); i != -1 {
		t.Errorf("re-encoded resource with the old signature verified: %d", i)
	}
	upper.Signature = upperHexSig
	if i := upper.Verify("secretkey"); i != 0 {
		t.Errorf("upper-case hex token: Verify = %d, want 0", i)
	}
	// Both spellings grant the same scope.
	for _, tk := range []Token{tok, upper} {
		scope, err := tk.Scope("MyNS.servicebus.windows.net")
		if err != nil || scope != "/hub/publishers/dev1" {
			t.Errorf("Scope(%q) = %q, %v", tk.Resource, scope, err)
		}
	}
}

func TestSignRoundTrip(t *testing.T) {
	uris := []string{
		"sb://ns.servicebus.windows.net/hub/publishers/dev 1",
		"https://NS.example.com:443/Hub",
		"ns/hub?x=1&y=2#frag",
		"ünïcode/路径",
		strings.Repeat("a", 1000),
	}
	keys := []string{"k", "key", strings.Repeat("k", 64), strings.Repeat("k", 65), "2hmLYbJk2q5uZ2Yfyl0XSezXbxD+afO9ysh0Vsv4Xq8="}
	names := []string{"", "RootManageSharedAccessKey", "name with spaces", "a&b=c%d+e", "ключ"}
	exp := time.Unix(1_800_000_000, 999)
	for _, uri := range uris {
		for _, key := range keys {
			for _, name := range names {
				s := Sign(uri, name, key, exp)
				tok, err := Parse(s)
				if err != nil {
					t.Fatalf("Parse(Sign(%q, %q, %q)): %v", uri, name, key, err)
				}
				if tok.KeyName != name || tok.Expiry != exp.Unix() {
					t.Errorf("Parse(Sign) = %+v", tok)
				}
				if i := tok.Verify("", "wrong", key); i != 2 {
					t.Errorf("Verify = %d, want 2 (uri %q key %q)", i, uri, key)
				}
				if got := tok.String(); got != s {
					t.Errorf("String = %q, want %q", got, s)
				}
			}
		}
	}
}

func TestSignIoTHubRoundTrip(t *testing.T) {
	rawKeys := [][]byte{{0}, []byte("secret"), make([]byte, 32), make([]byte, 64), make([]byte, 65), make([]byte, 200)}
	for i := range rawKeys[2] {
		rawKeys[2][i] = byte(i * 7)
	}
	for _, raw := range rawKeys {
		key := base64.StdEncoding.EncodeToString(raw)
		s, err := SignIoTHub("hub.azure-devices.net/devices/d1", "", key, time.Unix(42, 0))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		if i := tok.VerifyIoTHub("!!!!", "", "AQID", key); i != 3 {
			t.Errorf("VerifyIoTHub(len %d) = %d, want 3", len(raw), i)
		}
		if i := tok.Verify(string(raw)); len(raw) > 0 && i != 0 {
			t.Errorf("Verify(raw key len %d) = %d, want 0", len(raw), i)
		}
	}
}

func TestVerifyNeverMatches(t *testing.T) {
	good, err := Parse(ehToken)
	if err != nil {
		t.Fatal(err)
	}
	emptyKey, err := Parse(Sign("audience", "keyName", "", time.Unix(1578099723, 0)))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		tok  Token
		keys []string
	}{
		{"no keys", good, nil},
		{"empty key", emptyKey, []string{""}},
		{"zero token", Token{}, []string{"key"}},
		{"empty resource", Token{Signature: good.Signature, Expiry: good.Expiry}, []string{"key"}},
		{"zero expiry", Token{Resource: good.Resource, Signature: good.Signature}, []string{"key"}},
		{"negative expiry", Token{Resource: good.Resource, Signature: good.Signature, Expiry: -1}, []string{"key"}},
		{"signature not base64", Token{Resource: good.Resource, Signature: "%%%", Expiry: good.Expiry}, []string{"key"}},
		{"signature escaped", Token{Resource: good.Resource, Signature: validSigEsc, Expiry: good.Expiry}, []string{"key"}},
		{"signature unpadded", Token{Resource: good.Resource, Signature: strings.TrimSuffix(good.Signature, "="), Expiry: good.Expiry}, []string{"key"}},
		{"other expiry", Token{Resource: good.Resource, Signature: good.Signature, Expiry: good.Expiry + 1}, []string{"key"}},
		{"other resource", Token{Resource: "Audience", Signature: good.Signature, Expiry: good.Expiry}, []string{"key"}},
		{"huge resource", Token{Resource: strings.Repeat("a", 10*MaxTokenLen), Signature: good.Signature, Expiry: good.Expiry}, []string{"key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if i := tt.tok.Verify(tt.keys...); i != -1 {
				t.Errorf("Verify = %d, want -1", i)
			}
			b64 := make([]string, len(tt.keys))
			for i, k := range tt.keys {
				b64[i] = base64.StdEncoding.EncodeToString([]byte(k))
			}
			if i := tt.tok.VerifyIoTHub(b64...); i != -1 {
				t.Errorf("VerifyIoTHub = %d, want -1", i)
			}
		})
	}
}

// TestVerifyLongResource checks resources too long for the stack buffer,
// which only hand-built tokens have.
func TestVerifyLongResource(t *testing.T) {
	uri := strings.Repeat("x", 2*MaxTokenLen)
	tok := Token{Resource: uri, Expiry: 99}
	mac := stdHMAC([]byte("key"), uri+"\n99")
	tok.Signature = base64.StdEncoding.EncodeToString(mac)
	if i := tok.Verify("key"); i != 0 {
		t.Errorf("Verify = %d, want 0", i)
	}
}

func stdHMAC(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// TestHMACMatchesStdlib compares the allocation-free HMAC with crypto/hmac
// around the block-size boundaries of keys and messages.
func TestHMACMatchesStdlib(t *testing.T) {
	for _, keyLen := range []int{0, 1, 31, 32, 55, 63, 64, 65, 128, 1000} {
		for _, msgLen := range []int{0, 1, 54, 55, 56, 63, 64, 65, 119, 120, 200} {
			key := make([]byte, keyLen)
			for i := range key {
				key[i] = byte(i*31 + keyLen)
			}
			msg := make([]byte, msgLen)
			for i := range msg {
				msg[i] = byte(i*17 + msgLen)
			}
			want := stdHMAC(key, string(msg))
			k := keyBlock(key)
			buf := append(make([]byte, blockSize), msg...)
			got := hmacSHA256(&k, buf)
			if !hmac.Equal(got[:], want) {
				t.Errorf("key %d msg %d: got %x, want %x", keyLen, msgLen, got, want)
			}
			ks := keyBlock(string(key))
			if ks != k {
				t.Errorf("keyBlock(string) != keyBlock([]byte) for key length %d", keyLen)
			}
		}
	}
}

func TestDecodeBase64(t *testing.T) {
	tests := []string{
		"", "AA==", "AAA=", "AAAA", "AB==", "AAB=", "c2VjcmV0", "c2VjcmV0\n", "c2VjcmV0\r\n", "c2Vj\ncmV0",
		"A===", "====", "AA=A", "AA==AAAA", "-_-_", "+/+/", "AAAAA", "A", "AA", "AAA", " AAA", "AA=\x00",
		validSig, strings.TrimSuffix(validSig, "="), validSig + "====",
	}
	for _, s := range tests {
		checkDecodeBase64(t, s)
	}
}

// checkDecodeBase64 compares decodeBase64 with the standard library's strict
// decoder, which additionally skips line breaks.
func checkDecodeBase64(t *testing.T, s string) {
	t.Helper()
	want, err := base64.StdEncoding.Strict().DecodeString(s)
	wantOK := err == nil && !strings.ContainsAny(s, "\r\n")
	got, ok := decodeBase64(nil, s)
	if ok != wantOK || (ok && string(got) != string(want)) {
		t.Errorf("decodeBase64(%q) = %x, %v; want %x, %v", s, got, ok, want, wantOK)
	}
	mac, ok := decodeMAC(s)
	wantOK = wantOK && len(want) == macLen
	if ok != wantOK || (ok && string(mac[:]) != string(want)) {
		t.Errorf("decodeMAC(%q) = %x, %v; want %x, %v", s, mac, ok, want, wantOK)
	}
}

// validTokens are tokens Parse must accept, with the result.
var validTokens = []struct {
	in   string
	want Token
}{
	{ehToken, Token{"audience", validSig, 1578099723, "keyName"}},
	{iotToken, Token{"test.azure-devices.net", "uux4PSAK1s9efNcBHin0pm7O5oENedTWkhqGp8JAyFY=", 1546308061, ""}},
	{"SharedAccessSignature skn=k&se=1&sig=" + validSigEsc + "&sr=ns", Token{"ns", validSig, 1, "k"}},
	{"SharedAccessSignature se=9223372036854775807&sr=sb%3a%2f%2fns%2fhub&sig=" + validSig, Token{"sb%3a%2f%2fns%2fhub", validSig, math.MaxInt64, ""}},
	{"SharedAccessSignature sr=a%2Fb&sig=" + strings.ToLower("8UM0iIfFCfeBSqxSdBMW8pUbhAm7mnjSUaIZTZx8V0g%3d") + "&se=12", Token{"a%2Fb", strings.ToLower(validSig[:43]) + "=", 12, ""}},
	// sig escapes of '+' and '/', and a raw '+', which stays '+'.
	{"SharedAccessSignature sr=x&sig=%2B%2f" + validSigEsc[2:] + "&se=1", Token{"x", "+/" + validSig[2:], 1, ""}},
	{"SharedAccessSignature sr=x&sig=+/" + validSig[2:] + "&se=1", Token{"x", "+/" + validSig[2:], 1, ""}},
	{"SharedAccessSignature sr=x&sig=%38%55" + validSigEsc[2:] + "&se=1", Token{"x", validSig, 1, ""}},
	// skn decodes as a query value.
	{"SharedAccessSignature sr=x&sig=" + validSig + "&se=1&skn=a+b%2Bc%C3%A9", Token{"x", validSig, 1, "a b+cé"}},
	// sr is kept verbatim, including '=', '+' and odd escapes.
	{"SharedAccessSignature sr=a=b+c%zz&sig=" + validSig + "&se=1", Token{"a=b+c%zz", validSig, 1, ""}},
}

func TestParse(t *testing.T) {
	for _, tt := range validTokens {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%q) =\n%+v, want\n%+v", tt.in, got, tt.want)
		}
		again, err := Parse(got.String())
		if err != nil || again != got {
			t.Errorf("Parse(String()) = %+v, %v; want %+v", again, err, got)
		}
	}
}

// malformedTokens are tokens Parse must reject, with a fragment of the
// expected error message.
var malformedTokens = []struct {
	in, why string
}{
	{"", "does not start with"},
	{"SharedAccessSignature", "does not start with"},
	{"sharedaccesssignature sr=x&sig=" + validSig + "&se=1", "does not start with"},
	{"SharedAccessSignature\tsr=x&sig=" + validSig + "&se=1", "does not start with"},
	{"Bearer sr=x&sig=" + validSig + "&se=1", "does not start with"},
	{" SharedAccessSignature sr=x&sig=" + validSig + "&se=1", "does not start with"},
	{"SharedAccessSignature  sr=x&sig=" + validSig + "&se=1", "not printable"},
	{"SharedAccessSignature sr=x&sig=" + validSig + "&se=1 ", "not printable"},
	{"SharedAccessSignature sr=x&sig=" + validSig + "&se=1\n", "not printable"},
	{"SharedAccessSignature sr=x\x00&sig=" + validSig + "&se=1", "not printable"},
	{"SharedAccessSignature sr=é&sig=" + validSig + "&se=1", "not printable"},
	{"SharedAccessSignature sr=x&sig=" + validSig + "&se=1&skn=a\x7f", "not printable"},
	{"SharedAccessSignature ", "missing sr"},
	{"SharedAccessSignature sig=" + validSig + "&se=1", "missing sr"},
	{"SharedAccessSignature sr=x&se=1", "missing sig"},
	{"SharedAccessSignature sr=x&sig=" + validSig, "missing se"},
	{"SharedAccessSignature sr=x&sr=y&sig=" + validSig + "&se=1", "duplicate sr"},
	{"SharedAccessSignature sr=x&sig=" + validSig + "&sig=" + validSig + "&se=1", "duplicate sig"},
	{"SharedAccessSignature sr=x&sig=" + validSig + "&se=1&se=1", "duplicate se"},
	{"SharedAccessSignature sr=x&sig=" + validSig + "&se=1&skn=a&skn=a", "duplicate skn"},
	{"SharedAccessSignature sr=x&sig=" + validSig + "&se=1&foo=bar", `unknown field "foo"`},
	{"SharedAccessSignature SR=x&sig=" + validSig + "&se=1", `unknown field "SR"`},
	{"SharedAccessSignature sr=x&sig=" + validSig + "&se=1&=bar", `unknown field ""`},
	{"SharedAccessSignature sr=x&sig=" + validSig + "&se=1&" + strings.Repeat("z", 100) + "=1", "unknown field"},
	{"SharedAccessSignature sr=&sig=" + validSig + "&se=1", "empty sr"},
	{"SharedAccessSignature sr=x&sig=&se=1", "empty sig"},
	{"SharedAccessSignature sr=x&sig=" + validSig + "&se=", "empty se"},
	{"SharedAccessSignature sr=x&sig=" + validSig + "&se=1&skn=", "empty skn"},
	{"SharedAccessSignature sr=x&sig=" + validSig + "&se=1&", "empty field"},
	{"SharedAccessSignature &sr=x&sig=" + validSig + "&se=1", "empty field"},
	{"SharedAccessSignature sr=x&&sig=" + validSig + "&se=1", "empty field"},
	{"SharedAccessSignature sr=x&sig=" + validSig + "&se", "without '='"},
	{"SharedAccessSignature sr=x&sig=" + validSig + "&se=0", "se is not"},
	{"SharedAccessSignature sr=x&sig=" + validSig + "&se=01", "se is not"},
	{"SharedAccessSignature sr=x&sig=" + validSig + "&se=-1", "se is not"},
	{"SharedAccessSignature sr=x&sig=" + validSig + "&se=+1", "se is not"},
	{"SharedAccessSignature sr=x&sig=" + validSig + "&se=1.5", "se is not"},
	{"SharedAccessSignature sr=x&sig=" + validSig + "&se=1e9", "se is not"},
	{"SharedAccessSignature sr=x&sig=" + validSig + "&se=0x10", "se is not"},
	{"SharedAccessSignature sr=x&sig=" + validSig + "&se=%31", "se is not"},
	{"SharedAccessSignature sr=x&sig=" + validSig + "&se=9223372036854775808", "se is not"},
	{"SharedAccessSignature sr=x&sig=" + validSig + "&se=99999999999999999999", "se is not"},
	{"SharedAccessSignature sr=x&sig=abc&se=1", "sig is not"},
	{"SharedAccessSignature sr=x&sig=" + validSig[:43] + "&se=1", "sig is not"},
	{"SharedAccessSignature sr=x&sig=" + validSig[:43] + "%3d%3d&se=1", "sig is not"},
	{"SharedAccessSignature sr=x&sig=" + validSig + "AAAA&se=1", "sig is not"},
	{"SharedAccessSignature sr=x&sig=" + validSig[:42] + "h=&se=1", "sig is not"}, // non-zero trailing bits
	{"SharedAccessSignature sr=x&sig=" + validSig[:40] + "==AA&se=1", "sig is not"},
	{"SharedAccessSignature sr=x&sig=" + strings.ReplaceAll(validSig, "M", "-") + "&se=1", "sig is not"},
	{"SharedAccessSignature sr=x&sig=" + validSig[:43] + "%3&se=1", "sig is not"},
	{"SharedAccessSignature sr=x&sig=" + validSig[:43] + "%&se=1", "sig is not"},
	{"SharedAccessSignature sr=x&sig=" + validSig[:43] + "%zz&se=1", "sig is not"},
	{"SharedAccessSignature sr=x&sig=" + validSig[:42] + "%0A=&se=1", "sig is not"},
	{"SharedAccessSignature sr=x&sig=" + validSig[:43] + "%3D%00&se=1", "sig is not"},
	{"SharedAccessSignature sr=x&sig=%20" + validSig[1:] + "&se=1", "sig is not"},
	{"SharedAccessSignature sr=x&sig=" + strings.Repeat("%41", 60) + "&se=1", "sig is not"},
	{"SharedAccessSignature sr=x&sig=" + validSig + "&se=1&skn=%", "skn is not"},
	{"SharedAccessSignature sr=x&sig=" + validSig + "&se=1&skn=%0A", "skn is not"},
	{"SharedAccessSignature sr=x&sig=" + validSig + "&se=1&skn=%ff", "skn is not"},
	{"SharedAccessSignature sr=x&sig=" + validSig + "&se=1&skn=%C2%85", "skn is not"},
	{"SharedAccessSignature sr=" + strings.Repeat("x", MaxTokenLen) + "&sig=" + validSig + "&se=1", "longer than"},
}

func TestParseMalformed(t *testing.T) {
	for _, tt := range malformedTokens {
		tok, err := Parse(tt.in)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%q) = %+v, %v; want ErrMalformed", tt.in, tok, err)
			continue
		}
		if tok != (Token{}) {
			t.Errorf("Parse(%q) returned non-zero token %+v with error", tt.in, tok)
		}
		if !strings.Contains(err.Error(), tt.why) {
			t.Errorf("Parse(%q) error %q does not mention %q", tt.in, err, tt.why)
		}
	}
}

func TestParseMaxLength(t *testing.T) {
	base := "SharedAccessSignature sr=&sig=" + validSig + "&se=1"
	sr := strings.Repeat("x", MaxTokenLen-len(base))
	s := "SharedAccessSignature sr=" + sr + "&sig=" + validSig + "&se=1"
	if len(s) != MaxTokenLen {
		t.Fatalf("test token has length %d", len(s))
	}
	if _, err := Parse(s); err != nil {
		t.Errorf("Parse(token of MaxTokenLen bytes): %v", err)
	}
	if _, err := Parse(s + "1"); !errors.Is(err, ErrMalformed) {
		t.Errorf("Parse(token of MaxTokenLen+1 bytes): %v, want ErrMalformed", err)
	}
}

func TestErrorsDoNotEchoValues(t *testing.T) {
	const secret = "TOPSECRET"
	for _, s := range []string{
		"SharedAccessSignature sr=" + secret + "&sig=" + secret + "&se=1",
		"SharedAccessSignature sr=x&sig=" + validSig + "&se=" + secret,
		"SharedAccessSignature sr=x&sig=" + validSig + "&se=1&skn=%" + secret,
		"SharedAccessSignature " + secret,
	} {
		_, err := Parse(s)
		if err == nil || strings.Contains(err.Error(), secret) {
			t.Errorf("Parse(%q) error = %v", s, err)
		}
	}
}

func TestTokenString(t *testing.T) {
	tok := Token{Resource: "sb%3a%2f%2fns%2fhub", Signature: "+/" + validSig[2:], Expiry: 7, KeyName: "a b&c"}
	want := "SharedAccessSignature sr=sb%3a%2f%2fns%2fhub&sig=%2B%2F" + validSigEsc[2:] + "&se=7&skn=a+b%26c"
	if got := tok.String(); got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	wantRedacted := "SharedAccessSignature sr=sb%3a%2f%2fns%2fhub&sig=REDACTED&se=7&skn=a+b%26c"
	if got := tok.Redacted(); got != wantRedacted {
		t.Errorf("Redacted = %q, want %q", got, wantRedacted)
	}
	if got, want := (Token{}).String(), "SharedAccessSignature sr=&sig=&se=0"; got != want {
		t.Errorf("zero String = %q, want %q", got, want)
	}
}

func TestExpired(t *testing.T) {
	const se = 1_700_000_000
	at := func(sec int64, nsec int64) time.Time { return time.Unix(sec, nsec) }
	tests := []struct {
		name    string
		expiry  int64
		now     time.Time
		skew    time.Duration
		expired bool
	}{
		{"before", se, at(se-1, 0), 0, false},
		{"at expiry", se, at(se, 0), 0, false},
		{"1ns after expiry", se, at(se, 1), 0, true},
		{"1s after expiry", se, at(se+1, 0), 0, true},
		{"within skew", se, at(se+29, 999_999_999), DefaultSkew, false},
		{"at skew boundary", se, at(se+30, 0), DefaultSkew, false},
		{"1ns past skew", se, at(se+30, 1), DefaultSkew, true},
		{"fractional skew boundary", se, at(se, 500_000_000), 500 * time.Millisecond, false},
		{"fractional skew past", se, at(se, 500_000_001), 500 * time.Millisecond, true},
		{"negative skew boundary", se, at(se-1, 0), -time.Second, false},
		{"negative skew past", se, at(se-1, 1), -time.Second, true},
		{"negative fractional skew boundary", se, at(se-1, 999_999_999), -time.Nanosecond, false},
		{"negative fractional skew past", se, at(se, 0), -time.Nanosecond, true},
		{"most negative skew", se, at(se, 0), math.MinInt64, true},
		{"most negative skew far past", se, at(-8_000_000_000, 0), math.MinInt64, false},
		{"max expiry", math.MaxInt64, at(math.MaxInt64, 0), 0, false},
		{"max expiry and skew", math.MaxInt64, at(math.MaxInt64, 999_999_999), math.MaxInt64, false},
		{"large expiry and skew", math.MaxInt64 - 10, at(math.MaxInt64, 0), 100 * time.Second, false},
		{"zero time", se, time.Time{}, 0, false},
		{"zero expiry", 0, time.Time{}, DefaultSkew, true},
		{"negative expiry", -5, at(-100, 0), time.Hour, true},
		{"min expiry", math.MinInt64, time.Time{}, math.MaxInt64, true},
		{"far future now", 1, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), math.MaxInt64, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := Token{Expiry: tt.expiry}
			if got := tok.Expired(tt.now, tt.skew); got != tt.expired {
				t.Errorf("Expired(%v, %v) with se %d = %v, want %v", tt.now, tt.skew, tt.expiry, got, tt.expired)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	tok, err := Parse(ehToken)
	if err != nil {
		t.Fatal(err)
	}
	valid := time.Unix(tok.Expiry, 0)
	late := valid.Add(DefaultSkew + time.Nanosecond)
	if i, err := tok.Check(valid, DefaultSkew, "x", "key"); i != 1 || err != nil {
		t.Errorf("Check valid = %d, %v", i, err)
	}
	if i, err := tok.Check(valid, DefaultSkew, "x"); i != -1 || !errors.Is(err, ErrBadSignature) {
		t.Errorf("Check bad key = %d, %v", i, err)
	}
	if i, err := tok.Check(late, DefaultSkew, "key"); i != -1 || !errors.Is(err, ErrExpired) {
		t.Errorf("Check expired = %d, %v", i, err)
	}

	iot, err := Parse(iotToken)
	if err != nil {
		t.Fatal(err)
	}
	valid = time.Unix(iot.Expiry, 0)
	late = valid.Add(time.Nanosecond)
	if i, err := iot.CheckIoTHub(valid, 0, "c2VjcmV0"); i != 0 || err != nil {
		t.Errorf("CheckIoTHub valid = %d, %v", i, err)
	}
	if i, err := iot.CheckIoTHub(valid, 0, "c2VjcmV1"); i != -1 || !errors.Is(err, ErrBadSignature) {
		t.Errorf("CheckIoTHub bad key = %d, %v", i, err)
	}
	if i, err := iot.CheckIoTHub(late, 0, "c2VjcmV0"); i != -1 || !errors.Is(err, ErrExpired) {
		t.Errorf("CheckIoTHub expired = %d, %v", i, err)
	}
}

func TestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	tok, err := Parse(ehToken)
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"wrong", "key"}
	iotTok, err := Parse(iotToken)
	if err != nil {
		t.Fatal(err)
	}
	iotKeys := []string{"AAAA", "c2VjcmV0"}
	long := "SharedAccessSignature sr=&sig=" + validSig + "&se=1"
	longTok, err := Parse("SharedAccessSignature sr=" + strings.Repeat("x", MaxTokenLen-len(long)) + "&sig=" + validSig + "&se=1")
	if err != nil {
		t.Fatal(err)
	}
	longKeys := []string{strings.Repeat("k", 64)}
	tests := []struct {
		name string
		max  float64
		f    func()
	}{
		{"Parse", 1, func() { _, _ = Parse(ehToken) }},
		{"Parse rejected", 0, func() { _, _ = Parse("SharedAccessSignature sr=x&sr=y") }},
		{"Parse unescaped", 0, func() { _, _ = Parse("SharedAccessSignature sr=x&sig=" + validSig + "&se=1&skn=k") }},
		{"Verify", 0, func() { _ = tok.Verify(keys...) }},
		{"VerifyIoTHub", 0, func() { _ = iotTok.VerifyIoTHub(iotKeys...) }},
		{"Verify longest token", 0, func() { _ = longTok.Verify(longKeys...) }},
		{"Check", 0, func() { _, _ = tok.Check(time.Unix(5, 0), DefaultSkew, keys...) }},
		{"ParseConnectionString", 0, func() { _, _ = ParseConnectionString(keyConn) }},
		{"Expired", 0, func() { _ = tok.Expired(time.Unix(5, 0), DefaultSkew) }},
		{"Covers", 0, func() { _ = Covers("/hub", "/hub/publishers/dev1") }},
	}
	for _, tt := range tests {
		if got := testing.AllocsPerRun(100, tt.f); got > tt.max {
			t.Errorf("%s: %v allocations, want at most %v", tt.name, got, tt.max)
		}
	}
}
