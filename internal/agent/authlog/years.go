package authlog

import "time"

// DefaultFutureSlack is how far ahead of the reference clock a classic
// timestamp may lie and still be taken for the current year (time zones,
// a clock stepped back by NTP).
const DefaultFutureSlack = 48 * time.Hour

// MaxClockStep is how far ahead of the previous line, and of the reference
// clock, a line may be and still be kept in the previous line's year: the
// clock that wrote it ran fast by up to this much and was stepped back.
const MaxClockStep = 31 * 24 * time.Hour

// Years infers the year that classic syslog timestamps ("Dec 10 06:55:46")
// leave out. Not safe for concurrent use.
//
// A line gets the latest year that does not put it more than FutureSlack
// ahead of the reference clock Now: a December line read in January belongs
// to the previous year. The log's own order overrides the clock in two
// cases, where the line instead gets the year that puts it closest to the
// previous line:
//   - the clock is behind the log (Now more than FutureSlack before the
//     previous line: an RTC-less device reset to 1970 while reading), so a
//     log read in order keeps its years across New Year;
//   - the line is ahead of the clock but less than MaxClockStep after the
//     previous line (written by a clock running fast, read after NTP
//     stepped it back).
//
// A forward jump of the clock cannot be told from a gap in the log and is
// taken at its word; so is the first line.
type Years struct {
	Now         func() time.Time // reference clock; time.Now if nil
	Loc         *time.Location   // zone of the timestamps; time.Local if nil
	FutureSlack time.Duration    // DefaultFutureSlack if 0

	last time.Time
}

// Resolve returns the time of a timestamp with no year. ok is false when no
// year from the reference's twenty before to one after gives a valid date
// (February 29 needs a leap year; other impossible dates never do).
func (y *Years) Resolve(month time.Month, day, hour, min, sec, nsec int) (t time.Time, ok bool) {
	loc, slack, ref := y.params()
	limit := ref.Add(slack)
	if !y.last.IsZero() {
		// Fast path, for lines close to the previous one (nearly all):
		// the previous line's year, when the full rule would choose it.
		c := time.Date(y.last.Year(), month, day, hour, min, sec, nsec, loc)
		if c.Month() == month && c.Day() == day {
			d := c.Sub(y.last)
			if d < 0 {
				d = -d
			}
			// Within 30 days of the previous line, c is its closest
			// candidate; and if c is not ahead of limit, the same date a
			// year later is when limit-c < 365 days.
			if d <= 30*24*time.Hour && (ref.Before(y.last.Add(-slack)) || c.After(limit) || limit.Sub(c) < 365*24*time.Hour) {
				y.last = c
				return c, true
			}
		}
	}
	return y.resolveSlow(loc, slack, ref, month, day, hour, min, sec, nsec)
}

func (y *Years) params() (*time.Location, time.Duration, time.Time) {
	loc := y.Loc
	if loc == nil {
		loc = time.Local
	}
	slack := y.FutureSlack
	if slack <= 0 {
		slack = DefaultFutureSlack
	}
	now := time.Now
	if y.Now != nil {
		now = y.Now
	}
	return loc, slack, now()
}

// resolveSlow applies the rule of Years candidate year by candidate year.
func (y *Years) resolveSlow(loc *time.Location, slack time.Duration, ref time.Time, month time.Month, day, hour, min, sec, nsec int) (time.Time, bool) {
	date := func(year int) (time.Time, bool) {
		t := time.Date(year, month, day, hour, min, sec, nsec, loc)
		return t, t.Month() == month && t.Day() == day
	}
	limit := ref.Add(slack)
	if !y.last.IsZero() {
		// The year that puts the line closest to the previous one.
		best, found := time.Time{}, false
		var bestD time.Duration
		for yr := y.last.Year() - 1; yr <= y.last.Year()+1; yr++ {
			c, valid := date(yr)
			if !valid {
				continue
			}
			d := c.Sub(y.last)
			if d < 0 {
				d = -d
			}
			if !found || d < bestD {
				best, bestD, found = c, d, true
			}
		}
		// Trust the log's order over the clock when the clock is behind
		// the log, or when the line is ahead of the clock but follows its
		// predecessor closely (lines written before the clock was stepped
		// back).
		if found && (ref.Before(y.last.Add(-slack)) || (best.After(limit) && bestD <= MaxClockStep)) {
			y.last = best
			return best, true
		}
	}
	for yr := ref.Year() + 1; yr >= ref.Year()-20; yr-- {
		c, valid := date(yr)
		if valid && !c.After(limit) {
			y.last = c
			return c, true
		}
	}
	return time.Time{}, false
}

// Observe tells y the time of a line whose timestamp carried its year
// (RFC 3339), so that later classic lines are placed relative to it.
func (y *Years) Observe(t time.Time) { y.last = t }
