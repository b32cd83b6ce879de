package sas

import (
	"errors"
	"strings"
	"testing"
)

const (
	testKey  = "2hmLYbJk2q5uZ2Yfyl0XSezXbxD+afO9ysh0Vsv4Xq8="
	keyConn  = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=" + testKey + ";EntityPath=hub"
	sigConn  = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessSignature=" + ehToken + ";EntityPath=hub"
	testHost = "ns.servicebus.windows.net"
)

var validConnectionStrings = []struct {
	in        string
	want      ConnectionString
	canonical string // "" when in is already canonical
}{
	{
		in:   keyConn,
		want: ConnectionString{Endpoint: "sb://ns.servicebus.windows.net/", SharedAccessKeyName: "send", SharedAccessKey: testKey, EntityPath: "hub"},
	},
	{
		in:   sigConn,
		want: ConnectionString{Endpoint: "sb://ns.servicebus.windows.net/", SharedAccessSignature: ehToken, EntityPath: "hub"},
	},
	{
		in:        "EntityPath=hub;SharedAccessKey=" + testKey + ";sharedaccesskeyname=send;ENDPOINT=sb://ns.servicebus.windows.net/;",
		want:      ConnectionString{Endpoint: "sb://ns.servicebus.windows.net/", SharedAccessKeyName: "send", SharedAccessKey: testKey, EntityPath: "hub"},
		canonical: keyConn,
	},
	{
		in:        "  Endpoint = sb://ns.servicebus.windows.net/ ;\tSharedAccessKeyName=send ; SharedAccessKey=" + testKey + " ; EntityPath=hub ;\r\n",
		want:      ConnectionString{Endpoint: "sb://ns.servicebus.windows.net/", SharedAccessKeyName: "send", SharedAccessKey: testKey, EntityPath: "hub"},
		canonical: keyConn,
	},
	{
		in:   "Endpoint=sb://NS.servicebus.windows.net:5671;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=a==b=",
		want: ConnectionString{Endpoint: "sb://NS.servicebus.windows.net:5671", SharedAccessKeyName: "RootManageSharedAccessKey", SharedAccessKey: "a==b="},
	},
	{
		in:   "Endpoint=amqps://[::1]:5671/;SharedAccessKeyName=k;SharedAccessKey=v",
		want: ConnectionString{Endpoint: "amqps://[::1]:5671/", SharedAccessKeyName: "k", SharedAccessKey: "v"},
	},
	{
		in:   "Endpoint=https://localhost;SharedAccessKeyName=my key;SharedAccessKey=key with spaces",
		want: ConnectionString{Endpoint: "https://localhost", SharedAccessKeyName: "my key", SharedAccessKey: "key with spaces"},
	},
	{
		in:   "Endpoint=sb://x;SharedAccessKeyName==;SharedAccessKey==a=",
		want: ConnectionString{Endpoint: "sb://x", SharedAccessKeyName: "=", SharedAccessKey: "=a="},
	},
}

func TestParseConnectionString(t *testing.T) {
	for _, tt := range validConnectionStrings {
		got, err := ParseConnectionString(tt.in)
		if err != nil {
			t.Errorf("ParseConnectionString(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseConnectionString(%q) =\n%+v, want\n%+v", tt.in, got, tt.want)
		}
		canonical := tt.canonical
		if canonical == "" {
			canonical = tt.in
		}
		if s := got.String(); s != canonical {
			t.Errorf("String() = %q, want %q", s, canonical)
		}
		again, err := ParseConnectionString(got.String())
		if err != nil || again != got {
			t.Errorf("round trip of %q = %+v, %v", tt.in, again, err)
		}
	}
}

