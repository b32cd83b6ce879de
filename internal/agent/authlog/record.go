package authlog

import "time"

// Kind says what an sshd or PAM line reports.
type Kind uint8

// The kinds of line the parser recognises. Lines of other programs, and sshd
// lines with no bearing on authentication, are KindOther.
const (
	KindOther            Kind = iota
	KindFailedAuth            // Failed <method> for [invalid user ]U from A port P ssh2
	KindAccepted              // Accepted <method> for U from A port P ssh2
	KindInvalidUser           // Invalid user U from A [port P]
	KindPAMFailure            // pam_unix(sshd:auth): authentication failure; … rhost=A [user=U]
	KindPAMMoreFailures       // PAM N more authentication failures; … rhost=A [user=U]
	KindPAMError              // error: PAM: Authentication failure for [illegal user ]U from A
	KindTooManyFailures       // Disconnecting…: Too many authentication failures / maximum authentication attempts exceeded
	KindNoIdentification      // Did not receive identification string from A [port P]
	KindConnectionClosed      // Connection closed|reset by [authenticating user U |invalid user U ]A [port P] [preauth]
	KindDisconnected          // Received disconnect from …, Disconnected from …, Timeout before authentication …
)

var kindNames = [...]string{
	KindOther:            "other",
	KindFailedAuth:       "failed_auth",
	KindAccepted:         "accepted",
	KindInvalidUser:      "invalid_user",
	KindPAMFailure:       "pam_failure",
	KindPAMMoreFailures:  "pam_more_failures",
	KindPAMError:         "pam_error",
	KindTooManyFailures:  "too_many_failures",
	KindNoIdentification: "no_identification",
	KindConnectionClosed: "connection_closed",
	KindDisconnected:     "disconnected",
}

// String returns the snake_case name of k.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Flag notes something the parser repaired or bounded in a line.
type Flag uint8

// Flags set on a Record.
const (
	// FlagInvalidUTF8: a field held invalid UTF-8; each bad sequence was
	// replaced by U+FFFD.
	FlagInvalidUTF8 Flag = 1 << iota
	// FlagCountClamped: a count above MaxCount was written; Count is MaxCount.
	FlagCountClamped
	// FlagLeadingNUL: NUL bytes before the line (left by a crash) were skipped.
	FlagLeadingNUL
	// FlagPreauth: the message ended in " [preauth]".
	FlagPreauth
)

// MaxCount bounds the count a single line may stand for ("message repeated
// N times", "PAM N more authentication failures"). sshd's MaxAuthTries keeps
// real values in the tens.
const MaxCount = 10000

// Record is one parsed line.
type Record struct {
	Time    time.Time
	Host    string // the syslog host field
	Program string // "sshd", "sshd-session", "sshd(pam_unix)", … or any other program
	PID     int    // 0 when the tag carries none

	Kind        Kind
	User        string // as written; "" when the line names none
	InvalidUser bool   // sshd said "invalid user" (or PAM "illegal user")
	Method      string // "password", "publickey", "none", "keyboard-interactive/pam", …
	RemoteAddr  string // IP (sshd) or host name or IP (PAM rhost) as written
	Port        int    // 0 when the line names none

	// Count is how many authentication attempts the line reports: 1 for
	// Failed, Accepted, Invalid user and pam_unix lines, N for "PAM N more
	// authentication failures", and the inner count times N for "message
	// repeated N times: [ … ]". Several lines report the same attempt; use
	// Attempts to count each attempt once. 0 for lines that report none.
	Count int
	// Repeated is N for a "message repeated N times: [ … ]" line, else 0.
	Repeated int
	Flags    Flag
}

// SSHD reports whether the line comes from sshd (sshd, sshd-session,
// sshd-auth, sshd(pam_unix), …).
func (r *Record) SSHD() bool { return isSSHD(r.Program) }

func isSSHD(p string) bool {
	if len(p) < 4 || p[:4] != "sshd" {
		return false
	}
	return len(p) == 4 || p[4] == '-' || p[4] == '('
}
