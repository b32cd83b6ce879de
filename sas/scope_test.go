package sas

import (
	"errors"
	"strings"
	"testing"
)

const testNS = "ns.servicebus.windows.net"

// scopeTests are resources and the scope each grants in namespace ns (or
// testNS when ns is ""), or the error it yields.
var scopeTests = []struct {
	sr, ns string
	want   string
	err    error
}{
	// Encodings and schemes of the same resource.
	{sr: "sb%3a%2f%2fns.servicebus.windows.net%2fhub%2fpublishers%2fdev1", want: "/hub/publishers/dev1"},
	{sr: "sb%3A%2F%2Fns.servicebus.windows.net%2Fhub%2Fpublishers%2Fdev1", want: "/hub/publishers/dev1"},
	{sr: "sb://ns.servicebus.windows.net/hub/publishers/dev1", want: "/hub/publishers/dev1"},
	{sr: "SB://ns.servicebus.windows.net/hub", want: "/hub"},
	{sr: "https%3A%2F%2Fns.servicebus.windows.net%2Fhub", want: "/hub"},
	{sr: "http://ns.servicebus.windows.net/hub", want: "/hub"},
	{sr: "amqps://ns.servicebus.windows.net/hub", want: "/hub"},
	{sr: "ns.servicebus.windows.net/hub", want: "/hub"},
	{sr: "ns.servicebus.windows.net%2Fhub", want: "/hub"},
	{sr: "ns.servicebus.windows.net%2fHub%2FPublishers%2fDev1", want: "/hub/publishers/dev1"},
	{sr: "ns%2Eservicebus%2Ewindows%2Enet%2Fhub", want: "/hub"},
	// Roots.
	{sr: "ns.servicebus.windows.net", want: "/"},
	{sr: "ns.servicebus.windows.net/", want: "/"},
	{sr: "ns.servicebus.windows.net%2F", want: "/"},
	{sr: "sb://ns.servicebus.windows.net", want: "/"},
	{sr: "sb%3A%2F%2Fns.servicebus.windows.net%2F", want: "/"},
	{sr: "test.azure-devices.net", ns: "test.azure-devices.net", want: "/"},
	{sr: "test.azure-devices.net%2Fdevices%2Fd1", ns: "TEST.azure-devices.net", want: "/devices/d1"},
	{sr: "ns", ns: "ns", want: "/"},
	{sr: "ns/hub", ns: "ns", want: "/hub"},
	// Trailing slash, case, odd but legal characters.
	{sr: "ns.servicebus.windows.net/hub/", want: "/hub"},
	{sr: "NS.ServiceBus.Windows.NET/HUB", want: "/hub"},
	{sr: "ns.servicebus.windows.net/hub/publishers/a+b", want: "/hub/publishers/a+b"},
	{sr: "ns.servicebus.windows.net/hub/publishers/a%2Bb", want: "/hub/publishers/a+b"},
	{sr: "ns.servicebus.windows.net/hub/publishers/a@b:c=d$e!f", want: "/hub/publishers/a@b:c=d$e!f"},
	{sr: "ns.servicebus.windows.net/hub/.well/..x/...", want: "/hub/.well/..x/..."},
	// Decoding happens once: a double-encoded "/" stays inside its segment.
	{sr: "ns.servicebus.windows.net%2Fhub%2Fpublishers%2Fa%252Fb", want: "/hub/publishers/a%2fb"},
	{sr: "ns.servicebus.windows.net%252Fhub", err: ErrMalformed}, // host "ns...net%2Fhub"
	{sr: "ns.servicebus.windows.net/hub%252E%252E", want: "/hub%2e%2e"},
	// Ports, on either side.
	{sr: "sb://ns.servicebus.windows.net:5671/hub", want: "/hub"},
	{sr: "ns.servicebus.windows.net%3A443%2Fhub", want: "/hub"},
	{sr: "ns.servicebus.windows.net/hub", ns: "ns.servicebus.windows.net:5671", want: "/hub"},
	{sr: "ns.servicebus.windows.net:1/hub", ns: "NS.servicebus.windows.net:2", want: "/hub"},
	{sr: "localhost:5671/hub", ns: "localhost", want: "/hub"},
	{sr: "127.0.0.1:5671/hub", ns: "127.0.0.1:5671", want: "/hub"},
	// IPv6 literals compare as addresses.
	{sr: "sb://[::1]:5671/hub", ns: "::1", want: "/hub"},
	{sr: "%5B0:0:0:0:0:0:0:1%5D%2Fhub", ns: "[::1]:5671", want: "/hub"},
	{sr: "[2001:DB8::1]/hub", ns: "2001:db8::1", want: "/hub"},
	{sr: "[::1]/hub", ns: "::2", err: ErrWrongNamespace},
	// Wrong namespace.
	{sr: "other.servicebus.windows.net/hub", err: ErrWrongNamespace},
	{sr: "ns.servicebus.windows.net.evil.com/hub", err: ErrWrongNamespace},
	{sr: "ns/hub", err: ErrWrongNamespace},
	{sr: "servicebus.windows.net/hub", err: ErrWrongNamespace},
	{sr: "ns.servicebus.windows.net./hub", err: ErrWrongNamespace},
	{sr: "ns.servicebus.windows.net/hub", ns: "other", err: ErrWrongNamespace},
	{sr: "ns.servicebus.windows.net/hub", ns: "sb://ns.servicebus.windows.net", err: ErrWrongNamespace},
	{sr: "ns.servicebus.windows.net/hub", ns: "ns.servicebus.windows.net:x", err: ErrWrongNamespace},
	{sr: "ns.servicebus.windows.net/hub", ns: "ns.servicebus.windows.net/", err: ErrWrongNamespace},
	{sr: "ns.servicebus.windows.net/hub", ns: "[::1", err: ErrWrongNamespace},
	// Kelvin sign: no Unicode case folding, and non-ASCII is rejected anyway.
	{sr: "\u212a.example/hub", ns: "k.example", err: ErrMalformed},
	// Malformed resources.
	{sr: "", err: ErrMalformed},
	{sr: "%", err: ErrMalformed},
	{sr: "ns%2", err: ErrMalformed},
	{sr: "ns%zz", err: ErrMalformed},
	{sr: "ns%2G", err: ErrMalformed},
	{sr: "ns.servicebus.windows.net//hub", err: ErrMalformed},
	{sr: "ns.servicebus.windows.net/hub//x", err: ErrMalformed},
	{sr: "ns.servicebus.windows.net/hub//", err: ErrMalformed},
	{sr: "ns.servicebus.windows.net//", err: ErrMalformed},
	{sr: "ns.servicebus.windows.net/./hub", err: ErrMalformed},
	{sr: "ns.servicebus.windows.net/hub/..", err: ErrMalformed},
	{sr: "ns.servicebus.windows.net/hub/../other", err: ErrMalformed},
	{sr: "ns.servicebus.windows.net/hub/%2e%2e/other", err: ErrMalformed},
	{sr: "ns.servicebus.windows.net/hub/%2E", err: ErrMalformed},
	{sr: "ns.servicebus.windows.net/hub%2F..", err: ErrMalformed},
	{sr: "ns.servicebus.windows.net/hub?x=1", err: ErrMalformed},
	{sr: "ns.servicebus.windows.net/hub%3Fx", err: ErrMalformed},
	{sr: "ns.servicebus.windows.net/hub#x", err: ErrMalformed},
	{sr: "ns.servicebus.windows.net/hub\\x", err: ErrMalformed},
	{sr: "ns.servicebus.windows.net%5Chub", err: ErrMalformed},
	{sr: "ns.servicebus.windows.net/hub x", err: ErrMalformed},
	{sr: "ns.servicebus.windows.net/hub%20x", err: ErrMalformed},
	{sr: "ns.servicebus.windows.net/hub%00", err: ErrMalformed},
	{sr: "ns.servicebus.windows.net/hub%0a", err: ErrMalformed},
	{sr: "ns.servicebus.windows.net/hub%7F", err: ErrMalformed},
	{sr: "ns.servicebus.windows.net/hub%C3%A9", err: ErrMalformed},
	{sr: "ns.servicebus.windows.net/hubé", err: ErrMalformed},
	{sr: "/hub", err: ErrMalformed},
	{sr: "//ns.servicebus.windows.net/hub", err: ErrMalformed},
	{sr: "sb://", err: ErrMalformed},
	{sr: "sb:///hub", err: ErrMalformed},
	{sr: "sb://sb://ns.servicebus.windows.net/hub", err: ErrMalformed},
	{sr: "ftp://ns.servicebus.windows.net/hub", err: ErrMalformed},
	{sr: "://ns.servicebus.windows.net/hub", err: ErrMalformed},
	{sr: "sb:ns.servicebus.windows.net/hub", err: ErrMalformed},
	{sr: "sb:/ns.servicebus.windows.net/hub", err: ErrMalformed},
	{sr: "user@ns.servicebus.windows.net/hub", err: ErrMalformed},
	{sr: "sb://ns.servicebus.windows.net@evil.com/hub", err: ErrMalformed},
	{sr: "ns.servicebus.windows.net:/hub", err: ErrMalformed},
	{sr: "ns.servicebus.windows.net:65536/hub", err: ErrMalformed},
	{sr: "ns.servicebus.windows.net:123456/hub", err: ErrMalformed},
	{sr: "ns.servicebus.windows.net:-1/hub", err: ErrMalformed},
	{sr: "ns.servicebus.windows.net:1:2/hub", err: ErrMalformed},
	{sr: "::1/hub", ns: "::1", err: ErrMalformed},
	{sr: "[::1/hub", ns: "::1", err: ErrMalformed},
	{sr: "[::1]x/hub", ns: "::1", err: ErrMalformed},
	{sr: "[]/hub", err: ErrMalformed},
	{sr: "[1.2.3.4]/hub", ns: "1.2.3.4", err: ErrMalformed},
	{sr: "[fe80::1%25eth0]/hub", ns: "fe80::1", err: ErrMalformed},
	{sr: "ns.servicebus.windows.net/hub/x://y", err: ErrMalformed},
	{sr: strings.Repeat("a", MaxTokenLen+1), err: ErrMalformed},
	{sr: strings.Repeat("a", 253) + "/hub", ns: strings.Repeat("a", 253), want: "/hub"},
	{sr: strings.Repeat("a", 254) + "/hub", ns: strings.Repeat("a", 253), err: ErrMalformed},
}

