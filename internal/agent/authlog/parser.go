package authlog

import (
	"bytes"
	"errors"
	"time"
	"unicode/utf8"
)

// MaxLineLen is the longest line Parse accepts. Longer lines are refused
// with ErrTooLong (the tailer cuts them first; sshd never writes them).
const MaxLineLen = 64 << 10

// Errors Parse returns; match them with errors.Is.
var (
	ErrEmpty     = errors.New("authlog: empty line")
	ErrTooLong   = errors.New("authlog: line longer than 64 KiB")
	ErrTimestamp = errors.New("authlog: no valid syslog timestamp")
	ErrHeader    = errors.New("authlog: malformed syslog host or tag")
	ErrBinary    = errors.New("authlog: NUL byte in syslog header")
)

// Options configure a Parser. The zero value is usable.
type Options struct {
	// Now is the reference clock for the year of classic timestamps
	// (time.Now if nil). See Years.
	Now func() time.Time
	// Location is the zone of classic timestamps (time.Local if nil).
	Location *time.Location
	// FutureSlack: see Years (DefaultFutureSlack if 0).
	FutureSlack time.Duration
}

// Parser parses lines of one log in order (the year of classic timestamps
// is inferred from the lines before). Not safe for concurrent use.
type Parser struct {
	years Years

	lastZone    *time.Location
	lastZoneOff int

	hosts, programs, fields interner
}

// NewParser returns a Parser.
func NewParser(o Options) *Parser {
	return &Parser{
		years:    Years{Now: o.Now, Loc: o.Location, FutureSlack: o.FutureSlack},
		hosts:    newInterner(16),
		programs: newInterner(64),
		fields:   newInterner(4096),
	}
}

// Parse parses one line (without its newline; a trailing "\r\n" or "\n" is
// tolerated). Lines of other programs and sshd lines it does not classify
// parse without error as KindOther. It returns an error only when the
// syslog header is unusable or the line is empty or too long.
func (p *Parser) Parse(line []byte) (Record, error) {
	var r Record
	if len(line) > MaxLineLen {
		return r, ErrTooLong
	}
	line = bytes.TrimRight(line, "\r\n")
	if len(line) > 0 && line[0] == 0 {
		line = bytes.TrimLeft(line, "\x00")
		r.Flags |= FlagLeadingNUL
	}
	if len(line) == 0 {
		return r, ErrEmpty
	}
	h, msg, err := p.parseHeader(line)
	if err != nil {
		return r, err
	}
	r.Time = h.time
	r.PID = h.pid
	r.Host = p.str(&r, &p.hosts, h.host)
	r.Program = p.str(&r, &p.programs, h.program)
	if !isSSHD(r.Program) {
		return r, nil
	}
	p.parseMessage(&r, msg, true)
	return r, nil
}

// str returns b as a string, interned, with invalid UTF-8 replaced.
func (p *Parser) str(r *Record, in *interner, b []byte) string {
	if len(b) == 0 {
		return ""
	}
	s, bad := in.get(b)
	if bad {
		r.Flags |= FlagInvalidUTF8
	}
	return s
}

// interner hands out one string per distinct short byte sequence, so that
// the hosts, users and addresses a log repeats are not allocated per line.
// It forgets everything when full: memory stays bounded.
type interner struct {
	m   map[string]internEntry
	max int
}

type internEntry struct {
	s   string
	bad bool // held invalid UTF-8
}

const maxInternLen = 64

func newInterner(max int) interner {
	return interner{m: make(map[string]internEntry), max: max}
}

func (in *interner) get(b []byte) (string, bool) {
	if e, ok := in.m[string(b)]; ok {
		return e.s, e.bad
	}
	e := internEntry{s: string(b)}
	if !utf8.Valid(b) {
		e.s, e.bad = string(bytes.ToValidUTF8(b, []byte("\uFFFD"))), true
	}
	if len(b) <= maxInternLen {
		if len(in.m) >= in.max {
			clear(in.m)
		}
		key := e.s
		if e.bad {
			key = string(b)
		}
		in.m[key] = e
	}
	return e.s, e.bad
}
