package ports

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestParseAddrPort(t *testing.T) {
	tests := []struct {
		in    string
		order binary.ByteOrder
		want  string
		err   string
	}{
		{"0100007F:0016", binary.LittleEndian, "127.0.0.1:22", ""},
		{"7F000001:0016", binary.BigEndian, "127.0.0.1:22", ""},
		{"3201A8C0:22B3", binary.LittleEndian, "192.168.1.50:8883", ""},
		{"00000000:14E9", binary.LittleEndian, "0.0.0.0:5353", ""},
		{"00000000000000000000000000000000:0016", binary.LittleEndian, "[::]:22", ""},
		{"00000000000000000000000001000000:0277", binary.LittleEndian, "[::1]:631", ""},
		{"00000000000000000000000000000001:0277", binary.BigEndian, "[::1]:631", ""},
		{"B80D0120000000000000000001000000:0050", binary.LittleEndian, "[2001:db8::1]:80", ""},
		{"0000000000000000FFFF00000100007F:0016", binary.LittleEndian, "[::ffff:127.0.0.1]:22", ""},
		{"0100007F", binary.LittleEndian, "", "no port"},
		{"0100007F:16", binary.LittleEndian, "", "four hex digits"},
		{"0100007F:00G6", binary.LittleEndian, "", "not hex"},
		{"0100007:0016", binary.LittleEndian, "", "want 8 or 32"},
		{"ZZZZ0000:0016", binary.LittleEndian, "", "not hex"},
		{":0016", binary.LittleEndian, "", "want 8 or 32"},
	}
	for _, tt := range tests {
		got, err := ParseAddrPort(tt.in, tt.order)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseAddrPort(%q) err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got.String() != tt.want {
			t.Errorf("ParseAddrPort(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestParseLine(t *testing.T) {
	const good = "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 16001 1 0000000000000000 100 0 0 10 0"
	e, err := ParseLine(good, binary.LittleEndian)
	if err != nil {
		t.Fatal(err)
	}
	want := Entry{Local: netip.MustParseAddrPort("0.0.0.0:22"), Remote: netip.MustParseAddrPort("0.0.0.0:0"), State: StateListen, UID: 0, Inode: 16001}
	if e != want {
		t.Fatalf("got %+v, want %+v", e, want)
	}
	bad := []struct{ line, err string }{
		{"   5: 00000000:1F90 00000000:0000 0A 0000", "5 fields"},
		{"", "0 fields"},
		{"   0  00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1", "no colon"},
		{"   0: 00000000:0016 00000000:0000 XY 00000000:00000000 00:00000000 00000000 0 0 1", "state"},
		{"   0: 00000000:0016 00000000:0000 A 00000000:00000000 00:00000000 00000000 0 0 1", "state"},
		{"   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000 -1 0 1", "uid"},
		{"   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000 99999999999 0 1", "uid"},
		{"   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 inode", "inode"},
		{"   0: 00000000:0016 00000000:000 0A 00000000:00000000 00:00000000 00000000 0 0 1", "remote address"},
		{"   0: \x00\xff:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1", "local address"},
	}
	for _, b := range bad {
		if _, err := ParseLine(b.line, binary.LittleEndian); err == nil || !strings.Contains(err.Error(), b.err) {
			t.Errorf("ParseLine(%q) err = %v, want %q", b.line, err, b.err)
		}
	}
	if _, err := ParseLine("  sl  local_address rem_address   st tx_queue", binary.LittleEndian); !errors.Is(err, ErrHeader) {
		t.Errorf("header: err = %v", err)
	}
}

func FuzzParseLine(f *testing.F) {
	f.Add("   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 16001 1 0000000000000000 100 0 0 10 0")
	f.Add("   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 16003 1 0000000000000000 100 0 0 10 0")
	f.Add("  100: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000   104        0 15530 2 0000000000000000 0")
	f.Add("   5: 00000000:1F90 00000000:0000 0A 0000")
	f.Add("  sl  local_address rem_address   st")
	f.Fuzz(func(t *testing.T, line string) {
		for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			e, err := ParseLine(line, order)
			if err != nil {
				continue
			}
			if !e.Local.IsValid() || !e.Remote.IsValid() {
				t.Fatalf("accepted %q with invalid address %v", line, e)
			}
			// The address must survive the round trip through the
			// kernel's encoding.
			l := e.Local.Addr()
			if l.Is4() != (len(strings.Fields(line)[1]) == 13) {
				t.Fatalf("%q: family mismatch %v", line, l)
			}
		}
	})
}