func TestScope(t *testing.T) {
	for _, tt := range scopeTests {
		ns := tt.ns
		if ns == "" {
			ns = testNS
		}
		got, err := Token{Resource: tt.sr}.Scope(ns)
		if tt.err != nil {
			if !errors.Is(err, tt.err) || got != "" {
				t.Errorf("Scope(%q, ns %q) = %q, %v; want error %v", tt.sr, ns, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Scope(%q, ns %q) = %q, %v; want %q", tt.sr, ns, got, err, tt.want)
			continue
		}
		if canon, err := CanonicalPath(got); err != nil || canon != got {
			t.Errorf("Scope(%q) = %q, which CanonicalPath turns into %q, %v", tt.sr, got, canon, err)
		}
	}
}

func TestScopeEmptyNamespace(t *testing.T) {
	for _, sr := range []string{"ns", "ns/hub", "sb://ns"} {
		if got, err := (Token{Resource: sr}).Scope(""); !errors.Is(err, ErrWrongNamespace) {
			t.Errorf("Scope(%q, \"\") = %q, %v; want ErrWrongNamespace", sr, got, err)
		}
	}
}

func TestScopeOfSignedToken(t *testing.T) {
	for _, uri := range []string{
		"sb://ns.servicebus.windows.net/hub/publishers/dev1",
		"https://ns.servicebus.windows.net/hub/publishers/dev1/",
		"ns.servicebus.windows.net/Hub/Publishers/Dev1",
	} {
		tok, err := Parse(Sign(uri, "send", "key", testTime))
		if err != nil {
			t.Fatal(err)
		}
		got, err := tok.Scope(testNS)
		if err != nil || got != "/hub/publishers/dev1" {
			t.Errorf("Scope of token for %q = %q, %v", uri, got, err)
		}
	}
}

var coversTests = []struct {
	scope, path string
	want        bool
}{
	{"/", "/", true},
	{"/", "/hub", true},
	{"/", "/hub/publishers/a", true},
	{"/hub", "/hub", true},
	{"/hub", "/hub/publishers/a", true},
	{"/hub", "/HUB/Publishers/A", true},
	{"/HUB", "/hub/publishers/a", true},
	{"/hub/publishers/a", "/hub/publishers/a", true},
	{"/hub/publishers/a%2fb", "/hub/publishers/A%2Fb", true},
	{"/hub", "/hubx", false},
	{"/hub", "/hu", false},
	{"/hub", "/", false},
	{"/hub/publishers/a", "/hub/publishers/ab", false},
	{"/hub/publishers/a", "/hub/publishers", false},
	{"/hub/publishers/a", "/hub", false},
	{"/hub", "/other/hub", false},
	// Non-canonical arguments never match, even under "/".
	{"/hub", "/hub/", false},
	{"/hub", "/hub//x", false},
	{"/hub", "/hub/../other", false},
	{"/hub", "/hub/./x", false},
	{"/hub", "/hub/..", false},
	{"/hub", "hub", false},
	{"/hub", "", false},
	{"/hub", "/hub/x?y", false},
	{"/hub", "/hub/x y", false},
	{"/hub", "/hub/\u212a", false},
	{"/", "", false},
	{"/", "//", false},
	{"/", "/..", false},
	{"/", "/a\x00", false},
	{"", "/hub", false},
	{"hub", "hub", false},
	{"/hub/", "/hub/x", false},
	{"//", "/hub", false},
	{"/..", "/../x", false},
	{"/k", "/\u212a", false},
}

func TestCovers(t *testing.T) {
	for _, tt := range coversTests {
		if got := Covers(tt.scope, tt.path); got != tt.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", tt.scope, tt.path, got, tt.want)
		}
	}
}

func TestCanonicalPath(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "/", true},
		{"/", "/", true},
		{"hub", "/hub", true},
		{"/hub", "/hub", true},
		{"/hub/", "/hub", true},
		{"Hub/Publishers/A", "/hub/publishers/a", true},
		{"/hub/publishers/a%2Fb", "/hub/publishers/a%2fb", true},
		{"/hub/.x/..y", "/hub/.x/..y", true},
		{"//", "", false},
		{"//hub", "", false},
		{"/hub//", "", false},
		{"/hub/./x", "", false},
		{"/hub/../x", "", false},
		{"..", "", false},
		{"/hub x", "", false},
		{"/hub?x", "", false},
		{"/hub#x", "", false},
		{"/hub\\x", "", false},
		{"/hub\x00", "", false},
		{"/hé", "", false},
		{"/" + strings.Repeat("a", MaxTokenLen), "", false},
	}
	for _, tt := range tests {
		got, err := CanonicalPath(tt.in)
		if tt.ok {
			if err != nil || got != tt.want {
				t.Errorf("CanonicalPath(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			if !Covers(got, got) || !Covers("/", got) {
				t.Errorf("Covers does not accept CanonicalPath(%q) = %q", tt.in, got)
			}
		} else if !errors.Is(err, ErrMalformed) || got != "" {
			t.Errorf("CanonicalPath(%q) = %q, %v; want ErrMalformed", tt.in, got, err)
		}
	}
}
