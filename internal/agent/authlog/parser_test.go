package authlog

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// ref is the reference clock of most tests: lines of November 2026.
var ref = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func newTestParser() *Parser {
	return NewParser(Options{Now: func() time.Time { return ref }, Location: time.UTC})
}

func at(month time.Month, day, h, m, s int) time.Time {
	return time.Date(2026, month, day, h, m, s, 0, time.UTC)
}

// The messages below follow the wording of OpenSSH (auth.c, auth2.c,
// sshd.c, packet.c) and Linux-PAM's pam_unix (support.c); addresses are
// from the documentation ranges.
func TestParseMessages(t *testing.T) {
	const hdr = "Nov 26 10:00:01 gw sshd[4242]: "
	base := Record{Time: at(11, 26, 10, 0, 1), Host: "gw", Program: "sshd", PID: 4242}
	rec := func(f func(*Record)) Record { r := base; f(&r); return r }
	tests := []struct {
		name string
		line string
		want Record
	}{
		{"failed password", hdr + "Failed password for root from 192.0.2.7 port 42393 ssh2",
			rec(func(r *Record) {
				r.Kind, r.User, r.Method, r.RemoteAddr, r.Port, r.Count = KindFailedAuth, "root", "password", "192.0.2.7", 42393, 1
			})},
		{"failed password invalid user", hdr + "Failed password for invalid user webmaster from 192.0.2.7 port 38926 ssh2",
			rec(func(r *Record) {
				r.Kind, r.User, r.InvalidUser, r.Method, r.RemoteAddr, r.Port, r.Count = KindFailedAuth, "webmaster", true, "password", "192.0.2.7", 38926, 1
			})},
		{"failed none", hdr + "Failed none for invalid user 0 from 192.0.2.8 port 49811 ssh2",
			rec(func(r *Record) {
				r.Kind, r.User, r.InvalidUser, r.Method, r.RemoteAddr, r.Port, r.Count = KindFailedAuth, "0", true, "none", "192.0.2.8", 49811, 1
			})},
		{"failed publickey with key", hdr + "Failed publickey for git from 2001:db8::5 port 50022 ssh2: ED25519 SHA256:3q1TnYhYrT7mD3zJ4a0qv3C7XGZl9Vq7h8cHk3d3s0A",
			rec(func(r *Record) {
				r.Kind, r.User, r.Method, r.RemoteAddr, r.Port, r.Count = KindFailedAuth, "git", "publickey", "2001:db8::5", 50022, 1
			})},
		{"failed keyboard-interactive", hdr + "Failed keyboard-interactive/pam for invalid user pi from 198.51.100.4 port 1022 ssh2",
			rec(func(r *Record) {
				r.Kind, r.User, r.InvalidUser, r.Method, r.RemoteAddr, r.Port, r.Count = KindFailedAuth, "pi", true, "keyboard-interactive/pam", "198.51.100.4", 1022, 1
			})},
		{"user name with spaces and a fake from", hdr + "Failed password for invalid user a from 6.6.6.6 port 1 ssh2 from 192.0.2.9 port 2222 ssh2",
			rec(func(r *Record) {
				r.Kind, r.User, r.InvalidUser, r.Method, r.RemoteAddr, r.Port, r.Count = KindFailedAuth, "a from 6.6.6.6 port 1 ssh2", true, "password", "192.0.2.9", 2222, 1
			})},
		{"empty invalid user", hdr + "Failed password for invalid user  from 192.0.2.9 port 2222 ssh2",
			rec(func(r *Record) {
				r.Kind, r.InvalidUser, r.Method, r.RemoteAddr, r.Port, r.Count = KindFailedAuth, true, "password", "192.0.2.9", 2222, 1
			})},
		{"message repeated", hdr + "message repeated 5 times: [ Failed password for root from 192.0.2.7 port 42393 ssh2]",
			rec(func(r *Record) {
				r.Kind, r.User, r.Method, r.RemoteAddr, r.Port, r.Count, r.Repeated = KindFailedAuth, "root", "password", "192.0.2.7", 42393, 5, 5
			})},
		{"message repeated absurd count", hdr + "message repeated 999999999999 times: [ Failed password for root from 192.0.2.7 port 42393 ssh2]",
			rec(func(r *Record) {
				r.Kind, r.User, r.Method, r.RemoteAddr, r.Port, r.Count, r.Repeated = KindFailedAuth, "root", "password", "192.0.2.7", 42393, MaxCount, MaxCount
				r.Flags = FlagCountClamped
			})},
		{"message repeated of other", hdr + "message repeated 3 times: [ pam_unix(sshd:auth): check pass; user unknown]", base},
		{"message repeated zero", hdr + "message repeated 0 times: [ Failed password for root from 192.0.2.7 port 42393 ssh2]", base},
		{"message repeated nested", hdr + "message repeated 2 times: [ message repeated 9 times: [ Failed password for root from 192.0.2.7 port 1 ssh2]]", base},
		{"accepted password", hdr + "Accepted password for fztu from 203.0.113.42 port 49116 ssh2",
			rec(func(r *Record) {
				r.Kind, r.User, r.Method, r.RemoteAddr, r.Port, r.Count = KindAccepted, "fztu", "password", "203.0.113.42", 49116, 1
			})},
		{"accepted publickey", hdr + "Accepted publickey for deploy from 203.0.113.42 port 50100 ssh2: RSA SHA256:Zm9vYmFyYmF6cXV4",
			rec(func(r *Record) {
				r.Kind, r.User, r.Method, r.RemoteAddr, r.Port, r.Count = KindAccepted, "deploy", "publickey", "203.0.113.42", 50100, 1
			})},
		{"invalid user old", hdr + "Invalid user webmaster from 192.0.2.7",
			rec(func(r *Record) {
				r.Kind, r.User, r.InvalidUser, r.RemoteAddr, r.Count = KindInvalidUser, "webmaster", true, "192.0.2.7", 1
			})},
		{"invalid user with port", hdr + "Invalid user admin from 192.0.2.7 port 52114",
			rec(func(r *Record) {
				r.Kind, r.User, r.InvalidUser, r.RemoteAddr, r.Port, r.Count = KindInvalidUser, "admin", true, "192.0.2.7", 52114, 1
			})},
		{"pam_unix failure no user", hdr + "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.7 ",
			rec(func(r *Record) {
				r.Kind, r.RemoteAddr, r.Count = KindPAMFailure, "192.0.2.7", 1
			})},
		{"pam_unix failure host name and user", hdr + "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=dsl-7.example.net  user=root",
			rec(func(r *Record) {
				r.Kind, r.User, r.RemoteAddr, r.Count = KindPAMFailure, "root", "dsl-7.example.net", 1
			})},
		{"pam more", hdr + "PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.7  user=root",
			rec(func(r *Record) {
				r.Kind, r.User, r.RemoteAddr, r.Count = KindPAMMoreFailures, "root", "192.0.2.7", 5
			})},
		{"pam 1 more", hdr + "PAM 1 more authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.8 ",
			rec(func(r *Record) {
				r.Kind, r.RemoteAddr, r.Count = KindPAMMoreFailures, "192.0.2.8", 1
			})},
		{"pam more absurd", hdr + "PAM 18446744073709551617 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.8 ",
			rec(func(r *Record) {
				r.Kind, r.RemoteAddr, r.Count, r.Flags = KindPAMMoreFailures, "192.0.2.8", MaxCount, FlagCountClamped
			})},
		{"pam ignoring max retries", hdr + "PAM service(sshd) ignoring max retries; 6 > 3", base},
		{"sshd PAM error", hdr + "error: PAM: Authentication failure for illegal user oracle from 192.0.2.7",
			rec(func(r *Record) {
				r.Kind, r.User, r.InvalidUser, r.RemoteAddr, r.Count = KindPAMError, "oracle", true, "192.0.2.7", 1
			})},
		{"too many, for user", hdr + "Disconnecting: Too many authentication failures for root [preauth]",
			rec(func(r *Record) { r.Kind, r.User, r.Flags = KindTooManyFailures, "root", FlagPreauth })},
		{"too many, bare", hdr + "Disconnecting: Too many authentication failures [preauth]",
			rec(func(r *Record) { r.Kind, r.Flags = KindTooManyFailures, FlagPreauth })},
		{"too many, invalid user", hdr + "Disconnecting: Too many authentication failures for invalid user admin [preauth]",
			rec(func(r *Record) {
				r.Kind, r.User, r.InvalidUser, r.Flags = KindTooManyFailures, "admin", true, FlagPreauth
			})},
		{"too many, authenticating user", hdr + "Disconnecting authenticating user root 192.0.2.7 port 50406: Too many authentication failures [preauth]",
			rec(func(r *Record) {
				r.Kind, r.User, r.RemoteAddr, r.Port, r.Flags = KindTooManyFailures, "root", "192.0.2.7", 50406, FlagPreauth
			})},
		{"too many, invalid user addr", hdr + "Disconnecting invalid user admin 192.0.2.7 port 50406: Too many authentication failures [preauth]",
			rec(func(r *Record) {
				r.Kind, r.User, r.InvalidUser, r.RemoteAddr, r.Port, r.Flags = KindTooManyFailures, "admin", true, "192.0.2.7", 50406, FlagPreauth
			})},
		{"max attempts exceeded", hdr + "error: maximum authentication attempts exceeded for invalid user admin from 192.0.2.7 port 50406 ssh2 [preauth]",
			rec(func(r *Record) {
				r.Kind, r.User, r.InvalidUser, r.RemoteAddr, r.Port, r.Flags = KindTooManyFailures, "admin", true, "192.0.2.7", 50406, FlagPreauth
			})},
		{"no identification", hdr + "Did not receive identification string from 192.0.2.11",
			rec(func(r *Record) { r.Kind, r.RemoteAddr = KindNoIdentification, "192.0.2.11" })},
		{"no identification port", hdr + "Did not receive identification string from 192.0.2.11 port 60000",
			rec(func(r *Record) { r.Kind, r.RemoteAddr, r.Port = KindNoIdentification, "192.0.2.11", 60000 })},
		{"closed old", hdr + "Connection closed by 192.0.2.7 [preauth]",
			rec(func(r *Record) { r.Kind, r.RemoteAddr, r.Flags = KindConnectionClosed, "192.0.2.7", FlagPreauth })},
		{"closed port", hdr + "Connection closed by 192.0.2.7 port 4444 [preauth]",
			rec(func(r *Record) {
				r.Kind, r.RemoteAddr, r.Port, r.Flags = KindConnectionClosed, "192.0.2.7", 4444, FlagPreauth
			})},
		{"closed authenticating user", hdr + "Connection closed by authenticating user root 192.0.2.7 port 4444 [preauth]",
			rec(func(r *Record) {
				r.Kind, r.User, r.RemoteAddr, r.Port, r.Flags = KindConnectionClosed, "root", "192.0.2.7", 4444, FlagPreauth
			})},
		{"closed invalid user", hdr + "Connection closed by invalid user ubnt 192.0.2.7 port 4444 [preauth]",
			rec(func(r *Record) {
				r.Kind, r.User, r.InvalidUser, r.RemoteAddr, r.Port, r.Flags = KindConnectionClosed, "ubnt", true, "192.0.2.7", 4444, FlagPreauth
			})},
		{"reset by", hdr + "Connection reset by 192.0.2.7 port 4444 [preauth]",
			rec(func(r *Record) {
				r.Kind, r.RemoteAddr, r.Port, r.Flags = KindConnectionClosed, "192.0.2.7", 4444, FlagPreauth
			})},
		{"received disconnect old", hdr + "Received disconnect from 192.0.2.7: 11: Bye Bye [preauth]",
			rec(func(r *Record) { r.Kind, r.RemoteAddr, r.Flags = KindDisconnected, "192.0.2.7", FlagPreauth })},
		{"received disconnect port", hdr + "Received disconnect from 192.0.2.7 port 55000:11: Bye Bye [preauth]",
			rec(func(r *Record) {
				r.Kind, r.RemoteAddr, r.Port, r.Flags = KindDisconnected, "192.0.2.7", 55000, FlagPreauth
			})},
		{"received disconnect error", hdr + "error: Received disconnect from 192.0.2.7: 3: com.jcraft.jsch.JSchException: Auth fail [preauth]",
			rec(func(r *Record) { r.Kind, r.RemoteAddr, r.Flags = KindDisconnected, "192.0.2.7", FlagPreauth })},
		{"received disconnect ipv6", hdr + "Received disconnect from 2001:db8::1 port 22:11: disconnected by user",
			rec(func(r *Record) { r.Kind, r.RemoteAddr, r.Port = KindDisconnected, "2001:db8::1", 22 })},
		{"disconnected from user", hdr + "Disconnected from user fztu 203.0.113.42 port 49116",
			rec(func(r *Record) {
				r.Kind, r.User, r.RemoteAddr, r.Port = KindDisconnected, "fztu", "203.0.113.42", 49116
			})},
		{"timeout", hdr + "Timeout before authentication for 192.0.2.7 port 4444",
			rec(func(r *Record) { r.Kind, r.RemoteAddr, r.Port = KindDisconnected, "192.0.2.7", 4444 })},
		// Not authentication: parsed, classified other.
		{"reverse mapping", hdr + "reverse mapping checking getaddrinfo for ns.example.com [192.0.2.7] failed - POSSIBLE BREAK-IN ATTEMPT!", base},
		{"userauth request", hdr + "input_userauth_request: invalid user webmaster [preauth]",
			rec(func(r *Record) { r.Flags = FlagPreauth })},
		{"session opened", hdr + "pam_unix(sshd:session): session opened for user fztu by (uid=0)", base},
		{"pam check pass", hdr + "pam_unix(sshd:auth): check pass; user unknown", base},
		// Malformed variants of known messages stay other.
		{"failed no port", hdr + "Failed password for root from 192.0.2.7", base},
		{"failed port too big", hdr + "Failed password for root from 192.0.2.7 port 70000 ssh2", base},
		{"failed bad addr", hdr + "Failed password for root from 192.0.2.7;rm port 22 ssh2", base},
		{"failed method with space", hdr + "Failed pass word for root from 192.0.2.7 port 22 ssh2", base},
		{"closed junk who", hdr + "Connection closed by somebody 192.0.2.7 port 22", base},
		{"empty message", "Nov 26 10:00:01 gw sshd[4242]:", base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := newTestParser().Parse([]byte(tt.line))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tt.line, d)
			}
		})
	}
}

