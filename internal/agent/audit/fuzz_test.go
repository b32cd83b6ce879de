package audit

import (
	"encoding/json"
	"os"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParseLines feeds arbitrary audit.log content to the decoder, line by
// line and as netlink messages, and checks it neither panics nor breaks its
// limits.
func FuzzParseLines(f *testing.F) {
	if data, err := os.ReadFile("testdata/audit.log"); err == nil {
		f.Add(data)
		for _, l := range splitLines(data) {
			if len(l) < 4096 {
				f.Add(l)
			}
		}
	}
	f.Add([]byte("type=EXECVE msg=audit(1.1:1): argc=2 a0=\"x\" a1_len=4 a1[0]=41 a1[1]=42\ntype=SYSCALL msg=audit(1.1:1): arch=c000003e syscall=59 success=yes exit=0 pid=1 ppid=1 uid=0 exe=\"/x\"\ntype=EOE msg=audit(1.1:1): "))
	f.Add([]byte("type=SOCKADDR msg=audit(1.2:2): saddr=0A00\ntype=SYSCALL msg=audit(1.2:2): arch=c000003e syscall=42 success=yes exit=0 pid=1\ntype=EOE msg=audit(1.2:2):"))
	f.Add([]byte("node=\x00 type=USER_AUTH msg=audit(99999999999999.999:4294967295): msg='res=success acct=\xff'\x1dUID=\"\xfe\""))
	f.Fuzz(func(t *testing.T, data []byte) {
		clock := &fakeClock{t: time.Unix(0, 0)}
		cfg := DecoderConfig{Now: clock.Now, MaxPending: 4, MaxRecords: 8, MaxLineBytes: 4096, MaxArgs: 8, MaxCommandLine: 256}
		d := NewDecoder(cfg)
		var evs []Event
		for i, line := range splitLines(data) {
			evs = d.Line(evs, line)
			if i%3 == 0 {
				clock.Advance(time.Second)
				evs = d.Expire(evs)
			}
			if d.Pending() > cfg.MaxPending {
				t.Fatalf("pending %d > %d", d.Pending(), cfg.MaxPending)
			}
		}
		evs = d.Flush(evs)
		// The same bytes as netlink message bodies of a few types.
		for i, line := range splitLines(data) {
			typ := []uint16{1300, 1309, 1306, 1307, 1320, 1100, 1112}[i%7]
			evs = d.Message(evs, typ, line)
		}
		evs = d.Flush(evs)
		if d.Pending() != 0 {
			t.Fatalf("pending %d after Flush", d.Pending())
		}
		for _, ev := range evs {
			b, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			if !utf8.Valid(b) {
				t.Fatalf("invalid UTF-8 in %s", b)
			}
			if p, ok := ev.(*ProcessCreate); ok {
				if len(p.Args) > cfg.MaxArgs || len(p.CommandLine) > cfg.MaxCommandLine+3 {
					t.Fatalf("limits broken: %d args, command line %d bytes", len(p.Args), len(p.CommandLine))
				}
				for _, a := range p.Args {
					if !utf8.ValidString(a) {
						t.Fatalf("invalid UTF-8 argument %q", a)
					}
				}
			}
		}
	})
}
