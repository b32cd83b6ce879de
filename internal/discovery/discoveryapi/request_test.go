package discoveryapi

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/moatsec/moat/internal/apierr"
)

func TestSourceAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	cases := []struct {
		name, remote string
		xff          []string
		want         string
		wantErr      bool
	}{
		{"direct client", "198.51.100.7:5000", nil, "198.51.100.7", false},
		{"untrusted peer's XFF is ignored", "198.51.100.7:5000", []string{"1.2.3.4"}, "198.51.100.7", false},
		{"trusted proxy", "10.1.2.3:443", []string{"203.0.113.9"}, "203.0.113.9", false},
		{"chain of trusted proxies", "10.1.2.3:443", []string{"203.0.113.9, 10.9.9.9", "10.8.8.8"}, "203.0.113.9", false},
		{"spoofed left-most entry is not believed", "10.1.2.3:443", []string{"6.6.6.6, 203.0.113.9"}, "203.0.113.9", false},
		{"trusted proxy without XFF", "10.1.2.3:443", nil, "10.1.2.3", false},
		{"only trusted hops", "10.1.2.3:443", []string{"10.4.4.4"}, "10.4.4.4", false},
		{"IPv6 loopback proxy", "[::1]:443", []string{"2001:db8::1"}, "2001:db8::1", false},
		{"IPv4-mapped peer", "[::ffff:198.51.100.7]:5000", nil, "198.51.100.7", false},
		{"garbage in XFF", "10.1.2.3:443", []string{"not-an-ip"}, "", true},
	}
	for _, c := range cases {
		r := httptest.NewRequest("POST", "/api/v1/discovery/token", nil)
		r.RemoteAddr = c.remote
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		got, err := SourceAddr(r, trusted)
		if c.wantErr {
			if err == nil {
				t.Errorf("%s: no error", c.name)
			}
			continue
		}
		if err != nil || got.String() != c.want {
			t.Errorf("%s: got %v, %v; want %s", c.name, got, err, c.want)
		}
	}
}

func TestParseTokenRequest(t *testing.T) {
	good := []string{``, `{}`, ` `, `{"location":{"lat":90,"lon":-180}}`, `{"firmware":"1.2.3","metadata":{"a":1,"b":[1,2]}}`}
	for _, s := range good {
		if _, err := ParseTokenRequest([]byte(s)); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	bad := map[string]string{
		"unknown field":       `{"locaton":{"lat":1,"lon":2}}`,
		"latitude too large":  `{"location":{"lat":91,"lon":0}}`,
		"longitude too small": `{"location":{"lat":0,"lon":-180.5}}`,
		"not JSON":            `{location}`,
		"trailing data":       `{} {}`,
		"wrong type":          `{"firmware": 5}`,
		"long firmware":       `{"firmware":"` + strings.Repeat("x", 300) + `"}`,
		"huge body":           `{"firmware":"` + strings.Repeat("x", MaxBodyBytes) + `"}`,
	}
	for name, s := range bad {
		_, err := ParseTokenRequest([]byte(s))
		var e *apierr.Error
		if !errors.As(err, &e) || e.Status != 400 || e.Reason != "invalid_request" {
			t.Errorf("%s: got %v, want 400 invalid_request", name, err)
		}
	}
}

// FuzzParseTokenRequest: any body either parses into a request with a valid
// location (if any) or fails with 400 invalid_request; never a panic.
func FuzzParseTokenRequest(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"location":{"lat":52.5,"lon":13.4},"firmware":"x","metadata":{"k":"v"}}`,
		`{"location":{"lat":1e400,"lon":0}}`, `{"location":null}`, `[]`, `{"metadata":{"a":{"b":[null]}}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := ParseTokenRequest(data)
		if err != nil {
			var e *apierr.Error
			if !errors.As(err, &e) || e.Status != 400 || e.Reason != "invalid_request" {
				t.Fatalf("unexpected error %#v", err)
			}
			return
		}
		if req.Location != nil && req.Location.Valid() != nil {
			t.Fatalf("accepted an invalid location %+v", *req.Location)
		}
		if len(bytes.TrimSpace(data)) > MaxBodyBytes {
			t.Fatal("accepted an oversized body")
		}
	})
}
