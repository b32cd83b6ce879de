package eventlog

import (
	"errors"
	"regexp"
	"testing"
)

// validKVKey is JetStream's rule for KV keys.
var validKVKey = regexp.MustCompile(`^[-/_=.a-zA-Z0-9]+$`)

func TestEncodeKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":              "=",
		"telemetry":     "telemetry",
		"Dev_1-a":       "Dev_1-a",
		"dev.1/a":       "dev=2E1=2Fa",
		"a=b":           "a=3Db",
		"é":             "=C3=A9",
		" ":             "=20",
		"*>":            "=2A=3E",
		"\x00\xff":      "=00=FF",
		"hub/publisher": "hub=2Fpublisher",
	} {
		if got := EncodeKey(in); got != want {
			t.Errorf("EncodeKey(%q) = %q, want %q", in, got, want)
		}
		if back, err := DecodeKey(want); err != nil || back != in {
			t.Errorf("DecodeKey(%q) = %q, %v; want %q", want, back, err, in)
		}
	}
}

func TestDecodeKeyRejectsForeignKeys(t *testing.T) {
	t.Parallel()
	for _, k := range []string{"", "a.b", "a/b", "=", "=4", "=4g", "=41", "=2e", "x=", "=ZZ"} {
		if k == "=" {
			continue // the empty string's encoding
		}
		if got, err := DecodeKey(k); !errors.Is(err, ErrInvalid) {
			t.Errorf("DecodeKey(%q) = %q, %v; want ErrInvalid", k, got, err)
		}
	}
}

func FuzzKeyRoundTrip(f *testing.F) {
	for _, s := range []string{"", "a", "a.b", "=", "é", "\x00", "hub/pub 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := EncodeKey(s)
		if !validKVKey.MatchString(k) || k[0] == '.' || k[len(k)-1] == '.' {
			t.Fatalf("EncodeKey(%q) = %q: not a valid KV key", s, k)
		}
		back, err := DecodeKey(k)
		if err != nil || back != s {
			t.Fatalf("DecodeKey(EncodeKey(%q)) = %q, %v", s, back, err)
		}
	})
}

func FuzzDecodeKeyCanonical(f *testing.F) {
	for _, s := range []string{"=", "a", "=41", "=2E", "x=20y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, k string) {
		s, err := DecodeKey(k)
		if err == nil && EncodeKey(s) != k {
			t.Fatalf("DecodeKey(%q) = %q, which encodes to %q: two keys for one string", k, s, EncodeKey(s))
		}
	})
}

func TestVersionAtLeast(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]bool{
		"2.9.10": false, "2.10.22": false, "2.11.0": true, "2.12.0-RC.1": true,
		"2.15.2": true, "3.0.0": true, "1.99.0": false, "": false, "junk": false,
	} {
		if got := versionAtLeast(v, 2, 11); got != want {
			t.Errorf("versionAtLeast(%q, 2, 11) = %v, want %v", v, got, want)
		}
	}
}
