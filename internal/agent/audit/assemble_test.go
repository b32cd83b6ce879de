package audit

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

const (
	execSyscall = `type=SYSCALL msg=audit(1700000100.000:500): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=0 items=1 ppid=1 pid=42 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="id" exe="/usr/bin/id" key="moat"`
	execArgs    = `type=EXECVE msg=audit(1700000100.000:500): argc=2 a0="id" a1="-u"`
	execEOE     = `type=EOE msg=audit(1700000100.000:500): `
)

func lines(d *Decoder, ls ...string) []Event {
	var out []Event
	for _, l := range ls {
		out = d.Line(out, []byte(l))
	}
	return out
}

func TestIncompleteEventFlushedAfterTimeout(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1700000100, 0)}
	d := NewDecoder(DecoderConfig{Now: clock.Now, Timeout: 2 * time.Second})
	if evs := lines(d, execSyscall, execArgs); len(evs) != 0 {
		t.Fatalf("events before EOE: %v", evs)
	}
	clock.Advance(1999 * time.Millisecond)
	if evs := d.Expire(nil); len(evs) != 0 {
		t.Fatalf("expired before the timeout: %v", evs)
	}
	clock.Advance(time.Millisecond)
	evs := d.Expire(nil)
	if len(evs) != 1 {
		t.Fatalf("got %d events at the timeout, want 1", len(evs))
	}
	p, ok := evs[0].(*ProcessCreate)
	if !ok || p.CommandLine != "id -u" || p.PID != 42 {
		t.Errorf("event = %#v, want ProcessCreate of id -u by pid 42", evs[0])
	}
	if st := d.Stats(); st.Expired != 1 || d.Pending() != 0 {
		t.Errorf("Expired = %d, Pending = %d; want 1, 0", st.Expired, d.Pending())
	}
	// The EOE arriving late finds nothing and produces nothing.
	if evs := lines(d, execEOE); len(evs) != 0 {
		t.Errorf("late EOE produced %v", evs)
	}
}

func TestEOECompletesWithoutWaiting(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1700000100, 0)}
	d := NewDecoder(DecoderConfig{Now: clock.Now})
	if evs := lines(d, execSyscall, execArgs, execEOE); len(evs) != 1 {
		t.Fatalf("got %d events, want 1 on EOE", len(evs))
	}
	if d.Pending() != 0 {
		t.Errorf("Pending = %d after EOE", d.Pending())
	}
}

// TestRecordOrder: records of one event may come in any order and
// interleaved with other events; the result is the same.
func TestRecordOrder(t *testing.T) {
	other := []string{
		`type=SYSCALL msg=audit(1700000100.001:501): arch=c000003e syscall=42 success=yes exit=0 a0=3 a1=1 a2=10 a3=0 items=0 ppid=1 pid=77 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="curl" exe="/usr/bin/curl" key="moat"`,
		`type=SOCKADDR msg=audit(1700000100.001:501): saddr=020001BB0A0000050000000000000000`,
		`type=EOE msg=audit(1700000100.001:501): `,
	}
	orders := [][]string{
		{execSyscall, execArgs, execEOE, other[0], other[1], other[2]},
		{execSyscall, other[0], execArgs, other[1], other[2], execEOE},
		{execArgs, other[1], execSyscall, other[0], other[2], execEOE},
	}
	var first []Event
	for i, order := range orders {
		d := NewDecoder(DecoderConfig{})
		evs := lines(d, order...)
		if len(evs) != 2 {
			t.Fatalf("order %d: got %d events, want 2", i, len(evs))
		}
		byKind := map[Kind]Event{}
		for _, ev := range evs {
			byKind[ev.Kind()] = ev
		}
		got := []Event{byKind[KindProcessCreate], byKind[KindConnectionCreate]}
		if first == nil {
			first = got
			continue
		}
		if diff := cmp.Diff(first, got); diff != "" {
			t.Errorf("order %d differs (-first +got):\n%s", i, diff)
		}
	}
}