var malformedConnectionStrings = []struct {
	in, why string
}{
	{"", "empty"},
	{" ;\r\n", "empty"},
	{";;", "empty segment"},
	{keyConn + ";;", "empty segment"},
	{";" + keyConn, "empty segment"},
	{"Endpoint=sb://ns/;;SharedAccessKeyName=a;SharedAccessKey=b", "empty segment"},
	{keyConn + "; ;", "empty segment"},
	{"Endpoint=sb://ns/;SharedAccessKeyName;SharedAccessKey=b", "without '='"},
	{keyConn + ";Foo=bar", `unknown key "Foo"`},
	{keyConn + ";HostName=x", `unknown key "HostName"`},
	{keyConn + ";UseDevelopmentEmulator=true", "unknown key"},
	{keyConn + ";=x", `unknown key ""`},
	{keyConn + ";Endpoint\u017f=x", "unknown key"},
	{"Endpoint=sb://ns/;SharedAcce\u017fsKey=b;SharedAccessKeyName=a", "unknown key"},
	{keyConn + ";" + strings.Repeat("K", 100) + "=x", "unknown key"},
	{keyConn + ";endpoint=sb://ns/", "duplicate Endpoint"},
	{keyConn + ";EntityPath=hub", "duplicate EntityPath"},
	{keyConn + ";sharedaccesskey=x", "duplicate SharedAccessKey"},
	{"Endpoint=;SharedAccessKeyName=a;SharedAccessKey=b", "empty Endpoint"},
	{"Endpoint=sb://ns/;SharedAccessKeyName=a;SharedAccessKey= ", "empty SharedAccessKey"},
	{"Endpoint=sb://ns/;SharedAccessKeyName=a;SharedAccessKey=b;EntityPath=", "empty EntityPath"},
	{"Endpoint=sb://ns/;SharedAccessKeyName=a;SharedAccessKey=b\x00c", "SharedAccessKey is not printable"},
	{"Endpoint=sb://ns/;SharedAccessKeyName=a\tb;SharedAccessKey=c", "SharedAccessKeyName is not printable"},
	{"Endpoint=sb://ns/;SharedAccessKeyName=a;SharedAccessKey=b;EntityPath=hé", "EntityPath is not printable"},
	{"SharedAccessKeyName=a;SharedAccessKey=b", "missing Endpoint"},
	{"Endpoint=sb://ns/", "missing SharedAccessKeyName and SharedAccessKey, or SharedAccessSignature"},
	{"Endpoint=sb://ns/;EntityPath=hub", "missing SharedAccessKeyName"},
	{"Endpoint=sb://ns/;SharedAccessKey=b", "SharedAccessKey without SharedAccessKeyName"},
	{"Endpoint=sb://ns/;SharedAccessKeyName=a", "SharedAccessKeyName without SharedAccessKey"},
	{keyConn + ";SharedAccessSignature=" + ehToken, "both"},
	{sigConn + ";SharedAccessKeyName=a", "both"},
	{"Endpoint=sb://ns/;SharedAccessSignature=SharedAccessSignature sr=x", "missing sig"},
	{"Endpoint=sb://ns/;SharedAccessSignature=token", "does not start with"},
	{"Endpoint=ns.servicebus.windows.net;SharedAccessKeyName=a;SharedAccessKey=b", "Endpoint is not"},
	{"Endpoint=ftp://ns/;SharedAccessKeyName=a;SharedAccessKey=b", "Endpoint is not"},
	{"Endpoint=sb://;SharedAccessKeyName=a;SharedAccessKey=b", "Endpoint is not"},
	{"Endpoint=sb:///;SharedAccessKeyName=a;SharedAccessKey=b", "Endpoint is not"},
	{"Endpoint=sb://ns/hub;SharedAccessKeyName=a;SharedAccessKey=b", "Endpoint is not"},
	{"Endpoint=sb://ns//;SharedAccessKeyName=a;SharedAccessKey=b", "Endpoint is not"},
	{"Endpoint=sb://ns/?x;SharedAccessKeyName=a;SharedAccessKey=b", "Endpoint is not"},
	{"Endpoint=sb://user@ns/;SharedAccessKeyName=a;SharedAccessKey=b", "Endpoint is not"},
	{"Endpoint=sb://ns:99999/;SharedAccessKeyName=a;SharedAccessKey=b", "Endpoint is not"},
	{"Endpoint=sb://::1/;SharedAccessKeyName=a;SharedAccessKey=b", "Endpoint is not"},
	{"Endpoint==sb://x;SharedAccessKeyName==;SharedAccessKey==", "Endpoint is not"},
	{"Endpoint=sb://ns/;SharedAccessKeyName=a;SharedAccessKey=" + strings.Repeat("k", 2*MaxTokenLen), "longer than"},
}

