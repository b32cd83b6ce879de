package convert

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/internal/agent/audit"
	"github.com/moatsec/moat/internal/agent/authlog"
	"github.com/moatsec/moat/secmsg"
)

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// valid checks that items make a message the hub accepts.
func valid(t *testing.T, items ...secmsg.Item) {
	t.Helper()
	for _, it := range items {
		m := secmsg.NewMessage("0.1.0", secmsg.NewID(), secmsg.NewEvent(it.EventName(), t0, it))
		if err := m.Validate(); err != nil {
			t.Errorf("%#v: %v", it, err)
		}
	}
}

func TestAttempt(t *testing.T) {
	got := Attempt(authlog.Attempt{Time: t0, PID: 42, Source: "::ffff:203.0.113.5", Port: 51000, User: "admin",
		InvalidUser: true, Method: "keyboard-interactive/pam", Count: 3})
	want := secmsg.Login{ProcessID: 42, UserName: "admin", Operation: "Login", Executable: SSHD, RemoteAddress: "203.0.113.5",
		RemotePort: 51000, Result: "Fail", AuthMethod: "keyboard-interactive", InvalidUser: true, Source: "authlog",
		Aggregate: secmsg.Aggregate{HitCount: 3, FirstSeen: "2026-11-26T10:00:00Z", LastSeen: "2026-11-26T10:00:00Z"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	ok := Attempt(authlog.Attempt{Time: t0, PID: 7, Source: "host.example", Port: 99999, User: "pi", Method: "publickey", Success: true, Count: 1})
	if ok.Result != "Success" || ok.HitCount != 0 || ok.RemotePort != 0 || ok.RemoteAddress != "host.example" {
		t.Errorf("success: %+v", ok)
	}
	valid(t, got, ok, Attempt(authlog.Attempt{Source: "bad host!", Method: "w\x00eird"}))
}

// TestOpenSSH2kConverts: every attempt counted from the real log
// (https://github.com/logpai/loghub, OpenSSH/OpenSSH_2k.log) converts to a
// Login the hub accepts, and the failed-attempt total survives.
func TestOpenSSH2kConverts(t *testing.T) {
	data, err := os.ReadFile("/work/shared/data/ssh/OpenSSH_2k.log")
	if os.IsNotExist(err) {
		t.Skip("OpenSSH_2k.log absent")
	}
	p := authlog.NewParser(authlog.Options{Now: func() time.Time { return time.Date(2018, 1, 15, 0, 0, 0, 0, time.UTC) }, Location: time.UTC})
	a := authlog.NewAttempts(authlog.AttemptsConfig{})
	var attempts []authlog.Attempt
	for _, line := range bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n")) {
		r, err := p.Parse(line)
		if err != nil {
			continue
		}
		attempts = a.Add(attempts, &r)
	}
	attempts = a.Flush(attempts, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
	var in, out int64
	for _, at := range attempts {
		l := Attempt(at)
		valid(t, l)
		if !at.Success {
			in += int64(at.Count)
			out += l.Hits()
		}
	}
	if in == 0 || in != out {
		t.Errorf("failed attempts: %d counted, %d after conversion", in, out)
	}
}

func TestAudit(t *testing.T) {
	h := audit.Header{Time: t0, Serial: 1}
	tests := []struct {
		name string
		in   audit.Event
		want secmsg.Item // nil = dropped
	}{
		{"exec", &audit.ProcessCreate{Header: h, Executable: "/tmp/x", CommandLine: "/tmp/x -c 'a b'", PID: 10, PPID: 1, UID: 1000, User: "pi"},
			secmsg.ProcessCreate{Executable: "/tmp/x", ProcessID: 10, ParentProcessID: 1, UserID: 1000, UserName: "pi", CommandLine: "/tmp/x -c 'a b'"}},
		{"exec without pid", &audit.ProcessCreate{Header: h, Executable: "/bin/true"}, nil},
		{"exit", &audit.ProcessTerminate{Header: h, Executable: "/bin/false", PID: 11, ExitCode: 1},
			secmsg.ProcessTerminate{Executable: "/bin/false", ProcessID: 11, ExitStatus: 1}},
		{"connect", &audit.ConnectionCreate{Header: h, Direction: audit.DirectionOut, RemoteIP: "10.0.0.5", RemotePort: 443, Executable: "/usr/bin/curl", PID: 12, UID: 0},
			secmsg.ConnectionCreate{Executable: "/usr/bin/curl", ProcessID: 12, RemoteAddress: "10.0.0.5", RemotePort: 443, Protocol: "tcp", Direction: "Out"}},
		{"accept v6", &audit.ConnectionCreate{Header: h, Direction: audit.DirectionIn, RemoteIP: "2001:db8::1", RemotePort: 50000, PID: 13},
			secmsg.ConnectionCreate{ProcessID: 13, RemoteAddress: "2001:db8::1", RemotePort: 50000, Protocol: "tcp6", Direction: "In"}},
		{"connect in progress", &audit.ConnectionCreate{Header: h, Pending: true, RemoteIP: "10.0.0.5", RemotePort: 443}, nil},
		{"connect port 0", &audit.ConnectionCreate{Header: h, RemoteIP: "10.0.0.5"}, nil},
		{"auth failure", &audit.Login{Header: h, RecordType: "USER_AUTH", User: "root", Result: audit.ResultFailure, RemoteAddr: "198.51.100.4", Executable: "/usr/sbin/sshd", PID: 20},
			secmsg.Login{ProcessID: 20, UserName: "root", Operation: "Login", Executable: "/usr/sbin/sshd", RemoteAddress: "198.51.100.4", Result: "Fail", Source: "audit"}},
		{"logout", &audit.Login{Header: h, RecordType: "USER_LOGOUT", User: "pi", Result: audit.ResultSuccess, RemoteAddr: "?", Hostname: "?"},
			secmsg.Login{UserName: "pi", Operation: "Logout", Result: "Success", Source: "audit"}},
		{"acct step", &audit.Login{Header: h, RecordType: "USER_ACCT", Result: audit.ResultSuccess}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Audit(tc.in)
			if tc.want == nil {
				if ok {
					t.Fatalf("converted to %#v, want dropped", got)
				}
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
			valid(t, got)
		})
	}
}