func TestMaxPendingEvictsOldest(t *testing.T) {
	d := NewDecoder(DecoderConfig{MaxPending: 2})
	mk := func(serial string) string {
		return `type=SYSCALL msg=audit(1700000100.000:` + serial + `): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=0 items=1 ppid=1 pid=` + serial + ` auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=1 comm="x" exe="/bin/x"`
	}
	evs := lines(d, mk("1"), mk("2"), mk("3"))
	if len(evs) != 1 || evs[0].Meta().Serial != 1 {
		t.Fatalf("got %v, want serial 1 evicted", evs)
	}
	if st := d.Stats(); st.Evicted != 1 || d.Pending() != 2 {
		t.Errorf("Evicted = %d, Pending = %d; want 1, 2", st.Evicted, d.Pending())
	}
}

// TestIgnoredSyscallDropsItsRecords: a SYSCALL this package does not map
// makes the records of its event count as ignored, and its EOE clears it.
func TestIgnoredSyscallDropsItsRecords(t *testing.T) {
	d := NewDecoder(DecoderConfig{})
	evs := lines(d,
		`type=CWD msg=audit(1700000100.000:9): cwd="/"`,
		`type=SYSCALL msg=audit(1700000100.000:9): arch=c000003e syscall=257 success=yes exit=3 a0=1 a1=2 a2=3 a3=0 items=1 ppid=1 pid=9 auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=1 comm="cat" exe="/bin/cat"`,
		`type=PROCTITLE msg=audit(1700000100.000:9): proctitle="cat"`,
		`type=PATH msg=audit(1700000100.000:9): item=0 name="/etc/shadow"`,
		`type=EOE msg=audit(1700000100.000:9): `,
	)
	if len(evs) != 0 || d.Pending() != 0 {
		t.Fatalf("events %v, pending %d; want none", evs, d.Pending())
	}
	if st := d.Stats(); st.Ignored != 4 || st.Records != 0 {
		t.Errorf("Ignored = %d, Records = %d; want 4, 0", st.Ignored, st.Records)
	}
}

func TestNetlinkMessages(t *testing.T) {
	d := NewDecoder(DecoderConfig{})
	var evs []Event
	evs = d.Message(evs, 1300, []byte(`audit(1700000100.000:500): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=0 items=1 ppid=1 pid=42 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="true" exe="/usr/bin/true"`))
	evs = d.Message(evs, 1309, []byte(`audit(1700000100.000:500): argc=2 a0="/bin/true" a1=68656C6C6F20776F726C64`))
	evs = d.Message(evs, 1320, []byte(`audit(1700000100.000:500): `))
	if len(evs) != 1 {
		t.Fatalf("got %d events, want 1", len(evs))
	}
	if p := evs[0].(*ProcessCreate); p.CommandLine != "/bin/true 'hello world'" {
		t.Errorf("CommandLine = %q", p.CommandLine)
	}
}

