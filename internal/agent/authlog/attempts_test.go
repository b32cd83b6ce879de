package authlog

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// replay parses log (one line per line) and feeds every record to a.
func replay(t *testing.T, a *Attempts, log string) []Attempt {
	t.Helper()
	p := newTestParser()
	var out []Attempt
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		r, err := p.Parse([]byte(strings.TrimSpace(line)))
		if err != nil {
			t.Fatalf("Parse(%q): %v", line, err)
		}
		out = a.Add(out, &r)
	}
	return out
}

func failed(total []Attempt) int {
	n := 0
	for _, a := range total {
		if !a.Success {
			n += a.Count
		}
	}
	return n
}

func TestAttempts(t *testing.T) {
	tests := []struct {
		name        string
		log         string
		want        []Attempt
		wantPending int
	}{
		{
			name: "invalid user: Invalid user, pam_unix and Failed are one attempt",
			log: `
Nov 26 10:00:00 gw sshd[100]: Invalid user webmaster from 192.0.2.7
Nov 26 10:00:00 gw sshd[100]: input_userauth_request: invalid user webmaster [preauth]
Nov 26 10:00:00 gw sshd[100]: pam_unix(sshd:auth): check pass; user unknown
Nov 26 10:00:00 gw sshd[100]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.7
Nov 26 10:00:02 gw sshd[100]: Failed password for invalid user webmaster from 192.0.2.7 port 38926 ssh2
Nov 26 10:00:02 gw sshd[100]: Connection closed by 192.0.2.7 [preauth]`,
			want: []Attempt{{Time: at(11, 26, 10, 0, 2), Host: "gw", PID: 100, Source: "192.0.2.7", Port: 38926,
				User: "webmaster", InvalidUser: true, Method: "password", Count: 1}},
		},
		{
			name: "repeated: 1 + 5; PAM 5 more is not extra",
			log: `
Nov 26 10:13:31 gw sshd[200]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=dsl.example.net  user=root
Nov 26 10:13:43 gw sshd[200]: Failed password for root from 192.0.2.8 port 42393 ssh2
Nov 26 10:13:56 gw sshd[200]: message repeated 5 times: [ Failed password for root from 192.0.2.8 port 42393 ssh2]
Nov 26 10:13:56 gw sshd[200]: Disconnecting: Too many authentication failures for root [preauth]
Nov 26 10:13:56 gw sshd[200]: PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=dsl.example.net  user=root
Nov 26 10:13:56 gw sshd[200]: PAM service(sshd) ignoring max retries; 6 > 3`,
			want: []Attempt{
				{Time: at(11, 26, 10, 13, 43), Host: "gw", PID: 200, Source: "192.0.2.8", Port: 42393, User: "root", Method: "password", Count: 1},
				{Time: at(11, 26, 10, 13, 56), Host: "gw", PID: 200, Source: "192.0.2.8", Port: 42393, User: "root", Method: "password", Count: 5},
			},
		},
		{
			name: "PAM N more after Connection closed matches the Failed lines",
			log: `
Nov 26 08:25:06 gw sshd[300]: Invalid user admin from 192.0.2.9
Nov 26 08:25:06 gw sshd[300]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.9
Nov 26 08:25:08 gw sshd[300]: Failed password for invalid user admin from 192.0.2.9 port 60682 ssh2
Nov 26 08:25:11 gw sshd[300]: Failed password for invalid user admin from 192.0.2.9 port 60682 ssh2
Nov 26 08:25:22 gw sshd[300]: Connection closed by 192.0.2.9 [preauth]
Nov 26 08:25:22 gw sshd[300]: PAM 1 more authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.9`,
			want: []Attempt{
				{Time: at(11, 26, 8, 25, 8), Host: "gw", PID: 300, Source: "192.0.2.9", Port: 60682, User: "admin", InvalidUser: true, Method: "password", Count: 1},
				{Time: at(11, 26, 8, 25, 11), Host: "gw", PID: 300, Source: "192.0.2.9", Port: 60682, User: "admin", InvalidUser: true, Method: "password", Count: 1},
			},
		},
		{
			name: "PAM-only: keyboard-interactive failures sshd logs at VERBOSE, then success",
			log: `
Nov 26 09:00:00 gw sshd[400]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=client.example.org  user=alice
Nov 26 09:00:09 gw sshd[400]: Accepted keyboard-interactive/pam for alice from 203.0.113.5 port 50000 ssh2
Nov 26 09:00:09 gw sshd[400]: pam_unix(sshd:session): session opened for user alice by (uid=0)
Nov 26 09:30:00 gw sshd[400]: Disconnected from user alice 203.0.113.5 port 50000
Nov 26 09:30:00 gw sshd[400]: PAM 1 more authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=client.example.org  user=alice`,
			want: []Attempt{
				{Time: at(11, 26, 9, 0, 9), Host: "gw", PID: 400, Source: "203.0.113.5", Port: 50000, User: "alice", Method: "keyboard-interactive/pam", Success: true, Count: 1},
				{Time: at(11, 26, 9, 0, 0), Host: "gw", PID: 400, Source: "203.0.113.5", Port: 50000, User: "alice", Method: "pam", Count: 1, PAMOnly: true},
				{Time: at(11, 26, 9, 30, 0), Host: "gw", PID: 400, Source: "203.0.113.5", Port: 50000, User: "alice", Method: "pam", Count: 1, PAMOnly: true},
			},
		},
		{
			name: "PAM-only with no sshd address: PAM's rhost is the source",
			log: `
Nov 26 09:00:00 gw sshd[500]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=client.example.org  user=bob
Nov 26 09:00:30 gw sshd[500]: Connection closed by 198.51.100.20 port 50001 [preauth]
Nov 26 09:00:30 gw sshd[500]: PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=client.example.org  user=bob`,
			want: []Attempt{
				{Time: at(11, 26, 9, 0, 0), Host: "gw", PID: 500, Source: "198.51.100.20", Port: 50001, User: "bob", Method: "pam", Count: 1, PAMOnly: true},
				{Time: at(11, 26, 9, 0, 30), Host: "gw", PID: 500, Source: "198.51.100.20", Port: 50001, User: "bob", Method: "pam", Count: 2, PAMOnly: true},
			},
		},
		{
			name: "publickey and none failures do not offset PAM failures",
			log: `
Nov 26 09:00:00 gw sshd[600]: Failed none for invalid user x from 192.0.2.10 port 1000 ssh2
Nov 26 09:00:01 gw sshd[600]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.10
Nov 26 09:00:05 gw sshd[600]: Received disconnect from 192.0.2.10 port 1000:11: Bye Bye [preauth]`,
			want: []Attempt{
				{Time: at(11, 26, 9, 0, 0), Host: "gw", PID: 600, Source: "192.0.2.10", Port: 1000, User: "x", InvalidUser: true, Method: "none", Count: 1},
				{Time: at(11, 26, 9, 0, 1), Host: "gw", PID: 600, Source: "192.0.2.10", Port: 1000, User: "x", InvalidUser: true, Method: "pam", Count: 1, PAMOnly: true},
			},
		},
		{
			name: "PAM failure waiting for its Failed line is pending, not counted",
			log: `
Nov 26 11:04:43 gw sshd[700]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.11  user=root`,
			wantPending: 1,
		},
		{
			name: "PAM N more for a session not seen from its start is ignored",
			log: `
Nov 26 11:00:00 gw sshd[800]: Connection closed by 192.0.2.12 [preauth]
Nov 26 11:00:00 gw sshd[800]: PAM 4 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.12`,
		},
		{
			name: "interleaved PIDs are counted apart; sshd-session and pam_unix program forms",
			log: `
Nov 26 12:00:00 gw sshd-session[901]: Invalid user a from 192.0.2.13 port 1
Nov 26 12:00:00 gw sshd(pam_unix)[902]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=192.0.2.14  user=root
Nov 26 12:00:01 gw sshd-session[901]: Failed password for invalid user a from 192.0.2.13 port 1 ssh2
Nov 26 12:00:02 gw sshd[902]: Failed password for root from 192.0.2.14 port 2 ssh2
Nov 26 12:00:03 gw sshd-session[901]: Connection closed by invalid user a 192.0.2.13 port 1 [preauth]
Nov 26 12:00:03 gw sshd[902]: Connection closed by authenticating user root 192.0.2.14 port 2 [preauth]`,
			want: []Attempt{
				{Time: at(11, 26, 12, 0, 1), Host: "gw", PID: 901, Source: "192.0.2.13", Port: 1, User: "a", InvalidUser: true, Method: "password", Count: 1},
				{Time: at(11, 26, 12, 0, 2), Host: "gw", PID: 902, Source: "192.0.2.14", Port: 2, User: "root", Method: "password", Count: 1},
			},
		},
		{
			name: "PID reused after the session ended starts afresh",
			log: `
Nov 26 13:00:00 gw sshd[1000]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.15  user=root
Nov 26 13:00:02 gw sshd[1000]: Failed password for root from 192.0.2.15 port 5 ssh2
Nov 26 13:00:03 gw sshd[1000]: Connection closed by 192.0.2.15 port 5 [preauth]
Nov 26 13:01:00 gw sshd[1000]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.16  user=root
Nov 26 13:01:02 gw sshd[1000]: Failed password for root from 192.0.2.16 port 6 ssh2`,
			want: []Attempt{
				{Time: at(11, 26, 13, 0, 2), Host: "gw", PID: 1000, Source: "192.0.2.15", Port: 5, User: "root", Method: "password", Count: 1},
				{Time: at(11, 26, 13, 1, 2), Host: "gw", PID: 1000, Source: "192.0.2.16", Port: 6, User: "root", Method: "password", Count: 1},
			},
		},
		{
			name: "lines without PID: Failed counts, PAM never does",
			log: `
Nov 26 14:00:00 gw sshd: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.17
Nov 26 14:00:02 gw sshd: Failed password for root from 192.0.2.17 port 7 ssh2
Nov 26 14:00:03 gw sshd: Connection closed by 192.0.2.17 port 7 [preauth]`,
			want: []Attempt{
				{Time: at(11, 26, 14, 0, 2), Host: "gw", Source: "192.0.2.17", Port: 7, User: "root", Method: "password", Count: 1},
			},
		},
		{
			name: "other programs are ignored",
			log: `
Nov 26 15:00:00 gw sudo[1]: Failed password for root from 192.0.2.18 port 8 ssh2
Nov 26 15:00:00 gw su[2]: pam_unix(su:auth): authentication failure; logname=pi uid=1000 euid=0 tty=/dev/pts/0 ruser=pi rhost=  user=root`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewAttempts(AttemptsConfig{})
			got := replay(t, a, tt.log)
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("attempts (-want +got):\n%s", d)
			}
			if p := a.Pending(); p != tt.wantPending {
				t.Errorf("Pending() = %d, want %d", p, tt.wantPending)
			}
		})
	}
}

