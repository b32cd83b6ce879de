package authlog

import (
	"slices"
	"strings"
	"time"
)

// Attempt is one or more login attempts of one sshd process (PID) from one
// source, as counted by Attempts.
type Attempt struct {
	Time        time.Time
	Host        string // syslog host of the lines
	PID         int
	Source      string // remote address: the IP sshd wrote, else PAM's rhost
	Port        int
	User        string
	InvalidUser bool
	Method      string // sshd's method; "pam" for PAM-only attempts
	Success     bool
	Count       int // attempts this stands for (≥ 1)
	// PAMOnly: PAM reported these failures and sshd wrote no Failed line
	// for them (see Attempts).
	PAMOnly bool
}

// Defaults of AttemptsConfig.
const (
	DefaultIdleTimeout      = 3 * time.Minute
	DefaultLoggedInIdleTime = 24 * time.Hour
	DefaultMaxSessions      = 4096
)

// AttemptsConfig configures Attempts. The zero value uses the defaults.
type AttemptsConfig struct {
	// IdleTimeout: a session (sshd PID) with no line for this long is
	// settled and forgotten. It must exceed the gap between PAM's failure
	// line and sshd's Failed line for the same attempt (pam_faildelay, a
	// few seconds) and is best above sshd's LoginGraceTime (120 s).
	IdleTimeout time.Duration
	// LoggedInIdleTime replaces IdleTimeout for a session that logged in
	// (Accepted): pam_unix writes its "PAM N more" line when the session
	// closes, possibly hours later.
	LoggedInIdleTime time.Duration
	// MaxSessions bounds the sessions held; the least recently active is
	// settled and forgotten first.
	MaxSessions int
}

// Attempts turns Records, fed in log order, into login attempts, counting
// each failed authentication once:
//
//   - "Failed <method>" is one failed attempt, "message repeated N times:
//     [ Failed … ]" is N more, "Accepted <method>" is one success; they are
//     emitted as they arrive.
//   - "Invalid user", pam_unix "authentication failure", "PAM N more
//     authentication failures" and sshd's "error: PAM: Authentication
//     failure" describe attempts the Failed lines of the same PID count;
//     they are not attempts of their own.
//   - PAM-only rule: pam_unix logs the first failure of a session and, when
//     the session ends, "PAM N more" for the rest: 1+N failures. sshd may
//     not write Failed for all of them (keyboard-interactive failures of a
//     valid user are logged at VERBOSE level until half of MaxAuthTries are
//     used). When a session's authentication is over (Accepted, Too many
//     authentication failures, Connection closed/reset, Disconnected,
//     Received disconnect, PAM N more, or IdleTimeout without a line), the
//     PAM total beyond the session's Failed password/keyboard-interactive
//     lines is emitted as PAMOnly failed attempts. Failed lines of other
//     methods (publickey, none, …) never pass through PAM and do not offset
//     PAM failures. Lines without a PID cannot be matched: their Failed and
//     Accepted lines still count, their PAM lines never do.
//
// Sessions are keyed by (host, PID). Not safe for concurrent use.
type Attempts struct {
	cfg       AttemptsConfig
	sessions  map[sessionKey]*session
	lastSweep time.Time
}

type sessionKey struct {
	host string
	pid  int
}

type session struct {
	addr, rhost string
	user        string
	invalid     bool
	port        int
	sshdPAM     int // failures sshd logged for PAM-backed methods
	pam         int // failures PAM reported
	pamEmitted  int // PAM-only failures already emitted
	pamTime     time.Time
	last        time.Time
	ended       bool
	loggedIn    bool
}