func TestLoginFields(t *testing.T) {
	names := map[int64]string{1000: "alice"}
	d := NewDecoder(DecoderConfig{UserName: func(uid int64) (string, bool) { n, ok := names[uid]; return n, ok }})
	evs := lines(d,
		// id= resolved through UserName (no ENRICHED fields)
		`type=USER_LOGIN msg=audit(1700000200.000:1): pid=10 uid=0 auid=1000 ses=3 msg='op=login id=1000 exe="/usr/sbin/sshd" hostname=host.example addr=2001:db8::7 terminal=/dev/pts/1 res=success'`,
		// "?" values are absent, not literal
		`type=USER_ERR msg=audit(1700000200.000:2): pid=11 uid=0 auid=4294967295 ses=4294967295 msg='op=PAM:bad_ident grantors=? acct="?" exe="/usr/sbin/sshd" hostname=? addr=? terminal=ssh res=failed'`,
		// su, local
		`type=USER_AUTH msg=audit(1700000200.000:3): pid=12 uid=1000 auid=1000 ses=3 msg='op=PAM:authentication grantors=? acct="root" exe="/usr/bin/su" hostname=? addr=? terminal=/dev/pts/1 res=failed'`,
	)
	want := []Event{
		&Login{Header: Header{Time: time.Unix(1700000200, 0).UTC(), Serial: 1}, RecordType: "USER_LOGIN", Op: "login",
			User: "alice", UserID: 1000, Result: ResultSuccess, RemoteAddr: "2001:db8::7", Hostname: "host.example",
			Terminal: "/dev/pts/1", Executable: "/usr/sbin/sshd", PID: 10, UID: 0, AUID: 1000, Session: "3"},
		&Login{Header: Header{Time: time.Unix(1700000200, 0).UTC(), Serial: 2}, RecordType: "USER_ERR", Op: "PAM:bad_ident",
			UserID: Unknown, Result: ResultFailure, Terminal: "ssh", Executable: "/usr/sbin/sshd", PID: 11, UID: 0, AUID: Unknown},
		&Login{Header: Header{Time: time.Unix(1700000200, 0).UTC(), Serial: 3}, RecordType: "USER_AUTH", Op: "PAM:authentication",
			User: "root", UserID: Unknown, Result: ResultFailure, Terminal: "/dev/pts/1", Executable: "/usr/bin/su", PID: 12,
			UID: 1000, AUID: 1000, Session: "3"},
	}
	if diff := cmp.Diff(want, evs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestArgIndexAndDecode(t *testing.T) {
	tests := []struct {
		key     string
		idx     int
		chunked bool
		ok      bool
	}{
		{"a0", 0, false, true},
		{"a12", 12, false, true},
		{"a3[2]", 3, true, true},
		{"a3_len", 0, false, false},
		{"argc", 0, false, false},
		{"a", 0, false, false},
		{"a-1", 0, false, false},
		{"a+1", 0, false, false},
		{"a1[", 0, false, false},
		{"b1", 0, false, false},
	}
	for _, tt := range tests {
		idx, chunked, ok := argIndex(tt.key)
		if idx != tt.idx || chunked != tt.chunked || ok != tt.ok {
			t.Errorf("argIndex(%q) = %d, %v, %v; want %d, %v, %v", tt.key, idx, chunked, ok, tt.idx, tt.chunked, tt.ok)
		}
	}
	for in, want := range map[string]string{"2F746D70": "/tmp", "2f746d70": "/tmp", "(null)": "(null)", "ABC": "ABC", "": ""} {
		if got := decodeArg(in, false); got != want {
			t.Errorf("decodeArg(%q) = %q, want %q", in, got, want)
		}
	}
	if got := decodeArg("41", true); got != "41" {
		t.Errorf("a quoted argument was decoded: %q", got)
	}
}

func TestArgvLimits(t *testing.T) {
	var a argv
	a.addRecord(`argc=4000000000 a0="x" a1="yyyy" a99999999999="z"`, 10, 3)
	a.finish()
	if !a.truncated {
		t.Error("not marked truncated")
	}
	if diff := cmp.Diff([]string{"x", "yy"}, a.args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
}

func TestCommandLine(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"ls", "-l"}, "ls -l"},
		{[]string{"echo", ""}, "echo ''"},
		{[]string{"sh", "-c", "echo 'hi'"}, `sh -c 'echo '\''hi'\'''`},
		{[]string{"printf", "a\nb"}, "printf 'a\nb'"},
	} {
		if got := commandLine(tt.args); got != tt.want {
			t.Errorf("commandLine(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
}

func TestAbsurdTimestampSkipped(t *testing.T) {
	d := NewDecoder(DecoderConfig{})
	evs := lines(d, `type=USER_AUTH msg=audit(99999999999999.000:1): pid=1 uid=0 auid=0 ses=1 msg='op=PAM:authentication acct="root" exe="/usr/sbin/sshd" addr=192.0.2.1 res=failed'`)
	if len(evs) != 0 || d.Stats().Skipped[SkipBadTime] != 1 {
		t.Errorf("events %v, skips %v; want the record skipped for its time", evs, d.Stats().Skipped)
	}
}