func TestAttemptsFlushSettlesIdleSessions(t *testing.T) {
	a := NewAttempts(AttemptsConfig{IdleTimeout: time.Minute})
	got := replay(t, a, `
Nov 26 11:04:43 gw sshd[700]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.11  user=root`)
	if len(got) != 0 || a.Pending() != 1 {
		t.Fatalf("before the timeout: %v, pending %d; want nothing, 1 pending", got, a.Pending())
	}
	if got = a.Flush(nil, at(11, 26, 11, 5, 42)); len(got) != 0 {
		t.Fatalf("Flush 59 s after the line settled %v", got)
	}
	got = a.Flush(nil, at(11, 26, 11, 5, 43))
	want := []Attempt{{Time: at(11, 26, 11, 4, 43), Host: "gw", PID: 700, Source: "192.0.2.11", User: "root", Method: "pam", Count: 1, PAMOnly: true}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Flush (-want +got):\n%s", d)
	}
	if a.Sessions() != 0 || a.Pending() != 0 {
		t.Errorf("after Flush: %d sessions, %d pending; want 0, 0", a.Sessions(), a.Pending())
	}
}

func TestAttemptsFlushAfterClockJumpBack(t *testing.T) {
	a := NewAttempts(AttemptsConfig{IdleTimeout: time.Minute})
	replay(t, a, `Nov 26 11:00:00 gw sshd[1]: Invalid user a from 192.0.2.1`)
	// The clock went back a day: the session is not held until it catches up.
	a.Flush(nil, at(11, 25, 11, 0, 0))
	if a.Sessions() != 0 {
		t.Errorf("Sessions() = %d after a flush a day before the session; want 0", a.Sessions())
	}
}

func TestAttemptsMaxSessions(t *testing.T) {
	a := NewAttempts(AttemptsConfig{MaxSessions: 3})
	var b strings.Builder
	for pid := 1; pid <= 10; pid++ {
		b.WriteString("Nov 26 11:00:00 gw sshd[")
		b.WriteString(strings.Repeat("1", pid))
		b.WriteString("]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.1\n")
	}
	got := replay(t, a, b.String())
	if a.Sessions() > 4 {
		t.Errorf("Sessions() = %d, want at most MaxSessions+1 = 4", a.Sessions())
	}
	// Every evicted session's PAM failure was settled, none lost or doubled.
	if n := failed(got) + a.Pending(); n != 10 {
		t.Errorf("settled %d + pending %d = %d, want 10", failed(got), a.Pending(), n)
	}
}
