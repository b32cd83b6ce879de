package authlog

import (
	"bytes"
	"os"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParseLine: any bytes parse without panic into a bounded, valid record,
// and the aggregator accepts whatever the parser returns.
func FuzzParseLine(f *testing.F) {
	data, err := os.ReadFile("testdata/sample.log")
	if err != nil {
		f.Fatal(err)
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		f.Add(line)
	}
	for _, s := range []string{
		"",
		"\x00\x00\x00\x00",
		"Nov 26 10:00:01 gw sshd[1]: message repeated 999999999999 times: [ Failed password for root from 192.0.2.7 port 1 ssh2]",
		"Nov 26 10:00:01 gw sshd[1]: message repeated 3 times: [ PAM 9999 more authentication failures; rhost=x]",
		"Nov 26 10:00:01 gw sshd[1]: PAM 99999999999999999999 more authentication failures; rhost=",
		"Nov 26 10:00:01 gw sshd[1]: Failed password for \xff\xfe from 192.0.2.7 port 1 ssh2",
		"Nov 26 10:00:01 gw sshd[1]: Connection closed by  port ",
		"Nov 26 10:00:01 gw sshd[1]: Disconnecting : Too many authentication failures",
		"Nov 26 10:00:01 gw sshd[1]: Received disconnect from  port :",
		"Feb 29 10:00:01 gw sshd[1]: x",
		"2026-11-26T10:00:00.1234567890123456789+23:59 gw sshd[1]: x",
		"Nov 26 10:00:01 gw sshd[",
		"Nov 26 10:00:01 gw [1]: x",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		p := NewParser(Options{Now: func() time.Time { return ref }, Location: time.UTC})
		a := NewAttempts(AttemptsConfig{})
		r, err := p.Parse(line)
		if err != nil {
			if r.Kind != KindOther || r.Count != 0 {
				t.Fatalf("error %v with a classified record %+v", err, r)
			}
			return
		}
		if r.Count < 0 || r.Count > MaxCount || r.Repeated < 0 || r.Repeated > MaxCount {
			t.Fatalf("count out of bounds: %+v", r)
		}
		if r.Port < 0 || r.Port > 65535 || r.PID < 0 {
			t.Fatalf("number out of range: %+v", r)
		}
		for _, s := range []string{r.Host, r.Program, r.User, r.Method, r.RemoteAddr} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 in %+v", r)
			}
		}
		if r.Kind != KindOther && !r.SSHD() {
			t.Fatalf("program %q classified %v", r.Program, r.Kind)
		}
		if (r.Kind == KindFailedAuth || r.Kind == KindAccepted) && (r.RemoteAddr == "" || r.Port == 0 || r.Count < 1) {
			t.Fatalf("auth result without source or count: %+v", r)
		}
		// Feeding the same record twice, then flushing, never emits a
		// non-positive count.
		out := a.Add(nil, &r)
		out = a.Add(out, &r)
		out = a.Flush(out, r.Time.Add(24*time.Hour))
		for _, at := range out {
			if at.Count < 1 || at.Count > 2*MaxCount {
				t.Fatalf("attempt count %d from %+v", at.Count, r)
			}
		}
	})
}