func TestParseHeaders(t *testing.T) {
	const msg = "Failed password for root from 192.0.2.7 port 22 ssh2"
	failed := func(r Record) Record {
		r.Kind, r.User, r.Method, r.RemoteAddr, r.Port, r.Count = KindFailedAuth, "root", "password", "192.0.2.7", 22, 1
		return r
	}
	tests := []struct {
		name string
		line string
		want Record
	}{
		{"sshd-session", "Nov 26 10:00:01 gw sshd-session[77]: " + msg,
			failed(Record{Time: at(11, 26, 10, 0, 1), Host: "gw", Program: "sshd-session", PID: 77})},
		{"single digit day padded", "Nov  6 10:00:01 gw sshd[77]: " + msg,
			failed(Record{Time: at(11, 6, 10, 0, 1), Host: "gw", Program: "sshd", PID: 77})},
		{"rfc3339 rsyslog", "2026-11-26T10:00:00.123456+00:00 gw sshd[1]: " + msg,
			failed(Record{Time: time.Date(2026, 11, 26, 10, 0, 0, 123456000, time.UTC), Host: "gw", Program: "sshd", PID: 1})},
		{"rfc3339 zulu", "2025-01-02T03:04:05Z gw sshd[1]: " + msg,
			failed(Record{Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Host: "gw", Program: "sshd", PID: 1})},
		{"rfc3339 offset", "2026-11-26T11:00:00.5+01:00 gw sshd[1]: " + msg,
			failed(Record{Time: time.Date(2026, 11, 26, 11, 0, 0, 500000000, time.FixedZone("", 3600)), Host: "gw", Program: "sshd", PID: 1})},
		{"old pam_unix program", "Nov 26 10:00:01 gw sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=ip-192-0-2-7.example.com  user=root",
			Record{Time: at(11, 26, 10, 0, 1), Host: "gw", Program: "sshd(pam_unix)", PID: 19939, Kind: KindPAMFailure,
				User: "root", RemoteAddr: "ip-192-0-2-7.example.com", Count: 1}},
		{"no pid", "Nov 26 10:00:01 gw sshd: " + msg,
			failed(Record{Time: at(11, 26, 10, 0, 1), Host: "gw", Program: "sshd"})},
		{"other program", "Nov 26 10:00:01 gw sudo[5]: " + msg,
			Record{Time: at(11, 26, 10, 0, 1), Host: "gw", Program: "sudo", PID: 5}},
		{"sshdx is not sshd", "Nov 26 10:00:01 gw sshdx[5]: " + msg,
			Record{Time: at(11, 26, 10, 0, 1), Host: "gw", Program: "sshdx", PID: 5}},
		{"leading NULs", "\x00\x00\x00Nov 26 10:00:01 gw sshd[77]: " + msg,
			failed(Record{Time: at(11, 26, 10, 0, 1), Host: "gw", Program: "sshd", PID: 77, Flags: FlagLeadingNUL})},
		{"crlf", "Nov 26 10:00:01 gw sshd[77]: " + msg + "\r\n",
			failed(Record{Time: at(11, 26, 10, 0, 1), Host: "gw", Program: "sshd", PID: 77})},
		{"invalid utf-8 user", "Nov 26 10:00:01 gw sshd[77]: Invalid user r\xffot from 192.0.2.7",
			Record{Time: at(11, 26, 10, 0, 1), Host: "gw", Program: "sshd", PID: 77, Kind: KindInvalidUser,
				User: "r\uFFFDot", InvalidUser: true, RemoteAddr: "192.0.2.7", Count: 1, Flags: FlagInvalidUTF8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := newTestParser().Parse([]byte(tt.line))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tt.line, d)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		line string
		want error
	}{
		{"empty", "", ErrEmpty},
		{"only NULs", "\x00\x00\x00", ErrEmpty},
		{"too long", "Nov 26 10:00:01 gw sshd[1]: " + strings.Repeat("A", MaxLineLen), ErrTooLong},
		{"garbage", "\x89PNG\r\n\x1a\n\x00\x00", ErrTimestamp},
		{"bad month", "Foo 26 10:00:01 gw sshd[1]: x", ErrTimestamp},
		{"bad day", "Nov 32 10:00:01 gw sshd[1]: x", ErrTimestamp},
		{"impossible date", "Nov 31 10:00:01 gw sshd[1]: x", ErrTimestamp},
		{"bad clock", "Nov 26 25:00:01 gw sshd[1]: x", ErrTimestamp},
		{"truncated timestamp", "Nov 26 10:0", ErrTimestamp},
		{"truncated after timestamp", "Nov 26 10:00:01 gw", ErrHeader},
		{"no tag colon", "Nov 26 10:00:01 gw sshd[1] x", ErrHeader},
		{"pid not a number", "Nov 26 10:00:01 gw sshd[x1]: x", ErrHeader},
		{"pid absurd", "Nov 26 10:00:01 gw sshd[99999999999999999999]: x", ErrHeader},
		{"pid zero", "Nov 26 10:00:01 gw sshd[0]: x", ErrHeader},
		{"NUL in host", "Nov 26 10:00:01 g\x00w sshd[1]: x", ErrBinary},
		{"NUL in tag", "Nov 26 10:00:01 gw ss\x00hd[1]: x", ErrBinary},
		{"rfc3339 bad month", "2026-13-26T10:00:00Z gw sshd[1]: x", ErrTimestamp},
		{"rfc3339 Feb 30", "2026-02-30T10:00:00Z gw sshd[1]: x", ErrTimestamp},
		{"rfc3339 no zone", "2026-11-26T10:00:00 gw sshd[1]: x", ErrTimestamp},
		{"rfc3339 bad zone", "2026-11-26T10:00:00+25:00 gw sshd[1]: x", ErrTimestamp},
		{"rfc3339 truncated", "2026-11-26T10:00:00.", ErrTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newTestParser().Parse([]byte(tt.line))
			if !errors.Is(err, tt.want) {
				t.Errorf("Parse(%q) error = %v, want %v", tt.line, err, tt.want)
			}
		})
	}
}

// TestParseAllocations keeps the hot path allocation-light: a line whose
// strings were seen before costs no allocation.
func TestParseAllocations(t *testing.T) {
	p := newTestParser()
	line := []byte("Nov 26 10:00:01 gw sshd[4242]: Failed password for invalid user admin from 192.0.2.7 port 38926 ssh2")
	if _, err := p.Parse(line); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := p.Parse(line); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Parse allocates %v times per repeated line, want 0", allocs)
	}
}