func TestParseConnectionStringErrors(t *testing.T) {
	for _, tt := range malformedConnectionStrings {
		c, err := ParseConnectionString(tt.in)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseConnectionString(%q) = %+v, %v; want ErrMalformed", tt.in, c, err)
			continue
		}
		if c != (ConnectionString{}) {
			t.Errorf("ParseConnectionString(%q) returned %+v with an error", tt.in, c)
		}
		if !strings.Contains(err.Error(), tt.why) {
			t.Errorf("ParseConnectionString(%q) error %q does not mention %q", tt.in, err, tt.why)
		}
	}
}

func TestConnectionStringErrorsHideSecrets(t *testing.T) {
	const secret = "TOPSECRET"
	for _, s := range []string{
		"Endpoint=sb://ns/;SharedAccessKeyName=a;SharedAccessKey=" + secret + "\x01",
		"Endpoint=sb://ns/;" + secret + ";SharedAccessKeyName=a",
		"Endpoint=sb://ns/;SharedAccessSignature=" + secret,
		"Endpoint=" + secret + ";SharedAccessKeyName=a;SharedAccessKey=" + secret,
		"Endpoint=sb://ns/;SharedAccessKeyName=a;SharedAccessKey=" + secret + ";SharedAccessSignature=" + secret,
	} {
		_, err := ParseConnectionString(s)
		if err == nil || strings.Contains(err.Error(), secret) {
			t.Errorf("ParseConnectionString(%q) error = %v", s, err)
		}
	}
}

func TestConnectionStringNamespace(t *testing.T) {
	tests := []struct{ endpoint, want string }{
		{"sb://ns.servicebus.windows.net/", "ns.servicebus.windows.net"},
		{"sb://NS.ServiceBus.Windows.Net", "ns.servicebus.windows.net"},
		{"amqps://ns.servicebus.windows.net:5671/", "ns.servicebus.windows.net"},
		{"https://localhost:8443", "localhost"},
		{"sb://[::1]:5671/", "::1"},
		{"sb://[2001:DB8::1]/", "2001:db8::1"},
		{"", ""},
		{"ns.servicebus.windows.net", ""},
		{"sb://ns/hub", ""},
		{"ftp://ns/", ""},
	}
	for _, tt := range tests {
		c := ConnectionString{Endpoint: tt.endpoint}
		if got := c.Namespace(); got != tt.want {
			t.Errorf("Namespace(%q) = %q, want %q", tt.endpoint, got, tt.want)
		}
	}
}

// TestConnectionStringToScope checks that Namespace fits Scope's argument.
func TestConnectionStringToScope(t *testing.T) {
	for _, endpoint := range []string{"sb://NS.servicebus.windows.net:5671/", "sb://[::1]/"} {
		c, err := ParseConnectionString("Endpoint=" + endpoint + ";SharedAccessKeyName=send;SharedAccessKey=" + testKey)
		if err != nil {
			t.Fatal(err)
		}
		ns := c.Namespace()
		host := strings.TrimPrefix(strings.TrimSuffix(endpoint, "/"), "sb://")
		tok, err := Parse(Sign("sb://"+host+"/hub", c.SharedAccessKeyName, c.SharedAccessKey, testTime))
		if err != nil {
			t.Fatal(err)
		}
		if scope, err := tok.Scope(ns); err != nil || scope != "/hub" {
			t.Errorf("Scope(%q) = %q, %v", ns, scope, err)
		}
		if i := tok.Verify(c.SharedAccessKey); i != 0 {
			t.Errorf("Verify = %d", i)
		}
	}
}

func TestConnectionStringRedacted(t *testing.T) {
	c, err := ParseConnectionString(keyConn)
	if err != nil {
		t.Fatal(err)
	}
	want := "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=REDACTED;EntityPath=hub"
	if got := c.Redacted(); got != want {
		t.Errorf("Redacted = %q, want %q", got, want)
	}
	c, err = ParseConnectionString(sigConn)
	if err != nil {
		t.Fatal(err)
	}
	want = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessSignature=SharedAccessSignature sr=audience&sig=REDACTED&se=1578099723&skn=keyName;EntityPath=hub"
	if got := c.Redacted(); got != want {
		t.Errorf("Redacted = %q, want %q", got, want)
	}
	c.SharedAccessSignature = "garbage sig=secret"
	if got := c.Redacted(); strings.Contains(got, "secret") {
		t.Errorf("Redacted = %q leaks an invalid signature", got)
	}
}
