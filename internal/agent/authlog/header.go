package authlog

import (
	"bytes"
	"time"
)

// header is the syslog part before the message.
type header struct {
	time    time.Time
	host    []byte
	program []byte
	pid     int
}

var monthNames = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// parseHeader reads "TIMESTAMP HOST TAG: " and returns the message after it.
func (p *Parser) parseHeader(b []byte) (h header, msg []byte, err error) {
	var rest []byte
	switch {
	case len(b) >= 4 && isDigit(b[0]) && isDigit(b[1]) && isDigit(b[2]) && isDigit(b[3]):
		h.time, rest, err = p.parseRFC3339(b)
	default:
		h.time, rest, err = p.parseClassic(b)
	}
	if err != nil {
		return h, nil, err
	}
	// HOST
	sp := bytes.IndexByte(rest, ' ')
	if sp <= 0 {
		return h, nil, ErrHeader
	}
	h.host, rest = rest[:sp], rest[sp+1:]
	if bytes.IndexByte(h.host, 0) >= 0 {
		return h, nil, ErrBinary
	}
	// TAG: program[pid]: or program:
	sp = bytes.IndexByte(rest, ' ')
	var tag []byte
	if sp < 0 {
		tag, msg = rest, nil
	} else {
		tag, msg = rest[:sp], rest[sp+1:]
	}
	if len(tag) < 2 || tag[len(tag)-1] != ':' {
		return h, nil, ErrHeader
	}
	tag = tag[:len(tag)-1]
	if tag[len(tag)-1] == ']' {
		open := bytes.LastIndexByte(tag, '[')
		if open <= 0 {
			return h, nil, ErrHeader
		}
		pid, ok := atoiBounded(tag[open+1:len(tag)-1], 1<<31-1)
		if !ok || pid <= 0 {
			return h, nil, ErrHeader
		}
		h.pid = pid
		tag = tag[:open]
	}
	if bytes.IndexByte(tag, 0) >= 0 {
		return h, nil, ErrBinary
	}
	h.program = tag
	return h, msg, nil
}

// parseClassic reads "Mmm dd hh:mm:ss[.frac] " (day space-padded or not).
func (p *Parser) parseClassic(b []byte) (time.Time, []byte, error) {
	if len(b) < 15 || b[3] != ' ' {
		return time.Time{}, nil, ErrTimestamp
	}
	month := time.Month(0)
	for i, name := range monthNames {
		if string(b[:3]) == name {
			month = time.Month(i + 1)
			break
		}
	}
	if month == 0 {
		return time.Time{}, nil, ErrTimestamp
	}
	i := 4
	if b[i] == ' ' {
		i++
	}
	day := 0
	n := 0
	for ; i < len(b) && isDigit(b[i]) && n < 2; i++ {
		day = day*10 + int(b[i]-'0')
		n++
	}
	if n == 0 || day < 1 || day > 31 || i >= len(b) || b[i] != ' ' {
		return time.Time{}, nil, ErrTimestamp
	}
	i++
	hh, mm, ss, ok := parseClock(b[i:])
	if !ok {
		return time.Time{}, nil, ErrTimestamp
	}
	i += 8
	nsec := 0
	if i < len(b) && b[i] == '.' {
		var k int
		nsec, k = parseFraction(b[i+1:])
		if k == 0 {
			return time.Time{}, nil, ErrTimestamp
		}
		i += 1 + k
	}
	if i >= len(b) || b[i] != ' ' {
		return time.Time{}, nil, ErrTimestamp
	}
	t, ok := p.years.Resolve(month, day, hh, mm, ss, nsec)
	if !ok {
		return time.Time{}, nil, ErrTimestamp
	}
	return t, b[i+1:], nil
}

// parseRFC3339 reads "YYYY-MM-DDThh:mm:ss[.frac](Z|±hh:mm) ".
func (p *Parser) parseRFC3339(b []byte) (time.Time, []byte, error) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != 't') {
		return time.Time{}, nil, ErrTimestamp
	}
	year, ok1 := atoiFixed(b[0:4])
	month, ok2 := atoiFixed(b[5:7])
	day, ok3 := atoiFixed(b[8:10])
	hh, mm, ss, ok4 := parseClock(b[11:])
	if !ok1 || !ok2 || !ok3 || !ok4 || month < 1 || month > 12 || day < 1 || day > 31 {
		return time.Time{}, nil, ErrTimestamp
	}
	i := 19
	nsec := 0
	if i < len(b) && b[i] == '.' {
		var k int
		nsec, k = parseFraction(b[i+1:])
		if k == 0 {
			return time.Time{}, nil, ErrTimestamp
		}
		i += 1 + k
	}
	if i >= len(b) {
		return time.Time{}, nil, ErrTimestamp
	}
	var loc *time.Location
	switch b[i] {
	case 'Z', 'z':
		loc = time.UTC
		i++
	case '+', '-':
		if len(b) < i+6 || b[i+3] != ':' {
			return time.Time{}, nil, ErrTimestamp
		}
		oh, okh := atoiFixed(b[i+1 : i+3])
		om, okm := atoiFixed(b[i+4 : i+6])
		if !okh || !okm || oh > 23 || om > 59 {
			return time.Time{}, nil, ErrTimestamp
		}
		off := oh*3600 + om*60
		if b[i] == '-' {
			off = -off
		}
		loc = p.zone(off)
		i += 6
	default:
		return time.Time{}, nil, ErrTimestamp
	}
	if i >= len(b) || b[i] != ' ' {
		return time.Time{}, nil, ErrTimestamp
	}
	t := time.Date(year, time.Month(month), day, hh, mm, ss, nsec, loc)
	if t.Day() != day {
		return time.Time{}, nil, ErrTimestamp
	}
	p.years.Observe(t)
	return t, b[i+1:], nil
}

// zone returns a fixed zone for a UTC offset, reusing the last one.
func (p *Parser) zone(off int) *time.Location {
	if off == 0 {
		return time.UTC
	}
	if p.lastZone != nil && p.lastZoneOff == off {
		return p.lastZone
	}
	p.lastZone, p.lastZoneOff = time.FixedZone("", off), off
	return p.lastZone
}

// parseClock reads "hh:mm:ss".
func parseClock(b []byte) (hh, mm, ss int, ok bool) {
	if len(b) < 8 || b[2] != ':' || b[5] != ':' {
		return 0, 0, 0, false
	}
	hh, ok1 := atoiFixed(b[0:2])
	mm, ok2 := atoiFixed(b[3:5])
	ss, ok3 := atoiFixed(b[6:8])
	if !ok1 || !ok2 || !ok3 || hh > 23 || mm > 59 || ss > 60 {
		return 0, 0, 0, false
	}
	if ss == 60 { // leap second: fold into the next
		ss = 59
	}
	return hh, mm, ss, true
}

// parseFraction reads up to 9 significant digits of a fraction of a second
// (more are skipped) and returns nanoseconds and the digits consumed.
func parseFraction(b []byte) (nsec, n int) {
	scale := 100000000
	for n < len(b) && isDigit(b[n]) && n < 32 {
		if scale > 0 {
			nsec += int(b[n]-'0') * scale
			scale /= 10
		}
		n++
	}
	return nsec, n
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// atoiFixed parses b, which must be all digits (at most 9).
func atoiFixed(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// atoiBounded parses b, which must be all digits, and fails above max.
func atoiBounded(b []byte, max int) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int(c-'0')
		if n > max {
			return 0, false
		}
	}
	return n, true
}