// NewAttempts returns an empty aggregator.
func NewAttempts(cfg AttemptsConfig) *Attempts {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.LoggedInIdleTime <= 0 {
		cfg.LoggedInIdleTime = DefaultLoggedInIdleTime
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	return &Attempts{cfg: cfg, sessions: make(map[sessionKey]*session)}
}

// Add feeds one record and appends the attempts it settles to dst. Records
// of programs other than sshd are ignored.
func (a *Attempts) Add(dst []Attempt, r *Record) []Attempt {
	if !r.SSHD() {
		return dst
	}
	if d := r.Time.Sub(a.lastSweep); d >= a.cfg.IdleTimeout/2 || d < 0 || len(a.sessions) > a.cfg.MaxSessions {
		dst = a.Flush(dst, r.Time)
	}
	switch r.Kind {
	case KindFailedAuth, KindAccepted:
		at := Attempt{
			Time: r.Time, Host: r.Host, PID: r.PID, Source: r.RemoteAddr, Port: r.Port,
			User: r.User, InvalidUser: r.InvalidUser, Method: r.Method,
			Success: r.Kind == KindAccepted, Count: r.Count,
		}
		if r.PID == 0 {
			return append(dst, at)
		}
		s := a.session(r, true)
		s.learn(r)
		dst = append(dst, at)
		if r.Kind == KindFailedAuth && pamMethod(r.Method) {
			s.sshdPAM += r.Count
		}
		if r.Kind == KindAccepted {
			s.loggedIn = true
			dst = a.settle(dst, r, s)
		}
	case KindInvalidUser:
		if s := a.session(r, true); s != nil {
			s.learn(r)
		}
	case KindPAMFailure:
		if s := a.session(r, true); s != nil {
			s.learnPAM(r)
			s.pam += r.Count
			s.pamTime = r.Time
		}
	case KindPAMMoreFailures:
		if s := a.session(r, false); s != nil {
			s.learnPAM(r)
			s.pam += r.Count
			s.pamTime = r.Time
			dst = a.settle(dst, r, s)
		}
	case KindTooManyFailures, KindConnectionClosed, KindDisconnected:
		if s := a.session(r, false); s != nil {
			s.learn(r)
			dst = a.settle(dst, r, s)
			s.ended = true
		}
	default:
		if s := a.lookup(r); s != nil {
			s.last = r.Time
		}
	}
	return dst
}

// Flush settles and forgets the sessions idle since now-IdleTimeout (or
// LoggedInIdleTime) and
// appends the attempts that settles to dst. Call it on a timer while the log
// is quiet, with now on the clock the log is written with. With a time far
// ahead it settles everything (end of input).
func (a *Attempts) Flush(dst []Attempt, now time.Time) []Attempt {
	a.lastSweep = now
	start := len(dst)
	for k, s := range a.sessions {
		// A session "ahead" of now by more than IdleTimeout means the
		// clock jumped back; it is settled too rather than held forever.
		idle := a.cfg.IdleTimeout
		if s.loggedIn && !s.ended {
			idle = a.cfg.LoggedInIdleTime
		}
		if age := now.Sub(s.last); age >= idle || age <= -a.cfg.IdleTimeout {
			dst = a.settleKey(dst, k, s)
			delete(a.sessions, k)
		}
	}
	for len(a.sessions) > a.cfg.MaxSessions {
		var oldK sessionKey
		var old *session
		for k, s := range a.sessions {
			if old == nil || s.last.Before(old.last) {
				oldK, old = k, s
			}
		}
		dst = a.settleKey(dst, oldK, old)
		delete(a.sessions, oldK)
	}
	slices.SortStableFunc(dst[start:], func(x, y Attempt) int {
		if c := x.Time.Compare(y.Time); c != 0 {
			return c
		}
		if c := strings.Compare(x.Host, y.Host); c != 0 {
			return c
		}
		return x.PID - y.PID
	})
	return dst
}

// Pending returns the PAM failures not (yet) matched by a Failed line nor
// emitted as PAMOnly attempts.
func (a *Attempts) Pending() int {
	n := 0
	for _, s := range a.sessions {
		if d := s.pam - s.sshdPAM - s.pamEmitted; d > 0 {
			n += d
		}
	}
	return n
}

// Sessions returns how many sshd sessions are held.
func (a *Attempts) Sessions() int { return len(a.sessions) }

// session returns the session of r's PID, creating it if create. A line
// that starts a new exchange on an ended session (the PID was reused)
// replaces it. Lines that end a session do not create one: a session whose
// start was not seen (the agent started, or restarted, in its middle) has
// nothing to settle, and "PAM N more" alone cannot say which of its
// failures sshd logged before.
func (a *Attempts) session(r *Record, create bool) *session {
	if r.PID == 0 {
		return nil
	}
	k := sessionKey{r.Host, r.PID}
	s := a.sessions[k]
	if s != nil && s.ended && create {
		s = nil // settled already; a new connection reuses the PID
	}
	if s == nil {
		if !create {
			return nil
		}
		s = &session{}
		a.sessions[k] = s
	}
	s.last = r.Time
	return s
}

func (a *Attempts) lookup(r *Record) *session {
	if r.PID == 0 {
		return nil
	}
	return a.sessions[sessionKey{r.Host, r.PID}]
}

// settle emits the session's PAM failures that no Failed line accounts for.
func (a *Attempts) settle(dst []Attempt, r *Record, s *session) []Attempt {
	return a.settleKey(dst, sessionKey{r.Host, r.PID}, s)
}

func (a *Attempts) settleKey(dst []Attempt, k sessionKey, s *session) []Attempt {
	n := s.pam - s.sshdPAM - s.pamEmitted
	if n <= 0 {
		return dst
	}
	s.pamEmitted += n
	src := s.addr
	if src == "" {
		src = s.rhost
	}
	return append(dst, Attempt{
		Time: s.pamTime, Host: k.host, PID: k.pid, Source: src, Port: s.port,
		User: s.user, InvalidUser: s.invalid, Method: "pam", Count: n, PAMOnly: true,
	})
}

// learn keeps what an sshd line says about the peer.
func (s *session) learn(r *Record) {
	if r.RemoteAddr != "" {
		s.addr = r.RemoteAddr
	}
	if r.Port != 0 {
		s.port = r.Port
	}
	if r.User != "" {
		s.user = r.User
	}
	if r.InvalidUser {
		s.invalid = true
	}
}

// learnPAM keeps what a PAM line says about the peer (rhost may be a name).
func (s *session) learnPAM(r *Record) {
	if r.RemoteAddr != "" {
		s.rhost = r.RemoteAddr
	}
	if r.User != "" && s.user == "" {
		s.user = r.User
	}
}

// pamMethod reports whether sshd checks the method through PAM.
func pamMethod(m string) bool {
	return m == "password" || strings.HasPrefix(m, "keyboard-interactive")
}
